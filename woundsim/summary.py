"""The per-patient summary of a run (DESIGN.md section 7; keys in docs/ARCHITECTURE.md)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from woundsim.rules import recurrence_probability

PRIMARY_DAY = 84.0  # week 12, the primary time point of pivotal DFU trials
SECONDARY_DAY = 140.0  # week 20 (Margolis et al. 1999)
PAR_DAY = 28.0  # week 4


def closure_quality(model) -> float:
    """Tissue quality at closure, in [0, 1]: mean granulation x relative perfusion over the ulcer."""
    w = model.wound
    rel_perf = model.perfusion[w] / np.maximum(model.perfusion_max[w], 1e-12)
    return float(np.mean(model.granulation[w] * rel_perf))


def recurrence_hazard(params, quality: float, impairment: float) -> float:
    """Monthly recurrence hazard after closure, rising with poor tissue quality and impairment."""
    r = params.recurrence
    return r.hazard_per_month * math.exp(r.quality_gain * (1.0 - quality) + r.impairment_gain * impairment)


def summarise(model, timeseries: pd.DataFrame) -> dict:
    """Summary of one simulated patient from its model at the end of the run and its daily series."""
    p = model.params
    confirm_days = p.numerics.confirm_weeks * 7.0
    end_day = model.hours / 24.0
    first = model.first_closure_h / 24.0
    confirmed = not math.isnan(first) and end_day >= first + confirm_days - 1e-9
    horizon_day = p.numerics.horizon_weeks * 7.0

    def closed_by(day: float):
        if confirmed and first <= day:
            return True
        if horizon_day >= day or (not math.isnan(first) and first > day):
            return False
        return None  # not simulated that far

    area0 = float(timeseries["open_area_cm2"].iloc[0])
    par4 = _par_at(timeseries, PAR_DAY, confirmed)
    risk12 = risk_fu = math.nan
    if confirmed:
        h = recurrence_hazard(p, model.closure_quality, model.impairment)
        risk12 = recurrence_probability(h, 12.0)
        risk_fu = recurrence_probability(h, p.recurrence.followup_months)
    m1 = timeseries["m1_fraction"].to_numpy(dtype=float)
    return {
        "initial_area_cm2": area0,
        "first_closure_day": first if not math.isnan(first) else math.nan,
        "confirmed_closure_day": first + confirm_days if confirmed else math.nan,
        "time_to_closure_days": first if confirmed else math.nan,
        "closed_by_week12": closed_by(PRIMARY_DAY),
        "closed_by_week20": closed_by(SECONDARY_DAY),
        "par_week4": par4,
        "peak_m1_fraction": float(np.nanmax(m1)) if np.isfinite(m1).any() else math.nan,
        "closure_quality": model.closure_quality if confirmed else math.nan,
        "recurrence_risk_12m": risk12,
        "recurrence_risk_followup": risk_fu,
        "horizon_days": horizon_day,
        "simulated_days": end_day,
    }


def _par_at(ts: pd.DataFrame, day: float, confirmed: bool) -> float:
    hit = ts.loc[np.isclose(ts["day"], day), "par_pct"]
    if len(hit):
        return float(hit.iloc[0])
    if confirmed and ts["day"].iloc[-1] < day:
        return 100.0  # closed and confirmed before day 28: the run stopped, the ulcer stays closed
    return math.nan


def summary_line(summary: dict) -> str:
    """One line of a patient's outcome, as `woundsim run` prints it: closure days, or PAR when not closed."""
    if summary["confirmed_closure_day"] == summary["confirmed_closure_day"]:  # not NaN
        return f"closed on day {summary['first_closure_day']:.1f} (confirmed day {summary['confirmed_closure_day']:.1f})"
    return f"not closed by day {summary['simulated_days']:.0f}; PAR week 4 {summary['par_week4']:.0f}%"
