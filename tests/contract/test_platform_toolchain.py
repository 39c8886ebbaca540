"""The Jetson platform resolves the Jetson's Python toolchain (DESIGN §4)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

JETSON_INTERPRETER = "/opt/gps_denied_onboard/python/bin/python3"


def _read(name: str) -> list[str]:
    base = Path(os.environ.get("TEST_SRCDIR", "")) / os.environ.get("TEST_WORKSPACE", "gdn")
    path = base / "tests" / "contract" / f"{name}.txt"
    if not path.exists():
        pytest.skip("runs under Bazel only (//tests/contract:platform_toolchain_test)")
    return path.read_text().splitlines()


def test_jetson_build_uses_the_jetson_interpreter() -> None:
    interpreter, outputs = _read("jetson_python")
    assert interpreter == JETSON_INTERPRETER
    assert "python/airborne" in outputs.split()  # the airborne binary was analysed and built for aarch64


def test_host_build_uses_the_locked_environment() -> None:
    interpreter, _ = _read("host_python")
    assert interpreter != JETSON_INTERPRETER
    # The test itself runs on the host toolchain: the same locked interpreter.
    assert Path(interpreter).resolve() == Path(sys.executable).resolve() or Path(interpreter).exists()
