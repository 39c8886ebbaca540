"""Helpers of the upload tests: operator keys, trust files, capture stores, raw API calls."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from gps_denied_onboard.capture_store import CaptureMetadata, CaptureStore
from gps_denied_onboard.components.c11_tile_manager.ingest.protocol import (
    DOMAIN_CAPTURE,
    DOMAIN_CLOSE,
    DOMAIN_OPEN,
    HEADER_METADATA,
    HEADER_SIGNATURE,
    HEADER_STATEMENT,
    b64encode,
    canonical_json,
    captures_digest,
    sha256_hex,
    signing_input,
)
from gps_denied_onboard.components.c11_tile_manager.keys import key_id, public_key_bytes

FLIGHT = "9d3c1f7a-52b4-4c1e-8a0f-3e6b2d9c4f01"
PNG = b"\x89PNG\r\n\x1a\n"


def write_pem(key: Ed25519PrivateKey, path: Path) -> Path:
    path.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    return path


def write_trust(path: Path, keys: list[Ed25519PrivateKey], revoked: tuple[Ed25519PrivateKey, ...] = ()) -> Path:
    entries = [{"public_key_hex": public_key_bytes(k).hex(), "name": f"op{i}", "revoked": k in revoked}
               for i, k in enumerate(keys)]
    path.write_text(json.dumps({"operators": entries}))
    os.utime(path, ns=(time.time_ns(), time.time_ns()))
    return path


def make_store(root: Path, count: int, size: int = 4096, flight_id: str = FLIGHT) -> CaptureStore:
    store = CaptureStore(root, flight_id=flight_id)
    for i in range(count):
        meta = CaptureMetadata(
            frame_time_ns=1_000_000_000 + i * 100_000_000, lat_deg=50.45 + i * 1e-4, lon_deg=30.52,
            cov_nn=4.0, cov_ne=0.0, cov_ee=4.0, gsd_m=0.3,
            footprint=((50.451, 30.519), (50.451, 30.521), (50.449, 30.521), (50.449, 30.519)),
            image_format="png", width=64, height=48,
        )
        store.put(meta, PNG + os.urandom(size))
    return CaptureStore(root, read_only=True)


class RawClient:
    """Speaks the ingest API directly, so tests can play the attacker."""

    def __init__(self, url: str, operator: Ed25519PrivateKey) -> None:
        self.url = url
        self.operator = operator
        self.flight_key = Ed25519PrivateKey.generate()
        self.session_id = ""
        self.flight_id = FLIGHT

    def open_request(self, *, issued_unix_ns: int | None = None) -> dict[str, Any]:
        statement = {
            "api_version": 1, "flight_id": self.flight_id,
            "flight_public_key_hex": public_key_bytes(self.flight_key).hex(),
            "operator_key_id": key_id(public_key_bytes(self.operator)),
            "issued_unix_ns": time.time_ns() if issued_unix_ns is None else issued_unix_ns,
            "nonce_hex": uuid.uuid4().hex,
        }
        return {"statement": statement,
                "operator_signature": self.operator.sign(signing_input(DOMAIN_OPEN, statement)).hex()}

    def post_open(self, body: dict[str, Any]) -> requests.Response:
        response = requests.post(f"{self.url}/v1/sessions", json=body, timeout=5)
        if response.status_code == 201:
            self.session_id = response.json()["session_id"]
        return response

    def open(self) -> requests.Response:
        return self.post_open(self.open_request())

    def capture_request(self, seq: int, payload: bytes, metadata: bytes = b'{"m":1}',
                        capture_id: str | None = None, key: Ed25519PrivateKey | None = None) -> dict[str, Any]:
        statement = {
            "session_id": self.session_id, "flight_id": self.flight_id, "seq": seq,
            "capture_id": capture_id or f"cap{seq:04d}", "payload_sha256": sha256_hex(payload),
            "payload_len": len(payload), "metadata_sha256": sha256_hex(metadata),
        }
        signer = key or self.flight_key
        headers = {HEADER_STATEMENT: b64encode(canonical_json(statement)),
                   HEADER_SIGNATURE: signer.sign(signing_input(DOMAIN_CAPTURE, statement)).hex(),
                   HEADER_METADATA: b64encode(metadata)}
        return {"url": f"{self.url}/v1/sessions/{self.session_id}/captures/{seq}", "headers": headers, "data": payload}

    @staticmethod
    def send(request: dict[str, Any]) -> requests.Response:
        return requests.put(request["url"], headers=request["headers"], data=request["data"], timeout=5)

    def close_request(self, entries: list[tuple[int, str, str]]) -> dict[str, Any]:
        statement = {"session_id": self.session_id, "flight_id": self.flight_id, "accepted_count": len(entries),
                     "captures_digest": captures_digest(entries), "closed_unix_ns": time.time_ns()}
        return {"statement": statement,
                "signature": self.flight_key.sign(signing_input(DOMAIN_CLOSE, statement)).hex()}

    def close(self, body: dict[str, Any]) -> requests.Response:
        return requests.post(f"{self.url}/v1/sessions/{self.session_id}/close", json=body, timeout=5)


def error_code(response: requests.Response) -> str:
    return str(response.json()["error"]["code"])


class ServerProcess:
    """`operator ingest-server` in a child process (so a test can kill -9 it)."""

    def __init__(self, storage: Path, trust: Path, port: int = 0) -> None:
        self.storage, self.trust = storage, trust
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ServerProcess:
        port_file = self.storage.parent / f"port-{uuid.uuid4().hex}"
        code = ("import sys; from gps_denied_onboard.runtime_root.operator_upload import ingest_server_main; "
                "sys.exit(ingest_server_main(sys.argv[1:]))")
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, "--storage", str(self.storage), "--operator-keys", str(self.trust),
             "--port", str(self.port), "--port-file", str(port_file), "--log-level", "WARNING"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 20
        while not port_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ingest server did not start: {self.proc.stderr.read() if self.proc.stderr else ''}")
            time.sleep(0.02)
        self.port = int(port_file.read_text())
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and self.proc.stderr is not None:
            self.proc.stderr.close()


class TamperingProxy:
    """A man in the middle on loopback: forwards every request to `upstream`, flipping
    the last byte of the body of the `tamper_put`-th capture PUT (1-based)."""

    def __init__(self, upstream_port: int, tamper_put: int) -> None:
        import http.client
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        state = {"puts": 0}
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                del format, args

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.command == "PUT":
                    with lock:
                        state["puts"] += 1
                        hit = state["puts"] == tamper_put
                    if hit:
                        body = body[:-1] + bytes([body[-1] ^ 0x01])
                conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=10)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                conn.request(self.command, self.path, body=body, headers=headers)
                answer = conn.getresponse()
                data = answer.read()
                conn.close()
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _forward  # noqa: N815

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
