"""Numerics of the implicit LOD diffusion-decay solver against analytic solutions.

Modelled on BioDynaMo's diffusion_test.cc: pure decay, the Gaussian spread of a point release
with its error falling under refinement, the steady state of a decaying point source (K0), mass
conservation with no-flux walls, positivity at a large step, and refusal of bad input.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import k0

from woundsim.errors import InputError, NumericalError
from woundsim.fields import FactorFields
from woundsim.layout import FIELD_NAMES
from woundsim.kernels.diffusion import FLUSH_BELOW


def one_field(n: int | tuple[int, int], diff_um2_h: float, decay_per_h: float, dx_um: float) -> FactorFields:
    shape = (n, n) if isinstance(n, int) else n
    return FactorFields(shape, [diff_um2_h], [decay_per_h], dx_um, names=("x",))


def centred_radius(n: int, dx_um: float) -> np.ndarray:
    """Distance (µm) of every voxel centre from the centre voxel of an n x n grid (n odd)."""
    x = (np.arange(n) - n // 2) * dx_um
    return np.hypot(x[:, None], x[None, :])


def heat_kernel_2d(r_um: np.ndarray, diff_um2_h: float, t_h: float) -> np.ndarray:
    """Free-space 2-D concentration at time t after releasing unit amount at r = 0."""
    return np.exp(-r_um**2 / (4.0 * diff_um2_h * t_h)) / (4.0 * math.pi * diff_um2_h * t_h)


def dense_lod_step(c, source, uptake, diff, decay, dx, dt):
    """Reference step of the same scheme with libm exp and dense linear solves (one field)."""
    lam = decay + uptake
    e = np.exp(-lam * dt)
    with np.errstate(divide="ignore", invalid="ignore"):
        phi = np.where(lam > 0, -np.expm1(-lam * dt) / lam, dt)
    c = c * e + source * phi

    def matrix(n):
        a = diff * dt / dx**2
        lap = np.diag(np.full(n - 1, 1.0), 1) + np.diag(np.full(n - 1, 1.0), -1) - 2.0 * np.eye(n)
        lap[0, 0] = lap[-1, -1] = -1.0
        return np.eye(n) - a * lap

    c = np.linalg.solve(matrix(c.shape[1]), c.T).T  # x-sweep: every row
    return np.linalg.solve(matrix(c.shape[0]), c)  # y-sweep: every column


# --- reaction: exact ------------------------------------------------------------------------

def test_pure_decay_is_exact():
    ff = one_field(9, 3.6e5, 0.85, 100.0)
    ff.c[0] = 2.0
    for _ in range(40):
        ff.step(0.5)
    np.testing.assert_allclose(ff.c[0], 2.0 * math.exp(-0.85 * 20.0), rtol=1e-13)


def test_decay_of_total_amount_is_exact_while_diffusing():
    rng = np.random.default_rng(3)
    ff = one_field(25, 3600.0, 0.3, 50.0)
    ff.c[0] = rng.random((25, 25))
    m0 = ff.totals()["x"]
    for _ in range(30):
        ff.step(0.7)
    assert ff.totals()["x"] == pytest.approx(m0 * math.exp(-0.3 * 21.0), rel=1e-12)


@pytest.mark.parametrize("decay, uptake, dt", [(0.4, 0.0, 0.5), (0.4, 1.3, 0.5), (0.0, 0.0, 2.0), (0.0, 0.2, 1e-7),
                                               (0.4, 80.0, 1.0)])
def test_uniform_source_and_uptake_follow_the_exact_ode(decay, uptake, dt):
    """dc/dt = S - (k + u) c on a uniform field (diffusion does nothing) for many steps."""
    ff = one_field(10, 3.6e5, decay, 100.0)
    ff.c[0], s, steps = 1.5, 0.7, 20
    for _ in range(steps):
        ff.source[0] += s
        ff.uptake[0] += uptake
        ff.step(dt)
    lam, t = decay + uptake, steps * dt
    expected = 1.5 + s * t if lam == 0 else s / lam + (1.5 - s / lam) * math.exp(-lam * t)
    np.testing.assert_allclose(ff.c[0], expected, rtol=1e-12)


def test_step_consumes_source_and_uptake():
    ff = FactorFields((12, 14), [3.6e5] * 7, [0.1] * 7, 100.0)
    ff.source[:, 5, 6] = 1.0
    ff.uptake[:, 2:9, 3:4] = 0.5
    ff.step(1.0)
    assert not ff.source.any() and not ff.uptake.any()


def test_substeps_equal_repeated_steps_with_refilled_inputs():
    rng = np.random.default_rng(9)
    c0 = rng.random((3, 12, 10))
    src = np.where(rng.random(c0.shape) < 0.2, 2.0, 0.0)
    upt = np.where(rng.random(c0.shape) < 0.2, 0.7, 0.0)
    results = []
    for calls, substeps in ((4, 1), (1, 4)):  # 1 h either way
        ff = FactorFields((12, 10), [3.6e5, 3600.0, 0.0], [0.85, 0.0, 0.1], 100.0, names=("a", "b", "c"))
        ff.c[:] = c0
        for _ in range(calls):
            ff.source[:], ff.uptake[:] = src, upt
            ff.step(1.0 / calls, substeps=substeps)
        assert not ff.source.any() and not ff.uptake.any()
        results.append(ff.c.copy())
    np.testing.assert_array_equal(results[0], results[1])



def test_fields_without_uptake_step_exactly_as_with_a_zero_uptake_array():
    """uptake_fields=("ev",) gives the other fields no uptake array: same result, bit for bit."""
    rng = np.random.default_rng(4)
    c0 = rng.random((7, 12, 10))
    src = np.where(rng.random(c0.shape) < 0.2, 2.0, 0.0)
    upt = np.where(rng.random((12, 10)) < 0.2, 0.7, 0.0)
    diff, decay = [3.6e5] * 6 + [3600.0], [0.85, 0.2, 0.3, 0.35, 0.35, 0.4, 0.03]
    full, ev_only = FactorFields((12, 10), diff, decay, 100.0), FactorFields((12, 10), diff, decay, 100.0,
                                                                           uptake_fields=("ev",))
    assert ev_only.uptake.shape == (1, 12, 10)
    for ff, ev_uptake in ((full, full.uptake[6]), (ev_only, ev_only.uptake_of("ev"))):
        ff.c[:] = c0
        for _ in range(3):
            ff.source[:] = src
            ev_uptake[:] = upt
            ff.step(1.0)
        assert not ff.source.any() and not ff.uptake.any()
    np.testing.assert_array_equal(full.c, ev_only.c)


def test_uptake_of_a_field_without_uptake_is_refused():
    ff = FactorFields((5, 5), [1.0] * 7, [0.1] * 7, 100.0, uptake_fields=("ev",))
    with pytest.raises(InputError, match="'tnf' has no uptake; fields with uptake: ev"):
        ff.uptake_of("tnf")
    with pytest.raises(InputError, match="field name 'evs' is unknown"):
        FactorFields((5, 5), [1.0] * 7, [0.1] * 7, 100.0, uptake_fields=("evs",))


# --- diffusion: analytic solutions ------------------------------------------------------------

def test_matches_dense_solve_of_the_same_scheme():
    """The Thomas sweeps (8-row blocks plus a 3-row tail) equal dense solves of the LOD matrices."""
    rng = np.random.default_rng(7)
    shape, diff, decay, dx, dt = (11, 9), 2.0e4, 0.3, 40.0, 0.8
    ff = one_field(shape, diff, decay, dx)
    c0 = rng.random(shape)
    src = np.where(rng.random(shape) < 0.3, rng.random(shape), 0.0)
    upt = np.where(rng.random(shape) < 0.3, 5 * rng.random(shape), 0.0)
    ff.c[0], ff.source[0], ff.uptake[0] = c0, src, upt
    ff.step(dt)
    np.testing.assert_allclose(ff.c[0], dense_lod_step(c0, src, upt, diff, decay, dx, dt), rtol=1e-12)


def gaussian_error(dx_um: float, dt_h: float) -> float:
    """Max error / peak of a released point's spread, 5 h -> 25 h after release, D = 3600 µm²/h."""
    diff, t0, t1, side_um = 3600.0, 5.0, 25.0, 4000.0  # sigma(25 h) = 420 µm; walls at 4.7 sigma
    n = int(round(side_um / dx_um)) | 1
    r = centred_radius(n, dx_um)
    ff = one_field(n, diff, 0.0, dx_um)
    ff.c[0] = heat_kernel_2d(r, diff, t0)
    for _ in range(int(round((t1 - t0) / dt_h))):
        ff.step(dt_h)
    exact = heat_kernel_2d(r, diff, t1)
    return float(np.abs(ff.c[0] - exact).max() / exact.max())


