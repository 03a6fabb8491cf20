"""A cheap stochastic stand-in for woundsim with known parameters, for testing calibration methods.

It simulates the same per-patient tables as `woundsim.cohort.simulate_patients` (the keys the statistics of
`calibration.statistics` read), so a calibration of the stand-in runs through the same statistics code as one of
the real model. Two arms of independent patients, each with an ulcer area drawn log-normal (median 2 cm²,
GSD 2):

- time to closure ~ Weibull(shape, scale_i) weeks, scale_i = 10^soc_scale x (area_i / 2 cm²)^0.5, divided by
  10^speedup in the treated arm; censored at the horizon (12 weeks treated, 20 weeks standard care);
- a healed patient's recurrence hazard h_i = 10^hazard x exp(quality_gain x (T_i / 12 weeks - 1)) per month
  (slow healers recur more), reported as the risk over 24 months (treated) or 12 months (standard care);
- `nuisance` acts on nothing: the data cannot identify it, which a recovery test must show.

Parameters (ABC space; priors in `STANDIN_PRIORS`): soc_scale (log10 weeks), shape, speedup (log10 factor),
hazard (log10 per month), quality_gain, nuisance.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from calibration.priors import FreeParameter
from calibration.statistics import RECURRENCE_STATISTICS, soc_statistics, trial_statistics
from woundsim.units import DAYS_PER_WEEK

STANDIN_PRIORS = [
    FreeParameter("soc_scale", "model.standin.soc_scale", "uniform", {"low": 1.0, "high": 2.0}),
    FreeParameter("shape", "model.standin.shape", "uniform", {"low": 0.7, "high": 2.5}),
    FreeParameter("speedup", "model.standin.speedup", "uniform", {"low": 0.0, "high": 1.5}),
    FreeParameter("hazard", "model.standin.hazard", "uniform", {"low": -2.5, "high": -0.5}),
    FreeParameter("quality_gain", "model.standin.quality_gain", "uniform", {"low": 0.0, "high": 2.0}),
    FreeParameter("nuisance", "model.standin.nuisance", "uniform", {"low": 0.0, "high": 1.0}),
]
STANDIN_TRUTH = {"soc_scale": 1.45, "shape": 1.3, "speedup": 0.6, "hazard": -1.4, "quality_gain": 1.0,
                 "nuisance": 0.5}
TRIAL_WEEKS, SOC_WEEKS = 12.0, 20.0
TRIAL_FOLLOWUP_MONTHS, SOC_FOLLOWUP_MONTHS = 24.0, 12.0


@dataclass
class StandInSimulator:
    """The stand-in as a history-matching simulator (`calibration.history_matching.evaluations.Simulator`).

    Attributes:
        n_trial: simulated treated patients per evaluation.
        n_soc: simulated standard-care patients per evaluation.
        visit_interval_days: the treated arm's visit interval (closure seen at the next visit).
    """

    n_trial: int = 30
    n_soc: int = 30
    visit_interval_days: float = 7.0
    parameters: list[FreeParameter] = field(default_factory=lambda: list(STANDIN_PRIORS))
    after_closure: tuple[str, ...] = ("hazard", "quality_gain")  # act only after closure (`restate`)
    after_closure_statistics: tuple[str, ...] = RECURRENCE_STATISTICS

    @property
    def statistics_arm(self) -> dict[str, str]:
        return {"trial_closed_fraction": "trial", "trial_mean_closure_days": "trial",
                "trial_recurrence_followup": "trial", "soc_closed_week12": "soc", "soc_closed_week20": "soc",
                "soc_recurrence_12m": "soc"}

    def counted(self, arms: Mapping[str, pd.DataFrame]) -> dict[str, int]:
        """Every simulated patient counts (the stand-in has no run-in)."""
        return {arm: len(table) for arm, table in arms.items()}

    def patients(self, particle: Mapping[str, float], seed: int) -> dict[str, pd.DataFrame]:
        rng = np.random.default_rng(seed)
        return {"trial": standin_arm(particle, self.n_trial, True, rng),
                "soc": standin_arm(particle, self.n_soc, False, rng)}

    def statistics(self, arms: Mapping[str, pd.DataFrame]) -> dict[str, float]:
        return {**trial_statistics(arms["trial"], self.visit_interval_days), **soc_statistics(arms["soc"])}

    def restate(self, arms: Mapping[str, pd.DataFrame], particle: Mapping[str, float]) -> dict[str, pd.DataFrame]:
        """The arms' stored closure days with the recurrence risks of `particle`'s hazard and quality_gain."""
        trial, soc = arms["trial"].copy(), arms["soc"].copy()
        trial["recurrence_same_site_followup"] = recurrence_risk(particle, trial["time_to_closure_days"].to_numpy(),
                                                                 TRIAL_FOLLOWUP_MONTHS)
        soc["recurrence_any_site_12m"] = recurrence_risk(particle, soc["time_to_closure_days"].to_numpy(),
                                                         SOC_FOLLOWUP_MONTHS)
        return {"trial": trial, "soc": soc}


def standin_arm(particle: Mapping[str, float], n: int, treated: bool, rng: np.random.Generator) -> pd.DataFrame:
    """Per-patient table of one stand-in arm (the summary keys `calibration.statistics` reads)."""
    area = 2.0 * 2.0 ** rng.standard_normal(n)
    scale = 10.0 ** particle["soc_scale"] * (area / 2.0) ** 0.5 / (10.0 ** particle["speedup"] if treated else 1.0)
    weeks = scale * rng.weibull(particle["shape"], n)
    horizon = TRIAL_WEEKS if treated else SOC_WEEKS
    healed = weeks <= horizon
    days = np.where(healed, weeks * DAYS_PER_WEEK, np.nan)
    if treated:
        return pd.DataFrame({"time_to_closure_days": days,
                             "recurrence_same_site_followup": recurrence_risk(particle, days, TRIAL_FOLLOWUP_MONTHS)})
    return pd.DataFrame({"closed_by_week12": weeks <= 12.0, "closed_by_week20": healed, "time_to_closure_days": days,
                         "recurrence_any_site_12m": recurrence_risk(particle, days, SOC_FOLLOWUP_MONTHS)})


def recurrence_risk(particle: Mapping[str, float], closure_days: np.ndarray, months: float) -> np.ndarray:
    """Each healed patient's recurrence risk within `months` (NaN where `closure_days` is NaN: not healed)."""
    hazard = 10.0 ** particle["hazard"] * np.exp(particle["quality_gain"] * (closure_days / DAYS_PER_WEEK / 12.0 - 1.0))
    return 1.0 - np.exp(-hazard * months)


