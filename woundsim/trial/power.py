"""Power, smallest arm size and assurance by resampling trials from simulated patient pools.

Each arm's pool (per-patient summaries, one row per simulated patient) is simulated once; a trial of
control-arm size n draws round(k n) treatment and n control patients from the pools with replacement,
observes them (`endpoints.observe_arrays`) and analyses them (`endpoints.analyse_arrays`). Trial i at
size n uses the generator `woundsim.seeds.trial_rng(rng_seed, seed_key, n, i)`, so results do not
depend on which sizes are scanned, on chunking or on the parallel back end.

Stratified randomisation (`stratify` = a column name): the trial's control-arm stratum counts are
multinomial with the control pool's stratum proportions, the treatment arm's counts split round(k n)
in the same proportions (largest remainder), as permuted blocks within strata would; patients are then
resampled within their stratum, and the log-rank and Cox analyses are stratified.

Pool size. Resampling reproduces the power at the pool's own (empirical) outcome distribution without
bias; the pool differs from the model's distribution by its sampling error, which moves the power of a
test whose statistic is asymptotically normal by about sd = phi(Phi^-1(P)) * sqrt(r), r = max(n_a/M_a,
n_b/M_b) for pools of M patients (the pool's effect estimate has r times the variance of the trial's),
with a mean shift of -z phi(z) r / 2 (z = Phi^-1(P)). At P = 0.8, phi(z) = 0.28: a pool of M = 200 n
keeps sd to 0.02, M = 31 n to 0.05. Assurance averages the pool error over posterior draws, so there
only the mean shift remains. `pool_power_sd` and `min_pool_size` give these figures; the power table
carries `pool_sd` (tests/test_trial_stats.py checks both against pools of 200, 500 and 2000).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import norm

from woundsim.errors import InputError, require, require_range
from woundsim.seeds import trial_rng
from woundsim.trial.design import TrialDesign
from woundsim.trial.endpoints import ENDPOINTS, P_VALUE_KEY, analyse_arrays, observe_arrays, pool_arrays
from woundsim.trial.stats import wilson_interval


def _prepared(pool_a: pd.DataFrame, pool_b: pd.DataFrame, stratify: str | None) -> tuple[dict, dict]:
    """Pool arrays with joint stratum codes and, per arm, the row indices of each stratum."""
    if stratify is None:
        return pool_arrays(pool_a), pool_arrays(pool_b)
    for name, pool in (("pool_a", pool_a), ("pool_b", pool_b)):
        require(isinstance(pool, pd.DataFrame) and stratify in pool.columns,
                f"{name} lacks the stratification column {stratify!r}")
    codes, labels = pd.factorize(pd.concat([pool_a[stratify], pool_b[stratify]], ignore_index=True))
    require(bool(np.all(codes >= 0)), f"stratification column {stratify!r} has missing values")
    a, b = pool_arrays(pool_a, codes[:len(pool_a)]), pool_arrays(pool_b, codes[len(pool_a):])
    missing = set(np.unique(b["stratum"])) - set(np.unique(a["stratum"]))
    require(not missing, f"pool_a has no patients in strata {[labels[i] for i in missing]} of pool_b")
    for arr in (a, b):
        arr["rows_by_stratum"] = [np.nonzero(arr["stratum"] == s)[0] for s in range(len(labels))]
    b["stratum_p"] = np.array([r.size for r in b["rows_by_stratum"]], float) / len(pool_b)
    return a, b


def _draw_rows(rng: np.random.Generator, a: dict, b: dict, n_a: int, n_b: int,
               stratified: bool) -> tuple[np.ndarray, np.ndarray]:
    if not stratified:
        return (rng.integers(0, a["closure_day"].size, n_a), rng.integers(0, b["closure_day"].size, n_b))
    counts_b = rng.multinomial(n_b, b["stratum_p"])
    share = n_a * counts_b / n_b
    counts_a = np.floor(share).astype(int)
    extra = n_a - counts_a.sum()
    counts_a[np.argsort(-(share - counts_a), kind="stable")[:extra]] += 1
    rows = []
    for arr, counts in ((a, counts_a), (b, counts_b)):
        parts = [r[rng.integers(0, r.size, c)] for r, c in zip(arr["rows_by_stratum"], counts) if c > 0]
        rows.append(np.concatenate(parts))
    return rows[0], rows[1]


def _subset(arr: dict, rows: np.ndarray) -> dict:
    return {k: arr[k][rows] for k in ("closure_day", "par_week4", "same_site_month", "any_site_month", "horizon_days",
                                       "stratum")}


def _effective(design: TrialDesign, stratify: str | None) -> TrialDesign:
    if stratify is None or stratify == design.stratify_by:
        return design
    return dataclasses.replace(design, stratify_by=stratify)


def simulate_trials(pool_a: pd.DataFrame, pool_b: pd.DataFrame, design: TrialDesign, arm_size: int,
                    n_trials: int | None = None, rng_seed: int | None = None, stratify: str | None = None,
                    endpoints: Sequence[str] = ENDPOINTS, seed_key: tuple[int, ...] = ()) -> pd.DataFrame:
    """Resample and analyse `n_trials` trials of one size; one row per trial (see `analyse_arrays`).

    Args:
        pool_a, pool_b: treatment and control pools (per-patient summaries).
        design: trial design; `design.stratify_by` is used unless `stratify` names another column.
        arm_size: control-arm size n (treatment arm round(k n)).
        n_trials: trials (default `design.n_trials`).
        rng_seed: root seed (default `design.seed`).
        stratify: stratification column, or None for `design.stratify_by`.
        endpoints: endpoints to analyse (subset of `endpoints.ENDPOINTS`).
        seed_key: prefix of the per-trial spawn key (e.g. the posterior draw index).
    """
    design = _effective(design, stratify)
    n_trials = design.n_trials if n_trials is None else n_trials
    rng_seed = design.seed if rng_seed is None else rng_seed
    require(isinstance(n_trials, int) and n_trials >= 1, f"n_trials = {n_trials!r}; allowed integer >= 1")
    n_a, n_b = design.arm_counts(arm_size)
    a, b = _prepared(pool_a, pool_b, design.stratify_by)
    endpoints = tuple(endpoints)
    rows = []
    for i in range(n_trials):
        rng = trial_rng(rng_seed, seed_key, arm_size, i)
        rows_a, rows_b = _draw_rows(rng, a, b, n_a, n_b, design.stratify_by is not None)
        obs_a = observe_arrays(_subset(a, rows_a), design, rng)
        obs_b = observe_arrays(_subset(b, rows_b), design, rng)
        rows.append(analyse_arrays(obs_a, obs_b, design, endpoints))
    out = pd.DataFrame(rows)
    out.insert(0, "trial", np.arange(n_trials))
    out.insert(0, "arm_size", arm_size)
    return out


def power_from_trials(trials: pd.DataFrame, alpha: float, endpoints: Sequence[str] = ENDPOINTS,
                      pool_sizes: tuple[int, int] | None = None) -> pd.DataFrame:
    """Power per (arm size, endpoint) from a `simulate_trials` table, with Wilson 95% MC intervals.

    A trial whose test could not be computed (p is NaN, e.g. no events) counts as not significant;
    `n_not_computed` reports how many; power is NaN when no trial could be analysed for the endpoint.
    `pool_sd` (when `pool_sizes` = (M_a, M_b) is given) is the approximate SD of the power due to the
    finite pools (module docstring).
    """
    rows = []
    for size, grp in trials.groupby("arm_size", sort=True):
        n_a, n_b = int(grp["n_a"].iloc[0]), int(grp["n_b"].iloc[0])
        for ep in endpoints:
            p = grp[P_VALUE_KEY[ep]].to_numpy(dtype=float)
            n, bad = p.size, int(np.isnan(p).sum())
            k = int((p < alpha).sum())
            lo, hi = wilson_interval(k, n)
            power = k / n if bad < n else math.nan
            pool_sd = math.nan
            if pool_sizes is not None and not math.isnan(power):
                pool_sd = pool_power_sd(power, max(n_a / pool_sizes[0], n_b / pool_sizes[1]))
            rows.append({"arm_size": int(size), "n_a": n_a, "n_b": n_b, "endpoint": ep, "power": power,
                         "ci_low": float(lo) if bad < n else math.nan,
                         "ci_high": float(hi) if bad < n else math.nan,
                         "n_trials": n, "n_not_computed": bad, "pool_sd": pool_sd})
    return pd.DataFrame(rows)


def simulate_power(pool_a: pd.DataFrame, pool_b: pd.DataFrame, design: TrialDesign,
                   arm_sizes: Sequence[int] | None = None, n_trials: int | None = None,
                   rng_seed: int | None = None, stratify: str | None = None,
                   endpoints: Sequence[str] = ENDPOINTS, seed_key: tuple[int, ...] = ()) -> pd.DataFrame:
    """Power against arm size for each endpoint (long table: one row per arm size and endpoint).

    Args:
        pool_a, pool_b: treatment and control pools (per-patient summaries).
        design: trial design.
        arm_sizes: control-arm sizes (default `design.arm_sizes`).
        n_trials: simulated trials per size (default `design.n_trials`).
        rng_seed: root seed (default `design.seed`).
        stratify: stratification column, or None for `design.stratify_by`.
        endpoints: endpoints to analyse.
        seed_key: prefix of the per-trial spawn key.

    Returns:
        columns arm_size, n_a, n_b, endpoint, power, ci_low, ci_high, n_trials, n_not_computed, pool_sd.
    """
    sizes = tuple(design.arm_sizes if arm_sizes is None else arm_sizes)
    require(len(sizes) > 0, "arm_sizes must not be empty")
    trials = pd.concat([simulate_trials(pool_a, pool_b, design, int(n), n_trials, rng_seed, stratify,
                                        endpoints, seed_key) for n in sizes], ignore_index=True)
    return power_from_trials(trials, design.alpha, endpoints, (len(pool_a), len(pool_b)))


def draw_trial(pool_a: pd.DataFrame, pool_b: pd.DataFrame, design: TrialDesign, arm_size: int,
               rng: np.random.Generator, stratify: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One resampled trial's observed arms as tables (e.g. for the Kaplan-Meier curves of a typical trial).

    With rng = `woundsim.seeds.trial_rng(rng_seed, seed_key, arm_size, i)` this is trial i of
    `simulate_trials`; the tables have the `observe_patients` columns plus `pool_row` (row in the pool).
    """
    design = _effective(design, stratify)
    a, b = _prepared(pool_a, pool_b, design.stratify_by)
    rows_a, rows_b = _draw_rows(rng, a, b, *design.arm_counts(arm_size), design.stratify_by is not None)
    out = []
    for pool, arr, rows in ((pool_a, a, rows_a), (pool_b, b, rows_b)):
        obs = observe_arrays(_subset(arr, rows), design, rng)
        df = pd.DataFrame({k: v for k, v in obs.items() if k not in ("stratum", "recurred")})
        df["healed"] = obs["closure_event"]
        df["recurred_12m"] = obs["recurred"]
        df["pool_row"] = rows
        if design.stratify_by is not None:
            df[design.stratify_by] = pool[design.stratify_by].to_numpy()[rows]
        out.append(df)
    return out[0], out[1]


