"""Where c11 upload writes its audit records: a `RecordSink` (the FDR client's
`enqueue(kind, payload)` surface) and the record kinds it emits.

The FDR client (`gps_denied_onboard.fdr_client`) satisfies `RecordSink`; on the
ground workstation, where no FDR writer drains a client, `JsonlRecordSink` keeps
the same records durably as JSON lines next to the flight's captures.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from gps_denied_onboard.clock import Clock, WallClock

KIND_SESSION_KEY_PUBLIC = "c11.upload.session.key.public"
KIND_SIGNATURE_REJECTED = "c11.upload.signature_rejected"
KIND_UPLOAD_REPORT = "c11.upload.report"


@runtime_checkable
class RecordSink(Protocol):
    """Accepts one record; must not block (the FDR client's `enqueue`)."""

    def enqueue(self, kind: str, payload: Mapping[str, Any]) -> Any:
        """Record `payload` under `kind`; the return value is sink-specific."""
        ...


class JsonlRecordSink:
    """Appends each record as one JSON line (`{"ts", "kind", "payload"}`) to `path`,
    flushed and fsynced per record so an interrupted upload keeps its audit trail."""

    def __init__(self, path: str | os.PathLike[str], clock: Clock | None = None) -> None:
        self._path = Path(path)
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock or WallClock()
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        return self._path

    def enqueue(self, kind: str, payload: Mapping[str, Any]) -> None:
        line = json.dumps({"ts": self._clock.wall_iso(), "kind": kind, "payload": dict(payload)},
                          sort_keys=True, default=repr)
        with self._lock, open(self._path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())
