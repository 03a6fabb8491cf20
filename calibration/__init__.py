"""Bayesian calibration of woundsim (DESIGN.md section 8): ABC-SMC with pyabc (issue 3) or history matching
with Gaussian-process emulators and emulator sampling (issue 18), behind one interface (`backends`).

Modules: `statistics` (cohort summary statistics as the clinic computed them), `distance` (targets
and the interval-scaled distance), `priors` (free parameters), `setup` (config -> problem),
`backends` (the interface and its two back ends), `model` (the pyabc model), `runner` (resumable ABC-SMC),
`history_matching` (waves, emulators, implausibility, emulator sampling; model-agnostic),
`cohort_simulator` (woundsim's cohorts for history matching), `standin` (a cheap stand-in model with known
parameters, for tests), `posterior` (export; reading and drawing are in `woundsim.posterior`),
`check` (posterior predictive), `report` (identifiability), `plots`, `pipeline`, `cli`.
See docs/calibration.md.
"""

from woundsim.posterior import draw_params, draw_scenarios, load_posterior  # re-exported; they moved to woundsim

__all__ = ["draw_params", "draw_scenarios", "load_posterior"]
