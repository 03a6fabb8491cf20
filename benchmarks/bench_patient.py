"""Cost of one simulated patient, against the field solver alone on the same grid, in one process.

Runs the default treated patient (2 cm² Texas II, hUC-MSCD weekly x4, 12-week horizon; uncalibrated
ModelParams and Treatment defaults, a fixed workload) at 100 µm, at 200 µm (both 1 h steps) and at
the calibration's grid (conf/calibration/default.yaml) if it differs, then the patient as `woundsim run`
simulates it (model=calibrated, treatment=hucmscd_trial) at 100 µm and at 200 µm, after a warm-up
(Numba kernels loaded from the cache), and reports wall time, simulated days, the cost per simulated
hour, and the ratio to a run of the bare field solver for the same grid and number of steps (how
much the agents and tissue add on top of diffusion).
With --memory it also runs a 20 cm² ulcer at 100 µm and reports peak resident memory.

Targets (issue 2): < 2 s per 12-week treated default patient at 100 µm, < 0.5 s at a 200 µm
calibration resolution (shown at 1 h steps and at the calibration's own grid), on one core after
compilation; 20 cm² at 100 µm within 2 GiB.

    NUMBA_NUM_THREADS=1 .venv/bin/python benchmarks/bench_patient.py [--seeds 3] [--memory]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

from woundsim.config import named_option, named_params
from woundsim.fields import FIELD_NAMES, FactorFields
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


def one(p: ModelParams, seed: int, treatment: Treatment | None = None) -> tuple[float, float, tuple[int, int]]:
    patient, treatment = Patient(area_cm2=2.0, texas_grade=2), treatment or Treatment()
    t0 = time.perf_counter()
    r = simulate(p, patient, treatment, seed=seed)
    wall = time.perf_counter() - t0
    shape = WoundModel(with_overrides(p, {"numerics.mesa_sync_hours": 0.0}), patient, treatment,
                       seed=seed).geometry.shape
    return wall, float(r.summary["simulated_days"]), shape


def calibration_grid() -> tuple[float, float]:
    """(dx_um, dt_h) of the default calibration (conf/calibration/default.yaml)."""
    grid = OmegaConf.load(Path(__file__).resolve().parents[1] / "conf" / "calibration" / "default.yaml").grid
    return float(grid.dx_um), float(grid.dt_agent_h)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=3, help="patients (seeds) per resolution")
    ap.add_argument("--memory", action="store_true", help="also measure a 20 cm² ulcer at 100 µm")
    a = ap.parse_args()
    simulate(with_overrides(ModelParams(), {"numerics.dx_um": 250.0, "numerics.horizon_weeks": 4.0}),
             Patient(area_cm2=0.5), Treatment(), seed=0)  # warm-up: load kernels
    cal_dx, cal_dt = calibration_grid()
    rows = [("100 µm / 1 h", 100.0, 1.0, 2.0, False), ("200 µm / 1 h", 200.0, 1.0, 0.5, False)]
    if (cal_dx, cal_dt) != (200.0, 1.0):
        rows.append((f"calibration {cal_dx:g} µm / {cal_dt:g} h", cal_dx, cal_dt, 0.5, False))
    rows += [("woundsim run default", 100.0, 1.0, 2.0, True), ("same at 200 µm / 1 h", 200.0, 1.0, 0.5, True)]
    print(f"{'grid':>22} {'voxels':>10} {'wall s':>8} {'days':>6} {'ms/sim h':>9} {'fields-only s':>14} {'ratio':>6}  target")
    for label, dx, dt, target, calibrated in rows:
        p, treatment = grid_params(dx, dt), None
        if calibrated:  # model=calibrated treatment=hucmscd_trial, as `woundsim run` simulates it
            p = with_overrides(named_params("calibrated"), {"numerics.horizon_weeks": 12.0, "numerics.dx_um": dx,
                                                            "numerics.dt_agent_h": dt, "numerics.dt_field_h": dt})
            treatment = Treatment(**named_option("treatment", "hucmscd_trial"))
        runs = [one(p, seed, treatment) for seed in range(a.seeds)]
        wall = statistics.median(r[0] for r in runs)
        days = statistics.median(r[1] for r in runs)
        shape = runs[0][2]
        ref = fields_only(shape, p, int(round(days * 24 / dt)))
        print(f"{label:>22} {shape[0]:>4}x{shape[1]:<5} {wall:>8.2f} {days:>6.1f} {1000 * wall / (days * 24):>9.3f} "
              f"{ref:>14.2f} {wall / ref:>6.2f}  < {target} s {'met' if wall < target else 'NOT met'}")
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
