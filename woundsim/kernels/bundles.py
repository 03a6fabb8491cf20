"""The kernels' arguments by name: typed named tuples of arrays, built by the Python side, read by the kernels.

Numba compiles a named tuple to a plain tuple and an attribute (`tissue.epithelium`) to a constant
index, so a name costs nothing at run time. The Python side builds the bundles (`WoundModel`,
`woundsim.tissue.TissueState.arrays`, `FactorFields.kernel_args`); the kernels (`woundsim.kernels.step`
and the cell, tissue and diffusion kernels it calls) read their members by these names, never by
position. The arrays are the owners' own (no copies): what a kernel writes, the owner sees.

A bundle whose arrays are replaced (a population's arrays grown by `CellPopulation.reserve`, the wound's
indices re-derived by `TissueState.reindex`) must be built again: the model builds `CellArrays` on every
compiled call and takes `TissueArrays` from the tissue state, which rebuilds it when it re-indexes.
This module is a kernel source (`woundsim._kernel_cache.KERNEL_SOURCES`): an edit recompiles every kernel.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class PopulationArrays(NamedTuple):
    """One cell kind's super-agents as a struct of arrays (`woundsim.agents.CellPopulation`): live in slots [0, n)."""

    y: np.ndarray  # int64 (capacity,): row of each cohort's voxel; -1 marks one removed this step
    x: np.ndarray  # int64 (capacity,): column
    uid: np.ndarray  # int64 (capacity,): agent uid, increasing with the slot
    state: np.ndarray  # float64 (capacity,): macrophage polarisation phi, fibroblast myofibroblast fraction, keratinocyte vesicle cargo (u)
    occupancy: np.ndarray  # int64 (ny, nx): super-agents of this kind per voxel (at most one)
    senescent: np.ndarray  # float64 (capacity,): share of the cohort's cells that are senescent, in [0, 1]; 0 for a
    #                        new cohort (recruit or daughter); set at entry and removed by debridement (woundsim.chronic)


class CellArrays(NamedTuple):
    """All the cell populations, per kind in `woundsim.layout.CELL_KINDS` order, and their shared counters."""

    counts: np.ndarray  # int64 (3,): live super-agents per kind (MACROPHAGE, FIBROBLAST, KERATINOCYTE); updated
    next_uid: np.ndarray  # int64 (1,): the next agent uid; updated
    macrophage: PopulationArrays
    fibroblast: PopulationArrays
    keratinocyte: PopulationArrays


class TissueArrays(NamedTuple):
    """The wound's geometry, its derived indices and the tissue layers (`woundsim.tissue.TissueState.arrays`).

    The geometry members (wound to depot_runs) change only when the wound's geometry does; the layers
    (granulation to maturity) every step.
    """

    wound: np.ndarray  # bool (ny, nx): the ulcer (voxels that were or are open)
    wound_idx: np.ndarray  # int64 (n_wound,): flat index (y * nx + x) of each wound voxel, ascending
    wound_runs: np.ndarray  # int64 (n, 3): the same voxels as runs along rows, (y, x0, x1), row-major
    deficit_mm: np.ndarray  # float64 (ny, nx): tissue depth to fill per wound voxel (mm; 0 outside)
    anywhere: np.ndarray  # bool (ny, nx), all True: where macrophages may move
    footprint: np.ndarray  # float64 (ny, nx): each voxel's share of one injection site's dose
    depot_runs: np.ndarray  # int64 (n, 3): the footprint's non-zero voxels as runs along rows
    cumsum_m: np.ndarray  # float64 (n_wound,): buffer, running sum of macrophage recruitment rates (1/h)
    cumsum_f: np.ndarray  # float64 (n_wound,): buffer, the same for fibroblasts
    cumsum_load: np.ndarray  # float64 (n_wound,): buffer, running sum of load breakdown hazards (1/h; kernels.foot)
    granulation: np.ndarray  # float64 (ny, nx): fraction of the deficit filled, in [0, 1] (1 outside the wound)
    epithelium: np.ndarray  # float64 (ny, nx): epithelial cover, in [0, 1] (1 outside the wound)
    debris: np.ndarray  # float64 (ny, nx): slough and biofilm (dimensionless)
    perfusion: np.ndarray  # float64 (ny, nx): relative perfusion
    perfusion_max: np.ndarray  # float64 (ny, nx): the perfusion angiogenesis tends to
    maturity: np.ndarray  # float64 (ny, nx): maturity of the repair tissue in [0, 1] (0 open or fresh, 1 intact)


class FieldArrays(NamedTuple):
    """The paracrine fields and their solver's factors (`woundsim.fields.FactorFields.kernel_args`)."""

    c: np.ndarray  # float64 (nf, ny, nx): concentrations, fields in `woundsim.layout.FIELD_NAMES` order
    source: np.ndarray  # float64 (nf, ny, nx): production this step (concentration/h); cleared by the solver
    uptake: np.ndarray  # float64 (nu, ny, nx): extra first-order loss (1/h), one slab per field with uptake
    uptake_slot: np.ndarray  # int64 (nf,): each field's slab of `uptake`, -1 for none
    decay_per_h: np.ndarray  # float64 (nf,): decay rate per field (1/h)
    step_h: float  # one field step (h)
    n_sub: int  # field steps per agent step
    active: np.ndarray  # bool (nf,): buffer, fields with any concentration or source
    gx: np.ndarray  # float64 (nf, nx): x-sweep Thomas factors
    ix: np.ndarray  # float64 (nf, nx)
    gy: np.ndarray  # float64 (nf, ny): y-sweep Thomas factors
    iy: np.ndarray  # float64 (nf, ny)


class RuleVectors(NamedTuple):
    """The parameter vectors, laid out by the slot names of `woundsim.layout` (filled by `woundsim.rates`)."""

    tissue: np.ndarray  # float64 (T_LEN,): shared per-hour rates, Hill constants, patient state
    macrophage: np.ndarray  # float64 (M_LEN,)
    fibroblast: np.ndarray  # float64 (F_LEN,)
    keratinocyte: np.ndarray  # float64 (K_LEN,)
    rates: np.ndarray  # float64 (R_LEN,): recruitment and purse-string rates


class DepotArrays(NamedTuple):
    """The injected products not yet released, and where each one's release goes (`WoundModel`)."""

    per_site: np.ndarray  # float64 (n_products,): amount per injection site not yet released (u·voxel)
    release_frac: np.ndarray  # float64 (n_products,): fraction released per agent step, 1 - exp(-k dt)
    release_to: np.ndarray  # int64 (n_products, n_targets): the fields each product releases into (-1: none)
    release_share: np.ndarray  # float64 (n_products, n_targets): each target's share of the release
    release_rate: np.ndarray  # float64 (nf,): buffer, release per unit footprint weight this step (u/h)
