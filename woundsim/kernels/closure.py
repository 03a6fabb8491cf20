"""Numba helpers for closing the last of an ulcer without lattice artefacts (DESIGN.md section 4.1, version 2).

Two tissue processes, applied voxel by voxel inside `woundsim.kernels.tissue.tissue_step`'s closure loop
(inlined there, so they cost no compiled call):

- **Granulation ingrowth from the walls and filled neighbours** (`ingrow`): new tissue advances laterally
  into an unfilled wound voxel from its best-filled 4-neighbour, intact skin (the wound's wall, whose
  granulation layer is 1) included, at a front speed `fibroblast.ingrowth_um_day` slowed by the fibroblasts'
  diabetic impairment: the voxel's filled fraction rises at (speed / dx) x max(0, g_nb - g).
  The rate per voxel scales as 1/dx, so a front crosses the same distance per day on every grid.
- **Purse string** (`purse_string_rate`): an open voxel with enough granulation and k of the 8 voxels around
  it covered closes at a rate that rises with k, r(k) = r_ring x ((k - 4) / 4)^n for k > 4: a ringed
  one-voxel hole (k = 8) fastest, the end of a one-voxel channel (7), its middle (6), the convex corner of
  a gap (5) slowly, a straight edge of any slope (3, at most 4) not at all: the crawling edge (the
  keratinocytes) covers that. Counting the 8 neighbours, not 4, makes a straight edge count the same
  whatever its orientation on the lattice. Ravasio et al. 2015 (Nat Commun 6:7683): the actomyosin cable
  closes gaps where the edge has positive curvature, rounding and smoothing it. r_ring is the time a hole
  of one voxel takes to close from both sides at the cable's speed (`keratinocyte.purse_string_um_day`
  x 2 / dx), so the same hole size closes in the same time on every grid.

The rate slots are filled by `woundsim.model.WoundModel` (`woundsim.layout`: R_PURSE_STRING, R_PURSE_COVER,
R_PURSE_EXPONENT, R_INGROWTH).
"""

from __future__ import annotations

from numba import njit


STRAIGHT_EDGE_COVERED = 4  # most covered voxels among the 8 around an open voxel on a straight edge of any slope


@njit(cache=True, error_model="numpy", inline="always")
def covered_neighbours(yy, xx, epi):
    """Number of covered (epithelium 1) voxels among the 8 around (yy, xx) (Moore neighbourhood) when it is more
    than a straight edge's (> 4); otherwise some number <= 4 (the count stops once 4 are open, which is all an
    interior voxel needs to read). Off-grid voxels count as open. A straight edge of any slope has 3 or 4."""
    ny, nx = epi.shape
    k = 0
    n_open = 0
    for dy in (-1, 0, 1):
        y2 = yy + dy
        for dx in (-1, 0, 1):
            if dy == 0 and dx == 0:
                continue
            x2 = xx + dx
            if 0 <= y2 < ny and 0 <= x2 < nx and epi[y2, x2] >= 1.0:
                k += 1
            else:
                n_open += 1
                if n_open >= 8 - STRAIGHT_EDGE_COVERED:
                    return k  # at most 4 covered: no purse string
    return k


@njit(cache=True, error_model="numpy", inline="always")
def purse_string_rate(k, ring_per_h, exponent):
    """Closure rate (1/h of epithelial cover) of an open voxel with `k` of its 8 neighbours covered: 0 up to a
    straight edge's count (k <= 4), then `ring_per_h` x ((k - 4) / 4)^exponent, `ring_per_h` for a ringed hole."""
    if k <= STRAIGHT_EDGE_COVERED:
        return 0.0
    return ring_per_h * ((k - STRAIGHT_EDGE_COVERED) / (8.0 - STRAIGHT_EDGE_COVERED)) ** exponent


@njit(cache=True, error_model="numpy", inline="always")
def best_neighbour_fill(yy, xx, gran):
    """The largest granulation (filled fraction) among the 4-neighbours of (yy, xx): intact skin counts 1."""
    ny, nx = gran.shape
    g = 0.0
    if yy > 0:
        g = max(g, gran[yy - 1, xx])
    if yy < ny - 1:
        g = max(g, gran[yy + 1, xx])
    if xx > 0:
        g = max(g, gran[yy, xx - 1])
    if xx < nx - 1:
        g = max(g, gran[yy, xx + 1])
    return g


@njit(cache=True, error_model="numpy", inline="always")
def ingrow(g, g_nb, ingrowth_per_h, dt):
    """Filled fraction of a voxel at `g` after `dt` h of lateral ingrowth from a neighbour filled to `g_nb`:
    g + rate x dt x max(0, g_nb - g), rate (1/h) = ingrowth speed / dx (x impairment), capped at g_nb."""
    gap = g_nb - g
    if gap <= 0.0:
        return g
    return g + gap * min(1.0, ingrowth_per_h * dt)
