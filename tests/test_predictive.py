"""The posterior predictive check at the observed studies' sizes (calibration.predictive), on hand-made draws."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from calibration.distance import Target
from calibration.history_matching.implausibility import Observation
from calibration.predictive import FAIL, PASS, UNDECIDED, predictive_check, replicate
from woundsim.errors import InputError

SEED01 = Target("trial_closed_fraction", 1.0, 0.69, 1.0)
SEED02 = Target("trial_mean_closure_days", 29.4, 16.8, 42.0)
SEED03 = Target("trial_recurrence_followup", 0.0, 0.0, 0.31)
SOC01 = Target("soc_closed_week12", 0.242, 0.195, 0.288)
OBSERVATIONS = [Observation("trial_closed_fraction", 1.0, "binomial", 10),
                Observation("trial_mean_closure_days", 29.4, "normal", 10),
                Observation("trial_recurrence_followup", 0.0, "binomial", 10),
                Observation("soc_closed_week12", 0.242, "binomial", 326)]


def draws(n: int = 50, seed: int = 0, **columns) -> pd.DataFrame:
    """n posterior draws whose statistics scatter around the given values (parameter uncertainty)."""
    rng = np.random.default_rng(seed)
    base = {"trial_closed_fraction": 0.97, "trial_mean_closure_days": 30.0, "sd.trial_mean_closure_days": 20.0,
            "trial_recurrence_followup": 0.1, "soc_closed_week12": 0.24, **columns}
    table = {}
    for name, value in base.items():
        jitter = 0.0 if name.startswith("sd.") else (2.0 if "days" in name else 0.01)
        table[name] = np.clip(value + jitter * rng.standard_normal(n), 0.0, None if "days" in name else 1.0)
    return pd.DataFrame(table)


def check(table: pd.DataFrame, targets=(SEED01, SEED02, SEED03, SOC01), seed: int = 1) -> pd.DataFrame:
    return predictive_check(table, list(targets), OBSERVATIONS, np.random.default_rng(seed)).set_index("target")


def test_a_posterior_that_reproduces_every_study_passes():
    table = check(draws())
    assert (table["verdict"] == PASS).all(), table[["median", "p05", "p95", "verdict"]]
    # the replicate of "0 of 10 recurred" counts events: 0 is likely at p = 0.1 ((0.9)^10 = 0.35)
    assert table.loc["trial_recurrence_followup", "p05"] == 0.0
    assert table.loc["soc_closed_week12", "study_n"] == 326


@pytest.mark.parametrize("target, value, which", [
    ("trial_closed_fraction", 0.5, "observed_in_central_90"),  # 10 of 10 at p = 0.5: probability 0.001
    ("soc_closed_week12", 0.37, "median_in_interval"),  # a control arm healing 37% by week 12
    ("trial_mean_closure_days", 60.0, "median_in_interval"),
    ("trial_recurrence_followup", 0.45, "observed_in_central_90"),  # 0 of 10 at p = 0.45: probability 0.0025
])
def test_a_posterior_that_misses_a_study_fails_it_and_only_it(target, value, which):
    table = check(draws(**{target: value}))
    assert table.loc[target, which] == FAIL and table.loc[target, "verdict"] == FAIL
    assert (table.drop(index=target)["verdict"] == PASS).all()


def test_nothing_healed_fails():
    table = check(draws(trial_mean_closure_days=np.nan))
    assert table.loc["trial_mean_closure_days", "verdict"] == FAIL
    assert table.loc["trial_mean_closure_days", "undefined_draws"] == 50


def test_a_median_at_the_intervals_edge_with_few_draws_is_undecided_not_passed():
    """With 8 draws whose share is SOC01's upper bound, the Monte Carlo interval of the median straddles it."""
    verdicts = [check(draws(n=8, seed=s).assign(soc_closed_week12=0.288), targets=(SOC01,), seed=s)
                .loc["soc_closed_week12", "median_in_interval"] for s in range(10)]
    assert verdicts.count(UNDECIDED) >= 9 and PASS not in verdicts, verdicts


def test_replicates_are_binomial_at_the_study_size_and_normal_with_the_per_patient_sd():
    rng = np.random.default_rng(3)
    table = pd.DataFrame({"soc_closed_week12": [0.25] * 400, "trial_mean_closure_days": [30.0] * 400,
                          "sd.trial_mean_closure_days": [20.0] * 400})
    shares = replicate(table, OBSERVATIONS[3], rng, replicates=50)
    assert shares.shape == (400, 50)
    assert np.allclose(shares * 326, np.round(shares * 326))  # counts of 326 patients
    assert shares.std() == pytest.approx(np.sqrt(0.25 * 0.75 / 326), rel=0.05)
    days = replicate(table, OBSERVATIONS[1], rng, replicates=50)
    assert days.std() == pytest.approx(20.0 / np.sqrt(10), rel=0.05)


def test_a_normal_observation_needs_the_per_patient_sd_in_one_line():
    with pytest.raises(InputError, match=r"^predictive check: trial_mean_closure_days is a normal observation "
                                         r"without a stated sd, and the draws lack 'sd\.trial_mean_closure_days'"):
        replicate(draws().drop(columns=["sd.trial_mean_closure_days"]), OBSERVATIONS[1], np.random.default_rng(0))


def test_a_target_without_an_observation_model_is_refused():
    with pytest.raises(InputError, match=r"no observation model .* \['soc_closed_week20'\]"):
        predictive_check(draws(), [Target("soc_closed_week20", 0.309, 0.266, 0.351)], OBSERVATIONS,
                         np.random.default_rng(0))


def test_the_check_is_a_function_of_its_seed():
    a, b = check(draws(), seed=5), check(draws(), seed=5)
    pd.testing.assert_frame_equal(a, b)
