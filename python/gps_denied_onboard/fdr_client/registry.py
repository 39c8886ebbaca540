"""Lookups over the central kind table (`kinds.py`): payload normalisation and JSON schemas."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gps_denied_onboard.fdr_client.kind_spec import KindSpec
from gps_denied_onboard.fdr_client.kinds import KINDS

FLAG_UNREGISTERED_KIND = "unregistered_kind"
FLAG_UNKNOWN_KEYS = "unknown_keys"
FLAG_MISSING_KEYS = "missing_keys"
FLAG_BAD_PAYLOAD = "bad_payload"


def kind_spec(kind: str) -> KindSpec | None:
    """The registered spec of `kind`, or None."""
    return KINDS.get(kind)


def normalize_payload(kind: str, payload: Any) -> tuple[dict[str, Any], tuple[str, ...]]:
    """(payload as recorded, flags) for a record of `kind`.

    Never raises: a registered kind keeps its known keys at top level and moves
    unknown ones under "extra" (flag `unknown_keys`); missing required keys are
    flagged `missing_keys`; an unregistered kind is kept verbatim and flagged
    `unregistered_kind`; a payload that is not a mapping is wrapped as
    {"value": ...} and flagged `bad_payload`.
    """
    flags: list[str] = []
    if not isinstance(payload, Mapping):
        payload = {"value": payload}
        flags.append(FLAG_BAD_PAYLOAD)
    spec = KINDS.get(kind)
    if spec is None:
        flags.append(FLAG_UNREGISTERED_KIND)
        return {str(k): v for k, v in payload.items()}, tuple(flags)
    known = spec.fields
    out: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in payload.items():
        skey = str(key)
        if skey in known:
            out[skey] = value
        elif skey == "extra" and isinstance(value, Mapping):
            extra.update({str(k): v for k, v in value.items()})
        else:
            extra[skey] = value
    if extra:
        out["extra"] = extra
        flags.append(FLAG_UNKNOWN_KEYS)
    for name in spec.required:
        if name not in out:
            flags.append(FLAG_MISSING_KEYS)
            break
    return out, tuple(flags)


def kind_json_schema(kind: str) -> dict[str, Any]:
    """A JSON schema (draft 2020-12) for the envelope of records of `kind`.

    Used for MCAP export; unregistered kinds get a payload schema that admits any object.
    """
    spec = KINDS.get(kind)
    payload_schema: dict[str, Any] = {"type": "object"}
    if spec is not None:
        props: dict[str, Any] = {}
        for name, type_name in spec.fields.items():
            props[name] = {} if type_name == "any" else {"type": [type_name, "null"]}
        props["extra"] = {"type": "object"}
        payload_schema = {"type": "object", "properties": props, "additionalProperties": True}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": kind,
        "description": spec.doc if spec is not None else "unregistered kind",
        "type": "object",
        "properties": {
            "schema_version": {"type": "string"},
            "ts": {"type": "integer"},
            "producer_id": {"type": "string"},
            "kind": {"type": "string"},
            "seq": {"type": "integer"},
            "flags": {"type": "array", "items": {"type": "string"}},
            "payload": payload_schema,
        },
        "required": ["schema_version", "ts", "producer_id", "kind", "payload"],
    }
