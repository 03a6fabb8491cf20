"""The one Hydra bootstrap of every woundsim application (`woundsim run`, sweeps, sensitivity, trial, calibration).

Each application hands a plain job function and its schema to `run_hydra_app`; the bootstrap registers the
schemas, composes the config from conf/ with the command-line overrides (Hydra parses them, including
`--help`, `--cfg job` and `-m`), quiets Mesa's per-step log, and turns bad input into a one-line message and
exit status 2: an `InputError`, an output folder that cannot be written or runs out of space, and Hydra's own
errors (an override or config Hydra refuses keeps Hydra's text). A multirun validates every job's config
(the app's `validate`) before it launches any (`AppChecks`, a Hydra callback). A callback that fails after
the jobs (a study's gather) makes the command exit non-zero through `fail_after_run` (Hydra only warns).
It lives in the library, not in `experiments/`, because `woundsim run` needs it and the library never imports
its applications; only entry points call it (Hydra stays at the edge).
"""

from __future__ import annotations

import errno
import functools
import logging
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

from woundsim.config import CONF_DIR, register_configs
from woundsim.errors import InputError

INPUT_ERROR_STATUS = 2  # bad input (woundsim's and Hydra's own errors alike); argparse uses 2 too
CHECKS_OVERRIDE = "+hydra.callbacks.woundsim_checks._target_=woundsim.app.AppChecks"
LOGGING_OVERRIDE = "hydra/job_logging=stdout"  # log records to the console only, no <job>.log file
_WRITE_ERRNOS = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "disk quota exceeded",
                 errno.EROFS: "read-only file system", errno.EACCES: "permission denied", errno.EPERM: "not permitted"}
# the application being run: its config validator, message prefix, and the exit status a callback asked for
_app: dict[str, Any] = {"validate": None, "prefix": "woundsim", "status": 0}


def register_schema(name: str, node: Any) -> None:
    """Register `node` (a dataclass or a dict) in Hydra's ConfigStore under `name`, after woundsim's own."""
    from hydra.core.config_store import ConfigStore

    register_configs()
    ConfigStore.instance().store(name=name, node=node)


@dataclass
class AppHelp:
    """What `--help` says about an application: a description and the config groups it reads.

    Attributes:
        description: one or two sentences on what the application does.
        groups: config groups under conf/ that the application reads, in the order shown; "+name" for a
            group added with `+name=OPTION` (e.g. "+experiment").
        notes: lines printed after the groups (how the other options are set).
    """

    description: str
    groups: tuple[str, ...]
    notes: str = ""

    def template(self, prog: str) -> str:
        """Hydra's help template (its `$CONFIG` is the composed config)."""
        lines = []
        for group in self.groups:
            name = group.lstrip("+")
            options = ", ".join(sorted(p.stem for p in (CONF_DIR / name).glob("*.yaml")))
            lines.append(f"{name}: {options}" + (f"   (add one with +{name}=OPTION)" if group.startswith("+") else ""))
        notes = f"\n{self.notes}\n" if self.notes else ""
        text = (f"{prog}: {self.description}\n\n== Configuration groups ==\nChoose an option of a group with "
                f"group=option:\n\n" + "\n".join(lines) + f"\n{notes}\n== Config ==\nOverride anything in the config "
                "(foo.bar=value):\n\n$CONFIG\nPowered by Hydra (https://hydra.cc); --hydra-help shows Hydra's own "
                "options (launchers, sweepers, logging).\n")
        return text.replace("${", "$${")  # no OmegaConf interpolation in the text


def register_help(prog: str, app_help: AppHelp) -> str:
    """Register `app_help` as an option of Hydra's hydra/help group; returns the override that selects it."""
    from hydra.core.config_store import ConfigStore

    name = "woundsim_" + prog.replace("woundsim ", "").replace(" ", "_")
    ConfigStore.instance().store(group="hydra/help", name=name,
                                 node={"app_name": prog, "header": "", "footer": "", "template": app_help.template(prog)})
    return f"hydra/help={name}"


