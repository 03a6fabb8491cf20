"""Feasibility before calibration (issue 17 item 7): implausibility, prior draws, arms, the study folder end to end."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from calibration.app_config import compose_config
from calibration.cli import main
from calibration.distance import Target
from calibration.feasibility import (FeasibilityDesign, arm_statistics, point_tasks, prior_draws, abc_values)
from calibration.feasibility_cli import confirmation_table, prior_predictive_command
from calibration.implausibility import Z95, implausibility, observed_sizes, reach_table
from calibration.setup import load_setup
from calibration.statistics import soc_statistics, trial_statistics
from calibration.priors import natural_values
from woundsim.seeds import FEASIBILITY_CONFIRM, PRIOR_PREDICTIVE, feasibility_seed
from woundsim.tables import read_parquet
from woundsim.trial.pools import PoolSpec, RunIn
from woundsim.units import weeks_to_days

CLOSED_ALL = Target("trial_closed_fraction", 1.0, 0.6915, 1.0)  # 10/10 closed
NONE_RECURRED = Target("trial_recurrence_followup", 0.0, 0.0, 0.3085)  # 0/10 recurred
WEEK12 = Target("soc_closed_week12", 0.242, 0.195, 0.288)


# ---- implausibility on hand-made cases ----------------------------------------------------------------
def test_implausibility_is_1_96_at_the_edge_of_every_kind_of_interval():
    assert implausibility(WEEK12, 0.288) == pytest.approx(Z95)
    assert implausibility(WEEK12, 0.195) == pytest.approx(Z95)
    assert implausibility(WEEK12, 0.242) == 0.0
    # 10/10 closed: a simulated closure rate of 0.6915 makes 10/10 a 2.5% event
    assert implausibility(CLOSED_ALL, 0.025 ** 0.1, n_observed=10) == pytest.approx(Z95, abs=1e-9)
    assert implausibility(NONE_RECURRED, 1 - 0.025 ** 0.1, n_observed=10) == pytest.approx(Z95, abs=1e-9)
    assert implausibility(CLOSED_ALL, 1.0, n_observed=10) == 0.0
    assert implausibility(CLOSED_ALL, 0.0, n_observed=10) == math.inf
    assert implausibility(NONE_RECURRED, 0.9, n_observed=10) > 3.0


def test_monte_carlo_noise_lowers_the_implausibility_of_a_miss_and_undefined_stays_undefined():
    far = implausibility(WEEK12, 0.0)
    assert far == pytest.approx(0.242 / (0.047 / Z95))
    assert implausibility(WEEK12, 0.0, mc_sd=0.1) < far
    assert math.isnan(implausibility(WEEK12, math.nan))
    with pytest.raises(Exception, match="boundary"):
        implausibility(CLOSED_ALL, 0.9)  # the observed study's size is needed


def test_observed_sizes_come_from_the_targets_table():
    sizes = observed_sizes()
    assert sizes["trial_closed_fraction"] == 10 and sizes["trial_recurrence_followup"] == 10


def test_reach_table_names_the_smallest_implausibility_and_why_a_target_is_out_of_reach():
    table = pd.DataFrame({"draw": [0, 1, 2], "soc_closed_week12": [0.0, 0.02, 0.05],
                          "trial_closed_fraction": [0.5, 1.0, 0.9]})
    table["implausibility.soc_closed_week12"] = [implausibility(WEEK12, v) for v in table["soc_closed_week12"]]
    table["implausibility.trial_closed_fraction"] = [implausibility(CLOSED_ALL, v, n_observed=10)
                                                     for v in table["trial_closed_fraction"]]
    reach = reach_table(table, [WEEK12, CLOSED_ALL]).set_index("target")
    assert reach.loc["soc_closed_week12", "at_draw"] == 2
    assert reach.loc["soc_closed_week12", "verdict"].startswith("out of reach: every parameter set below")
    assert reach.loc["soc_closed_week12", "id"] == "SOC01"
    assert reach.loc["trial_closed_fraction", "verdict"] == "within reach"
    assert reach.loc["trial_closed_fraction", "min_implausibility"] == 0.0


# ---- parameter sets and arms --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny():
    return load_setup(compose_config(["calibration=tiny"]))


def test_prior_draws_follow_the_config_and_keep_their_values_when_more_are_asked(tiny):
    few, more = prior_draws(tiny, 3, 5), prior_draws(tiny, 6, 5)
    pd.testing.assert_frame_equal(few, more.iloc[:3])
    for p in tiny.parameters:
        low, high = p.distribution().interval(1.0)
        assert ((more[f"abc.{p.key}"] >= low) & (more[f"abc.{p.key}"] <= high)).all()
        assert np.allclose(more[p.target], [p.to_natural(v) for v in more[f"abc.{p.key}"]])
    # a parameter that another change adds to the calibration config enters the draws without code
    grown = load_setup(compose_config(["calibration=tiny", "calibration.free=null", "+calibration.parameters.extra="
                                       "{target:model.tissue.covered_debris_decay_per_day,prior:uniform,low:0.5,high:2}"]))
    draws = prior_draws(grown, 4, 5)
    assert "model.tissue.covered_debris_decay_per_day" in draws and draws["abc.extra"].between(0.5, 2).all()


def test_confirmation_never_uses_the_search_seeds(tiny):
    abc = abc_values(tiny, prior_draws(tiny, 1, 5).iloc[0])
    search = FeasibilityDesign(PRIOR_PREDICTIVE, tiny.seed, trial_arms=2, soc_batch=3)
    confirm = FeasibilityDesign(FEASIBILITY_CONFIRM, tiny.seed, trial_arms=2, soc_batch=3)
    seeds = [{inner[3] for _, _, inner in point_tasks(tiny, d, 0, abc, [0, 1])[0]} for d in (search, confirm)]
    assert len(seeds[0]) == len(seeds[1]) == 2 * 3 + 2 * 3 and not seeds[0] & seeds[1]


def test_a_standard_care_batch_is_the_virtual_trials_pool_of_its_seed(tiny):
    """point_tasks screens each standard-care batch as PoolSpec(params, cohort, standard care, n, seed, run-in,
    20 weeks + the confirmation window) does (the calibration's own arm is the same pool: calibration.setup.arm_run)."""
    abc = abc_values(tiny, prior_draws(tiny, 1, 5).iloc[0])
    design = FeasibilityDesign(PRIOR_PREDICTIVE, tiny.seed, soc_batch=3, runin=RunIn(7.0, 0.5))
    soc = [inner for arm, _, inner in point_tasks(tiny, design, 0, abc, [1])[0] if arm == "soc"]
    soc_params = tiny.arm_objects(natural_values(tiny.parameters, abc))[2]
    pool = PoolSpec(soc_params, tiny.soc.spec, tiny.soc.treatment, 3,
                    feasibility_seed(tiny.seed, PRIOR_PREDICTIVE, 0, 1, 1), RunIn(7.0, 0.5), weeks_to_days(22.0))
    assert soc == pool.tasks()


def test_standard_care_statistics_count_only_the_patients_the_run_in_enrolled():
    rows = pd.DataFrame({"eligible": [True, True, False, False],
                         "closed_by_week12": [True, False, None, None], "closed_by_week20": [True, False, None, None],
                         "time_to_closure_days": [30.0, math.nan, math.nan, math.nan],
                         "recurrence_any_site_12m": [0.4, 0.1, math.nan, math.nan]})
    assert arm_statistics("soc", rows, 7.0) == soc_statistics(rows.iloc[:2])
    assert arm_statistics("soc", rows, 7.0)["soc_closed_week12"] == 0.5
    assert all(math.isnan(v) for v in arm_statistics("soc", rows.iloc[2:], 7.0).values())


def test_confirmation_table_passes_a_mean_inside_and_fails_one_outside(tiny):
    row = pd.Series({"trial_arms": 20, "soc_enrolled": 1000, "trial_closed_fraction": 0.95,
                     "trial_mean_closure_days": 50.0, "trial_recurrence_followup": 0.1, "soc_closed_week12": 0.25,
                     "soc_closed_week20": 0.2, "soc_recurrence_12m": 0.41,
                     **{f"mc_sd.{t.name}": 0.001 for t in tiny.targets},
                     **{f"implausibility.{t.name}": 0.0 for t in tiny.targets}})
    table = confirmation_table(row, tiny).set_index("target")
    assert table["passed"].to_dict() == {"trial_closed_fraction": True, "trial_mean_closure_days": False,
                                         "trial_recurrence_followup": True, "soc_closed_week12": True,
                                         "soc_closed_week20": False, "soc_recurrence_12m": True}
    assert table.loc["soc_closed_week12", "simulated"] == "1000 enrolled"


# ---- the command end to end -------------------------------------------------------------------------
def test_prior_predictive_study_end_to_end_resumes_and_reuses_the_calibration_statistics(tmp_path):
    args = ["calibration=tiny", "calibration.trial.n_patients=2", "--draws", "2", "--soc-candidates", "2",
            "--backend", "serial", "--out", str(tmp_path / "pp")]
    folder = prior_predictive_command(args)
    for name in ("study.json", "code.json", "patients.parquet", "statistics.parquet", "statistics.csv", "reach.csv",
                 "report.md", "figures/prior_predictive.png", "COMPLETE"):
        assert (folder / name).is_file(), name
    patients, table = read_parquet(folder / "patients.parquet"), read_parquet(folder / "statistics.parquet")
    assert len(table) == 2 and len(patients) == 2 * (2 + 2)
    for draw, group in patients.groupby("draw"):
        row = table[table["draw"] == draw].iloc[0]
        trial = trial_statistics(group[group["arm"] == "trial"], 7.0)
        soc = group[(group["arm"] == "soc") & group["eligible"].astype(bool)]
        expected = {**trial, **(soc_statistics(soc.reset_index(drop=True)) if len(soc) else {})}
        for name, value in expected.items():
            assert row[name] == pytest.approx(value, nan_ok=True), name
    runs = sorted(p.name for p in (folder / "runs").iterdir())
    again = prior_predictive_command(args)  # resumes: nothing new is simulated, the same table
    assert sorted(p.name for p in (again / "runs").iterdir()) == runs
    pd.testing.assert_frame_equal(read_parquet(again / "statistics.parquet"), table)
    with pytest.raises(Exception, match="another problem"):
        prior_predictive_command(["calibration=tiny", "calibration.trial.n_patients=2", "--soc-candidates", "3",
                                  "--out", str(tmp_path / "pp")])


def test_feasibility_commands_refuse_bad_input_in_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["confirm", "--draw", "3", "calibration=tiny", "--out", str(tmp_path / "x")])
    assert exc.value.code == 2 and "--draw needs --from" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["confirm", "--set", "nonsense=1", "calibration=tiny", "--out", str(tmp_path / "y")])
    assert exc.value.code == 2 and "unknown parameters ['nonsense']" in capsys.readouterr().err


