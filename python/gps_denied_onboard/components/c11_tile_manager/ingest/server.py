"""The reference ingest server: the ingest API (docs/contracts/ingest-api.yaml) over
the standard library's ThreadingHTTPServer, with on-disk storage.

It verifies every signature, and refuses, each with its own error code: unknown
or revoked operator keys, a bad operator or flight signature, a payload or
metadata that does not match its signed hash, a statement bound to another
session/flight/sequence number, a replayed session-open nonce or sequence
number, a stale open, a closed or superseded session, and bodies over the limit.
"""

from __future__ import annotations

import json
import os
import re
import threading
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gps_denied_onboard.clock import Clock, WallClock
from gps_denied_onboard.components.c11_tile_manager.errors import IngestServerError
from gps_denied_onboard.components.c11_tile_manager.ingest.protocol import (
    API_PREFIX,
    API_VERSION,
    DOMAIN_CAPTURE,
    DOMAIN_CLOSE,
    DOMAIN_OPEN,
    HEADER_METADATA,
    HEADER_SIGNATURE,
    HEADER_STATEMENT,
    HTTP_STATUS,
    ErrorCode,
    ProtocolError,
    b64decode,
    canonical_json,
    captures_digest,
    error_body,
    hex_bytes,
    require_id,
    sha256_hex,
    signing_input,
)
from gps_denied_onboard.components.c11_tile_manager.ingest.storage import (
    STATE_CLOSED,
    STATE_OPEN,
    AcceptedCapture,
    IngestStorage,
    OperatorKeyStore,
    Session,
)
from gps_denied_onboard.logging import get_logger

_log = get_logger("c11_tile_manager")
_CAPTURE_PATH = re.compile(rf"^{API_PREFIX}/sessions/([^/]+)/captures/(\d{{1,9}})$")
_CLOSE_PATH = re.compile(rf"^{API_PREFIX}/sessions/([^/]+)/close$")
_SESSION_PATH = re.compile(rf"^{API_PREFIX}/sessions/([^/]+)$")
MAX_JSON_BODY = 64 * 1024


@dataclass(frozen=True)
class IngestServerConfig:
    """Where the server keeps its data and whom it trusts."""

    storage_root: Path
    operator_keys_path: Path
    host: str = "127.0.0.1"
    port: int = 0
    max_body_bytes: int = 32 * 1024 * 1024
    max_clock_skew_s: float = 600.0

    def __post_init__(self) -> None:
        if self.max_body_bytes <= 0:
            raise ValueError(f"max_body_bytes must be > 0, got {self.max_body_bytes}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be in [0, 65535], got {self.port}")


Response = tuple[int, dict[str, Any]]


def _verify(public_key: bytes, signature_hex: Any, message: bytes, code: ErrorCode, what: str) -> None:
    signature = hex_bytes(signature_hex, what, 64)
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except InvalidSignature:
        raise ProtocolError(code, f"{what} does not verify") from None


