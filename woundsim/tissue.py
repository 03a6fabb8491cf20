"""The tissue of one ulcer: its geometry, every index derived from it, and the tissue layers, in one owner.

`TissueState` holds the wound mask, the per-voxel deficit, the injection depots' footprint and the
layers (granulation, epithelium, debris, perfusion), and derives from them what the kernels index by:
the wound's flat indices and row runs, the footprint's row runs, the recruitment buffers and the
kernels' `TissueArrays` bundle. A process that changes the wound's geometry during a run (healing a
ring of the margin, wound contraction remapping the tissue) edits these arrays, in place or by
assigning new ones of the grid's shape, and then calls `reindex()` (through `WoundModel.tissue_changed`,
which also takes off the agents standing where their kind may no longer be): nothing else holds a
copy of an index.

Where each cell kind may stand is stated once here (`may_hold`), as the kernels keep it: macrophages
anywhere; fibroblasts on wound voxels (they are recruited to, move into and divide into wound voxels
only); keratinocytes on covered voxels (epithelium 1: intact skin or re-epithelialised wound; they
start on the intact ring around the ulcer and advance by covering the voxel they enter).
"""

from __future__ import annotations

import numpy as np

from woundsim import layout as L
from woundsim.errors import InputError
from woundsim.geometry import UlcerGeometry, row_runs
from woundsim.kernels.bundles import TissueArrays
from woundsim.params import TissueParams

_LAYERS = ("granulation", "epithelium", "debris", "perfusion", "perfusion_max", "maturity")


