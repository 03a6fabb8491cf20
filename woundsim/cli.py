"""The `woundsim` command: one command family for the model and its applications.

`run`, `plot` and `viz` live in the library; `sweep`, `sensitivity` and `trial` (experiments/) and
`calibrate` (calibration/) are applications, reached by module name at run time: the library never
imports its applications (the import contract in pyproject.toml, checked by tests/test_import_contract.py).
Hydra is imported by the entry points only (through `woundsim.app`); the model receives plain dataclasses.
"""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path

from woundsim.errors import InputError, renamed

USAGE = """usage: woundsim COMMAND [ARGS]

Simulate diabetic foot ulcer healing under hUC-MSC derivative injections.

commands:
  run [OVERRIDES]          simulate one patient (Hydra app; `woundsim run --help` lists the config groups,
                           `woundsim run --cfg job` prints the composed config, `-m` sweeps scenarios)
                           e.g. woundsim run patient=grade3_infected treatment=standard_care run.seed=3
  sweep [OVERRIDES]        cohort studies (Hydra app), e.g. woundsim sweep -m +experiment=product_dose_sites
  sweep gather DIR         gather a sweep folder into one Parquet table (and a study's heatmaps)
  sensitivity [OVERRIDES]  global sensitivity analysis, e.g. woundsim sensitivity +sensitivity=morris_screening
  trial [OVERRIDES]        virtual phase III trial designer, e.g. woundsim trial draws.source=prior
  calibrate COMMAND        calibration: run | check | install | resolution | prior-predictive | confirm (needs woundsim[calibration])
  viz                      serve the interactive page (Solara)
  plot RUN_DIR             redraw the figures of a run folder

Every command takes --help. `python -m woundsim ...` is the same command; without a command it runs
`woundsim run`. The applications keep their module forms: `python -m experiments.sweep`,
`python -m experiments.sensitivity`, `python -m experiments.trial`, `python -m calibration`.
"""

# command -> (module, what it needs beyond the core install)
APPLICATIONS = {
    "sweep": ("experiments.sweep", None),
    "sensitivity": ("experiments.sensitivity", None),
    "trial": ("experiments.trial", "trial"),
    "calibrate": ("calibration.cli", "calibration"),
}
COMMANDS = ("run", *APPLICATIONS, "viz", "plot")


__getattr__ = renamed(__name__, {"replicate_seeds": "woundsim.seeds.replicate_seeds"})


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `woundsim` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return
    command, rest = argv[0], argv[1:]
    try:
        _dispatch(command, rest)
    except KeyboardInterrupt:
        # Ctrl-C (or SIGINT from a scheduler) ends the command in one line, not a traceback through Hydra
        print(f"woundsim: interrupted; what {command} had stored is kept: the same command resumes a study "
              "(an unfinished run folder has no COMPLETE marker)", file=sys.stderr)
        raise SystemExit(130) from None


def _dispatch(command: str, rest: list[str]) -> None:
    if command == "run":
        run_command(rest)
    elif command == "plot":
        plot_command(rest)
    elif command in APPLICATIONS:
        application(command).main(rest)
    elif command == "viz":
        from woundsim.viz.serve import serve  # optional extra

        serve(rest)
    else:
        print(f"woundsim: error: unknown command {command!r}; allowed {', '.join(COMMANDS)}", file=sys.stderr)
        raise SystemExit(2)


def application(command: str):
    """The module of an application command, imported by name (never statically: see the module docstring)."""
    module, extra = APPLICATIONS[command]
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] in ("woundsim", "experiments", "calibration"):
            raise  # a bug, not a missing optional package
        hint = f"; install it with: pip install 'woundsim[{extra}]'" if extra else ""
        print(f"woundsim: error: `woundsim {command}` needs {exc.name or module}{hint}", file=sys.stderr)
        raise SystemExit(2) from None


def run_command(overrides: list[str]) -> None:
    """Run the Hydra app with `overrides` (Hydra parses them, including --help and -m)."""
    from woundsim.app import AppHelp, run_hydra_app

    run_hydra_app(_run_job, overrides, prog="woundsim run", validate=checked_run, app_help=AppHelp(
        "simulate one patient from trial entry to the horizon (or to confirmed closure) and write its run folder "
        "under outputs/runs/; -m sweeps scenarios (woundsim sweep gather gathers them).",
        ("patient", "treatment", "model", "grid"),
        "run.* sets the seed (run.seed), the horizon (run.horizon_weeks), replicates, snapshot days and figures."))


def _run_job(cfg) -> dict:
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    return run_scenario(cfg, Path(HydraConfig.get().runtime.output_dir), OmegaConf.to_yaml(cfg, resolve=True))


