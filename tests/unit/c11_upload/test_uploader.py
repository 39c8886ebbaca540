"""TileUploader against the reference ingest server on loopback: real HTTP, no mocked client."""

from __future__ import annotations

import threading
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from ingest_env import FLIGHT, ServerProcess, TamperingProxy, make_store, write_trust

from gps_denied_onboard.capture_store import CaptureStore
from gps_denied_onboard.components.c11_tile_manager import (
    KIND_SESSION_KEY_PUBLIC,
    KIND_SIGNATURE_REJECTED,
    KIND_UPLOAD_REPORT,
    FlightStateGate,
    FlightStateNotOnGroundError,
    FlightStateSignal,
    PerFlightKeyManager,
    ScriptedFlightStateSource,
    SignatureRejectedError,
    UploadError,
)
from gps_denied_onboard.components.c11_tile_manager.uploader import TileUploader, UploadConfig


def on_ground() -> FlightStateGate:
    return FlightStateGate(ScriptedFlightStateSource([FlightStateSignal.ON_GROUND]))


def uploader(url: str, operator_key, sink, **kwargs) -> TileUploader:
    config = UploadConfig(url=url, concurrency=kwargs.pop("concurrency", 3), backoff_initial_s=0.05,
                          backoff_max_s=0.4, max_attempts=kwargs.pop("max_attempts", 40), timeout_s=5)
    return TileUploader(gate=kwargs.pop("gate", None) or on_ground(), operator_key=operator_key,
                        config=config, sink=sink, **kwargs)


def server_copies(storage, flight_id: str = FLIGHT) -> dict[str, bytes]:
    return {p.stem: p.read_bytes() for p in sorted(storage.glob(f"flights/{flight_id}/captures/*.bin"))}


def test_happy_path_uploads_every_capture_once_and_closes(tmp_path, ingest, operator_key, sink) -> None:
    store = make_store(tmp_path / "flight", 12)
    report = uploader(ingest.url, operator_key, sink).upload(store)
    assert report.complete and report.uploaded == 12 and report.already_accepted == 0
    assert report.receipt is not None and report.receipt["accepted_count"] == 12
    copies = server_copies(ingest.service.config.storage_root)
    assert copies == {c.capture_id: c.image_path.read_bytes() for c in store.captures()}
    kinds = [r.kind for r in sink.records]
    assert kinds[0] == KIND_SESSION_KEY_PUBLIC and kinds[-1] == KIND_UPLOAD_REPORT
    assert set(report.attempts.values()) == {1}


def test_rerun_after_interrupted_upload_sends_only_the_rest(tmp_path, ingest, operator_key, sink) -> None:
    store = make_store(tmp_path / "flight", 10)
    seen: list[str] = []

    def crash_after_four(capture_id: str) -> None:
        seen.append(capture_id)
        if len(seen) == 4:
            raise KeyboardInterrupt("operator pressed Ctrl-C")

    with pytest.raises(KeyboardInterrupt):
        uploader(ingest.url, operator_key, sink, concurrency=1, on_accepted=crash_after_four).upload(store)
    first_batch = set(server_copies(ingest.service.config.storage_root))
    assert 4 <= len(first_batch) < 10  # the capture in flight at the interrupt may still land

    resent: list[str] = []
    report = uploader(ingest.url, operator_key, sink, on_accepted=resent.append).upload(store)
    assert report.complete and report.already_accepted == len(first_batch)
    assert report.uploaded == 10 - len(first_batch)
    assert not first_batch & set(resent)
    assert len(server_copies(ingest.service.config.storage_root)) == 10


def test_resume_after_server_killed_mid_upload(tmp_path, operator_key, sink) -> None:
    store = make_store(tmp_path / "flight", 16, size=16_384)
    trust = write_trust(tmp_path / "operators.json", [operator_key])
    server = ServerProcess(tmp_path / "ingest", trust).start()
    port = server.port
    accepted_before_kill: list[str] = []
    restarted = threading.Event()

    def kill_after_five(capture_id: str) -> None:
        if restarted.is_set() or len(accepted_before_kill) >= 5:
            return
        accepted_before_kill.append(capture_id)
        if len(accepted_before_kill) == 5:
            server.kill()  # kill -9 mid-upload, then bring it back on the same port

            def restart() -> None:
                time.sleep(0.3)
                ServerProcess.start(server)
                restarted.set()

            threading.Thread(target=restart, daemon=True).start()

    try:
        server.port = port
        report = uploader(server.url, operator_key, sink, concurrency=1, on_accepted=kill_after_five).upload(store)
        assert restarted.is_set() and report.retries >= 1
        assert report.complete and report.uploaded == 16
        assert all(report.attempts[cid] == 1 for cid in accepted_before_kill)  # accepted items not re-sent
        assert server_copies(tmp_path / "ingest") == {c.capture_id: c.image_path.read_bytes() for c in store.captures()}
    finally:
        server.stop()


