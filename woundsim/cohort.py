"""Simulate cohorts of patients through the one parallel layer: the building block of every study.

Patient i of a cohort gets seed `task_seeds(seed, n)[i]` for its run, whatever the back end or
number of workers; two arms simulated with the same `seed` therefore share common random numbers
patient by patient (and, when given the same patients, differ only by the treatment).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from woundsim.parallel import ParallelConfig, map_tasks
from woundsim.seeds import cohort_rng, patient_risk_rng, task_seeds
from woundsim.params import ModelParams
from woundsim.patient import CohortSpec, Patient
from woundsim.simulate import simulate
from woundsim.treatment import Treatment

PATIENT_COLUMNS = tuple(f.name for f in dataclasses.fields(Patient))


def patient_outcome(task: tuple[ModelParams, Patient, Treatment, int]) -> dict:
    """One row: the patient's attributes, its seed and its summary (a picklable task function)."""
    params, patient, treatment, seed = task
    summary = simulate(params, patient, treatment, seed=int(seed)).summary
    return {**patient.to_dict(), "seed": int(seed), **summary}


def simulate_patients(patients: list[Patient], treatment: Treatment, params: ModelParams | None = None, *,
                      seed: int = 0, parallel: ParallelConfig | None = None, desc: str = "patients") -> pd.DataFrame:
    """Simulate each patient once under `treatment`; one row per patient (docs/ARCHITECTURE.md keys).

    Args:
        patients: the cohort.
        treatment: regimen applied to every patient.
        params: model parameters (default `ModelParams()`).
        seed: root seed; patient i runs with `task_seeds(seed, len(patients))[i]`.
        parallel: back end (default: loky on all cores).
        desc: progress-bar label.
    """
    params = params if params is not None else ModelParams()
    seeds = task_seeds(seed, len(patients))
    tasks = [(params, p, treatment, int(s)) for p, s in zip(patients, seeds)]
    rows = map_tasks(patient_outcome, tasks, config=parallel, desc=desc)
    table = pd.DataFrame(rows)
    table.insert(0, "patient", np.arange(len(rows)))
    return table


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
