"""Simulate cohorts of patients through the one parallel layer: the building block of every study.

Patient i of a cohort gets seed `task_seeds(seed, n)[i]` for its run, whatever the back end or
number of workers; two arms simulated with the same `seed` therefore share common random numbers
patient by patient (and, when given the same patients, differ only by the treatment).
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from woundsim.parallel import ParallelConfig, map_tasks
from woundsim.errors import require
from woundsim.seeds import cohort_rng, patient_risk_rng, task_seeds
from woundsim.params import ModelParams
from woundsim.posterior import PARTICLE, apply_particle
from woundsim.patient import CohortSpec, Patient
from woundsim.simulate import simulate
from woundsim.treatment import Treatment

PATIENT_COLUMNS = tuple(f.name for f in dataclasses.fields(Patient))


def patient_outcome(task: tuple[ModelParams, Patient, Treatment, int]) -> dict:
    """One row: the patient's attributes, its seed and its summary (a picklable task function)."""
    params, patient, treatment, seed = task
    summary = simulate(params, patient, treatment, seed=int(seed)).summary
    return {**patient.to_dict(), "seed": int(seed), **summary}


def patient_run(task: tuple[ModelParams, Patient, Treatment, int]) -> tuple[dict, pd.DataFrame]:
    """`patient_outcome`'s row and the patient's daily series (a picklable task function)."""
    params, patient, treatment, seed = task
    result = simulate(params, patient, treatment, seed=int(seed))
    return {**patient.to_dict(), "seed": int(seed), **result.summary}, result.timeseries


def simulate_patients(patients: list[Patient], treatment: Treatment, params: ModelParams | None = None, *,
                      seed: int = 0, parallel: ParallelConfig | None = None, desc: str = "patients",
                      timeseries: bool = False) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate each patient once under `treatment`; one row per patient (docs/ARCHITECTURE.md keys).

    Args:
        patients: the cohort.
        treatment: regimen applied to every patient.
        params: model parameters (default `ModelParams()`).
        seed: root seed; patient i runs with `task_seeds(seed, len(patients))[i]`.
        parallel: back end (default: loky on all cores).
        desc: progress-bar label.
        timeseries: also return the daily series of every patient.

    Returns:
        The summary table; with `timeseries`, (summary table, daily series in long form with a `patient` column).
    """
    params = params if params is not None else ModelParams()
    seeds = task_seeds(seed, len(patients))
    tasks = [(params, p, treatment, int(s)) for p, s in zip(patients, seeds)]
    return _run(tasks, [{"patient": i} for i in range(len(tasks))], parallel, desc, timeseries)


def simulate_draws(patients: list[Patient], treatment: Treatment, draws: pd.DataFrame, *, per: str = "patient",
                   base: ModelParams | None = None, seed: int = 0, parallel: ParallelConfig | None = None,
                   desc: str = "posterior draws", timeseries: bool = False
                   ) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate a cohort over posterior draws, carrying the calibration's uncertainty into its outcomes.

    Args:
        patients: the cohort.
        treatment: regimen of every patient; a draw's `treatment.*` values (the calibrated dose) apply when it
            gives a product (`woundsim.posterior.apply_particle`).
        draws: rows of `woundsim.posterior.draw_particles` (their `particle` identity is kept in the output).
        per: "patient": draw i for patient i (as many draws as patients; patient i runs with
            `task_seeds(seed, n)[i]`, as in `simulate_patients`); "replicate": each draw runs the whole cohort,
            replicate r (draw r) patient i with `task_seeds(seed, n_draws * n)[r * n + i]`.
        base: parameters the draws override (grid and horizon included; default `ModelParams()`).
        seed: root seed of the runs.
        parallel: back end (default: loky on all cores).
        desc: progress-bar label.
        timeseries: also return the daily series of every run.

    Returns:
        One row per run: `patient` (and `replicate` for per="replicate"), `draw` (row of `draws`), `particle`
        (when `draws` has it) and `simulate_patients`'s columns; with `timeseries`, also the daily series in
        long form with the same label columns.

    Raises:
        InputError: an unknown `per`, or per="patient" with as many draws as patients missing.
    """
    require(per in ("patient", "replicate"), f"per = {per!r} is unknown; allowed patient, replicate")
    n = len(patients)
    if per == "patient":
        require(len(draws) == n, f"per='patient' needs one draw per patient: {len(draws)} draws for {n} patients")
        runs = [(i, None, i) for i in range(n)]  # (patient, replicate, draw)
    else:
        runs = [(i, r, r) for r in range(len(draws)) for i in range(n)]
    scenarios = [apply_particle(row, base, treatment) for _, row in draws.iterrows()]
    seeds = task_seeds(seed, len(runs))
    tasks = [(scenarios[d][0], patients[i], scenarios[d][1], int(s)) for (i, _, d), s in zip(runs, seeds)]
    has_particle = PARTICLE in draws.columns
    labels = [{"patient": i, **({"replicate": r} if per == "replicate" else {}), "draw": d,
               **({PARTICLE: int(draws[PARTICLE].iloc[d])} if has_particle else {})} for i, r, d in runs]
    return _run(tasks, labels, parallel, desc, timeseries)


def _run(tasks: list[tuple], labels: list[dict], parallel: ParallelConfig | None, desc: str,
         timeseries: bool) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Run the patient tasks through the parallel layer; rows (and series) prefixed by their labels."""
    results = map_tasks(patient_run if timeseries else patient_outcome, tasks, config=parallel, desc=desc)
    rows = [r[0] for r in results] if timeseries else results
    table = pd.DataFrame([{**label, **row} for label, row in zip(labels, rows)])
    if not timeseries:
        return table
    series = [ts.assign(**label)[[*label, *ts.columns]] for label, (_, ts) in zip(labels, results)]
    return table, pd.concat(series, ignore_index=True)


def sample_patients(spec: CohortSpec, n: int, seed: int) -> list[Patient]:
    """Draw `n` patients from `spec` with generators derived from `seed` (independent of run seeds): the ulcer,
    diabetes and age from `cohort_rng(seed)`, the foot and recurrence risks from `patient_risk_rng(seed)`."""
    return spec.sample(n, cohort_rng(seed), patient_risk_rng(seed))


def simulate_cohort(spec: CohortSpec, n: int, treatment: Treatment, params: ModelParams | None = None, *,
                    seed: int = 0, parallel: ParallelConfig | None = None, desc: str | None = None) -> pd.DataFrame:
    """Sample `n` patients from `spec` and simulate them under `treatment` (see `simulate_patients`)."""
    patients = sample_patients(spec, n, seed)
    return simulate_patients(patients, treatment, params, seed=seed, parallel=parallel,
                             desc=desc or f"{spec.name}: {treatment.product}")
