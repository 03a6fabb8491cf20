"""woundsim's calibration cohorts as a history-matching simulator (`calibration.history_matching.evaluations`).

One evaluation simulates the calibration's trial arm and screens its standard-care candidates through the run-in
at one particle, exactly as the ABC-SMC model (`calibration.model.CohortModel`) does, but returns the per-patient
tables (standard care: one `woundsim.trial.pools.candidate_row` row per screened candidate), so history matching
can bootstrap the patients for the evaluation's Monte Carlo variance and store the closure states. A bootstrap
resamples the screened candidates, and the standard-care statistics then count the enrolled of the resample (as
`calibration.feasibility.bootstrap_sd` does). The patients and seeds are `CalibrationSetup.arms` of the particle
with the evaluation's seed as the root seed.

The recurrence quantities (`model.recurrence.*`) act only after closure: `restate` recomputes stored tables'
recurrence risks under other values without simulating healing (`woundsim.endpoints.restated_recurrence`), which
history matching uses to fit the recurrence statistics' emulators on stored closure states
(`calibration.history_matching.waves`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import pandas as pd

from calibration.priors import natural_values
from calibration.setup import CalibrationSetup
from calibration.statistics import (RECURRENCE_STATISTICS, SOC_STATISTICS, TRIAL_STATISTICS, enrolled,
                                   enrolled_soc_statistics, trial_statistics)
from woundsim.endpoints import restated_recurrence

AFTER_CLOSURE = "model.recurrence."  # targets of the quantities that act only after closure


class CohortSimulator:
    """The calibration problem's two arms, simulated per particle (see the module docstring)."""

    def __init__(self, setup: CalibrationSetup) -> None:
        self.setup = setup
        self.parameters = list(setup.parameters)
        self.statistics_arm = {**{s: "trial" for s in TRIAL_STATISTICS}, **{s: "soc" for s in SOC_STATISTICS}}
        self.after_closure = tuple(p.key for p in self.parameters if p.target.startswith(AFTER_CLOSURE))
        self.after_closure_statistics = RECURRENCE_STATISTICS

    def patients(self, particle: Mapping[str, float], seed: int) -> dict[str, pd.DataFrame]:
        arms = dataclasses.replace(self.setup, seed=int(seed)).arms(particle)
        return {name: run.rows() for name, run in arms.items()}

    def statistics(self, arms: Mapping[str, pd.DataFrame]) -> dict[str, float]:
        return {**trial_statistics(arms["trial"], self.setup.trial.visit_interval_days),
                **enrolled_soc_statistics(arms["soc"])}

    def counted(self, arms: Mapping[str, pd.DataFrame]) -> dict[str, int]:
        """Patients each arm's statistics count: the trial arm's, and the candidates the run-in enrolled."""
        return {"trial": len(arms["trial"]), "soc": len(enrolled(arms["soc"]))}

    def restate(self, arms: Mapping[str, pd.DataFrame], particle: Mapping[str, float]) -> dict[str, pd.DataFrame]:
        """Stored per-patient tables by arm with the recurrence risks of ABC-space values `particle` (only its
        `after_closure` values matter: healing is not simulated again)."""
        trial_params, _, soc_params = self.setup.arm_objects(natural_values(self.parameters, dict(particle)))
        return {"trial": restated_recurrence(arms["trial"], trial_params.recurrence),
                "soc": restated_recurrence(arms["soc"], soc_params.recurrence)}
