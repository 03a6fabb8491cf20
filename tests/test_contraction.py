"""Wound contraction as a conservative remap (woundsim.contraction): what it keeps, what it moves, and that it moves.

Synthetic grids: an elliptic ulcer in a margin of skin, random fields, debris, depots and cohorts. Each test
names the invariant of docs/contraction.md that it checks.
"""

from __future__ import annotations

import numpy as np
import pytest

from woundsim.agents import CellPopulation
from woundsim.contraction import MERGE_RULES, contract_wound, radial_map
from woundsim.errors import InputError
from woundsim.kernels.contraction import map_points, plan_remap
from woundsim.layout import CELL_KINDS, FIELD_NAMES

NY, NX = 90, 110
CENTRE = (44.0, 57.0)
SEMI = (22.0, 30.0)  # rows, columns (voxels)


def _ellipse(scale: float = 1.0) -> np.ndarray:
    yy, xx = np.mgrid[0:NY, 0:NX]
    return ((yy - CENTRE[0]) / (SEMI[0] * scale)) ** 2 + ((xx - CENTRE[1]) / (SEMI[1] * scale)) ** 2 <= 1.0


def _tissue(seed: int = 0, healed_rim: bool = False) -> dict:
    """A wound with random layers; `healed_rim`: the outer third of the ulcer is already covered."""
    rng = np.random.default_rng(seed)
    wound = _ellipse()
    open_ = _ellipse(0.65) if healed_rim else wound
    t = {
        "wound": wound,
        "epithelium": np.where(open_, 0.0, 1.0),
        "fractions": {"granulation": np.where(wound, rng.uniform(0.1, 0.8, wound.shape), 1.0),
                      "perfusion": np.where(wound, rng.uniform(0.2, 0.5, wound.shape), 0.9),
                      "deficit_mm": np.where(wound, rng.uniform(1.0, 3.5, wound.shape), 0.0)},
        "amounts": {"fields": rng.random((len(FIELD_NAMES), NY, NX)) * (rng.random((len(FIELD_NAMES), NY, NX)) < 0.7),
                    "debris": np.where(wound, rng.exponential(0.5, wound.shape), 0.0),
                    "depot": _depot_footprints(rng)},
    }
    t["cohorts"], t["occupancy"] = _cohorts(rng, wound)
    return t


def _depot_footprints(rng) -> np.ndarray:
    """Three products' footprints on a ring of 8 injection discs 3 voxels outside the ulcer."""
    foot = np.zeros((3, NY, NX))
    yy, xx = np.mgrid[0:NY, 0:NX]
    for theta in np.linspace(0.0, 2 * np.pi, 8, endpoint=False):
        sy = CENTRE[0] + (SEMI[0] + 3) * np.sin(theta)
        sx = CENTRE[1] + (SEMI[1] + 3) * np.cos(theta)
        disc = (yy - sy) ** 2 + (xx - sx) ** 2 <= 4.0
        foot[:, disc] += rng.random((3, 1)) / disc.sum()
    return foot


def _cohorts(rng, wound) -> tuple[dict, dict]:
    """Dense cohorts: macrophages anywhere (30%), fibroblasts in the ulcer (60%), keratinocytes on its edge ring."""
    ring = _ellipse(1.12) & ~wound
    where = {"macrophage": rng.random(wound.shape) < 0.3, "fibroblast": wound & (rng.random(wound.shape) < 0.6),
             "keratinocyte": ring & (rng.random(wound.shape) < 0.8)}
    cohorts, occupancy, next_uid = {}, {}, np.array([1], dtype=np.int64)
    for kind in CELL_KINDS:
        ys, xs = np.nonzero(where[kind])
        c = CellPopulation(kind, capacity=NY * NX)
        c.add(ys, xs, next_uid)
        c.state[: c.n] = rng.random(c.n)
        cohorts[kind] = c
        occupancy[kind] = where[kind].astype(np.int64)
    return cohorts, occupancy


def _contract(t: dict, fraction: float, offset=(0.5, 0.5), **kw):
    return contract_wound(fraction, t["wound"], t["epithelium"], fractions=t["fractions"], amounts=t["amounts"],
                          cohorts=t["cohorts"], occupancy=t["occupancy"], offset=offset, **kw)


def _snapshot(t: dict) -> dict:
    out = {"wound": t["wound"].copy(), "epithelium": t["epithelium"].copy()}
    out.update({k: v.copy() for k, v in {**t["fractions"], **t["amounts"], **t["occupancy"]}.items()})
    for kind, c in t["cohorts"].items():
        out[kind] = tuple(a[: c.n].copy() for a in (c.y, c.x, c.uid, c.state))
    return out


