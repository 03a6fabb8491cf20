"""A chronic ulcer's state at trial entry, and the senescent cohorts that debridement removes (issue 17 item 3).

A 15-week ulcer is not a fresh excision (DESIGN.md 4.1): at entry its bed carries the granulation tissue,
debris, senescent edge and M1-dominated macrophages that its history left. This module sets that state
from the patient's duration and grade and from the care the ulcer had before entry, by named parameters
(`woundsim.params.ChronicParams`, `ImpairmentParams.senescence_*`, `StandardCareParams`; units, sources
and assumptions in docs/chronic.md), instead of simulating the ulcer from its onset:

- **granulation**: each wound voxel's deficit is filled towards a plateau at a fill rate (mm/week) over the
  ulcer's duration, so a deeper grade (a larger deficit) is less filled and the shallow margin fills first;
- **fibroblasts** stand in the granulated bed, in proportion to its granulation;
- **debris** is the level that the care before entry (sharp debridement every `prior_debridement_interval_days`)
  leaves just before a debridement: the periodic steady state of the debris regrowth rule (x3 if infected);
- **senescence** belongs to cohorts (`PopulationArrays.senescent`): each fibroblast and edge keratinocyte
  cohort at entry is senescent with the probability `woundsim.rules.senescence` gives for the ulcer's
  duration; every cohort recruited or born during the run is not;
- **macrophages** at entry are M1-like (`macrophage.phi_initial`).

Debridement (`debride_senescent`) removes senescent edge cohorts: each keratinocyte cohort with an open
4-neighbour and each fibroblast cohort on an open wound voxel is removed with probability
`standard_care.senescence_reset` x its senescent share; fresh cohorts then take their voxels.
"""

from __future__ import annotations

import math

import numpy as np

from woundsim import layout as L
from woundsim.params import ModelParams
from woundsim.rules import senescence

EDGE_KINDS = (L.CELL_KINDS[L.FIBROBLAST], L.CELL_KINDS[L.KERATINOCYTE])  # the kinds that can be senescent


def entry_granulation(deficit_mm: np.ndarray, wound: np.ndarray, duration_weeks: float, params: ModelParams) -> np.ndarray:
    """Granulation at entry (fraction of each voxel's deficit filled, 1 outside the wound).

    g = plateau x (1 - exp(-fill x duration / deficit)): a deficit fills at `chronic.granulation_fill_mm_per_week`
    and stalls at `chronic.granulation_plateau`, so a deeper voxel (centre, higher grade) is less filled.

    Args:
        deficit_mm: (ny, nx) tissue depth to fill (mm, > 0 on the wound).
        wound: (ny, nx) bool, the ulcer.
        duration_weeks: the ulcer's duration before entry (weeks).
        params: the model parameters (reads `chronic`).
    """
    c = params.chronic
    filled_mm = c.granulation_fill_mm_per_week * duration_weeks
    g = np.ones(wound.shape)
    g[wound] = c.granulation_plateau * -np.expm1(-filled_mm / deficit_mm[wound])
    return g


def entry_debris(params: ModelParams, infected: bool) -> float:
    """Debris per open voxel at entry (u): the level just before a debridement under the care before entry.

    Debris regrows logistically (rate r = `tissue.debris_growth_per_day`, capacity K = `tissue.debris_max`)
    and each sharp debridement removes the share e = `standard_care.debridement_efficiency`, every
    T = `chronic.prior_debridement_interval_days`. The periodic steady state just before a debridement is
    D = K (k G - 1) / (k (G - 1)) with k = 1 - e and G = exp(rT), if k G > 1, else 0 (the care clears the debris); no
    debridement (T = 0) leaves the capacity K. An infected ulcer (stage B/D) regrows
    `tissue.debris_growth_infected_fold` times faster and carries `tissue.debris_infected_fold` times as much,
    capped at K.
    """
    t, c = params.tissue, params.chronic
    cap = t.debris_max
    if c.prior_debridement_interval_days <= 0.0:
        level = cap
    else:
        kept = 1.0 - params.standard_care.debridement_efficiency
        rate = t.debris_growth_per_day * (t.debris_growth_infected_fold if infected else 1.0)  # as in the run
        regrowth = math.exp(rate * c.prior_debridement_interval_days)
        level = cap * (kept * regrowth - 1.0) / (kept * (regrowth - 1.0)) if kept * regrowth > 1.0 else 0.0
    return min(cap, level * (t.debris_infected_fold if infected else 1.0))


