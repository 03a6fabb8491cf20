"""What the closure verifications share: fixed patients, named grids, and a resumable state table of runs.

Each run is one (grid, patient, seed) simulated by `woundsim.cohort.patient_run` through `woundsim.parallel`;
its closure figures are appended to `<out>/state.csv` as it arrives, so a study stopped part-way resumes
where it was (rows already there are not run again).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd

from woundsim.cohort import patient_run, sample_patients
from woundsim.config import cohort_from, named_option, named_params, named_treatment
from woundsim.parallel import ParallelConfig, map_tasks
from woundsim.params import ModelParams
from woundsim.patient import Patient
from woundsim.seeds import task_seeds
from woundsim.treatment import Treatment, standard_care

# grid name -> numerics (dx_um, dt_agent_h, dt_field_h): conf/grid/{fine,default,coarse}.yaml, and the
# 250 µm / 2 h grid that the trial designer and the sensitivity studies use (conf/trial/default.yaml)
GRIDS = {"50um": (50.0, 1.0, 0.5), "100um": (100.0, 1.0, 1.0), "200um": (200.0, 1.0, 1.0),
         "250um_2h": (250.0, 2.0, 2.0)}
ARMS = {"seed_trial": "hucmscd_trial", "pivotal_control": None}  # cohort spec -> treatment (None: standard care)
HORIZON_WEEKS = 30.0  # weeks simulated in every arm (the trial policy's 12 or 20 would censor slow closures)
STATE_COLUMNS = ("grid", "arm", "patient", "seed", "area_cm2", "first_closure_day", "visit_closure_day",
                 "one_percent_day", "end_day", "horizon_days")


@dataclasses.dataclass(frozen=True)
class Run:
    grid: str
    arm: str
    patient: int
    seed: int


def fixed_patients(arm: str, n: int, patient_seed: int) -> list[Patient]:
    """The first `n` patients sampled from conf/cohort/<arm>.yaml with `patient_seed` (the same on every grid)."""
    return sample_patients(cohort_from(named_option("cohort", arm)), n, patient_seed)


def grid_params(model: str, grid: str) -> ModelParams:
    """`model`'s parameters on `grid`, with the foot's load breakdown off (the acceptance is stated for patients
    without it, and a poorly offloaded plantar ulcer that stalls has no closure day to compare across grids) and a
    horizon of `HORIZON_WEEKS` for every arm, so that a slow patient's closure is seen rather than censored at the
    trial's 12 or 20 weeks (a run stops 2 weeks after its confirmed closure)."""
    dx, dt_agent, dt_field = GRIDS[grid]
    params = named_params(model, "default")
    numerics = dataclasses.replace(params.numerics, dx_um=dx, dt_agent_h=dt_agent, dt_field_h=dt_field,
                                   mesa_sync_hours=0.0, horizon_weeks=HORIZON_WEEKS)
    foot = dataclasses.replace(params.foot, epithelial_breakdown_um_day=0.0)
    return dataclasses.replace(params, numerics=numerics, foot=foot)


def treatment_for(arm: str) -> Treatment:
    return named_treatment(ARMS[arm]) if ARMS[arm] else standard_care()


def one_percent_day(days: np.ndarray, area: np.ndarray) -> float:
    """Day the open area first falls to 1% of its value on day 0, interpolated linearly between daily records
    (NaN if it never does)."""
    target = 0.01 * area[0]
    hit = np.flatnonzero(area <= target)
    if hit.size == 0:
        return math.nan
    k = int(hit[0])
    if k == 0:
        return float(days[0])
    a0, a1 = area[k - 1], area[k]
    return float(days[k - 1] + (days[k] - days[k - 1]) * (a0 - target) / (a0 - a1))


def state_row(run: Run, result: tuple[dict, pd.DataFrame]) -> dict:
    summary, series = result
    days, area = series["day"].to_numpy(float), series["open_area_cm2"].to_numpy(float)
    return {"grid": run.grid, "arm": run.arm, "patient": run.patient, "seed": run.seed, "area_cm2": area[0],
            "first_closure_day": summary["first_closure_day"], "visit_closure_day": summary["visit_closure_day"],
            "one_percent_day": one_percent_day(days, area), "end_day": summary["simulated_days"],
            "horizon_days": summary["horizon_days"]}


