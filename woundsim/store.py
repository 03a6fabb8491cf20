"""A results store that loses nothing: one atomically written JSON file per completed run.

Layout: `<root>/runs/<key>.json`, each holding `{"key", "seed", "config_hash", "record"}`. A file is first
written under a temporary name (`.tmp-*`) in the same folder, flushed to disk and then renamed with
`os.replace`, so a reader (or a restarted study) sees either the whole run or nothing. Temporary files left
by a killed process are ignored. `run_resumable` skips keys already on disk, so a study that is killed and
restarted completes with every key exactly once.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from woundsim.errors import InputError, require
from woundsim.parallel import ParallelConfig, map_tasks

_TMP_PREFIX = ".tmp-"
_KEY_PATTERN = re.compile(r"[A-Za-z0-9_=+,@-][A-Za-z0-9_.=+,@-]{0,199}")
_RESERVED = ("key", "seed", "config_hash")


def _default_file_mode() -> int:
    """The mode `open()` gives a new file under this process's umask (0o644 under the usual 022)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _default_file_mode()


def config_hash(obj: Any) -> str:
    """Stable 16-hex-digit hash of a configuration: sha256 of its canonical JSON (sorted keys).

    Dataclasses, dicts, lists, tuples, sets, numpy scalars and arrays, enums and paths are converted to
    plain JSON first, so equal configurations hash equally across processes and sessions. Note that
    1 and 1.0 hash differently (JSON keeps the distinction).

    Args:
        obj: the configuration (any nesting of the types above, str, int, float, bool, None).

    Raises:
        InputError: an object of another type is found.
    """
    text = json.dumps(_canonical(obj), sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _canonical(obj: Any) -> Any:
    """Convert `obj` to plain JSON types (dict keys become strings)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _canonical(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): _canonical(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_canonical(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted((_canonical(v) for v in obj), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(obj, np.ndarray):
        return _canonical(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, enum.Enum):
        return _canonical(obj.value)
    if isinstance(obj, Path):
        return str(obj)
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    raise InputError(f"config_hash: cannot hash an object of type {type(obj).__name__}; "
                     "allowed: dataclass, dict, list, tuple, set, numpy scalar/array, enum, Path, str, number, None")


def _json_default(obj: Any) -> Any:
    """`json.dump` fallback for numpy values in records."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"record value of type {type(obj).__name__} is not JSON serialisable")


class ResultStore:
    """One JSON file per completed run under `<root>/runs/`, written atomically.

    Args:
        root: study folder (created if missing).
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.runs = self.root / "runs"
        self.runs.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        """File of run `key` (whether or not it exists)."""
        _check_key(key)
        return self.runs / f"{key}.json"

    def done_keys(self) -> set[str]:
        """Keys of every completed run (temporary files of interrupted writes are ignored)."""
        return {p.stem for p in self.runs.glob("*.json") if not p.name.startswith(_TMP_PREFIX)}

    def has(self, key: str) -> bool:
        """Whether run `key` is complete."""
        return self.path(key).is_file()

    def write(self, key: str, record: dict, *, seed: int | None = None, config_hash: str | None = None) -> Path:
        """Write one run atomically (temporary file in the same folder, fsync, `os.replace`).

        Args:
            key: run identifier: letters, digits and `_ . = + , @ -`, at most 200 characters,
                not starting with a dot.
            record: the run's results, a dict of JSON-able values (numpy scalars allowed); may itself
                contain "seed" and "config_hash" if they agree with the arguments.
            seed: the run's seed (default: record["seed"] if present).
            config_hash: hash of the run's configuration (default: record["config_hash"] if present).

        Returns:
            The path of the run's file.
        """
        require(isinstance(record, dict), f"record for key {key!r} must be a dict, got {type(record).__name__}")
        target = self.path(key)
        payload = _payload(key, record, seed, config_hash)
        fd, tmp_name = tempfile.mkstemp(prefix=_TMP_PREFIX, suffix=".json", dir=self.runs)
        try:
            os.fchmod(fd, _FILE_MODE)  # mkstemp makes files private (0o600); a store is shared like any output
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(payload, handle, default=_json_default, allow_nan=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        _fsync_dir(self.runs)
        return target

    def read(self, key: str) -> dict:
        """The stored payload of run `key`: {"key", "seed", "config_hash", "record"}."""
        return _load(self.path(key))

    def gather(self, sort_by: str | Sequence[str] | None = None) -> pd.DataFrame:
        """All completed runs as one tidy table: one row per run, columns key, seed, config_hash, then the
        record's fields.

        Args:
            sort_by: column(s) to sort by (default: "key").
        """
        rows = [_row(_load(p)) for p in sorted(self.runs.glob("*.json")) if not p.name.startswith(_TMP_PREFIX)]
        table = pd.DataFrame(rows, columns=None if rows else list(_RESERVED))
        by = ["key"] if sort_by is None else sort_by
        missing = {by} - set(table.columns) if isinstance(by, str) else set(by) - set(table.columns)
        require(not missing, f"sort_by = {sort_by!r}: no column {sorted(missing)}; columns are {list(table.columns)}")
        return table.sort_values(by, kind="stable").reset_index(drop=True)

    def gather_to_parquet(self, path: Path | str, sort_by: str | Sequence[str] | None = None) -> Path:
        """Write `gather(sort_by)` to a Parquet file and return its path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.gather(sort_by).to_parquet(path, index=False)
        return path


def run_resumable(fn: Callable[[Any], dict], tasks: Sequence, keys: Sequence[str], store: ResultStore, *,
                  seeds: Sequence[int] | None = None, config_hashes: Sequence[str] | None = None,
                  config: ParallelConfig | None = None, desc: str = "") -> pd.DataFrame:
    """Run the tasks whose keys are not yet in `store`, writing each result as it arrives.

    Args:
        fn: picklable function of one task returning a dict record.
        tasks: the study's tasks, all of them (done ones are skipped).
        keys: one unique store key per task.
        store: where runs are written.
        seeds: seed stored with each run (default: the record's "seed" if it has one).
        config_hashes: configuration hash stored with each run (default: `config_hash(task)`).
        config: parallel back end (default `ParallelConfig()`).
        desc: progress-bar label.

    Returns:
        `store.gather()` restricted to `keys`, sorted by key.
    """
    tasks, keys = list(tasks), [str(k) for k in keys]
    require(len(keys) == len(tasks), f"keys has {len(keys)} entries but tasks has {len(tasks)}; need one key per task")
    require(len(set(keys)) == len(keys), "keys must be unique; found duplicates")
    for name, values in (("seeds", seeds), ("config_hashes", config_hashes)):
        require(values is None or len(values) == len(tasks), f"{name} must have one entry per task ({len(tasks)})")
    for key in keys:
        _check_key(key)
    hashes = [config_hash(task) for task in tasks] if config_hashes is None else list(config_hashes)
    done = store.done_keys()
    todo = [i for i, key in enumerate(keys) if key not in done]
    report_resume(desc or str(store.root), len(keys) - len(todo), len(todo))

    def on_result(position: int, record: dict) -> None:
        i = todo[position]
        store.write(keys[i], record, seed=None if seeds is None else int(seeds[i]), config_hash=hashes[i])

    map_tasks(fn, [tasks[i] for i in todo], config=config, desc=desc, on_result=on_result)
    table = store.gather()
    return table[table["key"].isin(set(keys))].reset_index(drop=True)


def report_resume(what: str, found: int, remaining: int) -> None:
    """Say on stderr, in one line, how many results a resumed study found and how many remain (silent when new)."""
    if found:
        print(f"[woundsim] {what}: resuming, {found} of {found + remaining} result(s) found in the store, "
              f"{remaining} to compute", file=sys.stderr, flush=True)


def _check_key(key: str) -> None:
    require(isinstance(key, str) and _KEY_PATTERN.fullmatch(key) is not None,
            f"store key {key!r} is invalid; allowed: 1-200 characters of letters, digits and _ . = + , @ -, "
            "not starting with a dot")


def _payload(key: str, record: dict, seed: int | None, chash: str | None) -> dict:
    """The stored document; refuses a record whose own key/seed/config_hash contradict the arguments."""
    given = {"key": key, "seed": seed, "config_hash": chash}
    for name in _RESERVED:
        if name in record and given[name] is not None and _canonical(record[name]) != _canonical(given[name]):
            raise InputError(f"record[{name!r}] = {record[name]!r} contradicts {name} = {given[name]!r} "
                             f"for key {key!r}")
        if given[name] is None and name in record:
            given[name] = record[name]
    body = {k: v for k, v in record.items() if k not in _RESERVED}
    return {**given, "record": body}


def _load(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"run file {path} cannot be read: {exc}") from exc


def _row(payload: dict) -> dict:
    return {"key": payload["key"], "seed": payload["seed"], "config_hash": payload["config_hash"],
            **payload["record"]}


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
