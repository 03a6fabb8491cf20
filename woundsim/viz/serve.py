"""`woundsim viz`: serve the interactive page with `solara run`, or time its frames.

    woundsim viz                   # http://localhost:8765
    woundsim viz --port 9000
    woundsim viz --measure-fps     # print the frame rate of the default patient, serve nothing
    woundsim viz --install-assets  # only fetch the page's browser scripts (npm registry), e.g. before going offline
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import time

from woundsim.errors import InputError

APP_MODULE = "woundsim.viz.app"
DEFAULT_PORT = 8765


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="woundsim viz",
        description="Serve the interactive wound-healing page: a Solara page (not Mesa's SolaraViz) that steps "
                    "the model a simulated day at a time, next to the same patient under standard care.",
        epilog="Open the printed address in a browser. Serving needs the viz extra: pip install 'woundsim[viz]' "
               "(the first start installs the page's scripts from the npm registry).")
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"port to listen on (default {DEFAULT_PORT}; 0 = any free)")
    p.add_argument("--host", default="localhost", help="interface to listen on (default localhost: this machine only)")
    p.add_argument("--open", action="store_true", help="open a browser tab when the server is up")
    p.add_argument("--install-assets", action="store_true",
                   help="only install the page's browser scripts (npm registry) into Solara's asset cache")
    p.add_argument("--measure-fps", action="store_true",
                   help="instead of serving, step and draw the default patient and print frames (days) per second")
    p.add_argument("--dx-um", type=float, default=200.0, help="voxel edge for --measure-fps (µm, 200 or 100)")
    p.add_argument("--frames", type=int, default=20, help="frames to time for --measure-fps")
    return p


def solara_command(host: str, port: int, open_browser: bool = False) -> list[str]:
    """The `solara run` command line that serves the page."""
    return [sys.executable, "-m", "solara", "run", APP_MODULE, "--host", host, "--port", str(port), "--production",
            "--open" if open_browser else "--no-open"]


def server_env() -> dict[str, str]:
    """The server's environment: ours, without Solara's credit banner (it covers a plot)."""
    return {**os.environ, "SOLARA_THEME_SHOW_BANNER": "false", "SOLARA_THEME_TITLE": "woundsim"}


def serve(args: list[str]) -> None:
    """Entry point of `woundsim viz ARGS` (see `parser()`); exits 2 on bad input."""
    opts = parser().parse_args(args)
    if not 0 <= opts.port <= 65535:
        _fail(f"--port = {opts.port} is not a port; allowed 0-65535")
    if opts.measure_fps:
        try:
            measure_fps(opts.dx_um, opts.frames)
        except InputError as exc:
            _fail(str(exc))
        return
    if importlib.util.find_spec("solara") is None:
        _fail("solara is not installed; install the viz extra: pip install 'woundsim[viz]'")
    installed = _install_assets(required=opts.install_assets)
    if opts.install_assets:
        print(f"woundsim: page scripts {'installed: ' + ', '.join(installed) if installed else 'already installed'}")
        return
    print(f"woundsim: serving the page at http://{opts.host}:{opts.port} (Ctrl-C stops)", file=sys.stderr)
    try:
        code = subprocess.call(solara_command(opts.host, opts.port, opts.open), env=server_env())
    except KeyboardInterrupt:
        code = 0
    if code:
        raise SystemExit(code)


def measure_fps(dx_um: float, frames: int) -> float:
    """Print and return the page's frame rate for the default patient and treatment at `dx_um` (µm).

    One frame = one simulated day (24 model steps of both arms) plus drawing both maps and
    building both chart options: the server-side work of a frame while playing.
    """
    from woundsim.viz.model import VizModel, time_frames

    model = VizModel(dx_um=dx_um)
    model.step_day()  # compile and warm the kernels
    cpu0 = time.process_time()
    timing = time_frames(model, frames, render_frame)
    cpu_s = (time.process_time() - cpu0) / max(int(frames), 1)
    print(f"{timing.fps:.1f} frames/s at {dx_um:g} µm ({model.geometry.shape[0]} x {model.geometry.shape[1]} voxels): "
          f"step {1e3 * timing.step_s:.0f} ms + draw {1e3 * timing.draw_s:.0f} ms per simulated day "
          f"(CPU {1e3 * cpu_s:.0f} ms a frame, i.e. {1.0 / cpu_s:.1f} frames/s on an idle core)")
    return timing.fps


def render_frame(model) -> None:
    """The server-side drawing of one frame: both maps as PNG and both chart options."""
    from woundsim.viz.charts import area_option, cells_option
    from woundsim.viz.drawing import encode_png, field_image, tissue_image

    encode_png(tissue_image(model))
    encode_png(field_image(model, "vegf")[0])
    area_option(model)
    cells_option(model)


def _install_assets(required: bool) -> list[str]:
    """Install missing page scripts from the npm registry; without npm, warn (or fail if `required`)."""
    from woundsim.viz.assets import cache_dir, ensure_assets, missing_assets

    missing = missing_assets()
    if not missing:
        return []
    print(f"woundsim: installing the page's scripts ({', '.join(missing)}) into {cache_dir()}", file=sys.stderr)
    try:
        return ensure_assets()
    except RuntimeError as exc:
        if required:
            _fail(str(exc))
        print(f"woundsim: warning: {exc}; the Solara server will try to fetch them from a CDN", file=sys.stderr)
        return []


def _fail(message: str) -> None:
    print(f"woundsim: error: {message}", file=sys.stderr)
    raise SystemExit(2)
