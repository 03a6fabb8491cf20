"""ECharts options for the page's live time plots (rendered in the browser, so cheap to update).

Each function reads the daily records of a running model (`model.records`, one dict per day; see
`woundsim.observe.daily_record`) and returns a plain dict for `solara.FigureEcharts`.
"""

from __future__ import annotations

import math

from woundsim.model import WoundModel
from woundsim.units import HOURS_PER_DAY
from woundsim.viz.drawing import COLOURS, PHI_COLOURS

ARM_COLOURS = {"treated": "#1e63d6", "standard care": "#8d8d8d"}
CELL_SERIES = (("macrophages", "#e65100"), ("fibroblasts", "#558b2f"), ("keratinocytes", COLOURS["keratinocyte"]))
TEXT = {"fontSize": 11}


def _points(records: list[dict], key: str) -> list[list[float | None]]:
    out = []
    for r in records:
        v = r[key]
        out.append([r["day"], None if v is None or (isinstance(v, float) and math.isnan(v)) else round(float(v), 4)])
    return out


def _base(title: str, model: WoundModel, y_name: str) -> dict:
    horizon = model.horizon_h / HOURS_PER_DAY
    return {
        "animation": False,
        "title": {"text": title, "left": 8, "top": 4, "textStyle": {"fontSize": 13, "fontWeight": "normal"}},
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 26, "textStyle": TEXT, "itemHeight": 8},
        "grid": {"left": 52, "right": 54, "top": 62, "bottom": 36},
        "xAxis": {"type": "value", "name": "day", "nameLocation": "middle", "nameGap": 22, "min": 0,
                  "max": horizon, "interval": 14, "axisLabel": TEXT},
        "yAxis": [{"type": "value", "name": y_name, "min": 0, "nameTextStyle": TEXT, "axisLabel": TEXT}],
    }


def area_option(model: WoundModel) -> dict:
    """Open wound area (cm²) per day of the model and, if it has one, of its standard-care arm."""
    arms = [("treated" if model.treatment.injects else "standard care", model.records)]
    control = getattr(model, "control", None)
    if control is not None:
        arms.append(("standard care", control.records))
    opt = _base("Open wound area", model, "cm²")
    opt["series"] = [
        {"name": name, "type": "line", "showSymbol": False, "data": _points(records, "open_area_cm2"),
         "lineStyle": {"width": 2.5, "type": "solid" if i == 0 else "dashed"},
         "itemStyle": {"color": ARM_COLOURS[name]}}
        for i, (name, records) in enumerate(arms)
    ]
    opt["series"][0]["markLine"] = {"silent": True, "symbol": "none", "data": [{"xAxis": 28}],
                                    "lineStyle": {"color": "#bbbbbb", "type": "dotted"},
                                    "label": {"formatter": "week 4", "fontSize": 10}}
    return opt


def cells_option(model: WoundModel) -> dict:
    """Cohorts per cell type per day (left axis) and the M2 fraction of macrophages (right axis)."""
    opt = _base("Cells and macrophage polarisation", model, "agents")
    opt["yAxis"].append({"type": "value", "name": "M2 fraction", "min": 0, "max": 1, "splitLine": {"show": False},
                         "nameTextStyle": TEXT, "axisLabel": TEXT})
    series = [{"name": key, "type": "line", "showSymbol": False, "data": _points(model.records, key),
               "lineStyle": {"width": 2}, "itemStyle": {"color": colour}} for key, colour in CELL_SERIES]
    m2 = [{**r, "m2_fraction": r["m2_macrophages"] / r["macrophages"] if r["macrophages"] else float("nan")}
          for r in model.records]
    series.append({"name": "M2 fraction", "type": "line", "showSymbol": False, "yAxisIndex": 1,
                   "data": _points(m2, "m2_fraction"), "lineStyle": {"width": 2, "type": "dashed"},
                   "itemStyle": {"color": PHI_COLOURS[-1]}})
    opt["series"] = series
    return opt
