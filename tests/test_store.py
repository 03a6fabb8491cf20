"""The results store: atomic per-run files, resume after a kill with nothing lost or duplicated.

Run as a script (`python tests/test_store.py ROOT`) it is the study that the kill-and-resume test kills.
"""

import hashlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from woundsim.errors import InputError
from woundsim.parallel import ParallelConfig, task_seeds
from woundsim.store import ResultStore, config_hash, run_resumable
from woundsim.tables import read_parquet

N_PATIENTS = 24


def slow_patient(task: tuple[int, float]) -> dict:
    """A stand-in for one simulated patient: 0.1 s of 'work', seeded outputs."""
    seed, dose = task
    time.sleep(0.1)
    rng = np.random.default_rng(seed)
    return {"dose": dose, "closure_day": float(rng.gamma(4.0, 20.0)), "closed_by_week12": bool(rng.uniform() < 0.5),
            "seed": seed}


def study() -> tuple[list, list[str], list[int]]:
    seeds = [int(s) for s in task_seeds(99, N_PATIENTS)]
    tasks = [(seed, 1.0 + i % 3) for i, seed in enumerate(seeds)]
    return tasks, [f"patient={i:03d}" for i in range(N_PATIENTS)], seeds


def run_study(root: Path, backend: str = "loky") -> pd.DataFrame:
    tasks, keys, _ = study()
    config = ParallelConfig(backend=backend, n_jobs=2, progress=False)
    return run_resumable(slow_patient, tasks, keys, ResultStore(root), config=config)


@dataclass
class Dose:
    product: str
    dose: float


def test_config_hash_is_canonical():
    expected = hashlib.sha256(b'{"a":1,"b":[2.5,"x"]}').hexdigest()[:16]
    assert config_hash({"b": [2.5, "x"], "a": 1}) == expected
    assert config_hash({"b": (np.float64(2.5), "x"), "a": np.int64(1)}) == expected
    assert config_hash(Dose("exosomes", 1e6)) == config_hash({"dose": 1e6, "product": "exosomes"})
    assert config_hash(Dose("exosomes", 1e6)) != config_hash(Dose("exosomes", 2e6))
    with pytest.raises(InputError, match="config_hash"):
        config_hash({"f": object()})


def test_write_read_gather_round_trip(tmp_path):
    store = ResultStore(tmp_path)
    store.write("b", {"x": np.float64(2.0), "n": np.int64(3), "ok": np.bool_(True), "gap": float("nan")},
                seed=5, config_hash="abc")
    store.write("a", {"x": 1.0, "n": 7, "ok": False, "gap": 0.5, "seed": 4})
    assert store.done_keys() == {"a", "b"} and store.has("a") and not store.has("c")
    assert store.read("b")["record"]["n"] == 3
    table = store.gather()
    assert list(table["key"]) == ["a", "b"] and list(table["seed"]) == [4, 5]
    assert list(table.columns[:3]) == ["key", "seed", "config_hash"] and np.isnan(table["gap"][1])
    assert list(store.gather(sort_by="n")["key"]) == ["b", "a"]
    back = read_parquet(store.gather_to_parquet(tmp_path / "study.parquet"))
    pd.testing.assert_frame_equal(back, table)


def test_failed_write_leaves_no_file(tmp_path, monkeypatch):
    store = ResultStore(tmp_path)

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        store.write("k", {"x": 1.0})
    assert list(store.runs.iterdir()) == [] and store.done_keys() == set()


def test_stray_tmp_files_are_ignored(tmp_path):
    store = ResultStore(tmp_path)
    store.write("done", {"x": 1.0})
    (store.runs / ".tmp-k3j2.json").write_text('{"key": "half", "rec')  # left by a killed process
    assert store.done_keys() == {"done"}
    assert list(store.gather()["key"]) == ["done"]


@pytest.mark.parametrize("key", ["../up", "a/b", ".hidden", "", "x" * 201, "sp ace"])
def test_bad_keys_refused(tmp_path, key):
    with pytest.raises(InputError, match="key"):
        ResultStore(tmp_path).write(key, {"x": 1})


def test_contradicting_seed_refused(tmp_path):
    with pytest.raises(InputError, match="seed"):
        ResultStore(tmp_path).write("k", {"seed": 3}, seed=4)


def test_resume_skips_done_keys(tmp_path):
    store = ResultStore(tmp_path)
    store.write("t1", {"value": -1.0})  # already done: must not be recomputed
    executed: list[int] = []

    def square(task: int) -> dict:
        executed.append(task)
        return {"value": float(task**2)}

    table = run_resumable(square, [0, 1, 2], ["t0", "t1", "t2"], store, seeds=[10, 11, 12],
                          config=ParallelConfig(backend="serial", progress=False))
    assert executed == [0, 2]
    assert list(table["value"]) == [0.0, -1.0, 4.0]
    assert table["seed"][[0, 2]].tolist() == [10, 12] and pd.isna(table["seed"][1])
    assert table["config_hash"][2] == config_hash(2)


def test_resumable_refuses_duplicate_keys(tmp_path):
    with pytest.raises(InputError, match="unique"):
        run_resumable(abs, [1, 2], ["k", "k"], ResultStore(tmp_path))


def test_killed_study_resumes_with_nothing_lost(tmp_path):
    killed, reference = tmp_path / "killed", tmp_path / "reference"
    store = ResultStore(killed)
    log = tmp_path / "study.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, __file__, str(killed)], start_new_session=True,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60.0
        while len(store.done_keys()) < 4 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the study and its loky workers
        proc.wait()
    landed = store.done_keys()
    assert 4 <= len(landed) < N_PATIENTS, f"kill did not interrupt the study ({len(landed)} runs): {log.read_text()}"
    inodes = {key: store.path(key).stat().st_ino for key in landed}

    resumed = run_study(killed)
    assert {key: store.path(key).stat().st_ino for key in landed} == inodes  # done runs not rewritten
    assert resumed["key"].is_unique and len(resumed) == N_PATIENTS
    assert sorted(store.done_keys()) == sorted(study()[1])
    pd.testing.assert_frame_equal(resumed, run_study(reference))
    pd.testing.assert_frame_equal(ResultStore(killed).gather(), ResultStore(reference).gather())


if __name__ == "__main__":
    run_study(Path(sys.argv[1]))
