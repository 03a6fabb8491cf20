"""Implausibility of a simulated statistic against its clinical target, and which targets the prior can reach.

For a parameter set x with simulated statistic f(x), Monte Carlo SD s_mc, and a target with observed value z
and 95% interval [low, high] (`calibration.distance.Target`; the interval is the observation's uncertainty at
the observed study's size, with any stated discrepancy already in it, conf/targets.csv):

- an observation inside its range, `low < z < high`:
  I = |f(x) - z| / sqrt(s_obs^2 + s_mc^2), s_obs = the half-width of the interval on the side f(x) falls / 1.96;
- an observation at a boundary (10/10 closed, 0/10 recurred), where a variance is zero on one side: the
  binomial probability P of what was observed in the observed study's n patients if each had the simulated
  rate (10/10: P = f^n; 0/10: P = (1 - f)^n) as a normal deviate, I = Phi^-1(1 - P), floored at 0.

Both give I = 1.96 at the edge of the 95% interval (a simulated rate of 0.69 for 10/10 closed: P = 0.025),
so one cut-off reads for every target; 3 is the usual one (Pukelsheim's three-sigma rule; Vernon et al.
2010, Andrianakis et al. 2015). The binomial form has no Monte Carlo term: it is the tail probability at the
simulated rate. An undefined statistic (nobody closed or healed) has no implausibility (NaN) and is counted.

`reach_table` gives, per target, the smallest implausibility over the parameter sets of a study: above the
cut-off no parameter set of the prior came near the target, which is a model finding, not a calibration task.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from calibration.distance import Target
from woundsim.config import CONF_DIR
from woundsim.errors import require

CUTOFF = 3.0  # implausibility cut-off (three-sigma rule)
Z95 = stats.norm.isf(0.025)  # 1.96: the implausibility at the edge of a 95% interval


def at_boundary(target: Target) -> bool:
    """Whether the observed value is an end of its interval (10/10 closed, 0/10 recurred)."""
    return target.observed in (target.low, target.high)


def implausibility(target: Target, value: float, mc_sd: float = 0.0, n_observed: float | None = None) -> float:
    """Implausibility of one simulated value (see the module docstring).

    Args:
        target: the clinical target.
        value: the simulated statistic (NaN: undefined).
        mc_sd: its Monte Carlo SD (NaN counts as 0).
        n_observed: the observed study's size; needed when the observation is at a boundary.
    """
    if not math.isfinite(value):
        return math.nan
    if at_boundary(target):
        require(n_observed is not None and n_observed >= 1,
                f"target {target.name} is at a boundary of its interval: its observed study size is needed "
                "(n_observed in conf/targets.csv)")
        rate = min(max(value, 0.0), 1.0)
        p = rate ** n_observed if target.observed == target.high else (1.0 - rate) ** n_observed
        return max(0.0, float(stats.norm.isf(p))) if p > 0 else math.inf
    s_mc = mc_sd if math.isfinite(mc_sd) else 0.0
    return float(interior_implausibility(target, value, s_mc ** 2))


def interior_implausibility(target: Target, value, var):
    """|f - z| / sqrt(s_obs^2 + var) of a target observed inside its interval, elementwise over arrays: s_obs the
    interval's half-width on the side f falls, / 1.96, and var the simulated value's own variance (Monte Carlo, or
    an emulator's)."""
    value = np.asarray(value, dtype=float)
    s_obs = np.where(value < target.observed, target.below, target.above) / Z95
    return np.abs(value - target.observed) / np.sqrt(s_obs ** 2 + var)


def targets_by_statistic(path: Path = CONF_DIR / "targets.csv") -> dict[str, dict]:
    """{statistic: row} of the rows of conf/targets.csv that name a calibration statistic (id, quantity,
    n_observed, ...)."""
    with open(path, newline="") as handle:
        return {row["statistic"]: row for row in csv.DictReader(handle) if row["statistic"]}


def observed_sizes(path: Path = CONF_DIR / "targets.csv") -> dict[str, float]:
    """{statistic: n_observed}: the observed studies' sizes (conf/targets.csv)."""
    return {k: float(r["n_observed"]) for k, r in targets_by_statistic(path).items() if r["n_observed"]}


def add_implausibilities(table: pd.DataFrame, targets: list[Target], sizes: dict[str, float]) -> pd.DataFrame:
    """`table` (one row per parameter set, statistics and `mc_sd.<name>`) with `implausibility.<name>` per target
    and `implausibility.max`, the largest over the targets (NaN when a statistic is undefined)."""
    out = table.copy()
    for t in targets:
        sd = out.get(f"mc_sd.{t.name}", pd.Series(0.0, index=out.index))
        out[f"implausibility.{t.name}"] = [implausibility(t, float(v), float(s), sizes.get(t.name))
                                           for v, s in zip(out[t.name], sd)]
    columns = [f"implausibility.{t.name}" for t in targets]
    out["implausibility.max"] = out[columns].max(axis=1, skipna=False)
    return out


def reach_table(table: pd.DataFrame, targets: list[Target], cutoff: float = CUTOFF) -> pd.DataFrame:
    """Per target: the simulated range over the parameter sets, how many fall inside the observed interval,
    the smallest implausibility and where, and a verdict ("within reach" or why not)."""
    ids = {k: r["id"] for k, r in targets_by_statistic().items()}
    rows = []
    for t in targets:
        values = table[t.name].to_numpy(float)
        imp = table[f"implausibility.{t.name}"].to_numpy(float)
        defined = np.isfinite(values)
        best = int(np.nanargmin(imp)) if np.isfinite(imp).any() else None
        rows.append({
            "target": t.name, "id": ids.get(t.name, ""), "observed": t.observed, "low": t.low, "high": t.high,
            "sets": len(values), "undefined": int((~defined).sum()),
            "sim_min": float(values[defined].min()) if defined.any() else math.nan,
            "sim_median": float(np.median(values[defined])) if defined.any() else math.nan,
            "sim_max": float(values[defined].max()) if defined.any() else math.nan,
            "inside_interval": int(((values >= t.low) & (values <= t.high)).sum()),
            "below_cutoff": int((imp <= cutoff).sum()),
            "min_implausibility": float(imp[best]) if best is not None else math.nan,
            "at_draw": int(table["draw"].iloc[best]) if best is not None else -1,
            "value_there": float(values[best]) if best is not None else math.nan,
            "verdict": reach_verdict(t, values[defined], imp, cutoff),
        })
    return pd.DataFrame(rows)


def reach_verdict(target: Target, values: np.ndarray, imp: np.ndarray, cutoff: float = CUTOFF) -> str:
    """"within reach", or why not: on which side of the interval every parameter set falls."""
    if len(values) == 0:
        return "out of reach: undefined in every parameter set (nobody closed or healed)"
    if np.nanmin(imp, initial=math.inf) <= cutoff:
        return "within reach"
    if values.max() < target.low:
        return f"out of reach: every parameter set below the interval (highest {values.max():.3g})"
    if values.min() > target.high:
        return f"out of reach: every parameter set above the interval (lowest {values.min():.3g})"
    return (f"out of reach: parameter sets fall on both sides of the interval ({values.min():.3g} to "
            f"{values.max():.3g}) but none within the cut-off")