def test_confirm_from_a_study_takes_its_config_and_the_draw_s_values(tmp_path, tiny):
    from argparse import Namespace

    from calibration.feasibility_cli import _confirm_point
    from woundsim.output import write_json

    config = compose_config(["calibration=tiny"])
    draws = prior_draws(tiny, 3, 5)
    write_json(tmp_path / "study.json", {"stage": "prior_predictive", "calibration": config})
    draws.to_parquet(tmp_path / "statistics.parquet", index=False)
    opts = Namespace(source=tmp_path, draw=2, values=[])
    got_config, point = _confirm_point(opts, [])
    assert got_config == config and point["draw"] == 2
    assert point["abc"] == abc_values(tiny, draws.iloc[2])
    with pytest.raises(Exception, match="no draw 7"):
        _confirm_point(Namespace(source=tmp_path, draw=7, values=[]), [])
    with pytest.raises(Exception, match="takes no config overrides"):
        _confirm_point(Namespace(source=tmp_path, draw=2, values=[]), ["calibration.seed=3"])
    # --set replaces that parameter of the draw and keeps the others (a post-closure parameter refitted, say)
    _, changed = _confirm_point(Namespace(source=tmp_path, draw=2, values=["recurrence_risk=0.3"]), [])
    drawn = abc_values(tiny, draws.iloc[2])
    assert changed["abc"] == {**drawn, "recurrence_risk": 0.3}


