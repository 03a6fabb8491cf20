"""Ulcer geometry on the lattice: mask, tissue deficit, injection-site layout (DESIGN.md sections 2, 5)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from woundsim.errors import InputError
from woundsim.patient import Patient
from woundsim.units import MM3_PER_ML, UM_PER_MM, UM2_PER_CM2

MAX_GRID_VOXELS = 2_500_000  # ~1600 x 1600; about 0.8 kB a voxel (Mesa cells, layers, fields): 2 GiB
# The shape of an irregular margin (not biology: a drawing rule; the patient's `irregularity` scales it): the
# edge radius is the ellipse's times 1 + sum of cosine harmonics k = 2..6 with amplitudes ~ irregularity / k,
# floored so that the radius stays positive however irregular the margin.
MARGIN_HARMONICS = (2, 7)  # harmonic orders k, as range(2, 7)
MARGIN_RADIUS_FLOOR = 0.3  # -, smallest edge radius relative to the ellipse's


@dataclass
class UlcerGeometry:
    """The ulcer on its lattice.

    Attributes:
        shape: (ny, nx) voxels.
        dx_um: voxel edge (µm).
        wound: bool mask of voxels inside the ulcer at day 0.
        deficit_mm: tissue depth to fill per voxel (mm; 0 outside the ulcer).
        centre: (y, x) of the ulcer centre (voxel units, float).
        edge_radius: function of angle giving the edge distance from the centre (voxels).
    """

    shape: tuple[int, int]
    dx_um: float
    wound: np.ndarray
    deficit_mm: np.ndarray
    centre: tuple[float, float]
    semi_axes: tuple[float, float]  # (along y, along x) in voxels
    harmonics: np.ndarray  # (k, amplitude, phase) rows of the margin irregularity

    def edge_radius(self, theta: float) -> float:
        """Distance (voxels) from the centre to the ulcer edge along angle `theta` (rad)."""
        ay, ax = self.semi_axes
        t = np.array([theta])
        return float(_ellipse_radius(ax, ay, t)[0] * _irregular_factor(self.harmonics, t)[0])

    def injection_sites(self, n_sites: int, distance_mm: float) -> list[tuple[int, int]]:
        """Voxel coordinates of `n_sites` sites on a ring `distance_mm` outside (> 0) or inside the edge."""
        cy, cx = self.centre
        d_vox = distance_mm * UM_PER_MM / self.dx_um
        sites = []
        for k in range(int(n_sites)):
            theta = 2.0 * math.pi * k / n_sites
            r = max(self.edge_radius(theta) + d_vox, 0.0)
            y = int(round(cy + r * math.sin(theta)))
            x = int(round(cx + r * math.cos(theta)))
            sites.append((min(max(y, 0), self.shape[0] - 1), min(max(x, 0), self.shape[1] - 1)))
        return sites

    def disc(self, site: tuple[int, int], radius_mm: float) -> tuple[np.ndarray, np.ndarray]:
        """Voxel indices (ys, xs) within `radius_mm` of `site` (at least the site itself)."""
        r = radius_mm * UM_PER_MM / self.dx_um
        ri = int(math.ceil(r))
        y0, x0 = site
        ys, xs = np.mgrid[max(y0 - ri, 0): min(y0 + ri + 1, self.shape[0]), max(x0 - ri, 0): min(x0 + ri + 1, self.shape[1])]
        keep = (ys - y0) ** 2 + (xs - x0) ** 2 <= max(r * r, 0.25)
        return ys[keep], xs[keep]


def bolus_radius_mm(volume_ml: float, layer_mm: float) -> float:
    """Plan-view radius (mm) of a bolus of `volume_ml` (mL) spread as a disc through a skin layer `layer_mm`
    thick: r = sqrt(V / (pi h)) (0.1 mL in 2 mm of dermis: 4.0 mm)."""
    return math.sqrt(volume_ml * MM3_PER_ML / (math.pi * layer_mm))


def build_geometry(patient: Patient, depth_mm: float, dx_um: float, margin_mm: float,
                   rng: np.random.Generator, extra_margin_mm: float = 0.0, *,
                   deficit_edge_fraction: float) -> UlcerGeometry:
    """Lay the patient's ulcer on a lattice with at least `margin_mm` of intact skin around it.

    Args:
        patient: the patient (area, aspect, irregularity).
        depth_mm: maximal tissue deficit (mm) at the ulcer centre, from the Texas grade.
        dx_um: voxel edge (µm).
        margin_mm: intact skin on every side of the ulcer's bounding box (mm).
        rng: generator for the margin irregularity.
        extra_margin_mm: widen the margin (e.g. for injection rings outside it).
        deficit_edge_fraction: deficit at the margin relative to `depth_mm` (-; `tissue.deficit_edge_fraction`);
            it rises as sqrt(1 - r²) to `depth_mm` at the centre.
    """
    area_vox = patient.area_cm2 * UM2_PER_CM2 / dx_um**2
    k = np.arange(*MARGIN_HARMONICS)
    amp = patient.irregularity * rng.uniform(0.5, 1.0, k.size) / k * 2.0
    harmonics = np.column_stack([k, amp, rng.uniform(0, 2 * math.pi, k.size)])
    # edge r(theta) = ellipse(theta) * irregular(theta); scale it so that its area is the patient's
    theta = np.linspace(0.0, 2.0 * math.pi, 2048, endpoint=False)
    b0 = 1.0
    a0 = patient.aspect * b0
    r_unit = _ellipse_radius(a0, b0, theta) * _irregular_factor(harmonics, theta)
    scale = math.sqrt(area_vox / (0.5 * np.mean(r_unit**2) * 2.0 * math.pi))
    a, b = a0 * scale, b0 * scale
    r_edge = r_unit * scale
    ey, ex = r_edge * np.sin(theta), r_edge * np.cos(theta)
    lo_y, hi_y = int(math.ceil(-ey.min())), int(math.ceil(ey.max()))
    lo_x, hi_x = int(math.ceil(-ex.min())), int(math.ceil(ex.max()))
    margin_vox = int(math.ceil((margin_mm + extra_margin_mm) * UM_PER_MM / dx_um))
    ny = lo_y + hi_y + 2 * margin_vox + 1
    nx = lo_x + hi_x + 2 * margin_vox + 1
    if ny * nx > MAX_GRID_VOXELS:
        raise InputError(
            f"patient.area_cm2 = {patient.area_cm2} needs a {ny} x {nx} grid at dx = {dx_um} µm, over the "
            f"{MAX_GRID_VOXELS:,}-voxel limit; use a coarser model.numerics.dx_um (<= 250) or a smaller ulcer")
    centre = (float(margin_vox + lo_y), float(margin_vox + lo_x))
    yy, xx = np.mgrid[0:ny, 0:nx].astype(np.float64)
    dy, dxx = yy - centre[0], xx - centre[1]
    ang = np.arctan2(dy, dxx)
    rho = np.hypot(dy, dxx) / (_ellipse_radius(a, b, ang) * _irregular_factor(harmonics, ang))
    wound = rho <= 1.0
    if wound.sum() < 4:
        raise InputError(f"patient.area_cm2 = {patient.area_cm2} covers fewer than 4 voxels at dx = {dx_um} µm; "
                         "use a finer model.numerics.dx_um")
    edge = deficit_edge_fraction
    deficit = np.where(wound, depth_mm * (edge + (1.0 - edge) * np.sqrt(np.clip(1.0 - rho**2, 0.0, 1.0))), 0.0)
    return UlcerGeometry(shape=(ny, nx), dx_um=dx_um, wound=wound, deficit_mm=deficit, centre=centre,
                         semi_axes=(b, a), harmonics=harmonics)


def _ellipse_radius(a: float, b: float, theta: np.ndarray) -> np.ndarray:
    """Distance from the centre to an ellipse of semi-axes a (along x) and b (along y) at angle theta."""
    return 1.0 / np.sqrt((np.sin(theta) / b) ** 2 + (np.cos(theta) / a) ** 2)


def _irregular_factor(harmonics: np.ndarray, theta: np.ndarray) -> np.ndarray:
    f = np.ones_like(theta, dtype=np.float64)
    for k, amp, phase in harmonics:
        f += amp * np.cos(k * theta + phase)
    return np.maximum(f, MARGIN_RADIUS_FLOOR)


def row_runs(mask: np.ndarray) -> np.ndarray:
    """The True voxels of a 2-D mask as runs along rows: int64 (n, 3) of (y, x0, x1), x1 exclusive."""
    padded = np.zeros((mask.shape[0], mask.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    ys, xs = np.nonzero(np.diff(padded, axis=1))  # starts and ends alternate along each row
    return np.column_stack([ys[::2], xs[::2], xs[1::2]]).astype(np.int64).reshape(-1, 3)
