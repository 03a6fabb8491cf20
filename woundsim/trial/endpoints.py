"""What a blinded weekly assessor records, and the analysis a trial statistician runs on it.

Observation model (`observe_patients`), per simulated patient (visits, confirmation and recurrence as
defined once in `woundsim.endpoints`):
- dropout: with `design.dropout`, a dropout day (uniform over the follow-up, or exponential with the hazard
  that loses `rate` by the end of follow-up); the patient attends visits up to that day, the end of
  follow-up and the simulated horizon (`horizon_days`, if given), whichever comes first.
- closure: a table with `visit_closure_day` (simulated patients' summaries) gives the closure as the assessor
  reads it against the planimetry detection limit (`woundsim.endpoints.visit_read_closure`: seen on that
  visit, confirmed at the visit `confirmation_days` later). Otherwise (synthetic pools) only a closure that the
  simulation confirmed (`confirmed_closure_day` not NaN) can be recorded.
  The assessor first sees it at the first visit on or after `first_closure_day` and confirms it at the
  visit `confirmation_days` later; the simulated confirmation (still closed 14 days after the first
  closure day) is taken to hold at that visit too (the assessor's confirmation falls at most one visit
  interval later). A closure is an event only when the patient attends the confirmation visit; otherwise
  the patient is censored at the last attended visit. Event time = visit of first observed closure.
- primary: `closed_by_primary` = confirmed closure first seen on or before `primary_day`; patients lost
  before confirmation count as not closed (intention to treat, non-responder imputation).
- PAR at week 4: recorded when the patient attends the day-28 visit, else missing.
- recurrence among healed (confirmed closure during follow-up): the patient's first recurrence at
  `design.recurrence_site` (same-site by default, as the seed trial's 0/10 is read) within
  `recurrence_followup_months` of confirmed closure, death competing: the first event drawn for each
  simulated patient by `woundsim.endpoints.recurrence_outcomes` (`recurrence_same_site_month`,
  `recurrence_any_site_month`), so a pool patient drawn into several trials has the same recurrence, as
  it has the same closure day.

Analysis (`analyse_trial`), one simulated trial at a time, treatment (arm 0) against control (arm 1):
- primary: Pearson chi-square without continuity correction (the pooled two-proportion z-test, whose power
  the textbook formulas give; Yates' correction is conservative), Fisher's exact test when an expected
  count is below 5; risk difference with a Newcombe hybrid score interval.
- time to closure: Kaplan-Meier medians, log-rank p, Cox hazard ratio with Firth's penalty (Efron ties,
  profile penalised-likelihood interval and p): finite and valid when few or no control ulcers close,
  where the plain Cox fit diverges and its tests lose their size or their power; all stratified by `design.stratify_by` when given. HR > 1 means faster closure on treatment.
- PAR at week 4: Mann-Whitney U (two-sided, normal approximation), because PAR is bounded above at 100%
  with a point mass there (ulcers closed by week 4), unbounded below (enlarging ulcers) and skewed, so a
  t-test's normality and equal-variance assumptions fail and single outliers dominate the mean.
- recurrence within `recurrence_followup_months` among healed: Fisher's exact test.
Intervals are at level 1 - alpha.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import norm

from woundsim.endpoints import (PAR_DAY, RECURRENCE_EVENTS, confirmation_visit, last_visit_by, observed_closure_day,
                                recurred_within, require_columns)
from woundsim.errors import InputError
from woundsim.trial import stats
from woundsim.trial.design import TrialDesign, dropout_hazard_per_day

ENDPOINTS = ("primary", "logrank", "cox", "par_week4", "recurrence")
P_VALUE_KEY = {"primary": "p_primary", "logrank": "p_logrank", "cox": "p_cox", "par_week4": "p_par_week4",
               "recurrence": "p_recurrence"}
REQUIRED_COLUMNS = ("first_closure_day", "confirmed_closure_day")


def pool_arrays(pool: pd.DataFrame, stratum_codes: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Validate a per-patient summary table and return the float arrays the observation model reads.

    Args:
        pool: one row per simulated patient with at least `first_closure_day` and
            `confirmed_closure_day` (d); optional `par_week4` (%), the drawn first recurrences
            `recurrence_same_site_month` and `recurrence_any_site_month` (months after confirmed closure; inf
            none, NaN not healed; missing: recurrence unknown) and `horizon_days` (d; missing means unlimited).
        stratum_codes: integer stratum code per row, or None.
    """
    if not isinstance(pool, pd.DataFrame) or len(pool) == 0:
        raise InputError("pool must be a non-empty pandas DataFrame of per-patient summaries")
    missing = [c for c in REQUIRED_COLUMNS if c not in pool.columns]
    if missing:
        raise InputError(f"pool lacks columns {missing}; required {list(REQUIRED_COLUMNS)}")
    n = len(pool)

    def col(name: str, default: float) -> np.ndarray:
        return pool[name].to_numpy(dtype=float) if name in pool.columns else np.full(n, default)

    first, confirmed = col("first_closure_day", math.nan), col("confirmed_closure_day", math.nan)
    closure = np.where(np.isfinite(confirmed), first, math.nan)
    if np.any(closure < 0) or np.any(np.isfinite(confirmed) & ~np.isfinite(first)):
        raise InputError("first_closure_day must be >= 0 d and given wherever confirmed_closure_day is")
    if "visit_closure_day" in pool.columns:  # read at a visit against the detection limit (woundsim.endpoints)
        closure = col("visit_closure_day", math.nan)
        if np.any(closure < 0):
            raise InputError("visit_closure_day must be >= 0 d")
    if "recurrence_risk_12m" in pool.columns:
        require_columns(pool, RECURRENCE_EVENTS, "a trial pool")
    months = {name: col(name, math.nan) for name in RECURRENCE_EVENTS}
    if any(np.any(m < 0) for m in months.values()):
        raise InputError(f"{' and '.join(RECURRENCE_EVENTS)} must be >= 0 months (inf: no recurrence)")
    horizon = col("horizon_days", math.inf)
    horizon = np.where(np.isnan(horizon), math.inf, horizon)
    codes = np.zeros(n, dtype=np.int64) if stratum_codes is None else np.asarray(stratum_codes, dtype=np.int64)
    return {"closure_day": closure, "par_week4": col("par_week4", math.nan),
            "same_site_month": months["recurrence_same_site_month"], "any_site_month": months["recurrence_any_site_month"],
            "horizon_days": horizon, "stratum": codes}


