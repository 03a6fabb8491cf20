"""The import contract (pyproject.toml, [tool.importlinter]): the library never imports its applications,
the applications are independent, woundsim's layers hold (kernels see only rules, units and the layout),
and no package has an import circle. Run by hand with `lint-imports` from the repository root."""

import contextlib
import io
from pathlib import Path

from importlinter.cli import lint_imports

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_the_import_contract_is_kept():
    report = io.StringIO()
    with contextlib.redirect_stdout(report), contextlib.redirect_stderr(report):
        code = lint_imports(config_filename=str(PYPROJECT), no_cache=True, no_logo=True)
    assert code == 0, report.getvalue()
    assert "0 broken" in report.getvalue()
