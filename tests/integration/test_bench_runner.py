"""`operator simulate` + `operator bench` end to end on a tiny synthetic flight, suites,
and (slow, skipped without ../shared/data) the shared cross-date pairs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gps_denied_onboard.components.c12_sim import runner
from gps_denied_onboard.dataset import read_estimates, read_flight
from gps_denied_onboard.runtime_root.operator_sim import bench_main, simulate_main

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def flight(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim") / "flight"
    rc = simulate_main([
        "--synthetic", "3", "--world-size", "384", "--world-gsd", "1.0", "--out", str(out), "--duration", "3",
        "--fps", "2", "--agl", "60", "--width", "160", "--height", "120", "--speed", "6", "--prior-interval", "1",
    ])
    assert rc == 0
    return out


def test_bench_baseline_end_to_end(flight: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench"
    assert bench_main(["--flight", str(flight), "--out", str(out), "--localizer", "baseline"]) == 0
    printed = capsys.readouterr().out
    assert "| fused CEP50 |" in printed and "report.json" in printed
    report = json.loads((out / "report.json").read_text())
    est = read_estimates(out)
    f = read_flight(flight)
    assert report["frames"] == len(f.frames) == 7
    assert report["localizer"] == "baseline" and report["map"].endswith("map.tif")
    assert report["fixes_accepted"] == 0 and report["absolute_fix_rate"] == 0.0
    assert report["time_to_first_fix_s"] is None
    assert report["fused"]["n"] == len(est.track) == 31  # 10 Hz over 3 s, both ends
    assert 0 < report["fused"]["cep50_m"] < 200 and report["fused"]["cep50_px"] == pytest.approx(
        report["fused"]["cep50_m"] / report["map_gsd_m"])
    assert report["availability"] == 1.0 and report["output_rate_hz"] > 10
    assert report["latency_ms"]["frames_timed"] == 7
    assert report["resources"]["cpu_s"] > 0 and report["resources"]["peak_rss_mb"] > 10
    assert report["coverage_3sigma"] is not None
    for name in ("trajectory.png", "error_vs_time.png", "error_cdf.png"):
        assert (out / name).read_bytes()[:8] == PNG
    assert "| fused CEP95 |" in (out / "summary.md").read_text()
    assert len((out / "errors.csv").read_text().splitlines()) == 1 + 31


def test_unavailable_localizer_is_reported(flight: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(runner, "AIRBORNE_MODULE", "gps_denied_onboard.runtime_root.no_such_replay")
    assert bench_main(["--flight", str(flight), "--out", str(tmp_path / "b"), "--localizer", "airborne"]) == 3
    assert "not in this build yet" in capsys.readouterr().err


def test_failing_localizer_names_the_flight(flight: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    assert bench_main(["--flight", str(broken), "--out", str(tmp_path / "b"), "--localizer", "baseline"]) == 1
    assert "flight.yaml" in capsys.readouterr().err


def test_suite_runs_synthetic_and_skips_absent_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    suite = tmp_path / "tiny.yaml"
    suite.write_text(
        "name: tiny\n"
        "defaults: {duration_s: 2.0, fps: 2.0}\n"
        "runs:\n"
        "  - name: synth\n"
        "    synthetic: {seed: 4, size_px: 384, gsd_m: 1.0}\n"
        "    flight: {agl_m: [60, 60], speed_mps: 6.0, camera: {width: 160, height: 120}}\n"
        "  - name: missing_pair\n"
        "    pair: crossdate/not_here\n"
    )
    work = tmp_path / "work"
    rc = bench_main(["--suite", str(suite), "--localizer", "baseline", "--data", str(tmp_path), "--out", str(work),
                     "--no-plots"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "synth" in out and "missing_pair" in out and "skipped" in out
    assert "totals: 1/2 ok, 0 failed, 1 skipped" in out and "(0 runs output no position)" in out
    summary = json.loads((work / "suite_report.json").read_text())
    assert summary["totals"]["pooled_fused_ticks"] == 21
    # A second run reuses the generated flight (same spec) instead of rendering it again.
    stamp = work / "flights" / "synth" / ".suite-key"
    before = stamp.stat().st_mtime_ns
    flight_yaml = (work / "flights" / "synth" / "flight.yaml").stat().st_mtime_ns
    assert bench_main(["--suite", str(suite), "--localizer", "baseline", "--data", str(tmp_path), "--out", str(work),
                       "--no-plots", "--only", "synth"]) == 0
    assert (work / "flights" / "synth" / "flight.yaml").stat().st_mtime_ns == flight_yaml
    assert stamp.stat().st_mtime_ns >= before


def test_bad_suite_names_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    suite = tmp_path / "bad.yaml"
    suite.write_text("runs:\n  - name: x\n    synthetic: {seed: 1}\n    flight: {altitude: 3}\n")
    assert bench_main(["--suite", str(suite), "--localizer", "baseline", "--out", str(tmp_path / "w")]) == 1
    err = capsys.readouterr().err
    assert "runs[0]" in err and "altitude" in err


def test_repository_suites_parse() -> None:
    from gps_denied_onboard.components.c12_sim import load_suite

    suites = sorted((Path(__file__).resolve().parents[2] / "bench" / "suites").glob("*.yaml"))
    assert suites, "bench/suites/*.yaml not found"
    for path in suites:
        suite = load_suite(path)
        assert suite.runs
    standard = load_suite(next(p for p in suites if p.stem == "standard"))
    kinds = {r.kind for r in standard.runs}
    assert kinds == {"pair", "synthetic", "photos"}
    assert len({r.source for r in standard.runs if r.source.startswith("crossdate/")}) == 25  # every shared pair
    assert len({r.name for r in standard.runs}) == len(standard.runs)  # run names are unique (results dirs)


@pytest.mark.slow
def test_shared_pair_with_baseline(shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    suite = Path(__file__).resolve().parents[2] / "bench" / "suites" / "smoke.yaml"
    rc = bench_main(["--suite", str(suite), "--localizer", "baseline", "--data", str(shared_data),
                     "--out", str(tmp_path / "w"), "--only", "levir_test_1", "sztaki_szada_1"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "totals: 2/2 ok" in out
    report = json.loads((tmp_path / "w" / "results" / "levir_test_1" / "report.json").read_text())
    assert 0.5 < report["map_gsd_m"] < 0.6 and 80 <= report["agl_m"] <= 160


@pytest.mark.slow
def test_airborne_localizer_through_the_runner(flight: Path, tmp_path: Path) -> None:
    try:
        runner.resolve_localizer("airborne")
    except runner.LocalizerUnavailableError as exc:
        pytest.skip(str(exc))
    report = runner.bench_flight(flight, tmp_path / "b", localizer="airborne", plots=False)
    assert report["frames"] == 7 and report["track_ticks"] > 0


@pytest.mark.slow
def test_localization_overrides_reach_the_airborne_pipeline(flight: Path, tmp_path: Path) -> None:
    """A suite's `localization:` overrides travel to the localizer process: gates set out
    of reach refuse every fix the default configuration accepts."""
    try:
        runner.resolve_localizer("airborne")
    except runner.LocalizerUnavailableError as exc:
        pytest.skip(str(exc))
    default = runner.bench_flight(flight, tmp_path / "d", localizer="airborne", plots=False)
    assert default["fixes_accepted"] > 0 and default["localization"] == {}
    strict = {"min_distinctiveness": 0.99, "relocalization_min_distinctiveness": 0.99}
    report = runner.bench_flight(flight, tmp_path / "s", localizer="airborne", plots=False, localization=strict)
    assert report["fixes_accepted"] == 0 and report["frames"] == default["frames"]
    assert report["localization"] == strict


def test_realtime_mode_paces_frames_at_capture_time(flight: Path, tmp_path: Path) -> None:
    report = runner.bench_flight(flight, tmp_path / "rt", localizer="baseline", realtime=True, plots=False)
    assert report["realtime"] is True
    # 3 s of flight cannot be replayed in real time faster than 3 s.
    assert report["resources"]["wall_s"] >= 0.95 * report["duration_s"]
    fast = runner.bench_flight(flight, tmp_path / "fast", localizer="baseline", plots=False)
    assert fast["resources"]["realtime_factor"] > report["resources"]["realtime_factor"]
