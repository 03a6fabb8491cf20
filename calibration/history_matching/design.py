"""Designs over the priors, in the priors' quantile space.

Every point is handled as u in [0, 1]^d, the free parameters' prior CDF values (independent priors), so the
prior is uniform on the unit cube: a Latin hypercube in u is a space-filling design over the priors, a share of
uniform draws in u is a share of prior mass, and importance weights need no prior density. `to_abc` maps u to
the ABC-space values (log10 for log priors) that the simulator receives; `to_quantiles` maps back.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy.stats import qmc

from calibration.priors import FreeParameter
from woundsim.errors import require

EDGE = 1e-6  # quantiles kept inside (EDGE, 1 - EDGE), so unbounded priors map to finite values


def to_abc(parameters: list[FreeParameter], u: np.ndarray) -> pd.DataFrame:
    """ABC-space values (columns by key) of quantile-space points u (n x d)."""
    u = np.clip(np.atleast_2d(u), EDGE, 1.0 - EDGE)
    return pd.DataFrame({p.key: p.distribution().ppf(u[:, j]) for j, p in enumerate(parameters)})


def to_quantiles(parameters: list[FreeParameter], abc: pd.DataFrame) -> np.ndarray:
    """Quantile-space points of ABC-space values (columns by key)."""
    return np.column_stack([p.distribution().cdf(abc[p.key].to_numpy(dtype=float)) for p in parameters])


def latin_hypercube(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """A scrambled, centred-discrepancy-optimised Latin hypercube of n points in [0, 1]^d."""
    require(n >= 2, f"history_matching.design_size = {n} must be >= 2")
    return qmc.LatinHypercube(d, optimization="random-cd", rng=rng).random(n)


def maximin_subset(points: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n rows of `points` chosen greedily to keep them far apart (each next one farthest from those chosen)."""
    if len(points) <= n:
        return points
    chosen = [int(rng.integers(len(points)))]
    nearest = np.linalg.norm(points - points[chosen[0]], axis=1)
    for _ in range(n - 1):
        nxt = int(np.argmax(nearest))
        chosen.append(nxt)
        nearest = np.minimum(nearest, np.linalg.norm(points - points[nxt], axis=1))
    return points[chosen]


def bounding_box(points: np.ndarray, widen: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """The box around `points` (n x d), each side widened by `widen` of its width, clipped to the unit cube."""
    low, high = points.min(axis=0), points.max(axis=0)
    pad = widen * np.maximum(high - low, 0.02)
    return np.clip(low - pad, 0.0, 1.0), np.clip(high + pad, 0.0, 1.0)


def sample_region(plausible: Callable[[np.ndarray], np.ndarray], d: int, rng: np.random.Generator, *,
                  wanted: int, batch: int, max_draws: int,
                  box: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, float, int]:
    """Rejection sampling of the non-implausible region: uniform draws (in `box`, else the cube) kept where
    `plausible(u)` holds, until `wanted` are kept or `max_draws` are made.

    Returns:
        (kept points, estimated share of the prior that is non-implausible, draws made). The share is the kept
        fraction times the box's volume: exact in expectation when the region lies inside the box.
    """
    low, high = box if box is not None else (np.zeros(d), np.ones(d))
    kept, draws = [], 0
    while draws < max_draws and sum(len(k) for k in kept) < wanted:
        u = low + (high - low) * rng.random((batch, d))
        kept.append(u[plausible(u)])
        draws += batch
    points = np.vstack(kept) if kept else np.empty((0, d))
    return points, len(points) / max(draws, 1) * float(np.prod(high - low)), draws