def run_scenario(cfg, out: Path, config_yaml: str) -> dict:
    """Simulate the configured patient (one or several replicates) and write its run folder(s)."""
    from woundsim.kernel_notice import announce_compiling, mark_compiled
    from woundsim.output import mark_complete, write_run
    from woundsim.simulate import SNAPSHOT_DAYS, simulate

    params, patient, treatment, run, seeds = checked_run(cfg)
    _warn_if_calibration_stale(cfg)
    folders = [out] if len(seeds) == 1 else [out / f"replicate_{i:03d}" for i in range(len(seeds))]
    summaries = []
    compiling = announce_compiling()  # then no progress bar: its ETA would include the compilation
    for seed, folder in zip(seeds, folders):
        t0 = time.perf_counter()
        progress = False if compiling and run.progress is None else run.progress
        result = simulate(params, patient, treatment, seed=seed, snapshot_days=tuple(run.snapshot_days or SNAPSHOT_DAYS),
                          progress=progress)
        if compiling:
            mark_compiled()
            compiling = False
        write_run(folder, result, config_yaml=config_yaml, wall_time_s=time.perf_counter() - t0)
        if run.figures:
            from woundsim.plots import plot_run

            plot_run(folder)
        summaries.append({"seed": seed, **result.summary})
        _report(folder, result.summary)
    if len(seeds) > 1:
        import pandas as pd

        pd.DataFrame(summaries).to_parquet(out / "replicates.parquet", index=False)
        mark_complete(out)  # the replicates' folder is finished too
    return summaries[0]


def checked_run(cfg) -> tuple:
    """The run's objects and replicate seeds, every value checked (an `InputError` names the first bad one)
    before anything is simulated: (params, patient, treatment, run, seeds)."""
    from woundsim.config import to_objects
    from woundsim.params import validate
    from woundsim.simulate import SNAPSHOT_DAYS, snapshot_days_checked
    from woundsim.units import DAYS_PER_WEEK

    params, patient, treatment, run = to_objects(cfg)
    validate(params)
    seeds = _replicate_seeds(run.seed, run.replicates)
    num = params.numerics
    snapshot_days_checked(run.snapshot_days or SNAPSHOT_DAYS, (num.horizon_weeks + num.confirm_weeks) * DAYS_PER_WEEK)
    return params, patient, treatment, run, seeds


def _warn_if_calibration_stale(cfg) -> None:
    """One line on stderr when the run uses an installed calibration fitted before results changed."""
    from omegaconf import OmegaConf

    from woundsim.calibration_code import warning

    model = cfg.get("model") if hasattr(cfg, "get") else None
    line = warning(OmegaConf.to_container(model, resolve=True) if OmegaConf.is_config(model) else model)
    if line:
        print(f"woundsim: {line}", file=sys.stderr)


def _replicate_seeds(seed: int, n: int) -> list[int]:
    """`woundsim.seeds.replicate_seeds` of the run's config values, checked (one line naming a bad one)."""
    from woundsim import seeds

    if int(n) < 1:
        raise InputError(f"run.replicates = {n} must be >= 1")
    seeds.check_seed(seed, "run.seed")
    return seeds.replicate_seeds(seed, n)


def _report(folder: Path, s: dict) -> None:
    from woundsim.summary import summary_line

    snapshots = (folder / "snapshots.npz").stat().st_size / 1e6
    print(f"[woundsim] {summary_line(s)} -> {folder} (snapshots {snapshots:.1f} MB)")


def plot_command(args: list[str]) -> None:
    """`woundsim plot RUN_DIR`: redraw a run folder's figures from its tables."""
    import argparse

    parser = argparse.ArgumentParser(prog="woundsim plot", description="Redraw the figures of a run folder "
                                     "(RUN_DIR/figures) from the folder's tables alone; nothing is simulated.")
    parser.add_argument("run_dir", type=Path, help="a run folder written by `woundsim run`")
    ns = parser.parse_args(args)
    import zipfile

    from woundsim.output import RUN_TABLES, check_complete, read_run
    from woundsim.plots import plot_run

    try:
        check_complete(ns.run_dir)
    except (FileNotFoundError, InputError) as exc:
        _plot_error(str(exc))
    missing = [name for name in RUN_TABLES if not (ns.run_dir / name).is_file()]
    if missing:
        _plot_error(f"{ns.run_dir} has no {', '.join(missing)}")
    try:
        read_run(ns.run_dir)  # every file it needs is readable, before drawing anything
    except (ValueError, OSError, zipfile.BadZipFile) as exc:  # a damaged table, JSON or snapshot file
        first = (str(exc).splitlines() or [""])[0][:120]
        _plot_error(f"{ns.run_dir} has a damaged file ({type(exc).__name__}: {first}); rerun the run")
    for path in plot_run(ns.run_dir):
        print(path)


def _plot_error(message: str) -> None:
    if "rerun" not in message:
        message += "; rerun the run (woundsim run) to write a complete folder"
    print(f"woundsim: error: {message}", file=sys.stderr)
    raise SystemExit(2)
