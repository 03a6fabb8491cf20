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
def tissue_step(wy, wx, c, source, debris, perfusion, perfusion_max, gran, epi, tp, purse_per_h, cover, dt):
    """Debris regrowth (open) or resolution (covered), damage-driven tnf, angiogenesis, matrix breakdown,
    and purse-string closure of granulated open voxels whose four neighbours are all covered.

    Args:
        wy, wx: row and column of each wound voxel.
        dt: step (h).

    Returns:
        The number of wound voxels still open (epithelium < 1) afterwards (each voxel's epithelium
        changes only in its own iteration, so the count is taken as the loop goes).
    """
    cap = tp[T_DEBRIS_MAX]
    grow = math.exp(tp[T_DEBRIS_GROWTH] * dt)  # logistic regrowth, exact over dt
    resolve = math.exp(-COVERED_DEBRIS_DECAY_PER_H * dt)
    tnf_per_debris = tp[T_DEBRIS_TNF] * tp[T_TNF_MULT]
    n_open = 0
    for k in range(wy.size):
        yy, xx = wy[k], wx[k]
        deb = debris[yy, xx]
        if epi[yy, xx] < 1.0:
            if deb > 0.0:
                deb = cap * deb * grow / (cap + deb * (grow - 1.0))
                source[TNF, yy, xx] += tnf_per_debris * deb
            if gran[yy, xx] >= cover and _ringed(yy, xx, epi):
                epi[yy, xx] = min(1.0, epi[yy, xx] + purse_per_h * dt)
        elif deb > 0.0:
            deb = deb * resolve if deb > 1e-6 else 0.0
        debris[yy, xx] = deb
        vegf = c[VEGF, yy, xx]
        if vegf > 0.0:
            pmax = perfusion_max[yy, xx]
            rate = tp[T_ANGIO] * hill(vegf, tp[T_K_VEGF]) * dt
            perfusion[yy, xx] = pmax - (pmax - perfusion[yy, xx]) * (1.0 - rate + 0.5 * rate * rate)
        tnf = c[TNF, yy, xx]
        if tnf > 0.0:
            rate = tp[T_MMP] * hill(tnf, tp[T_K_TNF]) * dt
            gran[yy, xx] *= 1.0 - rate + 0.5 * rate * rate  # exp(-rate), rate << 1 per hour
        n_open += epi[yy, xx] < 1.0
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
def release_footprint(fy, fx, weight, source, rate):
    """Add the depots' release to the fields: source[f, y, x] += rate[f] * weight (u/h).

    Args:
        fy, fx, weight: depot voxels and their share of one site's dose (the bolus footprint).
        source: (n_fields, ny, nx) source rates (u/h), incremented.
        rate: (n_fields,) release per unit weight this step, summed over products (u/h).
    """
    for f in range(rate.size):
        r = rate[f]
        if r <= 0.0:
            continue
        for k in range(fy.size):
            source[f, fy[k], fx[k]] += r * weight[k]


@njit(cache=True)
def recruitment_cumsums(wy, wx, occ_m, occ_f, epi, gran, perfusion, c, debris, tp, base_m, tnf_gain, debris_gain,
                        base_f, pdgf_gain, cum_m, cum_f):
    """Cumulative recruitment rates (1/h) over wound voxels that are free, for both recruited kinds.

    Macrophages: open voxels, rate = base_m * perfusion * (1 + tnf_gain hill(tnf) + debris_gain hill(debris)).
    Fibroblasts: voxels still to fill, rate = base_f * perfusion * (1 + pdgf_gain hill(pdgf)).

    Returns:
        (total_m, total_f), the last entries of `cum_m` and `cum_f` (written).
    """
    total_m = 0.0
    total_f = 0.0
    for k in range(wy.size):
        yy, xx = wy[k], wx[k]
        # open/unfilled voxels are contiguous (a predictable branch); occupied ones are scattered, so they
        # are masked by a select instead of a branch; both ways a masked voxel adds exactly 0.0
        rate = 0.0
        if epi[yy, xx] < 1.0:
            rate = base_m * perfusion[yy, xx] * (1.0 + tnf_gain * hill(c[TNF, yy, xx], tp[T_K_TNF])
                                                 + debris_gain * hill(debris[yy, xx], tp[T_K_DEBRIS]))
            rate = rate if occ_m[yy, xx] == 0 else 0.0
        total_m += rate
        cum_m[k] = total_m
        rate = 0.0
        if gran[yy, xx] < 1.0:
            rate = base_f * perfusion[yy, xx] * (1.0 + pdgf_gain * hill(c[PDGF, yy, xx], tp[T_K_PDGF]))
            rate = rate if occ_f[yy, xx] == 0 else 0.0
        total_f += rate
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
def open_voxels(wy, wx, epi):
    """Number of wound voxels not yet re-epithelialised."""
    n = 0
    for k in range(wy.size):
        if epi[wy[k], wx[k]] < 1.0:
            n += 1
    return n
