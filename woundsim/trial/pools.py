"""Simulated patient pools for the virtual trial: one pool per arm and parameter draw, cached on disk.

A pool is the per-patient summary table (docs/ARCHITECTURE.md keys) of `n_candidates` screened patients
of a cohort under one arm's treatment. Trials are then resampled from the pools (woundsim.trial.power).

Run-in, simulated as part of each patient's run. Candidate i is simulated once (`woundsim.simulate.simulate`,
seed `task_seeds(run_seed, n)[i]`), under standard care for `runin.days`: the treatment schedule is
shifted by the run-in, so nothing is injected before randomisation. At the end of the run-in the open
area is compared with the screening area: a patient whose ulcer shrank by more than
`runin.max_shrink_fraction`, or closed, is excluded (as pivotal DFU trials did) and its run stops there;
an eligible patient's same run continues through the trial. Outcomes are re-based to randomisation
(day 0 = end of the run-in): closure days, PAR at week 4 against the randomisation area, closure by
weeks 12 and 20, the horizon. Both arms of a design inject at the same sites, and a placebo injects
nothing, so up to randomisation the two arms' runs of a candidate are identical (same patient, same
seed, same random numbers): the same candidates are excluded in both arms and the arms differ only by
the treatment from randomisation on (common random numbers).

The run is `woundsim.simulate.simulate`'s, like every other study's; its `stop_after_day` hook ends the run
of an excluded patient at the end of the run-in. With no run-in the rows equal
`woundsim.cohort.simulate_patients`' (checked in tests/test_trial_design.py).

Caching. A pool is stored under `<cache_dir>/<key>/` with `key = config_hash` of its full configuration
(parameters, cohort, treatment, candidates, seeds, run-in, horizon), of the simulation's code key
(`woundsim.codekey.code_key`: a changed model recomputes into a new folder) and of `POOL_FORMAT` (bumped when this module changes what a row holds). Each
finished patient is written at once (`woundsim.store.ResultStore`), so an interrupted build resumes; the
finished pool is gathered into `pool.parquet`, which later builds read instead of simulating.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from woundsim.codekey import bind_store, code_key
from woundsim import endpoints
from woundsim.cohort import sample_patients
from woundsim.errors import InputError, require, require_range
from woundsim.kernel_notice import announce_compiling, mark_compiled
from woundsim.parallel import ParallelConfig, map_tasks
from woundsim.params import ModelParams, flatten, with_overrides
from woundsim.patient import CohortSpec
from woundsim.seeds import pool_seeds, task_seeds
from woundsim.store import ResultStore, config_hash, report_resume
from woundsim.tables import read_parquet
from woundsim.treatment import Treatment
from woundsim.units import days_to_weeks, weeks_to_days

POOL_FORMAT = 1  # bump when `candidate_row` / `rebase_summary` change what a row holds


def __getattr__(name: str):
    if name == "closed_by":
        raise ImportError("woundsim.trial.pools.closed_by moved to woundsim.endpoints.closed_by_table")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class RunIn:
    """Standard-care run-in before randomisation.

    Args:
        days: run-in length (d); 0 = no run-in. Whole days.
        max_shrink_fraction: exclude ulcers whose area fell by more than this fraction during the run-in
            (0.3 = 30%, as in the Apligraf and Dermagraft pivotal trials); 1 keeps all open ulcers.
    """

    days: float = 14.0
    max_shrink_fraction: float = 0.30

    def __post_init__(self) -> None:
        require_range("runin.days", self.days, 0.0, 56.0, unit="d")
        require(float(self.days).is_integer(), f"runin.days = {self.days} must be a whole number of days")
        require_range("runin.max_shrink_fraction", self.max_shrink_fraction, 0.0, 1.0)


def runin_eligible(screening_area_cm2: Any, randomisation_area_cm2: Any, runin: RunIn) -> np.ndarray:
    """Which patients pass the run-in: still open, and shrunk by at most `runin.max_shrink_fraction`.

    Args:
        screening_area_cm2: open area at screening (cm²), > 0.
        randomisation_area_cm2: open area at the end of the run-in (cm²).
        runin: the run-in rule.
    """
    a0 = np.asarray(screening_area_cm2, dtype=float)
    ar = np.asarray(randomisation_area_cm2, dtype=float)
    require(bool(np.all(a0 > 0)), "screening areas must be > 0 cm²")
    return (ar > 0) & (1.0 - ar / a0 <= runin.max_shrink_fraction + 1e-12)


@dataclass(frozen=True)
class PoolSpec:
    """Everything that determines one arm's pool.

    Args:
        params: model parameters (one draw); the horizon is set from `followup_days`.
        cohort: the screened population.
        treatment: the arm's regimen, schedule in days after randomisation.
        n_candidates: patients screened.
        seed: pool seed; patients come from `sample_patients(cohort, n, child 0)` and run i from
            `task_seeds(child 1, n)[i]` (children of SeedSequence(seed)). Arms of one draw share it.
        runin: the run-in.
        followup_days: days simulated after randomisation (d); at least the trial's follow-up.
    """

    params: ModelParams
    cohort: CohortSpec
    treatment: Treatment
    n_candidates: int
    seed: int
    runin: RunIn = RunIn()
    followup_days: float = 98.0

    def __post_init__(self) -> None:
        require(isinstance(self.n_candidates, int) and self.n_candidates >= 1,
                f"pool n_candidates = {self.n_candidates!r}; allowed integer >= 1")
        require(isinstance(self.seed, (int, np.integer)) and self.seed >= 0, "pool seed must be an integer >= 0")
        confirm_days = weeks_to_days(self.params.numerics.confirm_weeks)
        last = max(self.treatment.schedule_days, default=0.0)
        require_range("followup_days", self.followup_days, max(confirm_days + 1.0, last + confirm_days), 700.0,
                      unit="d (the last injection and the closure confirmation window must fit)")

    def model_params(self) -> ModelParams:
        """Parameters with the horizon covering run-in + follow-up (the model adds the confirmation window)."""
        weeks = days_to_weeks(self.runin.days + self.followup_days) - self.params.numerics.confirm_weeks
        return with_overrides(self.params, {"numerics.horizon_weeks": weeks, "numerics.mesa_sync_hours": 0.0})

    def shifted_treatment(self) -> Treatment:
        """The arm's treatment with its schedule moved past the run-in."""
        return dataclasses.replace(self.treatment,
                                   schedule_days=[d + self.runin.days for d in self.treatment.schedule_days])

    def key(self) -> str:
        """Cache key: hash of the full configuration and of the simulation code."""
        return config_hash({"format": POOL_FORMAT, "params": flatten(self.model_params()), "cohort": self.cohort,
                            "treatment": self.shifted_treatment(), "n_candidates": self.n_candidates,
                            "seed": int(self.seed), "runin": self.runin, "followup_days": float(self.followup_days),
                            "code": code_key()})

    def seeds(self) -> tuple[int, int]:
        """(cohort seed, run seed): `woundsim.seeds.pool_seeds` (children 0 and 1 of SeedSequence(seed))."""
        return pool_seeds(self.seed)

    def tasks(self) -> list[tuple]:
        """One picklable task per candidate for `candidate_row`."""
        cohort_seed, run_seed = self.seeds()
        patients = sample_patients(self.cohort, self.n_candidates, cohort_seed)
        seeds = task_seeds(run_seed, self.n_candidates)
        params, treatment = self.model_params(), self.shifted_treatment()
        return [(params, p, treatment, int(s), self.runin, i) for i, (p, s) in enumerate(zip(patients, seeds))]


