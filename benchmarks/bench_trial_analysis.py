"""Cost of analysing one simulated trial (the trial designer's inner loop), against a reference.

One trial of 200 + 200 patients is analysed (closure by week 12, log-rank, Cox hazard ratio, PAR at
week 4) by `woundsim.trial.analyse_trial`; the reference is lifelines' own CoxPHFitter on the same
two arms, which the designer would otherwise call. Target: one analysis in under 10 ms (about 0.5 ms
measured), i.e. a ratio to lifelines' Cox fit well below 1.

    .venv/bin/python benchmarks/bench_trial_analysis.py [--repeats 30]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter

from woundsim.trial import TrialDesign, analyse_trial, observe_patients
from woundsim.trial.scenarios import bernoulli_pool

TARGET_S = 0.01


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed analyses (median reported)")
    parser.add_argument("--patients", type=int, default=200, help="patients per arm")
    args = parser.parse_args(argv)
    design, rng = TrialDesign(), np.random.default_rng(3)
    pool_a = bernoulli_pool(0.5, 2 * args.patients, rng, par_mean=40.0, par_sd=30.0)
    pool_b = bernoulli_pool(0.3, 2 * args.patients, rng, par_mean=30.0, par_sd=30.0)
    obs_a = observe_patients(pool_a.iloc[: args.patients], design, rng)
    obs_b = observe_patients(pool_b.iloc[: args.patients], design, rng)
    analyse_trial(obs_a, obs_b, design)  # warm up
    ours = median_time(lambda: analyse_trial(obs_a, obs_b, design), args.repeats)
    cox_data = pd.DataFrame({"t": np.r_[pool_a["first_closure_day"].fillna(200).to_numpy()[: args.patients],
                                        pool_b["first_closure_day"].fillna(200).to_numpy()[: args.patients]],
                             "e": np.r_[pool_a["first_closure_day"].notna().to_numpy()[: args.patients],
                                        pool_b["first_closure_day"].notna().to_numpy()[: args.patients]],
                             "arm": np.r_[np.ones(args.patients), np.zeros(args.patients)]})
    ref = median_time(lambda: CoxPHFitter().fit(cox_data, "t", "e"), max(3, args.repeats // 3))
    print(f"analyse_trial ({args.patients} + {args.patients} patients): {ours * 1e3:.2f} ms median "
          f"(target < {TARGET_S * 1e3:.0f} ms: {'met' if ours < TARGET_S else 'MISSED'})")
    print(f"lifelines CoxPHFitter alone on the same arms: {ref * 1e3:.2f} ms")
    print(f"ratio analyse_trial / lifelines Cox fit: {ours / ref:.3f}")


if __name__ == "__main__":
    main()
