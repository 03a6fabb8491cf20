"""The clinical endpoints, each defined once in woundsim.endpoints, and the studies that use that definition."""

import math

import numpy as np
import pandas as pd
import pytest

from woundsim import endpoints as E
from woundsim.errors import InputError
from woundsim.model import WoundModel
from woundsim.params import ModelParams, with_overrides

NAN = math.nan


# ---- first closure and confirmation -----------------------------------------------------------------
def test_a_wound_that_reopens_before_confirmation_starts_its_closure_again():
    model = WoundModel()
    model.n_open = 0
    model._observe()  # closed at the end of this step
    first = model.first_closure_h
    assert first == model.hours
    model.n_open = 3
    model._observe()  # re-opened before the confirmation: no closure any more
    assert math.isnan(model.first_closure_h)
    model.n_open = 0
    model._observe()
    assert model.first_closure_h == model.hours > first  # the new closure counts from its own day


def test_confirmation_needs_the_closure_to_hold_the_whole_window():
    assert E.closure_confirmed(30.0, 44.0, 14.0)  # the run ended exactly at the end of the window
    assert E.closure_confirmed(30.0, 44.0 - 1e-12, 14.0)  # floating-point days: within tolerance
    assert not E.closure_confirmed(30.0, 43.9, 14.0)  # the run ended inside the window
    assert not E.closure_confirmed(NAN, 200.0, 14.0)  # never closed


# ---- closed by week N -------------------------------------------------------------------------------
def test_closed_by_a_day_counts_confirmed_closures_on_or_before_it():
    assert E.closed_by(84.0, 84.0, True, 84.0) is True  # closed on the day itself
    assert E.closed_by(84.0, 84.01, True, 140.0) is False  # just after it
    assert E.closed_by(84.0, 60.0, False, 84.0) is False  # closed, then the confirmation failed


def test_a_run_that_never_closes_is_censored_at_its_horizon():
    assert E.closed_by(84.0, NAN, False, 84.0) is False  # followed through week 12 (and its confirmation)
    assert E.closed_by(140.0, NAN, False, 84.0) is None  # not followed to week 20: unknown
    assert E.closed_by(84.0, 90.0, False, 84.0) is False  # closed after week 12, too late to confirm: not closed


def test_closed_by_table_counts_unknown_as_not_closed():
    table = pd.DataFrame({"first_closure_day": [10.0, 84.0, 85.0, NAN, 50.0],
                          "confirmed_closure_day": [24.0, 98.0, 99.0, NAN, NAN]})
    assert E.closed_by_table(table, 84.0).tolist() == [1.0, 1.0, 0.0, 0.0, 0.0]


# ---- PAR at week 4 ----------------------------------------------------------------------------------
def test_par_at_week_4_reads_day_28_and_counts_a_confirmed_early_closure_as_100():
    days = np.arange(0.0, 36.0)
    par = E.par_pct(2.0 - days / 50.0, 2.0)
    assert E.par_at(days, par, E.PAR_DAY, False) == pytest.approx(100.0 * 28.0 / 100.0)
    stopped = np.arange(0.0, 25.0)  # the run stopped at its confirmed closure on day 24
    assert E.par_at(stopped, np.zeros(25), E.PAR_DAY, True) == 100.0
    assert math.isnan(E.par_at(stopped, np.zeros(25), E.PAR_DAY, False))  # stopped for another reason


# ---- observation at visits --------------------------------------------------------------------------
def test_a_closure_is_seen_at_the_first_weekly_visit_on_or_after_it():
    seen = E.observed_closure_day(np.array([7.0, 7.0 + 1e-12, 7.01, 0.5, 13.99, NAN]), 7.0)
    np.testing.assert_array_equal(seen, [7.0, 7.0, 14.0, 7.0, 14.0, NAN])  # on a visit day, just after, ...
    np.testing.assert_array_equal(E.observed_closure_day(np.array([3.2]), 0.0), [3.2])  # no visits: the day


