"""Feasibility before calibration (issue 17 item 7): the calibration statistics simulated at parameter sets.

Two stages share this code:

- **prior predictive** (`woundsim calibrate prior-predictive`): `draws` parameter sets drawn from the
  calibration priors (`calibration.parameters` of the calibration config, so a parameter added there enters
  without code), each simulated as the clinic computed its figures: one seed-trial arm of the observed size
  (10 patients, `SEED01`-`SEED03`) and one standard-care control population screened through the pivotal
  trials' run-in (`SOC01`, `SOC02`, `REC01`);
- **confirmation** (`woundsim calibrate confirm`): one parameter set, 20 replicate trial arms and at least
  1,000 enrolled standard-care patients on seeds the search never used (`woundsim.seeds.FEASIBILITY_CONFIRM`).

Every patient is simulated by the studies' own task functions on the patients and seeds
`calibration.setup.arm_run` gives, as in the calibration's own arms: a trial patient by
`woundsim.cohort.patient_outcome`, a standard-care candidate by `woundsim.trial.pools.candidate_row` (the virtual
trial's run-in, `FeasibilityDesign.runin`: 14 days of standard care, ulcers that shrink by more than 30% or close
are excluded, the enrolled patients' outcomes re-based to randomisation). The statistics are
`calibration.statistics`' (`trial_statistics`, `enrolled_soc_statistics`), whose endpoints are `woundsim.endpoints`'.

Each patient's row is stored as it finishes (`woundsim.store.ResultStore`), so an interrupted study resumes;
its Monte Carlo noise is estimated by bootstrapping the patients inside each evaluation (or, with replicate
arms, from the spread between arms).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from calibration.priors import natural_values
from calibration.setup import CalibrationSetup, arm_run
from calibration.statistics import TRIAL_STATISTICS, enrolled_soc_statistics, trial_statistics
from woundsim.cohort import patient_outcome
from woundsim.errors import require
from woundsim.parallel import ParallelConfig
from woundsim.seeds import PRIOR_PREDICTIVE, feasibility_rng, feasibility_seed
from woundsim.store import ResultStore, run_resumable
from woundsim.trial.pools import RunIn, candidate_row

STAGES = {"prior_predictive": PRIOR_PREDICTIVE}  # the confirmation's key is FEASIBILITY_CONFIRM (see seeds)
BOOTSTRAP_REPLICATES = 200  # resamples of the patients of one evaluation for its Monte Carlo SD
ARMS = ("trial", "soc")


@dataclass(frozen=True)
class FeasibilityDesign:
    """How many patients each parameter set is simulated with.

    Attributes:
        stage_key: `woundsim.seeds.PRIOR_PREDICTIVE` or `FEASIBILITY_CONFIRM` (seeds of the arms).
        seed: root seed (the calibration's `seed`).
        trial_arms: replicate trial arms per parameter set (each of the calibration's `trial.n_patients`).
        soc_batch: standard-care candidates screened per batch (each batch its own seed).
        soc_enrolled: screen batches until at least this many candidates pass the run-in (0: one batch).
        runin: the pivotal trials' run-in (`woundsim.trial.pools.RunIn`: 14 d, exclusion above 30% shrinkage).
    """

    stage_key: int
    seed: int
    trial_arms: int = 1
    soc_batch: int = 60
    soc_enrolled: int = 0
    runin: RunIn = RunIn()

    def __post_init__(self) -> None:
        require(self.trial_arms >= 1, f"trial arms = {self.trial_arms} must be >= 1")
        require(self.soc_batch >= 1, f"standard-care candidates per batch = {self.soc_batch} must be >= 1")
        require(self.soc_enrolled >= 0, f"standard-care enrolled = {self.soc_enrolled} must be >= 0")

    def first_batches(self) -> int:
        """Batches screened before the enrolment is counted (enough if every candidate passed the run-in)."""
        return max(1, math.ceil(self.soc_enrolled / self.soc_batch))

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "runin": dataclasses.asdict(self.runin)}


# ---- parameter sets ---------------------------------------------------------------------------------
def prior_draws(setup: CalibrationSetup, n: int, seed: int) -> pd.DataFrame:
    """`n` parameter sets drawn from the calibration priors (independent draws; draw i depends on i only, so a
    larger `n` keeps the first ones).

    Returns:
        one row per draw: `draw`, `abc.<key>` (the space the priors are defined in) and the natural values by
        target (`model.*`, `treatment.*`).
    """
    require(n >= 1, f"draws = {n} must be >= 1")
    rows = []
    for i in range(n):
        u = feasibility_rng(seed, PRIOR_PREDICTIVE, i).random(len(setup.parameters))
        abc = {p.key: float(p.distribution().ppf(x)) for p, x in zip(setup.parameters, u)}
        rows.append(point_row(setup, i, abc))
    return pd.DataFrame(rows)


def point_row(setup: CalibrationSetup, draw: int, abc: Mapping[str, float]) -> dict:
    """One parameter set's row: `draw`, `abc.<key>` values and the natural values by target."""
    return {"draw": int(draw), **{f"abc.{k}": float(v) for k, v in abc.items()},
            **natural_values(setup.parameters, abc)}


def abc_values(setup: CalibrationSetup, row: Mapping[str, float]) -> dict[str, float]:
    """The ABC-space values {key: value} of a parameter-set row."""
    return {p.key: float(row[f"abc.{p.key}"]) for p in setup.parameters}


# ---- tasks ------------------------------------------------------------------------------------------
def evaluate_patient(task: tuple[str, dict, tuple]) -> dict:
    """Simulate one patient of an arm (a picklable task): `("trial" | "soc", labels, inner task)`.

    A trial patient runs `woundsim.cohort.patient_outcome`; a standard-care candidate runs the virtual trial's
    screening (`woundsim.trial.pools.candidate_row`: run-in, exclusion, outcomes from randomisation).
    """
    arm, labels, inner = task
    row = patient_outcome(inner) if arm == "trial" else candidate_row(inner)
    return {**labels, **row}


def point_tasks(setup: CalibrationSetup, design: FeasibilityDesign, draw: int, abc: Mapping[str, float],
                batches: Sequence[int]) -> tuple[list[tuple], list[str]]:
    """The tasks and store keys of one parameter set: its trial arms (if `batches` starts at 0) and the given
    standard-care batches."""
    natural = natural_values(setup.parameters, abc)
    trial_params, treatment, soc_params = setup.arm_objects(natural)
    tasks, keys = [], []
    if 0 in batches:
        trial = setup.trial_arm(natural)
        for r in range(design.trial_arms):
            seed = feasibility_seed(design.seed, design.stage_key, draw, 0, r)
            for i, inner in enumerate(arm_run(trial, trial_params, treatment, seed).tasks()):
                tasks.append(("trial", _labels(draw, "trial", r, i), inner))
                keys.append(_key(draw, "trial", r, i))
    batch = dataclasses.replace(setup.soc, n_patients=design.soc_batch, runin=design.runin)
    for b in batches:
        seed = feasibility_seed(design.seed, design.stage_key, draw, 1, b)
        for inner in arm_run(batch, soc_params, setup.soc.treatment, seed).tasks():
            tasks.append(("soc", _labels(draw, "soc", b, inner[-1]), inner))
            keys.append(_key(draw, "soc", b, inner[-1]))
    return tasks, keys


def _labels(draw: int, arm: str, replicate: int, position: int) -> dict:
    return {"draw": int(draw), "arm": arm, "replicate": int(replicate), "position": int(position)}


def _key(draw: int, arm: str, replicate: int, position: int) -> str:
    return f"d{draw:05d}-{arm}-r{replicate:04d}-p{position:04d}"


def simulate_points(setup: CalibrationSetup, design: FeasibilityDesign, points: pd.DataFrame, store: ResultStore,
                    parallel: ParallelConfig, say: Callable[[str], None] = print) -> pd.DataFrame:
    """Simulate every parameter set of `points` (rows of `prior_draws`/`point_row`), resuming from `store`.

    With `design.soc_enrolled` > 0, more standard-care batches are screened for a parameter set until at least
    that many candidates have passed the run-in.

    Returns:
        every stored patient row of these parameter sets.
    """
    batches = {int(row["draw"]): list(range(design.first_batches())) for _, row in points.iterrows()}
    rows = pd.DataFrame()
    while batches:
        tasks, keys = [], []
        for _, row in points[points["draw"].isin(list(batches))].iterrows():
            t, k = point_tasks(setup, design, int(row["draw"]), abc_values(setup, row), batches[int(row["draw"])])
            tasks += t
            keys += k
        say(f"simulating {len(tasks)} patients of {len(batches)} parameter set(s) "
            f"({design.trial_arms} trial arm(s) of {setup.trial.n_patients}, standard-care batches of "
            f"{design.soc_batch} screened)")
        run_resumable(evaluate_patient, tasks, keys, store, config=parallel, desc="feasibility patients")
        rows = store.gather(sort_by="key")
        batches = _more_batches(rows, batches, design)
    return rows[rows["draw"].isin(points["draw"].tolist())].reset_index(drop=True)


def _more_batches(rows: pd.DataFrame, batches: dict[int, list[int]], design: FeasibilityDesign) -> dict[int, list[int]]:
    """Further standard-care batches of the parameter sets still short of `design.soc_enrolled` enrolled."""
    if design.soc_enrolled == 0:
        return {}
    more = {}
    for draw, done in batches.items():
        soc = rows[(rows["draw"] == draw) & (rows["arm"] == "soc")]
        enrolled = int(soc["eligible"].astype(bool).sum())
        if enrolled < design.soc_enrolled:
            share = max(enrolled / max(len(soc), 1), 0.05)  # screen for the enrolment still missing
            n = math.ceil((design.soc_enrolled - enrolled) / share / design.soc_batch)
            more[draw] = list(range(max(done) + 1, max(done) + 1 + n))
    return more


# ---- statistics -------------------------------------------------------------------------------------
def arm_statistics(arm: str, rows: pd.DataFrame, visit_interval_days: float) -> dict[str, float]:
    """The calibration statistics of one arm's patients (standard care: the candidates the run-in enrolled)."""
    if arm == "trial":
        return trial_statistics(rows, visit_interval_days)
    return enrolled_soc_statistics(rows)


def bootstrap_sd(arm: str, rows: pd.DataFrame, visit_interval_days: float, rng: np.random.Generator,
                 replicates: int = BOOTSTRAP_REPLICATES) -> dict[str, float]:
    """Monte Carlo SD of each statistic of one arm: its SD over resamples of the arm's patients (NaN
    resamples, e.g. nobody healed, left out)."""
    rows = rows.reset_index(drop=True)
    values = []
    for _ in range(replicates):
        sample = rows.iloc[rng.integers(0, len(rows), len(rows))].reset_index(drop=True)
        values.append(arm_statistics(arm, sample, visit_interval_days))
    table = pd.DataFrame(values)
    return {name: float(np.nanstd(table[name].to_numpy(float), ddof=1)) if table[name].notna().sum() > 1
            else math.nan for name in table.columns}


def point_statistics(rows: pd.DataFrame, setup: CalibrationSetup, rng: np.random.Generator) -> pd.DataFrame:
    """One row per parameter set: each statistic (trial: mean over its replicate arms; standard care: over all
    enrolled patients), its Monte Carlo SD (`mc_sd.<name>`), the defined trial arms, the candidates screened and
    enrolled and the share the run-in excluded (`runin_excluded_share`)."""
    visit = setup.trial.visit_interval_days
    out = []
    for draw, group in rows.groupby("draw", sort=True):
        trial, soc = group[group["arm"] == "trial"], group[group["arm"] == "soc"]
        arms = pd.DataFrame([arm_statistics("trial", arm, visit) for _, arm in trial.groupby("replicate")])
        record = {"draw": int(draw), "trial_arms": len(arms)}
        for name in TRIAL_STATISTICS:
            values = arms[name].to_numpy(float)
            defined = values[np.isfinite(values)]
            record[name] = float(defined.mean()) if len(defined) else math.nan
            record[f"defined_arms.{name}"] = len(defined)
        if len(arms) > 1:
            for name in TRIAL_STATISTICS:
                defined = arms[name].dropna().to_numpy(float)
                record[f"mc_sd.{name}"] = float(defined.std(ddof=1) / math.sqrt(len(defined))) if len(defined) > 1 else math.nan
        else:
            record.update({f"mc_sd.{k}": v for k, v in bootstrap_sd("trial", trial, visit, rng).items()})
        record.update(arm_statistics("soc", soc, visit))
        record.update({f"mc_sd.{k}": v for k, v in bootstrap_sd("soc", soc, visit, rng).items()})
        eligible = soc["eligible"].astype(bool)
        record.update({"soc_screened": len(soc), "soc_enrolled": int(eligible.sum()),
                       "runin_excluded_share": float(1.0 - eligible.mean()) if len(soc) else math.nan})
        out.append(record)
    return pd.DataFrame(out)
