"""Cost of one simulated patient, against the field solver alone on the same grid, in one process.

The target workload is the default treated patient as `woundsim run` simulates it: conf/patient/default
(2 cm² Texas IIA, 15 weeks, HbA1c 8 %), model=calibrated, treatment=hucmscd_trial (weekly x4), a 12-week
horizon, run until closure is confirmed 2 weeks later (or the horizon ends). It runs at 100 µm and at
200 µm (the calibration's resolution; also at conf/calibration/default.yaml's grid if that differs),
after a warm-up (Numba kernels loaded from the cache). For each it reports wall time, simulated days,
the cost per simulated hour (wall, and CPU: the process's own CPU time, which a busy or virtual machine
disturbs less than the wall clock), and the ratio to a run of the bare field solver for the same grid and
number of steps (how much the agents and tissue add on top of diffusion).

Two reference rows follow, with no target: the same ulcer with uncalibrated ModelParams() and
Treatment() defaults, a fixed workload kept from before the calibration existed (it heals about 17
days later, so it simulates more hours at the same cost per hour), and the cost per hour of each grid
applied to a run that lasts the whole horizon without closing (12 + 2 weeks).
With --memory it also runs a 20 cm² ulcer at 100 µm and reports peak resident memory.

Targets (issue 2): < 2 s per 12-week treated default patient at 100 µm, < 0.5 s at a 200 µm
calibration resolution, on one core after compilation; 20 cm² at 100 µm within 2 GiB.

    NUMBA_NUM_THREADS=1 .venv/bin/python benchmarks/bench_patient.py [--seeds 3] [--repeats 1] [--memory]
"""

from __future__ import annotations

import argparse
import math
import resource
import statistics
import time
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

from woundsim.config import named_option, named_params
from woundsim.fields import FactorFields
from woundsim.layout import FIELD_NAMES
from woundsim.model import WoundModel
from woundsim.params import ModelParams, with_overrides
from woundsim.patient import Patient
from woundsim.simulate import simulate
from woundsim.treatment import Treatment
from woundsim.units import cm2_per_s_to_um2_per_h, half_life_to_rate


def fields_only(shape, params: ModelParams, steps: int) -> float:
    """Seconds for `steps` field steps on `shape` with every field active (the reference)."""
    fp = params.fields
    f = FactorFields(shape, [cm2_per_s_to_um2_per_h(getattr(fp, n).diff_cm2_s) for n in FIELD_NAMES],
                     [half_life_to_rate(getattr(fp, n).half_life_h) for n in FIELD_NAMES], params.numerics.dx_um)
    rng = np.random.default_rng(0)
    src = rng.random(f.source.shape) * (rng.random(f.source.shape) < 0.05)
    wall = 0.0
    for _ in range(steps):
        f.source[...] = src  # untimed: the model accumulates its sources during the step
        t0 = time.perf_counter()
        f.step(params.numerics.dt_field_h)
        wall += time.perf_counter() - t0
    return wall


def grid_params(dx_um: float, dt_h: float) -> ModelParams:
    return with_overrides(ModelParams(), {"numerics.dx_um": dx_um, "numerics.dt_agent_h": dt_h,
                                          "numerics.dt_field_h": dt_h, "numerics.horizon_weeks": 12.0})


