"""The model-driven trial designer (issue 5): run-in, pools and their cache, draws, a tiny design study.

The statistics the designer relies on are tested in tests/test_trial_stats.py; here the patients come
from the simulation model, kept tiny (0.5-0.8 cm² ulcers, 250 µm voxels, 2 h steps, a few weeks).
"""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

import woundsim.posterior
from experiments.trial import CONFIG_NAME, register_configs
from woundsim.cohort import sample_patients, simulate_patients
from woundsim.config import CONF_DIR
from woundsim.errors import InputError
from woundsim.parallel import ParallelConfig
from woundsim.params import ModelParams, with_overrides
from woundsim.patient import CohortSpec
from woundsim.treatment import Treatment
from woundsim.trial import TrialDesign
from woundsim.trial.endpoints import analyse_arrays
from woundsim.trial import pools as pools_module
from woundsim.trial.study import load_study, run_design_study
from woundsim.trial.pools import (PoolSpec, RunIn, build_pools, candidate_row, eligible_pool, parameter_draws,
                                  rebase_summary, runin_eligible)

SERIAL = ParallelConfig(backend="serial", progress=False)
TINY_COHORT = CohortSpec(name="tiny", area_median_cm2=0.6, area_gsd=1.2, area_min_cm2=0.5, area_max_cm2=0.8,
                         grade_mix={"1": 0.5, "2": 0.5})
COARSE = with_overrides(ModelParams(), {"numerics.dx_um": 250.0, "numerics.dt_agent_h": 2.0,
                                        "numerics.dt_field_h": 2.0})
ACTIVE = Treatment(schedule_days=[0.0, 7.0])
PLACEBO = Treatment(product="placebo", dose_ug_per_site=0.0, schedule_days=[0.0, 7.0])


def tiny_spec(treatment=ACTIVE, n=3, runin=RunIn(0.0, 1.0), followup=21.0, seed=5) -> PoolSpec:
    return PoolSpec(COARSE, TINY_COHORT, treatment, n, seed, runin, followup)


# --- run-in --------------------------------------------------------------------------------------------

def test_runin_excludes_fast_shrinkers_and_closed_ulcers_on_a_hand_made_pool():
    screening = np.array([2.0, 2.0, 2.0, 2.0, 2.0, 4.0])
    randomisation = np.array([2.0, 1.5, 1.39, 0.0, 2.4, 2.8])  # 0%, 25%, 30.5%, closed, grew, exactly 30%
    ok = runin_eligible(screening, randomisation, RunIn(14.0, 0.30))
    assert ok.tolist() == [True, True, False, False, True, True]
    assert runin_eligible(screening, randomisation, RunIn(14.0, 1.0)).tolist() == [True] * 3 + [False] + [True] * 2
    table = pd.DataFrame({"candidate": range(6), "eligible": ok})
    assert eligible_pool(table)["candidate"].tolist() == [0, 1, 4, 5]
    with pytest.raises(InputError, match="run-in"):
        eligible_pool(table.assign(eligible=False))


@pytest.mark.parametrize("kw", [{"days": -1.0}, {"days": 3.5}, {"max_shrink_fraction": 1.5}])
def test_bad_runin_is_refused(kw):
    with pytest.raises(InputError):
        RunIn(**kw)


def test_a_followup_too_short_for_the_schedule_is_refused():
    with pytest.raises(InputError, match="followup_days"):
        tiny_spec(followup=15.0)


def test_rebase_summary_moves_day_zero_to_randomisation():
    days = np.arange(0.0, 71.0)
    area = np.maximum(0.0, 2.0 - 2.0 * days / 40.0)  # closes on day 40
    ts = pd.DataFrame({"day": days, "open_area_cm2": area})
    summary = {"first_closure_day": 40.0, "confirmed_closure_day": 54.0, "horizon_days": 56.0,
               "simulated_days": 54.0, "scar_maturity": 0.8}
    out = rebase_summary(summary, ts, 14.0)
    assert out["first_closure_day"] == 26.0 and out["confirmed_closure_day"] == 40.0
    assert out["time_to_closure_days"] == 26.0 and out["scar_maturity"] == 0.8
    assert out["initial_area_cm2"] == pytest.approx(2.0 - 2.0 * 14 / 40)
    assert out["par_week4"] == 100.0 and out["horizon_days"] == 56.0  # closed before day 14 + 28
    assert out["closed_by_week12"] is True and out["closed_by_week20"] is True
    still_open = rebase_summary({**summary, "first_closure_day": math.nan, "confirmed_closure_day": math.nan},
                                ts.assign(open_area_cm2=2.0 - days / 100.0), 14.0)
    assert still_open["par_week4"] == pytest.approx(100.0 * (1 - (2.0 - 0.42) / (2.0 - 0.14)))
    assert still_open["closed_by_week12"] is None  # 56 d simulated after randomisation: week 12 unknown
    assert math.isnan(still_open["time_to_closure_days"])


