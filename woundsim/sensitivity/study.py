"""Run a whole study into one self-describing folder: design, evaluations, indices, figures and report.

Folder layout (`out_dir`):
    study.json            the spec, the model's description, sizes, seeds, wall times, provenance
    store/runs/*.json     the evaluations, one file per task as it finishes (unless `store_dir` is given)
    evaluations.*         one row per (row, replicate, arm): seed and the model's metrics
    outputs.*             one row per design row: parameter values, each output's replicate mean and variance
    noise.*               each output's noise variance, total variance, noise share, censored share
    indices.*             tidy indices with bootstrap intervals and noise levels (see `analysis`)
    convergence.*         the same indices on smaller prefixes of the design (column `size`)
    ranking.*             parameters ranked over all outputs
    figures/*.png         Morris mu*-sigma or Sobol S1/ST bars, convergence
    sessions.csv          one line per run of the study (tasks run, wall times, load): sums for a resumed study
    report.md             the ranking in words and tables
Tables are written as Parquet and CSV. Figures and report read the folder only.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from woundsim.codekey import code_key
from woundsim.errors import InputError, require
from woundsim.kernel_notice import announce_compiling, mark_compiled
from woundsim.output import COMPLETE, mark_complete
from woundsim.parallel import ParallelConfig
from woundsim.sensitivity.analysis import analyze, convergence, overall_ranking
from woundsim.sensitivity.design import design_seeds, design_table, points, sample
from woundsim.sensitivity.evaluate import (build_tasks, censored_share, noise_table, replicate_values, row_means,
                                           run_evaluations)
from woundsim.sensitivity.models import WoundsimModel
from woundsim.sensitivity.spec import StudySpec
from woundsim.store import ResultStore

TABLES = ("evaluations", "outputs", "noise", "indices", "convergence", "ranking")


@dataclass
class StudyResult:
    """What `run_study` leaves in memory (everything is also in `folder`)."""

    folder: Path
    indices: pd.DataFrame
    ranking: pd.DataFrame
    noise: pd.DataFrame
    info: dict


def prepare(spec: StudySpec, model: Any) -> tuple[Any, pd.DataFrame, list[dict], np.ndarray]:
    """Check the names, draw the design, check every row's values, derive the seeds.

    Returns:
        (problem spec with samples, design table, row points, seeds of shape (rows, replicates)).
    """
    model.check_names([p.name for p in spec.parameters])
    unknown = [arm for arm in spec.arms() if arm not in model.arms]
    require(not unknown, f"sensitivity.outputs name arms {unknown} that the model does not have; allowed "
                         f"{list(model.arms)}")
    sp = sample(spec)
    design = design_table(spec, sp.samples)
    pts = points(design)
    checked: set[str] = set()
    for row, point in enumerate(pts):
        key = json.dumps(point, sort_keys=True, default=str)
        if key not in checked:
            try:
                model.check(point)
            except InputError as exc:
                raise InputError(f"sensitivity row {row} ({_short(point)}): {exc}") from None
            checked.add(key)
    return sp, design, pts, design_seeds(spec, len(pts))


def run_study(spec: StudySpec, model: Any, out_dir: Path | str, *, store_dir: Path | str | None = None,
              parallel: ParallelConfig | None = None, figures: bool = True) -> StudyResult:
    """Sample, evaluate (resumably), analyse and report a study.

    Args:
        spec: the study.
        model: a study model (`WoundsimModel`, `IshigamiModel`).
        out_dir: output folder (created).
        store_dir: evaluation store (default `out_dir/store`); a restarted study skips what is stored there.
        parallel: back end of the evaluations (default: loky on all cores).
        figures: draw the figures (the report names them).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / COMPLETE).unlink(missing_ok=True)  # written again last: until then the folder is unfinished
    clear_results(out)  # a study that fails before its report leaves no earlier report that looks current
    t_start = time.perf_counter()
    sp, design, pts, seeds = prepare(spec, model)
    store = ResultStore(store_dir if store_dir is not None else out / "store")
    _, keys, _ = build_tasks(spec, model, pts, seeds)
    stored_before = len(set(keys) & store.done_keys())
    compiling = isinstance(model, WoundsimModel) and stored_before < len(keys) and announce_compiling()
    t_eval = time.perf_counter()
    evaluations = run_evaluations(spec, model, pts, seeds, store, parallel=parallel)
    if compiling:
        mark_compiled()
    eval_s = time.perf_counter() - t_eval
    values = replicate_values(spec, evaluations, len(pts))
    noise = noise_table(spec, values, censored_share(spec, evaluations))
    indices = analyze(spec, sp.samples, values, noise)
    tables = {"evaluations": evaluations, "outputs": row_means(design, values), "noise": noise, "indices": indices,
              "convergence": convergence(spec, sp.samples, values, noise),
              "ranking": overall_ranking(indices, spec.method)}
    for name, table in tables.items():
        write_table(table, out / name)
    info = _info(spec, model, design, keys, stored_before, eval_s, time.perf_counter() - t_start, parallel)
    cpu = evaluations.drop_duplicates("key")["task_cpu_s"]
    info["cpu_time_evaluations_s"] = round(float(cpu.sum()), 1)
    info["tasks_without_cpu_time"] = int(cpu.isna().sum())
    info["sessions"] = _log_session(out, info)
    (out / "study.json").write_text(json.dumps(info, indent=2, default=_json_default), encoding="utf-8")
    if figures:
        from woundsim.sensitivity.plots import plot_study

        plot_study(out)
    from woundsim.sensitivity.report import write_sensitivity_report

    write_sensitivity_report(out)
    mark_complete(out)
    return StudyResult(out, indices, tables["ranking"], noise, info)


