"""The `woundsim` command: `woundsim run` (Hydra), `woundsim plot`, `woundsim viz`.

Hydra is imported here and in experiments/ only; the model receives plain dataclasses.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from woundsim.errors import InputError

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"

USAGE = """usage: woundsim COMMAND [ARGS]

Simulate diabetic foot ulcer healing under hUC-MSC derivative injections.

commands:
  run [OVERRIDES]    simulate one patient (Hydra app; `woundsim run --help` lists the config groups,
                     `woundsim run --cfg job` prints the composed config, `-m` sweeps scenarios)
                     e.g. woundsim run patient=grade3_infected treatment=standard_care run.seed=3
  plot RUN_DIR       redraw the figures of a run folder
  sweep [OVERRIDES]  cohort studies (Hydra app), e.g. woundsim sweep -m +experiment=product_dose_sites
  sweep gather DIR   gather a sweep folder into one Parquet table (and a study's heatmaps)
  viz                serve the interactive page (Solara)

`python -m woundsim ...` is the same command; without a command it runs `woundsim run`.
"""


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `woundsim` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return
    command, rest = argv[0], argv[1:]
    if command == "run":
        run_command(rest)
    elif command == "plot":
        plot_command(rest)
    elif command == "sweep":
        from experiments.sweep import main as sweep_main

        sweep_main(rest)
    elif command == "viz":
        from woundsim.viz.serve import serve  # optional extra

        serve(rest)
    else:
        print(f"woundsim: error: unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
        raise SystemExit(2)


def run_command(overrides: list[str]) -> None:
    """Run the Hydra app with `overrides` (Hydra parses them, including --help and -m)."""
    import hydra

    from woundsim.config import register_configs

    if not CONF_DIR.is_dir():
        raise SystemExit(f"woundsim: error: config folder {CONF_DIR} not found (install woundsim from its checkout)")
    register_configs()
    app = hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")(_run_job)
    sys.argv = ["woundsim run", *overrides]
    app()


def _run_job(cfg) -> dict:
    import logging

    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    logging.getLogger("MESA").setLevel(logging.WARNING)  # Mesa logs every step at INFO

    try:
        return run_scenario(cfg, Path(HydraConfig.get().runtime.output_dir), OmegaConf.to_yaml(cfg, resolve=True))
    except InputError as exc:
        print(f"woundsim: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def run_scenario(cfg, out: Path, config_yaml: str) -> dict:
    """Simulate the configured patient (one or several replicates) and write its run folder(s)."""
    from woundsim.config import to_objects
    from woundsim.output import write_run
    from woundsim.simulate import SNAPSHOT_DAYS, simulate

    params, patient, treatment, run = to_objects(cfg)
    seeds = replicate_seeds(run.seed, run.replicates)
    folders = [out] if len(seeds) == 1 else [out / f"replicate_{i:03d}" for i in range(len(seeds))]
    summaries = []
    for seed, folder in zip(seeds, folders):
        t0 = time.perf_counter()
        result = simulate(params, patient, treatment, seed=seed, snapshot_days=tuple(run.snapshot_days or SNAPSHOT_DAYS),
                          progress=run.progress)
        write_run(folder, result, config_yaml=config_yaml, wall_time_s=time.perf_counter() - t0)
        if run.figures:
            from woundsim.plots import plot_run

            plot_run(folder)
        summaries.append({"seed": seed, **result.summary})
        _report(folder, result.summary)
    if len(seeds) > 1:
        import pandas as pd

        pd.DataFrame(summaries).to_parquet(out / "replicates.parquet", index=False)
    return summaries[0]


def replicate_seeds(seed: int, n: int) -> list[int]:
    """The run's seed for one replicate; SeedSequence children of it for several."""
    if int(n) < 1:
        raise InputError(f"run.replicates = {n} must be >= 1")
    if n == 1:
        return [int(seed)]
    import numpy as np

    return [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(int(seed)).spawn(int(n))]


def _report(folder: Path, s: dict) -> None:
    closed = s["first_closure_day"]
    line = (f"closed on day {closed:.1f} (confirmed day {s['confirmed_closure_day']:.1f})"
            if s["confirmed_closure_day"] == s["confirmed_closure_day"] else
            f"not closed by day {s['simulated_days']:.0f}; PAR week 4 {s['par_week4']:.0f}%")
    print(f"[woundsim] {line} -> {folder}")


def plot_command(args: list[str]) -> None:
    from woundsim.plots import plot_run

    if len(args) != 1 or args[0].startswith("-"):
        print("usage: woundsim plot RUN_DIR   (redraws RUN_DIR/figures from the folder's tables)")
        raise SystemExit(0 if args and args[0] in ("-h", "--help") else 2)
    try:
        for path in plot_run(Path(args[0])):
            print(path)
    except FileNotFoundError as exc:
        print(f"woundsim: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
