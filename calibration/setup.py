"""A calibration problem built from its config (conf/calibration/*.yaml): cohorts, base model, priors.

`load_setup(config)` turns the plain config mapping into a `CalibrationSetup` holding only plain
objects (ModelParams, CohortSpec, Treatment, RunIn, FreeParameter, Target), so the model function that pyabc
calls is picklable and never sees a DictConfig.

The standard-care arm is a control population enrolled as the pivotal trials enrolled it: its candidates go
through the virtual trial's run-in (`soc.runin`; `woundsim.trial.pools.PoolSpec` and `candidate_row`), the
same screening as the feasibility studies'. The trial arm has no run-in (`woundsim.cohort.patient_outcome`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from calibration.distance import Target, targets_from_config
from calibration.priors import FreeParameter, natural_values, parameters_from_config
from woundsim.cohort import patient_outcome, sample_patients
from woundsim.config import CONF_DIR, cohort_from, named_option
from woundsim.errors import InputError, require
from woundsim.params import (RETIRED_PARAMETERS, ModelParams, policy_horizon_weeks, validate, validate_horizon_weeks,
                             with_horizon, with_overrides)
from woundsim.patient import CohortSpec, Patient
from woundsim.posterior import posterior_metadata
from woundsim.seeds import particle_seeds, task_seeds
from woundsim.treatment import Treatment, standard_care
from woundsim.trial.pools import PoolSpec, RunIn, candidate_row
from woundsim.units import weeks_to_days

_NUMERICS = ("dx_um", "dt_agent_h", "dt_field_h", "margin_mm")
TRIAL_COHORT = "trial.cohort."  # free parameters of the seed trial's population and care (CohortSpec fields)


@dataclass
class ArmSetup:
    """One simulated arm: who (cohort spec), how many, what treatment, how long.

    Attributes:
        spec: cohort specification the patients are drawn from.
        n_patients: patients per simulated cohort (with a run-in: candidates screened).
        treatment: regimen (standard care alone for the natural-history arm).
        horizon_weeks: simulated horizon before the 2-week confirmation window (weeks; with a run-in, after
            randomisation).
        visit_interval_days: days between assessment visits (0: exact closure day).
        runin: the run-in its candidates are screened through (`woundsim.trial.pools.RunIn`: the standard-care
            arm's); None: no run-in (the trial arm).
    """

    spec: CohortSpec
    n_patients: int
    treatment: Treatment
    horizon_weeks: float
    visit_interval_days: float = 0.0
    runin: RunIn | None = None


@dataclass
class ArmRun:
    """One arm of the calibration as the fit simulated it for one particle: parameters, regimen, patients, seeds.

    Attributes:
        params: model parameters (the particle's values on the base, the arm's horizon).
        treatment: the arm's regimen (the particle's `treatment.*` values on the trial regimen).
        patients: the arm's patients (`woundsim.cohort.sample_patients(spec, n, seed)`; with a run-in the
            candidates screened, `screening`'s).
        seeds: patient i's run seed (`woundsim.seeds.task_seeds(seed, n)[i]`; with a run-in `screening`'s).
        visit_interval_days: days between assessment visits of the arm's statistics.
        screening: the run-in screening of the candidates (`woundsim.trial.pools.PoolSpec`); None: no run-in.
    """

    params: ModelParams
    treatment: Treatment
    patients: list[Patient]
    seeds: list[int]
    visit_interval_days: float
    screening: PoolSpec | None = None

    def tasks(self) -> list[tuple]:
        """The per-patient tasks of `outcome`, in patient order: `woundsim.cohort.patient_outcome`'s, or with a
        run-in `woundsim.trial.pools.candidate_row`'s (`PoolSpec.tasks`)."""
        if self.screening is not None:
            return self.screening.tasks()
        return [(self.params, p, self.treatment, s) for p, s in zip(self.patients, self.seeds)]

    def outcome(self, task: tuple) -> dict:
        """One patient's row: a screened candidate's (`candidate_row`: `eligible`, outcomes from randomisation)
        or, without a run-in, `patient_outcome`'s."""
        return candidate_row(task) if self.screening is not None else patient_outcome(task)

    def rows(self) -> pd.DataFrame:
        """Every patient's row, in patient order (simulated here, one after another)."""
        return pd.DataFrame([self.outcome(task) for task in self.tasks()])


