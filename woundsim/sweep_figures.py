"""Figures of a gathered cohort study (woundsim.sweep): closure heatmaps over the sweep axes.

Drawn from the gathered study table alone (`woundsim.sweep.gather`), so a figure can be redrawn from the
study folder without simulating (`woundsim sweep gather DIR --rows ... --cols ...`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from woundsim.errors import require
from woundsim.sweep import point_summary, sweep_axes
from woundsim.units import weeks_to_days


def plot_closure_heatmaps(table: pd.DataFrame, path: Path, *, rows: list[str] | None = None,
                          cols: list[str] | None = None) -> Path:
    """Two heatmaps over the sweep axes, from a gathered study table alone: the median day of closure (the
    first closure day of a closure confirmed two weeks later, `time_to_closure_days`; "NR" when fewer than
    half close) and the percentage closed by week 12.

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
    horizon = weeks_to_days(float(table["horizon_weeks"].iloc[0]))
    _heatmap(fig, panels[0], days, "median day of closure\n(first closure, confirmed 2 weeks later)",
             "viridis_r", (0.0, horizon),
             lambda v, i, j: "NR" if math.isinf(v) else f"{v:.0f}")
    _heatmap(fig, panels[1], rate, "closed by week 12 (colour: %, text: closed/n)", "viridis", (0.0, 100.0),
             lambda v, i, j: closed.iat[i, j])
    n = int(summary["n"].min())
    fig.suptitle(f"cohort {table['cohort'].iloc[0]}: {n} patients per cell, {table['dx_um'].iloc[0]:g} µm grid, "
                 f"{table['horizon_weeks'].iloc[0]:g}-week horizon (NR: fewer than half closed)", fontsize=10)
    return _save(fig, path)


def _save(fig, path: Path) -> Path:
    """Write a figure to `path` (its folder made if needed) and close it."""
    import matplotlib.pyplot as plt

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


ROUTES = {True: "intralesional (into the bed)", False: "perilesional (around the edge)"}  # distance_mm < 0, >= 0


def plot_dose_response(table: pd.DataFrame, path: Path, *, dose: str = "total_dose_ug_per_site") -> Path:
    """Dose-response of a gathered study (conf/experiment/dose_response.yaml): the mean day of closure and the share
    closed by week 12 against the total dose per site (log axis), one line per schedule and route; placebo (dose 0)
    is drawn at its own tick on the left. Read from the gathered table alone.

    Args:
        table: gathered study table with a `dose` column (µg per site over the whole course; 0 = placebo), and the
            scenario columns `schedule` and `distance_mm`.
        path: PNG file to write.
        dose: the column of the total dose per site.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    require(dose in table.columns, f"the study table has no column {dose!r}: run conf/experiment/dose_response.yaml")
    horizon = weeks_to_days(float(table["horizon_weeks"].iloc[0]))
    # restricted mean: a closure after the horizon's day, or none, counts as that day
    frame = table.assign(_day=table["time_to_closure_days"].astype(float).fillna(horizon).clip(upper=horizon),
                         _closed=table["closed_by_week12"].eq(True).astype(float),
                         _route=table["distance_mm"].lt(0).map(ROUTES))
    doses = np.sort(frame.loc[frame[dose] > 0, dose].unique())
    require(doses.size > 0, "the dose-response study has no dose above placebo")
    placebo_x = doses[0] / 4.0  # placebo's own tick, a quarter of the lowest dose
    fig, (left, right) = plt.subplots(1, 2, figsize=(11.5, 4.6), constrained_layout=True)
    for (schedule, route), group in frame.groupby(["schedule", "_route"], sort=True):
        means = group.groupby(dose)[["_day", "_closed"]].mean()
        x = np.where(means.index.to_numpy() > 0, means.index.to_numpy(), placebo_x)
        label = f"{schedule}, {route}"
        left.plot(x, means["_day"], marker="o", label=label)
        right.plot(x, 100.0 * means["_closed"], marker="o", label=label)
    n = int(frame.groupby(["schedule", "_route", dose]).size().min())
    for ax, title in ((left, f"mean day of closure (closed later or not at all: counted as day {horizon:g})"),
                      (right, "closed by week 12 (%)")):
        ax.set_xscale("log")
        ax.set_xticks([placebo_x, *doses], ["placebo", *(f"{d:g}" for d in doses)], fontsize=8)
        ax.minorticks_off()
        ax.set_xlabel("total dose per injection site over the course (µg; weekly x4 gives a quarter each week)",
                      fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
    left.set_ylim(0.0, horizon * 1.05)
    right.set_ylim(-3.0, 103.0)
    right.legend(fontsize=8, loc="upper left")
    fig.suptitle(f"Dose-response, cohort {table['cohort'].iloc[0]}: {n} patient(s) per point (the same patients at "
                 f"every point), {table['dx_um'].iloc[0]:g} µm grid; closure confirmed 2 weeks later", fontsize=10)
    return _save(fig, path)