def run_hydra_app(job: Callable[[Any], Any], argv: Sequence[str], *, prog: str, config_name: str = "config",
                  schemas: dict[str, Any] | None = None, error_prefix: str = "woundsim",
                  validate: Callable[[Any], Any] | None = None, app_help: AppHelp | None = None) -> None:
    """Run `job(cfg)` as a Hydra app composing `config_name` from conf/ with `argv` as overrides.

    Args:
        job: the task; receives the composed config, returns what a multirun collects.
        argv: command-line arguments after the command (overrides and Hydra flags).
        prog: program name Hydra shows in `--help`.
        config_name: primary config, relative to conf/ (e.g. "config", "trial/default").
        schemas: ConfigStore name -> schema node, registered before composing.
        error_prefix: prefix of the one-line error message of an `InputError`.
        validate: checks one job's composed config (raises `InputError`) without running it; a multirun
            calls it on every job before launching any.
        app_help: what `--help` says (default: Hydra's text, listing every group under conf/).

    Raises:
        SystemExit: 2 on bad input (one line on stderr), 1 when a job failed otherwise (Hydra prints the
            traceback), or the status a callback set with `fail_after_run`.
    """
    import hydra

    if not CONF_DIR.is_dir():
        raise SystemExit(f"{error_prefix}: error: config folder {CONF_DIR} not found (install woundsim from its checkout)")
    register_configs()
    for name, node in (schemas or {}).items():
        register_schema(name, node)

    job_failed = []  # the job raised something that is no bad input (a bug): Hydra prints it and exits 1

    @functools.wraps(job)  # Hydra names the job after the task's module, as before the shared bootstrap
    def task(cfg):
        logging.getLogger("MESA").setLevel(logging.WARNING)  # Mesa logs every step at INFO
        try:
            return job(cfg)
        except InputError as exc:
            stop(str(exc))
        except OSError as exc:
            line = write_error_line(exc, _output_dir())
            if line is None:
                job_failed.append(exc)
                raise
            stop(line)
        except Exception as exc:
            job_failed.append(exc)
            raise

    app = hydra.main(config_path=str(CONF_DIR), config_name=config_name, version_base="1.3")(task)
    extra = [CHECKS_OVERRIDE]
    if not any(a.startswith(("hydra/job_logging=", "override hydra/job_logging")) for a in argv):
        extra.append(LOGGING_OVERRIDE)  # the job log file stayed empty: woundsim prints, it does not log
    if app_help is not None and not any(a.startswith("hydra/help=") for a in argv):
        extra.append(register_help(prog, app_help))
    saved, sys.argv = sys.argv, [prog, *argv_with_overrides(argv, extra)]
    _app.update(validate=validate, prefix=error_prefix, status=0)
    try:
        app()
    except SystemExit as exc:
        if exc.code == 1 and not job_failed:  # Hydra's own error (an override, a config): bad input
            raise SystemExit(INPUT_ERROR_STATUS) from None
        raise
    finally:
        sys.argv = saved
    if _app["status"]:
        raise SystemExit(_app["status"])


def argv_with_overrides(argv: Sequence[str], extra: list[str]) -> list[str]:
    """`argv` with the overrides `extra` added, every override in one run of positional arguments after the
    flags (argparse, hence Hydra, takes only one: `a=1 --cfg job b=2` is refused, `--cfg job a=1 b=2` is not)."""
    from hydra._internal.utils import get_args_parser

    parser = get_args_parser()

    def refuse(message: str):
        raise ValueError(message)

    parser.error = refuse  # a bad flag: leave argv as it is, for Hydra to report
    try:
        overrides = list(parser.parse_known_args(list(argv))[0].overrides)
    except ValueError:
        return [*argv, *extra]
    flags = list(argv)
    for item in overrides:
        flags.remove(item)
    return [*flags, *extra, *overrides]


def stop(message: str) -> None:
    """Print `<prefix>: error: <message>` on stderr and exit with status 2 (bad input)."""
    print(f"{_app['prefix']}: error: {message}", file=sys.stderr)
    raise SystemExit(INPUT_ERROR_STATUS)


def fail_after_run(status: int) -> None:
    """Make the running command exit with `status` once Hydra returns (for callbacks: Hydra turns an
    exception raised in a callback into a warning and carries on)."""
    _app["status"] = max(_app["status"], int(status))


def write_error_line(exc: OSError, folder: str | None = None) -> str | None:
    """One line for an output that cannot be written (read-only, no permission, disk full), else None.

    Args:
        exc: the error.
        folder: the job's output folder, named when the error does not name a file.
    """
    reason = _WRITE_ERRNOS.get(exc.errno)
    if reason is None:
        return None
    where = f" writing {exc.filename}" if exc.filename else (f" writing into {folder}" if folder else "")
    hint = ("free space on that disk or choose another output folder" if exc.errno in (errno.ENOSPC, errno.EDQUOT)
            else "choose a writable output folder")
    return f"{reason}{where}; {hint} (hydra.run.dir=DIR, or hydra.sweep.dir=DIR with -m)"


def _output_dir() -> str | None:
    from hydra.core.hydra_config import HydraConfig

    try:
        return str(HydraConfig.get().runtime.output_dir)
    except ValueError:  # no Hydra job is running
        return None


def check_output_folder(folder: str | Path, key: str) -> None:
    """Create `folder` and write a file in it, stopping with one line (naming `key`) if that fails."""
    try:
        path = Path(folder)
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-") as probe:
            probe.write(b"\0" * 65536)  # room for Hydra's .hydra/ files at least
            probe.flush()
    except OSError as exc:
        stop(f"output folder {folder} cannot be written ({exc.strerror or exc}); choose another with {key}=DIR")


