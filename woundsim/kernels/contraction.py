"""Numba kernels of wound contraction: a radial map of the lattice towards the open area's centroid, and a
conservative remap of layers, fields and cohorts through it (`woundsim.contraction` validates and calls them).

The map (docs/contraction.md). Along each ray from the centroid c, a point at squared distance s = r² goes to

    s' = keep * s                               for s <= s_open   (the open bed contracts uniformly)
    s' = s - (1 - keep) s_open w(s)             for s_open < s < s_reach, w = (s_reach - s) / (s_reach - s_open)
    s' = s                                      for s >= s_reach   (identity: far skin and the domain edge)

with keep = 1 - (the day's areal fraction). s_open and s_reach depend on the ray's direction (tabled per bin of
pseudo-angle, interpolated linearly, so the map is continuous). The direction is kept and ds'/ds > 0, so the map
is monotone along every ray and one-to-one; ds'/ds is also its areal Jacobian (area = ∫ ds dθ / 2), so every
region inside s_open shrinks by exactly `keep`, and the skin between s_open and s_reach is stretched by
1 + (1 - keep) s_open / (s_reach - s_open).

The remap is donor-cell: each voxel's content goes whole to the voxel that holds the image of its centre, and
a voxel that no image reaches (a hole, where the map stretches) takes a share of the voxel nearest its pre-image:
a source with d destinations gives each 1/d of its content, so weights sum to one per source and amounts are
conserved; fraction layers take the weighted mean of what a voxel receives (no new extrema). Unlike bilinear or
overlap weights it does not blur: a voxel gets one source, two where the map compresses (a merge) or a shared
one where it stretches, so the epithelial front stays sharp (the model reads `epithelium < 1` as open, and a
blurred front would stay counted open). Images are rounded to voxels with one random offset (oy, ox) in [0, 1)²
for the whole grid, drawn by the caller: floor(image + offset) is the image on average, so a day's sub-voxel
movement is not lost (nearest rounding, offset 0.5, would never move an edge that moves less than half a voxel
a day), and, the offset being common, neighbours move together (no holes or merges where the map translates).
Voxels whose image is themselves, unshared, and that receive nothing else are not written (bit-identical).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from woundsim.kernels.cells import compact_arrays


class RadialMap(NamedTuple):
    """The day's radial map, in voxel units (rows y, columns x)."""

    cy: float  # centroid row
    cx: float  # centroid column
    keep: float  # area kept by the open bed, 1 - the areal fraction contracted (0 < keep <= 1)
    oy: float  # rounding offset of the images, rows, in [0, 1) (0.5: nearest voxel)
    ox: float  # rounding offset of the images, columns, in [0, 1)
    r_open: np.ndarray  # (n_bins,) radius of the uniformly contracted core per pseudo-angle bin
    r_reach: np.ndarray  # (n_bins,) radius beyond which the map is the identity, per bin (> r_open)
    box: np.ndarray  # int64 (4,): y0, y1, x0, x1 (ends exclusive), the voxels the map can move


class RemapPlan(NamedTuple):
    """Where each voxel's content goes. Voxels are flat indices y * nx + x; the per-source arrays run over the
    rewritten voxels (`changed`), so a layer's remap streams through them."""

    dest: np.ndarray  # int64 (ny*nx,) the voxel holding the image of each voxel's centre (itself if unmoved)
    changed: np.ndarray  # int64 (n,) voxels whose content is rewritten, ascending: each sends to dest, shares
    to: np.ndarray  # int64 (n,) dest of each changed voxel
    to_pos: np.ndarray  # int64 (n,) position of that dest in `changed`
    share: np.ndarray  # float64 (n,) the fraction of its content it sends there: 1 / (1 + holes it fills)
    hole_dst: np.ndarray  # int64 (n_holes,) voxels that no image reaches
    hole_from: np.ndarray  # int64 (n_holes,) position in `changed` of the voxel each of them shares
    hole_pos: np.ndarray  # int64 (n_holes,) position of each hole in `changed`
    received: np.ndarray  # float64 (n,) weight each changed voxel receives (its new area in voxels; > 0)
    mixed: np.ndarray  # int64 positions in `changed` of the voxels receiving other than one whole voxel
    scratch: np.ndarray  # float64 (n,) work space of the layer remaps


