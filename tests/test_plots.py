"""The run figures show what a clinician reads off them (issue 17 item 10): the detection limit, the visits, both closures."""

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from woundsim.endpoints import DETECTION_LIMIT_MM2, MM2_PER_CM2, VISIT_INTERVAL_DAYS
from woundsim.plots import _share_label, _visit_panel


def test_the_visit_panel_draws_the_detection_limit_each_visit_and_both_closures():
    days = np.arange(0.0, 50.0)
    area_cm2 = np.maximum(0.5 * (1 - days / 40), 0.0)  # closes on day 40
    ts = pd.DataFrame({"day": days, "open_area_cm2": area_cm2})
    fig, ax = plt.subplots()
    _visit_panel(ax, ts, {"first_closure_day": 40.0, "visit_closure_day": 42.0})
    flat = [ln for ln in ax.get_lines() if np.ptp(ln.get_ydata()) == 0 and len(ln.get_ydata()) == 2
            and ln.get_ydata()[0] == DETECTION_LIMIT_MM2]
    assert flat, "no line at the detection limit"
    visits = [ln for ln in ax.get_lines() if ln.get_marker() == "o"][0]
    assert np.array_equal(visits.get_xdata(), np.arange(0.0, 49.0 + 1e-9, VISIT_INTERVAL_DAYS))
    # a visit reads the open area of its day (nothing open: drawn on the panel's floor, below the limit)
    assert math.isclose(visits.get_ydata()[1], area_cm2[7] * MM2_PER_CM2)
    assert visits.get_ydata()[-1] < DETECTION_LIMIT_MM2
    vertical = sorted(ln.get_xdata()[0] for ln in ax.get_lines() if np.ptp(ln.get_xdata()) == 0
                      and len(ln.get_xdata()) == 2)
    assert vertical == [40.0, 42.0]
    assert ax.get_yscale() == "log"
    plt.close(fig)


def test_the_contraction_share_is_in_the_legend_only_when_known():
    assert _share_label({"contraction_share": 0.214}) == ": 21% of the closure"
    assert _share_label({"contraction_share": math.nan}) == ""
    assert _share_label({}) == ""
