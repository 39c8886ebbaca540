"""Clocks, atomic writes and the rate limiter."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gps_denied_onboard.clock import Clock, FakeClock, WallClock
from gps_denied_onboard.helpers import AtomicWriteError, RateLimiter, atomic_write_bytes, sha256_file, verify_sidecar


def test_clocks_satisfy_protocol() -> None:
    assert isinstance(WallClock(), Clock)
    assert isinstance(FakeClock(), Clock)


def test_fake_clock_moves_only_when_told() -> None:
    clock = FakeClock(monotonic_ns=5, unix_ns=0)
    assert clock.monotonic_ns() == 5
    clock.advance(1.5)
    assert clock.monotonic_ns() == 1_500_000_005
    assert clock.wall_iso() == "1970-01-01T00:00:01.500000Z"
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1.0)


def test_wall_clock_is_monotonic() -> None:
    clock = WallClock()
    a = clock.monotonic_ns()
    assert clock.monotonic_ns() >= a
    assert clock.wall_iso().endswith("Z")


def test_atomic_write_replaces_and_writes_sidecar(tmp_path: Path) -> None:
    target = tmp_path / "manifest.json"
    target.write_bytes(b"old")
    digest = atomic_write_bytes(target, b"new contents", sidecar=True)
    assert target.read_bytes() == b"new contents"
    assert digest == sha256_file(target)
    assert (tmp_path / "manifest.json.sha256").read_text() == f"{digest}  manifest.json\n"
    assert verify_sidecar(target)
    target.write_bytes(b"tampered")
    assert not verify_sidecar(target)
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == []


def test_atomic_write_failure_names_path_and_leaves_old_file(tmp_path: Path) -> None:
    target = tmp_path / "ro" / "file.bin"
    target.parent.mkdir()
    target.write_bytes(b"old")
    os.chmod(target.parent, 0o500)
    try:
        if os.access(target.parent, os.W_OK):
            pytest.skip("running as a user that ignores directory permissions (root)")
        with pytest.raises(AtomicWriteError, match="file.bin"):
            atomic_write_bytes(target, b"new")
        assert target.read_bytes() == b"old"
    finally:
        os.chmod(target.parent, 0o700)


def test_missing_sidecar_is_an_error(tmp_path: Path) -> None:
    target = tmp_path / "x"
    target.write_bytes(b"x")
    with pytest.raises(AtomicWriteError, match="sidecar"):
        verify_sidecar(target)


def test_rate_limiter_allows_one_per_interval_and_counts_the_rest() -> None:
    clock = FakeClock()
    limiter = RateLimiter(1.0, clock)
    assert limiter.allow()
    assert not limiter.allow()
    assert not limiter.allow()
    clock.advance(0.999)
    assert not limiter.allow()
    clock.advance(0.001)
    assert limiter.allow()
    assert limiter.take_suppressed() == 3
    assert limiter.take_suppressed() == 0
