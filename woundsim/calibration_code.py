"""Whether the installed calibration still describes today's model.

`python -m calibration install` writes `conf/model/calibrated.code.json` beside `calibrated.yaml`: the code
key (`woundsim.codekey.code_key`) and the regression-baseline digest (`woundsim.codekey.baseline_digest`) of
the code the posterior was fitted under. A refactor changes the code key but not the baseline, which only a
result-changing commit refreshes (tests/regression); so the calibration is out of date when the baseline
digest differs (or, where no baseline is at hand, when the code key differs).

Then `woundsim run` with the calibrated parameters warns in one line, and the trial designer refuses to
start until the model is recalibrated (`python -m calibration run`, then `install`) or the installed
calibration is explicitly accepted (`accept_calibration=true` on its command line).

A result-changing commit whose changes cannot move the calibration's fit (e.g. last-bit differences with no
endpoint of any regression case changed) may accept the installed calibration for its new baseline: it adds
`{"baseline_digest", "commit", "why"}` to the record's `accepted` list, in the same commit, saying why.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from woundsim.codekey import baseline_digest, code_key, write_json_atomic
from woundsim.errors import InputError

CONF_MODEL = Path(__file__).resolve().parents[1] / "conf" / "model"
RECORD = CONF_MODEL / "calibrated.code.json"
CALIBRATED = CONF_MODEL / "calibrated.yaml"


def fitted_code() -> dict:
    """What a calibration records about the code it is fitted under (stored in its posterior's metadata)."""
    from woundsim.output import git_revision

    return {"code_key": code_key(), "baseline_digest": baseline_digest(), "git": git_revision()}


def write_record(meta: dict, path: Path | str = RECORD) -> Path:
    """Write the installed calibration's code record from its posterior metadata (`fitted_code()` keys).

    A posterior from before calibrations recorded their code gets a record of unknown code, which
    `staleness` reports as such.
    """
    record = {key: meta.get(key) for key in ("code_key", "baseline_digest", "git")}
    if record["code_key"] is None:
        record["note"] = "the posterior predates code records: the code it was fitted under is unknown"
    path = Path(path)
    write_json_atomic(path, record)
    return path


def staleness(path: Path | str = RECORD) -> str | None:
    """None when the installed calibration was fitted under code with today's results; else why not, in words."""
    path = Path(path)
    if not path.is_file():
        return f"the installed calibration does not record the code it was fitted under ({path} is missing)"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        return f"the installed calibration's code record {path} cannot be read ({exc})"
    commit = str((record.get("git") or {}).get("commit") or "unknown")[:10]
    fitted_baseline, here_baseline = record.get("baseline_digest"), baseline_digest()
    if fitted_baseline and here_baseline:
        if here_baseline in [fitted_baseline, *(a.get("baseline_digest") for a in record.get("accepted") or [])]:
            return None
        return (f"the model's results changed since the installed calibration was fitted (commit {commit}: "
                f"regression baseline {fitted_baseline}, now {here_baseline})")
    if record.get("code_key") is None:
        return "the installed calibration does not record the code it was fitted under"
    if record["code_key"] == code_key():
        return None
    return (f"the simulation code changed since the installed calibration was fitted (commit {commit}: code key "
            f"{record['code_key']}, now {code_key()}; no regression baseline here to tell whether results changed)")


def uses_calibration(model: dict[str, Any] | None, calibrated: Path | str = CALIBRATED) -> bool:
    """Whether a resolved `model` config carries the installed calibration's values (model=calibrated)."""
    calibrated = Path(calibrated)
    if not model or not calibrated.is_file():
        return False
    return _contains(model, yaml.safe_load(calibrated.read_text()) or {})


def _contains(values: dict, wanted: dict) -> bool:
    for key, value in wanted.items():
        if isinstance(value, dict):
            if not isinstance(values.get(key), dict) or not _contains(values[key], value):
                return False
        elif values.get(key) != value:
            return False
    return True


def warning(model: dict[str, Any] | None) -> str | None:
    """The one-line warning `woundsim run` prints for a run with an out-of-date calibration (None if none)."""
    why = staleness() if uses_calibration(model) else None
    return None if why is None else (f"warning: {why}; the calibrated parameters may no longer fit the "
                                     "targets: recalibrate (python -m calibration run, then install)")


def require_current(model: dict[str, Any] | None, *, posterior: bool, accept: bool, who: str) -> None:
    """Refuse a study built on an out-of-date calibration unless it is explicitly accepted.

    Args:
        model: the study's resolved model config (checked against conf/model/calibrated.yaml).
        posterior: whether the study draws from the installed posterior.
        accept: the user accepts the installed calibration as it is (`accept_calibration=true`).
        who: the study, for the message ("trial designer").

    Raises:
        InputError: the calibration is out of date and not accepted.
    """
    if accept or not (posterior or uses_calibration(model)):
        return
    why = staleness()
    if why is not None:
        raise InputError(f"{who}: {why}; recalibrate (python -m calibration run, then install) or accept the "
                         "installed calibration as it is with accept_calibration=true")
