"""`python -m calibration COMMAND`: run, check, install and the resolution check.

    python -m calibration run [calibration=tiny] [calibration.abc.population_size=30 ...]
    python -m calibration check OUT_DIR       # redo posterior export, predictive check, figures, report
    python -m calibration install OUT_DIR     # make it the named set: conf/model/calibrated.yaml + .parquet
    python -m calibration resolution [calibration=...] [--reference-dx 100] [--seeds 3]

`run` is a Hydra app composing the config group conf/calibration/ (default option `default`); its
output folder is outputs/calibration/<calibration.name>/, so re-running the same command continues
the ABC-SMC run from its database.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from woundsim.errors import InputError

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
APP_CONFIG = {
    "defaults": [{"calibration": "default"}, "_self_"],
    "hydra": {"run": {"dir": "outputs/calibration/${calibration.name}"},
              "sweep": {"dir": "outputs/calibration/multirun", "subdir": "${calibration.name}"},
              "job": {"chdir": False}},
}
USAGE = __doc__


def main(argv: list[str] | None = None) -> None:
    """Entry point of `python -m calibration`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return
    command, rest = argv[0], argv[1:]
    try:
        if command == "run":
            _run_hydra(rest)
        elif command in ("check", "install"):
            _folder_command(command, rest)
        elif command == "resolution":
            from calibration.resolution import resolution_command

            resolution_command(rest)
        else:
            raise InputError(f"unknown command {command!r}; allowed run, check, install, resolution")
    except InputError as exc:
        print(f"calibration: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def register_app() -> None:
    """Register the app's primary config (it only selects the calibration option) with Hydra."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name="calibration_app", node=APP_CONFIG)


def compose_config(overrides: list[str] | None = None) -> dict:
    """The composed `calibration` node as plain containers (Hydra compose API; for tests and scripts)."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    register_app()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="calibration_app", overrides=list(overrides or []))
    return OmegaConf.to_container(cfg.calibration, resolve=True)


def _run_hydra(overrides: list[str]) -> None:
    import hydra

    register_app()
    app = hydra.main(config_path=str(CONF_DIR), config_name="calibration_app", version_base="1.3")(_job)
    sys.argv = ["python -m calibration run", *overrides]
    app()


def _job(cfg) -> None:
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    from calibration.pipeline import calibrate

    _quiet_libraries()
    try:
        config = OmegaConf.to_container(cfg.calibration, resolve=True)
        calibrate(config, Path(HydraConfig.get().runtime.output_dir), progress=_say)
    except InputError as exc:
        print(f"calibration: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _folder_command(command: str, args: list[str]) -> None:
    if len(args) != 1 or args[0].startswith("-"):
        raise InputError(f"usage: python -m calibration {command} OUT_DIR")
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
