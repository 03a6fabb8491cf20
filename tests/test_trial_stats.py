"""Statistical core of the virtual trial designer (issue 5, parts 6 and 7).

Layers: the fast tests against their reference implementations (lifelines, scipy, statsmodels); the
observation model on hand-made patients; design validation; then the simulation checks against analytic
power, each with a fixed seed and a tolerance of 3 Monte Carlo standard errors sqrt(P (1 - P) / T).
Rate-scenario pools use stratified draws so their own sampling error does not shift the power
(woundsim.trial.power docstring); the pool-size test measures that shift on purpose.
"""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test
from scipy import stats as sps
from scipy.stats import norm
from statsmodels.stats.proportion import confint_proportions_2indep

from woundsim.errors import InputError
from woundsim.trial import (Dropout, TrialDesign, analyse_trial, assurance, draw_trial, observe_patients,
                            pool_power_sd, shrink_effect, simulate_power, simulate_trials, smallest_n)
from woundsim.trial import stats
from woundsim.trial.power import min_pool_size
from woundsim.trial.scenarios import (analytic_power_two_proportions, bernoulli_pool, event_probability,
                                      exponential_pool, hazard_for_rate, load_rate_scenario, schoenfeld_power)

CONF = Path(__file__).resolve().parents[1] / "conf" / "trial"
DESIGN = TrialDesign()


def mc_tol(p: float, n: int) -> float:
    """Three binomial standard errors of a power estimated from n trials."""
    return 3.0 * math.sqrt(p * (1 - p) / n)


def exact_power(p_a: float, p_b: float, n_a: int, n_b: int, alpha: float = 0.05) -> float:
    """Exact power of the primary test (chi-square / Fisher) by enumerating both binomial outcomes."""
    reject = np.array([[stats.two_proportion_p(i, n_a, j, n_b)[0] < alpha for j in range(n_b + 1)]
                       for i in range(n_a + 1)], float)
    return float(sps.binom.pmf(np.arange(n_a + 1), n_a, p_a) @ reject @ sps.binom.pmf(np.arange(n_b + 1), n_b, p_b))


def power_of(trials: pd.DataFrame, key: str, alpha: float = 0.05) -> float:
    return float((trials[key] < alpha).mean())


# --- fast tests against their references --------------------------------------------------------------

def _survival_data(rng, n, tied):
    t = rng.exponential(60.0, n)
    t = np.minimum(np.ceil(t / 7) * 7 if tied else t, 140.0)
    return t, (rng.random(n) < 0.7) & (t < 140.0), rng.random(n) < 0.5, rng.integers(0, 3, n)


@pytest.mark.parametrize("seed", range(6))
def test_survival_analyses_match_lifelines(seed):
    rng = np.random.default_rng(seed)
    t, e, g, s = _survival_data(rng, int(rng.integers(25, 150)), tied=seed % 2 == 1)
    tab = stats.risk_tables(t, e, g)
    assert stats.logrank_p(tab)[1] == pytest.approx(logrank_test(t[g], t[~g], e[g], e[~g]).p_value, abs=1e-10)
    for grp, mask in ((1, g), (0, ~g)):
        assert stats.km_median(tab, grp) == KaplanMeierFitter().fit(t[mask], e[mask]).median_survival_time_
    df = pd.DataFrame({"T": t, "E": e.astype(int), "x": g.astype(float), "s": s})
    tight = {"precision": 1e-12, "r_precision": 1e-15}
    for strata in (None, ["s"]):
        ref = CoxPHFitter().fit(df if strata else df.drop(columns="s"), "T", "E", strata=strata, fit_options=tight)
        beta, se, p_lr = stats.cox_binary(stats.risk_tables(t, e, g, s if strata else None))[:3]
        assert beta == pytest.approx(ref.params_["x"], abs=1e-6)
        assert se == pytest.approx(ref.standard_errors_["x"], rel=1e-5)
        assert p_lr == pytest.approx(ref.log_likelihood_ratio_test().p_value, rel=1e-6, abs=1e-12)


