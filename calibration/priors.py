"""Free parameters and their priors, in the space where ABC-SMC samples them.

A free parameter has a short key (the pyabc parameter name, e.g. `kc_speed`), the quantity it sets
(`model.<dotted ModelParams name>` or `treatment.dose_ug_per_site`) and a prior:

| prior | arguments | ABC space |
|---|---|---|
| uniform | low, high | the value |
| loguniform | low, high | log10 of the value, uniform |
| normal | mean, sd (optional low, high truncation) | the value |
| lognormal | median, gsd (geometric SD; optional low, high truncation) | log10 of the value, normal |

Positive scale parameters (rates, speeds, potencies, doses) are sampled in log10 space, so the SMC
perturbation kernel moves them by factors rather than by increments.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import pyabc
from scipy import stats

from woundsim.errors import InputError, require

PRIORS = {"uniform": ("low", "high"), "loguniform": ("low", "high"), "normal": ("mean", "sd"),
          "lognormal": ("median", "gsd")}
LOG_PRIORS = ("loguniform", "lognormal")
# What a free parameter may set: the model, the seed trial's regimen, the seed trial's population and care.
TARGET_PREFIXES = ("model.", "treatment.", "trial.cohort.")


@dataclass(frozen=True)
class FreeParameter:
    """One calibrated quantity and its prior.

    Attributes:
        key: pyabc parameter name (letters, digits, underscores).
        target: `model.<ModelParams dotted name>`, `treatment.<Treatment field>` (the seed trial's regimen) or
            `trial.cohort.<CohortSpec field>` (the seed trial's population and care: `calibration.setup.TRIAL_COHORT`).
        prior: uniform | loguniform | normal | lognormal.
        args: the prior's arguments in natural units (see the module table).
        note: the justification of the prior (kept with the posterior).
    """

    key: str
    target: str
    prior: str
    args: dict[str, float] = field(default_factory=dict)
    note: str = ""

    def __post_init__(self) -> None:
        require(self.key.isidentifier(), f"calibration.parameters: key {self.key!r} must be an identifier")
        require(self.target.startswith(TARGET_PREFIXES),
                f"calibration.parameters.{self.key}.target = {self.target!r} must start with "
                f"{', '.join(repr(t) for t in TARGET_PREFIXES)}")
        require(self.prior in PRIORS, f"calibration.parameters.{self.key}.prior = {self.prior!r} is unknown; "
                                      f"allowed {', '.join(PRIORS)}")
        for name in PRIORS[self.prior]:
            require(name in self.args, f"calibration.parameters.{self.key} needs {name!r} for a {self.prior} prior")
        a = self.args
        if self.prior in ("uniform", "loguniform"):
            require(a["low"] < a["high"], f"calibration.parameters.{self.key}: need low < high")
        if self.prior in LOG_PRIORS:
            positive = a.get("low", a.get("median", 1.0)) > 0 and a.get("median", 1.0) > 0
            require(positive, f"calibration.parameters.{self.key}: a {self.prior} prior needs positive values")
        if self.prior == "normal":
            require(a["sd"] > 0, f"calibration.parameters.{self.key}.sd must be > 0")
        if self.prior == "lognormal":
            require(a["gsd"] > 1, f"calibration.parameters.{self.key}.gsd must be > 1")

    @property
    def log(self) -> bool:
        """True when ABC samples log10 of the value."""
        return self.prior in LOG_PRIORS

    def to_natural(self, value: float) -> float:
        """Natural value of an ABC-space value."""
        return 10.0 ** float(value) if self.log else float(value)

    def to_abc(self, value: float) -> float:
        """ABC-space value of a natural value."""
        return math.log10(value) if self.log else float(value)

    def distribution(self) -> stats.rv_continuous:
        """The prior as a frozen scipy distribution in ABC space."""
        a = self.args
        if self.prior in ("uniform", "loguniform"):
            low, high = self.to_abc(a["low"]), self.to_abc(a["high"])
            return stats.uniform(low, high - low)
        loc, scale = ((a["mean"], a["sd"]) if self.prior == "normal"
                      else (math.log10(a["median"]), math.log10(a["gsd"])))
        if "low" in a or "high" in a:
            low = (self.to_abc(a["low"]) - loc) / scale if "low" in a else -math.inf
            high = (self.to_abc(a["high"]) - loc) / scale if "high" in a else math.inf
            return stats.truncnorm(low, high, loc, scale)
        return stats.norm(loc, scale)

    def rv(self) -> pyabc.RV:
        """The prior as a pyabc random variable in ABC space."""
        dist = self.distribution()
        return pyabc.RV(dist.dist.name, *dist.args, **dist.kwds)

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        """Central prior interval in natural units."""
        low, high = self.distribution().interval(level)
        return self.to_natural(low), self.to_natural(high)


def parameters_from_config(config: Mapping[str, Mapping]) -> list[FreeParameter]:
    """Free parameters from {key: {target, prior, <args>, note}} (conf/calibration/*.yaml)."""
    require(len(config) > 0, "calibration.parameters is empty; need at least one free parameter")
    out = []
    for key, spec in config.items():
        spec = dict(spec)
        try:
            target, prior = str(spec.pop("target")), str(spec.pop("prior"))
        except KeyError as exc:
            raise InputError(f"calibration.parameters.{key} lacks {exc.args[0]!r}") from None
        note = str(spec.pop("note", ""))
        allowed = set(PRIORS.get(prior, ())) | {"low", "high"}
        unknown = set(spec) - allowed
        require(not unknown, f"calibration.parameters.{key} has unknown keys {sorted(unknown)}; "
                             f"a {prior} prior takes {sorted(allowed)}")
        out.append(FreeParameter(str(key), target, prior, {k: float(v) for k, v in spec.items()}, note))
    targets = [p.target for p in out]
    require(len(set(targets)) == len(targets), "calibration.parameters: two keys set the same target")
    return out


def prior_distribution(parameters: list[FreeParameter]) -> pyabc.Distribution:
    """Independent priors of all free parameters, as a pyabc Distribution (ABC space)."""
    return pyabc.Distribution(**{p.key: p.rv() for p in parameters})


def natural_values(parameters: list[FreeParameter], abc_values: Mapping[str, float]) -> dict[str, float]:
    """{target: natural value} of one particle given in ABC space ({key: value})."""
    return {p.target: p.to_natural(abc_values[p.key]) for p in parameters}