def test_the_calibration_and_the_trial_see_a_closure_at_the_same_visit():
    from calibration.statistics import trial_statistics
    from woundsim.trial.design import Dropout, TrialDesign
    from woundsim.trial.endpoints import observe_arrays

    closure = np.array([0.0, 6.5, 7.0, 7.5])  # day 0 is the baseline visit: the first visit that can see it is day 7
    table = pd.DataFrame({"time_to_closure_days": closure, "recurrence_same_site_followup": 0.1})
    assert trial_statistics(table, 7.0)["trial_mean_closure_days"] == pytest.approx((7.0 + 7.0 + 7.0 + 14.0) / 4)
    pool = {"closure_day": closure, "par_week4": np.full(4, NAN), "same_site_month": np.full(4, math.inf),
            "any_site_month": np.full(4, math.inf),
            "horizon_days": np.full(4, math.inf), "stratum": np.zeros(4, np.int64)}
    design = TrialDesign(dropout=Dropout(rate=0.0))
    obs = observe_arrays(pool, design, np.random.default_rng(0))
    assert obs["closure_time_days"].tolist() == [7.0, 7.0, 7.0, 14.0]


def test_bad_visit_interval_is_one_line():
    with pytest.raises(InputError, match="visit_interval_days"):
        E.observed_closure_day(np.array([3.0]), -7.0)


def test_confirmation_visit_and_last_visit():
    assert E.confirmation_visit(14.0, 14.0, 7.0) == 28.0
    assert E.confirmation_visit(14.0, 10.0, 7.0) == 28.0  # the first visit at least 10 days later
    assert E.last_visit_by(97.9, 7.0) == 91.0 and E.last_visit_by(98.0 - 1e-12, 7.0) == 98.0


# ---- recurrence (version 2: tests/test_recurrence_wiring.py) ----------------------------------------
def test_version_1_recurrence_is_retired_in_one_line():
    for name in ("recurrence_hazard", "recurrence_risk", "risk_over_months"):
        with pytest.raises(ImportError, match="is now woundsim.endpoints.recurrence_outcomes"):
            getattr(E, name)
    with pytest.raises(InputError, match="hazard_per_month' was version 1's recurrence.*reference_risk_12m"):
        with_overrides(ModelParams(), {"recurrence.hazard_per_month": 0.03})


# ---- every study uses this definition ---------------------------------------------------------------
def test_the_summary_pools_trial_and_calibration_read_their_endpoints_here():
    import inspect

    from calibration import statistics
    from woundsim import summary
    from woundsim.trial import endpoints as trial_endpoints
    from woundsim.trial import pools, scenarios

    assert summary.closed_by is E.closed_by and summary.par_at is E.par_at
    assert summary.recurrence_outcomes is E.recurrence_outcomes and summary.PRIMARY_DAY is E.PRIMARY_DAY
    assert statistics.observed_closure_day is E.observed_closure_day
    assert trial_endpoints.observed_closure_day is E.observed_closure_day
    assert trial_endpoints.confirmation_visit is E.confirmation_visit and scenarios.closed_by_table is E.closed_by_table
    assert pools.endpoints is E
    for module in (summary, statistics, trial_endpoints, pools, scenarios):  # no visit or closure rule of their own
        source = inspect.getsource(module)
        assert "np.ceil(" not in source and "np.floor(" not in source and "def closed_by" not in source, module.__name__
    with pytest.raises(ImportError, match="woundsim.endpoints.closed_by_table"):
        from woundsim.trial.pools import closed_by  # noqa: F401


def test_visit_records_give_each_visit_its_record_and_skip_visits_the_series_lacks():
    days = np.array([0.0, 1.0, 7.0, 8.0, 15.0, 21.0, 22.5])  # no record on day 14
    visits, at = E.visit_records(days, 7.0, first_visit=0)
    assert visits.tolist() == [0.0, 7.0, 21.0] and at.tolist() == [0, 2, 5]
    visits, at = E.visit_records(days, 7.0)
    assert visits.tolist() == [7.0, 21.0] and at.tolist() == [2, 5]
