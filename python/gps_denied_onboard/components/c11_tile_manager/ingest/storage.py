"""On-disk state of the reference ingest server: trusted operator keys, sessions,
accepted captures and seen nonces. Everything survives a kill -9: files are
written atomically and journals are appended with fsync; a torn last journal
line is ignored on load.

    <root>/nonces.jsonl                                  session-open nonces already used
    <root>/flights/<flight_id>/captures/<capture_id>.bin  payload (image bytes)
    <root>/flights/<flight_id>/captures/<capture_id>.json metadata as uploaded
    <root>/flights/<flight_id>/sessions/<sid>/session.json
    <root>/flights/<flight_id>/sessions/<sid>/accepted.jsonl
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gps_denied_onboard.components.c11_tile_manager.errors import IngestServerError
from gps_denied_onboard.components.c11_tile_manager.ingest.protocol import ID_PATTERN
from gps_denied_onboard.components.c11_tile_manager.keys import key_id
from gps_denied_onboard.helpers import atomic_write_bytes

STATE_OPEN = "open"
STATE_CLOSED = "closed"
STATE_SUPERSEDED = "superseded"


@dataclass(frozen=True)
class OperatorKey:
    key_id: str
    public_key: bytes
    revoked: bool
    name: str = ""


class OperatorKeyStore:
    """Trusted operator public keys from a JSON file, re-read when it changes (so a
    revocation takes effect without a restart):

        {"operators": [{"public_key_hex": "<32 bytes hex>", "name": "...", "revoked": false}]}
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._keys: dict[str, OperatorKey] = {}
        self.lookup("")  # load now so a bad file fails at startup, not on the first request

    def lookup(self, operator_key_id: str) -> OperatorKey | None:
        with self._lock:
            try:
                st = self._path.stat()
            except OSError as exc:
                raise IngestServerError(f"operator key file {self._path} is unreadable: {exc}") from exc
            if (st.st_mtime_ns, st.st_size) != self._stamp:
                self._keys = self._load()
                self._stamp = (st.st_mtime_ns, st.st_size)
            return self._keys.get(operator_key_id)

    def _load(self) -> dict[str, OperatorKey]:
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
            entries = data["operators"]
            keys: dict[str, OperatorKey] = {}
            for i, entry in enumerate(entries):
                public = bytes.fromhex(entry["public_key_hex"])
                if len(public) != 32:
                    raise ValueError(f"operators[{i}].public_key_hex is {len(public)} bytes, expected 32")
                kid = key_id(public)
                keys[kid] = OperatorKey(kid, public, bool(entry.get("revoked", False)), str(entry.get("name", "")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IngestServerError(f"operator key file {self._path} is invalid: {exc}") from exc
        return keys


@dataclass(frozen=True)
class AcceptedCapture:
    seq: int
    capture_id: str
    payload_sha256: str
    metadata_sha256: str
    statement_sha256: str


@dataclass
class Session:
    session_id: str
    flight_id: str
    flight_public_key: bytes
    operator_key_id: str
    opened_unix_ns: int
    state: str = STATE_OPEN
    close_statement_sha256: str | None = None
    receipt: dict[str, Any] | None = None
    accepted: dict[int, AcceptedCapture] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id, "flight_id": self.flight_id,
            "flight_public_key_hex": self.flight_public_key.hex(), "operator_key_id": self.operator_key_id,
            "opened_unix_ns": self.opened_unix_ns, "state": self.state,
            "close_statement_sha256": self.close_statement_sha256, "receipt": self.receipt,
        }


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            break  # torn tail from a kill mid-append; everything before it is intact
    return out


def _append_jsonl(path: Path, obj: dict[str, Any]) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(obj, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


class IngestStorage:
    """Sessions, nonces and accepted captures, in memory and on disk. Callers hold `lock`
    around every read-check-write sequence."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        try:
            (self.root / "flights").mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise IngestServerError(f"cannot create ingest storage at {self.root}: {exc}") from exc
        self.lock = threading.RLock()
        self.nonces: set[str] = {e["nonce"] for e in _read_jsonl(self.root / "nonces.jsonl") if "nonce" in e}
        self.sessions: dict[str, Session] = {}
        self.flight_captures: dict[str, dict[str, str]] = {}
        self._load()

    def _load(self) -> None:
        for flight_dir in sorted((self.root / "flights").iterdir()):
            if not ID_PATTERN.match(flight_dir.name):
                continue
            captures = self.flight_captures.setdefault(flight_dir.name, {})
            for session_dir in sorted((flight_dir / "sessions").glob("*")):
                try:
                    data = json.loads((session_dir / "session.json").read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    continue  # a session whose creation did not complete never answered its open
                session = Session(
                    data["session_id"], data["flight_id"], bytes.fromhex(data["flight_public_key_hex"]),
                    data["operator_key_id"], data["opened_unix_ns"], data["state"],
                    data.get("close_statement_sha256"), data.get("receipt"),
                )
                for entry in _read_jsonl(session_dir / "accepted.jsonl"):
                    accepted = AcceptedCapture(**entry)
                    session.accepted[accepted.seq] = accepted
                    captures[accepted.capture_id] = accepted.payload_sha256
                self.sessions[session.session_id] = session

    def _session_dir(self, session: Session) -> Path:
        return self.root / "flights" / session.flight_id / "sessions" / session.session_id

    def captures_dir(self, flight_id: str) -> Path:
        return self.root / "flights" / flight_id / "captures"

    def use_nonce(self, nonce: str) -> None:
        self.nonces.add(nonce)
        _append_jsonl(self.root / "nonces.jsonl", {"nonce": nonce})

    def create_session(self, session: Session) -> None:
        """Persist a new open session; any other open session of the flight is superseded."""
        for other in self.sessions.values():
            if other.flight_id == session.flight_id and other.state == STATE_OPEN:
                other.state = STATE_SUPERSEDED
                self.save_session(other)
        self._session_dir(session).mkdir(parents=True, exist_ok=True)
        self.captures_dir(session.flight_id).mkdir(parents=True, exist_ok=True)
        self.save_session(session)
        self.sessions[session.session_id] = session
        self.flight_captures.setdefault(session.flight_id, {})

    def save_session(self, session: Session) -> None:
        atomic_write_bytes(self._session_dir(session) / "session.json",
                           json.dumps(session.to_json(), sort_keys=True).encode())

    def accept_capture(self, session: Session, accepted: AcceptedCapture, payload: bytes, metadata: bytes) -> None:
        """Store the capture's files, then journal the acceptance (the commit point)."""
        directory = self.captures_dir(session.flight_id)
        atomic_write_bytes(directory / f"{accepted.capture_id}.bin", payload)
        atomic_write_bytes(directory / f"{accepted.capture_id}.json", metadata)
        _append_jsonl(self._session_dir(session) / "accepted.jsonl", accepted.__dict__)
        session.accepted[accepted.seq] = accepted
        self.flight_captures[session.flight_id][accepted.capture_id] = accepted.payload_sha256
