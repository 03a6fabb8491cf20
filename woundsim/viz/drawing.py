"""Pictures of a running WoundModel, drawn straight from its arrays into RGB images.

The page redraws every simulated day, so the maps are composed with numpy (a few milliseconds)
rather than matplotlib (a few hundred): each voxel becomes an `s` x `s` block of pixels, and each
agent is stamped into its voxel's block. Agents of the three kinds may share a voxel; they are
drawn in the order fibroblasts (green dots), keratinocytes (dark squares), macrophages (discs 1.5 voxels
wide, coloured by polarisation phi), so that the sparse macrophages stay visible on top.
"""

from __future__ import annotations

import io
import math

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import LinearSegmentedColormap
from PIL import Image

from woundsim.layout import FIELD_NAMES
from woundsim.model import WoundModel
from woundsim.units import UM_PER_MM

TARGET_PX = 600  # pixels along the lattice's longer side (about the size the page shows it at)
FIELD_LABELS = {"tnf": "TNF-α", "il10": "IL-10", "tgfb": "TGF-β", "pdgf": "PDGF", "vegf": "VEGF", "egf": "EGF",
                "ev": "EV cargo"}
COLOURS = {  # hex, shared with the page's legend
    "skin": "#e8ccb0",  # intact skin around the ulcer
    "new_epithelium": "#f7e7d7",  # re-epithelialised wound
    "open_bed": "#6b1f24",  # open wound without granulation tissue
    "granulation": "#d9695f",  # open wound filled with granulation tissue
    "fibroblast": "#8bc34a",
    "keratinocyte": "#311b92",
    "outline": "#1a1a1a",
    "site": "#00e5ff",
    "margin": "#ffffff",  # day-0 ulcer margin on the field map
    "open_edge": "#7fffd4",  # edge of the still-open wound on the field map
}
#: macrophage polarisation phi: 0 = M1 (inflammatory, amber) .. 1 = M2 (repair, blue)
PHI_COLOURS = ("#ffb300", "#f2f2f2", "#1e63d6")
PHI_CMAP = LinearSegmentedColormap.from_list("phi", PHI_COLOURS)
FIELD_CMAP = "magma"


def rgb(hex_colour: str) -> np.ndarray:
    """`"#rrggbb"` as a uint8 array of 3."""
    h = hex_colour.lstrip("#")
    return np.array([int(h[i: i + 2], 16) for i in (0, 2, 4)], dtype=np.uint8)


def scale_for(shape: tuple[int, int]) -> int:
    """Pixels per voxel edge so that the longer side is about `TARGET_PX` (between 2 and 8)."""
    return int(min(max(math.ceil(TARGET_PX / max(shape)), 2), 8))


