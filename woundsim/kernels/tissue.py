"""Numba kernels for the tissue layers: debris, perfusion, granulation breakdown, depots, recruitment.

The row helpers are inlined (`inline="always"`): a compiled call per row run would increment and
decrement the reference count of each array argument (atomic operations).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from woundsim.kernels.closure import best_neighbour_fill, covered_neighbours, ingrow, purse_string_rate
from woundsim.layout import (PDGF, R_ENTRY_F, R_ENTRY_PDGF_GAIN, R_INGROWTH, R_PURSE_COVER, R_PURSE_EXPONENT,
                             R_PURSE_STRING, R_RECRUIT_DEBRIS_GAIN, R_RECRUIT_M, R_RECRUIT_TNF_GAIN, T_ANGIO,
                             T_DEBRIS_GROWTH, T_DEBRIS_MAX, T_DEBRIS_RESOLVE, T_DEBRIS_TNF, T_K_DEBRIS, T_K_PDGF,
                             T_K_TNF, T_K_VEGF, T_MMP, T_TNF_MULT, TNF, VEGF)
from woundsim.rules import hill


def __getattr__(name: str):
    if name == "COVERED_DEBRIS_DECAY_PER_H":
        raise ImportError("woundsim.kernels.tissue.COVERED_DEBRIS_DECAY_PER_H is now the model parameter "
                          "tissue.covered_debris_decay_per_day (woundsim.params; slot T_DEBRIS_RESOLVE of the tissue vector)")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@njit(cache=True, error_model="numpy")
def tissue_step(tissue, fields, tp, rates, dt):
    """Debris regrowth (open) or resolution (covered), damage-driven tnf, granulation ingrowth from the walls and
    filled neighbours, purse-string closure of granulated open voxels at a rate rising with their covered
    neighbours (`woundsim.kernels.closure`), angiogenesis, matrix breakdown.

    Args:
        tissue: `TissueArrays` (woundsim.kernels.bundles): the wound's voxels, by flat index (ascending)
            and as runs along rows (the same voxels in the same order), and the layers, updated.
        fields: `FieldArrays`: reads the concentrations, adds damage-driven tnf to the sources.
        tp: the tissue vector; rates: the `rates` vector (purse-string and ingrowth slots).
        dt: step (h).

    Returns:
        The number of wound voxels still open (epithelium < 1) afterwards (each voxel's epithelium
        changes only in its own iteration, so the count is taken as the loop goes).
    """
    wound_runs = tissue.wound_runs
    debris, perfusion, perfusion_max = tissue.debris, tissue.perfusion, tissue.perfusion_max
    gran, epi = tissue.granulation, tissue.epithelium
    c, source = fields.c, fields.source
    purse_per_h, cover, purse_exp = rates[R_PURSE_STRING], rates[R_PURSE_COVER], rates[R_PURSE_EXPONENT]
    ingrowth_per_h = rates[R_INGROWTH]
    cap = tp[T_DEBRIS_MAX]
    grow = math.exp(tp[T_DEBRIS_GROWTH] * dt)  # logistic regrowth, exact over dt
    resolve = math.exp(-tp[T_DEBRIS_RESOLVE] * dt)
    tnf_per_debris = tp[T_DEBRIS_TNF] * tp[T_TNF_MULT]
    # debris, along rows and without branches (selects), so that the loop vectorises: it reads only the
    # voxel's own epithelium, which the purse string below changes after it
    for q in range(wound_runs.shape[0]):
        yy, x0, x1 = wound_runs[q, 0], wound_runs[q, 1], wound_runs[q, 2]
        _debris_row(debris[yy, x0:x1], epi[yy, x0:x1], source[TNF, yy, x0:x1], cap, grow, resolve, tnf_per_debris)
    # ingrowth and closure, voxel by voxel in the wound's order (along rows, so no index is divided out): both
    # read neighbours filled or closed earlier in the loop
    depth = tissue.deficit_mm
    ny, nx = gran.shape
    grow_in = ingrowth_per_h > 0.0
    n_open = 0
    for q in range(wound_runs.shape[0]):
        yy, x0, x1 = wound_runs[q, 0], wound_runs[q, 1], wound_runs[q, 2]
        inner = 0 < yy < ny - 1 and x0 > 0 and x1 < nx  # every 4-neighbour of the run is on the grid
        for xx in range(x0, x1):
            g = gran[yy, xx]
            if grow_in and g < 1.0:
                # a front lays a fixed cross-section of tissue per day: deeper columns fill laterally slower
                if inner:
                    g_nb = max(0.0, max(max(gran[yy - 1, xx], gran[yy + 1, xx]), max(gran[yy, xx - 1], gran[yy, xx + 1])))
                else:
                    g_nb = best_neighbour_fill(yy, xx, gran)
                if g_nb > g:  # `ingrow`, with the rate's division only where there is a gap to close
                    g = ingrow(g, g_nb, ingrowth_per_h / depth[yy, xx], dt)
                    gran[yy, xx] = g
            e = epi[yy, xx]
            if e < 1.0:
                # a voxel's granulation is read here before its own breakdown below, as in one loop over both
                if g >= cover:
                    e = min(1.0, e + purse_string_rate(covered_neighbours(yy, xx, epi), purse_per_h, purse_exp) * dt)
                    epi[yy, xx] = e
                n_open += e < 1.0
    # angiogenesis and matrix breakdown, along rows, each in its own branch-free loop so that it vectorises
    for q in range(wound_runs.shape[0]):
        yy, x0, x1 = wound_runs[q, 0], wound_runs[q, 1], wound_runs[q, 2]
        _angiogenesis_row(perfusion[yy, x0:x1], perfusion_max[yy, x0:x1], c[VEGF, yy, x0:x1], tp[T_ANGIO],
                          tp[T_K_VEGF], dt)
        _breakdown_row(gran[yy, x0:x1], c[TNF, yy, x0:x1], tp[T_MMP], tp[T_K_TNF], dt)
    return n_open


@njit(cache=True, error_model="numpy", inline="always")
def _debris_row(deb, epi, src_tnf, cap, grow, resolve, tnf_per_debris):
    """Debris regrowth (logistic, open voxels, adding damage-driven tnf) or resolution (covered voxels)."""
    for i in range(deb.size):
        d = deb[i]
        is_open = epi[i] < 1.0
        regrown = cap * d * grow / (cap + d * (grow - 1.0))
        resolved = d * resolve if d > 1e-6 else 0.0
        src_tnf[i] += tnf_per_debris * regrown if is_open & (d > 0.0) else 0.0
        deb[i] = (regrown if d > 0.0 else d) if is_open else (resolved if d > 0.0 else d)


@njit(cache=True, error_model="numpy", inline="always")
def _angiogenesis_row(perf, pmax, vegf, angio, k_vegf, dt):
    """VEGF raises perfusion towards its maximum: 1 - exp(-rate) to second order, rate << 1 per hour."""
    for i in range(perf.size):
        rate = angio * hill(vegf[i], k_vegf) * dt
        grown = pmax[i] - (pmax[i] - perf[i]) * (1.0 - rate + 0.5 * rate * rate)
        perf[i] = grown if vegf[i] > 0.0 else perf[i]


@njit(cache=True, error_model="numpy", inline="always")
def _breakdown_row(gran, tnf, mmp, k_tnf, dt):
    """TNF-driven matrix breakdown (MMPs): granulation x exp(-rate) to second order, rate << 1 per hour."""
    for i in range(gran.size):
        rate = mmp * hill(tnf[i], k_tnf) * dt
        broken = gran[i] * (1.0 - rate + 0.5 * rate * rate)
        gran[i] = broken if tnf[i] > 0.0 else gran[i]


@njit(cache=True, error_model="numpy")
def release_depots(depots, dt):
    """Release a fraction of each product's depot and sum it per field: `depots.release_rate[f]` in u/h per
    unit footprint weight.

    Args:
        depots: `DepotArrays`: `per_site` (amount per site not yet released, u·voxel) decreases in place,
            amounts below 1e-9 becoming exactly 0; `release_frac` is the fraction released per step,
            `release_to` and `release_share` (n_products, n_targets) each product's target fields (-1:
            none) and shares; `release_rate` (n_fields,) is written.
        dt: step (h).
    """
    depot, frac, rate = depots.per_site, depots.release_frac, depots.release_rate
    release_to, release_share = depots.release_to, depots.release_share
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


@njit(cache=True, error_model="numpy")
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
            yy, x0, x1 = runs[q, 0], runs[q, 1], runs[q, 2]
            _add_scaled(source[f, yy, x0:x1], footprint[yy, x0:x1], r)


@njit(cache=True, error_model="numpy", inline="always")
def _add_scaled(dst, w, r):
    """dst += r * w, element-wise (a loop of its own over 1-D views, so that it vectorises)."""
    for i in range(dst.size):
        dst[i] += r * w[i]


@njit(cache=True, error_model="numpy")
def recruitment_cumsums(tissue, cells, c, tp, rates):
    """Cumulative recruitment rates (1/h) over wound voxels that are free, for both recruited kinds.

    Macrophages: open voxels, rate = base_m * perfusion * (1 + tnf_gain hill(tnf) + debris_gain hill(debris)).
    Fibroblasts: voxels still to fill, rate = base_f * perfusion * (1 + pdgf_gain hill(pdgf)).

    Args:
        tissue: `TissueArrays`; its wound voxels as runs along rows in row-major order, so entry k of the
            sums (`cumsum_m`, `cumsum_f`, written) is the k-th wound voxel in flat order.
        cells: `CellArrays` (reads the occupancy of macrophages and fibroblasts).
        c: the concentrations; tp: the tissue vector; rates: the `rates` vector (recruitment slots).

    Returns:
        (total_m, total_f), the last entries of the sums.
    """
    wound_runs, perfusion, debris = tissue.wound_runs, tissue.perfusion, tissue.debris
    epi, gran, cum_m, cum_f = tissue.epithelium, tissue.granulation, tissue.cumsum_m, tissue.cumsum_f
    occ_m, occ_f = cells.macrophage.occupancy, cells.fibroblast.occupancy
    base_m, tnf_gain, debris_gain = rates[R_RECRUIT_M], rates[R_RECRUIT_TNF_GAIN], rates[R_RECRUIT_DEBRIS_GAIN]
    base_f, pdgf_gain = rates[R_ENTRY_F], rates[R_ENTRY_PDGF_GAIN]
    k_tnf, k_debris, k_pdgf = tp[T_K_TNF], tp[T_K_DEBRIS], tp[T_K_PDGF]
    # rates first, along rows, one kind at a time and without branches (a masked voxel gets exactly 0.0),
    # so that the loops vectorise ...
    k0 = 0
    for q in range(wound_runs.shape[0]):
        yy, x0, x1 = wound_runs[q, 0], wound_runs[q, 1], wound_runs[q, 2]
        k1 = k0 + x1 - x0
        _macrophage_rates(cum_m[k0:k1], perfusion[yy, x0:x1], c[TNF, yy, x0:x1], debris[yy, x0:x1], epi[yy, x0:x1],
                          occ_m[yy, x0:x1], base_m, tnf_gain, k_tnf, debris_gain, k_debris)
        _fibroblast_rates(cum_f[k0:k1], perfusion[yy, x0:x1], c[PDGF, yy, x0:x1], gran[yy, x0:x1], occ_f[yy, x0:x1],
                          base_f, pdgf_gain, k_pdgf)
        k0 = k1
    # ... then the running sums, in voxel order
    total_m = 0.0
    total_f = 0.0
    for k in range(k0):
        total_m += cum_m[k]
        cum_m[k] = total_m
        total_f += cum_f[k]
        cum_f[k] = total_f
    return total_m, total_f


@njit(cache=True, error_model="numpy", inline="always")
def _macrophage_rates(out, perf, tnf, deb, epi, occ, base, tnf_gain, k_tnf, debris_gain, k_debris):
    for i in range(out.size):
        rate = base * perf[i] * (1.0 + tnf_gain * hill(tnf[i], k_tnf) + debris_gain * hill(deb[i], k_debris))
        out[i] = rate if (epi[i] < 1.0) & (occ[i] == 0) else 0.0


@njit(cache=True, error_model="numpy", inline="always")
def _fibroblast_rates(out, perf, pdgf, gran, occ, base, pdgf_gain, k_pdgf):
    for i in range(out.size):
        rate = base * perf[i] * (1.0 + pdgf_gain * hill(pdgf[i], k_pdgf))
        out[i] = rate if (gran[i] < 1.0) & (occ[i] == 0) else 0.0


@njit(cache=True, error_model="numpy")
def place_recruits(cum, total, u, wound_idx, cohorts, n, state0, next_uid):
    """Append a cohort at each distinct wound voxel picked by the uniforms `u` from the cumulative rates.

    `cohorts` is the kind's `PopulationArrays`, its new cohorts starting with `state0`; `next_uid` numbers them.
    Voxel k is picked by u_i when cum[k-1] <= u_i * total < cum[k]; picks are taken in voxel order and
    an occupied voxel gets none. The arrays must have room for one more cohort per free wound voxel (at
    most `u.size`); the model's capacity of one cohort per voxel always does.

    Returns:
        The new cohort count.
    """
    y, x, uid, state, occ, sen = cohorts.y, cohorts.x, cohorts.uid, cohorts.state, cohorts.occupancy, cohorts.senescent
    nx = occ.shape[1]
    picks = np.unique(np.searchsorted(cum, u * total, side="right"))
    for k in picks:
        if k >= wound_idx.size:
            continue
        yy, xx = wound_idx[k] // nx, wound_idx[k] % nx
        if occ[yy, xx] != 0:
            continue
        y[n], x[n], state[n], uid[n], sen[n] = yy, xx, state0, next_uid[0], 0.0  # a recruit is not senescent
        next_uid[0] += 1
        occ[yy, xx] += 1
        n += 1
    return n


@njit(cache=True, error_model="numpy")
def open_voxels(wound_idx, epi):
    """Number of wound voxels (flat indices, as in `tissue_step`) not yet re-epithelialised."""
    epi_f = epi.reshape(-1)
    n = 0
    for k in range(wound_idx.size):
        n += epi_f[wound_idx[k]] < 1.0
    return n
