"""The import contract (pyproject.toml, [tool.importlinter]): the library never imports its applications,
the applications are independent, woundsim's layers hold (kernels see only rules, units and the layout),
Hydra stays at the edge (the model side imports neither Hydra nor OmegaConf, rules and kernels no Mesa),
and no package has an import circle. Run by hand with `lint-imports` from the repository root."""

import contextlib
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_the_import_contract_is_kept():
    try:
        from importlinter.cli import lint_imports
    except ImportError:
        pytest.fail("import-linter is missing: it is in the dev extra; rerun ./scripts/setup.sh")
    report = io.StringIO()
    with contextlib.redirect_stdout(report), contextlib.redirect_stderr(report):
        code = lint_imports(config_filename=str(PYPROJECT), no_cache=True, no_logo=True)
    assert code == 0, report.getvalue()
    assert "0 broken" in report.getvalue()


def test_reading_the_installed_posterior_needs_no_pyabc():
    code = ("import sys; sys.modules['pyabc'] = None\n"  # any import of pyabc now fails
            "import numpy as np\n"
            "from woundsim.posterior import DEFAULT_POSTERIOR, draw_params\n"
            "from woundsim.trial.pools import parameter_draws\n"
            "from woundsim.params import ModelParams\n"
            "if DEFAULT_POSTERIOR.is_file():\n"
            "    assert len(draw_params(2, np.random.default_rng(0))) == 2\n"
            "    assert len(parameter_draws('posterior', 2, ModelParams(), {}, np.random.default_rng(0))) == 2\n"
            "assert 'calibration' not in sys.modules and 'experiments' not in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_every_parquet_table_is_read_by_path():
    """pandas.read_parquet hands pyarrow a Python file object, after which the interpreter can abort at exit
    (exit 134, a few percent of runs): every table is read through woundsim.tables.read_parquet instead."""
    root = PYPROJECT.parent
    offenders = [f"{path.relative_to(root)}:{n}" for folder in ("woundsim", "experiments", "calibration", "tests",
                                                                  "benchmarks", "scripts")
                 for path in sorted((root / folder).rglob("*.py"))
                 for n, line in enumerate(path.read_text().splitlines(), 1)
                 if re.search(r"\b(pd|pandas)\.read_parquet\(", line)]
    assert not offenders, "read Parquet with woundsim.tables.read_parquet: " + ", ".join(offenders)