def candidate_row(task: tuple) -> dict:
    """Screen one candidate through the run-in and, if eligible, simulate the trial (a picklable task).

    One `simulate()` run per candidate: it stops at the end of the run-in when the run-in excludes the
    patient (`stop_after_day`), and otherwise goes on through the trial.

    Returns:
        the patient's attributes, `candidate`, `seed`, `screening_area_cm2`, `randomisation_area_cm2`,
        `runin_par_pct`, `eligible`, and for eligible patients the summary re-based to randomisation.
    """
    from woundsim.simulate import simulate

    params, patient, treatment, seed, runin, index = task

    def excluded_by_runin(records: list[dict]) -> bool:
        if records[-1]["day"] != float(runin.days):
            return False
        return not runin_eligible([records[0]["open_area_cm2"]], [records[-1]["open_area_cm2"]], runin)[0]

    result = simulate(params, patient, treatment, seed=seed, stop_after_day=excluded_by_runin)
    ts = result.timeseries
    areas = {round(day, 6): area for day, area in zip(ts["day"].tolist(), ts["open_area_cm2"].tolist())}
    a0, ar = areas[0.0], areas.get(float(runin.days), 0.0)
    ok = bool(runin_eligible([a0], [ar], runin)[0])
    row = {"candidate": int(index), **patient.to_dict(), "seed": int(seed), "screening_area_cm2": a0,
           "randomisation_area_cm2": ar, "runin_par_pct": 100.0 * (1.0 - ar / a0), "eligible": ok}
    if not ok:
        return row
    confirm_days = weeks_to_days(params.numerics.confirm_weeks)
    return {**row, **rebase_summary(result.summary, ts, runin.days, confirm_days)}


