"""Product records (woundsim.products): a new product is one record, its dose reaches exactly the fields it
names, and the built-in products route as the positional tables of version 1 did."""

import numpy as np
import pytest

from woundsim import layout as L
from woundsim import products
from woundsim.config import to_objects
from woundsim.errors import InputError
from woundsim.model import WoundModel
from woundsim.params import ModelParams, with_overrides
from woundsim.patient import Patient
from woundsim.products import Product
from woundsim.treatment import Treatment
from woundsim.units import half_life_to_rate


def _first_hour(params, treatment):
    model = WoundModel(params, Patient(area_cm2=0.5), treatment, seed=3)
    model.step()  # injects at hour 0, then acts, releases and diffuses
    return model


def test_a_new_product_reaches_exactly_the_fields_it_names(monkeypatch, coarse_params):
    gel = Product("growth_factor_gel", shares={"vegf": 0.6, "egf": 0.4}, release_half_life_h=5.0)
    monkeypatch.setitem(products.CATALOGUE, gel.name, gel)
    regimen = dict(dose_ug_per_site=10.0, sites=4, schedule_days=[0.0])
    model = _first_hour(coarse_params, Treatment(product=gel.name, **regimen))
    vehicle = _first_hour(coarse_params, Treatment(product="placebo", **regimen))
    assert model.depot_products == ("growth_factor_gel",)
    # what one step released, per field: the product's shares of the released amount, nothing elsewhere
    released = 10.0 * model.units_per_ug_voxel * -np.expm1(-half_life_to_rate(5.0) * model.dt)
    expected = np.zeros(len(L.FIELD_NAMES))
    expected[[L.VEGF, L.EGF]] = released * np.array([0.6, 0.4]) / model.dt
    np.testing.assert_allclose(model.release_rate, expected, rtol=1e-12)
    # the same run with vehicle only (same sites, same draws) differs in the named fields alone
    differs = [name for f, name in enumerate(L.FIELD_NAMES)
               if not np.array_equal(model.fields.c[f], vehicle.fields.c[f])]
    assert differs == ["vegf", "egf"]
    assert (model.fields.c[L.VEGF] >= vehicle.fields.c[L.VEGF]).all()


def test_the_mixture_routes_as_the_version_1_tables():
    params = with_overrides(ModelParams(), {"derivative.cm_fraction_il10": 0.45, "derivative.exosome_potency": 2.0,
                                            "derivative.ev_release_half_life_h": 30.0})
    d = params.derivative
    route = products.routing(Treatment().product_doses(), params)
    assert route.products == ("conditioned_medium", "extracellular_vesicles", "exosomes")
    # model.py's positional tables before the records (the half-lives, release_to and release_share)
    half = (d.cm_release_half_life_h, d.ev_release_half_life_h, d.exosome_release_half_life_h)
    assert np.array_equal(route.release_per_h, np.array([half_life_to_rate(h) for h in half]))
    assert np.array_equal(route.release_to, [[L.IL10, L.TGFB, L.VEGF, L.EGF], [L.EV, -1, -1, -1], [L.EV, -1, -1, -1]])
    assert np.array_equal(route.release_share, [[d.cm_fraction_il10, d.cm_fraction_tgfb, d.cm_fraction_vegf,
                                                 d.cm_fraction_egf], [1.0, 0, 0, 0], [d.exosome_potency, 0, 0, 0]])
    assert route.release_share[0, 0] == 0.45 and route.release_share[2, 0] == 2.0


def test_the_mixture_splits_its_dose_by_the_treatment_shares():
    t = Treatment(product="mixture", dose_ug_per_site=12.0, mixture={"conditioned_medium": 1.0, "exosomes": 3.0})
    assert t.product_doses() == {"conditioned_medium": 3.0, "exosomes": 9.0}
    assert products.routing(t.product_doses(), ModelParams()).products == ("conditioned_medium", "exosomes")
    assert Treatment().mixture == {p: 1.0 / 3.0 for p in ("conditioned_medium", "extracellular_vesicles", "exosomes")}


def test_placebo_injects_vehicle_that_reaches_no_field(coarse_params):
    placebo = Treatment(product="placebo", dose_ug_per_site=0.0, sites=4, schedule_days=[0.0])
    assert placebo.injects and not placebo.gives_product and placebo.product_doses() == {}
    model = _first_hour(coarse_params, placebo)
    assert model.depot_products == () and len(model.injection_sites) == 4
    assert not model.release_rate.any() and not model.fields.c[L.EV].any()


def test_a_single_product_routes_its_own_row():
    route = products.routing(Treatment(product="exosomes").product_doses(), ModelParams())
    assert route.products == ("exosomes",)
    assert np.array_equal(route.release_to, [[L.EV]]) and np.array_equal(route.release_share, [[1.2]])


def test_hydra_overrides_of_the_old_parameter_names_still_act():
    cfg = {"model": {"derivative": {"cm_fraction_egf": 0.4, "cm_release_half_life_h": 3.0}},
           "treatment": {"product": "conditioned_medium"}}
    params, _, treatment, _ = to_objects(cfg)
    route = products.routing(treatment.product_doses(), params)
    assert route.release_share[0, 3] == 0.4 and route.release_per_h[0] == half_life_to_rate(3.0)


def test_every_record_reads_parameters_that_exist():
    products.check_catalogue()
    for name in products.blendable():
        assert products.lookup(name).releases


@pytest.mark.parametrize("build, words", [
    (lambda: Product("gel", shares={"vgf": 1.0}, release_half_life_h=1.0), "unknown fields ['vgf']"),
    (lambda: Product("gel", shares={"vegf": 1.0}), "no release_half_life_h"),
    (lambda: products.lookup("stem_cells"), "treatment.product = 'stem_cells' is unknown"),
])
def test_bad_records_get_one_line_errors(build, words):
    with pytest.raises(InputError) as err:
        build()
    assert words in str(err.value) and "\n" not in str(err.value)


def test_a_record_naming_a_missing_parameter_is_refused_in_one_line(monkeypatch):
    gel = Product("gel", shares={"vegf": "derivative.gel_share"}, release_half_life_h=1.0)
    monkeypatch.setitem(products.CATALOGUE, gel.name, gel)
    with pytest.raises(InputError, match=r"product 'gel': unknown model parameter 'derivative.gel_share'"):
        products.check_catalogue()


@pytest.mark.parametrize("name", ["PRODUCTS", "PRODUCT_CHOICES"])
def test_the_old_product_lists_name_their_replacement(name):
    with pytest.raises(ImportError, match="woundsim.products"):
        exec(f"from woundsim.treatment import {name}")
