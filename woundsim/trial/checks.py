"""Statistical checks of a design study, run at the design's own settings (issue 5, parts 6 and 7).

Each check resamples trials from pools whose answer is known and compares the simulated power with it;
the band is 3 Monte Carlo standard errors sqrt(P (1 - P) / T), as in tests/test_trial_stats.py:
- `bernoulli`: two proportions at the simulated pools' primary-day closure rates, at the design's arm size,
  no dropout: against the exact power of the primary test (chi-square, Fisher below expected count 5; by
  enumeration), and against statsmodels' normal approximation within 3 SE + |exact - normal| (at small
  arm sizes Fisher's test makes the two differ);
- `schoenfeld`: exponential closure times with the control pool's primary-day rate (kept in [0.05, 0.95]),
  the design's visits and dropout, a hazard ratio of 1.6 and the arm size at which Schoenfeld's formula
  gives it 80% power (the formula is a large-sample approximation for moderate hazard ratios, so it is not
  checked at the design's own, possibly tiny, size): log-rank power against the formula;
- `type I error`: the simulated control pool against itself with the design's dropout: at the design's
  arm size and stratification (valid when the rejection rate is at most alpha + 3 SE: with few patients
  and events the tests are conservative), and at 100 per arm with and without stratified randomisation
  (within 3 SE of alpha, except where a test is known to be conservative, which is then only bounded:
  Fisher's tests, an unstratified test after stratified randomisation when the stratum predicts the
  outcome, the log-rank and Cox tests with fewer than 40 events; `_size_rule` states the reason in the row);
- `published`: the published pivotal trials' rate scenarios (conf/trial/*.yaml) at their own arm sizes.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as sps

from woundsim.endpoints import closed_by_table
from woundsim.parallel import ParallelConfig, map_tasks
from woundsim.seeds import design_check_seeds
from woundsim.trial import stats
from woundsim.trial.design import Dropout, TrialDesign
from woundsim.trial.endpoints import P_VALUE_KEY
from woundsim.trial.power import simulate_trials
from woundsim.trial.scenarios import (analytic_power_two_proportions, bernoulli_pool, event_probability,
                                      exponential_pool, hazard_for_rate, load_rate_scenario, schoenfeld_power)

POOL = 20000  # patients per synthetic pool (stratified draws: no pool error to speak of)
SCHOENFELD_HR = 1.6  # hazard ratio of the Schoenfeld check (as in tests/test_trial_stats.py)
LARGE_N = 100  # control-arm size of the two-sided type I error check
MIN_EVENTS = 40  # events below which the log-rank and Cox tests are only required to be conservative


def exact_power(p_a: float, p_b: float, n_a: int, n_b: int, alpha: float = 0.05) -> float:
    """Exact power of the primary test (chi-square / Fisher) by enumerating both binomial outcomes."""
    reject = np.array([[stats.two_proportion_p(i, n_a, j, n_b)[0] < alpha for j in range(n_b + 1)]
                       for i in range(n_a + 1)], float)
    return float(sps.binom.pmf(np.arange(n_a + 1), n_a, p_a) @ reject @ sps.binom.pmf(np.arange(n_b + 1), n_b, p_b))


def closed_rate(pool: pd.DataFrame, day: float) -> float:
    """Fraction of a pool with confirmed closure by `day` (d), kept inside [0.02, 0.98]."""
    return float(np.clip(closed_by_table(pool, day).mean(), 0.02, 0.98))


def schoenfeld_size(hazard_ratio: float, hazard_b: float, design: TrialDesign, power: float = 0.8,
                    max_n: int = 5000) -> int:
    """Smallest control-arm size at which Schoenfeld's formula gives `power` (capped at `max_n`)."""
    def power_at(n: int) -> float:
        n_a, n_b = design.arm_counts(n)
        events = n_a * event_probability(hazard_ratio * hazard_b, design) + n_b * event_probability(hazard_b, design)
        return schoenfeld_power(hazard_ratio, n_a, n_b, events, design.alpha)

    low, high = 2, max_n
    while low < high:
        mid = (low + high) // 2
        low, high = (low, mid) if power_at(mid) >= power else (mid + 1, high)
    return low


def check_task(task: tuple) -> list[dict]:
    """One check (a picklable task for `map_tasks`); returns its result rows."""
    kind, args = task
    return {"bernoulli": _bernoulli, "schoenfeld": _schoenfeld, "type_one_error": _type_one,
            "published": _published}[kind](*args)


def _row(check: str, detail: str, n: tuple[int, int], simulated: float, expected: float, trials: int,
         upper_only: bool = False, extra: float = 0.0, note: str = "") -> dict:
    """A result row; `passed` = |simulated - expected| (or simulated - expected if `upper_only`) below
    3 MC SE + `extra`."""
    se = math.sqrt(max(expected * (1 - expected), 1e-12) / trials)
    gap = simulated - expected
    tolerance = 3 * se + extra
    ok = gap < tolerance if upper_only else abs(gap) < tolerance
    return {"check": check, "detail": detail, "n_treatment": n[0], "n_control": n[1], "simulated": simulated,
            "expected": expected, "mc_se": se, "tolerance": tolerance, "rule": "<=" if upper_only else "±",
            "passed": bool(ok), "trials": trials, "note": note}


