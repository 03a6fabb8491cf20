"""Numba kernels for the tissue layers: debris, perfusion, granulation breakdown, depots, recruitment."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from woundsim.kernels.cells import (PDGF, T_ANGIO, T_DEBRIS_GROWTH, T_DEBRIS_MAX, T_DEBRIS_TNF, T_K_DEBRIS,
                                    T_K_PDGF, T_K_TNF, T_K_VEGF, T_MMP, T_TNF_MULT, TNF, VEGF)
from woundsim.rules import hill

COVERED_DEBRIS_DECAY_PER_H = 1.0 / 24.0  # 1/h: debris under a closed epithelium resolves within days


@njit(cache=True)
def tissue_step(wound_idx, c, source, debris, perfusion, perfusion_max, gran, epi, tp, purse_per_h, cover, dt):
    """Debris regrowth (open) or resolution (covered), damage-driven tnf, angiogenesis, matrix breakdown,
    and purse-string closure of granulated open voxels whose four neighbours are all covered.

    Args:
        wound_idx: flat index (y * nx + x) of each wound voxel, ascending.
        dt: step (h).

    Returns:
        The number of wound voxels still open (epithelium < 1) afterwards (each voxel's epithelium
        changes only in its own iteration, so the count is taken as the loop goes).
    """
    nx = epi.shape[1]
    cap = tp[T_DEBRIS_MAX]
    grow = math.exp(tp[T_DEBRIS_GROWTH] * dt)  # logistic regrowth, exact over dt
    resolve = math.exp(-COVERED_DEBRIS_DECAY_PER_H * dt)
    tnf_per_debris = tp[T_DEBRIS_TNF] * tp[T_TNF_MULT]
    src_tnf, deb_f, epi_f, gran_f = source[TNF].reshape(-1), debris.reshape(-1), epi.reshape(-1), gran.reshape(-1)
    n_open = 0
    # debris and closure, voxel by voxel (the purse string reads neighbours closed earlier in the loop);
    # a voxel's granulation is read here before its own breakdown below, as in one loop over both
    for k in range(wound_idx.size):
        v = wound_idx[k]
        deb = deb_f[v]
        if epi_f[v] < 1.0:
            if deb > 0.0:
                deb = cap * deb * grow / (cap + deb * (grow - 1.0))
                src_tnf[v] += tnf_per_debris * deb
            if gran_f[v] >= cover and _ringed(v // nx, v % nx, epi):
                epi_f[v] = min(1.0, epi_f[v] + purse_per_h * dt)
        elif deb > 0.0:
            deb = deb * resolve if deb > 1e-6 else 0.0
        deb_f[v] = deb
        n_open += epi_f[v] < 1.0
    # angiogenesis and matrix breakdown: no branches (selects), so that the loop vectorises
    vegf, tnf = c[VEGF].reshape(-1), c[TNF].reshape(-1)
    perf, pmax_f = perfusion.reshape(-1), perfusion_max.reshape(-1)
    k_vegf, k_tnf = tp[T_K_VEGF], tp[T_K_TNF]
    for k in range(wound_idx.size):
        v = wound_idx[k]
        pmax = pmax_f[v]
        rate = tp[T_ANGIO] * hill(vegf[v], k_vegf) * dt
        grown = pmax - (pmax - perf[v]) * (1.0 - rate + 0.5 * rate * rate)
        perf[v] = grown if vegf[v] > 0.0 else perf[v]
        rate = tp[T_MMP] * hill(tnf[v], k_tnf) * dt
        broken = gran_f[v] * (1.0 - rate + 0.5 * rate * rate)  # exp(-rate), rate << 1 per hour
        gran_f[v] = broken if tnf[v] > 0.0 else gran_f[v]
    return n_open


@njit(cache=True)
def _ringed(yy, xx, epi):
    ny, nx = epi.shape
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        y2, x2 = yy + dy, xx + dx
        if 0 <= y2 < ny and 0 <= x2 < nx and epi[y2, x2] < 1.0:
            return False
    return True


@njit(cache=True)
def release_depots(depot, frac, release_to, release_share, dt, rate):
    """Release a fraction of each product's depot and sum it per field: rate[f] in u/h per unit weight.

    Args:
        depot: (n_products,) amount per site not yet released (u·voxel), decreased in place; amounts
            below 1e-9 become exactly 0.
        frac: (n_products,) fraction released per step, 1 - exp(-k dt).
        release_to, release_share: (n_products, 4) target field (-1: none) and share of each product.
        dt: step (h).
        rate: (n_fields,) written.
    """
    rate[:] = 0.0
    released = depot * frac
    for p in range(depot.size):
        depot[p] -= released[p]
        if depot[p] < 1e-9:
            depot[p] = 0.0
    for p in range(release_to.shape[0]):
        for t in range(release_to.shape[1]):
            f = release_to[p, t]
            if f >= 0:
                rate[f] += released[p] * release_share[p, t] / dt


@njit(cache=True)
def release_footprint(runs, footprint, source, rate):
    """Add the depots' release to the fields: source[f, y, x] += rate[f] * footprint[y, x] (u/h).

    Args:
        runs: (n, 3) rows of (y, x0, x1): the footprint's non-zero voxels as runs along rows
            (`woundsim.geometry.row_runs(footprint > 0)`), so the inner loop is contiguous.
        footprint: (ny, nx) each voxel's share of one site's dose (the bolus footprint).
        source: (n_fields, ny, nx) source rates (u/h), incremented.
        rate: (n_fields,) release per unit weight this step, summed over products (u/h).
    """
    for f in range(rate.size):
        r = rate[f]
        if r <= 0.0:
            continue
        for q in range(runs.shape[0]):
            yy = runs[q, 0]
            src = source[f, yy]
            w = footprint[yy]
            for xx in range(runs[q, 1], runs[q, 2]):
                src[xx] += r * w[xx]


@njit(cache=True)
def recruitment_cumsums(wound_idx, occ_m, occ_f, epi, gran, perfusion, c, debris, tp, base_m, tnf_gain, debris_gain,
                        base_f, pdgf_gain, cum_m, cum_f):
    """Cumulative recruitment rates (1/h) over wound voxels that are free, for both recruited kinds.

    Macrophages: open voxels, rate = base_m * perfusion * (1 + tnf_gain hill(tnf) + debris_gain hill(debris)).
    Fibroblasts: voxels still to fill, rate = base_f * perfusion * (1 + pdgf_gain hill(pdgf)).

    Args:
        wound_idx: flat index (y * nx + x) of each wound voxel, ascending.

    Returns:
        (total_m, total_f), the last entries of `cum_m` and `cum_f` (written).
    """
    occ_m, occ_f, epi, gran = occ_m.reshape(-1), occ_f.reshape(-1), epi.reshape(-1), gran.reshape(-1)
    perfusion, debris = perfusion.reshape(-1), debris.reshape(-1)
    tnf, pdgf = c[TNF].reshape(-1), c[PDGF].reshape(-1)
    k_tnf, k_debris, k_pdgf = tp[T_K_TNF], tp[T_K_DEBRIS], tp[T_K_PDGF]
    # rates first, without branches (a masked voxel gets exactly 0.0), so that the loop vectorises ...
    for k in range(wound_idx.size):
        v = wound_idx[k]
        rate = base_m * perfusion[v] * (1.0 + tnf_gain * hill(tnf[v], k_tnf) + debris_gain * hill(debris[v], k_debris))
        cum_m[k] = rate if (epi[v] < 1.0) & (occ_m[v] == 0) else 0.0
        rate = base_f * perfusion[v] * (1.0 + pdgf_gain * hill(pdgf[v], k_pdgf))
        cum_f[k] = rate if (gran[v] < 1.0) & (occ_f[v] == 0) else 0.0
    # ... then the running sums, in voxel order
    total_m = 0.0
    total_f = 0.0
    for k in range(wound_idx.size):
        total_m += cum_m[k]
        cum_m[k] = total_m
        total_f += cum_f[k]
        cum_f[k] = total_f
    return total_m, total_f


@njit(cache=True)
def place_recruits(cum, total, u, wound_idx, nx, occ, y, x, uid, state, n, state0, next_uid):
    """Append a cohort at each distinct wound voxel picked by the uniforms `u` from the cumulative rates.

    Voxel k is picked by u_i when cum[k-1] <= u_i * total < cum[k]; picks are taken in voxel order and
    an occupied voxel gets none. The arrays must have room for `u.size` more cohorts.

    Returns:
        The new cohort count.
    """
    picks = np.unique(np.searchsorted(cum, u * total, side="right"))
    for k in picks:
        if k >= wound_idx.size:
            continue
        yy, xx = wound_idx[k] // nx, wound_idx[k] % nx
        if occ[yy, xx] != 0:
            continue
        y[n], x[n], state[n], uid[n] = yy, xx, state0, next_uid[0]
        next_uid[0] += 1
        occ[yy, xx] += 1
        n += 1
    return n


@njit(cache=True)
def open_voxels(wound_idx, epi):
    """Number of wound voxels (flat indices, as in `tissue_step`) not yet re-epithelialised."""
    epi_f = epi.reshape(-1)
    n = 0
    for k in range(wound_idx.size):
        n += epi_f[wound_idx[k]] < 1.0
    return n
