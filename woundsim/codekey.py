"""The code key: one hash of the code that `simulate()` runs, so that no store mixes results of two models.

`code_modules()` follows the imports of `woundsim.simulate` and `woundsim.cohort`, transitively, through the woundsim modules
(every `import` / `from ... import` anywhere in a module, function bodies included, plus the package
`__init__` files each import runs), and hashes each module's syntax tree with its docstrings removed: an
edited comment, docstring, blank line or line number leaves the key alone, any change to what the code does
changes it. `code_key()` is the hash of all of them: every resumable store (sweep points, sensitivity
evaluations, calibration runs, trial pools) puts it in its keys and records it in its folder
(`bind_store`), so resuming under changed code refuses with one line naming the modules that changed.

A code key changes with refactors that leave results identical; whether results changed is what the
regression baseline answers (tests/regression/baseline, refreshed only by result-changing commits):
`baseline_digest()` hashes it, and an installed posterior records both (`woundsim.posterior_code`).

    python -m woundsim.codekey                 # the current key and its modules
    python -m woundsim.codekey adopt STORE     # vouch for a store written before stores recorded their code
    python -m woundsim.codekey rebind STORE    # resume a store after a refactor the regression check passes
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from woundsim.errors import InputError, renamed

PACKAGE_ROOT = Path(__file__).resolve().parent  # the woundsim package folder
#: where the import graph starts: simulate() and the cohort sampling (patients, per-patient seeds and
#: outcome rows) that every study's rows come from
ENTRIES = ("woundsim.simulate", "woundsim.cohort")
CODE_FILE = "code.json"  # a store's record of the code its results were computed with
SESSIONS_FILE = "sessions.jsonl"  # one line per session of a study: git, versions, wall time, counts
BASELINE_DIR = PACKAGE_ROOT.parent / "tests" / "regression" / "baseline"


__getattr__ = renamed(__name__, {"main": "print_code_key"})


def code_modules(root: Path | str | None = None) -> dict[str, str]:
    """Each woundsim module `ENTRIES` import (transitively, themselves included): 16-hex hash of its AST
    without docstrings.

    Args:
        root: the woundsim package folder (default: this one; another checkout's, to compare).

    Returns:
        {dotted module name: digest}, sorted by name.
    """
    root = Path(root).resolve() if root is not None else PACKAGE_ROOT
    stamp = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(root.rglob("*.py")))
    return dict(_modules(str(root), ENTRIES, stamp))


def code_key(root: Path | str | None = None) -> str:
    """16-hex-digit hash of the code `simulate()` runs and the cohorts are drawn with (see `code_modules`)."""
    modules = code_modules(root)
    return hashlib.sha256(json.dumps(modules, sort_keys=True).encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=8)
def _modules(root: str, entries: tuple[str, ...], stamp: tuple) -> tuple[tuple[str, str], ...]:
    package = Path(root)
    seen: dict[str, str] = {}
    todo = list(entries)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = _module_file(package, name)
        if path is None:
            raise InputError(f"code key: module {name} (imported from the simulation code) has no file under {package}")
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        seen[name] = hashlib.sha256(ast.dump(_strip_docstrings(tree)).encode()).hexdigest()[:16]
        todo += [m for m in _imports(tree, name, path.name == "__init__.py", package) if m not in seen]
        todo += [p for p in _parents(name) if p not in seen]
    return tuple(sorted(seen.items()))


def _module_file(package: Path, name: str) -> Path | None:
    parts = name.split(".")[1:]
    base = package.joinpath(*parts)
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _parents(name: str) -> list[str]:
    """Packages whose `__init__` runs when `name` is imported: woundsim, woundsim.kernels, ..."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _imports(tree: ast.Module, name: str, is_package: bool, package: Path) -> list[str]:
    """The woundsim modules a module imports (`from a import b` counts a.b when b is a module)."""
    here = name if is_package else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here.split(".")[: len(here.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            found.append(base)
            found += [f"{base}.{alias.name}" for alias in node.names
                      if _module_file(package, f"{base}.{alias.name}") is not None]
    return [m for m in found if m == "woundsim" or m.startswith("woundsim.")]


def _strip_docstrings(tree: ast.Module) -> ast.Module:
    """The tree without the docstring of the module and of every class and function (in place)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                node.body = node.body[1:] or [ast.Pass()]
    return tree


def baseline_digest(folder: Path | str | None = None) -> str | None:
    """16-hex hash of the regression baseline's results (machine.json excluded); None if it is not there.

    The baseline is refreshed only by a commit that changes results, so two checkouts with equal digests
    simulate the reference runs identically.
    """
    folder = Path(folder) if folder is not None else BASELINE_DIR
    files = sorted(p for p in folder.glob("*") if p.is_file() and p.name != "machine.json") if folder.is_dir() else []
    if not files:
        return None
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def code_record() -> dict:
    """What a store records about the code its results come from: key, modules, baseline, git revision."""
    from woundsim.output import git_revision

    return {"code_key": code_key(), "modules": code_modules(),
            "baseline_digest": baseline_digest(), "git": git_revision(),
            "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def changed_modules(old: dict[str, str], new: dict[str, str]) -> list[str]:
    """Module names whose digest differs, or that only one side has."""
    return sorted(m for m in set(old) | set(new) if old.get(m) != new.get(m))


def bind_store(root: Path | str, *, what: str = "store", has_results: bool | None = None) -> dict:
    """Record the current code in `root` (a new or empty store), or check that it is what `root` was filled with.

    Args:
        root: the store's folder (created if missing).
        what: what the folder is, for the message ("sweep store", "sensitivity store", ...).
        has_results: whether the folder already holds results (default: a `ResultStore`'s `runs/*.json`).

    Returns:
        The store's code record.

    Raises:
        StaleStoreError: the folder holds results of other code, or results without a code record.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    record_path = root / CODE_FILE
    current = code_record()
    if record_path.is_file():
        stored = _read_record(record_path)
        if stored.get("code_key") != current["code_key"]:
            changed = changed_modules(stored.get("modules", {}), current["modules"])
            commit = str((stored.get("git") or {}).get("commit", "unknown"))[:10]
            raise StaleStoreError(
                f"{what} {root} holds results of other simulation code (code key {stored.get('code_key')} at commit "
                f"{commit}, now {current['code_key']}; changed: {', '.join(changed) or 'unknown'}); "
                f"use a new output folder to recompute, or delete {root}"
                + (f" (the regression baseline is unchanged since: `python -m woundsim.codekey rebind {root}` resumes "
                   "it if the regression check passes)"
                   if stored.get("baseline_digest") and stored.get("baseline_digest") == current["baseline_digest"] else ""))
        return stored
    if _holds_results(root) if has_results is None else has_results:
        raise StaleStoreError(
            f"{what} {root} holds results written before stores recorded their code, so they may come from other "
            f"code; use a new output folder, delete {root}, or vouch for them with `python -m woundsim.codekey adopt {root}`")
    write_json_atomic(record_path, current)
    return current


def store_code_note(root: Path | str) -> str | None:
    """One line saying that a store's results come from other code than the current one (None if they do not).

    For readers (gather): the stored results are what that code computed, which may no longer be what today's
    code computes.
    """
    path = Path(root) / CODE_FILE
    if not path.is_file():
        return f"{root} does not record the code its results were computed with" if _holds_results(Path(root)) else None
    stored = _read_record(path)
    if stored.get("code_key") == code_key():
        return None
    changed = changed_modules(stored.get("modules", {}), code_modules())
    commit = str((stored.get("git") or {}).get("commit", "unknown"))[:10]
    return (f"{root} holds results of other simulation code (code key {stored.get('code_key')} at commit {commit}; "
            f"changed since: {', '.join(changed) or 'unknown'}): its tables show what that code computed")


class StaleStoreError(InputError):
    """A store holds results computed with other code than the current one."""


def _holds_results(root: Path) -> bool:
    runs = root / "runs"
    return runs.is_dir() and any(not p.name.startswith(".") for p in runs.glob("*.json"))


def _read_record(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path} cannot be read ({exc}); delete its folder to recompute") from exc


def write_json_atomic(path: Path, data: dict) -> None:
    """Write `data` as JSON under a temporary name, then rename (group-readable under the usual umask)."""
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    tmp.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, path)


def log_session(root: Path | str, wall_time_s: float, **counts: int | str) -> None:
    """Append one line to `<root>/sessions.jsonl`: git commit, dirty flag, versions, code key, wall time, counts.

    One `write` of one line in append mode, so concurrent sessions (parallel sweep points) do not interleave.
    """
    from woundsim.output import git_revision, versions

    line = {"finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "wall_time_s": round(float(wall_time_s), 3),
            "code_key": code_key(), "git": git_revision(), "versions": versions(), "argv": sys.argv, **counts}
    fd = os.open(Path(root) / SESSIONS_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        os.write(fd, (json.dumps(line, default=str) + "\n").encode())
    finally:
        os.close(fd)


def adopt(root: Path | str) -> dict:
    """Record the current code in a store written before stores recorded their code (the user vouches for it)."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"adopt: {root} is not a folder")
    if (root / CODE_FILE).is_file():
        raise InputError(f"adopt: {root} already records its code ({root / CODE_FILE})")
    record = {**code_record(), "adopted": True}
    write_json_atomic(root / CODE_FILE, record)
    return record


def rebind(root: Path | str, check: Callable[[], int] | None = None) -> dict:
    """Record the current code in a store filled by other code that the regression baseline shows to compute the same.

    For a long study resumed across a result-preserving refactor (a calibration's waves over several sessions).
    Allowed only when the store's recorded baseline digest equals the current one (no result-changing commit
    between them: such a commit refreshes the baseline) and the regression check passes here now. The earlier
    records are kept under `rebound_from`.

    Args:
        root: the store's folder.
        check: runs the regression check and returns its exit status (default `python -m tests.regression check`
            in the source checkout, which the command needs).

    Raises:
        InputError: no code record, a changed baseline, or a failing regression check.
    """
    root = Path(root)
    path = root / CODE_FILE
    if not path.is_file():
        raise InputError(f"rebind: {root} records no code ({CODE_FILE}); a store of unknown code is adopted, not rebound")
    stored, current = _read_record(path), code_record()
    if stored.get("code_key") == current["code_key"]:
        return stored
    if not stored.get("baseline_digest") or stored.get("baseline_digest") != current["baseline_digest"]:
        raise InputError(f"rebind: {root} was filled when the regression baseline was {stored.get('baseline_digest')}, "
                         f"now {current['baseline_digest']}: results changed since; recompute in a new folder")
    status = (check or _regression_check)()
    if status != 0:
        raise InputError(f"rebind: the regression check exits {status} here (`python -m tests.regression check`), so "
                         "this code is not shown to compute what the store holds; recompute in a new folder")
    earlier = {k: stored.get(k) for k in ("code_key", "git", "baseline_digest", "recorded_at")}
    record = {**current, "rebound_from": [earlier, *stored.get("rebound_from", [])]}
    write_json_atomic(path, record)
    return record


def _regression_check() -> int:
    """Exit status of `python -m tests.regression check` in the source checkout holding this package."""
    checkout = PACKAGE_ROOT.parent
    if not (checkout / "tests" / "regression").is_dir():
        raise InputError(f"rebind needs the source checkout's tests/regression (not found under {checkout})")
    return subprocess.run([sys.executable, "-m", "tests.regression", "check"], cwd=checkout).returncode


def print_code_key(argv: list[str] | None = None) -> int:
    """`python -m woundsim.codekey [adopt STORE | rebind STORE]`."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args[:1] == ["adopt"] and len(args) == 2:
            print(f"{args[1]}: recorded code key {adopt(args[1])['code_key']}")
        elif args[:1] == ["rebind"] and len(args) == 2:
            print(f"{args[1]}: recorded code key {rebind(args[1])['code_key']}")
        elif not args:
            print(f"code key {code_key()} (baseline {baseline_digest()})")
            for name, digest in code_modules().items():
                print(f"  {digest}  {name}")
        else:
            print("usage: python -m woundsim.codekey [adopt STORE | rebind STORE]", file=sys.stderr)
            return 2
    except InputError as exc:
        print(f"woundsim.codekey: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(print_code_key())
