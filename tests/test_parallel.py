"""The parallel layer: identical results on every back end, seeds by task index, errors name the task."""

import os
import time
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from woundsim.errors import InputError
from woundsim.parallel import BackendError, ParallelConfig, TaskError, map_tasks, persistent_backend, task_seeds

CONF = Path(__file__).resolve().parents[1] / "conf" / "parallel"
N_TASKS = 12


def toy_task(task: tuple[int, float]) -> float:
    """Seeded draws plus arithmetic; the sleep makes later tasks finish first on several workers."""
    seed, sleep_s = task
    time.sleep(sleep_s)
    rng = np.random.default_rng(seed)
    draws = rng.normal(size=200)
    return float(np.sum(draws**2) / (1.0 + rng.uniform()) + rng.integers(0, 1000))


def fails_on_three(task: int) -> int:
    if task == 3:
        raise ValueError("bad patient")
    return task


def toy_tasks(root_seed: int = 2024) -> list[tuple[int, float]]:
    seeds = task_seeds(root_seed, N_TASKS)
    return [(int(s), 0.05 if i < 2 else 0.0) for i, s in enumerate(seeds)]


def quiet(backend: str, n_jobs: int = 2, **kwargs) -> ParallelConfig:
    return ParallelConfig(backend=backend, n_jobs=n_jobs, progress=False, **kwargs)


def test_task_seeds_depend_on_index_not_on_count():
    few, many = task_seeds(11, 4), task_seeds(11, 40)
    assert few.dtype == np.int64 and np.all(many >= 0)
    np.testing.assert_array_equal(few, many[:4])
    assert len(set(many.tolist())) == 40
    assert not np.array_equal(task_seeds(12, 4), few)


@pytest.fixture(scope="module")
def reference() -> list[float]:
    return [toy_task(t) for t in toy_tasks()]


@pytest.mark.parametrize("config", [quiet("serial"), quiet("loky", n_jobs=1), quiet("loky", n_jobs=2),
                                    quiet("loky", n_jobs=2, batch_size=5), quiet("dask", n_jobs=2),
                                    quiet("dask", n_jobs=2, batch_size=5)],
                         ids=["serial", "loky1", "loky2", "loky2-batch5", "dask2", "dask2-batch5"])
def test_backends_give_identical_results_in_task_order(config, reference):
    arrived: dict[int, float] = {}
    environ = dict(os.environ)
    results = map_tasks(toy_task, toy_tasks(), config=config, on_result=arrived.__setitem__)
    assert results == reference  # exact equality, in task order
    assert arrived == dict(enumerate(reference))
    assert dict(os.environ) == environ  # Dask nannies' variables do not leak into later processes


def test_persistent_dask_cluster_serves_several_calls(reference):
    dask = pytest.importorskip("dask")
    with persistent_backend(quiet("dask")) as config:
        assert config.dask_address.startswith("tcp://")
        assert map_tasks(toy_task, toy_tasks(), config=config) == reference
        assert map_tasks(toy_task, toy_tasks()[:3], config=config) == reference[:3]  # still up after a call
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}), pytest.raises(BackendError, match="reach"):
        map_tasks(toy_task, toy_tasks(), config=config)  # closed on exit


def test_results_stream_in_as_they_finish():
    order: list[int] = []
    tasks = [(1, 1.5)] + [(i, 0.0) for i in range(2, 8)]
    map_tasks(toy_task, tasks, config=quiet("loky", batch_size=1), on_result=lambda i, _: order.append(i))
    assert sorted(order) == list(range(7))
    assert order[-1] == 0  # the slow first task arrives last: results are not held back in task order


@pytest.mark.parametrize("backend", ["serial", "loky"])
def test_task_error_names_the_index(backend):
    with pytest.raises(TaskError, match=r"task 3 failed: ValueError: bad patient") as info:
        map_tasks(fails_on_three, list(range(6)), config=quiet(backend))
    assert isinstance(info.value.__cause__, ValueError)


