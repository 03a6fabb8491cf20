"""Every bad input we have tried, on every entry point, and what it gets (issue 16 item 4).

Each case is one row of the table in docs/errors.md: an entry point, the input, and what the user sees. Bad
input gets one line naming the parameter or file and what to do (exit status 2 on the command line, an
`InputError` from Python); Hydra's own errors keep Hydra's text but exit 2 too; a traceback is a failure.
Command-line cases run in this process (`woundsim.cli.main(argv)`), not as subprocesses.

    python -m tests.test_bad_inputs      # runs every case and prints the table of docs/errors.md
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import io
import os
import tempfile
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from woundsim.errors import InputError

DOC = Path(__file__).resolve().parents[1] / "docs" / "errors.md"
FAST = ["grid=coarse", "run.horizon_weeks=1", "treatment.schedule_days=[0]", "run.figures=false",
        "run.snapshot_days=[0]"]  # a run of about a second


@dataclass
class Outcome:
    status: int | str  # exit status of a command, or "InputError" / "returned" for a Python call
    text: str  # what the user reads: stderr (and stdout) of a command, the message of an error
    traceback: bool  # a traceback was shown (or an exception other than InputError escaped)

    def first_line(self) -> str:
        lines = [ln for ln in self.text.strip().splitlines() if ln.strip()]
        errors = [ln for ln in lines if ": error:" in ln]
        return (errors or lines or [""])[0]


@dataclass
class Case:
    entry: str  # the entry point, e.g. "woundsim run" or "simulate()"
    shown: str  # the input as the user gives it
    run: Callable[[Path, pytest.MonkeyPatch], Outcome]
    expect: str  # text the message must contain
    status: int | str = 2  # expected exit status (or "InputError")
    hydra: bool = False  # Hydra's own (multi-line) message, kept as Hydra words it


# ---------------------------------------------------------------------------------------------- runners

def command(*argv: str) -> Callable[[Path, pytest.MonkeyPatch], Outcome]:
    """A `woundsim ARGV` case; "{tmp}" in an argument is the case's temporary folder."""

    def run(tmp: Path, mp: pytest.MonkeyPatch) -> Outcome:
        return main_outcome([a.replace("{tmp}", str(tmp)) for a in argv])

    return run


def main_outcome(argv: list[str]) -> Outcome:
    from woundsim.cli import main

    out, err = io.StringIO(), io.StringIO()
    escaped = False
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(argv)
            status = 0
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except Exception:  # noqa: BLE001  (an escaped exception is what the table counts)
            traceback.print_exc()
            status, escaped = 1, True
    text = err.getvalue() + out.getvalue()
    return Outcome(status, text, escaped or "Traceback (most recent call last)" in text)


def call(fn: Callable[[Path, pytest.MonkeyPatch], object]) -> Callable[[Path, pytest.MonkeyPatch], Outcome]:
    """A Python-API case."""

    def run(tmp: Path, mp: pytest.MonkeyPatch) -> Outcome:
        try:
            fn(tmp, mp)
        except InputError as exc:
            return Outcome("InputError", str(exc), False)
        except Exception as exc:  # noqa: BLE001
            return Outcome(type(exc).__name__, "".join(traceback.format_exception(exc)), True)
        return Outcome("returned", "", False)

    return run


def _params():
    from woundsim.params import ModelParams, with_overrides

    return with_overrides(ModelParams(), {"numerics.dx_um": 250.0, "numerics.horizon_weeks": 1.0})


def simulate_with(**kwargs) -> Callable[[Path, pytest.MonkeyPatch], Outcome]:
    """simulate(**kwargs) on a small, one-week run (arguments not given take small defaults)."""

    def fn(tmp, mp):
        from woundsim.patient import Patient
        from woundsim.simulate import simulate
        from woundsim.treatment import Treatment

        args = {"params": _params(), "patient": Patient(area_cm2=0.5), "treatment": Treatment(schedule_days=[0.0])}
        seed = kwargs.pop("seed", 0)
        args.update({k: (v() if callable(v) else v) for k, v in kwargs.items()})
        simulate(args["params"], args["patient"], args["treatment"], seed=seed)

    return call(fn)


