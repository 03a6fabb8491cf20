"""Cohort sweeps as a Hydra app: each sweep point simulates a cohort, every patient row goes to one store.

    woundsim sweep -m +experiment=product_dose_sites     # the shipped example study
    woundsim sweep gather outputs/studies/product_dose_sites [--rows ...] [--cols ...]

(`python -m experiments.sweep ...` is the same app.) The heatmaps are drawn by `woundsim.sweep_figures`.

The config is `woundsim run`'s (conf/config.yaml) plus a `study` node (StudyConf). A point's patients run
through `woundsim.sweep.run_cohort_scenario` on the configured `parallel` back end and land in
`<study.store_dir>` (default `<hydra.sweep.dir>/store`); starting the same command again after a kill skips
every patient already stored. The `GatherStudy` callback gathers the store into `<sweep dir>/study.parquet`
and draws `<sweep dir>/figures/closure_heatmaps.png` from that table when the multirun ends.
See docs/sweeps.md.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from woundsim.app import register_schema as register_app_schema
from woundsim.app import AppHelp, fail_after_run, run_hydra_app, unfinished_jobs
from woundsim.config import WoundsimConf, cohort_from, parallel_from, to_objects
from woundsim.errors import InputError, require
from woundsim.output import COMPLETE, remove_outputs
from woundsim.parallel import ParallelConfig
from woundsim.params import validate
from woundsim.store import ResultStore
from woundsim.sweep import CohortScenario, gather, point_summary, run_cohort_scenario
from woundsim.sweep_figures import plot_closure_heatmaps, plot_dose_response
from woundsim.treatment import Treatment
from woundsim.tables import read_parquet

FIGURE = Path("figures") / "closure_heatmaps.png"
DOSE_FIGURE = Path("figures") / "dose_response.png"
STUDY_OUTPUTS = ("study.parquet", "points.csv", FIGURE, DOSE_FIGURE)  # what a gather writes into a study folder
TOTAL_DOSE = "total_dose_ug_per_site"  # the column of a dose-response study's total dose per site (µg)
JOB_FINISHED = "cohort.parquet"  # written last by a sweep point's job, into its job folder
HELP = AppHelp("cohort studies: each point of a multirun (-m) simulates a cohort of patients into the study's "
               "resumable store; when the multirun ends the store is gathered into study.parquet, points.csv and "
               "heatmaps (`woundsim sweep gather DIR` does it by hand).",
               ("+experiment", "cohort", "treatment", "model", "grid", "parallel"),
               "study.* sets the study (name, n_patients, schedules, heatmap axes); the patients come from the "
               "cohort, so patient.* is not used.\nhydra/launcher=slurm sends the points to a cluster "
               "(conf/hydra/launcher/).")
_OWN_COLUMNS = ("model.numerics.dx_um", "model.numerics.horizon_weeks")  # recorded as dx_um, horizon_weeks


@dataclass
class StudyConf:
    """The `study` node of a cohort sweep (conf/experiment/*.yaml)."""

    name: str = "study"
    n_patients: int = 8  # patients per sweep point (the same patients at every point)
    schedule: str | None = None  # label of treatment.schedule_days (a key of `schedules`)
    schedules: dict[str, list[float]] = field(default_factory=dict)  # label -> injection days (d)
    store_dir: str | None = None  # default: <hydra.sweep.dir>/store (multirun) or <output dir>/store
    heatmap_rows: list[str] | None = None  # sweep axes along the figure's rows (default: first half)
    heatmap_cols: list[str] | None = None  # sweep axes along its columns (default: the rest)
    total_dose_ug_per_site: float | None = None  # µg per site over the whole schedule, split equally between its
    #                                              sessions (0: placebo); None: treatment.dose_ug_per_site per session
    figure: str = "heatmaps"  # heatmaps | dose_response (woundsim.sweep_figures)


@dataclass
class SweepConf(WoundsimConf):
    """`woundsim run`'s config plus the `study` node."""

    study: StudyConf = field(default_factory=StudyConf)


def main(argv: list[str] | None = None) -> None:
    """`woundsim sweep [gather] ...` (also `python -m experiments.sweep`)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "gather":
        gather_command(argv[1:])
        return
    run_hydra_app(_cohort_job, argv, prog="woundsim sweep", schemas={"woundsim_schema": SweepConf},
                  validate=point_scenario, app_help=HELP)


def register_schema() -> None:
    """Register this app's schema (`woundsim run`'s plus `study`) as "woundsim_schema" for conf/config.yaml."""
    register_app_schema("woundsim_schema", SweepConf)


def _cohort_job(cfg: DictConfig) -> dict:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    hc = HydraConfig.get()
    base = Path(hc.sweep.dir) if hc.mode == RunMode.MULTIRUN else Path(hc.runtime.output_dir)
    store_root = Path(cfg.study.store_dir) if cfg.study.store_dir else base / "store"
    start = time.perf_counter()
    table = run_point(cfg, store_root, overrides=list(hc.overrides.task))
    table.to_parquet(Path(hc.runtime.output_dir) / "cohort.parquet", index=False)
    stats = point_summary(table, axes=[]).to_dict("records")[0]
    print(f"[woundsim] {_point_label(table)}: {_stats_line(stats)} ({time.perf_counter() - start:.0f} s) -> {store_root}")
    return stats


def run_point(cfg: DictConfig, store_root: Path, *, overrides: list[str] = ()) -> pd.DataFrame:
    """Simulate one sweep point's cohort into the store at `store_root`; returns its rows.

    Args:
        cfg: composed SweepConf (a `cohort` must be chosen).
        store_root: folder of the study's ResultStore.
        overrides: the job's command-line overrides; swept model parameters ("model.*") become columns.
    """
    scenario, parallel = point_scenario(cfg, overrides=overrides)
    return run_cohort_scenario(scenario, ResultStore(store_root), parallel=parallel)


def point_scenario(cfg: DictConfig, *, overrides: list[str] = ()) -> tuple[CohortScenario, ParallelConfig]:
    """One sweep point's scenario and back end, every value checked (nothing is simulated): what `run_point`
    runs, and what a multirun checks for every point before it launches any.

    Raises:
        InputError: one line naming the first bad value.
    """
    schedules = OmegaConf.to_container(cfg.study.schedules, resolve=True)
    label = cfg.study.schedule
    require(label is None or label in schedules,
            f"study.schedule = {label!r} is not one of study.schedules ({', '.join(schedules) or 'none defined'})")
    require(cfg.get("cohort") is not None, "cohort is not set; choose one, e.g. cohort=seed_trial")
    require(cfg.study.figure in ("heatmaps", "dose_response"),
            f"study.figure = {cfg.study.figure!r} is not one of heatmaps, dose_response")
    params, _, treatment, run = to_objects(cfg)
    validate(params)
    labels = _model_labels(overrides)
    if cfg.study.total_dose_ug_per_site is not None:
        treatment = with_total_dose(treatment, float(cfg.study.total_dose_ug_per_site))
        labels[TOTAL_DOSE] = float(cfg.study.total_dose_ug_per_site)
    require(int(run.replicates) == 1, f"run.replicates = {run.replicates}: a cohort study's replicates are its "
                                      "patients; raise study.n_patients instead")
    scenario = CohortScenario(spec=cohort_from(cfg.cohort), n=int(cfg.study.n_patients), treatment=treatment,
                              params=params, seed=int(run.seed), schedule=label, labels=labels)
    return scenario, parallel_from(cfg.get("parallel"), default=ParallelConfig(progress=False))


def with_total_dose(treatment: Treatment, total_ug: float) -> Treatment:
    """The regimen giving `total_ug` per site over its sessions, in equal parts (0: placebo at the same sites,
    volume and days), so that schedules compare at equal total dose.

    Raises:
        InputError: a negative total, or a regimen without sessions.
    """
    require(total_ug >= 0.0, f"study.total_dose_ug_per_site = {total_ug:g} must be >= 0 (0: placebo)")
    require(treatment.injects, "study.total_dose_ug_per_site needs a treatment with injection sessions")
    if total_ug == 0.0:
        return Treatment(**{**treatment.to_dict(), "product": "placebo", "dose_ug_per_site": 0.0})
    return Treatment(**{**treatment.to_dict(), "dose_ug_per_site": total_ug / len(treatment.schedule_days)})


def _model_labels(overrides: list[str]) -> dict[str, Any]:
    """Model parameters set on the command line, as columns (resolution and horizon have their own)."""
    labels = {}
    for item in overrides:
        key, _, value = item.partition("=")
        key = key.lstrip("+~")
        if key.startswith("model.") and key not in _OWN_COLUMNS:
            try:
                labels[key] = float(value)
            except ValueError:
                labels[key] = value
    return labels


def _point_label(table: pd.DataFrame) -> str:
    r = table.iloc[0]
    return f"{r['product']} {r['dose_ug_per_site']:g} µg x {r['sites']} sites, schedule {r['schedule']}"


def _stats_line(s: dict) -> str:
    median = "not reached" if math.isinf(s["median_closure_days"]) else f"{s['median_closure_days']:.0f} d"
    return f"{s['n']} patients, median closure {median}, closed by week 12 {s['n_closed_week12']}/{s['n']}"


class GatherStudy(Callback):
    """Hydra callback: when a multirun ends, gather its store and draw the study's figure.

    A failed gather removes the study's previous tables and figure, says why in one line and makes the
    command exit non-zero (Hydra itself would only warn about an exception raised here).
    """

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        store = Path(config.study.store_dir) if config.study.store_dir else sweep_dir / "store"
        rows, cols = config.study.heatmap_rows, config.study.heatmap_cols
        status = gather_or_clear(store, sweep_dir, rows=list(rows) if rows else None,
                                 cols=list(cols) if cols else None, figure=config.study.figure)
        if status:
            fail_after_run(status)


def gather_or_clear(source: Path, out_dir: Path, *, rows: list[str] | None = None, cols: list[str] | None = None,
                    partial: bool = False, figure: str | None = None) -> int:
    """`gather_and_plot` after counting the multirun's jobs; on failure remove the previous study outputs.

    Returns:
        The exit status: 0, 2 for bad input (an unfinished job, two versions of a point in the store: one
        line on stderr), 1 for anything else (its traceback on stderr).
    """
    try:
        if not partial:
            check_jobs_finished(out_dir, JOB_FINISHED)
        gather_and_plot(source, out_dir, rows=rows, cols=cols, figure=figure)
        return 0
    except InputError as exc:
        status, message = 2, str(exc)
    except Exception:  # a bug: show it, and leave no table behind that looks current
        traceback.print_exc()
        status, message = 1, f"gathering {source} failed (traceback above)"
    removed = clear_study_outputs(out_dir)
    stale = f"; removed the previous {', '.join(removed)} (they showed other results)" if removed else ""
    print(f"woundsim: error: {message}{stale}", file=sys.stderr)
    return status


def clear_study_outputs(out_dir: Path) -> list[str]:
    """Delete the gathered table, the point summary and the heatmaps of a study folder; returns those removed."""
    return remove_outputs(out_dir, STUDY_OUTPUTS)


def check_jobs_finished(sweep_dir: Path, finished: str) -> None:
    """Refuse (InputError) a multirun folder with jobs that never ran or did not finish, naming them."""
    counted = unfinished_jobs(sweep_dir, finished)
    if counted is None:
        return
    total, unfinished = counted
    require(not unfinished,
            f"gather: {len(unfinished)} of {total} jobs of the multirun in {sweep_dir} did not finish: "
            f"{'; '.join(unfinished[:4])}{'; ...' if len(unfinished) > 4 else ''}; run the multirun command "
            "again to finish them (it resumes), or gather what is there with --partial")


def gather_and_plot(source: Path, out_dir: Path, *, rows: list[str] | None = None,
                    cols: list[str] | None = None, figure: str | None = None) -> tuple[Path, Path]:
    """Gather a study into `<out_dir>/study.parquet` and draw its figure from that file alone: "heatmaps", or
    "dose_response" (lines over the total dose per site); None: the dose-response lines when the table has a
    total dose per site, else the heatmaps."""
    table_path = out_dir / "study.parquet"
    gather(source, table_path)
    table = read_parquet(table_path)
    if figure == "dose_response" or (figure is None and TOTAL_DOSE in table.columns):
        figure = plot_dose_response(table, out_dir / DOSE_FIGURE, dose=TOTAL_DOSE)
    else:
        figure = plot_closure_heatmaps(table, out_dir / FIGURE, rows=rows, cols=cols)
    summary = point_summary(table)
    summary.to_csv(out_dir / "points.csv", index=False)
    print(summary.to_string(index=False))
    print(f"[woundsim] {len(table)} patient rows -> {table_path}\n[woundsim] figure -> {figure}")
    return table_path, figure


def gather_command(args: list[str]) -> None:
    """`woundsim sweep gather PATH [--out FILE] [--rows A B] [--cols C D]`."""
    parser = argparse.ArgumentParser(prog="woundsim sweep gather",
                                     description="Gather a sweep into one Parquet table (and a cohort study's figure).")
    parser.add_argument("path", type=Path, help="study folder (with store/), store folder, or woundsim run -m folder")
    parser.add_argument("--out", type=Path, help="Parquet file (multirun folders only; default PATH/runs.parquet)")
    parser.add_argument("--rows", nargs="+", help="sweep axes along the heatmaps' rows")
    parser.add_argument("--cols", nargs="+", help="sweep axes along the heatmaps' columns")
    parser.add_argument("--partial", action="store_true",
                        help="gather the finished jobs even if some of the multirun's jobs did not finish")
    ns = parser.parse_args(args)
    if (ns.path / "store" / "runs").is_dir() or (ns.path / "runs").is_dir():
        status = gather_or_clear(ns.path, ns.path, rows=ns.rows, cols=ns.cols, partial=ns.partial)
        if status:
            raise SystemExit(status)
        return
    try:
        if not ns.partial:
            check_jobs_finished(ns.path, COMPLETE)
        table = gather(ns.path, ns.out)
        print(f"[woundsim] {len(table)} runs -> {ns.out or ns.path / 'runs.parquet'}")
    except InputError as exc:
        print(f"woundsim: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
