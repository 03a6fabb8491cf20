"""Fast two-group tests for one simulated trial: numpy versions of the standard analyses.

Each function reproduces a reference implementation (checked in tests/test_trial_stats.py):
- `two_proportion_p`: Pearson chi-square without continuity correction (= pooled two-proportion z-test),
  or Fisher's exact test when an expected cell count is below 5 (scipy.stats.chi2_contingency /
  fisher_exact);
- `fisher_exact_p`: two-sided Fisher exact test, summing tables no more probable than the observed one
  (scipy.stats.fisher_exact);
- `newcombe_diff_ci`: Newcombe's hybrid score interval for a difference of proportions (Newcombe 1998,
  method 10; statsmodels confint_proportions_2indep(method="newcomb"));
- `risk_tables` + `logrank_p`: (stratified) log-rank test with the hypergeometric variance
  (lifelines.statistics.logrank_test);
- `km_median`: Kaplan-Meier median, inf when not reached (lifelines KaplanMeierFitter.median_survival_time_);
- `cox_binary`: Cox proportional-hazards fit for one binary covariate, Efron ties, optional strata, by
  Newton-Raphson on the partial likelihood, with its likelihood-ratio test (lifelines CoxPHFitter and
  its log_likelihood_ratio_test), or on Firth's penalised partial likelihood (Heinze and Schemper 2001);
- `mann_whitney_p`: Mann-Whitney U, normal approximation with tie and continuity corrections
  (scipy.stats.mannwhitneyu(method="asymptotic")).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy.optimize import brentq
from scipy.special import gammaln
from scipy.stats import rankdata

SQRT2 = math.sqrt(2.0)


def normal_two_sided_p(z: float) -> float:
    """Two-sided p-value of a standard normal statistic."""
    return math.erfc(abs(z) / SQRT2)


def wilson_interval(k: np.ndarray | float, n: np.ndarray | float, z: float = 1.959964) -> tuple:
    """Wilson score interval for a proportion k/n (vectorised); (nan, nan) where n == 0."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1.0 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return centre - half, centre + half


def newcombe_diff_ci(k1: int, n1: int, k2: int, n2: int, z: float = 1.959964) -> tuple[float, float]:
    """Newcombe hybrid score interval for p1 - p2 (method 10)."""
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson_interval(k1, n1, z)
    l2, u2 = wilson_interval(k2, n2, z)
    d = p1 - p2
    return (float(d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)),
            float(d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)))


def fisher_exact_p(a: int, b: int, c: int, d: int) -> float:
    """Two-sided Fisher exact p for the table [[a, b], [c, d]]."""
    r1, c1, n = a + b, a + c, a + b + c + d
    if n == 0 or r1 in (0, n) or c1 in (0, n):
        return 1.0
    x = np.arange(max(0, r1 + c1 - n), min(r1, c1) + 1)
    logp = (gammaln(c1 + 1) - gammaln(x + 1) - gammaln(c1 - x + 1)
            + gammaln(n - c1 + 1) - gammaln(r1 - x + 1) - gammaln(n - c1 - r1 + x + 1)
            - gammaln(n + 1) + gammaln(r1 + 1) + gammaln(n - r1 + 1))
    obs = logp[a - x[0]]
    p = np.exp(logp[logp <= obs + 1e-7]).sum()
    return float(min(1.0, p))


def two_proportion_p(k1: int, n1: int, k2: int, n2: int) -> tuple[float, str]:
    """p-value for equal proportions: ("chi2", Pearson without continuity correction) or ("fisher").

    Fisher's exact test is used when any expected cell count is below 5 (Cochran's rule).
    """
    n = n1 + n2
    k = k1 + k2
    expected_min = min(n1, n2) * min(k, n - k) / n
    if expected_min < 5.0:
        return fisher_exact_p(k1, n1 - k1, k2, n2 - k2), "fisher"
    num = n * (k1 * (n2 - k2) - k2 * (n1 - k1)) ** 2
    chi2 = num / (n1 * n2 * k * (n - k))
    return math.erfc(math.sqrt(chi2 / 2.0)), "chi2"


