"""The search between the prior predictive check and the confirmation (issue 17 item 7): one emulator-guided wave.

The prior predictive study's parameter sets and their simulated statistics fit one Gaussian-process emulator per
statistic (`calibration.history_matching.emulator.StatisticEmulator`: inputs in the priors' quantile space, each
evaluation's Monte Carlo variance as its per-point noise, leave-one-out diagnostics). Uniform draws of the quantile
cube, i.e. of the prior, are scored with the feasibility rule of `calibration.implausibility`, the emulator's
variance standing in for the Monte Carlo one:

- a target inside its interval: I = |E[f(x)] - z| / sqrt(s_obs^2 + Var[f(x)]), s_obs the interval's half-width on
  the side E[f(x)] falls, / 1.96;
- a target at a boundary (10/10 closed, 0/10 recurred): I = Phi^-1(1 - P) with P the binomial probability of
  what was observed, averaged over the emulator's uncertainty about the rate
  (`calibration.history_matching.implausibility.boundary_tail`).

A point's score is its largest implausibility over the emulated targets. The `candidates` points simulated next are
chosen among the best-scoring `pool` draws by a maximin choice (so they are not all one point), and simulated like
the prior predictive's draws, on seeds of their own (`woundsim.seeds.FEASIBILITY_SEARCH`); their numbers start at
`FIRST_CANDIDATE` (wave k: k x FIRST_CANDIDATE) so that they never share a label with a prior draw or another wave's.
A further wave (`--from` the prior predictive study and the earlier searches) fits its emulators to all of their
evaluated sets. The candidate (or prior draw) with the
smallest simulated largest implausibility is what `woundsim calibrate confirm` then checks on seeds the search never
used. This is one history-matching wave without the cut-off: a search for a point, not a region.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from calibration.distance import Target
from calibration.feasibility import point_row
from calibration.history_matching.design import maximin_subset, to_abc, to_quantiles
from calibration.history_matching.emulator import StatisticEmulator, loo_diagnostic, min_evaluations
from calibration.history_matching.implausibility import Observation, boundary_tail
from calibration.implausibility import at_boundary, interior_implausibility
from calibration.setup import CalibrationSetup
from woundsim.errors import require

FIRST_CANDIDATE = 1000  # candidate k is numbered FIRST_CANDIDATE + k (prior draws are 0, 1, ...)


@dataclass(frozen=True)
class SearchOptions:
    """How the search scores the prior and picks its candidates.

    Attributes:
        candidates: parameter sets to simulate.
        draws: uniform draws of the prior scored by the emulators.
        pool: the best-scoring draws the candidates are chosen from (maximin).
        restarts: extra optimiser starts of each emulator fit.
    """

    candidates: int = 8
    draws: int = 20000
    pool: int = 200
    restarts: int = 2

    def __post_init__(self) -> None:
        require(self.candidates >= 1, f"search candidates = {self.candidates} must be >= 1")
        require(self.pool >= self.candidates, f"search pool = {self.pool} must be >= candidates ({self.candidates})")
        require(self.draws >= self.pool, f"search draws = {self.draws} must be >= pool ({self.pool})")


def emulated_implausibility(target: Target, mean: np.ndarray, var: np.ndarray, n_observed: float | None) -> np.ndarray:
    """The feasibility rule's implausibility at emulator means and variances (see the module docstring)."""
    mean, var = np.asarray(mean, dtype=float), np.maximum(np.asarray(var, dtype=float), 0.0)
    if at_boundary(target):
        require(n_observed is not None and n_observed >= 1,
                f"target {target.name} is at a boundary of its interval: its observed study size is needed")
        obs = Observation(target.name, target.observed, "binomial", int(n_observed))
        tail = np.clip(boundary_tail(obs, mean, var), 1e-300, 1.0)
        return np.maximum(stats.norm.isf(tail), 0.0)
    return interior_implausibility(target, mean, var)


