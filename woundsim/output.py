"""Self-describing run folders: resolved config, seed, versions, git revision, tables, snapshots.

A run folder is complete only when its `COMPLETE` marker exists: `write_run` removes it first and writes it
last, so a run that is interrupted or fails leaves a folder that every reader (`read_run`, hence `woundsim
plot`; `woundsim.sweep.gather`) recognises as incomplete and says so in one line.
"""

from __future__ import annotations

import json
import math
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import asdict
from importlib import metadata
from pathlib import Path

import numpy as np

from woundsim.errors import InputError
from woundsim.tables import read_parquet

COMPLETE = "COMPLETE"  # the marker written last into a finished run folder
RUN_TABLES = ("timeseries.parquet", "summary.json", "run.json")  # what read_run needs (snapshots.npz if there)
PACKAGES = ("woundsim", "mesa", "numpy", "numba", "scipy", "pandas", "pyarrow", "hydra-core", "SALib", "matplotlib")
REPO_ROOT = Path(__file__).resolve().parents[1]


def versions() -> dict[str, str]:
    """Python and package versions of this process."""
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_revision(repo: Path = REPO_ROOT) -> dict[str, object]:
    """Commit of the code that ran and whether the work tree had uncommitted changes."""
    try:
        rev = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip() != ""
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown", "dirty": None}
    return {"commit": rev or "unknown", "dirty": dirty if rev else None}


def provenance(seed: int | None, wall_time_s: float | None = None) -> dict:
    """Seed, versions, git revision, command line and time of a run."""
    return {"seed": seed, "versions": versions(), "git": git_revision(), "argv": sys.argv,
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "wall_time_s": wall_time_s}


def _json_default(obj):
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return None if math.isnan(obj) else float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj)}")


def _clean(obj):
    """Replace float NaN by None so that the JSON is standard (pandas reads None as NaN)."""
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def write_json(path: Path, data: dict) -> None:
    """Write `data` as indented standard JSON (NaN as null), atomically."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(_clean(data), indent=2, default=_json_default))
    tmp.replace(path)


def write_run(folder: Path, result, *, config_yaml: str | None = None, wall_time_s: float | None = None) -> Path:
    """Write one simulated patient's folder: config.yaml, timeseries.parquet/.csv, summary.json,
    snapshots.npz (compressed; what the figures are drawn from), run.json (provenance, snapshot sizes) and,
    last, the `COMPLETE` marker."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / COMPLETE).unlink(missing_ok=True)
    if config_yaml is not None:
        (folder / "config.yaml").write_text(config_yaml)
    result.timeseries.to_parquet(folder / "timeseries.parquet", index=False)
    result.timeseries.to_csv(folder / "timeseries.csv", index=False)
    write_json(folder / "summary.json", result.summary)
    arrays = {f"{label}/{name}": arr for label, snap in result.snapshots.items() for name, arr in snap.items()}
    np.savez_compressed(folder / "snapshots.npz", **arrays)
    meta = provenance(result.seed, wall_time_s)
    meta.update({"patient": result.patient.to_dict(), "treatment": result.treatment.to_dict(),
                 "params": asdict(result.params), "dx_um": result.dx_um,
                 "injection_sites_voxel": [list(map(int, s)) for s in result.injection_sites],
                 "snapshots": {"labels": list(result.snapshots), "file_bytes": (folder / "snapshots.npz").stat().st_size,
                               "not_reached_days": list(result.extra.get("snapshot_days_not_reached", []))}})
    write_json(folder / "run.json", meta)
    mark_complete(folder)
    return folder


def mark_complete(folder: Path) -> None:
    """Write the `COMPLETE` marker (the last file of a finished run folder)."""
    write_json(Path(folder) / COMPLETE, {"finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})


def remove_outputs(folder: Path, names) -> list[str]:
    """Delete a folder's derived outputs (files or whole folders, given relative to it) so that none that a
    failed step would have rewritten is left looking current; returns the names removed (folders end in /)."""
    removed = []
    for name in names:
        path = Path(folder) / name
        if path.is_dir():
            shutil.rmtree(path)
            removed.append(f"{name}/")
        elif path.is_file():
            path.unlink()
            removed.append(str(name))
    return removed


def check_complete(folder: Path) -> None:
    """Raise FileNotFoundError if `folder` is no run folder, a one-line InputError if it is an unfinished one."""
    folder = Path(folder)
    if not folder.is_dir() or not any((folder / name).exists() for name in ("summary.json", "run.json", "config.yaml")):
        raise FileNotFoundError(f"{folder} is not a woundsim run folder (no summary.json)")
    if not (folder / COMPLETE).is_file():
        raise InputError(f"{folder} is an incomplete run folder (no {COMPLETE} marker: the run was interrupted or "
                         "failed, or was written before woundsim marked finished runs); rerun it")


def read_run(folder: Path) -> dict:
    """Read a finished run folder back: {"timeseries", "summary", "run", "snapshots"}.

    Raises:
        FileNotFoundError: the folder is not a run folder.
        InputError: the run folder is incomplete (`check_complete`).
    """
    folder = Path(folder)
    check_complete(folder)
    snaps: dict[str, dict[str, np.ndarray]] = {}
    if (folder / "snapshots.npz").exists():
        with np.load(folder / "snapshots.npz") as z:
            for key in z.files:
                label, name = key.split("/", 1)
                snaps.setdefault(label, {})[name] = z[key]
    return {"timeseries": read_parquet(folder / "timeseries.parquet"),
            "summary": json.loads((folder / "summary.json").read_text()),
            "run": json.loads((folder / "run.json").read_text()),
            "snapshots": snaps}
