"""Names that explain themselves (issue 15 item 8): the word "cohort" belongs to patients, the cell agents are
`woundsim.agents`, and no public top-level name is defined in two woundsim modules."""

import ast
import importlib
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "woundsim"


def public_definitions(package: Path = PACKAGE) -> dict[str, list[str]]:
    """Each public top-level function or class name of the package -> the modules that define it."""
    where: dict[str, list[str]] = defaultdict(list)
    for path in sorted(package.rglob("*.py")):
        module = ".".join(path.relative_to(package.parent).with_suffix("").parts)
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and \
                    not node.name.startswith("_"):
                where[node.name].append(module)
    return where


def test_no_public_name_is_defined_in_two_modules():
    shared = {name: modules for name, modules in public_definitions().items() if len(modules) > 1}
    assert not shared, "public names defined in more than one module: " + "; ".join(
        f"{name} in {', '.join(modules)}" for name, modules in sorted(shared.items()))


def test_the_scan_sees_a_shared_name(tmp_path):
    for name in ("a", "b"):
        (tmp_path / f"{name}.py").write_text("def run_study():\n    pass\n\n\ndef _private():\n    pass\n")
    assert public_definitions(tmp_path) == {"run_study": [f"{tmp_path.name}.a", f"{tmp_path.name}.b"]}


def test_the_old_cell_cohort_names_fail_in_one_line_naming_the_new_ones():
    with pytest.raises(ImportError, match=r"woundsim\.cohorts is now woundsim\.agents.*CellPopulation"):
        importlib.import_module("woundsim.cohorts")
    from woundsim.model import WoundModel

    with pytest.raises(AttributeError, match=r"WoundModel\.populations"):
        WoundModel().cohorts


@pytest.mark.parametrize("module, old, new", [
    ("woundsim.sensitivity.design", "replicate_seeds", "design_seeds"),
    ("woundsim.sensitivity.report", "write_report", "write_sensitivity_report"),
    ("woundsim.trial.report", "write_report", "write_trial_report"),
    ("woundsim.codekey", "main", "print_code_key"),
    ("woundsim.recurrence_table", "main", "print_recurrence_table"),
    ("woundsim.cli", "replicate_seeds", "woundsim.seeds.replicate_seeds"),
    ("calibration.report", "write_report", "write_calibration_report"),
])
def test_a_renamed_function_fails_in_one_line_naming_its_new_name(module, old, new):
    with pytest.raises(ImportError, match=rf"{module}\.{old} is now {new}$"):
        exec(f"from {module} import {old}", {})
    home, _, name = new.rpartition(".")
    assert callable(getattr(importlib.import_module(home or module), name))
