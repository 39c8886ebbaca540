"""Benchmark suites (`bench/suites/*.yaml`): a list of runs, each a flight made
from a shared cross-date pair, a synthetic world or a folder of geotagged
photos, flown, localized and scored; plus the per-run table and pooled totals.

Paths in a suite are relative to the shared data folder (`--data`); runs whose
data is absent are skipped with the reason, never failed. An optional top-level
`localization:` mapping overrides fields of the airborne localizer's configuration
(`LocalizationConfig`) for every run of the suite; an unknown field is refused.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from gps_denied_onboard.components.c12_sim.errors import BenchError, SimError
from gps_denied_onboard.components.c12_sim.pairs import load_pair
from gps_denied_onboard.components.c12_sim.photos import flight_from_photos
from gps_denied_onboard.components.c12_sim.runner import ERRORS_CSV, bench_flight, localization_config, read_errors
from gps_denied_onboard.components.c12_sim.sensor import SensorEffects, TelemetryErrors
from gps_denied_onboard.components.c12_sim.simulate import CameraSpec, FlightSpec, simulate_flight
from gps_denied_onboard.components.c12_sim.world import WorldSpec, generate_world
from gps_denied_onboard.dataset import DatasetError, read_flight
from gps_denied_onboard.helpers import atomic_write_text

_NESTED = {"camera": CameraSpec, "effects": SensorEffects, "telemetry": TelemetryErrors}


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise BenchError(f"unknown keys {unknown} (known: {sorted(names)})", field=where, value=unknown)
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key in _NESTED and cls is FlightSpec:
            if not isinstance(value, dict):
                raise BenchError("expected a mapping", field=f"{where}.{key}", value=value)
            kwargs[key] = _build(_NESTED[key], value, f"{where}.{key}")
        elif isinstance(value, list):
            kwargs[key] = tuple(value)
        else:
            kwargs[key] = value
    try:
        return cls(**kwargs)
    except (TypeError, SimError) as exc:
        raise BenchError(str(exc), field=where) from exc


def flight_spec_from_dict(data: dict[str, Any], where: str = "flight") -> FlightSpec:
    """A FlightSpec from a yaml mapping (unknown keys are an error naming them)."""
    spec: FlightSpec = _build(FlightSpec, data, where)
    return spec


@dataclass(frozen=True)
class SuiteRun:
    name: str
    kind: str  # pair | synthetic | photos
    source: str
    flight: dict[str, Any]
    world: dict[str, Any]
    map: str | None
    raw: dict[str, Any]


@dataclass(frozen=True)
class Suite:
    name: str
    path: Path
    description: str
    runs: tuple[SuiteRun, ...]
    # LocalizationConfig field overrides for every run (empty: the localizer's defaults)
    localization: dict[str, Any] = field(default_factory=dict)


def load_suite(path: str | Path) -> Suite:
    """Parse and check a suite file."""
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise BenchError(f"cannot read the suite: {exc}", path=p) from exc
    if not isinstance(data, dict) or not isinstance(data.get("runs"), list):
        raise BenchError("a suite is a mapping with a 'runs' list", path=p, field="runs")
    defaults = data.get("defaults") or {}
    localization = data.get("localization") or {}
    try:
        localization_config(localization)
    except BenchError as exc:
        raise BenchError(str(exc), path=p) from exc
    runs = []
    seen = set()
    for i, run in enumerate(data["runs"]):
        where = f"runs[{i}]"
        if not isinstance(run, dict) or not isinstance(run.get("name"), str):
            raise BenchError("each run needs a name", path=p, field=where, value=run)
        kinds = [k for k in ("pair", "synthetic", "photos") if k in run]
        if len(kinds) != 1:
            raise BenchError("a run has exactly one of pair, synthetic, photos", path=p, field=where, value=run)
        if run["name"] in seen:
            raise BenchError("duplicate run name", path=p, field=where, value=run["name"])
        seen.add(run["name"])
        flight = {**defaults, **(run.get("flight") or {})}
        kind = kinds[0]
        world = run["synthetic"] if kind == "synthetic" else {}
        if kind != "photos":
            try:
                flight_spec_from_dict(flight, f"{where}.flight")
                if kind == "synthetic":
                    _build(WorldSpec, world, f"{where}.synthetic")
            except BenchError as exc:
                raise BenchError(str(exc), path=p, field=f"{where}") from exc
        runs.append(SuiteRun(run["name"], kind, str(run.get(kind) if kind != "synthetic" else ""), flight,
                             world, run.get("map"), run))
    return Suite(str(data.get("name", p.stem)), p, str(data.get("description", "")), tuple(runs), dict(localization))


@dataclass
class RunOutcome:
    name: str
    kind: str
    status: str  # ok | skipped | failed
    reason: str = ""
    report: dict[str, Any] = field(default_factory=dict)
    flight_dir: Path | None = None


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _prepare_flight(run: SuiteRun, data_dir: Path | None, work: Path) -> tuple[Path, Path | None]:
    """Make (or reuse) the run's flight dataset; returns (flight dir, map path)."""
    flight_dir = work / "flights" / run.name
    key = _digest({"run": run.raw, "flight": run.flight, "version": 1})
    stamp = flight_dir / ".suite-key"
    if run.kind in ("pair", "photos"):
        if data_dir is None:
            raise FileNotFoundError("shared data folder not found (use --data or set GDN_SHARED_DIR)")
        src = data_dir / run.source
        if not src.exists():
            raise FileNotFoundError(f"{src} is absent")
    map_path: Path | None = None
    if run.kind == "photos":
        assert data_dir is not None
        map_path = data_dir / run.map if run.map else None
        if not (stamp.is_file() and stamp.read_text() == key):
            flight_from_photos(data_dir / run.source, flight_dir, map_path=map_path, overwrite=True,
                               **{k: v for k, v in run.flight.items() if k in ("max_width", "prior_sigma_m", "seed")})
    else:
        if run.kind == "pair":
            assert data_dir is not None
            pair_dir = data_dir / run.source
        else:
            wspec: WorldSpec = _build(WorldSpec, run.world, "synthetic")
            pair_dir = work / "worlds" / _digest(dataclasses.asdict(wspec))
            if not (pair_dir / "pair.yaml").is_file():
                generate_world(wspec, pair_dir)
        pair = load_pair(pair_dir)
        map_path = pair.map_image
        if not (stamp.is_file() and stamp.read_text() == key):
            simulate_flight(pair, flight_spec_from_dict(run.flight), flight_dir, overwrite=True)
    stamp.write_text(key)
    return flight_dir, map_path


