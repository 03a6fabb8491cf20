"""Behaviour that must emerge (issue 2, part 8), shown over several seeds.

Each comparison uses common random numbers (the same seeds in both arms) and passes when the
mean paired difference exceeds 2.5 standard errors of the paired differences, i.e. a tolerance
derived from the seed-to-seed spread, not a tuned constant. Runs use 200 µm voxels and 1 cm²
ulcers to stay fast.
"""

import dataclasses

import numpy as np
import pytest

from woundsim.model import WoundModel
from woundsim.params import ModelParams, with_overrides
from woundsim.patient import Patient
from woundsim.simulate import simulate
from woundsim.treatment import Treatment, standard_care

SEEDS = (101, 202, 303, 404, 505)
BASE = Patient(area_cm2=1.0, texas_grade=2, duration_weeks=15.0, hba1c_pct=8.0)


def params(horizon_weeks: float) -> ModelParams:
    return with_overrides(ModelParams(), {"numerics.dx_um": 200.0, "numerics.horizon_weeks": horizon_weeks})


def closure_days(patient: Patient, treatment: Treatment, horizon_weeks: float = 16.0) -> np.ndarray:
    """First-closure day per seed; an ulcer still open is censored at the end of its run."""
    out = []
    for seed in SEEDS:
        s = simulate(params(horizon_weeks), patient, treatment, seed=seed).summary
        out.append(s["first_closure_day"] if s["first_closure_day"] == s["first_closure_day"] else s["simulated_days"])
    return np.array(out)


def assert_slower(slow: np.ndarray, fast: np.ndarray) -> None:
    d = slow - fast
    se = d.std(ddof=1) / np.sqrt(d.size)
    assert d.mean() > 0 and d.mean() > 2.5 * se, f"slow {slow} vs fast {fast}: mean diff {d.mean():.1f} d, SE {se:.1f}"


@pytest.fixture(scope="module")
def treated_base() -> np.ndarray:
    return closure_days(BASE, Treatment())


def test_treated_ulcer_closes_sooner_than_under_standard_care(treated_base):
    soc = closure_days(BASE, standard_care(), horizon_weeks=20.0)
    assert_slower(soc, treated_base)


@pytest.mark.parametrize("change", [
    {"hba1c_pct": 10.5},
    {"duration_weeks": 60.0},
    {"area_cm2": 2.5},
    {"texas_grade": 3},
], ids=["higher HbA1c", "longer duration", "larger area", "deeper grade"])
def test_patient_factor_slows_closure(change, treated_base):
    worse = closure_days(dataclasses.replace(BASE, **change), Treatment())
    assert_slower(worse, treated_base)


def _phi_near_sites(model: WoundModel, radius_vox: float) -> float:
    mac = model.cohorts["macrophage"]
    ys, xs, phi = mac.y[: mac.n], mac.x[: mac.n], mac.phi[: mac.n]
    sites = np.array(model.injection_sites)
    d2 = ((ys[:, None] - sites[None, :, 0]) ** 2 + (xs[:, None] - sites[None, :, 1]) ** 2).min(axis=1)
    near = d2 <= radius_vox**2
    return float((phi[near] >= 0.5).mean())


def test_injection_raises_m2_fraction_near_the_sites_within_days():
    diffs = []
    for seed in SEEDS:
        m2 = {}
        for name, t in (("treated", Treatment()), ("placebo", Treatment(product="placebo", dose_ug_per_site=0.0))):
            model = WoundModel(params(12.0), BASE, t, seed=seed)
            while model.hours < 24 * 4:
                model.step()
            m2[name] = _phi_near_sites(model, radius_vox=4.0 * 1000 / 200)
        diffs.append(m2["treated"] - m2["placebo"])
    d = np.array(diffs)
    assert d.mean() > 2.5 * d.std(ddof=1) / np.sqrt(d.size) and d.mean() > 0, d
