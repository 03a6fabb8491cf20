"""Sweeps: identical cohorts on every back end, resumable sweep points, Hydra multiruns, gathered tables.

Run as a script (`python tests/test_sweep.py ROOT`) it is the sweep point that the kill-and-resume test kills.
"""

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.sweep import register_schema
from woundsim.cohort import simulate_cohort
from woundsim.config import register_configs
from woundsim.errors import InputError
from woundsim.parallel import ParallelConfig
from woundsim.params import ModelParams, with_overrides
from woundsim.patient import CohortSpec
from woundsim.store import ResultStore
from woundsim.sweep_figures import plot_closure_heatmaps
from woundsim.sweep import CohortScenario, gather, gather_study, point_summary, run_cohort_scenario, sweep_axes
from woundsim.tables import read_parquet
from woundsim.treatment import Treatment

REPO = Path(__file__).resolve().parents[1]
TINY = with_overrides(ModelParams(), {"numerics.dx_um": 250.0, "numerics.horizon_weeks": 3.0})
SMALL_ULCERS = CohortSpec(name="small", area_median_cm2=0.8, area_min_cm2=0.5, area_max_cm2=1.2)
KILL_N = 12
TINY_RUN = ["grid=coarse", "model.numerics.dx_um=250", "patient=small_superficial", "run.horizon_weeks=3",
            "run.figures=false"]


def quiet(backend: str, n_jobs: int = 2) -> ParallelConfig:
    return ParallelConfig(backend=backend, n_jobs=n_jobs, progress=False)


def kill_scenario() -> CohortScenario:
    return CohortScenario(SMALL_ULCERS, KILL_N, Treatment(product="exosomes", dose_ug_per_site=20.0), TINY, seed=3)


def test_serial_loky_and_dask_give_identical_cohorts():
    """The real model, 3 patients: serial, 2 loky workers and a 2-worker Dask LocalCluster agree exactly."""
    pytest.importorskip("distributed")
    tables = {b: simulate_cohort(SMALL_ULCERS, 3, Treatment(), TINY, seed=11, parallel=quiet(b))
              for b in ("serial", "loky", "dask")}
    pd.testing.assert_frame_equal(tables["serial"], tables["loky"])
    pd.testing.assert_frame_equal(tables["serial"], tables["dask"])
    assert tables["serial"]["seed"].nunique() == 3 and tables["serial"]["par_week4"].notna().all()


def test_scenario_rows_are_the_cohort_rows(tmp_path):
    scenario = CohortScenario(SMALL_ULCERS, 3, Treatment(), TINY, seed=11, schedule="weekly")
    rows = run_cohort_scenario(scenario, ResultStore(tmp_path), parallel=quiet("serial"))
    cohort = simulate_cohort(SMALL_ULCERS, 3, Treatment(), TINY, seed=11, parallel=quiet("serial"))
    pd.testing.assert_frame_equal(rows[list(cohort.columns)], cohort, check_dtype=False)
    assert list(rows["key"]) == scenario.keys() and set(rows["schedule"]) == {"weekly"}
    assert rows["config_hash"].nunique() == 3  # one hash per patient run (params, patient, treatment, seed)


def test_killed_sweep_point_resumes_with_every_patient_once(tmp_path):
    killed, reference = tmp_path / "killed", tmp_path / "reference"
    store = ResultStore(killed)
    log = tmp_path / "point.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, __file__, str(killed)], start_new_session=True,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120.0
        while len(store.done_keys()) < 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep point and its loky workers
        proc.wait()
    landed = store.done_keys()
    print(f"killed with {len(landed)} of {KILL_N} patient rows stored")
    assert 3 <= len(landed) < KILL_N, f"the kill did not interrupt the point ({len(landed)} rows): {log.read_text()}"
    inodes = {key: store.path(key).stat().st_ino for key in landed}

    resumed = run_cohort_scenario(kill_scenario(), store, parallel=quiet("loky"))
    assert {key: store.path(key).stat().st_ino for key in landed} == inodes  # finished rows not recomputed
    assert resumed["key"].is_unique and list(resumed["patient"]) == list(range(KILL_N))
    assert sorted(store.done_keys()) == kill_scenario().keys()
    uninterrupted = run_cohort_scenario(kill_scenario(), ResultStore(reference), parallel=quiet("serial"))
    pd.testing.assert_frame_equal(resumed, uninterrupted)
    pd.testing.assert_frame_equal(gather_study(killed), gather_study(reference))


