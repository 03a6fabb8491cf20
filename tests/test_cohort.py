"""Cohorts through the parallel layer: identical whatever the back end, common random numbers."""

import pandas as pd

from woundsim.cohort import sample_patients, simulate_cohort, simulate_patients
from woundsim.parallel import ParallelConfig
from woundsim.params import ModelParams, with_overrides
from woundsim.patient import CohortSpec, Patient
from woundsim.treatment import Treatment, standard_care

FAST = with_overrides(ModelParams(), {"numerics.dx_um": 250.0, "numerics.horizon_weeks": 3.0})


def test_serial_and_loky_give_identical_cohorts():
    spec = CohortSpec(area_median_cm2=0.8, area_min_cm2=0.5, area_max_cm2=1.2)
    serial = simulate_cohort(spec, 4, Treatment(), FAST, seed=9, parallel=ParallelConfig("serial", progress=False))
    loky = simulate_cohort(spec, 4, Treatment(), FAST, seed=9, parallel=ParallelConfig("loky", n_jobs=2,
                                                                                        progress=False))
    pd.testing.assert_frame_equal(serial, loky)
    assert serial["seed"].nunique() == 4


def test_arms_share_patients_and_seeds():
    patients = sample_patients(CohortSpec(area_median_cm2=0.8, area_min_cm2=0.5, area_max_cm2=1.2), 3, seed=5)
    assert patients == sample_patients(CohortSpec(area_median_cm2=0.8, area_min_cm2=0.5, area_max_cm2=1.2), 3, 5)
    cfg = ParallelConfig("serial", progress=False)
    a = simulate_patients(patients, Treatment(), FAST, seed=5, parallel=cfg)
    b = simulate_patients(patients, standard_care(), FAST, seed=5, parallel=cfg)
    assert list(a["seed"]) == list(b["seed"]) and list(a["area_cm2"]) == list(b["area_cm2"])


def test_patient_rows_carry_attributes_and_summary():
    cfg = ParallelConfig("serial", progress=False)
    t = simulate_patients([Patient(area_cm2=0.6)], Treatment(), FAST, seed=1, parallel=cfg)
    assert {"patient", "area_cm2", "texas_grade", "seed", "first_closure_day", "par_week4"} <= set(t.columns)