def test_cox_without_events_in_one_arm_is_flagged_and_tested_by_likelihood_ratio():
    tab = stats.risk_tables(np.array([7.0, 14, 21, 28]), np.array([1, 1, 0, 0]), np.array([1, 1, 0, 0]))
    fit = stats.cox_binary(tab)
    assert (fit.beta, fit.se) == (math.inf, math.inf)
    # the partial likelihood's limit: event 1 has 2 of 4 at risk in group 1, event 2 has 1 of 3 -> LR = 2 ln 6
    assert fit.p_lr == pytest.approx(math.erfc(math.sqrt(math.log(6.0))))
    many = stats.risk_tables(np.r_[np.full(20, 7.0), np.full(20, 84.0)], np.r_[np.ones(20), np.zeros(20)],
                             np.r_[np.ones(20), np.zeros(20)])
    assert stats.cox_binary(many).p_lr < 1e-6  # 20 of 20 treated closed, 0 of 20 controls: decisive


def _firth_loglik(beta: float, t, e, g) -> float:
    """Firth-penalised Efron log partial likelihood, subject by subject (no risk tables), unstratified."""
    ll, info = 0.0, 0.0
    for time in np.unique(t[e]):
        at_risk, dying = t >= time, (t == time) & e
        risk = np.exp(beta * g[at_risk]).sum()
        dead = np.exp(beta * g[dying]).sum()
        s1, s1d = (g[at_risk] * np.exp(beta * g[at_risk])).sum(), (g[dying] * np.exp(beta * g[dying])).sum()
        m = int(dying.sum())
        ll += beta * g[dying].sum()
        for k in range(m):
            den = risk - k / m * dead
            q = (s1 - k / m * s1d) / den
            ll -= math.log(den)
            info += q * (1 - q)
    return ll + 0.5 * math.log(info)


@pytest.mark.parametrize("separated", [False, True])
def test_firth_cox_maximises_the_penalised_likelihood_and_is_finite_under_separation(separated):
    rng = np.random.default_rng(5)
    t = np.ceil(rng.exponential(40.0, 30) / 7) * 7
    g = np.r_[np.ones(15), np.zeros(15)]
    e = (t < 98) & ((g == 1) if separated else True)
    fit = stats.cox_binary(stats.risk_tables(t, e, g.astype(bool)), firth=True)
    grid = np.linspace(fit.beta - 0.05, fit.beta + 0.05, 201)
    assert grid[np.argmax([_firth_loglik(b, t, e, g) for b in grid])] == pytest.approx(fit.beta, abs=1e-3)
    stat = 2 * (_firth_loglik(fit.beta, t, e, g) - _firth_loglik(0.0, t, e, g))
    assert fit.p_lr == pytest.approx(math.erfc(math.sqrt(stat / 2)), rel=1e-6)
    plain = stats.cox_binary(stats.risk_tables(t, e, g.astype(bool)))
    if separated:
        assert plain.beta == math.inf and math.isfinite(fit.beta) and fit.beta > 1.5 and fit.p_lr < 0.01
    else:  # with events in both groups the penalty moves the estimate by O(1/events), well within its SE
        assert abs(plain.beta - fit.beta) < 0.3 * plain.se and fit.se == pytest.approx(plain.se, rel=0.1)
    # the profile interval: the penalised likelihood is z²/2 below its maximum at both ends
    ends = stats.cox_binary(stats.risk_tables(t, e, g.astype(bool)), firth=True, z=1.96)
    for end in (ends.ci_low, ends.ci_high):
        drop = _firth_loglik(fit.beta, t, e, g) - _firth_loglik(end, t, e, g)
        assert drop == pytest.approx(1.96 ** 2 / 2, rel=1e-5)
    assert (ends.ci_low > 0) == (fit.p_lr < 0.05)


