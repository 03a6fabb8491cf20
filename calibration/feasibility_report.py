"""Figures and report of a feasibility study, drawn from its folder's tables only.

Prior predictive: `statistics.parquet` (one row per prior draw) and `reach.csv` (one row per target) ->
`figures/prior_predictive.png` (each statistic's distribution over the prior draws, with the observed value
and its 95% interval) and `report.md`. Confirmation: `confirmation.csv` -> `figures/confirmation.png` and
`report.md`.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from calibration.implausibility import CUTOFF, targets_by_statistic  # noqa: E402
from calibration.report import markdown_table  # noqa: E402
from woundsim.tables import read_parquet  # noqa: E402

PERCENT = ("fraction",)  # units drawn as percentages


def clinical_label(statistic: str) -> tuple[str, bool]:
    """(clinician's title with the target id, whether the statistic is a fraction drawn in %)."""
    row = targets_by_statistic().get(statistic)
    if row is None:
        return statistic, False
    return f"{row['id']}: {row['quantity']}", row["unit"] in PERCENT


def plot_prior_predictive(folder: Path) -> Path:
    """Each statistic over the prior draws (histogram) against the observed value and its 95% interval."""
    table, reach = read_parquet(folder / "statistics.parquet"), pd.read_csv(folder / "reach.csv")
    cols = 2
    rows = math.ceil(len(reach) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6.2 * cols, 2.9 * rows), squeeze=False)
    for ax, t in zip(axes.flat, reach.itertuples(index=False)):
        title, pct = clinical_label(t.target)
        scale = 100.0 if pct else 1.0
        values = table[t.target].to_numpy(float) * scale
        values = values[np.isfinite(values)]
        ax.axvspan(t.low * scale, t.high * scale, color="tab:red", alpha=0.15, label="clinic's 95% interval")
        ax.axvline(t.observed * scale, color="tab:red", lw=2, label="observed")
        if len(values):
            ax.hist(values, bins=min(30, max(5, len(values) // 2)), color="tab:blue", alpha=0.7,
                    label=f"simulated, {len(values)} prior draws")
            ax.plot(values, np.zeros(len(values)), "|", color="navy", ms=14, mew=1.5)  # each draw, also at an edge
        if pct:
            ax.set_xlim(-3, 103)
        ax.set_title("\n".join(_wrap(title, 60)), fontsize=8.5)
        ax.set_xlabel("%" if pct else ("days" if "days" in t.target else ""), fontsize=8)
        ax.set_ylabel("prior draws", fontsize=8)
        ax.text(0.99, 0.97, f"{t.inside_interval} of {t.sets} inside; undefined {t.undefined}\n"
                f"smallest implausibility {t.min_implausibility:.2f}", transform=ax.transAxes, ha="right", va="top",
                fontsize=7.5, bbox={"facecolor": "white", "alpha": 0.8, "lw": 0})
    for ax in list(axes.flat)[len(reach):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7, loc="center right")
    return _save(fig, "Prior predictive check: the calibration statistics over the priors, against the clinic",
                 folder / "figures" / "prior_predictive.png")


def plot_confirmation(folder: Path) -> Path:
    """Each statistic's mean (with its Monte Carlo 95% interval) against the clinic's 95% interval."""
    table = pd.read_csv(folder / "confirmation.csv")
    fig, axes = plt.subplots(len(table), 1, figsize=(7, 1.1 * len(table) + 0.8), squeeze=False)
    for ax, t in zip(axes.flat, table.itertuples(index=False)):
        title, pct = clinical_label(t.target)
        scale = 100.0 if pct else 1.0
        ax.axvspan(t.low * scale, t.high * scale, color="tab:red", alpha=0.15)
        ax.axvline(t.observed * scale, color="tab:red", lw=2)
        half = 1.96 * (t.mc_sd if np.isfinite(t.mc_sd) else 0.0) * scale
        verdict = ("pass" if t.passed else "FAIL") if t.decided else "undecided"  # a mean whose MC interval crosses an edge
        ax.errorbar([t.mean * scale], [0], xerr=[[half], [half]], fmt="o", capsize=4,
                    color={"pass": "tab:green", "FAIL": "black", "undecided": "tab:orange"}[verdict])
        ax.set_yticks([])
        if pct:
            ax.set_xlim(-3, 103)
        ax.set_title(f"{verdict}  {title}", fontsize=8, loc="left")
    return _save(fig, "Confirmation of one parameter set\nred: the clinic's 95% interval and observed value; point: the "
                 "simulated mean\nwith its Monte Carlo 95% interval (undecided: that interval crosses an edge)",
                 folder / "figures" / "confirmation.png")


def _save(fig, title: str, path: Path) -> Path:
    fig.suptitle(title, fontsize=9.5)
    fig.tight_layout()
    path.parent.mkdir(exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _wrap(text: str, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + len(word) + 1 > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return lines + [line]


def prior_predictive_markdown(study: dict, reach: pd.DataFrame, table: pd.DataFrame) -> str:
    """report.md of a prior predictive study."""
    best = table.loc[table["implausibility.max"].idxmin()] if table["implausibility.max"].notna().any() else None
    out = [f"# Prior predictive check: {study['calibration']['name']}", "",
           f"Commit {study['provenance']['git']['commit'][:10]}"
           f"{' (dirty)' if study['provenance']['git'].get('dirty') else ''}; {len(table)} prior draws; each a "
           f"seed-trial arm of {study['trial_patients']} patients and {study['design']['soc_batch']} standard-care "
           f"candidates screened through a {study['design']['runin']['days']:g}-day run-in (excluded if shrinking "
           f"more than {100 * study['design']['runin']['max_shrink_fraction']:g}% or closed); grid "
           f"{study['grid']}. Command: `{study['command']}`.", "",
           "## Each target over the prior", "", markdown_table(reach), "",
           f"Implausibility 1.96 is the edge of the clinic's 95% interval; above {CUTOFF:g} a draw is implausible. "
           "A target whose smallest implausibility over the prior is above the cut-off is out of reach of the "
           "model as it is, whatever its calibrated parameters.", ""]
    if best is not None:
        out += [f"Best draw overall (smallest largest implausibility over the targets): draw {int(best['draw'])}, "
                f"largest implausibility {best['implausibility.max']:.2f}. Confirm a draw on fresh seeds at sizes that "
                f"make the check meaningful with `woundsim calibrate confirm --from {study['folder']} --draw "
                f"{int(best['draw'])}` (20 trial arms of 10, >= 1,000 enrolled standard-care patients).", ""]
    runin = table["runin_excluded_share"].dropna()
    if len(runin):
        out += [f"Run-in exclusion over the draws: median {100 * runin.median():.0f}% of screened "
                f"(range {100 * runin.min():.0f}-{100 * runin.max():.0f}%; DES-RUNIN: 10-30%).", ""]
    out += ["Figure: `figures/prior_predictive.png`; one row per draw in `statistics.parquet` / `.csv`; "
            "every patient in `patients.parquet`.", ""]
    return "\n".join(out)


def confirmation_markdown(study: dict, table: pd.DataFrame) -> str:
    """report.md of a confirmation study."""
    verdict = "every statistic's mean lies inside its 95% interval" if table["passed"].all() else (
        f"{int((~table['passed']).sum())} of {len(table)} statistics miss their interval")
    return "\n".join([
        f"# Confirmation of one parameter set: {study['calibration']['name']}", "",
        f"Commit {study['provenance']['git']['commit'][:10]}; {study['design']['trial_arms']} replicate trial arms "
        f"of {study['trial_patients']} patients, standard care: {table['simulated'].iloc[-1]} after the run-in; seeds of the confirmation stage, never the search's. Command: `{study['command']}`.", "",
        "Parameter set: " + ", ".join(f"{k} = {v:.4g}" for k, v in study["point"].items()), "",
        markdown_table(table), "", f"**Verdict: {verdict}.** `mc_sd` is the Monte Carlo SD of the mean; `decided` "
        "says whether the mean's Monte Carlo 95% interval lies wholly on one side of each interval edge.", ""])


def search_markdown(study: dict, reach: pd.DataFrame, table: pd.DataFrame, diagnostics: pd.DataFrame) -> str:
    """report.md of a search study."""
    scored, options = study["scored"], study["options"]
    best = table.loc[table["implausibility.max"].idxmin()] if table["implausibility.max"].notna().any() else None
    columns = ["draw", "implausibility.max", "emulated_implausibility.max"] + list(reach["target"])
    out = [f"# Search for one parameter set: {study['calibration']['name']}", "",
           f"Commit {study['provenance']['git']['commit'][:10]}"
           f"{' (dirty)' if study['provenance']['git'].get('dirty') else ''}; emulators fitted to "
           + (f"the prior predictive study `{study['source']}`" if isinstance(study["source"], str) else
              "the prior predictive study and the earlier searches " + ", ".join(f"`{f}`" for f in study["source"]))
           + f"; {scored['draws']} prior draws scored, "
           f"{100 * scored['share_below_3']:.2f}% with every emulated implausibility <= {CUTOFF:g} (best "
           f"{scored['best_emulated_max']:.2f}); {len(table)} candidates chosen among the best {options['pool']} "
           f"(maximin), each simulated as {study['design']['trial_arms']} seed-trial arms of {study['trial_patients']} "
           f"and {study['design']['soc_batch']} standard-care candidates screened through the run-in, on the "
           f"search's own seeds. Grid {study['grid']}. Command: `{study['command']}`.", "",
           "## The emulators", "",
           "Leave-one-out: the share of standardised errors within +-3 (at least 0.95) and their SD (0.7-1.4). An "
           "emulator that fails its diagnostic still points the search; only simulated statistics judge a candidate.",
           "", markdown_table(diagnostics), "",
           "## The candidates, simulated", "", markdown_table(table[[c for c in columns if c in table.columns]]), "",
           "## Each target over the candidates", "", markdown_table(reach), ""]
    if best is not None:
        out += [f"Best candidate: draw {int(best['draw'])}, largest implausibility {best['implausibility.max']:.2f} "
                f"(emulated {best['emulated_implausibility.max']:.2f}). Confirm it on seeds the search never used: "
                f"`woundsim calibrate confirm --from {study['folder']} --draw {int(best['draw'])}`.", ""]
    return "\n".join(out)
