"""What a sensitivity study is: its parameters, ranges, method, sizes and outputs (plain dataclasses).

The dataclasses double as Hydra structured configs (`conf/sensitivity/*.yaml` fill them, see
`experiments/sensitivity.py`), but the library only ever receives these plain objects.

A parameter is named as the model names it: a dotted model parameter from
`woundsim.params.flatten(ModelParams())` (a leading `model.` is allowed), a patient attribute
(`patient.hba1c_pct`) or a treatment attribute (`treatment.dose_ug_per_site`). Its distribution is one of
SALib's (`bounds` mean what SALib means for that `dist`), or a list of discrete `values` (drawn uniformly).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from woundsim.errors import InputError, require

METHODS = ("morris", "sobol")
#: SALib distributions and the meaning of `bounds` for each (SALib.util.scale_samples)
DISTS = {
    "unif": "[low, high]",
    "logunif": "[low, high], both > 0",
    "triang": "[low, high, peak as a fraction of the range in [0, 1]]",
    "norm": "[mean, sd]",
    "truncnorm": "[low, high, mean, sd]",
    "lognorm": "[mean of ln x, sd of ln x]",
}
_BOUNDS_LEN = {"unif": 2, "logunif": 2, "triang": 3, "norm": 2, "truncnorm": 4, "lognorm": 2}
DUMMY = "dummy"  # a parameter the model ignores: its index is the noise floor of the estimator


@dataclass
class ParameterSpec:
    """One uncertain input.

    Attributes:
        name: model name (see module docstring).
        bounds: SALib bounds of `dist` (units of the parameter; see `DISTS`); None with `values`.
        dist: SALib distribution name.
        values: discrete choices (e.g. Texas grades [1, 2, 3]); drawn uniformly, `bounds` must be None.
        integer: round sampled values to whole numbers (e.g. `treatment.sites`).
    """

    name: str = ""
    bounds: list[float] | None = None
    dist: str = "unif"
    values: list[Any] | None = None
    integer: bool = False

    def __post_init__(self) -> None:
        require(isinstance(self.name, str) and self.name != "", "sensitivity.parameters: every entry needs a name")
        where = f"sensitivity.parameters[{self.name}]"
        if self.values is not None:
            require(self.bounds is None, f"{where}: give either bounds or values, not both")
            require(len(self.values) >= 2, f"{where}.values must list at least 2 choices, got {list(self.values)}")
            self.values = list(self.values)
            return
        require(self.dist in DISTS, f"{where}.dist = {self.dist!r} is unknown; allowed {', '.join(DISTS)}")
        require(self.bounds is not None and len(self.bounds) == _BOUNDS_LEN[self.dist],
                f"{where}.bounds = {self.bounds} must be {DISTS[self.dist]} for dist {self.dist!r}")
        self.bounds = [float(b) for b in self.bounds]
        if not all(math.isfinite(b) for b in self.bounds):
            raise InputError(f"{where}.bounds = {self.bounds} must be finite numbers")
        if self.dist in ("unif", "logunif", "triang", "truncnorm"):
            require(self.bounds[0] < self.bounds[1], f"{where}.bounds = {self.bounds}: need low < high")
        if self.dist == "logunif":
            require(self.bounds[0] > 0, f"{where}.bounds = {self.bounds}: logunif needs low > 0")
        if self.dist in ("norm", "lognorm"):
            require(self.bounds[1] > 0, f"{where}.bounds = {self.bounds}: the sd must be > 0")

    def salib_bounds(self) -> tuple[list[float], str]:
        """Bounds and distribution handed to SALib (a discrete parameter is uniform on [0, 1])."""
        return ([0.0, 1.0], "unif") if self.values is not None else (list(self.bounds), self.dist)

    def to_model(self, x: np.ndarray) -> list[Any]:
        """Model values of SALib-scaled samples `x` (discrete choices, rounding)."""
        if self.values is not None:
            index = np.minimum((np.asarray(x) * len(self.values)).astype(int), len(self.values) - 1)
            return [self.values[i] for i in index]
        if self.integer:
            return [int(v) for v in np.rint(x)]
        return [float(v) for v in x]


@dataclass
class OutputSpec:
    """One analysed output: a per-simulation metric of one arm, averaged over replicates.

    Attributes:
        name: column name of the output in the tables.
        metric: key of the model's per-simulation metrics (e.g. `time_to_closure_days`).
        arm: which simulation gives it (woundsim: `treated` or `soc`; Ishigami: `model`).
        minus: optional second arm whose metric is subtracted replicate by replicate (paired: both arms of a
            replicate share its seed), e.g. arm soc minus treated = days of closure gained.
        censored: NaN (event not seen) counts as the arm's horizon (metric `horizon_days`): the replicate mean is
            then the restricted mean up to the horizon.
        horizon_days: with `censored`, restrict at this day instead (values above it count as it); needed when two
            arms of different horizons are subtracted (days; at most the shorter arm's horizon).
    """

    name: str = ""
    metric: str = ""
    arm: str = "treated"
    minus: str | None = None
    censored: bool = False
    horizon_days: float | None = None

    def __post_init__(self) -> None:
        require(isinstance(self.name, str) and self.name != "" and isinstance(self.metric, str) and self.metric != "",
                f"sensitivity.outputs: every entry needs a name and a metric, got {self.name!r}, {self.metric!r}")
        if self.horizon_days is not None:
            where = f"sensitivity.outputs[{self.name}].horizon_days = {self.horizon_days}"
            require(self.censored and float(self.horizon_days) > 0, f"{where}: needs censored: true and > 0")

    def arms(self) -> list[str]:
        return [self.arm] if self.minus is None else [self.arm, self.minus]


@dataclass
class StudySpec:
    """A sensitivity study.

    Attributes:
        name: label of the study (folder names, report title).
        method: `morris` (screening: mu*, sigma) or `sobol` (first-order S1 and total ST indices).
        n: Morris: number of trajectories r; Sobol: base sample size N (a power of 2).
            Model rows: r (k + 1) for Morris, N (k + 2) for Sobol, with k parameters (dummy included).
        replicates: seeds per row; the analysed output is the replicate mean.
        seed: root seed: samples, per-replicate seeds and the bootstrap all derive from it.
        crn: common random numbers: replicate r of every row uses the same seed. Otherwise each (row, replicate)
            gets its own seed, `task_seeds(seed, rows x replicates)[row x replicates + r]`.
        dummy: add a parameter the model ignores (its index is the estimator's noise floor).
        num_levels: Morris grid levels (even; SALib default 4).
        conf_level: confidence level of the bootstrap intervals.
        bootstrap_resamples: SALib bootstrap resamples per index.
        rows_per_task: model rows evaluated per parallel task and stored per file (1 for woundsim; larger for a
            cheap test function, where one file per evaluation would cost more than the evaluation).
        parameters: the uncertain inputs.
        outputs: the analysed outputs.
    """

    name: str = "study"
    method: str = "morris"
    n: int = 8
    replicates: int = 2
    seed: int = 0
    crn: bool = True
    dummy: bool = False
    num_levels: int = 4
    conf_level: float = 0.95
    bootstrap_resamples: int = 1000
    rows_per_task: int = 1
    parameters: list[ParameterSpec] = field(default_factory=list)
    outputs: list[OutputSpec] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.parameters = [p if isinstance(p, ParameterSpec) else ParameterSpec(**p) for p in self.parameters]
        self.outputs = [o if isinstance(o, OutputSpec) else OutputSpec(**o) for o in self.outputs]
        require(self.method in METHODS,
                f"sensitivity.method = {self.method!r} is unknown; allowed {', '.join(METHODS)}")
        _require_int("sensitivity.n", self.n, 2, 1_000_000)
        if self.method == "sobol":
            require(self.n & (self.n - 1) == 0, f"sensitivity.n = {self.n}: Sobol needs a power of 2 (e.g. 64, 128)")
        _require_int("sensitivity.replicates", self.replicates, 1, 10_000)
        _require_int("sensitivity.seed", self.seed, 0, 2**63 - 1)
        _require_int("sensitivity.num_levels", self.num_levels, 2, 100)
        require(self.num_levels % 2 == 0, f"sensitivity.num_levels = {self.num_levels} must be even")
        require(0.5 <= float(self.conf_level) < 1.0, f"sensitivity.conf_level = {self.conf_level} must be in [0.5, 1)")
        _require_int("sensitivity.bootstrap_resamples", self.bootstrap_resamples, 10, 1_000_000)
        _require_int("sensitivity.rows_per_task", self.rows_per_task, 1, 1_000_000)
        names = [p.name for p in self.parameters]
        require(len(names) >= 2, f"sensitivity.parameters has {len(names)} entries; a study needs at least 2")
        require(len(set(names)) == len(names), f"sensitivity.parameters names a parameter twice: {_dupes(names)}")
        require(DUMMY not in names, f"sensitivity.parameters: {DUMMY!r} is reserved; set sensitivity.dummy=true")
        outs = [o.name for o in self.outputs]
        require(len(outs) >= 1, "sensitivity.outputs is empty; name at least one output")
        require(len(set(outs)) == len(outs), f"sensitivity.outputs names an output twice: {_dupes(outs)}")

    def all_parameters(self) -> list[ParameterSpec]:
        """The parameters as sampled: the study's, then the dummy if asked for."""
        return self.parameters + ([ParameterSpec(DUMMY, [0.0, 1.0])] if self.dummy else [])

    def arms(self) -> list[str]:
        """Arms the outputs need, in first-use order."""
        return list(dict.fromkeys(arm for o in self.outputs for arm in o.arms()))

    def n_rows(self) -> int:
        """Model rows of the design (before replicates and arms)."""
        k = len(self.all_parameters())
        return self.n * (k + 1) if self.method == "morris" else self.n * (k + 2)

    def to_dict(self) -> dict:
        return asdict(self)


def _require_int(name: str, value: Any, low: int, high: int) -> None:
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool) and low <= value <= high
    require(ok, f"{name} = {value!r} must be an integer in [{low}, {high}]")


def _dupes(names: list[str]) -> list[str]:
    return sorted({n for n in names if names.count(n) > 1})
