"""The per-patient summary of a run (DESIGN.md section 7; keys in docs/ARCHITECTURE.md), from the endpoint
definitions of `woundsim.endpoints`."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from woundsim.endpoints import PAR_DAY, PRIMARY_DAY, SECONDARY_DAY, closed_by, closure_confirmed, par_at
from woundsim.endpoints import followed_closure_day, recurrence_outcomes, visit_read_closure
from woundsim.errors import renamed
from woundsim.units import hours_to_days, voxels_to_area_cm2, weeks_to_days

__all__ = ["contraction_share", "summarise", "summary_line", "PRIMARY_DAY", "SECONDARY_DAY", "PAR_DAY"]
__getattr__ = renamed(__name__, {"closure_quality": "WoundModel.scar_maturity (TissueState.scar_maturity)",
                                 "recurrence_hazard": "woundsim.endpoints.recurrence_outcomes"})


def summarise(model, timeseries: pd.DataFrame, *, stopped_early: bool = False) -> dict:
    """Summary of one simulated patient from its model at the end of the run and its daily series.

    Every endpoint is computed by `woundsim.endpoints`, the one definition the studies share.

    Args:
        model: the model at the end of its run.
        timeseries: its daily records.
        stopped_early: the run was stopped before its horizon by its caller (`simulate(stop_after_day=...)`):
            closure by a day whose confirmation window the run did not reach is then unknown (None), not False.
    """
    p = model.params
    confirm_days = weeks_to_days(p.numerics.confirm_weeks)
    end_day = hours_to_days(model.hours)
    first = hours_to_days(model.first_closure_h)
    confirmed = closure_confirmed(first, end_day, confirm_days)
    horizon_day = weeks_to_days(p.numerics.horizon_weeks)
    followed_to = min(horizon_day, end_day - confirm_days) if stopped_early else horizon_day
    area0 = float(timeseries["open_area_cm2"].iloc[0])
    par4 = par_at(timeseries["day"], timeseries["par_pct"], PAR_DAY, confirmed)
    seen, seen_confirmed = visit_read_closure(timeseries["day"], timeseries["open_area_cm2"], confirm_days,
                                              closed_after_end=confirmed)
    # recurrence follows every healed patient, as a clinic follows those it saw healed: from the model's confirmed
    # closure (limit 0), or else from the visit that confirmed a closure read at the detection limit (a remnant
    # below 1 mm² that the run never covered); that scar's maturity is read at the end of the run
    if confirmed:
        q = model.scar_maturity
    elif math.isfinite(seen_confirmed):
        q = model.tissue.scar_maturity(p.foot.maturation_days, p.tissue.scar_maturation_days)
    else:
        q = math.nan
    followed_from = float(followed_closure_day(first + confirm_days if confirmed else math.nan, seen_confirmed))
    closure = {**model.patient.to_dict(), "scar_maturity": q, "confirmed_closure_day": followed_from}
    seed = model.seed if model.seed is not None else int(np.random.SeedSequence().entropy % 2**63)
    recurrence = recurrence_outcomes({k: [v] for k, v in closure.items()}, p.recurrence, seeds=[seed])
    m1 = timeseries["m1_fraction"].to_numpy(dtype=float)
    contracted = voxels_to_area_cm2(model.contracted_voxels, p.numerics.dx_um)
    return {
        "initial_area_cm2": area0,
        "first_closure_day": first if not math.isnan(first) else math.nan,
        "confirmed_closure_day": first + confirm_days if confirmed else math.nan,
        "time_to_closure_days": first if confirmed else math.nan,
        "visit_closure_day": seen,
        "visit_confirmed_day": seen_confirmed,
        "closed_by_week12": closed_by(PRIMARY_DAY, seen, seen == seen, followed_to),  # read at visits
        "closed_by_week20": closed_by(SECONDARY_DAY, seen, seen == seen, followed_to),
        "par_week4": par4,
        "peak_m1_fraction": float(np.nanmax(m1)) if np.isfinite(m1).any() else math.nan,
        "contracted_area_cm2": contracted,
        "contraction_share": contraction_share(contracted, area0) if confirmed else math.nan,
        "scar_maturity": q,
        **{k: float(v[0]) for k, v in recurrence.items()},
        "horizon_days": horizon_day,
        "simulated_days": end_day,
    }


def contraction_share(contracted_area_cm2: float, initial_area_cm2: float) -> float:
    """The share of a closure due to contraction: the open area that the daily contractions removed over the
    run, over the open area at entry (docs/contraction.md); the rest closed by new tissue (granulation covered
    by epithelium). NaN for an ulcer with no area."""
    return contracted_area_cm2 / initial_area_cm2 if initial_area_cm2 > 0.0 else math.nan


def summary_line(summary: dict) -> str:
    """One line of a patient's outcome, as `woundsim run` prints it: closure days, or PAR when not closed."""
    if summary["confirmed_closure_day"] == summary["confirmed_closure_day"]:  # not NaN
        seen = summary.get("visit_closure_day", math.nan)
        visit = f"; seen closed at the day-{seen:.0f} visit" if seen == seen else ""
        return (f"closed on day {summary['first_closure_day']:.1f} (confirmed day {summary['confirmed_closure_day']:.1f})"
                + visit)
    return f"not closed by day {summary['simulated_days']:.0f}; PAR week 4 {summary['par_week4']:.0f}%"