def mutated_patient(**changes):
    def make():
        from woundsim.patient import Patient

        patient = Patient(area_cm2=0.5)
        for key, value in changes.items():
            setattr(patient, key, value)
        return patient

    return make


def mutated_treatment(**changes):
    def make():
        from woundsim.treatment import Treatment

        treatment = Treatment(schedule_days=[0.0])
        for key, value in changes.items():
            setattr(treatment, key, value)
        return treatment

    return make


def damaged_posterior(tmp: Path) -> Path:
    from woundsim.posterior import DEFAULT_POSTERIOR

    path = tmp / "posterior.parquet"
    path.write_bytes(DEFAULT_POSTERIOR.read_bytes()[:3000])  # cut short, as by a full disk or a bad copy
    return path


def posterior_damaged_inside(tmp: Path) -> Path:
    """Whole ends (Parquet's marker bytes) around a damaged middle: only reading it can tell."""
    from woundsim.posterior import DEFAULT_POSTERIOR

    data = bytearray(DEFAULT_POSTERIOR.read_bytes())
    data[8:-8] = bytes(len(data) - 16)
    path = tmp / "posterior.parquet"
    path.write_bytes(bytes(data))
    return path


def trial_with_damaged_posterior(tmp, mp):
    import woundsim.posterior

    mp.setattr(woundsim.posterior, "DEFAULT_POSTERIOR", damaged_posterior(tmp))
    return main_outcome(["trial", f"hydra.run.dir={tmp / 'trial'}", "accept_calibration=true"])


def run_folder(tmp: Path, remove: str | None = None, damage: str | None = None) -> Path:
    """A run folder of a short simulation, with one file removed or damaged."""
    from woundsim.output import write_run
    from woundsim.patient import Patient
    from woundsim.simulate import simulate
    from woundsim.treatment import Treatment

    folder = tmp / "run"
    write_run(folder, simulate(_params(), Patient(area_cm2=0.5), Treatment(schedule_days=[0.0]), seed=1))
    if remove:
        (folder / remove).unlink()
    if damage:
        (folder / damage).write_text("{")
    return folder


def plot_of(remove: str | None = None, damage: str | None = None):
    def run(tmp, mp):
        return main_outcome(["plot", str(run_folder(tmp, remove, damage))])

    return run


def read_only_output(tmp, mp):
    folder = tmp / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    if os.geteuid() == 0:  # root writes anywhere: make the write test fail as a read-only disk does
        def refuse(*args, **kwargs):
            raise OSError(errno.EROFS, "Read-only file system", str(folder))

        mp.setattr(tempfile, "NamedTemporaryFile", refuse)
    try:
        return main_outcome(["run", f"hydra.run.dir={folder / 'run'}", *FAST])
    finally:
        folder.chmod(0o755)


def output_under_a_file(tmp, mp):
    (tmp / "file").write_text("")
    return main_outcome(["run", f"hydra.run.dir={tmp / 'file' / 'run'}"])


def disk_full_while_writing(tmp, mp):
    import numpy as np

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    mp.setattr(np, "savez_compressed", full)
    return main_outcome(["run", f"hydra.run.dir={tmp / 'run'}", *FAST])


def multirun_with_a_bad_point(tmp, mp):
    outcome = main_outcome(["run", "-m", f"hydra.sweep.dir={tmp / 'sweep'}", *FAST, "patient.area_cm2=1,-1,2"])
    launched = sorted(p.name for p in (tmp / "sweep").iterdir() if p.is_dir())
    return dataclasses.replace(outcome, text=outcome.text + f"\n(jobs launched: {launched or 'none'})")


