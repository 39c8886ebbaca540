"""Per-flight signing keys: one ephemeral Ed25519 key per upload session.

The key is generated from 32 bytes of OS entropy held in a project-owned
`bytearray`; `end_session` overwrites that copy with zeros (best effort: Python
and OpenSSL may hold transient copies we cannot reach; OpenSSL cleanses its own
copy when the key object is freed). A manager dropped with a session still open
logs a WARN from `__del__` and zeroises anyway.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import threading
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from gps_denied_onboard.components.c11_tile_manager.errors import SessionNotActiveError
from gps_denied_onboard.components.c11_tile_manager.records import (
    KIND_SESSION_KEY_PUBLIC,
    KIND_SIGNATURE_REJECTED,
    RecordSink,
)
from gps_denied_onboard.logging import get_logger

_log = get_logger("c11_tile_manager")
SEED_BYTES = 32
SIGNATURE_BYTES = 64


def key_id(public_key: bytes) -> str:
    """A short, stable identifier of an Ed25519 public key: first 16 bytes of its SHA-256, hex."""
    return hashlib.sha256(public_key).hexdigest()[:32]


def _zeroise(buf: bytearray) -> None:
    # memset through ctypes so the bytes are overwritten in place, not rebound.
    if buf:
        ctypes.memset((ctypes.c_char * len(buf)).from_buffer(buf), 0, len(buf))


class PerFlightKeyManager:
    """Holds the ephemeral signing key of one flight's upload session.

    `start_session(flight_id)` creates the key and records its public half
    (`c11.upload.session.key.public`); `sign(payload)` returns a 64-byte Ed25519
    signature; `record_rejection(...)` records `c11.upload.signature_rejected` and
    logs an ERROR; `end_session()` zeroises the secret. Usable as a context manager.
    """

    def __init__(self, sink: RecordSink, *, entropy: Callable[[int], bytes] = os.urandom) -> None:
        self._sink = sink
        self._entropy = entropy
        self._lock = threading.Lock()
        # Upload workers may report rejections concurrently; the FDR client is single-producer.
        self._sink_lock = threading.Lock()
        self._seed: bytearray | None = None
        self._key: Ed25519PrivateKey | None = None
        self._public: bytes | None = None
        self._flight_id: str | None = None

    @property
    def active(self) -> bool:
        return self._key is not None

    @property
    def flight_id(self) -> str:
        if self._flight_id is None or self._key is None:
            raise SessionNotActiveError("flight_id")
        return self._flight_id

    @property
    def public_key(self) -> bytes:
        """The raw 32-byte public key of the active session."""
        if self._public is None or self._key is None:
            raise SessionNotActiveError("public_key")
        return self._public

    def start_session(self, flight_id: str) -> bytes:
        """Generate the flight's key; returns the raw public key. One session at a time."""
        if not flight_id:
            raise ValueError("flight_id must be a non-empty string")
        with self._lock:
            if self._key is not None:
                raise ValueError(f"a session for flight {self._flight_id!r} is already active; end it first")
            seed = bytearray(self._entropy(SEED_BYTES))
            if len(seed) != SEED_BYTES:
                raise ValueError(f"entropy source returned {len(seed)} bytes, need {SEED_BYTES}")
            self._seed = seed
            self._key = Ed25519PrivateKey.from_private_bytes(seed)
            self._public = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
            self._flight_id = flight_id
        self._record(KIND_SESSION_KEY_PUBLIC, {
            "flight_id": flight_id,
            "algorithm": "ed25519",
            "public_key_hex": self._public.hex(),
            "key_id": key_id(self._public),
        })
        _log.info("per-flight signing key created", kind=KIND_SESSION_KEY_PUBLIC,
                  flight_id=flight_id, key_id=key_id(self._public))
        return self._public

    def sign(self, payload: bytes) -> bytes:
        """Ed25519 signature (64 bytes) of `payload` with the flight's key."""
        key = self._key
        if key is None:
            raise SessionNotActiveError("sign")
        return key.sign(payload)

    def record_rejection(self, *, code: str, http_status: int, detail: str = "", **context: Any) -> None:
        """Record that the ingest service rejected a signature made in this session."""
        payload: dict[str, Any] = {
            "flight_id": self._flight_id,
            "key_id": key_id(self._public) if self._public else None,
            "code": code,
            "http_status": http_status,
            "detail": detail,
        }
        payload.update(context)
        self._record(KIND_SIGNATURE_REJECTED, payload)
        _log.error("ingest service rejected the per-flight signature", kind=KIND_SIGNATURE_REJECTED, **payload)

    def _record(self, kind: str, payload: dict[str, Any]) -> None:
        with self._sink_lock:
            self._sink.enqueue(kind, payload)

    def end_session(self) -> None:
        """Forget the key and zeroise the project-owned secret. Idempotent."""
        with self._lock:
            if self._seed is not None:
                _zeroise(self._seed)
            self._seed = None
            self._key = None

    def __enter__(self) -> PerFlightKeyManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.end_session()

    def __del__(self) -> None:
        # Safety net: a forgotten session must not leave the secret around silently.
        if getattr(self, "_key", None) is not None:
            try:
                _log.warning("per-flight key manager dropped with an active session; zeroising",
                             kind="c11.upload.session.key.leaked", flight_id=self._flight_id)
            except Exception:  # noqa: BLE001 - logging may be torn down at interpreter exit; zeroise anyway
                pass
            self.end_session()


def load_operator_private_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """Load the operator's Ed25519 signing key: an unencrypted PKCS#8 PEM file, or a
    file holding the raw 32-byte seed (binary or 64 hex characters). The bytes read
    are zeroised after the key is built."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    from gps_denied_onboard.components.c11_tile_manager.errors import UploadError

    try:
        with open(path, "rb") as fh:
            raw = bytearray(fh.read())
    except OSError as exc:
        raise UploadError(f"operator key {path} is unreadable: {exc}") from exc
    try:
        stripped = bytes(raw).strip()
        if stripped.startswith(b"-----BEGIN"):
            key = load_pem_private_key(stripped, password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise ValueError(f"it holds a {type(key).__name__}, not an Ed25519 key")
            return key
        if len(raw) == SEED_BYTES:
            return Ed25519PrivateKey.from_private_bytes(raw)
        if len(stripped) == 2 * SEED_BYTES:
            seed = bytearray(bytes.fromhex(stripped.decode("ascii")))
            try:
                return Ed25519PrivateKey.from_private_bytes(seed)
            finally:
                _zeroise(seed)
        raise ValueError("expected PKCS#8 PEM, 32 raw bytes or 64 hex characters")
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise UploadError(f"operator key {path} is not a usable Ed25519 private key: {exc}") from exc
    finally:
        _zeroise(raw)


def public_key_bytes(key: Ed25519PrivateKey) -> bytes:
    """The raw 32-byte public half of an Ed25519 private key."""
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
