"""Closure without lattice artefacts (issue 17 item 2): the purse string closes ringed holes within days at a
rate that rises with the covered neighbours, granulation grows in from the walls and filled neighbours, and
neither acts on a straight edge or without a gap to fill."""

import numpy as np
import pytest

from woundsim import layout as L
from woundsim.errors import InputError
from woundsim.kernels.closure import covered_neighbours, ingrow, purse_string_rate
from woundsim.model import WoundModel
from woundsim.params import ModelParams, with_overrides
from woundsim.patient import Patient
from woundsim.units import HOURS_PER_DAY


def bare_model(dx_um: float = 100.0, **overrides) -> WoundModel:
    """A small ulcer with no cells left, none recruited, no debris, no load breakdown and no contraction: only
    the tissue rules act on what a test sets up."""
    p = with_overrides(ModelParams(), {"numerics.dx_um": dx_um, "numerics.mesa_sync_hours": 0.0,
                                       "numerics.horizon_weeks": 4.0, "fibroblast.entry_per_day": 0.0,
                                       "macrophage.recruit_per_day": 0.0, "foot.epithelial_breakdown_um_day": 0.0,
                                       "contraction.rate_per_day": 0.0, **overrides})
    model = WoundModel(p, Patient(area_cm2=0.5), seed=1)
    for kind, population in model.populations.items():
        population.n = 0
        model.occupancy[kind][:] = 0
    model.tissue.debris[:] = 0.0
    return model


def centre(model: WoundModel) -> tuple[int, int]:
    ys, xs = np.nonzero(model.wound)
    return int(np.median(ys)), int(np.median(xs))


def hours_until(model: WoundModel, done, max_days: float) -> float:
    """Simulated hours until `done(model)` holds (inf if not within `max_days`)."""
    start = model.hours
    while model.hours - start < max_days * HOURS_PER_DAY:
        model.step()
        if done(model):
            return model.hours - start
    return float("inf")


def hole(model: WoundModel, voxels: list[tuple[int, int]], granulation: float = 1.0) -> None:
    """Everything covered and filled but the given open voxels (filled to `granulation`)."""
    model.tissue.epithelium[model.wound] = 1.0
    model.tissue.granulation[model.wound] = 1.0
    for y, x in voxels:
        model.tissue.epithelium[y, x] = 0.0
        model.tissue.granulation[y, x] = granulation


@pytest.mark.parametrize("dx_um", [100.0, 200.0])
def test_a_ringed_single_voxel_closes_within_days_by_purse_string(dx_um):
    model = bare_model(dx_um)
    y, x = centre(model)
    hole(model, [(y, x)])
    hours = hours_until(model, lambda m: m.tissue.epithelium[y, x] >= 1.0, max_days=10.0)
    # a hole of one voxel closes from both sides at purse_string_um_day: dx / (2 v) days
    expected_h = dx_um / (2.0 * model.params.keratinocyte.purse_string_um_day) * HOURS_PER_DAY
    assert hours == pytest.approx(expected_h, abs=1.0)
    assert hours <= 3 * HOURS_PER_DAY
    assert model.n_open == 0 and model.first_closure_h == model.first_closure_h  # closed, not NaN


def test_the_purse_string_rises_with_the_covered_neighbours_and_spares_a_straight_edge():
    rates = [purse_string_rate(k, 1.0, 2.0) for k in range(9)]
    assert rates[:5] == [0.0] * 5  # a straight edge has at most 4 of 8 neighbours covered
    assert 0.0 < rates[5] < rates[6] < rates[7] < rates[8] == 1.0
    epi = np.zeros((5, 5))
    epi[:2, :] = 1.0  # straight edge along x: the voxel below it sees 3 covered
    assert covered_neighbours(2, 2, epi) <= 4
    diagonal = (np.add.outer(np.arange(5), np.arange(5)) < 4).astype(float)  # staircase of slope 1
    assert covered_neighbours(2, 2, diagonal) <= 4
    for k in range(5, 9):  # exact above a straight edge's count, whatever the order of the open ones
        for trial in range(5):
            ring = np.ones(8)
            ring[np.random.default_rng(trial).choice(8, 8 - k, replace=False)] = 0.0
            box = np.insert(ring, 4, 0.0).reshape(3, 3)
            assert covered_neighbours(1, 1, box) == k


def test_a_pocket_closes_slower_than_a_ringed_hole_and_a_channel_slower_still():
    times = {}
    for name, voxels in (("ringed", [(0, 0)]), ("pair", [(0, 0), (0, 1)]), ("channel", [(0, -1), (0, 0), (0, 1)])):
        model = bare_model()
        y, x = centre(model)
        cells = [(y + dy, x + dx) for dy, dx in voxels]
        hole(model, cells)
        times[name] = hours_until(model, lambda m: m.n_open == 0, max_days=30.0)
    assert times["ringed"] < times["pair"] < times["channel"] < float("inf")