def unfinished_study(tmp, mp):
    """A cohort study's folder whose multirun had 3 jobs: job 0 finished, job 1 failed, job 2 never ran."""
    from omegaconf import OmegaConf

    study = tmp / "study"
    (study / "store" / "runs").mkdir(parents=True)
    OmegaConf.save({"hydra": {"sweep": {"dir": str(study), "subdir": "${hydra.job.num}"},
                              "sweeper": {"_target_": "hydra._internal.core_plugins.basic_sweeper.BasicSweeper",
                                          "params": {"treatment.sites": "4,8,16"}},
                              "overrides": {"task": ["+experiment=product_dose_sites"]}}}, study / "multirun.yaml")
    (study / "0").mkdir()
    (study / "0" / "cohort.parquet").write_bytes(b"")
    (study / "1").mkdir()
    (study / "points.csv").write_text("an older gather\n")
    outcome = main_outcome(["sweep", "gather", str(study)])
    left = "points.csv left in place" if (study / "points.csv").exists() else "old points.csv removed"
    return dataclasses.replace(outcome, text=outcome.text + f"\n({left})")


def run_case(override: str, expect: str, **kwargs) -> Case:
    """`woundsim run OVERRIDE` into the case's temporary folder."""
    return Case("woundsim run", override, command("run", "hydra.run.dir={tmp}", override), expect, **kwargs)


# ---------------------------------------------------------------------------------------------- the table