def pool_power_sd(power: float, ratio: float) -> float:
    """Approximate SD of a resampled power caused by a finite pool.

    Args:
        power: power at the pool's distribution, in [0, 1].
        ratio: r = max(n_a / M_a, n_b / M_b), trial arm size over pool size.
    """
    require_range("power", power, 0.0, 1.0)
    require_range("ratio", ratio, 0.0, math.inf)
    p = min(max(power, 1e-6), 1 - 1e-6)
    return float(norm.pdf(norm.ppf(p)) * math.sqrt(ratio))


def min_pool_size(arm_size: int, tolerance: float = 0.02, power: float = 0.8) -> int:
    """Pool size per arm that keeps the power's pool-induced SD within `tolerance` at `power`."""
    require_range("tolerance", tolerance, 0.0, 1.0, low_open=True)
    require(isinstance(arm_size, int) and arm_size >= 1, f"arm_size = {arm_size!r}; allowed integer >= 1")
    return int(math.ceil(arm_size * (pool_power_sd(power, 1.0) / tolerance) ** 2))


def smallest_n(power_table: pd.DataFrame, endpoint: str, target: float, column: str = "power") -> int | None:
    """Smallest control-arm size whose power reaches `target`, interpolated between scanned sizes.

    Rule: take the first scanned size whose `column` value reaches the target; if it is the smallest
    scanned size return it (no extrapolation below the scan); otherwise interpolate linearly between it and
    the size before in probit(power) against sqrt(n) (exact when power = Phi(c sqrt(n) - z), as for the
    normal-theory tests here), and round up. Returns None when no scanned size reaches the target.
    Pass column="ci_low" / "ci_high" for a conservative / optimistic size from the MC interval, or
    column="assurance" on an `assurance` table.
    """
    require_range("target", target, 0.0, 1.0, low_open=True, high_open=True)
    require(column in power_table.columns, f"column {column!r} is not in the power table")
    tab = power_table[power_table["endpoint"] == endpoint].sort_values("arm_size")
    require(len(tab) > 0, f"endpoint {endpoint!r} is not in the power table")
    sizes, pw = tab["arm_size"].to_numpy(dtype=float), tab[column].to_numpy(dtype=float)
    hit = np.nonzero(pw >= target)[0]
    if hit.size == 0:
        return None
    j = int(hit[0])
    if j == 0:
        return int(sizes[0])
    z0, z1 = norm.ppf(np.clip(pw[j - 1:j + 1], 1e-6, 1 - 1e-6))
    s0, s1 = math.sqrt(sizes[j - 1]), math.sqrt(sizes[j])
    s = s1 if z1 <= z0 else s0 + (norm.ppf(target) - z0) * (s1 - s0) / (z1 - z0)
    return int(math.ceil(s * s - 1e-9))


