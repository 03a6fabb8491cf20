"""Speed of the implicit LOD diffusion-decay kernel, in voxel-field updates per second.

Times `lod_diffuse_decay_2d` (Numba, one thread) on 7 fields of 200 x 200 voxels (dx 100 µm,
dt 1 h) against a plain NumPy implementation of the same scheme (exact reaction, Thomas algorithm
vectorised across rows), in the same process; checks that both agree; prints both rates, their
ratio and the figure against the 500 M/s target (BioFVM's C++ LOD solver does about 140 M/s on
this machine). Source and uptake are refilled before every step (untimed), as the model does.

Scenarios (uptake decides the cost: voxels without it take a per-field constant factor):
    no-uptake   sources only (1 % of voxels);
    cells       sources and uptake at 10 % of the voxels of a central wound disk (half the area);
    dense       uptake in every voxel (the worst case).

Run:  NUMBA_NUM_THREADS=1 .venv/bin/python benchmarks/bench_diffusion.py
"""

from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np

from woundsim.fields import FactorFields
from woundsim.layout import FIELD_NAMES
from woundsim.kernels.diffusion import lod_diffuse_decay_2d, lod_factors
from woundsim.units import cm2_per_s_to_um2_per_h, half_life_to_rate, per_day_to_per_hour

TARGET_PER_S = 500e6
PROTEIN_D_UM2_H = cm2_per_s_to_um2_per_h(1.0e-6)  # 8-50 kDa proteins in fibrin gel, Nauman et al. 2007
EV_D_UM2_H = 3600.0  # 1 µm²/s: EVs (4-13 µm²/s in water, Stokes-Einstein) slowed by matrix
DECAY_PER_H = (
    half_life_to_rate(49.0 / 60.0),  # tnf: terminal t1/2 49 min, Clin Sci 1994 87:459
    half_life_to_rate(3.0),  # il10: 2-4.5 h, Huhn et al. 1996-97
    per_day_to_per_hour(9.1),  # tgfb: 9.1/day, Waugh & Sherratt 2006
    half_life_to_rate(2.0),  # pdgf: no tissue value in literature; benchmark value only
    half_life_to_rate(2.0),  # vegf: no tissue value in literature; benchmark value only
    half_life_to_rate(98.0 / 60.0),  # egf: 78-119 min, Kuo et al. 1992
    half_life_to_rate(24.0),  # ev: clearance unknown; benchmark value only
)
DIFF_UM2_H = (PROTEIN_D_UM2_H,) * 6 + (EV_D_UM2_H,)


def numpy_lod_step(c, source, uptake, diff_um2_h, decay_per_h, dx_um, dt_h):
    """Reference: the same LOD step in plain NumPy (libm exp; Thomas vectorised across rows).

    Returns the new (nf, ny, nx) array; inputs are not modified.
    """
    lam = decay_per_h[:, None, None] + uptake
    phi = np.where(lam > 0, -np.expm1(-lam * dt_h) / np.where(lam > 0, lam, 1.0), dt_h)
    c = c * np.exp(-lam * dt_h) + source * phi
    a = np.asarray(diff_um2_h) * dt_h / dx_um**2
    c = _thomas_last_axis(np.ascontiguousarray(c.transpose(0, 2, 1)), a).transpose(0, 2, 1)  # x-sweep
    return _thomas_last_axis(np.ascontiguousarray(c), a)  # y-sweep


def _thomas_last_axis(c, a):
    """Solve (I - a L) x = c along axis 1 of c (nf, n, m) for all m at once; no-flux ends."""
    n = c.shape[1]
    g, inv = np.zeros((a.size, n)), np.zeros((a.size, n))
    inv[:, 0] = 1.0 / (1.0 + a)
    g[:, 0] = a * inv[:, 0]
    for i in range(1, n):
        inv[:, i] = 1.0 / ((1.0 + a if i == n - 1 else 1.0 + 2.0 * a) - a * g[:, i - 1])
        g[:, i] = a * inv[:, i]
    c[:, 0] *= inv[:, 0, None]
    for i in range(1, n):
        c[:, i] = inv[:, i, None] * c[:, i] + g[:, i, None] * c[:, i - 1]
    for i in range(n - 2, -1, -1):
        c[:, i] += g[:, i, None] * c[:, i + 1]
    return c


def scenario_inputs(name, shape, rng):
    """(source, uptake) arrays of one scenario (see module docstring)."""
    nf, ny, nx = shape
    y, x = np.mgrid[0:ny, 0:nx]
    wound = np.hypot(y - ny / 2, x - nx / 2) < math.sqrt(ny * nx / (2 * math.pi))  # half the area
    if name == "no-uptake":
        cells = rng.random((ny, nx)) < 0.01
        return np.where(cells, 5.0, 0.0)[None].repeat(nf, 0), np.zeros(shape)
    if name == "cells":
        cells = wound & (rng.random((ny, nx)) < 0.10)
        return np.where(cells, 5.0, 0.0)[None].repeat(nf, 0), np.where(cells, 0.5, 0.0)[None].repeat(nf, 0)
    if name == "dense":
        return np.where(wound, 1.0, 0.0)[None].repeat(nf, 0), np.full(shape, 0.05)
    raise ValueError(f"unknown scenario {name!r}")