def rebase_summary(summary: dict, timeseries: pd.DataFrame, runin_days: float, confirm_days: float = 14.0) -> dict:
    """A run's summary with day 0 moved to randomisation (end of the run-in).

    `horizon_days` becomes the last simulated day after randomisation (the model's horizon plus its
    confirmation window, less the run-in): the observation model censors visits after it.

    Args:
        summary: `woundsim.summary.summarise` output of the whole run (days from screening).
        timeseries: the run's daily series (`day`, `open_area_cm2`).
        runin_days: run-in length (d).
        confirm_days: closure confirmation window (d).
    """
    r = float(runin_days)
    days = timeseries["day"].to_numpy(float)
    area = timeseries["open_area_cm2"].to_numpy(float)
    a_r = dict(zip(np.round(days, 6), area))[r]
    first, confirmed = summary["first_closure_day"] - r, summary["confirmed_closure_day"] - r
    is_conf = math.isfinite(confirmed)
    horizon = summary["horizon_days"] + confirm_days - r
    followed_to = summary["horizon_days"] - r  # the last day whose closure the run could confirm
    par4 = endpoints.par_at(days - r, endpoints.par_pct(area, a_r), endpoints.PAR_DAY, is_conf)
    after = days >= r - 1e-9  # visits count from randomisation
    seen, seen_confirmed = endpoints.visit_read_closure(days[after] - r, area[after], confirm_days,
                                                        closed_after_end=is_conf)
    return {**summary, "initial_area_cm2": a_r, "first_closure_day": first, "confirmed_closure_day": confirmed,
            "time_to_closure_days": first if is_conf else math.nan,
            "visit_closure_day": seen, "visit_confirmed_day": seen_confirmed,
            "closed_by_week12": endpoints.closed_by(endpoints.PRIMARY_DAY, seen, seen == seen, followed_to),
            "closed_by_week20": endpoints.closed_by(endpoints.SECONDARY_DAY, seen, seen == seen, followed_to),
            "par_week4": par4,
            "horizon_days": horizon, "simulated_days": summary["simulated_days"] - r}


def build_pools(specs: Sequence[PoolSpec], cache_dir: str | Path, parallel: ParallelConfig | None = None,
                desc: str = "pools") -> tuple[list[pd.DataFrame], list[bool]]:
    """Every candidate row of each pool, from the cache or simulated in one `map_tasks` call.

    Args:
        specs: the pools.
        cache_dir: cache folder (created if missing); pool `spec.key()` lives in `<cache_dir>/<key>/`.
        parallel: back end for the simulations (default: loky on all cores).
        desc: progress-bar label.

    Returns:
        (tables, cached): one table per spec, sorted by candidate (all candidates; see `eligible_pool`),
        and whether each came whole from the cache.
    """
    cache = Path(cache_dir)
    keys = [spec.key() for spec in specs]
    cached = [(cache / key / "pool.parquet").is_file() for key in keys]
    stores, todo, found = {}, [], 0
    for spec, key, hit in zip(specs, keys, cached):
        if hit or key in stores:
            continue
        stores[key] = ResultStore(cache / key)
        bind_store(stores[key].root, what="trial pool")
        done = stores[key].done_keys()
        tasks = spec.tasks()
        todo += [(key, task) for task in tasks if _run_key(task[-1]) not in done]
        found += sum(_run_key(task[-1]) in done for task in tasks)
    report_resume(desc, found, len(todo))
    compiling = bool(todo) and announce_compiling()

    def on_result(position: int, row: dict) -> None:
        key = todo[position][0]
        stores[key].write(_run_key(row["candidate"]), row, seed=row["seed"], config_hash=key)

    map_tasks(candidate_row, [task for _, task in todo], config=parallel, desc=desc, on_result=on_result)
    if compiling:
        mark_compiled()
    for spec, key in zip(specs, keys):
        if key in stores and not (cache / key / "pool.parquet").is_file():
            _finish(stores.pop(key), spec, key)
    return [read_parquet(cache / key / "pool.parquet") for key in keys], cached


def _run_key(candidate: int) -> str:
    return f"c{int(candidate):06d}"


def _finish(store: ResultStore, spec: PoolSpec, key: str) -> None:
    """Gather a completed pool into `pool.parquet` (atomically) beside a readable `config.json`."""
    table = store.gather(sort_by="candidate").drop(columns=["key", "config_hash"])
    require(len(table) == spec.n_candidates, f"pool {key}: {len(table)} of {spec.n_candidates} candidates stored")
    for name in ("closed_by_week12", "closed_by_week20"):
        if name in table:
            table[name] = [None if v is None or v != v else bool(v) for v in table[name]]  # None: not known
    folder = store.root
    (folder / "config.json").write_text(json.dumps(
        {"key": key, "n_candidates": spec.n_candidates, "seed": int(spec.seed), "runin": dataclasses.asdict(spec.runin),
         "followup_days": spec.followup_days, "treatment": spec.treatment.to_dict(),
         "cohort": dataclasses.asdict(spec.cohort), "params": flatten(spec.params), "code": code_key()},
        indent=1, default=str))
    tmp = folder / ".tmp-pool.parquet"
    table.to_parquet(tmp, index=False)
    os.replace(tmp, folder / "pool.parquet")


