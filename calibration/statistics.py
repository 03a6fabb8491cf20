"""Summary statistics of simulated cohorts, computed the way the clinic computed the targets.

Input is the per-patient table that `woundsim.cohort.simulate_patients` returns (one row per patient,
keys of docs/ARCHITECTURE.md, whose endpoints `woundsim.endpoints` defines). Each statistic mirrors how its
clinical figure was obtained:

- `trial_closed_fraction`: share of the trial arm with a confirmed complete closure (first closure
  within the simulated horizon, still closed 2 weeks later), as "10/10 closed" counts patients.
- `trial_mean_closure_days`: mean time to complete closure over the patients who closed, as the
  clinic averaged over its 10 healed patients. Closure is seen at the first scheduled visit on or
  after the day the wound closes (`visit_interval_days`, weekly by default: 4.2 weeks = 42 patient-weeks
  over 10 patients is what weekly assessment gives; visits on days 7, 14, ..., as in the trial's
  observation model: `woundsim.endpoints.observed_closure_day`); 0 uses the simulated day itself. A table
  with `visit_closure_day` (the summary's closure read against the planimetry detection limit at weekly
  visits, `woundsim.endpoints.visit_read_closure`) is read as it is when visits are weekly.
- `trial_recurrence_followup`: expected share of the healed trial patients with a **same-site** recurrence
  within the follow-up (`recurrence.followup_months`, 24 by default, the trial's; death competing), i.e. the
  mean of `recurrence_same_site_followup` over healed patients: the seed trial's 0/10 is read as same-site
  (SEED03; `woundsim.endpoints.recurrence_outcomes`). (It was named `trial_recurrence_24m`, though it reads
  whatever follow-up the parameters set.)
- `soc_closed_week12`, `soc_closed_week20`: share of the standard-care cohort with a confirmed closure
  first seen by day 84 / 140 (the `closed_by_week12/20` keys), the endpoint of the control arms pooled
  by Margolis et al. 1999.
- `soc_recurrence_12m`: expected share of healed standard-care patients with an **any-site** recurrence
  within 12 months, death competing (mean `recurrence_any_site_12m` over healed patients; REC01/REC04).

The standard-care statistics count a control population enrolled as the pivotal trials enrolled it: candidates
screened through a run-in (`woundsim.trial.pools.candidate_row`), the statistics over the enrolled only
(`enrolled_soc_statistics`), with outcomes counted from randomisation.

Recurrence is summarised by the expected share (mean per-patient probability) rather than by drawing
events: the expectation of the clinic's proportion given the simulated patients, without Bernoulli noise
that carries no information about the parameters. A statistic that is undefined (no patient closed) is
NaN; the distance then charges a fixed penalty (see `calibration.distance`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from woundsim.endpoints import VISIT_INTERVAL_DAYS, observed_closure_day, require_columns
from woundsim.errors import InputError

TRIAL_STATISTICS = ("trial_closed_fraction", "trial_mean_closure_days", "trial_recurrence_followup")
SOC_STATISTICS = ("soc_closed_week12", "soc_closed_week20", "soc_recurrence_12m")
RECURRENCE_STATISTICS = ("trial_recurrence_followup", "soc_recurrence_12m")  # those read after closure
ALL_STATISTICS = TRIAL_STATISTICS + SOC_STATISTICS
RENAMED = {"trial_recurrence_24m": "trial_recurrence_followup"}  # old statistic name -> new one

_TRIAL_COLUMNS = ("time_to_closure_days", "recurrence_same_site_followup")
_SOC_COLUMNS = ("closed_by_week12", "closed_by_week20", "time_to_closure_days", "recurrence_any_site_12m")


def renamed_statistic(name: str, where: str) -> None:
    """Refuse a statistic by its old name in one line that names the new one (old configs and stored tables).

    Args:
        name: a statistic name as found.
        where: what holds it, for the message (e.g. "calibration.targets").
    """
    if name in RENAMED:
        raise InputError(f"{where}: statistic {name!r} is now {RENAMED[name]!r} (it reads recurrence over "
                         "model.recurrence.followup_months, not always 24 months); rename it")


def trial_statistics(table: pd.DataFrame, visit_interval_days: float = 7.0) -> dict[str, float]:
    """Statistics of a treated trial arm (one row per patient).

    Args:
        table: per-patient summaries with `time_to_closure_days` (NaN if no confirmed closure) and
            `recurrence_same_site_followup`.
        visit_interval_days: days between assessment visits (see `woundsim.endpoints.observed_closure_day`).

    Returns:
        {"trial_closed_fraction", "trial_mean_closure_days", "trial_recurrence_followup"} (fractions in [0, 1],
        days); the mean and the recurrence are NaN when no patient closed.
    """
    _require_columns(table, _TRIAL_COLUMNS, "trial")
    closure = trial_closure_days(table, visit_interval_days)
    healed = np.isfinite(closure)
    risk = table["recurrence_same_site_followup"].to_numpy(dtype=float)[healed]
    return {
        "trial_closed_fraction": float(healed.mean()),
        "trial_mean_closure_days": float(closure[healed].mean()) if healed.any() else math.nan,
        "trial_recurrence_followup": float(np.mean(risk)) if healed.any() else math.nan,
    }


def trial_closure_days(table: pd.DataFrame, visit_interval_days: float = 7.0) -> np.ndarray:
    """Each trial patient's closure day as the trial saw it (NaN: not closed): the first visit at or after a
    confirmed closure (`woundsim.endpoints.observed_closure_day`), or the planimetry reading `visit_closure_day`
    when the table has it and visits are weekly."""
    if "visit_closure_day" in table.columns and visit_interval_days == VISIT_INTERVAL_DAYS:
        return table["visit_closure_day"].to_numpy(dtype=float)  # read against the detection limit
    return observed_closure_day(table["time_to_closure_days"].to_numpy(dtype=float), visit_interval_days)


def statistic_sizes(trial: pd.DataFrame, soc: pd.DataFrame, visit_interval_days: float = 7.0) -> dict[str, int]:
    """The patients behind each statistic of `trial_statistics` and `enrolled_soc_statistics` (a share's or a
    mean's denominator): the trial arm, its healed (mean closure day, recurrence), the enrolled standard-care
    patients, and their healed (recurrence)."""
    healed = int(np.isfinite(trial_closure_days(trial, visit_interval_days)).sum())
    rows = enrolled(soc)
    soc_healed = int(soc_healed_mask(rows).sum()) if len(rows) else 0
    return {"trial_closed_fraction": len(trial), "trial_mean_closure_days": healed, "trial_recurrence_followup": healed,
            "soc_closed_week12": len(rows), "soc_closed_week20": len(rows), "soc_recurrence_12m": soc_healed}


def soc_healed_mask(table: pd.DataFrame) -> np.ndarray:
    """The standard-care patients the clinic saw healed: closure read at visits (as closed_by_week12/20) when the
    table has that reading, else the confirmed closure; the recurrence follows each of them (woundsim.summary)."""
    seen = "visit_closure_day" if "visit_closure_day" in table.columns else "time_to_closure_days"
    return np.isfinite(table[seen].to_numpy(dtype=float))


def soc_statistics(table: pd.DataFrame) -> dict[str, float]:
    """Statistics of a standard-care cohort simulated for at least 20 weeks (one row per patient).

    Args:
        table: per-patient summaries with `closed_by_week12`, `closed_by_week20` (bool; None when the
            run was shorter than that week), `time_to_closure_days` and `recurrence_any_site_12m`.

    Returns:
        {"soc_closed_week12", "soc_closed_week20", "soc_recurrence_12m"} (fractions in [0, 1]);
        the recurrence is NaN when no patient healed.
    """
    _require_columns(table, _SOC_COLUMNS, "standard-care")
    for column in ("closed_by_week12", "closed_by_week20"):
        if table[column].isna().any():
            raise InputError(f"standard-care table: {column} is undefined for some patients; "
                             "simulate at least 20 weeks (horizon_weeks >= 20)")
    healed = soc_healed_mask(table)
    risk = table["recurrence_any_site_12m"].to_numpy(dtype=float)[healed]
    return {
        "soc_closed_week12": float(table["closed_by_week12"].astype(bool).mean()),
        "soc_closed_week20": float(table["closed_by_week20"].astype(bool).mean()),
        "soc_recurrence_12m": float(np.mean(risk)) if healed.any() else math.nan,
    }


def enrolled(table: pd.DataFrame) -> pd.DataFrame:
    """The candidates the run-in enrolled: the `eligible` rows of a screened table (`woundsim.trial.pools.candidate_row`)."""
    require_columns(table, ("eligible",), "standard-care candidate table (woundsim.trial.pools.candidate_row rows)")
    return table[table["eligible"].astype(bool)].reset_index(drop=True)


def enrolled_soc_statistics(table: pd.DataFrame) -> dict[str, float]:
    """`soc_statistics` of the candidates a run-in enrolled (one row per screened candidate).

    Args:
        table: `woundsim.trial.pools.candidate_row` rows: `eligible`, and for the enrolled the summary re-based
            to randomisation (the keys `soc_statistics` reads).

    Returns:
        {"soc_closed_week12", "soc_closed_week20", "soc_recurrence_12m"} over the enrolled; each NaN when the
        run-in enrolled nobody.
    """
    rows = enrolled(table)
    if len(rows) == 0:
        return {name: math.nan for name in SOC_STATISTICS}
    return soc_statistics(rows)


def soc_fraction_bounds(closed: np.ndarray, n_total: int) -> tuple[float, float]:
    """Range a cohort's closed fraction can still take after the first patients are known.

    Args:
        closed: booleans of the patients simulated so far.
        n_total: cohort size.

    Returns:
        (lowest, highest) final fraction: none / all of the remaining patients close.
    """
    k = int(np.sum(closed))
    remaining = n_total - len(closed)
    if remaining < 0:
        raise InputError(f"n_total = {n_total} is smaller than the {len(closed)} patients given")
    return k / n_total, (k + remaining) / n_total


def enrolled_fraction_bounds(enrolled: np.ndarray, closed: np.ndarray, n_total: int) -> tuple[float, float]:
    """Range the closed fraction of the enrolled can still take after the first candidates are screened.

    Each of the r candidates still to screen may be excluded, or enrolled and closed, or enrolled and open, so
    with e enrolled so far, c of them closed, the final fraction lies in [c / (e + r), (c + r) / (e + r)]
    (`soc_fraction_bounds` of the enrolled among e + r); it is undefined if nobody is enrolled in the end.

    Args:
        enrolled: booleans of the candidates screened so far (passed the run-in).
        closed: booleans of the enrolled ones (closed by the week the fraction counts).
        n_total: candidates screened in all.

    Returns:
        (lowest, highest) final fraction over its defined outcomes; (NaN, NaN) when none is left that could be
        enrolled (every candidate screened, nobody enrolled).
    """
    enrolled = np.asarray(enrolled, dtype=bool)
    if len(closed) != int(enrolled.sum()):
        raise InputError(f"{len(closed)} closure states given for {int(enrolled.sum())} enrolled candidates")
    remaining = n_total - len(enrolled)
    if remaining < 0:
        raise InputError(f"n_total = {n_total} is smaller than the {len(enrolled)} candidates given")
    if len(closed) + remaining == 0:
        return math.nan, math.nan
    return soc_fraction_bounds(np.asarray(closed, dtype=bool), len(closed) + remaining)


def _require_columns(table: pd.DataFrame, columns: tuple[str, ...], label: str) -> None:
    require_columns(table, columns, f"{label} table (the per-patient summary keys of docs/ARCHITECTURE.md)")
    if len(table) == 0:
        raise InputError(f"{label} table has no patients; need at least 1")
