"""Behaviour that must emerge (issue 2, part 8), shown over several seeds.

Every comparison is built so that it fails when nothing heals:
- both arms run to the same horizon, so a censored run has the same value in either arm;
- a run that does not close counts as not closed: its closure day is the end of its run, and the
  faster arm must close in at least half of the seeds;
- arms share their seeds (common random numbers), and the verdict is a paired one-sided t-test
  with n - 1 degrees of freedom at level ALPHA, not a z threshold (with eight seeds the critical t
  is 3.5, against z 2.6; with five it was 4.6, too strict for the duration effect's spread).
Runs use 200 µm voxels and 1 cm² ulcers to stay fast.
"""

import dataclasses

import numpy as np
import pytest
from scipy import stats

from woundsim.model import WoundModel
from woundsim.params import ModelParams, with_overrides
from woundsim.patient import Patient
from woundsim.simulate import simulate
from woundsim.treatment import Treatment, standard_care

SEEDS = (101, 202, 303, 404, 505, 606, 707, 808)
# off the plantar surface, so that each factor is seen apart from the plantar load, which stalls some ulcers even
# when well offloaded (docs/foot.md; tests/test_foot_behaviour.py compares offloading adherences)
BASE = Patient(area_cm2=1.0, texas_grade=2, duration_weeks=15.0, hba1c_pct=8.0, plantar=False)
HORIZON_WEEKS = 16.0  # every arm of every comparison
ALPHA = 0.005  # one-sided level of each paired t-test


def params(horizon_weeks: float = HORIZON_WEEKS) -> ModelParams:
    return with_overrides(ModelParams(), {"numerics.dx_um": 200.0, "numerics.horizon_weeks": horizon_weeks})


def closure_days(patient: Patient, treatment: Treatment, overrides: dict | None = None,
                 seeds: tuple[int, ...] = SEEDS) -> np.ndarray:
    """First-closure day per seed; an ulcer still open counts as not closed, at the end of its run."""
    out = []
    for seed in seeds:
        s = simulate(with_overrides(params(), overrides or {}), patient, treatment, seed=seed).summary
        out.append(s["first_closure_day"] if s["first_closure_day"] == s["first_closure_day"] else s["simulated_days"])
    return np.array(out)


def assert_greater(high: np.ndarray, low: np.ndarray, what: str) -> None:
    """`high` exceeds `low` by a paired one-sided t-test (n - 1 df) at ALPHA; fails on ties and constant data."""
    d = np.asarray(high, float) - np.asarray(low, float)
    if np.all(d == d[0]):
        # no spread: the t statistic is undefined; only a positive shift seen in every pair can pass
        assert d[0] > 0, f"{what}: every paired difference is {d[0]:g}"
        return
    p = stats.ttest_rel(high, low, alternative="greater").pvalue
    assert p < ALPHA, f"{what}: {high} vs {low}: mean paired difference {d.mean():.2f}, one-sided p {p:.3g}"


def assert_slower(slow: np.ndarray, fast: np.ndarray) -> None:
    """`slow` closes later than `fast`, and `fast` closes within the horizon in at least half of the seeds."""
    end = (HORIZON_WEEKS + params().numerics.confirm_weeks) * 7.0
    closed = np.count_nonzero(fast < end - 1e-9)
    assert closed >= len(fast) / 2, f"the faster arm closed in only {closed} of {len(fast)} seeds: {fast}"
    assert_greater(slow, fast, "closure day")


@pytest.fixture(scope="module")
def treated_base() -> np.ndarray:
    return closure_days(BASE, Treatment())


def test_treated_ulcer_closes_sooner_than_under_standard_care(treated_base):
    soc = closure_days(BASE, standard_care())
    assert_slower(soc, treated_base)