def _woundsim_run(sweep_dir: Path, *extra: str) -> None:
    command = [sys.executable, "-m", "woundsim", "run", "-m", "treatment.product=conditioned_medium,exosomes",
               "treatment.dose_ug_per_site=5,20", *TINY_RUN, "run.replicates=2", f"hydra.sweep.dir={sweep_dir}", *extra]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]


def test_woundsim_run_multirun_with_basic_and_joblib_launchers(tmp_path):
    _woundsim_run(tmp_path / "basic")
    _woundsim_run(tmp_path / "joblib", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2")
    basic, joblib_ = gather(tmp_path / "basic"), gather(tmp_path / "joblib")
    assert (tmp_path / "basic" / "runs.parquet").is_file() and len(basic) == 8  # 2 x 2 points x 2 replicates
    assert set(basic["treatment.product"]) == {"conditioned_medium", "exosomes"}
    assert set(basic["treatment.dose_ug_per_site"]) == {5, 20}
    assert basic.groupby("job")["seed"].nunique().eq(2).all()  # two replicate seeds per point ...
    assert basic.groupby("replicate")["seed"].nunique().eq(1).all()  # ... shared by every point
    pd.testing.assert_frame_equal(basic, joblib_)


def test_cohort_sweep_app_gathers_and_resumes(tmp_path):
    command = [sys.executable, "-m", "experiments.sweep", "-m", "+experiment=product_dose_sites",
               "treatment.product=exosomes,conditioned_medium", "treatment.dose_ug_per_site=20", "treatment.sites=4",
               "study.schedule=single", "study.n_patients=2", "cohort.area_max_cm2=1.5", *TINY_RUN[1:2],
               "run.horizon_weeks=3", "parallel=serial", f"hydra.sweep.dir={tmp_path}"]
    first = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr[-3000:]
    table = read_parquet(tmp_path / "study.parquet")
    assert len(table) == 4 and sweep_axes(table) == ["product"] and table["key"].is_unique
    assert (tmp_path / "figures" / "closure_heatmaps.png").stat().st_size > 10_000
    stamps = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "store" / "runs").iterdir()}
    again = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "store" / "runs").iterdir()} == stamps
    pd.testing.assert_frame_equal(read_parquet(tmp_path / "study.parquet"), table)


