"""The chronic starting state and senescent cohorts (issue 17 item 3; woundsim.chronic, docs/chronic.md).

Unit checks of the entry-state rules at their limits, then behaviour over several seeds with common random
numbers and paired one-sided t-tests (n - 1 df) at alpha 0.005, as tests/test_behaviour.py: a longer-standing
ulcer heals more slowly, and debridement removes senescent cohorts. Each comparison fails when nothing
heals (or nothing is senescent): equal values in both arms cannot pass.
"""

import dataclasses
import math

import numpy as np
import pytest

from woundsim import chronic
from woundsim.model import WoundModel
from woundsim.params import ModelParams, with_overrides
from woundsim.patient import Patient
from woundsim.simulate import simulate
from woundsim.treatment import standard_care

from test_behaviour import BASE, HORIZON_WEEKS, SEEDS, assert_greater  # the seeds, patient and paired t-test (alpha 0.005)


def params(**overrides) -> ModelParams:
    return with_overrides(ModelParams(), {"numerics.dx_um": 200.0, "numerics.horizon_weeks": HORIZON_WEEKS,
                                          "numerics.mesa_sync_hours": 0.0, **overrides})


# ---- the entry state's rules ---------------------------------------------------------------------------
def test_entry_granulation_fills_shallow_and_old_deficits_more_up_to_the_plateau():
    p = ModelParams()
    deficit = np.array([[0.3, 1.0, 3.5, 7.5]])
    wound = np.ones_like(deficit, dtype=bool)
    g15 = chronic.entry_granulation(deficit, wound, 15.0, p)[0]
    assert np.all(np.diff(g15) < 0), "a deeper voxel is less filled"
    assert np.all(chronic.entry_granulation(deficit, wound, 30.0, p)[0] > g15), "a longer-standing ulcer is more filled"
    assert np.all(chronic.entry_granulation(deficit, wound, 0.0, p)[0] == 0.0), "a fresh wound is empty"
    assert chronic.entry_granulation(deficit, wound, 1e4, p)[0] == pytest.approx(p.chronic.granulation_plateau)
    outside = chronic.entry_granulation(deficit, np.zeros_like(wound), 15.0, p)
    assert np.all(outside == 1.0), "intact skin is whole"


def test_entry_debris_is_the_periodic_steady_state_of_the_care_before_entry():
    p = ModelParams()
    t, e = p.tissue, p.standard_care.debridement_efficiency
    level = chronic.entry_debris(p, infected=False)
    r, k, interval = t.debris_growth_per_day, t.debris_max, p.chronic.prior_debridement_interval_days
    d = level
    for _ in range(5):  # debride, then regrow logistically for one interval: back to the same level
        d *= 1.0 - e
        g = math.exp(r * interval)
        d = k * d * g / (k + d * (g - 1.0))
    assert 0.0 < level < k and d == pytest.approx(level, rel=1e-12)
    assert chronic.entry_debris(with_overrides(p, {"chronic.prior_debridement_interval_days": 0.0}), False) == k
    assert chronic.entry_debris(with_overrides(p, {"chronic.prior_debridement_interval_days": 7.0}), False) == 0.0
    assert chronic.entry_debris(p, infected=True) == pytest.approx(min(k, t.debris_infected_fold * level))


def test_entry_senescence_rises_with_duration_and_new_cohorts_are_not_senescent():
    p = params()
    shares = [chronic.entry_senescent_share(w, p) for w in (0.0, 4.0, 15.0, 60.0)]
    assert shares[0] == 0.0 and np.all(np.diff(shares) > 0) and shares[-1] < p.impairment.senescence_max
    model = WoundModel(p, dataclasses.replace(BASE, duration_weeks=60.0), seed=3)
    first_new_uid = int(model.next_uid[0])
    for kind in chronic.EDGE_KINDS:
        c = model.populations[kind]
        assert 0.4 < c.senescent[: c.n].mean() < 0.8, f"{kind}: about {shares[-1]:.2f} of the cohorts at entry"
    assert not model.populations["macrophage"].senescent[: model.populations["macrophage"].n].any()
    for _ in range(24 * 5):
        model.step()
    for kind, c in model.populations.items():
        new = c.uid[: c.n] >= first_new_uid
        assert new.any(), f"no {kind} cohort was born or recruited in 5 days"
        assert np.all(c.senescent[: c.n][new] == 0.0), f"a new {kind} cohort is senescent"


def test_debridement_removes_senescent_edge_cohorts_only():
    model = WoundModel(params(), dataclasses.replace(BASE, duration_weeks=60.0), seed=5)
    before = {k: (model.populations[k].uid[: model.populations[k].n].copy(),
                  model.populations[k].senescent[: model.populations[k].n].copy()) for k in chronic.EDGE_KINDS}
    open_ = model.wound & (model.epithelium < 1.0)
    removed = chronic.debride_senescent(model.populations, model.occupancy, open_, 1.0, model.rng)
    for kind in chronic.EDGE_KINDS:
        c, (uid0, sen0) = model.populations[kind], before[kind]
        gone = ~np.isin(uid0, c.uid[: c.n])
        assert gone.sum() == removed[kind] > 0
        assert np.all(sen0[gone] == 1.0), f"a non-senescent {kind} cohort was removed"
        assert np.all(np.diff(c.uid[: c.n]) > 0) and np.all(c.y[: c.n] >= 0)
        occ = np.zeros_like(model.occupancy[kind])
        np.add.at(occ, (c.y[: c.n], c.x[: c.n]), 1)
        assert np.array_equal(occ, model.occupancy[kind])
    ker = model.populations["keratinocyte"]
    at_edge = chronic.open_neighbour(open_)[ker.y[: ker.n], ker.x[: ker.n]]
    assert not np.any(ker.senescent[: ker.n][at_edge] > 0.0), "removal 1 leaves no senescent edge keratinocyte"


# ---- behaviour over seeds ---------------------------------------------------------------------------------
def _day_rows(patient: Patient, p: ModelParams, day: int) -> list:
    """Each seed's daily record on `day` (standard care; the run stops there)."""
    out = []
    for seed in SEEDS:
        ts = simulate(p, patient, standard_care(), seed=seed, stop_after_day=lambda rows: rows[-1]["day"] >= day).timeseries
        out.append(ts[ts.day == day].iloc[0])
    return out


def _senescent_after(patient: Patient, p: ModelParams, day: int) -> np.ndarray:
    return np.array([r.senescent_fibroblasts + r.senescent_keratinocytes for r in _day_rows(patient, p, day)])


def test_debridement_removes_senescent_cohorts_over_seeds():
    patient = dataclasses.replace(BASE, duration_weeks=60.0)
    debrided = _senescent_after(patient, params(), 15)
    never = _senescent_after(patient, params(**{"standard_care.debridement_interval_days": 0.0}), 15)
    assert np.all(never > 0), f"no senescent cohort to remove: {never}"
    assert_greater(never, debrided, "senescent cohorts on day 15 without vs with debridement")


def test_longer_duration_slows_healing():
    """A 60-week ulcer heals more slowly than a 4-week one: percent area reduction by day 28 under standard care
    (the clinic's early-healing measure; CMP14 is PAR at week 4). Nothing healing gives 0 in both arms: fails."""
    par = {weeks: np.array([r.par_pct for r in _day_rows(dataclasses.replace(BASE, duration_weeks=weeks), params(), 28)])
           for weeks in (4.0, 60.0)}
    assert_greater(par[4.0], par[60.0], "PAR by day 28, 4- vs 60-week ulcer")