@dataclass
class CalibrationSetup:
    """Everything the model function needs, as plain objects."""

    name: str
    seed: int
    base: ModelParams
    trial: ArmSetup
    soc: ArmSetup
    parameters: list[FreeParameter]
    targets: list[Target]
    options: dict[str, Any] = field(default_factory=dict)  # method; abc, sampler, distance, check, history_matching

    def trial_arm(self, natural: Mapping[str, float]) -> ArmSetup:
        """The trial arm at natural parameter values {target: value}: its cohort spec with the `trial.cohort.*`
        values applied (the seed trial's unpublished population and care, nuisance quantities as its dose is;
        `TRIAL_COHORT`), or the arm itself when there are none.

        Raises:
            InputError: an unknown or non-numeric cohort field, or a value the cohort spec refuses.
        """
        cohort = {k[len(TRIAL_COHORT):]: float(v) for k, v in natural.items() if k.startswith(TRIAL_COHORT)}
        if not cohort:
            return self.trial
        spec = self.trial.spec
        numeric = {f.name for f in dataclasses.fields(spec) if isinstance(getattr(spec, f.name), (int, float))}
        unknown = set(cohort) - numeric
        require(not unknown, f"calibration.parameters: unknown numeric seed-trial cohort fields {sorted(unknown)}; "
                             f"allowed {sorted(numeric)}")
        try:
            spec = dataclasses.replace(spec, **cohort)
        except InputError as exc:
            raise InputError(f"calibration.parameters ({TRIAL_COHORT}*): {exc}") from None
        return dataclasses.replace(self.trial, spec=spec)

    def arm_objects(self, natural: Mapping[str, float]) -> tuple[ModelParams, Treatment, ModelParams]:
        """(trial params, trial treatment, standard-care params) at natural parameter values {target: value}
        (the `trial.cohort.*` values act on the trial arm's patients: `trial_arm`).

        Version 1's recurrence targets (`woundsim.params.RETIRED_PARAMETERS`, only in a version-1 posterior's
        setup: `load_setup` refuses them) are not applied: their values still seed the particle's patients."""
        model = {k[len("model."):]: v for k, v in natural.items()
                 if k.startswith("model.") and k[len("model."):] not in RETIRED_PARAMETERS}
        treat = {k[len("treatment."):]: v for k, v in natural.items() if k.startswith("treatment.")}
        params = with_overrides(self.base, model)
        known = {f.name for f in dataclasses.fields(Treatment)}
        unknown = set(treat) - known
        require(not unknown, f"calibration.parameters: unknown treatment fields {sorted(unknown)}; allowed {sorted(known)}")
        treatment = dataclasses.replace(self.trial.treatment, **treat)
        return (with_horizon(params, treatment.injects, self.trial.horizon_weeks), treatment,
                with_horizon(params, self.soc.treatment.injects, self.soc.horizon_weeks))


    def arms(self, particle: Mapping[str, float]) -> dict[str, ArmRun]:
        """The calibration's arms for one particle, as the fit simulated them ({"trial": ..., "soc": ...}).

        A particle's patients and seeds are a function of the calibration seed and its ABC-space values
        (`woundsim.seeds.particle_seeds`), so this rebuilds exactly the patients its distance was computed on.

        Args:
            particle: the particle's ABC-space values by key (pyabc's parameter), or a row of the posterior file
                or of `woundsim.posterior.draw_particles` (its `abc.<key>` columns).
        """
        keys = [p.key for p in self.parameters]
        row = dict(particle)
        pars = {k: float(row[f"abc.{k}"] if f"abc.{k}" in row else row[k]) for k in keys if k in row or f"abc.{k}" in row}
        missing = sorted(set(keys) - set(pars))
        require(not missing, f"particle lacks the ABC-space values of {missing}; give {{key: value}} or abc.<key> columns")
        natural = natural_values(self.parameters, pars)
        trial_params, treatment, soc_params = self.arm_objects(natural)
        trial_seed, soc_seed = particle_seeds(self.seed, pars)
        return {"trial": arm_run(self.trial_arm(natural), trial_params, treatment, trial_seed),
                "soc": arm_run(self.soc, soc_params, self.soc.treatment, soc_seed)}