def one(p: ModelParams, seed: int, patient: Patient, treatment: Treatment,
        repeats: int = 1) -> tuple[float, float, tuple[int, int], float]:
    """(wall s, simulated days, grid shape, CPU s) of one simulated patient; with `repeats` > 1 the same
    patient (same seed, the same run) is simulated that many times and the fastest wall and CPU times are
    kept, since other work on the machine only ever adds time."""
    wall = cpu = math.inf
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        r = simulate(p, patient, treatment, seed=seed)
        wall, cpu = min(wall, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
    shape = WoundModel(with_overrides(p, {"numerics.mesa_sync_hours": 0.0}), patient, treatment,
                       seed=seed).geometry.shape
    return wall, float(r.summary["simulated_days"]), shape, cpu


def calibration_grid() -> tuple[float, float]:
    """(dx_um, dt_h) of the default calibration (conf/calibration/default.yaml)."""
    grid = OmegaConf.load(Path(__file__).resolve().parents[1] / "conf" / "calibration" / "default.yaml").grid
    return float(grid.dx_um), float(grid.dt_agent_h)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=3, help="patients (seeds) per resolution")
    ap.add_argument("--repeats", type=int, default=1,
                    help="runs of each patient in this process, keeping the fastest (a steadier cost on a busy machine)")
    ap.add_argument("--memory", action="store_true", help="also measure a 20 cm² ulcer at 100 µm")
    a = ap.parse_args()
    if a.seeds < 1 or a.repeats < 1:
        ap.error("--seeds and --repeats must be at least 1")
    simulate(with_overrides(ModelParams(), {"numerics.dx_um": 250.0, "numerics.horizon_weeks": 4.0}),
             Patient(area_cm2=0.5), Treatment(), seed=0)  # warm-up: load kernels
    cal_dx, cal_dt = calibration_grid()
    grids = [(100.0, 1.0, 2.0), (200.0, 1.0, 0.5)]
    if (cal_dx, cal_dt) != (200.0, 1.0):
        grids.append((cal_dx, cal_dt, 0.5))
    default_patient = Patient(**named_option("patient", "default"))
    run_treatment = Treatment(**named_option("treatment", "hucmscd_trial"))
    header = (f"{'grid':>14} {'voxels':>10} {'wall s':>8} {'days':>6} {'ms/sim h':>9} {'fields-only s':>14} {'ratio':>6} "
              f"{'CPU ms/sim h':>12}")
    per_hour = {}

    def row(label, p, patient, treatment, target=None):
        runs = [one(p, seed, patient, treatment, a.repeats) for seed in range(a.seeds)]
        wall = statistics.median(r[0] for r in runs)
        days = statistics.median(r[1] for r in runs)
        cpu = statistics.median(r[3] for r in runs)
        shape = runs[0][2]
        dt = p.numerics.dt_agent_h
        ref = fields_only(shape, p, int(round(days * 24 / dt)))
        verdict = "" if target is None else f"  < {target} s {'met' if wall < target else 'NOT met'}"
        print(f"{label:>14} {shape[0]:>4}x{shape[1]:<5} {wall:>8.2f} {days:>6.1f} {1000 * wall / (days * 24):>9.3f} "
              f"{ref:>14.2f} {wall / ref:>6.2f} {1000 * cpu / (days * 24):>12.3f}{verdict}")
        return wall / (days * 24)

    print("The default patient as `woundsim run` simulates it (model=calibrated, treatment=hucmscd_trial), "
          f"median of {a.seeds} seeds" + (f", each the fastest of {a.repeats} runs" if a.repeats > 1 else "") + ":")
    print(header + "  target")
    for dx, dt, target in grids:
        p = with_overrides(named_params("calibrated"), {"numerics.horizon_weeks": 12.0, "numerics.dx_um": dx,
                                                        "numerics.dt_agent_h": dt, "numerics.dt_field_h": dt})
        per_hour[(dx, dt)] = row(f"{dx:g} µm / {dt:g} h", p, default_patient, run_treatment, target)
    print("\nReference, no target: the same ulcer with uncalibrated ModelParams() and Treatment() defaults:")
    print(header)
    for dx, dt, _ in grids[:2]:
        row(f"{dx:g} µm / {dt:g} h", grid_params(dx, dt), Patient(area_cm2=2.0, texas_grade=2), Treatment())
    horizon_h = (12.0 + 2.0) * 7 * 24
    print("\nReference, no target: a default patient that never closes runs the whole 12 + 2 weeks: "
          + ", ".join(f"{horizon_h * s:.2f} s at {dx:g} µm / {dt:g} h" for (dx, dt), s in per_hour.items())
          + f" (the default patient's cost per simulated hour x {horizon_h:.0f} h)")
    if a.memory:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        p = with_overrides(ModelParams(), {"numerics.horizon_weeks": 2.0})
        t0 = time.perf_counter()
        model = WoundModel(p, Patient(area_cm2=20.0), Treatment(schedule_days=[0, 7]), seed=0)  # with the Mesa mirror (every hour)
        while model.running:
            model.step()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"20 cm² at 100 µm, grid {model.geometry.shape}, 2 weeks with Mesa agents synced hourly: "
              f"peak RSS {peak:.0f} MiB (was {before:.0f} MiB before), {time.perf_counter() - t0:.0f} s; target < 2048 MiB")


if __name__ == "__main__":
    main()
