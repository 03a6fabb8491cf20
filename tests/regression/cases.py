"""The reference runs of the regression baseline, and how each is simulated and stored.

Each case is one patient simulated the way a study simulates it (the Hydra config options of
`conf/`, turned into plain objects by `woundsim.config.to_objects`, then `simulate()`), except
`mesa_step_250um`, which steps a `WoundModel` hour by hour through `step()` with the Mesa agent
mirror synchronised every hour. Together they cover the 100, 200 and 250 µm grids, treated and
standard care, the calibrated and the default parameter sets, a run that never closes and the
Mesa-synchronised path.

A run is stored as `<case>.summary.json` (the summary, plus a SHA-256 of the final tissue layers
and fields) and `<case>.timeseries.csv` (the daily series). Floats are written by `repr` (summary)
and with 17 significant digits (series), both of which round-trip every float64 exactly, so the
comparison is exact, not within a tolerance.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import platform
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

BASELINE_DIR = Path(__file__).resolve().parent / "baseline"


@dataclass(frozen=True)
class Case:
    """One reference run: conf options by group, a grid, a seed (and, for the Mesa path, hours stepped)."""

    name: str
    patient: str
    treatment: str
    model: str
    dx_um: float
    dt_agent_h: float = 1.0
    seed: int = 1
    mesa_step_hours: int = 0  # > 0: step a WoundModel this many hours with hourly Mesa sync, no simulate()
    overrides: dict = field(default_factory=dict)


CASES = (
    Case("treated_calibrated_100um", "default", "hucmscd_trial", "calibrated", 100.0, seed=1),
    Case("treated_calibrated_200um_grade3", "grade3_infected", "hucmscd_trial", "calibrated", 200.0, seed=2),
    Case("treated_default_250um_2h", "default", "hucmscd_weekly", "default", 250.0, dt_agent_h=2.0, seed=3),
    Case("standard_care_default_100um", "small_superficial", "standard_care", "default", 100.0, seed=4),
    Case("standard_care_default_200um", "default", "standard_care", "default", 200.0, seed=5),
    Case("standard_care_calibrated_250um_never_closes", "grade3_infected", "standard_care", "calibrated", 250.0,
         seed=6),
    Case("conditioned_medium_default_200um", "small_superficial", "conditioned_medium", "default", 200.0, seed=7),
    Case("mesa_step_250um", "default", "hucmscd_weekly", "default", 250.0, seed=8, mesa_step_hours=7 * 24),
)


def objects(case: Case):
    """(params, patient, treatment) of a case, composed from conf/ as `woundsim run` composes them."""
    from woundsim.config import named_option, to_objects

    model = named_option("model", case.model)
    model["numerics"] = {**model.get("numerics", {}), "dx_um": case.dx_um, "dt_agent_h": case.dt_agent_h,
                         "dt_field_h": case.dt_agent_h, **case.overrides}
    cfg = {"patient": named_option("patient", case.patient), "treatment": named_option("treatment", case.treatment),
           "model": model}
    params, patient, treatment, _ = to_objects(cfg)
    return params, patient, treatment


def run(case: Case) -> tuple[dict, pd.DataFrame]:
    """Simulate a case: its summary (with a digest of the final state) and its daily series."""
    params, patient, treatment = objects(case)
    if case.mesa_step_hours > 0:
        import dataclasses

        from woundsim.model import WoundModel
        from woundsim.summary import summarise

        params = dataclasses.replace(params, numerics=dataclasses.replace(params.numerics, mesa_sync_hours=1.0))
        model = WoundModel(params, patient, treatment, seed=case.seed)
        for _ in range(case.mesa_step_hours):
            model.step()
        ts = pd.DataFrame.from_records(model.records)
        summary = summarise(model, ts)
        summary["mesa_agents"] = len(model.agents)
    else:
        from woundsim.simulate import simulate

        with _built_models() as built:
            result = simulate(params, patient, treatment, seed=case.seed, snapshot_days=())
        ts, summary = result.timeseries, dict(result.summary)
        model = built[-1]  # simulate() does not return its model: the one it built
    summary["final_state_sha256"] = _state_digest(model)
    return summary, ts


@contextlib.contextmanager
def _built_models():
    """Collect every WoundModel constructed inside the block (however the caller imported the class)."""
    from woundsim.model import WoundModel

    built, init = [], WoundModel.__init__

    def recording_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        built.append(self)

    WoundModel.__init__ = recording_init
    try:
        yield built
    finally:
        WoundModel.__init__ = init


def _state_digest(model) -> str:
    digest = hashlib.sha256()
    for layer in (model.granulation, model.epithelium, model.debris, model.perfusion):
        digest.update(np.ascontiguousarray(layer).tobytes())
    digest.update(np.ascontiguousarray(model.fields.c).tobytes())
    return digest.hexdigest()


# ---- storage -----------------------------------------------------------------------------------
def _plain(value):
    if isinstance(value, (bool, np.bool_)) or value is None:
        return None if value is None else bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return repr(float(value))  # round-trips exactly, NaN and inf included
    return value


def write(case: Case, summary: dict, ts: pd.DataFrame, folder: Path = BASELINE_DIR) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{case.name}.summary.json").write_text(
        json.dumps({k: _plain(v) for k, v in summary.items()}, indent=1, sort_keys=True) + "\n")
    ts.to_csv(folder / f"{case.name}.timeseries.csv", index=False, float_format="%.17g")


def read(case: Case, folder: Path = BASELINE_DIR) -> tuple[dict, pd.DataFrame] | None:
    spath, tpath = folder / f"{case.name}.summary.json", folder / f"{case.name}.timeseries.csv"
    if not (spath.is_file() and tpath.is_file()):
        return None
    return json.loads(spath.read_text()), pd.read_csv(tpath, float_precision="round_trip")


def differences(case: Case, summary: dict, ts: pd.DataFrame, folder: Path = BASELINE_DIR) -> list[str]:
    """What differs between a fresh run of `case` and its stored baseline (empty: bit-identical)."""
    stored = read(case, folder)
    if stored is None:
        return [f"{case.name}: no stored baseline"]
    old_summary, old_ts = stored
    new_summary = {k: _plain(v) for k, v in summary.items()}
    out = []
    for key in sorted(set(old_summary) | set(new_summary)):
        if old_summary.get(key, "<absent>") != new_summary.get(key, "<absent>"):
            out.append(f"{case.name}: summary {key}: {old_summary.get(key, '<absent>')} -> "
                       f"{new_summary.get(key, '<absent>')}")
    new_ts = pd.read_csv(_csv_roundtrip(ts), float_precision="round_trip")
    if list(old_ts.columns) != list(new_ts.columns):
        out.append(f"{case.name}: timeseries columns {sorted(set(old_ts.columns) ^ set(new_ts.columns))} "
                   f"added or removed")
    if len(old_ts) != len(new_ts):
        out.append(f"{case.name}: timeseries has {len(new_ts)} days, baseline {len(old_ts)}")
    n = min(len(old_ts), len(new_ts))
    for col in [c for c in old_ts.columns if c in new_ts.columns]:
        a, b = old_ts[col].to_numpy()[:n], new_ts[col].to_numpy()[:n]
        same = (a == b) | (pd.isna(a) & pd.isna(b))
        if not same.all():
            first = int(np.flatnonzero(~same)[0])
            try:
                worst = float(np.nanmax(np.abs(a.astype(float) - b.astype(float))))
            except (TypeError, ValueError):
                worst = math.nan
            out.append(f"{case.name}: timeseries {col} differs on {int((~same).sum())} of {n} days "
                       f"(first day {old_ts['day'].iloc[first]}: {a[first]!r} -> {b[first]!r}; max |diff| {worst:.3g})")
    return out


def _csv_roundtrip(ts: pd.DataFrame):
    import io

    buf = io.StringIO()
    ts.to_csv(buf, index=False, float_format="%.17g")
    buf.seek(0)
    return buf


def _numpy_cpu_features() -> dict:
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:
        return {}
    return __cpu_features__


# ---- the machine a baseline was made on ----------------------------------------------------------
def machine() -> dict:
    """What decides the floating-point results besides the code: CPU, Numba's target, FP flags, versions."""
    import llvmlite.binding as llvm
    import numba

    from woundsim.kernels import diffusion

    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    features = llvm.get_host_cpu_features()
    return {
        "cpu": cpu,
        "machine": platform.machine(),
        "numba_target_cpu": numba.config.CPU_NAME or llvm.get_host_cpu_name(),
        "numba_target_features": numba.config.CPU_FEATURES or "host",
        "host_has_fma": bool(features.get("fma", False)),
        "kernel_fastmath": sorted(diffusion._FASTMATH) if isinstance(diffusion._FASTMATH, (set, frozenset))
        else diffusion._FASTMATH,
        "numpy_simd": sorted(k for k, v in _numpy_cpu_features().items() if v),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "llvmlite": llvm.llvm_version_info and ".".join(map(str, llvm.llvm_version_info)),
    }