def observe_arrays(pool: dict[str, np.ndarray], design: TrialDesign, rng: np.random.Generator) -> dict:
    """Observation model on arrays from `pool_arrays` (see the module docstring); the fast path."""
    n = pool["closure_day"].size
    v = design.visit_interval_days
    u_drop, u_time = rng.random(n), rng.random(n)
    rng.random(n)  # drawn as before recurrence version 2 (a Bernoulli per trial), so dropout's streams stay the same
    if design.dropout.timing == "uniform":
        dropout_day = np.where(u_drop < design.dropout.rate, u_time * design.followup_days, math.inf)
    else:
        hazard = dropout_hazard_per_day(design.dropout, design.followup_days)
        dropout_day = -np.log1p(-u_time) / hazard if hazard > 0 else np.full(n, math.inf)
    end = np.minimum(np.minimum(dropout_day, design.followup_days), pool["horizon_days"])
    last_visit = last_visit_by(end, v)
    seen = observed_closure_day(pool["closure_day"], v)
    confirm_visit = confirmation_visit(seen, design.confirmation_days, v)
    event = confirm_visit <= last_visit
    recurred = recurred_within(pool[f"{design.recurrence_site}_month"], design.recurrence_followup_months)
    return {
        "dropout_day": dropout_day,
        "last_visit_day": last_visit,
        "closure_event": event,
        "closure_time_days": np.where(event, seen, last_visit),
        "closed_by_primary": event & (seen <= design.primary_day),
        "par_week4": np.where(last_visit >= PAR_DAY, pool["par_week4"], math.nan),
        "recurred": np.where(event, recurred, math.nan),
        "stratum": pool["stratum"],
    }


def observe_patients(pool_rows: pd.DataFrame, design: TrialDesign, rng: np.random.Generator) -> pd.DataFrame:
    """Turn one arm's simulated patients into the assessor's records (one row per patient).

    Args:
        pool_rows: per-patient summaries (see `pool_arrays`); the `design.stratify_by` column, when given,
            is carried through.
        design: the trial design (visits, confirmation, follow-up, dropout).
        rng: generator for the dropout and recurrence draws.

    Returns:
        DataFrame with `dropout_day`, `last_visit_day`, `closure_event`, `closure_time_days` (d),
        `closed_by_primary`, `par_week4` (%, NaN if missed), `healed`, `recurred_12m` (1/0 within
        `recurrence_followup_months`, whatever it is; NaN if not healed or the recurrence is unknown) and the
        stratification column.
    """
    obs = observe_arrays(pool_arrays(pool_rows), design, rng)
    out = pd.DataFrame({k: obs[k] for k in ("dropout_day", "last_visit_day", "closure_event",
                                            "closure_time_days", "closed_by_primary", "par_week4")},
                       index=pool_rows.index)
    out["healed"] = obs["closure_event"]
    out["recurred_12m"] = obs["recurred"]
    if design.stratify_by is not None and design.stratify_by in pool_rows.columns:
        out[design.stratify_by] = pool_rows[design.stratify_by].to_numpy()
    return out