def entry_senescent_share(duration_weeks: float, params: ModelParams) -> float:
    """Probability that a fibroblast or edge keratinocyte cohort is senescent at entry (`rules.senescence`)."""
    imp = params.impairment
    return senescence(duration_weeks, imp.senescence_max, imp.senescence_tau_weeks)


def fibroblast_entry_density(granulation: np.ndarray, params: ModelParams) -> np.ndarray:
    """Fibroblast cohorts per wound voxel at entry: `fibroblast.initial_density` plus
    `chronic.bed_fibroblast_density` x granulation (granulation tissue is fibroblast-rich), at most 1."""
    return np.minimum(1.0, params.fibroblast.initial_density + params.chronic.bed_fibroblast_density * granulation)


def draw_senescent(rng: np.random.Generator, n: int, share: float) -> np.ndarray:
    """Senescent shares of `n` cohorts at entry: 1 with probability `share`, else 0 (one uniform each)."""
    return (rng.random(n) < share).astype(np.float64)


def open_neighbour(open_: np.ndarray) -> np.ndarray:
    """Bool (ny, nx): voxels with an open (`open_`) 4-neighbour."""
    near = np.zeros_like(open_)
    near[1:, :] |= open_[:-1, :]
    near[:-1, :] |= open_[1:, :]
    near[:, 1:] |= open_[:, :-1]
    near[:, :-1] |= open_[:, 1:]
    return near


def debride_senescent(populations: dict, occupancy: dict, open_: np.ndarray, removal: float,
                      rng: np.random.Generator) -> dict[str, int]:
    """Remove senescent edge cohorts at a sharp debridement, in place (a vectorised event, once per debridement).

    The edge is the keratinocyte cohorts with an open 4-neighbour and the fibroblast cohorts on open wound
    voxels; each one with a senescent share s > 0 is removed with probability `removal` x s (one uniform per
    such cohort, in slot order, fibroblasts first). Its voxel is then free for a fresh (non-senescent) cohort.

    Args:
        populations: the model's `CellPopulation`s by kind; the removed are compacted away.
        occupancy: the model's occupancy grids by kind, updated.
        open_: bool (ny, nx), the open wound voxels (wound and epithelium < 1).
        removal: `standard_care.senescence_reset`, the share of senescent edge cohorts one debridement removes.
        rng: the model's generator.

    Returns:
        Cohorts removed per kind.
    """
    edge = {L.CELL_KINDS[L.FIBROBLAST]: open_, L.CELL_KINDS[L.KERATINOCYTE]: open_neighbour(open_)}
    removed = {}
    for kind in EDGE_KINDS:
        c = populations[kind]
        live = slice(0, c.n)
        y, x, s = c.y[live], c.x[live], c.senescent[live]
        candidates = np.flatnonzero((s > 0.0) & edge[kind][y, x])
        gone = candidates[rng.random(candidates.size) < removal * s[candidates]] if candidates.size else candidates
        removed[kind] = int(gone.size)
        if gone.size:
            np.subtract.at(occupancy[kind], (y[gone], x[gone]), 1)
            keep = np.ones(c.n, dtype=bool)
            keep[gone] = False
            n = int(np.count_nonzero(keep))
            for name in ("y", "x", "uid", "state", "senescent"):
                a = getattr(c, name)
                a[:n] = a[: c.n][keep]
            c.y[n: c.n] = -1
            c.n = n
    return removed