def test_point_release_spreads_as_gaussian_with_error_falling_under_refinement():
    """dx and dt halved together: the O(dt) error of backward Euler and LOD splitting dominates."""
    errors = [gaussian_error(dx, dt) for dx, dt in [(40.0, 1.0), (20.0, 0.5), (10.0, 0.25)]]
    assert errors[0] / errors[1] > 1.8 and errors[1] / errors[2] > 1.8, errors
    assert errors[2] < 0.01, errors


def k0_steady_state_error(dt_h: float) -> float:
    """Mean relative error of the steady state of a constant point source against Q K0(r/λ) / (2πD)."""
    diff, decay, dx, rate = 3.6e4, 0.85, 20.0, 1.0  # λ = 206 µm = 10 voxels
    lam = math.sqrt(diff / decay)
    n = int(round(12 * lam / dx)) | 1
    ff = one_field(n, diff, decay, dx)
    for _ in range(int(round(25.0 / decay / dt_h))):  # 25 decay times: steady to 1e-10
        ff.source[0, n // 2, n // 2] = rate / dx**2
        ff.step(dt_h)
    r = centred_radius(n, dx)
    ring = (r >= 5 * dx) & (r <= 3 * lam)  # away from the source voxel and the walls
    exact = rate * k0(r[ring] / lam) / (2 * math.pi * diff)
    return float(np.mean(np.abs(ff.c[0][ring] - exact) / exact))


def test_decaying_point_source_steady_state_is_k0_with_error_falling_in_dt():
    """The LOD steady state differs from the continuous one by O(dt) (splitting error)."""
    errors = [k0_steady_state_error(dt) for dt in (0.25, 0.125, 0.0625, 0.03125)]
    ratios = [a / b for a, b in zip(errors, errors[1:])]
    assert all(ratio > 1.6 for ratio in ratios), errors
    assert errors[-1] < 0.02, errors


# --- conservation, uniformity, positivity ---------------------------------------------------

def test_mass_is_conserved_without_decay():
    rng = np.random.default_rng(11)
    ff = FactorFields((37, 29), [3.6e5, 3600.0, 0.0, 10.0, 3.6e5, 1e7, 50.0], [0.0] * 7, 25.0)
    ff.c[:] = rng.random(ff.c.shape) * (rng.random(ff.c.shape) < 0.2)
    m0 = ff.totals()
    for _ in range(50):
        ff.step(1.0)
    for name in FIELD_NAMES:
        assert ff.totals()[name] == pytest.approx(m0[name], rel=1e-10)


def test_source_adds_exactly_its_amount_without_decay():
    ff = one_field((15, 21), 3.6e5, 0.0, 100.0)
    for _ in range(10):
        ff.source[0, 7, 3] += 2.0  # concentration/h in one voxel
        ff.step(0.5)
    assert ff.totals()["x"] == pytest.approx(10 * 0.5 * 2.0 * 100.0**2, rel=1e-12)


def test_uniform_field_stays_uniform():
    ff = one_field((16, 19), 3.6e5, 0.2, 100.0)
    ff.c[0] = 3.0
    for _ in range(25):
        ff.source[0] += 0.4
        ff.step(3.0)
    assert np.ptp(ff.c[0]) <= 1e-12 * ff.c[0].mean()


def test_point_source_stays_non_negative_at_large_step():
    dx, dt = 10.0, 1.0
    diff = 100.0 * dx**2 / dt  # D dt / dx² = 100, far beyond any explicit limit (0.25)
    ff = one_field(41, diff, 0.05, dx)
    ff.c[0, 3:6, 30:38] = 5.0
    for _ in range(20):
        ff.source[0, 20, 20] = 1e3
        ff.uptake[0, 10:30, 12:14] = 40.0
        ff.step(dt)
        assert ff.c[0].min() >= 0.0
    ff.check()
    assert ff.c[0, 0, 0] > 0.0  # the implicit solve reaches the far corner in one step


def test_decayed_field_reaches_zero_and_is_skipped():
    ff = FactorFields((10, 10), [3600.0] * 7, [0.0] * 6 + [10.0], 100.0)
    ff.c[:] = 1.0
    for _ in range(40):  # exp(-10 * 40) = 1e-174 < FLUSH_BELOW
        ff.uptake[6] += 1.0
        ff.step(1.0)
    assert 1e-174 < FLUSH_BELOW and not ff.c[6].any()
    ff.step(1.0)
    assert ff.active_fields() == FIELD_NAMES[:6]
    assert not ff.uptake.any()


def test_changing_dt_recomputes_factors():
    rng = np.random.default_rng(5)
    c0 = rng.random((13, 13))
    stepped = []
    for first_dt in (0.3, None):
        ff = one_field(13, 5e4, 0.1, 50.0)
        ff.c[0] = c0
        if first_dt:
            ff.step(first_dt)
            ff.c[0] = c0
        ff.step(2.0)
        stepped.append(ff.c[0].copy())
    np.testing.assert_array_equal(stepped[0], stepped[1])


# --- bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, names_in_message", [
    (dict(shape=(2, 10)), "shape"),
    (dict(shape=(10,)), "shape"),
    (dict(diff_um2_h=[-1.0] * 7), "diff_um2_h['tnf']"),
    (dict(diff_um2_h=[1.0] * 6 + [math.inf]), "diff_um2_h['ev']"),
    (dict(diff_um2_h=[1.0] * 6), "diff_um2_h"),
    (dict(decay_per_h=[0.1] * 3 + [math.nan] + [0.1] * 3), "decay_per_h['pdgf']"),
    (dict(decay_per_h=[-0.1] * 7), "decay_per_h['tnf']"),
    (dict(dx_um=0.0), "dx_um"),
    (dict(dx_um=-100.0), "dx_um"),
])
def test_bad_construction_is_refused_naming_the_parameter(kwargs, names_in_message):
    args = dict(shape=(10, 10), diff_um2_h=[3600.0] * 7, decay_per_h=[0.1] * 7, dx_um=100.0) | kwargs
    with pytest.raises(InputError) as info:
        FactorFields(**args)
    assert names_in_message in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("dt_h", [0.0, -1.0, math.nan, math.inf])