def _centroid_distance(weights: np.ndarray, centre) -> float:
    yy, xx = np.mgrid[0:NY, 0:NX]
    return float((weights * np.hypot(yy - centre[0], xx - centre[1])).sum() / weights.sum())


OFFSETS = [(0.5, 0.5), (0.03, 0.91), (0.77, 0.2)]


@pytest.mark.parametrize("fraction", [0.02, 0.15, 0.5])
@pytest.mark.parametrize("offset", OFFSETS)
def test_fields_depots_and_debris_keep_their_totals(fraction, offset):
    t = _tissue(seed=int(fraction * 100))
    before = {k: v.sum(axis=(-2, -1)) for k, v in t["amounts"].items()}
    r = _contract(t, fraction, offset)
    assert r.changed.size > 0 or (fraction < 0.05 and offset == (0.5, 0.5))  # nearest rounding: see below
    for k, v in t["amounts"].items():
        np.testing.assert_allclose(v.sum(axis=(-2, -1)), before[k], rtol=1e-12, atol=0, err_msg=k)
        assert v.min() >= 0.0


@pytest.mark.parametrize("offset", OFFSETS)
def test_fraction_layers_get_no_new_extrema_and_untouched_voxels_stay_bit_identical(offset):
    t = _tissue(seed=3, healed_rim=True)
    old = _snapshot(t)
    r = _contract(t, 0.2, offset)
    for name in ("epithelium", *t["fractions"]):
        new = t[name] if name == "epithelium" else t["fractions"][name]
        assert new.min() >= old[name].min() and new.max() <= old[name].max(), name
        kept = np.ones(NY * NX, dtype=bool)
        kept[r.changed] = False
        assert new.reshape(-1)[kept].tobytes() == old[name].reshape(-1)[kept].tobytes(), name


@pytest.mark.parametrize("offset", OFFSETS)
def test_every_cohort_is_kept_or_merged_with_its_record(offset):
    t = _tissue(seed=5)
    old = _snapshot(t)
    r = _contract(t, 0.25, offset)
    assert sum(len(m) for m in r.merges.values()) > 0  # a dense bed contracted by a quarter must merge some
    for kind, c in t["cohorts"].items():
        m, (y0, x0, uid0, state0) = r.merges[kind], old[kind]
        assert c.n + len(m) == uid0.size
        alive = c.uid[: c.n]
        assert np.array_equal(np.sort(np.concatenate([alive, m.gone_uid])), uid0)
        assert np.all(np.diff(alive) > 0)  # slot order kept: uids still ascending
        assert np.isin(m.kept_uid, alive).all()
        occ = np.zeros((NY, NX), dtype=np.int64)
        np.add.at(occ, (c.y[: c.n], c.x[: c.n]), 1)
        assert np.array_equal(occ, t["occupancy"][kind]) and occ.max() <= 1
        if MERGE_RULES[kind] == "sum":
            assert c.state[: c.n].sum() == pytest.approx(state0.sum(), rel=1e-12)
        else:
            assert c.state[: c.n].min() >= state0.min() and c.state[: c.n].max() <= state0.max()
        np.testing.assert_array_equal(m.gone_state, state0[np.searchsorted(uid0, m.gone_uid)])


def test_no_contraction_is_the_identity_bit_for_bit():
    t = _tissue(seed=7, healed_rim=True)
    old = _snapshot(t)
    r = _contract(t, 0.0, offset=(0.37, 0.81))
    assert r.changed.size == 0 and not r.wound_changed and r.open_after == r.open_before
    new = _snapshot(t)
    for k, v in old.items():
        if isinstance(v, tuple):
            assert all(a.tobytes() == b.tobytes() for a, b in zip(v, new[k])), k
        else:
            assert v.tobytes() == new[k].tobytes(), k
    assert all(len(m) == 0 for m in r.merges.values())


def test_a_closed_wound_does_not_move():
    t = _tissue(seed=1)
    t["epithelium"][...] = 1.0
    old = _snapshot(t)
    r = _contract(t, 0.3)
    assert r.open_before == 0 and r.changed.size == 0
    assert all(np.array_equal(t["amounts"][k], old[k]) for k in t["amounts"])