def eligible_pool(table: pd.DataFrame) -> pd.DataFrame:
    """The patients who passed the run-in (the pool trials are resampled from)."""
    require("eligible" in table.columns, "pool table lacks the `eligible` column")
    out = table[table["eligible"].astype(bool)].reset_index(drop=True)
    if len(out) == 0:
        raise InputError("no candidate passed the run-in; raise pool candidates or runin.max_shrink_fraction")
    return out


# --- parameter draws --------------------------------------------------------------------------------

DRAW_SOURCES = ("prior", "posterior")


@dataclass(frozen=True)
class Draw:
    """One parameter draw: model parameters and overrides of the active arm's treatment (e.g. its dose).

    Args:
        params: model parameters.
        treatment: Treatment field -> value, applied to arms that inject a product (not placebo/none):
            the seed trial's dose is unknown and calibrated, and a phase III would repeat it.
        values: the drawn values by target name (for reports).
    """

    params: ModelParams
    treatment: dict[str, Any] = dataclasses.field(default_factory=dict)
    values: dict[str, float] = dataclasses.field(default_factory=dict)

    def arm_treatment(self, treatment: Treatment) -> Treatment:
        """`treatment` with this draw's overrides when it injects a product."""
        if not self.treatment or not treatment.gives_product:
            return treatment
        return dataclasses.replace(treatment, **self.treatment)


def split_targets(values: dict[str, float], base: ModelParams) -> Draw:
    """A Draw from {target: value}: `model.<dotted>` (or a bare dotted name) and `treatment.<field>` keys."""
    model = {k.removeprefix("model."): v for k, v in values.items() if not k.startswith("treatment.")}
    treatment = {k.removeprefix("treatment."): v for k, v in values.items() if k.startswith("treatment.")}
    fields = {f.name for f in dataclasses.fields(Treatment)}
    require(set(treatment) <= fields, f"unknown treatment targets {sorted(set(treatment) - fields)}")
    return Draw(with_overrides(base, model), treatment, {k: float(v) for k, v in values.items()})


def prior_draws(base: ModelParams, prior: dict[str, Sequence[float]], n: int, rng: np.random.Generator) -> list[Draw]:
    """Prior-predictive stand-in for the posterior: each target log-uniform on [low, high].

    Args:
        base: parameter set the draws vary (all other values kept).
        prior: target (`model.<dotted name>` or `treatment.<field>`) -> (low, high), 0 < low <= high.
        n: number of draws.
        rng: generator.
    """
    for name, bounds in prior.items():
        require(len(bounds) == 2 and 0 < float(bounds[0]) <= float(bounds[1]),
                f"draws.prior.{name} = {list(bounds)}; allowed [low, high] with 0 < low <= high")
    draws = []
    for _ in range(n):
        values = {k: float(math.exp(rng.uniform(math.log(lo), math.log(hi)))) for k, (lo, hi) in prior.items()}
        draws.append(split_targets(values, base))
    return draws


def parameter_draws(source: str, n: int, base: ModelParams, prior: dict[str, Sequence[float]],
                    rng: np.random.Generator) -> list[Draw]:
    """`n` draws from the prior stand-in or from the calibration posterior.

    "posterior" takes particles from the installed posterior, `woundsim.posterior.draw_particles(n, rng)`
    ({target: value} rows drawn by weight; `treatment.*` targets such as the seed trial's unknown dose go to
    the active arm); the values are applied on top of `base`, whose numerics (grid, time steps) are always
    kept.
    """
    from woundsim.posterior import draw_particles, value_columns

    require(source in DRAW_SOURCES, f"draws.source = {source!r}; allowed {', '.join(DRAW_SOURCES)}")
    require(isinstance(n, int) and n >= 1, f"draws.n = {n!r}; allowed integer >= 1")
    if source == "prior":
        return prior_draws(base, prior, n, rng)
    draws = []
    particles = draw_particles(n, rng)
    for _, row in particles[value_columns(particles)].iterrows():
        draw = split_targets(dict(row), base)
        draws.append(dataclasses.replace(draw, params=dataclasses.replace(draw.params, numerics=base.numerics)))
    return draws
