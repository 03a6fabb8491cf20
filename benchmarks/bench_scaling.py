"""Scaling of whole-patient studies: patients per minute, and each back end's overhead per task.

Table 1, for the default patient (2 cm² Texas II-A, hUC-MSCD weekly x4, 12-week horizon) at 100 µm and 200 µm
voxels, with 1 and 2 loky workers (the same patient seeds, so the same work, in every row):

    dx_um             voxel edge, µm
    workers           loky workers (1 = joblib's in-process sequential mode)
    patients          patients simulated
    wall_s            wall time of the whole `map_tasks` call, s (pool already warm)
    s_per_patient     wall_s / patients
    cpu_s_per_patient CPU time of one patient in its worker, s (mean)
    busy              patients' CPU time / (wall_s * workers): below 1 when workers wait (for a core taken by
                      another process, for the last long patient, or for dispatch)
    patients_per_min  60 * patients / wall_s
    speedup           1-worker wall_s / wall_s at the same resolution (ratio measured in this process)

Table 2, per back end (serial, loky, Dask LocalCluster, Ray; `--workers` workers, back end kept up):

    task_ms           wall time per trivial task (returns its argument) in a batch of `--n-trivial`, ms
    overhead_ms       task_ms * workers: worker time per task spent on anything but the work, ms
    vs_patient_100    overhead_ms / CPU cost of one patient at 100 µm (table 1, 1 worker)
    vs_patient_200    overhead_ms / CPU cost of one patient at 200 µm
    patients_per_min  patients per minute at 200 µm on this back end
    busy              as in table 1
    efficiency        patients_per_min / (workers * 1-worker patients_per_min at 200 µm)

Example: `python benchmarks/bench_scaling.py --n100 4 --n200 8` (about 3 minutes on 2 free cores).
Other processes on the machine change the absolute figures: the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import time

from woundsim.cohort import patient_outcome
from woundsim.parallel import ParallelConfig, map_tasks, persistent_backend, task_seeds
from woundsim.params import ModelParams, with_overrides
from woundsim.patient import Patient
from woundsim.treatment import Treatment

ROOT_SEED = 2026


def trivial(task: int) -> int:
    return task


def timed_patient(task: tuple) -> float:
    """Simulate one patient; return the CPU time it took in its worker (s)."""
    start = time.process_time()
    patient_outcome(task)
    return time.process_time() - start


def patient_tasks(dx_um: float, n: int) -> list[tuple]:
    """`n` runs of the default patient under the default treatment (12-week horizon) at `dx_um`."""
    params = with_overrides(ModelParams(), {"numerics.dx_um": dx_um, "numerics.horizon_weeks": 12.0})
    return [(params, Patient(), Treatment(), int(s)) for s in task_seeds(ROOT_SEED, n)]


def warm_up_tasks(n: int) -> list[tuple]:
    """Tiny runs that make every worker import woundsim and load the Numba kernels from the disk cache."""
    params = with_overrides(ModelParams(), {"numerics.dx_um": 250.0, "numerics.horizon_weeks": 1.0})
    return [(params, Patient(area_cm2=0.5), Treatment(schedule_days=[0.0]), i) for i in range(n)]


def timed(fn, tasks: list, config: ParallelConfig) -> float:
    start = time.perf_counter()
    map_tasks(fn, tasks, config=config)
    return time.perf_counter() - start


def timed_patients(tasks: list, config: ParallelConfig) -> tuple[float, float]:
    """Wall time of the whole call and the patients' total CPU time in their workers (s)."""
    start = time.perf_counter()
    cpu = sum(map_tasks(timed_patient, tasks, config=config))
    return time.perf_counter() - start, cpu