def observed_study(truth: Mapping[str, float], n_trial: int, n_soc: int, seed: int,
                   visit_interval_days: float = 7.0) -> tuple[dict[str, float], dict[str, int]]:
    """What a clinic would have observed at the true parameters: statistics and the patients behind each.

    Closure shares count patients; recurrence is counted as events (a Bernoulli draw per healed patient at its
    risk), not as the expected share the simulator reports, and its `n` is the healed patients.

    Returns:
        ({statistic: observed value}, {statistic: patients behind it}).
    """
    rng = np.random.default_rng(seed)
    trial, soc = standin_arm(truth, n_trial, True, rng), standin_arm(truth, n_soc, False, rng)
    stats = {**trial_statistics(trial, visit_interval_days), **soc_statistics(soc)}
    sizes = {name: n_trial if name.startswith("trial") else n_soc for name in stats}
    for name, table, column in (("trial_recurrence_followup", trial, "recurrence_same_site_followup"),
                                ("soc_recurrence_12m", soc, "recurrence_any_site_12m")):
        risk = table[column].to_numpy(dtype=float)
        risk = risk[np.isfinite(risk)]
        events = rng.random(len(risk)) < risk
        stats[name], sizes[name] = (float(events.mean()) if len(risk) else 0.0), max(len(risk), 1)
    return stats, sizes