@njit(cache=True, error_model="numpy")
def mask_centroid(mask):
    """(count, row, column) of the True voxels' centroid (row = column = NaN if none)."""
    ny, nx = mask.shape
    n, sy, sx = 0, 0.0, 0.0
    for y in range(ny):
        for x in range(nx):
            if mask[y, x]:
                n += 1
                sy += y
                sx += x
    if n == 0:
        return 0, math.nan, math.nan
    return n, sy / n, sx / n


@njit(cache=True, error_model="numpy", inline="always")
def pseudo_angle(dy, dx):
    """A monotone stand-in for atan2 in [0, 4) (the 'diamond angle'): no trigonometry per voxel."""
    den = abs(dy) + abs(dx)
    p = dy / den if den > 0.0 else 0.0
    return 2.0 - p if dx < 0.0 else (4.0 + p if dy < 0.0 else p)  # selects, no branches: vectorises


@njit(cache=True, error_model="numpy")
def radial_extent(mask, cy, cx, n_bins, margin):
    """Per pseudo-angle bin, the largest centre distance of a True voxel plus `margin`, dilated by one bin on
    each side (a voxel's angular width at the edge is below one bin); 0 where a bin and its neighbours hold none."""
    ny, nx = mask.shape
    r = np.zeros(n_bins)
    for y in range(ny):
        for x in range(nx):
            if mask[y, x]:
                dy, dx = y - cy, x - cx
                k = min(int(pseudo_angle(dy, dx) * n_bins / 4.0), n_bins - 1)
                r[k] = max(r[k], math.sqrt(dy * dy + dx * dx) + margin)
    out = np.empty(n_bins)
    for k in range(n_bins):
        out[k] = max(r[k], r[(k - 1) % n_bins], r[(k + 1) % n_bins])
    return out


@njit(cache=True, error_model="numpy")
def edge_distance(cy, cx, ny, nx, n_bins):
    """Per pseudo-angle bin, the least distance from (cy, cx) to the outermost voxel centres along any direction
    of the bin or of its two neighbours (the directions its interpolated radii reach). With `n_bins` a multiple
    of 4 the bin boundaries include the four directions perpendicular to the sides, where the distance is least,
    so the least over the boundaries is the least over the bins."""
    at = np.empty(n_bins + 1)
    for k in range(n_bins + 1):
        a = 4.0 * k / n_bins
        p = a if a < 1.0 else (2.0 - a if a < 3.0 else a - 4.0)  # dy / (|dx| + |dy|), inverting pseudo_angle
        dy = p
        dx = -(1.0 - abs(p)) if 1.0 <= a < 3.0 else 1.0 - abs(p)
        t = np.inf
        if dy > 0.0:
            t = min(t, (ny - 1 - cy) / dy)
        elif dy < 0.0:
            t = min(t, -cy / dy)
        if dx > 0.0:
            t = min(t, (nx - 1 - cx) / dx)
        elif dx < 0.0:
            t = min(t, -cx / dx)
        at[k] = t * math.sqrt(dx * dx + dy * dy)
    out = np.empty(n_bins)
    for k in range(n_bins):
        out[k] = min(at[(k - 1) % n_bins], at[k], at[k + 1], at[(k + 2) % n_bins])
    return out


@njit(cache=True, error_model="numpy", inline="always")
def _bin_position(n, a):
    """(bin, weight of the next bin) of pseudo-angle a among n bins, for linear interpolation between bin
    centres (cyclic)."""
    u = a * (n / 4.0) - 0.5  # in [-0.5, n - 0.5]
    fl = math.floor(u)
    k = int(fl)
    return (k + n if k < 0 else k), u - fl


@njit(cache=True, error_model="numpy", inline="always")
def _lerp_bins(values, k, t):
    n = values.size
    return (1.0 - t) * values[np.uintp(k)] + t * values[np.uintp(k + 1 if k + 1 < n else 0)]


@njit(cache=True, error_model="numpy", inline="always")
def _bin_radii(rmap, a):
    """(r_open, r_reach) at pseudo-angle a."""
    k, t = _bin_position(rmap.r_open.size, a)
    return _lerp_bins(rmap.r_open, k, t), _lerp_bins(rmap.r_reach, k, t)


