"""C4 and C8 ship in the airborne binary: they must not import operator-only components."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import gps_denied_onboard

PKG = Path(gps_denied_onboard.__file__).parent
OPERATOR_ONLY = ("c10_provisioning", "c11_tile_manager", "c12_sim")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


@pytest.mark.parametrize("component", ["c4_map_cache", "c8_inference"])
def test_airborne_component_imports_no_operator_only_component(component: str) -> None:
    files = sorted((PKG / "components" / component).rglob("*.py"))
    assert files
    for f in files:
        for name in _imports(f):
            assert not any(f".components.{c}" in name for c in OPERATOR_ONLY), f"{f.name} imports {name}"