def run_suite(suite: Suite, *, data_dir: Path | None, work_dir: Path, localizer: str, realtime: bool = False,
              plots: bool = True, only: list[str] | None = None,
              progress: Callable[[RunOutcome], None] | None = None) -> list[RunOutcome]:
    """Run every (or the `only` named) run of the suite; failures are recorded, not raised."""
    outcomes = []
    for run in suite.runs:
        if only and run.name not in only:
            continue
        try:
            flight_dir, map_path = _prepare_flight(run, data_dir, work_dir)
        except FileNotFoundError as exc:
            outcome = RunOutcome(run.name, run.kind, "skipped", str(exc))
        except (SimError, DatasetError) as exc:
            outcome = RunOutcome(run.name, run.kind, "failed", f"making the flight: {exc}")
        else:
            try:
                report = bench_flight(flight_dir, work_dir / "results" / run.name, localizer=localizer,
                                      map_path=map_path, realtime=realtime, plots=plots, name=run.name,
                                      extra={"suite": suite.name, "kind": run.kind,
                                             "agl_m": _agl(flight_dir)}, localization=suite.localization)
                outcome = RunOutcome(run.name, run.kind, "ok", report=report, flight_dir=flight_dir)
            except (SimError, DatasetError) as exc:
                outcome = RunOutcome(run.name, run.kind, "failed", str(exc), flight_dir=flight_dir)
        outcomes.append(outcome)
        if progress is not None:
            progress(outcome)
    totals = suite_totals(outcomes)
    atomic_write_text(work_dir / "suite_report.json", json.dumps(
        {"suite": suite.name, "localizer": localizer, "realtime": realtime, "localization": suite.localization,
         "totals": totals,
         "runs": [{"name": o.name, "kind": o.kind, "status": o.status, "reason": o.reason, "report": o.report}
                  for o in outcomes]}, indent=2, default=str) + "\n")
    atomic_write_text(work_dir / "suite_summary.md", f"# Suite {suite.name} ({localizer})\n\n```\n"
                      + format_table(outcomes) + "\n```\n")
    return outcomes


def _agl(flight_dir: Path) -> float | None:
    try:
        f = read_flight(flight_dir, check_images=False)
    except DatasetError:
        return None
    return float(np.median(f.altitude.column("alt_agl")))


