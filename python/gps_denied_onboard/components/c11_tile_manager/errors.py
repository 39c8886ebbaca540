"""Errors of c11_tile_manager: every error this component raises derives from `TileManagerError`."""

from __future__ import annotations

from typing import Any


class TileManagerError(Exception):
    """Base class of c11_tile_manager errors."""


class FlightStateNotOnGroundError(TileManagerError):
    """The flight-state gate refused: the vehicle is not confirmed on the ground.

    `state` is the `FlightStateSignal` that caused the refusal (UNKNOWN when the
    source failed; the source's exception is then on `__cause__`).
    """

    def __init__(self, state: Any, reason: str = "") -> None:
        detail = f": {reason}" if reason else ""
        super().__init__(f"upload refused: flight state is {getattr(state, 'value', state)!s}, not ON_GROUND{detail}")
        self.state = state
        self.reason = reason


class SessionNotActiveError(TileManagerError):
    """A per-flight key operation was attempted with no active session (`operation` names it)."""

    def __init__(self, operation: str) -> None:
        super().__init__(f"{operation}: no active per-flight signing session (call start_session first)")
        self.operation = operation


class SignatureRejectedError(TileManagerError):
    """The ingest service rejected a signature or a signing key.

    `code` is the service's error code (e.g. "bad_signature", "revoked_operator_key"),
    `http_status` its HTTP status, `detail` its message.
    """

    def __init__(self, code: str, http_status: int, detail: str = "") -> None:
        super().__init__(f"ingest service rejected the upload signature: {code} (HTTP {http_status}) {detail}".rstrip())
        self.code = code
        self.http_status = http_status
        self.detail = detail


class UploadError(TileManagerError):
    """The upload could not complete for a reason other than a signature rejection
    (service unreachable after every retry, a capture refused, a bad flight directory)."""


class IngestServerError(TileManagerError):
    """The reference ingest server cannot start (bad storage root or operator key file)."""