def test_bad_dt_is_refused(dt_h):
    ff = one_field(5, 1.0, 0.1, 10.0)
    with pytest.raises(InputError, match="dt_h"):
        ff.step(dt_h)


@pytest.mark.parametrize("substeps", [0, -2, 1.5, True])
def test_bad_substeps_are_refused(substeps):
    ff = one_field(5, 1.0, 0.1, 10.0)
    with pytest.raises(InputError, match="substeps"):
        ff.step(1.0, substeps=substeps)


@pytest.mark.parametrize("array, value", [("source", math.nan), ("source", -1.0), ("uptake", math.inf),
                                          ("uptake", -0.5)])
def test_bad_source_or_uptake_is_refused_naming_field_and_voxel(array, value):
    ff = FactorFields((20, 30), [3600.0] * 7, [0.1] * 7, 100.0)
    ff.c[:] = 1.0
    getattr(ff, array)[ff.index("vegf"), 17, 4] = value
    with pytest.raises(InputError, match=rf"{array}\['vegf'\] at voxel \(y=17, x=4\)"):
        ff.step(1.0)


@pytest.mark.parametrize("value, kind", [(math.nan, "NaN"), (-1e-6, "negative")])
def test_check_names_field_and_voxel_of_a_bad_value(value, kind):
    ff = FactorFields((6, 7), [3600.0] * 7, [0.1] * 7, 100.0)
    ff.check()
    ff.c[ff.index("egf"), 2, 5] = value
    with pytest.raises(NumericalError, match=rf"'egf' has .*{kind}.* \(y=2, x=5\)"):
        ff.check()


def test_round_off_negatives_pass_check_and_unknown_names_are_refused():
    ff = FactorFields((6, 7), [3600.0] * 7, [0.1] * 7, 100.0)
    ff.c[0, 1, 1] = -1e-13
    ff.check()
    with pytest.raises(InputError, match="field name 'il6'"):
        ff.field("il6")
