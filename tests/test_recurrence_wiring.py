"""Recurrence version 2 wired into the run summary (issue 17 item 5): scar maturity from the tissue state at
confirmed closure, the one table function (`woundsim.endpoints.recurrence_outcomes`) against the in-run
result, parameters that act after closure only, and better offloading adherence recurring less."""

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from woundsim.endpoints import RECURRENCE_EVENTS, RECURRENCE_RISKS, recurrence_outcomes
from woundsim.model import WoundModel
from woundsim.params import ModelParams, with_overrides
from woundsim.patient import Patient
from woundsim.simulate import simulate

SEEDS = (11, 22, 33, 44, 55, 66, 77, 88)
ALPHA = 0.005  # one-sided level of the paired t-test
SMALL = Patient(area_cm2=0.3, texas_grade=1, duration_weeks=6.0, hba1c_pct=7.0)  # closes in ~2 months


def coarse(**overrides) -> ModelParams:
    """250 µm / 2 h, a fixed 12-week horizon for every arm: a small grade-I ulcer runs in about a second.

    The foot's load breakdown of fresh tissue (woundsim.foot, docs/foot.md) is switched off: these tests are
    about what follows a closure, and with it on a poorly offloaded plantar ulcer stalls, so the arms would
    differ in who heals rather than in who recurs (tests/test_foot_behaviour.py tests the healing side)."""
    return with_overrides(ModelParams(), {"numerics.dx_um": 250.0, "numerics.dt_agent_h": 2.0,
                                          "numerics.dt_field_h": 2.0, "numerics.horizon_weeks": 12.0,
                                          "foot.epithelial_breakdown_um_day": 0.0, **overrides})


def run_table(patients: list[Patient], params: ModelParams, seeds=SEEDS) -> pd.DataFrame:
    """One row per run: the patient's attributes, its seed and its summary (as every stored table holds them)."""
    rows = [{**p.to_dict(), "seed": s, **simulate(params, p, seed=s).summary} for p, s in zip(patients, seeds)]
    return pd.DataFrame(rows)