def time_numba(c, source, uptake, args, steps):
    """Per-step times (s) of the kernel; source and uptake refilled before each step."""
    s, u = np.empty_like(source), np.empty_like(uptake)
    slot, decay, dt, active, factors = args
    times = np.empty(steps)
    for k in range(steps + 1):
        s[:], u[:] = source, uptake
        t0 = time.perf_counter()
        bad = lod_diffuse_decay_2d(c, s, u, slot, decay, dt, active, *factors)
        if k:  # the first call may compile or load from cache
            times[k - 1] = time.perf_counter() - t0
        assert bad < 0
    return times


def time_fields_step(shape, dx_um, dt_h, source, uptake, c0, steps):
    """Per-step times (s) of the public wrapper FactorFields.step (validation, activity scan)."""
    ff = FactorFields(shape[1:], DIFF_UM2_H, DECAY_PER_H, dx_um)
    ff.c[:] = c0
    times = np.empty(steps)
    for k in range(steps):
        ff.source[:], ff.uptake[:] = source, uptake
        t0 = time.perf_counter()
        ff.step(dt_h)
        times[k] = time.perf_counter() - t0
    return times


def agreement(c0, source, uptake, args, dx_um, steps=5):
    """Max |numba - numpy| / max |c| after a few steps from the same state."""
    slot, decay, dt, active, factors = args
    c_nb, c_np = c0.copy(), c0.copy()
    for _ in range(steps):
        lod_diffuse_decay_2d(c_nb, source.copy(), uptake.copy(), slot, decay, dt, active, *factors)
        c_np = numpy_lod_step(c_np, source, uptake, np.asarray(DIFF_UM2_H), decay, dx_um, dt)
    return float(np.abs(c_nb - c_np).max() / np.abs(c_np).max())


def rate(n_updates, times):
    return n_updates / np.min(times), n_updates / np.median(times)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--nx", type=int, default=200, help="voxels along x (default 200)")
    p.add_argument("--ny", type=int, default=200, help="voxels along y (default 200)")
    p.add_argument("--dx-um", type=float, default=100.0, help="voxel edge, µm (default 100)")
    p.add_argument("--dt-h", type=float, default=1.0, help="field time step, h (default 1)")
    p.add_argument("--steps", type=int, default=300, help="timed kernel steps per scenario (default 300)")
    p.add_argument("--numpy-steps", type=int, default=10, help="timed NumPy reference steps (default 10)")
    p.add_argument("--seed", type=int, default=1, help="seed of the random source pattern (default 1)")
    opts = p.parse_args(argv)

    shape = (len(FIELD_NAMES), opts.ny, opts.nx)
    n_updates = math.prod(shape)
    rng = np.random.default_rng(opts.seed)
    decay = np.asarray(DECAY_PER_H)
    factors = (*lod_factors(opts.nx, np.asarray(DIFF_UM2_H), opts.dt_h, opts.dx_um),
               *lod_factors(opts.ny, np.asarray(DIFF_UM2_H), opts.dt_h, opts.dx_um))
    # every field carries an uptake slab here (slot f for field f), the general case of the kernel
    args = (np.arange(len(FIELD_NAMES), dtype=np.int64), decay, opts.dt_h, np.ones(len(FIELD_NAMES), dtype=np.bool_),
            factors)
    c0 = 1.0 + rng.random(shape)
    print(f"grid {opts.ny} x {opts.nx} x {len(FIELD_NAMES)} fields, dx {opts.dx_um} µm, dt {opts.dt_h} h, "
          f"D*dt/dx² = {DIFF_UM2_H[0] * opts.dt_h / opts.dx_um**2:.3g} (proteins), "
          f"{EV_D_UM2_H * opts.dt_h / opts.dx_um**2:.3g} (ev); NUMBA_NUM_THREADS={os.environ.get('NUMBA_NUM_THREADS')}")
    print("rates in million voxel-field updates per second (M/s): best step (median step)")
    for name in ("no-uptake", "cells", "dense"):
        source, uptake = scenario_inputs(name, shape, rng)
        err = agreement(c0, source, uptake, args, opts.dx_um)
        nb_best, nb_med = rate(n_updates, time_numba(c0.copy(), source, uptake, args, opts.steps))
        np_times = np.array([_time_numpy(c0, source, uptake, decay, opts) for _ in range(opts.numpy_steps)])
        np_best, np_med = rate(n_updates, np_times)
        ff_best, ff_med = rate(n_updates, time_fields_step(shape, opts.dx_um, opts.dt_h, source, uptake, c0,
                                                           opts.steps))
        print(f"[{name}] uptake in {np.count_nonzero(uptake) / uptake.size:.1%} of voxel-fields; "
              f"numba vs numpy max rel diff {err:.1e} ({'agree' if err < 1e-10 else 'DISAGREE'})")
        print(f"  numba kernel         {nb_best / 1e6:7.0f} ({nb_med / 1e6:.0f})   "
              f"{nb_best / TARGET_PER_S:.2f} x the 500 M/s target")
        print(f"  FactorFields.step    {ff_best / 1e6:7.0f} ({ff_med / 1e6:.0f})   (wrapper: checks + activity scan)")
        print(f"  numpy reference      {np_best / 1e6:7.1f} ({np_med / 1e6:.1f})")
        print(f"  ratio numba / numpy  {nb_best / np_best:7.1f} (medians {nb_med / np_med:.1f})")


def _time_numpy(c0, source, uptake, decay, opts):
    t0 = time.perf_counter()
    numpy_lod_step(c0, source, uptake, np.asarray(DIFF_UM2_H), decay, opts.dx_um, opts.dt_h)
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
