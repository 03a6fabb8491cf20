"""Pure rule functions: local signals and parameters in, rates or probabilities out.

They import neither Mesa nor Hydra and are compiled with Numba so that the cell kernels call
them directly; from Python they behave as ordinary functions, so their limits are tested alone
(no signal gives the base rate, saturation gives the maximum).
"""

from __future__ import annotations

import math

from numba import njit

from woundsim import _kernel_cache

_kernel_cache.register()  # before the first kernel is defined (see woundsim/_kernel_cache.py)


@njit(cache=True, error_model="numpy")
def hill(c: float, k_half: float) -> float:
    """Michaelis-Menten / Hill (n = 1) activation c / (c + k_half), in [0, 1)."""
    if c <= 0.0:
        return 0.0
    return c / (c + k_half)


@njit(cache=True, error_model="numpy")
def rate_to_prob(rate_per_h: float, dt_h: float) -> float:
    """Probability that a Poisson event of `rate_per_h` (1/h) happens within `dt_h` (h)."""
    if rate_per_h <= 0.0:
        return 0.0
    return 1.0 - math.exp(-rate_per_h * dt_h)


@njit(cache=True, error_model="numpy")
def relax(x: float, up: float, down: float, dt_h: float) -> float:
    """Exact step of dx/dt = up * (1 - x) - down * x over `dt_h`; stays within [0, 1]."""
    total = up + down
    if total <= 0.0:
        return x
    x_eq = up / total
    return x_eq + (x - x_eq) * math.exp(-total * dt_h)


@njit(cache=True, error_model="numpy")
def impairment_strength(glucose_mM: float, normal_mM: float, high_mM: float, max_strength: float) -> float:
    """Diabetic impairment: 0 at `normal_mM`, 1 at `high_mM`, linear in glucose, capped at `max_strength`."""
    s = (glucose_mM - normal_mM) / (high_mM - normal_mM)
    return min(max(s, 0.0), max_strength)


@njit(cache=True, error_model="numpy")
def keratinocyte_glucose_factor(strength: float, doubling_normal_d: float, doubling_high_d: float) -> float:
    """Edge speed relative to normal glucose: doubling-time ratio (3.65 d at 6 mM vs 5.43 d at 12 mM).

    The doubling time is interpolated linearly in impairment strength (i.e. in glucose).
    """
    doubling = doubling_normal_d + (doubling_high_d - doubling_normal_d) * strength
    return doubling_normal_d / doubling


@njit(cache=True, error_model="numpy")
def senescence(duration_weeks: float, max_fraction: float, tau_weeks: float) -> float:
    """Fraction of senescent edge cells of an ulcer open for `duration_weeks`."""
    return max_fraction * (1.0 - math.exp(-duration_weeks / tau_weeks))


@njit(cache=True, error_model="numpy")
def inhibition(c: float, k_half: float, max_inhibition: float) -> float:
    """Multiplicative slowing factor 1 - max_inhibition * hill(c), in [1 - max_inhibition, 1]."""
    return 1.0 - max_inhibition * hill(c, k_half)


@njit(cache=True, error_model="numpy")
def emax_fraction(exposure: float, ec50: float) -> float:
    """Share of a response's maximal effect (Emax model, Hill n = 1) at `exposure`: exposure / (ec50 + exposure),
    0 without exposure, 1/2 at `ec50` (same unit as `exposure`), towards 1 at saturation."""
    return hill(exposure, ec50)


@njit(cache=True, error_model="numpy")
def saturable_uptake(c: float, rate_per_h: float, km: float, dt_h: float) -> float:
    """Amount taken up in `dt_h` from a concentration `c` by receptor-saturable uptake (Michaelis-Menten).

    The uptake rate Vmax c / (km + c), with Vmax = `rate_per_h` x `km` (so `rate_per_h` is the first-order
    rate at c << km, 1/h), is integrated over the step as a first-order loss at the rate of its start:
    c (1 - exp(-Vmax dt / (km + c))). The result lies in [0, c]: what is taken never exceeds what is there,
    tends to rate_per_h c dt at low c and to Vmax dt at saturation (c >> km).
    """
    if c <= 0.0 or rate_per_h <= 0.0:
        return 0.0
    return -c * math.expm1(-rate_per_h * km * dt_h / (km + c))


def __getattr__(name: str):
    if name == "recurrence_probability":  # version 1's constant-hazard recurrence, retired
        raise ImportError("woundsim.rules.recurrence_probability is retired: recurrence after closure is "
                          "woundsim.endpoints.recurrence_outcomes (woundsim.recurrence)")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
