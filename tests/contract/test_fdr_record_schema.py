"""Contract: the FDR record envelope (docs/contracts/fdr-record-schema.md) and the kind registry.

Renaming/removing an envelope field or changing its meaning is a major bump;
a new optional field is a minor bump. Update the contract document with it.
"""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from gps_denied_onboard.components.c13_fdr.segments import record_body
from gps_denied_onboard.fdr_client import FDR_PRODUCER_ID, FDR_RECORD_SCHEMA_VERSION, EnqueueResult, FdrRecord
from gps_denied_onboard.fdr_client.kinds import KINDS
from tests.conftest import repo_path

DOC = repo_path("docs/contracts/fdr-record-schema.md")


def test_envelope_version_and_fields_are_pinned() -> None:
    assert FDR_RECORD_SCHEMA_VERSION == "1.1"
    names = [f.name for f in dataclasses.fields(FdrRecord)]
    assert names == ["schema_version", "ts", "producer_id", "kind", "payload", "seq", "flags"]
    optional = [f.name for f in dataclasses.fields(FdrRecord)
                if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING]
    assert optional == ["seq", "flags"]  # the 1.1 additions are optional
    assert FDR_PRODUCER_ID == "fdr"
    assert [e.value for e in EnqueueResult] == ["ok", "overrun"]


def test_on_disk_envelope_keys_are_pinned() -> None:
    body = json.loads(record_body("c7", 4, 99, "c7.fix", {"lat": 1.0}, ("unknown_keys",)))
    assert list(body) == ["v", "ts", "p", "k", "s", "d", "f"]
    assert body == {"v": "1.1", "ts": 99, "p": "c7", "k": "c7.fix", "s": 4, "d": {"lat": 1.0},
                    "f": ["unknown_keys"]}
    assert "f" not in json.loads(record_body("c7", 4, 99, "c7.fix", {}))


def test_the_contract_document_states_this_version_and_every_kind() -> None:
    if not DOC.exists():
        pytest.fail(f"{DOC} is missing (declared as data of //tests/contract:fdr_contracts_test)")
    text = DOC.read_text(encoding="utf-8")
    assert re.search(rf"Version:\s*\**{re.escape(FDR_RECORD_SCHEMA_VERSION)}\b", text)
    for kind in ("log", "fdr.overrun", "segment_rollover"):
        assert f"`{kind}`" in text, kind
    assert set(KINDS) >= {"log", "fdr.overrun", "segment_rollover", "fdr.kind_policy_dropped"}
