"""The patient's foot shown over several seeds (issue 17 items 4 and 9): better offloading adherence heals sooner,
and Texas stage B-D (infection through debris, ischaemia through perfusion) slows healing.

The design of `tests/test_behaviour.py`, whose helpers these use: equal horizons, common random numbers (the
arms share their seeds), a run still open counts as not closed at the end of its run, a paired one-sided t-test
with n - 1 degrees of freedom at alpha 0.005, and the faster arm must close in at least half of the seeds, so
each comparison fails when nothing heals. The stage comparisons use the patient of `tests/test_behaviour.py`,
off the plantar surface, so that the stage is seen apart from the load; the adherence comparison puts the same
ulcer on the plantar surface.
"""

import dataclasses

import pytest

from tests.test_behaviour import BASE, assert_slower, closure_days
from woundsim.treatment import Treatment

PLANTAR = dataclasses.replace(BASE, plantar=True, plantar_load=1.0)


@pytest.fixture(scope="module")
def stage_a():
    return closure_days(BASE, Treatment())


@pytest.mark.slow
def test_better_offloading_adherence_heals_sooner():
    well = closure_days(dataclasses.replace(PLANTAR, offloading_adherence=0.95), Treatment())
    poorly = closure_days(dataclasses.replace(PLANTAR, offloading_adherence=0.3), Treatment())
    assert_slower(poorly, well)


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["B", "C", "D"])
def test_texas_stage_b_to_d_slows_healing(stage, stage_a):
    worse = closure_days(dataclasses.replace(BASE, texas_stage=stage), Treatment())
    assert_slower(worse, stage_a)
