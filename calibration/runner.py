"""ABC-SMC with pyabc: a run that writes its SQLite history and resumes from it.

`run_smc(...)` is model-agnostic (the tests drive it with a cheap stand-in model); it runs one
generation at a time, printing a progress line after each, and checks the stopping rule before
starting the next. When the database already holds the run, it continues from its last completed
generation (a generation interrupted half-way is lost and redone; completed ones never are).

Samplers: "multicore" (`pyabc.sampler.MulticoreEvalParallelSampler`, forked worker processes on this
machine), "single" (in-process), "dask" (`pyabc.sampler.DaskDistributedSampler` on a running
`distributed` scheduler, e.g. one started by dask-jobqueue on a cluster; the model must then be
picklable, which `CohortModel` is).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyabc
from pyabc.weighted_statistics import effective_sample_size

from woundsim.errors import InputError, require


@dataclass
class StoppingRule:
    """When ABC-SMC stops (checked before each generation; the first rule met stops it).

    Attributes:
        max_generations: total generations in the database.
        min_epsilon: stop once a generation's threshold is at or below this (distance units).
        max_total_simulations: stop once this many model runs have been made in total.
        max_walltime_minutes: stop when the next generation (predicted from the last one) would end
            after this many minutes of this session.
        min_acceptance_rate: stop when the last generation accepted fewer than this share.
    """

    max_generations: int = 5
    min_epsilon: float = 0.0
    max_total_simulations: int = 10**9
    max_walltime_minutes: float = math.inf
    min_acceptance_rate: float = 0.0

    def __post_init__(self) -> None:
        require(self.max_generations >= 1, f"abc.max_generations = {self.max_generations} must be >= 1")
        require(self.max_total_simulations >= 1, "abc.max_total_simulations must be >= 1")
        require(self.max_walltime_minutes > 0, "abc.max_walltime_minutes must be > 0")
        require(0 <= self.min_acceptance_rate < 1, "abc.min_acceptance_rate must be in [0, 1)")


class ResumableQuantileEpsilon(pyabc.QuantileEpsilon):
    """Quantile threshold that a resumed run recomputes from the last stored generation.

    pyabc's `QuantileEpsilon` with a numeric initial threshold restarts at that threshold when a run is
    loaded from its database; this one starts generation 0 at `initial_epsilon` (inf: all prior draws
    accepted, no separate calibration sample) and any later first generation of a session at the
    alpha-quantile of the previous generation's weighted distances.
    """

    def __init__(self, alpha: float = 0.5, initial_epsilon: float = math.inf) -> None:
        super().__init__(initial_epsilon=initial_epsilon, alpha=alpha)

    def initialize(self, t, get_weighted_distances, get_all_records, max_nr_populations, acceptor_config):
        if t > 0 and t not in self._look_up:
            self._update(t, get_weighted_distances())


def make_sampler(kind: str = "multicore", n_procs: int = 2, dask_address: str | None = None) -> pyabc.sampler.Sampler:
    """A pyabc sampler: "multicore" (n_procs forked workers), "single", or "dask" (scheduler address)."""
    if kind == "multicore":
        require(n_procs >= 1, f"sampler.n_procs = {n_procs} must be >= 1")
        return pyabc.sampler.MulticoreEvalParallelSampler(n_procs=int(n_procs))
    if kind == "single":
        return pyabc.sampler.SingleCoreSampler()
    if kind == "dask":
        require(bool(dask_address), "sampler.kind = dask needs sampler.dask_address (tcp://host:8786)")
        from distributed import Client

        return pyabc.sampler.DaskDistributedSampler(dask_client=Client(dask_address))
    raise InputError(f"sampler.kind = {kind!r} is unknown; allowed multicore, single, dask")


def twice_covariance(n_eff: float, dim: int) -> float:
    """Bandwidth factor giving a kernel covariance of twice the weighted sample covariance (Beaumont 2009)."""
    return math.sqrt(2.0)


KERNELS = {"twice_covariance": twice_covariance, "silverman": pyabc.transition.silverman_rule_of_thumb}


def run_smc(model, prior: pyabc.Distribution, distance, observed: dict, db_path: Path, *,
            population_size: int, stopping: StoppingRule, sampler: pyabc.sampler.Sampler | None = None,
            epsilon_quantile: float = 0.5, kernel: str = "twice_covariance", meta_info: dict | None = None,
            progress: Callable[[str], None] = print) -> pyabc.History:
    """Run (or continue) ABC-SMC until the stopping rule holds; the database is the record.

    Args:
        model: a function of a parameter dict returning a statistics dict, or a pyabc Model.
        prior: pyabc Distribution over the parameters (ABC space).
        distance: pyabc distance (or a function of (simulated, observed) dicts).
        observed: observed statistics (stored in the database).
        db_path: SQLite file; continued if it holds a run, created otherwise.
        population_size: accepted particles per generation.
        stopping: the stopping rule.
        sampler: pyabc sampler (default: single core).
        epsilon_quantile: threshold of generation t = this quantile of generation t-1's distances.
        kernel: the perturbation kernel's covariance, a multivariate normal around each particle:
            "twice_covariance" (twice the weighted covariance of the last generation, Beaumont et al.
            2009; robust for small populations) or "silverman" (pyabc's default, Silverman's rule: about
            half the covariance at 9 parameters and 16-24 particles, which in a trial run let one
            particle take 74% of the weight after one generation).
        meta_info: stored with a new run (e.g. the config hash).
        progress: receives one line per generation.

    Returns:
        The pyabc History of the run.
    """
    require(population_size >= 2, f"abc.population_size = {population_size} must be >= 2")
    require(0 < epsilon_quantile < 1, f"abc.epsilon_quantile = {epsilon_quantile} must be in (0, 1)")
    require(kernel in KERNELS, f"abc.kernel = {kernel!r}; allowed {', '.join(KERNELS)}")
    abc = pyabc.ABCSMC(model, prior, distance, population_size=int(population_size),
                       transitions=pyabc.MultivariateNormalTransition(bandwidth_selector=KERNELS[kernel]),
                       eps=ResumableQuantileEpsilon(alpha=epsilon_quantile),
                       sampler=sampler or pyabc.sampler.SingleCoreSampler())
    db_path = Path(db_path)
    url = f"sqlite:///{db_path.resolve()}"
    history = _open(abc, url, db_path, observed, meta_info, progress)
    started = time.monotonic()
    while (reason := stop_reason(history, stopping, time.monotonic() - started)) is None:
        abc.run(max_nr_populations=1, minimum_epsilon=stopping.min_epsilon)
        progress(generation_line(history, time.monotonic() - started))
    progress(f"stop: {reason} ({history.n_populations} generations, {history.total_nr_simulations} simulations)")
    return history


def _open(abc: pyabc.ABCSMC, url: str, db_path: Path, observed: dict, meta_info: dict | None,
          progress: Callable[[str], None]) -> pyabc.History:
    if db_path.is_file() and db_path.stat().st_size > 0:
        runs = pyabc.History(url).all_runs()
        if runs:
            history = abc.load(url, abc_id=runs[-1].id)
            progress(f"resuming {db_path} (run {history.id}): {history.n_populations} generations, "
                     f"{history.total_nr_simulations} simulations done")
            return history
    db_path.parent.mkdir(parents=True, exist_ok=True)
    return abc.new(url, observed, meta_info=meta_info or {})


def generations(history: pyabc.History) -> pd.DataFrame:
    """One row per completed generation: t, epsilon, samples, particles, acceptance, ESS, wall time."""
    table = history.get_all_populations()
    table = table[table["t"] >= 0].reset_index(drop=True)
    table["acceptance_rate"] = table["particles"] / table["samples"]
    table["ess"] = [effective_sample_size(history.get_distribution(m=0, t=int(t))[1]) for t in table["t"]]
    return table


def generation_line(history: pyabc.History, elapsed_s: float) -> str:
    """Progress line of the last generation."""
    row = generations(history).iloc[-1]
    return (f"generation {int(row.t)}: eps {row.epsilon:.3g}, accepted {int(row.particles)}/{int(row.samples)} "
            f"({row.acceptance_rate:.0%}), ESS {row.ess:.1f}, {row.wall_time:.0f} s; "
            f"session {elapsed_s / 60:.1f} min, {history.total_nr_simulations} simulations in total")


def stop_reason(history: pyabc.History, rule: StoppingRule, elapsed_s: float) -> str | None:
    """Why to stop before the next generation, or None to go on."""
    max_t = history.max_t
    n = 0 if max_t is None or max_t < 0 else int(max_t) + 1
    if n >= rule.max_generations:
        return f"max_generations = {rule.max_generations} reached"
    if n == 0:
        return None
    last = generations(history).iloc[-1]
    if last.epsilon <= rule.min_epsilon:
        return f"threshold {last.epsilon:.3g} <= min_epsilon = {rule.min_epsilon}"
    if history.total_nr_simulations >= rule.max_total_simulations:
        return f"max_total_simulations = {rule.max_total_simulations} reached"
    if last.acceptance_rate < rule.min_acceptance_rate:
        return f"acceptance rate {last.acceptance_rate:.2%} < min_acceptance_rate = {rule.min_acceptance_rate}"
    predicted = 1.5 * float(last.wall_time) if np.isfinite(last.wall_time) else 0.0  # later generations cost more
    if elapsed_s + predicted > 60.0 * rule.max_walltime_minutes:
        return (f"the next generation (about {predicted / 60:.0f} min) would end after "
                f"max_walltime_minutes = {rule.max_walltime_minutes:g}")
    return None
