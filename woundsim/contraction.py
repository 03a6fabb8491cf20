"""Wound contraction on the lattice: one day's shrinkage of the open area, as a conservative remap of the tissue.

Myofibroblasts pull the margin inward (DESIGN.md 4.1). Given the fraction of the open area that a day's
contraction removes, `contract_wound` moves everything on the grid radially towards the open area's centroid:
the open bed contracts uniformly by that areal fraction, periwound skin follows it inward and is stretched, and
the map is the identity beyond a reach of about one wound radius and at the domain edge
(`woundsim.kernels.contraction` gives the map; docs/contraction.md the invariants). In place, it

- conserves every amount layer (fields, debris, depot footprints) to round-off;
- remaps fraction layers (granulation, epithelium, perfusion, deficit depth) as weighted means, so no layer gets
  a new minimum or maximum;
- moves every cohort to its voxel's destination, merging two cohorts of a kind that land on one voxel (one cohort
  per voxel and kind), and returns the merges;
- shrinks the wound mask: a voxel whose content is now mostly intact skin leaves it.

It returns what changed, so the owner of the geometry-derived indices (wound voxel list and row runs, depot row
runs) can re-derive them. The model does not call it yet; the contraction rate that sets the fraction is part
of issue 17 (docs/contraction.md sketches it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from woundsim.errors import InputError, require, require_range
from woundsim.kernels.contraction import (RadialMap, edge_distance, mask_centroid, plan_remap, radial_extent,
                                          remap_amounts, remap_cohorts, remap_fractions, remap_mask)

# How the state slot of two cohorts of a kind combines when they merge: "mean" for a level (macrophage
# polarisation phi is the fraction of M2-like cells, the fibroblast state the myofibroblast fraction), "sum"
# for an amount (keratinocyte EV cargo: mass balance, issue 17 item 6).
MERGE_RULES: dict[str, str] = {"macrophage": "mean", "fibroblast": "mean", "keratinocyte": "sum"}
EXTENT_MARGIN_VOXELS = 0.75  # beyond an open voxel's centre, still in the contracting core (half-diagonal 0.71)
PERIMETER_VOXELS_PER_BIN = 3.0  # angular resolution of the open area's outline (voxels of its perimeter per bin)


class CohortArrays(Protocol):
    """What the remap needs of one kind's cohorts (`woundsim.agents.CellPopulation` has it): live slots [0, n)."""

    n: int
    y: np.ndarray
    x: np.ndarray
    uid: np.ndarray
    state: np.ndarray
    senescent: np.ndarray


@dataclass(frozen=True)
class CohortMerges:
    """Cohorts of one kind merged by the remap, one entry per merge, in slot order.

    Attributes:
        kept_uid: the cohort that stays (the older one); it took the other's state.
        gone_uid: the cohort that is gone.
        gone_state: the state it carried (phi, cargo, ...).
    """

    kept_uid: np.ndarray
    gone_uid: np.ndarray
    gone_state: np.ndarray

    def __len__(self) -> int:
        return int(self.gone_uid.size)


@dataclass(frozen=True)
class Contraction:
    """What one call of `contract_wound` did.

    Attributes:
        area_fraction: the fraction of the open area asked to contract.
        centroid: (row, column) of the open area's centroid (voxel units; NaN if nothing was open).
        open_before, open_after: open wound voxels (wound and epithelium < 1) before and after.
        changed: flat indices (y * nx + x) of the voxels whose content was rewritten, ascending; every other
            voxel is bit-identical.
        left_wound, entered_wound: flat indices of the voxels that left or joined the wound mask.
        merges: per cell kind, the cohorts merged.
    """

    area_fraction: float
    centroid: tuple[float, float]
    open_before: int
    open_after: int
    changed: np.ndarray
    left_wound: np.ndarray
    entered_wound: np.ndarray
    merges: dict[str, CohortMerges] = field(default_factory=dict)

    @property
    def wound_changed(self) -> bool:
        """True when the wound mask changed: its voxel list and row runs must be re-derived."""
        return bool(self.left_wound.size or self.entered_wound.size)


