"""Figures of a calibration, drawn from its output folder (and nothing else).

Reads `posterior.parquet` (particles, weights, parameter specifications in its metadata),
`predictive_draws.parquet`, `predictive_table.csv`, `predictive_check.csv` and `generations.csv`; writes `figures/`.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from woundsim.posterior import posterior_metadata  # noqa: E402
from woundsim.tables import read_parquet  # noqa: E402
from calibration.priors import FreeParameter  # noqa: E402


def plot_calibration(out_dir: Path) -> list[Path]:
    """Draw every figure of a calibration folder into `out_dir/figures/`; returns the files written."""
    out_dir = Path(out_dir)
    figures = out_dir / "figures"
    figures.mkdir(exist_ok=True)
    posterior = read_parquet(out_dir / "posterior.parquet")
    parameters = [FreeParameter(**p) for p in posterior_metadata(out_dir / "posterior.parquet")["parameters"]]
    files = [marginals(posterior, parameters, figures / "posterior_marginals.png"),
             pairs(posterior, parameters, figures / "posterior_pairs.png")]
    if (out_dir / "predictive_draws.parquet").is_file():
        files.append(predictive(read_parquet(out_dir / "predictive_draws.parquet"),
                                pd.read_csv(out_dir / "predictive_table.csv"), figures / "posterior_predictive.png"))
    if (out_dir / "predictive_check.csv").is_file():
        files.append(predictive_check(pd.read_csv(out_dir / "predictive_check.csv"), figures / "predictive_check.png"))
    if (out_dir / "generations.csv").is_file():
        files.append(epsilons(pd.read_csv(out_dir / "generations.csv"), figures / "generations.png"))
    return files


def predictive_check(table: pd.DataFrame, path: Path) -> Path:
    """The predictive check at the observed studies' sizes, one row per clinical figure: the clinic's value and 95%
    interval (red) against the replicated studies' median and central 90% (black), with the verdict."""
    from calibration.feasibility_report import clinical_label

    colours = {"pass": "tab:green", "FAIL": "tab:red", "undecided": "tab:orange"}
    fig, axes = plt.subplots(len(table), 1, figsize=(7.0, 1.4 + 0.9 * len(table)), squeeze=False)
    for ax, row in zip(axes[:, 0], table.itertuples(index=False)):
        title, percent = clinical_label(row.target)
        scale, unit = (100.0, "%") if percent else (1.0, "days" if "days" in row.target else "")
        ax.axvspan(row.low * scale, row.high * scale, color="tab:red", alpha=0.15)
        ax.plot([row.observed * scale], [0.3], "o", color="tab:red", label="clinic (95% interval)")
        if math.isfinite(row.median):
            ax.plot([row.p05 * scale, row.p95 * scale], [-0.3, -0.3], color="black", lw=2.5,
                    label="model: replicated studies, central 90%")
            ax.plot([row.median * scale], [-0.3], "o", color="black", label="model: median")
        ax.set_ylim(-1, 1)
        ax.set_yticks([])
        ax.set_title(f"{title} (study of {row.study_n}): {row.verdict}", fontsize=8, loc="left",
                     color=colours.get(row.verdict, "black"))
        ax.set_xlabel(unit, fontsize=7)
        ax.tick_params(labelsize=7)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.suptitle("Does the calibrated model reproduce each clinical figure at its study's size?", fontsize=9)
    fig.legend(handles, labels, fontsize=7, loc="upper center", ncol=3, bbox_to_anchor=(0.5, 0.965), frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _label(p: FreeParameter) -> str:
    name = p.target.split(".", 1)[1]
    return f"log10 {name}" if p.log else name


def _grid(n: int) -> tuple[int, int]:
    cols = min(n, 3)
    return math.ceil(n / cols), cols


def marginals(posterior: pd.DataFrame, parameters: list[FreeParameter], path: Path) -> Path:
    """Weighted histogram of each parameter (ABC space) over its prior density."""
    rows, cols = _grid(len(parameters))
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.8 * rows), squeeze=False)
    w = posterior["weight"].to_numpy(dtype=float)
    for ax, p in zip(axes.flat, parameters):
        dist = p.distribution()
        lo, hi = dist.ppf(0.001), dist.ppf(0.999)
        grid = np.linspace(lo, hi, 200)
        ax.hist(posterior[f"abc.{p.key}"], bins=15, range=(lo, hi), weights=w, density=True, color="tab:blue",
                alpha=0.6, label="posterior")
        ax.plot(grid, dist.pdf(grid), color="black", lw=1, ls="--", label="prior")
        ax.set_xlabel(_label(p), fontsize=8)
        ax.set_yticks([])
    for ax in list(axes.flat)[len(parameters):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle("Posterior marginals (final generation) against priors")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


PAIRS_MAX_INCHES = 24.0  # side of the pairs figure (2,640 px at 110 dpi)


def pairs(posterior: pd.DataFrame, parameters: list[FreeParameter], path: Path) -> Path:
    """Pairwise scatter of the particles (point area proportional to weight), ABC space."""
    n = len(parameters)
    side = min(1.9 * n + 1, PAIRS_MAX_INCHES)  # 25 quantities at 1.9 inches a panel made an 18 MB figure
    fig, axes = plt.subplots(n, n, figsize=(side, side), squeeze=False)
    w = posterior["weight"].to_numpy(dtype=float)
    panel = side / (n + 0.5)
    # the marker area shrinks with the panel and, beyond 300 particles, with their number (2,000 SMC particles
    # at the ABC-SMC size were one blot)
    size = 200 * w / w.max() * min(1.0, (panel / 1.9) ** 2) * min(1.0, 300 / len(w))
    for i, pi in enumerate(parameters):
        for j, pj in enumerate(parameters):
            ax = axes[i, j]
            ax.tick_params(labelsize=6)
            if j > i:
                ax.axis("off")
                continue
            xi, xj = posterior[f"abc.{pi.key}"], posterior[f"abc.{pj.key}"]
            if i == j:
                ax.hist(xi, bins=12, weights=w, color="tab:blue", alpha=0.6)
            else:
                ax.scatter(xj, xi, s=size, alpha=0.5, color="tab:blue", edgecolors="none")
                ax.set_xlim(pj.distribution().ppf(0.001), pj.distribution().ppf(0.999))
                ax.set_ylim(pi.distribution().ppf(0.001), pi.distribution().ppf(0.999))
            if i == n - 1:
                ax.set_xlabel(pj.key, fontsize=7)
            if j == 0:
                ax.set_ylabel(pi.key, fontsize=7)
    fig.suptitle("Pairwise posterior (ABC space: log10 for scale parameters; axes span the prior)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def predictive(draws: pd.DataFrame, table: pd.DataFrame, path: Path) -> Path:
    """Each target: simulated values over posterior draws (points, box) against the observed value and interval."""
    rows, cols = _grid(len(table))
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3 * rows), squeeze=False)
    rng = np.random.default_rng(0)  # horizontal jitter of the points only
    for ax, row in zip(axes.flat, table.itertuples(index=False)):
        sim = draws[row.target].to_numpy(dtype=float)
        sim = sim[np.isfinite(sim)]
        if len(sim):
            ax.boxplot(sim, positions=[0], widths=0.5, showfliers=False)
            ax.scatter(rng.uniform(-0.15, 0.15, len(sim)), sim, s=10, alpha=0.6, color="tab:blue", label="simulated")
        ax.errorbar([1], [row.observed], yerr=[[row.observed - row.observed_low], [row.observed_high - row.observed]],
                    fmt="o", color="tab:red", capsize=5, label="observed (95% interval)")
        ax.set_xticks([0, 1], ["posterior\npredictive", "clinic"], fontsize=8)
        ax.set_title(row.target, fontsize=9)
    for ax in list(axes.flat)[len(table):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7, loc="best")
    fig.suptitle("Posterior predictive check")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def epsilons(generations: pd.DataFrame, path: Path) -> Path:
    """Threshold and acceptance rate by generation."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    finite = generations[np.isfinite(generations["epsilon"])]
    ax.plot(finite["t"], finite["epsilon"], "o-", color="tab:blue")
    ax.set_xlabel("generation")
    ax.set_ylabel("threshold eps", color="tab:blue")
    ax2 = ax.twinx()
    ax2.plot(generations["t"], generations["acceptance_rate"], "s--", color="tab:orange")
    ax2.set_ylabel("acceptance rate", color="tab:orange")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