@pytest.mark.parametrize("healed_rim", [False, True])
def test_the_open_area_shrinks_by_the_fraction_asked(healed_rim):
    # one large step, within lattice tolerance, with nearest rounding
    t = _tissue(seed=2, healed_rim=healed_rim)
    r = _contract(t, 0.3)
    assert r.open_after / r.open_before == pytest.approx(0.7, abs=0.03)
    # small daily steps (below half a voxel at the edge) with a fresh offset each day: unbiased on average
    t = _tissue(seed=2, healed_rim=healed_rim)
    rng = np.random.default_rng(11)
    area = [int(np.count_nonzero(t["wound"] & (t["epithelium"] < 1.0)))]
    for _ in range(20):
        area.append(_contract(t, 0.02, offset=tuple(rng.random(2))).open_after)
    assert (area[-1] / area[0]) ** (1 / 20) == pytest.approx(0.98, abs=0.003)


def test_nearest_rounding_loses_sub_voxel_movement_and_the_offset_keeps_it():
    """Why the offset is drawn daily: at 1% a day an edge 30 voxels out moves 0.15 voxel, which nearest
    rounding undoes every day."""
    t = _tissue(seed=4)
    area0 = int(t["wound"].sum())
    for _ in range(5):
        r = _contract(t, 0.01)
    assert r.open_after == area0


def test_the_wound_mask_shrinks_and_reports_the_voxels_that_left():
    t = _tissue(seed=6)
    wound0 = t["wound"].copy()
    r = _contract(t, 0.2, offset=(0.25, 0.6))
    assert r.wound_changed and r.entered_wound.size == 0
    assert not t["wound"].reshape(-1)[r.left_wound].any() and wound0.reshape(-1)[r.left_wound].all()
    assert np.array_equal(wound0 & ~t["wound"], np.isin(np.arange(NY * NX), r.left_wound).reshape(NY, NX))
    assert t["wound"].sum() == pytest.approx(0.8 * wound0.sum(), rel=0.03)


def test_periwound_skin_depots_and_edge_keratinocytes_move_inward_and_far_skin_stays():
    t = _tissue(seed=8)
    tracer = (_ellipse(1.25) & ~_ellipse(1.05)).astype(np.float64)  # a band of periwound skin
    t["amounts"]["tracer"] = tracer
    depot0 = t["amounts"]["depot"][0].copy()
    ker = t["cohorts"]["keratinocyte"]
    ker0 = np.hypot(ker.y[: ker.n] - CENTRE[0], ker.x[: ker.n] - CENTRE[1]).mean()
    edge = np.zeros((NY, NX), dtype=bool)
    edge[[0, -1], :] = edge[:, [0, -1]] = True
    fields0 = t["amounts"]["fields"].copy()
    r = _contract(t, 0.2, offset=(0.4, 0.7))
    c = r.centroid
    assert _centroid_distance(tracer, c) < _centroid_distance(_ellipse(1.25) & ~_ellipse(1.05), c) - 0.5
    assert _centroid_distance(t["amounts"]["depot"][0], c) < _centroid_distance(depot0, c) - 0.5
    assert np.hypot(ker.y[: ker.n] - CENTRE[0], ker.x[: ker.n] - CENTRE[1]).mean() < ker0 - 0.5
    assert np.array_equal(t["amounts"]["fields"][:, edge], fields0[:, edge])  # the domain edge is fixed


def test_the_remap_moves_content_where_the_map_sends_it():
    """Fails if the remap is a no-op: one marked voxel at the open edge goes to its image, inward."""
    t = _tissue(seed=9)
    mark = np.zeros((NY, NX))
    y, x = int(CENTRE[0]), int(CENTRE[1] + SEMI[1] - 1)  # on the open edge, due east of the centre
    mark[y, x] = 1.0
    t["amounts"]["mark"] = mark
    r = _contract(t, 0.3)
    (ty,), (tx,) = np.nonzero(mark)
    r0 = np.hypot(y - r.centroid[0], x - r.centroid[1])
    assert np.hypot(ty - r.centroid[0], tx - r.centroid[1]) == pytest.approx(r0 * np.sqrt(0.7), abs=1.0)
    assert mark[ty, tx] == 1.0 and (ty, tx) != (y, x)


