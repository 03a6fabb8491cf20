"""The one Hydra bootstrap of every woundsim application (`woundsim run`, sweeps, sensitivity, trial, calibration).

Each application hands a plain job function and its schema to `run_hydra_app`; the bootstrap registers the
schemas, composes the config from conf/ with the command-line overrides (Hydra parses them, including
`--help`, `--cfg job` and `-m`), quiets Mesa's per-step log, and turns an `InputError` into a one-line
message and exit status 2. It lives in the library, not in `experiments/`, because `woundsim run` needs it
and the library never imports its applications; only entry points call it (Hydra stays at the edge).
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from woundsim.config import CONF_DIR, register_configs
from woundsim.errors import InputError


def register_schema(name: str, node: Any) -> None:
    """Register `node` (a dataclass or a dict) in Hydra's ConfigStore under `name`, after woundsim's own."""
    from hydra.core.config_store import ConfigStore

    register_configs()
    ConfigStore.instance().store(name=name, node=node)


def run_hydra_app(job: Callable[[Any], Any], argv: Sequence[str], *, prog: str, config_name: str = "config",
                  schemas: dict[str, Any] | None = None, error_prefix: str = "woundsim") -> None:
    """Run `job(cfg)` as a Hydra app composing `config_name` from conf/ with `argv` as overrides.

    Args:
        job: the task; receives the composed config, returns what a multirun collects.
        argv: command-line arguments after the command (overrides and Hydra flags).
        prog: program name Hydra shows in `--help`.
        config_name: primary config, relative to conf/ (e.g. "config", "trial/default").
        schemas: ConfigStore name -> schema node, registered before composing.
        error_prefix: prefix of the one-line error message of an `InputError`.
    """
    import hydra

    if not CONF_DIR.is_dir():
        raise SystemExit(f"{error_prefix}: error: config folder {CONF_DIR} not found (install woundsim from its checkout)")
    register_configs()
    for name, node in (schemas or {}).items():
        register_schema(name, node)

    @functools.wraps(job)  # Hydra names the job after the task's module, as before the shared bootstrap
    def task(cfg):
        logging.getLogger("MESA").setLevel(logging.WARNING)  # Mesa logs every step at INFO
        try:
            return job(cfg)
        except InputError as exc:
            print(f"{error_prefix}: error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None

    app = hydra.main(config_path=str(CONF_DIR), config_name=config_name, version_base="1.3")(task)
    saved, sys.argv = sys.argv, [prog, *argv]
    try:
        app()
    finally:
        sys.argv = saved
