"""The on-disk layout of a gdn-flight/1 dataset (DESIGN §5): paths and the
documented columns of every stream. Shared by the reader and the writer."""

from __future__ import annotations

from dataclasses import dataclass

from gps_denied_onboard.dataset.csvio import Column

FORMAT_VERSION = "gdn-flight/1"
SUPPORTED_FORMATS = (FORMAT_VERSION,)

FLIGHT_YAML = "flight.yaml"
SENSOR_YAML = "mav0/cam0/sensor.yaml"
CAM_CSV = "mav0/cam0/data.csv"
CAM_DATA_DIR = "mav0/cam0/data"

CAM_COLUMNS: tuple[Column, ...] = (("timestamp", "ns"), ("filename", ""))


@dataclass(frozen=True)
class StreamSpec:
    """A numeric stream: its csv path, its documented columns, the `TimeSeries`
    column names, which of them are angles, and whether a flight must have it."""

    name: str
    path: str
    columns: tuple[Column, ...]
    names: tuple[str, ...]
    angles: frozenset[str]
    required: bool


ATTITUDE = StreamSpec(
    "attitude", "mav0/attitude0/data.csv",
    (("timestamp", "ns"), ("roll", "rad"), ("pitch", "rad"), ("yaw", "rad")),
    ("roll", "pitch", "yaw"), frozenset({"roll", "pitch", "yaw"}), True,
)
ALTITUDE = StreamSpec(
    "altitude", "mav0/altitude0/data.csv",
    (("timestamp", "ns"), ("alt_agl", "m"), ("alt_msl", "m")),
    ("alt_agl", "alt_msl"), frozenset(), True,
)
IMU = StreamSpec(
    "imu", "mav0/imu0/data.csv",
    (
        ("timestamp", "ns"),
        ("w_RS_S_x", "rad s^-1"), ("w_RS_S_y", "rad s^-1"), ("w_RS_S_z", "rad s^-1"),
        ("a_RS_S_x", "m s^-2"), ("a_RS_S_y", "m s^-2"), ("a_RS_S_z", "m s^-2"),
    ),
    ("w_RS_S_x", "w_RS_S_y", "w_RS_S_z", "a_RS_S_x", "a_RS_S_y", "a_RS_S_z"), frozenset(), False,
)
PRIOR = StreamSpec(
    "prior", "mav0/prior0/data.csv",
    (("timestamp", "ns"), ("lat", "deg"), ("lon", "deg"), ("sigma", "m")),
    ("lat", "lon", "sigma"), frozenset(), False,
)
GROUNDTRUTH = StreamSpec(
    "groundtruth", "mav0/groundtruth0/data.csv",
    (
        ("timestamp", "ns"), ("lat", "deg"), ("lon", "deg"), ("alt_msl", "m"),
        ("roll", "rad"), ("pitch", "rad"), ("yaw", "rad"),
    ),
    ("lat", "lon", "alt_msl", "roll", "pitch", "yaw"), frozenset({"roll", "pitch", "yaw"}), False,
)

STREAMS: tuple[StreamSpec, ...] = (ATTITUDE, ALTITUDE, IMU, PRIOR, GROUNDTRUTH)
STREAMS_BY_NAME = {s.name: s for s in STREAMS}
