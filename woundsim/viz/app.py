"""The interactive page: watch an ulcer heal under hUC-MSC derivative injections.

Serve it with `woundsim viz` (or `solara run woundsim.viz.app`). The model is a Mesa model built the
SolaraViz way, from one keyword per control (`VizModel(**controls)`), but the page is a plain Solara
page rather than `SolaraViz`: SolaraViz lays its cards out with vue-grid-layout, a Vue 2 library that
does not render under the Vue 3 front end of ipyvuetify 3 (the cards stay empty), and its controls act
only on Reset, while here a changed control rebuilds the model at once. Step advances one simulated day
(24 one-hour model steps); Play repeats that in a worker thread. The main area shows the tissue with its
cells, a paracrine field chosen in a selector, the open area of the treated and the standard-care arm,
and the cell counts with the M2 fraction.
"""

from __future__ import annotations

import base64
import logging
import time

import solara
import solara.lab

from woundsim.errors import InputError
from woundsim.layout import FIELD_NAMES
from woundsim.products import choices as product_choices
from woundsim.units import hours_to_days
from woundsim.viz.charts import area_option, cells_option
from woundsim.viz.drawing import (COLOURS, FIELD_CMAP, FIELD_LABELS, PHI_COLOURS, css_gradient, encode_png,
                                  field_image, scale_bar_mm, tissue_image)
from woundsim.viz.model import DEFAULT_SCHEDULE, RESOLUTIONS_UM, SCHEDULES, TRIAL_DOSE_UG, VizModel

logging.getLogger("MESA").setLevel(logging.WARNING)  # Mesa logs every step at INFO

TITLE = "woundsim · diabetic foot ulcer under hUC-MSC derivatives"
PRIMARY = "#1f4e79"  # app bar and buttons
PLAY_INTERVAL_MS = 20  # pause between frames while playing
MAP_STYLE = "display: block; width: 100%; max-height: 430px; object-fit: contain;"
CHART_STYLE = {"style": "height: 320px; width: 100%;"}

#: the page's controls, by card: keyword of VizModel -> (widget, label, options)
CONTROLS = {
    "Patient": {
        "area_cm2": ("float", "Ulcer area", dict(value=2.0, min=0.5, max=10.0, step=0.5, unit="cm²")),
        "texas_grade": ("select", "Texas grade", dict(value="II", values=["I", "II", "III"])),
        "hba1c_pct": ("float", "HbA1c", dict(value=8.0, min=5.0, max=14.0, step=0.5, unit="%")),
        "duration_weeks": ("int", "Ulcer duration", dict(value=15, min=1, max=104, step=1, unit="weeks")),
    },
    "Treatment": {
        "product": ("select", "Product", dict(value="mixture", values=list(product_choices()))),
        "dose_ug_per_site": ("float", "Dose per site", dict(value=TRIAL_DOSE_UG, min=1.0, max=1000.0, step=1.0, unit="µg")),
        "sites": ("int", "Injection sites", dict(value=8, min=1, max=16, step=1, unit="")),
        "schedule": ("select", "Schedule", dict(value=DEFAULT_SCHEDULE, values=list(SCHEDULES))),
    },
    "Simulation": {
        "compare": ("check", "Also simulate standard care (same seed)", dict(value=True)),
        "dx_um": ("select", "Voxel edge (µm)", dict(value=f"{RESOLUTIONS_UM[0]:g}",
                                                    values=[f"{r:g}" for r in RESOLUTIONS_UM])),
        "seed": ("text", "Seed", dict(value="0")),
    },
}
FRAME = solara.reactive(0)  # bumped after each simulated day; the cards redraw on it (one per browser session)
DEFAULTS = {name: spec[2]["value"] for card in CONTROLS.values() for name, spec in card.items()}


def _img(png: bytes, css_class: str) -> None:
    src = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    solara.HTML(tag="img", attributes={"src": src, "alt": css_class}, style=MAP_STYLE, classes=[css_class])