def run_study(runs: list[Run], out: Path, *, model: str, n_patients: int, patient_seed: int, root_seed: int,
              n_jobs: int) -> pd.DataFrame:
    """Run every (grid, arm, patient, seed) of `runs` not yet in `<out>/state.csv`; return the whole state table.

    Seed j of a patient is `task_seeds(root_seed, n)[j]`, the same on every grid (common seeds; the grids'
    random streams still differ, as the lattices do)."""
    out.mkdir(parents=True, exist_ok=True)
    state_file = out / "state.csv"
    done = pd.read_csv(state_file) if state_file.is_file() else pd.DataFrame(columns=STATE_COLUMNS)
    have = {(r.grid, r.arm, int(r.patient), int(r.seed)) for r in done.itertuples()}
    todo = [r for r in runs if (r.grid, r.arm, r.patient, r.seed) not in have]
    print(f"{len(runs) - len(todo)} of {len(runs)} runs already in {state_file}; running {len(todo)}", flush=True)
    patients = {arm: fixed_patients(arm, n_patients, patient_seed) for arm in ARMS}
    seeds = task_seeds(root_seed, max([r.seed for r in runs], default=0) + 1)
    tasks = [(grid_params(model, r.grid), patients[r.arm][r.patient], treatment_for(r.arm), int(seeds[r.seed]))
             for r in todo]
    if not state_file.is_file():
        pd.DataFrame(columns=STATE_COLUMNS).to_csv(state_file, index=False)

    def store(index: int, result) -> None:
        pd.DataFrame([state_row(todo[index], result)], columns=STATE_COLUMNS).to_csv(
            state_file, mode="a", header=False, index=False)

    if todo:
        # seed by seed (a study stopped part-way has the same seeds on every grid), longest runs first within one
        order = sorted(range(len(todo)), key=lambda i: (todo[i].seed, GRIDS[todo[i].grid][0], todo[i].arm))
        todo, tasks = [todo[i] for i in order], [tasks[i] for i in order]
        map_tasks(patient_run, tasks, config=ParallelConfig(backend="loky", n_jobs=n_jobs), desc="runs",
                  on_result=store)
    return pd.read_csv(state_file)


def markdown(table: pd.DataFrame) -> str:
    """A table as Markdown (floats to 2 decimals), without extra packages."""
    def cell(v) -> str:
        return f"{v:.2f}" if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines)


def study_arguments(doc: str) -> argparse.ArgumentParser:
    """The command line both closure studies share. Their default output folder is the same, so the tail study
    reads the 100 µm runs the grid study made (and the other way round) instead of running them again."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="Resumable: rerun the same command to finish or extend a study.")
    ap.add_argument("--out", type=Path, default=Path("outputs/verification/closure"), help="output folder")
    ap.add_argument("--patients", type=int, default=3, help="patients per arm (default 3)")
    ap.add_argument("--seeds", type=int, default=20, help="seeds per patient (and grid; default 20)")
    ap.add_argument("--model", default="default", help="conf/model/<name>.yaml (default: the prior centres; the installed "
                    "calibration is version 1's)")
    ap.add_argument("--patient-seed", type=int, default=0, help="seed of the patient samples (default 0)")
    ap.add_argument("--root-seed", type=int, default=17, help="root of the run seeds (default 17)")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    ap.add_argument("--report-only", action="store_true", help="write the tables from the state, run nothing")
    return ap


def study_state(runs: list[Run], args: argparse.Namespace) -> pd.DataFrame:
    """The state table after running what `runs` still lacks (nothing with --report-only)."""
    if args.report_only:
        return pd.read_csv(args.out / "state.csv")
    return run_study(runs, args.out, model=args.model, n_patients=args.patients, patient_seed=args.patient_seed,
                     root_seed=args.root_seed, n_jobs=args.jobs)