def assurance(pool_pairs: Sequence[tuple[pd.DataFrame, pd.DataFrame]], design: TrialDesign,
              arm_sizes: Sequence[int] | None = None, n_trials: int | None = None, rng_seed: int | None = None,
              stratify: str | None = None, endpoints: Sequence[str] = ENDPOINTS) -> pd.DataFrame:
    """Assurance: power averaged over posterior draws, one (treatment, control) pool pair per draw.

    Draw d uses spawn keys (d, n, i). Returns `assurance_from_powers` of the per-draw power tables.
    """
    require(len(pool_pairs) > 0, "pool_pairs must hold at least one (pool_a, pool_b) pair")
    per_draw = [simulate_power(a, b, design, arm_sizes, n_trials, rng_seed, stratify, endpoints, seed_key=(d,))
                .assign(draw=d) for d, (a, b) in enumerate(pool_pairs)]
    return assurance_from_powers(pd.concat(per_draw, ignore_index=True))


def assurance_from_powers(per_draw: pd.DataFrame) -> pd.DataFrame:
    """Aggregate per-draw power tables (column `draw`) into assurance per (arm size, endpoint).

    The interval is mean +- 1.96 SD/sqrt(D) over the D draws' power estimates (it covers both the spread
    over draws and the trials' MC error); with one draw it is that draw's Wilson interval. `power_q10` and
    `power_q90` are the 10% and 90% quantiles of power over draws.
    """
    rows = []
    for (size, ep), grp in per_draw.groupby(["arm_size", "endpoint"], sort=True):
        pw = grp["power"].to_numpy(dtype=float)
        d, mean = pw.size, float(np.mean(pw))
        if d > 1:
            se = float(np.std(pw, ddof=1)) / math.sqrt(d)
            lo, hi = max(0.0, mean - 1.959964 * se), min(1.0, mean + 1.959964 * se)
        else:
            lo, hi = float(grp["ci_low"].iloc[0]), float(grp["ci_high"].iloc[0])
        rows.append({"arm_size": int(size), "n_a": int(grp["n_a"].iloc[0]), "n_b": int(grp["n_b"].iloc[0]),
                     "endpoint": ep, "assurance": mean, "ci_low": lo, "ci_high": hi, "n_draws": d,
                     "power_q10": float(np.quantile(pw, 0.1)), "power_q90": float(np.quantile(pw, 0.9))})
    return pd.DataFrame(rows)