def _bernoulli(p_a: float, p_b: float, design: TrialDesign, n: int, trials: int, seed: int) -> list[dict]:
    plain = dataclasses.replace(design, dropout=Dropout(0.0), stratify_by=None)
    rng = np.random.default_rng(seed)
    pa, pb = (bernoulli_pool(r, POOL, rng, stratified_draws=True) for r in (p_a, p_b))
    n_a, n_b = plain.arm_counts(n)
    sim = float((simulate_trials(pa, pb, plain, n, trials, seed, endpoints=("primary",))["p_primary"] < design.alpha)
                .mean())
    analytic = analytic_power_two_proportions(p_a, p_b, n_a, n_b, design.alpha)
    exact = exact_power(p_a, p_b, n_a, n_b, design.alpha)
    detail = f"rates {p_a:.3f} vs {p_b:.3f}"
    return [_row("bernoulli vs exact", detail, (n_a, n_b), sim, exact, trials),
            _row("bernoulli vs statsmodels", detail, (n_a, n_b), sim, analytic, trials, extra=abs(exact - analytic),
                 note=f"normal approximation, {abs(exact - analytic):.3f} off the exact power (added to the band)")]


def _schoenfeld(p_b: float, design: TrialDesign, trials: int, seed: int) -> list[dict]:
    plain = dataclasses.replace(design, stratify_by=None)
    hr, h_b = SCHOENFELD_HR, hazard_for_rate(float(np.clip(p_b, 0.05, 0.95)), plain.primary_day)
    n = schoenfeld_size(hr, h_b, plain)
    n_a, n_b = plain.arm_counts(n)
    rng = np.random.default_rng(seed)
    pa, pb = (exponential_pool(h, POOL, rng, stratified_draws=True) for h in (hr * h_b, h_b))
    res = simulate_trials(pa, pb, plain, n, trials, seed, endpoints=("logrank",))
    events = n_a * event_probability(hr * h_b, plain) + n_b * event_probability(h_b, plain)
    expect = schoenfeld_power(hr, n_a, n_b, events, plain.alpha)
    return [_row("log-rank vs Schoenfeld", f"HR {hr:.2f}, control rate {p_b:.3f}, {events:.1f} expected events",
                 (n_a, n_b), float((res["p_logrank"] < plain.alpha).mean()), expect, trials)]


def _type_one(pool_b: pd.DataFrame, design: TrialDesign, n: int, trials: int, seed: int) -> list[dict]:
    plain = dataclasses.replace(design, stratify_by=None)
    rows = []
    for size, d, label in ((n, design, "design size"), (LARGE_N, design, f"n = {LARGE_N}"),
                           (LARGE_N, plain, f"n = {LARGE_N}, unstratified randomisation")):
        res = simulate_trials(pool_b, pool_b, d, size, trials, seed)
        events = float((res["events_a"] + res["events_b"]).mean())
        for ep, key in P_VALUE_KEY.items():
            bound, note = _size_rule(ep, size == n, d.stratify_by is not None, events)
            rows.append(_row(f"type I error ({label})", ep, d.arm_counts(size), float((res[key] < d.alpha).mean()),
                             d.alpha, trials, upper_only=bound, note=note))
    return rows


def _size_rule(endpoint: str, design_size: bool, stratified: bool, events: float) -> tuple[bool, str]:
    """Whether a test's size is only bounded by alpha (and why) rather than expected to equal it."""
    if design_size:
        return True, "valid if <= alpha; tests are conservative with few patients and events"
    if endpoint == "recurrence" or (endpoint == "primary" and not stratified):
        return True, "Fisher's exact test (used at small counts) is conservative"
    if endpoint in ("primary", "par_week4") and stratified:
        return True, ("unstratified test after grade-stratified randomisation: conservative when grade "
                      "predicts the outcome")
    if endpoint in ("logrank", "cox") and events < MIN_EVENTS:
        return True, f"{events:.0f} events on average: the asymptotic test is conservative"
    return False, ""


def _published(path: Path, trials: int) -> list[dict]:
    sc = load_rate_scenario(path)
    pa, pb = sc.pools(POOL, np.random.default_rng(sc.design.seed))
    (n,) = sc.design.arm_sizes
    res = simulate_trials(pa, pb, sc.design, n, trials, endpoints=("primary",))
    sim = float((res["p_primary"] < sc.design.alpha).mean())
    exact = exact_power(sc.treatment.rate_week12, sc.control.rate_week12, sc.treatment.n, sc.control.n, sc.design.alpha)
    return [_row(f"published: {sc.name}", f"{sc.treatment.rate_week12:.3f} vs {sc.control.rate_week12:.3f}",
                 (sc.treatment.n, sc.control.n), sim, exact, trials,
                 note=f"statsmodels {sc.analytic_power():.3f}; {sc.source}")]


def design_checks(pool_a: pd.DataFrame, pool_b: pd.DataFrame, design: TrialDesign, n: int, trials: int,
                  published: list[str], conf_dir: Path, parallel: ParallelConfig | None = None) -> pd.DataFrame:
    """All checks (see the module docstring); one row per comparison.

    Args:
        pool_a, pool_b: the simulated treatment and control pools at the reference parameters.
        design: the study's design.
        n: control-arm size.
        trials: simulated trials per check.
        published: names of rate scenario files in `conf_dir` (without .yaml).
        conf_dir: folder of the rate scenarios (conf/trial).
        parallel: back end.
    """
    p_a, p_b = closed_rate(pool_a, design.primary_day), closed_rate(pool_b, design.primary_day)
    bernoulli, schoenfeld, type_one = design_check_seeds(design.seed)
    tasks = [("bernoulli", (p_a, p_b, design, n, trials, bernoulli)), ("schoenfeld", (p_b, design, trials, schoenfeld)),
             ("type_one_error", (pool_b, design, n, trials, type_one))]
    tasks += [("published", (Path(conf_dir) / f"{name}.yaml", trials)) for name in published]
    config = dataclasses.replace(parallel or ParallelConfig(), progress=False)
    return pd.DataFrame([row for rows in map_tasks(check_task, tasks, config=config) for row in rows])