def arm_run(arm: ArmSetup, params: ModelParams, treatment: Treatment, seed: int) -> ArmRun:
    """The patients and seeds of one arm: those `simulate_cohort(arm.spec, n, treatment, params, seed=seed)` would
    simulate, or with a run-in the candidates of the virtual trial's screening pool
    `PoolSpec(params, arm.spec, treatment, n, seed, arm.runin, followup)`, followed for the arm's horizon plus the
    confirmation window after randomisation."""
    if arm.runin is None:
        return ArmRun(params, treatment, sample_patients(arm.spec, arm.n_patients, seed),
                      [int(s) for s in task_seeds(seed, arm.n_patients)], arm.visit_interval_days)
    followup = weeks_to_days(arm.horizon_weeks + params.numerics.confirm_weeks)
    pool = PoolSpec(params, arm.spec, treatment, arm.n_patients, seed, arm.runin, followup)
    screened = [(patient, run_seed) for _, patient, _, run_seed, _, _ in pool.tasks()]
    return ArmRun(params, treatment, [p for p, _ in screened], [s for _, s in screened], arm.visit_interval_days,
                  pool)


def posterior_setup(path: str | Path | None = None) -> CalibrationSetup:
    """The calibration problem an installed posterior was fitted on (for `CalibrationSetup.arms` of its particles).

    The posterior file's metadata hold the calibration's config (files written before it did name the
    calibration; its conf/calibration/<name>.yaml is read then, which must not have changed since). A posterior
    whose config has no `soc.runin`, or that carries none, was fitted before the standard-care arm was screened
    through a run-in: its standard-care arm is rebuilt without one, as it was simulated.

    Args:
        path: posterior Parquet file (default conf/model/calibrated_posterior.parquet).
    """
    meta = posterior_metadata(path)
    stored = meta.get("config")
    config = dict(stored or named_option("calibration", str(meta.get("calibration", ""))))
    before_runin = not stored or "runin" not in (stored.get("soc") or {})
    if "soc" in config:  # a run-in to parse; dropped below when the fit had none
        config["soc"] = {"runin": {}, **config["soc"]}
    setup = load_setup(config)
    if before_runin:
        setup.soc = dataclasses.replace(setup.soc, runin=None)
    if meta.get("parameters"):  # the free parameters it was fitted on (a config read by name may have changed)
        setup.parameters = [FreeParameter(**p) for p in meta["parameters"]]
    return setup


def load_setup(config: Mapping[str, Any], conf_dir: Path = CONF_DIR) -> CalibrationSetup:
    """Build the calibration problem from a `calibration` config mapping.

    Args:
        config: the composed `calibration` node (conf/calibration/*.yaml) as plain containers.
        conf_dir: the repository's conf/ folder (cohort, treatment and model options are read there).

    Raises:
        InputError: a missing or unknown option, or a value out of range.
    """
    c = dict(config)
    known = {"name", "seed", "base_model", "grid", "trial", "soc", "parameters", "free", "targets", "distance", "abc",
             "sampler", "check", "method", "history_matching"}
    unknown = set(c) - known
    require(not unknown, f"calibration config has unknown keys {sorted(unknown)}; allowed {sorted(known)}")
    for key in ("name", "trial", "soc", "parameters", "targets"):
        require(key in c, f"calibration config lacks {key!r}")
    base = with_overrides(ModelParams(), dotted(named_option("model", c.get("base_model", "default"), conf_dir)))
    grid = dict(c.get("grid") or {})
    unknown = set(grid) - set(_NUMERICS)
    require(not unknown, f"calibration.grid has unknown keys {sorted(unknown)}; allowed {list(_NUMERICS)}")
    # simulate() never syncs the Mesa mirror; 0 keeps validate() quiet when dt_agent_h > 1 h
    base = with_overrides(base, {"numerics.mesa_sync_hours": 0.0, **{f"numerics.{k}": float(v) for k, v in grid.items()}})
    validate(base)
    setup = CalibrationSetup(
        name=str(c["name"]), seed=int(c.get("seed", 0)), base=base,
        trial=_arm(conf_dir, c["trial"], "trial"), soc=_arm(conf_dir, c["soc"], "soc", screened=True),
        parameters=_free(parameters_from_config(c["parameters"]), c.get("free")), targets=targets_from_config(c["targets"]),
        options={"method": str(c.get("method") or "abc_smc"),
                 **{k: c.get(k) or {} for k in ("abc", "sampler", "distance", "check", "history_matching")}})
    require(setup.soc.treatment.product == "none", "calibration.soc.treatment must be standard_care")
    require(setup.soc.horizon_weeks >= 20, f"calibration.soc.horizon_weeks = {setup.soc.horizon_weeks} must be "
                                           ">= 20 (closure by week 20 is a target)")
    retired = [p.key for p in setup.parameters if p.target.removeprefix("model.") in RETIRED_PARAMETERS]
    require(not retired, f"calibration.parameters {retired} set version 1's recurrence (retired: "
                         f"{', '.join(RETIRED_PARAMETERS)}); use model.recurrence.reference_risk_12m, same_site_share, ...")
    setup.arm_objects({p.target: p.interval(0.5)[0] for p in setup.parameters})  # names and ranges check
    for level in (0, 1):  # the seed trial's cohort at both ends of its priors (a beta's mean has a bound)
        setup.trial_arm({p.target: p.interval(0.9999)[level] for p in setup.parameters if p.target.startswith(TRIAL_COHORT)})
    return setup


