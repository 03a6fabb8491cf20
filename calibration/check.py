"""Posterior predictive check: each target against the same statistic simulated over posterior draws.

Draws are particles of the final generation resampled by weight; each is simulated afresh (new
patients, new seeds: the check's own root seed), through the arms the fit simulated (`CohortSimulator`, whose
statistics are the fit's), so the simulated statistics carry both the parameter uncertainty and the
cohort-sampling noise of a 10-patient trial arm and an n-patient standard-care cohort. `calibration.predictive`
reads them at the observed studies' sizes and gives the check's verdicts.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from calibration.distance import Target
from calibration.cohort_simulator import CohortSimulator
from calibration.statistics import statistic_sizes, trial_closure_days
from woundsim.posterior import weighted_quantile
from calibration.setup import CalibrationSetup
from woundsim.errors import require
from woundsim.parallel import ParallelConfig, map_tasks
from woundsim.seeds import predictive_check_seed, task_seeds



def _simulate_draw(task: tuple[CalibrationSetup, dict, int]) -> dict:
    """One draw's statistics (as the fit computes them), the per-patient SD of the trial's closure day among its
    healed (`sd.trial_mean_closure_days`, for the check at the observed study's size: `calibration.predictive`) and
    the patients behind each statistic (`n.<statistic>`)."""
    setup, pars, seed = task
    simulator = CohortSimulator(setup)
    arms = simulator.patients(pars, int(seed))
    visit = setup.trial.visit_interval_days
    closure = trial_closure_days(arms["trial"], visit)
    healed = closure[np.isfinite(closure)]
    sd = float(np.std(healed, ddof=1)) if healed.size > 1 else math.nan
    sizes = statistic_sizes(arms["trial"], arms["soc"], visit)
    return {**simulator.statistics(arms), "sd.trial_mean_closure_days": sd, **{f"n.{k}": v for k, v in sizes.items()}}


def predictive_draws(setup: CalibrationSetup, posterior: pd.DataFrame, n_draws: int, rng: np.random.Generator,
                     parallel: ParallelConfig | None = None) -> pd.DataFrame:
    """Simulated statistics of `n_draws` posterior draws (one row per draw).

    Args:
        setup: the calibration problem.
        posterior: posterior table (`calibration.posterior.posterior_table`) with `weight` and `abc.<key>`.
        n_draws: number of draws (particles resampled by weight, each simulated with its own seed).
        rng: generator of the resampling.
        parallel: back end for the simulations (default: loky on all cores).
    """
    require(n_draws >= 1, f"check.draws = {n_draws} must be >= 1")
    weights = posterior["weight"].to_numpy(dtype=float)
    index = rng.choice(len(posterior), size=int(n_draws), replace=True, p=weights / weights.sum())
    keys = [p.key for p in setup.parameters]
    seeds = task_seeds(predictive_check_seed(setup.seed), int(n_draws))
    tasks = [(setup, {k: float(posterior[f"abc.{k}"].iloc[i]) for k in keys}, int(s)) for i, s in zip(index, seeds)]
    rows = map_tasks(_simulate_draw, tasks, config=parallel, desc="posterior predictive")
    out = pd.DataFrame(rows)
    out.insert(0, "particle", posterior["particle"].to_numpy()[index])
    return out


def predictive_table(draws: pd.DataFrame, targets: list[Target], level: float = 0.95) -> pd.DataFrame:
    """Per target: observed value and interval, simulated median and central interval, and the share of
    draws inside the observed interval."""
    rows = []
    tail = (1.0 - level) / 2.0
    for t in targets:
        sim = draws[t.name].to_numpy(dtype=float)
        ok = sim[np.isfinite(sim)]
        w = np.ones(len(ok)) / max(len(ok), 1)
        rows.append({
            "target": t.name, "observed": t.observed, "observed_low": t.low, "observed_high": t.high,
            "sim_median": weighted_quantile(ok, w, 0.5) if len(ok) else np.nan,
            "sim_low": weighted_quantile(ok, w, tail) if len(ok) else np.nan,
            "sim_high": weighted_quantile(ok, w, 1 - tail) if len(ok) else np.nan,
            "share_in_observed_interval": float(np.mean((sim >= t.low) & (sim <= t.high))),
            "undefined_draws": int(np.sum(~np.isfinite(sim))),
            "source": t.source,
        })
    return pd.DataFrame(rows)
