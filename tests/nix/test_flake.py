"""flake.nix: parses, its input-free parts evaluate, and they agree with Bazel.

Nix on this machine cannot fetch nixpkgs or jetpack-nixos, so building the
environments and the Jetson image is left to a machine with network access
(ci/README.md, the `nix` job); everything that needs no input is checked here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

NIX = shutil.which("nix-instantiate")
pytestmark = pytest.mark.skipif(
    NIX is None, reason="nix-instantiate not installed (apt-get install nix-bin; tools/bazel does this for `test`)"
)


def _root() -> Path:
    srcdir = os.environ.get("TEST_SRCDIR")
    if srcdir:
        return Path(srcdir) / os.environ.get("TEST_WORKSPACE", "gdn")
    return Path(__file__).resolve().parents[2]


def _nix_env(tmp_path: Path) -> dict[str, str]:
    # The dummy store: evaluation needs no store writes, and the test sandbox forbids them.
    return {**os.environ, "HOME": str(tmp_path), "NIX_STATE_DIR": str(tmp_path / "state"),
            "NIX_LOG_DIR": str(tmp_path / "log"), "NIX_CONF_DIR": str(tmp_path), "NIX_REMOTE": "dummy://"}


def _eval(expr: str, tmp_path: Path) -> object:
    env = _nix_env(tmp_path)
    proc = subprocess.run(
        [str(NIX), "--eval", "--strict", "--json", "--readonly-mode", "-E", expr],
        capture_output=True, text=True, check=False, cwd=_root(), env=env,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_every_nix_file_parses(tmp_path: Path) -> None:
    files = [_root() / "flake.nix", *sorted((_root() / "nix").glob("*.nix"))]
    assert len(files) >= 4
    for path in files:
        proc = subprocess.run(
            [str(NIX), "--parse", str(path)], capture_output=True, text=True, check=False, env=_nix_env(tmp_path)
        )
        assert proc.returncode == 0, f"{path.name}: {proc.stderr}"


def test_target_matrix_evaluates(tmp_path: Path) -> None:
    targets = _eval("import ./nix/targets.nix", tmp_path)
    assert isinstance(targets, dict)
    assert targets["systems"] == ["x86_64-linux", "aarch64-linux"]
    assert "aarch64-linux" in targets["binaries"]["airborne"]["systems"]
    assert targets["binaries"]["operator"]["systems"] == ["x86_64-linux"]  # never on the Jetson


def test_flake_outputs_function_evaluates_without_inputs(tmp_path: Path) -> None:
    expr = "((import ./flake.nix).outputs { self = {}; nixpkgs = {}; jetpack-nixos = {}; }).lib.targets.jetson"
    jetson = _eval(expr, tmp_path)
    assert isinstance(jetson, dict)
    assert jetson["bazelConfig"] == "jetson"
    inputs = _eval("builtins.attrNames (import ./flake.nix).inputs", tmp_path)
    assert inputs == ["jetpack-nixos", "nixpkgs"]


def test_flake_agrees_with_bazel(tmp_path: Path) -> None:
    targets = _eval("import ./nix/targets.nix", tmp_path)
    assert isinstance(targets, dict)
    python_build = (_root() / "python" / "BUILD.bazel").read_text()
    for name, spec in targets["binaries"].items():
        assert spec["bazelTarget"] == f"//python:{name}"
        assert re.search(rf'name = "{name}"', python_build), f"no //python:{name} in python/BUILD.bazel"
    toolchain_build = (_root() / "toolchains" / "python" / "BUILD.bazel").read_text()
    link = targets["jetson"]["interpreterLink"]
    assert f'interpreter_path = "{link}/bin/python3"' in toolchain_build
