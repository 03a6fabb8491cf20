"""Cohort sweeps as a Hydra app: each sweep point simulates a cohort, every patient row goes to one store.

    python -m experiments.sweep -m +experiment=product_dose_sites     # the shipped example study
    python -m experiments.sweep gather outputs/studies/product_dose_sites [--rows ...] [--cols ...]

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from woundsim.config import WoundsimConf, cohort_from, parallel_from, register_configs, to_objects
from woundsim.errors import InputError, require
from woundsim.parallel import ParallelConfig
from woundsim.store import ResultStore
from woundsim.sweep import CohortScenario, gather, point_summary, run_cohort_scenario, sweep_axes

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
FIGURE = Path("figures") / "closure_heatmaps.png"
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


@dataclass
class SweepConf(WoundsimConf):
    """`woundsim run`'s config plus the `study` node."""

    study: StudyConf = field(default_factory=StudyConf)


def main(argv: list[str] | None = None) -> None:
    """`python -m experiments.sweep [gather] ...`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "gather":
        gather_command(argv[1:])
        return
    import hydra

    register_schema()
    app = hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")(_cohort_job)
    sys.argv = ["experiments.sweep", *argv]
    app()


def register_schema() -> None:
    """Register this app's schema (`woundsim run`'s plus `study`) as "woundsim_schema" for conf/config.yaml."""
    from hydra.core.config_store import ConfigStore

    register_configs()
    ConfigStore.instance().store(name="woundsim_schema", node=SweepConf)


def _cohort_job(cfg: DictConfig) -> dict:
    import logging

    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    logging.getLogger("MESA").setLevel(logging.WARNING)
    hc = HydraConfig.get()
    base = Path(hc.sweep.dir) if hc.mode == RunMode.MULTIRUN else Path(hc.runtime.output_dir)
    store_root = Path(cfg.study.store_dir) if cfg.study.store_dir else base / "store"
    start = time.perf_counter()
    try:
        table = run_point(cfg, store_root, overrides=list(hc.overrides.task))
    except InputError as exc:
        print(f"woundsim: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
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
    schedules = OmegaConf.to_container(cfg.study.schedules, resolve=True)
    label = cfg.study.schedule
    require(label is None or label in schedules,
            f"study.schedule = {label!r} is not one of study.schedules ({', '.join(schedules) or 'none defined'})")
    require(cfg.get("cohort") is not None, "cohort is not set; choose one, e.g. cohort=seed_trial")
    params, _, treatment, run = to_objects(cfg)
    require(int(run.replicates) == 1, f"run.replicates = {run.replicates}: a cohort study's replicates are its "
                                      "patients; raise study.n_patients instead")
    scenario = CohortScenario(spec=cohort_from(cfg.cohort), n=int(cfg.study.n_patients), treatment=treatment,
                              params=params, seed=int(run.seed), schedule=label, labels=_model_labels(overrides))
    parallel = parallel_from(cfg.get("parallel"), default=ParallelConfig(progress=False))
    return run_cohort_scenario(scenario, ResultStore(store_root), parallel=parallel)


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
    """Hydra callback: when a multirun ends, gather its store and draw the study's figure."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        store = Path(config.study.store_dir) if config.study.store_dir else sweep_dir / "store"
        rows, cols = config.study.heatmap_rows, config.study.heatmap_cols
        gather_and_plot(store, sweep_dir, rows=list(rows) if rows else None, cols=list(cols) if cols else None)


def gather_and_plot(source: Path, out_dir: Path, *, rows: list[str] | None = None,
                    cols: list[str] | None = None) -> tuple[Path, Path]:
    """Gather a study into `<out_dir>/study.parquet` and draw its heatmaps from that file alone."""
    table_path = out_dir / "study.parquet"
    gather(source, table_path)
    table = pd.read_parquet(table_path)
    figure = plot_closure_heatmaps(table, out_dir / FIGURE, rows=rows, cols=cols)
    summary = point_summary(table)
    summary.to_csv(out_dir / "points.csv", index=False)
    print(summary.to_string(index=False))
    print(f"[woundsim] {len(table)} patient rows -> {table_path}\n[woundsim] figure -> {figure}")
    return table_path, figure


