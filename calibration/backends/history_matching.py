"""History matching with Gaussian-process emulators, then emulator sampling (`calibration.method:
history_matching`; DESIGN.md section 8, Andrianakis et al. 2015).

Waves (`calibration.history_matching.waves`) narrow the prior to the region where no target is implausible,
every simulated evaluation stored in `waves/` as it arrives; the posterior is then sampled inside that region
on the last wave's emulator likelihood (`calibration.history_matching.sampling`). The real model checks the
result afterwards, through the pipeline's posterior predictive check. Everything follows from the calibration
seed: the designs, the simulations (each design point's own seed), the emulators' optimiser starts and the
importance sampling, so a resumed or re-finished calibration gives the same posterior.

Config (`calibration.history_matching`): the `WaveOptions` fields, `posterior` (the `SamplingOptions` fields)
and `observations` ({statistic: {kind, n, sd, discrepancy_sd}}, one per target).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from pathlib import Path

from calibration.backends import BackendFit, parallel_config
from calibration.cohort_simulator import CohortSimulator
from calibration.history_matching.evaluations import WaveStore
from calibration.history_matching.implausibility import observations_from_config
from calibration.history_matching.sampling import SamplingOptions, sample_posterior
from calibration.history_matching.waves import HM_KEY, POSTERIOR, WaveOptions, projected_wall_time, run_waves
from calibration.setup import CalibrationSetup
from woundsim.calibration_code import fitted_code
from woundsim.errors import InputError, require
from woundsim.parallel import ParallelConfig
from woundsim.seeds import keyed_rng

WAVES = "waves"  # the folder of the stored designs, evaluations and patients


def options_from(section: Mapping, cls: type, where: str):
    """A dataclass of options from a config mapping, unknown keys refused in one line."""
    allowed = {f.name for f in dataclasses.fields(cls)}
    unknown = set(section) - allowed
    require(not unknown, f"{where} has unknown keys {sorted(unknown)}; allowed {sorted(allowed)}")
    return cls(**dict(section))


class HistoryMatchingBackend:
    """History matching + emulator sampling behind the calibration interface (`calibration.backends`)."""

    method = "history_matching"

    def has_results(self, out_dir: Path) -> bool:
        return (Path(out_dir) / WAVES).is_dir()

    def fit(self, setup: CalibrationSetup, out_dir: Path, meta: dict,
            progress: Callable[[str], None] = print) -> BackendFit:
        # a wave of 60 evaluations takes an hour or more on 2 cores: show its evaluations as they finish
        return self._run(setup, out_dir, progress, parallel_config(setup.options["sampler"]))

    def refit(self, setup: CalibrationSetup, out_dir: Path, progress: Callable[[str], None] = print) -> BackendFit:
        return self._run(setup, out_dir, progress, ParallelConfig(backend="serial", progress=False), stored_only=True)

    def _run(self, setup: CalibrationSetup, out_dir: Path, progress: Callable[[str], None], parallel: ParallelConfig,
             stored_only: bool = False) -> BackendFit:
        section = dict(setup.options["history_matching"])
        observed = {t.name: t.observed for t in setup.targets}
        observations = observations_from_config(section.pop("observations", {}) or {}, observed)
        missing = sorted(set(observed) - {o.name for o in observations})
        require(not missing, f"history_matching.observations lacks targets {missing}: say how each was observed")
        sampling = options_from(section.pop("posterior", {}) or {}, SamplingOptions, "history_matching.posterior")
        options = options_from(section, WaveOptions, "history_matching")
        store = WaveStore(Path(out_dir) / WAVES)
        if stored_only and store.design(options.waves - 1) is None:
            raise InputError(f"{out_dir} holds fewer than {options.waves} waves; resume with `woundsim calibrate run`")
        progress(f"calibration {setup.name}: history matching, {len(setup.parameters)} free parameters, "
                 f"{len(observations)} targets, {options.waves} waves; output {out_dir}")
        result = run_waves(CohortSimulator(setup), observations, store, options, setup.seed, parallel, progress)
        table, info = sample_posterior(result, observations, setup.parameters, options, sampling,
                                       keyed_rng(setup.seed, HM_KEY, options.waves, POSTERIOR), progress)
        progress(f"posterior: Kish ESS {info['ess']:.0f} over {info['kept']} distinct particles after {info['stages']} "
                 f"tempering stages ({info['draws']} emulator evaluations)"
                 + ("" if info["reached"] else f"; BELOW min_ess = {sampling.min_ess:g}"))
        simulations = int(result.table["evaluations"].sum())
        run = {"method": self.method, "folder": str(Path(out_dir) / WAVES), "waves": len(result.table),
               "simulations": simulations, "ess": info["ess"], "ess_reached": info["reached"],
               "emulator_evaluations": info["draws"], "distinct_particles": info["kept"],
               "tempering_stages": info["stages"], "acceptance": info["acceptance"], "cutoff": options.cutoff,
               "combine": options.combine, "nonimplausible_share": float(result.table["nonimplausible_share"].iloc[-1])}
        provenance = {"calibration": setup.name, "method": self.method, "waves": len(result.table),
                      "ess": info["ess"], "targets": [t.__dict__ for t in setup.targets],
                      "observations": [dataclasses.asdict(o) for o in observations],
                      "created": dt.datetime.now().isoformat(timespec="seconds"), **fitted_code()}
        return BackendFit(table, result.table, "waves.csv", result.table, run, provenance,
                          tables={"emulators.csv": result.diagnostics,
                                  "projected_wall_time.csv": projected_wall_time(result.table)}, simulations=simulations,
                          steps=len(result.table))
