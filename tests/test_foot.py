"""The patient's foot (issue 17 item 4; docs/foot.md): one definition of the unoffloaded load, and the compiled
rule by which it breaks down the fresh front, tested at its limits on hand-built tissue and in a running model."""

import dataclasses

import numpy as np
import pytest

from tests.test_tissue_state import assert_invariants, run_to_day, small_model
from woundsim import layout as L
from woundsim.foot import load_intensity, unoffloaded_load
from woundsim.kernels.foot import break_down, load_front, off_open_voxels
from woundsim.model import WoundModel
from woundsim.params import FootParams, ModelParams, RecurrenceParams, with_overrides
from woundsim.patient import Patient
from woundsim.rates import tissue_vector
from woundsim.recurrence import ClosureState, reference_load, risk_score
from woundsim.treatment import Treatment


# ---- the load -----------------------------------------------------------------------------------
def test_the_recurrence_model_reads_the_same_unoffloaded_load():
    post = RecurrenceParams()
    assert reference_load(post) == unoffloaded_load(1.0, post.reference_adherence, post.offloading_relief)
    # the load term of the recurrence score moves with log U, whatever else the patient has
    base = dict(plantar=np.array([True, True]), neuropathy=np.array([True, True]),
                peripheral_artery_disease=np.array([False, False]), smoker=np.array([False, False]),
                male=np.array([True, True]), age_years=np.array([65.0, 65.0]), scar_maturity=np.array([1.0, 1.0]))
    fields = {f.name for f in dataclasses.fields(ClosureState)}
    state = ClosureState(**{k: v for k, v in base.items() if k in fields}, plantar_load=np.array([1.0, 1.5]),
                         offloading_adherence=np.array([0.71, 0.3]))
    eta = risk_score(state, post)
    u = unoffloaded_load(state.plantar_load, state.offloading_adherence, post.offloading_relief)
    assert eta[1] - eta[0] == pytest.approx(post.load_exponent * np.log(u[1] / u[0]))


def test_load_intensity_limits():
    foot = FootParams()
    assert load_intensity(Patient(plantar=False, plantar_load=2.0, offloading_adherence=0.0), foot) == 0.0
    assert load_intensity(Patient(plantar_load=1.0, offloading_adherence=0.0), foot) == 1.0
    assert load_intensity(Patient(plantar_load=0.0), foot) == 0.0
    by_adherence = [load_intensity(Patient(offloading_adherence=a), foot) for a in (0.0, 0.5, 0.9, 1.0)]
    assert np.all(np.diff(by_adherence) < 0)
    assert by_adherence[-1] == pytest.approx((1.0 - foot.offloading_relief) ** foot.load_exponent)


def test_the_tissue_vector_scales_the_breakdown_speed_by_the_load_and_the_grid():
    p = with_overrides(ModelParams(), {"numerics.dx_um": 200.0, "foot.epithelial_breakdown_um_day": 480.0})
    assert tissue_vector(p, 0.0, 0.5)[L.T_LOAD_EPITHELIUM] == pytest.approx(0.5 * 480.0 / 24.0 / 200.0)
    assert tissue_vector(p, 0.0)[L.T_LOAD_EPITHELIUM] == 0.0
    assert tissue_vector(p, 0.0)[L.T_MATURATION] == pytest.approx(1.0 / (24.0 * p.foot.maturation_days))


# ---- the kernels on hand-built tissue -----------------------------------------------------------
def strip_model() -> WoundModel:
    """A small model whose wound is covered on its left half and open on its right half."""
    model = WoundModel(with_overrides(ModelParams(), {"numerics.dx_um": 200.0, "numerics.mesa_sync_hours": 0.0}),
                       Patient(area_cm2=0.5), seed=1)
    t = model.tissue
    ys, xs = np.nonzero(t.wound)
    covered = xs < np.median(xs)
    t.epithelium[ys[covered], xs[covered]] = 1.0
    t.granulation[t.wound] = 1.0
    t.debris[t.wound] = 0.0
    return model


def front_masks(t):
    open_ = t.wound & (t.epithelium < 1.0)
    nb_open = np.zeros_like(open_)
    nb_open[1:, :] |= open_[:-1, :]
    nb_open[:-1, :] |= open_[1:, :]
    nb_open[:, 1:] |= open_[:, :-1]
    nb_open[:, :-1] |= open_[:, 1:]
    return t.wound & (t.epithelium >= 1.0) & nb_open, open_


def test_no_load_only_matures_the_covered_tissue():
    model = strip_model()
    t = model.tissue
    before = {name: getattr(t, name).copy() for name in ("granulation", "epithelium", "debris")}
    tp = model.tp.copy()
    tp[L.T_LOAD_EPITHELIUM] = 0.0
    assert load_front(t.arrays, tp, 24.0) == 0.0
    covered = t.wound & (t.epithelium >= 1.0)
    expected = 1.0 - np.exp(-tp[L.T_MATURATION] * 24.0)
    assert np.allclose(t.maturity[covered], expected) and np.all(t.maturity[t.wound & ~covered] == 0.0)
    assert np.all(t.maturity[~t.wound] == 1.0)
    for name, layer in before.items():
        assert np.array_equal(getattr(t, name), layer), name


