"""C11 tile manager (operator only): tile download, post-flight upload of captures, per-flight signing keys, flight-state gate."""

from gps_denied_onboard.components.c11_tile_manager.errors import (
    FlightStateNotOnGroundError,
    IngestServerError,
    SessionNotActiveError,
    SignatureRejectedError,
    TileManagerError,
    UploadError,
)
from gps_denied_onboard.components.c11_tile_manager.flight_state import (
    FlightStateGate,
    FlightStateSignal,
    FlightStateSource,
    FlightStateSourceError,
    LandedStateSnapshot,
    LandedStateSource,
    ScriptedFlightStateSource,
)
from gps_denied_onboard.components.c11_tile_manager.keys import PerFlightKeyManager
from gps_denied_onboard.components.c11_tile_manager.records import (
    KIND_SESSION_KEY_PUBLIC,
    KIND_SIGNATURE_REJECTED,
    KIND_UPLOAD_REPORT,
    JsonlRecordSink,
    RecordSink,
)

__all__ = [
    "TileManagerError",
    # post-flight upload
    "KIND_SESSION_KEY_PUBLIC",
    "KIND_SIGNATURE_REJECTED",
    "KIND_UPLOAD_REPORT",
    "FlightStateGate",
    "FlightStateNotOnGroundError",
    "FlightStateSignal",
    "FlightStateSource",
    "FlightStateSourceError",
    "IngestServerError",
    "JsonlRecordSink",
    "LandedStateSnapshot",
    "LandedStateSource",
    "PerFlightKeyManager",
    "RecordSink",
    "ScriptedFlightStateSource",
    "SessionNotActiveError",
    "SignatureRejectedError",
    "UploadError",
]
