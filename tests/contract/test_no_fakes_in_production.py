"""Architecture: production code never imports the FDR test doubles.

Production = every module under python/gps_denied_onboard except
fdr_client/testing/; and no non-testonly Bazel target depends on :testing.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import gps_denied_onboard

PKG = Path(gps_denied_onboard.__file__).resolve().parent
FAKES = "gps_denied_onboard.fdr_client.testing"


def fake_imports(source: str, module: str) -> list[str]:
    """Imports of the fakes package in `source` (the module's dotted name resolves relative imports)."""
    found = []
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant):
            names = [str(node.args[0].value)]
        found += [n for n in names if n == FAKES or n.startswith(FAKES + ".")]
    return found


def _production_modules() -> list[Path]:
    return [p for p in PKG.rglob("*.py") if "fdr_client/testing" not in p.as_posix()]


def test_no_production_module_imports_the_fakes() -> None:
    offenders = {}
    for path in _production_modules():
        module = "gps_denied_onboard." + ".".join(path.relative_to(PKG).with_suffix("").parts)
        hits = fake_imports(path.read_text(encoding="utf-8"), module)
        if hits:
            offenders[str(path.relative_to(PKG))] = hits
    assert offenders == {}


def test_no_production_bazel_target_depends_on_testing() -> None:
    builds = list(PKG.rglob("BUILD.bazel"))
    if not builds:
        pytest.skip("BUILD files are not in this test's runfiles (run under plain pytest to check them)")
    offenders = []
    for build in builds:
        text = build.read_text(encoding="utf-8")
        for block in re.split(r"\n(?=\w+\()", text):
            if re.search(r'"//python/gps_denied_onboard:testing"|":testing"', block.split("deps", 1)[-1]) \
                    and "testonly = True" not in block:
                offenders.append(str(build.relative_to(PKG)))
    assert offenders == []


def test_the_checker_bites() -> None:
    assert fake_imports("from gps_denied_onboard.fdr_client.testing import FakeFdrSink", "gps_denied_onboard.x")
    assert fake_imports("import gps_denied_onboard.fdr_client.testing.fake_sink", "gps_denied_onboard.x")
    assert fake_imports("from .testing import FakeFdrSink", "gps_denied_onboard.fdr_client.factory")
    assert fake_imports("import importlib\nimportlib.import_module('gps_denied_onboard.fdr_client.testing')",
                        "gps_denied_onboard.x")
    assert not fake_imports("from gps_denied_onboard.fdr_client import make_fdr_client", "gps_denied_onboard.x")
    assert _production_modules(), "the production tree was not found"