@njit(cache=True, error_model="numpy", inline="always")
def _scale(keep, s, r_open, r_reach):
    """r'/r of a point at squared distance s on a ray with these radii (1.0 exactly where the map is the identity)."""
    s_open, s_reach = r_open * r_open, r_reach * r_reach
    taper = s - (1.0 - keep) * s_open * (s_reach - s) / (s_reach - s_open)
    s_new = keep * s if s <= s_open else (taper if s < s_reach else s)  # s / s is exactly 1: identity
    return math.sqrt(s_new / s) if s > 0.0 else 1.0


@njit(cache=True, error_model="numpy", inline="always")
def _image_scale(rmap, s, a):
    """r'/r of the point at squared distance s and pseudo-angle a."""
    r_open, r_reach = _bin_radii(rmap, a)
    return _scale(rmap.keep, s, r_open, r_reach)


@njit(cache=True, error_model="numpy", inline="always")
def _preimage_scale(rmap, s_new, a):
    """r/r' of the point whose image lies at squared distance s_new and pseudo-angle a (inverse of the map)."""
    r_open, r_reach = _bin_radii(rmap, a)
    s_open, s_reach = r_open * r_open, r_reach * r_reach
    if s_new >= s_reach or s_new <= 0.0:
        return 1.0
    if s_new <= rmap.keep * s_open:
        return math.sqrt(1.0 / rmap.keep)
    gain = (1.0 - rmap.keep) * s_open / (s_reach - s_open)  # ds'/ds - 1 in the stretched skin
    return math.sqrt((s_new + gain * s_reach) / (1.0 + gain) / s_new)


@njit(cache=True, error_model="numpy")
def map_points(rmap, ys, xs):
    """Images (rows, columns) of the points (ys, xs) under `rmap`, unrounded (for checks and figures)."""
    oy, ox = np.empty(ys.size), np.empty(ys.size)
    for i in range(ys.size):
        dy, dx = ys[i] - rmap.cy, xs[i] - rmap.cx
        k = _image_scale(rmap, dy * dy + dx * dx, pseudo_angle(dy, dx))
        oy[i], ox[i] = rmap.cy + dy * k, rmap.cx + dx * k
    return oy, ox


