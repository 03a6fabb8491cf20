"""Simulated evaluations of design points: the simulator contract, the bootstrap, and the wave tables.

A simulator (`Simulator`) is anything that, for a particle (ABC-space values by key) and a seed, simulates
per-patient tables by arm, and computes the statistics from such tables; `calibration.cohort_simulator` is the
woundsim one, `calibration.standin` a cheap stand-in with known parameters. `evaluate` runs one design point
and bootstraps its patients (resampling each arm's rows with replacement, `bootstrap` times) for the Monte
Carlo variance of each statistic, which the emulators take as per-point noise, and records the patients behind
each arm's statistics at that point (`Simulator.counted`: the enrolled of a screened standard-care arm). It is a
module-level function of one picklable task, so `woundsim.parallel.map_tasks` runs a wave on any back end (loky,
Dask, Ray).

Every evaluation is written as it arrives (`WaveStore.append`), one CSV row per point (its statistics, their
variances `var.<name>` and the patients counted `n.<arm>`) and the per-patient rows by arm, so a stopped wave
resumes with what it had. The per-patient tables are the hook for parameters
that act only after closure (recurrence): their statistics can be recomputed on the stored closure states
(`WaveStore.patients`) without simulating healing again (`RestatingSimulator.restate`; the waves'
`_restated_rows`).
"""

from __future__ import annotations

import csv
import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from calibration.priors import FreeParameter
from woundsim.errors import InputError
from woundsim.seeds import keyed_rng

DONE = "stored"  # last column of an evaluation row: a row cut short by an interruption lacks it


class Simulator(Protocol):
    """What history matching needs of a model.

    Attributes:
        parameters: the free parameters (their keys name a particle's values).
        statistics_arm: the arm whose patients each statistic counts ({statistic: arm}).
    """

    parameters: list[FreeParameter]
    statistics_arm: Mapping[str, str]

    def patients(self, particle: Mapping[str, float], seed: int) -> dict[str, pd.DataFrame]:
        """Per-patient tables by arm for ABC-space values `particle`."""

    def statistics(self, arms: Mapping[str, pd.DataFrame]) -> dict[str, float]:
        """The statistics of per-patient tables by arm."""

    def counted(self, arms: Mapping[str, pd.DataFrame]) -> dict[str, int]:
        """The patients each arm's statistics count in per-patient tables by arm ({arm: n}; e.g. the enrolled of
        the candidates a run-in screened)."""


class RestatingSimulator(Simulator, Protocol):
    """A simulator some of whose quantities act only after closure (recurrence), so that their effect on stored
    patients can be recomputed without simulating healing again.

    Attributes:
        after_closure: keys of the quantities that act only after closure.
        after_closure_statistics: the statistics they change.
    """

    after_closure: tuple[str, ...]
    after_closure_statistics: tuple[str, ...]

    def restate(self, arms: Mapping[str, pd.DataFrame], particle: Mapping[str, float]) -> dict[str, pd.DataFrame]:
        """Stored per-patient tables by arm as they would read under ABC-space values `particle` (only its
        `after_closure` values may act)."""


@dataclass
class EvaluationTask:
    """One design point to simulate: the simulator, the point, its seed, the bootstrap size."""

    simulator: Simulator
    point: int
    particle: dict[str, float]
    seed: int
    bootstrap: int


@dataclass
class Evaluation:
    """One simulated design point: statistics, their bootstrap variances, the per-patient tables, the patients
    each arm's statistics count, and the CPU seconds its simulation took (the worker's process time, bootstrap
    excluded)."""

    point: int
    statistics: dict[str, float]
    variances: dict[str, float]
    patients: dict[str, pd.DataFrame]
    counted: dict[str, int]
    cpu_seconds: float = math.nan


def evaluate(task: EvaluationTask) -> Evaluation:
    """Simulate one design point and bootstrap its patients (see the module docstring)."""
    sim = task.simulator
    started = time.process_time()
    arms = sim.patients(task.particle, task.seed)
    cpu_seconds = time.process_time() - started
    stats, variances = bootstrapped_statistics(sim, arms, task.bootstrap, keyed_rng(task.seed, 1))
    return Evaluation(task.point, stats, variances, arms, sim.counted(arms), cpu_seconds)