def _disc(r: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixel offsets (dy, dx) from a voxel block's centre pixel within radius `r` (pixels)."""
    k = int(math.ceil(r))
    dy, dx = np.mgrid[-k: k + 1, -k: k + 1]
    keep = dy * dy + dx * dx <= r * r + 1e-9
    return dy[keep], dx[keep]


def _square(half: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel offsets of a (2 half + 1)-pixel square around a voxel block's centre pixel."""
    dy, dx = np.mgrid[-half: half + 1, -half: half + 1]
    return dy.ravel(), dx.ravel()


def _stamp(img: np.ndarray, ys: np.ndarray, xs: np.ndarray, s: int, offsets, colours: np.ndarray) -> None:
    """Paint `offsets` around the centre of each voxel (ys, xs) with `colours` (one row per voxel, or one
    colour); a stamp may spill into the neighbouring voxels and is clipped at the image's border."""
    dy, dx = offsets
    py = (ys[:, None] * s + s // 2 + dy[None, :]).ravel()
    px = (xs[:, None] * s + s // 2 + dx[None, :]).ravel()
    col = np.broadcast_to(colours, (ys.size, 3)) if colours.ndim == 1 else colours
    col = np.repeat(col, dy.size, axis=0)
    ok = (py >= 0) & (py < img.shape[0]) & (px >= 0) & (px < img.shape[1])
    img[py[ok], px[ok]] = col[ok]


def _upscale(img: np.ndarray, s: int) -> np.ndarray:
    return np.repeat(np.repeat(img, s, axis=0), s, axis=1)


def tissue_background(model: WoundModel) -> np.ndarray:
    """RGB (ny, nx, 3) uint8: skin, open bed shaded by granulation, new epithelium over it."""
    c = {k: rgb(v).astype(float) for k, v in COLOURS.items()}
    gran = np.clip(model.granulation, 0.0, 1.0)[..., None]
    epi = np.clip(model.epithelium, 0.0, 1.0)[..., None]
    bed = c["open_bed"] + (c["granulation"] - c["open_bed"]) * gran
    healed = bed + (c["new_epithelium"] - bed) * epi
    return np.where(model.wound[..., None], healed, c["skin"]).astype(np.uint8)


def _population(model: WoundModel, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    c = model.populations[kind]
    return c.y[: c.n], c.x[: c.n], c.state[: c.n]


def tissue_image(model: WoundModel) -> np.ndarray:
    """RGB uint8 image of the tissue with every cohort drawn on it and the injection sites marked."""
    s = scale_for(model.geometry.shape)
    img = _upscale(tissue_background(model), s)
    y, x, _ = _population(model, "fibroblast")
    _stamp(img, y, x, s, _disc(0.3 * s), rgb(COLOURS["fibroblast"]))
    y, x, _ = _population(model, "keratinocyte")
    _stamp(img, y, x, s, _square(max(s // 3, 1)), rgb(COLOURS["keratinocyte"]))
    y, x, phi = _population(model, "macrophage")
    r = 0.75 * s
    _stamp(img, y, x, s, _disc(r), rgb(COLOURS["outline"]))
    colours = (PHI_CMAP(np.clip(phi, 0.0, 1.0))[:, :3] * 255).astype(np.uint8)
    _stamp(img, y, x, s, _disc(r - 1.0), colours)
    _mark_sites(img, model, s)
    _scale_bar(img, model, s)
    return img


def field_image(model: WoundModel, field: str) -> tuple[np.ndarray, float]:
    """RGB uint8 heat map of `field` (scaled 0 .. its maximum) with the day-0 margin, the open
    wound's edge and the injection sites; and that maximum (ng/mL-equivalent)."""
    if field not in FIELD_NAMES:
        raise ValueError(f"field = {field!r} is unknown; allowed {', '.join(FIELD_NAMES)}")
    s = scale_for(model.geometry.shape)
    c = model.fields.field(field)
    top = float(c.max())
    lut = (colormaps[FIELD_CMAP](np.linspace(0.0, 1.0, 256))[:, :3] * 255).astype(np.uint8)
    idx = np.zeros(c.shape, dtype=np.intp) if top <= 0 else np.clip(c / top * 255.0, 0, 255).astype(np.intp)
    img = _upscale(lut[idx], s)
    margin = _edge(_upscale(model.wound, s))
    dotted = margin & ((np.add.outer(np.arange(img.shape[0]), np.arange(img.shape[1])) // 3) % 2 == 0)
    img[dotted] = rgb(COLOURS["margin"])
    img[_edge(_upscale(model.wound & (model.epithelium < 0.5), s))] = rgb(COLOURS["open_edge"])
    _mark_sites(img, model, s)
    _scale_bar(img, model, s)
    return img, top


def _edge(mask: np.ndarray) -> np.ndarray:
    """Pixels of `mask` with a 4-neighbour outside it (a one-pixel outline)."""
    inner = mask.copy()
    inner[1:, :] &= mask[:-1, :]
    inner[:-1, :] &= mask[1:, :]
    inner[:, 1:] &= mask[:, :-1]
    inner[:, :-1] &= mask[:, 1:]
    return mask & ~inner


def _mark_sites(img: np.ndarray, model: WoundModel, s: int) -> None:
    """A cyan X with a dark outline at each injection site."""
    if not model.injection_sites:
        return
    half = max(3 * s // 2, 5)
    d = np.arange(-half, half + 1)
    cross = [(d, d), (d, -d)]
    for (y, x) in model.injection_sites:
        cy, cx = y * s + s // 2, x * s + s // 2
        for width, colour in ((2, COLOURS["outline"]), (1, COLOURS["site"])):
            for dy, dx in cross:
                for w in range(-width, width + 1):
                    py, px = cy + dy, cx + dx + w
                    ok = (py >= 0) & (py < img.shape[0]) & (px >= 0) & (px < img.shape[1])
                    img[py[ok], px[ok]] = rgb(colour)


def scale_bar_mm(model: WoundModel) -> float:
    """Length of the scale bar drawn at the lower left (mm): 5 mm, or 2 mm on a small lattice."""
    width_mm = model.geometry.shape[1] * model.params.numerics.dx_um / UM_PER_MM
    return 5.0 if width_mm >= 20.0 else 2.0


def _scale_bar(img: np.ndarray, model: WoundModel, s: int) -> None:
    px_per_mm = s * UM_PER_MM / model.params.numerics.dx_um
    length = int(round(scale_bar_mm(model) * px_per_mm))
    y0, x0, h = img.shape[0] - 4 * s - 6, 3 * s + 4, max(s, 4)
    img[y0 - 1: y0 + h + 1, x0 - 1: x0 + length + 1] = rgb(COLOURS["outline"])
    img[y0: y0 + h, x0: x0 + length] = 255


def encode_png(img: np.ndarray) -> bytes:
    """PNG bytes of an RGB uint8 image (fast, light compression)."""
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def css_gradient(cmap_name_or_colours, n: int = 9) -> str:
    """A CSS `linear-gradient` running through a colormap (name) or a list of hex colours."""
    if isinstance(cmap_name_or_colours, str):
        cm = colormaps[cmap_name_or_colours]
        stops = ["#%02x%02x%02x" % tuple(int(255 * v) for v in cm(t)[:3]) for t in np.linspace(0, 1, n)]
    else:
        stops = list(cmap_name_or_colours)
    return f"linear-gradient(to right, {', '.join(stops)})"
