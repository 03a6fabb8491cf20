"""The ulcer on its lattice: area, margin, depth, injection ring."""

import math

import numpy as np
import pytest

from woundsim.errors import InputError
from woundsim.geometry import build_geometry, row_runs
from woundsim.params import TissueParams
from woundsim.patient import Patient
from woundsim.units import UM2_PER_CM2

EDGE = TissueParams().deficit_edge_fraction


@pytest.mark.parametrize("area, aspect, irregularity", [(2.0, 1.3, 0.1), (0.6, 1.0, 0.0), (8.0, 2.5, 0.3)])
def test_mask_area_matches_the_patient(area, aspect, irregularity):
    g = build_geometry(Patient(area_cm2=area, aspect=aspect, irregularity=irregularity), 3.5, 100.0, 5.0,
                       np.random.default_rng(0),
                       deficit_edge_fraction=EDGE)
    measured = g.wound.sum() * 100.0**2 / UM2_PER_CM2
    assert measured == pytest.approx(area, rel=0.03)


def test_margin_of_intact_skin_on_every_side():
    g = build_geometry(Patient(area_cm2=2.0), 3.5, 100.0, 5.0, np.random.default_rng(0),
                       deficit_edge_fraction=EDGE)
    ys, xs = np.nonzero(g.wound)
    margin = 5.0 * 1000 / 100.0
    assert ys.min() >= margin - 1 and xs.min() >= margin - 1
    assert g.shape[0] - 1 - ys.max() >= margin - 1 and g.shape[1] - 1 - xs.max() >= margin - 1


def test_domain_is_the_bounding_box_plus_the_margin():
    # DESIGN.md section 2: domain = the ulcer's bounding box plus 5 mm of intact skin on every side
    g = build_geometry(Patient(area_cm2=2.0), 3.5, 100.0, 5.0, np.random.default_rng(0),
                       deficit_edge_fraction=EDGE)
    ys, xs = np.nonzero(g.wound)
    assert g.shape[0] - (ys.max() - ys.min() + 1) == pytest.approx(100, abs=3)
    assert g.shape[1] - (xs.max() - xs.min() + 1) == pytest.approx(100, abs=3)


def test_deficit_is_deepest_at_the_centre_and_zero_outside():
    g = build_geometry(Patient(area_cm2=2.0, irregularity=0.0), 7.5, 100.0, 5.0, np.random.default_rng(0),
                       deficit_edge_fraction=EDGE)
    cy, cx = (int(round(v)) for v in g.centre)
    assert g.deficit_mm[cy, cx] == pytest.approx(7.5, rel=0.02)
    assert g.deficit_mm[~g.wound].max() == 0.0
    assert g.deficit_mm[g.wound].min() >= EDGE * 7.5 - 1e-9


def test_injection_ring_sits_outside_or_inside_the_edge():
    g = build_geometry(Patient(area_cm2=2.0, irregularity=0.0), 3.5, 100.0, 5.0, np.random.default_rng(0),
                       deficit_edge_fraction=EDGE)
    outside = g.injection_sites(8, 2.0)
    inside = g.injection_sites(8, -2.0)
    assert len(outside) == 8 and not any(g.wound[y, x] for y, x in outside)
    assert all(g.wound[y, x] for y, x in inside)
    cy, cx = g.centre
    for (y, x), theta in zip(outside, np.linspace(0, 2 * math.pi, 8, endpoint=False)):
        r = math.hypot(y - cy, x - cx)
        assert r == pytest.approx(g.edge_radius(theta) + 20.0, abs=1.5)


def test_an_ulcer_too_large_for_the_grid_is_refused_with_advice():
    with pytest.raises(InputError, match="dx_um"):
        build_geometry(Patient(area_cm2=59.0, aspect=1.0), 3.5, 50.0, 5.0, np.random.default_rng(0),
                       deficit_edge_fraction=EDGE)


def test_row_runs_cover_the_mask_exactly():
    rng = np.random.default_rng(3)
    mask = rng.random((9, 13)) < 0.4
    mask[:, 0] = mask[:, -1] = True  # runs touching both ends of a row
    runs = row_runs(mask)
    rebuilt = np.zeros_like(mask)
    for y, x0, x1 in runs:
        assert x0 < x1 and not rebuilt[y, x0:x1].any()
        rebuilt[y, x0:x1] = True
    np.testing.assert_array_equal(rebuilt, mask)
    assert row_runs(np.zeros((3, 4), dtype=bool)).shape == (0, 3)