def shrink_effect(pool_a: pd.DataFrame, pool_b: pd.DataFrame, fraction: float, rng: np.random.Generator,
                  stratify: str | None = None) -> pd.DataFrame:
    """Treatment pool whose effect on every rate is `fraction` of the original (phase II optimism).

    Method: round((1 - fraction) * len(pool_a)) treated patients, chosen at random without replacement,
    are replaced by control patients drawn with replacement from `pool_b` (from the same stratum when
    `stratify` names a column, so the stratum mix is kept). Every proportion (closure by week 12, healed
    by a day, recurrence) and the survival curve become the mixture f*treated + (1-f)*control, so the
    12-week closure difference is f times the original in expectation. The mixture is not proportional
    hazards: its hazard ratio is not the original raised to f.

    Args:
        pool_a: treatment pool. pool_b: control pool (same columns).
        fraction: f in [0, 1] (1 keeps the treatment pool, 0 makes it a control pool).
        rng: generator for the choice of patients.
        stratify: optional stratum column.
    """
    require_range("fraction", fraction, 0.0, 1.0)
    missing = set(pool_a.columns) - set(pool_b.columns)
    require(not missing, f"pool_b lacks columns {sorted(missing)} of pool_a")
    m = int(round((1.0 - fraction) * len(pool_a)))
    out = pool_a.reset_index(drop=True).copy()
    replace = rng.choice(len(out), size=m, replace=False)
    if stratify is None:
        picks = rng.integers(0, len(pool_b), m)
    else:
        require(stratify in pool_a.columns, f"pools lack the stratification column {stratify!r}")
        strata_b = pool_b[stratify].to_numpy()
        picks = np.empty(m, dtype=np.int64)
        for s in pd.unique(out[stratify].to_numpy()[replace]):
            where = np.nonzero(out[stratify].to_numpy()[replace] == s)[0]
            cand = np.nonzero(strata_b == s)[0]
            if cand.size == 0:
                raise InputError(f"pool_b has no patients in stratum {s!r} of pool_a")
            picks[where] = cand[rng.integers(0, cand.size, where.size)]
    donors = pool_b.iloc[picks][list(out.columns)].reset_index(drop=True)
    kept = out.drop(index=replace)
    return pd.concat([kept, donors], ignore_index=True)
