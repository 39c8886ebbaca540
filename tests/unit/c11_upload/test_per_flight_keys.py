"""PerFlightKeyManager: ephemeral per-flight Ed25519 key, zeroisation, safety net, FDR records."""

from __future__ import annotations

import gc
import logging

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gps_denied_onboard.components.c11_tile_manager import (
    KIND_SESSION_KEY_PUBLIC,
    KIND_SIGNATURE_REJECTED,
    PerFlightKeyManager,
    SessionNotActiveError,
    TileManagerError,
)

FLIGHT = "0b8f2f5e-3a56-4a47-9d0f-2b7d3f6c9e10"


def test_session_key_signs_verifiably_and_records_public_key(sink) -> None:
    km = PerFlightKeyManager(sink)
    public = km.start_session(FLIGHT)
    signature = km.sign(b"statement")
    assert len(public) == 32 and len(signature) == 64
    Ed25519PublicKey.from_public_bytes(public).verify(signature, b"statement")
    with pytest.raises(InvalidSignature):
        Ed25519PublicKey.from_public_bytes(public).verify(signature, b"statemenT")
    [record] = sink.records
    kind, payload = record.kind, record.payload
    assert kind == KIND_SESSION_KEY_PUBLIC
    assert payload["public_key_hex"] == public.hex() and payload["flight_id"] == FLIGHT
    km.end_session()


def test_each_flight_gets_a_fresh_key(sink) -> None:
    km = PerFlightKeyManager(sink)
    first = km.start_session(FLIGHT)
    km.end_session()
    second = km.start_session(FLIGHT)
    km.end_session()
    assert first != second


def test_end_session_zeroises_the_secret_and_stops_signing(sink) -> None:
    km = PerFlightKeyManager(sink)
    km.start_session(FLIGHT)
    secret = km._seed  # the project-owned copy the zeroisation contract is about
    assert secret is not None and any(secret)
    km.end_session()
    assert bytes(secret) == bytes(32)
    assert not km.active
    with pytest.raises(SessionNotActiveError) as err:
        km.sign(b"late")
    assert err.value.operation == "sign" and isinstance(err.value, TileManagerError)
    km.end_session()  # idempotent


def test_use_before_start_is_a_session_error(sink) -> None:
    km = PerFlightKeyManager(sink)
    with pytest.raises(SessionNotActiveError):
        km.sign(b"x")
    with pytest.raises(SessionNotActiveError):
        _ = km.public_key


def test_second_concurrent_session_is_refused(sink) -> None:
    with PerFlightKeyManager(sink) as km:
        km.start_session(FLIGHT)
        with pytest.raises(ValueError, match="already active"):
            km.start_session("another")
    assert not km.active


def test_dropped_manager_with_open_session_warns_and_zeroises(sink, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="gdn")
    km = PerFlightKeyManager(sink)
    km.start_session(FLIGHT)
    secret = km._seed
    del km
    gc.collect()
    assert bytes(secret) == bytes(32)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == "gdn.c11_tile_manager"]
    assert len(warnings) == 1 and "active session" in warnings[0].getMessage()


def test_cleanly_ended_manager_does_not_warn(sink, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="gdn")
    km = PerFlightKeyManager(sink)
    km.start_session(FLIGHT)
    km.end_session()
    del km
    gc.collect()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_rejection_is_recorded_and_logged_as_error(sink, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="gdn")
    with PerFlightKeyManager(sink) as km:
        km.start_session(FLIGHT)
        km.record_rejection(code="bad_signature", http_status=401, detail="nope", seq=3)
    kind, payload = sink.records[-1].kind, sink.records[-1].payload
    assert kind == KIND_SIGNATURE_REJECTED
    assert payload["code"] == "bad_signature" and payload["seq"] == 3 and payload["flight_id"] == FLIGHT
    assert [r.levelname for r in caplog.records if r.levelno >= logging.ERROR] == ["ERROR"]


def test_operator_key_loads_from_pem_raw_seed_and_hex(tmp_path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    from gps_denied_onboard.components.c11_tile_manager.keys import load_operator_private_key, public_key_bytes

    key = Ed25519PrivateKey.generate()
    seed = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    (tmp_path / "k.pem").write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    (tmp_path / "k.raw").write_bytes(seed)
    (tmp_path / "k.hex").write_text(seed.hex() + "\n")
    for name in ("k.pem", "k.raw", "k.hex"):
        assert public_key_bytes(load_operator_private_key(tmp_path / name)) == public_key_bytes(key)


def test_unusable_operator_key_file_is_a_clear_upload_error(tmp_path) -> None:
    from gps_denied_onboard.components.c11_tile_manager import UploadError
    from gps_denied_onboard.components.c11_tile_manager.keys import load_operator_private_key

    (tmp_path / "short").write_bytes(b"\x01" * 31)
    with pytest.raises(UploadError, match="short.*not a usable Ed25519"):
        load_operator_private_key(tmp_path / "short")
    with pytest.raises(UploadError, match="unreadable"):
        load_operator_private_key(tmp_path / "missing")
