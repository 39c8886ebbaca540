"""The ingest API (contract: docs/contracts/ingest-api.yaml) and its reference server."""

from gps_denied_onboard.components.c11_tile_manager.ingest.protocol import (
    API_VERSION,
    SIGNATURE_REJECTION_CODES,
    ErrorCode,
)
from gps_denied_onboard.components.c11_tile_manager.ingest.server import (
    IngestServer,
    IngestServerConfig,
    IngestService,
)
from gps_denied_onboard.components.c11_tile_manager.ingest.storage import OperatorKeyStore

__all__ = [
    "API_VERSION",
    "SIGNATURE_REJECTION_CODES",
    "ErrorCode",
    "IngestServer",
    "IngestServerConfig",
    "IngestService",
    "OperatorKeyStore",
]
