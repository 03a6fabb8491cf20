"""Does the calibration's coarse grid change closure times by less than the seed-to-seed spread?

`woundsim calibrate resolution [--reference-dx 100] [--reference-dt 1] [--patients 4] [--seeds 3]
[--posterior FILE] [hydra overrides of the calibration config]`

Draws a few patients from each arm's cohort spec and simulates each with several seeds at the
calibration grid and at the reference grid (same patients and seeds), at the prior medians of the
free parameters (or a posterior's weighted medians). For each patient it reports the mean closure
day on both grids, the shift, and the seed-to-seed SD; the check passes for a patient that closes
with every seed on both grids when |shift| < the larger of the two seed SDs (`summarise` gives the
other verdicts). Output: outputs/calibration/resolution/<name>/.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from calibration.app_config import compose_config
from calibration.setup import CalibrationSetup, load_setup
from woundsim.cohort import patient_outcome, sample_patients
from woundsim.parallel import ParallelConfig, map_tasks
from woundsim.seeds import task_seeds
from woundsim.params import ModelParams, with_overrides
from woundsim.posterior import load_posterior, weighted_medians


def resolution_tasks(setup: CalibrationSetup, natural: dict[str, float], reference: dict[str, float],
                     n_patients: int, n_seeds: int, seed: int = 1) -> list[tuple]:
    """Tasks (label, grid, arm, patient index, replicate, task) for both grids and both arms."""
    trial_params, treatment, soc_params = setup.arm_objects(natural)
    tasks = []
    for arm_name, arm, params, treat in (("trial", setup.trial_arm(natural), trial_params, treatment),
                                         ("soc", setup.soc, soc_params, setup.soc.treatment)):
        patients = sample_patients(arm.spec, n_patients, seed)
        seeds = task_seeds(seed, n_patients * n_seeds).reshape(n_patients, n_seeds)
        for grid, p in (("calibration", params), ("reference", _regrid(params, reference))):
            for i, patient in enumerate(patients):
                for r in range(n_seeds):
                    tasks.append((grid, arm_name, i, r, (p, patient, treat, int(seeds[i, r]))))
    return tasks


def _regrid(params: ModelParams, reference: dict[str, float]) -> ModelParams:
    return with_overrides(params, {f"numerics.{k}": v for k, v in reference.items()})


def _run(task: tuple) -> dict:
    grid, arm, i, r, inner = task
    out = patient_outcome(inner)
    return {"grid": grid, "arm": arm, "patient": i, "replicate": r, "area_cm2": out["area_cm2"],
            "texas_grade": out["texas_grade"], "duration_weeks": out["duration_weeks"],
            "closure_day": out["time_to_closure_days"]}


def summarise(runs: pd.DataFrame) -> pd.DataFrame:
    """Per patient: seeds closed, mean and seed SD of the closure day on each grid, the shift and the verdict.

    Verdicts: "within seed spread" (|shift| < the larger seed SD), "shifted", "closes on one grid only"
    (every seed closes on one grid and none on the other), "partly closed" (some seeds close, not all, on a
    grid: its mean is over the closed seeds), "closes on neither".
    """
    closed = runs.assign(closure_day=runs["closure_day"].astype(float))
    stats = closed.groupby(["arm", "patient", "grid"])["closure_day"].agg(["mean", "std", "count", "size"])
    stats = stats.unstack("grid")
    table = pd.DataFrame({
        "closed_calibration": stats[("count", "calibration")], "closed_reference": stats[("count", "reference")],
        "seeds": stats[("size", "reference")],
        "calibration_mean": stats[("mean", "calibration")], "calibration_sd": stats[("std", "calibration")],
        "reference_mean": stats[("mean", "reference")], "reference_sd": stats[("std", "reference")]})
    table["shift_days"] = table["calibration_mean"] - table["reference_mean"]
    table["seed_sd"] = table[["calibration_sd", "reference_sd"]].max(axis=1)
    table["within_seed_spread"] = table["shift_days"].abs() < table["seed_sd"]
    table["verdict"] = [_verdict(row) for row in table.to_dict("records")]
    first = runs.drop_duplicates(["arm", "patient"]).set_index(["arm", "patient"])
    return first[["area_cm2", "texas_grade", "duration_weeks"]].join(table).reset_index()


def _verdict(row: dict) -> str:
    cal, ref, n = row["closed_calibration"], row["closed_reference"], row["seeds"]
    if cal == 0 and ref == 0:
        return "closes on neither"
    if (cal == 0) != (ref == 0):
        return "closes on one grid only" if max(cal, ref) == n else "partly closed"
    if cal < n or ref < n:
        return "partly closed"
    return "within seed spread" if row["within_seed_spread"] else "shifted"


def resolution_command(args: list[str]) -> None:
    """Entry of `woundsim calibrate resolution` (also `python -m calibration resolution`)."""
    parser = argparse.ArgumentParser(prog="woundsim calibrate resolution")
    parser.add_argument("--reference-dx", type=float, default=100.0, help="reference voxel edge (µm)")
    parser.add_argument("--reference-dt", type=float, default=1.0, help="reference agent and field step (h)")
    parser.add_argument("--patients", type=int, default=4, help="patients per arm")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per patient and grid")
    parser.add_argument("--posterior", type=Path, default=None, help="use this posterior's weighted medians")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes")
    opts, overrides = parser.parse_known_args(args)
    setup = load_setup(compose_config(overrides))
    if opts.posterior is not None:
        natural = weighted_medians(*load_posterior(opts.posterior))
    else:
        natural = {p.target: p.to_natural(float(p.distribution().median())) for p in setup.parameters}
    reference = {"dx_um": opts.reference_dx, "dt_agent_h": opts.reference_dt, "dt_field_h": opts.reference_dt}
    tasks = resolution_tasks(setup, natural, reference, opts.patients, opts.seeds)
    runs = pd.DataFrame(map_tasks(_run, tasks, config=ParallelConfig(backend="loky", n_jobs=opts.jobs),
                                  desc="resolution check"))
    out = Path("outputs/calibration/resolution") / setup.name
    out.mkdir(parents=True, exist_ok=True)
    runs.to_csv(out / "runs.csv", index=False)
    table = summarise(runs)
    table.to_csv(out / "summary.csv", index=False)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.round(2).to_string(index=False))
    both = table[table["verdict"].isin(["within seed spread", "shifted"])]
    others = table.loc[~table.index.isin(both.index), "verdict"].value_counts()
    print(f"[calibration] {int(both['within_seed_spread'].sum())} of the {len(both)} patients that close with every "
          f"seed on both grids shift by less than their seed-to-seed SD; median shift "
          f"{both['shift_days'].median():+.1f} days ({(both['shift_days'] / both['reference_mean']).median():+.1%}); "
          + "".join(f"{k}: {v}; " for k, v in others.items()) + f"tables in {out}")
