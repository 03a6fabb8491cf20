"""Implausibility of a parameter point and the emulator likelihood, per observed statistic.

Andrianakis et al. 2015 (PLoS Comput Biol 11:e1003968), eq. 4: an observed statistic z and an emulator of the
model's mean output, E[f(x)] with variance Var[f(x)], give

    I(x) = |z - E[f(x)]| / sqrt(Var[f(x)] + V_md + V_obs)

with each variance counted once: the emulator's own uncertainty about the mean output (Var[f(x)], which
already absorbed the simulations' Monte Carlo noise as per-point noise when it was fitted), a stated model
discrepancy V_md (`Observation.discrepancy_sd` squared) and the sampling variance of the statistic at the
OBSERVED study's size V_obs:

- a "binomial" statistic (a share of `n` observed patients): V_obs = p (1 - p) / n with p = E[f(x)] clipped to
  [1/(2n), 1 - 1/(2n)];
- a "normal" statistic (e.g. a mean time to closure): V_obs = `sd`^2 when the observation states its sampling
  SD, otherwise the model's own per-patient variance (emulated, `unit_var`) divided by `n`.

A binomial observation at a boundary (10/10 closed, 0/10 recurred) has no variance to divide by. There the
implausibility is the normal quantile of the binomial tail probability of what was seen,

    I(x) = Phi^-1(1 - P),  P = E_p[p^n] (all n observed) or E_p[(1 - p)^n] (none observed),

with p ~ N(E[f(x)], Var[f(x)] + V_md) clipped to [0, 1] (Gauss-Hermite quadrature), and I = 0 when P >= 1/2.
I = 3 is then a one-sided tail of 0.00135, the one-sided share of the interior rule's cut-off.

The emulator likelihood (`log_likelihood`) uses the same terms: binomial observations through the binomial
probability of the observed count averaged over p as above (interior and boundary alike), normal ones
through N(z; E[f(x)], Var[f(x)] + V_md + V_obs).

The feasibility screening's implausibility (`calibration.implausibility`, one simulation per parameter set, no
emulator) is the same rule with the Monte Carlo variance in place of the emulator's and V_obs read from the
target's interval; both take the observed study sizes from conf/targets.csv (`n_observed`) and one cut-off.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from calibration.implausibility import CUTOFF, observed_sizes  # noqa: F401  (CUTOFF: one cut-off for both)
from woundsim.errors import InputError, require

KINDS = ("binomial", "normal")
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(24)  # probabilists' Hermite: E[g(Z)], Z ~ N(0, 1)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


@dataclass(frozen=True)
class Observation:
    """One observed statistic and how it was observed.

    Attributes:
        name: statistic name (a key of the simulator's statistics).
        observed: the observed value (a share for "binomial").
        kind: "binomial" (a share of `n` patients) or "normal".
        n: patients behind the observed value (the observed study's size).
        sd: sampling SD of a "normal" observation; None takes the emulated per-patient variance / n.
        discrepancy_sd: model discrepancy SD, in the statistic's units (stated, not fitted).
    """

    name: str
    observed: float
    kind: str = "normal"
    n: int = 1
    sd: float | None = None
    discrepancy_sd: float = 0.0

    def __post_init__(self) -> None:
        where = f"history_matching.observations.{self.name}"
        require(self.kind in KINDS, f"{where}.kind = {self.kind!r} is unknown; allowed {', '.join(KINDS)}")
        require(self.n >= 1, f"{where}.n = {self.n} must be >= 1 (patients behind the observed value)")
        require(math.isfinite(self.observed), f"{where}: observed value must be finite")
        require(self.discrepancy_sd >= 0, f"{where}.discrepancy_sd = {self.discrepancy_sd} must be >= 0")
        if self.kind == "binomial":
            require(0.0 <= self.observed <= 1.0, f"{where}: a binomial observation is a share in [0, 1]")
        if self.sd is not None:
            require(self.sd > 0, f"{where}.sd = {self.sd} must be > 0")

    @property
    def count(self) -> int:
        """Observed patients with the event (binomial only)."""
        return int(round(self.observed * self.n))

    @property
    def at_boundary(self) -> bool:
        """A binomial observation of none or all of its patients."""
        return self.kind == "binomial" and self.count in (0, self.n)

    @property
    def needs_unit_variance(self) -> bool:
        """A normal observation whose sampling variance comes from the model's per-patient variance."""
        return self.kind == "normal" and self.sd is None

    def sampling_variance(self, mean: np.ndarray, unit_var: np.ndarray | None = None) -> np.ndarray:
        """V_obs: the statistic's sampling variance at the observed study's size."""
        mean = np.asarray(mean, dtype=float)
        if self.kind == "binomial":
            p = np.clip(mean, 0.5 / self.n, 1.0 - 0.5 / self.n)
            return p * (1.0 - p) / self.n
        if self.sd is not None:
            return np.full_like(mean, self.sd ** 2)
        if unit_var is None:
            raise InputError(f"observation {self.name}: no sd given and no per-patient variance emulated")
        return np.asarray(unit_var, dtype=float) / self.n


def observations_from_config(config: Mapping[str, Mapping], observed: Mapping[str, float],
                             sizes: Mapping[str, float] | None = None) -> list[Observation]:
    """Observations from {name: {kind, n, sd, discrepancy_sd}} with the targets' observed values; `n` defaults to
    the observed study's size in `sizes` (default: conf/targets.csv's `n_observed`)."""
    sizes = observed_sizes() if sizes is None else sizes
    require(len(config) > 0, "history_matching.observations is empty; need at least one observed statistic")
    out = []
    for name, spec in config.items():
        spec = dict(spec or {})
        unknown = set(spec) - {"kind", "n", "sd", "discrepancy_sd"}
        require(not unknown, f"history_matching.observations.{name} has unknown keys {sorted(unknown)}; "
                             "allowed kind, n, sd, discrepancy_sd")
        require(name in observed, f"history_matching.observations.{name} is not a target; targets are {sorted(observed)}")
        sd, n = spec.get("sd"), spec.get("n", sizes.get(name))
        require(n is not None, f"history_matching.observations.{name} needs n (no n_observed in conf/targets.csv)")
        out.append(Observation(str(name), float(observed[name]), str(spec.get("kind", "normal")),
                               int(n), None if sd is None else float(sd),
                               float(spec.get("discrepancy_sd", 0.0))))
    return out


def _binomial_expectation(obs: Observation, mean: np.ndarray, var: np.ndarray, fn) -> np.ndarray:
    """E[fn(p)] over p ~ N(mean, var + V_md) clipped to [0, 1], by Gauss-Hermite quadrature."""
    sd = np.sqrt(np.asarray(var, dtype=float) + obs.discrepancy_sd ** 2)
    p = np.clip(np.asarray(mean, dtype=float)[..., None] + sd[..., None] * _NODES, 0.0, 1.0)
    return fn(p) @ _WEIGHTS


def boundary_tail(obs: Observation, mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    """P: the probability of an observation as extreme as a boundary one (all or none of n)."""
    if obs.count == obs.n:
        return _binomial_expectation(obs, mean, var, lambda p: p ** obs.n)
    return _binomial_expectation(obs, mean, var, lambda p: (1.0 - p) ** obs.n)


def implausibility(obs: Observation, mean: np.ndarray, var: np.ndarray,
                   unit_var: np.ndarray | None = None) -> np.ndarray:
    """I(x) of one observation at emulator means and variances (see the module docstring).

    Args:
        obs: the observation.
        mean: emulator mean E[f(x)] per point (the statistic's units).
        var: emulator variance Var[f(x)] per point.
        unit_var: emulated per-patient variance (a "normal" observation without `sd`).
    """
    mean, var = np.asarray(mean, dtype=float), np.asarray(var, dtype=float)
    if obs.at_boundary:
        tail = np.clip(boundary_tail(obs, mean, var), 1e-300, 1.0)
        return np.maximum(stats.norm.isf(tail), 0.0)
    total = var + obs.discrepancy_sd ** 2 + obs.sampling_variance(mean, unit_var)
    return np.abs(obs.observed - mean) / np.sqrt(total)


def combine(values: np.ndarray, rule: str = "max") -> np.ndarray:
    """One implausibility per point from the per-statistic ones (columns): "max" or "second_max"."""
    values = np.atleast_2d(values)
    if rule == "max" or values.shape[1] < 2:
        return values.max(axis=1)
    if rule == "second_max":
        return np.sort(values, axis=1)[:, -2]
    raise InputError(f"history_matching.combine = {rule!r} is unknown; allowed max, second_max")


def log_likelihood(obs: Observation, mean: np.ndarray, var: np.ndarray,
                   unit_var: np.ndarray | None = None) -> np.ndarray:
    """log p(observed | x) of one observation under the emulator (see the module docstring)."""
    mean, var = np.asarray(mean, dtype=float), np.asarray(var, dtype=float)
    if obs.kind == "binomial":
        k, n = obs.count, obs.n
        log_choose = special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)
        like = _binomial_expectation(obs, mean, var, lambda p: p ** k * (1.0 - p) ** (n - k))
        return log_choose + np.log(np.maximum(like, 1e-300))
    total = var + obs.discrepancy_sd ** 2 + obs.sampling_variance(mean, unit_var)
    return -0.5 * (np.log(2.0 * np.pi * total) + (obs.observed - mean) ** 2 / total)