def fit_emulators(setup: CalibrationSetup, table: pd.DataFrame, restarts: int, seed: int
                  ) -> tuple[dict[str, StatisticEmulator], pd.DataFrame]:
    """One emulator per target statistic, fitted to the parameter sets where it is defined.

    Returns:
        ({statistic: emulator} of those with enough defined evaluations, one diagnostic row per target: evaluations
        used, leave-one-out share within +-3 and SD, passed, or why it was not emulated).
    """
    u = to_quantiles(setup.parameters, table.rename(columns=lambda c: c.removeprefix("abc.")))
    need = min_evaluations(u.shape[1])
    emulators, rows = {}, []
    for t in setup.targets:
        y = table[t.name].to_numpy(float)
        sd = table.get(f"mc_sd.{t.name}", pd.Series(0.0, index=table.index)).to_numpy(float)
        ok = np.isfinite(y)
        if ok.sum() < need:
            rows.append({"target": t.name, "evaluations": int(ok.sum()), "loo_within_3": math.nan, "loo_sd": math.nan,
                         "passed": False, "note": f"not emulated: defined in {int(ok.sum())} sets, needs {need}"})
            continue
        emulator = StatisticEmulator(restarts, seed).fit(u[ok], y[ok], np.nan_to_num(sd[ok], nan=0.0) ** 2)
        diag = loo_diagnostic(emulator.loo_errors())
        emulators[t.name] = emulator
        rows.append({"target": t.name, "evaluations": int(ok.sum()), "loo_within_3": diag.share_within,
                     "loo_sd": diag.sd, "passed": diag.passed, "note": ""})
    return emulators, pd.DataFrame(rows)


def score(setup: CalibrationSetup, emulators: dict[str, StatisticEmulator], u: np.ndarray,
          sizes: dict[str, float]) -> pd.DataFrame:
    """Emulated mean, SD and implausibility of every emulated target at quantile-space points u, and the largest."""
    out = {}
    for t in setup.targets:
        if t.name not in emulators:
            continue
        mean, var = emulators[t.name].predict(u)
        out[f"emulated.{t.name}"] = mean
        out[f"emulated_sd.{t.name}"] = np.sqrt(np.maximum(var, 0.0))
        out[f"emulated_implausibility.{t.name}"] = emulated_implausibility(t, mean, var, sizes.get(t.name))
    frame = pd.DataFrame(out)
    columns = [c for c in frame.columns if c.startswith("emulated_implausibility.")]
    frame["emulated_implausibility.max"] = frame[columns].max(axis=1)
    return frame


def choose_candidates(setup: CalibrationSetup, emulators: dict[str, StatisticEmulator], options: SearchOptions,
                      rng: np.random.Generator, sizes: dict[str, float], first: int = FIRST_CANDIDATE
                      ) -> tuple[pd.DataFrame, dict]:
    """The candidates to simulate: rows of `point_row` (numbered from `first`: FIRST_CANDIDATE x the wave) with their
    emulated statistics, and a summary of the scored prior (draws, share with every emulated implausibility <= 3,
    best)."""
    d = len(setup.parameters)
    u = rng.random((options.draws, d))
    scored = score(setup, emulators, u, sizes)
    worst = scored["emulated_implausibility.max"].to_numpy(float)
    best = np.argsort(worst)[: options.pool]
    chosen = maximin_subset(np.column_stack([u[best], best]), options.candidates, rng)[:, -1].astype(int)
    chosen = chosen[np.argsort(worst[chosen])]
    abc = to_abc(setup.parameters, u[chosen])
    rows = []
    for k, (i, (_, values)) in enumerate(zip(chosen, abc.iterrows())):
        rows.append({**point_row(setup, first + k, values.to_dict()),
                     **scored.iloc[int(i)].to_dict()})
    summary = {"draws": options.draws, "share_below_3": float(np.mean(worst <= 3.0)),
               "best_emulated_max": float(worst.min()), "pool_worst_emulated_max": float(worst[best].max())}
    return pd.DataFrame(rows), summary
