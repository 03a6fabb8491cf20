"""docs/ARCHITECTURE.md's table of one simulated hour matches the code: every function its `code` column names
exists, and `WoundModel.step` and `kernels.step.hourly_rules` call them in the table's order."""

import importlib
import inspect
import re
from pathlib import Path

from woundsim.kernels import step as S
from woundsim.model import WoundModel

DOC = Path(__file__).resolve().parents[1] / "docs" / "ARCHITECTURE.md"
SEARCHED = ("woundsim.kernels.step", "woundsim.kernels.cells", "woundsim.kernels.tissue", "woundsim.kernels.diffusion",
            "woundsim.kernels.foot")


def hour_table() -> list[tuple[str, list[str]]]:
    """(phase, names in its code column) for each row of the hour table."""
    text = DOC.read_text().split("## One simulated hour", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1:-1] for line in text.splitlines() if re.match(r"\| \d+[a-z]? \|", line)]
    return [(cells[1].strip(), [n.split("(")[0] for n in re.findall(r"`([\w.]+)`", cells[2])]) for cells in rows]


def resolve(name: str):
    """The object a dotted name of the table stands for (a WoundModel method, or a woundsim.kernels function)."""
    head, _, last = name.rpartition(".")
    if head == "WoundModel":
        return getattr(WoundModel, last)
    for module in ([f"woundsim.{head}"] if head else SEARCHED):
        found = getattr(importlib.import_module(module), last, None)
        if found is not None:
            return found
    raise AssertionError(f"docs/ARCHITECTURE.md names {name}, which is not in the code")


def test_the_hour_table_names_functions_that_exist():
    table = hour_table()
    assert [phase for phase, _ in table] == ["inject", "debride", "recruit", "act", "load", "remodel", "release",
                                             "diffuse", "observe"]
    for _, names in table:
        for name in names:
            assert resolve(name) is not None


def test_the_code_runs_the_phases_in_the_tables_order():
    step = inspect.getsource(WoundModel.step)
    assert step.index("_inject") < step.index("_debride") < step.index("_rules") < step.index("_observe")
    rules = inspect.getsource(S.hourly_rules)
    first = [names[0].rpartition(".")[2] for phase, names in hour_table()[2:8]]  # recruit .. diffuse
    positions = [rules.index(f"{name}(") for name in first]
    assert positions == sorted(positions), f"hourly_rules calls {first} in another order than the table"
