"""The localizer's out-dir files: golden layout, round trip, validation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _dataset_golden_inputs import FIXES, TRACK

from gps_denied_onboard.dataset import (
    CsvFormatError,
    EstimateWriter,
    FixRow,
    MissingStreamError,
    TimingRow,
    TrackRow,
    UnsortedTimestampsError,
    read_estimates,
    read_fixes,
    read_track,
    write_fixes_csv,
    write_timing_csv,
    write_track_csv,
)

GOLDEN = Path(__file__).parent / "golden"


def test_batch_writers_match_golden(tmp_path: Path) -> None:
    write_track_csv(tmp_path / "track.csv", TRACK)
    write_fixes_csv(tmp_path / "fixes.csv", FIXES)
    write_timing_csv(tmp_path / "timing.csv", [TimingRow(1_000_000_000, 42.5), TimingRow(1_100_000_000, 38.25)])
    for name in ("track.csv", "fixes.csv", "timing.csv"):
        assert (tmp_path / name).read_bytes() == (GOLDEN / name).read_bytes(), name


def test_streaming_writer_matches_batch_and_reads_back(tmp_path: Path) -> None:
    with EstimateWriter(tmp_path) as w:
        for row in TRACK:
            w.track(row)
        for fix in FIXES:
            w.fix(fix)
        w.timing(1_000_000_000, 42.5)
        w.timing(1_100_000_000, 38.25)
    for name in ("track.csv", "fixes.csv", "timing.csv"):
        assert (tmp_path / name).read_bytes() == (GOLDEN / name).read_bytes(), name
    est = read_estimates(tmp_path)
    assert len(est.track) == 3 and est.track.source == ("fix", "vo", "none")
    assert est.track.health == ("ok", "degraded", "lost")
    np.testing.assert_array_equal(est.track.cov[0], [4.0, 0.5, 9.0])
    assert np.isnan(est.track.lat[2])
    assert est.fixes.accepted.tolist() == [True, False]
    assert est.fixes.reason[1] == "too few inliers, 7 < 12"
    np.testing.assert_array_equal(est.timing.latency_ms, [42.5, 38.25])


def test_streaming_writer_refuses_time_going_back(tmp_path: Path) -> None:
    with EstimateWriter(tmp_path) as w:
        w.timing(5, 1.0)
        with pytest.raises(CsvFormatError):
            w.timing(5, 1.0)
        with pytest.raises(CsvFormatError):
            w.track(TrackRow(1, 0, 0, 0, 0, 0, 0, 1, 0, 1, "gnss", "ok"))


def test_position_rows_need_finite_values(tmp_path: Path) -> None:
    bad = TrackRow(1, float("nan"), 2.0, 0, 0, 0, 0, 1, 0, 1, "fix", "ok")
    write_track_csv(tmp_path / "track.csv", [bad])
    with pytest.raises(CsvFormatError) as err:
        read_track(tmp_path / "track.csv")
    assert (err.value.line, err.value.field) == (2, "lat")
    write_fixes_csv(tmp_path / "fixes.csv", [FixRow(1, 1.0, 2.0, float("nan"), 0, 1, True)])
    with pytest.raises(CsvFormatError) as err:
        read_fixes(tmp_path / "fixes.csv")
    assert err.value.field == "cov_nn"


def test_unknown_source_and_unsorted_rows_are_named(tmp_path: Path) -> None:
    p = tmp_path / "track.csv"
    write_track_csv(p, TRACK[:2])
    p.write_text(p.read_text().replace(",vo,", ",gnss,"))
    with pytest.raises(CsvFormatError) as err:
        read_track(p)
    assert (err.value.line, err.value.field, err.value.value) == (3, "source", "gnss")
    write_track_csv(p, [TRACK[1], TRACK[0]])
    with pytest.raises(UnsortedTimestampsError):
        read_track(p)


def test_missing_out_file_is_named(tmp_path: Path) -> None:
    write_track_csv(tmp_path / "track.csv", TRACK)
    with pytest.raises(MissingStreamError) as err:
        read_estimates(tmp_path)
    assert err.value.path == tmp_path / "fixes.csv"
