"""One agent step of the model's rules in one compiled call: recruit, act, remodel, diffuse.

`WoundModel.step` runs `hourly_rules` for one agent step, between the Python-side events
(injections, debridement) and observation; `WoundModel.advance` runs it for all the steps up to the
next such event in one call (`run_steps`). They take the model's arrays as the named bundles of
`woundsim.kernels.bundles`. Random numbers come from the model's own NumPy `Generator`, passed in:
Numba draws from its bit generator in place, and the draws are NumPy's own (uniforms by Numba,
Poisson counts by `woundsim.kernels.draws.poisson`), so one seed still determines a run whichever
side draws.
"""

from __future__ import annotations

from numba import njit

from woundsim.kernels.cells import compact, fibroblast_step, keratinocyte_step, macrophage_step
from woundsim.kernels.diffusion import lod_substeps
from woundsim.kernels.draws import poisson
from woundsim.kernels.foot import break_down, load_front, off_open_voxels
from woundsim.kernels.tissue import (place_recruits, recruitment_cumsums, release_depots, release_footprint,
                                     tissue_step)
from woundsim.layout import FIBROBLAST, KERATINOCYTE, MACROPHAGE, R_PHI_RECRUIT


@njit(cache=True, error_model="numpy")
def run_steps(n_steps, closed, rng, cells, tissue, fields, vectors, depots, dt):
    """Up to `n_steps` (>= 1) agent steps of `hourly_rules`, stopping early after a step that closes the
    wound (no open voxel left) while `closed` is False, or re-opens it while `closed` is True, or meets
    a bad source or uptake value: the caller has work to do after such a step.

    Returns:
        (steps, n_open, bad): the steps taken, then `hourly_rules`' result for the last of them.
    """
    n_open, bad = -1, -1
    for k in range(n_steps):
        n_open, bad = hourly_rules(rng, cells, tissue, fields, vectors, depots, dt)
        if bad >= 0 or (n_open == 0) != closed:
            return k + 1, n_open, bad
    return n_steps, n_open, bad


@njit(cache=True, error_model="numpy")
def hourly_rules(rng, cells, tissue, fields, vectors, depots, dt):
    """Recruit, act (macrophages, fibroblasts, keratinocytes), load the foot, remodel the tissue, release the
    depots and diffuse the fields: one agent step of `dt` hours, in place.

    Args:
        rng: the model's numpy.random.Generator (advanced in place).
        cells: `CellArrays` (woundsim.kernels.bundles): the cohorts of each kind, whose arrays' length (the
            capacity) is at least the number of voxels, so the one-cohort-per-voxel cap bounds every
            birth; their counts and the next uid, updated.
        tissue: `TissueArrays`: the wound's geometry, indices and layers.
        fields: `FieldArrays`: the fields and their solver's factors (`FactorFields.kernel_args`).
        vectors: `RuleVectors`: the tissue, cell and `rates` parameter vectors (slots of `woundsim.layout`).
        depots: `DepotArrays`: the products not yet released and their routing into the fields.
        dt: agent step (h).

    Returns:
        (n_open, bad): the wound voxels still open, and -1 or the flat index of a negative, NaN or
        infinite source or uptake value met by the field solver (the run must stop).
    """
    counts, rates = cells.counts, vectors.rates

    # recruit: one pass for both kinds (fibroblast rates do not depend on where new macrophages go)
    total_m, total_f = recruitment_cumsums(tissue, cells, fields.c, vectors.tissue, rates)
    counts[MACROPHAGE] = _recruit(rng, tissue.cumsum_m, total_m, dt, tissue.wound_idx, cells.macrophage,
                                  counts[MACROPHAGE], rates[R_PHI_RECRUIT], cells.next_uid)
    counts[FIBROBLAST] = _recruit(rng, tissue.cumsum_f, total_f, dt, tissue.wound_idx, cells.fibroblast,
                                  counts[FIBROBLAST], 0.0, cells.next_uid)

    # act: one draw split in order, two uniforms per cohort
    n_m, n_f, n_k = counts[MACROPHAGE], counts[FIBROBLAST], counts[KERATINOCYTE]
    u = rng.random(2 * (n_m + n_f + n_k))
    um, uf, uk = u[: 2 * n_m], u[2 * n_m: 2 * (n_m + n_f)], u[2 * (n_m + n_f):]
    macrophage_step(n_m, cells.macrophage, um[:n_m], um[n_m:], fields, tissue, vectors, dt)
    n_f = fibroblast_step(n_f, cells.fibroblast, cells.next_uid, uf[:n_f], uf[n_f:], fields, tissue, vectors, dt)
    n_k = keratinocyte_step(n_k, cells.keratinocyte, cells.next_uid, uk[:n_k], uk[n_k:], fields, tissue, vectors,
                            dt)
    counts[MACROPHAGE] = compact(n_m, cells.macrophage)
    counts[FIBROBLAST] = compact(n_f, cells.fibroblast)
    counts[KERATINOCYTE] = compact(n_k, cells.keratinocyte)

    # load: unoffloaded plantar load breaks down the fresh front; covered tissue matures (kernels/foot.py)
    counts[KERATINOCYTE] = _load(rng, tissue, cells, counts[KERATINOCYTE], vectors.tissue, dt)

    # remodel the tissue, release the depots
    n_open = tissue_step(tissue, fields, vectors.tissue, rates, dt)
    if depots.per_site.any():
        release_depots(depots, dt)
        release_footprint(tissue.depot_runs, tissue.footprint, fields.source, depots.release_rate)

    # diffuse: sources and uptake held over the agent step
    return n_open, lod_substeps(fields)


@njit(cache=True, error_model="numpy")
def _load(rng, tissue, cells, n_k, tp, dt):
    """The covered front's breakdown hazards and the maturing of covered tissue (`load_front`), then Poisson(total
    hazard x dt) front voxels, drawn from the running sum of their hazards, broken down (`break_down`), their
    keratinocytes taken off; returns the keratinocyte count. No draw when the patient bears no load."""
    total = load_front(tissue, tp, dt)
    k = poisson(rng, total * dt) if total > 0 else 0
    if k == 0:
        return n_k
    if break_down(tissue, tp, rng.random(k), total) == 0:
        return n_k
    return off_open_voxels(n_k, cells.keratinocyte, tissue)


@njit(cache=True, error_model="numpy")
def _recruit(rng, cumsum, total, dt, wound_idx, cohort, n, state0, next_uid):
    """Recruit Poisson(total dt) cohorts at voxels drawn from the cumulative rates (one per free voxel);
    returns the new count."""
    k = poisson(rng, total * dt) if total > 0 else 0  # NumPy's Poisson, not Numba's (see kernels/draws.py)
    if k == 0:
        return n
    u = rng.random(k)
    return place_recruits(cumsum, total, u, wound_idx, cohort, n, state0, next_uid)
