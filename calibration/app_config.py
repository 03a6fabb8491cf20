"""The calibration application's config: its primary config node and the compose helper for tests and scripts.

Kept apart from `calibration.cli` so that modules the CLI dispatches to (`calibration.resolution`) can compose
the config without importing the CLI back (no import circle).
"""

from __future__ import annotations

from woundsim.config import CONF_DIR

APP_NAME = "calibration_app"  # ConfigStore name of the primary config
APP_CONFIG = {
    "defaults": [{"calibration": "default"}, "_self_"],
    "hydra": {"run": {"dir": "outputs/calibration/${calibration.name}"},
              "sweep": {"dir": "outputs/calibration/multirun", "subdir": "${calibration.name}"},
              "job": {"chdir": False}},
}


def register_app() -> None:
    """Register the app's primary config (it only selects the calibration option) with Hydra."""
    from woundsim.app import register_schema

    register_schema(APP_NAME, APP_CONFIG)


def compose_config(overrides: list[str] | None = None) -> dict:
    """The composed `calibration` node as plain containers (Hydra compose API; for tests and scripts)."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    register_app()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name=APP_NAME, overrides=list(overrides or []))
    return OmegaConf.to_container(cfg.calibration, resolve=True)
