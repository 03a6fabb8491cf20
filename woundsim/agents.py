"""The cell agents: each cell kind's super-agents held as arrays, and their Mesa agent mirror.

The rules run as Numba kernels over a struct of arrays per cell kind (`CellPopulation`); the Mesa agents
(`Macrophage`, `Fibroblast`, `Keratinocyte`, all `SuperAgent`s) are the same agents seen through Mesa: each
holds its `uid`, sits on the Mesa grid cell of its voxel, and reads its state (e.g. `phi`) from the arrays.
`CellPopulation.sync` brings the mirror up to date (births, deaths, moves) at a cost proportional to the
changes, not to the number of agents.

At a 100 µm voxel one agent is a super-agent: it stands for the local group of cells of its kind in a voxel,
not for a single cell. (The word "cohort" belongs to patients: `woundsim.cohort`.)
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from mesa.discrete_space import CellAgent


class SuperAgent(CellAgent):
    """A Mesa agent standing for the local group of cells of one kind at one voxel."""

    kind: ClassVar[str] = ""

    def __init__(self, model, uid: int, cell) -> None:
        super().__init__(model)
        self.uid = int(uid)
        self.cell = cell

    @property
    def _slot(self) -> int:
        return self.model.populations[self.kind].slot_of(self.uid)

    @property
    def voxel(self) -> tuple[int, int]:
        """(row, column) of the agent's voxel, read from the arrays."""
        i = self._slot
        c = self.model.populations[self.kind]
        return int(c.y[i]), int(c.x[i])


class Macrophage(SuperAgent):
    """Macrophages at a voxel, with continuous polarisation phi (0 = M1, inflammatory; 1 = M2, repair)."""

    kind = "macrophage"

    @property
    def phi(self) -> float:
        return float(self.model.populations[self.kind].state[self._slot])

    @property
    def phenotype(self) -> str:
        return "M2" if self.phi >= 0.5 else "M1"


class Fibroblast(SuperAgent):
    """Fibroblasts at a voxel: fills the tissue deficit with granulation tissue and collagen."""

    kind = "fibroblast"


class Keratinocyte(SuperAgent):
    """Keratinocytes at the epithelial edge: covers granulated wound voxels as it advances."""

    kind = "keratinocyte"

    @property
    def cargo(self) -> float:
        """Vesicle cargo (miRNA) taken up and carried (u: vesicle amount per voxel volume, the field's unit)."""
        return float(self.model.populations[self.kind].state[self._slot])


AGENT_TYPES: dict[str, type[SuperAgent]] = {c.kind: c for c in (Macrophage, Fibroblast, Keratinocyte)}


class CellPopulation:
    """Struct of arrays for one cell kind's super-agents: y, x (voxel), uid and one continuous state per agent
    (`state`: polarisation phi of macrophages, myofibroblast fraction of fibroblasts, EV cargo of keratinocytes)
    and its senescent share (`senescent`, in [0, 1]: 0 for a new cohort; woundsim.chronic sets it at entry and
    debridement removes senescent edge cohorts).

    Live agents occupy slots [0, n); their uids are increasing, since births append and `compact`
    keeps the order, so a uid's slot is found by binary search.
    """

    def __init__(self, kind: str, capacity: int = 1024) -> None:
        self.kind = kind
        self.n = 0
        self.y = np.full(capacity, -1, dtype=np.int64)
        self.x = np.zeros(capacity, dtype=np.int64)
        self.uid = np.zeros(capacity, dtype=np.int64)
        self.state = np.zeros(capacity, dtype=np.float64)
        self.senescent = np.zeros(capacity, dtype=np.float64)
        self._mirror_uid = np.zeros(0, dtype=np.int64)
        self._mirror_pos = np.zeros(0, dtype=np.int64)
        self._agents: dict[int, SuperAgent] = {}

    @property
    def capacity(self) -> int:
        return self.y.size

    def reserve(self, extra: int) -> None:
        """Grow the arrays so that `extra` more agents fit."""
        need = self.n + int(extra)
        if need <= self.capacity:
            return
        new = max(need, 2 * self.capacity)
        for name in ("y", "x", "uid", "state", "senescent"):
            old = getattr(self, name)
            arr = np.full(new, -1, dtype=old.dtype) if name == "y" else np.zeros(new, dtype=old.dtype)
            arr[: self.n] = old[: self.n]
            setattr(self, name, arr)

    @property
    def phi(self) -> np.ndarray:
        """Macrophage polarisation (alias of `state`)."""
        return self.state

    def add(self, ys: np.ndarray, xs: np.ndarray, next_uid: np.ndarray, state: float = 0.0,
            senescent: float | np.ndarray = 0.0) -> None:
        """Append agents at voxels (ys, xs) with fresh uids from the shared counter `next_uid`, each with `state`
        and a senescent share `senescent` (a scalar or one value per agent)."""
        k = len(ys)
        self.reserve(k)
        s = slice(self.n, self.n + k)
        self.y[s], self.x[s], self.state[s], self.senescent[s] = ys, xs, state, senescent
        self.uid[s] = np.arange(next_uid[0], next_uid[0] + k)
        next_uid[0] += k
        self.n += k

    def slot_of(self, uid: int) -> int:
        i = int(np.searchsorted(self.uid[: self.n], uid))
        if i >= self.n or self.uid[i] != uid:
            raise LookupError(f"{self.kind} agent {uid} is no longer alive")
        return i

    def sync(self, model, grid) -> None:
        """Bring the Mesa mirror up to date: remove the dead, create the born, move the moved."""
        cls = AGENT_TYPES[self.kind]
        alive = self.uid[: self.n].copy()
        pos = self.y[: self.n] * grid.dimensions[1] + self.x[: self.n]
        for u in np.setdiff1d(self._mirror_uid, alive, assume_unique=True):
            self._agents.pop(int(u)).remove()
        idx = np.searchsorted(self._mirror_uid, alive)
        idx_c = np.minimum(idx, max(self._mirror_uid.size - 1, 0))
        known = (idx < self._mirror_uid.size) & (self._mirror_uid[idx_c] == alive) if self._mirror_uid.size else \
            np.zeros(alive.size, dtype=bool)
        nx = grid.dimensions[1]
        for j in np.flatnonzero(~known):
            self._agents[int(alive[j])] = cls(model, alive[j], grid[(int(pos[j] // nx), int(pos[j] % nx))])
        moved = np.flatnonzero(known)
        moved = moved[self._mirror_pos[idx[moved]] != pos[moved]]
        for j in moved:
            self._agents[int(alive[j])].cell = grid[(int(pos[j] // nx), int(pos[j] % nx))]
        self._mirror_uid, self._mirror_pos = alive, pos.copy()
