"""Calibration back ends: one interface, chosen by `calibration.method` (conf/calibration/*.yaml).

The pipeline (`calibration.pipeline`) calls a back end's `fit` to run or resume the calibration in its output
folder, and `refit` to rebuild the result from what the folder stores without simulating (`woundsim calibrate
check`). Both return a `BackendFit`: the posterior table in the layout `woundsim.posterior` reads, a progress
table (one row per ABC-SMC generation or history-matching wave), the facts the report states, and the
provenance stored with the posterior. Export, the posterior predictive check, figures and report are the
pipeline's, the same for every back end.

| method | module | what it stores in the folder |
|---|---|---|
| `abc_smc` | `calibration.backends.abc_smc` (pyabc) | `abc.db`, pyabc's SQLite history |
| `history_matching` | `calibration.backends.history_matching` | `waves/`: each wave's design, evaluations, patients |
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pandas as pd

from calibration.setup import CalibrationSetup
from woundsim.errors import InputError
from woundsim.parallel import ParallelConfig

METHODS = ("abc_smc", "history_matching")


@dataclass
class BackendFit:
    """What a back end hands the pipeline.

    Attributes:
        posterior: one row per draw: `particle`, `weight`, `distance`, natural values, `abc.<key>`.
        progress: one row per generation or wave (written as `progress_file`).
        progress_file: file name of `progress` in the output folder.
        report_progress: the progress table as the report shows it.
        run: facts for the report (method-specific keys; see `calibration.report`).
        provenance: stored in the posterior file's metadata.
        tables: further tables to write into the folder ({file name: table}).
        simulations: model evaluations in total; steps: generations or waves.
    """

    posterior: pd.DataFrame
    progress: pd.DataFrame
    progress_file: str
    report_progress: pd.DataFrame
    run: dict
    provenance: dict
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    simulations: int = 0
    steps: int = 0


class CalibrationBackend(Protocol):
    """A calibration method behind the pipeline."""

    method: str

    def has_results(self, out_dir: Path) -> bool:
        """The folder already holds this method's simulations."""

    def fit(self, setup: CalibrationSetup, out_dir: Path, meta: dict, progress: Callable[[str], None]) -> BackendFit:
        """Run or resume the calibration in `out_dir` (`meta`: problem hash, name, code key, to store)."""

    def refit(self, setup: CalibrationSetup, out_dir: Path, progress: Callable[[str], None]) -> BackendFit:
        """The result of the simulations stored in `out_dir` (no new simulations)."""


def backend_for(method: str) -> CalibrationBackend:
    """The back end of `calibration.method`."""
    if method == "abc_smc":
        from calibration.backends.abc_smc import AbcSmcBackend

        return AbcSmcBackend()
    if method == "history_matching":
        from calibration.backends.history_matching import HistoryMatchingBackend

        return HistoryMatchingBackend()
    raise InputError(f"calibration.method = {method!r} is unknown; allowed {', '.join(METHODS)}")


def parallel_config(sampler: Mapping, progress: bool = True) -> ParallelConfig:
    """The `sampler` section as a `woundsim.parallel` configuration: multicore -> loky with `n_procs` workers,
    single -> serial, dask -> the scheduler at `dask_address`."""
    kind = sampler.get("kind", "multicore")
    if kind == "dask":
        return ParallelConfig(backend="dask", dask_address=sampler.get("dask_address"), progress=progress)
    if kind == "single":
        return ParallelConfig(backend="serial", progress=progress)
    return ParallelConfig(backend="loky", n_jobs=int(sampler.get("n_procs", 2)), progress=progress)