def test_pool_rows_without_runin_are_simulate_patients_rows():
    spec = tiny_spec(n=2)
    rows = pd.DataFrame([candidate_row(task) for task in spec.tasks()])
    cohort_seed, run_seed = spec.seeds()
    ref = simulate_patients(sample_patients(TINY_COHORT, 2, cohort_seed), spec.shifted_treatment(),
                            spec.model_params(), seed=run_seed, parallel=SERIAL)
    assert rows["eligible"].all()
    for col in ref.columns.drop(["patient", "horizon_days"]):
        if ref[col].dtype.kind == "f":
            np.testing.assert_allclose(rows[col].to_numpy(float), ref[col].to_numpy(float), rtol=0, atol=0, err_msg=col)
        else:
            assert rows[col].tolist() == ref[col].tolist(), col
    assert (rows["horizon_days"] == ref["horizon_days"] + 14.0).all()  # the confirmation window is simulated


def test_runin_is_simulated_once_per_patient_and_shared_by_both_arms(tmp_path):
    # tiny chronic plantar ulcers shrink 0.5-9% in a week of standard care since they enter with a granulated bed
    # (woundsim.chronic): a threshold of 5% excludes some and not others
    runin = RunIn(7.0, 0.05)
    (active, placebo), _ = build_pools([tiny_spec(ACTIVE, 6, runin), tiny_spec(PLACEBO, 6, runin)], tmp_path, SERIAL)
    for col in ("area_cm2", "seed", "screening_area_cm2", "randomisation_area_cm2", "eligible"):
        assert active[col].tolist() == placebo[col].tolist(), col
    assert 0 < active["eligible"].sum() < 6
    assert (active["randomisation_area_cm2"] <= active["screening_area_cm2"] + 1e-12).all()
    excluded = active[~active["eligible"]]
    assert (excluded["runin_par_pct"] > 5.0).all() and excluded["first_closure_day"].isna().all()
    assert (eligible_pool(active)["horizon_days"] == 21.0).all()
    assert tiny_spec(ACTIVE, 6, runin).shifted_treatment().schedule_days == [7.0, 14.0]


# --- cache ------------------------------------------------------------------------------------------------

def test_pool_cache_hits_on_the_same_config_and_recomputes_a_changed_one(tmp_path, monkeypatch):
    ran, original = [], pools_module.map_tasks

    def counting(fn, tasks, **kw):
        ran.append(len(tasks))
        return original(fn, tasks, **kw)

    monkeypatch.setattr(pools_module, "map_tasks", counting)
    spec = tiny_spec(n=3)
    (first,), cached = build_pools([spec], tmp_path, SERIAL)
    assert ran == [3] and cached == [False] and (tmp_path / spec.key() / "pool.parquet").is_file()
    (again,), cached = build_pools([spec], tmp_path, SERIAL)
    assert ran[-1] == 0 and cached == [True]
    pd.testing.assert_frame_equal(first, again)
    changed = tiny_spec(Treatment(dose_ug_per_site=20.0, schedule_days=[0.0, 7.0]), n=3)
    assert changed.key() != spec.key()
    build_pools([changed], tmp_path, SERIAL)
    assert ran[-1] == 3
    (tmp_path / spec.key() / "pool.parquet").unlink()  # an interrupted build: one patient lost
    (tmp_path / spec.key() / "runs" / "c000001.json").unlink()
    (resumed,), cached = build_pools([spec], tmp_path, SERIAL)
    assert ran[-1] == 1 and cached == [False]
    pd.testing.assert_frame_equal(first, resumed)


