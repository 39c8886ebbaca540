"""Crash safety: a writer with several producers is SIGKILLed at random moments.

After each kill the reader must recover, per producer, a contiguous run of
sequence numbers whose only gaps are covered by overrun markers, ending no
earlier than what could still have been in that producer's ring (or in the
writer's one in-hand batch) at the kill. The kernel must release the lock.
"""

from __future__ import annotations

import os
import random
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fdr_helpers import header, make_writer

from gps_denied_onboard.components.c13_fdr import FlightReader

CHILD = Path(__file__).with_name("crash_child.py")
N_PRODUCERS = 4
CAPACITY = 512
DRAIN_BATCH = 128
RATE_HZ = 1500
KILLS_PER_CASE = 6


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env


def kill_once(root: Path, flight_id: str, run_s: float) -> tuple[list[int], Path]:
    """Run the child for `run_s` after it is ready, SIGKILL it; returns (progress per producer, flight dir)."""
    progress = root / f"{flight_id}.progress"
    progress.write_bytes(b"\xff" * (8 * N_PRODUCERS))
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), str(root), flight_id, str(N_PRODUCERS), str(CAPACITY), str(progress),
         str(RATE_HZ), str(DRAIN_BATCH)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_child_env())
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if line.strip() != b"ready":
            err = proc.stderr.read().decode() if proc.stderr else ""
            pytest.fail(f"crash child did not start: {line!r} {err}")
        time.sleep(run_s)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    data = progress.read_bytes()
    return [struct.unpack_from("<q", data, 8 * p)[0] for p in range(N_PRODUCERS)], root / flight_id


def check_recovered(flight: Path, progress: list[int]) -> dict[str, int]:
    """Asserts the recovery contract; returns per-producer records lost (beyond overrun markers)."""
    reader = FlightReader(flight)
    seqs: dict[str, list[int]] = {}
    covered: dict[str, set[int]] = {}
    for rec in reader.records():
        if rec.kind == "test.seq":
            assert rec.payload["n"] == rec.seq
            seqs.setdefault(rec.producer_id, []).append(rec.seq)
        elif rec.kind == "fdr.overrun":
            m = rec.payload
            covered.setdefault(m["producer_id"], set()).update(range(m["first_seq"], m["last_seq"] + 1))
    report = reader.report
    assert report.footer is None and report.header is not None
    for d in report.damages:  # the only damage a kill can leave is the torn tail of the last segment
        assert d.torn_tail and d.segment == os.path.basename(report.segments[-1].path), d
    lost_at_kill = {}
    for p in range(N_PRODUCERS):
        pid = f"producer_{p:02d}"
        got = seqs.get(pid, [])
        if progress[p] < 0:
            continue
        last = got[-1] if got else -1
        assert got == sorted(set(got)), f"{pid}: out of order or duplicated"
        gaps = set(range(last + 1)) - set(got)
        assert gaps <= covered.get(pid, set()), f"{pid}: unexplained gaps {sorted(gaps)[:10]}"
        assert last >= progress[p] - CAPACITY - DRAIN_BATCH, (
            f"{pid}: recovered up to {last}, enqueued {progress[p]}: more lost than ring + one batch")
        lost_at_kill[pid] = progress[p] - last
    return lost_at_kill


@pytest.mark.parametrize("case", range(4))
def test_sigkill_at_random_moments_loses_only_what_was_in_flight(tmp_path: Path, case: int) -> None:
    rng = random.Random(1000 + case)
    for k in range(KILLS_PER_CASE):
        progress, flight = kill_once(tmp_path, f"kill-{case}-{k}", rng.uniform(0.05, 0.5))
        check_recovered(flight, progress)
    # the kernel released the flock with the killed process: a new writer can record
    w = make_writer(tmp_path)
    w.start()
    w.open_flight(header("after-kills"))
    assert w.close_flight().clean_shutdown
    w.stop()
