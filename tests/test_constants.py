"""Biological constants are named parameters (woundsim.params) that reach the model, and each cell kind reads
its own (issue 15 item 7)."""

import numpy as np
import pytest

from woundsim import layout as L
from woundsim.model import WoundModel
from woundsim.params import ModelParams, with_overrides
from woundsim.patient import Patient
from woundsim.rates import fibroblast_vector, keratinocyte_vector, macrophage_vector


@pytest.mark.parametrize("kind, slot", [("macrophage", L.M_EV_UPTAKE), ("fibroblast", L.F_EV_UPTAKE),
                                        ("keratinocyte", L.K_EV_UPTAKE)])
def test_each_cell_kind_takes_up_vesicles_at_its_own_rate(kind, slot):
    params = with_overrides(ModelParams(), {f"{kind}.ev_uptake_per_h": 0.2})
    vectors = {"macrophage": (macrophage_vector(params, 0.0), L.M_EV_UPTAKE),
               "fibroblast": (fibroblast_vector(params, 0.0), L.F_EV_UPTAKE),
               "keratinocyte": (keratinocyte_vector(params, 0.0), L.K_EV_UPTAKE)}
    for other, (vector, other_slot) in vectors.items():
        assert vector[other_slot] == (0.2 if other == kind else 0.05)


def test_the_defaults_keep_the_macrophage_value_for_every_kind():
    p = ModelParams()
    assert p.fibroblast.ev_uptake_per_h == p.keratinocyte.ev_uptake_per_h == p.macrophage.ev_uptake_per_h


def test_fibroblast_slowing_is_capped_by_its_parameter():
    params = with_overrides(ModelParams(), {"impairment.fibroblast_slowing": 0.9,
                                            "impairment.fibroblast_slowing_max": 0.5})
    assert fibroblast_vector(params, 2.0)[L.F_GLYC] == 0.5


@pytest.mark.parametrize("name, value", [("macrophage.initial_density", 0.0), ("fibroblast.initial_density", 0.0)])
def test_initial_cohort_densities_are_parameters(name, value):
    params = with_overrides(ModelParams(), {"numerics.dx_um": 200.0, name: value})
    model = WoundModel(params, Patient(area_cm2=1.0), seed=2)
    assert model.populations[name.split(".")[0]].n == 0
    dense = WoundModel(with_overrides(params, {name: 0.5}), Patient(area_cm2=1.0), seed=2)
    assert dense.populations[name.split(".")[0]].n == pytest.approx(0.5 * dense.n_wound, rel=0.2)


def test_the_purse_string_threshold_is_a_share_of_cover_granulation():
    params = with_overrides(ModelParams(), {"numerics.dx_um": 200.0, "keratinocyte.purse_string_granulation": 0.6,
                                            "keratinocyte.cover_granulation": 0.9})
    assert WoundModel(params, Patient(area_cm2=0.5), seed=1).rates[L.R_PURSE_COVER] == pytest.approx(0.54)


def test_the_deficit_at_the_margin_is_a_share_of_the_depth():
    params = with_overrides(ModelParams(), {"numerics.dx_um": 200.0, "tissue.deficit_edge_fraction": 1.0})
    model = WoundModel(params, Patient(area_cm2=0.5, texas_grade=2), seed=1)
    assert np.all(model.deficit_mm[model.wound] == params.tissue.depth_grade2_mm)


def test_the_impairment_strength_is_capped_by_its_parameter():
    params = with_overrides(ModelParams(), {"numerics.dx_um": 200.0, "impairment.strength_max": 1.5})
    assert WoundModel(params, Patient(area_cm2=0.5, hba1c_pct=14.0), seed=1).impairment == 1.5
