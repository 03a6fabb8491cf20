"""Would the last open voxels of a version-2 run have waited under version 1's closure rules? (issue 17 item 9)

Version 1 filled a voxel only with the fibroblasts standing in it and had no purse string, so single open voxels
waited weeks (../shared/review/model_v1_diagnosis.md, finding 2). This study takes tests/test_behaviour.py's treated
ulcer (1 cm², Texas II, 15 weeks, off the plantar surface) and, per seed, runs two identical models (same seed, the
same numbers drawn) until the open area first falls to 1% of its entry value. There one of them switches to version
1's closure rules: no ingrowth from walls and filled neighbours (`fibroblast.ingrowth_um_day` 0), no purse string
(`keratinocyte.purse_string_um_day` 0), and a fibroblast cohort's matrix laid in its own voxel only
(`fibroblast.deposit_own_share` 1). Both continue; the table gives the days from the 1% point to the last open voxel
covered (first closure, limit 0) under each, and a paired one-sided t-test that version 1's rules take longer.

    python -m verification.tail_v1_rules                 # 200 µm, 8 seeds (tests/test_behaviour.py's), ~1 CPU-min
    python -m verification.tail_v1_rules --dx 100 --seeds 20

A measured fact, not a test: it says whether the version-2 tail still holds voxels that version 1's rules would
leave open, i.e. whether issue 17 item 9's "closure is reached in a run whose last open voxels would have waited
under version 1" can be shown on this model (docs/closure.md, "The tail under version 1's rules").
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from scipy import stats

from tests.test_behaviour import BASE, SEEDS
from verification.closure_runs import markdown
from woundsim import layout as L
from woundsim.kernels.tissue import open_voxels
from woundsim.model import WoundModel
from woundsim.params import ModelParams, with_overrides
from woundsim.treatment import Treatment
from woundsim.units import HOURS_PER_DAY

TAIL_FRACTION = 0.01  # the acceptance's start of the tail: open area at 1% of its entry value
LIMIT_DAYS = 60.0  # longest continuation after that point (a run still open then is censored there)


def to_tail(params: ModelParams, seed: int) -> WoundModel:
    """The treated ulcer's model, advanced until its open area first falls to TAIL_FRACTION of its entry value."""
    model = WoundModel(params, BASE, Treatment(), seed=seed)
    entry = model.open_area_cm2
    while model.running and model.open_area_cm2 > TAIL_FRACTION * entry:
        model.advance()
    return model


def use_version1_closure(model: WoundModel) -> None:
    """Version 1's closure rules from now on: no ingrowth, no purse string, matrix laid in the cohort's own voxel."""
    model.rates[L.R_INGROWTH] = 0.0
    model.rates[L.R_PURSE_STRING] = 0.0
    model.fp[L.F_DEPOSIT_OWN] = 1.0
    model.fp[L.F_DEPOSIT_NEIGHBOUR] = 0.0


def days_to_last_voxel(model: WoundModel) -> float:
    """Days from now until the last open voxel is covered (LIMIT_DAYS if it is not, or the run ends first)."""
    start = model.hours
    while model.running and model.open_area_cm2 > 0.0 and model.hours - start < LIMIT_DAYS * HOURS_PER_DAY:
        model.advance()
    return (model.hours - start) / HOURS_PER_DAY if model.open_area_cm2 == 0.0 else LIMIT_DAYS


def study(dx_um: float, seeds: tuple[int, ...]) -> pd.DataFrame:
    """One row per seed: the 1% day, open voxels there, the tail under version 2's and version 1's rules."""
    params = with_overrides(ModelParams(), {"numerics.dx_um": dx_um, "numerics.horizon_weeks": 16.0,
                                            "numerics.mesa_sync_hours": 0.0})
    rows = []
    for seed in seeds:
        v2, v1 = to_tail(params, seed), to_tail(params, seed)
        assert v2.hours == v1.hours and v2.open_area_cm2 == v1.open_area_cm2  # the same run up to here
        day, still_open = v2.hours / HOURS_PER_DAY, int(open_voxels(v2.tissue.wound_idx, v2.tissue.epithelium))
        use_version1_closure(v1)
        rows.append({"seed": seed, "one_percent_day": day, "open_voxels_then": still_open,
                     "tail_v2_rules_days": days_to_last_voxel(v2), "tail_v1_rules_days": days_to_last_voxel(v1)})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m verification.tail_v1_rules", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dx", type=float, default=200.0, help="voxel size (µm; default 200)")
    parser.add_argument("--seeds", type=int, default=len(SEEDS), help=f"seeds (default {len(SEEDS)}: the behaviour tests')")
    opts = parser.parse_args(argv)
    seeds = SEEDS[: opts.seeds] if opts.seeds <= len(SEEDS) else tuple(101 * k for k in range(1, opts.seeds + 1))
    table = study(opts.dx, seeds)
    diff = table["tail_v1_rules_days"] - table["tail_v2_rules_days"]
    p = stats.ttest_rel(table["tail_v1_rules_days"], table["tail_v2_rules_days"], alternative="greater").pvalue
    print(markdown(table.round(2)))
    print(f"\n{opts.dx:g} µm, {len(table)} seeds: tail under version 2's rules {table['tail_v2_rules_days'].mean():.2f} d, "
          f"under version 1's {table['tail_v1_rules_days'].mean():.2f} d (paired difference {diff.mean():+.2f} d, "
          f"SD {diff.std(ddof=1):.2f}; one-sided p {p:.3g}); censored at {LIMIT_DAYS:g} d: "
          f"{int((table['tail_v1_rules_days'] >= LIMIT_DAYS).sum())} under version 1's rules")


if __name__ == "__main__":
    main()