def _json_object(body: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise ProtocolError(ErrorCode.MALFORMED_REQUEST, f"{what} is not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise ProtocolError(ErrorCode.MALFORMED_REQUEST, f"{what} must be a JSON object")
    return value


class IngestService:
    """The API's logic without HTTP: each handler returns (status, JSON body) or raises ProtocolError."""

    def __init__(self, config: IngestServerConfig, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock or WallClock()
        self.keys = OperatorKeyStore(config.operator_keys_path)
        self.storage = IngestStorage(config.storage_root)

    def open_session(self, body: bytes) -> Response:
        request = _json_object(body, "session-open body")
        statement = request.get("statement")
        if not isinstance(statement, dict):
            raise ProtocolError(ErrorCode.MALFORMED_REQUEST, "session-open needs a 'statement' object")
        if statement.get("api_version") != API_VERSION:
            raise ProtocolError(ErrorCode.UNSUPPORTED_API_VERSION,
                                f"api_version={statement.get('api_version')!r}, this server speaks {API_VERSION}")
        flight_id = require_id(statement.get("flight_id"), "flight_id")
        operator_key_id = statement.get("operator_key_id")
        operator = self.keys.lookup(operator_key_id) if isinstance(operator_key_id, str) else None
        if operator is None:
            raise ProtocolError(ErrorCode.UNKNOWN_OPERATOR_KEY, f"operator key {operator_key_id!r:.80} is not trusted")
        if operator.revoked:
            raise ProtocolError(ErrorCode.REVOKED_OPERATOR_KEY, f"operator key {operator.key_id} is revoked")
        _verify(operator.public_key, request.get("operator_signature"), signing_input(DOMAIN_OPEN, statement),
                ErrorCode.BAD_OPERATOR_SIGNATURE, "operator_signature")
        flight_public_key = hex_bytes(statement.get("flight_public_key_hex"), "flight_public_key_hex", 32)
        issued = statement.get("issued_unix_ns")
        if not isinstance(issued, int) or isinstance(issued, bool):
            raise ProtocolError(ErrorCode.MALFORMED_REQUEST, "issued_unix_ns must be an integer")
        skew_s = abs(self.clock.unix_ns() - issued) / 1e9
        if skew_s > self.config.max_clock_skew_s:
            raise ProtocolError(ErrorCode.STALE_REQUEST,
                                f"session-open issued {skew_s:.0f} s from server time (max {self.config.max_clock_skew_s:.0f})")
        nonce = hex_bytes(statement.get("nonce_hex"), "nonce_hex", 16).hex()
        with self.storage.lock:
            if nonce in self.storage.nonces:
                raise ProtocolError(ErrorCode.REPLAYED_REQUEST, "this session-open nonce was already used")
            self.storage.use_nonce(nonce)
            session = Session(uuid.uuid4().hex, flight_id, flight_public_key, operator.key_id, self.clock.unix_ns())
            self.storage.create_session(session)
            accepted = dict(self.storage.flight_captures.get(flight_id, {}))
        _log.info("ingest session opened", kind="c11.ingest.session_opened", session_id=session.session_id,
                  flight_id=flight_id, operator_key_id=operator.key_id, already_accepted=len(accepted))
        return 201, {"api_version": API_VERSION, "session_id": session.session_id, "flight_id": flight_id,
                     "accepted_captures": accepted, "max_body_bytes": self.config.max_body_bytes}

    def _session(self, session_id: str) -> Session:
        session = self.storage.sessions.get(session_id)
        if session is None:
            raise ProtocolError(ErrorCode.UNKNOWN_SESSION, f"no session {session_id!r:.80}")
        operator = self.keys.lookup(session.operator_key_id)
        if operator is None or operator.revoked:  # revocation also cuts sessions already open
            raise ProtocolError(ErrorCode.REVOKED_OPERATOR_KEY,
                                f"operator key {session.operator_key_id} of this session is no longer trusted")
        return session

    def put_capture(self, session_id: str, seq: int, headers: Any, body: bytes) -> Response:
        statement_b64 = headers.get(HEADER_STATEMENT)
        if not statement_b64:
            raise ProtocolError(ErrorCode.MALFORMED_REQUEST, f"missing {HEADER_STATEMENT} header")
        statement_bytes = b64decode(statement_b64, HEADER_STATEMENT)
        statement = _json_object(statement_bytes, HEADER_STATEMENT)
        if not headers.get(HEADER_METADATA):
            raise ProtocolError(ErrorCode.MALFORMED_REQUEST, f"missing {HEADER_METADATA} header")
        metadata = b64decode(headers[HEADER_METADATA], HEADER_METADATA)
        _json_object(metadata, HEADER_METADATA)
        with self.storage.lock:
            session = self._session(session_id)
            if session.state != STATE_OPEN:
                raise ProtocolError(ErrorCode.SESSION_CLOSED, f"session {session_id} is {session.state}")
            _verify(session.flight_public_key, headers.get(HEADER_SIGNATURE),
                    signing_input(DOMAIN_CAPTURE, statement), ErrorCode.BAD_SIGNATURE, HEADER_SIGNATURE)
            bound = {"session_id": session_id, "flight_id": session.flight_id, "seq": seq}
            wrong = {k: statement.get(k) for k, v in bound.items() if statement.get(k) != v}
            if wrong:
                raise ProtocolError(ErrorCode.SESSION_MISMATCH, f"statement is bound elsewhere: {wrong!r:.200}")
            if (statement.get("payload_sha256") != sha256_hex(body) or statement.get("payload_len") != len(body)
                    or statement.get("metadata_sha256") != sha256_hex(metadata)):
                raise ProtocolError(ErrorCode.PAYLOAD_HASH_MISMATCH,
                                    f"seq {seq}: payload or metadata does not match the signed hashes")
            statement_sha = sha256_hex(canonical_json(statement))
            previous = session.accepted.get(seq)
            if previous is not None:
                raise ProtocolError(ErrorCode.REPLAYED_REQUEST, f"seq {seq} of session {session_id} was already used",
                                    already_accepted=previous.statement_sha256 == statement_sha)
            capture_id = require_id(statement.get("capture_id"), "capture_id")
            if capture_id in self.storage.flight_captures.get(session.flight_id, {}):
                raise ProtocolError(ErrorCode.CAPTURE_ALREADY_ACCEPTED,
                                    f"capture {capture_id} of flight {session.flight_id} is already stored")
            accepted = AcceptedCapture(seq, capture_id, statement["payload_sha256"],
                                       statement["metadata_sha256"], statement_sha)
            self.storage.accept_capture(session, accepted, body, metadata)
        return 201, {"status": "accepted", "seq": seq, "capture_id": capture_id}

    def close_session(self, session_id: str, body: bytes) -> Response:
        request = _json_object(body, "close body")
        statement = request.get("statement")
        if not isinstance(statement, dict):
            raise ProtocolError(ErrorCode.MALFORMED_REQUEST, "close needs a 'statement' object")
        with self.storage.lock:
            session = self._session(session_id)
            _verify(session.flight_public_key, request.get("signature"), signing_input(DOMAIN_CLOSE, statement),
                    ErrorCode.BAD_SIGNATURE, "signature")
            statement_sha = sha256_hex(canonical_json(statement))
            if session.state == STATE_CLOSED:
                if statement_sha == session.close_statement_sha256:
                    raise ProtocolError(ErrorCode.REPLAYED_REQUEST, "session already closed by this statement",
                                        already_accepted=True, receipt=session.receipt)
                raise ProtocolError(ErrorCode.SESSION_CLOSED, f"session {session_id} is closed")
            if session.state != STATE_OPEN:
                raise ProtocolError(ErrorCode.SESSION_CLOSED, f"session {session_id} is {session.state}")
            if statement.get("session_id") != session_id or statement.get("flight_id") != session.flight_id:
                raise ProtocolError(ErrorCode.SESSION_MISMATCH, "close statement is bound to another session")
            entries = [(a.seq, a.capture_id, a.payload_sha256) for a in session.accepted.values()]
            digest = captures_digest(entries)
            if statement.get("accepted_count") != len(entries) or statement.get("captures_digest") != digest:
                raise ProtocolError(ErrorCode.SUMMARY_MISMATCH,
                                    f"summary says {statement.get('accepted_count')!r} captures, server holds {len(entries)}"
                                    " (or their digest differs)")
            session.state = STATE_CLOSED
            session.close_statement_sha256 = statement_sha
            session.receipt = {"session_id": session_id, "flight_id": session.flight_id,
                               "accepted_count": len(entries), "captures_digest": digest,
                               "flight_captures_total": len(self.storage.flight_captures[session.flight_id]),
                               "closed_unix_ns": self.clock.unix_ns()}
            self.storage.save_session(session)
        _log.info("ingest session closed", kind="c11.ingest.session_closed", **session.receipt)
        return 200, {"status": "closed", "receipt": session.receipt}

    def session_status(self, session_id: str) -> Response:
        with self.storage.lock:
            session = self._session(session_id)
            return 200, {"session_id": session_id, "flight_id": session.flight_id, "state": session.state,
                         "accepted_seqs": sorted(session.accepted)}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, the client's delayed
    # ACK stalls every keep-alive response by ~40 ms.
    disable_nagle_algorithm = True
    server: _HttpServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (stdlib signature)
        del format, args  # requests are logged as structured records instead

    def _send(self, status: int, body: dict[str, Any] | bytes) -> None:
        data = body if isinstance(body, bytes) else canonical_json(body)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def _read_body(self, limit: int) -> bytes:
        length_text = self.headers.get("Content-Length")
        if length_text is None or not length_text.isdigit():
            self.close_connection = True  # we cannot know where this request ends
            raise ProtocolError(ErrorCode.LENGTH_REQUIRED, "Content-Length is required")
        length = int(length_text)
        if length > limit:
            self.close_connection = True  # the unread body must not be parsed as the next request
            raise ProtocolError(ErrorCode.BODY_TOO_LARGE, f"body of {length} bytes exceeds the limit of {limit}")
        body = self.rfile.read(length)
        self._body_read = True
        if len(body) != length:
            self.close_connection = True
            raise ProtocolError(ErrorCode.MALFORMED_REQUEST, f"body ended after {len(body)} of {length} bytes")
        return body

    def _dispatch(self, method: str) -> None:
        service = self.server.service
        path = self.path.split("?", 1)[0]
        self._body_read = False
        try:
            if method == "GET" and path == f"{API_PREFIX}/health":
                status, out = 200, {"status": "ok", "api_version": API_VERSION}
            elif method == "GET" and (m := _SESSION_PATH.match(path)):
                status, out = service.session_status(m.group(1))
            elif method == "POST" and path == f"{API_PREFIX}/sessions":
                status, out = service.open_session(self._read_body(MAX_JSON_BODY))
            elif method == "PUT" and (m := _CAPTURE_PATH.match(path)):
                body = self._read_body(service.config.max_body_bytes)
                status, out = service.put_capture(m.group(1), int(m.group(2)), self.headers, body)
            elif method == "POST" and (m := _CLOSE_PATH.match(path)):
                status, out = service.close_session(m.group(1), self._read_body(MAX_JSON_BODY))
            else:
                raise ProtocolError(ErrorCode.NOT_FOUND, f"no such endpoint: {method} {path}")
        except ProtocolError as exc:
            if not self._body_read and self.headers.get("Content-Length", "0") != "0":
                self.close_connection = True  # an unread body must not be parsed as the next request
            _log.warning("ingest request refused", kind="c11.ingest.refused", code=exc.code.value,
                         method=method, path=path, reason=str(exc))
            self._send(HTTP_STATUS[exc.code], error_body(exc.code, str(exc), **exc.detail))
            return
        except (OSError, IngestServerError) as exc:  # storage or trust-file failure: the client retries later
            _log.error("ingest storage failure", kind="c11.ingest.storage_failed", path=path, error=str(exc))
            self._send(500, error_body(ErrorCode.INTERNAL_ERROR, "storage failure"))
            return
        self._send(status, out)

    def do_GET(self) -> None:  # noqa: N802  (stdlib naming)
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch("PUT")


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    service: IngestService


class IngestServer:
    """The reference ingest server. `start()` serves on a background thread;
    `serve_forever()` in the calling thread; `close()` stops and frees the port."""

    def __init__(self, config: IngestServerConfig, clock: Clock | None = None) -> None:
        self.service = IngestService(config, clock)
        try:
            self._httpd = _HttpServer((config.host, config.port), _Handler)
        except OSError as exc:
            raise IngestServerError(f"cannot listen on {config.host}:{config.port}: {exc}") from exc
        self._httpd.service = self.service
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.service.config.host}:{self.port}"

    def start(self) -> IngestServer:
        # A short poll interval keeps close() quick; the cost is an idle wake-up every 50 ms.
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="ingest-server", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def close(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> IngestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def storage_files(root: str | os.PathLike[str], flight_id: str) -> list[Path]:
    """The capture payload files the server holds for a flight (for reports and tests)."""
    return sorted((Path(root) / "flights" / flight_id / "captures").glob("*.bin"))
