"""The clinical targets table (conf/targets.csv, docs/targets.md) keeps its structure and its roles apart.

The table says, before any fitting, which published figure fits the model, which shapes it by hand and
which is kept for validation. These tests check its structure only: CI has no copy of
../shared/data/clinical_targets.csv, so the ids it may cite are copied below. The roles themselves are
decisions recorded in the table; a test fails when one changes, so the change is made (with its test) in a
commit that says why.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "conf" / "targets.csv"
DOC = ROOT / "docs" / "targets.md"

COLUMNS = ["id", "related_ids", "quantity", "role", "statistic", "observed", "unit", "low", "high",
           "interval_method", "n_observed", "population", "n_per_evaluation", "n_check", "notes"]
ROLES = {"fitted", "shaping", "validation"}

# ids of ../shared/data/clinical_targets.csv (copied: /work/shared is outside the repository)
CLINICAL_IDS = frozenset(
    [f"SEED{i:02d}" for i in range(1, 11)] + ["SOC01", "SOC02", "SOC14"]
    + [f"CMP{i:02d}" for i in range(1, 28)] + ["PRE01", "PRE02", "END01", "END02", "AREA01", "AREA02", "AREA03"]
    + ["MEC01", "MEC02", "MEC03", "MEC04", "CON01", "CON02"]
    + ["REC01", "REC04", "REC07", "REC08", "REC09", "REC10", "REC11"])
# A figure with no row in clinical_targets.csv (taken from DESIGN.md) carries this prefix and says so.
DESIGN_PREFIX = "DES-"

# What the calibration fits (issue 18 item 3). Changing it changes this test, in the same commit.
FITTED = {"SEED01", "SEED02", "SEED03", "SOC01", "SOC02", "REC01", "REC07"}
# Control arms that may have been pooled into SOC01/SOC02 (Margolis 1999): never validation.
MAYBE_POOLED_IN_SOC = {"CMP08"}


def _rows() -> list[dict[str, str]]:
    with TABLE.open(newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == COLUMNS
        return list(reader)


def _float(text: str) -> float | None:
    return float(text) if text.strip() else None


def _ids(row: dict[str, str]) -> set[str]:
    return {row["id"], *row["related_ids"].split()}


ROWS = _rows()


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r['id']}:{r['quantity'][:30]}")
def test_row_structure(row):
    assert row["role"] in ROLES
    assert row["quantity"].strip() and row["interval_method"].strip()
    for i in _ids(row):
        if i.startswith(DESIGN_PREFIX):
            assert i == row["id"] and "no row in clinical_targets.csv" in row["interval_method"].lower()
        else:
            assert i in CLINICAL_IDS, f"{i} is not an id of clinical_targets.csv"
    observed, low, high = (_float(row[k]) for k in ("observed", "low", "high"))
    assert (low is None) == (high is None), "an interval needs both ends"
    if low is not None:
        assert low < high
        if observed is not None:
            assert low <= observed <= high, "the interval must contain the observed value"
    for key in ("n_observed", "n_per_evaluation", "n_check"):
        if row[key].strip():
            assert int(row[key]) > 0


@pytest.mark.parametrize("row", [r for r in ROWS if r["role"] in ("fitted", "validation")], ids=lambda r: r["id"])
def test_fitted_and_validation_rows_are_complete(row):
    """A figure compared with the model has a value, an interval, a population and its sizes."""
    for key in ("observed", "low", "high", "unit", "population", "n_observed", "n_check"):
        assert row[key].strip(), f"{row['id']}: {key} is empty"
    if row["role"] == "fitted":
        assert int(row["n_per_evaluation"]) > 0


def test_fitted_set_is_issue_18s():
    assert {r["id"] for r in ROWS if r["role"] == "fitted"} == FITTED


def test_no_id_has_two_roles():
    roles: dict[str, set[str]] = {}
    for row in ROWS:
        roles.setdefault(row["id"], set()).add(row["role"])
    assert {i: r for i, r in roles.items() if len(r) > 1} == {}


def test_nothing_that_fitted_or_shaped_is_validation():
    used = set().union(*(_ids(r) for r in ROWS if r["role"] != "validation"))
    validation = set().union(*(_ids(r) for r in ROWS if r["role"] == "validation"))
    assert used & validation == set()
    assert MAYBE_POOLED_IN_SOC & validation == set()


def test_doc_lists_every_row_with_its_role():
    lines = DOC.read_text(encoding="utf-8").splitlines()
    for row in ROWS:
        assert any(f"| {row['id']} |" in line and f"| {row['role']} |" in line for line in lines), \
            f"docs/targets.md lacks a table line for {row['id']} ({row['role']})"
