"""Distance between simulated and observed statistics, each scaled by its clinical uncertainty.

Every target has an observed value and a 95% interval [low, high] from its source (a confidence
interval, an exact binomial bound, or a stated assumption where the source gives none). A simulated
statistic s contributes the term

    z = (s - observed) / (observed - low)   if s < observed
    z = (s - observed) / (high - observed)  if s >= observed

(when one side of the interval has zero width, e.g. 10/10 closed cannot be exceeded, the other side's
width is used), so z = +-1 means "at the edge of the clinical interval", whatever the unit. The
distance is the Euclidean norm of the z's (p = 2), or their maximum (p = inf). These weights make no
target dominate through its unit or scale, and let the data's own precision set how hard each target
pulls: the pooled standard-care fractions (CI +-4-5 points) pull harder than the 10-patient trial mean.
A statistic that is NaN (undefined: no patient closed) contributes `nan_penalty`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pyabc

from calibration.statistics import renamed_statistic
from woundsim.errors import InputError, require


@dataclass(frozen=True)
class Target:
    """One clinical target: observed value and its 95% interval (same units as the statistic).

    Attributes:
        name: statistic name (see `calibration.statistics`).
        observed: the clinical figure.
        low: lower end of its 95% interval (<= observed).
        high: upper end of its 95% interval (>= observed).
        source: where the figure and the interval come from.
    """

    name: str
    observed: float
    low: float
    high: float
    source: str = ""

    def __post_init__(self) -> None:
        finite = all(math.isfinite(float(v)) for v in (self.observed, self.low, self.high))
        require(finite and self.low <= self.observed <= self.high and self.high > self.low,
                f"target {self.name}: need finite low <= observed <= high with high > low, "
                f"got low={self.low}, observed={self.observed}, high={self.high}")

    @property
    def below(self) -> float:
        """Width of the interval below the observed value (the upper width if this one is zero)."""
        width = self.observed - self.low
        return width if width > 0 else self.high - self.observed

    @property
    def above(self) -> float:
        """Width of the interval above the observed value (the lower width if this one is zero)."""
        width = self.high - self.observed
        return width if width > 0 else self.observed - self.low

    def z(self, value: float) -> float:
        """Signed scaled deviation of a simulated value (NaN stays NaN)."""
        diff = float(value) - self.observed
        return diff / (self.below if diff < 0 else self.above)

    def z_lower_bound(self, lowest: float, highest: float) -> float:
        """Smallest |z| of any value in [lowest, highest] (0 when the range holds the observed value)."""
        if lowest > self.observed:
            return abs(self.z(lowest))
        if highest < self.observed:
            return abs(self.z(highest))
        return 0.0


def targets_from_config(config: Mapping[str, Mapping]) -> list[Target]:
    """Targets from a mapping {name: {observed, low, high, source}} (conf/calibration/*.yaml)."""
    require(len(config) > 0, "calibration.targets is empty; need at least one target")
    out = []
    for name, spec in config.items():
        renamed_statistic(str(name), "calibration.targets")
        unknown = set(spec) - {"observed", "low", "high", "source"}
        require(not unknown, f"calibration.targets.{name} has unknown keys {sorted(unknown)}; "
                             "allowed observed, low, high, source")
        try:
            out.append(Target(str(name), float(spec["observed"]), float(spec["low"]), float(spec["high"]),
                              str(spec.get("source", ""))))
        except KeyError as exc:
            raise InputError(f"calibration.targets.{name} lacks {exc.args[0]!r}; need observed, low, high") from None
    return out


def norm(z: np.ndarray, p: float) -> float:
    """p-norm of the scaled deviations (p = inf: the largest)."""
    z = np.abs(np.asarray(z, dtype=float))
    if z.size == 0:
        return 0.0
    return float(z.max()) if math.isinf(p) else float(np.sum(z ** p) ** (1.0 / p))


class ToleranceDistance(pyabc.Distance):
    """pyabc distance: p-norm of per-target deviations scaled by the targets' 95% intervals.

    Args:
        targets: the clinical targets (their names are the summary-statistic keys).
        p: norm order (2: Euclidean; inf: maximum).
        nan_penalty: term charged for a statistic that is NaN (undefined).
    """

    def __init__(self, targets: list[Target], p: float = 2.0, nan_penalty: float = 10.0) -> None:
        super().__init__()
        require(p >= 1, f"calibration.distance.p = {p} must be >= 1 (or inf)")
        require(nan_penalty > 0, f"calibration.distance.nan_penalty = {nan_penalty} must be > 0")
        self.targets, self.p, self.nan_penalty = list(targets), float(p), float(nan_penalty)

    def terms(self, x: Mapping[str, float]) -> dict[str, float]:
        """Signed scaled deviation of each target ({name: z}); NaN statistics get the penalty."""
        out = {}
        for target in self.targets:
            if target.name not in x:
                raise InputError(f"simulated statistics lack {target.name!r}; got {sorted(x)}")
            value = float(x[target.name])
            out[target.name] = self.nan_penalty if math.isnan(value) else target.z(value)
        return out

    def __call__(self, x: dict, x_0: dict | None = None, t: int | None = None, par: dict | None = None) -> float:
        return norm(np.array(list(self.terms(x).values())), self.p)

    def get_config(self) -> dict:
        return {"name": type(self).__name__, "p": self.p, "nan_penalty": self.nan_penalty,
                "targets": [t.__dict__ for t in self.targets]}
