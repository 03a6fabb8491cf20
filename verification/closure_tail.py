"""The closure tail at 100 µm (issue 17 item 2 acceptance): from the open area falling to 1% of its entry
value to the last open voxel covered (first closure, detection limit 0), in days.

Acceptance: median at most 3 days, 90th percentile at most 7, over runs that reach 1% (a run that reaches
1% but does not close by its horizon counts with an infinite tail, so it can only raise the percentiles).
Patients are fixed samples of conf/cohort/seed_trial.yaml (treated, conf/treatment/hucmscd_trial.yaml) and
conf/cohort/pivotal_control.yaml (standard care), with the foot's load breakdown off (`closure_runs.grid_params`).

    python -m verification.closure_tail                   # resumable; 3 + 3 patients x 20 seeds
    python -m verification.closure_tail --patients 10 --seeds 3 --jobs 2

Writes <out>/state.csv (one row per run, appended as runs finish; shared with verification.grid_convergence,
whose 100 µm runs are these) and <out>/closure_tail.md (the table).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from verification.closure_runs import ARMS, Run, markdown, study_arguments, study_state

MEDIAN_MAX_DAYS = 3.0
P90_MAX_DAYS = 7.0


def tail_table(state: pd.DataFrame) -> pd.DataFrame:
    """Per arm and overall: runs, runs reaching 1%, closed, and the tail's median, 90th percentile and maximum."""
    state = state.assign(tail_days=np.where(np.isfinite(state["first_closure_day"]),
                                            state["first_closure_day"] - state["one_percent_day"], math.inf))
    rows = []
    for arm, part in [*state.groupby("arm"), ("all", state)]:
        reached = part[np.isfinite(part["one_percent_day"])]
        tail = reached["tail_days"].to_numpy(float)
        rows.append({"arm": arm, "runs": len(part), "reached_1pct": len(reached),
                     "closed": int(np.isfinite(part["first_closure_day"]).sum()),
                     "median_days": float(np.median(tail)) if tail.size else math.nan,
                     "p90_days": float(np.quantile(tail, 0.9, method="higher")) if tail.size else math.nan,
                     "max_days": float(tail.max()) if tail.size else math.nan})
    return pd.DataFrame(rows)


def verdict(table: pd.DataFrame) -> str:
    row = table[table["arm"] == "all"].iloc[0]
    ok = row["median_days"] <= MEDIAN_MAX_DAYS and row["p90_days"] <= P90_MAX_DAYS
    return (f"{'PASS' if ok else 'FAIL'}: median {row['median_days']:.2f} d (<= {MEDIAN_MAX_DAYS:g}), "
            f"90th percentile {row['p90_days']:.2f} d (<= {P90_MAX_DAYS:g}) over {row['reached_1pct']} runs")


def main(argv: list[str] | None = None) -> int:
    args = study_arguments(__doc__).parse_args(argv)
    runs = [Run("100um", arm, i, s) for s in range(args.seeds) for arm in ARMS for i in range(args.patients)]
    state = study_state(runs, args)
    table = tail_table(state[state["grid"] == "100um"])
    text = markdown(table) + "\n\n" + verdict(table) + "\n"
    (args.out / "closure_tail.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
