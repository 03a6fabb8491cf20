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
    ("bench_contraction.py", ["--dx", "250", "--area", "0.5", "--days", "1", "--repeats", "1"],
     "ratio (remap + tissue_changed) / day"),
])
def test_kernel_benchmark_runs_on_a_tiny_grid(script, args, expected):
    done = subprocess.run([sys.executable, str(BENCHMARKS / script), *args], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert expected in done.stdout
    assert "disagree" not in done.stdout.lower()


def test_the_median_interval_of_paired_ratios_uses_the_sign_test_order_statistics():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from compare_checkouts import median_interval
    finally:
        sys.path.remove(str(BENCHMARKS))
    ratios = [1.00 + 0.01 * k for k in range(10)]  # 1.00 .. 1.09
    median, low, high = median_interval(ratios)
    assert median == pytest.approx(1.045)
    # 10 pairs: ranks 2 and 9 (P(Binomial(10, 1/2) <= 1) = 11/1024 <= 0.025 < P(<= 2) = 56/1024)
    assert (low, high) == (pytest.approx(1.01), pytest.approx(1.08))
    assert median_interval([1.0] * 6)[1:] == (1.0, 1.0)  # 6 pairs: ranks 1 and 6 (1/64 <= 0.025)