def clear_results(out: Path) -> None:
    """Delete what a study writes from its evaluations (tables, study.json, figures, report.md); the
    evaluation store and sessions.csv stay."""
    for name in TABLES:
        for suffix in (".parquet", ".csv"):
            (out / name).with_suffix(suffix).unlink(missing_ok=True)
    for path in (out / "study.json", out / "report.md", *sorted((out / "figures").glob("*.png"))):
        path.unlink(missing_ok=True)


def write_table(table: pd.DataFrame, stem: Path) -> None:
    """`<stem>.parquet` and `<stem>.csv`."""
    table.to_parquet(stem.with_suffix(".parquet"), index=False)
    table.to_csv(stem.with_suffix(".csv"), index=False)


def _info(spec: StudySpec, model: Any, design: pd.DataFrame, keys: list[str], stored_before: int, eval_s: float,
          total_s: float, parallel: ParallelConfig | None) -> dict:
    from woundsim.output import provenance

    n_eval = len(design) * spec.replicates * len(spec.arms())
    parallel = parallel or ParallelConfig()
    return {"spec": spec.to_dict(), "model": _jsonable(model.describe()), "rows": len(design),
            "parameters": len(spec.all_parameters()), "evaluations": n_eval, "tasks": len(keys),
            "tasks_stored_before": stored_before, "wall_time_evaluations_s": round(eval_s, 2),
            "wall_time_total_s": round(total_s, 2),
            "parallel": {"backend": parallel.backend, "workers": parallel.n_workers()},
            "cpu_count": os.cpu_count(), "load_average": _load(), "code_key": code_key(),
            **provenance(spec.seed, round(total_s, 2))}


def _log_session(out: Path, info: dict) -> list[dict]:
    """Append this run to `<out>/sessions.csv` (a resumed study's evaluation time is the sum over its sessions)."""
    row = {"finished_at": info["finished_at"], "tasks": info["tasks"],
           "tasks_run": info["tasks"] - info["tasks_stored_before"],
           "wall_time_evaluations_s": info["wall_time_evaluations_s"], "wall_time_total_s": info["wall_time_total_s"],
           "workers": info["parallel"]["workers"], "load_average": " ".join(map(str, info["load_average"] or []))}
    path = out / "sessions.csv"
    table = pd.concat([pd.read_csv(path), pd.DataFrame([row])]) if path.is_file() else pd.DataFrame([row])
    table.to_csv(path, index=False)
    return table.to_dict("records")


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    return obj


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _short(point: dict) -> str:
    text = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in point.items())
    return text if len(text) < 300 else text[:297] + "..."
