"""Bad input gets a one-line InputError naming the parameter and its allowed range."""

import math

import numpy as np
import pytest

from woundsim.errors import InputError
from woundsim.params import GONE, ModelParams, flatten, validate, with_overrides
from woundsim.patient import CohortSpec, Patient
from woundsim.treatment import Treatment, validate_treatment


@pytest.mark.parametrize("kwargs, names", [
    ({"area_cm2": 0.0}, "patient.area_cm2"),
    ({"area_cm2": -1.0}, "patient.area_cm2"),
    ({"area_cm2": math.nan}, "patient.area_cm2"),
    ({"hba1c_pct": 25.0}, "patient.hba1c_pct"),
    ({"hba1c_pct": 2.0}, "patient.hba1c_pct"),
    ({"texas_grade": 4}, "patient.texas_grade"),
    ({"texas_grade": "IV"}, "patient.texas_grade"),
    ({"texas_stage": "E"}, "patient.texas_stage"),
    ({"duration_weeks": -3}, "patient.duration_weeks"),
    ({"plantar_load": 3.5}, "patient.plantar_load"),
    ({"offloading_adherence": 1.2}, "patient.offloading_adherence"),
    ({"neuropathy": "maybe"}, "patient.neuropathy"),
    ({"male": 2}, "patient.male"),
])
def test_patient_refuses_bad_values_naming_the_parameter(kwargs, names):
    with pytest.raises(InputError) as err:
        Patient(**kwargs)
    msg = str(err.value)
    assert names in msg and "\n" not in msg


def test_patient_accepts_roman_grades():
    assert Patient(texas_grade="III").texas_grade == 3


@pytest.mark.parametrize("kwargs, name", [
    ({"product": "stem_cells"}, "treatment.product"),
    ({"dose_ug_per_site": -1.0}, "treatment.dose_ug_per_site"),
    ({"dose_ug_per_site": math.nan}, "treatment.dose_ug_per_site"),
    ({"sites": 0}, "treatment.product"),
    ({"schedule_days": [-1.0]}, "treatment.schedule_days"),
    ({"mixture": {"plasma": 1.0}}, "treatment.mixture"),
])
def test_treatment_refuses_bad_values(kwargs, name):
    with pytest.raises(InputError, match=name.replace(".", r"\.")):
        Treatment(**kwargs)


def test_schedule_day_after_horizon_is_refused():
    with pytest.raises(InputError, match="schedule_days"):
        validate_treatment(Treatment(schedule_days=[0, 100]), horizon_days=84)


def test_model_params_validation_names_the_parameter():
    with pytest.raises(InputError, match=r"model\.macrophage\.death_per_day"):
        validate(with_overrides(ModelParams(), {"macrophage.death_per_day": -0.2}))
    with pytest.raises(InputError, match=r"model\.numerics\.dx_um"):
        validate(with_overrides(ModelParams(), {"numerics.dx_um": 10.0}))
    with pytest.raises(InputError, match=r"model\.fields\.tnf\.half_life_h"):
        validate(with_overrides(ModelParams(), {"fields.tnf.half_life_h": math.nan}))
    with pytest.raises(InputError, match="unknown model parameter"):
        with_overrides(ModelParams(), {"macrophage.lifespan": 5.0})


def test_overrides_do_not_touch_the_original():
    base = ModelParams()
    new = with_overrides(base, {"impairment.tnf_fold": 4.0})
    assert new.impairment.tnf_fold == 4.0 and base.impairment.tnf_fold != 4.0
    assert flatten(new)["impairment.tnf_fold"] == 4.0


def test_cohort_sampling_respects_inclusion_windows():
    spec = CohortSpec(area_min_cm2=0.5, area_max_cm2=20.0, grade_mix={"2": 1.0, "3": 1.0})
    pts = spec.sample(400, np.random.default_rng(1))
    areas = np.array([p.area_cm2 for p in pts])
    assert areas.min() >= 0.5 and areas.max() <= 20.0
    assert 1.0 < np.median(areas) < 2.6  # median 1.5 cm² before truncation (Oyibo 2001)
    assert {p.texas_grade for p in pts} == {2, 3}
    again = spec.sample(400, np.random.default_rng(1))
    assert [p.area_cm2 for p in again] == list(areas)


def test_cohort_spec_refuses_bad_mixes():
    with pytest.raises(InputError, match="grade_mix"):
        CohortSpec(grade_mix={"4": 1.0})
    with pytest.raises(InputError, match="plantar_fraction"):
        CohortSpec(plantar_fraction=1.5)
    with pytest.raises(InputError, match="offloading adherence mean"):
        CohortSpec(offloading_adherence_mean=0.9, offloading_adherence_sd=0.4)  # no beta has this mean and SD
    with pytest.raises(InputError, match="area window"):
        CohortSpec(area_min_cm2=5.0, area_max_cm2=1.0)


def test_a_whole_flattened_parameter_set_passes_through_with_overrides_but_a_gone_name_with_a_value_does_not():
    # the trial designer rebuilds parameter sets from flatten(): the gone names are there, unset
    assert with_overrides(ModelParams(), flatten(ModelParams())) == ModelParams()
    name = next(iter(GONE))
    with pytest.raises(InputError, match="is gone"):
        with_overrides(ModelParams(), {name: 1.0})