def test_proportion_and_rank_tests_match_scipy_and_statsmodels():
    rng = np.random.default_rng(7)
    for _ in range(40):
        a, b, c, d = (int(v) for v in rng.integers(0, 40, 4))
        assert stats.fisher_exact_p(a, b, c, d) == pytest.approx(sps.fisher_exact([[a, b], [c, d]]).pvalue, abs=1e-9)
        k1, k2, n1, n2 = a, c, a + b + 5, c + d + 5
        p, test = stats.two_proportion_p(k1, n1, k2, n2)
        table = np.array([[k1, n1 - k1], [k2, n2 - k2]])
        if test == "chi2":
            assert p == pytest.approx(sps.chi2_contingency(table, correction=False).pvalue, rel=1e-9)
            assert sps.contingency.expected_freq(table).min() >= 5
        else:
            assert sps.contingency.expected_freq(table).min() < 5
        ref = confint_proportions_2indep(k1, n1, k2, n2, method="newcomb", compare="diff")
        assert stats.newcombe_diff_ci(k1, n1, k2, n2) == pytest.approx(ref, abs=1e-6)
        x, y = rng.normal(0, 1, int(rng.integers(5, 60))), np.round(rng.normal(0.3, 1, int(rng.integers(5, 60))), 1)
        assert stats.mann_whitney_p(x, y) == pytest.approx(
            sps.mannwhitneyu(x, y, method="asymptotic").pvalue, abs=1e-12)


# --- observation model ---------------------------------------------------------------------------------

def _pool(first, confirmed=None, **cols):
    first = np.asarray(first, float)
    confirmed = first + 14.0 if confirmed is None else np.asarray(confirmed, float)
    return pd.DataFrame({"first_closure_day": first, "confirmed_closure_day": confirmed, **cols})


def test_closure_is_seen_at_the_next_visit_and_confirmed_two_weeks_later():
    pool = _pool([10.0, 84.0, 84.5, 130.0, 50.0, np.nan], confirmed=[24, 98, 98.5, 144, np.nan, np.nan],
                 par_week4=[100.0, 20, 30, 10, 50, -5], recurrence_same_site_month=[np.inf, 3.0, 11.9, 1.0, np.nan, np.nan],
                 recurrence_any_site_month=[np.inf, 3.0, 11.9, 1.0, np.nan, np.nan])
    obs = observe_patients(pool, DESIGN, np.random.default_rng(0))
    assert obs["closure_time_days"].tolist() == [14.0, 84.0, 91.0, 140.0, 140.0, 140.0]
    assert obs["closure_event"].tolist() == [True, True, True, False, False, False]
    assert obs["closed_by_primary"].tolist() == [True, True, False, False, False, False]
    assert obs["recurred_12m"].iloc[:3].tolist() == [0.0, 1.0, 1.0] and obs["recurred_12m"].iloc[3:].isna().all()
    horizon = observe_patients(pool.assign(horizon_days=100.0), DESIGN, np.random.default_rng(0))
    assert horizon["closure_event"].tolist() == [True, True, False, False, False, False]
    assert horizon["closure_time_days"].iloc[2] == 98.0


@pytest.mark.parametrize("timing", ["uniform", "exponential"])
def test_dropouts_are_censored_at_their_last_visit(timing):
    rng = np.random.default_rng(11)
    design = TrialDesign(dropout=Dropout(rate=0.3, timing=timing))
    pool = bernoulli_pool(0.5, 20000, rng, par_mean=40.0, par_sd=20.0)
    obs = observe_patients(pool, design, rng)
    lost = obs["dropout_day"] < design.followup_days
    assert abs(lost.mean() - 0.3) < 3 * math.sqrt(0.21 / len(obs))
    half = (obs["dropout_day"] < design.followup_days / 2).mean()
    expect_half = 0.15 if timing == "uniform" else 1 - math.sqrt(0.7)
    assert abs(half - expect_half) < 3 * math.sqrt(expect_half * (1 - expect_half) / len(obs))
    last = np.floor(np.minimum(obs["dropout_day"], 140.0) / 7) * 7
    assert np.array_equal(obs["last_visit_day"], last)
    seen = np.ceil(pool["first_closure_day"] / 7) * 7
    assert np.array_equal(obs["closure_event"], seen + 14 <= last)
    assert np.array_equal(obs["closure_time_days"], np.where(obs["closure_event"], seen, last))
    assert obs.loc[last < 28, "par_week4"].isna().all() and obs.loc[last >= 28, "par_week4"].notna().all()


