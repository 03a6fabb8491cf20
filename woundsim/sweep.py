"""Sweeps of whole scenarios: resumable cohort scenarios and one tidy table per sweep.

A sweep point of a cohort study is a `CohortScenario` (cohort, size, treatment, parameters, root seed).
`run_cohort_scenario` simulates its patients through the one parallel layer and writes each patient's row
atomically into a `ResultStore` under the key `<scenario hash>-p<index>`, so a point that is killed and
started again skips the patients already written and completes the rest. Every point of a study shares the
root seed, hence the same patients and the same per-patient seeds (common random numbers across points).

`gather` turns a sweep into one tidy Parquet table, one row per simulated patient: a cohort study's store
(`<study>/store`) or the folders of a `woundsim run -m` multirun. `sweep_axes` and `point_summary` reduce a
gathered table to one row per sweep point (the numbers the study's figure shows).
"""

from __future__ import annotations

import functools
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from woundsim.codekey import bind_store, code_key, log_session, store_code_note
from woundsim.cohort import PATIENT_COLUMNS, patient_outcome, sample_patients
from woundsim.errors import InputError, require
from woundsim.kernel_notice import announce_compiling, mark_compiled
from woundsim.output import COMPLETE
from woundsim.parallel import ParallelConfig
from woundsim.seeds import task_seeds
from woundsim.params import ModelParams
from woundsim.patient import CohortSpec
from woundsim.store import ResultStore, config_hash, run_resumable
from woundsim.treatment import Treatment

#: columns that describe the scenario (sweep axes are those among them, and any "model.*" label, that vary)
SCENARIO_COLUMNS = ("cohort", "root_seed", "product", "dose_ug_per_site", "sites", "distance_mm", "schedule",
                    "dx_um", "horizon_weeks")
STUDY_TABLE = "study.parquet"
RUNS_TABLE = "runs.parquet"


@dataclass
class CohortScenario:
    """One sweep point of a cohort study.

    Attributes:
        spec: the cohort the patients are drawn from.
        n: number of patients.
        treatment: regimen given to every patient.
        params: model parameters (resolution and horizon included).
        seed: root seed: patients from `sample_patients(spec, n, seed)`, patient i runs with
            `task_seeds(seed, n)[i]` (as in `woundsim.cohort.simulate_cohort`).
        schedule: label of the injection schedule (default: the days joined by "+", e.g. "0+7+14+21").
        labels: further columns stored with every row, e.g. {"model.impairment.tnf_fold": 4.0}.
    """

    spec: CohortSpec
    n: int
    treatment: Treatment
    params: ModelParams = field(default_factory=ModelParams)
    seed: int = 0
    schedule: str | None = None
    labels: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        require(isinstance(self.n, (int, np.integer)) and not isinstance(self.n, bool) and 1 <= self.n <= 99_999,
                f"study.n_patients = {self.n!r} must be an integer in [1, 99999]")
        require(isinstance(self.seed, (int, np.integer)) and self.seed >= 0,
                f"run.seed = {self.seed!r} must be a non-negative integer")
        clash = set(self.labels) & (set(SCENARIO_COLUMNS) | set(PATIENT_COLUMNS) | {"patient", "scenario", "seed"})
        require(not clash, f"labels {sorted(clash)} clash with the table's own columns; rename them")

    def columns(self) -> dict[str, Any]:
        """The scenario's columns, stored with each of its patients' rows."""
        t, num = self.treatment, self.params.numerics
        schedule = self.schedule or "+".join(f"{d:g}" for d in t.schedule_days) or "none"
        return {"cohort": self.spec.name, "root_seed": int(self.seed), "product": t.product,
                "dose_ug_per_site": float(t.dose_ug_per_site), "sites": int(t.sites),
                "distance_mm": float(t.distance_mm), "schedule": schedule, "dx_um": float(num.dx_um),
                "horizon_weeks": float(num.horizon_weeks), **self.labels}

    def hash(self) -> str:
        """Hash of everything that determines the scenario's rows (labels excluded), the code key included."""
        return config_hash({"spec": self.spec, "n": int(self.n), "treatment": self.treatment,
                            "params": self.params, "seed": int(self.seed), "code": code_key()})

    def keys(self) -> list[str]:
        """Store key of each patient: `<hash>-p<index>`."""
        h = self.hash()
        return [f"{h}-p{i:05d}" for i in range(self.n)]


def _labelled_outcome(columns: dict[str, Any], task: tuple) -> dict:
    """`patient_outcome` of one task, preceded by the scenario's columns and the patient index."""
    index, run_task = task
    return {**columns, "patient": int(index), **patient_outcome(run_task)}


