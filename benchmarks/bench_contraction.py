"""Cost of one day's wound contraction (woundsim.contraction.contract_wound) against one simulated day of the model.

The default patient as `woundsim run` simulates it (conf/patient/default: 2 cm² Texas IIA; model=calibrated;
treatment=hucmscd_trial) at 100 µm is stepped day by day for `--days` days after a warm-up day (kernels loaded).
After each day, one daily remap of everything the model holds on the grid (the wound mask, epithelium,
granulation, perfusion and its maximum, maturity, deficit depth, debris, the seven factor fields, the depot
footprint, and the three kinds of cohorts with their occupancy grids: `WoundModel.contraction_layers()`) is
timed `--repeats` times on fresh copies of that day's state, each with a fresh rounding offset (copying, and collecting the copies' garbage, is not timed). Times
are CPU seconds of this process (`time.process_time`), so other work on a shared machine does not count; the
ratio is the median remap plus the median `tissue_changed()` that follows it, over the median day of a model
whose own contraction is off. Target (issue 17 item 1): below 5 % of a day.

    NUMBA_NUM_THREADS=1 .venv/bin/python benchmarks/bench_contraction.py [--dx 100] [--days 7] [--repeats 5]
"""

from __future__ import annotations

import argparse
import copy
import gc
import statistics
import time

import numpy as np

from woundsim.config import named_option, named_params
from woundsim.contraction import Contraction, contract_wound
from woundsim.model import WoundModel
from woundsim.params import with_overrides
from woundsim.patient import Patient
from woundsim.treatment import Treatment

TARGET_RATIO = 0.05


def model_day(model: WoundModel) -> float:
    """CPU seconds for one simulated day of `model`, run as simulate() runs it (`advance` to each event)."""
    t0 = time.process_time()
    end = model.hours + 24.0 - 1e-9
    while model.hours < end and model.running:
        model.advance()
    return time.process_time() - t0


def one_remap(model: WoundModel, fraction: float, offset: tuple[float, float]) -> tuple[float, Contraction]:
    """CPU seconds for one remap of copies of the model's grid state (copied before the clock starts)."""
    fractions, amounts = model.contraction_layers()  # what WoundModel._contract moves
    fractions = {k: a.copy() for k, a in fractions.items()}
    amounts = {k: a.copy() for k, a in amounts.items()}
    layers = {"wound": model.wound.copy(), "epithelium": model.epithelium.copy()}
    cohorts = {k: copy.deepcopy(c) for k, c in model.populations.items()}
    occupancy = {k: o.copy() for k, o in model.occupancy.items()}
    gc.collect()  # the copies' garbage is the benchmark's, not the remap's (collected at the next allocation: 8 ms)
    t0 = time.process_time()
    result = contract_wound(fraction, layers["wound"], layers["epithelium"],
                            fractions=fractions, amounts=amounts, cohorts=cohorts,
                            occupancy=occupancy, offset=offset)
    return time.process_time() - t0, result


def reindex(model: WoundModel) -> float:
    """CPU seconds for `WoundModel.tissue_changed()`, which follows every remap (re-deriving the wound's indices
    costs the same whether or not the geometry changed)."""
    t0 = time.process_time()
    model.tissue_changed()
    return time.process_time() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dx", type=float, default=100.0, help="voxel edge (µm)")
    ap.add_argument("--area", type=float, default=None, help="ulcer area (cm²; default: conf/patient/default)")
    ap.add_argument("--days", type=int, default=7, help="simulated days timed, each followed by the remaps")
    ap.add_argument("--repeats", type=int, default=5, help="remaps timed per day")
    ap.add_argument("--fraction", type=float, default=0.03, help="areal fraction of the open area contracted")
    a = ap.parse_args()
    patient = named_option("patient", "default")
    if a.area is not None:
        patient["area_cm2"] = a.area
    p = with_overrides(named_params("calibrated"), {"numerics.dx_um": a.dx, "numerics.horizon_weeks": 12.0,
                                                    "numerics.mesa_sync_hours": 0.0,
                                                    "contraction.rate_per_day": 0.0})  # a day without the remap
    model = WoundModel(p, Patient(**patient), Treatment(**named_option("treatment", "hucmscd_trial")), seed=0)
    model_day(model)  # warm-up: the model's kernels loaded
    one_remap(model, a.fraction, (0.5, 0.5))  # warm-up: the contraction kernels loaded
    rng = np.random.default_rng(0)
    days, remaps, reindexes, rewritten, merged = [], [], [], [], []
    for _ in range(a.days):
        days.append(model_day(model))
        reindexes.append(reindex(model))
        for _ in range(a.repeats):
            seconds, r = one_remap(model, a.fraction, tuple(rng.random(2)))
            remaps.append(seconds)
            rewritten.append(r.changed.size)
            merged.append(sum(len(m) for m in r.merges.values()))
    day_s, remap_s, reindex_s = statistics.median(days), statistics.median(remaps), statistics.median(reindexes)
    ny, nx = model.geometry.shape
    print(f"grid {ny} x {nx} at {a.dx:g} µm, days 2-{a.days + 1} of the default treated patient; a "
          f"{100 * a.fraction:g}% remap rewrites a median {statistics.median(rewritten):.0f} voxels and merges "
          f"{statistics.median(merged):.0f} cohorts")
    print(f"one simulated day {1000 * day_s:.1f} ms CPU (median of {len(days)}); one daily remap "
          f"{1000 * remap_s:.2f} ms CPU (median of {len(remaps)})")
    print(f"then tissue_changed() {1000 * reindex_s:.2f} ms CPU (median of {len(reindexes)})")
    ratio = (remap_s + reindex_s) / day_s
    print(f"ratio (remap + tissue_changed) / day {100 * ratio:.2f} %  (remap alone {100 * remap_s / day_s:.2f} %; "
          f"target < {100 * TARGET_RATIO:g} %: {'met' if ratio < TARGET_RATIO else 'NOT met'})")


if __name__ == "__main__":
    main()
