"""History matching and emulator sampling (calibration.history_matching): hand-made implausibility cases, the
binomial boundary terms, the leave-one-out diagnostic, resumable waves and the posterior file on the stand-in
model, and (slow) recovery of the stand-in's known parameters over 30 replications."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from calibration.history_matching.design import latin_hypercube, to_abc, to_quantiles
from calibration.history_matching.emulator import StatisticEmulator, loo_diagnostic, min_evaluations
from calibration.history_matching.evaluations import WaveStore
from calibration.history_matching.implausibility import (Observation, boundary_tail, combine, implausibility,
                                                         log_likelihood)
from calibration.history_matching.sampling import (SamplingOptions, kish_ess, merge_duplicates, nearest_to_medians,
                                                   next_temperature, sample_posterior, systematic_resample)
from calibration.history_matching.waves import WaveOptions, run_waves
from calibration.posterior import write_posterior
from calibration.standin import STANDIN_PRIORS, STANDIN_TRUTH, StandInSimulator, observed_study
from woundsim.errors import InputError
from woundsim.parallel import ParallelConfig
from woundsim.posterior import load_posterior, weighted_quantile

SERIAL = ParallelConfig(backend="serial", progress=False)


# ---- implausibility and the binomial terms, by hand --------------------------------------------------

def test_implausibility_counts_each_variance_once():
    obs = Observation("days", 30.0, "normal", n=10, sd=4.0, discrepancy_sd=3.0)
    # |30 - 18| / sqrt(emulator 2^2 + discrepancy 3^2 + sampling 4^2) = 12 / sqrt(29)
    assert implausibility(obs, np.array([18.0]), np.array([4.0]))[0] == pytest.approx(12.0 / np.sqrt(29.0))


def test_model_sampling_variance_is_the_per_patient_variance_over_the_observed_size():
    obs = Observation("days", 30.0, "normal", n=10)
    # per-patient variance 250 at the observed size 10: 25; |30 - 20| / sqrt(0 + 0 + 25) = 2
    assert implausibility(obs, np.array([20.0]), np.array([0.0]), unit_var=np.array([250.0]))[0] == pytest.approx(2.0)


def test_interior_binomial_uses_the_sampling_variance_at_the_observed_size():
    obs = Observation("share", 0.242, "binomial", n=326)
    mean = np.array([0.30])
    expected = abs(0.242 - 0.30) / np.sqrt(0.001 + 0.30 * 0.70 / 326)
    assert implausibility(obs, mean, np.array([0.001]))[0] == pytest.approx(expected)


def test_boundary_binomial_is_the_normal_quantile_of_the_tail_probability():
    all_closed = Observation("closed", 1.0, "binomial", n=10)
    # a sure p = 0.5: P(10/10) = 0.5^10; I = Phi^-1(1 - P)
    assert implausibility(all_closed, np.array([0.5]), np.array([0.0]))[0] == pytest.approx(stats.norm.isf(0.5 ** 10))
    # the cut-off 3 falls where p^10 = 0.00135: p = 0.516
    p3 = stats.norm.sf(3.0) ** 0.1
    assert implausibility(all_closed, np.array([p3]), np.array([0.0]))[0] == pytest.approx(3.0, abs=1e-6)
    assert implausibility(all_closed, np.array([0.99]), np.array([0.0]))[0] == 0.0  # P >= 1/2: not implausible
    none_recurred = Observation("recurred", 0.0, "binomial", n=10)
    assert boundary_tail(none_recurred, np.array([0.2]), np.array([0.0]))[0] == pytest.approx(0.8 ** 10)


def test_emulator_uncertainty_raises_the_boundary_tail():
    obs = Observation("closed", 1.0, "binomial", n=10)
    sure, unsure = (boundary_tail(obs, np.array([0.5]), np.array([v]))[0] for v in (0.0, 0.04))
    assert unsure > sure  # E[p^10] > 0.5^10 when p is uncertain (Jensen): emulator variance is counted
    assert implausibility(obs, np.array([0.5]), np.array([0.04]))[0] < implausibility(obs, np.array([0.5]), np.array([0.0]))[0]


def test_binomial_likelihood_and_combination_rules():
    obs = Observation("share", 0.3, "binomial", n=10)
    assert np.exp(log_likelihood(obs, np.array([0.4]), np.array([0.0])))[0] == pytest.approx(stats.binom.pmf(3, 10, 0.4))
    values = np.array([[0.5, 4.0, 2.0]])
    assert combine(values, "max")[0] == 4.0 and combine(values, "second_max")[0] == 2.0
    with pytest.raises(InputError, match="kind"):
        Observation("x", 0.5, "poisson")


def test_bad_history_matching_configs_are_refused_in_one_line():
    from calibration.backends import backend_for
    from calibration.backends.history_matching import options_from
    from calibration.history_matching.implausibility import observations_from_config

    with pytest.raises(InputError, match="calibration.method = 'mcmc' is unknown"):
        backend_for("mcmc")
    with pytest.raises(InputError, match=r"history_matching has unknown keys \['wave'\]"):
        options_from({"wave": 3}, WaveOptions, "history_matching")
    with pytest.raises(InputError, match="is not a target"):
        observations_from_config({"closed": {"kind": "binomial", "n": 10}}, {"other": 0.5})
    defaults = observations_from_config({"soc_closed_week12": {"kind": "binomial"}}, {"soc_closed_week12": 0.242})
    assert defaults[0].n == 326  # conf/targets.csv's n_observed of SOC01
    with pytest.raises(InputError, match="n = 0 must be >= 1"):
        observations_from_config({"closed": {"kind": "binomial", "n": 0}}, {"closed": 0.5})


# ---- emulators and their diagnostics ---------------------------------------------------------------

def _noisy_function(n=40, noise_sd=0.05, seed=0):
    rng = np.random.default_rng(seed)
    u = latin_hypercube(n, 2, rng)
    y = np.sin(3 * u[:, 0]) + u[:, 1] ** 2 + noise_sd * rng.standard_normal(n)
    return u, y, np.full(n, noise_sd ** 2)


def test_an_emulator_with_the_true_noise_passes_leave_one_out():
    u, y, noise = _noisy_function()
    emulator = StatisticEmulator(restarts=1, seed=1).fit(u, y, noise)
    assert loo_diagnostic(emulator.loo_errors()).passed
    mean, var = emulator.predict(np.array([[0.5, 0.5]]))
    assert abs(mean[0] - (np.sin(1.5) + 0.25)) < 0.1 and var[0] > 0


def test_an_inflated_nugget_fails_leave_one_out():
    u, y, noise = _noisy_function()
    emulator = StatisticEmulator(restarts=1, seed=1).fit(u, y, noise * 25.0)  # claims 5x the true noise SD
    diagnostic = loo_diagnostic(emulator.loo_errors())
    assert diagnostic.sd < 0.7 and not diagnostic.passed


def test_rows_sharing_a_design_point_are_left_out_together():
    """A point's restatements share its patients: leave-one-out leaves the whole point out, so a near-copy cannot
    predict its twin. Alone in its group, a row's error is the ordinary closed form."""
    u, y, noise = _noisy_function()
    twins_u = np.vstack([u, u + 1e-4])
    twins_y = np.concatenate([y, y])
    each = StatisticEmulator(restarts=1, seed=1).fit(twins_u, twins_y, np.concatenate([noise, noise]))
    grouped = StatisticEmulator(restarts=1, seed=1).fit(twins_u, twins_y, np.concatenate([noise, noise]),
                                                        groups=np.concatenate([np.arange(len(y))] * 2))
    single = StatisticEmulator(restarts=1, seed=1).fit(u, y, noise)
    alone, together, truth = (np.std(e.loo_errors()) for e in (each, grouped, single))
    # left out alone, a twin is predicted by its copy: the errors shrink (SD 0.74 against 0.82 without twins);
    # left out together they read as the design without twins does (0.88)
    assert together > 1.1 * alone and abs(together - truth) < abs(alone - truth)
    k_inv = np.linalg.inv(single.gp.kernel_(single.u) + np.diag(single.alpha))
    assert np.allclose(single.loo_errors(), (k_inv @ single.resid) / np.sqrt(np.diag(k_inv)))


