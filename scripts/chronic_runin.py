"""Run-in check by hand (issue 17 item 3; docs/chronic.md): do ulcers shrink in a pivotal trial's 2-week run-in?

Samples `conf/cohort/pivotal_control.yaml` patients (cohort seed 2026, patient i simulated with seed 1000 + i),
runs each under standard care for 28 days at 200 µm, and prints the share a 14-day run-in would exclude (shrunk by
more than 30% or closed, as conf/trial/default.yaml's runin), PAR at day 14 and PAR at day 28 from entry.
A check against `DES-RUNIN` (10-30%, shaping only): nothing is fitted to it.

    .venv/bin/python scripts/chronic_runin.py [N] [default|calibrated] [name=value ...]

Each name=value overrides a model parameter (e.g. foot.epithelial_breakdown_um_day=0 turns the foot's load off).
"""

from __future__ import annotations

import sys
import time

import numpy as np

from woundsim.config import cohort_from, named_option, named_params
from woundsim.params import ModelParams, with_overrides
from woundsim.simulate import simulate
from woundsim.treatment import standard_care

RUNIN_DAYS, MAX_SHRINK_PCT, LAST_DAY = 14.0, 30.0, 28.0


def main(n: int, which: str, overrides: dict[str, float]) -> None:
    patients = cohort_from(named_option("cohort", "pivotal_control")).sample(n, np.random.default_rng(2026))
    base = ModelParams() if which == "default" else named_params(which)
    params = with_overrides(base, {"numerics.dx_um": 200.0, "numerics.mesa_sync_hours": 0.0,
                                   "numerics.horizon_weeks": 20.0, **overrides})
    par14, par28 = [], []
    cpu = time.process_time()
    for i, patient in enumerate(patients):
        ts = simulate(params, patient, standard_care(), seed=1000 + i,
                      stop_after_day=lambda rows: rows[-1]["day"] >= LAST_DAY).timeseries.set_index("day")
        par14.append(ts.par_pct.loc[RUNIN_DAYS])
        par28.append(ts.par_pct.loc[LAST_DAY])
    par14, par28 = np.array(par14), np.array(par28)
    print(f"{which}{' ' + str(overrides) if overrides else ''}: {n} pivotal_control patients, 200 µm: run-in excludes {np.mean(par14 > MAX_SHRINK_PCT):.1%} "
          f"(PAR14 > {MAX_SHRINK_PCT:g}% or closed); shrinking at all {np.mean(par14 > 0):.0%}; PAR14 median "
          f"{np.median(par14):.1f}% (IQR {np.percentile(par14, 25):.1f}-{np.percentile(par14, 75):.1f}, 90th percentile "
          f"{np.percentile(par14, 90):.1f}, max {par14.max():.1f}); PAR28 from "
          f"entry {par28.mean():.1f} +- {par28.std(ddof=1):.1f}%; CPU {time.process_time() - cpu:.0f} s")


if __name__ == "__main__":
    if any(arg in ("-h", "--help") for arg in sys.argv[1:]):
        print(__doc__)
        raise SystemExit(0)
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100, sys.argv[2] if len(sys.argv) > 2 else "default",
         {name: float(value) for name, value in (arg.split("=", 1) for arg in sys.argv[3:])})
