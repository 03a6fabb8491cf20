"""A tissue that changes during a run: TissueState re-derives every index, the model keeps its agents where
they may be, and what the change does not touch is conserved exactly."""

import numpy as np
import pytest

from woundsim import layout as L
from woundsim.errors import InputError
from woundsim.model import WoundModel
from woundsim.params import ModelParams, with_overrides
from woundsim.patient import Patient
from woundsim.treatment import Treatment

LAYERS = ("granulation", "epithelium", "debris", "perfusion", "perfusion_max", "deficit_mm")


def small_model(seed: int = 3) -> WoundModel:
    p = with_overrides(ModelParams(), {"numerics.dx_um": 200.0, "numerics.mesa_sync_hours": 0.0,
                                       "numerics.horizon_weeks": 4.0})
    return WoundModel(p, Patient(area_cm2=1.0), Treatment(schedule_days=[0.0, 3.0]), seed=seed)


def run_to_day(model: WoundModel, day: float) -> None:
    while model.running and model.day < day - 1e-9:
        model.advance()


def runs_flat(runs: np.ndarray, nx: int) -> np.ndarray:
    """The flat indices a (y, x0, x1) run table covers, in its order."""
    parts = [y * nx + np.arange(x0, x1) for y, x0, x1 in runs]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def assert_invariants(model: WoundModel) -> None:
    t = model.tissue
    ny, nx = t.shape
    # indices and runs match the mask and the footprint, in the order the kernels rely on
    assert np.array_equal(t.wound_idx, np.flatnonzero(t.wound))
    assert np.array_equal(runs_flat(t.wound_runs, nx), t.wound_idx)
    assert t.n_wound == t.wound_idx.size == t.arrays.cumsum_m.size == t.arrays.cumsum_f.size
    assert t.arrays.cumsum_load.size == t.n_wound
    assert np.array_equal(runs_flat(t.depot_runs, nx), np.flatnonzero(t.footprint > 0.0))
    # the kernels' bundle is the state's own arrays, not copies
    for name in t.arrays._fields:
        if name not in ("cumsum_m", "cumsum_f", "cumsum_load"):
            assert getattr(t.arrays, name) is getattr(t, name), name
    # intact skin outside the wound; the deficit only on it
    outside = ~t.wound
    assert np.all(t.granulation[outside] == 1.0) and np.all(t.epithelium[outside] == 1.0)
    assert np.all(t.deficit_mm[outside] == 0.0) and np.all(t.deficit_mm[t.wound] > 0.0)
    assert model.n_open == np.count_nonzero(t.wound & (t.epithelium < 1.0))
    # every agent on the grid, where its kind may stand, one per voxel, counted by the occupancy
    for kind, population in model.populations.items():
        y, x = population.y[: population.n], population.x[: population.n]
        assert np.all((0 <= y) & (y < ny) & (0 <= x) & (x < nx)), kind
        assert np.all(t.may_hold(kind)[y, x]), kind
        occupancy = np.zeros(t.shape, dtype=np.int64)
        np.add.at(occupancy, (y, x), 1)
        assert np.array_equal(occupancy, model.occupancy[kind]) and occupancy.max(initial=0) <= 1, kind
        assert np.all(np.diff(population.uid[: population.n]) > 0), kind


def test_a_wound_shrunk_by_a_ring_mid_run_keeps_every_invariant_and_runs_on():
    model = small_model()
    run_to_day(model, 4.0)
    assert_invariants(model)
    t = model.tissue
    ring = t.margin()
    fields_before = model.fields.c.copy()
    layers_before = {name: getattr(t, name).copy() for name in LAYERS}
    wound_before, n_wound_before = t.wound.copy(), t.n_wound
    depot_before, footprint_before = model.depot_per_site.copy(), t.footprint.copy()
    agents_before = {k: (c.uid[: c.n].copy(), c.y[: c.n].copy(), c.x[: c.n].copy(), c.state[: c.n].copy())
                      for k, c in model.populations.items()}
    on_ring = {k: ring[y, x] for k, (_, y, x, _) in agents_before.items()}
    assert ring.any() and on_ring["fibroblast"].any()  # the change has something to do

    t.heal(ring)
    model.tissue_changed()

    # the mask and its indices shrank by exactly the ring
    assert np.array_equal(t.wound, wound_before & ~ring)
    assert t.n_wound == n_wound_before - np.count_nonzero(ring)
    assert t.initial_n_wound > t.n_wound  # the baseline of PAR stays the ulcer at entry
    # the ring is intact skin now; every other voxel of every layer, every field and the depots are untouched
    for name in LAYERS:
        now = getattr(t, name)
        assert np.array_equal(now[~ring], layers_before[name][~ring]), name
    assert np.all(t.granulation[ring] == 1.0) and np.all(t.epithelium[ring] == 1.0)
    assert np.all(t.deficit_mm[ring] == 0.0) and np.all(t.debris[ring] == 0.0)
    assert np.array_equal(t.perfusion[ring], t.perfusion_max[ring])
    assert np.isclose(t.debris.sum(), layers_before["debris"].sum() - layers_before["debris"][ring].sum(),
                      rtol=1e-12, atol=0.0)
    assert np.array_equal(model.fields.c, fields_before)
    assert np.array_equal(model.depot_per_site, depot_before) and np.array_equal(t.footprint, footprint_before)
    # fibroblasts left the healed ring, in order; macrophages and keratinocytes may stand there, so all stayed
    for kind, (uid, y, x, state) in agents_before.items():
        keep = ~on_ring[kind] if kind == "fibroblast" else np.ones(uid.size, dtype=bool)
        c = model.populations[kind]
        for now, before in ((c.uid, uid), (c.y, y), (c.x, x), (c.state, state)):
            assert np.array_equal(now[: c.n], before[keep]), kind
    assert_invariants(model)

    # and the model keeps running on the new geometry: the kernels index it, the records go on
    days_before = len(model.records)
    run_to_day(model, 8.0)
    assert len(model.records) == days_before + 4
    assert_invariants(model)
    assert np.all(np.isfinite(model.fields.c)) and model.fields.c.min() >= 0.0
    assert model.records[-1]["par_pct"] > 0.0


def test_reindex_refuses_arrays_that_do_not_fit_the_grid_in_one_line():
    t = small_model().tissue
    t.granulation = t.granulation.astype(np.float32)
    with pytest.raises(InputError, match=r"TissueState.granulation must be a C-contiguous float64 array"):
        t.reindex()
    t.granulation = np.ones(t.shape)
    t.deficit_mm = np.zeros(t.shape)
    with pytest.raises(InputError, match=r"deficit_mm must be > 0 on every wound voxel"):
        t.reindex()


def test_where_each_kind_may_stand():
    t = small_model().tissue
    assert t.may_hold(L.CELL_KINDS[L.MACROPHAGE]).all()
    assert np.array_equal(t.may_hold("fibroblast"), t.wound)
    assert np.array_equal(t.may_hold("keratinocyte"), t.epithelium >= 1.0)
    with pytest.raises(InputError, match="cell kind 'platelet' is not one of"):
        t.may_hold("platelet")