def test_a_study_made_before_soc_runin_was_configured_reads_with_its_design_s_run_in(tmp_path, tiny):
    from calibration.feasibility_cli import read_study
    from woundsim.output import write_json

    config = compose_config(["calibration=tiny"])
    old = {**config, "soc": {k: v for k, v in config["soc"].items() if k != "runin"}}
    design = FeasibilityDesign(PRIOR_PREDICTIVE, 1, runin=RunIn(10.0, 0.4))
    write_json(tmp_path / "study.json", {"stage": "prior_predictive", "calibration": old, "design": design.to_dict()})
    study = read_study(tmp_path)
    assert study["calibration"]["soc"]["runin"] == {"days": 10.0, "max_shrink_fraction": 0.4}
    assert load_setup(study["calibration"]).soc.runin == RunIn(10.0, 0.4)
    write_json(tmp_path / "study.json", {"stage": "prior_predictive", "calibration": config, "design": design.to_dict()})
    assert read_study(tmp_path)["calibration"]["soc"]["runin"] == config["soc"]["runin"]  # a configured one stays


def test_the_probe_script_refuses_a_folder_that_is_no_study_in_one_line(tmp_path):
    from scripts.feasibility_probe import main as probe_main

    with pytest.raises(SystemExit, match="is not a feasibility study folder"):
        probe_main(["--from", str(tmp_path), "--draw", "1"])