class AppChecks(Callback):
    """Checks before Hydra starts a job: the output folder can be written; in a multirun, every job's
    config passes the application's `validate` (one line per bad job, and no job is launched).

    Added to every application by `run_hydra_app` (the `CHECKS_OVERRIDE` Hydra override). A check stops the
    command with SystemExit, the one exception Hydra's callback runner lets through.
    """

    def on_run_start(self, config, **kwargs: Any) -> None:
        check_output_folder(config.hydra.run.dir, "hydra.run.dir")

    def on_multirun_start(self, config, **kwargs: Any) -> None:
        check_output_folder(config.hydra.sweep.dir, "hydra.sweep.dir")
        if _app["validate"] is not None:
            validate_jobs(config, _app["validate"])


@dataclass
class SweepJob:
    """One job of a multirun: its overrides, and a label of the swept values among them."""

    overrides: list[str]
    label: str


def sweep_jobs(config, loader=None) -> list[SweepJob] | None:
    """The jobs of a basic-sweeper multirun config, in job-number order, as Hydra's BasicSweeper makes them
    (its `hydra.sweeper.params`, then the command-line overrides); None for another sweeper.

    Args:
        config: the multirun's config (with its hydra node), e.g. a sweep folder's multirun.yaml.
        loader: Hydra's config loader (needed only for sweeps over config-group options with glob()).
    """
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf

    if not str(OmegaConf.select(config, "hydra.sweeper._target_") or "").endswith("BasicSweeper"):
        return None
    params = OmegaConf.select(config, "hydra.sweeper.params") or {}
    arguments = [f"{k}={v}" for k, v in params.items()] + list(OmegaConf.select(config, "hydra.overrides.task") or [])
    overrides = OverridesParser.create(config_loader=loader).parse_overrides(arguments)
    values: dict[str, int] = {}  # key -> number of values (the last override of a key wins, as in the sweeper)
    for o in overrides:
        values[o.get_key_element()] = len(list(o.sweep_string_iterator())) if o.is_discrete_sweep() else 1
    swept = {key for key, n in values.items() if n > 1}
    jobs = [job for batch in BasicSweeper.split_arguments(overrides, None) for job in batch]
    return [SweepJob(list(job), " ".join(o for o in job if o.partition("=")[0] in swept) or "no swept value")
            for job in jobs]


def unfinished_jobs(sweep_dir: str | Path, finished: str) -> tuple[int, list[str]] | None:
    """Count the jobs of the last multirun into `sweep_dir` (its multirun.yaml) and name those whose folder
    `<sweep_dir>/<job number>` lacks the file `finished`: (number of jobs, one phrase per unfinished job).

    None when the folder has no multirun.yaml, another sweeper made it, or its job folders are not named by
    job number (`hydra.sweep.subdir`): then the jobs cannot be counted.
    """
    from omegaconf import OmegaConf

    sweep_dir = Path(sweep_dir)
    if not (sweep_dir / "multirun.yaml").is_file():
        return None
    config = OmegaConf.load(sweep_dir / "multirun.yaml")
    jobs = sweep_jobs(config)
    subdir = OmegaConf.to_container(config.hydra.sweep, resolve=False).get("subdir")
    if jobs is None or subdir != "${hydra.job.num}":
        return None
    unfinished = []
    for number, job in enumerate(jobs):
        folder = sweep_dir / str(number)
        if not (folder / finished).exists():
            state = "failed or was interrupted" if folder.is_dir() else "never ran"
            unfinished.append(f"job {number} ({job.label}) {state}")
    return len(jobs), unfinished


def validate_jobs(config, validate: Callable[[Any], Any]) -> None:
    """Compose every job of a basic-sweeper multirun as Hydra will and run `validate` on each task config.

    Other sweepers (e.g. Optuna) choose their points as they go; their jobs are checked as they start.
    """
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import open_dict, read_write

    loader = GlobalHydra.instance().config_loader()
    jobs = sweep_jobs(config, loader)
    if jobs is None:
        return
    bad: dict[str, list[int]] = {}  # message -> the jobs that get it
    for number, job in enumerate(jobs):
        cfg = loader.load_sweep_config(config, list(job.overrides))
        with read_write(cfg), open_dict(cfg):
            del cfg["hydra"]
        try:
            validate(cfg)
        except InputError as exc:
            bad.setdefault(str(exc), []).append(number)
    for message, numbers in bad.items():
        where = (f"job {numbers[0]} ({jobs[numbers[0]].label})" if len(numbers) == 1 else
                 f"jobs {', '.join(map(str, numbers[:6]))}{', ...' if len(numbers) > 6 else ''} ({len(numbers)} jobs)")
        print(f"{_app['prefix']}: error: {where}: {message}", file=sys.stderr)
    if bad:
        count = sum(len(numbers) for numbers in bad.values())
        stop(f"{count} of {len(jobs)} jobs of the multirun have bad input (above); none was launched")
