"""The one parallel execution layer of woundsim: serial, loky (joblib), Dask or Ray.

Every multi-run job (cohorts, sweep replicates, sensitivity analysis, the virtual trial, calibration
helpers) calls `map_tasks`. Results come back in task order whatever the back end, and each result is
handed to an `on_result(index, result)` callback in the parent as soon as it arrives, so a results store
can write it at once (see `woundsim.store`).

Seeds belong to task indices, never to workers: `woundsim.seeds.task_seeds(root_seed, n)` spawns one child
of `SeedSequence(root_seed)` per task, so a study gives the same numbers on 1 core, 2 loky workers, a Dask
cluster or Ray (`task_seeds` moved to `woundsim.seeds`; it is re-exported here).

Workers and Numba: the kernels are `@njit(cache=True)`, so the first process to compile a kernel writes it
to Numba's on-disk cache (`__pycache__` beside the source, or `NUMBA_CACHE_DIR`) and every later worker
loads it instead of recompiling. Loky workers die with the process that started them (`_exit_with_parent`), so a
killed study leaves none behind. Workers get `NUMBA_NUM_THREADS=1` and `OMP/MKL/OPENBLAS_NUM_THREADS=1`
(`WORKER_ENV`), one thread per worker process, so n workers never start n x cores threads. For loky this
goes through joblib's `inner_max_num_threads`, for a Dask `LocalCluster` through
`distributed.nanny.pre-spawn-environ`, for Ray through `runtime_env`; workers of a remote Dask scheduler
keep the environment they were started with.

A `LocalCluster` started here leaves out Dask's default `MALLOC_TRIM_THRESHOLD_=65536`: it switches off
glibc's adaptive mmap threshold and made an allocation-heavy numpy loop (repeated sorts of 100k doubles)
about 1.9x slower. The variables Dask's nannies copy into the parent's `os.environ` are removed again
afterwards, so processes started later (loky, Ray) do not inherit them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import os
import pickle
import sys
import traceback
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import joblib
from tqdm.auto import tqdm

from woundsim.errors import InputError, require
from woundsim.seeds import task_seeds  # noqa: F401  (moved to woundsim.seeds; re-exported for scripts)

BACKENDS = ("serial", "loky", "dask", "ray")
_PACKAGES = {"dask": "distributed", "ray": "ray"}  # back end -> module that must be importable
_EXTRA = "woundsim[cluster]"
WORKER_ENV = {
    "NUMBA_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
}


@dataclass
class ParallelConfig:
    """How to run many independent tasks.

    Attributes:
        backend: "serial" (in-process, via joblib), "loky" (joblib process pool), "dask" or "ray".
        n_jobs: workers; -1 = all cores, -2 = all but one (joblib convention). Ignored for "serial" and
            when connecting to an existing Dask scheduler or Ray cluster.
        dask_address: None starts a `distributed.LocalCluster` (n_jobs single-threaded worker processes)
            for the duration of the call (or of a `persistent_backend` block); "tcp://host:8786" connects
            to a running scheduler.
        ray_address: None starts Ray locally with n_jobs CPUs (unless Ray is already initialised, or
            RAY_ADDRESS is set, which `ray.init` follows); "auto" or "ray://host:10001" connects to a
            running cluster.
        batch_size: tasks per dispatched batch. "auto": joblib's adaptive batching for loky, one task per
            future for Dask and Ray (best balance for tasks of a second or more; give an integer for
            millisecond tasks).
        progress: show a tqdm progress bar.
    """

    backend: str = "loky"  # serial | loky | dask | ray
    n_jobs: int = -1
    dask_address: str | None = None
    ray_address: str | None = None
    batch_size: int | str = "auto"
    progress: bool = True

    def __post_init__(self) -> None:
        require(self.backend in BACKENDS,
                f"parallel.backend = {self.backend!r} is unknown; allowed: {', '.join(BACKENDS)}")
        package = _PACKAGES.get(self.backend)
        if package is not None and importlib.util.find_spec(package) is None:
            raise InputError(f"parallel.backend = {self.backend!r} needs the '{package}' package; "
                             f"install the extra: pip install '{_EXTRA}'")
        require(isinstance(self.n_jobs, int) and not isinstance(self.n_jobs, bool) and self.n_jobs != 0,
                f"parallel.n_jobs = {self.n_jobs!r} must be a non-zero integer (-1 = all cores)")
        size_ok = self.batch_size == "auto" or (
            isinstance(self.batch_size, int) and not isinstance(self.batch_size, bool) and self.batch_size >= 1)
        require(size_ok, f"parallel.batch_size = {self.batch_size!r} must be 'auto' or an integer >= 1")

    def n_workers(self) -> int:
        """Number of worker processes `n_jobs` stands for on this machine (1 for "serial")."""
        if self.backend == "serial":
            return 1
        cores = joblib.cpu_count()
        return self.n_jobs if self.n_jobs > 0 else max(1, cores + 1 + self.n_jobs)


class TaskError(RuntimeError):
    """A task raised; the message names the task index and the original error and traceback."""


class BackendError(RuntimeError):
    """A Dask cluster or Ray could not be started or reached."""


@dataclass
class _Failure:
    """What a worker sends back instead of a result when the task raised."""

    summary: str
    traceback: str
    exception: BaseException | None  # None when the exception itself cannot be pickled


def map_tasks(fn: Callable[[Any], Any], tasks: Sequence, *, config: ParallelConfig | None = None,
              desc: str = "", on_result: Callable[[int, Any], None] | None = None) -> list:
    """Apply `fn` to every task on the configured back end and return the results in task order.

    Args:
        fn: picklable function of one task (a module-level function or a `functools.partial` of one).
        tasks: the tasks; each must be picklable.
        config: back end and worker count; default `ParallelConfig()` (loky on all cores).
        desc: label of the progress bar.
        on_result: called in the parent process as `on_result(index, result)` as each result arrives
            (arrival order, not task order).

    Returns:
        `[fn(task) for task in tasks]`, computed in parallel.

    Raises:
        TaskError: a task raised; the message names its index (the first failure to arrive stops the run).
        BackendError: the Dask cluster or Ray could not be started or reached.
    """
    config = ParallelConfig() if config is None else config
    items = list(enumerate(tasks))
    results: list = [None] * len(items)
    if not items:
        return results
    stream = _STREAMS[config.backend](fn, items, config)
    with contextlib.closing(stream), tqdm(total=len(items), desc=desc, unit="task",
                                          disable=not config.progress) as bar:
        for index, ok, value in stream:
            if not ok:
                raise TaskError(f"task {index} failed: {value.summary}\n{value.traceback}") from value.exception
            results[index] = value
            if on_result is not None:
                on_result(index, value)
            bar.update(1)
    return results


def _run_one(fn: Callable, index: int, task: Any) -> tuple[int, bool, Any]:
    """Run one task in a worker; an exception comes back as a `_Failure` instead of a result."""
    try:
        return index, True, fn(task)
    except Exception as exc:  # noqa: BLE001 - reported to the parent with the task index
        try:
            sendable = pickle.loads(pickle.dumps(exc))  # some exceptions pickle but cannot be rebuilt
        except Exception:  # noqa: BLE001
            sendable = None
        return index, False, _Failure(f"{type(exc).__name__}: {exc}", traceback.format_exc(), sendable)


def _run_batch(fn: Callable, batch: list[tuple[int, Any]]) -> list[tuple[int, bool, Any]]:
    """Run a batch of (index, task) pairs in a worker."""
    return [_run_one(fn, index, task) for index, task in batch]


def _fetch(get: Callable[[], list], batch: list[tuple[int, Any]]) -> list[tuple[int, bool, Any]]:
    """A batch's results, or a failure of its first task when the back end itself failed (lost worker,
    unpicklable task or result)."""
    try:
        return get()
    except Exception as exc:  # noqa: BLE001 - reported with the task indices
        indices = [index for index, _ in batch]
        where = f"back end error in the batch of tasks {indices}" if len(indices) > 1 else "back end error"
        return [(indices[0], False, _Failure(f"{where}: {type(exc).__name__}: {exc}", "", exc))]


def _batches(items: list[tuple[int, Any]], batch_size: int | str) -> list[list[tuple[int, Any]]]:
    size = 1 if batch_size == "auto" else int(batch_size)
    return [items[start:start + size] for start in range(0, len(items), size)]


def _stream_joblib(fn: Callable, items: list, config: ParallelConfig) -> Iterator[tuple[int, bool, Any]]:
    """Serial and loky: joblib yields results as they finish (`return_as="generator_unordered"`)."""
    backend = "sequential" if config.backend == "serial" else "loky"
    threads = {} if backend == "sequential" else {"inner_max_num_threads": 1, "initializer": _exit_with_parent,
                                                  "initargs": (os.getpid(),)}
    with joblib.parallel_config(backend=backend, **threads):
        parallel = joblib.Parallel(n_jobs=1 if backend == "sequential" else config.n_jobs,
                                   batch_size=config.batch_size, return_as="generator_unordered")
        stream = parallel(joblib.delayed(_run_one)(fn, index, task) for index, task in items)
        try:
            for item in stream:  # not `yield from`: that would close `stream` before the filter below
                yield item
        finally:
            with warnings.catch_warnings():  # closed early after a failure: the unused results are meant
                unused = r"\d+ tasks (have been successfully executed|which were still)"
                warnings.filterwarnings("ignore", message=unused, category=UserWarning)
                stream.close()


def _exit_with_parent(parent_pid: int) -> None:
    """Loky worker initializer: die with the study's process however it ends (Linux).

    A study killed with SIGTERM or SIGKILL otherwise leaves its loky workers running their tasks to the
    end (and idle for another 5 minutes); SIGINT (Ctrl-C) was already handled by joblib. Elsewhere a no-op.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent_pid:  # the parent died before the line above
        os._exit(1)