def run_cohort_scenario(scenario: CohortScenario, store: ResultStore, *, parallel: ParallelConfig | None = None,
                        desc: str | None = None) -> pd.DataFrame:
    """Simulate the scenario's patients not yet in `store`, writing each row as it arrives.

    Args:
        scenario: the sweep point.
        store: results store shared by the study's points (one JSON file per patient).
        parallel: back end for the patients (default: loky on all cores).
        desc: progress-bar label.

    Returns:
        The scenario's rows (all `n` of them), in patient order: key, seed, config_hash, the scenario's
        columns, patient, the patient's attributes and its summary (docs/ARCHITECTURE.md keys).

    Raises:
        StaleStoreError: the store holds rows of other simulation code (`woundsim.codekey.bind_store`).
    """
    start = time.perf_counter()
    bind_store(store.root, what="sweep store")
    patients = sample_patients(scenario.spec, scenario.n, scenario.seed)
    seeds = [int(s) for s in task_seeds(scenario.seed, scenario.n)]
    params, treatment = scenario.params, scenario.treatment
    tasks = [(i, (params, p, treatment, s)) for i, (p, s) in enumerate(zip(patients, seeds))]
    fn = functools.partial(_labelled_outcome, scenario.columns())
    hashes = [config_hash(task[1]) for task in tasks]
    found = len(set(scenario.keys()) & store.done_keys())
    compiling = found < scenario.n and announce_compiling()
    table = run_resumable(fn, tasks, scenario.keys(), store, seeds=seeds, config_hashes=hashes, config=parallel,
                          desc=desc or f"{scenario.spec.name}: {treatment.product}")
    if compiling:
        mark_compiled()
    log_session(store.root, time.perf_counter() - start, scenario=scenario.hash(), patients=scenario.n,
                found=found, computed=scenario.n - found)
    return table.sort_values("patient", kind="stable").reset_index(drop=True)


def gather(path: Path | str, out: Path | str | None = None) -> pd.DataFrame:
    """One tidy table of a sweep, written to Parquet.

    Args:
        path: a cohort study's folder (holding `store/runs/`), a store folder itself (holding `runs/`),
            or a `woundsim run -m` sweep folder (job folders with summary.json).
        out: Parquet file (default: `<path>/study.parquet` for a study, `<path>/runs.parquet` for a multirun).

    Returns:
        The table (one row per simulated patient).
    """
    path = Path(path)
    require(path.is_dir(), f"gather: {path} is not a folder")
    store_root = next((p for p in (path / "store", path) if (p / "runs").is_dir()), None)
    if store_root is not None:
        table, default_out = gather_study(store_root), path / STUDY_TABLE
    else:
        table, default_out = gather_runs(path), path / RUNS_TABLE
    target = Path(out) if out is not None else default_out
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".tmp-{target.name}")  # a reader never sees half a table
    table.to_parquet(tmp, index=False)
    os.replace(tmp, target)
    return table


def gather_study(store_root: Path | str) -> pd.DataFrame:
    """A cohort study's store as one table, sorted by sweep axes and patient.

    Raises:
        InputError: the store is empty, or holds two versions of one sweep point (rows with equal scenario
            columns and patient but different scenario hashes: a parameter changed between runs into the
            same folder; use a new study folder).
    """
    note = store_code_note(store_root)
    if note:
        print(f"[woundsim] note: {note}", file=sys.stderr)
    table = ResultStore(store_root).gather()
    require(len(table) > 0, f"gather: the store {store_root} holds no runs yet")
    require("patient" in table.columns, f"gather: {store_root} is not a cohort study's store (no 'patient' column)")
    table.insert(1, "scenario", table["key"].str.rsplit("-p", n=1).str[0])
    label_cols = scenario_columns(table)
    dup = table.duplicated(label_cols + ["patient"], keep=False)
    if dup.any():
        versions = table.loc[dup, "scenario"].nunique()
        raise InputError(f"gather: {store_root} holds {versions} versions of the same sweep point(s) "
                         f"(same {', '.join(label_cols)}, different settings); gather each study from its own folder")
    axes = sweep_axes(table)
    return table.sort_values(axes + ["patient"], kind="stable").reset_index(drop=True)


