"""Cohorts through the parallel layer: identical whatever the back end, common random numbers."""

import numpy as np
import pandas as pd
import pytest

from woundsim.cohort import patient_outcome, sample_patients, simulate_cohort, simulate_draws, simulate_patients
from woundsim.config import cohort_from, named_option
from woundsim.errors import InputError
from woundsim.posterior import apply_particle, draw_particles
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


def test_risk_attributes_left_the_earlier_draws_unchanged():
    """The foot and recurrence risks come from their own stream: the attributes drawn before them are those
    that sample_patients drew before they existed (values printed by the previous code: 3 patients, seed 11)."""
    before = {"pivotal_control": [(12.628192978160431, 1, 28.95718240959954, 8.045223690908104, 49.557314220560556),
                                  (2.9233105677591165, 1, 13.74038365492418, 7.879453358272875, 56.8341881944572)],
              "seed_trial": [(1.9845612743401575, 2, 12.822835894650954, 8.345223690908105, 46.059864887680405),
                             (3.371352050516218, 2, 8.9294258665185, 8.179453358272877, 51.35213686869615)]}
    for name, rows in before.items():
        patients = sample_patients(cohort_from(named_option("cohort", name)), 3, seed=11)[:2]
        assert [(p.area_cm2, p.texas_grade, p.duration_weeks, p.hba1c_pct, p.age_years) for p in patients] == rows
        assert [(p.aspect, p.irregularity) for p in patients] == [(1.2329376353333827, 0.026667918454310515),
                                                                  (1.675699342694748, 0.09683504481705561)]


def test_risk_attributes_follow_the_cohort_spec():
    spec = CohortSpec(plantar_fraction=0.6, neuropathy_fraction=0.3, smoker_fraction=0.0, male_fraction=1.0,
                      plantar_load_min=0.5, plantar_load_max=2.0)
    patients = sample_patients(spec, 2000, seed=3)
    share = lambda name: np.mean([getattr(p, name) for p in patients])  # noqa: E731
    sd = np.sqrt(0.25 / 2000)
    assert abs(share("plantar") - 0.6) < 4 * sd and abs(share("neuropathy") - 0.3) < 4 * sd
    assert share("smoker") == 0.0 and share("male") == 1.0
    load = np.array([p.plantar_load for p in patients])
    adherence = np.array([p.offloading_adherence for p in patients])
    assert load.min() >= 0.5 and load.max() <= 2.0
    assert abs(adherence.mean() - 0.71) < 4 * 0.25 / np.sqrt(2000) and 0.2 < adherence.std() < 0.3
    assert all(type(p.plantar) is bool for p in patients)
    for name in ("pivotal_control", "seed_trial"):  # every cohort spec in conf/ states the risks
        assert {"plantar_fraction", "offloading_adherence_mean", "neuropathy_fraction"} <= set(named_option("cohort",
                                                                                                          name))


def test_a_cohort_over_posterior_draws_keeps_each_particle_and_its_series():
    draws = draw_particles(2, np.random.default_rng(3))
    patients = [Patient(area_cm2=0.6), Patient(area_cm2=0.8)]
    cfg = ParallelConfig("serial", progress=False)
    table, series = simulate_draws(patients, Treatment(), draws, base=FAST, seed=4, parallel=cfg, timeseries=True)
    assert list(table["particle"]) == list(draws["particle"]) and list(table["draw"]) == [0, 1]
    params, treatment = apply_particle(draws.iloc[1], FAST, Treatment())
    alone = patient_outcome((params, patients[1], treatment, int(table["seed"].iloc[1])))
    assert table.iloc[1].drop(["patient", "draw", "particle"]).to_dict() == pytest.approx(alone, nan_ok=True)
    assert set(series["patient"]) == {0, 1} and series.groupby("patient")["day"].min().tolist() == [0.0, 0.0]


def test_each_replicate_of_a_cohort_runs_under_its_own_draw():
    draws = draw_particles(2, np.random.default_rng(5))
    patients = [Patient(area_cm2=0.6), Patient(area_cm2=0.8)]
    cfg = ParallelConfig("serial", progress=False)
    table = simulate_draws(patients, standard_care(), draws, per="replicate", base=FAST, seed=4, parallel=cfg)
    assert list(table["replicate"]) == [0, 0, 1, 1] and list(table["patient"]) == [0, 1, 0, 1]
    assert list(table["particle"]) == [draws["particle"][0]] * 2 + [draws["particle"][1]] * 2
    assert table["seed"].nunique() == 4
    with pytest.raises(InputError, match="one draw per patient: 2 draws for 3 patients"):
        simulate_draws(patients + patients[:1], Treatment(), draws, base=FAST)