def _pooled_px(o: RunOutcome) -> list[float]:
    gsd = o.report.get("map_gsd_m")
    path = Path(o.report.get("out_dir", "")) / ERRORS_CSV
    if not gsd or not path.is_file():
        return []
    return [e / gsd for e in read_errors(path)["fused"]]


def suite_totals(outcomes: list[RunOutcome]) -> dict[str, Any]:
    """Pooled figures over the runs that completed: the fused errors of all runs
    with a map are pooled in map pixels (each run in its own map's pixels)."""
    ok = [o for o in outcomes if o.status == "ok"]
    px: list[float] = []
    for o in ok:
        px.extend(_pooled_px(o))
    frames = sum(int(o.report["frames"]) for o in ok)
    accepted = sum(int(o.report["fixes_accepted"]) for o in ok)
    lat99 = [o.report["latency_ms"]["p99"] for o in ok if o.report["latency_ms"]["p99"] is not None]
    arr = np.asarray(px, dtype=np.float64)
    return {
        "runs": len(outcomes), "ok": len(ok), "failed": sum(o.status == "failed" for o in outcomes),
        "skipped": sum(o.status == "skipped" for o in outcomes),
        "frames": frames, "fixes_accepted": accepted, "absolute_fix_rate": accepted / frames if frames else None,
        "pooled_fused_ticks": int(arr.size),
        # Pooled errors only see ticks with a position: a run that output none must stay visible.
        "runs_without_position": sum(1 for o in ok if not o.report.get("fused")),
        "pooled_cep50_px": float(np.percentile(arr, 50)) if arr.size else None,
        "pooled_cep95_px": float(np.percentile(arr, 95)) if arr.size else None,
        "worst_latency_p99_ms": max(lat99) if lat99 else None,
    }


def _f(v: Any, fmt: str) -> str:
    if v is None:
        width = fmt.split(".")[0]
        return "-".rjust(int(width) if width.isdigit() else 0)
    return format(v, fmt)


def format_table(outcomes: list[RunOutcome]) -> str:
    """The per-run table and the totals line, as printed by `operator bench --suite`."""
    nw = max([26] + [len(o.name) for o in outcomes])
    head = (f"{'run':<{nw}} {'kind':<9} {'frm':>4} {'agl m':>6} {'m/px':>6} {'CEP50 m':>8} {'CEP50 px':>8} "
            f"{'CEP95 px':>8} {'fix %':>6} {'false %':>7} {'avail %':>7} {'TTFF s':>6} {'p50 ms':>7} "
            f"{'p99 ms':>7}  status")
    lines = [head, "-" * len(head)]
    for o in outcomes:
        r = o.report
        if o.status != "ok":
            lines.append(f"{o.name:<{nw}} {o.kind:<9} {o.status}: {o.reason}")
            continue
        fused = r.get("fused") or {}
        avail = r["availability_after_first_fix"]
        lines.append(
            f"{o.name:<{nw}} {o.kind:<9} {r['frames']:>4} {_f(r.get('agl_m'), '6.0f')} {_f(r['map_gsd_m'], '6.2f')} "
            f"{_f(fused.get('cep50_m'), '8.2f')} {_f(fused.get('cep50_px'), '8.2f')} "
            f"{_f(fused.get('cep95_px'), '8.2f')} {100 * r['absolute_fix_rate']:>6.1f} "
            f"{_f(None if r['false_fix_rate'] is None else 100 * r['false_fix_rate'], '7.1f')} "
            f"{_f(None if avail is None else 100 * avail, '7.1f')} {_f(r['time_to_first_fix_s'], '6.1f')} "
            f"{_f(r['latency_ms']['p50'], '7.1f')} {_f(r['latency_ms']['p99'], '7.1f')}  ok"
        )
    t = suite_totals(outcomes)
    lines.append("-" * len(head))
    lines.append(
        f"totals: {t['ok']}/{t['runs']} ok, {t['failed']} failed, {t['skipped']} skipped; {t['frames']} frames, "
        f"fix rate {_f(None if t['absolute_fix_rate'] is None else 100 * t['absolute_fix_rate'], '.1f')} %, "
        f"pooled fused CEP50 {_f(t['pooled_cep50_px'], '.2f')} px, CEP95 {_f(t['pooled_cep95_px'], '.2f')} px "
        f"({t['runs_without_position']} runs output no position), "
        f"worst p99 latency {_f(t['worst_latency_p99_ms'], '.1f')} ms"
    )
    return "\n".join(lines)
