"""ruff and mypy over the shipped Python sources (configuration: pyproject.toml)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import gps_denied_onboard


def _source_root() -> Path:
    # The package directory as the test sees it (runfiles under Bazel, the tree otherwise).
    return Path(gps_denied_onboard.__file__).resolve().parent if "TEST_SRCDIR" not in os.environ else Path(
        gps_denied_onboard.__file__
    ).parent


def _pyproject() -> Path:
    srcdir = os.environ.get("TEST_SRCDIR")
    if srcdir:
        return Path(srcdir) / os.environ.get("TEST_WORKSPACE", "gdn") / "pyproject.toml"
    return Path(__file__).resolve().parents[2] / "pyproject.toml"


def _tool(name: str) -> str:
    path = Path(sys.executable).parent / name
    found = str(path) if path.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed in the locked environment ({sys.executable})")
    return found


def test_ruff_is_clean() -> None:
    proc = subprocess.run(
        [_tool("ruff"), "check", "--no-cache", "--config", str(_pyproject()), str(_source_root())],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_is_clean(tmp_path: Path) -> None:
    root = _source_root()
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(_pyproject()), "--cache-dir", str(tmp_path / "mypy"),
         "-p", "gps_denied_onboard"],
        capture_output=True, text=True, check=False, cwd=root.parent,
        env={**os.environ, "MYPYPATH": str(root.parent)},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
