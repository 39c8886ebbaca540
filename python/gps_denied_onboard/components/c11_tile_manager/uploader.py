"""TileUploader: post-flight upload of a flight's captures to the parent ingest service.

Order of work: the flight-state gate first (nothing is read or sent in flight);
a fresh per-flight key; a session opened with that key's public half signed by
the operator key; every capture the service does not already hold is sent once,
signed with the flight key, by `concurrency` workers that retry transport
failures and 5xx answers with exponential backoff; the session is closed with a
signed summary. A rerun after any interruption opens a new session and skips
what the service already accepted for the flight.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from tqdm import tqdm

from gps_denied_onboard.capture_store import CaptureStore, StoredCapture
from gps_denied_onboard.clock import Clock, WallClock
from gps_denied_onboard.components.c11_tile_manager.errors import SignatureRejectedError, UploadError
from gps_denied_onboard.components.c11_tile_manager.flight_state import FlightStateGate
from gps_denied_onboard.components.c11_tile_manager.ingest.protocol import (
    API_PREFIX,
    API_VERSION,
    DOMAIN_CAPTURE,
    DOMAIN_CLOSE,
    DOMAIN_OPEN,
    HEADER_METADATA,
    HEADER_SIGNATURE,
    HEADER_STATEMENT,
    SIGNATURE_REJECTION_CODES,
    b64encode,
    canonical_json,
    captures_digest,
    sha256_hex,
    signing_input,
)
from gps_denied_onboard.components.c11_tile_manager.keys import PerFlightKeyManager, key_id, public_key_bytes
from gps_denied_onboard.components.c11_tile_manager.records import KIND_UPLOAD_REPORT, RecordSink
from gps_denied_onboard.logging import get_logger

_log = get_logger("c11_tile_manager")


@dataclass(frozen=True)
class UploadConfig:
    """How to reach the ingest service and how hard to try."""

    url: str
    concurrency: int = 4
    max_attempts: int = 8
    backoff_initial_s: float = 0.2
    backoff_max_s: float = 5.0
    timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url must be http(s)://..., got {self.url!r}")
        if not 1 <= self.concurrency <= 64:
            raise ValueError(f"concurrency must be in [1, 64], got {self.concurrency}")
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {self.max_attempts}")
        if not 0 < self.backoff_initial_s <= self.backoff_max_s:
            raise ValueError("need 0 < backoff_initial_s <= backoff_max_s")
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {self.timeout_s}")


@dataclass(frozen=True)
class UploadReport:
    """What one upload run did."""

    flight_id: str
    session_id: str
    total: int
    uploaded: int
    already_accepted: int
    failed: tuple[tuple[str, str], ...]
    retries: int
    bytes_sent: int
    elapsed_s: float
    receipt: dict[str, Any] | None = None
    attempts: dict[str, int] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not self.failed and self.receipt is not None

    def summary(self) -> str:
        rate = self.bytes_sent / self.elapsed_s / 1e6 if self.elapsed_s > 0 else 0.0
        lines = [
            f"flight {self.flight_id}, session {self.session_id}",
            f"captures: {self.total} total, {self.uploaded} uploaded, {self.already_accepted} already at the service,"
            f" {len(self.failed)} failed",
            f"sent {self.bytes_sent} bytes in {self.elapsed_s:.2f} s ({rate:.1f} MB/s), {self.retries} retries",
        ]
        lines += [f"  FAILED {cid}: {reason}" for cid, reason in self.failed]
        lines.append("session closed, receipt: " + str(self.receipt) if self.receipt else "session NOT closed")
        return "\n".join(lines)


class _Answer:
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.body = body
        raw = body.get("error")
        self.error: dict[str, Any] = raw if isinstance(raw, dict) else {}
        self.code = str(self.error.get("code", ""))
        self.message = str(self.error.get("message", ""))


class TileUploader:
    """Uploads one flight's capture store; see the module docstring."""

    def __init__(
        self,
        *,
        gate: FlightStateGate,
        operator_key: Ed25519PrivateKey,
        config: UploadConfig,
        sink: RecordSink,
        key_manager: PerFlightKeyManager | None = None,
        clock: Clock | None = None,
        on_accepted: Callable[[str], None] | None = None,
        progress_bar: bool = False,
    ) -> None:
        self._gate = gate
        self._operator_key = operator_key
        self._config = config
        self._sink = sink
        self._keys = key_manager or PerFlightKeyManager(sink)
        self._clock = clock or WallClock()
        self._on_accepted = on_accepted
        self._progress_bar = progress_bar
        self._local = threading.local()
        self._lock = threading.Lock()
        self._retries = 0
        self._stop = threading.Event()

    # ---- HTTP with retries ---------------------------------------------------------------

    def _http(self) -> requests.Session:
        session = getattr(self._local, "http", None)
        if session is None:
            session = self._local.http = requests.Session()
        return session

    def _request(self, method: str, path: str, what: str, **kwargs: Any) -> _Answer:
        """One API call; transport failures and 5xx are retried with backoff."""
        url = self._config.url.rstrip("/") + path
        delay = self._config.backoff_initial_s
        for attempt in range(1, self._config.max_attempts + 1):
            self._local.attempts = attempt
            if self._stop.is_set():
                raise UploadError(f"{what}: upload aborted")
            try:
                response = self._http().request(method, url, timeout=self._config.timeout_s, **kwargs)
                try:
                    body = response.json()
                except ValueError:
                    body = {}
                answer = _Answer(response.status_code, body if isinstance(body, dict) else {})
                if answer.status < 500:
                    return answer
                problem = f"HTTP {answer.status} {answer.code}"
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
                problem = f"{type(exc).__name__}"
                self._local.http = None  # a pooled connection to a dead server is useless
            if attempt == self._config.max_attempts:
                raise UploadError(f"{what}: ingest service unreachable after {attempt} attempts ({problem})")
            with self._lock:
                self._retries += 1
            _log.warning("ingest request failed, retrying", kind="c11.upload.retry", what=what,
                         attempt=attempt, problem=problem)
            self._clock.sleep(delay * random.uniform(0.5, 1.0))  # jitter: workers must not retry in lockstep
            delay = min(delay * 2, self._config.backoff_max_s)
        raise AssertionError("unreachable")

    def _raise_if_signature_rejected(self, answer: _Answer, **context: Any) -> None:
        if answer.code in SIGNATURE_REJECTION_CODES:
            self._stop.set()
            self._keys.record_rejection(code=answer.code, http_status=answer.status, detail=answer.message,
                                        url=self._config.url, **context)
            raise SignatureRejectedError(answer.code, answer.status, answer.message)

    # ---- the upload ----------------------------------------------------------------------

    def upload(self, store: CaptureStore) -> UploadReport:
        """Upload every capture of `store` the service does not hold yet. Raises
        FlightStateNotOnGroundError (before anything else), SignatureRejectedError or UploadError."""
        self._gate.confirm_on_ground()
        self._stop.clear()
        self._retries = 0
        started = time.monotonic()
        flight_id = store.flight_id
        self._keys.start_session(flight_id)
        try:
            session_id, already, max_body = self._open(flight_id)
            captures = store.captures()
            pending = [c for c in captures if c.capture_id not in already]
            accepted: dict[int, tuple[str, str]] = {}
            failed: list[tuple[str, str]] = []
            attempts: dict[str, int] = {}
            bytes_sent = 0
            bar = tqdm(total=len(captures), initial=len(captures) - len(pending), unit="capture",
                       desc=f"upload {flight_id[:8]}", disable=not self._progress_bar, leave=True)

            def send(seq: int, capture: StoredCapture) -> None:
                nonlocal bytes_sent
                outcome = self._send_capture(session_id, flight_id, seq, capture, max_body, attempts)
                with self._lock:
                    if outcome[0] == "accepted":
                        accepted[seq] = (capture.capture_id, outcome[1])
                        bytes_sent += outcome[2]
                    else:
                        failed.append((capture.capture_id, outcome[1]))
                bar.update(1)
                if outcome[0] == "accepted" and self._on_accepted is not None:
                    self._on_accepted(capture.capture_id)

            try:
                with ThreadPoolExecutor(self._config.concurrency, thread_name_prefix="upload") as pool:
                    futures = [pool.submit(send, seq, c) for seq, c in enumerate(pending)]
                    try:
                        wait(futures, return_when=FIRST_EXCEPTION)
                    except BaseException:  # Ctrl-C: stop the workers instead of draining the queue
                        self._stop.set()
                        raise
                    finally:
                        for future in futures:
                            future.cancel()
                    errors = [f.exception() for f in futures if f.done() and not f.cancelled() and f.exception()]
                    if errors:
                        self._stop.set()
                        sig = [e for e in errors if isinstance(e, SignatureRejectedError)]
                        raise (sig or errors)[0]  # type: ignore[misc]
            finally:
                bar.close()
            receipt = self._close(session_id, flight_id, accepted)
            report = UploadReport(
                flight_id=flight_id, session_id=session_id, total=len(captures), uploaded=len(accepted),
                already_accepted=len(captures) - len(pending), failed=tuple(sorted(failed)),
                retries=self._retries, bytes_sent=bytes_sent, elapsed_s=time.monotonic() - started,
                receipt=receipt, attempts=dict(attempts),
            )
            self._sink.enqueue(KIND_UPLOAD_REPORT, {
                "flight_id": flight_id, "session_id": session_id, "total": report.total,
                "uploaded": report.uploaded, "already_accepted": report.already_accepted,
                "failed": len(report.failed), "retries": report.retries, "bytes_sent": bytes_sent,
            })
            _log.info("upload finished", kind=KIND_UPLOAD_REPORT, flight_id=flight_id, session_id=session_id,
                      uploaded=report.uploaded, already_accepted=report.already_accepted, failed=len(failed))
            return report
        finally:
            self._keys.end_session()

    def _open(self, flight_id: str) -> tuple[str, dict[str, str], int]:
        operator_public = public_key_bytes(self._operator_key)
        statement = {
            "api_version": API_VERSION,
            "flight_id": flight_id,
            "flight_public_key_hex": self._keys.public_key.hex(),
            "operator_key_id": key_id(operator_public),
            "issued_unix_ns": self._clock.unix_ns(),
            "nonce_hex": uuid.uuid4().hex,
        }
        signature = self._operator_key.sign(signing_input(DOMAIN_OPEN, statement))
        answer = self._request("POST", f"{API_PREFIX}/sessions", "open session",
                               json={"statement": statement, "operator_signature": signature.hex()})
        self._raise_if_signature_rejected(answer, phase="open")
        if answer.status != 201:
            raise UploadError(f"ingest service refused the session: HTTP {answer.status} {answer.code} {answer.message}")
        try:
            return (str(answer.body["session_id"]), dict(answer.body["accepted_captures"]),
                    int(answer.body["max_body_bytes"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise UploadError(f"ingest service answered the session open without {exc}") from exc

    def _send_capture(self, session_id: str, flight_id: str, seq: int, capture: StoredCapture,
                      max_body: int, attempts: dict[str, int]) -> tuple[str, str, int]:
        payload = capture.image_path.read_bytes()
        metadata = capture.metadata_path.read_bytes()
        if len(payload) > max_body:
            return ("failed", f"{len(payload)} bytes exceeds the service limit of {max_body}", 0)
        digest = sha256_hex(payload)
        statement = {
            "session_id": session_id, "flight_id": flight_id, "seq": seq, "capture_id": capture.capture_id,
            "payload_sha256": digest, "payload_len": len(payload), "metadata_sha256": sha256_hex(metadata),
        }
        headers = {
            HEADER_STATEMENT: b64encode(canonical_json(statement)),
            HEADER_SIGNATURE: self._keys.sign(signing_input(DOMAIN_CAPTURE, statement)).hex(),
            HEADER_METADATA: b64encode(metadata),
            "Content-Type": "application/octet-stream",
        }
        answer = self._request("PUT", f"{API_PREFIX}/sessions/{session_id}/captures/{seq}",
                               f"capture {capture.capture_id}", data=payload, headers=headers)
        with self._lock:
            attempts[capture.capture_id] = self._local.attempts
        self._raise_if_signature_rejected(answer, phase="capture", seq=seq, capture_id=capture.capture_id)
        if answer.status == 201:
            return ("accepted", digest, len(payload))
        if answer.code == "replayed_request" and answer.error.get("already_accepted") is True:
            return ("accepted", digest, len(payload))  # our earlier attempt landed; its answer was lost
        return ("failed", f"HTTP {answer.status} {answer.code}: {answer.message}", 0)

    def _close(self, session_id: str, flight_id: str, accepted: dict[int, tuple[str, str]]) -> dict[str, Any] | None:
        entries = [(seq, cid, digest) for seq, (cid, digest) in accepted.items()]
        statement = {
            "session_id": session_id, "flight_id": flight_id, "accepted_count": len(entries),
            "captures_digest": captures_digest(entries), "closed_unix_ns": self._clock.unix_ns(),
        }
        signature = self._keys.sign(signing_input(DOMAIN_CLOSE, statement))
        answer = self._request("POST", f"{API_PREFIX}/sessions/{session_id}/close", "close session",
                               json={"statement": statement, "signature": signature.hex()})
        self._raise_if_signature_rejected(answer, phase="close")
        if answer.status == 200:
            return dict(answer.body.get("receipt") or {})
        if answer.code == "replayed_request" and answer.error.get("already_accepted") is True:
            return dict(answer.error.get("receipt") or {})
        raise UploadError(f"ingest service refused the session summary: HTTP {answer.status} {answer.code} "
                          f"{answer.message}")
