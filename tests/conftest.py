"""Project-wide pytest configuration (used under Bazel and plain pytest alike).

Markers (always run with --strict-markers):
  cuda      needs an NVIDIA GPU with CUDA (skipped elsewhere, reason printed)
  tensorrt  needs TensorRT importable (skipped elsewhere)
  tier2     runs on a real Jetson only (GDN_TIER2=1), skipped elsewhere
  slow      long-running; deselect with -m "not slow"
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import settings

# CI must give the same verdict on every run: under Bazel (or HYPOTHESIS_PROFILE=ci) Hypothesis draws
# its examples from a fixed seed per test. `HYPOTHESIS_PROFILE=explore` searches harder with fresh
# randomness, for hunting bugs locally; a failure it finds is then pinned with @example.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", max_examples=2000, deadline=None)
_profile = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("TEST_TMPDIR") else "default")
settings.load_profile(_profile)

MARKERS = {
    "cuda": "needs an NVIDIA GPU with CUDA",
    "tensorrt": "needs TensorRT (the tensorrt Python package)",
    "tier2": "needs real Jetson hardware (set GDN_TIER2=1 on the Jetson)",
    "slow": "long-running test (real imagery, soak, many kills)",
}


def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")


def _has_cuda() -> bool:
    return shutil.which("nvidia-smi") is not None or Path("/dev/nvidia0").exists() or Path("/dev/nvhost-ctrl").exists()


def _hardware_skip_reason(marker: str) -> str | None:
    if marker == "cuda" and not _has_cuda():
        return "no CUDA device on this machine (cuda marker)"
    if marker == "tensorrt" and importlib.util.find_spec("tensorrt") is None:
        return "TensorRT is not installed on this machine (tensorrt marker)"
    if marker == "tier2" and os.environ.get("GDN_TIER2") != "1":
        return "not on a Jetson Tier-2 runner (tier2 marker; set GDN_TIER2=1 there)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        for marker in ("cuda", "tensorrt", "tier2"):
            if item.get_closest_marker(marker) is not None:
                reason = _hardware_skip_reason(marker)
                if reason:
                    item.add_marker(pytest.mark.skip(reason=reason))


def repo_path(relative: str) -> Path:
    """A repository file as this test sees it: from the runfiles under Bazel
    (declare it in the target's `data`), from the checkout under plain pytest."""
    srcdir = os.environ.get("TEST_SRCDIR")
    if srcdir:
        return Path(srcdir) / os.environ.get("TEST_WORKSPACE", "gdn") / relative
    return Path(__file__).resolve().parents[1] / relative


def shared_data_dir() -> Path | None:
    """The shared real-imagery folder (GDN_SHARED_DIR, set by tools/bazel), if present."""
    env = os.environ.get("GDN_SHARED_DIR")
    candidates = [Path(env) / "data"] if env else []
    candidates.append(Path(__file__).resolve().parents[2] / "shared" / "data")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path to ../shared/data; skips the test with the reason when it is absent."""
    path = shared_data_dir()
    if path is None:
        pytest.skip("shared real-imagery data not found (set GDN_SHARED_DIR to the folder holding data/)")
    return path