def _stream_dask(fn: Callable, items: list, config: ParallelConfig) -> Iterator[tuple[int, bool, Any]]:
    """Dask: one future per batch, collected with `as_completed`."""
    from distributed import as_completed

    with persistent_backend(config) as config, _dask_client(config.dask_address) as client:
        batches = _batches(items, config.batch_size)
        futures = [client.submit(_run_batch, fn, batch, pure=False) for batch in batches]
        batch_of = {future.key: batch for future, batch in zip(futures, batches)}
        try:
            for future in as_completed(futures):
                yield from _fetch(future.result, batch_of[future.key])
                future.release()
        finally:
            client.cancel(futures)


def _stream_ray(fn: Callable, items: list, config: ParallelConfig) -> Iterator[tuple[int, bool, Any]]:
    """Ray: one remote task per batch, collected with `ray.wait`."""
    import ray

    with persistent_backend(config):
        remote_batch = ray.remote(_run_batch)
        fn_ref = ray.put(fn)
        batches = _batches(items, config.batch_size)
        pending = [remote_batch.remote(fn_ref, batch) for batch in batches]
        batch_of = dict(zip(pending, batches))
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                more, pending = ray.wait(pending, num_returns=len(pending), timeout=0) if pending else ([], [])
                for ref in done + more:
                    yield from _fetch(lambda: ray.get(ref), batch_of.pop(ref))
        finally:
            for ref in pending:
                ray.cancel(ref)


