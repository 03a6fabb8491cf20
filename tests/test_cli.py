"""The `woundsim` command and its configs: every option composes and validates; a run writes its folder."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from calibration.cli import COMMANDS as CALIBRATION_COMMANDS
from woundsim.cli import COMMANDS, main
from woundsim.config import CONF_DIR
from woundsim.config import cohort_from, named_params, register_configs, to_objects
from woundsim.errors import InputError
from woundsim.tables import read_parquet

register_configs()


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def compose_with(overrides: list[str]):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=overrides)


@pytest.mark.parametrize("patient", options("patient"))
@pytest.mark.parametrize("treatment", options("treatment"))
def test_every_patient_and_treatment_option_validates(patient, treatment):
    params, pt, tr, run = to_objects(compose_with([f"patient={patient}", f"treatment={treatment}"]))
    assert params.numerics.horizon_weeks == (12.0 if tr.injects else 20.0)
    assert pt.area_cm2 > 0 and run.seed == 0


@pytest.mark.parametrize("grid", options("grid"))
def test_grid_options_set_the_resolution(grid):
    params, *_ = to_objects(compose_with([f"grid={grid}"]))
    assert 50.0 <= params.numerics.dx_um <= 250.0


@pytest.mark.parametrize("cohort", options("cohort"))
def test_cohort_specs_build(cohort):
    spec = cohort_from(compose_with([f"cohort={cohort}"]).cohort)
    assert spec.name == cohort


@pytest.mark.parametrize("model", options("model"))
def test_named_parameter_sets_load_as_woundsim_run_composes_them(model):
    composed, *_ = to_objects(compose_with([f"model={model}", "treatment=standard_care"]))
    assert named_params(model) == dataclasses.replace(composed, numerics=named_params(model).numerics)


def test_the_default_run_is_the_calibrated_model_and_trial_regimen():
    params, _, treatment, _ = to_objects(compose_with([]))
    assert params == dataclasses.replace(named_params("calibrated"), numerics=params.numerics)
    assert params != dataclasses.replace(named_params("default"), numerics=params.numerics)
    assert treatment.schedule_days == [0.0, 7.0, 14.0, 21.0] and treatment.product == "mixture"
    with pytest.raises(InputError, match="model=nonesuch not found"):
        named_params("nonesuch")


def test_bad_values_are_input_errors_naming_the_parameter():
    with pytest.raises(InputError, match=r"patient\.hba1c_pct"):
        to_objects(compose_with(["patient.hba1c_pct=30"]))
    with pytest.raises(InputError, match="schedule_days"):
        to_objects(compose_with(["treatment.schedule_days=[0,120]"]))


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "woundsim", "run", f"hydra.run.dir={tmp_path}", *args],
                          capture_output=True, text=True, timeout=300)


def test_run_writes_a_self_describing_folder(tmp_path):
    proc = run_cli(tmp_path, "grid=coarse", "patient.area_cm2=0.6", "run.horizon_weeks=4", "run.seed=5")
    assert proc.returncode == 0, proc.stderr
    for name in ("config.yaml", "run.json", "timeseries.parquet", "timeseries.csv", "summary.json", "snapshots.npz",
                 "figures/closure_curve.png", "figures/wound_snapshots.png", "figures/cells.png"):
        assert (tmp_path / name).is_file(), name
    meta = json.loads((tmp_path / "run.json").read_text())
    assert meta["seed"] == 5 and meta["git"]["commit"] and "numba" in meta["versions"]
    ts = read_parquet(tmp_path / "timeseries.parquet")
    assert ts["day"].iloc[0] == 0 and {"open_area_cm2", "par_pct", "m1_fraction"} <= set(ts.columns)
    assert "first_closure_day" in json.loads((tmp_path / "summary.json").read_text())


def run_main(capsys, *argv: str) -> tuple[int, str, str]:
    """`woundsim ARGV` in this process: (exit status, stdout, stderr)."""
    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out = capsys.readouterr()
    return code, out.out, out.err


def assert_one_line_error(code: int, err: str, start: str) -> None:
    assert code == 2 and "Traceback" not in err, err
    assert err.strip().splitlines()[-1].startswith(start), err


@pytest.mark.parametrize("argv, start", [  # more bad inputs, one per row: tests/test_bad_inputs.py
    (["plot"], "woundsim plot: error: the following arguments are required: run_dir"),
    (["calibrate", "nonesuch"], "calibration: error: unknown command 'nonesuch'"),
])
def test_command_errors_exit_2_with_one_line(argv, start, tmp_path, capsys):
    hydra_dir = [f"hydra.run.dir={tmp_path}"] if argv[0] in ("trial", "sensitivity") else []
    code, out, err = run_main(capsys, *argv, *hydra_dir)
    assert_one_line_error(code, err or out, start)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    argv = list(sys.argv)
    code, out, err = run_main(capsys, command, "--help")
    assert code == 0 and len(out.splitlines()) > 3, err
    assert "Traceback" not in err and sys.argv == argv  # the Hydra bootstrap restores sys.argv


@pytest.mark.parametrize("command", CALIBRATION_COMMANDS)
def test_every_calibration_command_has_help(command, capsys):
    code, out, err = run_main(capsys, "calibrate", command, "--help")
    assert code == 0 and len(out.splitlines()) > 3 and "Traceback" not in err, err


def test_top_level_help_lists_every_command(capsys):
    code, out, _ = run_main(capsys, "--help")
    assert code == 0 and all(f"  {c} " in out for c in COMMANDS)


def test_python_m_woundsim_is_the_same_command():
    out = subprocess.run([sys.executable, "-m", "woundsim", "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and all(c in out.stdout for c in COMMANDS)


def test_calibrate_without_pyabc_says_which_extra_to_install(monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pyabc" else real(name, *a))
    code, _, err = run_main(capsys, "calibrate", "run")
    assert_one_line_error(code, err, "calibration: error: `run` needs pyabc; install it with: pip install")


def test_an_interrupted_command_ends_in_one_line(monkeypatch, capsys):
    import woundsim.cli as cli

    def interrupted(argv):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "run_command", interrupted)
    with pytest.raises(SystemExit) as stop:
        main(["run"])
    assert stop.value.code == 130
    err = capsys.readouterr().err
    assert err.startswith("woundsim: interrupted") and err.count("\n") == 1