@njit(cache=True, error_model="numpy")
def plan_remap(rmap, ny, nx):
    """Destinations of every voxel's content under `rmap` (see RemapPlan)."""
    y0, y1, x0, x1 = rmap.box[0], rmap.box[1], rmap.box[2], rmap.box[3]
    size = ny * nx
    dest = np.arange(size)
    n_src = np.ones(size, dtype=np.int64)
    moved = np.zeros(size, dtype=np.bool_)
    # the map row by row, in loops without branches that vectorise, except for the lookup of the bin radii (LLVM
    # does not vectorise gathers on this target): about twice as fast as one loop
    w = x1 - x0
    bins, weight = np.empty(w, dtype=np.int64), np.empty(w)
    r_open, r_reach = np.empty(w), np.empty(w)
    ty_row, tx_row = np.empty(w, dtype=np.int64), np.empty(w, dtype=np.int64)
    n_bins = rmap.r_open.size
    for y in range(y0, y1):
        dy = y - rmap.cy
        for j in range(w):
            bins[j], weight[j] = _bin_position(n_bins, pseudo_angle(dy, x0 + j - rmap.cx))
        for j in range(w):
            r_open[j] = _lerp_bins(rmap.r_open, bins[j], weight[j])
            r_reach[j] = _lerp_bins(rmap.r_reach, bins[j], weight[j])
        for j in range(w):
            dx = x0 + j - rmap.cx
            k = _scale(rmap.keep, dy * dy + dx * dx, r_open[j], r_reach[j])
            ty_row[j] = int(math.floor(y + dy * (k - 1.0) + rmap.oy))
            tx_row[j] = int(math.floor(x0 + j + dx * (k - 1.0) + rmap.ox))
        for x in range(x0, x1):
            ty = min(max(ty_row[x - x0], 0), ny - 1)
            tx = min(max(tx_row[x - x0], 0), nx - 1)
            v, d = y * nx + x, ty * nx + tx
            if d != v:
                dest[v] = d
                n_src[v] -= 1
                n_src[d] += 1
                moved[v] = moved[d] = True
    # holes: a voxel no image reaches shares the content of the voxel nearest the pre-image of its cell's centre
    # in image space, (y + 0.5 - oy, x + 0.5 - ox) (the images z with floor(z + offset) = (y, x))
    n_dest = n_src  # reused: from here on, destinations per source (n_src is only read as 0 for holes, below)
    hole_dst, hole_src = np.empty(size, dtype=np.int64), np.empty(size, dtype=np.int64)
    n_holes = 0
    for y in range(y0, y1):
        for x in range(x0, x1):
            h = y * nx + x
            if n_src[h] != 0:
                continue
            dy, dx = y + 0.5 - rmap.oy - rmap.cy, x + 0.5 - rmap.ox - rmap.cx
            k = _preimage_scale(rmap, dy * dy + dx * dx, pseudo_angle(dy, dx))
            sy = min(max(int(math.floor(rmap.cy + dy * k + 0.5)), 0), ny - 1)
            sx = min(max(int(math.floor(rmap.cx + dx * k + 0.5)), 0), nx - 1)
            hole_dst[n_holes], hole_src[n_holes] = h, sy * nx + sx
            n_holes += 1
            moved[h] = moved[sy * nx + sx] = moved[dest[sy * nx + sx]] = True
    for v in range(size):
        n_dest[v] = 1
    for q in range(n_holes):
        n_dest[hole_src[q]] += 1
    changed = np.flatnonzero(moved)
    n = changed.size
    pos = np.empty(size, dtype=np.int64)  # position in `changed`, read for changed voxels only
    to, share, received = np.empty(n, dtype=np.int64), np.empty(n), np.zeros(n)
    for q in range(n):
        v = changed[q]
        pos[v] = q
        to[q] = dest[v]
        share[q] = 1.0 / n_dest[v]
    to_pos = np.empty(n, dtype=np.int64)
    for q in range(n):  # in the order of the layer remaps, so a layer of ones sums to `received` exactly
        to_pos[q] = pos[to[q]]
        received[to_pos[q]] += share[q]
    hole_from, hole_pos = np.empty(n_holes, dtype=np.int64), np.empty(n_holes, dtype=np.int64)
    for q in range(n_holes):
        hole_from[q], hole_pos[q] = pos[hole_src[q]], pos[hole_dst[q]]
        received[hole_pos[q]] += share[hole_from[q]]
    # a voxel that receives one whole voxel's content is a copy (most of them); the others are averaged
    parts = np.zeros(n, dtype=np.int64)
    for q in range(n):
        parts[to_pos[q]] += 1
    for q in range(n_holes):
        parts[hole_pos[q]] += 1
    mixed = np.flatnonzero((parts != 1) | (received != 1.0))
    return RemapPlan(dest, changed, to, to_pos, share, hole_dst[:n_holes].copy(), hole_from, hole_pos, received,
                     mixed, np.empty(n))


@njit(cache=True, error_model="numpy", inline="always")
def _scatter(flat, plan):
    """Send each changed voxel's content (saved in plan.scratch) to its destination and the holes it fills."""
    scratch, to, share = plan.scratch, plan.to, plan.share
    for q in range(to.size):
        flat[to[q]] += scratch[q] * share[q]
    for q in range(plan.hole_dst.size):
        j = plan.hole_from[q]
        flat[plan.hole_dst[q]] += scratch[j] * share[j]


@njit(cache=True, error_model="numpy")
def remap_amounts(layers, plan):
    """Move amounts (fields, debris, depot footprints: anything whose sum is conserved), in place.

    Args:
        layers: float64 (n_layers, ny, nx), C-contiguous.
        plan: from `plan_remap`.
    """
    changed, scratch = plan.changed, plan.scratch
    for k in range(layers.shape[0]):
        flat = layers[k].reshape(-1)
        for q in range(changed.size):
            scratch[q] = flat[changed[q]]
            flat[changed[q]] = 0.0
        _scatter(flat, plan)


