"""Long work says what it is doing, and leaves nothing behind when killed (issue 16, item 7)."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from woundsim import kernel_notice

REPO = Path(__file__).resolve().parents[1]
SLOW_STUDY = """
import time
from woundsim.parallel import ParallelConfig, map_tasks
map_tasks(time.sleep, [60.0] * 4, config=ParallelConfig(backend="loky", n_jobs=2, progress=False))
"""


def test_first_run_says_it_compiles_and_later_runs_do_not(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    assert kernel_notice.announce_compiling() is True
    assert capsys.readouterr().err.count("compiling the simulation kernels") == 1
    kernel_notice.mark_compiled()
    assert kernel_notice.marker_path().parent == tmp_path and kernel_notice.kernels_compiled()
    assert kernel_notice.announce_compiling() is False and capsys.readouterr().err == ""


def _children(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return {int(p) for p in out.split()}


def _alive(pid: int) -> bool:
    state = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True).stdout.strip()
    return state != "" and not state.startswith("Z")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers die with their parent on Linux")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_a_killed_study_leaves_no_loky_workers(sig):
    proc = subprocess.Popen([sys.executable, "-c", SLOW_STUDY], cwd=REPO, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120.0
        workers: set[int] = set()
        while len(workers) < 2 and time.monotonic() < deadline:  # two loky workers (and loky's trackers)
            time.sleep(0.5)
            workers = {p for p in _children(proc.pid)
                       if "popen_loky" in subprocess.run(["ps", "-o", "args=", "-p", str(p)], capture_output=True,
                                                         text=True).stdout}
        assert len(workers) == 2, "the loky workers did not start"
        proc.send_signal(sig)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 20.0
        while any(_alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(_alive(p) for p in workers)
    finally:
        if proc.poll() is None:
            proc.kill()
