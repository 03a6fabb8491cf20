"""What is recorded from a running WoundModel: the daily row and the wound snapshots."""

from __future__ import annotations

import numpy as np

from woundsim.endpoints import par_pct
from woundsim.layout import FIELD_NAMES
from woundsim.units import hours_to_days, voxels_to_area_cm2


def _senescent(population) -> float:
    """Senescent cohorts of a population (the sum of their senescent shares; woundsim.chronic)."""
    return float(population.senescent[: population.n].sum())


def daily_record(model) -> dict:
    """One row of the daily time series (DESIGN.md section 7)."""
    dx = model.params.numerics.dx_um
    wound = model.wound
    mac = model.populations["macrophage"]
    phi = mac.phi[: mac.n]
    n_m1 = int(np.count_nonzero(phi < 0.5))
    open_vox = int(np.count_nonzero(wound & (model.epithelium < 1.0)))
    area0 = voxels_to_area_cm2(model.tissue.initial_n_wound, dx)  # the ulcer at entry, whatever it is now
    area = voxels_to_area_cm2(open_vox, dx)
    rec = {
        "day": round(hours_to_days(model.hours), 6),
        "open_area_cm2": area,
        "par_pct": par_pct(area, area0),
        "macrophages": int(mac.n),
        "m1_macrophages": n_m1,
        "m2_macrophages": int(mac.n - n_m1),
        "m1_fraction": n_m1 / mac.n if mac.n else np.nan,
        "mean_phi": float(phi.mean()) if mac.n else np.nan,
        "fibroblasts": int(model.populations["fibroblast"].n),
        "keratinocytes": int(model.populations["keratinocyte"].n),
        "senescent_fibroblasts": _senescent(model.populations["fibroblast"]),
        "senescent_keratinocytes": _senescent(model.populations["keratinocyte"]),
        "granulation_mean": float(model.granulation[wound].mean()),
        "epithelium_mean": float(model.epithelium[wound].mean()),
        "perfusion_mean": float(model.perfusion[wound].mean()),
        "debris_total": float(model.debris[wound].sum()),
        "depot_total": float(model.depot_per_site.sum() * model.footprint.sum()),
        "myofibroblast_activity": model.myofibroblast_activity,
        "contracted_area_cm2": voxels_to_area_cm2(model.contracted_voxels, dx),
    }
    for name in model.fields.names:
        rec[f"{name}_wound_mean"] = float(model.fields.field(name)[wound].mean())
    return rec


def phi_map(model) -> np.ndarray:
    """Macrophage polarisation per voxel (NaN where no macrophage agent sits)."""
    out = np.full(model.geometry.shape, np.nan)
    mac = model.populations["macrophage"]
    out[mac.y[: mac.n], mac.x[: mac.n]] = mac.phi[: mac.n]
    return out


def snapshot(model) -> dict[str, np.ndarray]:
    """Copies of the layers the figures show: epithelium, granulation, polarisation, fields."""
    snap = {
        "day": np.array(hours_to_days(model.hours)),
        "wound": model.wound.copy(),
        "epithelium": model.epithelium.copy(),
        "granulation": model.granulation.copy(),
        "phi": phi_map(model),
    }
    for name in FIELD_NAMES:
        snap[name] = model.fields.field(name).copy()
    return snap
