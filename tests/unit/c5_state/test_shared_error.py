"""C5 shared ground error: the fixes of one ground share one error, so the reported
covariance stays above the share that repeated fixes of that ground cannot average out."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gps_denied_onboard.components.c5_state import (
    FilterConfig,
    HorizontalEkf,
    MeasurementError,
    SharedErrorConfig,
    SharedGroundError,
)

S = 1_000_000_000


def test_floor_is_the_shared_share_of_the_grounds_mean_claim() -> None:
    shared = SharedGroundError(SharedErrorConfig(correlated_fraction=0.7, same_ground_fraction=0.5))
    assert shared.floor is None
    for k, sigma in enumerate((1.0, 2.0, 4.0)):
        shared.add_fix(k * S, 100.0 + k, 50.0, np.eye(2) * sigma**2, footprint_side_m=100.0)
    floor = shared.floor
    assert floor is not None
    np.testing.assert_allclose(floor, 0.7 * np.eye(2) * (1.0 + 4.0 + 16.0) / 3.0)


def test_a_fix_of_other_ground_starts_its_own_pool() -> None:
    shared = SharedGroundError(SharedErrorConfig(correlated_fraction=0.5, same_ground_fraction=0.5))
    shared.add_fix(0, 0.0, 0.0, np.eye(2) * 36.0, footprint_side_m=100.0)
    shared.add_fix(S, 60.0, 0.0, np.eye(2) * 4.0, footprint_side_m=100.0)  # 60 m > 0.5 x 100 m
    np.testing.assert_allclose(shared.floor, 0.5 * np.eye(2) * 4.0)
    shared.add_fix(2 * S, 40.0, 0.0, np.eye(2) * 4.0, footprint_side_m=100.0)  # both within 50 m
    np.testing.assert_allclose(shared.floor, 0.5 * np.eye(2) * (36.0 + 4.0 + 4.0) / 3.0)


def test_old_fixes_are_forgotten() -> None:
    shared = SharedGroundError(SharedErrorConfig(correlated_fraction=0.5, memory_s=10.0))
    shared.add_fix(0, 0.0, 0.0, np.eye(2) * 100.0, footprint_side_m=100.0)
    shared.add_fix(11 * S, 0.0, 0.0, np.eye(2) * 4.0, footprint_side_m=100.0)
    np.testing.assert_allclose(shared.floor, 0.5 * np.eye(2) * 4.0)


def test_reported_covariance_is_raised_only_where_it_is_below_the_floor() -> None:
    shared = SharedGroundError(SharedErrorConfig(correlated_fraction=0.5))
    np.testing.assert_array_equal(shared.reported(np.eye(2)), np.eye(2))  # no fix yet: unchanged
    shared.add_fix(0, 0.0, 0.0, np.diag([8.0, 8.0]), footprint_side_m=100.0)  # floor 4 m^2
    np.testing.assert_allclose(shared.reported(np.diag([1.0, 1.0])), np.diag([4.0, 4.0]))
    np.testing.assert_allclose(shared.reported(np.diag([9.0, 9.0])), np.diag([9.0, 9.0]))
    np.testing.assert_allclose(shared.reported(np.diag([1.0, 9.0])), np.diag([4.0, 9.0]))


_spd = st.tuples(st.floats(0.01, 100.0), st.floats(0.01, 100.0), st.floats(0.0, math.pi))


def _matrix(p: tuple[float, float, float]) -> np.ndarray:
    c, s = math.cos(p[2]), math.sin(p[2])
    rot = np.array([[c, -s], [s, c]])
    return rot @ np.diag([p[0], p[1]]) @ rot.T


@settings(max_examples=200, deadline=None)
@given(claim=_spd, filt=_spd)
def test_reported_covariance_dominates_both_the_filter_and_the_floor(claim: tuple[float, float, float],
                                                                     filt: tuple[float, float, float]) -> None:
    shared = SharedGroundError(SharedErrorConfig(correlated_fraction=0.7))
    shared.add_fix(0, 0.0, 0.0, _matrix(claim), footprint_side_m=50.0)
    P = _matrix(filt)
    out = shared.reported(P)
    floor = shared.floor
    assert floor is not None
    np.testing.assert_allclose(out, out.T)
    tol = 1e-9 * (1.0 + float(np.abs(out).max()))
    assert np.linalg.eigvalsh(out - P).min() >= -tol
    assert np.linalg.eigvalsh(out - floor).min() >= -tol


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"cov_ne": np.array([[1.0, 2.0], [2.0, 1.0]])}, "cov_ne"),
    ({"cov_ne": np.full((2, 2), math.nan)}, "cov_ne"),
    ({"north_m": math.nan}, "position"),
    ({"footprint_side_m": 0.0}, "footprint_side_m"),
    ({"footprint_side_m": math.nan}, "footprint_side_m"),
])
def test_bad_fix_is_refused_naming_the_field(kwargs: dict[str, object], field: str) -> None:
    shared = SharedGroundError()
    args: dict[str, object] = {"t_ns": 7, "north_m": 0.0, "east_m": 0.0, "cov_ne": np.eye(2),
                               "footprint_side_m": 100.0}
    args.update(kwargs)
    with pytest.raises(MeasurementError) as err:
        shared.add_fix(**args)  # type: ignore[arg-type]
    assert err.value.field == field and err.value.timestamp_ns == 7
    assert shared.floor is None  # nothing pooled from a refused fix


def test_config_is_checked() -> None:
    with pytest.raises(ValueError, match="correlated_fraction"):
        SharedErrorConfig(correlated_fraction=1.0)
    with pytest.raises(ValueError, match="same_ground_fraction"):
        SharedErrorConfig(same_ground_fraction=0.0)


def _coverage(report_shared: bool, seed: int) -> float:
    """A vehicle flies over successive grounds; each ground's fixes share one error whose
    size single frames misjudge (claims 1.5-6 m for a 3 m shared error). Share of the
    reported 3-sigma ellipses (chi2(2) 98.9 %) that hold the truth."""
    rng = np.random.default_rng(seed)
    beta = 0.7
    ekf = HorizontalEkf(FilterConfig(accel_noise_mps2=0.5, correlated_fraction=beta))
    shared = SharedGroundError(SharedErrorConfig(correlated_fraction=beta))
    speed, footprint = 5.0, 100.0
    ekf.reset(0, 0.0, 0.0, np.eye(2) * 25.0, vn=speed, ve=0.0, vel_sigma=0.5)
    bias, ground = np.zeros(2), -1
    inside = []
    for k in range(1, 2000):
        t = k * 0.5
        truth = np.array([speed * t, 0.0])
        g = int(truth[0] // (0.5 * footprint))
        if g != ground:
            ground, bias = g, rng.normal(0.0, 3.0, 2)
        sigma = rng.uniform(1.5, 6.0)
        z = truth + bias + rng.normal(0.0, math.sqrt(1 - beta) * sigma, 2)
        cov = np.eye(2) * sigma**2
        if ekf.update_position(int(t * S), float(z[0]), float(z[1]), cov).accepted:
            shared.add_fix(int(t * S), float(z[0]), float(z[1]), cov, footprint)
        est = ekf.estimate()
        assert est is not None
        c = shared.reported(est.cov_ne) if report_shared else est.cov_ne
        d = np.array([est.north_m, est.east_m]) - truth
        inside.append(float(d @ np.linalg.solve(c, d)) <= 9.0)
    return float(np.mean(inside))


def test_reported_covariance_holds_the_truth_where_the_filter_alone_does_not() -> None:
    filter_only = [_coverage(False, s) for s in range(3)]
    reported = [_coverage(True, s) for s in range(3)]
    assert max(filter_only) < 0.95
    assert min(reported) >= 0.985  # chi2(2) at 9 holds 98.9 % of a Gaussian
