"""Structured configs for Hydra, and their conversion to the plain objects the model takes.

Only entry points (woundsim.cli, experiments/) import Hydra; this module uses OmegaConf alone to
register schemas and to turn a composed config into `ModelParams`, `Patient`, `Treatment`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from woundsim.errors import InputError
from woundsim.parallel import ParallelConfig
from woundsim.params import ModelParams, validate_horizon_weeks, with_horizon
from woundsim.patient import CohortSpec, Patient
from woundsim.treatment import Treatment, validate_treatment
from woundsim.units import weeks_to_days


@dataclass
class RunConf:
    """What one run does beyond the model: seed, horizon, snapshots, name."""

    name: str = "patient"
    seed: int = 0
    horizon_weeks: float | None = None  # None: model.numerics.horizon_weeks, else the policy (params.with_horizon:
    #                                     12 weeks with injections, 20 weeks for standard care alone)
    snapshot_days: list[float] = field(default_factory=lambda: [0.0, 7.0, 14.0, 28.0])
    replicates: int = 1  # seeds per scenario (derived from `seed` by SeedSequence)
    progress: bool | None = None  # None: a progress bar only on runs longer than a few seconds
    figures: bool = True


@dataclass
class WoundsimConf:
    """The whole `woundsim run` config: groups patient, treatment, model, grid (into model.numerics), run."""

    patient: Patient = field(default_factory=Patient)  # conf/patient/*.yaml
    treatment: Treatment = field(default_factory=Treatment)  # conf/treatment/*.yaml
    model: ModelParams = field(default_factory=ModelParams)
    run: RunConf = field(default_factory=RunConf)
    cohort: Any = None  # optional CohortSpec options (conf/cohort/*.yaml) for cohort studies
    parallel: Any = None  # optional ParallelConfig (conf/parallel/*.yaml)


def register_configs() -> None:
    """Register the schemas in Hydra's ConfigStore (called by entry points before composing)."""
    from hydra.core.config_store import ConfigStore

    cs = ConfigStore.instance()
    cs.store(name="woundsim_schema", node=WoundsimConf)


def to_objects(cfg: DictConfig | dict) -> tuple[ModelParams, Patient, Treatment, RunConf]:
    """Turn a composed config into the model's plain objects, validating every value.

    Raises:
        InputError: one line naming the first bad parameter.
    """
    try:
        if not isinstance(cfg, DictConfig):
            cfg = OmegaConf.merge(OmegaConf.structured(WoundsimConf), cfg)
        data = OmegaConf.to_container(cfg, resolve=True)
    except OmegaConfBaseException as exc:
        raise InputError(str(exc).splitlines()[0]) from None
    params = _update(ModelParams(), data.get("model") or {})
    run = _build(RunConf, data, "run")
    treatment = _build(Treatment, data, "treatment")
    if run.horizon_weeks is not None:
        validate_horizon_weeks(run.horizon_weeks, "run.horizon_weeks")
    elif params.numerics.horizon_weeks is not None:
        validate_horizon_weeks(params.numerics.horizon_weeks)
    params = with_horizon(params, treatment.injects, run.horizon_weeks)  # the policy simulate() follows too
    validate_treatment(treatment, weeks_to_days(params.numerics.horizon_weeks), dt_h=params.numerics.dt_agent_h)
    patient = _build(Patient, data, "patient")
    return params, patient, treatment, run


def _build(kind: type, data: dict, group: str) -> Any:
    """`kind(**data[group])`, refusing keys it does not have (e.g. added with `+patient.x=...`) in one line."""
    values = data.get(group) or {}
    names = [f.name for f in dataclasses.fields(kind)]
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise InputError(f"{group} has no key {', '.join(f'{group}.{k}' for k in unknown)}; allowed "
                         f"{', '.join(names)} (drop the + override, or check the spelling)")
    return kind(**values)


CONF_DIR = Path(__file__).resolve().parents[1] / "conf"


def named_option(group: str, name: str, conf_dir: Path | None = None) -> dict:
    """The values of the option conf/<group>/<name>.yaml (e.g. "model", "calibrated"), as a dict.

    The one loader of config options: `woundsim run`'s defaults below, the regression cases, the calibration's
    arms and the page all read options through it.

    Args:
        group: the config group (a folder of conf/).
        name: the option (a file of that folder, without `.yaml`).
        conf_dir: the conf/ folder (default: the repository's, `CONF_DIR`).

    Raises:
        InputError: the option does not exist (the message lists those that do).
    """
    folder = (Path(conf_dir) if conf_dir is not None else CONF_DIR) / group
    path = folder / f"{name}.yaml"
    if not name or not path.is_file():
        have = sorted(q.stem for q in folder.glob("*.yaml"))
        raise InputError(f"{group}={name} not found in {folder}; allowed {', '.join(have)}")
    return yaml.safe_load(path.read_text()) or {}


def named_params(name: str = "calibrated", grid: str = "default") -> ModelParams:
    """The named parameter set at a named grid, as `woundsim run model=<name> grid=<grid>` composes them.

    Args:
        name: conf/model/<name>.yaml ("calibrated": the calibration's weighted posterior medians on top of the
            defaults; "default": the prior centres).
        grid: conf/grid/<grid>.yaml, the resolution ("default" 100 µm, "coarse" 200 µm, "fine" 50 µm).
            The calibration was fitted at 200 µm (docs/calibration.md, "Resolution").
    """
    params = _update(ModelParams(), named_option("model", name))
    return _update(params, {"numerics": named_option("grid", grid)})


def named_patient(name: str = "default") -> Patient:
    """The patient conf/patient/<name>.yaml (`woundsim run patient=<name>`; "default": 2 cm² Texas IIA)."""
    return Patient(**named_option("patient", name))


def named_treatment(name: str = "hucmscd_trial") -> Treatment:
    """The regimen conf/treatment/<name>.yaml (`woundsim run treatment=<name>`; "hucmscd_trial": the seed
    trial's mixture weekly x4 with the calibrated dose, what `woundsim run` gives by default)."""
    return Treatment(**named_option("treatment", name))


def cohort_from(cfg: DictConfig | dict | None) -> CohortSpec:
    """A CohortSpec from a conf/cohort option (raises InputError on unknown keys)."""
    data = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg or {})
    known = {f.name for f in dataclasses.fields(CohortSpec)}
    unknown = set(data) - known
    if unknown:
        raise InputError(f"cohort has unknown keys {sorted(unknown)}; allowed {sorted(known)}")
    return CohortSpec(**data)


def parallel_from(node: DictConfig | dict | None, default: ParallelConfig | None = None) -> ParallelConfig:
    """A ParallelConfig from a conf/parallel option (`default`, or loky on all cores, when there is none).

    Raises:
        InputError: an unknown key (e.g. a misspelt `parallel.n_jobs` on the command line).
    """
    if node is None:
        return default if default is not None else ParallelConfig()
    data = OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else dict(node)
    try:
        return ParallelConfig(**data)
    except TypeError as exc:
        raise InputError(f"parallel: {exc}") from None


def _update(instance: Any, data: dict) -> Any:
    """Copy of the dataclass `instance` with the nested values of `data` applied."""
    names = {f.name for f in dataclasses.fields(instance)}
    unknown = set(data) - names
    if unknown:
        raise InputError(f"unknown {type(instance).__name__} keys {sorted(unknown)}; allowed {sorted(names)}")
    changes = {}
    for key, value in data.items():
        current = getattr(instance, key)
        changes[key] = _update(current, value) if dataclasses.is_dataclass(current) else value
    return dataclasses.replace(instance, **changes)