def test_without_contraction_closure_is_later():
    """Issue 17 item 9: wound contraction (docs/contraction.md) shortens closure; standard care, where the bed stays
    open longest and contraction has the most time to act. Equal horizons; the runs share their seeds, and draw the
    same numbers until the first contraction (its rounding offsets come from a stream of their own)."""
    with_contraction = closure_days(BASE, standard_care())
    without = closure_days(BASE, standard_care(), {"contraction.rate_per_day": 0.0})
    assert_slower(without, with_contraction)


# Longer duration is tested in tests/test_chronic.py (standard care, PAR by day 28): since issue 17 item 3 it acts
# through the senescent cohorts of the chronic entry state, which debridement clears over weeks, not through a
# patient-level brake on the whole run; in a treated ulcer closing in 5-6 weeks at 200 µm the closure day's
# tail noise (issue 17 item 2) hides it (15 vs 60 weeks: +2.4 days, one-sided p 0.009 over these 8 seeds).
#
# Deeper grade acts through the deficit's depth (docs/chronic.md; scripts/grade_depth_check.py), a smaller effect
# than the others next to the closure day's noise, so it has seeds of its own, chosen for power: over SEEDS, grade
# III closed 3.10 days after grade II with a paired-difference SD of 3.20 days (effect size 0.97; the closure
# rules of issue 17 item 2, 2026-12-07); a paired one-sided t-test at ALPHA 0.005 has >= 90% power for that effect
# from 20 pairs on (noncentral t with n - 1 df and noncentrality 0.97 sqrt(n): 91.4% at 20, 89.4% at 19, 32% at 8).
GRADE_SEEDS = tuple(101 * k for k in range(1, 21))  # SEEDS and 12 more in the same pattern (909 ... 2020)


@pytest.mark.parametrize("change, seeds", [
    ({"hba1c_pct": 10.5}, SEEDS),
    ({"area_cm2": 2.5}, SEEDS),
    ({"texas_grade": 3}, GRADE_SEEDS),
], ids=["higher HbA1c", "larger area", "deeper grade"])
def test_patient_factor_slows_closure(change, seeds, treated_base):
    base = treated_base if seeds == SEEDS else closure_days(BASE, Treatment(), seeds=seeds)
    worse = closure_days(dataclasses.replace(BASE, **change), Treatment(), seeds=seeds)
    assert_slower(worse, base)


@pytest.mark.parametrize("slow, fast", [
    ([126.0] * 5, [126.0] * 5),  # neither arm heals: both censored at the same end of run
    ([126.0] * 5, [120.0, 126.0, 126.0, 126.0, 126.0]),  # the faster arm barely heals
    ([40.0, 41.0, 39.0, 44.0, 40.0], [39.0, 42.0, 38.0, 43.0, 40.0]),  # no real difference
])
def test_the_comparison_fails_when_nothing_heals_or_nothing_differs(slow, fast):
    with pytest.raises(AssertionError):
        assert_slower(np.array(slow), np.array(fast))


def _phi_near_sites(model: WoundModel, radius_vox: float) -> float:
    mac = model.populations["macrophage"]
    ys, xs, phi = mac.y[: mac.n], mac.x[: mac.n], mac.phi[: mac.n]
    sites = np.array(model.injection_sites)
    d2 = ((ys[:, None] - sites[None, :, 0]) ** 2 + (xs[:, None] - sites[None, :, 1]) ** 2).min(axis=1)
    near = d2 <= radius_vox**2
    return float((phi[near] >= 0.5).mean())


def test_injection_raises_m2_fraction_near_the_sites_within_days():
    m2 = {"treated": [], "placebo": []}
    for seed in SEEDS:
        for name, t in (("treated", Treatment()), ("placebo", Treatment(product="placebo", dose_ug_per_site=0.0))):
            model = WoundModel(params(12.0), BASE, t, seed=seed)
            while model.hours < 24 * 4:
                model.step()
            m2[name].append(_phi_near_sites(model, radius_vox=4.0 * 1000 / 200))
    assert_greater(np.array(m2["treated"]), np.array(m2["placebo"]), "M2 fraction near the sites")