def throughput_rows(sizes: dict[float, int], workers: list[int]) -> list[dict]:
    """Table 1: the same patients with each worker count, at each resolution."""
    rows = []
    for dx_um, n in sizes.items():
        tasks = patient_tasks(dx_um, n)
        base = None
        for w in workers:
            config = ParallelConfig("loky", n_jobs=w, progress=False)
            map_tasks(patient_outcome, warm_up_tasks(2 * w), config=config)
            wall, cpu = timed_patients(tasks, config)
            base = wall if base is None else base
            rows.append({"dx_um": dx_um, "workers": w, "patients": n, "wall_s": wall, "s_per_patient": wall / n,
                         "cpu_s_per_patient": cpu / n, "busy": cpu / (wall * w),
                         "patients_per_min": 60.0 * n / wall, "speedup": base / wall})
    return rows


def backend_rows(backends: list[str], workers: int, n_trivial: int, n_patients: int, cost: dict[float, float],
                 one_worker_rate: float) -> list[dict]:
    """Table 2: trivial-task overhead and real patient throughput (200 µm) on each back end."""
    rows = []
    tasks = patient_tasks(200.0, n_patients)
    for backend in backends:
        w = 1 if backend == "serial" else workers
        with persistent_backend(ParallelConfig(backend, n_jobs=w, progress=False)) as config:
            map_tasks(patient_outcome, warm_up_tasks(2 * w), config=config)
            timed(trivial, list(range(10)), config)
            task_ms = 1e3 * min(timed(trivial, list(range(n_trivial)), config) for _ in range(3)) / n_trivial
            wall, cpu = timed_patients(tasks, config)
        rate = 60.0 * n_patients / wall
        rows.append({"backend": backend, "workers": w, "task_ms": task_ms, "overhead_ms": task_ms * w,
                     "vs_patient_100": task_ms * w / (1e3 * cost[100.0]),
                     "vs_patient_200": task_ms * w / (1e3 * cost[200.0]),
                     "patients_per_min": rate, "busy": cpu / (wall * w), "efficiency": rate / (w * one_worker_rate)})
    return rows


def print_table(rows: list[dict], title: str) -> None:
    print(f"\n{title}")
    columns = list(rows[0])
    print(" ".join(f"{c:>17}" for c in columns))
    for row in rows:
        print(" ".join(f"{_fmt(row[c]):>17}" for c in columns))


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1e3 else f"{value:.0f}"
    return str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n100", type=int, default=4, help="patients at 100 µm per worker count")
    parser.add_argument("--n200", type=int, default=8, help="patients at 200 µm per worker count and back end")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="loky worker counts of table 1")
    parser.add_argument("--backends", nargs="+", default=["serial", "loky", "dask", "ray"])
    parser.add_argument("--n-trivial", type=int, default=200, help="trivial tasks per overhead measurement")
    args = parser.parse_args()
    packages = {"dask": "distributed", "ray": "ray"}
    backends = [b for b in args.backends if b not in packages or importlib.util.find_spec(packages[b])]
    print(f"cores: {os.cpu_count()}; load average before: {os.getloadavg()[0]:.2f}")
    patient_outcome(warm_up_tasks(1)[0])  # compile (or load) the Numba kernels in this process
    rows = throughput_rows({100.0: args.n100, 200.0: args.n200}, args.workers)
    print_table(rows, "Table 1: default patient, loky (same seeds in every row)")
    cost = {r["dx_um"]: r["cpu_s_per_patient"] for r in rows if r["workers"] == min(args.workers)}
    one = next(r["patients_per_min"] for r in rows if r["dx_um"] == 200.0 and r["workers"] == min(args.workers))
    table2 = backend_rows(backends, max(args.workers), args.n_trivial, args.n200, cost, one)
    print_table(table2, f"Table 2: per-task overhead against one patient's CPU cost ({cost[100.0]:.2f} s at "
                        f"100 µm, {cost[200.0]:.2f} s at 200 µm)")
    load = os.getloadavg()[0]
    print(f"\nload average after: {load:.2f}")
    if load > 0.5 * (os.cpu_count() or 1):
        print("note: other processes were running; where the kernel shares CPU per session (autogroup), the "
              "workers of this\nprocess share one session's slice, so busy < 1 and the speed-ups understate "
              "what free cores give; cpu_s_per_patient\nis the robust per-patient cost.")


if __name__ == "__main__":
    main()
