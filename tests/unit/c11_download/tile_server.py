"""A real HTTP tile server on 127.0.0.1 (port 0) for downloader tests: healthy, missing,
failing, flaky, slow and garbage endpoints, with request accounting."""

from __future__ import annotations

import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np


def tile_png(z: int, x: int, y: int) -> bytes:
    """A deterministic 256x256 tile whose pixels encode its address."""
    img = np.zeros((256, 256, 3), dtype=np.uint8)
    img[:, :, 0] = z * 10
    img[:, :, 1] = x % 256
    img[:, :, 2] = y % 256
    cv2.putText(img, f"{x},{y}", (20, 128), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (255, 255, 255), 2)
    ok, enc = cv2.imencode(".png", img)
    assert ok
    return enc.tobytes()


class TileServer:
    """Paths: /<mode>/<z>/<x>/<y>.png with mode in
    ok | missing (404) | fail (500) | flaky (500 for the first `flaky_failures` requests
    per tile) | slow (sleeps `slow_s`) | garbage (200 with a non-image body) |
    oddfail (500 for odd x, ok otherwise) | busy (503 + Retry-After: 0, then ok)."""

    def __init__(self, *, flaky_failures: int = 2, slow_s: float = 1.0, hold_s: float = 0.0) -> None:
        self.flaky_failures = flaky_failures
        self.slow_s = slow_s
        self.hold_s = hold_s  # every ok answer waits this long (to observe concurrency)
        self.requests: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.healed = False
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                with server._lock:
                    server.requests[self.path] += 1
                    count = server.requests[self.path]
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    server._answer(self, count)
                finally:
                    with server._lock:
                        server.in_flight -= 1

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def url(self, mode: str) -> str:
        return f"http://127.0.0.1:{self.port}/{mode}/{{z}}/{{x}}/{{y}}.png"

    def _answer(self, h: BaseHTTPRequestHandler, count: int) -> None:
        parts = h.path.strip("/").split("/")
        try:
            mode, z, x, y = parts[0], int(parts[1]), int(parts[2]), int(parts[3].split(".")[0])
        except (IndexError, ValueError):
            self._send(h, 400, b"bad path")
            return
        if mode == "missing":
            self._send(h, 404, b"no such tile")
        elif mode == "fail" or (mode == "oddfail" and x % 2 and not self.healed):
            self._send(h, 500, b"internal error")
        elif mode == "flaky" and count <= self.flaky_failures:
            self._send(h, 503, b"try again")
        elif mode == "busy" and count == 1:
            self._send(h, 503, b"busy", {"Retry-After": "0"})
        elif mode == "slow":
            time.sleep(self.slow_s)
            self._send(h, 200, tile_png(z, x, y))
        elif mode == "garbage":
            self._send(h, 200, b"<html>not a tile</html>")
        else:
            if self.hold_s:
                time.sleep(self.hold_s)
            self._send(h, 200, tile_png(z, x, y), {"Content-Type": "image/png"})

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            h.send_response(status)
            for k, v in (headers or {}).items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout tests)

    def __enter__(self) -> TileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