def contract_wound(area_fraction: float, wound: np.ndarray, epithelium: np.ndarray, *,
                   fractions: Mapping[str, np.ndarray] | None = None, amounts: Mapping[str, np.ndarray] | None = None,
                   cohorts: Mapping[str, CohortArrays] | None = None, occupancy: Mapping[str, np.ndarray] | None = None,
                   offset: tuple[float, float] = (0.5, 0.5), reach: float = 1.0,
                   merge_rules: Mapping[str, str] = MERGE_RULES) -> Contraction:
    """Contract the open wound by `area_fraction` of its area towards its centroid, moving all tissue with it, in place.

    Args:
        area_fraction: fraction of the open area (wound and epithelium < 1) removed, in [0, 1); 0 changes nothing.
        wound: bool (ny, nx) wound mask, updated.
        epithelium: float64 (ny, nx) coverage in [0, 1], remapped as a fraction layer.
        fractions: other fraction or intensive layers, float64 (ny, nx), e.g. granulation, perfusion,
            perfusion_max, deficit_mm: each voxel takes the weighted mean of the content it receives.
        amounts: conserved layers, float64 (ny, nx) or stacks (k, ny, nx), e.g. debris, the factor fields
            c[f, y, x], the depot footprint per product: totals are kept.
        cohorts: per cell kind, its cohort arrays (`CohortArrays`); moved, merged, `n` updated.
        occupancy: per cell kind in `cohorts`, int64 (ny, nx) cohorts per voxel, rewritten.
        offset: (row, column) offset in [0, 1) that rounds images to voxels (floor(image + offset)). Draw it
            afresh each day from the model's generator: rounding is then unbiased, so movements below a voxel
            accumulate over days; (0.5, 0.5), nearest rounding, never moves content that moves less than half a
            voxel (a small wound's edge on most days).
        reach: how far beyond the open area the skin moves, in effective radii of the open area (> 0); the map
            is the identity beyond it and always at the domain edge.
        merge_rules: per cell kind, "sum" or "mean": how merged cohorts' state combines.

    Returns:
        What changed (`Contraction`).
    """
    require_range("contraction area_fraction", area_fraction, 0.0, 1.0, high_open=True)
    for name, o in zip(("row", "column"), offset):
        require_range(f"contraction offset ({name})", o, 0.0, 1.0, high_open=True)
    require_range("contraction reach", reach, 0.0, math.inf, low_open=True, high_open=True, unit="wound radii")
    fractions, amounts = dict(fractions or {}), dict(amounts or {})
    cohorts, occupancy = dict(cohorts or {}), dict(occupancy or {})
    _check_grid(wound, epithelium, fractions, amounts, cohorts, occupancy, merge_rules)
    open_mask = wound & (epithelium < 1.0)
    open_before = int(np.count_nonzero(open_mask))
    rmap = radial_map(open_mask, area_fraction, offset, reach)
    if rmap is None:
        none = np.zeros(0, dtype=np.int64)
        return Contraction(float(area_fraction), (math.nan, math.nan), 0, 0, none, none, none,
                           {k: CohortMerges(none, none, np.zeros(0)) for k in cohorts})
    plan = plan_remap(rmap, *wound.shape)
    left, entered = remap_mask(wound, plan)
    for layer in (epithelium, *fractions.values()):
        remap_fractions(layer[None], plan)
    for layer in amounts.values():
        remap_amounts(layer if layer.ndim == 3 else layer[None], plan)
    merges = {}
    for kind, c in cohorts.items():
        n, kept, gone, gone_state = remap_cohorts(c.n, c.y, c.x, c.uid, c.state, c.senescent, occupancy[kind], plan.dest,
                                                  merge_rules[kind] == "sum")
        c.n = int(n)
        merges[kind] = CohortMerges(kept, gone, gone_state)
    open_after = int(np.count_nonzero(wound & (epithelium < 1.0)))
    return Contraction(float(area_fraction), (rmap.cy, rmap.cx), open_before, open_after, plan.changed, left,
                       entered, merges)


