"""FDR client: what every producer uses to put records into the flight data recorder.

    from gps_denied_onboard.fdr_client import make_fdr_client, EnqueueResult
    fdr = make_fdr_client("c7_geo_registration")        # cached per producer id
    fdr.enqueue("c7.fix", {"lat": 50.1, "lon": 30.2})   # never blocks; OK or OVERRUN

Record kinds and their payload keys live in one table, `fdr_client/kinds.py`.
The writer (c13_fdr) is the single consumer of every client.
Record envelope contract: docs/contracts/fdr-record-schema.md.
"""

from gps_denied_onboard.fdr_client.client import MARKER_SEQ, OVERRUN_KIND, ClientStats, FdrClient, RawRecord
from gps_denied_onboard.fdr_client.errors import FdrClientError, FdrSpscViolationError
from gps_denied_onboard.fdr_client.factory import (
    FdrClientRegistry,
    capacity_from_config,
    default_client_registry,
    make_fdr_client,
)
from gps_denied_onboard.fdr_client.kind_spec import KindSpec
from gps_denied_onboard.fdr_client.log_bridge import FdrLogBridge, install_log_bridge, uninstall_log_bridge
from gps_denied_onboard.fdr_client.overrun import DefaultOverrunPolicy, OverrunHook
from gps_denied_onboard.fdr_client.record import FDR_PRODUCER_ID, FDR_RECORD_SCHEMA_VERSION, EnqueueResult, FdrRecord
from gps_denied_onboard.fdr_client.registry import kind_json_schema, kind_spec, normalize_payload

__all__ = [
    "FDR_PRODUCER_ID",
    "FDR_RECORD_SCHEMA_VERSION",
    "MARKER_SEQ",
    "OVERRUN_KIND",
    "ClientStats",
    "DefaultOverrunPolicy",
    "EnqueueResult",
    "FdrClient",
    "FdrClientError",
    "FdrClientRegistry",
    "FdrLogBridge",
    "FdrRecord",
    "FdrSpscViolationError",
    "KindSpec",
    "OverrunHook",
    "RawRecord",
    "capacity_from_config",
    "default_client_registry",
    "install_log_bridge",
    "kind_json_schema",
    "kind_spec",
    "make_fdr_client",
    "normalize_payload",
    "uninstall_log_bridge",
]
