"""What is recorded is what ran, and no folder looks finished when it is not (issue 16, items 3 and 5)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from woundsim.config import CONF_DIR
from woundsim.config import register_configs, to_objects
from woundsim.errors import InputError
from woundsim.output import COMPLETE, read_run, write_run
from woundsim.params import ModelParams, with_overrides
from woundsim.patient import Patient
from woundsim.simulate import simulate
from woundsim.sweep import gather_runs
from woundsim.treatment import Treatment, standard_care

REPO = Path(__file__).resolve().parents[1]
TINY = with_overrides(ModelParams(), {"numerics.dx_um": 250.0, "numerics.horizon_weeks": 1.0})

register_configs()


def compose_with(overrides: list[str]):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=overrides)


# (command-line overrides, what the one-line error must say); each was accepted, or named another key, before
BAD_RUN_INPUTS = [
    (["treatment.schedule_days=[0,0,7]"], r"schedule_days = \[0, 0, 7\] has day 0 twice"),
    (["treatment.schedule_days=[7,0,7]"], r"has day 7 twice"),
    (["treatment.schedule_days=[0,0.01,7]"], r"days 0 and 0.01, which fall on the same 1 h agent step"),
    (["model.numerics.dt_agent_h=2", "treatment.schedule_days=[0,0.03]"], r"same 2 h agent step"),
    (["run.horizon_weeks=-1"], r"run\.horizon_weeks = -1(\.0)? weeks is out of range; allowed \(0\.0, 104\.0\]"),
    (["run.horizon_weeks=-1", "treatment=standard_care"], r"run\.horizon_weeks = -1(\.0)? weeks is out of range"),
    (["run.horizon_weeks=0", "treatment=standard_care"], r"run\.horizon_weeks = 0(\.0)? weeks is out of range"),
    (["run.horizon_weeks=200"], r"run\.horizon_weeks = 200(\.0)? weeks is out of range; allowed \(0\.0, 104\.0\]"),
    (["run.horizon_weeks=200", "treatment=standard_care"], r"run\.horizon_weeks = 200(\.0)? weeks is out of range"),
]


@pytest.mark.parametrize(("overrides", "message"), BAD_RUN_INPUTS, ids=[" ".join(o) for o, _ in BAD_RUN_INPUTS])
def test_bad_run_inputs_get_one_line_naming_the_key(overrides, message):
    with pytest.raises(InputError, match=message) as err:
        to_objects(compose_with(overrides))
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(("days", "message"), [
    ((0.0, 30.0), r"has day 30, after the run's last day 21 \(horizon plus confirmation window\)"),
    ((-1.0,), r"run\.snapshot_days = -1"),
    ((3.5,), r"give whole days"),
])
def test_snapshot_days_outside_the_run_are_refused(days, message):
    with pytest.raises(InputError, match=message):
        simulate(TINY, Patient(), standard_care(), snapshot_days=days)


def test_model_refuses_coinciding_injections_that_it_would_merge():
    with pytest.raises(InputError, match="same 1 h agent step"):
        simulate(TINY, Patient(), Treatment(schedule_days=[0.0, 0.02]))


def test_one_horizon_range_for_every_study():
    from calibration.setup import _arm
    from woundsim.sensitivity.models import WoundsimModel

    with pytest.raises(InputError, match=r"sensitivity\.horizon_weeks\.soc = 0 weeks is out of range; allowed \(0\.0, 104"):
        WoundsimModel(horizon_weeks={"treated": 12.0, "soc": 0})
    with pytest.raises(InputError, match=r"calibration\.trial\.horizon_weeks = 105(\.0)? weeks is out of range; allowed \(0\.0, 104"):
        _arm(CONF_DIR, {"cohort": "pivotal_control", "n_patients": 2, "horizon_weeks": 105}, "trial")
    with pytest.raises(InputError, match=r"model\.numerics\.horizon_weeks = -2(\.0)? weeks is out of range; allowed \(0\.0, 104"):
        simulate(with_overrides(TINY, {"numerics.horizon_weeks": -2.0}))


@pytest.fixture(scope="module")
def tiny_result():
    return simulate(TINY, Patient(area_cm2=0.5), Treatment(schedule_days=[0.0]), seed=1, snapshot_days=(0.0, 7.0))


def test_a_run_folder_is_complete_only_with_its_marker_written_last(tmp_path, tiny_result):
    folder = write_run(tmp_path / "run", tiny_result)
    marker = folder / COMPLETE
    assert marker.is_file()
    assert all(p.stat().st_mtime_ns <= marker.stat().st_mtime_ns for p in folder.iterdir())
    meta = json.loads((folder / "run.json").read_text())
    assert meta["snapshots"]["file_bytes"] == (folder / "snapshots.npz").stat().st_size > 0
    assert meta["snapshots"]["labels"] == ["day 0", "day 7"]
    assert read_run(folder)["summary"] == json.loads((folder / "summary.json").read_text())
    marker.unlink()  # as a run killed before its last file leaves it
    with pytest.raises(InputError, match="incomplete run folder") as err:
        read_run(folder)
    assert "\n" not in str(err.value)


def test_snapshots_are_compressed(tmp_path, tiny_result):
    import zipfile

    folder = write_run(tmp_path / "run", tiny_result)
    with zipfile.ZipFile(folder / "snapshots.npz") as archive:
        assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_DEFLATED}


def test_gather_names_incomplete_run_folders(tmp_path, tiny_result):
    for job in ("0", "1", "2"):
        write_run(tmp_path / job, tiny_result)
    assert len(gather_runs(tmp_path)) == 3
    (tmp_path / "1" / COMPLETE).unlink()
    with pytest.raises(InputError, match=r"1 run folder\(s\) under .* are incomplete .*: 1; rerun them"):
        gather_runs(tmp_path)


def test_plot_says_in_one_line_that_a_folder_is_incomplete(tmp_path, tiny_result):
    folder = write_run(tmp_path / "run", tiny_result)
    (folder / COMPLETE).unlink()
    proc = subprocess.run([sys.executable, "-m", "woundsim", "plot", str(folder)], capture_output=True, text=True,
                          cwd=REPO, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [f"woundsim: error: {folder} is an incomplete run folder (no "
                                                f"{COMPLETE} marker: the run was interrupted or failed, or was written "
                                                "before woundsim marked finished runs); rerun it"]
