"""Rate scenarios: synthetic patient pools with known closure rates or hazard ratios, and analytic power.

A rate scenario replaces the simulation model by per-patient summaries drawn directly:
- closure times are exponential; `bernoulli_pool` chooses the hazard -ln(1 - rate) / primary_day so that
  the fraction closed by the primary day is `rate` (a closure on or before day 84 is seen at or before the
  week-12 visit, so the week-12 endpoint is exactly Bernoulli(rate) without dropout);
- every closure is confirmed (`confirmed_closure_day` = first closure + 14 d);
- optional PAR at week 4: 100% if closed by day 28, else normal(mean, sd) capped at 100%;
- recurrence: each healed patient's first recurrence month drawn with a constant hazard that gives
  `recurrence_risk_12m` within 12 months, written to both recurrence columns (the scenario's risk stands for
  whichever recurrence the trial counts), drawn after everything else.
Two arms of exponential closure with hazards h and HR * h have a hazard ratio HR, the setting of
Schoenfeld's formula (`schoenfeld_power`). Published pivotal trials are kept as YAML rate scenarios in
conf/trial/ (`load_rate_scenario`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy.stats import norm

from woundsim.endpoints import PAR_DAY, PRIMARY_DAY, closed_by_table, confirmation_visit, last_visit_by
from woundsim.errors import InputError, require, require_range
from woundsim.recurrence import MONTHS_PER_YEAR
from woundsim.trial.design import TrialDesign, dropout_hazard_per_day


def exponential_pool(hazard_per_day: float, n: int, rng: np.random.Generator, *,
                     horizon_days: float = math.inf, par_mean: float = math.nan, par_sd: float = math.nan,
                     recurrence_risk_12m: float = 0.4, strata: dict[Any, float] | None = None,
                     stratum_column: str = "stratum", stratified_draws: bool = False) -> pd.DataFrame:
    """Pool of `n` patients with exponential closure times (per-patient summary columns).

    Args:
        hazard_per_day: closure hazard (1/d), > 0.
        n: pool size.
        rng: generator.
        horizon_days: simulated horizon (d); closures after it are not seen.
        par_mean, par_sd: PAR at week 4 of patients open at day 28 (%); NaN leaves PAR missing.
        recurrence_risk_12m: recurrence probability within 12 months of closure, in [0, 1] (constant hazard).
        strata: optional mapping stratum label -> proportion, written to `stratum_column`.
        stratified_draws: draw the closure times from stratified uniforms ((permutation of 0..n-1 +
            U(0, 1)) / n), so the pool's empirical closure distribution matches the exponential to O(1/n)
            instead of O(1/sqrt(n)); used by the checks against analytic power, where the pool's own
            sampling error would otherwise shift the power (see woundsim.trial.power).
    """
    require_range("hazard_per_day", hazard_per_day, 0.0, 10.0, low_open=True, unit="1/d")
    require(isinstance(n, int) and n >= 1, f"n = {n!r}; allowed integer >= 1")
    require_range("recurrence_risk_12m", recurrence_risk_12m, 0.0, 1.0)
    u = (rng.permutation(n) + rng.random(n)) / n if stratified_draws else rng.random(n)
    t = -np.log1p(-u) / hazard_per_day
    first = np.where(t <= horizon_days, t, math.nan)
    confirmed = np.where(first + 14.0 <= horizon_days, first + 14.0, math.nan)
    par = np.full(n, math.nan)
    if not math.isnan(par_mean):
        par = np.where(t <= PAR_DAY, 100.0, np.minimum(100.0, rng.normal(par_mean, par_sd, n)))
    pool = pd.DataFrame({"first_closure_day": first, "confirmed_closure_day": confirmed,
                         "time_to_closure_days": np.where(np.isfinite(confirmed), first, math.nan),
                         "par_week4": par,
                         "horizon_days": horizon_days})
    pool.insert(3, "closed_by_week12", closed_by_table(pool, PRIMARY_DAY).astype(bool))
    if strata:
        labels = list(strata)
        prob = np.array([strata[k] for k in labels], float)
        require(bool(np.all(prob >= 0)) and prob.sum() > 0, "strata proportions must be >= 0 with a positive sum")
        pool[stratum_column] = np.array(labels, dtype=object)[rng.choice(len(labels), n, p=prob / prob.sum())]
    with np.errstate(divide="ignore"):
        month = rng.exponential(size=n) * MONTHS_PER_YEAR / -np.log1p(-recurrence_risk_12m)
    month = np.where(np.isfinite(confirmed), month, math.nan)
    pool["recurrence_same_site_month"], pool["recurrence_any_site_month"] = month, month
    return pool


def hazard_for_rate(rate: float, day: float = 84.0) -> float:
    """Exponential hazard (1/d) that closes fraction `rate` by `day`."""
    require_range("rate", rate, 0.0, 1.0, low_open=True, high_open=True)
    return -math.log1p(-rate) / day


def bernoulli_pool(rate_week12: float, n: int, rng: np.random.Generator, *, primary_day: float = 84.0,
                   **kwargs: Any) -> pd.DataFrame:
    """Pool whose closure by `primary_day` is Bernoulli(`rate_week12`) (exponential times; see module)."""
    return exponential_pool(hazard_for_rate(rate_week12, primary_day), n, rng, **kwargs)


def analytic_power_two_proportions(p_a: float, p_b: float, n_a: int, n_b: int, alpha: float = 0.05) -> float:
    """Two-sided power of the two-proportion z-test (statsmodels NormalIndPower, Cohen's h)."""
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    h = proportion_effectsize(p_a, p_b)
    return float(NormalIndPower().power(effect_size=h, nobs1=n_a, alpha=alpha, ratio=n_b / n_a,
                                        alternative="two-sided"))


def event_probability(hazard_per_day: float, design: TrialDesign) -> float:
    """Probability that a patient with exponential closure has a recorded (confirmed) closure event.

    Sums over the visit at which the closure is first seen: the confirmation visit must fall within the
    follow-up and before dropout (no horizon limit).
    """
    v, c = design.visit_interval_days, design.confirmation_days
    last = float(last_visit_by(design.followup_days, v))
    j = np.arange(1, int(last / v) + 1)  # closures in ((j - 1) v, j v] are seen at visit j (woundsim.endpoints)
    p_seen = np.exp(-hazard_per_day * (j - 1) * v) - np.exp(-hazard_per_day * j * v)
    confirm = confirmation_visit(j * v, c, v)
    rate = design.dropout.rate
    if design.dropout.timing == "uniform":
        stay = 1.0 - rate * np.minimum(confirm, design.followup_days) / design.followup_days
    else:
        stay = np.exp(-dropout_hazard_per_day(design.dropout, design.followup_days) * confirm)
    return float((p_seen * stay * (confirm <= last)).sum())


def schoenfeld_power(hazard_ratio: float, n_a: int, n_b: int, events: float, alpha: float = 0.05) -> float:
    """Two-sided log-rank power by Schoenfeld's formula (1981), given the expected number of events.

    power = Phi(sqrt(D pi (1 - pi)) |ln HR| - z) + Phi(-sqrt(D pi (1 - pi)) |ln HR| - z), pi = n_a / (n_a + n_b).
    """
    require_range("hazard_ratio", hazard_ratio, 0.0, math.inf, low_open=True, high_open=True)
    pi = n_a / (n_a + n_b)
    drift = math.sqrt(events * pi * (1 - pi)) * abs(math.log(hazard_ratio))
    z = norm.ppf(1 - alpha / 2)
    return float(norm.cdf(drift - z) + norm.cdf(-drift - z))


@dataclass(frozen=True)
class ArmRates:
    """One arm of a rate scenario.

    Args:
        label: arm label. rate_week12: fraction with confirmed closure by week 12.
        n: patients randomised in the published trial (None if not given).
    """

    label: str
    rate_week12: float
    n: int | None = None

    def __post_init__(self) -> None:
        require_range(f"{self.label}: rate_week12", self.rate_week12, 0.0, 1.0, low_open=True, high_open=True)
        require(self.n is None or (isinstance(self.n, int) and self.n >= 2), f"{self.label}: n must be >= 2")


@dataclass(frozen=True)
class RateScenario:
    """A plain rate scenario (e.g. a published pivotal trial) with the design to check it under."""

    name: str
    source: str
    treatment: ArmRates
    control: ArmRates
    design: TrialDesign = field(default_factory=TrialDesign)

    @classmethod
    def from_dict(cls, spec: dict[str, Any]) -> RateScenario:
        """Build from plain values (a loaded YAML file)."""
        allowed = {"name", "kind", "source", "treatment", "control", "design"}
        unknown = set(spec) - allowed
        if unknown:
            raise InputError(f"unknown rate scenario keys {sorted(unknown)}; allowed {sorted(allowed)}")
        require(spec.get("kind", "rates") == "rates", f"kind = {spec.get('kind')!r}; allowed 'rates'")
        return cls(name=str(spec["name"]), source=str(spec.get("source", "")),
                   treatment=ArmRates(**spec["treatment"]), control=ArmRates(**spec["control"]),
                   design=TrialDesign.from_dict(spec.get("design", {})))

    def pools(self, pool_size: int, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Bernoulli (treatment, control) pools of `pool_size` patients each (stratified draws)."""
        day = self.design.primary_day
        return (bernoulli_pool(self.treatment.rate_week12, pool_size, rng, primary_day=day, stratified_draws=True),
                bernoulli_pool(self.control.rate_week12, pool_size, rng, primary_day=day, stratified_draws=True))

    def analytic_power(self) -> float:
        """Analytic two-proportion power at the published arm sizes."""
        require(self.treatment.n is not None and self.control.n is not None, f"{self.name}: arm sizes not given")
        return analytic_power_two_proportions(self.treatment.rate_week12, self.control.rate_week12,
                                              self.treatment.n, self.control.n, self.design.alpha)


def load_rate_scenario(path: str | Path) -> RateScenario:
    """Read a rate scenario YAML file (conf/trial/*.yaml with `kind: rates`)."""
    path = Path(path)
    require(path.is_file(), f"rate scenario file {str(path)!r} does not exist")
    with path.open() as fh:
        return RateScenario.from_dict(yaml.safe_load(fh))
