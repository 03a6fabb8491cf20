"""The API a newcomer meets first is the one `woundsim run` runs: horizon policy, loaders, README example."""

import pytest

from woundsim.config import to_objects
from woundsim.model import WoundModel
from woundsim.params import ModelParams, policy_horizon_weeks, with_horizon, with_overrides
from woundsim.patient import Patient
from woundsim.simulate import simulate
from woundsim.treatment import Treatment, standard_care

SMALL = Patient(area_cm2=0.6, texas_grade=1)


@pytest.mark.parametrize("treatment, weeks", [(Treatment(), 12.0), (standard_care(), 20.0),
                                              (Treatment(product="placebo", dose_ug_per_site=0.0), 12.0)])
def test_horizon_policy_is_applied_by_the_model_as_by_woundsim_run(treatment, weeks):
    model = WoundModel(ModelParams(), SMALL, treatment)
    assert model.params.numerics.horizon_weeks == weeks == policy_horizon_weeks(treatment.injects)
    params, *_ = to_objects({"treatment": treatment.to_dict()})
    assert params.numerics.horizon_weeks == weeks


def test_a_horizon_that_is_set_wins_over_the_policy():
    set_12 = with_overrides(ModelParams(), {"numerics.horizon_weeks": 12})
    assert with_horizon(set_12, injects=False).numerics.horizon_weeks == 12.0
    assert with_horizon(set_12, injects=False, weeks=3).numerics.horizon_weeks == 3.0
    params, *_ = to_objects({"treatment": standard_care().to_dict(), "model": {"numerics": {"horizon_weeks": 8}}})
    assert params.numerics.horizon_weeks == 8.0
    params, *_ = to_objects({"treatment": standard_care().to_dict(), "model": {"numerics": {"horizon_weeks": 8}},
                             "run": {"horizon_weeks": 5}})
    assert params.numerics.horizon_weeks == 5.0


def test_simulate_standard_care_reports_week20():
    params = with_overrides(ModelParams(), {"numerics.dx_um": 250.0})
    result = simulate(params, SMALL, standard_care(), seed=1)
    assert result.summary["horizon_days"] == 140.0 and result.params.numerics.horizon_weeks == 20.0
    assert result.summary["closed_by_week20"] in (True, False)