# ---- the search between the prior predictive check and the confirmation ---------------------------------
def test_emulated_implausibility_is_the_feasibility_rule_with_the_emulator_variance():
    from calibration.feasibility_search import emulated_implausibility

    for target, value, n in ((WEEK12, 0.20, None), (WEEK12, 0.30, None), (CLOSED_ALL, 0.8, 10), (NONE_RECURRED, 0.1, 10)):
        exact = emulated_implausibility(target, np.array([value]), np.array([0.0]), n)[0]
        assert exact == pytest.approx(implausibility(target, value, 0.0, n), rel=1e-6)
    miss = emulated_implausibility(WEEK12, np.array([0.40, 0.40]), np.array([0.0, 0.05 ** 2]), None)
    assert miss[1] < miss[0]  # an uncertain emulator cannot rule a point out as firmly


class _Known:
    """A stand-in emulator whose mean is known: `slope` x u[:, column] + `offset`, exactly (variance 0)."""

    def __init__(self, column: int, slope: float, offset: float) -> None:
        self.column, self.slope, self.offset = column, slope, offset

    def predict(self, u):
        return self.slope * u[:, self.column] + self.offset, np.zeros(len(u))


def test_the_search_picks_candidates_where_the_emulators_meet_the_targets(tiny):
    from calibration.feasibility_search import FIRST_CANDIDATE, SearchOptions, choose_candidates

    # every target met exactly except standard-care closure by week 12, which equals the first input's quantile:
    # only points with u0 near the observed 0.242 can be plausible
    emulators = {t.name: _Known(0, 0.0, t.observed) for t in tiny.targets}
    emulators["soc_closed_week12"] = _Known(0, 1.0, 0.0)
    points, scored = choose_candidates(tiny, emulators, SearchOptions(candidates=4, draws=4000, pool=40),
                                       np.random.default_rng(3), observed_sizes())
    assert list(points["draw"]) == [FIRST_CANDIDATE + k for k in range(4)]
    u0 = tiny.parameters[0].distribution().cdf(points[f"abc.{tiny.parameters[0].key}"])
    assert np.all(np.abs(u0 - 0.242) < 0.03), u0
    week12 = next(t for t in tiny.targets if t.name == "soc_closed_week12")
    # plausible: 0.242 - 3 s_below <= u0 <= 0.242 + 3 s_above, s = the half-width on that side / 1.96; 4000 draws
    assert scored["share_below_3"] == pytest.approx((week12.below + week12.above) * 3 / Z95, abs=0.02)
    assert points["emulated_implausibility.max"].max() < 0.5


