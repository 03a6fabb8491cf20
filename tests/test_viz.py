"""The interactive page without a browser: its model, pictures, plot options, command and scripts.

The page in a real browser is tests/test_viz_browser.py (marked `browser`).
"""

from __future__ import annotations

import inspect
import io
import tarfile

import numpy as np
import pytest
from matplotlib import colormaps

from woundsim.agents import AGENT_TYPES
from woundsim.errors import InputError
from woundsim.viz import drawing
from woundsim.viz.charts import area_option, cells_option
from woundsim.viz.model import SCHEDULES, VizModel, make_treatment, time_frames


@pytest.fixture(scope="module")
def small() -> VizModel:
    """A 1 cm² ulcer at 200 µm, standard care: no injection sites on the maps."""
    return VizModel(area_cm2=1.0, product="none")


def test_model_steps_a_day_per_frame_with_its_standard_care_arm():
    m = VizModel(area_cm2=1.0)
    m.step_day()
    assert m.day == pytest.approx(1.0) and m.control.day == pytest.approx(1.0)
    assert [r["day"] for r in m.records] == [0.0, 1.0] == [r["day"] for r in m.control.records]
    assert m.treatment.injects and not m.control.treatment.injects
    assert m.control.records[0]["open_area_cm2"] == m.records[0]["open_area_cm2"]  # same patient, same seed
    for kind, cls in AGENT_TYPES.items():  # the Mesa agents are synced with the arrays once a day
        assert len(m.agents_by_type[cls]) == m.populations[kind].n


def test_standard_care_alone_has_no_second_arm(small):
    assert small.control is None and not small.treatment.injects and small.injection_sites == []
    assert small.describe().endswith("standard care alone")


@pytest.mark.parametrize("bad", [{"schedule": "daily"}, {"dx_um": 150}, {"seed": "abc"}, {"seed": -1}, {"product": "stem cells"},
                                 {"area_cm2": 0.0}, {"texas_grade": "IV"}])
def test_bad_controls_are_input_errors(bad):
    with pytest.raises(InputError):
        VizModel(**{"area_cm2": 1.0, **bad})


def test_treatment_from_controls():
    t = make_treatment("placebo", 10.0, 4, "single dose (day 0)")
    assert t.product == "placebo" and t.dose_ug_per_site == 0.0 and t.schedule_days == [0.0] and t.sites == 4
    assert make_treatment("exosomes", 5.0, 8, next(iter(SCHEDULES))).schedule_days == [0.0, 7.0, 14.0, 21.0]