def _free(parameters: list[FreeParameter], free: list[str] | None) -> list[FreeParameter]:
    """The parameters named in `free` (all when None), in config order."""
    if free is None:
        return parameters
    keys = [p.key for p in parameters]
    unknown = set(free) - set(keys)
    require(not unknown, f"calibration.free names unknown parameters {sorted(unknown)}; allowed {keys}")
    require(len(free) > 0, "calibration.free is empty; need at least one free parameter (or null for all)")
    return [p for p in parameters if p.key in set(free)]


def _arm(conf_dir: Path, arm: Mapping[str, Any], label: str, screened: bool = False) -> ArmSetup:
    """One arm's config; `screened`: its candidates go through `runin` (required), else it has none."""
    arm = dict(arm)
    allowed = {"cohort", "cohort_overrides", "treatment", "n_patients", "horizon_weeks", "visit_interval_days",
               *(["runin"] if screened else [])}
    unknown = set(arm) - allowed
    require(not unknown, f"calibration.{label} has unknown keys {sorted(unknown)}; allowed {sorted(allowed)}")
    spec = cohort_from({**named_option("cohort", arm.get("cohort", ""), conf_dir), **(arm.get("cohort_overrides") or {})})
    treat = named_option("treatment", arm.get("treatment", "standard_care"), conf_dir)
    treatment = Treatment(**treat) if treat else standard_care()
    n = int(arm.get("n_patients", 0))
    require(n >= 1, f"calibration.{label}.n_patients = {n} must be >= 1")
    visit = float(arm.get("visit_interval_days", 0.0))
    require(visit >= 0, f"calibration.{label}.visit_interval_days = {visit} must be >= 0 (days)")
    horizon = arm.get("horizon_weeks", policy_horizon_weeks(treatment.injects))
    validate_horizon_weeks(horizon, f"calibration.{label}.horizon_weeks")
    runin = _runin(arm.get("runin"), f"calibration.{label}.runin") if screened else None
    return ArmSetup(spec, n, treatment, float(horizon), visit, runin)


def _runin(value: Any, where: str) -> RunIn:
    """The run-in of `{days, max_shrink_fraction}` (either may be left at `RunIn`'s 14 d / 0.30)."""
    require(isinstance(value, Mapping), f"{where} = {value!r}; give {{days: 14, max_shrink_fraction: 0.30}} "
                                        "(the pivotal trials' run-in)")
    unknown = set(value) - {"days", "max_shrink_fraction"}
    require(not unknown, f"{where} has unknown keys {sorted(unknown)}; allowed days, max_shrink_fraction")
    try:
        return RunIn(**value)
    except InputError as exc:
        raise InputError(f"{where}.{str(exc).removeprefix('runin.')}") from None


def dotted(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten a nested mapping to dotted names: {"a": {"b": 1}} -> {"a.b": 1}."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(dotted(value, name + "."))
        else:
            out[name] = value
    return out