def test_no_purse_string_below_its_granulation_threshold():
    model = bare_model(**{"fibroblast.ingrowth_um_day": 0.0})
    y, x = centre(model)
    hole(model, [(y, x)], granulation=0.1)  # below purse_string_granulation x cover_granulation = 0.4
    assert hours_until(model, lambda m: m.tissue.epithelium[y, x] >= 1.0, max_days=5.0) == float("inf")


def test_granulation_grows_in_from_filled_neighbours_without_fibroblasts():
    model = bare_model(**{"keratinocyte.purse_string_um_day": 0.0})
    y, x = centre(model)
    hole(model, [(y, x)], granulation=0.0)
    model.tissue.epithelium[model.wound] = 0.0  # nothing covered: only ingrowth can act
    days = hours_until(model, lambda m: m.tissue.granulation[y, x] >= 0.9, max_days=60.0) / HOURS_PER_DAY
    f = model.params.fibroblast
    slowing = 1.0 - model.fp[L.F_GLYC]  # diabetic slowing (senescence is the cohorts', not the front's)
    # g' = (v / dx) x slowing x (1 - g): 90% after ln(10) / rate
    depth = model.tissue.deficit_mm[y, x]  # the stated speed is at 1 mm of deficit; deeper columns fill slower
    expected = np.log(10.0) * model.params.numerics.dx_um * depth / (f.ingrowth_um_day * slowing)
    assert days == pytest.approx(expected, rel=0.1)
    assert model.populations["fibroblast"].n == 0


def test_without_ingrowth_or_fibroblasts_an_empty_voxel_stays_empty():
    model = bare_model(**{"fibroblast.ingrowth_um_day": 0.0})
    y, x = centre(model)
    hole(model, [(y, x)], granulation=0.0)
    hours_until(model, lambda m: False, max_days=3.0)
    assert model.tissue.granulation[y, x] == 0.0


def test_ingrow_is_bounded_by_the_best_neighbour():
    assert ingrow(0.2, 0.1, 1.0, 1.0) == 0.2  # no growth from a less-filled neighbour
    assert ingrow(0.2, 0.6, 10.0, 1.0) == 0.6  # never past the neighbour
    assert ingrow(0.2, 1.0, 0.1, 1.0) == pytest.approx(0.28)


def test_the_old_purse_string_rate_name_is_refused_in_one_line():
    with pytest.raises(InputError, match="purse_string_um_day"):
        with_overrides(ModelParams(), {"keratinocyte.purse_string_per_day": 1.0})


# ---- closure read as a clinician reads it (woundsim.endpoints.visit_read_closure) -------------------------
def series(areas_mm2_by_day: dict[int, float], last_day: int):
    days = np.arange(last_day + 1, dtype=float)
    area = np.array([areas_mm2_by_day.get(int(d), 0.0) for d in days]) / 100.0  # cm²
    return days, area


def test_visit_read_closure_needs_the_area_below_the_limit_at_a_visit_and_two_weeks_later():
    from woundsim.endpoints import visit_read_closure

    open_until = {d: 50.0 - 2.0 * d for d in range(0, 25)}  # 50 mm² shrinking to 2 mm² on day 24
    open_until.update({d: 0.8 for d in range(20, 40)})  # below 1 mm² from day 20 (the last voxels), 0 from day 40
    days, area = series(open_until, 60)
    seen, confirmed = visit_read_closure(days, area, 14.0, closed_after_end=False)
    assert (seen, confirmed) == (21.0, 35.0)  # the first weekly visit at or below 1 mm², then 2 weeks on
    seen0, _ = visit_read_closure(days, area, 14.0, closed_after_end=False, limit_mm2=0.0)
    assert seen0 == 42.0  # limit 0: the last open voxel covered (day 40), seen at the next visit


def test_visit_read_closure_is_not_confirmed_when_the_ulcer_reopens_or_the_series_ends():
    from woundsim.endpoints import visit_read_closure

    reopened = {d: (0.5 if 14 <= d < 20 else 30.0) for d in range(0, 61)}  # closed at the day-14 visit only
    days, area = series(reopened, 60)
    assert all(np.isnan(visit_read_closure(days, area, 14.0, closed_after_end=False)))
    days, area = series({d: 10.0 for d in range(0, 21)}, 28)  # closed on day 21, the run ends on day 28
    assert all(np.isnan(visit_read_closure(days, area, 14.0, closed_after_end=False)))
    assert visit_read_closure(days, area, 14.0, closed_after_end=True) == (21.0, 35.0)


def test_the_summary_reports_first_and_visit_read_closure(coarse_params, small_patient):
    from woundsim.simulate import simulate
    from woundsim.treatment import Treatment

    s = simulate(coarse_params, small_patient, Treatment(), seed=4).summary
    assert {"first_closure_day", "visit_closure_day", "visit_confirmed_day"} <= set(s)
    if s["first_closure_day"] == s["first_closure_day"]:
        assert s["visit_closure_day"] % 7.0 == 0.0 and s["visit_confirmed_day"] - s["visit_closure_day"] >= 14.0
        assert s["visit_closure_day"] <= np.ceil(s["first_closure_day"] / 7.0) * 7.0  # never later than limit 0
