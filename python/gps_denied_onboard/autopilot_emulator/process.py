"""`EmulatorProcess`: the autopilot emulator in a child process.

The emulator keeps one `PositionJudgement` per position message it receives (the
report's rates, gaps and acceptance need all of them), so over a long flight its
bookkeeping grows with the flight. Run in the flight process, that growth would be
counted as the airborne side's memory; in a child process it is measured apart
(the benchmark reports both). Same surface as `AutopilotEmulator` for what a
rehearsal uses: `url`, `start`, `stop` (returns the report), `flight_from_mono`,
`mono_from_flight`, `set_link_down`, `replay_done`.

The child is started with the "spawn" method: the parent may already run threads
(a forked copy of a held lock would deadlock the child). Clocks: both processes
stamp with `time.monotonic_ns()` (CLOCK_MONOTONIC, system-wide on Linux), so the
start instant handed to the child means the same on both sides; a simulated clock
cannot cross the process boundary and is refused.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
from multiprocessing.connection import Connection
from typing import Any

from gps_denied_onboard.autopilot_emulator.emulator import AutopilotEmulator, EmulatorConfig, FaultPlan
from gps_denied_onboard.autopilot_emulator.errors import EmulatorConfigError, EmulatorError
from gps_denied_onboard.autopilot_emulator.report import EmulatorReport
from gps_denied_onboard.autopilot_emulator.track import FlightTrack
from gps_denied_onboard.clock import Clock, WallClock

_READY_TIMEOUT_S = 60.0  # a spawned interpreter imports pymavlink and numpy: seconds on a loaded machine
_REPLY_TIMEOUT_S = 30.0


def _child_main(conn: Connection, track: FlightTrack, cfg: EmulatorConfig | None, faults: FaultPlan | None) -> None:
    """The child: build the emulator, report its address, then obey start/stop/link_down."""
    try:
        emu = AutopilotEmulator(track, cfg, faults, WallClock())
    except Exception as exc:  # noqa: BLE001 - process boundary: the parent raises it
        conn.send(("error", repr(exc)))
        return
    conn.send(("ready", emu.address))
    conn_lock = threading.Lock()  # the watcher and the command loop both send

    def conn_lock_send(msg: tuple[str, Any]) -> None:
        with conn_lock:
            conn.send(msg)

    # replay_done is mirrored to the parent from a watcher thread (the parent may wait on it)
    watcher_stop = threading.Event()

    def watch() -> None:
        while not watcher_stop.is_set():
            if emu.replay_done.wait(0.2):
                conn_lock_send(("replay_done", None))
                return

    while True:
        try:
            cmd, arg = conn.recv()
        except EOFError:  # the parent went away: stop quietly
            emu.stop()
            return
        if cmd == "start":
            conn_lock_send(("started", emu.start(arg)))
            threading.Thread(target=watch, name="emu-replay-watch", daemon=True).start()
        elif cmd == "link_down":
            emu.set_link_down(bool(arg))
            conn_lock_send(("ok", None))
        elif cmd == "stop":
            watcher_stop.set()
            conn_lock_send(("report", emu.stop()))
            return


class EmulatorProcess:
    """`AutopilotEmulator` run in a child process (see the module docstring)."""

    def __init__(self, track: FlightTrack, cfg: EmulatorConfig | None = None, faults: FaultPlan | None = None,
                 clock: Clock | None = None) -> None:
        if clock is not None and not isinstance(clock, WallClock):
            raise EmulatorConfigError("EmulatorProcess needs the wall clock: a simulated clock cannot cross processes")
        self._track = track
        self._clock = clock or WallClock()
        self._start_ns = 0
        self.replay_done = threading.Event()
        self._lock = threading.Lock()  # one request/reply at a time on the pipe
        self._replies: queue.Queue[tuple[str, Any]] = queue.Queue()
        ctx = multiprocessing.get_context("spawn")
        self._conn, child_conn = ctx.Pipe()
        self._proc = ctx.Process(target=_child_main, args=(child_conn, track, cfg, faults),
                                 name="autopilot-emulator", daemon=True)
        self._proc.start()
        child_conn.close()
        if not self._conn.poll(_READY_TIMEOUT_S):
            self._proc.kill()
            raise EmulatorError(f"emulator process did not start within {_READY_TIMEOUT_S:.0f} s")
        kind, arg = self._conn.recv()
        if kind != "ready":
            self._proc.join(5.0)
            raise EmulatorError(f"emulator process failed to start: {arg}")
        self._address: tuple[str, int] = (str(arg[0]), int(arg[1]))
        # one reader: replies go to the waiting request, `replay_done` is applied whenever it comes
        self._reader = threading.Thread(target=self._read_loop, name="emu-process-reader", daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int | None:
        """The child's process id (the benchmark samples its memory)."""
        return self._proc.pid

    @property
    def address(self) -> tuple[str, int]:
        return self._address

    @property
    def url(self) -> str:
        """The URL the companion's link should use (`fc_link.url`)."""
        return f"udpout:{self._address[0]}:{self._address[1]}"

    @property
    def start_ns(self) -> int:
        return self._start_ns

    def _read_loop(self) -> None:
        while True:
            try:
                kind, arg = self._conn.recv()
            except (EOFError, OSError):  # the child ended (after "stop") or died
                self._replies.put(("error", "emulator process ended"))
                return
            if kind == "replay_done":
                self.replay_done.set()
            else:
                self._replies.put((str(kind), arg))
                if kind == "report":
                    return

    def _request(self, cmd: str, arg: Any = None) -> Any:
        with self._lock:
            self._conn.send((cmd, arg))
            try:
                kind, reply = self._replies.get(timeout=_REPLY_TIMEOUT_S)
            except queue.Empty:
                raise EmulatorError(f"emulator process did not answer {cmd!r} within {_REPLY_TIMEOUT_S:.0f} s") from None
        if kind == "error":
            raise EmulatorError(f"emulator process: {reply}")
        return reply

    def start(self, start_ns: int | None = None) -> int:
        """Begin the replay; dataset time t0 maps to monotonic `start_ns` (default now)."""
        self._start_ns = self._clock.monotonic_ns() if start_ns is None else int(start_ns)
        self._request("start", self._start_ns)
        return self._start_ns

    def set_link_down(self, down: bool) -> None:
        """Drop everything both ways while `down` (a live link-drop fault)."""
        self._request("link_down", bool(down))

    def stop(self) -> EmulatorReport:
        """Stop the child and return what it judged."""
        report = self._request("stop")
        self._proc.join(10.0)
        self._reader.join(1.0)
        self._conn.close()
        if not isinstance(report, EmulatorReport):
            raise EmulatorError(f"emulator process returned {type(report).__name__}, not a report")
        return report

    def mono_from_flight(self, flight_ns: int) -> int:
        return self._start_ns + (flight_ns - self._track.t0_ns)

    def flight_from_mono(self, mono_ns: int) -> int:
        return self._track.t0_ns + (mono_ns - self._start_ns)