def test_quantile_space_round_trips_and_the_design_fills_the_cube():
    u = latin_hypercube(20, len(STANDIN_PRIORS), np.random.default_rng(3))
    assert np.allclose(to_quantiles(STANDIN_PRIORS, to_abc(STANDIN_PRIORS, u)), u)
    assert all(len(np.unique(np.floor(u[:, j] * 20))) == 20 for j in range(u.shape[1]))  # one point per stratum


# ---- waves and the posterior on the stand-in ---------------------------------------------------------

def _standin_problem(seed=1):
    observed, sizes = observed_study(STANDIN_TRUTH, 20, 30, seed)
    return [Observation(k, v, "normal" if k == "trial_mean_closure_days" else "binomial", sizes[k])
            for k, v in observed.items()]


SMALL = WaveOptions(waves=2, design_size=24, later_design_size=24, bootstrap=12, restarts=0, batch=5000,
                    max_draws=40000, region_size=400)


@pytest.fixture(scope="module")
def standin_waves(tmp_path_factory):
    """Two small waves on the stand-in, run once: (folder, observations, result)."""
    folder = tmp_path_factory.mktemp("waves")
    observations = _standin_problem()
    result = run_waves(StandInSimulator(), observations, WaveStore(folder), SMALL, seed=5, parallel=SERIAL,
                       progress=lambda line: None)
    return folder, observations, result


