"""C13 flight data recorder: writer thread, segments, header/footer, capacity cap, reader/recover/export.

    writer = FileFdrWriter(cfg, on_rotation=CapacityCapPolicy(cfg.fdr.flight_cap_bytes), gcs_alert=send)
    writer.start(); writer.open_flight(FlightHeader.now(flight_id, config_snapshot=snap))
    ...
    footer = writer.close_flight(); writer.stop()

    for rec in read_flight_records(flight_dir, kinds={"log"}): ...
    report = scan_flight(flight_dir)   # damage, losses, clean/unclean

Formats: docs/fdr-format.md; usage and figures: docs/fdr.md.
"""

from gps_denied_onboard.components.c13_fdr.errors import (
    FdrConcurrentWriterError,
    FdrError,
    FdrFlightIdMismatchError,
    FdrFormatError,
    FdrHeaderError,
    FdrLifecycleError,
)
from gps_denied_onboard.components.c13_fdr.interface import (
    FlightFooter,
    FlightHeader,
    GcsAlert,
    OsSegmentIO,
    RotationEvent,
    RotationHook,
    SegmentIO,
)
from gps_denied_onboard.components.c13_fdr.policies import CapacityCapPolicy, KindRule, RecordKindPolicy
from gps_denied_onboard.components.c13_fdr.reader import (
    Damage,
    FlightReader,
    FlightReport,
    SegmentReport,
    list_flights,
    read_flight_records,
    scan_flight,
    scan_segment,
)
from gps_denied_onboard.components.c13_fdr.writer import FileFdrWriter

__all__ = [
    "CapacityCapPolicy",
    "Damage",
    "FdrConcurrentWriterError",
    "FdrError",
    "FdrFlightIdMismatchError",
    "FdrFormatError",
    "FdrHeaderError",
    "FdrLifecycleError",
    "FileFdrWriter",
    "FlightFooter",
    "FlightHeader",
    "FlightReader",
    "FlightReport",
    "GcsAlert",
    "KindRule",
    "OsSegmentIO",
    "RecordKindPolicy",
    "RotationEvent",
    "RotationHook",
    "SegmentIO",
    "SegmentReport",
    "list_flights",
    "read_flight_records",
    "scan_flight",
    "scan_segment",
]
