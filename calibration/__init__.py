"""Likelihood-free Bayesian calibration of woundsim (ABC-SMC with pyabc; issue 3, DESIGN.md section 8).

Modules: `statistics` (cohort summary statistics as the clinic computed them), `distance` (targets
and the interval-scaled distance), `priors` (free parameters), `setup` (config -> problem),
`model` (the pyabc model), `runner` (resumable ABC-SMC), `posterior` (export; reading and drawing
are in `woundsim.posterior`),
`check` (posterior predictive), `report` (identifiability), `plots`, `pipeline`, `cli`.
See docs/calibration.md.
"""

from woundsim.posterior import draw_params, draw_scenarios, load_posterior  # re-exported; they moved to woundsim

__all__ = ["draw_params", "draw_scenarios", "load_posterior"]
