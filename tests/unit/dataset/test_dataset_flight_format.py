"""gdn-flight/1: golden layout, round trip, forward compatibility, and the errors a user sees."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from _dataset_golden_inputs import ALTITUDE, ATTITUDE, CAMERA, GROUNDTRUTH, IMU, META, PRIOR, T_NS, image

from gps_denied_onboard.dataset import (
    CsvFormatError,
    DatasetError,
    FlightWriter,
    ImageDecodeError,
    MissingStreamError,
    UnknownFormatError,
    UnsortedTimestampsError,
    YamlFormatError,
    read_flight,
    validate_flight,
    write_flight,
)

GOLDEN = Path(__file__).parent / "golden"
LAYOUT = {
    "flight.yaml": "flight.yaml",
    "mav0/cam0/sensor.yaml": "sensor.yaml",
    "mav0/cam0/data.csv": "cam0_data.csv",
    "mav0/attitude0/data.csv": "attitude0_data.csv",
    "mav0/altitude0/data.csv": "altitude0_data.csv",
    "mav0/imu0/data.csv": "imu0_data.csv",
    "mav0/prior0/data.csv": "prior0_data.csv",
    "mav0/groundtruth0/data.csv": "groundtruth0_data.csv",
}


def _write(root: Path) -> Path:
    return write_flight(
        root, META, CAMERA, [(int(t), image(i)) for i, t in enumerate(T_NS)],
        attitude=(T_NS, ATTITUDE), altitude=(T_NS, ALTITUDE), imu=(T_NS, IMU), prior=(T_NS, PRIOR),
        groundtruth=(T_NS, GROUNDTRUTH),
    )


@pytest.fixture()
def flight(tmp_path: Path) -> Path:
    return _write(tmp_path / "flight")


def test_writer_output_matches_the_documented_golden_layout(flight: Path) -> None:
    for rel, golden in LAYOUT.items():
        assert (flight / rel).read_bytes() == (GOLDEN / golden).read_bytes(), rel
    names = sorted(p.name for p in (flight / "mav0/cam0/data").iterdir())
    assert names == [f"{t}.png" for t in T_NS]


def test_round_trip_keeps_every_value(flight: Path) -> None:
    f = read_flight(flight)
    assert f.meta == META and f.meta.extra == {"sim": {"seed": 7}}
    assert f.camera == CAMERA
    assert [fr.t_ns for fr in f.frames] == [int(t) for t in T_NS]
    np.testing.assert_array_equal(f.attitude.values, ATTITUDE)
    np.testing.assert_array_equal(f.altitude.values, ALTITUDE)
    assert f.imu is not None and f.prior is not None and f.groundtruth is not None
    np.testing.assert_array_equal(f.imu.values, IMU)
    np.testing.assert_array_equal(f.prior.values, PRIOR)
    np.testing.assert_array_equal(f.groundtruth.values, GROUNDTRUTH)
    assert f.groundtruth.columns == ("lat", "lon", "alt_msl", "roll", "pitch", "yaw")
    for i in range(len(T_NS)):
        np.testing.assert_array_equal(f.load_frame(i), image(i))
    assert f.map_path == flight / "../map.tif"
    assert validate_flight(flight) == []


def test_same_inputs_give_the_same_bytes(tmp_path: Path) -> None:
    a, b = _write(tmp_path / "a"), _write(tmp_path / "b")
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_optional_streams_may_be_absent(flight: Path) -> None:
    for rel in ("mav0/imu0", "mav0/prior0", "mav0/groundtruth0"):
        shutil.rmtree(flight / rel)
    f = read_flight(flight)
    assert f.imu is None and f.prior is None and f.groundtruth is None


def test_unknown_columns_and_keys_and_euroc_yaml_header_are_tolerated(flight: Path) -> None:
    att = flight / "mav0/attitude0/data.csv"
    lines = att.read_text().splitlines()
    att.write_text("\n".join([lines[0] + ",rollspeed [rad s^-1]"] + [ln + ",0.5" for ln in lines[1:]]) + "\n")
    sensor = flight / "mav0/cam0/sensor.yaml"
    sensor.write_text("%YAML:1.0\n" + sensor.read_text() + "future_key: 3\n")
    (flight / "flight.yaml").write_text((flight / "flight.yaml").read_text() + "added_in_v1_1: yes\n")
    f = read_flight(flight)
    np.testing.assert_array_equal(f.attitude.values, ATTITUDE)
    assert f.meta.extra["added_in_v1_1"] is True


def test_missing_stream_names_the_file(flight: Path) -> None:
    shutil.rmtree(flight / "mav0/altitude0")
    with pytest.raises(MissingStreamError) as err:
        read_flight(flight)
    assert err.value.path == flight / "mav0/altitude0/data.csv"
    assert "altitude" in str(err.value)


def test_unsorted_timestamps_name_file_and_line(flight: Path) -> None:
    att = flight / "mav0/attitude0/data.csv"
    lines = att.read_text().splitlines()
    lines[2], lines[3] = lines[3], lines[2]
    att.write_text("\n".join(lines) + "\n")
    with pytest.raises(UnsortedTimestampsError) as err:
        read_flight(flight)
    assert err.value.path == att and err.value.line == 4
    assert err.value.value == 1_100_000_000
    assert f"{att}:4" in str(err.value)


def test_unknown_format_version_is_refused(flight: Path) -> None:
    meta = flight / "flight.yaml"
    meta.write_text(meta.read_text().replace("gdn-flight/1", "gdn-flight/2"))
    with pytest.raises(UnknownFormatError) as err:
        read_flight(flight)
    assert err.value.field == "format" and err.value.value == "gdn-flight/2"


def test_bad_number_names_line_and_column(flight: Path) -> None:
    alt = flight / "mav0/altitude0/data.csv"
    alt.write_text(alt.read_text().replace("120.25", "12O.25"))
    with pytest.raises(CsvFormatError) as err:
        read_flight(flight)
    assert (err.value.line, err.value.field, err.value.value) == (3, "alt_agl", "12O.25")


def test_wrong_header_is_refused(flight: Path) -> None:
    alt = flight / "mav0/altitude0/data.csv"
    alt.write_text(alt.read_text().replace("alt_agl", "agl"))
    with pytest.raises(CsvFormatError) as err:
        read_flight(flight)
    assert err.value.line == 1 and err.value.field == "alt_agl"


def test_bad_sensor_yaml_field_is_named(flight: Path) -> None:
    sensor = flight / "mav0/cam0/sensor.yaml"
    sensor.write_text(sensor.read_text().replace("intrinsics: [30.0, 30.5, 15.5, 11.75]", "intrinsics: [30.0, 15.5]"))
    with pytest.raises(YamlFormatError) as err:
        read_flight(flight)
    assert err.value.field == "intrinsics" and err.value.value == [30.0, 15.5]


def test_image_that_does_not_decode_names_the_frame(flight: Path) -> None:
    bad = flight / f"mav0/cam0/data/{T_NS[1]}.png"
    bad.write_bytes(b"not an image at all")
    with pytest.raises(ImageDecodeError) as err:
        read_flight(flight)
    assert err.value.frame == 1 and err.value.path == bad


def test_truncated_image_fails_on_load_with_the_frame_named(flight: Path) -> None:
    bad = flight / f"mav0/cam0/data/{T_NS[2]}.png"
    bad.write_bytes(bad.read_bytes()[:60])
    f = read_flight(flight)  # the header still parses
    f.load_frame(0)
    with pytest.raises(ImageDecodeError) as err:
        f.load_frame(2)
    assert err.value.frame == 2 and err.value.path == bad
    problems = validate_flight(flight)
    assert [p.frame for p in problems] == [2]


def test_validate_reports_every_problem_at_once(flight: Path) -> None:
    (flight / "flight.yaml").write_text("format: gdn-flight/9\nvehicle: multirotor\nground_alt_msl_m: 1\n")
    shutil.rmtree(flight / "mav0/attitude0")
    (flight / f"mav0/cam0/data/{T_NS[0]}.png").write_bytes(b"garbage")
    kinds = sorted(type(p).__name__ for p in validate_flight(flight))
    assert kinds == ["ImageDecodeError", "MissingStreamError", "UnknownFormatError"]


def test_writer_refuses_out_of_order_frames_and_wrong_sizes(tmp_path: Path) -> None:
    w = FlightWriter(tmp_path / "f", META, CAMERA)
    w.add_frame(10, image(0))
    with pytest.raises(DatasetError):
        w.add_frame(10, image(1))
    with pytest.raises(DatasetError):
        w.add_frame(20, np.zeros((5, 5, 3), np.uint8))
    with pytest.raises(DatasetError):
        w.close()  # no attitude/altitude


def test_writer_will_not_clobber_a_foreign_directory(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(DatasetError):
        FlightWriter(tmp_path, META, CAMERA, overwrite=True)
    assert (tmp_path / "precious.txt").exists()