def test_cohort_sweep_app_refuses_bad_input_in_one_line(tmp_path, capsys):
    from experiments.sweep import main

    with pytest.raises(SystemExit) as exit_:  # in-process
        main(["+experiment=product_dose_sites", "study.schedule=daily", f"hydra.run.dir={tmp_path}"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "study.schedule = 'daily'" in err and "Traceback" not in err


def test_study_and_slurm_launcher_configs_compose():
    from hydra import compose, initialize_config_dir

    register_schema()
    try:
        with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
            cfg = compose("config", overrides=["+experiment=product_dose_sites", "hydra/launcher=slurm",
                                               "study.schedule=single"], return_hydra_config=True)
    finally:
        register_configs()  # give other tests in this process `woundsim run`'s own schema back
    assert cfg.hydra.launcher._target_.endswith("submitit_launcher.SlurmLauncher")
    assert cfg.hydra.launcher.cpus_per_task >= 1 and cfg.hydra.launcher.max_num_timeout > 0
    assert set(cfg.hydra.sweeper.params) == {"treatment.product", "treatment.dose_ug_per_site", "treatment.sites",
                                             "study.schedule"}
    assert list(cfg.treatment.schedule_days) == [0.0] and cfg.cohort.name == "seed_trial"
    assert cfg.model.numerics.dx_um == 200.0


def _study_table() -> pd.DataFrame:
    """8 patients at each of 4 points: closure days given, NaN = not closed by the horizon."""
    days = {("exosomes", 5.0): [20, 30, 40, 50, np.nan, np.nan, np.nan, np.nan],  # half close: median 50
            ("exosomes", 20.0): [20, 30, 40, np.nan, np.nan, np.nan, np.nan, np.nan],  # fewer: not reached
            ("conditioned_medium", 5.0): [10, 10, 12, 30, 31, 32, 90, np.nan],
            ("conditioned_medium", 20.0): [5, 6, 7, 8, 9, 10, 11, 12]}
    rows = [{"cohort": "c", "product": product, "dose_ug_per_site": dose, "sites": 8, "schedule": "w",
             "dx_um": 200.0, "horizon_weeks": 12.0, "patient": i, "time_to_closure_days": d,
             "closed_by_week12": bool(d == d and d <= 84)}
            for (product, dose), values in days.items() for i, d in enumerate(values)]
    return pd.DataFrame(rows)


def test_point_summary_median_and_rate():
    summary = point_summary(_study_table()).set_index(["product", "dose_ug_per_site"])
    assert summary.loc[("exosomes", 5.0), "median_closure_days"] == 50.0
    assert math.isinf(summary.loc[("exosomes", 20.0), "median_closure_days"])
    assert summary.loc[("conditioned_medium", 5.0), "median_closure_days"] == 30.0
    assert summary.loc[("conditioned_medium", 5.0), "closure_rate_week12"] == 6 / 8  # day 90 is after week 12
    assert summary.loc[("conditioned_medium", 20.0), "closure_rate_week12"] == 1.0


def test_week12_rate_is_unknown_when_the_horizon_is_short():
    """Horizon before week 12: an unclosed patient's week-12 status is None, so its point's rate is unknown."""
    table = _study_table()
    table["closed_by_week12"] = table["closed_by_week12"].astype(object).where(table["closed_by_week12"], None)
    rate = point_summary(table).set_index(["product", "dose_ug_per_site"])["closure_rate_week12"]
    assert rate.drop(("conditioned_medium", 20.0)).isna().all()
    assert rate[("conditioned_medium", 20.0)] == 1.0  # all closed: known


def test_heatmaps_drawn_from_the_table(tmp_path):
    path = plot_closure_heatmaps(_study_table(), tmp_path / "h.png", rows=["product"])
    assert path.stat().st_size > 10_000
    plot_closure_heatmaps(_study_table(), tmp_path / "x.png", rows=["product"], cols=[])  # dose joins the rows
    with pytest.raises(InputError, match="'site' is not a column"):
        plot_closure_heatmaps(_study_table(), tmp_path / "y.png", rows=["product"], cols=["site"])


def test_gather_refuses_two_versions_of_a_point(tmp_path):
    store = ResultStore(tmp_path)
    for chash, area in (("aaaa", 1.0), ("bbbb", 2.0)):  # same labels, other settings (e.g. another n)
        store.write(f"{chash}-p00000", {"cohort": "c", "product": "exosomes", "patient": 0, "area_cm2": area})
    with pytest.raises(InputError, match="2 versions"):
        gather_study(tmp_path)


@pytest.mark.parametrize("n", [0, -3, 2.5])
def test_bad_cohort_size_refused(n):
    with pytest.raises(InputError, match="study.n_patients"):
        CohortScenario(SMALL_ULCERS, n, Treatment(), TINY)


if __name__ == "__main__":
    run_cohort_scenario(kill_scenario(), ResultStore(Path(sys.argv[1])), parallel=quiet("loky"))
