"""THE central registry of FDR record kinds: one entry per kind, one obvious table.

To add a kind, add one line to `KINDS` (keep it sorted by owner) and bump the
minor version in docs/contracts/fdr-record-schema.md when you add or change a
kind. A kind missing from this table is still recorded, flagged
`unregistered_kind`, and warned about; it never crashes the producer.

Field types are JSON-schema type names; fields are required unless listed in
`optional`. Unknown payload keys are kept under `payload["extra"]`.
"""

from __future__ import annotations

from gps_denied_onboard.fdr_client.kind_spec import KindSpec

KINDS: dict[str, KindSpec] = {
    # ---- the recorder itself (producer "fdr") -------------------------------------------
    "fdr.overrun": KindSpec(
        doc="records of a producer were lost to ring overrun (drop-oldest); counts are exact",
        fields={"producer_id": "string", "dropped_count": "integer", "first_seq": "integer", "last_seq": "integer"},
    ),
    "segment_rollover": KindSpec(
        doc="the capacity cap deleted the oldest closed segment(s) of this flight",
        fields={"deleted_segments": "array", "deleted_bytes": "integer", "flight_bytes_on_disk": "integer",
                "cap_bytes": "integer", "rollover_count": "integer", "deleted_through_segment": "integer"},
    ),
    "fdr.kind_policy_dropped": KindSpec(
        doc="the record-kind policy dropped records of one kind (configured drop or rate limit)",
        fields={"producer_id": "string", "record_kind": "string", "dropped_count": "integer", "reason": "string"},
    ),
    "fdr.degraded_recovered": KindSpec(
        doc="the writer could write again after a storage failure; records dropped meanwhile",
        fields={"dropped_records": "integer", "errno": "integer", "error": "string", "degraded_ns": "integer"},
    ),
    "fdr.recovered": KindSpec(
        doc="this flight is a copy written by `fdr recover`; what the source had lost",
        fields={"source": "string", "damage": "array", "records_lost": "integer", "bytes_lost": "integer",
                "loss_unknown": "boolean", "missing_segments": "array"},
        optional=frozenset({"loss_unknown", "missing_segments"}),
    ),
    "fdr.log_bridge_dropped": KindSpec(
        doc="WARN/ERROR log records the log bridge could not forward (queue saturated or contended)",
        fields={"dropped_count": "integer"},
    ),
    # ---- log bridge (WARN and ERROR only) ------------------------------------------------
    "log": KindSpec(
        doc="a WARNING/ERROR/CRITICAL log record in the structured log schema (LOG_SCHEMA_VERSION)",
        fields={"log_schema": "string", "level": "string", "component": "string", "event": "string",
                "msg": "string", "kv": "object", "frame": "integer", "exc": "object", "logger": "string",
                "thread": "string"},
        optional=frozenset({"frame", "exc"}),
    ),
    # ---- components: add your kinds below ------------------------------------------------
    # ---- c2_fc_link (producers "c2_fc_link" = service thread, "c2_fc_link.out" = output) --
    "c2.position_out": KindSpec(
        doc="one position sent to the autopilot (every configured message), with capture->send latency",
        fields={"valid_ns": "integer", "capture_ns": "integer", "sent_ns": "integer", "latency_ns": "integer",
                "messages": "array", "fix_type": "integer", "lat": "number", "lon": "number", "alt_msl": "number",
                "horiz_accuracy": "number", "health": "string", "source": "string"},
    ),
    "c2.link_state": KindSpec(
        doc="the autopilot link went down (nothing valid for fc_link.link_timeout_s) or came back",
        fields={"up": "boolean", "link_drops": "integer", "link_returns": "integer"},
    ),
    "c2.bad_data": KindSpec(
        doc="malformed MAVLink from the autopilot (CRC, framing, unknown id); rate-limited, counts exact",
        fields={"reason": "string", "suppressed": "integer", "bad_messages": "integer"},
    ),
    "c2.telemetry_rejected": KindSpec(
        doc="a decoded telemetry value was refused (NaN attitude, absurd altitude); rate-limited",
        fields={"msg_type": "string", "reason": "string", "suppressed": "integer"},
    ),
    "c2.statustext": KindSpec(
        doc="an alert sent to the GCS as STATUSTEXT (MAV_SEVERITY)",
        fields={"severity": "integer", "text": "string"},
    ),
    # ---- airborne runtime (runtime_root; producers "runtime", "c1_camera.vision", "runtime.output")
    "runtime.started": KindSpec(
        doc="the airborne runtime started: camera, link and outputs in use",
        fields={"flight_id": "string", "camera": "string", "link": "string", "outputs": "array"},
    ),
    "runtime.stopped": KindSpec(
        doc="the airborne runtime stopped (clean shutdown): its counters",
        fields={"frames_in": "integer", "frames_dropped": "integer", "frames_processed": "integer",
                "positions_sent": "integer", "worker_errors": "integer", "restarts": "integer",
                "stalls_reported": "integer"},
    ),
    "runtime.frame": KindSpec(
        doc="one frame through the vision thread: queue wait, processing time, registration verdict",
        fields={"capture_ns": "integer", "index": "integer", "processing_ms": "number", "queue_ms": "number",
                "attempted": "boolean", "accepted": "boolean", "reason": "string", "source": "string",
                "health": "string"},
    ),
    "runtime.latency": KindSpec(
        doc="capture -> first position message sent for one frame",
        fields={"capture_ns": "integer", "sent_ns": "integer", "latency_ms": "number"},
    ),
    "runtime.health": KindSpec(
        doc="the navigation health reported to the autopilot/GCS changed (reason empty when OK)",
        fields={"health": "string", "reason": "string"},
    ),
    "runtime.position_reset": KindSpec(
        doc="MAV_CMD_EXTERNAL_POSITION_ESTIMATE sent (action request|recovery) or a reset request expired"
            " with no healthy output (action request_expired, position fields NaN)",
        fields={"action": "string", "valid_ns": "integer", "lat_deg": "number", "lon_deg": "number",
                "horiz_sigma_m": "number"},
    ),
    "runtime.thread_stall": KindSpec(
        doc="a worker thread stalled or died; what the supervisor did about it",
        fields={"thread": "string", "age_s": "number", "action": "string"},
    ),
    "runtime.thread_recovered": KindSpec(
        doc="a stalled worker thread is looping again",
        fields={"thread": "string"},
    ),
    "runtime.worker_error": KindSpec(
        doc="an exception at a worker's boundary (the worker went on)",
        fields={"thread": "string", "error": "string"},
    ),
    "c2.timesync": KindSpec(
        doc="first TIMESYNC estimate of the autopilot clock offset (autopilot - companion), and after resets",
        fields={"offset_ns": "integer", "rtt_ns": "integer", "resets": "integer"},
    ),
    # ---- capture_store (airborne: in-flight captures kept for post-flight upload) ---------
    "capture_store.written": KindSpec(
        doc="a georeferenced capture was stored (atomically); store totals after the write",
        fields={"flight_id": "string", "capture_id": "string", "frame_time_ns": "integer", "bytes": "integer",
                "lat_deg": "number", "lon_deg": "number", "gsd_m": "number", "horizontal_variance_m2": "number",
                "store_count": "integer", "store_bytes": "integer", "evicted": "array"},
    ),
    "capture_store.evicted": KindSpec(
        doc="a stored capture was evicted to stay within the store's bounds (policy: oldest | lowest_quality)",
        fields={"flight_id": "string", "capture_id": "string", "bytes": "integer", "policy": "string",
                "horizontal_variance_m2": "number", "evicted_total": "integer"},
    ),
    "capture_store.dropped": KindSpec(
        doc="a new capture was not stored: worse georeference than every capture it would displace",
        fields={"flight_id": "string", "capture_id": "string", "bytes": "integer", "reason": "string",
                "horizontal_variance_m2": "number"},
    ),
    "capture_store.recovered": KindSpec(
        doc="torn capture files (a write interrupted by a crash) were removed when the store was reopened",
        fields={"flight_id": "string", "orphans_removed": "integer"},
    ),
    # ---- c11_tile_manager upload (operator: post-flight) ---------------------------------
    "c11.upload.session.key.public": KindSpec(
        doc="the public half of a flight's ephemeral Ed25519 upload key, at session start",
        fields={"flight_id": "string", "algorithm": "string", "public_key_hex": "string", "key_id": "string"},
    ),
    "c11.upload.signature_rejected": KindSpec(
        doc="the ingest service rejected a signature or key of this flight's upload (error code, HTTP status)",
        fields={"flight_id": "string", "key_id": "string", "code": "string", "http_status": "integer",
                "detail": "string"},
    ),
    "c11.upload.report": KindSpec(
        doc="the outcome of one upload run of a flight's captures",
        fields={"flight_id": "string", "session_id": "string", "total": "integer", "uploaded": "integer",
                "already_accepted": "integer", "failed": "integer", "retries": "integer", "bytes_sent": "integer"},
    ),
    # ---- localization pipeline (producer "localization": C7 fixes, C9 decisions) ----------
    "c7.fix": KindSpec(
        doc="one registration attempt of a frame (t_ns = capture time): accepted into the filter or refused, why",
        fields={"t_ns": "integer", "accepted": "boolean", "mode": "string", "reason": "string", "lat": "number",
                "lon": "number", "cov": "array", "score": "number", "distinctiveness": "number", "inliers": "integer"},
        optional=frozenset({"reason", "lat", "lon", "cov", "score", "distinctiveness", "inliers"}),
    ),
    "c9.gnss_disagreement": KindSpec(
        doc="a GNSS position disagreed with vision beyond its claimed accuracy (spoofing/jamming flag raised)",
        fields={"t_ns": "integer", "lat": "number", "lon": "number", "sigma_m": "number"},
    ),
}