def test_tissue_image_draws_skin_bed_and_macrophages_by_phi(small):
    img = drawing.tissue_image(small)
    s = drawing.scale_for(small.geometry.shape)
    ny, nx = small.geometry.shape
    assert img.shape == (ny * s, nx * s, 3) and img.dtype == np.uint8
    assert (img[0, 0] == drawing.rgb(drawing.COLOURS["skin"])).all()
    mac = small.populations["macrophage"]
    y, x, phi = mac.y[0], mac.x[0], mac.state[0]
    expected = (drawing.PHI_CMAP(phi)[:3] * np.array(255.0)).astype(np.uint8)
    assert (img[y * s + s // 2, x * s + s // 2] == expected).all()
    taken = np.zeros((ny, nx), dtype=bool)  # a stamp never reaches a neighbouring voxel's centre pixel
    for c in small.populations.values():
        taken[c.y[: c.n], c.x[: c.n]] = True
    fy, fx = np.argwhere(small.wound & ~taken)[0]
    bed = drawing.tissue_background(small)[fy, fx]  # the open bed, shaded by its granulation at entry
    assert (img[fy * s + s // 2, fx * s + s // 2] == bed).all()
    assert (bed != drawing.rgb(drawing.COLOURS["skin"])).any()


def test_field_image_scales_to_the_fields_maximum(small):
    c = small.fields.field("vegf")
    saved = c.copy()
    try:
        c[:] = 0.0
        cy, cx = (int(v) for v in np.argwhere(small.wound).mean(axis=0))
        c[cy, cx] = 2.0
        img, top = drawing.field_image(small, "vegf")
    finally:
        c[:] = saved
    s = drawing.scale_for(small.geometry.shape)
    assert top == 2.0
    hot = (np.array(colormaps[drawing.FIELD_CMAP](1.0)[:3]) * 255).astype(np.uint8)
    assert (img[cy * s + s // 2, cx * s + s // 2] == hot).all()
    with pytest.raises(ValueError, match="allowed"):
        drawing.field_image(small, "insulin")


def test_plot_options_follow_the_daily_records():
    m = VizModel(area_cm2=1.0)
    m.step_day()
    m.step_day()
    area = area_option(m)
    assert [s["name"] for s in area["series"]] == ["treated", "standard care"]
    assert [p[1] for p in area["series"][0]["data"]] == [round(r["open_area_cm2"], 4) for r in m.records]
    cells = cells_option(m)
    assert [s["name"] for s in cells["series"]] == ["macrophages", "fibroblasts", "keratinocytes", "M2 fraction"]
    assert all(0.0 <= p[1] <= 1.0 for p in cells["series"][3]["data"])


def test_time_frames_counts_days():
    m = VizModel(area_cm2=1.0, product="none")
    timing = time_frames(m, 2, lambda model: None)
    assert m.day == pytest.approx(2.0) and timing.fps > 0
    with pytest.raises(InputError):
        time_frames(m, 0, lambda model: None)


def test_viz_command_help_and_bad_input(capsys):
    from woundsim.cli import main
    from woundsim.viz.serve import solara_command

    with pytest.raises(SystemExit) as done:
        main(["viz", "--help"])
    assert done.value.code == 0 and "--port" in capsys.readouterr().out
    with pytest.raises(SystemExit) as done:
        main(["viz", "--port", "70000"])
    assert done.value.code == 2 and "woundsim: error: --port" in capsys.readouterr().err
    cmd = solara_command("127.0.0.1", 9000)
    assert cmd[cmd.index("run") + 1] == "woundsim.viz.app" and cmd[cmd.index("--port") + 1] == "9000"


def test_page_controls_build_the_model():
    pytest.importorskip("solara", reason="the page needs the viz extra")
    from woundsim.viz.app import CONTROLS, DEFAULTS, status_html

    assert set(DEFAULTS) == set(inspect.signature(VizModel).parameters)
    assert all(name in DEFAULTS for card in CONTROLS.values() for name in card)
    m = VizModel(**{**DEFAULTS, "area_cm2": 1.0})
    assert "Day 0" in status_html(m) and "1 cm² Texas IIA" in m.describe()


def test_page_scripts_are_the_versions_solara_loads():
    pytest.importorskip("solara", reason="the page needs the viz extra")
    from pathlib import Path

    import solara
    from solara.server import settings

    from woundsim.viz.assets import required_assets

    root = Path(solara.__file__).parent
    text = "".join(p.read_text(errors="ignore") for pattern in ("server/templates/*.j2", "widgets/vue/*.vue",
                                                                "components/*.vue") for p in root.glob(pattern))
    text += settings.assets.fontawesome_path
    for pkg in required_assets():
        name, version = pkg.rsplit("@", 1)
        assert pkg in text or (f"{name}@" in text and f'"{version}"' in text), f"Solara no longer loads {pkg}"


def test_unpack_keeps_the_used_parts_and_marks_them_complete(tmp_path):
    pytest.importorskip("solara", reason="the page needs the viz extra")
    from woundsim.viz import assets

    tarball = tmp_path / "pkg.tgz"
    with tarfile.open(tarball, "w:gz") as tar:
        for name in ("package/dist/a.js", "package/dist/a.js.map", "package/src/a.ts", "package/package.json"):
            info = tarfile.TarInfo(name)
            info.size = 3
            tar.addfile(info, io.BytesIO(b"abc"))
    out = tmp_path / "cache"
    assets._unpack(tarball, out / "pkg@1.0.0", ("dist",))
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == ["pkg@1.0.0/.woundsim-complete", "pkg@1.0.0/dist/a.js"]
    assert assets.missing_assets(out) == list(assets.required_assets())
    for pkg in assets.required_assets():
        (out / pkg).mkdir(parents=True, exist_ok=True)
        (out / pkg / assets.MARKER).write_text("")
    assert assets.missing_assets(out) == [] and assets.ensure_assets(out) == []
    with pytest.raises(RuntimeError, match="npm"):
        assets.ensure_assets(tmp_path / "empty", npm="no-such-npm-for-woundsim")