CASES = [
    # simulate() and the model, from Python
    Case("simulate()", "seed=-1", simulate_with(seed=-1), "seed = -1 is negative", "InputError"),
    Case("simulate()", "seed=1.5", simulate_with(seed=1.5), "seed = 1.5 (float) is not a seed", "InputError"),
    Case("simulate()", 'seed="7"', simulate_with(seed="7"), "seed = '7' (str) is not a seed", "InputError"),
    Case("simulate()", "seed=True", simulate_with(seed=True), "is not a seed", "InputError"),
    Case("simulate()", "params={...} (a dict)", simulate_with(params={"numerics": {"dx_um": 200}}),
         "params must be a woundsim.params.ModelParams", "InputError"),
    Case("simulate()", "patient={...} (a dict)", simulate_with(patient={"area_cm2": 1.0}),
         "patient must be a woundsim.patient.Patient", "InputError"),
    Case("simulate()", 'treatment="exosomes"', simulate_with(treatment="exosomes"),
         "treatment must be a woundsim.treatment.Treatment", "InputError"),
    Case("simulate()", "patient and treatment swapped",
         simulate_with(patient=lambda: mutated_treatment()(), treatment=lambda: mutated_patient()()),
         "patient must be a woundsim.patient.Patient, got Treatment", "InputError"),
    Case("simulate()", "patient.area_cm2 = -1 set after Patient(...)", simulate_with(patient=mutated_patient(area_cm2=-1.0)),
         "patient.area_cm2 = -1.0", "InputError"),
    Case("simulate()", 'patient.texas_grade = "III" set after Patient(...)',
         simulate_with(patient=mutated_patient(texas_grade="III")), "patient.texas_grade = 'III'", "InputError"),
    Case("simulate()", 'patient.texas_stage = "X" set after Patient(...)',
         simulate_with(patient=mutated_patient(texas_stage="X")), "patient.texas_stage = 'X'", "InputError"),
    Case("simulate()", "treatment.dose_ug_per_site = -1 set after Treatment(...)",
         simulate_with(treatment=mutated_treatment(dose_ug_per_site=-1.0)), "treatment.dose_ug_per_site", "InputError"),
    Case("WoundModel()", "seed=-2", call(lambda tmp, mp: __import__("woundsim.model").model.WoundModel(seed=-2)),
         "seed = -2 is negative", "InputError"),
    Case("load_posterior()", "a damaged posterior file",
         call(lambda tmp, mp: __import__("woundsim.posterior").posterior.load_posterior(damaged_posterior(tmp))),
         "is damaged (not a whole Parquet file)", "InputError"),
    Case("load_posterior()", "a posterior file damaged inside (whole ends)",
         call(lambda tmp, mp: __import__("woundsim.posterior").posterior.load_posterior(posterior_damaged_inside(tmp))),
         "is not a readable Parquet table", "InputError"),
    # woundsim run
    Case("woundsim run", "run.seed=-1", command("run", "hydra.run.dir={tmp}", *FAST, "run.seed=-1"),
         "woundsim: error: run.seed = -1 is negative"),
    run_case("run.seed=1.5", "could not be converted to Integer", hydra=True),
    run_case("run.seed=abc", "could not be converted to Integer", hydra=True),
    run_case("run.replicates=0", "woundsim: error: run.replicates = 0"),
    run_case("+patient.x=3", "woundsim: error: patient has no key patient.x"),
    run_case("+treatment.foo=1", "woundsim: error: treatment has no key treatment.foo"),
    run_case("+run.bar=1", "woundsim: error: run has no key run.bar"),
    run_case("+model.foo=1", "woundsim: error: unknown ModelParams keys ['foo']"),
    Case("woundsim run", "patient.texas_grade=III (valid)", command("run", "hydra.run.dir={tmp}", *FAST,
                                                                    "patient.texas_grade=III"),
         "[woundsim] ", status=0),
    run_case("patient.texas_grade=IV", "woundsim: error: patient.texas_grade = 'IV' is not a Texas grade"),
    run_case("patient.texas_grade=2.5", "patient.texas_grade", hydra=True),
    run_case("patient.area_cm2=-2", "woundsim: error: patient.area_cm2 = -2.0 cm² is out of range"),
    run_case("model.numerics.dx_um=10", "woundsim: error: model.numerics.dx_um"),
    run_case("run.snapshot_days=[500]", "woundsim: error: run.snapshot_days has day 500"),
    run_case("patient=nonesuch", "Could not find 'patient/nonesuch'", hydra=True),
    run_case("+experiment=nonesuch", "Could not find 'experiment/nonesuch'", hydra=True),
    run_case("patient.area_cm2=[1", "no viable alternative at input", hydra=True),
    Case("woundsim run", "--no-such-flag", command("run", "--no-such-flag"), "unrecognized arguments", hydra=True),
    Case("woundsim run", "-m patient.area_cm2=1,-1,2", multirun_with_a_bad_point,
         "woundsim: error: job 1 (patient.area_cm2=-1): patient.area_cm2 = -1.0"),
    Case("woundsim run", "hydra.run.dir=<a read-only folder>", read_only_output, "cannot be written"),
    Case("woundsim run", "hydra.run.dir=<a folder under a file>", output_under_a_file, "cannot be written"),
    Case("woundsim run", "the disk fills up while the run is written", disk_full_while_writing,
         "woundsim: error: no space left on the device writing into"),
    # woundsim plot
    Case("woundsim plot", "RUN_DIR without its COMPLETE marker", plot_of(remove="COMPLETE"),
         "is an incomplete run folder"),
    Case("woundsim plot", "RUN_DIR without timeseries.parquet", plot_of(remove="timeseries.parquet"),
         "has no timeseries.parquet"),
    Case("woundsim plot", "RUN_DIR with a damaged summary.json", plot_of(damage="summary.json"),
         "has a damaged file (JSONDecodeError"),
    Case("woundsim plot", "an empty folder", lambda tmp, mp: main_outcome(["plot", str(tmp)]),
         "is not a woundsim run folder"),
    Case("woundsim plot", "no/such/run", command("plot", "no/such/run"), "is not a woundsim run folder"),
    # studies
    Case("woundsim sweep", "-m cohort=seed_trial treatment.dose_ug_per_site=5,-1",
         command("sweep", "-m", "cohort=seed_trial", "hydra.sweep.dir={tmp}/study", "treatment.dose_ug_per_site=5,-1"),
         "woundsim: error: job 1 (treatment.dose_ug_per_site=-1): treatment.dose_ug_per_site = -1.0"),
    Case("woundsim sweep", "-m cohort=seed_trial study.schedule=monthly treatment.sites=4,8",
         command("sweep", "-m", "cohort=seed_trial", "hydra.sweep.dir={tmp}/study", "study.schedule=monthly",
                 "treatment.sites=4,8"),
         "woundsim: error: jobs 0, 1 (2 jobs): study.schedule = 'monthly' is not one of study.schedules"),
    Case("woundsim sweep", "-m treatment.sites=4,8 (no cohort)",
         command("sweep", "-m", "hydra.sweep.dir={tmp}/study", "treatment.sites=4,8"),
         "woundsim: error: jobs 0, 1 (2 jobs): cohort is not set"),
    Case("woundsim sweep gather", "a study whose multirun has unfinished jobs", unfinished_study,
         "gather what is there with --partial; removed the previous points.csv"),
    Case("woundsim sweep gather", "no/such/folder", command("sweep", "gather", "no/such/folder"),
         "woundsim: error: gather: no/such/folder is not a folder"),
    Case("woundsim sensitivity", "(no study chosen)", command("sensitivity", "hydra.run.dir={tmp}"),
         "woundsim: error: no sensitivity study chosen"),
    Case("woundsim sensitivity", "+sensitivity=nonesuch", command("sensitivity", "hydra.run.dir={tmp}",
                                                                  "+sensitivity=nonesuch"),
         "Could not find 'sensitivity/nonesuch'", hydra=True),
    Case("woundsim trial", "runin.days=-3", command("trial", "hydra.run.dir={tmp}", "runin.days=-3",
                                                                   "accept_calibration=true"),
         "woundsim: error: runin.days"),
    Case("woundsim trial", "a damaged installed posterior", trial_with_damaged_posterior,
         "woundsim: error: posterior file"),
    Case("woundsim calibrate", "resolution --posterior <a damaged file>",
         lambda tmp, mp: main_outcome(["calibrate", "resolution", "--posterior", str(damaged_posterior(tmp))]),
         "calibration: error: posterior file"),
    Case("woundsim calibrate", "check no/such/folder", command("calibrate", "check", "no/such/folder"),
         "calibration: error: no/such/folder is not a calibration output"),
    Case("woundsim", "nonesuch", command("nonesuch"), "woundsim: error: unknown command 'nonesuch'"),
]


