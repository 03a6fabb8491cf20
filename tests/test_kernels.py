"""The compiled agent step: its on-disk cache stamp, its errors, its random draws, its batching, its capacity bound."""

import math
import shutil

import numpy as np
import pytest
from numba import njit

from woundsim import _kernel_cache
from woundsim.config import named_params
from woundsim.errors import InputError
from woundsim import layout as L
from woundsim.kernels import cells as K
from woundsim.kernels.draws import poisson
from woundsim.kernels.step import hourly_rules
from woundsim.model import WoundModel
from woundsim.params import with_overrides
from woundsim.patient import Patient
from woundsim.rules import hill
from woundsim.treatment import Treatment


def test_every_kernel_is_cached_under_one_stamp_of_all_kernel_sources():
    # hourly_rules compiles in the cell, tissue and diffusion kernels and woundsim.rules; stamped with its own
    # file only (Numba's default) it would load stale after an edit to any of them
    for kernel in (hourly_rules, hill, K.fibroblast_step):
        locator = kernel._cache._impl.locator
        assert type(locator).__name__.startswith("KernelSources")
        assert locator.get_source_stamp() == _kernel_cache.kernel_sources_stamp()
        # and in the cache files' names: an index written by other sources (e.g. before a bundle class was
        # renamed, which Numba cannot unpickle) is never opened
        assert locator.get_disambiguator().endswith(_kernel_cache.kernel_sources_stamp()[:16])
    names = {p.name for p in _kernel_cache.KERNEL_SOURCES}
    assert {"rules.py", "layout.py", "cells.py", "tissue.py", "diffusion.py", "step.py"} <= names


def test_an_edit_to_any_kernel_source_changes_the_stamp(tmp_path, monkeypatch):
    copies = []
    for path in _kernel_cache.KERNEL_SOURCES:
        copies.append(tmp_path / path.name)
        shutil.copy(path, copies[-1])
    monkeypatch.setattr(_kernel_cache, "KERNEL_SOURCES", tuple(copies))
    before = _kernel_cache.kernel_sources_stamp()
    tissue = next(p for p in copies if p.name == "tissue.py")
    tissue.write_text(tissue.read_text() + "\n# an edit to a callee of hourly_rules\n")
    assert _kernel_cache.kernel_sources_stamp() != before


def test_a_bad_source_met_inside_the_compiled_step_is_named():
    model = WoundModel(seed=0)
    model.step()
    y, x = np.argwhere(model.wound)[0]
    model.fields.source[L.PDGF, y, x] = np.nan
    with pytest.raises(InputError, match=rf"source\['pdgf'\] at voxel \(y={y}, x={x}\) = nan"):
        model.step()


def test_cohort_arrays_hold_one_cohort_per_voxel_so_births_never_hit_the_capacity():
    model = WoundModel(seed=1)
    ny, nx = model.geometry.shape
    for _ in range(48):
        model.step()
    for cohort in model.populations.values():
        assert cohort.capacity >= ny * nx
        occupied = model.occupancy[cohort.kind]
        assert occupied.max() <= 1 and occupied.sum() == cohort.n  # the bound the capacity relies on


@pytest.mark.parametrize("dx_um, dt_h", [(250.0, 2.0), (200.0, 1.0)])
def test_advance_runs_exactly_the_steps_that_step_runs(dx_um, dt_h):
    # advance() batches the steps between events (injections, debridement, day ends, closure, confirmation,
    # horizon) into one compiled call; a small ulcer that closes and is confirmed inside the horizon meets them all
    p = with_overrides(named_params("calibrated"), {"numerics.dx_um": dx_um, "numerics.dt_agent_h": dt_h,
                                                    "numerics.dt_field_h": dt_h, "numerics.mesa_sync_hours": 0.0,
                                                    "numerics.horizon_weeks": 8.0})
    # well offloaded: the plantar load's breakdowns (draws included) run, yet the ulcer closes (docs/foot.md)
    patient = Patient(area_cm2=0.5, texas_grade=1, duration_weeks=6.0, hba1c_pct=7.0, offloading_adherence=0.95)
    treatment = Treatment(schedule_days=[0.0, 3.5, 7.0])
    one, batched = WoundModel(p, patient, treatment, seed=4), WoundModel(p, patient, treatment, seed=4)
    while one.running:
        one.step()
    batches = []
    while batched.running:
        batches.append(batched.advance())
    assert not math.isnan(one.first_closure_h)  # the closure and confirmation events were met
    assert max(batches) > 1 and sum(batches) == round(batched.hours / dt_h) and batched.hours == one.hours
    assert batched.records == one.records and batched.first_closure_h == one.first_closure_h
    for layer in ("epithelium", "granulation", "debris", "perfusion"):
        assert np.array_equal(getattr(batched, layer), getattr(one, layer))
    assert np.array_equal(batched.fields.c, one.fields.c)


@njit(cache=False)
def _kernel_poissons(rng, lams, reps):
    out = np.empty(lams.size * reps, dtype=np.int64)
    for r in range(reps):
        for j in range(lams.size):
            out[r * lams.size + j] = poisson(rng, lams[j])
    return out


def test_kernel_poisson_draws_numpys_numbers_where_numbas_own_does_not():
    # the generator state met at hour 552 of a virtual-trial patient: Numba's Generator.poisson(10.21) returns 0
    # there (it truncates PTRS's candidate toward zero where NumPy floors it); NumPy and ours return 17
    state = {"bit_generator": "PCG64", "has_uint32": 0, "uinteger": 0,
             "state": {"state": 312574654612125021954511125657050420462,
                       "inc": 63344008465327759814893175277918973271}}
    lams = np.array([0.5410042057242282, 10.21009502293333])
    ours, theirs = np.random.Generator(np.random.PCG64()), np.random.Generator(np.random.PCG64())
    ours.bit_generator.state = theirs.bit_generator.state = state
    assert list(_kernel_poissons(ours, lams, 1)) == [theirs.poisson(lam) for lam in lams] == [0, 17]


def test_kernel_poisson_matches_numpy_draw_for_draw_across_means():
    lams = np.concatenate([np.linspace(0.0, 30.0, 31), [9.999999, 10.0, 47.3, 133.7, 1000.5, 1e5]])
    for seed in range(5):
        ours, theirs = np.random.default_rng(seed), np.random.default_rng(seed)
        drawn = _kernel_poissons(ours, lams, 500)
        assert np.array_equal(drawn, [theirs.poisson(lam) for _ in range(500) for lam in lams])
        assert ours.random() == theirs.random()  # and the generators are left in the same state


def test_the_layout_names_each_field_by_its_position_and_the_vectors_fill_every_slot():
    assert [getattr(L, name.upper()) for name in L.FIELD_NAMES] == list(range(len(L.FIELD_NAMES)))
    assert [getattr(L, kind.upper()) for kind in L.CELL_KINDS] == list(range(len(L.CELL_KINDS)))
    model = WoundModel(seed=0)
    assert tuple(model.fields.names) == L.FIELD_NAMES and tuple(model.populations) == L.CELL_KINDS
    for vector, length in ((model.tp, L.T_LEN), (model.mp, L.M_LEN), (model.fp, L.F_LEN), (model.kp, L.K_LEN),
                           (model.rates, L.R_LEN)):
        assert vector.shape == (length,)
