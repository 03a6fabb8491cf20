"""Numba kernels for the tissue layers: debris, perfusion, granulation breakdown, depots, recruitment."""

from __future__ import annotations

import math

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
    """
    cap = tp[T_DEBRIS_MAX]
    grow = math.exp(tp[T_DEBRIS_GROWTH] * dt)  # logistic regrowth, exact over dt
    resolve = math.exp(-COVERED_DEBRIS_DECAY_PER_H * dt)
    tnf_per_debris = tp[T_DEBRIS_TNF] * tp[T_TNF_MULT]
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


@njit(cache=True)
def _ringed(yy, xx, epi):
    ny, nx = epi.shape
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        y2, x2 = yy + dy, xx + dx
        if 0 <= y2 < ny and 0 <= x2 < nx and epi[y2, x2] < 1.0:
            return False
    return True


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
def recruitment_cumsum(wy, wx, occ, epi, gran, perfusion, c, debris, tp, base, gain_a, gain_b, kind, out):
    """Cumulative recruitment rates (1/h) over wound voxels that are free; returns the total.

    kind 0 (macrophages): open voxels, rate = base * perfusion * (1 + gain_a hill(tnf) + gain_b hill(debris)).
    kind 1 (fibroblasts): voxels still to fill, rate = base * perfusion * (1 + gain_a hill(pdgf)).
    """
    total = 0.0
    for k in range(wy.size):
        yy, xx = wy[k], wx[k]
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
def open_voxels(wy, wx, epi):
    """Number of wound voxels not yet re-epithelialised."""
    n = 0
    for k in range(wy.size):
        if epi[wy[k], wx[k]] < 1.0:
            n += 1
    return n
