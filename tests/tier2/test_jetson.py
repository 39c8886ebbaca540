"""Tier 2: what only a real Jetson can show (ci/README.md, the `tier2` job)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.tier2
JETSON_PYTHON_LINK = "/opt/gps_denied_onboard/python"


def _airborne() -> Path:
    base = Path(os.environ.get("TEST_SRCDIR", "")) / os.environ.get("TEST_WORKSPACE", "gdn")
    return base / "python" / "airborne"


def test_runs_on_aarch64_with_the_nix_interpreter() -> None:
    assert platform.machine() == "aarch64"
    assert Path(sys.executable).resolve().is_relative_to(Path(JETSON_PYTHON_LINK).resolve())


@pytest.mark.cuda
def test_cuda_device_is_visible() -> None:
    assert Path("/dev/nvhost-ctrl").exists() or Path("/dev/nvidia0").exists()


@pytest.mark.tensorrt
def test_tensorrt_builds_a_network() -> None:
    import tensorrt as trt  # type: ignore[import-not-found]

    builder = trt.Builder(trt.Logger(trt.Logger.WARNING))
    assert builder.platform_has_fast_fp16
    network = builder.create_network(0)
    assert network is not None


def test_airborne_binary_starts_without_operator_components() -> None:
    proc = subprocess.run([str(_airborne()), "info"], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    for component in ("c10_provisioning", "c11_tile_manager", "c12_sim"):
        assert f"{component}" in proc.stdout and "gated out" in proc.stdout.split(component)[1].splitlines()[0]
