"""Probe one parameter set of a feasibility study by hand: a few values changed, a small design, statistics printed.

    .venv/bin/python -m scripts.feasibility_probe --from STUDY --draw K [--set KEY=VALUE ...]
        [--trial-arms 2] [--soc-candidates 40] [--jobs 2] [+calibration.trial.cohort_overrides.area_max_cm2=5 ...]

Takes draw K's values from STUDY's `statistics.parquet` (a prior predictive study or a search), replaces those named by
`--set` (natural values of the calibration's free parameters, as `woundsim calibrate confirm --set`), and simulates
`--trial-arms` seed-trial arms and `--soc-candidates` standard-care candidates through the run-in, on the search's
seeds, in a temporary store (nothing is kept). Other arguments are Hydra overrides of the calibration config, e.g.
`+calibration.trial.cohort_overrides.offloading_adherence_mean=0.95` to ask what a different seed-trial population
would do (the current conf/calibration config, which must pose the study's priors). A way to locate a conflict
between targets (docs/calibration.md, "Probes by hand"), not a calibration step: its sizes are too small to confirm
anything (`woundsim calibrate confirm` does that).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from calibration.app_config import compose_config
from calibration.feasibility import FeasibilityDesign, point_row, point_statistics, simulate_points
from calibration.feasibility_cli import set_values, study_draw
from calibration.setup import load_setup
from woundsim.errors import InputError, require
from woundsim.parallel import ParallelConfig
from woundsim.seeds import FEASIBILITY_SEARCH
from woundsim.store import ResultStore
from woundsim.trial.pools import RunIn

SHOWN = ("trial_closed_fraction", "trial_mean_closure_days", "trial_recurrence_followup", "soc_closed_week12",
         "soc_closed_week20", "soc_recurrence_12m", "soc_screened", "soc_enrolled", "runin_excluded_share")


def probe(source: Path, draw: int, values: dict[str, float], overrides: list[str], trial_arms: int,
          soc_candidates: int, jobs: int) -> dict[str, float]:
    """The statistics of draw `draw` of the study in `source` with `values` replaced (see the module docstring)."""
    study, setup, abc = study_draw(source, draw, values)
    if overrides:  # the current calibration config with the overrides: it must pose the study's priors
        changed = load_setup(compose_config(overrides))
        require(changed.parameters == setup.parameters, f"conf/calibration's priors differ from {source}'s study; "
                                                        "probe it without Hydra overrides")
        setup = changed
    design = FeasibilityDesign(FEASIBILITY_SEARCH, setup.seed, trial_arms, soc_candidates, 0,
                               RunIn(**study["design"]["runin"]))
    folder = Path(tempfile.mkdtemp(prefix="woundsim-probe-"))
    try:
        points = pd.DataFrame([point_row(setup, draw, abc)])
        rows = simulate_points(setup, design, points, ResultStore(folder),
                               ParallelConfig(backend="loky", n_jobs=jobs), lambda line: None)
        stats = point_statistics(rows, setup, np.random.default_rng(0)).iloc[0]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {name: float(stats[name]) for name in SHOWN}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m scripts.feasibility_probe", description=__doc__.splitlines()[0],
                                     epilog="Other arguments are Hydra overrides of the calibration config.")
    parser.add_argument("--from", dest="source", type=Path, required=True, help="a feasibility study folder")
    parser.add_argument("--draw", type=int, required=True, help="the draw (parameter set) to probe")
    parser.add_argument("--set", dest="values", action="append", default=[], metavar="KEY=VALUE",
                        help="replace a free parameter's natural value (repeatable)")
    parser.add_argument("--trial-arms", type=int, default=2, help="seed-trial arms of 10 (default 2)")
    parser.add_argument("--soc-candidates", type=int, default=40, help="standard-care candidates screened (default 40)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    opts, overrides = parser.parse_known_args(argv)
    try:
        stats = probe(opts.source, opts.draw, set_values(opts.values), overrides, opts.trial_arms,
                      opts.soc_candidates, opts.jobs)
    except InputError as exc:
        sys.exit(f"feasibility_probe: {exc}")
    for name, value in stats.items():
        print(f"{name:28s} {value:10.3f}")


if __name__ == "__main__":
    main()
