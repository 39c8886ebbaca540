"""`recover` (a clean copy of everything readable) and MCAP export of a flight."""

from __future__ import annotations

import calendar
import datetime as dt
import json
import os
from dataclasses import dataclass
from typing import Any

from gps_denied_onboard.components.c13_fdr.errors import FdrFormatError
from gps_denied_onboard.components.c13_fdr.interface import FlightFooter, FlightHeader
from gps_denied_onboard.components.c13_fdr.reader import FlightReader, FlightReport
from gps_denied_onboard.components.c13_fdr.segments import FlightSegments, record_body
from gps_denied_onboard.config.sections.fdr import FdrConfig
from gps_denied_onboard.fdr_client.registry import kind_json_schema


@dataclass(frozen=True)
class RecoverResult:
    """What `recover_flight` did: the source's report, the copy's footer, and whether anything was lost."""

    source: FlightReport
    footer: FlightFooter
    records_copied: int

    @property
    def lost_anything(self) -> bool:
        return not self.source.clean


def recover_flight(src: str, dst: str, config: FdrConfig | None = None) -> RecoverResult:
    """Write a clean copy of every readable record of flight `src` into the new flight directory `dst`.

    The copy starts with an `fdr.recovered` record describing what the source
    lost; its footer says `clean_shutdown` only if the source was clean.
    """
    cfg = config or FdrConfig()
    if os.path.exists(dst) and os.listdir(dst):
        raise FdrFormatError(dst, 0, "recover destination exists and is not empty")
    reader = FlightReader(src)
    report = reader.scan()  # first pass: what was lost (needed for the leading record)
    header = report.header or FlightHeader(os.path.basename(os.path.normpath(src)), "unknown", 0)
    os.makedirs(dst, exist_ok=True)
    seg = FlightSegments(dst, header, segment_bytes=cfg.segment_bytes, resync_interval_bytes=cfg.resync_interval_bytes)
    seg.open()
    seg.emit("fdr.recovered", {
        "source": os.path.abspath(src), "damage": [d.to_json() for d in report.damages],
        "records_lost": report.records_lost, "bytes_lost": report.bytes_lost,
        "loss_unknown": report.loss_unknown, "missing_segments": report.unexplained_missing})
    copied = 0
    dropped_overrun = 0
    for rec in FlightReader(src).records():
        seg.add_record(record_body(rec.producer_id, rec.seq, rec.ts, rec.kind, rec.payload, rec.flags))
        if rec.kind == "fdr.overrun" and isinstance(rec.payload, dict):
            dropped_overrun += int(rec.payload.get("dropped_count", 0))
        copied += 1
        if seg.buffered_records >= 512:
            seg.flush()
    if report.footer is not None:
        dropped_overrun = report.footer.records_dropped_overrun
    footer = seg.close(dropped_overrun, clean_shutdown=report.clean)
    return RecoverResult(report, footer, copied)


def _mcap_payload(rec_json: dict[str, Any]) -> bytes:
    return json.dumps(rec_json, separators=(",", ":"), allow_nan=False, default=repr).encode("utf-8")


def _wall_offset_ns(header: FlightHeader | None) -> int:
    """monotonic ns -> Unix ns, from the header's paired start stamps (0 when unknown)."""
    if header is None:
        return 0
    try:
        started = dt.datetime.strptime(header.flight_started_at_iso, "%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError:
        return 0
    unix_ns = calendar.timegm(started.utctimetuple()) * 10**9 + started.microsecond * 1000
    return unix_ns - header.flight_started_at_monotonic_ns


def export_mcap(src: str, out_path: str) -> tuple[int, FlightReport]:
    """Export a flight to MCAP: one channel per (producer, kind), topic "/<producer>/<kind>",
    JSON messages with JSON-schema schemas (Foxglove opens it). Message times are wall
    clock (Unix ns, from the header's paired start stamps); each message keeps the
    record's monotonic `ts`. Returns (messages, report)."""
    from mcap.writer import CompressionType, Writer  # operator-side dependency, imported on use

    reader = FlightReader(src)
    count = 0
    with open(out_path, "wb") as fh:
        writer = Writer(fh, compression=CompressionType.NONE)
        writer.start(profile="", library="gps_denied_onboard fdr export")
        schemas: dict[str, int] = {}
        channels: dict[tuple[str, str], int] = {}
        offset: int | None = None
        for rec in reader.records():
            key = (rec.producer_id, rec.kind)
            channel_id = channels.get(key)
            if channel_id is None:
                schema_id = schemas.get(rec.kind)
                if schema_id is None:
                    schema = json.dumps(kind_json_schema(rec.kind)).encode("utf-8")
                    schema_id = writer.register_schema(name=rec.kind, encoding="jsonschema", data=schema)
                    schemas[rec.kind] = schema_id
                channel_id = writer.register_channel(topic=f"/{rec.producer_id}/{rec.kind}",
                                                     message_encoding="json", schema_id=schema_id)
                channels[key] = channel_id
            msg = {"schema_version": rec.schema_version, "ts": rec.ts, "producer_id": rec.producer_id,
                   "kind": rec.kind, "seq": rec.seq, "flags": list(rec.flags), "payload": rec.payload}
            if offset is None:
                offset = _wall_offset_ns(reader.report.header)
            ts = max(0, rec.ts + offset)
            writer.add_message(channel_id, log_time=ts, data=_mcap_payload(msg), publish_time=ts,
                               sequence=rec.seq & 0xFFFFFFFF if rec.seq >= 0 else 0)
            count += 1
        if reader.report.header is not None:
            writer.add_metadata("flight_header", {k: json.dumps(v) if not isinstance(v, str) else v
                                                  for k, v in reader.report.header.to_json().items()})
        writer.finish()
    return count, reader.report
