"""Numba kernels for the tissue layers: debris, perfusion, granulation breakdown, depots, recruitment."""

from __future__ import annotations

import math

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
        wound_idx: flat indices of wound voxels.
        dt: step (h).
    """
    ny, nx = debris.shape
    r = tp[T_DEBRIS_GROWTH]
    cap = tp[T_DEBRIS_MAX]
    for k in range(wound_idx.size):
        yy, xx = wound_idx[k] // nx, wound_idx[k] % nx
        deb = debris[yy, xx]
        if epi[yy, xx] < 1.0:
            if deb > 0.0:  # logistic regrowth, exact solution over dt
                e = math.exp(r * dt)
                deb = cap * deb * e / (cap + deb * (e - 1.0))
            source[TNF, yy, xx] += tp[T_DEBRIS_TNF] * tp[T_TNF_MULT] * deb
        else:
            deb *= math.exp(-COVERED_DEBRIS_DECAY_PER_H * dt)
        debris[yy, xx] = deb
        if epi[yy, xx] < 1.0 and gran[yy, xx] >= cover and _ringed(yy, xx, epi):
            epi[yy, xx] = min(1.0, epi[yy, xx] + purse_per_h * dt)
        pmax = perfusion_max[yy, xx]
        rate = tp[T_ANGIO] * hill(c[VEGF, yy, xx], tp[T_K_VEGF])
        perfusion[yy, xx] = pmax - (pmax - perfusion[yy, xx]) * math.exp(-rate * dt)
        gran[yy, xx] *= math.exp(-tp[T_MMP] * hill(c[TNF, yy, xx], tp[T_K_TNF]) * dt)


@njit(cache=True)
def _ringed(yy, xx, epi):
    ny, nx = epi.shape
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        y2, x2 = yy + dy, xx + dx
        if 0 <= y2 < ny and 0 <= x2 < nx and epi[y2, x2] < 1.0:
            return False
    return True


@njit(cache=True)
def release_depots(depot_idx, depot, release_per_h, to_field, share, source, dt):
    """First-order release of each product's depot into its fields' sources.

    Args:
        depot_idx: flat indices of the voxels that ever received an injection.
        depot: (n_products, ny, nx) amounts not yet released (u·voxel).
        release_per_h: (n_products,) release rates (1/h).
        to_field: (n_products, n_targets) field indices each product releases into (-1 = unused).
        share: (n_products, n_targets) fraction of the release going to each target field.
        source: (n_fields, ny, nx) source rates (u/h), incremented.
        dt: step (h).
    """
    n_prod, ny, nx = depot.shape
    for p in range(n_prod):
        frac = 1.0 - math.exp(-release_per_h[p] * dt)
        for k in range(depot_idx.size):
            yy, xx = depot_idx[k] // nx, depot_idx[k] % nx
            amount = depot[p, yy, xx]
            if amount <= 0.0:
                continue
            released = amount * frac
            depot[p, yy, xx] = amount - released
            for t in range(to_field.shape[1]):
                f = to_field[p, t]
                if f >= 0:
                    source[f, yy, xx] += share[p, t] * released / dt


@njit(cache=True)
def recruitment_cumsum(wound_idx, occ, epi, gran, perfusion, c, debris, tp, base, gain_a, gain_b, kind, out):
    """Cumulative recruitment rates (1/h) over wound voxels that are free; returns the total.

    kind 0 (macrophages): open voxels, rate = base * perfusion * (1 + gain_a hill(tnf) + gain_b hill(debris)).
    kind 1 (fibroblasts): voxels still to fill, rate = base * perfusion * (1 + gain_a hill(pdgf)).
    """
    ny, nx = occ.shape
    total = 0.0
    for k in range(wound_idx.size):
        yy, xx = wound_idx[k] // nx, wound_idx[k] % nx
        rate = 0.0
        if occ[yy, xx] == 0:
            if kind == 0 and epi[yy, xx] < 1.0:
                rate = base * perfusion[yy, xx] * (1.0 + gain_a * hill(c[TNF, yy, xx], tp[T_K_TNF])
                                                   + gain_b * hill(debris[yy, xx], tp[T_K_DEBRIS]))
            elif kind == 1 and gran[yy, xx] < 1.0:
                rate = base * perfusion[yy, xx] * (1.0 + gain_a * hill(c[PDGF, yy, xx], tp[T_K_PDGF]))
        total += rate
        out[k] = total
    return total


@njit(cache=True)
def open_voxels(wound_idx, epi):
    """Number of wound voxels not yet re-epithelialised."""
    nx = epi.shape[1]
    n = 0
    for k in range(wound_idx.size):
        if epi[wound_idx[k] // nx, wound_idx[k] % nx] < 1.0:
            n += 1
    return n