def _swatch(colour: str, label: str, shape: str = "square") -> str:
    radius, border = ("50%", "1px solid #1a1a1a") if shape == "disc" else ("2px", "1px solid #9e9e9e")
    return (f'<span style="display:inline-flex;align-items:center;margin-right:10px;white-space:nowrap">'
            f'<span style="width:11px;height:11px;border-radius:{radius};background:{colour};border:{border};'
            f'margin-right:4px;display:inline-block"></span>{label}</span>')


def _gradient_bar(gradient: str, left: str, right: str, width: int = 90) -> str:
    return (f'<span style="display:inline-flex;align-items:center;white-space:nowrap;margin-right:10px">{left}'
            f'<span style="display:inline-block;width:{width}px;height:10px;margin:0 4px;border:1px solid #9e9e9e;'
            f'background:{gradient}"></span>{right}</span>')


def status_html(model: VizModel) -> str:
    """The line above the tissue map: day, open area, PAR and macrophage polarisation."""
    rec = model.records[-1]
    mac = rec["macrophages"]
    m2 = f"{100.0 * rec['m2_macrophages'] / mac:.0f} % M2" if mac else "no macrophages"
    closed = model.first_closure_h == model.first_closure_h  # not NaN
    extra = f" · closed on day {hours_to_days(model.first_closure_h):.0f}" if closed else ""
    extra += "" if model.running else " · end of the horizon"
    return (f'<b class="woundsim-day" style="font-size:16px">Day {model.day:.0f}</b>'
            f' &nbsp;open area <b>{rec["open_area_cm2"]:.2f} cm²</b> (PAR {rec["par_pct"]:.0f} %)'
            f' · {mac} macrophage agents, {m2}{extra}')


@solara.component
def TissueCard(model: VizModel):
    """The tissue grid with the agents drawn by kind, macrophages coloured by polarisation."""
    FRAME.get()
    with solara.Card(margin=0, style="height: 100%;"):
        solara.HTML(unsafe_innerHTML=status_html(model), classes=["woundsim-status"], style="font-size: 14px;")
        solara.HTML(unsafe_innerHTML=model.describe(), classes=["woundsim-patient"],
                    style="font-size: 12px; color: #616161; margin-bottom: 6px;")
        _img(encode_png(tissue_image(model)), "woundsim-tissue")
        legend = "".join([
            _swatch(COLOURS["skin"], "skin"), _swatch(COLOURS["open_bed"], "open bed"),
            _swatch(COLOURS["granulation"], "granulation"), _swatch(COLOURS["new_epithelium"], "new epithelium"),
            _swatch(COLOURS["fibroblast"], "fibroblast"), _swatch(COLOURS["keratinocyte"], "keratinocyte"),
            _gradient_bar(css_gradient(PHI_COLOURS), "macrophage M1", "M2", 60),
            _swatch(COLOURS["site"], "injection site", "disc"), f"white bar {scale_bar_mm(model):g} mm"])
        solara.HTML(unsafe_innerHTML=legend, style="font-size: 11.5px; line-height: 1.7; margin-top: 6px;")


@solara.component
def FieldCard(model: VizModel):
    """A heat map of the paracrine field chosen in the selector, with margins and injection sites."""
    FRAME.get()
    field = solara.use_reactive("vegf")
    image, top = field_image(model, field.value)
    with solara.Card(margin=0, style="height: 100%;"):
        with solara.Row(style="align-items: center; margin-bottom: 6px; flex-wrap: wrap;"):
            solara.Text("Paracrine field", style="font-size: 14px; font-weight: 500; margin-right: 8px;")
            with solara.ToggleButtonsSingle(field, dense=True, classes=["woundsim-field"]):
                for name in FIELD_NAMES:
                    solara.Button(FIELD_LABELS[name], value=name, style="text-transform: none; min-width: 0; "
                                                                         "padding: 0 8px;")
        _img(encode_png(image), "woundsim-field-map")
        legend = "".join([
            _gradient_bar(css_gradient(FIELD_CMAP), "0", f"{top:.3g} ng/mL-eq", 110),
            f"<b>{FIELD_LABELS[field.value]}</b> &nbsp;",
            _swatch(COLOURS["margin"], "day-0 margin (dotted)"), _swatch(COLOURS["open_edge"], "open-wound edge"),
            _swatch(COLOURS["site"], "injection site", "disc")])
        solara.HTML(unsafe_innerHTML=legend, classes=["woundsim-field-legend"],
                    style="font-size: 11.5px; line-height: 1.7; margin-top: 6px;")


