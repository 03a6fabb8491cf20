"""The closure tail against the healing time (issue 17 item 2), on ulcers that heal faster than
verification.closure_tail's fixed patients (they close on days 43-93 at 100 µm; the seed trial's mean is 4.2
weeks, SEED02).

tests/test_behaviour.py's treated ulcer (Texas II, 15 weeks, HbA1c 8%, off the plantar surface) at each entry
area, 100 µm, the foot's load breakdown off and a 30-week horizon (`closure_runs.grid_params`, as the tail study):
per area, the first-closure day and the tail (open area at 1% of entry -> last voxel covered), median and 90th
percentile over seeds. A measured fact beside the acceptance, not a verdict.

    python -m verification.tail_by_area                      # 0.5, 1 and 2 cm², 20 seeds each; one process
    python -m verification.tail_by_area --areas 0.5 --seeds 5
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np
import pandas as pd

from tests.test_behaviour import BASE
from verification.closure_runs import grid_params, markdown, one_percent_day
from woundsim.simulate import simulate
from woundsim.treatment import Treatment


def tail_rows(areas: list[float], seeds: int) -> pd.DataFrame:
    """One row per area: runs, closed, first-closure day and tail (median, 90th percentile), tail share."""
    params = grid_params("default", "100um")
    rows = []
    for area in areas:
        first, tail = [], []
        for seed in range(seeds):
            run = simulate(params, dataclasses.replace(BASE, area_cm2=area), Treatment(), seed=seed)
            day, open_area = run.timeseries["day"].to_numpy(float), run.timeseries["open_area_cm2"].to_numpy(float)
            first.append(float(run.summary["first_closure_day"]))
            tail.append(first[-1] - one_percent_day(day, open_area))
        first, tail = np.array(first), np.array(tail)
        closed = np.isfinite(tail)
        rows.append({"area_cm2": area, "runs": seeds, "closed": int(closed.sum()),
                     "first_closure_median": float(np.median(first[closed])),
                     "tail_median_days": float(np.median(tail[closed])),
                     "tail_p90_days": float(np.quantile(tail[closed], 0.9, method="higher")),
                     "tail_share_median": float(np.median(tail[closed] / first[closed]))})
        print(markdown(pd.DataFrame(rows[-1:])).splitlines()[-1], flush=True)
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--areas", type=float, nargs="+", default=[0.5, 1.0, 2.0], help="entry areas, cm²")
    ap.add_argument("--seeds", type=int, default=20, help="seeds 0..n-1 per area (default 20)")
    args = ap.parse_args(argv)
    print(markdown(tail_rows(args.areas, args.seeds)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