def test_recurrence_is_the_patient_drawn_first_recurrence_at_the_design_site_within_its_followup():
    same, other = [np.inf, 5.0, 20.0, np.inf, np.inf], [np.inf, 5.0, 20.0, 2.0, 30.0]
    pool = _pool(np.full(5, 20.0), recurrence_same_site_month=same, recurrence_any_site_month=other)
    rng = np.random.default_rng(2)
    assert observe_patients(pool, DESIGN, rng)["recurred_12m"].tolist() == [0.0, 1.0, 0.0, 0.0, 0.0]
    two_years = TrialDesign(recurrence_followup_months=24.0, recurrence_site="any_site")
    assert observe_patients(pool, two_years, rng)["recurred_12m"].tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]
    with pytest.raises(InputError, match="recurrence_site"):
        TrialDesign(recurrence_site="index")
    old = _pool([20.0], recurrence_risk_12m=[0.4])
    with pytest.raises(InputError, match="'recurrence_risk_12m' is now 'recurrence_any_site_12m'"):
        observe_patients(old, DESIGN, rng)


def test_a_scenario_pool_recurs_at_its_12_month_risk():
    pool = bernoulli_pool(0.9, 20000, np.random.default_rng(3), recurrence_risk_12m=0.4)
    obs = observe_patients(pool, TrialDesign(dropout=Dropout(rate=0.0), followup_days=400.0), np.random.default_rng(4))
    assert abs(obs["recurred_12m"].mean() - 0.4) < mc_tol(0.4, int(obs["healed"].sum()))


# --- design validation ------------------------------------------------------------------------------------

@pytest.mark.parametrize("build", [lambda: TrialDesign(alpha=0.0), lambda: TrialDesign(followup_days=90.0),
                                   lambda: TrialDesign(allocation_ratio=0.1), lambda: TrialDesign(arm_sizes=(50.5,)),
                                   lambda: TrialDesign(arm_sizes=()), lambda: TrialDesign(n_trials=0),
                                   lambda: Dropout(rate=0.2, timing="weibull"), lambda: Dropout(rate=1.0)])
def test_bad_designs_are_refused(build):
    with pytest.raises(InputError):
        build()


def test_design_from_dict_refuses_unknown_keys_and_builds_arms():
    design = TrialDesign.from_dict({"arms": [{"name": "a"}, {"name": "b"}], "dropout": {"rate": 0.1},
                                    "arm_sizes": [40, 80]})
    assert design.arms[1].name == "b" and design.dropout.rate == 0.1 and design.arm_counts(40) == (40, 40)
    with pytest.raises(InputError, match="unknown"):
        TrialDesign.from_dict({"arm_size": [40]})
    with pytest.raises(InputError):
        simulate_power(pd.DataFrame({"x": [1.0]}), pd.DataFrame({"x": [1.0]}), DESIGN, [20], 1, 0)


# --- resampling, seeds, shrinking, smallest n, assurance ------------------------------------------------------

def test_same_seed_same_trials_and_sizes_do_not_share_streams():
    rng = np.random.default_rng(4)
    pa, pb = bernoulli_pool(0.5, 500, rng), bernoulli_pool(0.3, 500, rng)
    one = simulate_power(pa, pb, DESIGN, [30, 60], 50, 9)
    assert one.equals(simulate_power(pa, pb, DESIGN, [30, 60], 50, 9))
    only60 = simulate_power(pa, pb, DESIGN, [60], 50, 9)
    assert one[one.arm_size == 60].reset_index(drop=True).equals(only60)
    assert not simulate_trials(pa, pb, DESIGN, 60, 50, 9).equals(simulate_trials(pa, pb, DESIGN, 60, 50, 10))


def test_draw_trial_reproduces_a_simulated_trial_through_the_table_api():
    rng = np.random.default_rng(14)
    strata = {"I": 0.5, "II": 0.5}
    pa = bernoulli_pool(0.5, 800, rng, par_mean=40.0, par_sd=30.0, strata=strata, stratum_column="texas_grade")
    pb = bernoulli_pool(0.3, 800, rng, par_mean=30.0, par_sd=30.0, strata=strata, stratum_column="texas_grade")
    design = TrialDesign(stratify_by="texas_grade", dropout=Dropout(0.2))
    trials = simulate_trials(pa, pb, design, 40, 3, 5)
    trial_rng = np.random.default_rng(np.random.SeedSequence(5, spawn_key=(40, 2)))
    obs_a, obs_b = draw_trial(pa, pb, design, 40, trial_rng)
    again = analyse_trial(obs_a, obs_b, design)
    row = trials.iloc[2]
    for key, value in again.items():
        assert row[key] == pytest.approx(value, nan_ok=True), key