def test_the_map_is_monotone_along_rays_and_shrinks_the_open_core_exactly():
    open_ = _ellipse()
    rmap = radial_map(open_, 0.1)
    cy, cx = rmap.cy, rmap.cx
    for theta in np.linspace(0.0, 2 * np.pi, 37):
        r = np.linspace(0.0, 80.0, 400)
        ys, xs = cy + r * np.sin(theta), cx + r * np.cos(theta)
        iy, ix = map_points(rmap, ys, xs)
        rr = np.hypot(iy - cy, ix - cx)
        assert np.all(np.diff(rr) > 0) and np.all(rr <= r + 1e-9)
        inside = (ys >= 0) & (ys <= NY - 1) & (xs >= 0) & (xs <= NX - 1)
        assert np.allclose((iy - cy)[r > 0] * (xs - cx)[r > 0], (ix - cx)[r > 0] * (ys - cy)[r > 0])  # same ray
        last = np.flatnonzero(inside)[-1]
        assert rr[last] == pytest.approx(r[last])  # identity at the domain edge
    # the image of the ulcer's outline (inside the uniform core) encloses 90% of its area
    theta = np.linspace(0.0, 2 * np.pi, 4001)
    ys, xs = CENTRE[0] + SEMI[0] * np.sin(theta), CENTRE[1] + SEMI[1] * np.cos(theta)
    iy, ix = map_points(rmap, ys, xs)
    shoelace = lambda y, x: 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))  # noqa: E731
    assert shoelace(iy, ix) / shoelace(ys, xs) == pytest.approx(0.9, rel=1e-6)


def test_every_voxel_receives_content():
    rmap = radial_map(_ellipse(), 0.3, (0.1, 0.9))
    plan = plan_remap(rmap, NY, NX)
    assert plan.received.min() > 0.0  # no voxel is left empty (every hole is filled)
    np.testing.assert_allclose(plan.received.sum(), plan.changed.size, rtol=1e-12)  # the changed voxels' area


@pytest.mark.parametrize(("kw", "message"), [
    ({"area_fraction": 1.0}, "area_fraction = 1.0 is out of range"),
    ({"area_fraction": -0.1}, "area_fraction = -0.1 is out of range"),
    ({"offset": (0.2, 1.0)}, "offset (column) = 1.0 is out of range"),
    ({"reach": 0.0}, "reach = 0.0 wound radii is out of range"),
    ({"amounts": {"debris": np.zeros((NY, NX), dtype=np.float32)}}, "debris must be a writeable C-contiguous float64"),
    ({"fractions": {"granulation": np.zeros((NY + 1, NX))}}, "granulation must be"),
    ({"merge_rules": {**MERGE_RULES, "keratinocyte": "max"}}, "merge rule of 'keratinocyte' is 'max'"),
])
def test_bad_input_is_refused_in_one_line(kw, message):
    t = _tissue()
    args = {"area_fraction": 0.1, "fractions": t["fractions"], "amounts": t["amounts"], "cohorts": t["cohorts"],
            "occupancy": t["occupancy"], **kw}
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")) as e:
        contract_wound(args.pop("area_fraction"), t["wound"], t["epithelium"], **args)
    assert "\n" not in str(e.value)


def test_the_model_moves_every_tissue_layer():
    from woundsim import tissue
    from woundsim.model import WoundModel
    from woundsim.params import ModelParams, with_overrides

    model = WoundModel(with_overrides(ModelParams(), {"numerics.dx_um": 200.0}), seed=1)
    fractions, amounts = model.contraction_layers()
    moved = set(fractions) | set(amounts) | {"epithelium"}
    assert set(tissue._LAYERS) | {"deficit_mm", "footprint"} <= moved, "a TissueState layer the contraction leaves behind"


def test_a_day_of_contraction_in_the_model_shrinks_the_open_area_and_keeps_the_tissue_consistent():
    from woundsim.model import WoundModel
    from woundsim.params import ModelParams, with_overrides
    from woundsim.patient import Patient

    p = with_overrides(ModelParams(), {"numerics.dx_um": 200.0, "contraction.rate_per_day": 20.0})
    model = WoundModel(p, Patient(area_cm2=1.0, plantar=False), seed=1)
    fib = model.populations["fibroblast"]
    fib.state[: fib.n] = 1.0  # wholly myofibroblast cohorts
    debris0, open0 = model.debris.sum(), model.n_open
    model._contract()
    assert 0 < model.contracted_voxels == open0 - model.n_open
    assert model.debris.sum() == pytest.approx(debris0, rel=1e-12)
    t = model.tissue
    assert np.array_equal(t.wound_idx, np.flatnonzero(t.wound)) and t.n_wound == t.wound.sum() < t.initial_n_wound
    assert t.wound[fib.y[: fib.n], fib.x[: fib.n]].all()  # fibroblasts stand on the wound only
    assert model.myofibroblast_activity > 0
