"""The one line a first run prints while Numba compiles the kernels, instead of a progress bar's misleading ETA.

Numba compiles the kernels on their first call (about a minute on 2 cores) and caches them on disk
(`woundsim._kernel_cache`); later runs load them in well under a second. Whether this copy of the kernels
was compiled already is recorded by a marker file named after the kernel sources' stamp, beside Numba's
cache (`NUMBA_CACHE_DIR`, or `woundsim/kernels/__pycache__`): entry points call `announce_compiling()`
before their first simulation and `mark_compiled()` after it, so the notice appears on the first run after
an install or a kernel edit only.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from woundsim._kernel_cache import kernel_sources_stamp

_KERNELS = Path(__file__).resolve().parent / "kernels"


def marker_path() -> Path:
    """The marker of the current kernel sources' compiled cache."""
    cache = Path(os.environ["NUMBA_CACHE_DIR"]) if os.environ.get("NUMBA_CACHE_DIR") else _KERNELS / "__pycache__"
    return cache / f"woundsim-kernels-{kernel_sources_stamp()[:16]}.compiled"


def kernels_compiled() -> bool:
    """Whether the current kernel sources were compiled into the cache already."""
    return marker_path().is_file()


def announce_compiling(stream=None) -> bool:
    """Print one line when the kernels are about to be compiled; returns whether they are."""
    if kernels_compiled():
        return False
    print("[woundsim] compiling the simulation kernels (first run after an install or a kernel edit: about a minute; "
          "later runs load them from the cache)", file=stream or sys.stderr, flush=True)
    return True


def mark_compiled() -> None:
    """Record that the kernels are compiled (after a simulation finished); silent if the cache is not writable."""
    path = marker_path()
    if path.is_file():
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    except OSError:
        pass