def test_stratified_resampling_balances_strata_and_keeps_type_one_error():
    rng = np.random.default_rng(8)
    strata = {"I": 0.5, "II": 0.3, "III": 0.2}
    pool = pd.concat([bernoulli_pool(r, 3000, rng, strata={g: 1.0}, stratum_column="texas_grade")
                      for g, r in zip(strata, (0.5, 0.3, 0.15))], ignore_index=True)
    design = TrialDesign(stratify_by="texas_grade", allocation_ratio=2.0)
    obs_a, obs_b = draw_trial(pool, pool, design, 60, rng)
    counts_a, counts_b = obs_a["texas_grade"].value_counts(), obs_b["texas_grade"].value_counts()
    assert counts_a.to_dict() == (2 * counts_b).to_dict() and len(obs_b) == 60
    trials = simulate_trials(pool, pool, design, 60, 1500, 21, endpoints=("logrank", "cox"))
    assert (trials["n_a"] == 120).all() and (trials["n_b"] == 60).all()
    for key in ("p_logrank", "p_cox"):
        assert abs(power_of(trials, key) - 0.05) < mc_tol(0.05, len(trials))


def test_shrink_effect_scales_the_closure_difference():
    rng = np.random.default_rng(5)
    pa = bernoulli_pool(0.6, 40000, rng, strata={"I": 0.6, "II": 0.4})
    pb = bernoulli_pool(0.3, 40000, rng, strata={"I": 0.6, "II": 0.4})
    for f in (0.75, 0.5):
        shrunk = shrink_effect(pa, pb, f, rng, stratify="stratum")
        assert len(shrunk) == len(pa)
        assert (shrunk["stratum"].value_counts() == pa["stratum"].value_counts()).all()
        expect = pb.closed_by_week12.mean() + f * (pa.closed_by_week12.mean() - pb.closed_by_week12.mean())
        assert abs(shrunk["closed_by_week12"].mean() - expect) < 3 * math.sqrt(0.25 * (1 - f) / len(pa))


def test_smallest_n_interpolates_on_the_probit_sqrt_n_scale():
    sizes = np.array([25, 50, 100, 200])
    table = pd.DataFrame({"arm_size": sizes, "endpoint": "primary",
                          "power": norm.cdf(0.3 * np.sqrt(sizes / 2) - 1.96)})
    n80 = (2 * ((norm.ppf(0.8) + 1.96) / 0.3) ** 2)
    assert smallest_n(table, "primary", 0.8) == math.ceil(n80)
    assert smallest_n(table, "primary", 0.05) == 25
    assert smallest_n(table, "primary", 0.999) is None


def test_smallest_n_from_simulated_power_matches_the_analytic_arm_size():
    rng = np.random.default_rng(6)
    pa, pb = (bernoulli_pool(r, 20000, rng, stratified_draws=True) for r in (0.5, 0.3))
    table = simulate_power(pa, pb, DESIGN, [60, 80, 100, 120], 2000, 13, endpoints=("primary",))
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize
    n80 = NormalIndPower().solve_power(proportion_effectsize(0.5, 0.3), power=0.8, alpha=0.05)  # 90.3
    # MC SE of power 0.009 at 2000 trials / slope 0.0044 per patient = 2 patients; 3 SE = 7
    assert abs(smallest_n(table, "primary", 0.8) - n80) <= 7


