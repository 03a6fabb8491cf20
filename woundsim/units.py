"""Unit conversions: the one place where literature units become model units.

Internal units are micrometres (µm) and hours (h). Concentrations are model units of
ng/mL-equivalent; areas reported to users are in cm², depths in mm, times in days or weeks.
"""

from __future__ import annotations

import math

HOURS_PER_DAY = 24.0
DAYS_PER_WEEK = 7.0
HOURS_PER_WEEK = HOURS_PER_DAY * DAYS_PER_WEEK
# Voxel edge (µm) at which amounts counted "per voxel" are stated (DESIGN.md section 2's default grid):
# an amount of N u·voxel is N u x (100 µm)², whatever the grid the model runs on.
REFERENCE_DX_UM = 100.0
UM_PER_MM = 1_000.0
MM3_PER_ML = 1_000.0  # mm³ in one mL (cm³)
UM2_PER_CM2 = 1.0e8


def half_life_to_rate(half_life_h: float) -> float:
    """First-order rate (1/h) of a half-life (h)."""
    return math.log(2.0) / half_life_h


def hours_to_days(hours: float) -> float:
    """Convert a time in h to days."""
    return hours / HOURS_PER_DAY


def days_to_hours(days: float) -> float:
    """Convert a time in days to h."""
    return days * HOURS_PER_DAY


def weeks_to_days(weeks: float) -> float:
    """Convert a time in weeks to days."""
    return weeks * DAYS_PER_WEEK


def days_to_weeks(days: float) -> float:
    """Convert a time in days to weeks."""
    return days / DAYS_PER_WEEK


def per_day_to_per_hour(rate_per_day: float) -> float:
    """Convert a rate in 1/day to 1/h."""
    return rate_per_day / HOURS_PER_DAY


def cm2_per_s_to_um2_per_h(diff_cm2_s: float) -> float:
    """Diffusion coefficient in cm²/s to µm²/h (1 cm²/s = 1e8 µm²/s = 3.6e11 µm²/h)."""
    return diff_cm2_s * UM2_PER_CM2 * 3600.0


def um2_per_s_to_um2_per_h(diff_um2_s: float) -> float:
    """Diffusion coefficient in µm²/s to µm²/h."""
    return diff_um2_s * 3600.0


def speed_um_per_day_to_per_h(speed_um_day: float) -> float:
    """Speed in µm/day to µm/h."""
    return speed_um_day / HOURS_PER_DAY


def hba1c_to_glucose_mM(hba1c_pct: float) -> float:
    """Estimated average glucose (mM) from HbA1c (%), ADAG regression (Nathan et al. 2008).

    eAG (mg/dL) = 28.7 * HbA1c - 46.7; 1 mM glucose = 18.016 mg/dL.
    """
    return (28.7 * hba1c_pct - 46.7) / 18.016


def area_cm2_to_voxels(area_cm2: float, dx_um: float) -> float:
    """Number of lattice voxels of edge `dx_um` covering `area_cm2`."""
    return area_cm2 * UM2_PER_CM2 / (dx_um * dx_um)


def reference_voxels_per_voxel(dx_um: float) -> float:
    """How many reference (100 µm) voxels one voxel of edge `dx_um` covers: (dx / 100 µm)²."""
    return (dx_um / REFERENCE_DX_UM) ** 2


def voxels_to_area_cm2(n_voxels: float, dx_um: float) -> float:
    """Area (cm²) of `n_voxels` voxels of edge `dx_um`."""
    return n_voxels * dx_um * dx_um / UM2_PER_CM2