def analyse_trial(observed_a: pd.DataFrame, observed_b: pd.DataFrame, design: TrialDesign,
                  endpoints: tuple[str, ...] = ENDPOINTS) -> dict[str, float]:
    """Analyse one trial from the two arms' `observe_patients` tables (a = treatment, b = control).

    Returns:
        flat dict of estimates and p-values; see `analyse_arrays`.
    """
    strat = design.stratify_by
    if strat is not None and (strat not in observed_a.columns or strat not in observed_b.columns):
        raise InputError(f"stratify_by = {strat!r} is not a column of the observed tables")
    codes = (None if strat is None else
             pd.factorize(pd.concat([observed_a[strat], observed_b[strat]], ignore_index=True))[0])

    def arrays(obs: pd.DataFrame, part: np.ndarray | None) -> dict:
        out = {k: obs[k].to_numpy() for k in ("closure_event", "closure_time_days", "closed_by_primary",
                                             "par_week4")}
        out["recurred"] = obs["recurred_12m"].to_numpy(dtype=float)
        out["stratum"] = np.zeros(len(obs), dtype=np.int64) if part is None else part
        return out

    na = len(observed_a)
    a = arrays(observed_a, None if codes is None else codes[:na])
    b = arrays(observed_b, None if codes is None else codes[na:])
    return analyse_arrays(a, b, design, endpoints)


def analyse_arrays(a: dict, b: dict, design: TrialDesign, endpoints: tuple[str, ...] = ENDPOINTS) -> dict:
    """Analyse one trial from `observe_arrays` outputs (a = treatment, b = control); the fast path."""
    unknown = set(endpoints) - set(ENDPOINTS)
    if unknown:
        raise InputError(f"unknown endpoints {sorted(unknown)}; allowed {list(ENDPOINTS)}")
    z = float(norm.ppf(1.0 - design.alpha / 2.0))
    res: dict[str, float] = {"n_a": a["closure_event"].size, "n_b": b["closure_event"].size}
    if "primary" in endpoints:
        res.update(_primary(a, b, z))
    if "logrank" in endpoints or "cox" in endpoints:
        res.update(_time_to_closure(a, b, design, z, endpoints))
    if "par_week4" in endpoints:
        res.update(_par(a, b))
    if "recurrence" in endpoints:
        res.update(_recurrence(a, b))
    return res


def _primary(a: dict, b: dict, z: float) -> dict:
    ka, kb = int(a["closed_by_primary"].sum()), int(b["closed_by_primary"].sum())
    na, nb = a["closed_by_primary"].size, b["closed_by_primary"].size
    p, test = stats.two_proportion_p(ka, na, kb, nb)
    lo, hi = stats.newcombe_diff_ci(ka, na, kb, nb, z)
    return {"closed_a": ka, "closed_b": kb, "rate_a": ka / na, "rate_b": kb / nb,
            "risk_difference": ka / na - kb / nb, "rd_ci_low": lo, "rd_ci_high": hi,
            "primary_fisher": float(test == "fisher"), "p_primary": p}


def _time_to_closure(a: dict, b: dict, design: TrialDesign, z: float, endpoints: tuple[str, ...]) -> dict:
    time = np.concatenate([a["closure_time_days"], b["closure_time_days"]])
    event = np.concatenate([a["closure_event"], b["closure_event"]])
    group = np.concatenate([np.ones(a["closure_event"].size, bool), np.zeros(b["closure_event"].size, bool)])
    plain = stats.risk_tables(time, event, group)
    strat = plain
    if design.stratify_by is not None:
        strat = stats.risk_tables(time, event, group, np.concatenate([a["stratum"], b["stratum"]]))
    out = {"events_a": int(a["closure_event"].sum()), "events_b": int(b["closure_event"].sum()),
           "km_median_a": stats.km_median(plain, 1), "km_median_b": stats.km_median(plain, 0)}
    if "logrank" in endpoints:
        out["p_logrank"] = stats.logrank_p(strat)[1]
    if "cox" in endpoints:
        fit = stats.cox_binary(strat, firth=True, z=z)
        out.update({"hazard_ratio": _exp(fit.beta), "hr_ci_low": _exp(fit.ci_low), "hr_ci_high": _exp(fit.ci_high),
                    "p_cox": fit.p_lr})
    return out


def _exp(x: float) -> float:
    """exp that returns inf instead of raising for a huge log hazard ratio, and nan for nan."""
    return math.nan if math.isnan(x) else math.exp(x) if x < 709.0 else math.inf


def _par(a: dict, b: dict) -> dict:
    xa = a["par_week4"][~np.isnan(a["par_week4"])]
    xb = b["par_week4"][~np.isnan(b["par_week4"])]
    return {"par_median_a": float(np.median(xa)) if xa.size else math.nan,
            "par_median_b": float(np.median(xb)) if xb.size else math.nan,
            "p_par_week4": stats.mann_whitney_p(xa, xb)}


def _recurrence(a: dict, b: dict) -> dict:
    ra, rb = a["recurred"], b["recurred"]
    ha, hb = int(np.isfinite(ra).sum()), int(np.isfinite(rb).sum())
    ka, kb = int(np.nansum(ra)), int(np.nansum(rb))
    p = stats.fisher_exact_p(ka, ha - ka, kb, hb - kb) if ha and hb else math.nan
    return {"healed_a": ha, "healed_b": hb, "recurred_a": ka, "recurred_b": kb, "p_recurrence": p}
