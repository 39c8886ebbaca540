"""`AutopilotEmulator`: a MAVLink autopilot on UDP loopback for rehearsal and tests.

It replays a flight's telemetry at the flight's own sample times (ATTITUDE per
attitude sample, GLOBAL_POSITION_INT / VFR_HUD / SCALED_PRESSURE per altitude
sample, HIGHRES_IMU capped in rate, HEARTBEAT / SYSTEM_TIME / EXTENDED_SYS_STATE /
TIMESYNC at 1 Hz), answers TIMESYNC, and judges every position message it gets
(GPS_INPUT, GLOBAL_POSITION_SENSOR, ODOMETRY): fields, timestamps and an EKF-style
innovation gate against the truth (`gate.py`). Faults (`FaultPlan`): link drop,
garbage bytes, NaN attitude, delayed and reordered packets.

Clocks: the flight's dataset time d is replayed at monotonic time
start_ns + (d - track.t0_ns); positions are stamped by the companion in GPS time
(UTC), which the emulator maps back with its own UTC-monotonic offset (same host).
"""

from __future__ import annotations

import heapq
import math
import random
import select
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pymavlink.dialects.v20 import ardupilotmega as mav2

from gps_denied_onboard.autopilot_emulator.gate import GateConfig, field_problems, innovation_gate
from gps_denied_onboard.autopilot_emulator.report import EmulatorReport, PositionJudgement
from gps_denied_onboard.autopilot_emulator.track import FlightTrack
from gps_denied_onboard.clock import Clock, WallClock

GPS_EPOCH_UNIX_MS = 315_964_800_000
GPS_LEAP_MS = 18_000
WEEK_MS = 604_800_000


@dataclass(frozen=True)
class FaultPlan:
    """Faults on the emulated link; windows are (start_s, end_s) after replay start."""

    drop_windows_s: tuple[tuple[float, float], ...] = ()
    garbage_windows_s: tuple[tuple[float, float], ...] = ()
    garbage_rate_hz: float = 50.0
    nan_attitude_windows_s: tuple[tuple[float, float], ...] = ()
    delay_s: float = 0.0
    reorder_prob: float = 0.0
    seed: int = 0


@dataclass(frozen=True)
class EmulatorConfig:
    autopilot: str = "ardupilot"  # or "px4": only the HEARTBEAT's autopilot type differs
    system_id: int = 1
    component_id: int = 1
    host: str = "127.0.0.1"
    port: int = 0
    imu_rate_cap_hz: float = 50.0
    rangefinder: bool = False
    gate: GateConfig = field(default_factory=GateConfig)


def _in_windows(t_s: float, windows: tuple[tuple[float, float], ...]) -> bool:
    return any(a <= t_s < b for a, b in windows)