def test_waves_store_every_evaluation_and_resume_without_resimulating(standin_waves, tmp_path):
    import shutil

    folder, observations, first = standin_waves
    shutil.copytree(folder, tmp_path, dirs_exist_ok=True)
    lines = []
    assert list(first.table["design_size"]) == [24, 24] and (first.table["nonimplausible_share"] < 1).all()
    assert set(first.diagnostics["statistic"]) == {o.name for o in observations}
    patients = WaveStore(tmp_path).patients(0, "soc")  # the per-patient closure states, for post-closure fits
    assert len(patients) == 24 * 30 and {"point", "patient", "recurrence_any_site_12m"} <= set(patients.columns)
    # a wave cut short: drop the last 10 evaluations of wave 1 and resume
    path = WaveStore(tmp_path).path(1, "evaluations")
    rows = path.read_text().splitlines()
    path.write_text("\n".join(rows[:-10]) + "\n")
    again = run_waves(StandInSimulator(), observations, WaveStore(tmp_path), SMALL, seed=5, parallel=SERIAL,
                      progress=lines.append)
    assert any("24 design points, 14 stored, 10 to simulate" in line for line in lines)
    # the same evaluations, the same emulators and region, to the bit: the tables are read back exactly
    assert np.array_equal(again.region, first.region)
    cpu = ["cpu_s_per_evaluation"]  # the 10 points simulated again took their own time
    pd.testing.assert_frame_equal(again.table.drop(columns=cpu), first.table.drop(columns=cpu), check_exact=True)


def test_a_wave_table_reads_back_to_the_bit(tmp_path):
    """A design and an evaluation read back equal what was written (pandas' default CSV parser can be one ulp off,
    which made a resumed calibration's emulators differ from the uninterrupted run's)."""
    from calibration.history_matching.evaluations import Evaluation

    store = WaveStore(tmp_path)
    u = np.random.default_rng(1).random((40, 5))
    design = pd.DataFrame(u, columns=[f"u.{i}" for i in range(5)]).assign(point=np.arange(40))
    store.write_design(0, design)
    assert np.array_equal(store.design(0)[design.columns].to_numpy(), design.to_numpy())
    values = {"s": float(u[0, 0]) / 3.0}
    store.append(0, Evaluation(0, values, {"s": float(u[1, 1]) / 7.0}, {"trial": pd.DataFrame({"x": u[:, 2]})},
                               {"trial": 40}))
    assert store.evaluations(0)["s"].iloc[0] == values["s"]
    assert np.array_equal(store.patients(0, "trial")["x"].to_numpy(), u[:, 2])


def test_a_wave_stores_the_enrolled_counts_and_candidate_columns_that_appear_later(tmp_path):
    """A screened arm's table gains the outcome columns only at points where someone was enrolled: the stored
    table grows them (empty for earlier points); each evaluation records the patients its arms' statistics count."""
    from calibration.history_matching.evaluations import Evaluation

    store = WaveStore(tmp_path)
    trial = pd.DataFrame({"time_to_closure_days": [30.0]})
    nobody = pd.DataFrame({"candidate": [0, 1], "eligible": [False, False]})
    one = pd.DataFrame({"candidate": [0, 1], "eligible": [True, False], "closed_by_week12": [True, None]})
    for point, soc, n in ((0, nobody, 0), (1, one, 1)):
        store.append(0, Evaluation(point, {"s": 0.5}, {"s": 0.01}, {"trial": trial, "soc": soc},
                                   {"trial": 1, "soc": n}))
    patients = store.patients(0, "soc")
    assert list(patients.columns) == ["candidate", "eligible", "point", "patient", "closed_by_week12"]
    assert patients["closed_by_week12"].isna().tolist() == [True, True, False, True]
    assert store.evaluations(0)[["n.trial", "n.soc"]].to_numpy().tolist() == [[1, 0], [1, 1]]


