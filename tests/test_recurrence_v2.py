"""woundsim.recurrence: the version-2 recurrence model after confirmed closure (issue 17 item 5)."""

import ast
import dataclasses
import inspect
from pathlib import Path

import numpy as np
import pytest

import woundsim.recurrence as recurrence
from woundsim.errors import InputError
from woundsim.patient import CohortSpec, Patient
from woundsim.recurrence import (ClosureState, RecurrenceParams, cumulative_incidence, odds_ratio_to_hazard_ratio,
                                 odds_ratio_to_risk_ratio, recurrence_hazard_per_month,
                                 recurrences_per_100_person_years, sample_first_events)
from woundsim.seeds import cohort_rng, patient_risk_rng

PARAMS = RecurrenceParams()


def mixed_state(n: int = 3000, seed: int = 4, scar_maturity=None) -> ClosureState:
    """Healers with varied risks (a quarter non-plantar, a fifth without neuropathy, some stage C/D)."""
    spec = CohortSpec(plantar_fraction=0.75, neuropathy_fraction=0.8, stage_mix={"A": 0.7, "C": 0.2, "D": 0.1})
    patients = spec.sample(n, cohort_rng(seed), patient_risk_rng(seed))
    q = np.random.default_rng(seed).uniform(0, 1, n) if scar_maturity is None else scar_maturity
    return ClosureState.from_patients(patients, q)


def one(scar_maturity: float = 1.0, **kwargs) -> ClosureState:
    """One patient (the reference patient unless told otherwise) with a mature scar unless told otherwise."""
    return ClosureState.from_patients([Patient(**kwargs)], scar_maturity)


def test_conversions_of_odds_ratios():
    # Zhang & Yu: a rare outcome keeps RR ~ OR; a common one shrinks it; OR 1 stays 1
    assert odds_ratio_to_risk_ratio(2.0, 1e-6) == pytest.approx(2.0, rel=1e-5)
    assert odds_ratio_to_risk_ratio(5.31, 0.2) == pytest.approx(5.31 / (0.8 + 0.2 * 5.31))
    assert odds_ratio_to_hazard_ratio(1.0, 0.3) == pytest.approx(1.0)
    # the hazard ratio reproduces the exposed group's risk over the follow-up, and lies between RR and OR
    p0, odds = 0.2, 2.15
    hr = odds_ratio_to_hazard_ratio(odds, p0)
    p1 = 1 - (1 - p0) ** hr
    assert p1 / (1 - p1) / (p0 / (1 - p0)) == pytest.approx(odds)
    assert odds_ratio_to_risk_ratio(odds, p0) < hr < odds
    assert recurrence.REC09_HAZARD_RATIO == pytest.approx(np.log(1 - 0.257) / np.log(1 - 0.478))


def test_hazard_falls_with_time_since_closure():
    h = recurrence_hazard_per_month(mixed_state(200), [0.5, 3, 6, 12, 24, 60], PARAMS)
    assert np.all(np.diff(h, axis=1) < 0)
    flat = recurrence_hazard_per_month(mixed_state(200), [1, 30], dataclasses.replace(PARAMS, weibull_shape=1.0))
    assert np.allclose(flat[:, 0], flat[:, 1])
    with pytest.raises(InputError, match="weibull_shape"):
        RecurrenceParams(weibull_shape=1.2)


def test_better_offloading_adherence_lowers_recurrence():
    low, high = one(offloading_adherence=0.2), one(offloading_adherence=0.95)
    risk = lambda s: cumulative_incidence(s, [12, 24], PARAMS).any_site[0]  # noqa: E731
    assert np.all(risk(high) < risk(low) - 0.05)
    # and through the load it relieves: more plantar load, more recurrence; none of it at a non-plantar site
    assert np.all(risk(one(plantar_load=1.5)) > risk(one(plantar_load=0.7)))
    assert np.allclose(risk(one(plantar=False, offloading_adherence=0.2)), risk(one(plantar=False,
                                                                                     offloading_adherence=0.95)))


def test_each_risk_raises_recurrence_and_scar_maturity_acts_on_the_same_site_only():
    base = cumulative_incidence(one(), [24], PARAMS)
    for change in ({"neuropathy": False}, {"plantar": False}, {"male": False}):
        assert cumulative_incidence(one(**change), [24], PARAMS).any_site[0, 0] < base.any_site[0, 0]
    for change in ({"smoker": True}, {"texas_stage": "C"}):
        assert cumulative_incidence(one(**change), [24], PARAMS).any_site[0, 0] > base.any_site[0, 0]
    immature = cumulative_incidence(one(scar_maturity=0.0), [24], PARAMS)
    assert immature.same_site[0, 0] > base.same_site[0, 0]
    assert immature.other_site[0, 0] == pytest.approx(base.other_site[0, 0], rel=0.05)  # only competition moves it
    older = cumulative_incidence(one(age_years=80.0), [24], PARAMS)
    assert older.death[0, 0] > base.death[0, 0] and older.any_site[0, 0] < base.any_site[0, 0]


