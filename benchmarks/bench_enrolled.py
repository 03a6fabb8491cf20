"""CPU seconds per enrolled patient at 200 µm, everything included: the budget of issue 17 item 8.

A study pays for every patient it screens, not only for those it enrolls: a pivotal-like control patient
is simulated through its 2-week standard-care run-in, and one that the run-in excludes (shrunk by more
than 30%, or closed) is paid for and dropped. This benchmark screens candidates exactly as the trial
designer's pools do (`woundsim.trial.pools.candidate_row`: one `simulate()` run per candidate, run-in
included, and whatever the model simulates before entry), in this process, one core, and reports the
process's CPU seconds divided by the number of patients enrolled, for

- a seed-trial patient: conf/cohort/seed_trial, the trial's regimen (conf/treatment/hucmscd_trial), no
  run-in, 12 weeks after entry;
- a pivotal control patient: conf/cohort/pivotal_control, standard care, a 2-week run-in excluding ulcers
  that shrink by more than 30%, 20 weeks after randomisation;

with the calibrated parameters on the 200 µm grid (conf/grid/coarse). Version 2 of the model may cost at
most 1.5x version 1 per enrolled patient (issue 17 item 8): run this script in a checkout of each (or
through `benchmarks/compare_checkouts.py`'s way of using two checkouts' Pythons) and divide.

    NUMBA_NUM_THREADS=1 .venv/bin/python benchmarks/bench_enrolled.py [--candidates 12] [--seed 1]
"""

from __future__ import annotations

import argparse
import time

from woundsim.config import named_option, named_params, named_treatment
from woundsim.patient import CohortSpec
from woundsim.trial.pools import PoolSpec, RunIn, candidate_row
from woundsim.treatment import standard_care


def cpu_per_enrolled(spec: PoolSpec) -> tuple[float, int, int]:
    """(CPU s per enrolled patient, candidates screened, patients enrolled) of one pool, built serially."""
    tasks = spec.tasks()
    t0 = time.process_time()
    rows = [candidate_row(task) for task in tasks]
    cpu = time.process_time() - t0
    enrolled = sum(bool(r["eligible"]) for r in rows)
    return (cpu / enrolled if enrolled else float("nan")), len(rows), enrolled


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--candidates", type=int, default=12, help="candidates screened per population (default 12)")
    ap.add_argument("--seed", type=int, default=1, help="pool seed (default 1)")
    a = ap.parse_args(argv)
    if a.candidates < 1:
        ap.error("--candidates must be at least 1")
    params = named_params("calibrated", grid="coarse")
    populations = {
        "seed-trial patient (treated, no run-in)": PoolSpec(
            params, CohortSpec(**named_option("cohort", "seed_trial")), named_treatment("hucmscd_trial"),
            a.candidates, a.seed, RunIn(days=0.0), followup_days=84.0),
        "pivotal control patient (standard care, 2-week run-in)": PoolSpec(
            params, CohortSpec(**named_option("cohort", "pivotal_control")), standard_care(),
            a.candidates, a.seed, RunIn(days=14.0, max_shrink_fraction=0.30), followup_days=140.0),
    }
    warm = PoolSpec(params, CohortSpec(**named_option("cohort", "seed_trial")), named_treatment("hucmscd_trial"), 1,
                    a.seed, RunIn(days=0.0), followup_days=35.0)
    cpu_per_enrolled(warm)  # load the kernels before timing
    print(f"CPU seconds per enrolled patient at 200 µm (model=calibrated, grid=coarse), {a.candidates} candidates, "
          f"pool seed {a.seed}:")
    for label, spec in populations.items():
        per, screened, enrolled = cpu_per_enrolled(spec)
        print(f"  {label:<56} {per:7.2f} s  ({enrolled} of {screened} screened enrolled)", flush=True)


if __name__ == "__main__":
    main()