def test_scar_maturity_is_read_from_the_tissue_state():
    """Q = mean of granulation x (1 - exp(-days covered / scar time)), the days covered read from the repair
    tissue's maturity 1 - exp(-days covered / maturation time) (0 when open)."""
    model = WoundModel(seed=0)
    t = model.tissue
    w = t.wound
    assert t.scar_maturity(14.0, 73.0) == 0.0  # nothing covered yet
    t.granulation[w] = 0.8
    t.maturity[w] = 1.0 - math.exp(-10.0 / 14.0)  # covered for 10 days
    assert t.scar_maturity(14.0, 73.0) == pytest.approx(0.8 * (1.0 - math.exp(-10.0 / 73.0)))
    broken = np.flatnonzero(w.ravel())[: w.sum() // 2]
    t.maturity.reshape(-1)[broken] = 0.0  # half broken down again: their maturity starts over
    assert t.scar_maturity(14.0, 73.0) == pytest.approx(0.4 * (1.0 - math.exp(-10.0 / 73.0)), rel=0.02)
    assert math.isnan(model.scar_maturity)  # not confirmed yet


def test_stored_closure_states_give_the_in_run_recurrence_and_its_parameters_act_after_closure_only():
    patients = [dataclasses.replace(SMALL, plantar=bool(i % 2), smoker=i % 3 == 0, offloading_adherence=0.1 * i,
                                    age_years=45.0 + 5 * i) for i in range(4)]
    base = coarse()
    stored = run_table(patients, base, SEEDS[:4])
    assert stored["confirmed_closure_day"].notna().sum() >= 3, "the small ulcers should close: nothing to compare"
    again = recurrence_outcomes(stored, base.recurrence, seeds=stored["seed"])
    same(again, stored)
    # other recurrence parameters: the healing (and the scar maturity) is the same run, the recurrence follows
    # from the stored closure states alone
    changed = dataclasses.replace(base.recurrence, same_site_share=0.3, weibull_shape=0.8, reference_risk_12m=0.5)
    rerun = run_table(patients, dataclasses.replace(base, recurrence=changed), SEEDS[:4])
    np.testing.assert_array_equal(rerun["first_closure_day"], stored["first_closure_day"])
    np.testing.assert_array_equal(rerun["scar_maturity"], stored["scar_maturity"])
    refit = recurrence_outcomes(stored, changed, seeds=stored["seed"])
    same(refit, rerun)
    assert not np.allclose(refit["recurrence_same_site_followup"].dropna(), again["recurrence_same_site_followup"].dropna())
    healed = stored["confirmed_closure_day"].notna()
    assert stored.loc[~healed, list(RECURRENCE_RISKS)].isna().all().all()
    assert ((stored.loc[healed, "scar_maturity"] > 0) & (stored.loc[healed, "scar_maturity"] <= 1)).all()


def same(table: pd.DataFrame, summaries: pd.DataFrame) -> None:
    """The table function's risks equal the summaries' (to rounding: patients are integrated together, not one
    at a time), and its drawn events exactly."""
    for column in RECURRENCE_RISKS:
        np.testing.assert_allclose(table[column], summaries[column], rtol=1e-12, atol=0, err_msg=column)
    for column in RECURRENCE_EVENTS:
        np.testing.assert_array_equal(table[column], summaries[column], err_msg=column)


def recurrence_12m_per_seed(adherence: float) -> np.ndarray:
    """Any-site recurrence risk within 12 months per seed; a run that did not close counts 0 (nothing to recur)."""
    table = run_table([dataclasses.replace(SMALL, offloading_adherence=adherence)] * len(SEEDS), coarse())
    return table["recurrence_any_site_12m"].fillna(0.0).to_numpy()


def test_better_offloading_adherence_recurs_less():
    """Paired over common seeds, equal horizons; fails when nothing heals (every difference 0)."""
    poor, good = recurrence_12m_per_seed(0.2), recurrence_12m_per_seed(0.95)
    d = poor - good
    assert np.count_nonzero(good > 0) >= len(SEEDS) / 2, f"the good-adherence arm healed in too few seeds: {good}"
    assert np.any(d != d[0]) or d[0] > 0, f"every paired difference is {d[0]:g}"
    p = stats.ttest_rel(poor, good, alternative="greater").pvalue if np.any(d != d[0]) else 0.0
    assert p < ALPHA, f"{poor} vs {good}: mean paired difference {d.mean():.3f}, one-sided p {p:.3g}"


def test_a_closure_read_at_visits_without_the_last_voxel_covered_is_followed_for_recurrence():
    """A remnant below the 1 mm² detection limit that the run never covers: the clinic reads the ulcer healed at
    its visits and follows the patient, so the summary gives its recurrence (from the confirming visit), while
    the model's own closure (limit 0) and the contraction share stay undefined."""
    from types import SimpleNamespace

    from woundsim.summary import summarise

    params = coarse()
    days = np.arange(0.0, 99.0)
    area = np.where(days < 21.0, 1.0 - days / 21.0 * 0.99, 0.005)  # 0.5 mm² from day 21 on, never 0
    series = pd.DataFrame({"day": days, "open_area_cm2": area, "par_pct": 100.0 * (1.0 - area),
                           "m1_fraction": np.full(days.size, 0.5)})
    model = SimpleNamespace(params=params, hours=98.0 * 24.0, first_closure_h=math.nan, patient=SMALL, seed=11,
                            scar_maturity=math.nan, contracted_voxels=0,  # the model's Q: at limit-0 closure only
                            tissue=SimpleNamespace(scar_maturity=lambda maturation_days, scar_days: 0.4))
    summary = summarise(model, series)
    assert math.isnan(summary["first_closure_day"]) and math.isnan(summary["time_to_closure_days"])
    assert summary["visit_closure_day"] == 21.0 and summary["visit_confirmed_day"] == 35.0
    assert summary["scar_maturity"] == 0.4 and math.isnan(summary["contraction_share"])
    for name in RECURRENCE_RISKS:
        assert 0.0 < summary[name] < 1.0, name
    healed = recurrence_outcomes({**{k: [v] for k, v in SMALL.to_dict().items()}, "confirmed_closure_day": [35.0],
                                  "scar_maturity": [0.4]}, params.recurrence)
    assert summary["recurrence_any_site_12m"] == healed["recurrence_any_site_12m"].iloc[0]
    never = series.assign(open_area_cm2=np.maximum(area, 0.02))  # 2 mm²: never read healed
    assert all(math.isnan(summarise(model, never)[name]) for name in RECURRENCE_RISKS)
