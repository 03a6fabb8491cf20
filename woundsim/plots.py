"""Figures of one simulated patient, drawn from its run folder (and nothing else)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from woundsim.endpoints import DETECTION_LIMIT_MM2, MM2_PER_CM2, VISIT_INTERVAL_DAYS, visit_records  # noqa: E402
from woundsim.output import read_run  # noqa: E402

SNAPSHOT_ORDER = ("day 0", "day 7", "day 14", "day 28", "closure")


def plot_run(folder: Path) -> list[Path]:
    """Draw every figure of a run folder into `folder/figures/`; returns the files written."""
    folder = Path(folder)
    run = read_run(folder)
    out = folder / "figures"
    out.mkdir(exist_ok=True)
    files = [closure_curve(run, out / "closure_curve.png"), cell_dynamics(run, out / "cells.png")]
    if run["snapshots"]:
        files.append(wound_snapshots(run, out / "wound_snapshots.png"))
    return files


def closure_curve(run: dict, path: Path) -> Path:
    """Open area and percent area reduction against time, with closure and injection days, and the area that
    contraction closed (with its share of the closure, docs/contraction.md); below, the open area on a log scale
    as the weekly visits read it, against the planimetry detection limit (docs/closure.md)."""
    ts, s, meta = run["timeseries"], run["summary"], run["run"]
    fig, (ax, low) = plt.subplots(2, 1, figsize=(7, 6), sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    ax.plot(ts["day"], ts["open_area_cm2"], color="tab:red", lw=2, label="open area")
    if "contracted_area_cm2" in ts:  # runs stored before contraction (version 2) lack it
        ax.plot(ts["day"], ts["contracted_area_cm2"], color="tab:purple", lw=1.5,
                label=f"closed by contraction (cumulative){_share_label(s)}")
        ax.legend(loc="center right", fontsize=8)
    ax.set_xlabel("day since entry")
    ax.set_ylabel("open ulcer area (cm²)")
    ax.set_ylim(0, max(ts["open_area_cm2"].max() * 1.1, 1e-3))
    ax2 = ax.twinx()
    ax2.plot(ts["day"], ts["par_pct"], color="tab:blue", lw=1, ls="--", label="PAR")
    ax2.set_ylabel("percent area reduction (%)", color="tab:blue")
    ax2.set_ylim(0, 105)
    for day in meta["treatment"]["schedule_days"] if meta["treatment"]["product"] != "none" else []:
        ax.axvline(day, color="tab:green", alpha=0.4, lw=1)
    for key, style, label in (("first_closure_day", "-", "first closure"), ("confirmed_closure_day", ":", "confirmed")):
        if s.get(key) is not None:
            ax.axvline(s[key], color="k", ls=style, lw=1)
            ax.text(s[key], ax.get_ylim()[1] * 0.95, f" {label}\n day {s[key]:.0f}", fontsize=8, va="top")
    ax.axvline(84, color="grey", ls="-.", lw=0.8)
    ax.text(84, 0, " week 12", fontsize=8, color="grey", va="bottom")
    tr = meta["treatment"]
    ax.set_title(f"{_patient_label(meta['patient'])} — {_treatment_label(tr)}", fontsize=9)
    ax.set_xlabel("")
    _visit_panel(low, ts, s)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _visit_panel(ax, ts, summary: dict) -> None:
    """The open area (mm², log scale) as the weekly visits read it, the planimetry detection limit, and the days
    the ulcer was first seen closed at a visit and first fully covered (limit 0)."""
    days = ts["day"].to_numpy(float)
    mm2 = ts["open_area_cm2"].to_numpy(float) * MM2_PER_CM2
    floor = DETECTION_LIMIT_MM2 / 1000  # below one 50 µm voxel (0.0025 mm²): nothing open is drawn on this floor
    ax.semilogy(days, np.maximum(mm2, floor), color="tab:red", lw=1.2, label="open area (daily)")
    visits, at = visit_records(days, VISIT_INTERVAL_DAYS, first_visit=0)  # as the visit-read closure reads them
    ax.plot(visits, np.maximum(mm2[at], floor), "ko", ms=3, label="weekly visit's reading")
    ax.axhline(DETECTION_LIMIT_MM2, color="tab:orange", ls="--", lw=1.2,
               label=f"planimetry detection limit ({DETECTION_LIMIT_MM2:g} mm²)")
    ax.set_ylim(floor / 1.5, max(float(mm2.max()) * 2.0, 10 * DETECTION_LIMIT_MM2))
    ax.set_ylabel("open area (mm², log)")
    ax.set_xlabel("day since entry")
    ax.text(days[-1], floor, "0 mm²: nothing open ", fontsize=7, color="grey", va="bottom", ha="right")
    for key, style, label, side in (("visit_closure_day", "--", "seen closed at a visit", "right"),
                                    ("first_closure_day", "-", "first closure: last voxel covered", "left")):
        day = summary.get(key)
        if day is not None and day == day:
            ax.axvline(day, color="k", ls=style, lw=1)
            text = f"{label}, day {day:.0f} " if side == "right" else f" {label}, day {day:.0f}"
            ax.text(day, ax.get_ylim()[1] / 1.5, text, fontsize=7, va="top", ha=side)
    ax.legend(loc="lower left", fontsize=7)


def _share_label(summary: dict) -> str:
    share = summary.get("contraction_share")
    return f": {100 * share:.0f}% of the closure" if share is not None and share == share else ""


def cell_dynamics(run: dict, path: Path) -> Path:
    """Agent counts by kind and macrophage polarisation over time."""
    ts = run["timeseries"]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
    for col, color in (("macrophages", "tab:purple"), ("fibroblasts", "tab:orange"), ("keratinocytes", "tab:green")):
        a.plot(ts["day"], ts[col], label=col, color=color)
    a.set_xlabel("day")
    a.set_ylabel("agents")
    a.legend(fontsize=8)
    b.plot(ts["day"], 1 - ts["m1_fraction"], color="tab:blue", label="M2 fraction (phi >= 0.5)")
    b.plot(ts["day"], ts["mean_phi"], color="tab:cyan", ls="--", label="mean phi")
    b.plot(ts["day"], ts["granulation_mean"], color="tab:brown", label="granulation (ulcer mean)")
    b.set_ylim(0, 1)
    b.set_xlabel("day")
    b.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def wound_snapshots(run: dict, path: Path) -> Path:
    """Epithelium, granulation, macrophage polarisation and one field at day 0, weeks 1, 2, 4, closure."""
    snaps = run["snapshots"]
    labels = [k for k in SNAPSHOT_ORDER if k in snaps] + [k for k in snaps if k not in SNAPSHOT_ORDER]
    field = "ev" if run["run"]["treatment"]["product"] not in ("none", "placebo") else "tnf"
    cols = (("epithelium", "Greens", (0, 1)), ("granulation", "copper", (0, 1)),
            ("phi", "coolwarm_r", (0, 1)), (field, "magma", None))
    sites = np.array(run["run"]["injection_sites_voxel"] or np.zeros((0, 2)))
    window = _crop(snaps[labels[0]]["wound"], sites)
    fig, axes = plt.subplots(len(labels), 4, figsize=(11, 2.7 * len(labels)), squeeze=False)
    vmax_field = max(float(np.nanmax(snaps[k][field])) for k in labels) or 1.0
    for r, label in enumerate(labels):
        snap = snaps[label]
        for c, (name, cmap, lim) in enumerate(cols):
            ax = axes[r, c]
            img = snap[name][window]
            vmin, vmax = lim if lim else (0.0, vmax_field)
            im = ax.imshow(img, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
            ax.contour(snap["wound"][window], levels=[0.5], colors="w", linewidths=0.6)
            if name == field and sites.size:
                ax.plot(sites[:, 1] - window[1].start, sites[:, 0] - window[0].start, "c+", ms=6)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title({"phi": "macrophage phi (0 M1, 1 M2)"}.get(name, name), fontsize=9)
            if c == 0:
                ax.set_ylabel(label if label.startswith("day") else f"{label}\n(day {float(snap['day']):.0f})",
                              fontsize=9)
            fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _crop(wound: np.ndarray, sites: np.ndarray, pad: int = 15) -> tuple[slice, slice]:
    ys, xs = np.nonzero(wound)
    if sites.size:
        ys, xs = np.concatenate([ys, sites[:, 0]]), np.concatenate([xs, sites[:, 1]])
    return (slice(max(ys.min() - pad, 0), ys.max() + pad + 1), slice(max(xs.min() - pad, 0), xs.max() + pad + 1))


def _patient_label(p: dict) -> str:
    grade = {1: "I", 2: "II", 3: "III"}[int(p["texas_grade"])]
    return f"{p['area_cm2']:.1f} cm² Texas {grade}{p['texas_stage']}, HbA1c {p['hba1c_pct']:.1f}%, {p['duration_weeks']:.0f} wk"


def _treatment_label(t: dict) -> str:
    if t["product"] == "none":
        return "standard care"
    days = ", ".join(f"{d:g}" for d in t["schedule_days"])
    return f"{t['product']} {t['dose_ug_per_site']:g} µg x {t['sites']} sites, days {days}"

