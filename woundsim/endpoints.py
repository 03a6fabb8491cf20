"""The clinical endpoints of a simulated patient, each defined once (DESIGN.md sections 7 and 9).

Every study reads its endpoints here: the run summary (`woundsim.summary`), the trial pools' re-basing to
randomisation (`woundsim.trial.pools`), the trial's blinded assessor (`woundsim.trial.endpoints`), the
synthetic trial scenarios (`woundsim.trial.scenarios`) and the calibration statistics
(`calibration.statistics`). Days count from the start of the run (or from randomisation, after re-basing).

- **First closure**: the time at which the open area reaches 0 and stays 0 from then on within the run
  (the model detects it as it runs, `WoundModel.first_closure_h`: a wound that re-opens starts again).
- **Confirmation** (`closure_confirmed`): the closure still holds `confirm_days` (14 d, FDA) after the
  first closure day. Time to closure is the first closure day of a confirmed closure.
- **Closed by day N** (`closed_by`; week 12 = `PRIMARY_DAY`, week 20 = `SECONDARY_DAY`): a confirmed
  closure whose first closure day is on or before day N; not closed when the run followed the patient
  through day N and its confirmation window without one; unknown (None) otherwise.
  `closed_by_table` counts the unknown as not closed, as a trial's non-responder imputation does. The summary's
  `closed_by_week12/20` pass the visit-read closure (below): seen closed at a visit on or before day N, confirmed.
- **PAR at week 4** (`par_pct`, `par_at`; `PAR_DAY`): percent area reduction at day 28 against the
  baseline area; 100 for a run that stopped at a confirmed closure before day 28; NaN if not simulated.
- **Observation at visits** (`observed_closure_day`, `confirmation_visit`, `last_visit_by`, `visit_records`): as a clinician
  reads it, a closure is observed at the first scheduled visit (weekly: days 7, 14, ...; day 0 is the
  baseline visit, where the ulcer is open) on or after the day it happens, confirmed at the first visit
  `confirm_days` later, and nothing is seen after the last visit the patient attends.
- **Visit-read closure** (`visit_read_closure`): closure as a clinician reads it (issue 17 item 2): the open
  area at or below the planimetry detection limit (`DETECTION_LIMIT_MM2`, 1 mm²: fixed, never calibrated) at
  a scheduled visit, and still at or below it at the first visit `confirm_days` later. The summary reports it
  (`visit_closure_day`, `visit_confirmed_day`) beside the first closure (limit 0, the last open voxel covered);
  the trial's assessor and the calibration statistics read it when the table has it.
- **Recurrence** (`recurrence_outcomes`, `recurred_within`): after a confirmed closure, same-site and
  any-site recurrence with death competing, from the patient's risks and the scar maturity at confirmed
  closure (`woundsim.recurrence`, `model.recurrence`; docs/recurrence.md): risks over 12 months and over
  the follow-up, and first events drawn from a named seed stream for studies that count events.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from woundsim.errors import InputError, renamed

PRIMARY_DAY = 84.0  # d; week 12, the primary time point of pivotal DFU trials
SECONDARY_DAY = 140.0  # d; week 20 (Margolis et al. 1999)
PAR_DAY = 28.0  # d; week 4
VISIT_INTERVAL_DAYS = 7.0  # d; weekly assessment visits, as in the seed trial and pivotal DFU trials
# mm²; the smallest open area a clinic's planimetry resolves: one square of the 1 mm grid on which acetate
# tracings are counted (manual planimetry; Jørgensen et al. 2016 Int Wound J 13:540, systematic review), and the
# order of digital planimetry's absolute error on the smallest wounds measured (Foltynski et al. 2015 PLoS One
# 10:e0134622, shapes from 14 mm², relative errors of a few percent). A fixed observation parameter: never calibrated.
DETECTION_LIMIT_MM2 = 1.0
MM2_PER_CM2 = 100.0
VISIT_TOLERANCE = 1e-9  # visits: a day within this many visit intervals of a visit day is on it
DAY_TOLERANCE = 1e-9  # d; a run that ended this close to the end of a confirmation window reached it

__getattr__ = renamed(__name__, {name: "woundsim.endpoints.recurrence_outcomes (recurrence version 2)"
                                 for name in ("recurrence_hazard", "recurrence_risk", "risk_over_months")})


# ---- closure and confirmation -------------------------------------------------------------------
def closure_confirmed(first_closure_day: float, last_day: float, confirm_days: float) -> bool:
    """Whether the run confirmed its closure: still closed `confirm_days` after the first closure day.

    Args:
        first_closure_day: first day of the closure that held to the end of the run (d; NaN if none).
        last_day: the run's last simulated day (d).
        confirm_days: confirmation window (d; 14, FDA).
    """
    return not math.isnan(first_closure_day) and last_day >= first_closure_day + confirm_days - DAY_TOLERANCE


def closed_by(day: float, first_closure_day: float, confirmed: bool, followed_to_day: float) -> bool | None:
    """Confirmed closure first closed on or before `day` (True), none (False) or not known (None).

    Args:
        day: the time point (d), e.g. `PRIMARY_DAY`.
        first_closure_day: first closure day (d; NaN if none).
        confirmed: whether that closure was confirmed (`closure_confirmed`).
        followed_to_day: the last day whose closure the run could still confirm (d): the horizon, whose
            confirmation window the model simulates.
    """
    if confirmed and first_closure_day <= day:
        return True
    if followed_to_day >= day or (not math.isnan(first_closure_day) and first_closure_day > day):
        return False
    return None  # not simulated that far


def closed_by_table(table, day: float) -> np.ndarray:
    """Per patient of a summary table: confirmed closure first closed on or before `day` (d), as 0/1 floats.

    A patient whose run stopped before it could tell counts as not closed. Reads the columns
    `first_closure_day` and `confirmed_closure_day` (NaN when not confirmed).
    """
    first = np.asarray(table["first_closure_day"], dtype=float)
    return (np.isfinite(np.asarray(table["confirmed_closure_day"], dtype=float)) & (first <= day)).astype(float)


# ---- percent area reduction ------------------------------------------------------------------------
def par_pct(open_area_cm2, baseline_area_cm2):
    """Percent area reduction (%) of an open area against the baseline area (cm², > 0)."""
    return 100.0 * (1.0 - open_area_cm2 / baseline_area_cm2)


def par_at(days, par, day: float, confirmed: bool) -> float:
    """The PAR (%) recorded on `day` of a daily series.

    Args:
        days: the series' days (d), increasing.
        par: PAR on each of those days (%), see `par_pct`.
        day: the time point (d), e.g. `PAR_DAY`.
        confirmed: whether the run confirmed a closure: a run that stopped at its confirmed closure before
            `day` counts 100% (the ulcer stays closed); any other run that did not reach `day` gives NaN.
    """
    days = np.asarray(days, dtype=float)
    hit = np.flatnonzero(np.isclose(days, day))
    if hit.size:
        return float(np.asarray(par, dtype=float)[hit[0]])
    if confirmed and days[-1] < day:
        return 100.0
    return math.nan


# ---- observation at visits -------------------------------------------------------------------------
def observed_closure_day(first_closure_day, visit_interval_days: float) -> np.ndarray:
    """Day on which an assessor first sees a closure: the first scheduled visit on or after it (NaN stays NaN).

    Visits fall on days v, 2v, 3v, ... (v = `visit_interval_days`): day 0 is the baseline visit, at which
    the ulcer is open by inclusion, so the earliest a closure can be seen is day v.

    Args:
        first_closure_day: days of first complete closure (d; NaN if never).
        visit_interval_days: days between visits (0: closure seen on the day it happens).
    """
    days = np.asarray(first_closure_day, dtype=float)
    if visit_interval_days < 0 or not math.isfinite(visit_interval_days):
        raise InputError(f"visit_interval_days = {visit_interval_days} must be a finite number >= 0 (days)")
    if visit_interval_days == 0:
        return days
    return np.maximum(np.ceil(days / visit_interval_days - VISIT_TOLERANCE), 1.0) * visit_interval_days


def confirmation_visit(seen_day, confirm_days: float, visit_interval_days: float):
    """Day of the visit that confirms a closure seen on `seen_day`: the first visit `confirm_days` later or after."""
    return np.ceil((seen_day + confirm_days) / visit_interval_days - VISIT_TOLERANCE) * visit_interval_days


def last_visit_by(end_day, visit_interval_days: float):
    """Day of the last scheduled visit on or before `end_day` (d)."""
    return np.floor(end_day / visit_interval_days + VISIT_TOLERANCE) * visit_interval_days


def visit_records(days, visit_interval_days: float = VISIT_INTERVAL_DAYS, *, first_visit: int = 1):
    """The scheduled visits a daily series holds a record of: (visit days, index of each one's record in `days`).

    Visits fall on days k x `visit_interval_days` for k = `first_visit`, ... up to the series' last day (k = 0 is
    the baseline visit); a visit whose day has no record in `days` (increasing) is left out.
    """
    days = np.asarray(days, dtype=float)
    n = math.floor(float(days[-1]) / visit_interval_days + VISIT_TOLERANCE)
    visits = np.arange(first_visit, n + 1) * visit_interval_days
    at = np.searchsorted(days, visits - 1e-6)  # the record of each visit day
    ok = (at < days.size) & np.isclose(days[np.minimum(at, days.size - 1)], visits)
    return visits[ok], at[ok]


def visit_read_closure(days, open_area_cm2, confirm_days: float, *, closed_after_end: bool,
                       visit_interval_days: float = VISIT_INTERVAL_DAYS,
                       limit_mm2: float = DETECTION_LIMIT_MM2) -> tuple[float, float]:
    """Closure as a clinician reads it from a daily series: (day first seen closed, day of the confirming visit).

    A visit (days v, 2v, ...; day 0 is the baseline visit) sees the ulcer closed when its open area is at or
    below `limit_mm2`; the closure counts when the first visit `confirm_days` later sees it closed too. The
    first such visit is returned, with its confirming visit; (NaN, NaN) if none within the series.

    Args:
        days: the series' days (d), increasing (daily records: every visit day is in it while the run lasts).
        open_area_cm2: open area on each of those days (cm²).
        confirm_days: confirmation window (d; 14, FDA).
        closed_after_end: the run stopped at a confirmed closure (limit 0), so the ulcer stays closed at the
            visits after its last day; otherwise a visit after the series is not known and confirms nothing.
        visit_interval_days: days between visits (> 0).
        limit_mm2: planimetry detection limit (mm², >= 0; 0 reads the last open voxel covered).
    """
    if not visit_interval_days > 0 or not math.isfinite(visit_interval_days):
        raise InputError(f"visit_interval_days = {visit_interval_days} must be a finite number > 0 (days)")
    if not limit_mm2 >= 0:
        raise InputError(f"limit_mm2 = {limit_mm2} must be >= 0 (mm²)")
    last = float(np.asarray(days, dtype=float)[-1])
    visits, at = visit_records(days, visit_interval_days)
    closed = np.asarray(open_area_cm2, dtype=float)[at] * MM2_PER_CM2 <= limit_mm2 + 1e-12
    by_day = dict(zip(np.round(visits, 6), closed))
    for seen in visits[closed]:
        confirm = float(confirmation_visit(seen, confirm_days, visit_interval_days))
        held = by_day.get(round(confirm, 6), closed_after_end if confirm > last else False)
        if held:
            return float(seen), confirm
    return math.nan, math.nan


# ---- recurrence ------------------------------------------------------------------------------------
RECURRENCE_RISKS = ("recurrence_any_site_12m", "recurrence_any_site_followup", "recurrence_same_site_followup",
                    "death_followup")  # cumulative incidences (fractions), death competing
RECURRENCE_EVENTS = ("recurrence_any_site_month", "recurrence_same_site_month")  # drawn first events (months)
RENAMED_COLUMNS = {  # version 1's summary columns -> version 2's
    "recurrence_risk_12m": "recurrence_any_site_12m",
    "recurrence_risk_followup": "recurrence_same_site_followup (or recurrence_any_site_followup)",
    "closure_quality": "scar_maturity",
}


def require_columns(table, columns, what: str) -> None:
    """Refuse, in one line, a per-patient table without `columns`, naming a version-1 column it has instead."""
    missing = [c for c in columns if c not in table]
    if not missing:
        return
    old = [f"{o!r} is now {n!r}" for o, n in RENAMED_COLUMNS.items() if o in table]
    hint = ("; a table made before recurrence version 2: " + ", ".join(old) + " (re-run it)") if old else ""
    raise InputError(f"{what} lacks columns {missing}{hint}")


def recurrence_outcomes(table, params, *, seeds=None) -> pd.DataFrame:
    """Recurrence after confirmed closure of each patient of a stored per-patient table, without re-simulating
    healing: the one definition the run summary, the trial and the calibration use (woundsim.recurrence).

    A patient whose closure was not confirmed (`confirmed_closure_day` NaN) gets NaN. Risks are cumulative
    incidences with death competing: any-site within 12 months (REC01/REC04), any-site and same-site within
    `params.followup_months` (same-site: SEED03, REC07), death first within it.

    Args:
        table: one row per patient (DataFrame or mapping of columns): `confirmed_closure_day`, `scar_maturity`
            (Q at confirmed closure) and the `Patient` risk columns (`woundsim.recurrence.ClosureState.from_table`).
        params: recurrence parameters (`woundsim.params.RecurrenceParams`, `model.recurrence`).
        seeds: with each patient's run seed (one per row), also draw each healed patient's first event from
            `woundsim.seeds.recurrence_rng(seed)`: `recurrence_any_site_month` (months from confirmed closure to
            the first recurrence; inf if death comes first) and `recurrence_same_site_month` (that month when the
            recurrence is at the healed site, else inf).

    Returns:
        DataFrame with the columns `RECURRENCE_RISKS` (and `RECURRENCE_EVENTS` with seeds), one row per patient.
    """
    from woundsim.recurrence import ClosureState, cumulative_incidence, sample_first_events
    from woundsim.seeds import recurrence_rng

    require_columns(table, ("confirmed_closure_day", "scar_maturity"), "recurrence after closure")
    healed = np.isfinite(np.asarray(table["confirmed_closure_day"], dtype=float))
    n = healed.size
    out = {name: np.full(n, math.nan) for name in RECURRENCE_RISKS + (RECURRENCE_EVENTS if seeds is not None else ())}
    rows = np.flatnonzero(healed)
    if rows.size:
        state = ClosureState.from_table({k: np.asarray(table[k])[rows] for k in _CLOSURE_COLUMNS})
        ci = cumulative_incidence(state, [12.0, params.followup_months], params)
        out["recurrence_any_site_12m"][rows] = ci.any_site[:, 0]
        out["recurrence_any_site_followup"][rows] = ci.any_site[:, 1]
        out["recurrence_same_site_followup"][rows] = ci.same_site[:, 1]
        out["death_followup"][rows] = ci.death[:, 1]
        for k, row in enumerate(rows) if seeds is not None else ():
            one = ClosureState(**{f: getattr(state, f)[k:k + 1] for f in _STATE_FIELDS})
            first = sample_first_events(one, params, recurrence_rng(int(np.asarray(seeds)[row])))
            month = float(first.month[0]) if first.event[0] != 2 else math.inf
            out["recurrence_any_site_month"][row] = month
            out["recurrence_same_site_month"][row] = month if first.event[0] == 0 else math.inf
    return pd.DataFrame(out, index=getattr(table, "index", None))


_CLOSURE_COLUMNS = ("plantar", "plantar_load", "offloading_adherence", "neuropathy", "texas_stage", "smoker", "male",
                    "age_years", "scar_maturity")
_STATE_FIELDS = ("plantar", "plantar_load", "offloading_adherence", "neuropathy", "peripheral_artery_disease",
                 "smoker", "male", "age_years", "scar_maturity")


def followed_closure_day(confirmed_closure_day, visit_confirmed_day):
    """The day from which recurrence follows a healed patient, as a clinic follows those it saw healed: the model's
    confirmed closure (limit 0), else the visit that confirmed a closure read at the detection limit (a remnant
    below 1 mm² the run never covered); NaN when neither (not healed). Per patient (arrays) or one patient."""
    confirmed = np.asarray(confirmed_closure_day, dtype=float)
    return np.where(np.isfinite(confirmed), confirmed, np.asarray(visit_confirmed_day, dtype=float))


def restated_recurrence(table: pd.DataFrame, params) -> pd.DataFrame:
    """A stored per-patient table (`woundsim.summary` rows) with its recurrence risks recomputed under other
    recurrence parameters, without re-simulating healing (the parameters act only after closure): the closure
    states are the stored ones, followed from `followed_closure_day`. The drawn first events
    (`RECURRENCE_EVENTS`), drawn under the old parameters, become NaN.

    Args:
        table: one row per patient with `confirmed_closure_day`, `visit_confirmed_day`, `scar_maturity` and the
            `Patient` risk columns.
        params: the recurrence parameters (`woundsim.params.RecurrenceParams`).
    """
    require_columns(table, ("confirmed_closure_day", "visit_confirmed_day"), "recurrence of a stored table")
    state = table.assign(confirmed_closure_day=followed_closure_day(table["confirmed_closure_day"],
                                                                    table["visit_confirmed_day"]))
    risks = recurrence_outcomes(state, params)
    out = table.copy()
    for name in RECURRENCE_RISKS:
        out[name] = risks[name].to_numpy()
    for name in RECURRENCE_EVENTS:
        if name in out:
            out[name] = math.nan
    return out


def recurred_within(event_month, months: float):
    """Per patient: a first recurrence drawn (`RECURRENCE_EVENTS`) within `months` of confirmed closure (1.0),
    none (0.0; death first, or later), or NaN when the closure was not confirmed."""
    month = np.asarray(event_month, dtype=float)
    return np.where(np.isnan(month), math.nan, (month <= months).astype(float))