def risk_tables(time: np.ndarray, event: np.ndarray, group: np.ndarray,
                stratum: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """At-risk and event counts per (stratum, distinct event time) and group (0 = control, 1 = treatment).

    Args:
        time: observed times (d), >= 0.
        event: 1 for an event, 0 for censoring.
        group: 0/1 group indicator.
        stratum: non-negative integer stratum codes, or None for one stratum.

    Returns:
        dict with arrays ``r0, r1`` (at risk just before the time) and ``d0, d1`` (events at the time),
        one entry per (stratum, event time), ordered by stratum then time.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    group = np.asarray(group, dtype=bool)
    width = float(time.max()) + 1.0 if time.size else 1.0
    s = np.zeros(time.size) if stratum is None else np.asarray(stratum, dtype=float)
    key = s * width + time
    ukeys, first = np.unique(key[event], return_index=True)
    end_key = (np.floor(ukeys / width) + 1.0) * width
    out = {}
    for g, name in ((False, "0"), (True, "1")):
        k_all = np.sort(key[group == g])
        k_ev = np.sort(key[(group == g) & event])
        out["r" + name] = np.searchsorted(k_all, end_key, "left") - np.searchsorted(k_all, ukeys, "left")
        out["d" + name] = np.searchsorted(k_ev, ukeys, "right") - np.searchsorted(k_ev, ukeys, "left")
    out["time"] = time[event][first]
    return out


def logrank_p(tab: dict[str, np.ndarray]) -> tuple[float, float]:
    """(Stratified) log-rank test from `risk_tables`; returns (O - E in group 1, p)."""
    r = tab["r0"] + tab["r1"]
    d = tab["d0"] + tab["d1"]
    if d.sum() == 0:
        return 0.0, math.nan
    frac = tab["r1"] / r
    o_minus_e = float((tab["d1"] - d * frac).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        shrink = np.where(r > 1, (r - d) / np.maximum(r - 1, 1), 1.0)
    var = float((d * frac * (1 - frac) * shrink).sum())
    if var <= 0:
        return o_minus_e, math.nan
    return o_minus_e, math.erfc(abs(o_minus_e) / math.sqrt(2.0 * var))


def km_median(tab: dict[str, np.ndarray], group: int) -> float:
    """Kaplan-Meier median time of one group from unstratified `risk_tables`; inf if not reached."""
    r = tab["r%d" % group]
    d = tab["d%d" % group]
    with np.errstate(invalid="ignore", divide="ignore"):
        surv = np.cumprod(np.where(r > 0, 1.0 - d / np.maximum(r, 1), 1.0))
    hit = np.nonzero((surv <= 0.5) & (d > 0))[0]
    return float(tab["time"][hit[0]]) if hit.size else math.inf


class CoxFit(NamedTuple):
    """A Cox fit with one binary covariate: log hazard ratio, its standard error, likelihood-ratio p and,
    when asked for, the profile-likelihood interval of the log hazard ratio."""

    beta: float
    se: float
    p_lr: float
    ci_low: float = math.nan
    ci_high: float = math.nan


SEPARATED_BETA = 40.0  # |beta| at which a monotone partial likelihood is taken at its limit (exp(-40) ~ 4e-18)


def cox_binary(tab: dict[str, np.ndarray], firth: bool = False, z: float | None = None, tol: float = 1e-9,
               max_iter: int = 50) -> CoxFit:
    """Cox model with one binary covariate (group 1 vs 0), Efron ties, from (stratified) `risk_tables`.

    Args:
        tab: risk tables (`risk_tables`).
        firth: maximise the Firth-penalised partial likelihood, l(beta) + log I(beta) / 2 (Heinze and
            Schemper 2001), whose estimate is finite even when one group has no events, and test by the
            penalised likelihood ratio, whose size holds with few events where the plain likelihood-ratio
            test rejects too often (the trial designer's check measured 0.09 at alpha 0.05 with 3 events).
        z: when given, also the profile (penalised) likelihood interval of beta at this normal quantile
            (1.96 for 95%): the values where 2 (l(beta_hat) - l(beta)) = z², which agrees with the
            likelihood-ratio test (it excludes 0 exactly when p_lr < the matching alpha) where a Wald
            interval need not; an end beyond |beta| = 40 is reported as -inf or +inf.
        tol: convergence tolerance on beta.
        max_iter: Newton iterations.

    Returns:
        CoxFit(beta, se, p_lr): log hazard ratio, its standard error from the information at the estimate,
        and the two-sided p-value of the (penalised) likelihood-ratio test of beta = 0 (unpenalised: as
        lifelines' `log_likelihood_ratio_test`). Unpenalised, when the estimate does not exist (no events
        in one group, or every event separates the groups) beta is -inf or +inf and se is inf, while the
        likelihood-ratio test stays defined (the partial likelihood's limit). With no events at all, or
        no event with both groups at risk, everything is nan.
    """
    d0, d1, r0, r1 = (tab[k].astype(float) for k in ("d0", "d1", "r0", "r1"))
    d = (d0 + d1).astype(int)
    if d.sum() == 0:
        return CoxFit(math.nan, math.nan, math.nan)
    rep = np.repeat(np.arange(d.size), d)
    frac = (np.arange(rep.size) - np.repeat(np.cumsum(d) - d, d)) / d[rep]
    d0, d1, r0, r1 = d0[rep], d1[rep], r0[rep], r1[rep]
    n_ev1 = tab["d1"].sum()

    def parts(beta: float) -> tuple[float, float, float]:
        """(penalised) log partial likelihood, its score and the information at beta."""
        th = math.exp(beta)
        num = (r1 - frac * d1) * th
        den = r0 - frac * d0 + num
        q = num / den
        ll, score, info = beta * n_ev1 - np.log(den).sum(), n_ev1 - q.sum(), (q * (1.0 - q)).sum()
        if firth:
            ll += 0.5 * math.log(info) if info > 0 else -math.inf
            score += 0.5 * (q * (1.0 - q) * (1.0 - 2.0 * q)).sum() / info if info > 0 else 0.0
        return ll, score, info

    ll0, score, info = parts(0.0)
    if info <= 0.0:
        return CoxFit(math.nan, math.nan, math.nan)
    if not firth and (tab["d1"].sum() == 0 or tab["d0"].sum() == 0):
        beta = math.inf if tab["d0"].sum() == 0 else -math.inf
        return CoxFit(beta, math.inf, _lr_p(parts(math.copysign(SEPARATED_BETA, beta))[0], ll0))
    beta, ll = 0.0, ll0
    for _ in range(max_iter):
        if info <= 0.0:  # (unpenalised) every event separates the groups: the likelihood rises without bound
            beta = math.copysign(math.inf, score)
            return CoxFit(beta, math.inf, _lr_p(parts(math.copysign(SEPARATED_BETA, score))[0], ll0))
        step = score / info
        new = beta + step
        ll_new, score_new, info_new = parts(new)
        while ll_new < ll - 1e-12 and abs(step) > 1e-12:
            step /= 2.0
            new = beta + step
            ll_new, score_new, info_new = parts(new)
        beta, ll, score, info = new, ll_new, score_new, info_new
        if abs(step) < tol:
            break
    se = 1.0 / math.sqrt(info) if info > 0 else math.inf
    if z is None:
        return CoxFit(beta, se, _lr_p(ll, ll0))
    low, high = (_profile_end(lambda b: parts(b)[0], beta, ll - 0.5 * z * z, side, se) for side in (-1.0, 1.0))
    return CoxFit(beta, se, _lr_p(ll, ll0), low, high)


def _profile_end(loglik, beta: float, level: float, side: float, se: float) -> float:
    """The point on one side of the maximum `beta` where `loglik` falls to `level` (+-inf if beyond 40)."""
    step, inner = min(max(se, 0.1), SEPARATED_BETA), beta
    outer = beta + side * step
    while loglik(outer) > level:
        if abs(outer) >= SEPARATED_BETA:
            return side * math.inf
        inner, step = outer, 2.0 * step
        outer = float(np.clip(beta + side * step, -SEPARATED_BETA, SEPARATED_BETA))
    return float(brentq(lambda b: loglik(b) - level, min(inner, outer), max(inner, outer), xtol=1e-8))


def _lr_p(ll: float, ll0: float) -> float:
    """p-value of a likelihood-ratio statistic 2 (ll - ll0) on one degree of freedom."""
    stat = max(2.0 * (ll - ll0), 0.0)
    return math.erfc(math.sqrt(stat / 2.0))


def mann_whitney_p(x: np.ndarray, y: np.ndarray) -> float:
    """Two-sided Mann-Whitney U p-value, normal approximation with tie and continuity corrections."""
    n1, n2 = x.size, y.size
    if n1 == 0 or n2 == 0:
        return math.nan
    both = np.concatenate([x, y])
    ranks = rankdata(both)
    u1 = ranks[:n1].sum() - n1 * (n1 + 1) / 2.0
    n = n1 + n2
    _, counts = np.unique(both, return_counts=True)
    tie = float((counts ** 3 - counts).sum())
    var = n1 * n2 / 12.0 * ((n + 1) - tie / (n * (n - 1)))
    if var <= 0:
        return 1.0
    u = max(u1, n1 * n2 - u1)
    z = (u - n1 * n2 / 2.0 - 0.5) / math.sqrt(var)
    return min(1.0, math.erfc(z / SQRT2))
