"""The in-flight capture store (airborne side): orthorectified, georeferenced captures
kept, bounded and crash-safe, for post-flight upload by the operator binary (C11)."""

from gps_denied_onboard.capture_store.errors import (
    CaptureExistsError,
    CaptureStoreError,
    CaptureStoreFormatError,
    CaptureTooLargeError,
    CaptureValueError,
    CaptureWriteError,
)
from gps_denied_onboard.capture_store.metadata import CaptureMetadata
from gps_denied_onboard.capture_store.store import (
    KIND_DROPPED,
    KIND_EVICTED,
    KIND_RECOVERED,
    KIND_WRITTEN,
    STORE_FORMAT,
    CaptureStore,
    CaptureStoreStats,
    EvictionPolicy,
    PutResult,
    RecordSink,
    StoredCapture,
)

__all__ = [
    "KIND_DROPPED",
    "KIND_EVICTED",
    "KIND_RECOVERED",
    "KIND_WRITTEN",
    "STORE_FORMAT",
    "CaptureExistsError",
    "CaptureMetadata",
    "CaptureStore",
    "CaptureStoreError",
    "CaptureStoreFormatError",
    "CaptureStoreStats",
    "CaptureTooLargeError",
    "CaptureValueError",
    "CaptureWriteError",
    "EvictionPolicy",
    "PutResult",
    "RecordSink",
    "StoredCapture",
]