def test_after_closure_quantities_are_fitted_on_the_stored_closure_states(tmp_path):
    """With restatements, the recurrence statistics' emulators get rows at other recurrence values from each
    point's stored patients (no new simulation); the other coordinates are the point's own, and the closure
    statistics' emulators are unchanged."""
    from calibration.history_matching.waves import _restated_rows

    options = WaveOptions(**{**SMALL.__dict__, "waves": 1, "restate_draws": 3})
    observations, sim = _standin_problem(), StandInSimulator()
    result = run_waves(sim, observations, WaveStore(tmp_path), options, seed=5, parallel=SERIAL,
                       progress=lambda line: None)
    store = WaveStore(tmp_path)
    design = store.design(0)
    rows = _restated_rows(0, design, store.evaluations(0), store, sim, options, 5, np.empty((0, len(STANDIN_PRIORS))))
    assert len(rows) == 3 * len(design) and set(rows["point"]) == set(design["point"])
    merged = rows.merge(design, on="point", suffixes=("", ".design"))
    for p in STANDIN_PRIORS:
        same = np.allclose(merged[f"u.{p.key}"], merged[f"u.{p.key}.design"])
        assert same == (p.key not in sim.after_closure), p.key
    diag = result.diagnostics.set_index("statistic")
    assert diag.loc["soc_recurrence_12m", "n"] == 4 * len(design) and diag.loc["soc_closed_week12", "n"] == len(design)
    # a restatement at the point's own values gives back the stored statistics exactly
    first = design.iloc[0]
    arms = {arm: store.patients(0, arm).query("point == @first.point").drop(columns=["point", "patient"])
            .reset_index(drop=True) for arm in ("trial", "soc")}
    own = {p.key: float(first[f"abc.{p.key}"]) for p in STANDIN_PRIORS}
    again = sim.statistics(sim.restate(arms, own))
    stored = store.evaluations(0).set_index("point").loc[first.point]
    assert all(again[k] == pytest.approx(stored[k], rel=1e-12, nan_ok=True) for k in again)


def test_the_real_model_restates_its_stored_recurrence_exactly():
    """woundsim's recurrence acts only after closure: the committed wave-0 patients of version 2's calibration,
    restated at each point's own values, give back their stored recurrence risks and statistics."""
    from pathlib import Path

    import yaml

    from calibration.cohort_simulator import CohortSimulator
    from calibration.setup import load_setup
    from woundsim.endpoints import RECURRENCE_RISKS

    folder = Path(__file__).resolve().parents[1] / "docs" / "calibration_runs" / "history_matching"
    sim = CohortSimulator(load_setup(yaml.safe_load((folder / "calibration.yaml").read_text())))
    assert set(sim.after_closure) == {p.key for p in sim.parameters if p.target.startswith("model.recurrence.")} != set()
    store = WaveStore(folder / "waves")
    design, evaluations = store.design(0), store.evaluations(0).set_index("point")
    patients = {arm: store.patients(0, arm) for arm in ("trial", "soc")}
    for _, row in design.head(6).iterrows():
        arms = {arm: t[t["point"] == row["point"]].drop(columns=["point", "patient"]).reset_index(drop=True)
                for arm, t in patients.items()}
        restated = sim.restate(arms, {p.key: float(row[f"abc.{p.key}"]) for p in sim.parameters})
        for arm in arms:
            for name in RECURRENCE_RISKS:
                np.testing.assert_allclose(restated[arm][name], arms[arm][name], rtol=1e-12, atol=0)
        again = sim.statistics(restated)
        assert all(again[k] == pytest.approx(evaluations.loc[row["point"], k], rel=1e-12, nan_ok=True) for k in again)


def test_posterior_has_the_installed_format_and_its_ess(standin_waves, tmp_path):
    _, observations, result = standin_waves
    table, info = sample_posterior(result, observations, STANDIN_PRIORS, SMALL, SamplingOptions(min_ess=200, particles=500),
                                   np.random.default_rng(0))
    assert info["ess"] >= 200 and info["ess"] == pytest.approx(kish_ess(table["weight"].to_numpy()))
    path = write_posterior(table, STANDIN_PRIORS, tmp_path / "posterior.parquet", {"calibration": "standin"})
    particles, weights = load_posterior(path)  # woundsim reads it without pyabc
    assert list(particles.columns) == [p.target for p in STANDIN_PRIORS] and weights.sum() == pytest.approx(1.0)


