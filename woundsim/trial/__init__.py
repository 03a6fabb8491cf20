"""Virtual phase III trial designer: design, observation and analysis of simulated trials, power, assurance.

Independent of the simulation model: the inputs are per-patient summary tables (docs/ARCHITECTURE.md),
one pool per arm. `scenarios` builds synthetic pools with known rates for checks.
"""

from woundsim.trial.design import Arm, Dropout, TrialDesign
from woundsim.trial.endpoints import ENDPOINTS, analyse_trial, observe_patients
from woundsim.trial.power import (
    assurance,
    assurance_from_powers,
    draw_trial,
    min_pool_size,
    pool_power_sd,
    power_from_trials,
    shrink_effect,
    simulate_power,
    simulate_trials,
    smallest_n,
)
from woundsim.trial.scenarios import RateScenario, bernoulli_pool, exponential_pool, load_rate_scenario

__all__ = [
    "ENDPOINTS", "Arm", "Dropout", "RateScenario", "TrialDesign", "analyse_trial", "assurance",
    "assurance_from_powers", "bernoulli_pool", "draw_trial", "exponential_pool", "load_rate_scenario",
    "min_pool_size", "observe_patients", "pool_power_sd", "power_from_trials", "shrink_effect",
    "simulate_power", "simulate_trials", "smallest_n",
]
