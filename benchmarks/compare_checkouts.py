"""Before/after speed of `bench_patient.py`: interleaved runs in two checkouts, per-pair ratios, median, 95% interval.

A speed claim for a change ("no regression", issue 15 item 2) compares two checkouts of the repository,
each with its own `.venv` (e.g. `git worktree add ../before <commit>`, then `./scripts/setup.sh` there).
This script runs this checkout's `benchmarks/bench_patient.py --seeds 1` (the same instrument for both) with
each checkout's Python and package in turn, before, after, before, after ..., so that a drift of the
machine's speed moves both sides of a pair alike, and reads the CPU cost per simulated hour (CPU ms/sim h:
the process's CPU time, which time stolen by other work on a shared or virtual machine does not inflate as
it does the wall clock) of the default treated patient at 100 µm and at 200 µm from each run. For each
grid it prints every pair's ratio after/before, their median and the median's distribution-free 95%
confidence interval (order statistics of the binomial(n, 1/2) sign test; 10 pairs give ranks 2 and 9,
a coverage of 97.9%, the smallest interval with coverage of at least 95%).

Each bench process simulates the patient `--repeats` times (default 5) and keeps its fastest run, which removes
interference from other work during a run. It does not remove the spread from one process to the next seen on this
project's 2-core virtual machine: the fastest of 5 runs of the same code and patient ranged 1.17-1.90 CPU ms per
simulated hour at 100 µm across processes (12 pairs, 2026-12-07), so a 95% upper bound within a few percent needs
hundreds of pairs there. For a small difference, count instructions instead (`compare_instructions.py`).
`--repeats 1` gives the first run alone, as this script did before.

    .venv/bin/python benchmarks/compare_checkouts.py --before ../before --after . --pairs 12 [--repeats 5]

Run it on a quiet machine: other work on the same cores widens the interval.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROW = re.compile(r"^\s*(?P<dx>\d+) µm / [\d.]+ h(\s+\S+){6}\s+(?P<cpu_ms>[\d.]+)")
BENCH = Path(__file__).resolve().with_name("bench_patient.py")


def treated_costs(checkout: Path, repeats: int) -> dict[str, float]:
    """CPU ms per simulated hour of the default treated patient per grid: one bench_patient process with
    `checkout`'s code, the fastest of `repeats` runs of the same patient."""
    env = dict(os.environ, NUMBA_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    run = subprocess.run([str(checkout / ".venv" / "bin" / "python"), str(BENCH), "--seeds", "1", "--repeats",
                          str(repeats)],
                         cwd=checkout, env=env, capture_output=True, text=True)
    if run.returncode != 0:
        last = (run.stderr.strip().splitlines() or ["no output"])[-1]
        raise SystemExit(f"error: bench_patient.py failed with {checkout}'s code (too old for this bench?): {last}")
    out = run.stdout
    treated = out.split("Reference, no target")[0]  # the first table: the default patient, treated
    costs = {}
    for line in treated.splitlines():
        m = ROW.match(line)
        if m:
            costs[f"{m['dx']} µm"] = float(m["cpu_ms"])
    if not costs:
        raise SystemExit(f"error: no cost rows in bench_patient.py's output in {checkout}")
    return costs


def median_interval(values: list[float], level: float = 0.95) -> tuple[float, float, float]:
    """The median and its distribution-free confidence interval (sign-test order statistics)."""
    xs, n = sorted(values), len(values)
    k = 0  # the largest k with P(Binomial(n, 1/2) <= k) <= (1 - level) / 2
    while sum(math.comb(n, i) for i in range(k + 2)) / 2 ** n <= (1 - level) / 2:
        k += 1
    return statistics.median(xs), xs[k], xs[n - 1 - k]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", type=Path, required=True, help="checkout of the reference revision (with .venv)")
    ap.add_argument("--after", type=Path, required=True, help="checkout of the changed revision (with .venv)")
    ap.add_argument("--pairs", type=int, default=10, help="interleaved before/after pairs (at least 6)")
    ap.add_argument("--repeats", type=int, default=5,
                    help="runs of the patient in each bench process, keeping the fastest (1: the first run only)")
    a = ap.parse_args(argv)
    for d in (a.before, a.after):
        if not (d / ".venv" / "bin" / "python").exists() or not (d / "woundsim").is_dir():
            print(f"error: {d} is not a checkout with its .venv (run ./scripts/setup.sh there)", file=sys.stderr)
            return 2
    for d in (a.before, a.after):
        # a .venv copied from another checkout keeps that checkout's editable install (and its bin/pip installs
        # into the original): the bench would time the other checkout's code
        found = subprocess.run([str(d / ".venv" / "bin" / "python"), "-c", "import woundsim; print(woundsim.__file__)"],
                               cwd="/", capture_output=True, text=True).stdout.strip()
        if not Path(found).resolve().is_relative_to(d.resolve()):
            print(f"error: {d}/.venv imports woundsim from {found or 'nowhere'}, not from {d}: run "
                  "'.venv/bin/python -m pip install --no-deps -e .' there", file=sys.stderr)
            return 2
    if a.pairs < 6:
        print("error: --pairs must be at least 6 (fewer give no 95% interval for the median)", file=sys.stderr)
        return 2
    if a.repeats < 1:
        print("error: --repeats must be at least 1", file=sys.stderr)
        return 2
    treated_costs(a.before, 1), treated_costs(a.after, 1)  # warm-up: compile or load each side's kernels
    ratios: dict[str, list[float]] = {}
    for i in range(a.pairs):
        before, after = treated_costs(a.before.resolve(), a.repeats), treated_costs(a.after.resolve(), a.repeats)
        for grid in before:
            ratios.setdefault(grid, []).append(after[grid] / before[grid])
        print(f"pair {i + 1}/{a.pairs}: " + ", ".join(f"{g} {after[g]:.3f}/{before[g]:.3f} CPU ms/sim h"
                                                      for g in before), flush=True)
    print(f"\nCPU cost per simulated hour after/before, default treated patient, {a.pairs} interleaved pairs, "
          f"each process the fastest of {a.repeats} runs:")
    for grid, rs in ratios.items():
        med, lo, hi = median_interval(rs)
        print(f"  {grid:>7}: median {med:.3f}, 95% interval {lo:.3f}-{hi:.3f}; pairs " + " ".join(f"{r:.3f}" for r in rs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