def test_only_the_fresh_covered_front_carries_a_hazard():
    model = strip_model()
    t = model.tissue
    front, _ = front_masks(t)
    tp = model.tp.copy()
    tp[L.T_LOAD_EPITHELIUM] = 0.01
    t.maturity[front] = 0.25
    total = load_front(t.arrays, tp, 1.0)
    assert total == pytest.approx(0.01 * 0.75 * front.sum())
    # the running sum rises at the front voxels only, by each one's hazard
    steps = np.diff(np.concatenate([[0.0], t.arrays.cumsum_load]))
    on_front = front.ravel()[t.wound_idx]
    assert np.allclose(steps[on_front], 0.0075) and np.all(steps[~on_front] == 0.0)


def test_a_breakdown_opens_its_voxel_tears_granulation_adds_debris_and_takes_its_keratinocytes_off():
    model = strip_model()
    t = model.tissue
    front, _ = front_masks(t)
    tp = model.tp.copy()
    tp[L.T_LOAD_EPITHELIUM], tp[L.T_BREAK_GRANULATION], tp[L.T_BREAK_DEBRIS] = 0.01, 0.3, 0.5
    # a keratinocyte on every covered wound voxel
    kera = model.populations["keratinocyte"]
    cy, cx = np.nonzero(t.wound & (t.epithelium >= 1.0) & (model.occupancy["keratinocyte"] == 0))
    model._add("keratinocyte", cy, cx, 0.0)
    total = load_front(t.arrays, tp, 1.0)
    u = np.array([0.0, 0.5, 0.999999])  # three distinct front voxels: the first, the middle and the last
    opened = break_down(t.arrays, tp, u, total)
    assert opened == 3
    broken = front & (t.epithelium < 1.0)
    assert broken.sum() == 3
    assert np.all(t.granulation[broken] == pytest.approx(0.7)) and np.all(t.debris[broken] == 0.5)
    assert np.all(t.maturity[broken] == 0.0)
    n = off_open_voxels(kera.n, model._cell_arrays().keratinocyte, t.arrays)
    kera.n = n
    assert not np.any(broken[kera.y[:n], kera.x[:n]])
    occupancy = np.zeros(t.shape, dtype=np.int64)
    np.add.at(occupancy, (kera.y[:n], kera.x[:n]), 1)
    assert np.array_equal(occupancy, model.occupancy["keratinocyte"])


def test_debris_added_by_a_breakdown_stops_at_the_carrying_capacity():
    model = strip_model()
    t = model.tissue
    front, _ = front_masks(t)
    t.debris[front] = model.params.tissue.debris_max - 0.1
    tp = model.tp.copy()
    tp[L.T_LOAD_EPITHELIUM], tp[L.T_BREAK_DEBRIS] = 0.01, 2.0
    total = load_front(t.arrays, tp, 1.0)
    break_down(t.arrays, tp, np.linspace(0.0, 0.999, 50), total)
    assert t.debris.max() == model.params.tissue.debris_max


# ---- in a running model -----------------------------------------------------------------------
def test_a_heavily_loaded_model_keeps_every_invariant():
    model = small_model()
    model.tp[L.T_LOAD_EPITHELIUM] = 0.05  # 240 µm/day at 200 µm: well above the edge's advance
    run_to_day(model, 6.0)
    assert_invariants(model)
    assert np.all((model.maturity >= 0.0) & (model.maturity <= 1.0))
    assert np.all(model.maturity[model.wound & (model.epithelium < 1.0)] == 0.0)


def test_a_closed_wound_has_no_front_for_the_load_to_break():
    model = small_model()
    t = model.tissue
    t.epithelium[:] = 1.0
    t.granulation[:] = 1.0
    tp = model.tp.copy()
    tp[L.T_LOAD_EPITHELIUM] = 1.0
    assert load_front(t.arrays, tp, 1.0) == 0.0


def test_a_patient_without_load_draws_nothing_for_it():
    """With no load the rule draws no random numbers: such a run is the run of a model without the rule."""
    # no plantar tethering: contraction, active from day 0 on a chronic bed, must not tell the two patients apart
    p = with_overrides(ModelParams(), {"numerics.dx_um": 200.0, "numerics.horizon_weeks": 4.0,
                                       "contraction.plantar_tethering": 0.0})
    off_plantar = Patient(area_cm2=0.5, plantar=False)
    no_speed = with_overrides(p, {"foot.epithelial_breakdown_um_day": 0.0})
    a = WoundModel(p, off_plantar, Treatment(), seed=4)
    b = WoundModel(no_speed, Patient(area_cm2=0.5), Treatment(), seed=4)
    for m in (a, b):
        while m.day < 5.0:
            m.advance()
    assert a.load_intensity == 0.0 and b.tp[L.T_LOAD_EPITHELIUM] == 0.0
    assert np.array_equal(a.epithelium, b.epithelium) and np.array_equal(a.granulation, b.granulation)
