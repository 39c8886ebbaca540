"""ADR-002 audit: what each built binary really contains (its runfiles).

The listings come from //tools/audit:binary_contents.bzl. The airborne binary
flies on the Jetson and must not carry operator-only code at all.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

PKG = "python/gps_denied_onboard/"
OPERATOR_ONLY_COMPONENTS = ("c10_provisioning", "c11_tile_manager", "c12_sim")
AIRBORNE_COMPONENTS = (
    "c1_camera", "c2_fc_link", "c3_vo", "c4_map_cache", "c5_state", "c6_place_recognition",
    "c7_geo_registration", "c8_inference", "c9_integrity", "c13_fdr",
)
# Operator-only code outside components: the operator/demo composition roots and test doubles.
OPERATOR_ONLY_PATTERNS = (
    re.compile(r"runtime_root/(operator|demo)[^/]*\.py$"),
    re.compile(r"gps_denied_onboard/autopilot_emulator/"),
    re.compile(r"gps_denied_onboard/fdr_client/testing/"),
)


def _listing(name: str) -> list[str]:
    base = Path(os.environ.get("TEST_SRCDIR", "")) / os.environ.get("TEST_WORKSPACE", "gdn")
    path = base / "tests" / "contract" / f"{name}.txt"
    if not path.exists():
        pytest.skip(f"{name}.txt not found: this audit runs under Bazel (//tests/contract:binary_contents_test)")
    return path.read_text().split()


def components_in(paths: list[str]) -> set[str]:
    found = set()
    for p in paths:
        m = re.search(r"gps_denied_onboard/components/([^/]+)/", p)
        if m:
            found.add(m.group(1))
    return found


def airborne_violations(paths: list[str]) -> list[str]:
    """Every file in an airborne listing that must not be there."""
    bad = [p for p in paths if any(f"components/{c}/" in p for c in OPERATOR_ONLY_COMPONENTS)]
    bad += [p for p in paths if any(rx.search(p) for rx in OPERATOR_ONLY_PATTERNS)]
    return sorted(set(bad))


def test_airborne_contains_no_operator_only_code() -> None:
    paths = _listing("airborne_contents")
    assert any(p.endswith("airborne_entry.py") for p in paths), "listing does not look like the airborne binary"
    assert airborne_violations(paths) == []


def test_airborne_contains_every_flight_component() -> None:
    assert components_in(_listing("airborne_contents")) == set(AIRBORNE_COMPONENTS)


def test_operator_contains_its_components() -> None:
    found = components_in(_listing("operator_contents"))
    assert {"c8_inference", "c10_provisioning", "c11_tile_manager", "c12_sim", "c13_fdr"} <= found
    assert "c2_fc_link" not in found


def test_audit_bites_when_a_gate_is_flipped_the_wrong_way() -> None:
    """The same airborne target built with C10 and C12 gated on must fail the audit."""
    violations = airborne_violations(_listing("airborne_contents_gates_flipped"))
    assert any("components/c10_provisioning/" in v for v in violations)
    assert any("components/c12_sim/" in v for v in violations)
    assert not any("components/c11_tile_manager/" in v for v in violations)
