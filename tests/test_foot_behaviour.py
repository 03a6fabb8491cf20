"""The patient's foot shown over several seeds (issue 17 items 4 and 9): better offloading adherence heals sooner,
and Texas stage B-D (infection through debris, ischaemia through perfusion) slows healing.

The design of `tests/test_behaviour.py`, whose helpers these use: equal horizons, common random numbers (the
arms share their seeds), a run still open counts as not closed at the end of its run, a paired one-sided t-test
with n - 1 degrees of freedom at alpha 0.005, and the faster arm must close in at least half of the seeds, so
each comparison fails when nothing heals. The stage comparisons use the well-offloaded patient of
`tests/test_behaviour.py`, so that the stage is seen apart from the load.
"""

import dataclasses

import pytest

from tests.test_behaviour import BASE, assert_slower, closure_days
from woundsim.treatment import Treatment

WELL_OFFLOADED = BASE  # offloading adherence 0.95


@pytest.fixture(scope="module")
def well_offloaded():
    return closure_days(WELL_OFFLOADED, Treatment())


@pytest.mark.slow
def test_better_offloading_adherence_heals_sooner(well_offloaded):
    poorly_offloaded = closure_days(dataclasses.replace(BASE, offloading_adherence=0.3), Treatment())
    assert_slower(poorly_offloaded, well_offloaded)


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["B", "C", "D"])
def test_texas_stage_b_to_d_slows_healing(stage, well_offloaded):
    worse = closure_days(dataclasses.replace(WELL_OFFLOADED, texas_stage=stage), Treatment())
    assert_slower(worse, well_offloaded)