class AutopilotEmulator:
    """Start with `start()`, stop with `stop()`, read the verdict with `report()`."""

    def __init__(self, track: FlightTrack, cfg: EmulatorConfig | None = None, faults: FaultPlan | None = None,
                 clock: Clock | None = None) -> None:
        self._track = track
        self._cfg = cfg or EmulatorConfig()
        self._faults = faults or FaultPlan()
        self._clock = clock or WallClock()
        self._rng = random.Random(self._faults.seed)
        self._mav = mav2.MAVLink(None, srcSystem=self._cfg.system_id, srcComponent=self._cfg.component_id)
        self._mav.robust_parsing = True
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((self._cfg.host, self._cfg.port))
        self._sock.setblocking(False)
        self._peer: tuple[str, int] | None = None
        self._lock = threading.Lock()
        self._tx_lock = threading.Lock()
        self._stop = threading.Event()
        self.replay_done = threading.Event()
        self._threads: list[threading.Thread] = []
        self._boot_ns = self._clock.monotonic_ns()
        self._start_ns = 0
        self._link_down_manual = False
        self._delayed: list[tuple[int, int, bytes]] = []
        self._held: bytes | None = None
        self._seq = 0
        self._judgements: list[PositionJudgement] = []
        self._counts: dict[str, int] = {}
        self._statustexts: list[tuple[int, str]] = []
        self._problems: list[str] = []
        self._bad_frames = 0
        self._companion_heartbeats = 0
        self._ext_estimates = 0
        self._sent = 0
        self._dropped = 0
        self._garbage = 0
        self._origin: tuple[float, float, float] | None = None
        self._last_position: tuple[float, float] = (0.0, 0.0)

    # ---- lifecycle ---------------------------------------------------------------------

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._sock.getsockname()[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        """The URL the companion's link should use (`fc_link.url`)."""
        host, port = self.address
        return f"udpout:{host}:{port}"

    @property
    def start_ns(self) -> int:
        return self._start_ns

    def start(self, start_ns: int | None = None) -> int:
        """Begin the replay; dataset time t0 maps to monotonic `start_ns` (default now).
        Returns that start time so a camera replay can use the same mapping."""
        self._start_ns = self._clock.monotonic_ns() if start_ns is None else start_ns
        for name, target in (("emu-rx", self._rx_loop), ("emu-tx", self._tx_loop)):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self._start_ns

    def stop(self) -> EmulatorReport:
        self._stop.set()
        for thread in self._threads:
            thread.join(2.0)
        self._sock.close()
        return self.report()

    def set_link_down(self, down: bool) -> None:
        """Drop everything both ways while `down` (a live link-drop fault)."""
        self._link_down_manual = down

    def mono_from_flight(self, flight_ns: int) -> int:
        return self._start_ns + (flight_ns - self._track.t0_ns)

    def flight_from_mono(self, mono_ns: int) -> int:
        return self._track.t0_ns + (mono_ns - self._start_ns)

    def report(self) -> EmulatorReport:
        with self._lock:
            return EmulatorReport(
                judgements=tuple(self._judgements), counts=dict(self._counts), statustexts=tuple(self._statustexts),
                bad_frames=self._bad_frames, companion_heartbeats=self._companion_heartbeats,
                external_position_estimates=self._ext_estimates, sent_telemetry=self._sent,
                dropped_by_fault=self._dropped, garbage_sent=self._garbage, field_problems=tuple(self._problems))

    # ---- transmit ----------------------------------------------------------------------

    def _elapsed_s(self, now: int) -> float:
        return (now - self._start_ns) / 1e9

    def _link_down(self, now: int) -> bool:
        return self._link_down_manual or _in_windows(self._elapsed_s(now), self._faults.drop_windows_s)

    def _emit(self, data: bytes, now: int) -> None:
        with self._tx_lock:  # the rx thread answers TIMESYNC while the tx thread replays
            self._emit_locked(data, now)

    def _emit_locked(self, data: bytes, now: int) -> None:
        if self._link_down(now):
            self._dropped += 1
            return
        if self._faults.delay_s > 0:
            jitter = self._rng.uniform(0.0, self._faults.delay_s * 0.5)
            heapq.heappush(self._delayed, (now + int((self._faults.delay_s + jitter) * 1e9), self._seq, data))
            self._seq += 1
            return
        self._send_now(data)

    def _send_now(self, data: bytes) -> None:
        if self._faults.reorder_prob > 0:
            if self._held is None and self._rng.random() < self._faults.reorder_prob:
                self._held = data
                return
            held, self._held = self._held, None
            self._raw_send(data)
            if held is not None:
                self._raw_send(held)
            return
        self._raw_send(data)

    def _raw_send(self, data: bytes) -> None:
        if self._peer is None:
            return
        try:
            self._sock.sendto(data, self._peer)
            self._sent += 1
        except OSError:
            self._dropped += 1

    def _pack(self, msg: Any) -> bytes:
        return bytes(msg.pack(self._mav))

    def _garbage_bytes(self) -> bytes:
        kind = self._rng.randrange(3)
        if kind == 0:
            return bytes(self._rng.randrange(256) for _ in range(self._rng.randrange(1, 80)))
        frame = bytearray(self._pack(self._mav.attitude_encode(self._boot_ms(), 0.1, 0.1, 0.1, 0.0, 0.0, 0.0)))
        if kind == 1:
            pos = self._rng.randrange(1, len(frame))
            frame[pos] ^= 0xFF  # CRC now fails
            return bytes(frame)
        return bytes(frame[: self._rng.randrange(1, len(frame))])  # truncated

    def _boot_ms(self, mono_ns: int | None = None) -> int:
        now = self._clock.monotonic_ns() if mono_ns is None else mono_ns
        return max(0, (now - self._boot_ns) // 1_000_000) & 0xFFFFFFFF

    def _schedule(self) -> Iterator[tuple[int, str, int]]:
        """(flight_ns, stream, index) of every telemetry sample, in time order."""
        tr = self._track
        streams: list[Iterator[tuple[int, str, int]]] = [
            ((int(t), "attitude", i) for i, t in enumerate(tr.attitude.t_ns)),
            ((int(t), "altitude", i) for i, t in enumerate(tr.altitude.t_ns)),
            ((tr.t0_ns + k * 1_000_000_000, "slow", k) for k in range(int((tr.t_end_ns - tr.t0_ns) / 1e9) + 1)),
        ]
        if tr.imu is not None and len(tr.imu) > 1:
            min_dt = 1e9 / self._cfg.imu_rate_cap_hz

            def imu_iter(times: Any = tr.imu.t_ns) -> Iterator[tuple[int, str, int]]:
                last = -math.inf
                for i, t in enumerate(times):
                    if t - last >= min_dt:
                        last = t
                        yield int(t), "imu", i
            streams.append(imu_iter())
        return heapq.merge(*streams)

    def _tx_loop(self) -> None:
        schedule = self._schedule()
        pending = next(schedule, None)
        next_garbage = 0
        next_idle_slow = 0
        while not self._stop.is_set():
            now = self._clock.monotonic_ns()
            with self._tx_lock:
                while self._delayed and self._delayed[0][0] <= now:
                    self._send_now(heapq.heappop(self._delayed)[2])
            if _in_windows(self._elapsed_s(now), self._faults.garbage_windows_s) and now >= next_garbage:
                next_garbage = now + int(1e9 / self._faults.garbage_rate_hz)
                if not self._link_down(now):
                    self._raw_send(self._garbage_bytes())
                    self._garbage += 1
            if pending is not None:
                due = self.mono_from_flight(pending[0])
                if due <= now:
                    self._send_sample(pending, now)
                    pending = next(schedule, None)
                    if pending is None:
                        self.replay_done.set()
                    continue
                wait = (due - now) / 1e9
            else:
                if now >= next_idle_slow:  # keep the link alive until stopped
                    next_idle_slow = now + 1_000_000_000
                    self._send_slow(self._track.t_end_ns, now)
                wait = 0.05
            if self._delayed:
                wait = min(wait, max(0.0, (self._delayed[0][0] - now) / 1e9))
            if self._faults.garbage_windows_s:
                wait = min(wait, 1.0 / self._faults.garbage_rate_hz)
            self._stop.wait(min(wait, 0.05))

    def _send_sample(self, item: tuple[int, str, int], now: int) -> None:
        flight_ns, stream, i = item
        tr = self._track
        boot_ms = self._boot_ms(self.mono_from_flight(flight_ns))
        if stream == "attitude":
            roll, pitch, yaw = (float(v) for v in tr.attitude.values[i])
            if _in_windows(self._elapsed_s(now), self._faults.nan_attitude_windows_s):
                roll = pitch = yaw = math.nan
            self._emit(self._pack(self._mav.attitude_encode(boot_ms, roll, pitch, yaw, 0.0, 0.0, 0.0)), now)
        elif stream == "altitude":
            agl, msl = (float(v) for v in tr.altitude.values[i])
            truth = tr.truth_at(flight_ns)
            lat, lon = self._last_position
            yaw = float(tr.attitude.interpolate(flight_ns)[2])
            self._emit(self._pack(self._mav.global_position_int_encode(
                boot_ms, int(lat * 1e7), int(lon * 1e7), int(msl * 1000), int(agl * 1000),
                int(truth.vn * 100), int(truth.ve * 100), int(truth.vd * 100),
                int(math.degrees(yaw) % 360 * 100))), now)
            speed = math.hypot(truth.vn, truth.ve)
            self._emit(self._pack(self._mav.vfr_hud_encode(speed, speed, int(math.degrees(yaw) % 360), 50, msl,
                                                           -truth.vd)), now)
            press = 1013.25 * (1.0 - msl / 44330.77) ** (1.0 / 0.190263)
            self._emit(self._pack(self._mav.scaled_pressure_encode(boot_ms, press, 0.0, 2000)), now)
            if self._cfg.rangefinder:
                self._emit(self._pack(self._mav.distance_sensor_encode(
                    boot_ms, 20, 10000, int(agl * 100), 0, 0, 25, 0)), now)
        elif stream == "imu" and tr.imu is not None:
            gx, gy, gz, ax, ay, az = (float(v) for v in tr.imu.values[i])
            usec = (self.mono_from_flight(flight_ns) - self._boot_ns) // 1000
            self._emit(self._pack(self._mav.highres_imu_encode(
                max(0, usec), ax, ay, az, gx, gy, gz, 0.0, 0.0, 0.0, 1013.25, 0.0, 0.0, 20.0, 0x3F)), now)
        elif stream == "slow":
            self._send_slow(flight_ns, now)

    def _send_slow(self, flight_ns: int, now: int) -> None:
        autopilot = 12 if self._cfg.autopilot == "px4" else 3
        self._emit(self._pack(self._mav.heartbeat_encode(2, autopilot, 128 | 1, 0, 4)), now)
        self._emit(self._pack(self._mav.system_time_encode(self._clock.unix_ns() // 1000, self._boot_ms())), now)
        agl = float(self._track.altitude.interpolate(flight_ns)[0])
        landed = 2 if agl > 1.0 else 1  # MAV_LANDED_STATE_IN_AIR / ON_GROUND
        self._emit(self._pack(self._mav.extended_sys_state_encode(0, landed)), now)
        self._emit(self._pack(self._mav.timesync_encode(0, now - self._boot_ns)), now)

    # ---- receive -----------------------------------------------------------------------

    def _rx_loop(self) -> None:
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self._sock], [], [], 0.05)
            except (OSError, ValueError):
                return  # socket closed by stop()
            if not ready:
                continue
            while True:
                try:
                    data, addr = self._sock.recvfrom(65535)
                except (BlockingIOError, ConnectionRefusedError):
                    break
                except OSError:
                    return
                now = self._clock.monotonic_ns()
                if self._link_down(now):
                    self._dropped += 1
                    continue
                self._peer = (str(addr[0]), int(addr[1]))
                for msg in self._mav.parse_buffer(data) or []:
                    self._handle(msg, now)

    def _count(self, mtype: str) -> None:
        self._counts[mtype] = self._counts.get(mtype, 0) + 1

    def _handle(self, msg: Any, now: int) -> None:
        mtype = msg.get_type()
        with self._lock:
            self._count(mtype)
            if mtype == "BAD_DATA":
                self._bad_frames += 1
            elif mtype == "HEARTBEAT":
                self._companion_heartbeats += 1
            elif mtype == "STATUSTEXT":
                text = msg.text if isinstance(msg.text, str) else bytes(msg.text).decode("utf-8", "replace")
                self._statustexts.append((int(msg.severity), text.rstrip("\x00")))
            elif mtype == "SET_GPS_GLOBAL_ORIGIN":
                self._origin = (msg.latitude / 1e7, msg.longitude / 1e7, msg.altitude / 1000.0)
            elif mtype in ("COMMAND_INT", "COMMAND_LONG") and msg.command == 43003:
                self._ext_estimates += 1
        if mtype == "TIMESYNC" and msg.tc1 == 0:
            self._emit(self._pack(self._mav.timesync_encode(now - self._boot_ns, msg.ts1)), now)
        elif mtype == "GPS_INPUT":
            self._judge_gps_input(msg, now)
        elif mtype == "GLOBAL_POSITION_SENSOR":
            self._judge_global_position_sensor(msg, now)
        elif mtype == "ODOMETRY":
            self._judge_odometry(msg, now)

    def _valid_mono_from_unix_us(self, unix_us: int) -> int:
        return self._clock.monotonic_ns() - (self._clock.unix_ns() - unix_us * 1000)

    def _judge(self, mtype: str, now: int, valid_ns: int, fix: int, lat: float, lon: float,
               vel: tuple[float, float, float] | None, h_acc: float, s_acc: float | None,
               problems: list[str]) -> None:
        g = self._cfg.gate
        delay = (now - valid_ns) / 1e9
        if fix >= 3 and not -g.max_future_s <= delay <= g.max_delay_s:
            problems.append(f"timestamp {delay * 1000:.0f} ms from receipt (allowed -{g.max_future_s * 1000:.0f}.."
                            f"{g.max_delay_s * 1000:.0f} ms)")
        flight_ns = self.flight_from_mono(valid_ns)
        judged = fix >= 3 and self._track.covers(flight_ns)
        accepted, err, ratio, reason = False, None, None, ""
        if judged:
            res = innovation_gate(lat_deg=lat, lon_deg=lon, vel_ned=vel, horiz_accuracy_m=h_acc,
                                  speed_accuracy_m_s=s_acc, truth=self._track.truth_at(flight_ns), cfg=g)
            accepted, err, ratio, reason = res.accepted and not problems, res.error_h_m, res.pos_ratio, res.reason
            if accepted:
                self._last_position = (lat, lon)
        if problems:
            reason = "; ".join([reason, *problems]) if reason else "; ".join(problems)
        with self._lock:
            if problems and len(self._problems) < 100:
                self._problems.append(f"{mtype}: {'; '.join(problems)}")
            self._judgements.append(PositionJudgement(mtype, now, valid_ns, flight_ns, fix, judged, accepted, err,
                                                      h_acc, ratio, reason))

    def _judge_gps_input(self, msg: Any, now: int) -> None:
        lat, lon = msg.lat / 1e7, msg.lon / 1e7
        fields = {"lat_deg": lat, "lon_deg": lon, "alt": msg.alt, "vn": msg.vn, "ve": msg.ve, "vd": msg.vd,
                  "hdop": msg.hdop, "vdop": msg.vdop, "horiz_accuracy": msg.horiz_accuracy,
                  "vert_accuracy": msg.vert_accuracy, "speed_accuracy": msg.speed_accuracy,
                  "time_week": msg.time_week}
        problems = field_problems(fields, msg.fix_type)
        if msg.fix_type >= 3 and msg.time_week > 0:
            unix_ms = msg.time_week * WEEK_MS + msg.time_week_ms - GPS_LEAP_MS + GPS_EPOCH_UNIX_MS
            valid = self._valid_mono_from_unix_us(unix_ms * 1000)
        else:
            valid = now
        self._judge("GPS_INPUT", now, valid, msg.fix_type, lat, lon, (msg.vn, msg.ve, msg.vd),
                    msg.horiz_accuracy, msg.speed_accuracy, problems)

    def _fc_time_to_mono(self, time_usec: int) -> int:
        if time_usec > 1_000_000_000_000_000 // 1000:  # > 1e12 us: Unix time
            return self._valid_mono_from_unix_us(time_usec)
        return self._boot_ns + time_usec * 1000

    def _judge_global_position_sensor(self, msg: Any, now: int) -> None:
        lat, lon = msg.lat / 1e7, msg.lon / 1e7
        healthy = not (msg.flags & 1)
        problems: list[str] = []
        if not (math.isfinite(msg.eph) and msg.eph > 0):
            problems.append("eph not positive")
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            problems.append("lat/lon out of range")
        self._judge("GLOBAL_POSITION_SENSOR", now, self._fc_time_to_mono(msg.time_usec), 3 if healthy else 1,
                    lat, lon, None, msg.eph, None, problems)

    def _judge_odometry(self, msg: Any, now: int) -> None:
        problems: list[str] = []
        if self._origin is None:
            problems.append("ODOMETRY before SET_GPS_GLOBAL_ORIGIN")
            lat = lon = 0.0
        else:
            lat0, lon0, _ = self._origin
            lat = lat0 + math.degrees(msg.x / 6_378_137.0)
            lon = lon0 + math.degrees(msg.y / (6_378_137.0 * math.cos(math.radians(lat0))))
        var = msg.pose_covariance[0] if math.isfinite(msg.pose_covariance[0]) else math.nan
        if not (math.isfinite(var) and var > 0):
            problems.append("pose covariance missing")
        fix = 3 if msg.quality >= 50 and self._origin is not None else 1
        self._judge("ODOMETRY", now, self._fc_time_to_mono(msg.time_usec), fix, lat, lon,
                    (msg.vx, msg.vy, msg.vz), math.sqrt(max(var, msg.pose_covariance[6])) if var > 0 else 0.0,
                    math.sqrt(msg.velocity_covariance[0]) if msg.velocity_covariance[0] > 0 else None, problems)