def test_search_end_to_end_simulates_candidates_on_seeds_of_its_own_and_confirm_reads_them(tmp_path):
    from argparse import Namespace

    from calibration.feasibility_cli import _confirm_point, search_command

    pp = prior_predictive_command(["calibration=tiny", "calibration.trial.n_patients=2", "--draws", "6",
                                   "--soc-candidates", "2", "--backend", "serial", "--out", str(tmp_path / "pp")])
    folder = search_command(["--from", str(pp), "--candidates", "2", "--trial-arms", "1", "--soc-candidates", "2",
                             "--score-draws", "400", "--pool", "20", "--backend", "serial", "--out", str(tmp_path / "s")])
    for name in ("study.json", "emulators.csv", "statistics.parquet", "reach.csv", "report.md", "COMPLETE"):
        assert (folder / name).is_file(), name
    table, searched = read_parquet(folder / "statistics.parquet"), read_parquet(folder / "patients.parquet")
    assert list(table["draw"]) == [1000, 1001] and {"implausibility.max", "emulated_implausibility.max"} <= set(table)
    prior = read_parquet(pp / "patients.parquet")
    assert not set(zip(searched["arm"], searched["seed"])) & set(zip(prior["arm"], prior["seed"]))
    config, point = _confirm_point(Namespace(source=folder, draw=1001, values=[]), [])
    assert point["draw"] == 1001 and config["name"] == "tiny"
    with pytest.raises(Exception, match="not a finished prior predictive study"):
        search_command(["--from", str(folder), "--out", str(tmp_path / "t")])
    # a second wave: emulators fitted to the prior draws and the first wave's candidates, numbered from 2000
    again = search_command(["--from", str(pp), "--from", str(folder), "--candidates", "1", "--trial-arms", "1",
                            "--soc-candidates", "2", "--score-draws", "400", "--pool", "20", "--backend", "serial",
                            "--out", str(tmp_path / "s2")])
    assert list(read_parquet(again / "statistics.parquet")["draw"]) == [2000]
    fitted = pd.read_csv(again / "emulators.csv").set_index("target")
    assert fitted.loc["trial_closed_fraction", "evaluations"] == 6 + 2  # defined in every evaluated set


def test_a_studys_run_in_is_the_calibrations_unless_the_command_line_replaces_it():
    """--runin-days / --runin-max-shrink default to the calibration's `soc.runin`, not to RunIn()'s 14 d / 0.30."""
    import argparse

    from calibration.feasibility_cli import _runin

    config = compose_config(["calibration=tiny"])
    config["soc"]["runin"] = {"days": 10, "max_shrink_fraction": 0.2}
    setup = load_setup(config)
    assert _runin(argparse.Namespace(runin_days=None, runin_max_shrink=None), setup) == RunIn(10.0, 0.2)
    assert _runin(argparse.Namespace(runin_days=21.0, runin_max_shrink=None), setup) == RunIn(21.0, 0.2)
    assert _runin(argparse.Namespace(runin_days=None, runin_max_shrink=0.5), setup) == RunIn(10.0, 0.5)
