"""The ingest API contract shared by `TileUploader` and the reference server
(docs/contracts/ingest-api.yaml is the normative document; this module is its code).

Every signed object is a *statement*: a JSON object signed as
`DOMAIN + canonical_json(statement)`, where the domain string separates the three
kinds of statement so a signature over one can never be replayed as another.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from enum import StrEnum
from typing import Any

API_VERSION = 1
API_PREFIX = "/v1"
DOMAIN_OPEN = b"gdn-ingest/1 session-open\n"
DOMAIN_CAPTURE = b"gdn-ingest/1 capture\n"
DOMAIN_CLOSE = b"gdn-ingest/1 session-close\n"
HEADER_STATEMENT = "X-GDN-Statement"
HEADER_SIGNATURE = "X-GDN-Signature"
HEADER_METADATA = "X-GDN-Capture-Metadata"
# Flight, capture and session ids become path components on the server.
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class ErrorCode(StrEnum):
    """Distinct error codes of the ingest API (JSON body `{"error": {"code", "message"}}`)."""

    MALFORMED_REQUEST = "malformed_request"
    UNSUPPORTED_API_VERSION = "unsupported_api_version"
    LENGTH_REQUIRED = "length_required"
    BODY_TOO_LARGE = "body_too_large"
    UNKNOWN_OPERATOR_KEY = "unknown_operator_key"
    REVOKED_OPERATOR_KEY = "revoked_operator_key"
    BAD_OPERATOR_SIGNATURE = "bad_operator_signature"
    BAD_SIGNATURE = "bad_signature"
    PAYLOAD_HASH_MISMATCH = "payload_hash_mismatch"
    STALE_REQUEST = "stale_request"
    REPLAYED_REQUEST = "replayed_request"
    SESSION_MISMATCH = "session_mismatch"
    UNKNOWN_SESSION = "unknown_session"
    SESSION_CLOSED = "session_closed"
    CAPTURE_ALREADY_ACCEPTED = "capture_already_accepted"
    SUMMARY_MISMATCH = "summary_mismatch"
    NOT_FOUND = "not_found"
    INTERNAL_ERROR = "internal_error"


HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.MALFORMED_REQUEST: 400,
    ErrorCode.UNSUPPORTED_API_VERSION: 400,
    ErrorCode.LENGTH_REQUIRED: 411,
    ErrorCode.BODY_TOO_LARGE: 413,
    ErrorCode.UNKNOWN_OPERATOR_KEY: 403,
    ErrorCode.REVOKED_OPERATOR_KEY: 403,
    ErrorCode.BAD_OPERATOR_SIGNATURE: 401,
    ErrorCode.BAD_SIGNATURE: 401,
    ErrorCode.PAYLOAD_HASH_MISMATCH: 422,
    ErrorCode.STALE_REQUEST: 401,
    ErrorCode.REPLAYED_REQUEST: 409,
    ErrorCode.SESSION_MISMATCH: 400,
    ErrorCode.UNKNOWN_SESSION: 404,
    ErrorCode.SESSION_CLOSED: 409,
    ErrorCode.CAPTURE_ALREADY_ACCEPTED: 409,
    ErrorCode.SUMMARY_MISMATCH: 409,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.INTERNAL_ERROR: 500,
}

# Codes meaning "the service could not verify what was signed": the uploader raises
# SignatureRejectedError for these and records them.
SIGNATURE_REJECTION_CODES = frozenset({
    ErrorCode.UNKNOWN_OPERATOR_KEY,
    ErrorCode.REVOKED_OPERATOR_KEY,
    ErrorCode.BAD_OPERATOR_SIGNATURE,
    ErrorCode.BAD_SIGNATURE,
    ErrorCode.PAYLOAD_HASH_MISMATCH,
})


class ProtocolError(ValueError):
    """A request or response violates the contract; `code` is the ErrorCode to answer with."""

    def __init__(self, code: ErrorCode, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.code = code
        self.detail = detail


def canonical_json(obj: Any) -> bytes:
    """The one byte form of a JSON value that is signed: sorted keys, no spaces, ASCII."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


def signing_input(domain: bytes, statement: dict[str, Any]) -> bytes:
    return domain + canonical_json(statement)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


def b64decode(text: str, what: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise ProtocolError(ErrorCode.MALFORMED_REQUEST, f"{what} is not base64url: {exc}") from exc


def hex_bytes(text: Any, what: str, length: int) -> bytes:
    """Decode a hex field of exactly `length` bytes or raise MALFORMED_REQUEST naming it."""
    try:
        raw = bytes.fromhex(text) if isinstance(text, str) else b""
    except ValueError:
        raw = b""
    if len(raw) != length:
        raise ProtocolError(ErrorCode.MALFORMED_REQUEST, f"{what} must be {length} bytes of hex, got {text!r:.80}")
    return raw


def require_id(value: Any, what: str) -> str:
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        raise ProtocolError(ErrorCode.MALFORMED_REQUEST, f"{what}={value!r:.80} is not a valid id ({ID_PATTERN.pattern})")
    return value


def captures_digest(entries: list[tuple[int, str, str]]) -> str:
    """Digest of a session's accepted captures, (seq, capture_id, payload_sha256) sorted by seq:
    what the close statement commits to."""
    return sha256_hex(canonical_json([list(e) for e in sorted(entries)]))


def error_body(code: ErrorCode, message: str, **detail: Any) -> bytes:
    return canonical_json({"error": {"code": code.value, "message": message, **detail}})
