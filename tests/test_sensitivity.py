"""Sensitivity analysis (woundsim.sensitivity, experiments/sensitivity.py).

Questions answered, one per test group:
- does the pipeline (SALib sampling, store, replicate means, SALib analysis) reproduce the analytic Ishigami
  indices within its bootstrap intervals, and give an ignored (dummy) input exactly 0?
- is the noise variance measured right, and do common random numbers remove additive noise from the indices?
- do seeds belong to row and replicate indices, so results do not depend on the number of workers?
- does an interrupted study (a subset of tasks first, or a killed process) resume to identical indices?
- does a tiny woundsim study run end to end (censoring, arms sharing seeds, constant outputs flagged)?
- do the shipped studies compose, name real parameters and give valid values on every row?
- is bad input refused with one line naming the setting?
"""

import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

from experiments.sensitivity import CONF_DIR, SensitivityAppConf, model_from, run_from_config
from woundsim.config import register_configs
from woundsim.errors import InputError
from woundsim.parallel import ParallelConfig, task_seeds
from woundsim.params import ModelParams, with_overrides
from woundsim.patient import Patient
from woundsim.sensitivity import (IshigamiModel, OutputSpec, ParameterSpec, StudySpec, WoundsimModel,
                                  run_study)
from woundsim.sensitivity.analysis import morris_noise_floor
from woundsim.sensitivity.design import design_seeds, sample
from woundsim.sensitivity.evaluate import build_tasks, run_evaluations
from woundsim.sensitivity.study import prepare
from woundsim.store import ResultStore
from woundsim.tables import read_parquet
from woundsim.treatment import Treatment

SERIAL = ParallelConfig(backend="serial", progress=False)
PI = math.pi


def ishigami_spec(**kw) -> StudySpec:
    base = dict(name="ishigami", method="sobol", n=1024, replicates=1, seed=1990, rows_per_task=512,
                parameters=[ParameterSpec(n, [-PI, PI]) for n in ("x1", "x2", "x3")],
                outputs=[OutputSpec("y", "y", arm="model")])
    return StudySpec(**{**base, **kw})


def indices_of(result, index: str) -> pd.Series:
    part = result.indices[(result.indices["index"] == index)]
    return part.set_index("parameter")


# --- correctness against analytic indices -------------------------------------------------------------------

def test_ishigami_sobol_indices_match_the_analytic_values_within_their_intervals(tmp_path):
    result = run_study(ishigami_spec(dummy=True), IshigamiModel(), tmp_path, parallel=SERIAL, figures=False)
    exact = IshigamiModel().analytic()
    for index in ("S1", "ST"):
        table = indices_of(result, index)
        for name, value in exact[index].items():
            row = table.loc[name]
            assert row["ci_low"] <= value <= row["ci_high"], (index, name, row["value"], value)
            assert row["conf"] < 0.1  # intervals narrow enough to mean something at N = 1024
        assert table.loc["dummy", "value"] == 0.0  # the function ignores it: exactly no effect
    assert list(result.ranking["parameter"][:3]) == ["x1", "x2", "x3"]
    conv = read_parquet(tmp_path / "convergence.parquet")
    assert sorted(conv["size"].unique()) == [8, 16, 32, 64, 128, 256, 512, 1024]
    last = conv[conv["size"] == 1024].drop(columns="size").reset_index(drop=True)
    pd.testing.assert_frame_equal(last, result.indices.reset_index(drop=True), check_dtype=False)


@pytest.mark.slow
def test_ishigami_intervals_cover_the_analytic_values_over_many_seeds(tmp_path):
    exact = IshigamiModel().analytic()
    missed = []
    for seed in range(10):
        result = run_study(ishigami_spec(seed=seed), IshigamiModel(), tmp_path / str(seed), parallel=SERIAL,
                           figures=False)
        for row in result.indices.itertuples():
            if not row.ci_low <= exact[row.index][row.parameter] <= row.ci_high:
                missed.append((seed, row.index, row.parameter))
    assert len(missed) <= 3, missed  # 60 intervals at 95%


def test_morris_ranks_ishigami_inputs_and_gives_an_ignored_input_zero(tmp_path):
    spec = ishigami_spec(method="morris", n=40, dummy=True, rows_per_task=1000)
    result = run_study(spec, IshigamiModel(), tmp_path, parallel=SERIAL)
    mu_star = indices_of(result, "mu_star")["value"]
    assert mu_star["dummy"] == 0.0 and min(mu_star[["x1", "x2", "x3"]]) > 1.0
    assert (tmp_path / "figures" / "morris_mu_star_sigma.png").is_file()
    assert (tmp_path / "figures" / "convergence.png").is_file()
    report = (tmp_path / "report.md").read_text()
    assert "## Overall ranking" in report and "`dummy`" in report


