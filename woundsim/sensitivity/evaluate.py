"""Model evaluations of a study: resumable, through the one parallel layer; replicate values and their noise.

Rows are grouped `rows_per_task` at a time into tasks; a task runs every replicate of every arm of its rows
and is stored as one file of `woundsim.store.ResultStore` under a key derived from its content (the model's
description, the simulation's code key (`woundsim.codekey`), and each evaluation's arm, parameter values and
seed). So a killed study started again skips every task already on disk, a bigger study in the same store reuses the evaluations they share, and a study
with other settings can never pick up foreign results.

Censored outputs: a time to closure that is not reached within the arm's horizon (NaN in the summary) counts as
the horizon (`horizon_days`), so the replicate mean is the restricted mean time to closure up to the horizon
(the area under the open-wound survival curve). An output may restrict at an earlier day (`horizon_days` of the
output), as a difference between arms of different horizons must. The share of censored replicate values is reported per
output; a restricted mean of a mostly censored output mostly measures the horizon.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from woundsim.codekey import bind_store, code_key
from woundsim.errors import InputError, require
from woundsim.parallel import ParallelConfig
from woundsim.sensitivity.spec import StudySpec
from woundsim.store import ResultStore, config_hash, run_resumable


@dataclass
class EvalTask:
    """Evaluations run by one parallel task: (arm, parameter values, seed) each."""

    model: Any
    items: list[tuple[str, dict, int]]


def evaluate_task(task: EvalTask) -> dict:
    """Run a task's evaluations (a picklable task function); the record keeps them in order, with the CPU
    seconds the task took in its worker (a machine-load-free measure of the study's cost)."""
    start = time.process_time()
    metrics = [task.model.evaluate(point, arm, seed) for arm, point, seed in task.items]
    return {"metrics": metrics, "cpu_s": round(time.process_time() - start, 4)}


def build_tasks(spec: StudySpec, model: Any, points: list[dict], seeds: np.ndarray
                ) -> tuple[list[EvalTask], list[str], pd.DataFrame]:
    """Tasks, their unique store keys, and where each (row, replicate, arm) evaluation lands.

    Returns:
        (tasks, keys, index): `index` has columns row, replicate, arm, seed, key, position (within the task).
        Tasks with identical content (repeated rows) appear once.
    """
    model_hash = config_hash([model.describe(), code_key()])  # the code key: other code, other keys
    arms = spec.arms()
    tasks, keys, entries, seen = [], [], [], set()
    for start in range(0, len(points), spec.rows_per_task):
        rows = range(start, min(start + spec.rows_per_task, len(points)))
        cells = [(row, rep, arm) for row in rows for rep in range(spec.replicates) for arm in arms]
        items = [(arm, points[row], int(seeds[row, rep])) for row, rep, arm in cells]
        key = f"e-{config_hash([model_hash, items])}"
        if key not in seen:
            tasks.append(EvalTask(model, items))
            keys.append(key)
            seen.add(key)
        entries += [(row, rep, arm, item[2], key, pos) for pos, ((row, rep, arm), item) in enumerate(zip(cells, items))]
    index = pd.DataFrame(entries, columns=["row", "replicate", "arm", "seed", "key", "position"])
    return tasks, keys, index


def run_evaluations(spec: StudySpec, model: Any, points: list[dict], seeds: np.ndarray, store: ResultStore, *,
                    parallel: ParallelConfig | None = None, only: set[str] | None = None) -> pd.DataFrame:
    """Evaluate every row not yet in `store` and return the tidy table of all evaluations.

    Args:
        spec: the study.
        model: the study model (see `woundsim.sensitivity.models`).
        points: parameter values of each row (model names).
        seeds: seeds of shape (rows, replicates).
        store: where evaluations are written as they finish.
        parallel: back end (default: loky on all cores).
        only: run only the tasks with these keys (an interrupted study, for tests); the table then holds
            only the evaluations done so far.

    Raises:
        StaleStoreError: the store holds evaluations of other simulation code (`woundsim.codekey.bind_store`).

    Returns:
        One row per (row, replicate, arm): row, replicate, arm, seed, key, task_cpu_s (CPU seconds of the whole
        task the evaluation belongs to; NaN if not recorded), then the model's metrics.
    """
    bind_store(store.root, what="sensitivity store")
    tasks, keys, index = build_tasks(spec, model, points, seeds)
    chosen = [i for i, k in enumerate(keys) if only is None or k in only]
    records = run_resumable(evaluate_task, [tasks[i] for i in chosen], [keys[i] for i in chosen], store,
                            config_hashes=[keys[i].removeprefix("e-") for i in chosen], config=parallel,
                            desc=f"{spec.name}: rows")
    by_key = dict(zip(records["key"], records["metrics"]))
    cpu = dict(zip(records["key"], records["cpu_s"] if "cpu_s" in records else [math.nan] * len(records)))
    index = index[index["key"].isin(by_key)].reset_index(drop=True)
    metrics = pd.DataFrame([by_key[k][pos] for k, pos in zip(index["key"], index["position"])], index=index.index)
    index["task_cpu_s"] = index["key"].map(cpu).astype(float)
    return pd.concat([index.drop(columns="position"), metrics.astype(float)], axis=1)


def replicate_values(spec: StudySpec, evaluations: pd.DataFrame, n_rows: int) -> dict[str, np.ndarray]:
    """Each output's value per row and replicate, shape (rows, replicates), censoring applied.

    Raises:
        InputError: an output's metric is missing, or undefined (NaN) for some row and not censored.
    """
    out = {}
    for o in spec.outputs:
        value = _arm_values(o, o.arm, evaluations, n_rows, spec.replicates)
        if o.minus is not None:
            value = value - _arm_values(o, o.minus, evaluations, n_rows, spec.replicates)
        bad = np.argwhere(~np.isfinite(value))
        if len(bad):
            row, rep = bad[0]
            raise InputError(f"output {o.name!r}: metric {o.metric!r} is undefined for row {row}, replicate {rep} "
                             "(set censored: true for a time-to-event metric, or choose another metric)")
        out[o.name] = value
    return out


def _arm_values(o, arm: str, evaluations: pd.DataFrame, n_rows: int, replicates: int) -> np.ndarray:
    part = evaluations[evaluations["arm"] == arm]
    require(o.metric in part.columns, f"output {o.name!r}: arm {arm!r} has no metric {o.metric!r}; "
                                      f"metrics are {sorted(c for c in part.columns if c not in _INDEX)}")
    require(len(part) == n_rows * replicates, f"output {o.name!r}: arm {arm!r} has {len(part)} evaluations, "
                                              f"expected {n_rows * replicates} (unknown arm, or study incomplete)")
    part = part.sort_values(["row", "replicate"])
    value = part[o.metric].to_numpy(dtype=float)
    if o.censored:
        require("horizon_days" in part.columns, f"output {o.name!r}: censored needs the metric 'horizon_days'")
        horizon = part["horizon_days"].to_numpy(dtype=float)
        if o.horizon_days is not None:
            require(o.horizon_days <= horizon.min(), f"output {o.name!r}: horizon_days = {o.horizon_days:g} is beyond "
                                                     f"arm {arm!r}'s horizon of {horizon.min():g} days")
            horizon = np.full_like(horizon, float(o.horizon_days))
        value = np.where(np.isnan(value), horizon, np.minimum(value, horizon))
    return value.reshape(n_rows, replicates)


_INDEX = ("row", "replicate", "arm", "seed", "key", "task_cpu_s")


def censored_share(spec: StudySpec, evaluations: pd.DataFrame) -> dict[str, float]:
    """Share of the evaluations behind each censored output whose event was not seen (within its restriction)."""
    shares = {}
    for o in spec.outputs:
        if o.censored:
            value = evaluations.loc[evaluations["arm"].isin(o.arms()), o.metric].to_numpy(dtype=float)
            limit = math.inf if o.horizon_days is None else float(o.horizon_days)
            shares[o.name] = float((np.isnan(value) | (value > limit)).mean())
    return shares


def row_means(design: pd.DataFrame, values: dict[str, np.ndarray]) -> pd.DataFrame:
    """The analysed outputs: per row, each output's replicate mean and within-row variance (`<name>__var`)."""
    table = design.copy()
    for name, v in values.items():
        table[name] = v.mean(axis=1)
        table[f"{name}__var"] = v.var(axis=1, ddof=1) if v.shape[1] > 1 else math.nan
    return table


def noise_table(spec: StudySpec, values: dict[str, np.ndarray], censored: dict[str, float]) -> pd.DataFrame:
    """Noise variance of each output beside its total variance.

    Columns: output, replicates, noise_var (pooled within-row variance of one replicate), noise_var_mean
    (= noise_var / replicates: the noise left in the analysed replicate mean), total_var (variance of the
    replicate means across rows), noise_share (= noise_var_mean / total_var, comparable to Sobol indices),
    censored_share, constant (no variance across rows: indices undefined).
    """
    rows = []
    for name, v in values.items():
        r = v.shape[1]
        noise = float(v.var(axis=1, ddof=1).mean()) if r > 1 else math.nan
        total = float(v.mean(axis=1).var(ddof=1))
        rows.append({"output": name, "replicates": r, "noise_var": noise, "noise_var_mean": noise / r,
                     "total_var": total, "noise_share": noise / r / total if total > 0 else math.nan,
                     "censored_share": censored.get(name, math.nan), "constant": bool(np.ptp(v.mean(axis=1)) == 0)})
    return pd.DataFrame(rows)