class _RarelyClosingTrial(StandInSimulator):
    """The stand-in, with the treated arm's mean closure time undefined (no one closed) at most design points, as a
    version-2 cohort far from the target region gives it."""

    def statistics(self, arms):
        out = super().statistics(arms)
        if out["trial_closed_fraction"] < 0.95:
            out["trial_mean_closure_days"] = float("nan")
        return out


def test_a_statistic_defined_at_too_few_design_points_is_not_emulated_and_does_not_cut(tmp_path):
    lines = []
    options = WaveOptions(waves=1, design_size=12, later_design_size=12, bootstrap=12, restarts=0, batch=5000,
                          max_draws=40000, region_size=200)
    result = run_waves(_RarelyClosingTrial(), _standin_problem(), WaveStore(tmp_path), options, seed=5,
                       parallel=SERIAL, progress=lines.append)
    diag = result.diagnostics.set_index("statistic")
    assert not diag.loc["trial_mean_closure_days", "emulated"] and diag.loc["trial_closed_fraction", "emulated"]
    assert 0 < diag.loc["trial_mean_closure_days", "n"] < min_evaluations(len(STANDIN_PRIORS))
    assert "trial_mean_closure_days" not in result.waves[0].emulators
    assert result.table["not_emulated"].iloc[0] == "trial_mean_closure_days"
    assert any("not cut on: trial_mean_closure_days" in line for line in lines)
    assert 0 < result.table["nonimplausible_share"].iloc[0] < 1  # the other statistics still cut


def test_projected_wall_time_runs_each_wave_in_rounds_of_workers():
    from calibration.history_matching.waves import projected_wall_time

    waves = pd.DataFrame({"wave": [0, 1], "evaluations": [60, 30], "cpu_s_per_evaluation": [36.0, 72.0]})
    table = projected_wall_time(waves, workers=(1, 32)).set_index("workers")
    assert table.loc[1, "total_h"] == pytest.approx((60 * 36 + 30 * 72) / 3600)  # 1.2 h
    assert table.loc[32, "wave0_h"] == pytest.approx(2 * 36 / 3600) and table.loc[32, "wave1_h"] == pytest.approx(0.02)


def test_each_tempering_stage_keeps_the_asked_effective_sample_size():
    loglik = np.random.default_rng(3).normal(0.0, 20.0, size=1000)
    beta = next_temperature(loglik, 0.0, 500.0)
    assert 0 < beta < 1 and kish_ess(np.exp(beta * (loglik - loglik.max()))) == pytest.approx(500.0, rel=1e-6)
    assert next_temperature(loglik * 1e-6, 0.0, 500.0) == 1.0  # a flat likelihood: straight to the posterior
    assert next_temperature(np.zeros(10), 0.7, 5.0) == 1.0
    with_zeros = np.where(np.arange(1000) < 600, -np.inf, loglik)  # L = 0 on 600 particles: the target counts 400
    assert 0 < next_temperature(with_zeros, 0.0, 200.0) < 1


def test_resampling_is_systematic_and_duplicates_count_once_in_the_ess():
    picks = systematic_resample(np.array([0.5, 0.25, 0.25, 0.0]), np.random.default_rng(1))
    assert np.bincount(picks, minlength=4).tolist() == [2, 1, 1, 0]
    u = np.array([[0.1, 0.2], [0.3, 0.4], [0.1, 0.2], [0.1, 0.2]])
    distinct, weights = merge_duplicates(u, np.ones(4))
    assert distinct.tolist() == [[0.1, 0.2], [0.3, 0.4]] and weights.tolist() == [3.0, 1.0]
    assert kish_ess(weights) == pytest.approx(16 / 10)  # not 4: three of the four particles are one point


def test_kish_ess_and_the_point_nearest_the_predictive_medians():
    assert kish_ess(np.ones(10)) == pytest.approx(10.0) and kish_ess(np.array([1.0, 0.0, 0.0])) == 1.0
    draws = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, 10.0], "b": [5.0, 4.0, 3.0, 2.0, 1.0]}, index=list("vwxyz"))
    assert nearest_to_medians(draws, ["a", "b"]) == "x"
    assert nearest_to_medians(draws, ["a", "b"], passing=np.array([1, 1, 0, 1, 1], dtype=bool)) in ("w", "y")


