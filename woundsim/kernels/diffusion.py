"""Implicit diffusion-decay of the paracrine fields: LOD splitting with the Thomas algorithm.

Numba kernels only (arrays and scalars in, arrays updated in place, no random draws). Internal units:
µm and hours. Fields are a C-contiguous float64 array `c[f, y, x]`; field `f` has diffusion
coefficient `D_f` (µm²/h) and decay rate `k_f` (1/h); every voxel has a source `S` (concentration/h)
and an extra first-order uptake `u` (1/h).

One step of length dt, per field (`lod_diffuse_decay_2d`):

1. Reaction, solved exactly per voxel: dc/dt = S - lam c with lam = k_f + u gives
   c <- c exp(-lam dt) + S (1 - exp(-lam dt)) / lam   (S dt when lam = 0).
2. Backward-Euler diffusion along x: (I - a L) c' = c for every row, a = D_f dt / dx², L the 1-D
   Laplacian stencil with no-flux (Neumann) ends, as BioFVM's LOD solver does.
3. The same along y, column by column.

Each 1-D matrix has diagonal 1 + 2a (1 + a at the ends), off-diagonals -a and column sums 1: an
M-matrix. So the step conserves mass (without decay), keeps non-negative fields non-negative and
is stable for any dt; no CFL limit ties dt to dx. Accuracy is first order in time: backward Euler and
the splitting of reaction, x and y each contribute O(dt) error (the steady state of a constant source
is off by O(dt) too), plus O(dx²) from the stencil.

Speed: the Thomas factors depend only on (n, a), so they are computed once per (dt, field) by
`lod_factors` and passed in. The y-sweep runs rows outer, columns inner (contiguous, vectorised); the
x-sweep runs along contiguous rows, eight rows interleaved in registers so that eight independent
recurrences fill the pipeline. Work is done field by field in blocks of eight rows (reaction, x-sweep,
forward y-elimination) so each field's data is read from memory about once per step. The per-row
helpers are inlined (`inline="always"`) and take the 2-D arrays and a row index: a compiled call
increments and decrements the reference count of every array argument (atomic operations). Over
the whole model, such reference counting took 8 % of a 200 µm patient's time (perf) before the
row and cohort helpers were inlined, 3 % after.

Numerical details:
- exp and expm1 are evaluated without libm (whose calls do not vectorise): a 1281-entry table of
  exp(-n/32) times a degree-7 Taylor series of the remainder, about 2e-15 relative; z = lam dt
  above 40 is treated as 40 (exp(-40) = 4e-18).
- Only fields that can have uptake carry an uptake array (in the model only `ev`: cells take up
  vesicles, not cytokines); the others read and clear their source alone. Voxels whose uptake is
  zero take a per-field constant factor; a chunk of 32 voxels with any uptake takes the per-voxel
  formula. Source and uptake are validated in the same pass.
- No fast-math flags, not even contraction into fused multiply-adds: with contraction, Numba compiles
  for the host and fuses a*b + c wherever the CPU has FMA, so a run's last bits depended on the machine
  (the regression baseline records the flags; see README, "Regression baseline").
- Concentrations of magnitude below `FLUSH_BELOW` are set to exactly 0 after the reaction, so
  decayed fields reach zero instead of slowing the CPU with subnormal numbers.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

FLUSH_BELOW = 1e-150  # concentration units; smaller magnitudes become exactly 0
_Z_MAX = 40.0  # largest lam*dt evaluated; exp(-40) = 4.2e-18
_CHUNK = 32  # voxels per uptake test in the reaction
_SCAN = 256  # voxels per chunk in the validation and activity scans
_DBL_MAX = 1.7976931348623157e308
_FASTMATH = False  # no fused multiply-adds: the same results whether or not the host CPU has FMA (see the module docstring)
_T3, _T4, _T5, _T6, _T7 = (1.0 / math.factorial(n) for n in range(3, 8))
_TAB_PER_UNIT = 32  # table entries per unit of lam*dt
_EXP_TABLE = np.array([math.exp(-n / _TAB_PER_UNIT) for n in range(int(_Z_MAX * _TAB_PER_UNIT) + 1)])


@njit(cache=True, error_model="numpy")
def thomas_factors_neumann(n: int, a: float) -> tuple[np.ndarray, np.ndarray]:
    """Thomas factors of the n x n no-flux backward-Euler matrix I - a L.

    Forward elimination is d'_i = inv_i d_i + g_i d'_(i-1), back substitution
    x_i = d'_i + g_i x_(i+1); all factors are >= 0.

    Args:
        n: number of voxels along the sweep (>= 1).
        a: D dt / dx² (dimensionless, >= 0).

    Returns:
        (g, inv), two float64 arrays of length n.
    """
    g = np.zeros(n)
    inv = np.ones(n)
    if n == 1:
        return g, inv
    inv[0] = 1.0 / (1.0 + a)
    g[0] = a * inv[0]
    for i in range(1, n):
        diag = 1.0 + a if i == n - 1 else 1.0 + 2.0 * a
        inv[i] = 1.0 / (diag - a * g[i - 1])
        g[i] = a * inv[i]
    return g, inv


@njit(cache=True, error_model="numpy")
def lod_factors(n: int, diff_um2_h: np.ndarray, dt_h: float, dx_um: float) -> tuple[np.ndarray, np.ndarray]:
    """Thomas factors for every field along one axis.

    Args:
        n: voxels along the axis.
        diff_um2_h: diffusion coefficient per field (µm²/h).
        dt_h: time step (h).
        dx_um: voxel edge (µm).

    Returns:
        (g, inv), each of shape (n_fields, n).
    """
    nf = diff_um2_h.size
    g = np.empty((nf, n))
    inv = np.empty((nf, n))
    for f in range(nf):
        g[f], inv[f] = thomas_factors_neumann(n, diff_um2_h[f] * dt_h / (dx_um * dx_um))
    return g, inv


@njit(cache=True, error_model="numpy", fastmath=_FASTMATH, inline="always")
def _exp_expm1_neg(z):
    """(exp(-z), expm1(-z)) for z >= 0 (z capped at 40), both to about 2e-15 relative.

    exp(-z) = exp(-n/32) exp(-r) with n = floor(32 z) from a table and r in [0, 1/32) by a
    degree-7 Taylor series (truncation error below 3e-17). Negative or NaN z (excluded by the
    callers' validation) count as 0, so the table is never read out of bounds.
    """
    z = min(z, _Z_MAX) if z > 0.0 else 0.0
    n = np.uintp(z * _TAB_PER_UNIT)  # unsigned: no negative-index wraparound code
    r = n * (1.0 / _TAB_PER_UNIT) - z
    mr = r * (1.0 + r * (0.5 + r * (_T3 + r * (_T4 + r * (_T5 + r * (_T6 + r * _T7))))))
    e_n = _EXP_TABLE[n]
    return e_n + e_n * mr, (e_n - 1.0) + e_n * mr


@njit(cache=True, error_model="numpy", fastmath=_FASTMATH, inline="always")
def _flush(v):
    return 0.0 if abs(v) < FLUSH_BELOW else v


@njit(cache=True, error_model="numpy", fastmath=_FASTMATH, inline="always")
def _react_exact(c, s, u, k, dt):
    lam = k + u
    e, m = _exp_expm1_neg(lam * dt)
    src = s * dt if lam == 0.0 else s * (-m / lam)
    return _flush(c * e + src)


@njit(cache=True, error_model="numpy", fastmath=_FASTMATH, inline="always")
def _is_rate(v):
    """True for a finite value >= 0 (False for NaN)."""
    return (v >= 0.0) & (v <= _DBL_MAX)


@njit(cache=True, error_model="numpy", fastmath=_FASTMATH, inline="always")
def _react_row(cf, sf, uf, j, k, dt, e_k, p_k, consume):
    """Exact reaction on row j of a field (2-D arrays); clears the row's source and uptake if `consume`.

    Returns -1, or the index of the first voxel whose source or uptake is negative, NaN or
    infinite; the row is then left as it was from that chunk on. Chunks of fixed length `_CHUNK`
    (plus one shorter tail) let LLVM vectorise both branches.
    """
    cr, sr, ur = cf[j], sf[j], uf[j]
    nx = cr.size
    n_full = nx // _CHUNK
    for q in range(n_full + 1):
        i0 = q * _CHUNK
        n = _CHUNK if q < n_full else nx - i0
        n_up = 0
        n_ok = 0
        for ii in range(n):
            n_up += ur[i0 + ii] != 0.0
            n_ok += _is_rate(sr[i0 + ii]) & _is_rate(ur[i0 + ii])
        if n_ok < n:
            for i in range(i0, i0 + n):
                if not (_is_rate(sr[i]) & _is_rate(ur[i])):
                    return i
        if n_up == 0:
            for ii in range(n):
                i = i0 + ii
                cr[i] = _flush(cr[i] * e_k + sr[i] * p_k)
        else:
            for ii in range(n):
                i = i0 + ii
                cr[i] = _react_exact(cr[i], sr[i], ur[i], k, dt)
        if consume:
            for ii in range(n):
                sr[i0 + ii] = 0.0
                ur[i0 + ii] = 0.0
    return -1


@njit(cache=True, error_model="numpy", fastmath=_FASTMATH, inline="always")
def _lod_x_row(cf, j, g, inv):
    """Backward-Euler no-flux solve along row j of `cf` (Thomas algorithm), in place."""
    r = cf[j]
    p = inv[0] * r[0]
    r[0] = p
    for i in range(1, r.size):
        p = inv[i] * r[i] + g[i] * p
        r[i] = p
    for i in range(r.size - 2, -1, -1):
        p = r[i] + g[i] * p
        r[i] = p


@njit(cache=True, error_model="numpy", fastmath=_FASTMATH, inline="always")
def _lod_x_8rows(cf, j, g, inv):
    """`_lod_x_row` on rows j..j+7 at once: eight independent recurrences kept in registers."""
    r0, r1, r2, r3 = cf[j], cf[j + 1], cf[j + 2], cf[j + 3]
    r4, r5, r6, r7 = cf[j + 4], cf[j + 5], cf[j + 6], cf[j + 7]
    a = inv[0]
    p0, p1, p2, p3 = a * r0[0], a * r1[0], a * r2[0], a * r3[0]
    p4, p5, p6, p7 = a * r4[0], a * r5[0], a * r6[0], a * r7[0]
    r0[0], r1[0], r2[0], r3[0], r4[0], r5[0], r6[0], r7[0] = p0, p1, p2, p3, p4, p5, p6, p7
    for i in range(1, cf.shape[1]):
        a = inv[i]
        b = g[i]
        p0 = a * r0[i] + b * p0
        p1 = a * r1[i] + b * p1
        p2 = a * r2[i] + b * p2
        p3 = a * r3[i] + b * p3
        p4 = a * r4[i] + b * p4
        p5 = a * r5[i] + b * p5
        p6 = a * r6[i] + b * p6
        p7 = a * r7[i] + b * p7
        r0[i], r1[i], r2[i], r3[i], r4[i], r5[i], r6[i], r7[i] = p0, p1, p2, p3, p4, p5, p6, p7
    for i in range(cf.shape[1] - 2, -1, -1):
        b = g[i]
        p0 = r0[i] + b * p0
        p1 = r1[i] + b * p1
        p2 = r2[i] + b * p2
        p3 = r3[i] + b * p3
        p4 = r4[i] + b * p4
        p5 = r5[i] + b * p5
        p6 = r6[i] + b * p6
        p7 = r7[i] + b * p7
        r0[i], r1[i], r2[i], r3[i], r4[i], r5[i], r6[i], r7[i] = p0, p1, p2, p3, p4, p5, p6, p7


@njit(cache=True, error_model="numpy", fastmath=_FASTMATH, inline="always")
def _lod_y_forward(cf, j0, j1, g, inv):
    """Forward elimination of the y-solve on rows j0..j1-1 (rows before j0 already done)."""
    for j in range(j0, j1):
        r = cf[j]
        if j == 0:
            a = inv[0]
            for i in range(r.size):
                r[i] *= a
        else:
            prev = cf[j - 1]
            a = inv[j]
            b = g[j]
            for i in range(r.size):
                r[i] = a * r[i] + b * prev[i]


@njit(cache=True, error_model="numpy", fastmath=_FASTMATH)
def _lod_y_backward(cf, g):
    """Back substitution of the y-solve over the whole field."""
    for j in range(cf.shape[0] - 2, -1, -1):
        r = cf[j]
        nxt = cf[j + 1]
        b = g[j]
        for i in range(r.size):
            r[i] += b * nxt[i]


@njit(cache=True, error_model="numpy", fastmath=_FASTMATH, inline="always")
def _react_row_source(cf, sf, j, e_k, p_k, consume):
    """`_react_row` for a field without uptake: c <- c exp(-k dt) + S (1 - exp(-k dt)) / k on row j.

    Reads no uptake at all (the same arithmetic as `_react_row` on a chunk whose uptake is zero).
    Returns -1, or the index of the first voxel whose source is negative, NaN or infinite.
    """
    cr, sr = cf[j], sf[j]
    nx = cr.size
    n_full = nx // _CHUNK
    for q in range(n_full + 1):
        i0 = q * _CHUNK
        n = _CHUNK if q < n_full else nx - i0
        n_ok = 0
        for ii in range(n):
            n_ok += _is_rate(sr[i0 + ii])
        if n_ok < n:
            for i in range(i0, i0 + n):
                if not _is_rate(sr[i]):
                    return i
        for ii in range(n):
            i = i0 + ii
            cr[i] = _flush(cr[i] * e_k + sr[i] * p_k)
        if consume:
            for ii in range(n):
                sr[i0 + ii] = 0.0
    return -1


@njit(cache=True, error_model="numpy", fastmath=_FASTMATH)
def _step_field(cf, sf, uf, has_uptake, k, dt, gx, ix, gy, iy, consume):
    """Reaction, x-sweep and y-sweep of one field (2-D views), in blocks of eight rows.

    `uf` is the field's uptake (read only if `has_uptake`)."""
    ny = cf.shape[0]
    e_k, m = _exp_expm1_neg(k * dt)
    p_k = dt if k == 0.0 else -m / k
    sweep_x = gx[0] != 0.0  # a > 0
    sweep_y = gy[0] != 0.0
    for j0 in range(0, ny, 8):
        j1 = min(j0 + 8, ny)
        for j in range(j0, j1):
            if has_uptake:
                bad = _react_row(cf, sf, uf, j, k, dt, e_k, p_k, consume)
            else:
                bad = _react_row_source(cf, sf, j, e_k, p_k, consume)
            if bad >= 0:
                return j * cf.shape[1] + bad
        if sweep_x and j1 - j0 == 8:
            _lod_x_8rows(cf, j0, gx, ix)
        elif sweep_x:
            for j in range(j0, j1):
                _lod_x_row(cf, j, gx, ix)
        if sweep_y:
            _lod_y_forward(cf, j0, j1, gy, iy)
    if sweep_y:
        _lod_y_backward(cf, gy)
    return -1


@njit(cache=True, error_model="numpy")
def _check_and_clear(sf, uf, has_uptake, consume):
    """Inactive field: validate source and uptake (as `_react_row` does), then zero them if `consume`."""
    bad_s = first_bad_value(sf, 0.0)
    bad_u = first_bad_value(uf, 0.0) if has_uptake else -1
    if bad_s >= 0 or bad_u >= 0:
        return bad_s if bad_u < 0 or 0 <= bad_s <= bad_u else bad_u
    if consume:
        sf[:] = 0.0
        if has_uptake:
            uf[:] = 0.0
    return -1


@njit(cache=True, error_model="numpy", fastmath=_FASTMATH)
def lod_diffuse_decay_2d(c, source, uptake, uptake_slot, decay_per_h, dt_h, active, gx, ix, gy, iy, consume=True):
    """One implicit LOD step of diffusion, decay, sources and uptake for all fields, in place.

    Reaction solved exactly, then backward-Euler x- and y-sweeps with no-flux ends (Thomas
    algorithm). Unconditionally stable and positivity preserving; first order in dt (splitting
    and backward Euler are each O(dt)).

    Source and uptake must be finite and >= 0; they are checked as they are read, and at the
    first bad value the kernel returns its index at once, leaving the fields partly stepped (a
    run should stop there). Otherwise, if `consume`, `source` and `uptake` are zero on return
    (kept for sub-steps otherwise). Inactive fields keep `c` unchanged.

    Args:
        c: concentrations, float64 (nf, ny, nx), C-contiguous; updated in place.
        source: production rate per voxel (concentration/h, >= 0), same shape.
        uptake: extra first-order loss per voxel (1/h, >= 0), float64 (nu, ny, nx), one slab per
            field that has uptake (nu may be smaller than nf: fields without uptake read none).
        uptake_slot: int64 (nf,): the slab of `uptake` of each field, -1 for none.
        decay_per_h: decay rate per field (1/h, >= 0), shape (nf,).
        dt_h: time step (h, > 0).
        active: bool (nf,); False skips the field.
        gx, ix: x-sweep Thomas factors (nf, nx) from `lod_factors(nx, D, dt_h, dx)`.
        gy, iy: y-sweep Thomas factors (nf, ny) from `lod_factors(ny, D, dt_h, dx)`.
        consume: zero `source` and `uptake` after use.

    Returns:
        -1 on success, else the flat index (into arrays of shape (nf, ny, nx)) of a voxel whose
        source or uptake is negative, NaN or infinite.
    """
    for f in range(c.shape[0]):
        slot = uptake_slot[f]
        uf = uptake[slot] if slot >= 0 else source[f]  # source[f]: a placeholder of the right type, unread
        if active[f]:
            bad = _step_field(c[f], source[f], uf, slot >= 0, decay_per_h[f], dt_h, gx[f], ix[f], gy[f], iy[f],
                              consume)
        else:
            bad = _check_and_clear(source[f], uf, slot >= 0, consume)
        if bad >= 0:
            return f * c[f].size + bad
    return -1


@njit(cache=True, error_model="numpy")
def lod_substeps(fields):
    """`fields.n_sub` steps of `lod_diffuse_decay_2d`, each of `fields.step_h` with the same source and uptake,
    skipping the fields with no concentration and no source; source and uptake are zero afterwards.

    Args:
        fields: `woundsim.kernels.bundles.FieldArrays` (`FactorFields.kernel_args`).

    Returns -1, or the flat index of the first bad source or uptake value (see `lod_diffuse_decay_2d`).
    """
    f = fields
    for k in range(f.n_sub):
        mark_active_fields(f.c, f.source, f.active)
        bad = lod_diffuse_decay_2d(f.c, f.source, f.uptake, f.uptake_slot, f.decay_per_h, f.step_h, f.active, f.gx,
                                   f.ix, f.gy, f.iy, k == f.n_sub - 1)
        if bad >= 0:
            return bad
    return -1


@njit(cache=True, error_model="numpy")
def first_bad_value(a, lower):
    """Flat index of the first value of `a` that is NaN, infinite or below `lower`; -1 if none.

    Args:
        a: C-contiguous float64 array of any shape.
        lower: smallest allowed value.
    """
    flat = a.reshape(-1)
    for i0 in range(0, flat.size, _SCAN):
        i1 = min(i0 + _SCAN, flat.size)
        n_bad = 0
        for i in range(i0, i1):
            n_bad += not ((flat[i] >= lower) & (flat[i] <= _DBL_MAX))
        if n_bad:
            for i in range(i0, i1):
                if not ((flat[i] >= lower) & (flat[i] <= _DBL_MAX)):
                    return i
    return -1


@njit(cache=True, error_model="numpy")
def _any_nonzero(a2):
    flat = a2.reshape(-1)
    for i0 in range(0, flat.size, _SCAN):
        n_nz = 0
        for i in range(i0, min(i0 + _SCAN, flat.size)):
            n_nz += flat[i] != 0.0
        if n_nz:
            return True
    return False


@njit(cache=True, error_model="numpy")
def mark_active_fields(c, source, active):
    """Set active[f] to whether field f has any non-zero concentration or source.

    Args:
        c, source: float64 (nf, ny, nx), C-contiguous.
        active: bool (nf,), written.
    """
    for f in range(c.shape[0]):
        active[f] = _any_nonzero(c[f]) or _any_nonzero(source[f])
