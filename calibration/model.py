"""The model pyabc calibrates: a parameter dict in, the cohort summary statistics out.

`CohortModel(setup)(pars)` is a plain function of a parameter dict (ABC space, pyabc's keys): it
builds the model parameters and the trial treatment, draws a trial cohort (exactly as
`woundsim.cohort.simulate_cohort` would, same patients and per-patient seeds) and screens standard-care
candidates through the run-in (the virtual trial's `woundsim.trial.pools.PoolSpec` and `candidate_row`, as the
feasibility studies do), simulates every patient with `woundsim.simulate.simulate` (`CalibrationSetup.arms`) and
returns the statistics of `calibration.statistics`: the standard-care ones over the enrolled candidates, from
randomisation.

Seeds: a particle's cohorts are drawn from a seed derived from the calibration seed and the particle's
parameter values (a hash of their float64 bytes), so re-running one particle reproduces it exactly and
different particles see different patients. (pyabc draws the proposals themselves from numpy's global
generator, which its worker processes reseed from the OS: an ABC-SMC run is an audit trail in its
database, not a bit-reproducible computation.)

Early rejection (`integrated_simulate`): the trial arm is simulated first; if its terms alone put the
distance above the current threshold the particle is rejected without simulating standard care.
Standard-care candidates are then screened one by one and the particle is rejected as soon as the
closed fractions of the enrolled can no longer come close enough, whatever the remaining candidates do
(each may be excluded, or enrolled and closed, or enrolled and open: `enrolled_fraction_bounds`; a
statistic that may stay undefined may still cost only `nan_penalty`). Both bounds are exact, so a particle
is rejected early only if the full simulation would have rejected it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyabc
from pyabc.model import ModelResult

from calibration.distance import ToleranceDistance, norm
from calibration.setup import ArmSetup, CalibrationSetup, arm_run
from calibration.statistics import enrolled_fraction_bounds, enrolled_soc_statistics, trial_statistics
from woundsim.seeds import particle_seeds  # noqa: F401  (re-exported)
from woundsim.params import ModelParams
from woundsim.treatment import Treatment

_CLOSED_COLUMNS = {"soc_closed_week12": "closed_by_week12", "soc_closed_week20": "closed_by_week20"}


def arm_tasks(arm: ArmSetup, params: ModelParams, treatment: Treatment, seed: int) -> list[tuple]:
    """The per-patient tasks of one arm (`calibration.setup.arm_run(...).tasks()`)."""
    return arm_run(arm, params, treatment, seed).tasks()


class CohortModel(pyabc.IntegratedModel):
    """The woundsim calibration model for pyabc.

    Args:
        setup: the calibration problem (cohorts, base parameters, priors, targets).
        distance: distance used by `integrated_simulate` (default from the setup's targets).
    """

    def __init__(self, setup: CalibrationSetup, distance: ToleranceDistance | None = None) -> None:
        super().__init__(name=f"woundsim:{setup.name}")
        self.setup = setup
        opts = setup.options.get("distance", {})
        self.distance = distance or ToleranceDistance(setup.targets, p=float(opts.get("p", 2.0)),
                                                      nan_penalty=float(opts.get("nan_penalty", 10.0)))

    def __call__(self, pars: Mapping[str, float]) -> dict[str, float]:
        """Summary statistics of one particle (full simulation of both arms)."""
        arms = self.setup.arms(pars)
        return {**trial_statistics(arms["trial"].rows(), self.setup.trial.visit_interval_days),
                **enrolled_soc_statistics(arms["soc"].rows())}

    def sample(self, pars: pyabc.Parameter) -> dict[str, float]:
        return self(pars)

    def integrated_simulate(self, pars: pyabc.Parameter, eps: float) -> ModelResult:
        """Simulate with early rejection against threshold `eps` (see the module docstring)."""
        arms = self.setup.arms(pars)
        trial = trial_statistics(arms["trial"].rows(), self.setup.trial.visit_interval_days)
        known = self._known_terms(trial)
        if norm(known, self.distance.p) > eps:
            return ModelResult(accepted=False, distance=norm(known, self.distance.p))
        soc, rows = arms["soc"], []
        tasks = soc.tasks()
        for task in tasks:
            rows.append(soc.outcome(task))
            bound = self._soc_bound(rows, len(tasks))
            if norm(np.concatenate([known, bound]), self.distance.p) > eps:
                return ModelResult(accepted=False, distance=norm(np.concatenate([known, bound]), self.distance.p))
        stats = {**trial, **enrolled_soc_statistics(pd.DataFrame(rows))}
        d = self.distance(stats)
        return ModelResult(sum_stat=stats, distance=d, accepted=d <= eps)

    def _known_terms(self, trial: dict[str, float]) -> np.ndarray:
        terms = []
        for target in self.distance.targets:
            if target.name in trial:
                value = trial[target.name]
                terms.append(self.distance.nan_penalty if math.isnan(value) else abs(target.z(value)))
        return np.array(terms)

    def _soc_bound(self, rows: list[dict], n_total: int) -> np.ndarray:
        """Lower bounds of the standard-care closed-fraction terms given the candidates screened so far
        (`candidate_row` rows) of `n_total`: exact (see the module docstring)."""
        enrolled = np.array([bool(r["eligible"]) for r in rows])
        terms = []
        for target in self.distance.targets:
            column = _CLOSED_COLUMNS.get(target.name)
            if column is None:
                continue
            closed = np.array([bool(r[column]) for r, e in zip(rows, enrolled) if e])
            lowest, highest = enrolled_fraction_bounds(enrolled, closed, n_total)
            term = self.distance.nan_penalty if math.isnan(lowest) else target.z_lower_bound(lowest, highest)
            if not enrolled.any():  # nobody enrolled yet: the statistic may stay undefined
                term = min(term, self.distance.nan_penalty)
            terms.append(term)
        return np.array(terms)