def test_assurance_averages_power_over_draws():
    rng = np.random.default_rng(9)
    null = bernoulli_pool(0.3, 20000, rng, stratified_draws=True)
    effect = bernoulli_pool(0.5, 20000, rng, stratified_draws=True)
    table = assurance([(null, null), (effect, null)], DESIGN, [100], 1500, 17, endpoints=("primary",))
    expect = (exact_power(0.3, 0.3, 100, 100) + exact_power(0.5, 0.3, 100, 100)) / 2  # 0.44
    row = table.iloc[0]
    assert row["n_draws"] == 2 and abs(row["assurance"] - expect) < 3 * math.sqrt(0.2 / 3000)
    assert row["power_q10"] < 0.2 < 0.7 < row["power_q90"]


# --- issue 5 part 6: simulated power against analytic power ---------------------------------------------

@pytest.mark.parametrize("p_a, p_b, n", [(0.5, 0.3, 100), (0.4, 0.25, 80)])
def test_bernoulli_power_matches_statsmodels(p_a, p_b, n):
    rng = np.random.default_rng(100 + n)
    pa, pb = (bernoulli_pool(r, 20000, rng, stratified_draws=True) for r in (p_a, p_b))
    trials = simulate_trials(pa, pb, DESIGN, n, 4000, 31, endpoints=("primary",))
    sim = power_of(trials, "p_primary")
    analytic = analytic_power_two_proportions(p_a, p_b, n, n)
    exact = exact_power(p_a, p_b, n, n)
    assert abs(sim - exact) < mc_tol(exact, len(trials))
    # statsmodels' normal approximation is itself off the exact power by |exact - analytic| (0.003 here)
    assert abs(sim - analytic) < mc_tol(analytic, len(trials)) + abs(exact - analytic)


def _logrank_check(hr, n, rate, n_trials, seed):
    lam = hazard_for_rate(rate)
    rng = np.random.default_rng(seed)
    pa, pb = (exponential_pool(h, 20000, rng, stratified_draws=True) for h in (hr * lam, lam))
    trials = simulate_trials(pa, pb, DESIGN, n, n_trials, seed, endpoints=("logrank",))
    events = n * (event_probability(hr * lam, DESIGN) + event_probability(lam, DESIGN))
    assert abs((trials["events_a"] + trials["events_b"]).mean() - events) < 0.01 * events
    expect = schoenfeld_power(hr, n, n, events)
    assert abs(power_of(trials, "p_logrank") - expect) < mc_tol(expect, n_trials)


def test_logrank_power_matches_schoenfeld():
    _logrank_check(1.6, 100, 0.3, 4000, 41)  # Schoenfeld 0.647


@pytest.mark.slow
@pytest.mark.parametrize("hr, n, rate", [(1.5, 120, 0.3), (1.3, 300, 0.4), (0.7, 200, 0.35)])
def test_logrank_power_matches_schoenfeld_more_settings(hr, n, rate):
    _logrank_check(hr, n, rate, 6000, 43)


@pytest.mark.parametrize("dropout", [Dropout(0.0), Dropout(0.2, "exponential")])
def test_identical_arms_reject_at_alpha(dropout):
    rng = np.random.default_rng(12)
    pool = bernoulli_pool(0.35, 5000, rng, par_mean=35.0, par_sd=30.0)
    design = TrialDesign(dropout=dropout)
    trials = simulate_trials(pool, pool, design, 100, 3000, 51)
    for key in ("p_primary", "p_logrank", "p_cox", "p_par_week4"):
        assert abs(power_of(trials, key) - 0.05) < mc_tol(0.05, len(trials)), key
    # Fisher's exact test is conservative: its size is at most alpha
    assert power_of(trials, "p_recurrence") < 0.05 + mc_tol(0.05, len(trials))


# --- issue 5 part 7: published pivotal trials as rate scenarios ---------------------------------------------

@pytest.mark.parametrize("name", ["veves2001_apligraf", "marston2003_dermagraft"])
def test_published_trials_recover_their_analytic_power(name):
    sc = load_rate_scenario(CONF / f"{name}.yaml")
    pa, pb = sc.pools(20000, np.random.default_rng(sc.design.seed))
    (n,) = sc.design.arm_sizes
    assert sc.design.arm_counts(n) == (sc.treatment.n, sc.control.n)
    table = simulate_power(pa, pb, sc.design, endpoints=("primary",), n_trials=4000)
    sim = float(table["power"].iloc[0])
    analytic = sc.analytic_power()  # statsmodels: 0.741 and 0.575
    exact = exact_power(sc.treatment.rate_week12, sc.control.rate_week12, sc.treatment.n, sc.control.n)
    assert abs(sim - exact) < mc_tol(exact, 4000)
    assert abs(sim - analytic) < mc_tol(analytic, 4000) + abs(exact - analytic)


