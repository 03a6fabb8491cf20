"""A posterior inside the final non-implausible region: importance sampling on the emulator likelihood.

The target density in quantile space u is prior x likelihood restricted to the region every wave leaves
non-implausible; the prior is uniform on the unit cube (`calibration.history_matching.design`), so it is
proportional to L(u) there. L(u) is the product over observations of the emulator likelihood of the LAST wave
(`calibration.history_matching.implausibility.log_likelihood`), whose emulators were fitted inside the region.

Proposal q: a Gaussian kernel mixture centred on (up to `centres`) points of the final region sample, with the
region's covariance times Scott's factor squared times `inflate`. Draws outside the cube or implausible under
any wave get weight 0; the others w = L(u) / q(u). Draws are added in batches until the Kish effective sample
size

    ESS = (sum_i w_i)^2 / sum_i w_i^2

reaches `min_ess` (or `max_draws` are spent: the result then says so). The posterior table has one row per
draw of positive weight, in the format `woundsim.posterior` reads (`particle`, `weight`, `distance` = the last
wave's combined implausibility, natural values by target, `abc.<key>`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import logsumexp

from calibration.history_matching.design import to_abc
from calibration.history_matching.implausibility import Observation, log_likelihood
from calibration.history_matching.waves import Wave, WaveOptions, WavesResult, plausible_under, wave_implausibility
from calibration.priors import FreeParameter
from woundsim.errors import InputError, require


@dataclass
class SamplingOptions:
    """Importance sampling settings (conf/calibration/*.yaml, `history_matching.posterior`)."""

    min_ess: float = 500.0
    batch: int = 20000
    max_draws: int = 2_000_000
    centres: int = 400
    inflate: float = 2.0

    def __post_init__(self) -> None:
        require(self.min_ess >= 1, f"history_matching.posterior.min_ess = {self.min_ess} must be >= 1")
        require(self.inflate > 0, f"history_matching.posterior.inflate = {self.inflate} must be > 0")


def kish_ess(weights: np.ndarray) -> float:
    """Kish's effective sample size (sum w)^2 / sum w^2 (0 for no positive weight)."""
    w = np.asarray(weights, dtype=float)
    total = w.sum()
    return float(total ** 2 / np.sum(w ** 2)) if total > 0 else 0.0


def emulator_log_likelihood(wave: Wave, observations: list[Observation], u: np.ndarray) -> np.ndarray:
    """log L(u): the sum over observations of the emulator log-likelihood under one wave's emulators."""
    total = np.zeros(len(u))
    for obs in wave.emulated(observations):
        mean, var = wave.emulators[obs.name].predict(u)
        unit = np.exp(wave.unit_variance[obs.name].predict(u)[0]) if obs.name in wave.unit_variance else None
        total += log_likelihood(obs, mean, var, unit)
    return total


class KernelMixture:
    """Gaussian kernel mixture on region points (the proposal q)."""

    def __init__(self, region: np.ndarray, options: SamplingOptions, rng: np.random.Generator) -> None:
        n, d = region.shape
        self.centres = region[rng.choice(n, size=min(n, options.centres), replace=False)]
        scott = len(self.centres) ** (-1.0 / (d + 4))
        cov = np.atleast_2d(np.cov(region.T)) * scott ** 2 * options.inflate + 1e-10 * np.eye(d)
        self.chol = np.linalg.cholesky(cov)
        self.log_norm = -0.5 * d * np.log(2 * np.pi) - np.log(np.diag(self.chol)).sum()

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        picks = self.centres[rng.integers(len(self.centres), size=n)]
        return picks + rng.standard_normal((n, self.centres.shape[1])) @ self.chol.T

    def log_density(self, u: np.ndarray, chunk: int = 1000) -> np.ndarray:
        inv = np.linalg.inv(self.chol)
        centres = self.centres @ inv.T
        out = np.empty(len(u))
        for start in range(0, len(u), chunk):  # chunks keep the (points x centres) matrix small
            z = u[start:start + chunk] @ inv.T
            sq = np.sum(z ** 2, axis=1)[:, None] - 2.0 * z @ centres.T + np.sum(centres ** 2, axis=1)[None, :]
            out[start:start + chunk] = logsumexp(-0.5 * sq, axis=1)
        return out - np.log(len(self.centres)) + self.log_norm


def sample_posterior(result: WavesResult, observations: list[Observation], parameters: list[FreeParameter],
                     wave_options: WaveOptions, options: SamplingOptions,
                     rng: np.random.Generator) -> tuple[pd.DataFrame, dict]:
    """Weighted posterior draws (see the module docstring).

    Returns:
        (posterior table, {"ess", "draws", "kept", "reached"}).
    """
    if len(result.region) < 2:
        raise InputError("the final non-implausible region holds fewer than 2 sampled points; no posterior to sample")
    last = result.waves[-1]
    plausible = plausible_under(result.waves, observations, wave_options)
    proposal = KernelMixture(result.region, options, rng)
    us, logws, draws = [], [], 0
    while draws < options.max_draws:
        u = proposal.draw(options.batch, rng)
        draws += len(u)
        u = u[np.all((u > 0) & (u < 1), axis=1)]
        u = u[plausible(u)] if len(u) else u
        if len(u):
            us.append(u)
            logws.append(emulator_log_likelihood(last, observations, u) - proposal.log_density(u))
        if logws and kish_ess(np.exp(np.concatenate(logws) - np.concatenate(logws).max())) >= options.min_ess:
            break
    require(len(us) > 0, f"no proposal draw of {draws} landed in the non-implausible region")
    u, logw = np.vstack(us), np.concatenate(logws)
    weights = np.exp(logw - logw.max())
    ess = kish_ess(weights)
    table = posterior_table(u, weights / weights.sum(),
                            wave_implausibility(last, observations, u, wave_options.combine), parameters)
    return table, {"ess": ess, "draws": draws, "kept": len(u), "reached": ess >= options.min_ess}


def posterior_table(u: np.ndarray, weights: np.ndarray, distance: np.ndarray,
                    parameters: list[FreeParameter]) -> pd.DataFrame:
    """The posterior file's table (`woundsim.posterior`'s layout) of quantile-space draws with weights."""
    keep = weights > 0
    abc = to_abc(parameters, u[keep])
    table = pd.DataFrame({"particle": np.arange(int(keep.sum())), "weight": weights[keep] / weights[keep].sum(),
                          "distance": distance[keep]})
    for p in parameters:
        table[p.target] = [p.to_natural(v) for v in abc[p.key]]
    for p in parameters:
        table[f"abc.{p.key}"] = abc[p.key].to_numpy(dtype=float)
    return table


def nearest_to_medians(draws: pd.DataFrame, statistics: list[str], passing: np.ndarray | None = None) -> int:
    """Row label of the draw whose predictive statistics lie nearest the predictive medians.

    Each statistic's deviation from the median over all draws is scaled by its robust SD (IQR / 1.349), and the
    nearest draw in the Euclidean sense among the `passing` ones (all when None) is chosen: a posterior point
    that reproduces the typical prediction, unlike the marginal medians, which on a ridge need not be a
    posterior point at all.

    Args:
        draws: one row per posterior draw, a column per statistic (simulated with the real model).
        statistics: the columns to match.
        passing: boolean per row: draws allowed as the point (e.g. those inside every target interval).
    """
    values = draws[statistics].to_numpy(dtype=float)
    q1, median, q3 = np.nanpercentile(values, [25, 50, 75], axis=0)
    scale = np.where(q3 > q1, (q3 - q1) / 1.349, 1.0)
    distance = np.sqrt(np.nansum(((values - median) / scale) ** 2, axis=1))
    allowed = np.ones(len(draws), dtype=bool) if passing is None else np.asarray(passing, dtype=bool)
    require(allowed.any(), "no draw passes; there is no passing draw to take as the point estimate")
    distance[~allowed] = np.inf
    return draws.index[int(np.argmin(distance))]