def case_id(case: Case) -> str:
    return f"{case.entry} {case.shown}"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_bad_input_gets_one_line(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    outcome = case.run(tmp_path, monkeypatch)
    assert not outcome.traceback, outcome.text
    assert outcome.status == case.status, outcome.text
    assert case.expect in outcome.text, outcome.text
    if case.status == 2 and not case.hydra:  # woundsim's own error: one line, which says it is an error
        assert len([ln for ln in outcome.text.splitlines() if ": error: " in ln]) >= 1, outcome.text
        assert case.expect in outcome.first_line() or case.expect in outcome.text.splitlines()[-1], outcome.text


def test_the_docs_table_lists_every_case():
    text = DOC.read_text()
    missing = [case_id(c) for c in CASES if f"| {c.entry} | `{c.shown}` |" not in text]
    assert not missing, f"docs/errors.md lacks rows for {missing}; regenerate it: python -m tests.test_bad_inputs"
    assert f"{len(CASES)} inputs" in text


def markdown_table() -> str:
    """Run every case and render the table of docs/errors.md."""
    rows, tracebacks = [], 0
    for case in CASES:
        with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp:
            outcome = case.run(Path(tmp), mp)
        tracebacks += outcome.traceback
        line = outcome.first_line().replace(tmp, "<tmp>").replace("|", "\\|")
        line = line if len(line) <= 200 else line[:197] + "..."
        status = f"exit {outcome.status}" if isinstance(outcome.status, int) else outcome.status
        got = "**traceback**" if outcome.traceback else f"{status}: {line}" if line else status
        rows.append(f"| {case.entry} | `{case.shown}` | {got} |")
    head = (f"{len(CASES)} inputs, {tracebacks} tracebacks left.\n\n"
            "| entry point | input | what it gets |\n|---|---|---|")
    return head + "\n" + "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
