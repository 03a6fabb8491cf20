"""Before/after cost of the default treated patient as a count of executed instructions (callgrind), not time.

On a shared or virtual machine a process's CPU time varies from process to process far more than a small
change in the code does (`compare_checkouts.py`'s pairs ranged 1.17-1.90 CPU ms per simulated hour for the
same code and run). The number of instructions executed is the same in every process, so it can tell a
difference of a fraction of a percent. It is not time: two builds that execute the same instructions can
still differ in cache misses or branch prediction; the two measures are complementary.

For each checkout (each with its own `.venv`), this runs under `valgrind --tool=callgrind` (instructions
only, no cache simulation) the script below twice: once with only the imports and a warm-up (kernels loaded
from Numba's cache), once adding the default treated patient of `bench_patient.py` (conf/patient/default,
model=calibrated, treatment=hucmscd_trial) for a horizon of `--days` days at `--dx` µm, confirmation window
included. The difference of the two counts is the patient's cost; the script prints it per checkout and the
ratio after/before. A first pass per checkout (not counted) compiles the kernels for valgrind's CPU model,
since a cache written for the real CPU does not load under valgrind.

    .venv/bin/python benchmarks/compare_instructions.py --before ../before --after . [--days 22] [--dx 100]

It is slow: about 4 minutes per counted run at the defaults, 20-30 minutes in all.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

WORKLOAD = """
import sys
from woundsim.config import named_option, named_params
from woundsim.params import ModelParams, with_overrides
from woundsim.patient import Patient
from woundsim.simulate import simulate
from woundsim.treatment import Treatment
dx, days = float(sys.argv[1]), float(sys.argv[2])
simulate(with_overrides(ModelParams(), {"numerics.dx_um": 250.0, "numerics.horizon_weeks": 4.0}),
         Patient(area_cm2=0.5), Treatment(), seed=0)  # the bench's warm-up: load the kernels
if days > 0:
    p = with_overrides(named_params("calibrated"), {"numerics.horizon_weeks": days / 7, "numerics.dx_um": dx,
                                                    "numerics.dt_agent_h": 1.0, "numerics.dt_field_h": 1.0})
    simulate(p, Patient(**named_option("patient", "default")), Treatment(**named_option("treatment", "hucmscd_trial")),
             seed=0)
"""
COLLECTED = re.compile(r"Collected : (\d+)")


def instructions(checkout: Path, dx: float, days: float, scratch: Path) -> int:
    """Instructions executed by the workload in `checkout`'s code (valgrind callgrind, Ir)."""
    # a fixed string-hash seed removes one source of variation between processes (two counts of the same code,
    # with random hash seeds, differed by 0.2%)
    env = dict(os.environ, NUMBA_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", PYTHONHASHSEED="0")
    run = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={scratch / 'callgrind.out'}",
                          str(checkout / ".venv" / "bin" / "python"), "-c", WORKLOAD, str(dx), str(days)],
                         cwd=checkout, env=env, capture_output=True, text=True)
    found = COLLECTED.search(run.stderr)
    if run.returncode != 0 or not found:
        last = (run.stderr.strip().splitlines() or ["no output"])[-1]
        raise SystemExit(f"error: the workload failed under valgrind with {checkout}'s code: {last}")
    return int(found.group(1))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", type=Path, required=True, help="checkout of the reference revision (with .venv)")
    ap.add_argument("--after", type=Path, required=True, help="checkout of the changed revision (with .venv)")
    ap.add_argument("--days", type=float, default=22.0,
                    help="treatment horizon simulated (days, at least 21: the trial regimen injects on day 21)")
    ap.add_argument("--dx", type=float, default=100.0, help="voxel size (µm)")
    a = ap.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("error: valgrind is not installed (Debian: apt install valgrind)", file=sys.stderr)
        return 2
    for d in (a.before, a.after):
        if not (d / ".venv" / "bin" / "python").exists() or not (d / "woundsim").is_dir():
            print(f"error: {d} is not a checkout with its .venv (run ./scripts/setup.sh there)", file=sys.stderr)
            return 2
    if not a.days >= 21 or not a.dx > 0:
        print("error: --days must be at least 21 and --dx positive", file=sys.stderr)
        return 2
    counts = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, d in (("before", a.before.resolve()), ("after", a.after.resolve())):
            print(f"[instructions] {name}: compiling for valgrind's CPU (not counted) ...", flush=True)
            instructions(d, a.dx, 0.0, Path(tmp))
            base = instructions(d, a.dx, 0.0, Path(tmp))
            total = instructions(d, a.dx, a.days, Path(tmp))
            counts[name] = total - base
            print(f"[instructions] {name}: {total:,} with the patient, {base:,} without: {counts[name]:,}", flush=True)
    print(f"\nInstructions of the default treated patient ({a.dx:g} µm, {a.days:g}-day horizon), after/before: "
          f"{counts['after'] / counts['before']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
