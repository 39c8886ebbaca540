"""Persisted highest accepted manifest version per signing key (rollback protection).

TUF's rule: never accept a version lower than the trusted one, and persist the
highest seen. The state file is small JSON written atomically.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from gps_denied_onboard.components.c4_map_cache.errors import CacheLayoutError
from gps_denied_onboard.helpers import AtomicWriteError, atomic_write_text


class AcceptedVersionStore:
    """`{key_id: highest accepted version}` in one JSON file; thread-safe within a process."""

    def __init__(self, path: str | Path) -> None:
        self._path = Path(path)
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        return self._path

    def _load(self) -> dict[str, int]:
        try:
            text = self._path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise CacheLayoutError(str(self._path), f"cannot read the accepted-version state: {exc.strerror}") from exc
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            # A corrupt state file must not silently reset rollback protection to zero.
            raise CacheLayoutError(str(self._path), f"accepted-version state is not JSON: {exc.msg}") from exc
        if not isinstance(doc, dict) or not all(isinstance(v, int) for v in doc.values()):
            raise CacheLayoutError(str(self._path), "accepted-version state must map key ids to integers")
        return {str(k): int(v) for k, v in doc.items()}

    def highest(self, key_id: str) -> int:
        """The highest version accepted from `key_id` (0 when none)."""
        with self._lock:
            return self._load().get(key_id, 0)

    def accept(self, key_id: str, version: int) -> None:
        """Record `version` for `key_id` if it is higher than the stored one."""
        with self._lock:
            state = self._load()
            if version <= state.get(key_id, 0):
                return
            state[key_id] = version
            self._path.parent.mkdir(parents=True, exist_ok=True)
            try:
                atomic_write_text(self._path, json.dumps(state, sort_keys=True, indent=1) + "\n")
            except AtomicWriteError as exc:
                raise CacheLayoutError(str(self._path), f"cannot persist the accepted version: {exc}") from exc
