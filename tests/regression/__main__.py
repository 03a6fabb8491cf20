"""The regression baseline's commands: compare fresh runs with the stored baseline, or refresh it.

    python -m tests.regression check            # what differs from the stored baseline (exit 1 if anything)
    python -m tests.regression update           # rerun every case, print what changed, store the new baseline
    python -m tests.regression update --case treated_calibrated_100um

Refresh the baseline only in a commit whose message says which results changed and why (README,
"Regression baseline"). A baseline made on another machine (CPU, Numba target, floating-point flags,
versions) is not refreshed unless `--accept-machine` says so: a difference there may be the machine's.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from tests.regression.cases import BASELINE_DIR, CASES, differences, machine, run, write

MACHINE_FILE = BASELINE_DIR / "machine.json"


def stored_machine() -> dict | None:
    return json.loads(MACHINE_FILE.read_text()) if MACHINE_FILE.is_file() else None


def machine_differences(stored: dict | None, current: dict) -> list[str]:
    """Entries of the machine fingerprint that differ from the baseline's."""
    if stored is None:
        return ["no machine.json stored with the baseline"]
    return [f"{k}: baseline {stored.get(k)!r}, here {current.get(k)!r}"
            for k in sorted(set(stored) | set(current)) if stored.get(k) != current.get(k)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.regression", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("check", "update"), help="check: compare; update: rerun and store")
    parser.add_argument("--case", action="append", default=None, metavar="NAME",
                        help=f"only this case (repeatable); cases: {', '.join(c.name for c in CASES)}")
    parser.add_argument("--accept-machine", action="store_true",
                        help="store a baseline although it was made on another machine than the stored one")
    args = parser.parse_args(argv)
    cases = [c for c in CASES if args.case is None or c.name in args.case]
    unknown = set(args.case or ()) - {c.name for c in CASES}
    if unknown:
        parser.error(f"unknown case {sorted(unknown)}; cases are {[c.name for c in CASES]}")
    here = machine()
    moved = machine_differences(stored_machine(), here)
    if moved:
        print("machine differs from the baseline's:\n  " + "\n  ".join(moved))
        if args.command == "update" and not args.accept_machine and stored_machine() is not None:
            print("refusing to update: rerun with --accept-machine if results should now come from this machine")
            return 2
    changed = 0
    for case in cases:
        t0 = time.perf_counter()
        summary, ts = run(case)
        diffs = differences(case, summary, ts)
        took = time.perf_counter() - t0
        if diffs:
            changed += 1
            print(f"{case.name}: CHANGED ({took:.1f} s)\n  " + "\n  ".join(diffs))
        else:
            print(f"{case.name}: identical ({took:.1f} s)")
        if args.command == "update":
            write(case, summary, ts)
    if args.command == "update":
        MACHINE_FILE.write_text(json.dumps(here, indent=1, sort_keys=True) + "\n")
        print(f"stored {len(cases)} case(s) in {BASELINE_DIR} ({changed} changed); commit them with a message that "
              "says what changed and why")
        return 0
    print(f"{changed} of {len(cases)} case(s) differ from the baseline")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
