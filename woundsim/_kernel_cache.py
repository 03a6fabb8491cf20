"""Numba's on-disk cache, keyed on all of woundsim's kernel sources together.

Numba stamps a cached kernel with its own source file only. A kernel that calls kernels in other
files (`woundsim.kernels.step.hourly_rules` calls the cell, tissue and diffusion kernels, which
call `woundsim.rules` and compile in the slot constants of `woundsim.layout`) would then be loaded
from the cache unchanged after an edit to one of them: stale compiled code, silently. The locators registered here give every kernel defined
in those files one stamp, the hash of all of them, so an edit to any kernel source recompiles
every kernel that may have compiled it in. The stamp is also part of the cache files' names, so files
written by other versions of the sources (left in `__pycache__` until removed) are never read. Other Numba
users are left to Numba's own locators.

Imported by `woundsim/__init__.py`, before any kernel is defined.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from numba.core import caching

_PACKAGE = Path(__file__).resolve().parent
KERNEL_SOURCES = (_PACKAGE / "rules.py", _PACKAGE / "layout.py", *sorted((_PACKAGE / "kernels").glob("*.py")))


def kernel_sources_stamp() -> str:
    """SHA-256 of every kernel source file's name and contents (re-read when a file's mtime or size changes)."""
    return _hash_sources(tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in KERNEL_SOURCES))


@functools.lru_cache(maxsize=8)
def _hash_sources(files: tuple[tuple[str, int, int], ...]) -> str:
    digest = hashlib.sha256()
    for name, _, _ in files:
        path = Path(name)
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _is_kernel_source(py_file: str) -> bool:
    try:
        return Path(py_file).resolve() in KERNEL_SOURCES
    except OSError:
        return False


def _stamped(base: type) -> type:
    """`base` (a Numba locator), restricted to the kernel sources and stamped with all of them."""

    class KernelSourcesLocator(base):
        @classmethod
        def from_function(cls, py_func, py_file):
            return super().from_function(py_func, py_file) if _is_kernel_source(py_file) else None

        def get_source_stamp(self):
            return kernel_sources_stamp()

        def get_disambiguator(self):
            # the stamp in the file names too: Numba unpickles an index before it compares stamps, so an index
            # written before a bundle class was renamed would fail to load (AttributeError) instead of being
            # ignored; each version of the sources gets its own files, and old ones are never opened
            return f"{super().get_disambiguator()}.{kernel_sources_stamp()[:16]}"

    KernelSourcesLocator.__name__ = KernelSourcesLocator.__qualname__ = f"KernelSources{base.__name__}"
    return KernelSourcesLocator


def register() -> None:
    """Put the stamped locators first (once), in Numba's own order: NUMBA_CACHE_DIR, __pycache__, user-wide."""
    locators = caching.CacheImpl._locator_classes
    if any(getattr(cls, "__name__", "").startswith("KernelSources") for cls in locators):
        return
    locators[:0] = [_stamped(base) for base in (caching.UserProvidedCacheLocator, caching.InTreeCacheLocator,
                                                caching.UserWideCacheLocator)]
