"""Random draws inside kernels that are the very numbers NumPy's `Generator` would draw.

Numba draws `Generator.random()` exactly as NumPy does, but its `Generator.poisson` is not NumPy's
for lam >= 10: its PTRS sampler truncates the candidate count toward zero (`int(x)`) where NumPy
takes `floor(x)`, so a candidate in (-1, 0) that NumPy rejects becomes a 0 that Numba may accept.
It happens about once in a few hundred thousand draws; in a 2080-patient virtual trial it changed
one patient's closure by 43 days. `poisson` below is NumPy's algorithm
(numpy/random/src/distributions/distributions.c: random_poisson, random_poisson_mult,
random_poisson_ptrs, random_loggam) on the same uniforms, with NumPy's floor.

No fastmath here: NumPy's C is compiled without fused multiply-adds, and so must this be.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_LOGGAM_A = np.array([8.333333333333333e-02, -2.777777777777778e-03, 7.936507936507937e-04,
                      -5.952380952380952e-04, 8.417508417508418e-04, -1.917526917526918e-03,
                      6.410256410256410e-03, -2.955065359477124e-02, 1.796443723688307e-01,
                      -1.39243221690590e+00])


@njit(cache=True, error_model="numpy")
def poisson(rng, lam):
    """A Poisson(lam) count drawn from `rng` (a numpy.random.Generator): `rng.poisson(lam)` in NumPy.

    Args:
        rng: the generator, advanced in place.
        lam: mean, finite and >= 0 (the caller's responsibility, as in the model's recruitment).
    """
    if lam >= 10.0:
        return _poisson_ptrs(rng, lam)
    if lam == 0.0:
        return 0
    return _poisson_mult(rng, lam)


@njit(cache=True, error_model="numpy")
def _poisson_mult(rng, lam):
    enlam = math.exp(-lam)
    x = 0
    prod = 1.0
    while True:
        prod *= rng.random()
        if prod > enlam:
            x += 1
        else:
            return x


@njit(cache=True, error_model="numpy")
def _poisson_ptrs(rng, lam):
    """Hoermann's transformed rejection (Insurance: Mathematics and Economics 12, 39-45, 1993)."""
    slam = math.sqrt(lam)
    loglam = math.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2)
    while True:
        u = rng.random() - 0.5
        v = rng.random()
        us = 0.5 - abs(u)
        k = int(math.floor((2 * a / us + b) * u + lam + 0.43))
        if us >= 0.07 and v <= vr:
            return k
        if k < 0 or (us < 0.013 and v > us):
            continue
        if math.log(v) + math.log(invalpha) - math.log(a / (us * us) + b) <= -lam + k * loglam - _loggam(k + 1.0):
            return k


@njit(cache=True, error_model="numpy")
def _loggam(x):
    """log Gamma(x) for x >= 1, as NumPy's random_loggam."""
    if x == 1.0 or x == 2.0:
        return 0.0
    n = int(7 - x) if x < 7.0 else 0
    x0 = x + n
    x2 = (1.0 / x0) * (1.0 / x0)
    gl0 = _LOGGAM_A[9]
    for k in range(8, -1, -1):
        gl0 *= x2
        gl0 += _LOGGAM_A[k]
    gl = gl0 / x0 + 0.5 * 1.8378770664093453e+00 + (x0 - 0.5) * math.log(x0) - x0
    if x < 7.0:
        for _ in range(n):
            gl -= math.log(x0 - 1.0)
            x0 -= 1.0
    return gl
