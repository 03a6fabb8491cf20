"""ABC-SMC with pyabc as a calibration back end (`calibration.method: abc_smc`, version 1's method).

The run itself is `calibration.runner.run_smc` on `calibration.model.CohortModel`, unchanged: its SQLite
history (`abc.db`) is the audit trail and what a resumed run continues from.

Random state: the exception to "one seed determines a run". A particle's patients follow from the calibration
seed and the particle's values (`woundsim.seeds.particle_seeds`), but pyabc draws its proposals from numpy's
global generator, which its worker processes reseed from the operating system; an ABC-SMC run is an audit
trail in its database, not a bit-reproducible computation. (The history-matching back end is reproducible
from the seed.)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pyabc

from calibration.model import CohortModel
from calibration.posterior import posterior_table
from calibration.priors import prior_distribution
from calibration.runner import StoppingRule, generations, make_sampler, run_smc
from calibration.setup import CalibrationSetup
from calibration.backends import BackendFit
from woundsim.calibration_code import fitted_code

DATABASE = "abc.db"


def stopping_rule(abc: dict) -> StoppingRule:
    """The stopping rule of the `abc` config section."""
    return StoppingRule(max_generations=int(abc.get("max_generations", 5)),
                        min_epsilon=float(abc.get("min_epsilon", 0.0)),
                        max_total_simulations=int(abc.get("max_total_simulations", 10**9)),
                        max_walltime_minutes=float(abc.get("max_walltime_minutes", float("inf"))),
                        min_acceptance_rate=float(abc.get("min_acceptance_rate", 0.0)))


class AbcSmcBackend:
    """pyabc ABC-SMC behind the calibration interface (`calibration.backends`)."""

    method = "abc_smc"

    def has_results(self, out_dir: Path) -> bool:
        return (Path(out_dir) / DATABASE).is_file()

    def fit(self, setup: CalibrationSetup, out_dir: Path, meta: dict,
            progress: Callable[[str], None] = print) -> BackendFit:
        abc, sampler_opts = setup.options["abc"], setup.options["sampler"]
        model = CohortModel(setup)
        progress(f"calibration {setup.name}: {len(setup.parameters)} free parameters, {len(setup.targets)} targets, "
                 f"population {abc.get('population_size', 20)}; output {out_dir}")
        history = run_smc(model if abc.get("early_rejection", True) else model.__call__,
                          prior_distribution(setup.parameters), model.distance,
                          {t.name: t.observed for t in setup.targets}, Path(out_dir) / DATABASE,
                          population_size=int(abc.get("population_size", 20)), stopping=stopping_rule(abc),
                          sampler=make_sampler(**sampler_opts), epsilon_quantile=float(abc.get("epsilon_quantile", 0.5)),
                          kernel=str(abc.get("kernel", "twice_covariance")),
                          meta_info=meta,
                          progress=progress)
        return history_fit(setup, history, out_dir)

    def refit(self, setup: CalibrationSetup, out_dir: Path, progress: Callable[[str], None] = print) -> BackendFit:
        history = pyabc.History(f"sqlite:///{(Path(out_dir) / DATABASE).resolve()}")
        history.id = history.all_runs()[-1].id
        return history_fit(setup, history, out_dir)


def history_fit(setup: CalibrationSetup, history: pyabc.History, out_dir: Path) -> BackendFit:
    """The pipeline's view of a pyabc history: last generation's particles, the generations table, facts."""
    gens = generations(history)
    provenance = {"calibration": setup.name, "generation": int(history.max_t),
                  "epsilon": float(gens["epsilon"].iloc[-1]), "targets": [t.__dict__ for t in setup.targets],
                  "created": dt.datetime.now().isoformat(timespec="seconds"), **fitted_code()}
    run = {"method": "abc_smc", "db": str(Path(out_dir) / DATABASE), "abc_id": history.id, "generations": len(gens),
           "simulations": history.total_nr_simulations, "epsilon": float(gens["epsilon"].iloc[-1]),
           "abc_wall_min": float(gens["wall_time"].sum()) / 60.0, "ess": float(gens["ess"].iloc[-1])}
    per_generation = gens[["t", "epsilon", "samples", "particles", "acceptance_rate", "ess", "wall_time"]]
    return BackendFit(posterior_table(history, setup.parameters), gens, "generations.csv", per_generation, run,
                      provenance, simulations=int(history.total_nr_simulations), steps=int(history.max_t) + 1)
