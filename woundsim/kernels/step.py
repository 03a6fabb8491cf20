"""One agent step of the model's rules in one compiled call: recruit, act, remodel, diffuse.

`WoundModel.step` runs `hourly_rules` for one agent step, between the Python-side events
(injections, debridement) and observation; `WoundModel.advance` runs it for all the steps up to the
next such event in one call (`run_steps`). Random numbers come from the model's own NumPy
`Generator`, passed in: Numba draws from its bit generator in place, and the draws are NumPy's own
(uniforms by Numba, Poisson counts by `woundsim.kernels.draws.poisson`), so one seed still
determines a run whichever side draws.
"""

from __future__ import annotations

from numba import njit

from woundsim.kernels.cells import compact, fibroblast_step, keratinocyte_step, macrophage_step
from woundsim.kernels.diffusion import lod_substeps
from woundsim.kernels.draws import poisson
from woundsim.kernels.tissue import (place_recruits, recruitment_cumsums, release_depots, release_footprint,
                                     tissue_step)
from woundsim.layout import (EV, R_ENTRY_F, R_ENTRY_PDGF_GAIN, R_PHI_RECRUIT, R_PURSE_COVER, R_PURSE_STRING,
                             R_RECRUIT_DEBRIS_GAIN, R_RECRUIT_M, R_RECRUIT_TNF_GAIN)


@njit(cache=True, error_model="numpy")
def run_steps(n_steps, closed, rng, counts, cells, occupancy, next_uid, tissue, fields, vectors, rates, depots, dt):
    """Up to `n_steps` (>= 1) agent steps of `hourly_rules`, stopping early after a step that closes the
    wound (no open voxel left) while `closed` is False, or re-opens it while `closed` is True, or meets
    a bad source or uptake value: the caller has work to do after such a step.

    Returns:
        (steps, n_open, bad): the steps taken, then `hourly_rules`' result for the last of them.
    """
    n_open, bad = -1, -1
    for k in range(n_steps):
        n_open, bad = hourly_rules(rng, counts, cells, occupancy, next_uid, tissue, fields, vectors, rates, depots,
                                   dt)
        if bad >= 0 or (n_open == 0) != closed:
            return k + 1, n_open, bad
    return n_steps, n_open, bad