def test_tampered_payload_in_transit_raises_signature_rejected_and_is_recorded(
        tmp_path, ingest, operator_key, sink) -> None:
    store = make_store(tmp_path / "flight", 6)
    proxy = TamperingProxy(ingest.port, tamper_put=3)
    try:
        with pytest.raises(SignatureRejectedError) as err:
            uploader(proxy.url, operator_key, sink, concurrency=1).upload(store)
    finally:
        proxy.close()
    assert err.value.code == "payload_hash_mismatch" and err.value.http_status == 422
    rejected = [r.payload for r in sink.of_kind(KIND_SIGNATURE_REJECTED)]
    assert len(rejected) == 1 and rejected[0]["code"] == "payload_hash_mismatch"
    assert len(server_copies(ingest.service.config.storage_root)) == 2


class SwappedKeyManager(PerFlightKeyManager):
    """Presents one flight key to the service and signs with another (a mixed-up key)."""

    def __init__(self, sink) -> None:
        super().__init__(sink)
        self._other = Ed25519PrivateKey.generate()

    def sign(self, payload: bytes) -> bytes:
        super().sign(payload)
        return self._other.sign(payload)


def test_wrong_flight_key_raises_signature_rejected_and_is_recorded(tmp_path, ingest, operator_key, sink) -> None:
    store = make_store(tmp_path / "flight", 3)
    with pytest.raises(SignatureRejectedError) as err:
        uploader(ingest.url, operator_key, sink, key_manager=SwappedKeyManager(sink)).upload(store)
    assert err.value.code == "bad_signature"
    codes = [r.payload["code"] for r in sink.of_kind(KIND_SIGNATURE_REJECTED)]
    assert 1 <= len(codes) <= 3 and set(codes) == {"bad_signature"}  # one per rejected in-flight request
    assert server_copies(ingest.service.config.storage_root) == {}


def test_unknown_operator_key_raises_signature_rejected(tmp_path, ingest, sink) -> None:
    store = make_store(tmp_path / "flight", 2)
    with pytest.raises(SignatureRejectedError) as err:
        uploader(ingest.url, Ed25519PrivateKey.generate(), sink).upload(store)
    assert err.value.code == "unknown_operator_key"


@pytest.mark.parametrize("state", [FlightStateSignal.IN_FLIGHT, FlightStateSignal.UNKNOWN])
def test_upload_while_not_on_ground_sends_nothing(tmp_path, ingest, operator_key, sink, state) -> None:
    store = make_store(tmp_path / "flight", 3)
    gate = FlightStateGate(ScriptedFlightStateSource([state]))
    with pytest.raises(FlightStateNotOnGroundError):
        uploader(ingest.url, operator_key, sink, gate=gate).upload(store)
    assert sink.records == []  # no key was even created
    assert ingest.service.storage.sessions == {}


def test_unreachable_service_gives_up_with_upload_error(tmp_path, operator_key, sink) -> None:
    store = make_store(tmp_path / "flight", 1)
    with pytest.raises(UploadError, match="unreachable after 3 attempts"):
        uploader("http://127.0.0.1:9", operator_key, sink, max_attempts=3).upload(store)


def test_capture_over_service_limit_is_reported_not_sent(tmp_path, ingest, operator_key, sink) -> None:
    store = make_store(tmp_path / "flight", 2)
    big = make_store(tmp_path / "big", 1, size=300 * 1024, flight_id="big-flight")
    report = uploader(ingest.url, operator_key, sink).upload(big)
    assert not report.complete and report.failed[0][0] == big.captures()[0].capture_id
    assert "exceeds the service limit" in report.failed[0][1]
    assert uploader(ingest.url, operator_key, sink).upload(store).complete
    assert isinstance(store, CaptureStore)
