"""The compiled agent step: its on-disk cache stamp, its errors, the capacity bound it relies on."""

import math
import shutil

import numpy as np
import pytest

from woundsim import _kernel_cache
from woundsim.config import named_params
from woundsim.errors import InputError
from woundsim.kernels import cells as K
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
    names = {p.name for p in _kernel_cache.KERNEL_SOURCES}
    assert {"rules.py", "cells.py", "tissue.py", "diffusion.py", "step.py"} <= names


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
    model.fields.source[K.PDGF, y, x] = np.nan
    with pytest.raises(InputError, match=rf"source\['pdgf'\] at voxel \(y={y}, x={x}\) = nan"):
        model.step()


def test_cohort_arrays_hold_one_cohort_per_voxel_so_births_never_hit_the_capacity():
    model = WoundModel(seed=1)
    ny, nx = model.geometry.shape
    for _ in range(48):
        model.step()
    for cohort in model.cohorts.values():
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
    patient = Patient(area_cm2=0.5, texas_grade=1, duration_weeks=6.0, hba1c_pct=7.0)
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
