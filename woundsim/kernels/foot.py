"""Numba kernels of the patient's foot: plantar load breaks down the fresh front, and covered tissue matures.

Insufficiently offloaded plantar load (DESIGN.md 4.1; docs/foot.md) acts at the front of the ulcer, where new
tissue meets the open bed: a covered wound voxel with an open 4-neighbour (fresh front epithelium over fresh
granulation) breaks down at a hazard `T_LOAD_EPITHELIUM` x (1 - maturity), the patient's erosion speed over the
voxel edge (as the edge's own advance is its speed over the voxel edge, so the front retreats at about the same
speed on any grid). A breakdown opens the voxel (epithelium and maturity 0), tears the share
`T_BREAK_GRANULATION` of its granulation and adds `T_BREAK_DEBRIS` of debris (haemorrhage, necrotic tissue), up
to the debris carrying capacity. Covered wound voxels mature, maturity -> 1 at the rate `T_MATURATION`; an open
voxel's maturity is 0. The hazard is the patient's (`woundsim.rates.tissue_vector` scales it by the load
intensity), so a patient with no load only matures. `woundsim.kernels.step.hourly_rules` draws the breakdown
events (Poisson, placed by the running sum of the hazards, as recruitment) and calls these kernels; they draw
no random numbers.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from woundsim.kernels.cells import compact
from woundsim.layout import T_BREAK_DEBRIS, T_BREAK_GRANULATION, T_DEBRIS_MAX, T_LOAD_EPITHELIUM, T_MATURATION


@njit(cache=True, error_model="numpy")
def load_front(tissue, tp, dt):
    """Write the running sum of the covered front's breakdown hazards (1/h) into `tissue.cumsum_load` (entry k:
    the k-th wound voxel in flat order), then mature the covered wound voxels over `dt` hours (maturity 0 on open
    ones). Returns the total hazard (1/h; 0, with no sum written, when the patient bears no load)."""
    wound_runs, epi, wound, maturity, cum = (tissue.wound_runs, tissue.epithelium, tissue.wound, tissue.maturity,
                                             tissue.cumsum_load)
    k_epi = tp[T_LOAD_EPITHELIUM]
    total = 0.0
    if k_epi > 0.0:
        k = 0
        for q in range(wound_runs.shape[0]):
            yy, x0, x1 = wound_runs[q, 0], wound_runs[q, 1], wound_runs[q, 2]
            for xx in range(x0, x1):
                if epi[yy, xx] >= 1.0 and _open_neighbour(yy, xx, epi, wound):
                    total += k_epi * (1.0 - maturity[yy, xx])
                cum[k] = total
                k += 1
    mature = math.exp(-tp[T_MATURATION] * dt)
    for q in range(wound_runs.shape[0]):
        yy, x0, x1 = wound_runs[q, 0], wound_runs[q, 1], wound_runs[q, 2]
        _mature_row(maturity[yy, x0:x1], epi[yy, x0:x1], mature)
    return total


@njit(cache=True, error_model="numpy", inline="always")
def _mature_row(m, epi, mature):
    """Covered voxels mature towards 1; open ones are fresh (0). Branch-free, so that it vectorises."""
    for i in range(m.size):
        m[i] = 1.0 - (1.0 - m[i]) * mature if epi[i] >= 1.0 else 0.0


@njit(cache=True, error_model="numpy", inline="always")
def _open_neighbour(yy, xx, epi, wound):
    """True if a 4-neighbour is an open wound voxel."""
    ny, nx = epi.shape
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        y2, x2 = yy + dy, xx + dx
        if 0 <= y2 < ny and 0 <= x2 < nx and wound[y2, x2] and epi[y2, x2] < 1.0:
            return True
    return False


@njit(cache=True, error_model="numpy")
def break_down(tissue, tp, u, total):
    """Break down the covered front voxels picked by the uniforms `u` from `tissue.cumsum_load` (voxel k when
    cum[k-1] <= u_i x total < cum[k], as recruitment picks voxels): epithelium and maturity 0, the share
    `T_BREAK_GRANULATION` of the granulation torn, `T_BREAK_DEBRIS` of debris added (up to the carrying
    capacity). Returns the number of voxels opened."""
    epi_f, mat_f = tissue.epithelium.reshape(-1), tissue.maturity.reshape(-1)
    gran_f, deb_f, wound_idx = tissue.granulation.reshape(-1), tissue.debris.reshape(-1), tissue.wound_idx
    keep, add, cap = 1.0 - tp[T_BREAK_GRANULATION], tp[T_BREAK_DEBRIS], tp[T_DEBRIS_MAX]
    picks = np.unique(np.searchsorted(tissue.cumsum_load, u * total, side="right"))
    opened = 0
    for k in picks:
        if k >= wound_idx.size:
            continue
        v = wound_idx[k]
        if epi_f[v] >= 1.0:
            epi_f[v] = 0.0
            mat_f[v] = 0.0
            gran_f[v] *= keep
            deb_f[v] += min(add, max(cap - deb_f[v], 0.0))
            opened += 1
    return opened


@njit(cache=True, error_model="numpy")
def off_open_voxels(n, keratinocytes, tissue):
    """Take the keratinocyte cohorts off the wound voxels that are open again (they stand on covered voxels
    only: `TissueState.may_hold`); returns the new count."""
    y, x, occ = keratinocytes.y, keratinocytes.x, keratinocytes.occupancy
    epi, wound = tissue.epithelium, tissue.wound
    for i in range(n):
        if y[i] >= 0 and wound[y[i], x[i]] and epi[y[i], x[i]] < 1.0:
            occ[y[i], x[i]] -= 1
            y[i] = -1
    return compact(n, keratinocytes)