@njit(cache=True, error_model="numpy")
def hourly_rules(rng, counts, cells, occupancy, next_uid, tissue, fields, vectors, rates, depots, dt):
    """Recruit, act (macrophages, fibroblasts, keratinocytes), remodel the tissue, release the depots and
    diffuse the fields: one agent step of `dt` hours, in place.

    Args:
        rng: the model's numpy.random.Generator (advanced in place).
        counts: int64 (3,) live cohorts of macrophages, fibroblasts, keratinocytes; updated.
        cells: per kind, (y, x, uid, state) arrays whose length (the capacity) is at least the number
            of voxels, so the one-cohort-per-voxel cap bounds every birth.
        occupancy: per kind, (ny, nx) int64 cohorts per voxel.
        next_uid: int64 (1,) the next agent uid.
        tissue: (wound_idx, wound_runs, wound, deficit_mm, granulation, epithelium, debris, perfusion,
            perfusion_max, anywhere, cumsum_m, cumsum_f).
        fields: the arguments of `lod_substeps` (`FactorFields.kernel_args`).
        vectors: the (tissue, macrophage, fibroblast, keratinocyte) parameter vectors.
        rates: float64 (R_LEN,) recruitment and purse-string rates, laid out as the R_* slots of
            `woundsim.layout`.
        depots: (per-site amounts, release fraction, release_to, release_share, release rate buffer,
            footprint row runs, footprint).
        dt: agent step (h).

    Returns:
        (n_open, bad): the wound voxels still open, and -1 or the flat index of a negative, NaN or
        infinite source or uptake value met by the field solver (the run must stop).
    """
    mac, fib, ker = cells
    occ_m, occ_f, occ_k = occupancy
    wound_idx, wound_runs, wound, deficit, gran, epi, debris, perfusion, perfusion_max, anywhere, cum_m, cum_f = tissue
    c, source, uptake, uptake_slot = fields[0], fields[1], fields[2], fields[3]
    uptake_ev = uptake[uptake_slot[EV]]
    tp, mp, fp, kp = vectors
    nx = gran.shape[1]

    # recruit: one pass for both kinds (fibroblast rates do not depend on where new macrophages go)
    total_m, total_f = recruitment_cumsums(wound_runs, occ_m, occ_f, epi, gran, perfusion, c, debris, tp,
                                           rates[R_RECRUIT_M], rates[R_RECRUIT_TNF_GAIN],
                                           rates[R_RECRUIT_DEBRIS_GAIN], rates[R_ENTRY_F], rates[R_ENTRY_PDGF_GAIN],
                                           cum_m, cum_f)
    counts[0] = _recruit(rng, cum_m, total_m, dt, wound_idx, nx, occ_m, mac, counts[0], rates[R_PHI_RECRUIT],
                         next_uid)
    counts[1] = _recruit(rng, cum_f, total_f, dt, wound_idx, nx, occ_f, fib, counts[1], 0.0, next_uid)

    # act: one draw split in order, two uniforms per cohort
    n_m, n_f, n_k = counts[0], counts[1], counts[2]
    u = rng.random(2 * (n_m + n_f + n_k))
    um, uf, uk = u[: 2 * n_m], u[2 * n_m: 2 * (n_m + n_f)], u[2 * (n_m + n_f):]
    macrophage_step(n_m, mac[0], mac[1], mac[3], um[:n_m], um[n_m:], c, source, uptake_ev, debris, occ_m, anywhere,
                    tp, mp, dt)
    n_f = fibroblast_step(n_f, fib[0].size, fib[0], fib[1], fib[2], next_uid, uf[:n_f], uf[n_f:], c, source,
                          uptake_ev, gran, deficit, epi, wound, occ_f, tp, fp, dt)
    n_k = keratinocyte_step(n_k, ker[0].size, ker[0], ker[1], ker[2], ker[3], next_uid, uk[:n_k], uk[n_k:], c,
                            source, uptake_ev, gran, epi, wound, debris, occ_k, tp, kp, dt)
    counts[0] = compact(n_m, mac[0], mac[1], mac[2], mac[3])
    counts[1] = compact(n_f, fib[0], fib[1], fib[2], fib[3])
    counts[2] = compact(n_k, ker[0], ker[1], ker[2], ker[3])

    # remodel the tissue, release the depots
    n_open = tissue_step(wound_idx, wound_runs, c, source, debris, perfusion, perfusion_max, gran, epi, tp,
                         rates[R_PURSE_STRING], rates[R_PURSE_COVER], dt)
    depot, frac, release_to, release_share, release_rate, depot_runs, footprint = depots
    if depot.any():
        release_depots(depot, frac, release_to, release_share, dt, release_rate)
        release_footprint(depot_runs, footprint, source, release_rate)

    # diffuse: sources and uptake held over the agent step
    return n_open, lod_substeps(*fields)


@njit(cache=True, error_model="numpy")
def _recruit(rng, cumsum, total, dt, wound_idx, nx, occ, cohort, n, state0, next_uid):
    """Recruit Poisson(total dt) cohorts at voxels drawn from the cumulative rates (one per free voxel);
    returns the new count."""
    k = poisson(rng, total * dt) if total > 0 else 0  # NumPy's Poisson, not Numba's (see kernels/draws.py)
    if k == 0:
        return n
    u = rng.random(k)
    return place_recruits(cumsum, total, u, wound_idx, nx, occ, cohort[0], cohort[1], cohort[2], cohort[3], n,
                          state0, next_uid)