def test_incidences_and_survival_sum_to_one():
    ci = cumulative_incidence(mixed_state(500), [0, 1, 6, 12, 24, 60, 120], PARAMS)
    total = ci.same_site + ci.other_site + ci.death + ci.event_free
    assert np.max(np.abs(total - 1.0)) < 1e-6
    assert np.all(np.diff(ci.any_site, axis=1) >= 0) and np.all(np.diff(ci.death, axis=1) >= 0)
    assert np.all(ci.any_site[:, 0] == 0)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_sampler_matches_the_cumulative_incidence(seed):
    """The share of sampled first events of each cause by 12 and 24 months lies within 4 binomial SDs (at the
    sample size) of the mean analytic cumulative incidence; over 5 seeds x 8 comparisons a false alarm has
    probability about 40 x 6e-5."""
    state = mixed_state(4000, seed=seed + 10)
    ci = cumulative_incidence(state, [12, 24], PARAMS)
    events = sample_first_events(state, PARAMS, np.random.default_rng(seed))
    for j, months in enumerate((12, 24)):
        for cause, p in (("same_site", ci.same_site), ("other_site", ci.other_site), ("death", ci.death),
                         ("any_site", ci.any_site)):
            expected = p[:, j].mean()
            sd = np.sqrt(expected * (1 - expected) / len(state))
            assert abs(events.by(months, cause).mean() - expected) < 4 * sd, (cause, months)


def test_person_year_rate_falls_with_follow_up():
    state = mixed_state(1000)
    rates = [recurrences_per_100_person_years(state, m, PARAMS) for m in (12, 24, 60)]
    assert rates[0] > rates[1] > rates[2] > 0


def test_parameters_act_after_closure_only():
    """Every public function of the model takes the closure state, time points, its parameters and a generator,
    nothing of the healing model; the closure state holds patient attributes and the scar maturity; the module
    imports nothing that simulates."""
    allowed = {"state", "months", "params", "rng", "followup_months"}
    for fn in (cumulative_incidence, sample_first_events, recurrences_per_100_person_years,
               recurrence_hazard_per_month, recurrence.death_risk, recurrence.cause_coefficients,
               recurrence.risk_score):
        assert set(inspect.signature(fn).parameters) <= allowed, fn.__name__
    patient_fields = {f.name for f in dataclasses.fields(Patient)}
    assert {f.name for f in dataclasses.fields(ClosureState)} <= patient_fields | {"peripheral_artery_disease",
                                                                                     "scar_maturity"}
    tree = ast.parse(Path(recurrence.__file__).read_text())
    imported = {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    # woundsim.foot: the one definition of the unoffloaded load, itself built on the parameters and the patient only
    assert imported <= {"__future__", "dataclasses", "math", "numpy", "woundsim.errors", "woundsim.params",
                        "woundsim.patient", "woundsim.foot"}
    foot = ast.parse(Path(recurrence.__file__).with_name("foot.py").read_text())
    assert {n.module for n in ast.walk(foot) if isinstance(n, ast.ImportFrom)} <= {"__future__", "woundsim.params",
                                                                                   "woundsim.patient"}


def test_closure_state_from_a_stored_table_and_bad_input():
    patients = [Patient(texas_stage="D"), Patient(plantar=False, smoker=True)]
    table = {f.name: [getattr(p, f.name) for p in patients] for f in dataclasses.fields(Patient)}
    state = ClosureState.from_table({**table, "scar_maturity": [0.2, 0.9]})
    assert list(state.peripheral_artery_disease) == [1.0, 0.0] and list(state.scar_maturity) == [0.2, 0.9]
    with pytest.raises(InputError, match="plantar_load"):
        ClosureState.from_table({k: v for k, v in table.items() if k != "plantar_load"}, scar_maturity=1.0)
    with pytest.raises(InputError, match="scar_maturity"):
        ClosureState.from_table(table, scar_maturity=1.5)
    with pytest.raises(InputError, match="months"):
        cumulative_incidence(state, [-1.0], PARAMS)


def test_the_table_of_docs_recurrence_md_runs(capsys):
    from woundsim.recurrence_table import print_recurrence_table

    assert print_recurrence_table(["--patients", "300"]) == 0
    out = capsys.readouterr().out
    assert "REC01/REC04, fitted" in out and "P(0 of 10 same-site within 24 months)" in out and "| REC09 |" in out