# --- noise, common random numbers, seeds --------------------------------------------------------------------

def test_noise_variance_is_measured_and_common_random_numbers_cancel_additive_noise(tmp_path):
    sd, reps = 0.5, 4
    exact = run_study(ishigami_spec(n=256), IshigamiModel(), tmp_path / "exact", parallel=SERIAL, figures=False)
    crn = run_study(ishigami_spec(n=256, replicates=reps), IshigamiModel(noise_sd=sd), tmp_path / "crn",
                    parallel=SERIAL, figures=False)
    indep = run_study(ishigami_spec(n=256, replicates=reps, crn=False), IshigamiModel(noise_sd=sd),
                      tmp_path / "indep", parallel=SERIAL, figures=False)
    # independent seeds: the pooled within-row variance estimates sd² from 256 x 5 rows x 3 degrees of freedom
    assert indep.noise.iloc[0]["noise_var"] == pytest.approx(sd**2, rel=0.1)
    # common random numbers: every row sees the same 4 draws, so the estimate is their sample variance
    draws = [sd * np.random.default_rng(int(s)).standard_normal() for s in task_seeds(1990, reps)]
    assert crn.noise.iloc[0]["noise_var"] == pytest.approx(np.var(draws, ddof=1))
    for result in (crn, indep):
        noise = result.noise.iloc[0]
        assert noise["noise_var_mean"] == pytest.approx(noise["noise_var"] / reps)
        assert noise["noise_share"] == pytest.approx(noise["noise_var_mean"] / noise["total_var"])
    # the same noise on every row is a constant shift of the replicate mean: SALib's indices do not see it
    np.testing.assert_allclose(crn.indices["value"], exact.indices["value"], atol=1e-9)
    assert not np.allclose(indep.indices["value"], exact.indices["value"], atol=1e-3)


def test_seeds_belong_to_row_and_replicate_indices():
    spec = ishigami_spec(replicates=3)
    crn = design_seeds(spec, 10)
    assert crn.shape == (10, 3) and (crn == crn[0]).all() and len(set(crn[0])) == 3
    indep = design_seeds(ishigami_spec(replicates=3, crn=False), 10)
    assert len(set(indep.ravel())) == 30
    np.testing.assert_array_equal(indep.ravel(), task_seeds(1990, 30))
    np.testing.assert_array_equal(design_seeds(ishigami_spec(replicates=3, crn=False), 4), indep[:4])


def test_results_do_not_depend_on_the_number_of_workers(tmp_path):
    spec = ishigami_spec(n=64, replicates=2, crn=False, rows_per_task=40)
    model = IshigamiModel(noise_sd=1.0)
    one = run_study(spec, model, tmp_path / "serial", parallel=SERIAL, figures=False)
    two = run_study(spec, model, tmp_path / "loky", parallel=ParallelConfig(n_jobs=2, progress=False), figures=False)
    pd.testing.assert_frame_equal(one.indices, two.indices)


def test_morris_noise_floor_matches_independent_noise():
    spec = StudySpec(method="morris", n=300, replicates=4, parameters=[ParameterSpec(n, [0.0, 1.0]) for n in "abc"],
                     outputs=[OutputSpec("y", "y", "model")])
    samples = sample(spec).samples
    sd = 0.3
    rng = np.random.default_rng(0)
    v = (samples @ np.array([1.0, 2.0, 0.0]))[:, None] + sd * rng.standard_normal((len(samples), 4))
    delta = 4 / 6  # 4 levels
    expected = math.sqrt(2 / math.pi * 2 * sd**2 / delta**2 / 4)
    np.testing.assert_allclose(morris_noise_floor(spec, samples, v), expected, rtol=0.05)


# --- resume --------------------------------------------------------------------------------------------------