@solara.component
def ChartCard(model: VizModel, option_of, css_class: str):
    """A live ECharts plot of the model's daily records."""
    FRAME.get()
    with solara.Card(margin=0, classes=[css_class]):
        solara.FigureEcharts(option=option_of(model), attributes=CHART_STYLE, responsive=True)


@solara.component
def Control(name: str, label: str, kind: str, opts: dict, value, on_change):
    """One control; sliders show their value in the label."""
    def set_value(v):
        on_change(name, v)

    if kind in ("float", "int"):
        slider = solara.SliderFloat if kind == "float" else solara.SliderInt
        slider(f"{label}: {value:g} {opts['unit']}".rstrip(), value=value, min=opts["min"], max=opts["max"],
               step=opts["step"], on_value=set_value, thumb_label=False)
    elif kind == "select":
        solara.Select(label, values=opts["values"], value=value, on_value=set_value, dense=True,
                      classes=[f"woundsim-{name}"])
    elif kind == "check":
        solara.Checkbox(label=label, value=value, on_value=set_value)
    else:
        solara.InputText(label, value=str(value), on_value=set_value, dense=True, classes=[f"woundsim-{name}"])


@solara.component
def Layout(children=[]):  # noqa: B006 - Solara's signature for a module's layout
    """Solara's app layout in the page's colour."""
    return solara.AppLayout(children=children, color=PRIMARY)


@solara.component
def RunControls(model: solara.Reactive, on_reset):
    """Reset, play / pause and step (one simulated day)."""
    FRAME.get()
    playing = solara.use_reactive(False)
    current = model.value

    def play():
        m = model.value
        while playing.value and m is model.value and m.running:
            m.step_day()
            FRAME.value += 1
            time.sleep(PLAY_INTERVAL_MS / 1000.0)
        if m is model.value and not m.running:
            playing.value = False

    solara.lab.use_task(play, dependencies=[playing.value, id(current)], prefer_threaded=True)

    def step():
        current.step_day()
        FRAME.value += 1

    def reset():
        playing.value = False
        on_reset()

    with solara.Row(justify="space-between"):
        solara.Button("Reset", color="primary", on_click=reset)
        solara.Button("❚❚ Pause" if playing.value else "▶ Play", color="primary", disabled=not current.running,
                      on_click=lambda: playing.set(not playing.value), style="min-width: 100px;")
        solara.Button("Step", color="primary", on_click=step, disabled=playing.value or not current.running)


@solara.component
def Page():
    """One page per browser session, each with its own model."""
    initial = solara.use_memo(lambda: VizModel(**DEFAULTS), dependencies=[])
    model = solara.use_reactive(initial)
    controls = solara.use_reactive(dict(DEFAULTS))
    error = solara.use_reactive("")

    def rebuild(new: dict) -> None:
        try:
            rebuilt = VizModel(**new)
        except InputError as exc:
            error.value = str(exc)
            return
        error.value = ""
        controls.value = new
        model.value = rebuilt

    solara.lab.theme.themes.light.primary = PRIMARY  # the buttons
    solara.Title(TITLE)  # the app bar's and the browser tab's
    with solara.Sidebar():
        with solara.Card("Run", margin=0, style="margin-bottom: 8px;"):
            RunControls(model, lambda: rebuild(controls.value))
            solara.Text("Step = one day (24 model hours). A changed control restarts the run.",
                        style="font-size: 12px; color: #757575;")
        for title, card in CONTROLS.items():
            with solara.Card(title, margin=0, style="margin-bottom: 8px;"):
                for name, (kind, label, opts) in card.items():
                    Control(name, label, kind, opts, controls.value[name],
                            lambda key, value: rebuild({**controls.value, key: value}))
        if error.value:
            solara.Error(error.value, classes=["woundsim-error"])
    with solara.Columns([1, 1]):
        TissueCard(model.value)
        FieldCard(model.value)
    with solara.Columns([1, 1]):
        ChartCard(model.value, area_option, "woundsim-area-plot")
        ChartCard(model.value, cells_option, "woundsim-cells-plot")
