"""Gaussian-process emulators of one statistic's mean output, with leave-one-out diagnostics.

An emulator is a linear regression on the inputs plus a zero-mean Gaussian process on its residuals
(Andrianakis et al. 2015, section "Emulation"), fitted with scikit-learn's `GaussianProcessRegressor`:

- inputs are the prior's quantile space u in [0, 1]^d (`calibration.history_matching.design`);
- kernel `ConstantKernel * Matern(nu=2.5)` with one length scale per input (anisotropic), hyperparameters by
  maximum marginal likelihood with `restarts` extra optimiser starts (random state from the calibration seed);
- one BLAS thread (`threadpoolctl`): on a shared machine, threads on these small matrices made a fit about ten
  times slower (0.4 s against 5 s per fit at 60 points, load 12 on 2 cores);
- per-point noise: each evaluation's Monte Carlo variance (bootstrap over its patients) as the `alpha` array.
  scikit-learn adds `alpha` to the kernel diagonal in the units the GP is fitted in, so the residuals are
  standardised here (not with `normalize_y`) and `alpha` is divided by the same scale squared.

`predict` returns the emulator mean and variance of the mean output, E[f(x)] and Var[f(x)] (the latent GP
variance: the evaluations' noise is not added back). The leave-one-out diagnostic (`loo_errors`) uses the
closed form for a GP with fixed hyperparameters (Rasmussen & Williams 2006, eq. 5.12): with K_y = K + diag(alpha),
the standardised LOO error of point i is [K_y^-1 r]_i / sqrt([K_y^-1]_ii), the error of predicting the noisy
evaluation i from the others divided by its predictive SD. Rows that share a design point's patients (the
after-closure statistics' restatements, `calibration.history_matching.waves._restated_rows`) are left out
together: for the rows G of one point the errors are [K_y^-1]_GG^-1 [K_y^-1 r]_G with covariance
[K_y^-1]_GG^-1, each standardised by its own SD (Rasmussen & Williams's block form), so a point's
restatements cannot predict each other. An emulator passes when at least 95% of them lie
within +-3 and their SD is within 0.7-1.4: an inflated nugget makes the SD too small and fails.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.linalg import cho_factor, cho_solve
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, Matern
from threadpoolctl import threadpool_limits

from woundsim.errors import require

LOO_WITHIN = 3.0        # a standardised LOO error within +-3 ...
LOO_MIN_SHARE = 0.95    # ... for at least 95% of the points
LOO_SD_RANGE = (0.7, 1.4)
JITTER = 1e-8           # added to the standardised noise, for a positive-definite K_y when alpha is ~0


@dataclass
class LooDiagnostic:
    """Leave-one-out diagnostic of one emulator."""

    n: int
    share_within: float
    sd: float

    @property
    def passed(self) -> bool:
        """At least 95% within +-3 and an SD within 0.7-1.4."""
        return self.share_within >= LOO_MIN_SHARE and LOO_SD_RANGE[0] <= self.sd <= LOO_SD_RANGE[1]


def loo_diagnostic(errors: np.ndarray) -> LooDiagnostic:
    """Share within +-3 and SD of standardised LOO errors."""
    errors = np.asarray(errors, dtype=float)
    return LooDiagnostic(len(errors), float(np.mean(np.abs(errors) <= LOO_WITHIN)), float(np.std(errors, ddof=1)))


def min_evaluations(dimensions: int) -> int:
    """The fewest evaluations an emulator of `dimensions` inputs is fitted to (its linear mean's d + 1 terms, and
    two more so that leave-one-out has residuals to judge)."""
    return dimensions + 3


class StatisticEmulator:
    """Emulator of one statistic: linear mean + GP residual, per-point noise.

    Args:
        restarts: extra starts of the hyperparameter optimiser.
        seed: random state of those starts.
    """

    def __init__(self, restarts: int = 2, seed: int = 0) -> None:
        self.restarts, self.seed = int(restarts), int(seed)

    def fit(self, u: np.ndarray, y: np.ndarray, noise_var: np.ndarray,
            groups: np.ndarray | None = None) -> StatisticEmulator:
        """Fit to evaluations y at inputs u (n x d) with Monte Carlo variances noise_var (per row); rows with the
        same `groups` label share their patients and are left out together by `loo_errors` (None: each alone)."""
        u, y, noise = np.atleast_2d(u).astype(float), np.asarray(y, dtype=float), np.asarray(noise_var, dtype=float)
        need = min_evaluations(u.shape[1])
        require(len(y) >= need, f"an emulator needs at least {need} evaluations, got {len(y)}")
        basis = self._basis(u)
        self.beta = np.linalg.lstsq(basis, y, rcond=None)[0]
        resid = y - basis @ self.beta
        self.scale = float(np.std(resid)) or 1.0
        self.alpha = np.maximum(noise, 0.0) / self.scale ** 2 + JITTER
        d = u.shape[1]
        kernel = ConstantKernel(1.0, (1e-3, 1e3)) * Matern(np.full(d, 0.5), (1e-2, 1e2), nu=2.5)
        self.gp = GaussianProcessRegressor(kernel, alpha=self.alpha, n_restarts_optimizer=self.restarts,
                                           random_state=self.seed)
        with warnings.catch_warnings(), threadpool_limits(1):  # BLAS threads on 100x100 matrices: 10x slower
            warnings.simplefilter("ignore", ConvergenceWarning)  # a length scale at its bound is a valid fit
            self.gp.fit(u, resid / self.scale)
        self.u, self.resid = u, resid / self.scale
        self.groups = np.arange(len(y)) if groups is None else np.asarray(groups)
        require(len(self.groups) == len(y), f"{len(self.groups)} group labels for {len(y)} evaluations")
        return self

    @staticmethod
    def _basis(u: np.ndarray) -> np.ndarray:
        return np.hstack([np.ones((len(u), 1)), u])

    def predict(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(E[f(u)], Var[f(u)]) at inputs u (n x d)."""
        u = np.atleast_2d(u).astype(float)
        with threadpool_limits(1):
            mean, sd = self.gp.predict(u, return_std=True)
        return self._basis(u) @ self.beta + self.scale * mean, (self.scale * sd) ** 2

    def loo_errors(self) -> np.ndarray:
        """Standardised leave-one-out errors at the fitted hyperparameters (see the module docstring)."""
        k_y = self.gp.kernel_(self.u) + np.diag(self.alpha)
        factor = cho_factor(k_y, lower=True)
        inverse = cho_solve(factor, np.eye(len(self.u)))
        weighted = inverse @ self.resid
        errors = np.empty(len(self.u))
        for label in np.unique(self.groups):
            rows = np.flatnonzero(self.groups == label)
            cov = np.linalg.inv(inverse[np.ix_(rows, rows)])
            errors[rows] = (cov @ weighted[rows]) / np.sqrt(np.diag(cov))
        return errors

    def length_scales(self) -> np.ndarray:
        """Fitted length scales (quantile-space units; large: the statistic ignores that input)."""
        return np.atleast_1d(self.gp.kernel_.k2.length_scale).astype(float)
