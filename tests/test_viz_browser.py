"""The interactive page in a real browser: `woundsim viz` on 127.0.0.1, headless Chromium via Selenium.

Needs Debian's chromium and chromium-driver (installed here with apt-get when running as root),
the Python package selenium (the dev extra) and the page's scripts from the npm registry
(`woundsim viz --install-assets`, run here when they are missing). It is skipped, saying why,
only where one of these cannot be had. It saves the page's screenshot into the test's tmp_path; with
WOUNDSIM_UPDATE_SCREENSHOT=1 set it writes docs/img/viz.png instead (the README's picture), so an ordinary
run leaves the tracked tree alone. Run it alone with `pytest -m browser tests/test_viz_browser.py`
(`WOUNDSIM_UPDATE_SCREENSHOT=1 pytest -m browser tests/test_viz_browser.py` to refresh the picture).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
SCREENSHOT = REPO / "docs" / "img" / "viz.png"  # written only with WOUNDSIM_UPDATE_SCREENSHOT=1
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--window-size=1600,1190", "--hide-scrollbars")
SCREENSHOT_DAY = 28  # the screenshot shows the default patient at week 4


def _ensure_chromium() -> None:
    if os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER):
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("no Chromium: install Debian's chromium and chromium-driver (apt-get needs root)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env, capture_output=True, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-q", "chromium", "chromium-driver"], check=True, env=env,
                       capture_output=True, timeout=900)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"Chromium could not be installed with apt-get: {exc}")


def _ensure_page_scripts() -> None:
    pytest.importorskip("solara", reason="solara is not installed (pip install 'woundsim[viz]')")
    from woundsim.viz.assets import ensure_assets

    try:
        ensure_assets()
    except RuntimeError as exc:
        pytest.skip(f"the page's scripts could not be installed: {exc}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(predicate, timeout_s: float, what: str):
    end = time.monotonic() + timeout_s
    while True:
        try:
            value = predicate()
        except Exception:  # noqa: BLE001 - the page is still (re)rendering
            value = None
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(0.1)


@pytest.fixture
def server(tmp_path):
    """`woundsim viz` on a free port of 127.0.0.1; yields its address, then ends its process group."""
    _ensure_page_scripts()
    port = _free_port()
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "woundsim", "viz", "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"

    def up():
        assert proc.poll() is None, f"the server exited: {(tmp_path / 'server.log').read_text()[-2000:]}"
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200

    try:
        _wait_for(up, 60, f"the server at {url}")
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()


@pytest.fixture
def browser(tmp_path):
    """Headless Debian Chromium with a fresh profile, driven by Selenium."""
    _ensure_chromium()
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


# ---- reading and driving the page ---------------------------------------------------------------
def _css(d, selector):
    from selenium.webdriver.common.by import By

    return d.find_element(By.CSS_SELECTOR, selector)


def _text(d, selector: str) -> str:
    """Text of the element, read again if the page re-rendered it meanwhile (it does every frame)."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

    for _ in range(50):
        try:
            return _css(d, selector).text
        except (StaleElementReferenceException, NoSuchElementException):
            time.sleep(0.1)
    return _css(d, selector).text


def _day(d) -> int:
    return int(_text(d, ".woundsim-day").split()[1])


def _button(d, label: str):
    from selenium.webdriver.common.by import By

    return next(b for b in d.find_elements(By.TAG_NAME, "button") if b.text.strip().lower() == label.lower())


def _click(d, label: str) -> None:
    _wait_for(lambda: _button(d, label).is_enabled(), 20, f"the {label} button")
    _button(d, label).click()


def _image_width(d, selector: str) -> int:
    return d.execute_script("return arguments[0].naturalWidth", _css(d, selector))


def _ink(d, selector: str) -> int:
    """Pixels of a plot's canvas that are neither transparent nor white (how much is drawn)."""
    return d.execute_script("""
        const c = arguments[0], g = c.getContext('2d'), px = g.getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < px.length; i += 4)
            if (px[i + 3] > 0 && (px[i] < 240 || px[i + 1] < 240 || px[i + 2] < 240)) n++;
        return n;""", _css(d, f"{selector} canvas"))


