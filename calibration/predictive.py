"""The posterior predictive check of a calibration, at the observed studies' sizes (issue 18 item 4).

Each posterior draw is simulated afresh with the real model (`calibration.check.predictive_draws`: the calibration's
arms, new patients and seeds). A target is then compared with what a replicate of *its own study* would have
reported under that draw, at the study's size n (`history_matching.observations`: 10 for the seed trial; 326, 454
and 617 behind `SOC01`, `SOC02`, `REC01`):

- a share observed as a count of n patients (`kind: binomial`: closed fractions, recurrence) is replicated as
  Binomial(n, p_d) / n, p_d the draw's simulated statistic. For recurrence p_d is the mean per-patient probability
  of the healed: the clinic counted events, so the replicate draws them (0 of 10 recurring has probability
  (1 - p_d)^10 under the draw, however small p_d is);
- a mean (`kind: normal`: the trial's mean closure day over its healed) is replicated as Normal(mean_d, sd_d^2 / n),
  sd_d the per-patient SD of the draw's healed (`sd.<statistic>`) or the observation's stated `sd`.

Why not simulate 326-617 enrolled standard-care patients per draw: 50 draws would cost about 17 CPU-hours at
200 µm, not the check's 2-hour stage. The replicate adds the observed study's sampling noise to each draw's
simulated statistic, which already carries the sampling noise of the m patients simulated for it (p_d (1 - p_d) / m):
so the predictive distribution is wider than the exact one by that term, which makes "the observed value lies inside
the central 90%" easier to pass when m is small. The table reports m (`simulated_n`) beside each verdict.

Verdicts (per target), each with a bootstrap Monte Carlo interval over the draws (`boot` resamples of the draws with
their replicates): the observed value inside the predictive central 90% (between the 5th and 95th percentiles);
the predictive median inside the target's 95% interval. A verdict holds ("pass") or fails ("FAIL") only if it does
so at both ends of the Monte Carlo intervals of the percentiles it reads; otherwise it is "undecided" and the check
must be rerun with more draws: an undecided verdict is never a pass.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from calibration.distance import Target
from calibration.history_matching.implausibility import Observation
from woundsim.errors import require

REPLICATES = 20  # replicates of the observed study per draw
CENTRAL = 0.90   # the predictive interval the observed value must lie in
PASS, FAIL, UNDECIDED = "pass", "FAIL", "undecided"


def replicate(draws: pd.DataFrame, observation: Observation, rng: np.random.Generator,
              replicates: int = REPLICATES) -> np.ndarray:
    """Replicates of an observed study under each draw: array (draws, replicates), NaN where the draw's statistic is
    undefined (nobody healed).

    Args:
        draws: one row per posterior draw with the statistic `observation.name` (and `sd.<name>` for a normal
            observation without a stated `sd`).
        observation: how the target was observed (kind and the study's size n).
        rng: generator of the replicates.
        replicates: replicates per draw.
    """
    value = draws[observation.name].to_numpy(dtype=float)
    defined = np.isfinite(value)
    out = np.full((len(value), replicates), math.nan)
    if observation.kind == "binomial":
        p = np.clip(value[defined], 0.0, 1.0)
        out[defined] = rng.binomial(observation.n, p[:, None], size=(p.size, replicates)) / observation.n
        return out
    if observation.sd is not None:
        sd = np.full(len(value), float(observation.sd))
    else:
        column = f"sd.{observation.name}"
        require(column in draws, f"predictive check: {observation.name} is a normal observation without a stated sd, "
                                 f"and the draws lack {column!r} (the per-patient SD of each draw)")
        sd = draws[column].to_numpy(dtype=float)
    sd = np.where(np.isfinite(sd), sd, 0.0)[defined]  # one healed patient: no spread to replicate
    out[defined] = value[defined, None] + sd[:, None] / math.sqrt(observation.n) * rng.standard_normal(
        (int(defined.sum()), replicates))
    return out


def _summary(values: np.ndarray) -> tuple[float, float, float]:
    """(5th percentile, median, 95th percentile) of the defined values."""
    ok = values[np.isfinite(values)]
    if ok.size == 0:
        return math.nan, math.nan, math.nan
    low, mid, high = np.quantile(ok, [(1 - CENTRAL) / 2, 0.5, 1 - (1 - CENTRAL) / 2])
    return float(low), float(mid), float(high)


def _verdict(holds_everywhere: bool, fails_everywhere: bool) -> str:
    return PASS if holds_everywhere else FAIL if fails_everywhere else UNDECIDED


def predictive_check(draws: pd.DataFrame, targets: Sequence[Target], observations: Sequence[Observation],
                     rng: np.random.Generator, replicates: int = REPLICATES, boot: int = 1000,
                     simulated_n: Mapping[str, float] | None = None) -> pd.DataFrame:
    """The check's table, one row per target (`calibration.plots.predictive_check` draws it).

    Columns: target, observed, low, high (the target's 95% interval), study_n (the observed study's size), draws,
    undefined_draws, simulated_n (mean patients behind each draw's statistic, if given), the predictive p05, median
    and p95, each with its Monte Carlo 95% interval (`*_mc_low`, `*_mc_high`), `observed_in_central_90` and
    `median_in_interval` (pass | FAIL | undecided), and `verdict` (pass only if both pass; FAIL if either fails).
    """
    by_name = {o.name: o for o in observations}
    missing = [t.name for t in targets if t.name not in by_name]
    require(not missing, f"predictive check: no observation model (history_matching.observations) for {missing}")
    require(boot >= 100, f"predictive check: boot = {boot} must be >= 100")
    rows = []
    for t in targets:
        obs = by_name[t.name]
        values = replicate(draws, obs, rng, replicates)
        p05, median, p95 = _summary(values)
        if math.isnan(median):  # no draw defines it: nobody healed
            lo = hi = np.full(3, math.nan)
            inside = centred = verdict = FAIL
        else:
            index = rng.integers(0, len(values), size=(boot, len(values)))
            mc = np.array([_summary(values[i]) for i in index])  # (boot, 3); NaN where a resample defines none
            mc = mc[np.isfinite(mc[:, 1])]
            lo, hi = np.quantile(mc, 0.025, axis=0), np.quantile(mc, 0.975, axis=0)
            inside = _verdict(hi[0] <= t.observed <= lo[2], t.observed < lo[0] or t.observed > hi[2])
            centred = _verdict(t.low <= lo[1] and hi[1] <= t.high, hi[1] < t.low or lo[1] > t.high)
            verdict = FAIL if FAIL in (inside, centred) else PASS if (inside, centred) == (PASS, PASS) else UNDECIDED
        rows.append({"target": t.name, "observed": t.observed, "low": t.low, "high": t.high, "study_n": obs.n,
                     "draws": len(values), "undefined_draws": int((~np.isfinite(values[:, 0])).sum()),
                     "simulated_n": (simulated_n or {}).get(t.name, math.nan),
                     "p05": p05, "p05_mc_low": lo[0], "p05_mc_high": hi[0],
                     "median": median, "median_mc_low": lo[1], "median_mc_high": hi[1],
                     "p95": p95, "p95_mc_low": lo[2], "p95_mc_high": hi[2],
                     "observed_in_central_90": inside, "median_in_interval": centred, "verdict": verdict})
    return pd.DataFrame(rows)