def test_an_interrupted_study_resumes_to_identical_indices(tmp_path):
    spec = ishigami_spec(n=128, replicates=2, crn=False, rows_per_task=64)
    model = IshigamiModel(noise_sd=0.5)
    whole = run_study(spec, model, tmp_path / "whole", parallel=SERIAL, figures=False)
    _, _, pts, seeds = prepare(spec, model)
    _, keys, _ = build_tasks(spec, model, pts, seeds)
    store = ResultStore(tmp_path / "resumed" / "store")
    partial = run_evaluations(spec, model, pts, seeds, store, parallel=SERIAL, only=set(keys[: len(keys) // 2]))
    assert 0 < len(partial) < len(pts) * spec.replicates
    resumed = run_study(spec, model, tmp_path / "resumed", parallel=SERIAL, figures=False)
    assert resumed.info["tasks_stored_before"] == len(keys) // 2
    pd.testing.assert_frame_equal(whole.indices, resumed.indices)
    again = run_study(spec, model, tmp_path / "resumed", parallel=SERIAL, figures=False)
    assert again.info["tasks_stored_before"] == len(keys) and len(again.info["sessions"]) == 2
    pd.testing.assert_frame_equal(whole.indices, again.indices)


def run_app(out: Path, *args: str, **popen) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "experiments.sensitivity", "sensitivity=ishigami", f"hydra.run.dir={out}", *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def test_a_killed_study_restarts_where_it_stopped_with_identical_indices(tmp_path):
    slow = ["sensitivity.n=64", "sensitivity.rows_per_task=4", "sensitivity.ishigami.eval_seconds=0.004",
            "sensitivity.figures=false"]
    proc = run_app(tmp_path / "killed", *slow)
    runs = tmp_path / "killed" / "store" / "runs"
    deadline = time.monotonic() + 120
    while len(list(runs.glob("e-*.json"))) < 15 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    done = len(list(runs.glob("e-*.json")))
    finished = run_app(tmp_path / "killed", *slow)
    _, err = finished.communicate(timeout=300)
    assert finished.returncode == 0, err
    run_from_config(compose_study("ishigami", *slow), tmp_path / "whole")  # the app's job, uninterrupted
    total = len(list(runs.glob("e-*.json")))  # 64 x (4 + 2) rows / 4 per task = 96 tasks
    assert 15 <= done < total == 96, (done, total)
    whole = read_parquet(tmp_path / "whole" / "indices.parquet")
    pd.testing.assert_frame_equal(whole, read_parquet(tmp_path / "killed" / "indices.parquet"))
    assert pd.read_csv(tmp_path / "killed" / "sessions.csv")["tasks_run"].iloc[-1] == total - done
    for name in ("indices.csv", "convergence.parquet", "noise.csv", "outputs.parquet", "evaluations.parquet",
                 "report.md", "study.json", ".hydra/config.yaml"):
        assert (tmp_path / "killed" / name).is_file(), name


# --- the woundsim model --------------------------------------------------------------------------------------

def tiny_woundsim(tmp_path: Path):
    spec = StudySpec(name="tiny", method="morris", n=2, replicates=2, seed=5, parameters=[
        ParameterSpec("keratinocyte.speed_um_day", [30.0, 120.0], "logunif"),
        ParameterSpec("patient.texas_stage", values=["A", "B", "C", "D"])], outputs=[
        OutputSpec("ttc_treated", "time_to_closure_days", "treated", censored=True),
        OutputSpec("gain", "time_to_closure_days", "soc", minus="treated", censored=True, horizon_days=21.0),
        OutputSpec("par_w4", "par_week4", "treated"),
        OutputSpec("peak_m1", "peak_m1_fraction", "soc")])
    model = WoundsimModel(with_overrides(ModelParams(), {"numerics.dx_um": 250.0}), Patient(area_cm2=0.5),
                          Treatment(schedule_days=[0.0]), {"treated": 3.0, "soc": 3.0})
    return spec, model, run_study(spec, model, tmp_path, parallel=ParallelConfig(n_jobs=2, progress=False))


def test_a_tiny_woundsim_study_runs_end_to_end_and_resumes(tmp_path):
    spec, model, result = tiny_woundsim(tmp_path)
    ev = read_parquet(tmp_path / "evaluations.parquet")
    assert len(ev) == 2 * 3 * 2 * 2  # trajectories x (k + 1) x replicates x arms
    per_replicate = ev.groupby("replicate")["seed"].nunique()
    assert (per_replicate == 1).all() and ev["seed"].nunique() == 2  # common random numbers, arms paired
    noise = result.noise.set_index("output")
    assert noise.loc["ttc_treated", "censored_share"] == 1.0  # nothing closes in 3 weeks: all at the horizon
    assert noise.loc["ttc_treated", "constant"] and noise.loc["peak_m1", "constant"]
    assert set(result.indices["output"]) == {"par_w4"}  # constant outputs get no indices
    outputs = read_parquet(tmp_path / "outputs.parquet")
    assert (outputs["ttc_treated"] == 21.0).all() and "par_w4__var" in outputs
    assert (tmp_path / "report.md").read_text().count("constant: no indices") == 3
    again = run_study(spec, model, tmp_path, parallel=SERIAL)
    assert again.info["tasks_stored_before"] == again.info["tasks"]
    pd.testing.assert_frame_equal(result.indices, again.indices)


def compose_study(name: str, *overrides: str):
    register_configs()
    ConfigStore.instance().store(name="woundsim_schema", node=SensitivityAppConf)
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=[f"+sensitivity={name}", *overrides])


@pytest.mark.parametrize("name", sorted(p.stem for p in (CONF_DIR / "sensitivity").glob("*.yaml")))
def test_shipped_studies_compose_and_every_row_is_valid(name):
    import dataclasses

    cfg = compose_study(name)
    data = OmegaConf.to_container(cfg.sensitivity, resolve=True)
    spec = StudySpec(**{f.name: data[f.name] for f in dataclasses.fields(StudySpec)})
    model = model_from(cfg, data)
    _, design, _, _ = prepare(spec, model)  # raises InputError naming the row and parameter otherwise
    assert len(design) == spec.n_rows()
    if name == "morris_screening":
        assert len(spec.parameters) >= 70 and model.params.numerics.dx_um == 250.0
        assert {p.name for p in spec.parameters} >= {"patient.hba1c_pct", "treatment.dose_ug_per_site"}


# --- bad input -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, message", [
    (dict(method="fast"), "sensitivity.method"),
    (dict(n=100), "power of 2"),
    (dict(replicates=0), "sensitivity.replicates"),
    (dict(parameters=[ParameterSpec("x1", [-1, 1]), ParameterSpec("x1", [-1, 1])]), "twice"),
    (dict(outputs=[]), "sensitivity.outputs"),
])
def test_bad_study_settings_are_refused(kwargs, message):
    with pytest.raises(InputError, match=message):
        ishigami_spec(**kwargs)


