"""Biological constants are named parameters (woundsim.params) that reach the model, each cell kind reads its own,
and hour/day/week conversions live in woundsim.units (issue 15 item 7)."""

import ast
from pathlib import Path

import numpy as np
import pytest

from woundsim import layout as L
from woundsim.model import WoundModel
from woundsim.params import ModelParams, with_overrides
from woundsim.patient import Patient
from woundsim.rates import fibroblast_vector, keratinocyte_vector, macrophage_vector, tissue_vector


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
    # without the chronic bed's fibroblasts (woundsim.chronic), the entry density is the parameter's alone
    params = with_overrides(ModelParams(), {"numerics.dx_um": 200.0, name: value, "chronic.bed_fibroblast_density": 0.0})
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


def test_the_kernel_constants_are_parameters_in_their_vectors():
    params = with_overrides(ModelParams(), {"macrophage.pdgf_m1_share": 0.2, "fibroblast.deposit_own_share": 0.6,
                                            "tissue.covered_debris_decay_per_day": 2.0})
    mp, fp = macrophage_vector(params, 0.0), fibroblast_vector(params, 0.0)
    assert (mp[L.M_PDGF_M1_SHARE], mp[L.M_PDGF_RISE]) == (0.2, 0.8)  # PDGF x (0.2 + 0.8 phi)
    assert fp[L.F_DEPOSIT_OWN] == 0.6 and fp[L.F_DEPOSIT_OWN] + 4 * fp[L.F_DEPOSIT_NEIGHBOUR] == pytest.approx(1.0)
    assert tissue_vector(params, 0.0)[L.T_DEBRIS_RESOLVE] == pytest.approx(2.0 / 24.0)
    defaults = ModelParams()  # the constants they replace: 0.3 + 0.7 phi, a half and four eighths, 1/24 per hour
    assert macrophage_vector(defaults, 0.0)[[L.M_PDGF_M1_SHARE, L.M_PDGF_RISE]].tolist() == [0.3, 0.7]
    assert fibroblast_vector(defaults, 0.0)[[L.F_DEPOSIT_OWN, L.F_DEPOSIT_NEIGHBOUR]].tolist() == [0.5, 0.125]
    assert tissue_vector(defaults, 0.0)[L.T_DEBRIS_RESOLVE] == 1.0 / 24.0


@pytest.mark.parametrize("module, name", [("woundsim.model", "INITIAL_MACROPHAGE_DENSITY"),
                                          ("woundsim.kernels.tissue", "COVERED_DEBRIS_DECAY_PER_H")])
def test_the_old_constant_names_point_to_their_parameters(module, name):
    with pytest.raises(ImportError, match="model parameter"):
        exec(f"from {module} import {name}")


def _unit_literals(root: Path) -> list[str]:
    """Places that multiply or divide by a literal 24, 7 or 168 (an hour/day/week conversion)."""
    ops = (ast.Mult, ast.Div, ast.FloorDiv, ast.Mod)
    hits = []
    for package in ("woundsim", "calibration", "experiments"):
        for path in sorted((root / package).rglob("*.py")):
            if path == root / "woundsim" / "units.py":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.BinOp) and isinstance(node.op, ops):
                    operands = (node.left, node.right)
                elif isinstance(node, ast.AugAssign) and isinstance(node.op, ops):
                    operands = (node.value,)
                else:
                    continue
                if any(isinstance(o, ast.Constant) and type(o.value) in (int, float) and o.value in (24, 7, 168)
                       for o in operands):
                    hits.append(f"{path.relative_to(root)}:{node.lineno}")
    return hits


def test_hours_days_and_weeks_are_converted_in_the_units_module_only():
    hits = _unit_literals(Path(__file__).resolve().parents[1])
    assert not hits, f"literal hour/day/week conversions (use woundsim.units): {', '.join(hits)}"
