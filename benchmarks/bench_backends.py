"""Per-task overhead and throughput of the parallel back ends (serial, loky, Dask LocalCluster, Ray).

For each back end and worker count it times `woundsim.parallel.map_tasks` on

* a trivial task (returns its argument): the cost is all overhead;
* a numpy task of about `--task-ms` ms (repeated sorts, single-threaded, calibrated in this process).

Columns:

    start_s       a cold call with one task: starts and stops the back end (LocalCluster, Ray), s
    call_ms       a warm call with one task, inside `persistent_backend` (back end already up), ms
    wall_s        the whole warm call, s
    per_task_ms   (wall_s - call_ms) / n: marginal wall time per task, ms
    overhead_ms   per_task_ms * workers - serial per_task_ms: worker time per task beyond the work, ms
    tasks_per_s   n / wall_s
    vs_serial     serial wall_s / wall_s (speed-up against serial, measured in this same process)

loky with 1 worker is joblib's in-process sequential mode (joblib does not start a pool for n_jobs=1).

Example: `python benchmarks/bench_backends.py --n-trivial 200 --n-numpy 40 --workers 1 2`
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import time
from collections.abc import Callable

import numpy as np

from woundsim.parallel import ParallelConfig, map_tasks, persistent_backend, task_seeds

SORT_SIZE = 100_000


def trivial(task: int) -> int:
    return task


def numpy_work(task: tuple[int, int]) -> float:
    """`reps` sorts of a seeded random array of SORT_SIZE doubles (single-threaded numpy)."""
    seed, reps = task
    x = np.random.default_rng(seed).random(SORT_SIZE)
    total = 0.0
    for _ in range(reps):
        total += float(np.sort(x)[SORT_SIZE // 2])
        x = x * 0.999 + 0.0005
    return total


def calibrate_reps(task_ms: float) -> int:
    """Number of sorts that take about `task_ms` ms in this process."""
    numpy_work((0, 3))  # warm-up
    start = time.perf_counter()
    numpy_work((0, 20))
    per_rep_ms = (time.perf_counter() - start) * 1e3 / 20
    return max(1, round(task_ms / per_rep_ms))


def timed(fn: Callable, tasks: list, config: ParallelConfig) -> float:
    start = time.perf_counter()
    map_tasks(fn, tasks, config=config)
    return time.perf_counter() - start


def available_backends(wanted: list[str]) -> list[str]:
    packages = {"dask": "distributed", "ray": "ray"}
    return [b for b in wanted if b not in packages or importlib.util.find_spec(packages[b]) is not None]


def bench_one(config: ParallelConfig, workloads: dict) -> list[dict]:
    """Cold start, then every workload on a back end kept up by `persistent_backend`."""
    start_s = timed(trivial, [0], config)
    rows = []
    with persistent_backend(config) as warm:
        timed(trivial, [0, 1], warm)  # let loky's pool and the workers' imports settle
        call_s = min(timed(trivial, [0], warm) for _ in range(3))
        for name, (fn, tasks) in workloads.items():
            rows.append({"workload": name, "backend": config.backend, "workers": config.n_workers(),
                         "start_s": start_s, "call_s": call_s, "wall_s": timed(fn, tasks, warm), "n": len(tasks)})
    return rows


def bench(args: argparse.Namespace) -> list[dict]:
    reps = calibrate_reps(args.task_ms)
    seeds = [int(s) for s in task_seeds(args.seed, args.n_numpy)]
    workloads = {"trivial": (trivial, list(range(args.n_trivial))),
                 f"numpy~{args.task_ms:g}ms": (numpy_work, [(s, reps) for s in seeds])}
    rows = []
    for backend in ["serial"] + [b for b in available_backends(args.backends) if b != "serial"]:
        for workers in [1] if backend == "serial" else args.workers:
            rows += bench_one(ParallelConfig(backend=backend, n_jobs=workers, batch_size=args.batch_size,
                                             progress=False), workloads)
    return rows


def add_ratios(rows: list[dict]) -> None:
    serial = {r["workload"]: r for r in rows if r["backend"] == "serial"}
    for r in rows:
        ref = serial[r["workload"]]
        r["per_task_ms"] = (r["wall_s"] - r["call_s"]) / r["n"] * 1e3
        ref_ms = (ref["wall_s"] - ref["call_s"]) / ref["n"] * 1e3
        r["overhead_ms"] = r["per_task_ms"] * r["workers"] - ref_ms
        r["tasks_per_s"] = r["n"] / r["wall_s"]
        r["vs_serial"] = ref["wall_s"] / r["wall_s"]


def print_table(rows: list[dict]) -> None:
    header = (f"{'workload':<14} {'backend':<7} {'workers':>7} {'n':>5} {'start_s':>7} {'call_ms':>7} {'wall_s':>7} "
              f"{'per_task_ms':>11} {'overhead_ms':>11} {'tasks_per_s':>11} {'vs_serial':>9}")
    print(header)
    print("-" * len(header))
    for r in sorted(rows, key=lambda r: (r["workload"] != "trivial", r["workload"])):
        print(f"{r['workload']:<14} {r['backend']:<7} {r['workers']:>7} {r['n']:>5} {r['start_s']:>7.2f} "
              f"{r['call_s'] * 1e3:>7.1f} "
              f"{r['wall_s']:>7.2f} {r['per_task_ms']:>11.2f} {r['overhead_ms']:>11.2f} "
              f"{r['tasks_per_s']:>11.1f} {r['vs_serial']:>9.2f}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", nargs="+", default=["serial", "loky", "dask", "ray"],
                        choices=["serial", "loky", "dask", "ray"], help="back ends to time (serial always runs)")
    parser.add_argument("--workers", nargs="+", type=int, default=[1, 2], help="worker counts (default 1 2)")
    parser.add_argument("--n-trivial", type=int, default=200, help="number of trivial tasks (default 200)")
    parser.add_argument("--n-numpy", type=int, default=40, help="number of numpy tasks (default 40)")
    parser.add_argument("--task-ms", type=float, default=50.0, help="target duration of a numpy task, ms")
    parser.add_argument("--batch-size", default="auto",
                        type=lambda s: s if s == "auto" else int(s), help="ParallelConfig.batch_size (default auto)")
    parser.add_argument("--seed", type=int, default=20240601, help="root seed of the numpy tasks")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f} (shared machines give noisy figures)")
    rows = bench(args)
    add_ratios(rows)
    print_table(rows)


if __name__ == "__main__":
    main()