class TissueState:
    """The wound's geometry, its derived indices and the tissue layers (all (ny, nx) arrays on the lattice).

    Attributes set by the owner (edit, then `reindex()`):
        wound: bool, the ulcer: voxels that are or were open (intact skin outside).
        deficit_mm: float64, tissue depth to fill per wound voxel (mm, > 0 on the wound, 0 outside).
        footprint: float64, each voxel's share of one injection site's dose (0 where no depot).
        granulation, epithelium: float64 in [0, 1], fraction of the deficit filled and epithelial cover
            (1 on intact skin).
        debris: float64, slough and biofilm (dimensionless). perfusion, perfusion_max: float64, relative
            perfusion and the value angiogenesis tends to.
        maturity: float64 in [0, 1], how mature the repair tissue is (0 fresh or open, 1 intact skin): it rises
            while a wound voxel is covered and falls to 0 when it opens (`woundsim.kernels.foot`; docs/foot.md).
            Plantar load breaks down fresh front epithelium in proportion to 1 - maturity; the scar maturity at
            confirmed closure (`scar_maturity`) reads it.

    Attributes derived by `reindex()` (read only):
        wound_idx: int64 (n_wound,), flat index (y * nx + x) of each wound voxel, ascending.
        wound_runs: int64 (n, 3), the same voxels in the same order as runs along rows, (y, x0, x1).
        n_wound: the number of wound voxels.
        depot_runs: int64 (n, 3), the footprint's non-zero voxels as runs along rows.
        arrays: the kernels' `TissueArrays` bundle of all of the above (and the recruitment buffers).

    `initial_n_wound` is the ulcer's size at entry (voxels), the baseline of the percent area reduction;
    it is never re-derived.
    """

    def __init__(self, wound: np.ndarray, deficit_mm: np.ndarray, granulation: np.ndarray, epithelium: np.ndarray,
                 debris: np.ndarray, perfusion: np.ndarray, perfusion_max: np.ndarray,
                 footprint: np.ndarray | None = None, maturity: np.ndarray | None = None) -> None:
        self.shape = tuple(int(n) for n in wound.shape)
        self.wound, self.deficit_mm = wound, deficit_mm
        self.granulation, self.epithelium, self.debris = granulation, epithelium, debris
        self.perfusion, self.perfusion_max = perfusion, perfusion_max
        self.footprint = footprint if footprint is not None else np.zeros(self.shape)
        self.maturity = maturity if maturity is not None else np.where(wound, 0.0, 1.0)  # intact skin mature
        self.anywhere = np.ones(self.shape, dtype=np.bool_)  # macrophages may move anywhere
        self.reindex()
        self.initial_n_wound = self.n_wound

    @classmethod
    def at_entry(cls, geometry: UlcerGeometry, tissue: TissueParams, *, granulation: np.ndarray, debris: float,
                 ischaemic: bool) -> TissueState:
        """The ulcer as it enters the model: its chronic bed's `granulation` ((ny, nx), 1 outside the wound) and
        `debris` per wound voxel (u; both from `woundsim.chronic`), nothing covered, perfusion a fraction of the
        intact skin's (lower if ischaemic)."""
        wound = geometry.wound.copy()
        intact = tissue.perfusion_ischaemic if ischaemic else tissue.perfusion_intact
        return cls(wound, geometry.deficit_mm.copy(),
                   granulation=np.where(wound, granulation, 1.0), epithelium=np.where(wound, 0.0, 1.0),
                   debris=np.where(wound, debris, 0.0),
                   perfusion=np.where(wound, intact * tissue.perfusion_wound_fraction, intact),
                   perfusion_max=np.full(wound.shape, intact))

    def reindex(self) -> None:
        """Re-derive every index from the wound mask and the footprint, after either (or the deficit, or a
        layer) changed: the wound's flat indices and row runs, the recruitment buffers (one entry per wound
        voxel), the footprint's row runs and the kernels' bundle. Checks that every array still fits the grid
        (the kernels are compiled for C-contiguous arrays of one dtype). Cost: a few passes over the grid."""
        self._check()
        self.wound_idx = np.flatnonzero(self.wound.ravel()).astype(np.int64)
        self.wound_runs = row_runs(self.wound)  # the same voxels in the same order, as runs along rows
        self.n_wound = int(self.wound_idx.size)
        self.depot_runs = row_runs(self.footprint > 0.0)
        self.arrays = TissueArrays(
            wound=self.wound, wound_idx=self.wound_idx, wound_runs=self.wound_runs, deficit_mm=self.deficit_mm,
            anywhere=self.anywhere, footprint=self.footprint, depot_runs=self.depot_runs,
            cumsum_m=np.zeros(self.n_wound), cumsum_f=np.zeros(self.n_wound), cumsum_load=np.zeros(self.n_wound),
            granulation=self.granulation, epithelium=self.epithelium, debris=self.debris, perfusion=self.perfusion,
            perfusion_max=self.perfusion_max, maturity=self.maturity)

    def place_depots(self, discs: list[tuple[np.ndarray, np.ndarray]]) -> None:
        """Spread one site's dose evenly over each bolus disc ((ys, xs) voxels): the footprint weight map that
        every product's depot is a multiple of; re-derives its row runs."""
        self.footprint = np.zeros(self.shape)
        for ys, xs in discs:
            self.footprint[ys, xs] += 1.0 / ys.size
        self.reindex()

    def heal(self, voxels: np.ndarray) -> None:
        """Make the `voxels` (a bool mask) intact skin: out of the wound, no deficit, granulation and epithelium
        1, no debris, perfusion at its maximum, mature (as outside the ulcer at entry). The caller re-indexes (through
        `WoundModel.tissue_changed`)."""
        self.wound[voxels] = False
        self.deficit_mm[voxels] = 0.0
        self.granulation[voxels] = 1.0
        self.epithelium[voxels] = 1.0
        self.debris[voxels] = 0.0
        self.perfusion[voxels] = self.perfusion_max[voxels]
        self.maturity[voxels] = 1.0

    def scar_maturity(self, maturation_days: float, scar_days: float) -> float:
        """Scar maturity Q of the healed ulcer, in [0, 1] (1 mature; docs/recurrence.md): the mean over the wound
        voxels of granulation x (1 - exp(-days covered / `scar_days`)), a filled bed under long-standing
        epithelium. The days covered come from `maturity` = 1 - exp(-days covered / `maturation_days`) (0 when
        open, so a voxel broken down again starts over): 1 - exp(-days / scar_days) = 1 - (1 - maturity)^(
        maturation_days / scar_days). Relative perfusion is left out (it made fast healers look worse in version 1).

        Args:
            maturation_days: the time constant of `maturity` (d; `FootParams.maturation_days`).
            scar_days: the scar's (d; `TissueParams.scar_maturation_days`).
        """
        if self.n_wound == 0:
            return 1.0  # the whole ulcer became intact skin (contraction): no scar
        w = self.wound_idx
        fresh = np.clip(1.0 - self.maturity.reshape(-1)[w], 0.0, 1.0)
        return float(np.mean(self.granulation.reshape(-1)[w] * (1.0 - fresh ** (maturation_days / scar_days))))

    def margin(self) -> np.ndarray:
        """Wound voxels 4-adjacent to a voxel outside the wound (or on the grid's edge): the ulcer's outer ring."""
        inner = np.zeros_like(self.wound)
        inner[1:-1, 1:-1] = (self.wound[1:-1, 1:-1] & self.wound[:-2, 1:-1] & self.wound[2:, 1:-1]
                             & self.wound[1:-1, :-2] & self.wound[1:-1, 2:])
        return self.wound & ~inner

    def edge_ring(self) -> np.ndarray:
        """Intact voxels 4-adjacent to the ulcer: where the epithelial edge starts."""
        wound = self.wound
        ring = np.zeros_like(wound)
        ring[1:, :] |= wound[:-1, :]
        ring[:-1, :] |= wound[1:, :]
        ring[:, 1:] |= wound[:, :-1]
        ring[:, :-1] |= wound[:, 1:]
        return ring & ~wound

    def may_hold(self, kind: str) -> np.ndarray:
        """Bool (ny, nx): the voxels where an agent of `kind` (one of `woundsim.layout.CELL_KINDS`) may stand."""
        if kind == L.CELL_KINDS[L.MACROPHAGE]:
            return self.anywhere
        if kind == L.CELL_KINDS[L.FIBROBLAST]:
            return self.wound
        if kind == L.CELL_KINDS[L.KERATINOCYTE]:
            return self.epithelium >= 1.0
        raise InputError(f"cell kind {kind!r} is not one of {', '.join(L.CELL_KINDS)}")

    def _check(self) -> None:
        arrays = {"wound": (self.wound, np.bool_), "deficit_mm": (self.deficit_mm, np.float64),
                  "footprint": (self.footprint, np.float64)}
        arrays.update({name: (getattr(self, name), np.float64) for name in _LAYERS})
        for name, (a, dtype) in arrays.items():
            if a.shape != self.shape or a.dtype != dtype or not a.flags.c_contiguous:
                raise InputError(f"TissueState.{name} must be a C-contiguous {np.dtype(dtype).name} array of the "
                                 f"grid's shape {self.shape}, got {a.dtype.name} {a.shape}")
        if not np.all(self.deficit_mm[self.wound] > 0.0):
            raise InputError("TissueState.deficit_mm must be > 0 on every wound voxel (the fibroblasts fill it)")
