"""Stores know the code (issue 16, item 1): the code key, stores bound to it, the installed calibration's record."""

import json
import shutil
import stat
from pathlib import Path

import pytest

import woundsim
from woundsim import calibration_code, codekey
from woundsim.codekey import (CODE_FILE, StaleStoreError, adopt, baseline_digest, bind_store, changed_modules,
                              code_key, code_modules, log_session)
from woundsim.errors import InputError
from woundsim.store import ResultStore, run_resumable

PACKAGE = Path(woundsim.__file__).resolve().parent


@pytest.fixture
def package_copy(tmp_path):
    """A copy of the woundsim package to edit."""
    root = tmp_path / "woundsim"
    shutil.copytree(PACKAGE, root, ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
    return root


def test_key_follows_the_import_graph_of_simulate():
    modules = code_modules()
    kernels = {f"woundsim.kernels.{p.stem}" for p in (PACKAGE / "kernels").glob("*.py") if p.stem != "__init__"}
    assert kernels <= set(modules)  # every kernel is run by simulate() (contraction since issue 17 item 1)
    assert {"woundsim", "woundsim.kernels", "woundsim.simulate", "woundsim.model", "woundsim.cohort"} <= set(modules)
    assert not {"woundsim.cli", "woundsim.plots", "woundsim.sweep", "woundsim.codekey"} & set(modules)
    assert code_key() == code_key(root=PACKAGE) and len(code_key()) == 16


def test_comments_docstrings_and_blank_lines_leave_the_key_alone(package_copy):
    before = code_key(root=package_copy)
    model = package_copy / "model.py"
    text = model.read_text()
    text = text.replace('"""', '"""Edited docstring. ', 1) + "\n\n# a comment at the end\n"
    model.write_text(text.replace("import math\n", "import math  # a comment\n\n", 1))
    assert code_key(root=package_copy) == before


def test_a_code_change_changes_the_key_and_names_the_module(package_copy):
    before, key = code_modules(root=package_copy), code_key(root=package_copy)
    rules = package_copy / "rules.py"
    rules.write_text(rules.read_text() + "\nEXTRA = 1\n")
    assert changed_modules(before, code_modules(root=package_copy)) == ["woundsim.rules"]
    assert code_key(root=package_copy) != key


def test_a_store_records_its_code_and_refuses_other_code_in_one_line(tmp_path):
    record = bind_store(tmp_path / "s", what="sweep store")
    assert record["code_key"] == code_key() and set(record["git"]) == {"commit", "dirty"}
    assert bind_store(tmp_path / "s")["code_key"] == code_key()  # same code: resumes
    stored = json.loads((tmp_path / "s" / CODE_FILE).read_text())
    stored["code_key"] = "0" * 16
    stored["modules"]["woundsim.model"] = "f" * 16
    (tmp_path / "s" / CODE_FILE).write_text(json.dumps(stored))
    with pytest.raises(StaleStoreError) as err:
        bind_store(tmp_path / "s", what="sweep store")
    message = str(err.value)
    assert "\n" not in message and "other simulation code" in message and "woundsim.model" in message
    assert "new output folder" in message


def test_a_store_of_unknown_code_is_refused_until_adopted(tmp_path):
    store = ResultStore(tmp_path / "old")
    store.write("a", {"x": 1})
    with pytest.raises(StaleStoreError, match="before stores recorded their code"):
        bind_store(store.root)
    assert adopt(store.root)["adopted"] is True
    assert bind_store(store.root)["code_key"] == code_key()
    with pytest.raises(InputError, match="already records"):
        adopt(store.root)


def test_a_store_of_other_code_is_rebound_only_with_the_same_baseline_and_a_passing_check(tmp_path, monkeypatch):
    from woundsim.codekey import rebind

    store = ResultStore(tmp_path / "s")
    bind_store(store.root)
    store.write("a", {"x": 1})
    with pytest.raises(InputError, match="records no code"):
        rebind(tmp_path)
    monkeypatch.setattr(codekey, "code_key", lambda root=None: "1" * 16)  # a result-preserving refactor
    with pytest.raises(StaleStoreError, match=r"baseline is unchanged since: `python -m woundsim\.codekey rebind"):
        bind_store(store.root)
    with pytest.raises(InputError, match=r"regression check exits 1 here"):
        rebind(store.root, check=lambda: 1)
    with pytest.raises(StaleStoreError):
        bind_store(store.root)  # a failed rebind leaves the record alone
    old = json.loads((store.root / CODE_FILE).read_text())
    record = rebind(store.root, check=lambda: 0)
    assert record["code_key"] == "1" * 16 and record["rebound_from"][0]["code_key"] == old["code_key"]
    assert bind_store(store.root)["code_key"] == "1" * 16
    monkeypatch.setattr(codekey, "code_key", lambda root=None: "2" * 16)
    monkeypatch.setattr(codekey, "baseline_digest", lambda folder=None: "0" * 16)  # results changed since
    with pytest.raises(InputError, match="results changed since; recompute in a new folder"):
        rebind(store.root, check=lambda: 0)
    with pytest.raises(StaleStoreError) as err:
        bind_store(store.root)
    assert "rebind" not in str(err.value)


def test_sweep_point_refuses_a_store_of_other_code_before_simulating(tmp_path, monkeypatch):
    from tests.test_sweep import kill_scenario
    from woundsim.sweep import run_cohort_scenario

    bind_store(tmp_path)
    monkeypatch.setattr(codekey, "code_key", lambda root=None: "1" * 16)
    with pytest.raises(StaleStoreError, match="sweep store"):
        run_cohort_scenario(kill_scenario(), ResultStore(tmp_path))


def test_every_store_key_includes_the_code_key(monkeypatch):
    from tests.test_sweep import kill_scenario
    from woundsim import sweep
    from woundsim.sensitivity import evaluate
    from woundsim.trial import pools

    scenario = kill_scenario()
    spec = pools.PoolSpec(scenario.params, scenario.spec, scenario.treatment, n_candidates=2, seed=1)
    before = (scenario.hash(), spec.key(), evaluate.config_hash([{"m": 1}, evaluate.code_key()]))
    for module in (sweep, pools, evaluate):
        monkeypatch.setattr(module, "code_key", lambda: "2" * 16)
    after = (scenario.hash(), spec.key(), evaluate.config_hash([{"m": 1}, evaluate.code_key()]))
    assert all(a != b for a, b in zip(before, after))


def test_sessions_are_logged_and_store_files_group_readable(tmp_path):
    store = ResultStore(tmp_path)
    path = store.write("k", {"x": 1})
    assert path.stat().st_mode & stat.S_IRGRP
    log_session(tmp_path, 1.5, found=2, computed=3)
    log_session(tmp_path, 2.0, found=5, computed=0)
    lines = [json.loads(line) for line in (tmp_path / codekey.SESSIONS_FILE).read_text().splitlines()]
    assert [line["computed"] for line in lines] == [3, 0] and lines[0]["code_key"] == code_key()
    assert {"git", "versions", "wall_time_s"} <= set(lines[0]) and "dirty" in lines[0]["git"]


def _double(x):
    return {"y": 2 * x}


def test_a_resumed_study_says_what_it_found(tmp_path, capsys):
    store = ResultStore(tmp_path)
    run_resumable(_double, [1, 2], ["a", "b"], store, desc="demo")
    assert "resuming" not in capsys.readouterr().err
    run_resumable(_double, [1, 2, 3], ["a", "b", "c"], store, desc="demo")
    assert "demo: resuming, 2 of 3 result(s) found in the store, 1 to compute" in capsys.readouterr().err


def test_baseline_digest_ignores_the_machine_file(tmp_path):
    assert baseline_digest(tmp_path) is None
    (tmp_path / "a.summary.json").write_text("{}")
    first = baseline_digest(tmp_path)
    (tmp_path / "machine.json").write_text('{"cpu": "x"}')
    assert baseline_digest(tmp_path) == first
    (tmp_path / "a.summary.json").write_text('{"x": 1}')
    assert baseline_digest(tmp_path) != first


def _record(path: Path, **values) -> Path:
    path.write_text(json.dumps({"code_key": code_key(), "baseline_digest": baseline_digest(),
                                "git": {"commit": "abc1234", "dirty": False}, **values}))
    return path


def test_installed_calibration_is_current_when_the_baseline_is_unchanged(tmp_path, monkeypatch):
    if baseline_digest() is None:
        pytest.skip("no regression baseline in this checkout")
    # the record shipped with conf/model is version 1's: since wound contraction (model version 2, issue 17) changed
    # the results it is stale until recalibrated, as PROTOCOL says it must be; a record of the current baseline is not
    assert "results changed" in calibration_code.staleness()
    assert calibration_code.staleness(_record(tmp_path / "c.json")) is None
    assert calibration_code.staleness(_record(tmp_path / "r.json", code_key="0" * 16)) is None  # a mere refactor
    stale = calibration_code.staleness(_record(tmp_path / "s.json", baseline_digest="0" * 16))
    assert "results changed" in stale and "abc1234" in stale
    assert "missing" in calibration_code.staleness(tmp_path / "nothing.json")


def test_trial_designer_refuses_a_stale_calibration_unless_accepted(tmp_path, monkeypatch):
    monkeypatch.setattr(calibration_code, "RECORD", _record(tmp_path / "r.json", baseline_digest="0" * 16))
    monkeypatch.setattr(calibration_code, "staleness", lambda path=None: "the model's results changed")
    with pytest.raises(InputError, match="accept_calibration=true") as err:
        calibration_code.require_current({}, posterior=True, accept=False, who="trial designer")
    assert "\n" not in str(err.value)
    calibration_code.require_current({}, posterior=True, accept=True, who="trial designer")
    calibration_code.require_current({}, posterior=False, accept=False, who="trial designer")  # not calibrated
    assert calibration_code.warning({}) is None


def test_uses_calibration_compares_the_installed_values(tmp_path):
    calibrated = tmp_path / "calibrated.yaml"
    calibrated.write_text("keratinocyte:\n  speed_um_day: 40.0\n")
    assert calibration_code.uses_calibration({"keratinocyte": {"speed_um_day": 40.0, "x": 1}}, calibrated)
    assert not calibration_code.uses_calibration({"keratinocyte": {"speed_um_day": 30.0}}, calibrated)
    assert not calibration_code.uses_calibration({}, calibrated)


def test_gather_notes_a_store_of_other_code_in_one_line(tmp_path, monkeypatch):
    bind_store(tmp_path)
    assert codekey.store_code_note(tmp_path) is None
    monkeypatch.setattr(codekey, "code_key", lambda root=None: "3" * 16)
    note = codekey.store_code_note(tmp_path)
    assert "other simulation code" in note and "\n" not in note


def test_a_calibration_accepted_for_a_later_baseline_is_current(tmp_path):
    if baseline_digest() is None:
        pytest.skip("no regression baseline in this checkout")
    accepted = [{"baseline_digest": baseline_digest(), "commit": "abc1234", "why": "last bits only"}]
    assert calibration_code.staleness(_record(tmp_path / "a.json", baseline_digest="0" * 16, accepted=accepted)) is None
    other = [{"baseline_digest": "1" * 16, "commit": "abc1234", "why": "another baseline"}]
    assert "results changed" in calibration_code.staleness(_record(tmp_path / "b.json", baseline_digest="0" * 16,
                                                                   accepted=other))
