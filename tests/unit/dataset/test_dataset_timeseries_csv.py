"""TimeSeries interpolation (angles across ±pi) and lossless CSV number text."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gps_denied_onboard.dataset import TimeSeries
from gps_denied_onboard.dataset.csvio import read_numeric, write_numeric


def test_linear_interpolation_and_hold_at_the_ends() -> None:
    ts = TimeSeries("alt", np.array([0, 10, 20]), np.array([[0.0], [10.0], [30.0]]), ("h",))
    assert ts.interpolate(5)[0] == pytest.approx(5.0)
    assert ts.interpolate(15)[0] == pytest.approx(20.0)
    np.testing.assert_allclose(ts.interpolate([0, 20, 25, -5])[:, 0], [0.0, 30.0, 30.0, 0.0])
    assert ts.covers(20) and not ts.covers(21)


def test_yaw_interpolates_across_the_seam_the_short_way() -> None:
    ts = TimeSeries("att", np.array([0, 100]), np.array([[3.1], [-3.1]]), ("yaw",), frozenset({"yaw"}))
    mid = float(ts.interpolate(50)[0])
    assert abs(abs(mid) - math.pi) < 1e-9  # through pi, not through 0


@settings(max_examples=200, deadline=None)
@given(
    a=st.floats(-math.pi, math.pi), b=st.floats(-math.pi, math.pi), frac=st.floats(0.0, 1.0),
)
@example(a=0.0, b=-math.pi, frac=1.0)  # half-turn tie: lands on +pi, which is -pi
def test_angle_interpolation_stays_on_the_short_arc(a: float, b: float, frac: float) -> None:
    ts = TimeSeries("att", np.array([0, 1_000_000]), np.array([[a], [b]]), ("yaw",), frozenset({"yaw"}))
    got = float(ts.interpolate(int(round(frac * 1_000_000)))[0])
    assert -math.pi < got <= math.pi
    short = math.remainder(b - a, 2 * math.pi)
    # Distance from a along the arc equals frac of the short arc (within the ns rounding).
    along = math.remainder(got - a, 2 * math.pi)
    want = short * round(frac * 1_000_000) / 1_000_000
    # Compared on the circle: +pi and -pi are the same heading (a half-turn tie has two short arcs).
    assert math.remainder(along - want, 2 * math.pi) == pytest.approx(0.0, abs=1e-9)


def test_rejects_non_increasing_time() -> None:
    with pytest.raises(ValueError):
        TimeSeries("x", np.array([0, 0]), np.zeros((2, 1)), ("v",))


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.floats(allow_nan=False, allow_infinity=False), st.floats(allow_nan=False, allow_infinity=False)),
        min_size=1, max_size=20,
    ),
    start=st.integers(-(2**62), 2**62),
)
def test_numeric_csv_round_trip_is_lossless(tmp_path_factory: pytest.TempPathFactory, rows: list, start: int) -> None:
    path = Path(tmp_path_factory.mktemp("csv")) / "s.csv"
    cols = (("timestamp", "ns"), ("a", "m"), ("b", "rad"))
    t = np.arange(len(rows), dtype=np.int64) + np.int64(start)
    v = np.array(rows, dtype=np.float64)
    write_numeric(path, cols, t, v)
    t2, v2 = read_numeric(path, cols, stream="s")
    np.testing.assert_array_equal(t2, t)
    np.testing.assert_array_equal(v2, v)


def _reference_interpolate(ts: TimeSeries, query: np.ndarray) -> np.ndarray:
    """The plain whole-series definition: np.interp over each (unwrapped) column."""
    xs = (ts.t_ns - ts.t_ns[0]).astype(np.float64)
    xq = (query - ts.t_ns[0]).astype(np.float64)
    cols = []
    for j, name in enumerate(ts.columns):
        col = np.unwrap(ts.values[:, j]) if name in ts.angle_columns else ts.values[:, j]
        cols.append(np.interp(xq, xs, col))
    return np.stack(cols, axis=1)


@settings(max_examples=150, deadline=None)
@given(
    steps=st.lists(st.integers(1, 10**9), min_size=1, max_size=40),
    yaw=st.lists(st.floats(-math.pi, math.pi), min_size=41, max_size=41),
    alt=st.lists(st.floats(-1e4, 1e4), min_size=41, max_size=41),
    queries=st.lists(st.integers(-(10**9), 5 * 10**10), min_size=1, max_size=30),
)
def test_interpolation_matches_the_whole_series_definition(
    steps: list[int], yaw: list[float], alt: list[float], queries: list[int]
) -> None:
    t = np.cumsum([0, *steps]).astype(np.int64)
    n = len(t)
    ts = TimeSeries("s", t, np.stack([yaw[:n], alt[:n]], axis=1), ("yaw", "alt"), frozenset({"yaw"}))
    q = np.asarray(queries, dtype=np.int64)
    got = ts.interpolate(q)
    want = _reference_interpolate(ts, q)
    np.testing.assert_allclose(got[:, 1], want[:, 1], rtol=1e-9, atol=1e-6)
    ang = np.remainder(got[:, 0] - want[:, 0] + math.pi, 2 * math.pi) - math.pi  # compared on the circle
    np.testing.assert_allclose(ang, 0.0, atol=1e-9)
    assert np.all((got[:, 0] > -math.pi) & (got[:, 0] <= math.pi))
    np.testing.assert_allclose(ts.interpolate(int(q[0])), got[0])  # a scalar query gives the same row
