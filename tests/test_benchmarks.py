"""The kernel benchmarks still run: they call the kernels directly, so a kernel's new signature breaks
them without breaking the model (bench_diffusion did, unnoticed, for one stop). Tiny sizes: this checks
that the scripts work and agree with NumPy, not their speed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.parametrize(("script", "args", "expected"), [
    ("bench_diffusion.py", ["--nx", "24", "--ny", "20", "--steps", "3", "--numpy-steps", "1"], "ratio numba / numpy"),
    ("bench_agents.py", ["--side", "20", "--agents", "40", "--steps", "2"], "ratio"),
    ("bench_trial_analysis.py", ["--repeats", "2", "--patients", "20"], "ratio analyse_trial"),
    ("bench_contraction.py", ["--dx", "250", "--area", "0.5", "--days", "1", "--repeats", "1"], "ratio remap / day"),
])
def test_kernel_benchmark_runs_on_a_tiny_grid(script, args, expected):
    done = subprocess.run([sys.executable, str(BENCHMARKS / script), *args], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert expected in done.stdout
    assert "disagree" not in done.stdout.lower()