@pytest.mark.parametrize("kwargs, message", [
    (dict(bounds=[1.0]), r"bounds.*\[low, high\]"),
    (dict(bounds=[2.0, 1.0]), "low < high"),
    (dict(bounds=[0.0, 1.0], dist="logunif"), "low > 0"),
    (dict(bounds=[0.0, 1.0], dist="beta"), "dist"),
    (dict(values=[1]), "at least 2"),
])
def test_bad_parameters_are_refused(kwargs, message):
    with pytest.raises(InputError, match=message):
        ParameterSpec("p", **kwargs)


def test_unknown_names_and_out_of_range_rows_name_the_parameter():
    model = WoundsimModel()
    with pytest.raises(InputError, match="macrophage.no_such_rate"):
        model.check_names(["macrophage.no_such_rate"])
    spec = StudySpec(method="morris", n=2, parameters=[ParameterSpec("patient.hba1c_pct", [1.0, 3.0]),
                                                       ParameterSpec("model.tissue.k_tnf", [0.5, 2.0])],
                     outputs=[OutputSpec("y", "par_week4")])
    with pytest.raises(InputError, match=r"row \d+ .*patient\.hba1c_pct"):
        prepare(spec, model)
    ages = [ParameterSpec("patient.age_years", [40.0, 70.0]), ParameterSpec("tissue.k_tnf", [0.5, 2.0])]
    placebo = StudySpec(method="morris", n=2, parameters=ages, outputs=[OutputSpec("y", "par_week4", arm="placebo")])
    with pytest.raises(InputError, match="arms.*placebo"):
        prepare(placebo, model)


def test_discrete_and_integer_parameters_map_onto_their_values():
    stage = ParameterSpec("patient.texas_stage", values=["A", "B", "C", "D"])
    assert stage.to_model(np.array([0.0, 1 / 3, 2 / 3, 1.0])) == ["A", "B", "C", "D"]
    sites = ParameterSpec("treatment.sites", [3.5, 12.49], integer=True)
    assert sites.to_model(np.array([3.5, 6.497, 12.49])) == [4, 6, 12]


def test_the_app_exits_2_with_one_line_on_bad_input(tmp_path, capsys):
    from experiments.sensitivity import main

    with pytest.raises(SystemExit) as exit_:
        main(["sensitivity=ishigami", f"hydra.run.dir={tmp_path}", "sensitivity.method=fast"])  # in-process
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert err.strip().splitlines()[-1].startswith("woundsim: error: sensitivity.method")
    assert "Traceback" not in err
