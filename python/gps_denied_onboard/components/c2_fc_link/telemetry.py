"""Decoded MAVLink telemetry -> validated, timestamped samples.

Each handler checks the values it reads (finite, physically plausible) and
returns a reason string when it rejects a message; the link counts and records
rejections but never raises on bad data from the autopilot.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from gps_denied_onboard.components.c2_fc_link.interface import (
    AltitudeSample,
    AttitudeSample,
    ImuSample,
    LandedState,
    PressureSample,
    TelemetrySnapshot,
    TimedValue,
)
from gps_denied_onboard.components.c2_fc_link.timesync import ClockOffsetEstimator

MAV_SENSOR_ROTATION_PITCH_270 = 25  # a downward-facing rangefinder
MAV_TYPE_GCS = 6
MAV_AUTOPILOT_INVALID = 8
MAX_ALT_M = 20_000.0
MIN_ALT_M = -1_000.0


def _finite(*values: float) -> bool:
    return all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)


def euler_from_quaternion(w: float, x: float, y: float, z: float) -> tuple[float, float, float]:
    """(roll, pitch, yaw) ZYX Euler angles of a body->NED quaternion (Hamilton, w first)."""
    norm = math.sqrt(w * w + x * x + y * y + z * z)
    if not norm > 1e-6:
        raise ValueError("zero quaternion")
    w, x, y, z = w / norm, x / norm, y / norm, z / norm
    roll = math.atan2(2.0 * (w * x + y * z), 1.0 - 2.0 * (x * x + y * y))
    pitch = math.asin(max(-1.0, min(1.0, 2.0 * (w * y - z * x))))
    yaw = math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))
    return roll, pitch, yaw


def pressure_altitude_m(press_hpa: float) -> float:
    """ISA pressure altitude (m) of a static pressure in hPa."""
    return 44330.77 * (1.0 - (press_hpa / 1013.25) ** 0.190263)


class TelemetryState:
    """The latest valid telemetry; updated by the link's receive thread, read by anyone."""

    def __init__(self, offsets: ClockOffsetEstimator, now_ns: Callable[[], int], unix_ns: Callable[[], int]) -> None:
        self._offsets = offsets
        self._now_ns = now_ns
        self._unix_ns = unix_ns
        self._lock = threading.Lock()
        self._snap = TelemetrySnapshot(taken_ns=0, link_up=False)
        self._listeners: list[Callable[[TimedValue], None]] = []
        self._handlers: dict[str, Callable[[Any, int], str | None]] = {
            "HEARTBEAT": self._heartbeat,
            "ATTITUDE": self._attitude,
            "ATTITUDE_QUATERNION": self._attitude_quaternion,
            "GLOBAL_POSITION_INT": self._global_position_int,
            "VFR_HUD": self._vfr_hud,
            "SCALED_PRESSURE": self._scaled_pressure,
            "DISTANCE_SENSOR": self._distance_sensor,
            "HIGHRES_IMU": self._highres_imu,
            "SCALED_IMU": self._scaled_imu,
            "EXTENDED_SYS_STATE": self._extended_sys_state,
            "SYSTEM_TIME": self._system_time,
        }

    def add_listener(self, fn: Callable[[TimedValue], None]) -> None:
        """`fn(sample)` for every accepted attitude / altitude sample, on the link's
        thread: it must be quick and must not raise (e.g. append to a bounded deque)."""
        self._listeners.append(fn)

    def _emit(self, sample: TimedValue) -> None:
        for fn in self._listeners:
            fn(sample)

    def handles(self, msg_type: str) -> bool:
        return msg_type in self._handlers

    def apply(self, msg: Any, receipt_ns: int) -> str | None:
        """Update from one decoded message; returns a rejection reason or None."""
        handler = self._handlers.get(msg.get_type())
        if handler is None:
            return None
        return handler(msg, receipt_ns)

    def snapshot(self, link_up: bool) -> TelemetrySnapshot:
        est = self._offsets.estimate()
        with self._lock:
            return replace(
                self._snap,
                taken_ns=self._now_ns(),
                link_up=link_up,
                altitudes=dict(self._snap.altitudes),
                clock_offset_ns=None if est is None else est.offset_ns,
                clock_offset_rtt_ns=None if est is None else est.rtt_ns,
            )

    # ---- handlers --------------------------------------------------------------------

    def _capture_ns(self, time_boot_ms: int, receipt_ns: int) -> int:
        return self._offsets.to_local_ns(int(time_boot_ms) * 1_000_000, receipt_ns)

    def _update(self, **changes: Any) -> None:
        with self._lock:
            self._snap = replace(self._snap, **changes)

    def _set_altitude(self, sample: AltitudeSample) -> None:
        with self._lock:
            alts = dict(self._snap.altitudes)
            alts[sample.source] = sample
            self._snap = replace(self._snap, altitudes=alts)
        self._emit(sample)

    def _heartbeat(self, msg: Any, receipt_ns: int) -> str | None:
        if msg.type == MAV_TYPE_GCS or msg.autopilot == MAV_AUTOPILOT_INVALID:
            return "heartbeat from a non-autopilot"
        self._update(
            autopilot_type=int(msg.autopilot),
            vehicle_type=int(msg.type),
            system_status=int(msg.system_status),
            armed=bool(msg.base_mode & 128),  # MAV_MODE_FLAG_SAFETY_ARMED
            last_heartbeat_ns=receipt_ns,
        )
        return None

    def _attitude(self, msg: Any, receipt_ns: int) -> str | None:
        if not _finite(msg.roll, msg.pitch, msg.yaw):
            return "non-finite attitude"
        if abs(msg.roll) > 2 * math.pi or abs(msg.pitch) > math.pi or abs(msg.yaw) > 2 * math.pi:
            return "attitude out of range"
        cap = self._capture_ns(msg.time_boot_ms, receipt_ns)
        sample = AttitudeSample(cap, receipt_ns, float(msg.roll), float(msg.pitch), float(msg.yaw))
        self._update(attitude=sample)
        self._emit(sample)
        return None

    def _attitude_quaternion(self, msg: Any, receipt_ns: int) -> str | None:
        if not _finite(msg.q1, msg.q2, msg.q3, msg.q4):
            return "non-finite attitude quaternion"
        try:
            roll, pitch, yaw = euler_from_quaternion(msg.q1, msg.q2, msg.q3, msg.q4)
        except ValueError:
            return "zero attitude quaternion"
        cap = self._capture_ns(msg.time_boot_ms, receipt_ns)
        sample = AttitudeSample(cap, receipt_ns, roll, pitch, yaw)
        self._update(attitude=sample)
        self._emit(sample)
        return None

    def _global_position_int(self, msg: Any, receipt_ns: int) -> str | None:
        rel = msg.relative_alt / 1000.0
        msl = msg.alt / 1000.0
        if not (MIN_ALT_M <= rel <= MAX_ALT_M and MIN_ALT_M <= msl <= MAX_ALT_M):
            return "altitude out of range"
        cap = self._capture_ns(msg.time_boot_ms, receipt_ns)
        self._set_altitude(AltitudeSample(cap, receipt_ns, "relative", rel))
        self._set_altitude(AltitudeSample(cap, receipt_ns, "msl", msl))
        return None

    def _vfr_hud(self, msg: Any, receipt_ns: int) -> str | None:
        if not _finite(msg.alt) or not MIN_ALT_M <= msg.alt <= MAX_ALT_M:
            return "VFR_HUD altitude invalid"
        self._set_altitude(AltitudeSample(receipt_ns, receipt_ns, "baro", float(msg.alt)))
        return None

    def _scaled_pressure(self, msg: Any, receipt_ns: int) -> str | None:
        if not _finite(msg.press_abs) or not 100.0 <= msg.press_abs <= 1200.0:
            return "pressure out of range"
        cap = self._capture_ns(msg.time_boot_ms, receipt_ns)
        self._update(pressure=PressureSample(cap, receipt_ns, float(msg.press_abs), msg.temperature / 100.0))
        self._set_altitude(AltitudeSample(cap, receipt_ns, "pressure", pressure_altitude_m(float(msg.press_abs))))
        return None

    def _distance_sensor(self, msg: Any, receipt_ns: int) -> str | None:
        if msg.orientation != MAV_SENSOR_ROTATION_PITCH_270:
            return None  # not a downward rangefinder: not an altitude
        if not msg.min_distance <= msg.current_distance <= msg.max_distance:
            return "rangefinder reading outside its valid range"
        cap = self._capture_ns(msg.time_boot_ms, receipt_ns)
        self._set_altitude(AltitudeSample(cap, receipt_ns, "range", msg.current_distance / 100.0))
        return None

    def _highres_imu(self, msg: Any, receipt_ns: int) -> str | None:
        values = (msg.xacc, msg.yacc, msg.zacc, msg.xgyro, msg.ygyro, msg.zgyro)
        if not _finite(*values):
            return "non-finite IMU"
        cap = self._offsets.to_local_ns(int(msg.time_usec) * 1000, receipt_ns)
        self._update(imu=ImuSample(cap, receipt_ns, (msg.xacc, msg.yacc, msg.zacc), (msg.xgyro, msg.ygyro, msg.zgyro)))
        return None

    def _scaled_imu(self, msg: Any, receipt_ns: int) -> str | None:
        g = 9.80665
        acc = (msg.xacc * g / 1000.0, msg.yacc * g / 1000.0, msg.zacc * g / 1000.0)
        gyro = (msg.xgyro / 1000.0, msg.ygyro / 1000.0, msg.zgyro / 1000.0)
        cap = self._capture_ns(msg.time_boot_ms, receipt_ns)
        self._update(imu=ImuSample(cap, receipt_ns, acc, gyro))
        return None

    def _extended_sys_state(self, msg: Any, receipt_ns: int) -> str | None:
        self._update(landed_state=LandedState.from_mavlink(msg.landed_state), landed_state_code=int(msg.landed_state),
                     landed_state_ns=receipt_ns)
        return None

    def _system_time(self, msg: Any, receipt_ns: int) -> str | None:
        self._offsets.add_one_way(int(msg.time_boot_ms) * 1_000_000, receipt_ns)
        if msg.time_unix_usec > 0:
            self._update(fc_unix_offset_ns=int(msg.time_unix_usec) * 1000 - self._unix_ns())
        return None