def test_task_error_names_the_index_on_dask():
    with pytest.raises(TaskError, match=r"task 3 failed"):
        map_tasks(fails_on_three, list(range(6)), config=quiet("dask"))


def test_empty_task_list_starts_nothing():
    assert map_tasks(toy_task, [], config=quiet("dask", dask_address="tcp://127.0.0.1:1")) == []


@pytest.mark.parametrize("bad", [{"backend": "mpi"}, {"n_jobs": 0}, {"n_jobs": 1.5}, {"batch_size": 0},
                                 {"batch_size": "big"}])
def test_bad_config_refused(bad):
    with pytest.raises(InputError, match="parallel"):
        ParallelConfig(**bad)


def test_unknown_backend_lists_allowed():
    with pytest.raises(InputError, match="serial, loky, dask, ray"):
        ParallelConfig(backend="spark")


def test_missing_package_names_the_extra(monkeypatch):
    real_find_spec = __import__("importlib.util").util.find_spec
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None if name == "ray" else real_find_spec(name))
    with pytest.raises(InputError, match=r"woundsim\[cluster\]"):
        ParallelConfig(backend="ray")


@pytest.mark.parametrize("name", ["serial", "loky", "dask_local", "dask_cluster", "ray"])
def test_shipped_configs_build(name, monkeypatch):
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    values = OmegaConf.to_container(OmegaConf.load(CONF / f"{name}.yaml"), resolve=True)
    config = ParallelConfig(**values)
    assert config.backend == name.split("_")[0]


def test_ray_local_matches_serial(reference):
    """Starts Ray locally with 2 CPUs (about 5 s) and shuts it down again."""
    pytest.importorskip("ray", reason="ray not installed (extra woundsim[cluster])")
    try:
        results = map_tasks(toy_task, toy_tasks(), config=quiet("ray"))
    except BackendError as exc:
        pytest.skip(f"ray cannot start on this machine: {exc}")
    assert results == reference


def unsendable_result(task: int):
    return __import__("threading").Lock() if task == 2 else task


def test_back_end_failure_names_the_index_on_dask():
    with pytest.raises(TaskError, match=r"task 2 failed: back end error"):
        map_tasks(unsendable_result, list(range(4)), config=quiet("dask"))


KERNEL_MODULE = '''
import os
from numba import njit


@njit(cache=True)
def add_one(x):
    return x + 1.0


def run(x):
    value = add_one(x)
    stats = add_one.stats
    return value, sum(stats.cache_hits.values()), sum(stats.cache_misses.values()), os.getpid()
'''


def test_workers_load_numba_kernels_from_the_disk_cache(tmp_path, monkeypatch):
    """Compiled once in the parent, the kernel is loaded from the cache by fresh Dask worker processes."""
    (tmp_path / "cached_kernel_mod.py").write_text(KERNEL_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    module = __import__("cached_kernel_mod")
    assert module.run(1.0)[1:3] == (0, 1)  # compiled here, written to tmp_path/__pycache__
    results = map_tasks(module.run, [1.0, 2.0, 3.0, 4.0], config=quiet("dask"))
    assert [r[0] for r in results] == [2.0, 3.0, 4.0, 5.0]
    assert all(hits == 1 and misses == 0 for _, hits, misses, _ in results)
    assert os.getpid() not in {r[3] for r in results}  # they really ran in other processes


class TwoArgError(Exception):
    def __init__(self, patient: int, reason: str):
        super().__init__(f"patient {patient}: {reason}")


def raises_unrebuildable(task: int) -> int:
    if task == 1:
        raise TwoArgError(task, "no closure")  # pickles, but cannot be unpickled
    return task


def test_exception_that_cannot_be_unpickled_still_names_the_index():
    with pytest.raises(TaskError, match=r"task 1 failed: TwoArgError: patient 1: no closure"):
        map_tasks(raises_unrebuildable, [0, 1, 2], config=quiet("loky"))