def bootstrapped_statistics(sim: Simulator, arms: Mapping[str, pd.DataFrame], bootstrap: int,
                            rng: np.random.Generator) -> tuple[dict[str, float], dict[str, float]]:
    """The statistics of per-patient tables by arm, and each one's Monte Carlo variance: the variance over
    `bootstrap` resamples of each arm's rows with replacement (NaN with fewer than 2 defined resamples)."""
    stats = sim.statistics(arms)
    boots = []
    for _ in range(bootstrap):
        resampled = {arm: t.iloc[rng.integers(len(t), size=len(t))].reset_index(drop=True) for arm, t in arms.items()}
        boots.append(sim.statistics(resampled))
    variances = {}
    for name in stats:
        values = np.array([b[name] for b in boots], dtype=float)
        values = values[np.isfinite(values)]
        variances[name] = float(np.var(values, ddof=1)) if len(values) >= 2 else math.nan
    return stats, variances


class WaveStore:
    """The tables of one calibration's waves in `folder` (the design, evaluations and patients of each wave)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def path(self, wave: int, what: str) -> Path:
        return self.folder / f"wave{wave}_{what}.csv"

    def write_design(self, wave: int, design: pd.DataFrame) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        design.to_csv(self.path(wave, "design"), index=False)

    def design(self, wave: int) -> pd.DataFrame | None:
        path = self.path(wave, "design")
        return _read(path) if path.is_file() else None

    def evaluations(self, wave: int) -> pd.DataFrame:
        """The stored evaluations of a wave (complete rows only), one row per point."""
        path = self.path(wave, "evaluations")
        if not path.is_file() or path.stat().st_size == 0:
            return pd.DataFrame()
        try:
            table = _read(path)
        except pd.errors.ParserError as exc:
            raise InputError(f"{path} is damaged ({exc}); delete its last line and resume") from None
        return table[table[DONE] == 1].drop(columns=DONE).drop_duplicates("point", keep="last").reset_index(drop=True)

    def append(self, wave: int, result: Evaluation) -> None:
        """Write one evaluation: its row of statistics and variances, and its patients by arm."""
        for arm, table in result.patients.items():  # patients first: the evaluation row marks the point done
            rows = table.assign(point=result.point, patient=np.arange(len(table))).to_dict("records")
            self._append_rows(self.path(wave, f"patients_{arm}"), rows)
        row = {"point": result.point, **result.statistics, **{f"var.{k}": v for k, v in result.variances.items()},
               **{f"n.{arm}": n for arm, n in result.counted.items()}, "cpu_seconds": result.cpu_seconds, DONE: 1}
        self._append_rows(self.path(wave, "evaluations"), [row])

    @staticmethod
    def _append_rows(path: Path, rows: list[dict]) -> None:
        """Append rows under the file's header; a key it lacks (a screened candidate's outcomes, where the earlier
        points enrolled nobody) rewrites the file with the new columns appended, empty in the earlier rows."""
        fields = list(rows[0])
        if path.is_file() and path.stat().st_size > 0:
            with path.open(newline="") as handle:
                header = next(csv.reader(handle))
            fields = header + [k for k in fields if k not in header]
            if fields != header:
                _rewrite_with_columns(path, fields)
        new = not path.is_file() or path.stat().st_size == 0
        with path.open("a", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            if new:
                writer.writeheader()
            writer.writerows(rows)
            handle.flush()

    def patients(self, wave: int, arm: str) -> pd.DataFrame:
        """Stored per-patient rows of one arm (columns `point`, `patient` and the simulator's keys)."""
        path = self.path(wave, f"patients_{arm}")
        if not path.is_file():
            raise InputError(f"{path} not found: wave {wave} stored no patients of arm {arm!r}")
        table = _read(path)
        done = set(self.evaluations(wave)["point"])
        table = table[table["point"].isin(done)]  # a point redone after an interruption: its last rows
        return table.drop_duplicates(["point", "patient"], keep="last").reset_index(drop=True)


def _read(path: Path) -> pd.DataFrame:
    """A wave table as written: floats parsed to the same double (pandas' default parser can be one ulp off, which
    made a resumed calibration's emulators, and the region they cut, differ from the uninterrupted run's)."""
    return pd.read_csv(path, float_precision="round_trip")


def _rewrite_with_columns(path: Path, fields: list[str]) -> None:
    """Rewrite a CSV file under the header `fields` (a superset of its own), atomically."""
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    tmp = path.with_name(f".tmp-{path.name}")
    with tmp.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)