def test_a_near_separated_trial_gets_a_finite_firth_hazard_ratio_not_an_error():
    """A 6 + 6 trial resampled from the default design's pools (beta 37.7, SE 9e7) once overflowed math.exp."""
    t = np.array([49.0, 42, 35, 42, 77, 84, 77, 98, 98, 98, 98, 98])
    e = np.array([1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0, 0], bool)
    treated = np.array([1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0], bool)
    stratum = np.array([0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1])

    def arm(m):
        return {"closure_time_days": t[m], "closure_event": e[m], "closed_by_primary": e[m] & (t[m] <= 84),
                "par_week4": np.full(m.sum(), np.nan), "recurred": np.full(m.sum(), np.nan), "stratum": stratum[m]}

    res = analyse_arrays(arm(treated), arm(~treated), TrialDesign(stratify_by="texas_grade"), ("logrank", "cox"))
    # the plain fit diverges; Firth's is finite, and its test agrees with the log-rank that treatment closes faster
    assert math.isfinite(res["hr_ci_high"]) and 1.0 < res["hr_ci_low"] < res["hazard_ratio"] < res["hr_ci_high"]
    assert res["p_cox"] < 0.05 and res["p_logrank"] < 0.05


# --- parameter draws ---------------------------------------------------------------------------------------

def test_prior_draws_stay_in_their_bounds_and_posterior_draws_split_model_and_treatment(monkeypatch):
    prior = {"model.derivative.units_per_ug": [300.0, 3000.0], "treatment.dose_ug_per_site": [5.0, 20.0]}
    draws = parameter_draws("prior", 20, COARSE, prior, np.random.default_rng(1))
    potency = np.array([d.params.derivative.units_per_ug for d in draws])
    assert ((potency >= 300) & (potency <= 3000)).all() and len(set(potency)) == 20
    assert all(5.0 <= d.treatment["dose_ug_per_site"] <= 20.0 for d in draws)
    assert draws[0].arm_treatment(PLACEBO) is PLACEBO
    assert draws[0].arm_treatment(ACTIVE).dose_ug_per_site == draws[0].treatment["dose_ug_per_site"]
    rows = [{"model.impairment.tnf_fold": 3.0 + i, "treatment.dose_ug_per_site": 7.0} for i in range(2)]
    monkeypatch.setattr(woundsim.posterior, "draw_particles", lambda n, rng: pd.DataFrame(rows[:n]))
    post = parameter_draws("posterior", 2, COARSE, {}, np.random.default_rng(2))
    assert [d.params.impairment.tnf_fold for d in post] == [3.0, 4.0]
    assert post[1].treatment == {"dose_ug_per_site": 7.0} and post[1].params.numerics == COARSE.numerics
    with pytest.raises(InputError, match="draws.source"):
        parameter_draws("posterior-ish", 2, COARSE, {}, np.random.default_rng(2))


def test_posterior_draws_from_the_installed_calibration_keep_the_study_grid():
    posterior = woundsim.posterior
    if not posterior.DEFAULT_POSTERIOR.is_file():
        pytest.skip("no calibrated posterior installed (conf/model/calibrated_posterior.parquet)")
    particles, _ = posterior.load_posterior()
    draws = parameter_draws("posterior", 3, COARSE, {}, np.random.default_rng(4))
    for draw in draws:
        assert draw.params.numerics == COARSE.numerics
        assert set(draw.values) == set(particles.columns)
        for target, value in draw.values.items():
            if target.startswith("model."):
                node = draw.params
                for part in target.split(".")[1:]:
                    node = getattr(node, part)
                assert node == pytest.approx(value)


# --- the app -------------------------------------------------------------------------------------------------

TINY_STUDY = ["design.arm_sizes=[4,8]", "design.n_trials=40", "design.primary_day=28", "design.followup_days=42",
              "runin.days=7", "pool.candidates=10", "pool.draw_candidates=6", "draws.n=2",
              "analysis.n_trials_draw=20", "analysis.check_trials=100", "parallel=serial", "parallel.progress=false",
              "cohort.area_median_cm2=0.6", "cohort.area_gsd=1.2", "cohort.area_min_cm2=0.5",
              "cohort.area_max_cm2=0.8",
              # the installed calibration predates model version 2 (contraction) and is stale until recalibrated;
              # the study's mechanics do not depend on it fitting
              "accept_calibration=true"]