# --- pool size: how large a pool must be for resampling not to bias power ---------------------------------

@pytest.mark.parametrize("pool_size", [200, 500, 2000])
def test_pool_size_error_matches_its_prediction(pool_size):
    """40 pools of each size, 250 trials each, n = 100 per arm, rates 0.5 vs 0.3 (analytic power 0.83).

    Resampling is unbiased for the pool's own rates; the pool's sampling error spreads the power with
    sd = phi(Phi^-1(P)) sqrt(n / M) around a mean shifted by -z phi(z) n / (2M).
    """
    n, n_pools, n_trials = 100, 40, 250
    rng = np.random.default_rng(pool_size)
    sims, own = [], []
    for k in range(n_pools):
        pa, pb = bernoulli_pool(0.5, pool_size, rng), bernoulli_pool(0.3, pool_size, rng)
        trials = simulate_trials(pa, pb, DESIGN, n, n_trials, 1000 + k, endpoints=("primary",))
        sims.append(power_of(trials, "p_primary"))
        own.append(exact_power_cached(pa["closed_by_week12"].mean(), pb["closed_by_week12"].mean(), n))
    sims, own = np.array(sims), np.array(own)
    diff_se = (sims - own).std(ddof=1) / math.sqrt(n_pools)
    assert abs((sims - own).mean()) < 3 * diff_se
    power = exact_power(0.5, 0.3, n, n)
    z = norm.ppf(power)
    mean_shift = -z * norm.pdf(z) * n / pool_size / 2
    assert abs(sims.mean() - (power + mean_shift)) < 3 * sims.std(ddof=1) / math.sqrt(n_pools)
    spread = math.sqrt(max(sims.var(ddof=1) - power * (1 - power) / n_trials, 0.0))
    assert 0.7 < spread / pool_power_sd(power, n / pool_size) < 1.3
    assert min_pool_size(100, tolerance=0.02) == pytest.approx(100 * (norm.pdf(norm.ppf(0.8)) / 0.02) ** 2, abs=1)


_REJECT: dict = {}


def exact_power_cached(p_a: float, p_b: float, n: int) -> float:
    if n not in _REJECT:
        _REJECT[n] = np.array([[stats.two_proportion_p(i, n, j, n)[0] < 0.05 for j in range(n + 1)]
                               for i in range(n + 1)], float)
    k = np.arange(n + 1)
    return float(sps.binom.pmf(k, n, p_a) @ _REJECT[n] @ sps.binom.pmf(k, n, p_b))


@pytest.mark.slow
def test_type_one_error_with_many_trials():
    rng = np.random.default_rng(13)
    pool = bernoulli_pool(0.3, 20000, rng, par_mean=35.0, par_sd=30.0)
    trials = simulate_trials(pool, pool, TrialDesign(dropout=Dropout(0.15)), 150, 20000, 61)
    for key in ("p_primary", "p_logrank", "p_cox", "p_par_week4"):
        assert abs(power_of(trials, key) - 0.05) < mc_tol(0.05, len(trials)), key


@pytest.mark.slow
@pytest.mark.parametrize("p_a, p_b, n", [(0.5, 0.3, 100), (0.3, 0.183, 115), (0.45, 0.3, 40)])
def test_bernoulli_power_matches_exact_with_many_trials(p_a, p_b, n):
    rng = np.random.default_rng(200 + n)
    pa, pb = (bernoulli_pool(r, 50000, rng, stratified_draws=True) for r in (p_a, p_b))
    trials = simulate_trials(pa, pb, DESIGN, n, 20000, 71, endpoints=("primary",))
    exact = exact_power(p_a, p_b, n, n)
    assert abs(power_of(trials, "p_primary") - exact) < mc_tol(exact, len(trials))
