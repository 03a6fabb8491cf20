"""Calibration (issue 3): statistics, distance, priors, ABC-SMC machinery, posterior files, end to end."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import yaml

from calibration.check import predictive_table
from calibration.app_config import compose_config
from calibration.cli import main
from calibration.distance import Target, ToleranceDistance, norm
from calibration.model import CohortModel, particle_seeds
from calibration.posterior import CONF_MODEL, write_posterior
from calibration.priors import FreeParameter, parameters_from_config, prior_distribution
from calibration.report import identifiability, verdict
from calibration.resolution import summarise
from calibration.runner import StoppingRule, generations, run_smc
from calibration.setup import load_setup
from calibration.statistics import ALL_STATISTICS, SOC_STATISTICS, enrolled_fraction_bounds, \
    enrolled_soc_statistics, observed_closure_day, soc_fraction_bounds, soc_statistics, trial_statistics
from woundsim.codekey import baseline_digest, code_key
from woundsim.cohort import simulate_cohort
from woundsim.errors import InputError
from woundsim.parallel import ParallelConfig
from woundsim.params import ModelParams
from woundsim.posterior import (apply_particle, draw_params, draw_scenarios, load_posterior, weighted_medians,
                                weighted_quantile)
from woundsim.tables import read_parquet
from woundsim.treatment import Treatment
from woundsim.trial.pools import PoolSpec, RunIn, candidate_row
from woundsim.units import weeks_to_days

NAN = math.nan


# ---- summary statistics on hand-made cohorts --------------------------------------------------------

def trial_table() -> pd.DataFrame:
    return pd.DataFrame({"time_to_closure_days": [10.0, 21.0, NAN, 30.5],
                         "recurrence_same_site_followup": [0.1, 0.2, NAN, 0.3]})


def soc_table() -> pd.DataFrame:
    return pd.DataFrame({"closed_by_week12": [True, False, False, False],
                         "closed_by_week20": [True, True, False, False],
                         "time_to_closure_days": [50.0, 120.0, NAN, NAN],
                         "recurrence_any_site_12m": [0.3, 0.5, NAN, NAN]})


def test_trial_statistics_count_closures_and_average_visit_days_of_healed_patients():
    weekly = trial_statistics(trial_table(), visit_interval_days=7.0)
    assert weekly["trial_closed_fraction"] == pytest.approx(0.75)
    assert weekly["trial_mean_closure_days"] == pytest.approx((14 + 21 + 35) / 3)  # seen at the next visit
    assert weekly["trial_recurrence_followup"] == pytest.approx(0.2)
    exact = trial_statistics(trial_table(), visit_interval_days=0.0)
    assert exact["trial_mean_closure_days"] == pytest.approx((10 + 21 + 30.5) / 3)


def test_closure_on_a_visit_day_is_seen_that_day():
    np.testing.assert_allclose(observed_closure_day(np.array([7.0, 7.01, 0.5, NAN]), 7.0), [7.0, 14.0, 7.0, NAN])


def test_trial_statistics_without_healers_are_undefined():
    table = pd.DataFrame({"time_to_closure_days": [NAN, NAN], "recurrence_same_site_followup": [NAN, NAN]})
    stats = trial_statistics(table)
    assert stats["trial_closed_fraction"] == 0.0
    assert math.isnan(stats["trial_mean_closure_days"]) and math.isnan(stats["trial_recurrence_followup"])


def test_soc_statistics_are_shares_of_the_whole_cohort_and_recurrence_of_healers():
    stats = soc_statistics(soc_table())
    assert stats == pytest.approx({"soc_closed_week12": 0.25, "soc_closed_week20": 0.5, "soc_recurrence_12m": 0.4})


def test_soc_recurrence_follows_the_healers_the_clinic_read_at_visits():
    # the third patient's remnant stayed below the detection limit: healed at visits, never at limit 0
    table = soc_table().assign(visit_closure_day=[56.0, 126.0, 91.0, NAN],
                               recurrence_any_site_12m=[0.3, 0.5, 0.7, NAN])
    assert soc_statistics(table)["soc_recurrence_12m"] == pytest.approx(0.5)


def test_soc_statistics_refuse_a_run_shorter_than_20_weeks():
    table = soc_table().astype({"closed_by_week20": object})
    table.loc[3, "closed_by_week20"] = None
    with pytest.raises(InputError, match="horizon_weeks >= 20"):
        soc_statistics(table)


def test_statistics_refuse_tables_without_the_summary_keys():
    with pytest.raises(InputError, match="lacks columns"):
        trial_statistics(pd.DataFrame({"time_to_closure_days": [1.0]}))


def test_standard_care_statistics_count_only_the_candidates_the_run_in_enrolled():
    """Excluded candidates (here given closures that would raise every share) do not enter the statistics."""
    screened = pd.concat([soc_table().assign(eligible=True),
                          soc_table().assign(eligible=False, closed_by_week12=True, closed_by_week20=True,
                                             time_to_closure_days=5.0, recurrence_any_site_12m=0.9)],
                         ignore_index=True)
    assert enrolled_soc_statistics(screened) == soc_statistics(soc_table())
    assert enrolled_soc_statistics(screened)["soc_closed_week12"] == 0.25
    nobody = enrolled_soc_statistics(screened.assign(eligible=False))
    assert list(nobody) == list(SOC_STATISTICS) and all(math.isnan(v) for v in nobody.values())
    with pytest.raises(InputError, match="eligible"):
        enrolled_soc_statistics(soc_table())  # a table that was not screened


def test_the_history_matching_simulator_counts_the_enrolled_of_its_screened_candidates():
    from calibration.cohort_simulator import CohortSimulator

    sim = CohortSimulator(load_setup(compose_config(["calibration=tiny"])))
    soc = pd.concat([soc_table().assign(eligible=True), pd.DataFrame({"eligible": [False] * 3})], ignore_index=True)
    arms = {"trial": trial_table(), "soc": soc}
    assert sim.statistics(arms) == pytest.approx({**trial_statistics(trial_table(), 7.0),
                                                  **soc_statistics(soc_table())})
    assert sim.counted(arms) == {"trial": 4, "soc": 4}


def test_fraction_bounds_after_some_patients():
    assert soc_fraction_bounds(np.array([True, False]), 4) == (0.25, 0.75)
    with pytest.raises(InputError):
        soc_fraction_bounds(np.array([True, True, True]), 2)


EXCLUDED, CLOSED, OPEN = "x", "c", "o"  # a screened candidate: excluded, enrolled and closed, enrolled and open


def _closed_share(outcomes) -> float:
    enrolled = [o for o in outcomes if o != EXCLUDED]
    return enrolled.count(CLOSED) / len(enrolled) if enrolled else NAN


def _screened(outcomes) -> tuple[np.ndarray, np.ndarray]:
    return np.array([o != EXCLUDED for o in outcomes], dtype=bool), np.array([o == CLOSED for o in outcomes
                                                                              if o != EXCLUDED], dtype=bool)


def test_enrolled_fraction_bounds_are_the_exact_range_of_every_completion():
    """Brute force over every screening of up to 4 candidates: after any k screened, the bounds are the least and
    greatest closed share of the enrolled over all outcomes of the rest (NaN exactly when none can be defined)."""
    import itertools

    for n in range(1, 5):
        for first in range(n + 1):
            for done in itertools.product((EXCLUDED, CLOSED, OPEN), repeat=first):
                finals = [_closed_share(done + rest)
                          for rest in itertools.product((EXCLUDED, CLOSED, OPEN), repeat=n - first)]
                defined = [f for f in finals if not math.isnan(f)]
                lowest, highest = enrolled_fraction_bounds(*_screened(done), n)
                if defined:
                    assert (lowest, highest) == pytest.approx((min(defined), max(defined))), (done, n)
                else:
                    assert math.isnan(lowest) and math.isnan(highest), (done, n)
    with pytest.raises(InputError, match="smaller than"):
        enrolled_fraction_bounds(np.array([True, True]), np.array([True, False]), 1)


def test_early_rejection_bound_never_exceeds_the_full_distance():
    """CohortModel's standard-care bound after k of n candidates is at most the terms of any completion (NaN
    statistics charged nan_penalty), so early rejection rejects only what the full simulation would."""
    import itertools

    model = CohortModel(load_setup(compose_config(["calibration=tiny"])))
    fractions = [t for t in model.distance.targets if t.name in ("soc_closed_week12", "soc_closed_week20")]
    closed = ToleranceDistance(fractions, nan_penalty=model.distance.nan_penalty)

    def row(week12: str, week20: str) -> dict:
        if week12 == EXCLUDED:
            return {"eligible": False}
        return {"eligible": True, "closed_by_week12": week12 == CLOSED, "closed_by_week20": week20 == CLOSED,
                "time_to_closure_days": 50.0 if week20 == CLOSED else NAN, "recurrence_any_site_12m": 0.3}

    kinds = [(EXCLUDED, EXCLUDED), (CLOSED, CLOSED), (OPEN, CLOSED), (OPEN, OPEN)]
    n = 3
    for outcomes in itertools.product(kinds, repeat=n):
        rows = [row(*o) for o in outcomes]
        final = np.abs(list(closed.terms(enrolled_soc_statistics(pd.DataFrame(rows))).values()))
        for k in range(1, n + 1):
            assert np.all(model._soc_bound(rows[:k], n) <= final + 1e-12), (outcomes, k)


# ---- distance ---------------------------------------------------------------------------------------

def test_deviation_is_scaled_by_the_interval_side_it_falls_on():
    t = Target("x", observed=0.3, low=0.2, high=0.5)
    assert t.z(0.1) == pytest.approx(-2.0)
    assert t.z(0.7) == pytest.approx(2.0)
    closed = Target("c", observed=1.0, low=0.69, high=1.0)  # zero width above: the other side's is used
    assert closed.z(0.69) == pytest.approx(-1.0) and closed.above == pytest.approx(0.31)


def test_distance_norms_and_nan_penalty():
    targets = [Target("a", 0.0, -1.0, 1.0), Target("b", 0.0, -2.0, 2.0)]
    d = ToleranceDistance(targets, p=2.0, nan_penalty=7.0)
    assert d({"a": 3.0, "b": 8.0}) == pytest.approx(5.0)
    assert d({"a": NAN, "b": 0.0}) == pytest.approx(7.0)
    assert ToleranceDistance(targets, p=math.inf)({"a": 3.0, "b": 8.0}) == pytest.approx(4.0)
    assert norm(np.array([]), 2.0) == 0.0


def test_lower_bound_of_a_range_is_zero_when_it_holds_the_observation():
    t = Target("x", 0.3, 0.2, 0.4)
    assert t.z_lower_bound(0.1, 0.5) == 0.0
    assert t.z_lower_bound(0.5, 0.9) == pytest.approx(2.0)
    assert t.z_lower_bound(0.0, 0.1) == pytest.approx(2.0)


def test_bad_targets_are_refused():
    with pytest.raises(InputError):
        Target("x", observed=0.5, low=0.6, high=0.7)


# ---- priors and setup -------------------------------------------------------------------------------

def test_log_priors_sample_log10_and_convert_back():
    p = FreeParameter("k", "model.keratinocyte.speed_um_day", "loguniform", {"low": 10.0, "high": 1000.0})
    assert p.log and p.to_abc(100.0) == pytest.approx(2.0) and p.to_natural(2.0) == pytest.approx(100.0)
    assert p.interval(1.0) == pytest.approx((10.0, 1000.0))
    q = FreeParameter("m", "model.x.y", "lognormal", {"median": 3.0, "gsd": 2.0})
    assert q.to_natural(q.distribution().median()) == pytest.approx(3.0)
    prior = prior_distribution([p, q])
    assert prior.pdf({"k": 2.0, "m": math.log10(3.0)}) > 0


def test_parameter_config_errors_name_the_key():
    with pytest.raises(InputError, match="kc"):
        parameters_from_config({"kc": {"target": "model.a", "prior": "uniform", "low": 2, "high": 1}})
    with pytest.raises(InputError, match="unknown keys"):
        parameters_from_config({"kc": {"target": "model.a", "prior": "uniform", "low": 1, "high": 2, "sd": 1}})


def test_default_config_composes_into_a_problem_with_every_target():
    cfg = compose_config([])
    setup = load_setup(cfg)
    assert {t.name for t in setup.targets} == set(ALL_STATISTICS)
    assert setup.trial.n_patients == 10 and setup.soc.horizon_weeks >= 20
    natural = {p.target: p.to_natural(float(p.distribution().median())) for p in setup.parameters}
    trial_params, treatment, soc_params = setup.arm_objects(natural)
    assert treatment.dose_ug_per_site == pytest.approx(natural["treatment.dose_ug_per_site"])
    assert soc_params.numerics.horizon_weeks == 20
    for params in (trial_params, soc_params):  # both arms run on the calibration's grid
        assert (params.numerics.dx_um, params.numerics.dt_agent_h) == (cfg["grid"]["dx_um"], cfg["grid"]["dt_agent_h"]) == (200, 1)


def test_unknown_parameter_targets_are_refused():
    config = compose_config(["calibration=tiny"])
    config["parameters"]["kc_speed"]["target"] = "model.keratinocyte.no_such_rate"
    with pytest.raises(InputError, match="unknown model parameter"):
        load_setup(config)


def test_the_seed_trials_population_and_care_act_on_the_trial_arm_only():
    """`trial.cohort.*` free parameters (the seed trial's unpublished areas and offloading) change the trial arm's
    patients and nothing else: the standard-care arm's patients, the model parameters and the regimen are those of
    the same particle without them."""
    config = compose_config(["calibration=tiny"])
    config["free"] = ["kc_speed", "trial_area", "trial_offloading"]
    setup = load_setup(config)
    assert [p.target for p in setup.parameters][1:] == ["trial.cohort.area_median_cm2",
                                                        "trial.cohort.offloading_adherence_mean"]
    natural = {p.target: p.to_natural(float(p.distribution().median())) for p in setup.parameters}
    small = {**natural, "trial.cohort.area_median_cm2": 0.3, "trial.cohort.offloading_adherence_mean": 0.9}
    assert setup.arm_objects(small) == setup.arm_objects(natural)
    arm = setup.trial_arm(small)
    assert (arm.spec.area_median_cm2, arm.spec.offloading_adherence_mean) == (0.3, 0.9)
    assert arm.spec.area_gsd == setup.trial.spec.area_gsd and arm.n_patients == setup.trial.n_patients
    assert setup.trial_arm({"model.keratinocyte.speed_um_day": 60.0}) is setup.trial
    pars = {p.key: float(p.distribution().median()) for p in setup.parameters}
    base = setup.arms(pars)
    low = setup.arms({**pars, "trial_offloading": 0.71})
    high = setup.arms({**pars, "trial_offloading": 0.90})
    adherence = [np.mean([p.offloading_adherence for p in a["trial"].patients]) for a in (low, high)]
    assert adherence[0] < adherence[1]
    assert len(base["trial"].patients) == setup.trial.n_patients


@pytest.mark.parametrize("target, value, message", [
    ("trial.cohort.no_such_field", 1.0, r"unknown numeric seed-trial cohort fields \['no_such_field'\]"),
    ("trial.cohort.grade_mix", 1.0, r"unknown numeric seed-trial cohort fields \['grade_mix'\]"),
    ("trial.cohort.offloading_adherence_mean", 0.97, r"^calibration\.parameters \(trial\.cohort\.\*\): cohort "
                                                      r"seed_trial: offloading adherence mean 0\.97\d* and SD 0\.25"),
])
def test_a_bad_seed_trial_cohort_parameter_is_refused_in_one_line(target, value, message):
    config = compose_config(["calibration=tiny"])
    config["parameters"] = {k: v for k, v in config["parameters"].items() if v["target"] != target}
    config["parameters"]["kc_speed"] = {"target": target, "prior": "uniform", "low": value, "high": value + 0.01}
    with pytest.raises(InputError, match=message):
        load_setup(config)


def test_a_seed_trial_prior_that_leaves_the_cohorts_range_only_at_its_end_is_refused():
    config = compose_config([])
    config["parameters"]["trial_offloading"]["high"] = 0.95  # a beta of SD 0.25 needs a mean below 0.93
    with pytest.raises(InputError, match=r"offloading adherence mean 0\.94\d* and SD 0\.25"):
        load_setup(config)


def test_particle_seeds_depend_on_values_only():
    a = particle_seeds(1, {"x": 0.5, "y": 2.0})
    assert a == particle_seeds(1, {"y": 2.0, "x": 0.5})
    assert a != particle_seeds(1, {"x": 0.5000001, "y": 2.0}) and a != particle_seeds(2, {"x": 0.5, "y": 2.0})


def test_model_simulates_the_trial_cohort_and_the_feasibility_screening_of_standard_care():
    """The pyabc model and the history-matching simulator simulate the trial arm exactly as
    woundsim.cohort.simulate_cohort would, and standard care exactly as the feasibility studies screen a batch of
    the same size and seed: the virtual trial's pool (14-day run-in, 20 weeks + the confirmation window after
    randomisation), the statistics over the enrolled."""
    from calibration.cohort_simulator import CohortSimulator

    setup = load_setup(compose_config(["calibration=tiny"]))
    assert setup.soc.runin == RunIn(14.0, 0.30) and setup.trial.runin is None
    pars = {p.key: float(p.distribution().median()) for p in setup.parameters}
    stats = CohortModel(setup)(pars)
    trial_params, treatment, soc_params = setup.arm_objects({p.target: p.to_natural(pars[p.key])
                                                             for p in setup.parameters})
    trial_seed, soc_seed = particle_seeds(setup.seed, pars)
    serial = ParallelConfig(backend="serial", progress=False)
    trial = simulate_cohort(setup.trial.spec, 3, treatment, trial_params, seed=trial_seed, parallel=serial)
    batch = PoolSpec(soc_params, setup.soc.spec, setup.soc.treatment, 3, soc_seed, RunIn(14.0, 0.30),
                     weeks_to_days(20 + 2))
    soc = pd.DataFrame([candidate_row(task) for task in batch.tasks()])
    assert stats == pytest.approx({**trial_statistics(trial, 7.0), **enrolled_soc_statistics(soc)}, nan_ok=True)
    patients = CohortSimulator(setup).patients(pars, setup.seed)
    pd.testing.assert_frame_equal(patients["soc"], soc)
    from calibration.check import _simulate_draw  # the predictive check's draws: the same statistics, and more

    draw = _simulate_draw((setup, pars, setup.seed))
    assert {k: draw[k] for k in stats} == pytest.approx(stats, nan_ok=True)
    assert draw["n.trial_closed_fraction"] == 3 and draw["n.soc_closed_week12"] == int(soc["eligible"].sum())


# ---- the ABC-SMC machinery on a cheap stand-in model with known parameters ---------------------------

TRUE = {"mu": 1.5, "log_sigma": math.log10(0.5)}


def standin_model(pars: dict) -> dict:
    """A 'cohort' of 200 normal draws; statistics mean and SD. The parameter `nuisance` does nothing."""
    rng = np.random.default_rng(particle_seeds(7, pars)[0])
    x = pars["mu"] + 10.0 ** pars["log_sigma"] * rng.standard_normal(200)
    return {"mean": float(x.mean()), "sd": float(x.std(ddof=1))}


def standin_problem():
    parameters = [FreeParameter("mu", "model.mu", "uniform", {"low": 0.0, "high": 4.0}),
                  FreeParameter("log_sigma", "model.sigma", "loguniform", {"low": 0.1, "high": 2.0}),
                  FreeParameter("nuisance", "model.nuisance", "uniform", {"low": 0.0, "high": 1.0})]
    observed = standin_model({**TRUE, "nuisance": 0.0})
    se_mean, se_sd = 0.5 / math.sqrt(200), 0.5 / math.sqrt(2 * 199)
    targets = [Target("mean", observed["mean"], observed["mean"] - 1.96 * se_mean, observed["mean"] + 1.96 * se_mean),
               Target("sd", observed["sd"], observed["sd"] - 1.96 * se_sd, observed["sd"] + 1.96 * se_sd)]
    return parameters, targets, observed


def run_standin(db, generations_total: int, lines: list | None = None):
    parameters, targets, observed = standin_problem()
    return run_smc(standin_model, prior_distribution(parameters), ToleranceDistance(targets), observed, db,
                   population_size=200, stopping=StoppingRule(max_generations=generations_total, min_epsilon=0.5),
                   progress=(lines.append if lines is not None else (lambda s: None)))


def test_abc_smc_recovers_known_parameters_of_a_stand_in_model(tmp_path):
    np.random.seed(12345)  # pyabc draws its proposals from numpy's global generator: fix it for this test
    history = run_standin(tmp_path / "standin.db", 8)
    parameters, _, _ = standin_problem()
    frame, w = history.get_distribution(m=0)
    table = frame.rename(columns=lambda c: f"abc.{c}").assign(weight=np.asarray(w) / np.sum(w))
    for key, truth in TRUE.items():
        x = table[f"abc.{key}"].to_numpy()
        low, high = weighted_quantile(x, table["weight"], 0.025), weighted_quantile(x, table["weight"], 0.975)
        assert low <= truth <= high, (key, low, truth, high)
    ident = identifiability(table, parameters).set_index("key")
    assert ident.loc["mu", "verdict"] == "identified" and ident.loc["log_sigma", "verdict"] == "identified"
    assert ident.loc["nuisance", "verdict"] == "not identified"  # the data say nothing about it


def test_a_stopped_run_resumes_from_its_database(tmp_path):
    np.random.seed(54321)
    db = tmp_path / "resume.db"
    first = generations(run_standin(db, 2))
    lines: list[str] = []
    second = generations(run_standin(db, 4, lines))
    assert lines[0].startswith("resuming") and len(second) == 4
    pd.testing.assert_frame_equal(first[["t", "epsilon", "samples"]], second[["t", "epsilon", "samples"]].iloc[:2])
    assert np.isfinite(second["epsilon"].iloc[2]) and second["epsilon"].iloc[2] <= second["epsilon"].iloc[1]


def test_walltime_rule_refuses_a_generation_that_would_overrun(tmp_path):
    np.random.seed(1)
    history = run_standin(tmp_path / "w.db", 1)
    from calibration.runner import stop_reason

    assert stop_reason(history, StoppingRule(max_generations=9), elapsed_s=0.0) is None
    assert "max_walltime" in stop_reason(history, StoppingRule(max_generations=9, max_walltime_minutes=1e-6), 0.0)


def test_verdict_thresholds():
    assert [verdict(r) for r in (0.1, 0.6, 0.95)] == ["identified", "weakly identified", "not identified"]


def test_predictive_table_reports_share_inside_the_observed_interval():
    draws = pd.DataFrame({"a": [0.0, 0.5, 1.0, 2.0]})
    row = predictive_table(draws, [Target("a", 0.5, 0.0, 1.0)]).iloc[0]
    assert row["share_in_observed_interval"] == pytest.approx(0.75) and row["sim_median"] == pytest.approx(0.75)


# ---- posterior files --------------------------------------------------------------------------------

def write_toy_posterior(path):
    parameters = [FreeParameter("kc", "model.keratinocyte.speed_um_day", "loguniform", {"low": 10.0, "high": 1000.0}),
                  FreeParameter("dose", "treatment.dose_ug_per_site", "loguniform", {"low": 1.0, "high": 100.0})]
    table = pd.DataFrame({"particle": [0, 1], "weight": [0.0, 1.0], "distance": [1.0, 2.0],
                          "model.keratinocyte.speed_um_day": [50.0, 200.0], "treatment.dose_ug_per_site": [5.0, 40.0],
                          "abc.kc": [math.log10(50), math.log10(200)], "abc.dose": [math.log10(5), math.log10(40)]})
    return write_posterior(table, parameters, path, {"calibration": "toy"})


def test_posterior_round_trip_and_draws(tmp_path):
    path = write_toy_posterior(tmp_path / "posterior.parquet")
    particles, weights = load_posterior(path)
    assert list(particles.columns) == ["model.keratinocyte.speed_um_day", "treatment.dose_ug_per_site"]
    np.testing.assert_allclose(weights, [0.0, 1.0])
    params = draw_params(3, np.random.default_rng(0), path)
    assert all(isinstance(p, ModelParams) and p.keratinocyte.speed_um_day == 200.0 for p in params)
    (p, t), = draw_scenarios(1, np.random.default_rng(0), Treatment(), path)
    assert t.dose_ug_per_site == 40.0 and p.keratinocyte.speed_um_day == 200.0
    assert weighted_medians(particles, np.array([0.5, 0.5]))["treatment.dose_ug_per_site"] == pytest.approx(22.5)


def test_apply_particle_keeps_other_parameters():
    params, treatment = apply_particle({"model.keratinocyte.speed_um_day": 99.0})
    assert params.keratinocyte.speed_um_day == 99.0 and params.fibroblast == ModelParams().fibroblast
    assert treatment is None


def test_missing_posterior_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_posterior(tmp_path / "none.parquet")


def test_cli_refuses_a_folder_that_is_not_a_calibration(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["check", str(tmp_path)])
    assert exc.value.code == 2 and "not a calibration output folder" in capsys.readouterr().err


# ---- end to end -------------------------------------------------------------------------------------

def test_tiny_calibration_runs_end_to_end_and_installs(tmp_path):
    from calibration.pipeline import calibrate, install

    lines: list[str] = []
    config = compose_config(["calibration=tiny"])
    report = calibrate(config, tmp_path / "tiny", progress=lines.append)
    out = report.parent
    assert any(line.startswith("generation 1:") for line in lines)
    posterior = read_parquet(out / "posterior.parquet")
    assert len(posterior) == 4 and posterior["weight"].sum() == pytest.approx(1.0)
    ppc = pd.read_csv(out / "predictive_table.csv")
    assert set(ppc["target"]) == set(ALL_STATISTICS)
    for name in ("posterior_marginals", "posterior_pairs", "posterior_predictive", "generations"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 0
    assert "## Identifiability" in report.read_text()
    conf_model = tmp_path / "conf_model"
    conf_model.mkdir()
    named, parquet, regimen, record = install(out, conf_model=conf_model)
    overrides = yaml.safe_load(named.read_text())
    assert overrides["keratinocyte"]["speed_um_day"] > 0 and "recurrence" in overrides
    assert load_posterior(parquet)[0].shape == (4, 2)
    trial_regimen = Treatment(**yaml.safe_load(regimen.read_text()))  # tiny calibrates no treatment.* value
    weekly = CONF_MODEL.parent / "treatment" / "hucmscd_weekly.yaml"
    assert trial_regimen == Treatment(**yaml.safe_load(weekly.read_text()))
    recorded = json.loads(record.read_text())  # the code it was fitted under, for woundsim.calibration_code
    assert recorded["code_key"] == code_key() and recorded["baseline_digest"] == baseline_digest()
    assert json.loads((out / "code.json").read_text())["code_key"] == code_key()
    session = json.loads((out / "sessions.jsonl").read_text().splitlines()[-1])
    assert {"git", "versions", "wall_time_s"} <= set(session) and session["generations"] >= 1


def test_installed_named_set_composes_as_a_model_option():
    """`woundsim run model=calibrated` composes into ModelParams carrying the posterior medians."""
    from hydra import compose, initialize_config_dir

    from calibration.posterior import CONF_MODEL
    from woundsim.config import register_configs, to_objects

    named = CONF_MODEL / "calibrated.yaml"
    if not named.is_file():
        pytest.skip("no calibrated parameter set installed (python -m calibration install OUT_DIR)")
    register_configs()
    with initialize_config_dir(config_dir=str(CONF_MODEL.parent), version_base="1.3"):
        cfg = compose(config_name="config", overrides=["model=calibrated"])
    params = to_objects(cfg)[0]
    particles, weights = load_posterior(CONF_MODEL / "calibrated_posterior.parquet")
    for name, value in weighted_medians(particles, weights).items():
        if name.startswith("model."):
            section, leaf = name[len("model."):].split(".")
            assert getattr(getattr(params, section), leaf) == pytest.approx(value, rel=1e-3)


def test_resolution_summary_compares_only_patients_that_close_on_both_grids():
    def rows(arm, patient, grid, days):
        return [{"grid": grid, "arm": arm, "patient": patient, "replicate": r, "area_cm2": 1.0, "texas_grade": 2,
                 "duration_weeks": 15.0, "closure_day": d} for r, d in enumerate(days)]

    nan = math.nan
    runs = pd.DataFrame(rows("trial", 0, "calibration", [40, 42, 44]) + rows("trial", 0, "reference", [41, 43, 45])
                        + rows("trial", 1, "calibration", [30, 31, 32]) + rows("trial", 1, "reference", [50, 51, 52])
                        + rows("soc", 0, "calibration", [90, 92, 94]) + rows("soc", 0, "reference", [nan] * 3)
                        + rows("soc", 1, "calibration", [nan, 120, nan]) + rows("soc", 1, "reference", [nan] * 3)
                        + rows("soc", 2, "calibration", [nan] * 3) + rows("soc", 2, "reference", [nan] * 3))
    t = summarise(runs).set_index(["arm", "patient"])
    assert t.loc[("trial", 0), "shift_days"] == pytest.approx(-1.0) and t.loc[("trial", 0), "seed_sd"] == 2.0
    assert t["verdict"].to_dict() == {("trial", 0): "within seed spread", ("trial", 1): "shifted",
                                      ("soc", 0): "closes on one grid only", ("soc", 1): "partly closed",
                                      ("soc", 2): "closes on neither"}
    assert t.loc[("soc", 1), "closed_calibration"] == 1 and t.loc[("soc", 1), "seeds"] == 3


def test_the_calibrations_arms_for_a_posterior_draw_are_one_call():
    """A draw of the installed posterior rebuilds the patients and seeds the fit simulated for its particle."""
    from calibration.setup import posterior_setup
    from woundsim.posterior import draw_particles, load_particles

    setup = posterior_setup()
    assert setup.soc.runin is None  # fitted before the standard-care run-in: its arm is rebuilt without one
    draw = draw_particles(1, np.random.default_rng(4)).iloc[0]
    arms = setup.arms(draw)
    assert len(arms["trial"].patients) == setup.trial.n_patients and len(arms["soc"].seeds) == setup.soc.n_patients
    assert arms["trial"].treatment.dose_ug_per_site == pytest.approx(draw["treatment.dose_ug_per_site"])
    assert arms["soc"].treatment == setup.soc.treatment and arms["soc"].params.numerics.horizon_weeks == 20.0
    pars = {p.key: float(draw[f"abc.{p.key}"]) for p in setup.parameters}
    assert all(setup.arms(pars)[arm].tasks() == arms[arm].tasks() for arm in ("trial", "soc"))
    row = load_particles().set_index("particle").loc[draw["particle"]]
    assert setup.arms(row)["trial"].seeds == arms["trial"].seeds


@pytest.mark.parametrize("runin, message", [
    ({"days": 100}, r"^calibration\.soc\.runin\.days = 100 d is out of range; allowed \[0\.0, 56\.0\] d"),
    ({"days": 14.5}, r"^calibration\.soc\.runin\.days = 14\.5 must be a whole number of days$"),
    ({"days": 14, "max_shrink_fraction": 1.5}, r"^calibration\.soc\.runin\.max_shrink_fraction = 1\.5 is out of range"),
    ({"days": "two weeks"}, r"^calibration\.soc\.runin\.days must be a number, got 'two weeks'$"),
    ({"days": 14, "shrink": 0.3},
     r"^calibration\.soc\.runin has unknown keys \['shrink'\]; allowed days, max_shrink_fraction$"),
    (None, r"^calibration\.soc\.runin = None; give \{days: 14, max_shrink_fraction: 0\.30\}"),
])
def test_a_bad_standard_care_run_in_is_refused_in_one_line(runin, message):
    config = compose_config(["calibration=tiny"])
    config["soc"]["runin"] = runin
    with pytest.raises(InputError, match=message):
        load_setup(config)


def test_only_the_standard_care_arm_has_a_run_in():
    config = compose_config(["calibration=tiny"])
    config["trial"]["runin"] = {"days": 14}
    with pytest.raises(InputError, match=r"calibration\.trial has unknown keys \['runin'\]"):
        load_setup(config)
    config = compose_config(["calibration=tiny"])
    del config["soc"]["runin"]
    with pytest.raises(InputError, match=r"calibration\.soc\.runin = None"):
        load_setup(config)


def test_a_config_calibrating_version_1_recurrence_is_refused_in_one_line():
    config = compose_config(["calibration=tiny"])
    config["parameters"]["hazard"] = {"target": "model.recurrence.hazard_per_month", "prior": "lognormal",
                                      "median": 0.03, "gsd": 2.0}
    config["free"] = ["kc_speed", "hazard"]
    with pytest.raises(InputError, match=r"\['hazard'\] set version 1's recurrence"):
        load_setup(config)


def test_the_old_name_of_the_trial_recurrence_statistic_is_refused_naming_the_new_one(tmp_path):
    """trial_recurrence_24m read whatever follow-up the parameters set: it is trial_recurrence_followup now."""
    from calibration.distance import targets_from_config
    from calibration.pipeline import _claim

    old = {"trial_recurrence_24m": {"observed": 0.0, "low": 0.0, "high": 0.31}}
    message = r"statistic 'trial_recurrence_24m' is now 'trial_recurrence_followup' .*; rename it$"
    with pytest.raises(InputError, match=r"^calibration\.targets: " + message):
        targets_from_config(old)
    (tmp_path / "calibration.yaml").write_text(yaml.safe_dump({"name": "old", "targets": old}))
    with pytest.raises(InputError, match=r"calibration\.yaml: " + message):
        _claim(tmp_path, {"name": "old", "targets": {}})


def test_a_failed_finish_leaves_no_report_that_looks_current(tmp_path):
    """finish() removes the previous session's tables, figures and report before it writes new ones, so a
    failure part-way (here at once: no history) leaves nothing that looks current, and the error propagates."""
    from calibration.pipeline import FINISH_OUTPUTS, finish

    for name in FINISH_OUTPUTS:
        if name != "figures":
            (tmp_path / name).write_text("from an earlier session")
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "posterior_marginals.png").write_bytes(b"old")
    (tmp_path / "abc.db").write_text("kept: the run itself")
    with pytest.raises(Exception):
        finish(None, None, tmp_path, progress=lambda line: None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["abc.db"]
