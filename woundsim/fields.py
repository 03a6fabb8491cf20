"""The diffusing paracrine fields: a validating wrapper around the implicit LOD kernel.

Units: µm, hours; concentrations in model units (ng/mL-equivalent). Each step the caller
accumulates production into `source` (concentration/h) and extra first-order loss into `uptake`
(1/h), then calls `step(dt_h)`, which solves

    dc/dt = D ∇²c - (k + uptake) c + source     (no-flux outer boundary)

with an unconditionally stable implicit scheme (see `woundsim.kernels.diffusion`) and then zeroes
`source` and `uptake`, ready to be accumulated again for the next step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from woundsim.errors import InputError, NumericalError, require, require_range
from woundsim.kernels.bundles import FieldArrays
from woundsim.kernels.diffusion import (
    first_bad_value,
    lod_factors,
    lod_substeps,
)
from woundsim.layout import FIELD_NAMES
NEGATIVE_TOLERANCE = -1e-12  # concentration; `check()` accepts round-off down to this


class FactorFields:
    """Concentration fields c[f, y, x] on a square lattice, stepped by implicit diffusion-decay.

    Per step: add to `source` and `uptake` (in place), call `step(dt_h)`. `step` consumes them:
    both are zero afterwards. Fields whose concentration and source are all zero are skipped.

    Any dt is stable and keeps fields non-negative, but the scheme is first order in dt: in
    tests/test_diffusion.py the steady profile around a point source with decay k has a mean
    relative error of 20 % at k dt = 0.85, 8 % at k dt = 0.21 and 1.4 % at k dt = 0.027, so
    fast-decaying factors need dt_h well below 1/k.

    Attributes:
        names: field names, in array order.
        dx_um: voxel edge (µm).
        diff_um2_h: diffusion coefficient per field (µm²/h).
        decay_per_h: decay rate per field (1/h).
    """

    def __init__(self, shape: tuple[int, int], diff_um2_h: Sequence[float], decay_per_h: Sequence[float],
                 dx_um: float, names: Sequence[str] = FIELD_NAMES, uptake_fields: Sequence[str] | None = None) -> None:
        """Create all-zero fields.

        Args:
            shape: (ny, nx) lattice size in voxels, each >= 3.
            diff_um2_h: diffusion coefficient per field (µm²/h, finite, >= 0).
            decay_per_h: decay rate per field (1/h, finite, >= 0).
            dx_um: voxel edge (µm, > 0).
            names: field names (unique), one per coefficient.
            uptake_fields: the fields that can have uptake (default all); the others carry no uptake
                array and the solver reads none for them (the model passes ("ev",)).

        Raises:
            InputError: naming the parameter and its allowed range.
        """
        self.names = _check_names(names)
        self._index = {name: f for f, name in enumerate(self.names)}
        ny, nx = _check_shape(shape)
        self.diff_um2_h = _per_field("diff_um2_h", diff_um2_h, self.names, "µm²/h")
        self.decay_per_h = _per_field("decay_per_h", decay_per_h, self.names, "1/h")
        require_range("dx_um", dx_um, 0.0, math.inf, low_open=True, high_open=True, unit="µm")
        self.dx_um = float(dx_um)
        nf = len(self.names)
        self.uptake_fields = self.names if uptake_fields is None else tuple(uptake_fields)
        require(len(set(self.uptake_fields)) == len(self.uptake_fields),
                f"uptake_fields = {self.uptake_fields!r} has duplicates")
        self._uptake_slot = np.full(nf, -1, dtype=np.int64)
        for slot, name in enumerate(self.uptake_fields):
            self._uptake_slot[self.index(name)] = slot  # an unknown name is refused with the allowed ones
        self._c = np.zeros((nf, ny, nx))
        self._source = np.zeros((nf, ny, nx))
        self._uptake = np.zeros((len(self.uptake_fields), ny, nx))
        self._active = np.ones(nf, dtype=np.bool_)
        self._factors_dt_h = math.nan
        self._factors: tuple[np.ndarray, ...] = ()

    @property
    def c(self) -> np.ndarray:
        """Concentrations (nf, ny, nx); modify in place only."""
        return self._c

    @property
    def source(self) -> np.ndarray:
        """Production rate (concentration/h) to apply in the next step, (nf, ny, nx); add in place."""
        return self._source

    @property
    def uptake(self) -> np.ndarray:
        """Extra first-order loss rate (1/h) for the next step, (n_uptake, ny, nx) in the order of
        `uptake_fields` (all fields by default); add in place."""
        return self._uptake

    def uptake_of(self, name: str) -> np.ndarray:
        """The 2-D uptake view (ny, nx) of field `name`, which must be one of `uptake_fields`."""
        slot = self._uptake_slot[self.index(name)]
        if slot < 0:
            raise InputError(f"field {name!r} has no uptake; fields with uptake: {', '.join(self.uptake_fields)}")
        return self._uptake[slot]

    @property
    def shape(self) -> tuple[int, int]:
        """(ny, nx) in voxels."""
        return self._c.shape[1], self._c.shape[2]

    def index(self, name: str) -> int:
        """Position of field `name` in the arrays."""
        try:
            return self._index[name]
        except KeyError:
            raise InputError(f"field name {name!r} is unknown; allowed {', '.join(self.names)}") from None

    def field(self, name: str) -> np.ndarray:
        """The 2-D concentration view (ny, nx) of field `name` (writes go into the fields)."""
        return self._c[self.index(name)]

    def step(self, dt_h: float, substeps: int = 1) -> None:
        """Advance all fields by `dt_h` hours, then zero `source` and `uptake`.

        With `substeps` > 1 the interval is split into that many equal steps, all using the
        current source and uptake (no need to copy and refill them between sub-steps). The Thomas
        factors are cached and recomputed only when the step length changes.

        Args:
            dt_h: time to advance (h, finite, > 0); any step length is stable.
            substeps: number of equal field steps in `dt_h` (integer >= 1).

        Raises:
            InputError: for a bad `dt_h` or `substeps`, or a negative, NaN or infinite source or
                uptake (named with its field and voxel; the fields are then partly stepped and the
                run should stop).
        """
        require_range("dt_h", dt_h, 0.0, math.inf, low_open=True, high_open=True, unit="h")
        require(isinstance(substeps, (int, np.integer)) and not isinstance(substeps, bool) and substeps >= 1,
                f"substeps = {substeps!r}; allowed integers >= 1")
        bad = lod_substeps(self.kernel_args(float(dt_h) / int(substeps), int(substeps)))
        if bad >= 0:
            raise InputError(self.bad_input_message(int(bad)))

    def kernel_args(self, step_h: float, substeps: int = 1) -> FieldArrays:
        """The bundle that `woundsim.kernels.diffusion.lod_substeps` takes for `substeps` steps of `step_h` hours
        (validated by the caller), for kernels that step the fields themselves; the Thomas factors are
        cached and recomputed only when the step length changes."""
        if step_h != self._factors_dt_h:
            self._factors_dt_h = step_h
            ny, nx = self.shape
            self._factors = (*lod_factors(nx, self.diff_um2_h, step_h, self.dx_um),
                             *lod_factors(ny, self.diff_um2_h, step_h, self.dx_um))
        gx, ix, gy, iy = self._factors
        return FieldArrays(c=self._c, source=self._source, uptake=self._uptake, uptake_slot=self._uptake_slot,
                           decay_per_h=self.decay_per_h, step_h=step_h, n_sub=substeps, active=self._active,
                           gx=gx, ix=ix, gy=gy, iy=iy)

    def check(self) -> None:
        """Raise `NumericalError` if any field holds NaN, infinity or a value below -1e-12."""
        for f, name in enumerate(self.names):
            bad = int(first_bad_value(self._c[f], NEGATIVE_TOLERANCE))
            if bad >= 0:
                y, x = divmod(bad, self.shape[1])
                v = float(self._c[f, y, x])
                kind = "NaN" if math.isnan(v) else "an infinite value" if math.isinf(v) else "a negative value"
                raise NumericalError(f"field {name!r} has {kind} ({v!r}) at voxel (y={y}, x={x}); "
                                     f"concentrations must be finite and >= {NEGATIVE_TOLERANCE}")

    def totals(self) -> dict[str, float]:
        """Amount of each field: sum of concentration x voxel area (concentration·µm²)."""
        sums = self._c.sum(axis=(1, 2)) * (self.dx_um * self.dx_um)
        return {name: float(sums[f]) for f, name in enumerate(self.names)}

    def active_fields(self) -> tuple[str, ...]:
        """Names of the fields stepped in the last `step` (all, before the first step)."""
        return tuple(name for f, name in enumerate(self.names) if self._active[f])

    def bad_input_message(self, flat: int) -> str:
        """The error for the bad source or uptake value at `flat` (an index returned by the kernels)."""
        f, y, x = np.unravel_index(flat, self._c.shape)
        slot = self._uptake_slot[f]
        s, u = float(self._source[f, y, x]), float(self._uptake[slot, y, x]) if slot >= 0 else 0.0
        array, value, unit = ("uptake", u, "1/h") if _is_rate(s) else ("source", s, "concentration/h")
        return (f"{array}[{self.names[f]!r}] at voxel (y={y}, x={x}) = {value!r} {unit}; "
                f"allowed finite values >= 0")


def _is_rate(v: float) -> bool:
    return math.isfinite(v) and v >= 0.0


def _check_names(names: Sequence[str]) -> tuple[str, ...]:
    names = tuple(names)
    require(len(names) >= 1 and all(isinstance(n, str) and n for n in names),
            f"names = {names!r}; allowed a non-empty sequence of non-empty strings")
    require(len(set(names)) == len(names), f"names = {names!r} has duplicates; field names must be unique")
    return names


def _check_shape(shape: tuple[int, int]) -> tuple[int, int]:
    ok = (isinstance(shape, Sequence) and len(shape) == 2
          and all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in shape))
    require(ok and min(shape) >= 3, f"shape = {shape!r} is out of range; allowed (ny, nx) integers >= 3")
    return int(shape[0]), int(shape[1])


def _per_field(param: str, values: Sequence[float], names: tuple[str, ...], unit: str) -> np.ndarray:
    try:
        values = np.atleast_1d(np.asarray(values, dtype=np.float64))
    except (TypeError, ValueError):
        raise InputError(f"{param} = {values!r}; allowed one number per field ({', '.join(names)})") from None
    require(values.shape == (len(names),),
            f"{param} has {values.size} values; allowed one per field ({len(names)}: {', '.join(names)})")
    for name, v in zip(names, values):
        require_range(f"{param}[{name!r}]", float(v), 0.0, math.inf, high_open=True, unit=unit)
    return values
