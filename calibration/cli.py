"""`woundsim calibrate COMMAND` (also `python -m calibration COMMAND`): run, check, install, resolution check.

    woundsim calibrate run [calibration=tiny] [calibration.abc.population_size=30 ...]
    woundsim calibrate run calibration.method=history_matching [calibration.history_matching.waves=4 ...]
    woundsim calibrate check OUT_DIR       # redo posterior export, predictive check, figures, report
    woundsim calibrate install OUT_DIR     # make it the named set: conf/model/calibrated.yaml + .parquet
    woundsim calibrate resolution [calibration=...] [--reference-dx 100] [--seeds 3]
    woundsim calibrate prior-predictive [--draws 50] [--soc-candidates 60] [calibration=...]   # feasibility
    woundsim calibrate search --from STUDY [--candidates 8]                                   # emulator-guided
    woundsim calibrate confirm --from STUDY --draw K [--trial-arms 20] [--soc-enrolled 1000]  # one point

`run` is a Hydra app composing the config group conf/calibration/ (default option `default`); its
output folder is outputs/calibration/<calibration.name>/, so re-running the same command continues
the ABC-SMC run from its database, or the history matching from its stored waves.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import sys
from pathlib import Path

from calibration.app_config import APP_CONFIG, APP_NAME, compose_config  # noqa: F401  (compose_config moved)
from woundsim.app import AppHelp, run_hydra_app
from woundsim.errors import InputError

USAGE = __doc__
COMMANDS = ("run", "check", "install", "resolution", "prior-predictive", "search", "confirm")
HELP = AppHelp("Calibration against the clinical targets, ABC-SMC (pyabc) or history matching with GP emulators "
               "(calibration.method), into outputs/calibration/<name>/ (the same command continues a stopped run).",
               ("calibration",), "calibration.* sets the run (method; abc population and generations or "
               "history_matching waves and design sizes; cohorts, free parameters).")


def main(argv: list[str] | None = None) -> None:
    """Entry point of `woundsim calibrate` and `python -m calibration`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return
    command, rest = argv[0], argv[1:]
    try:
        if command in COMMANDS and importlib.util.find_spec("pyabc") is None:
            raise InputError(f"`{command}` needs pyabc; install it with: pip install 'woundsim[calibration]'")
        if command == "run":
            _run_hydra(rest)
        elif command in ("check", "install"):
            _folder_command(command, rest)
        elif command == "resolution":
            from calibration.resolution import resolution_command

            resolution_command(rest)
        elif command in ("prior-predictive", "search", "confirm"):
            from calibration.feasibility_cli import confirm_command, prior_predictive_command, search_command

            _quiet_libraries()
            {"prior-predictive": prior_predictive_command, "search": search_command, "confirm": confirm_command}[command](rest)
        else:
            raise InputError(f"unknown command {command!r}; allowed {', '.join(COMMANDS)}")
    except InputError as exc:
        print(f"calibration: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _run_hydra(overrides: list[str]) -> None:
    run_hydra_app(_job, overrides, prog="woundsim calibrate run", config_name=APP_NAME,
                  schemas={APP_NAME: APP_CONFIG}, error_prefix="calibration", app_help=HELP)


def _job(cfg) -> None:
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    from calibration.pipeline import calibrate

    _quiet_libraries()
    config = OmegaConf.to_container(cfg.calibration, resolve=True)
    calibrate(config, Path(HydraConfig.get().runtime.output_dir), progress=_say)


FOLDER_COMMANDS = {
    "check": "Finish a calibration run's posterior predictive check (resumes it; writes its table and figure).",
    "install": "Install a finished calibration as model=calibrated: the posterior file, the point parameter set, "
               "the seed trial's regimen and the code record (docs/calibration.md, 'The named parameter set').",
}


def _folder_command(command: str, args: list[str]) -> None:
    parser = argparse.ArgumentParser(prog=f"woundsim calibrate {command}", description=FOLDER_COMMANDS[command])
    parser.add_argument("out_dir", metavar="OUT_DIR", help="a calibration output folder (outputs/calibration/<name>/)")
    if "-h" in args or "--help" in args:
        parser.parse_args(["--help"])  # prints the help and exits 0
    if len(args) != 1 or args[0].startswith("-"):
        raise InputError(f"usage: woundsim calibrate {command} OUT_DIR")
    folder = Path(args[0])
    if not (folder / "calibration.yaml").is_file():
        raise InputError(f"{folder} is not a calibration output folder (no calibration.yaml)")
    _quiet_libraries()
    if command == "check":
        from calibration.pipeline import resume_finish

        resume_finish(folder, progress=_say)
    else:
        from calibration.pipeline import install

        for path in install(folder):
            _say(f"wrote {path}")


def _quiet_libraries() -> None:
    logging.getLogger("MESA").setLevel(logging.WARNING)
    for name in ("ABC", "ABC.History", "ABC.Sampler", "ABC.Distance", "ABC.Epsilon", "ABC.Predictor"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _say(line: str) -> None:
    print(f"[calibration] {line}", flush=True)