# ---- recovery of known parameters (slow) -------------------------------------------------------------

IDENTIFIABLE = ("soc_scale", "speedup", "hazard")  # each has a statistic of its own (closure shares, recurrence)
UNIDENTIFIABLE = "nuisance"                        # acts on nothing


def recover(replicate: int) -> dict:
    """One replication: observe the stand-in at its truth, history-match, sample; 90% intervals and width ratios."""
    import tempfile
    from pathlib import Path

    observations = _standin_problem(seed=1000 + replicate)
    options = WaveOptions(waves=3, design_size=60, later_design_size=60, bootstrap=20, restarts=1, region_size=1500,
                          restate_draws=4)
    with tempfile.TemporaryDirectory() as folder:
        result = run_waves(StandInSimulator(), observations, WaveStore(Path(folder)), options, seed=replicate,
                           parallel=SERIAL, progress=lambda line: None)
    table, info = sample_posterior(result, observations, STANDIN_PRIORS, options, SamplingOptions(),
                                   np.random.default_rng(replicate))
    out = {"ess": info["ess"]}
    for p in STANDIN_PRIORS:
        values, w = table[f"abc.{p.key}"].to_numpy(), table["weight"].to_numpy()
        low, high = weighted_quantile(values, w, 0.05), weighted_quantile(values, w, 0.95)
        prior_low, prior_high = p.distribution().interval(0.9)
        out[p.key] = (low <= STANDIN_TRUTH[p.key] <= high, (high - low) / (prior_high - prior_low))
    return out


@pytest.mark.slow
def test_history_matching_recovers_the_stand_ins_known_parameters():
    from woundsim.parallel import map_tasks

    runs = map_tasks(recover, list(range(30)), config=ParallelConfig(backend="loky", n_jobs=2, progress=False))
    covered = {p.key: sum(r[p.key][0] for r in runs) for p in STANDIN_PRIORS}
    ratio = {p.key: float(np.median([r[p.key][1] for r in runs])) for p in STANDIN_PRIORS}
    print("covered of 30:", covered, "median width ratio:", ratio, "min ESS:", min(r["ess"] for r in runs))
    assert all(n >= 23 for n in covered.values()), covered
    assert all(ratio[k] <= 0.5 for k in IDENTIFIABLE), ratio
    assert ratio[UNIDENTIFIABLE] >= 0.8, ratio
    assert min(r["ess"] for r in runs) >= 500


# ---- the pipeline with the real model (slow: CI runs it) ----------------------------------------------

@pytest.mark.slow
def test_tiny_history_matching_calibration_runs_end_to_end_and_refits_from_its_tables(tmp_path):
    from calibration.app_config import compose_config
    from calibration.pipeline import calibrate, resume_finish
    from woundsim.tables import read_parquet

    lines: list[str] = []
    report = calibrate(compose_config(["calibration=tiny_history_matching"]), tmp_path / "hm", progress=lines.append)
    out = report.parent
    assert any(line.startswith("wave 1:") for line in lines) and any("Kish ESS" in line for line in lines)
    waves = pd.read_csv(out / "waves.csv")
    assert list(waves["design_size"]) == [6, 6] and len(pd.read_csv(out / "waves" / "wave1_evaluations.csv")) == 6
    assert {"## Waves", "## Emulator diagnostics", "## Projected wall time",
            "## Identifiability"} <= set(report.read_text().splitlines())
    assert (waves["cpu_s_per_evaluation"] > 0).all()
    check = pd.read_csv(out / "predictive_check.csv")  # at the observed studies' sizes (calibration.predictive)
    assert set(check["target"]) == set(pd.read_csv(out / "predictive_table.csv")["target"])
    assert set(check["verdict"]) <= {"pass", "FAIL", "undecided"} and list(check["study_n"][:3]) == [10, 10, 10]
    assert "### At the observed studies' sizes" in report.read_text()
    assert (out / "figures" / "predictive_check.png").stat().st_size > 0
    draws = read_parquet(out / "predictive_draws.parquet")
    assert (draws["n.trial_closed_fraction"] == 3).all() and "sd.trial_mean_closure_days" in draws
    first = read_parquet(out / "posterior.parquet")
    lines.clear()
    resume_finish(out, progress=lines.append)  # from the stored evaluations: nothing simulated again
    assert any("6 design points, 6 stored, 0 to simulate" in line for line in lines)
    pd.testing.assert_frame_equal(read_parquet(out / "posterior.parquet"), first)
