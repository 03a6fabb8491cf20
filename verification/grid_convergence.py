"""Grid convergence of the first-closure day (issue 17 item 2): fixed patients x seeds on each grid.

For each pair of grids compared (50 vs 100 µm, 100 vs 200 µm, and every coarser grid a study uses, 250 µm / 2 h,
against 100 µm): the patient-averaged difference in mean first-closure day, D = mean over patients of
(mean over seeds on grid A - mean over seeds on grid B), with its 99% interval (the seeds of different grids are
independent: var D = sum over patients of (s_A^2/n_A + s_B^2/n_B) / P^2, Welch-Satterthwaite degrees of
freedom), and the pooled seed-to-seed SD ratio sqrt(mean s_A^2 / mean s_B^2) with its 99% interval (F
distribution). Accepted when the interval of D lies within +-3 days and the SD ratio within 0.75-1.33.

A run that does not close counts at its last day, the horizon plus the confirmation window (a restricted
mean: the pair is compared on the same horizon); the table says how many closed on each grid.

    python -m verification.grid_convergence --grids 100um 200um 250um_2h     # resumable
    python -m verification.grid_convergence --grids 50um 100um 200um 250um_2h --seeds 20

Patients: 3 fixed samples of conf/cohort/seed_trial.yaml (treated, hucmscd_trial) and 3 of
conf/cohort/pivotal_control.yaml (standard care). Writes <out>/state.csv and <out>/grid_convergence.md.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from verification.closure_runs import ARMS, GRIDS, Run, markdown, study_arguments, study_state

PAIRS = (("50um", "100um"), ("100um", "200um"), ("250um_2h", "100um"))
DIFF_MAX_DAYS = 3.0
SD_RATIO_RANGE = (0.75, 1.33)
LEVEL = 0.99


def restricted_closure_day(state: pd.DataFrame) -> np.ndarray:
    """First-closure day, or the run's last day (its horizon and confirmation window) for a run that did not
    close: a mean restricted to the run, the same for every grid."""
    first = state["first_closure_day"].to_numpy(float)
    return np.where(np.isfinite(first), first, state["end_day"].to_numpy(float))


def compare(state: pd.DataFrame, grid_a: str, grid_b: str) -> dict | None:
    """D, its interval, the SD ratio and its interval for grid_a against grid_b, over the patients both have
    complete (the same seeds on both); None if no patient is complete on both."""
    state = state.assign(day=restricted_closure_day(state))
    per = state.groupby(["grid", "arm", "patient"])["day"].agg(["mean", "var", "count"])
    a, b = per.loc[grid_a] if grid_a in per.index else None, per.loc[grid_b] if grid_b in per.index else None
    if a is None or b is None:
        return None
    both = a.index.intersection(b.index)
    both = [k for k in both if a.loc[k, "count"] >= 2 and b.loc[k, "count"] >= 2]
    if not both:
        return None
    a, b = a.loc[both], b.loc[both]
    n_p = len(both)
    d = float((a["mean"] - b["mean"]).mean())
    parts = (a["var"] / a["count"] + b["var"] / b["count"]) / n_p**2
    se = math.sqrt(parts.sum())
    df_terms = ((a["var"] / a["count"]) ** 2 / (a["count"] - 1) + (b["var"] / b["count"]) ** 2 / (b["count"] - 1))
    df = (parts.sum() * n_p**2) ** 2 / df_terms.sum() if df_terms.sum() > 0 else math.inf
    t = stats.t.ppf(0.5 + LEVEL / 2, df) if math.isfinite(df) else stats.norm.ppf(0.5 + LEVEL / 2)
    var_a, var_b = float(a["var"].mean()), float(b["var"].mean())
    df_a, df_b = float((a["count"] - 1).sum()), float((b["count"] - 1).sum())
    ratio = math.sqrt(var_a / var_b) if var_b > 0 else math.nan
    f_lo, f_hi = stats.f.ppf(0.5 - LEVEL / 2, df_a, df_b), stats.f.ppf(0.5 + LEVEL / 2, df_a, df_b)
    closed = state[np.isfinite(state["first_closure_day"])].groupby("grid").size()
    ok = (abs(d - t * se) <= DIFF_MAX_DAYS and abs(d + t * se) <= DIFF_MAX_DAYS
          and SD_RATIO_RANGE[0] <= ratio <= SD_RATIO_RANGE[1])
    return {"grids": f"{grid_a} vs {grid_b}", "patients": n_p,
            "runs": f"{int(a['count'].sum())} / {int(b['count'].sum())}",
            "closed": f"{int(closed.get(grid_a, 0))} / {int(closed.get(grid_b, 0))}",
            "D_days": d, "D_lo": d - t * se, "D_hi": d + t * se, "sd_a_days": math.sqrt(var_a),
            "sd_b_days": math.sqrt(var_b), "sd_ratio": ratio,
            "ratio_lo": ratio / math.sqrt(f_hi) if ratio == ratio else math.nan,
            "ratio_hi": ratio / math.sqrt(f_lo) if ratio == ratio else math.nan, "verdict": "PASS" if ok else "FAIL"}


def per_patient(state: pd.DataFrame) -> pd.DataFrame:
    """Mean (SD) first-closure day per patient and grid, and how many of its seeds closed."""
    state = state.assign(day=restricted_closure_day(state), closed=np.isfinite(state["first_closure_day"]))
    g = state.groupby(["arm", "patient", "grid"]).agg(area_cm2=("area_cm2", "first"), runs=("day", "size"),
                                                      closed=("closed", "sum"), mean_day=("day", "mean"),
                                                      sd_day=("day", "std"))
    return g.reset_index()


def main(argv: list[str] | None = None) -> int:
    ap = study_arguments(__doc__)
    ap.add_argument("--grids", nargs="+", default=["100um", "200um", "250um_2h"], choices=list(GRIDS),
                    help="grids to run (default 100um 200um 250um_2h)")
    args = ap.parse_args(argv)
    runs = [Run(g, arm, i, s) for s in range(args.seeds) for g in args.grids for arm in ARMS
            for i in range(args.patients)]
    state = study_state(runs, args)
    rows = [r for pair in PAIRS if (r := compare(state, *pair)) is not None]
    text = ("## Pairs\n\n" + (markdown(pd.DataFrame(rows)) if rows else "(no pair with both grids complete)")
            + "\n\n## Per patient\n\n" + markdown(per_patient(state)) + "\n")
    (args.out / "grid_convergence.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
