"""Child process of the SIGKILL tests and the kill benchmark (not a test module).

    python crash_child.py FLIGHT_ROOT FLIGHT_ID N_PRODUCERS CAPACITY PROGRESS_FILE RATE_HZ DRAIN_BATCH

Runs a real FileFdrWriter with N producer threads; producer p enqueues records
{"n": k} (k = 0, 1, 2, ... = the client's own sequence) at about RATE_HZ and
stores k in slot p of PROGRESS_FILE (8-byte little-endian slots, shared memory
via mmap, so the parent reads it after the kill). Prints "ready" once the
flight is open, then runs until killed.
"""

from __future__ import annotations

import mmap
import struct
import sys
import threading
import time


def main(argv: list[str]) -> None:
    root, flight_id, n_prod, capacity, progress_path, rate, batch = argv
    from gps_denied_onboard.components.c13_fdr import FileFdrWriter, FlightHeader
    from gps_denied_onboard.config import FdrConfig
    from gps_denied_onboard.fdr_client import FdrClientRegistry, make_fdr_client

    n = int(n_prod)
    with open(progress_path, "r+b") as fh:
        progress = mmap.mmap(fh.fileno(), 8 * n)
    reg = FdrClientRegistry()
    cfg = FdrConfig(flight_root=root, segment_bytes=256 * 1024, flight_cap_bytes=1 << 34, drain_batch=int(batch),
                    resync_interval_bytes=16 * 1024)
    writer = FileFdrWriter(cfg, registry=reg)
    clients = [make_fdr_client(f"producer_{p:02d}", registry=reg, capacity=int(capacity),
                               on_overrun=lambda pid, c: None) for p in range(n)]
    writer.start()
    writer.open_flight(FlightHeader.now(flight_id))
    burst = 10
    period = burst / float(rate)

    def produce(p: int) -> None:
        client = clients[p]
        k = 0
        pack = struct.pack_into
        while True:
            for _ in range(burst):
                client.enqueue("test.seq", {"n": k, "pad": "x" * (k % 40)})
                pack("<q", progress, 8 * p, k)
                k += 1
            time.sleep(period)

    for p in range(n):
        threading.Thread(target=produce, args=(p,), daemon=True).start()
    print("ready", flush=True)
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main(sys.argv[1:])