def _nudge_slider(d, label_start: str, key) -> None:
    """Focus the thumb of the slider whose label starts with `label_start` and press `key`."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    slider = next(s for s in d.find_elements(By.CSS_SELECTOR, ".v-slider")
                  if s.find_element(By.CSS_SELECTOR, ".v-label").text.startswith(label_start))
    thumb = slider.find_element(By.CSS_SELECTOR, ".v-slider-thumb")
    d.execute_script("arguments[0].focus()", thumb)
    ActionChains(d).send_keys(key).perform()


def _step_until(d, day: int) -> None:
    while _day(d) < day:
        before = _day(d)
        _click(d, "Step")
        _wait_for(lambda: _day(d) > before, 30, f"day {before + 1}")


def test_page_renders_steps_resets_and_plays(server, browser, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    d = browser
    t0 = time.monotonic()
    d.get(server)
    _wait_for(lambda: _css(d, ".woundsim-status"), 60, "the page to render")
    assert _day(d) == 0
    assert "2 cm² Texas IIA" in _text(d, ".woundsim-patient")
    # the grid and the field map are drawn images of the lattice; both plots are drawn canvases
    assert _wait_for(lambda: _image_width(d, "img.woundsim-tissue") > 300, 20, "the tissue map")
    assert _wait_for(lambda: _image_width(d, "img.woundsim-field-map") > 300, 20, "the field map")
    _wait_for(lambda: _ink(d, ".woundsim-area-plot") > 1000, 30, "the open-area plot's axes")
    _wait_for(lambda: _ink(d, ".woundsim-cells-plot") > 1000, 30, "the cells plot's axes")
    ink0 = _ink(d, ".woundsim-area-plot")
    tissue0 = _css(d, "img.woundsim-tissue").get_attribute("src")

    # Step advances one day; the map and the plots change with it
    _click(d, "Step")
    _wait_for(lambda: _day(d) == 1, 30, "day 1 after Step")
    _step_until(d, 3)
    assert _css(d, "img.woundsim-tissue").get_attribute("src") != tissue0
    _wait_for(lambda: _ink(d, ".woundsim-area-plot") > ink0, 10, "the open-area curve to be drawn")

    # the field selector switches the heat map (the fields are not all zero by day 3)
    field0 = _css(d, "img.woundsim-field-map").get_attribute("src")
    _click(d, "TNF-α")
    _wait_for(lambda: "TNF-α" in _text(d, ".woundsim-field-legend"), 20, "the TNF-α map")
    assert _css(d, "img.woundsim-field-map").get_attribute("src") != field0

    # a changed control rebuilds the model with it: day 0, the new ulcer area
    _nudge_slider(d, "Ulcer area", Keys.ARROW_RIGHT)
    _wait_for(lambda: "2.5 cm² Texas IIA" in _text(d, ".woundsim-patient"), 30, "the 2.5 cm² patient")
    assert _day(d) == 0
    assert "open area 2.5" in _text(d, ".woundsim-status")
    _nudge_slider(d, "Ulcer area", Keys.ARROW_LEFT)
    _wait_for(lambda: "2 cm² Texas IIA" in _text(d, ".woundsim-patient"), 30, "the 2 cm² patient again")

    # play for a few seconds: days per second is the page's frame rate in this browser
    _click(d, "▶ Play")
    day0, t_play = _day(d), time.monotonic()
    time.sleep(4.0)
    day1 = _day(d)
    fps = (day1 - day0) / (time.monotonic() - t_play)
    print(f"\nplaying: {fps:.1f} frames (days) per second in headless Chromium")
    assert day1 > day0 + 2, "playing did not advance the model"
    # a control changed while playing restarts the run with it, still playing
    _nudge_slider(d, "Ulcer area", Keys.ARROW_RIGHT)
    _wait_for(lambda: "2.5 cm² Texas IIA" in _text(d, ".woundsim-patient"), 30, "the 2.5 cm² patient")
    assert _day(d) < day1
    _wait_for(lambda: _day(d) >= 2, 20, "the restarted run to go on playing")
    _click(d, "❚❚ Pause")
    _wait_for(lambda: _button(d, "▶ Play"), 10, "the Play button after Pause")
    time.sleep(0.5)  # a frame in flight when Pause was pressed may still land
    paused = _day(d)
    time.sleep(1.0)
    assert _day(d) == paused, "the model kept running after Pause"
    _nudge_slider(d, "Ulcer area", Keys.ARROW_LEFT)
    _wait_for(lambda: "2 cm² Texas IIA" in _text(d, ".woundsim-patient"), 30, "the 2 cm² patient again")

    # Reset restarts the same patient; step to week 4 for the screenshot
    _step_until(d, 1)
    _click(d, "Reset")
    _wait_for(lambda: _day(d) == 0, 30, "day 0 after Reset")
    _click(d, "VEGF")
    _step_until(d, SCREENSHOT_DAY)
    d.execute_script("document.activeElement.blur()")  # no focus ring on the last button pressed
    ActionChains(d).move_to_element_with_offset(_css(d, ".woundsim-status"), 0, 0).perform()  # nor a hover
    time.sleep(0.5)  # let the charts finish drawing
    screenshot = SCREENSHOT if os.environ.get("WOUNDSIM_UPDATE_SCREENSHOT") == "1" else tmp_path / "viz.png"
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    assert d.save_screenshot(str(screenshot))
    assert time.monotonic() - t0 < 110, "the browser session took too long"