def gather_command(args: list[str]) -> None:
    """`python -m experiments.sweep gather PATH [--out FILE] [--rows A B] [--cols C D]`."""
    parser = argparse.ArgumentParser(prog="python -m experiments.sweep gather",
                                     description="Gather a sweep into one Parquet table (and a cohort study's figure).")
    parser.add_argument("path", type=Path, help="study folder (with store/), store folder, or woundsim run -m folder")
    parser.add_argument("--out", type=Path, help="Parquet file (multirun folders only; default PATH/runs.parquet)")
    parser.add_argument("--rows", nargs="+", help="sweep axes along the heatmaps' rows")
    parser.add_argument("--cols", nargs="+", help="sweep axes along the heatmaps' columns")
    ns = parser.parse_args(args)
    try:
        if (ns.path / "store" / "runs").is_dir() or (ns.path / "runs").is_dir():
            gather_and_plot(ns.path, ns.path, rows=ns.rows, cols=ns.cols)
        else:
            table = gather(ns.path, ns.out)
            print(f"[woundsim] {len(table)} runs -> {ns.out or ns.path / 'runs.parquet'}")
    except InputError as exc:
        print(f"woundsim: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def plot_closure_heatmaps(table: pd.DataFrame, path: Path, *, rows: list[str] | None = None,
                          cols: list[str] | None = None) -> Path:
    """Two heatmaps over the sweep axes, from a gathered study table alone: median time to confirmed closure
    (days; "NR" when fewer than half close) and the percentage closed by week 12.

    Args:
        table: gathered study table (one row per patient).
        path: PNG file to write.
        rows: axes along the rows; cols: axes along the columns (default: the first half of the swept
            axes on rows, the rest on columns). A swept axis on neither is added to the rows.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, cols = _split_axes(sweep_axes(table), rows, cols, table.columns)
    summary = point_summary(table, rows + cols)
    days = _grid(summary, rows, cols, "median_closure_days")
    rate = _grid(summary, rows, cols, "closure_rate_week12") * 100.0
    closed = _grid(summary.assign(k_of_n=summary["n_closed_week12"].astype(str) + "/" + summary["n"].astype(str)),
                   rows, cols, "k_of_n")
    width = 2 * (1.0 * days.shape[1] + 2.8)
    fig, panels = plt.subplots(1, 2, figsize=(width, 0.45 * days.shape[0] + 2.4), constrained_layout=True)
    horizon = float(table["horizon_weeks"].iloc[0]) * 7.0
    _heatmap(fig, panels[0], days, "median time to confirmed closure (days)", "viridis_r", (0.0, horizon),
             lambda v, i, j: "NR" if math.isinf(v) else f"{v:.0f}")
    _heatmap(fig, panels[1], rate, "closed by week 12 (colour: %, text: closed/n)", "viridis", (0.0, 100.0),
             lambda v, i, j: closed.iat[i, j])
    n = int(summary["n"].min())
    fig.suptitle(f"cohort {table['cohort'].iloc[0]}: {n} patients per cell, {table['dx_um'].iloc[0]:g} µm grid, "
                 f"{table['horizon_weeks'].iloc[0]:g}-week horizon (NR: fewer than half closed)", fontsize=10)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _split_axes(axes: list[str], rows: list[str] | None, cols: list[str] | None, columns) -> tuple[list, list]:
    """Rows and columns of the heatmaps; checks that they name columns; swept axes on neither join the rows."""
    for name in (rows or []) + (cols or []):
        require(name in columns, f"heatmap axis {name!r} is not a column of the study table")
    if rows is None and cols is None:
        half = math.ceil(len(axes) / 2)
        return axes[:half], axes[half:]
    rows = list(rows) if rows is not None else [a for a in axes if a not in cols]
    cols = list(cols) if cols is not None else [a for a in axes if a not in rows]
    return rows + [a for a in axes if a not in rows + cols], cols  # an axis on neither goes on rows


def _grid(summary: pd.DataFrame, rows: list[str], cols: list[str], value: str) -> pd.DataFrame:
    """`value` as a rows x columns table whose labels join the axes' values with " | "."""
    frame = summary.assign(_row=_labels(summary, rows), _col=_labels(summary, cols))
    grid = frame.pivot(index="_row", columns="_col", values=value)
    grid.index.name = " | ".join(rows)
    grid.columns.name = " | ".join(cols)
    return grid.loc[pd.unique(frame["_row"]), pd.unique(frame["_col"])]


def _labels(summary: pd.DataFrame, axes: list[str]) -> pd.Series:
    if not axes:
        return pd.Series("all", index=summary.index)
    return summary[axes].apply(lambda r: " | ".join(_fmt(r[a]) for a in axes), axis=1)


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _heatmap(fig, ax, grid: pd.DataFrame, title: str, cmap: str, limits: tuple[float, float], text) -> None:
    from matplotlib import colormaps
    from matplotlib.patheffects import withStroke

    values = grid.to_numpy(dtype=float)
    shown = np.where(np.isfinite(values), values, np.nan)  # NR (inf) and n/a (NaN) cells drawn grey
    colours = colormaps[cmap].with_extremes(bad="0.8")
    image = ax.imshow(shown, cmap=colours, vmin=limits[0], vmax=limits[1], aspect="auto")
    outline = [withStroke(linewidth=2.5, foreground="white")]
    for i, j in np.ndindex(values.shape):
        label = "n/a" if np.isnan(values[i, j]) else text(values[i, j], i, j)
        ax.text(j, i, label, ha="center", va="center", fontsize=8, path_effects=outline)
    ax.set_xticks(range(grid.shape[1]), grid.columns, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(grid.shape[0]), grid.index, fontsize=8)
    ax.set_xlabel(grid.columns.name, fontsize=9)
    ax.set_ylabel(grid.index.name, fontsize=9)
    ax.set_title(title, fontsize=10)
    fig.colorbar(image, ax=ax, shrink=0.8)

if __name__ == "__main__":
    main()