def gather_runs(sweep_dir: Path | str) -> pd.DataFrame:
    """The runs of a `woundsim run -m` sweep: one row per run folder (replicates included).

    Columns: job (job number), replicate, the job's command-line overrides (one column each, values
    parsed as YAML), seed, then the run's summary.
    """
    sweep_dir = Path(sweep_dir)
    started = {p.parent for name in ("config.yaml", "summary.json", "run.json") for p in sweep_dir.rglob(name)
               if p.parent.name != ".hydra"}  # a run folder's files, not Hydra's own config.yaml
    unfinished = sorted(str(f.relative_to(sweep_dir)) for f in started if not (f / COMPLETE).is_file())
    require(not unfinished, f"gather: {len(unfinished)} run folder(s) under {sweep_dir} are incomplete (no {COMPLETE} "
                            f"marker: interrupted or failed): {', '.join(unfinished[:5])}"
                            f"{' ...' if len(unfinished) > 5 else ''}; rerun them, or move them out of the sweep folder")
    rows = [_run_row(sweep_dir, summary) for summary in sorted(sweep_dir.rglob("summary.json"))]
    require(rows, f"gather: no run folders (summary.json) under {sweep_dir}")
    table = pd.DataFrame(rows)
    return table.sort_values(["job", "replicate"], key=_natural, kind="stable").reset_index(drop=True)


def _run_row(sweep_dir: Path, summary_path: Path) -> dict:
    folder = summary_path.parent
    job = folder if (folder / ".hydra").is_dir() else folder.parent
    replicate = int(folder.name.rsplit("_", 1)[1]) if folder.name.startswith("replicate_") else 0
    overrides_file = job / ".hydra" / "overrides.yaml"
    overrides = yaml.safe_load(overrides_file.read_text()) if overrides_file.is_file() else []
    run = json.loads((folder / "run.json").read_text())
    return {"job": str(job.relative_to(sweep_dir)), "replicate": replicate, **_parse_overrides(overrides or []),
            "seed": run.get("seed"), **json.loads(summary_path.read_text())}


def _parse_overrides(overrides: list[str]) -> dict[str, Any]:
    """{"treatment.dose_ug_per_site": 5, "grid": "coarse"} from ["treatment.dose_ug_per_site=5", "grid=coarse"]."""
    out = {}
    for item in overrides:
        key, _, value = str(item).partition("=")
        parsed = yaml.safe_load(value) if value else None
        out[key.lstrip("+~")] = parsed if isinstance(parsed, (str, int, float, bool)) or parsed is None else value
    return out


def _natural(column: pd.Series) -> pd.Series:
    """Sort job folders "2" before "10"."""
    return column.map(lambda v: (0, int(v), "") if str(v).isdigit() else (1, 0, str(v)))


def scenario_columns(table: pd.DataFrame) -> list[str]:
    """The scenario-describing columns present in a gathered study table (SCENARIO_COLUMNS, then labels)."""
    known = [c for c in SCENARIO_COLUMNS if c in table.columns]
    labels = [c for c in table.columns if c.startswith("model.")]
    return known + labels


def sweep_axes(table: pd.DataFrame) -> list[str]:
    """The scenario columns that take more than one value in the table (the swept axes)."""
    return [c for c in scenario_columns(table) if table[c].nunique(dropna=False) > 1]


def point_summary(table: pd.DataFrame, axes: list[str] | None = None) -> pd.DataFrame:
    """One row per sweep point: n, median time to closure (of confirmed closures), closure rate by week 12.

    Args:
        table: a gathered study table.
        axes: columns that define a point (default `sweep_axes(table)`).

    Returns:
        Columns: the axes, n, n_closed_week12, closure_rate_week12 (fraction; NaN when some patient's week-12
        status is unknown because the horizon is shorter), median_closure_days (days; the median of
        `time_to_closure_days`, the first closure day of a closure confirmed two weeks later, Kaplan-Meier
        style: the first time by which half the patients have closed; +inf when fewer than half close).
    """
    axes = sweep_axes(table) if axes is None else list(axes)
    missing = set(axes) - set(table.columns)
    require(not missing, f"axes {sorted(missing)} are not columns of the table")
    groups = table.groupby(axes, sort=True, dropna=False) if axes else [((), table)]
    rows = []
    for values, group in groups:
        values = values if isinstance(values, tuple) else (values,)
        rows.append({**dict(zip(axes, values)), **_point_stats(group)})
    return pd.DataFrame(rows)


def _point_stats(group: pd.DataFrame) -> dict:
    status = group["closed_by_week12"]
    known = status.notna().all()
    closed = int(status.eq(True).sum())
    days = np.sort(group["time_to_closure_days"].astype(float).fillna(math.inf).to_numpy())
    # Kaplan-Meier median with every censoring at the common horizon: first time half have closed
    median = float(days[math.ceil(len(days) / 2) - 1]) if len(days) else math.nan
    return {"n": len(group), "n_closed_week12": closed,
            "closure_rate_week12": closed / len(group) if known and len(group) else math.nan,
            "median_closure_days": median}

