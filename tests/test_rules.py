"""Limit cases of the pure rule functions: no signal gives the base rate, saturation the maximum."""

import math

import pytest

from woundsim import rules


def test_hill_limits():
    assert rules.hill(0.0, 1.0) == 0.0
    assert rules.hill(1.0, 1.0) == pytest.approx(0.5)
    assert rules.hill(1e9, 1.0) == pytest.approx(1.0, abs=1e-8)
    assert rules.hill(-1.0, 1.0) == 0.0  # a negative concentration never activates


def test_rate_to_prob_limits():
    assert rules.rate_to_prob(0.0, 1.0) == 0.0
    assert rules.rate_to_prob(1e-6, 1.0) == pytest.approx(1e-6, rel=1e-5)  # small rates: p ~ rate * dt
    assert rules.rate_to_prob(1e6, 1.0) == pytest.approx(1.0)
    assert rules.rate_to_prob(math.log(2), 1.0) == pytest.approx(0.5)


def test_relax_reaches_equilibrium_and_stays_in_unit_interval():
    assert rules.relax(0.2, 0.0, 0.0, 1.0) == 0.2  # no drive, no change
    assert rules.relax(0.0, 1.0, 1.0, 1e6) == pytest.approx(0.5)
    x = 0.9
    for _ in range(100):
        x = rules.relax(x, 0.3, 2.0, 5.0)
        assert 0.0 <= x <= 1.0
    assert x == pytest.approx(0.3 / 2.3)


def test_impairment_strength_is_zero_at_normal_glucose_one_at_high_and_capped():
    assert rules.impairment_strength(6.0, 6.0, 12.0, 2.0) == 0.0
    assert rules.impairment_strength(4.0, 6.0, 12.0, 2.0) == 0.0
    assert rules.impairment_strength(12.0, 6.0, 12.0, 2.0) == pytest.approx(1.0)
    assert rules.impairment_strength(40.0, 6.0, 12.0, 2.0) == 2.0
    assert rules.impairment_strength(40.0, 6.0, 12.0, 1.5) == 1.5


def test_keratinocyte_glucose_factor_matches_doubling_times():
    # Int Wound J 2005 2:298: 3.65 d at 6 mM, 5.43 d at 12 mM
    assert rules.keratinocyte_glucose_factor(0.0, 3.65, 5.43) == 1.0
    assert rules.keratinocyte_glucose_factor(1.0, 3.65, 5.43) == pytest.approx(3.65 / 5.43)


def test_senescence_grows_with_duration_to_its_maximum():
    assert rules.senescence(0.0, 0.6, 12.0) == 0.0
    assert rules.senescence(12.0, 0.6, 12.0) < rules.senescence(24.0, 0.6, 12.0) < 0.6
    assert rules.senescence(1e4, 0.6, 12.0) == pytest.approx(0.6)


def test_inhibition_bounds():
    assert rules.inhibition(0.0, 1.0, 0.7) == 1.0
    assert rules.inhibition(1e9, 1.0, 0.7) == pytest.approx(0.3)


def test_version_1_recurrence_probability_is_retired():
    with pytest.raises(ImportError, match="woundsim.endpoints.recurrence_outcomes"):
        rules.recurrence_probability