@contextlib.contextmanager
def persistent_backend(config: ParallelConfig | None = None) -> Iterator[ParallelConfig]:
    """Keep one back end up for several `map_tasks` calls (a study with many cohorts, say).

    A Dask `LocalCluster` (when `dask_address` is None) or local Ray is started on entry and shut down on
    exit; the yielded config points `map_tasks` at it. Loky needs nothing: joblib reuses its worker pool
    between calls. Without this, each `map_tasks` call on Dask or Ray starts and stops its own cluster.

    Args:
        config: back end to keep up (default `ParallelConfig()`).

    Yields:
        The config to pass to `map_tasks` inside the block.
    """
    config = ParallelConfig() if config is None else config
    if config.backend == "dask" and config.dask_address is None:
        with _dask_local_cluster(config.n_workers()) as address:
            yield dataclasses.replace(config, dask_address=address)
    elif config.backend == "ray":
        with _ray_session(config):
            yield config
    else:
        yield config


@contextlib.contextmanager
def _dask_local_cluster(n_workers: int) -> Iterator[str]:
    """A `LocalCluster` of single-threaded worker processes with `WORKER_ENV`; yields its address."""
    import dask
    from distributed import LocalCluster

    try:
        with _environ_restored(), dask.config.set({"distributed.nanny.pre-spawn-environ": dict(WORKER_ENV)}):
            cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None)
    except Exception as exc:
        raise BackendError(f"dask: could not start a LocalCluster of {n_workers} workers: {exc}") from exc
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


@contextlib.contextmanager
def _dask_client(address: str) -> Iterator[Any]:
    from distributed import Client

    try:
        client = Client(address)
    except Exception as exc:
        raise BackendError(f"dask: could not reach scheduler {address!r}: {exc}") from exc
    try:
        yield client
    finally:
        client.close()


@contextlib.contextmanager
def _environ_restored() -> Iterator[None]:
    """Undo changes to `os.environ`: Dask nannies copy their pre-spawn variables into the parent process,
    where processes started later (loky, Ray) would inherit them."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        for name in set(os.environ) - set(saved):
            del os.environ[name]
        os.environ.update(saved)


@contextlib.contextmanager
def _ray_session(config: ParallelConfig) -> Iterator[None]:
    """Start (or connect) Ray unless it is already initialised; shut down only what was started here."""
    import logging

    import ray

    if ray.is_initialized():
        yield
        return
    connect = config.ray_address is not None or "RAY_ADDRESS" in os.environ  # ray.init reads RAY_ADDRESS
    local = {} if connect else {"num_cpus": config.n_workers()}
    # local workers see the parent's sys.path, as loky and LocalCluster workers do
    env = dict(WORKER_ENV) if connect else {**WORKER_ENV, "PYTHONPATH": os.pathsep.join(filter(None, sys.path))}
    try:
        ray.init(address=config.ray_address, include_dashboard=False, logging_level=logging.WARNING,
                 runtime_env={"env_vars": env}, **local)
    except Exception as exc:
        where = f"cluster {config.ray_address!r}" if connect else "locally"
        raise BackendError(f"ray: could not start or connect {where}: {exc}") from exc
    try:
        yield
    finally:
        ray.shutdown()


_STREAMS: dict[str, Callable[[Callable, list, ParallelConfig], Iterable[tuple[int, bool, Any]]]] = {
    "serial": _stream_joblib,
    "loky": _stream_joblib,
    "dask": _stream_dask,
    "ray": _stream_ray,
}
