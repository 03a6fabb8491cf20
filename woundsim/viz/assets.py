"""The browser scripts the page needs, installed from the npm registry into Solara's asset cache.

A Solara page loads its front end (the Vuetify app, require.js, fonts) and some widgets' libraries
(ECharts for the plots, vue-grid-layout for SolaraViz's cards) from `/_solara/cdn/PKG@VERSION/...`.
The Solara server answers those from its cache folder (`solara.server.settings.assets.proxy_cache_dir`,
`<venv>/share/solara/cdn` by default) and fetches what is missing from a public CDN. Offline, or
where only package registries are reachable, nothing would load, so `ensure_assets()` fills the
cache with `npm pack` (the npm registry's own tarballs, the same files the CDN serves) beforehand.
`woundsim viz --install-assets` runs it; the browser test does too.
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

#: npm package@version -> parts of the package the page loads (folders or files under `package/`)
PAGE_ASSETS = {
    "requirejs@2.3.6": ("require.js",),
    "font-awesome@4.5.0": ("css", "fonts"),
    "@widgetti/vue-grid-layout@2.3.13-alpha.2": ("dist",),
    "echarts@5.4.0": ("dist",),
}
VUETIFY_APPS = {2: "@widgetti/solara-vuetify-app@10.1.1", 3: "@widgetti/solara-vuetify3-app@5.2.0"}
MARKER = ".woundsim-complete"  # written last into a package's folder, so a half-copied one is redone


def required_assets() -> dict[str, tuple[str, ...]]:
    """The npm packages (with the parts used) that the installed Solara loads for this page."""
    from solara.util import ipyvuetify_major_version

    return {VUETIFY_APPS[3 if ipyvuetify_major_version >= 3 else 2]: ("dist",), **PAGE_ASSETS}


def cache_dir() -> Path:
    """Solara's asset cache folder (SOLARA_ASSETS_PROXY_CACHE_DIR overrides it)."""
    from solara.server import settings

    return Path(settings.assets.proxy_cache_dir)


def missing_assets(folder: Path | None = None) -> list[str]:
    """The required packages not yet complete in `folder` (default: Solara's cache)."""
    folder = cache_dir() if folder is None else Path(folder)
    return [pkg for pkg in required_assets() if not (folder / pkg / MARKER).is_file()]


def ensure_assets(folder: Path | None = None, npm: str = "npm") -> list[str]:
    """Download the missing packages with `npm pack` and unpack their used parts into `folder`.

    Args:
        folder: asset cache folder (default: Solara's cache).
        npm: the npm executable.

    Returns:
        The packages installed (empty when all were there).

    Raises:
        RuntimeError: npm is missing or `npm pack` failed.
    """
    folder = cache_dir() if folder is None else Path(folder)
    todo = missing_assets(folder)
    if not todo:
        return []
    if shutil.which(npm) is None:
        raise RuntimeError(f"npm is needed to install the page's scripts ({', '.join(todo)}); "
                           "install Node.js and npm (Debian: apt-get install -y npm)")
    parts = required_assets()
    with tempfile.TemporaryDirectory() as tmp:
        for pkg in todo:
            tarball = _npm_pack(npm, pkg, Path(tmp))
            _unpack(tarball, folder / pkg, parts[pkg])
    return todo


def _npm_pack(npm: str, pkg: str, dest: Path) -> Path:
    done = subprocess.run([npm, "pack", pkg, "--silent", "--pack-destination", str(dest)], capture_output=True,
                          text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"npm pack {pkg} failed: {done.stderr.strip()[-500:]}")
    return dest / done.stdout.strip().splitlines()[-1]


def _unpack(tarball: Path, target: Path, parts: tuple[str, ...]) -> None:
    """Extract `package/<part>...` of an npm tarball into `target/<part>...`."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    prefixes = tuple(f"package/{p}" for p in parts)
    with tarfile.open(tarball) as tar:
        for member in tar.getmembers():
            if not member.isfile() or not member.name.startswith(prefixes) or member.name.endswith(".map"):
                continue  # source maps are for debugging only (half the size)
            out = target / member.name.removeprefix("package/")
            out.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(member) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst)
    (target / MARKER).write_text("unpacked from " + tarball.name + "\n")