@njit(cache=True, error_model="numpy")
def remap_fractions(layers, plan):
    """Move fraction and intensive layers (granulation, epithelium, perfusion, ...), in place: each rewritten
    voxel takes the weighted mean of what it receives, clipped to the range the rewritten voxels held (round-off
    only), so no layer gets a new minimum or maximum; a voxel receiving only ones gets exactly one.

    Args:
        layers: float64 (n_layers, ny, nx), C-contiguous.
        plan: from `plan_remap`.
    """
    changed, scratch, received = plan.changed, plan.scratch, plan.received
    for k in range(layers.shape[0]):
        flat = layers[k].reshape(-1)
        lo, hi = np.inf, -np.inf
        for q in range(changed.size):
            v = flat[changed[q]]
            scratch[q] = v
            lo = v if v < lo else lo
            hi = v if v > hi else hi
            flat[changed[q]] = 0.0
        _scatter(flat, plan)
        for q in plan.mixed:  # the others received one whole voxel's content: a copy, exact
            flat[changed[q]] = min(max(flat[changed[q]] / received[q], lo), hi)


@njit(cache=True, error_model="numpy")
def remap_mask(mask, plan):
    """Move a bool mask (the wound) as a fraction layer read at one half, in place: a rewritten voxel is True when
    at least half of the content it receives was True (a voxel whose content is now mostly intact skin leaves
    the wound).

    Returns:
        (gone, joined): flat indices of the voxels that turned False and True.
    """
    flat = mask.reshape(-1)
    changed, share = plan.changed, plan.share
    n = changed.size
    inside = np.zeros(n)
    for q in range(n):
        if flat[changed[q]]:
            inside[plan.to_pos[q]] += share[q]
    for q in range(plan.hole_pos.size):
        j = plan.hole_from[q]
        if flat[changed[j]]:
            inside[plan.hole_pos[q]] += share[j]
    gone, joined = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    n_gone = n_joined = 0
    for q in range(n):
        v = changed[q]
        now = inside[q] >= 0.5 * plan.received[q]
        if flat[v] and not now:
            gone[n_gone] = v
            n_gone += 1
        elif now and not flat[v]:
            joined[n_joined] = v
            n_joined += 1
        flat[v] = now
    return gone[:n_gone].copy(), joined[:n_joined].copy()


@njit(cache=True, error_model="numpy")
def remap_cohorts(n, y, x, uid, state, senescent, occ, dest, sum_state):
    """Move `n` cohorts of one kind to their voxels' destinations, in place, merging those that land on a voxel
    already taken (one cohort per voxel and kind): the one in the earlier slot (older, smaller uid) stays and
    takes the other's state, summed (`sum_state`: amounts, e.g. cargo) or averaged over the merged cohorts.

    Args:
        n: live cohorts (slots [0, n)).
        y, x, uid, state: the cohort arrays.
        senescent: the cohorts' senescent shares, moved along; a merged cohort takes their mean.
        occ: int64 (ny, nx) cohorts per voxel (0 or 1, as the model keeps it), rewritten.
        dest: int64 flat destinations (`RemapPlan.dest`).
        sum_state: True to sum the state of merged cohorts, False to average it.

    Returns:
        (n_new, kept_uid, gone_uid, gone_state): the live count afterwards, and per merge the uid that stays,
        the uid that is gone and the state it carried (slot order).
    """
    nx = occ.shape[1]
    flat_occ = occ.reshape(-1)
    for i in range(n):  # only the cohorts' voxels: clearing the whole grid cost as much as the rest
        flat_occ[y[i] * nx + x[i]] = 0
    weight = np.ones(n)
    kept, gone, gone_state = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64), np.empty(n)
    n_merged = 0
    for i in range(n):
        d = dest[y[i] * nx + x[i]]
        if flat_occ[d] == 0:
            flat_occ[d] = i + 1  # slot + 1 while placing; set to 1 below
            y[i], x[i] = d // nx, d % nx
            continue
        j = flat_occ[d] - 1
        kept[n_merged], gone[n_merged], gone_state[n_merged] = uid[j], uid[i], state[i]
        n_merged += 1
        if sum_state:
            state[j] += state[i]
        else:
            state[j] = (state[j] * weight[j] + state[i]) / (weight[j] + 1.0)
        senescent[j] = (senescent[j] * weight[j] + senescent[i]) / (weight[j] + 1.0)
        weight[j] += 1.0
        y[i] = -1
    for i in range(n):
        if y[i] >= 0:
            flat_occ[y[i] * nx + x[i]] = 1
    n_new = compact_arrays(n, y, x, uid, state, senescent)
    return n_new, kept[:n_merged].copy(), gone[:n_merged].copy(), gone_state[:n_merged].copy()
