"""The `fdr` command: ls, dump, stats, verify, recover, export --mcap.

Exit codes: 0 ok/clean; 1 verify found damage or an unclean flight;
2 usage or unreadable input; 3 recover/export completed but data had been lost
(as `mcap recover` does).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from gps_denied_onboard.components.c13_fdr import framing
from gps_denied_onboard.components.c13_fdr.errors import FdrError
from gps_denied_onboard.components.c13_fdr.export import export_mcap, recover_flight
from gps_denied_onboard.components.c13_fdr.interface import FlightFooter, FlightHeader
from gps_denied_onboard.components.c13_fdr.reader import (
    Damage,
    FlightReader,
    FlightReport,
    list_flights,
    list_segments,
    scan_segment,
)

EXIT_OK = 0
EXIT_DAMAGED = 1
EXIT_USAGE = 2
EXIT_LOST = 3
_QUICK_BYTES = 1 << 20


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="fdr", description="Read, verify, recover and export flight data recorder logs.")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND", required=True)
    ls = sub.add_parser("ls", help="list the flights under a flight root")
    ls.add_argument("root", help="flight root (holds one directory per flight)")
    ls.add_argument("--json", action="store_true", help="one JSON object per flight")
    dump = sub.add_parser("dump", help="print a flight's records as JSON lines")
    dump.add_argument("flight", help="flight directory")
    dump.add_argument("--kind", action="append", help="only this kind (repeatable)")
    dump.add_argument("--producer", action="append", help="only this producer (repeatable)")
    dump.add_argument("--since-ns", type=int, help="only records with ts >= this (monotonic ns)")
    dump.add_argument("--until-ns", type=int, help="only records with ts <= this (monotonic ns)")
    stats = sub.add_parser("stats", help="counts and rates per producer and kind, drops, overruns, rollovers")
    stats.add_argument("flight", help="flight directory")
    stats.add_argument("--json", action="store_true", help="machine-readable output")
    verify = sub.add_parser("verify", help="exit 0 if the flight is intact and closed cleanly, 1 with a report if not")
    verify.add_argument("flight", help="flight directory")
    rec = sub.add_parser("recover", help="write a clean copy of everything readable (exit 3 if anything was lost)")
    rec.add_argument("flight", help="flight directory")
    rec.add_argument("--out", required=True, help="new flight directory for the copy")
    exp = sub.add_parser("export", help="export a flight (MCAP, JSON schemas: opens in Foxglove)")
    exp.add_argument("flight", help="flight directory")
    exp.add_argument("--mcap", required=True, metavar="OUT", help="output .mcap file")
    return p


def _quick_summary(flight_dir: str) -> dict[str, Any]:
    """Header from the first segment, footer from the end of the last: no full scan."""
    segs = list_segments(flight_dir)
    out: dict[str, Any] = {"flight_dir": flight_dir, "flight_id": os.path.basename(flight_dir),
                           "segments": len(segs), "bytes": sum(os.path.getsize(p) for _, p in segs)}
    header: FlightHeader | None = None
    footer: FlightFooter | None = None
    if segs:
        with open(segs[0][1], "rb") as fh:
            head = fh.read(_QUICK_BYTES)
        for item in scan_segment(head):
            if not isinstance(item, Damage) and item.type == framing.T_HEADER:
                try:
                    header = FlightHeader.from_json(item.json())
                except (ValueError, KeyError, TypeError):
                    pass
                break
        with open(segs[-1][1], "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            fh.seek(max(0, size - 64 * 1024))
            tail = fh.read()
        for item in scan_segment(tail):
            if not isinstance(item, Damage) and item.type == framing.T_FOOTER:
                try:
                    footer = FlightFooter.from_json(item.json())
                except (ValueError, KeyError, TypeError):
                    pass
    if header is not None:
        out["flight_id"] = header.flight_id
        out["started"] = header.flight_started_at_iso
    if footer is not None:
        out.update(ended=footer.flight_ended_at_iso, records=footer.records_written,
                   dropped_overrun=footer.records_dropped_overrun, rollovers=footer.rollover_count)
    out["clean"] = bool(footer is not None and footer.clean_shutdown)
    return out


def _cmd_ls(args: argparse.Namespace) -> int:
    flights = list_flights(args.root)
    for path in flights:
        s = _quick_summary(path)
        if args.json:
            print(json.dumps(s))
        else:
            state = "clean" if s["clean"] else "UNCLEAN (no footer or not shut down cleanly)"
            print(f"{s['flight_id']}  started={s.get('started', '?')}  segments={s['segments']}  "
                  f"bytes={s['bytes']}  records={s.get('records', '?')}  {state}")
    if not flights:
        print(f"no flights under {args.root}", file=sys.stderr)
    return EXIT_OK


def _print_damage(report: FlightReport) -> None:
    for d in report.damages:
        lost = "unknown" if d.records_lost is None else str(d.records_lost)
        print(f"damage: {d.segment} offset {d.offset} length {d.length}: {d.reason}; records lost: {lost}"
              + (" (torn tail)" if d.torn_tail else ""), file=sys.stderr)


def _cmd_dump(args: argparse.Namespace) -> int:
    reader = FlightReader(args.flight)
    out = sys.stdout
    for rec in reader.records(kinds=args.kind, producers=args.producer, since_ns=args.since_ns,
                              until_ns=args.until_ns):
        out.write(json.dumps({"schema_version": rec.schema_version, "ts": rec.ts, "producer_id": rec.producer_id,
                              "kind": rec.kind, "seq": rec.seq, "flags": list(rec.flags), "payload": rec.payload},
                             default=repr) + "\n")
    _print_damage(reader.report)
    return EXIT_OK


def flight_stats(flight_dir: str) -> dict[str, Any]:
    """Counts and rates per producer and kind, overrun drops per producer, policy drops, rollovers, losses."""
    reader = FlightReader(flight_dir)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    first: dict[tuple[str, str], int] = {}
    last: dict[tuple[str, str], int] = {}
    overrun: dict[str, int] = defaultdict(int)
    policy: dict[str, int] = defaultdict(int)
    flagged: dict[str, int] = defaultdict(int)
    rollovers = 0
    last_seq: dict[str, int] = {}
    seq_gaps: dict[str, int] = defaultdict(int)
    for rec in reader.records():
        if rec.seq >= 0:  # producers' own sequence numbers: a gap is a lost record
            prev = last_seq.get(rec.producer_id, -1)
            if rec.seq > prev + 1:
                seq_gaps[rec.producer_id] += rec.seq - prev - 1
            last_seq[rec.producer_id] = max(prev, rec.seq)
        key = (rec.producer_id, rec.kind)
        counts[key] += 1
        first.setdefault(key, rec.ts)
        last[key] = rec.ts
        payload = rec.payload if isinstance(rec.payload, dict) else {}
        if rec.kind == "fdr.overrun":
            overrun[str(payload.get("producer_id"))] += int(payload.get("dropped_count", 0))
        elif rec.kind == "fdr.kind_policy_dropped":
            policy[f"{payload.get('producer_id')}/{payload.get('record_kind')}"] += int(payload.get("dropped_count", 0))
        elif rec.kind == "segment_rollover":
            rollovers += len(payload.get("deleted_segments", ()))
        for flag in rec.flags:
            flagged[flag] += 1
    rep = reader.report
    per = []
    for (producer, kind), n in sorted(counts.items()):
        span_s = (last[(producer, kind)] - first[(producer, kind)]) / 1e9
        per.append({"producer_id": producer, "kind": kind, "count": n,
                    "rate_hz": round((n - 1) / span_s, 3) if n > 1 and span_s > 0 else None})
    return {
        "flight_dir": flight_dir, "records_read": rep.records_read, "per_producer_kind": per,
        "overrun_dropped_by_producer": dict(overrun), "policy_dropped": dict(policy), "flags": dict(flagged),
        "seq_gaps_by_producer": dict(seq_gaps),
        "rollovers": rep.footer.rollover_count if rep.footer else rollovers,
        "records_lost": rep.records_lost, "loss_unknown": rep.loss_unknown, "bytes_lost": rep.bytes_lost,
        "segments": len(rep.segments), "clean": rep.clean,
        "footer": rep.footer.to_json() if rep.footer else None,
    }


def _cmd_stats(args: argparse.Namespace) -> int:
    st = flight_stats(args.flight)
    if args.json:
        print(json.dumps(st, indent=2))
        return EXIT_OK
    print(f"flight {st['flight_dir']}: {st['records_read']} records in {st['segments']} segments, "
          f"{'clean' if st['clean'] else 'NOT clean'}")
    print(f"{'producer':<28} {'kind':<36} {'count':>9} {'rate Hz':>9}")
    for row in st["per_producer_kind"]:
        rate = "-" if row["rate_hz"] is None else f"{row['rate_hz']:.1f}"
        print(f"{row['producer_id']:<28} {row['kind']:<36} {row['count']:>9} {rate:>9}")
    for producer, n in sorted(st["overrun_dropped_by_producer"].items()):
        print(f"overrun: {producer} lost {n} records")
    for producer, n in sorted(st["seq_gaps_by_producer"].items()):
        explained = st["overrun_dropped_by_producer"].get(producer, 0)
        print(f"sequence gaps: {producer} misses {n} records ({explained} in overrun markers)")
    for key, n in sorted(st["policy_dropped"].items()):
        print(f"kind policy: dropped {n} of {key}")
    print(f"rollovers: {st['rollovers']}  records lost to damage: {st['records_lost']}"
          f"{' (+ unknown torn tail)' if st['loss_unknown'] else ''}  bytes lost: {st['bytes_lost']}")
    return EXIT_OK


def verify_problems(report: FlightReport) -> list[str]:
    """Everything that keeps a flight from being intact and cleanly closed."""
    problems = []
    for d in report.damages:
        lost = "unknown" if d.records_lost is None else str(d.records_lost)
        problems.append(f"{d.segment}: {d.length} damaged bytes at offset {d.offset} ({d.reason}); "
                        f"records lost: {lost}")
    if report.header is None:
        problems.append("no readable flight header")
    if report.footer is None:
        problems.append("no footer: the flight was not closed (crash or power loss)")
    elif not report.footer.clean_shutdown:
        problems.append("footer says the shutdown was not clean (storage failure during the flight)")
    elif report.footer.rollover_count == 0 and report.records_read + report.records_lost != \
            report.footer.records_written:
        problems.append(f"footer counts {report.footer.records_written} records, "
                        f"{report.records_read} read and {report.records_lost} reported lost")
    if report.unexplained_missing:
        problems.append(f"segments missing: {report.unexplained_missing}")
    return problems


def _cmd_verify(args: argparse.Namespace) -> int:
    report = FlightReader(args.flight).scan()
    problems = verify_problems(report)
    if not problems:
        print(f"OK: {report.records_read} records in {len(report.segments)} segments, closed cleanly")
        return EXIT_OK
    print(f"NOT OK: {args.flight}")
    for p in problems:
        print(f"  - {p}")
    return EXIT_DAMAGED


def _cmd_recover(args: argparse.Namespace) -> int:
    result = recover_flight(args.flight, args.out)
    print(f"recovered {result.records_copied} records into {args.out}")
    if result.lost_anything:
        for p in verify_problems(result.source):
            print(f"  lost: {p}", file=sys.stderr)
        return EXIT_LOST
    return EXIT_OK


def _cmd_export(args: argparse.Namespace) -> int:
    count, report = export_mcap(args.flight, args.mcap)
    print(f"exported {count} records to {args.mcap}")
    if report.damages:
        _print_damage(report)
        return EXIT_LOST
    return EXIT_OK


_COMMANDS = {"ls": _cmd_ls, "dump": _cmd_dump, "stats": _cmd_stats, "verify": _cmd_verify,
             "recover": _cmd_recover, "export": _cmd_export}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `airborne fdr` / `operator fdr`."""
    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        return _COMMANDS[args.cmd](args)
    except (FdrError, OSError) as exc:
        print(f"fdr {args.cmd}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK
