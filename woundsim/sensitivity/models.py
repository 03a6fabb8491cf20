"""The models a study can run: the woundsim ABM, and the Ishigami function (analytic indices, for tests).

A study model is a picklable object with
- `arms`: the simulations one row can run (woundsim: `treated` under the study's treatment, `soc` under
  standard care alone; Ishigami: `model`);
- `check_names(names)` and `check(point)`: raise InputError for an unknown name or an invalid value;
- `evaluate(point, arm, seed) -> dict[str, float]`: the per-simulation metrics of one row, arm and seed;
- `describe() -> dict`: everything that determines its results (hashed into the store keys).
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from woundsim.errors import InputError, require
from woundsim.params import (HORIZON_WEEKS_STANDARD_CARE, HORIZON_WEEKS_TREATED, ModelParams, flatten, validate,
                             validate_horizon_weeks, with_overrides)
from woundsim.patient import Patient
from woundsim.sensitivity.spec import DUMMY
from woundsim.treatment import Treatment, standard_care, validate_treatment
from woundsim.units import weeks_to_days

TREATED, SOC = "treated", "soc"
M1_WINDOW_DAYS = (1.0, 28.0)  # days averaged by `m1_fraction_mean_d1_28` (day 0 excluded: every recruit is M1)


@dataclass
class WoundsimModel:
    """One base patient under one treatment, and under standard care; a row overrides some of their values.

    Attributes:
        params: base model parameters (grid resolution included).
        patient: base patient.
        treatment: regimen of the `treated` arm (the `soc` arm gets `standard_care()`).
        horizon_weeks: simulated horizon of each arm (weeks; the 2-week closure confirmation is added).
    """

    params: ModelParams = field(default_factory=ModelParams)
    patient: Patient = field(default_factory=Patient)
    treatment: Treatment = field(default_factory=Treatment)
    horizon_weeks: dict[str, float] = field(default_factory=lambda: {TREATED: HORIZON_WEEKS_TREATED,
                                                                    SOC: HORIZON_WEEKS_STANDARD_CARE})

    arms = (TREATED, SOC)

    def __post_init__(self) -> None:
        missing = set(self.arms) - set(self.horizon_weeks)
        require(not missing, f"sensitivity.horizon_weeks lacks {sorted(missing)}; give weeks for {list(self.arms)}")
        for arm, weeks in self.horizon_weeks.items():
            require(arm in self.arms, f"sensitivity.horizon_weeks: unknown arm {arm!r}; allowed {list(self.arms)}")
            validate_horizon_weeks(weeks, f"sensitivity.horizon_weeks.{arm}")

    def check_names(self, names: list[str]) -> None:
        """Raise InputError for a name that is neither a model, patient nor treatment parameter."""
        model_names = set(flatten(ModelParams()))
        for name in names:
            if name == DUMMY:
                continue
            kind, key = _split(name)
            known = {"model": model_names, "patient": _fields(Patient), "treatment": _fields(Treatment)}[kind]
            if key not in known:
                raise InputError(f"sensitivity.parameters: {name!r} is not a {kind} parameter "
                                 f"(model names: woundsim.params.flatten(ModelParams()); patient.* and treatment.* "
                                 f"attributes: {sorted(_fields(Patient))}, {sorted(_fields(Treatment))})")

    def build(self, point: dict[str, Any], arm: str) -> tuple[ModelParams, Patient, Treatment]:
        """The objects `simulate` takes for `point` in `arm` (validated)."""
        require(arm in self.arms, f"unknown arm {arm!r}; allowed {list(self.arms)}")
        groups: dict[str, dict[str, Any]] = {"model": {}, "patient": {}, "treatment": {}}
        for name, value in point.items():
            if name != DUMMY:
                kind, key = _split(name)
                groups[kind][key] = value
        weeks = float(self.horizon_weeks[arm])
        params = with_overrides(self.params, {**groups["model"], "numerics.horizon_weeks": weeks})
        validate(params)
        patient = dataclasses.replace(self.patient, **groups["patient"])
        treatment = dataclasses.replace(self.treatment, **groups["treatment"]) if arm == TREATED else standard_care()
        validate_treatment(treatment, weeks_to_days(weeks))
        return params, patient, treatment

    def check(self, point: dict[str, Any]) -> None:
        """Raise InputError if `point` gives an invalid model, patient or treatment in any arm."""
        for arm in self.arms:
            self.build(point, arm)

    def evaluate(self, point: dict[str, Any], arm: str, seed: int) -> dict[str, float]:
        """Simulate one row in one arm; the summary keys of docs/ARCHITECTURE.md plus `m1_fraction_mean_d1_28`."""
        from woundsim.simulate import simulate

        result = simulate(*self.build(point, arm), seed=int(seed))
        metrics = {key: _number(value) for key, value in result.summary.items()}
        days = result.timeseries["day"].to_numpy(dtype=float)
        window = (days >= M1_WINDOW_DAYS[0]) & (days <= M1_WINDOW_DAYS[1])
        m1 = result.timeseries["m1_fraction"].to_numpy(dtype=float)[window]
        metrics["m1_fraction_mean_d1_28"] = float(np.nanmean(m1)) if np.isfinite(m1).any() else math.nan
        return metrics

    def describe(self) -> dict:
        return {"model": "woundsim", "params": self.params, "patient": self.patient, "treatment": self.treatment,
                "horizon_weeks": {arm: float(self.horizon_weeks[arm]) for arm in self.arms}}


@dataclass
class IshigamiModel:
    """y = sin x1 + a sin² x2 + b x3⁴ sin x1 (+ Gaussian noise), with x_i uniform on [-pi, pi].

    Attributes:
        a, b: Ishigami constants (7 and 0.1 in the literature).
        noise_sd: sd of additive noise drawn from the evaluation's seed (0: deterministic).
        eval_seconds: artificial cost of one evaluation (s), to exercise interruption and resume.
    """

    a: float = 7.0
    b: float = 0.1
    noise_sd: float = 0.0
    eval_seconds: float = 0.0

    arms = ("model",)
    names = ("x1", "x2", "x3")

    def check_names(self, names: list[str]) -> None:
        unknown = sorted(set(names) - set(self.names) - {DUMMY})
        require(not unknown, f"sensitivity.parameters: {unknown} are not Ishigami inputs; allowed {list(self.names)}")

    def check(self, point: dict[str, Any]) -> None:
        require(set(self.names) <= set(point), f"an Ishigami row needs {list(self.names)}, got {sorted(point)}")

    def evaluate(self, point: dict[str, Any], arm: str, seed: int) -> dict[str, float]:
        if self.eval_seconds > 0:
            time.sleep(self.eval_seconds)
        x1, x2, x3 = (float(point[n]) for n in self.names)
        y = math.sin(x1) + self.a * math.sin(x2) ** 2 + self.b * x3**4 * math.sin(x1)
        if self.noise_sd > 0:
            y += self.noise_sd * float(np.random.default_rng(int(seed)).standard_normal())
        return {"y": y}

    def analytic(self) -> dict[str, dict[str, float]]:
        """Exact first-order (S1) and total (ST) indices of the noise-free function (Ishigami & Homma 1990)."""
        a, b, pi = self.a, self.b, math.pi
        v1 = 0.5 * (1 + b * pi**4 / 5) ** 2
        v2 = a**2 / 8
        v13 = b**2 * pi**8 * (1 / 18 - 1 / 50)
        total = v1 + v2 + v13
        return {"S1": {"x1": v1 / total, "x2": v2 / total, "x3": 0.0},
                "ST": {"x1": (v1 + v13) / total, "x2": v2 / total, "x3": v13 / total}}

    def describe(self) -> dict:
        return {"model": "ishigami", **dataclasses.asdict(self)}


def _split(name: str) -> tuple[str, str]:
    """("patient", "hba1c_pct") for "patient.hba1c_pct"; ("model", "x.y") for "x.y" or "model.x.y"."""
    head, _, rest = name.partition(".")
    if head in ("patient", "treatment") and rest:
        return head, rest
    return "model", rest if head == "model" and rest else name


def _fields(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def _number(value: Any) -> float:
    if value is None:
        return math.nan
    if isinstance(value, (bool, np.bool_)):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan
