"""Shared fixtures: small, fast configurations of the model for tests."""

import pytest

from woundsim.params import ModelParams, with_overrides
from woundsim.patient import Patient


@pytest.fixture
def coarse_params() -> ModelParams:
    """200 µm voxels: 4x fewer than the default, for multi-seed behaviour tests."""
    return with_overrides(ModelParams(), {"numerics.dx_um": 200.0})


@pytest.fixture
def small_patient() -> Patient:
    return Patient(area_cm2=1.0, texas_grade=2, duration_weeks=15.0, hba1c_pct=8.0)