def radial_map(open_mask: np.ndarray, area_fraction: float, offset: tuple[float, float] = (0.5, 0.5),
               reach: float = 1.0) -> RadialMap | None:
    """The day's radial map about the centroid of `open_mask` (None when nothing is open).

    The core that contracts uniformly is the open area's outline per direction (plus a margin); the map then
    relaxes to the identity over `reach` effective radii of skin, capped two voxels inside the domain edge (an
    image rounded up by the offset then stays off the outermost voxels).
    """
    n_open, cy, cx = mask_centroid(open_mask)
    if n_open == 0:
        return None
    ny, nx = open_mask.shape
    r_eff = math.sqrt(n_open / math.pi)
    n_bins = 4 * max(2, min(128, int(2.0 * math.pi * r_eff / PERIMETER_VOXELS_PER_BIN / 4.0)))
    r_open = radial_extent(open_mask, cy, cx, n_bins, EXTENT_MARGIN_VOXELS)
    r_reach = np.maximum(np.minimum(r_open + reach * r_eff, edge_distance(cy, cx, ny, nx, n_bins) - 2.0),
                         r_open + 1.0)
    far = float(r_reach.max()) + 1.0
    box = np.array([max(0, math.floor(cy - far)), min(ny, math.ceil(cy + far) + 1),
                    max(0, math.floor(cx - far)), min(nx, math.ceil(cx + far) + 1)], dtype=np.int64)
    return RadialMap(float(cy), float(cx), 1.0 - float(area_fraction), float(offset[0]), float(offset[1]), r_open,
                     r_reach, box)


def _check_grid(wound, epithelium, fractions, amounts, cohorts, occupancy, merge_rules) -> None:
    if not (isinstance(wound, np.ndarray) and wound.ndim == 2 and wound.dtype == np.bool_):
        raise InputError("contraction: wound must be a 2-D bool array")
    shape = wound.shape
    for name, layer in {"epithelium": epithelium, **fractions}.items():
        _check_layer(name, layer, shape, 2)
    for name, layer in amounts.items():
        _check_layer(name, layer, shape, layer.ndim if getattr(layer, "ndim", 0) in (2, 3) else 2)
    for kind, c in cohorts.items():
        require(kind in occupancy, f"contraction: cohorts of {kind!r} need an occupancy grid")
        _check_layer(f"occupancy[{kind!r}]", occupancy[kind], shape, 2, np.int64)
        require(merge_rules.get(kind) in ("sum", "mean"),
                f"contraction: merge rule of {kind!r} is {merge_rules.get(kind)!r}; allowed 'sum' or 'mean'")
        require(0 <= c.n <= c.y.size, f"contraction: {kind} count {c.n} is outside [0, {c.y.size}]")


def _check_layer(name: str, layer, shape: tuple[int, int], ndim: int, dtype=np.float64) -> None:
    ok = (isinstance(layer, np.ndarray) and layer.ndim == ndim and layer.shape[-2:] == shape
          and layer.dtype == dtype and layer.flags.c_contiguous and layer.flags.writeable)
    if not ok:
        got = f"{layer.dtype} {layer.shape}" if isinstance(layer, np.ndarray) else type(layer).__name__
        raise InputError(f"contraction: {name} must be a writeable C-contiguous {np.dtype(dtype)} array of "
                         f"shape {'(k, ' if ndim == 3 else '('}{shape[0]}, {shape[1]}); got {got}")


def myofibroblast_activity(fibroblasts: CohortArrays, open_mask: np.ndarray) -> float:
    """m: the myofibroblast fractions of the fibroblast cohorts standing on open wound voxels, summed, per open
    voxel (in [0, 1]: 1 when every open voxel holds a cohort that is wholly myofibroblast; 0 when nothing is open)."""
    n_open = int(np.count_nonzero(open_mask))
    if n_open == 0:
        return 0.0
    n = fibroblasts.n
    on_open = open_mask[fibroblasts.y[:n], fibroblasts.x[:n]]
    return float(fibroblasts.state[:n][on_open].sum()) / n_open


def daily_area_fraction(rate_per_day: float, activity: float, outline_area: float, floor_area: float,
                        days: float = 1.0) -> float:
    """The fraction of the open area that `days` of contraction remove.

    Contraction pulls the wound's outline W (its area at entry less what contraction has removed since) towards
    the floor A_inf, dW/dt = -k_c m (W - A_inf) (McGrath & Simon 1983), and the open area within it shrinks by
    the same fraction: over `days` with m held, (1 - exp(-k_c m days)) (W - A_inf) / W; 0 at or below the floor.
    Where nothing but contraction closes the wound the open area is W and this is dA/dt = -k_c m (A - A_inf)
    exactly; where new epithelium covers part of W as well, what is left to contract is set by how far the
    skin has already been pulled (W), not by the epithelium. Areas in any one unit (voxels).
    """
    if outline_area <= 0.0 or outline_area <= floor_area:
        return 0.0
    return -math.expm1(-rate_per_day * activity * days) * (outline_area - floor_area) / outline_area
