"""`operator upload` and `operator ingest-server`: post-flight capture upload (C11).

Exit codes of `operator upload`: 0 every capture is at the service and the session
is closed; 1 some captures failed or the service stayed unreachable (rerun to
resume); 2 usage; 4 the vehicle is not confirmed on the ground; 5 the service
rejected a signature or key.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from gps_denied_onboard.capture_store import STORE_FORMAT, CaptureStore, CaptureStoreError
from gps_denied_onboard.components.c11_tile_manager import (
    FlightStateGate,
    FlightStateNotOnGroundError,
    IngestServerError,
    JsonlRecordSink,
    LandedStateSnapshot,
    LandedStateSource,
    SignatureRejectedError,
    UploadError,
)
from gps_denied_onboard.components.c11_tile_manager.ingest import IngestServer, IngestServerConfig
from gps_denied_onboard.components.c11_tile_manager.keys import load_operator_private_key
from gps_denied_onboard.components.c11_tile_manager.uploader import TileUploader, UploadConfig
from gps_denied_onboard.helpers import atomic_write_text
from gps_denied_onboard.logging import configure_logging

EXIT_OK = 0
EXIT_INCOMPLETE = 1
EXIT_USAGE = 2
EXIT_NOT_ON_GROUND = 4
EXIT_SIGNATURE_REJECTED = 5


def mavlink_landed_state_reader(connection: str, wait_s: float) -> Callable[[], LandedStateSnapshot | None]:
    """A reader of the vehicle's landed state over MAVLink (EXTENDED_SYS_STATE), for
    `LandedStateSource`. It heartbeats as a GCS so a `udpout:` autopilot answers, and
    returns None when nothing arrives within `wait_s`."""

    def read() -> LandedStateSnapshot | None:
        from pymavlink import mavutil

        link = mavutil.mavlink_connection(connection, source_system=255, source_component=190)
        try:
            deadline = time.monotonic() + wait_s
            while time.monotonic() < deadline:
                link.mav.heartbeat_send(mavutil.mavlink.MAV_TYPE_GCS, mavutil.mavlink.MAV_AUTOPILOT_INVALID, 0, 0, 0)
                msg = link.recv_match(type="EXTENDED_SYS_STATE", blocking=True,
                                      timeout=min(0.5, max(0.01, deadline - time.monotonic())))
                if msg is not None:
                    return LandedStateSnapshot(int(msg.landed_state), time.monotonic_ns())
            return None
        finally:
            link.close()

    return read


def _find_store(flight: Path) -> Path:
    for candidate in (flight, flight / "captures"):
        if (candidate / "store.json").is_file():
            return candidate
    raise CaptureStoreError(f"{flight}: no capture store ({STORE_FORMAT}) here or in {flight / 'captures'}")


def upload_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="operator upload",
        description="Upload a flight's in-flight captures to the parent ingest service, after landing. "
                    "Refuses unless the autopilot reports the vehicle on the ground. Rerun to resume.",
    )
    parser.add_argument("--flight", required=True, type=Path, help="the flight's capture store (or its parent)")
    parser.add_argument("--to", required=True, metavar="URL", help="ingest service base URL, e.g. https://host:8443")
    parser.add_argument("--operator-key", required=True, type=Path,
                        help="operator Ed25519 private key (PKCS#8 PEM, or 32-byte seed raw/hex)")
    parser.add_argument("--mavlink", required=True, metavar="CONN",
                        help="autopilot link for the landed state (pymavlink string, e.g. udpin:0.0.0.0:14550)")
    parser.add_argument("--mavlink-wait", type=float, default=5.0, metavar="S",
                        help="how long to wait for the landed state (default 5 s)")
    parser.add_argument("--concurrency", type=int, default=4, help="parallel uploads (default 4)")
    parser.add_argument("--attempts", type=int, default=8, help="tries per request before giving up (default 8)")
    parser.add_argument("--timeout", type=float, default=30.0, metavar="S", help="per-request timeout (default 30 s)")
    parser.add_argument("--audit-log", type=Path, help="JSONL audit records (default <store>/upload/audit.jsonl)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    configure_logging("WARNING")
    try:
        config = UploadConfig(url=args.to, concurrency=args.concurrency, max_attempts=args.attempts,
                              timeout_s=args.timeout)
        root = _find_store(args.flight)
    except (ValueError, CaptureStoreError) as exc:
        print(f"operator upload: {exc}", file=sys.stderr)
        return EXIT_USAGE
    sink = JsonlRecordSink(args.audit_log or root / "upload" / "audit.jsonl")
    source = LandedStateSource(mavlink_landed_state_reader(args.mavlink, args.mavlink_wait),
                               max_age_s=max(3.0, args.mavlink_wait))
    gate = FlightStateGate(source)
    try:
        # TileUploader.upload checks the gate before the per-flight key or the network.
        store = CaptureStore(root, read_only=True)
        uploader = TileUploader(gate=gate, operator_key=load_operator_private_key(args.operator_key),
                                config=config, sink=sink, progress_bar=not args.no_progress)
        report = uploader.upload(store)
    except FlightStateNotOnGroundError as exc:
        print(f"operator upload: {exc}", file=sys.stderr)
        return EXIT_NOT_ON_GROUND
    except SignatureRejectedError as exc:
        print(f"operator upload: {exc}", file=sys.stderr)
        return EXIT_SIGNATURE_REJECTED
    except (UploadError, CaptureStoreError) as exc:
        print(f"operator upload: {exc}\nrerun the same command to resume", file=sys.stderr)
        return EXIT_INCOMPLETE
    print(report.summary())
    return EXIT_OK if report.complete else EXIT_INCOMPLETE


def ingest_server_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="operator ingest-server",
        description="Run the reference ingest service (docs/contracts/ingest-api.yaml) with on-disk storage.",
    )
    parser.add_argument("--storage", required=True, type=Path, help="where accepted captures and sessions are kept")
    parser.add_argument("--operator-keys", required=True, type=Path,
                        help='trusted operator keys: {"operators": [{"public_key_hex", "name", "revoked"}]}')
    parser.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="listen port; 0 picks a free one (default 8080)")
    parser.add_argument("--port-file", type=Path, help="write the bound port here once listening")
    parser.add_argument("--max-body-bytes", type=int, default=32 * 1024 * 1024, help="largest capture accepted")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    args = parser.parse_args(argv)
    configure_logging(args.log_level)
    try:
        config = IngestServerConfig(storage_root=args.storage, operator_keys_path=args.operator_keys,
                                    host=args.host, port=args.port, max_body_bytes=args.max_body_bytes)
        server = IngestServer(config)
    except (ValueError, IngestServerError) as exc:
        print(f"operator ingest-server: {exc}", file=sys.stderr)
        return EXIT_USAGE

    def stop(signum: int, frame: FrameType | None) -> None:
        del frame
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, stop)
    if args.port_file:
        atomic_write_text(args.port_file, f"{server.port}\n")
    print(f"ingest server listening on {server.url} (pid {os.getpid()})", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return EXIT_OK