def composed(overrides: list[str]) -> dict:
    register_configs()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return OmegaConf.to_container(compose(config_name=CONFIG_NAME, overrides=overrides), resolve=True)


def test_default_design_composes_into_the_issue_5_design():
    study = load_study(composed([]))
    d = study.design
    assert [a.name for a in d.arms] == ["hucmscd", "placebo"] and d.allocation_ratio == 1.0
    assert d.stratify_by == "texas_grade" and d.dropout.rate == 0.10 and d.visit_interval_days == 7.0
    assert d.alpha == 0.05 and study.runin == RunIn(14.0, 0.30)
    assert study.treatments[0].schedule_days == [0.0, 7.0, 14.0, 21.0] and study.treatments[1].product == "placebo"
    assert study.analysis.effect_fractions == [1.0, 0.75, 0.5] and study.draws.source == "posterior"
    assert study.params.numerics.dx_um == 250.0 and study.cohort.stage_mix["B"] == 0.0
    with pytest.raises(InputError):
        load_study(composed(["runin.max_shrink_fraction=1.5"]))
    with pytest.raises(InputError, match="parallel"):
        load_study(composed(["+parallel.workers=3"]))


def test_tiny_design_study_writes_the_report_and_reuses_its_pools(tmp_path):
    cfg = composed(TINY_STUDY + [f"pool.cache_dir={tmp_path / 'cache'}"])
    run_design_study(cfg, tmp_path / "a")
    out = tmp_path / "a"
    for name in ("report.md", "power.csv", "assurance.csv", "recommended.csv", "pools.csv", "checks.csv",
                 "typical_trial.csv", "trials.parquet", "study.json"):
        assert (out / name).is_file(), name
    for fig in ("power_curves", "assurance_curves", "km_typical_trial", "closure_rates"):
        assert (out / "figures" / f"{fig}.png").stat().st_size > 1000, fig
    power = pd.read_csv(out / "power.csv")
    assert len(power) == 2 * 5 * 3 and set(power["arm_size"]) == {4, 8}
    assert power.loc[power["endpoint"] == "par_week4", "power"].max() > 0.5  # treated ulcers shrink faster
    assurance = pd.read_csv(out / "assurance.csv")
    assert (assurance["n_draws"] == 2).all() and len(assurance) == len(power)
    pools = pd.read_csv(out / "pools.csv")
    assert len(pools) == 6 and (~pools["from_cache"]).all() and (pools["runin_agreement"] == 1.0).all()
    checks = pd.read_csv(out / "checks.csv")
    assert {"bernoulli vs exact", "log-rank vs Schoenfeld", "type I error (design size)"} <= set(checks["check"])
    assert checks["passed"].dtype == bool and (checks["tolerance"] > 0).all()
    text = (out / "report.md").read_text()
    assert "Recommended arm sizes" in text and "posterior draws by weight" in text and "pool_sd" in text
    run_design_study(cfg, tmp_path / "b")
    assert pd.read_csv(tmp_path / "b" / "pools.csv")["from_cache"].all()
    pd.testing.assert_frame_equal(power, pd.read_csv(tmp_path / "b" / "power.csv"))


def test_app_reports_bad_input_in_one_line(tmp_path, capsys):
    from experiments.trial import main

    with pytest.raises(SystemExit) as exit_:  # in-process
        main(["runin.days=-3", f"hydra.run.dir={tmp_path}", "accept_calibration=true"])  # the calibration is stale
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "woundsim: error: runin.days" in err and "Traceback" not in err


def test_pool_cache_key_covers_every_simulation_source_including_all_kernels():
    from woundsim.codekey import code_modules

    modules = set(code_modules())
    package = Path(pools_module.__file__).resolve().parents[1]
    kernels = {f"woundsim.kernels.{p.stem}" for p in (package / "kernels").glob("*.py") if p.stem != "__init__"}
    assert kernels <= modules and {"woundsim.model", "woundsim.simulate", "woundsim.cohort"} <= modules
