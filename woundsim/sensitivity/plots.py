"""Figures of a study folder, drawn from its tables alone (`indices`, `convergence`, `noise`, `study.json`).

- Morris: mu* against sigma per output, with mu*'s bootstrap interval, the noise floor of mu*, and the lines
  sigma/mu* = 0.1, 0.5, 1 (near-linear, monotonic, non-linear or interacting; Garcia Sanchez et al. 2014).
- Sobol: S1 and ST bars with their intervals per output, and the output's noise share.
- Convergence: the ranking index (mu*, or S1 and ST) of the top parameters against the sample size.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
from woundsim.tables import read_parquet


TOP = 12  # parameters shown per Sobol panel
LABELLED = 6  # parameters labelled per Morris panel
TRACED = 5  # parameters traced per convergence panel


def plot_study(folder: Path | str) -> list[Path]:
    """Draw the study's figures into `<folder>/figures` and return their paths."""
    import matplotlib

    matplotlib.use("Agg")
    folder = Path(folder)
    method = json.loads((folder / "study.json").read_text(encoding="utf-8"))["spec"]["method"]
    indices = read_parquet(folder / "indices.parquet")
    conv = read_parquet(folder / "convergence.parquet")
    (folder / "figures").mkdir(exist_ok=True)
    if indices.empty:
        return []
    first = _morris_figure(indices, folder / "figures" / "morris_mu_star_sigma.png") if method == "morris" else \
        _sobol_figure(indices, folder / "figures" / "sobol_indices.png")
    return [first, _convergence_figure(conv, indices, method, folder / "figures" / "convergence.png")]


def _panels(n: int, width: float, height: float):
    import matplotlib.pyplot as plt

    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False, constrained_layout=True)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _morris_figure(indices: pd.DataFrame, path: Path) -> Path:
    outputs = list(dict.fromkeys(indices["output"]))
    fig, axes = _panels(len(outputs), 5.0, 4.2)
    for ax, output in zip(axes, outputs):
        part = indices[indices["output"] == output]
        wide = part.pivot(index="parameter", columns="index", values="value")
        star = part[part["index"] == "mu_star"].set_index("parameter")
        wide = wide.loc[star.index]
        ax.errorbar(wide["mu_star"], wide["sigma"], xerr=star["conf"], fmt="o", ms=4, lw=0.8, alpha=0.8)
        top = float(max((star["value"] + star["conf"]).max(), wide["sigma"].max(), 1e-12)) * 1.05
        for ratio in (0.1, 0.5, 1.0):
            ax.plot([0, top], [0, ratio * top], ls=":", lw=0.8, color="0.5")
            ax.annotate(f"σ/μ*={ratio:g}", (top, min(ratio * top, top)), fontsize=7, color="0.4", ha="right")
        floor = float(np.nanmedian(star["noise"])) if star["noise"].notna().any() else math.nan
        if np.isfinite(floor):
            ax.axvline(floor, color="tab:red", ls="--", lw=0.9, label="noise floor of μ*")
            ax.legend(fontsize=7, loc="upper left")
        for name in star.sort_values("value", ascending=False).index[:LABELLED]:
            ax.annotate(name, (wide.loc[name, "mu_star"], wide.loc[name, "sigma"]), fontsize=7,
                        xytext=(3, 3), textcoords="offset points")
        ax.set_xlim(0, top)
        ax.set_ylim(0, top)
        ax.set_xlabel("μ* (output units per fraction of range)")
        ax.set_ylabel("σ")
        ax.set_title(output, fontsize=10)
    return _save(fig, path)


def _sobol_figure(indices: pd.DataFrame, path: Path) -> Path:
    outputs = list(dict.fromkeys(indices["output"]))
    fig, axes = _panels(len(outputs), 5.2, 4.5)
    for ax, output in zip(axes, outputs):
        part = indices[indices["output"] == output]
        st = part[part["index"] == "ST"].sort_values("value", ascending=False).head(TOP)
        s1 = part[part["index"] == "S1"].set_index("parameter").loc[st["parameter"]]
        y = np.arange(len(st))[::-1]
        ax.barh(y + 0.2, st["value"], height=0.4, xerr=st["conf"], label="ST", color="tab:blue", capsize=2)
        ax.barh(y - 0.2, s1["value"], height=0.4, xerr=s1["conf"], label="S1", color="tab:orange", capsize=2)
        noise = float(st["noise"].iloc[0]) if len(st) else math.nan
        if np.isfinite(noise):
            ax.axvline(noise, color="tab:red", ls="--", lw=0.9, label="noise share")
        ax.axvline(0, color="0.3", lw=0.6)
        ax.set_yticks(y, st["parameter"], fontsize=7)
        ax.set_xlabel("Sobol index")
        ax.set_title(output, fontsize=10)
        ax.legend(fontsize=7, loc="lower right")
    return _save(fig, path)


def _convergence_figure(conv: pd.DataFrame, indices: pd.DataFrame, method: str, path: Path) -> Path:
    rank_by = "mu_star" if method == "morris" else "ST"
    outputs = list(dict.fromkeys(indices["output"]))
    fig, axes = _panels(len(outputs), 5.0, 3.8)
    for ax, output in zip(axes, outputs):
        final = indices[(indices["output"] == output) & (indices["index"] == rank_by)]
        top = final.sort_values("value", ascending=False)["parameter"].head(TRACED)
        for i, name in enumerate(top):
            colour = f"C{i}"
            for index, style in ((rank_by, "-"), ("S1", "--")) if method == "sobol" else ((rank_by, "-"),):
                line = conv[(conv["output"] == output) & (conv["parameter"] == name) & (conv["index"] == index)]
                line = line.sort_values("size")
                ax.plot(line["size"], line["value"], style, color=colour, marker="o", ms=3,
                        label=name if index == rank_by else None)
                ax.fill_between(line["size"], line["ci_low"], line["ci_high"], color=colour, alpha=0.12)
        ax.set_xlabel("trajectories r" if method == "morris" else "base sample N (log scale)")
        if method == "sobol":
            ax.set_xscale("log", base=2)
        ax.set_ylabel("μ*" if method == "morris" else "ST (solid), S1 (dashed)")
        ax.set_title(output, fontsize=10)
        ax.legend(fontsize=6, loc="best")
    return _save(fig, path)
