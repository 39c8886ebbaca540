"""Reading and validating gdn-flight/1 datasets (DESIGN §5; docs/formats/flight-dataset.md)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import cv2
import numpy as np
import numpy.typing as npt
import yaml

from gps_denied_onboard._types import CameraModel, GeoValueError
from gps_denied_onboard.dataset.csvio import read_numeric, read_rows
from gps_denied_onboard.dataset.errors import (
    CsvFormatError,
    DatasetError,
    ImageDecodeError,
    MissingStreamError,
    UnknownFormatError,
    YamlFormatError,
)
from gps_denied_onboard.dataset.layout import (
    CAM_COLUMNS,
    CAM_CSV,
    CAM_DATA_DIR,
    FLIGHT_YAML,
    SENSOR_YAML,
    STREAMS,
    SUPPORTED_FORMATS,
    StreamSpec,
)
from gps_denied_onboard.dataset.timeseries import TimeSeries

VEHICLES = ("multirotor", "fixed_wing")
_KNOWN_META_KEYS = ("format", "vehicle", "ground_alt_msl_m", "notes", "map")

T = TypeVar("T")


class Frame(NamedTuple):
    """One camera frame: capture time (ns) and the image file."""

    t_ns: int
    path: Path


@dataclass(frozen=True)
class FlightMeta:
    """`flight.yaml`. `map` is an optional hint (path relative to the flight
    directory, or absolute) naming the map raster the flight was made for;
    keys this version does not know are kept in `extra`."""

    format: str
    vehicle: str
    ground_alt_msl_m: float
    notes: str = ""
    map: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, eq=False)
class FlightDataset:
    """A flight read from disk. `groundtruth` is for scoring only: the localizer never reads it."""

    root: Path
    meta: FlightMeta
    camera: CameraModel
    frames: tuple[Frame, ...]
    attitude: TimeSeries
    altitude: TimeSeries
    imu: TimeSeries | None = None
    prior: TimeSeries | None = None
    groundtruth: TimeSeries | None = None

    @property
    def frame_times_ns(self) -> npt.NDArray[np.int64]:
        return np.array([f.t_ns for f in self.frames], dtype=np.int64)

    @property
    def map_path(self) -> Path | None:
        """The map hint of `flight.yaml` resolved against the flight directory."""
        if not self.meta.map:
            return None
        p = Path(self.meta.map)
        return p if p.is_absolute() else self.root / p

    def load_frame(self, index: int) -> npt.NDArray[np.uint8]:
        """Frame `index` as an H x W x 3 BGR uint8 image; ImageDecodeError names the frame."""
        frame = self.frames[index]
        return decode_image(frame.path, index=index, expect=(self.camera.width, self.camera.height))


def decode_image(path: Path, *, index: int, expect: tuple[int, int] | None) -> npt.NDArray[np.uint8]:
    """Decode an image file to BGR uint8, checking its size against `expect` (w, h)."""
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise ImageDecodeError(f"cannot read image: {exc.strerror}", path=path, frame=index) from exc
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise ImageDecodeError("image does not decode (corrupt or not an image)", path=path, frame=index)
    if expect is not None and (image.shape[1], image.shape[0]) != expect:
        raise ImageDecodeError(
            f"image is {image.shape[1]}x{image.shape[0]}, sensor.yaml says {expect[0]}x{expect[1]}",
            path=path, frame=index, field="resolution", value=(image.shape[1], image.shape[0]),
        )
    return np.ascontiguousarray(image, dtype=np.uint8)


def _load_yaml(path: Path, what: str) -> dict[str, Any]:
    if not path.is_file():
        raise MissingStreamError(f"{what} is missing", path=path)
    text = path.read_text(encoding="utf-8", errors="replace")
    # EuRoC's sensor.yaml files start with OpenCV's "%YAML:1.0", which is not YAML.
    if text.startswith("%YAML:"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = None if mark is None else mark.line + 1
        raise YamlFormatError(f"{what} does not parse: {exc}", path=path, line=line) from exc
    if not isinstance(data, dict):
        raise YamlFormatError(f"{what} must be a mapping", path=path, value=type(data).__name__)
    return data


def _number_list(data: dict[str, Any], key: str, n: int, path: Path) -> list[float]:
    value = data.get(key)
    if not isinstance(value, list) or len(value) != n:
        raise YamlFormatError(f"expected a list of {n} numbers", path=path, field=key, value=value)
    out: list[float] = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)):
            raise YamlFormatError(f"expected a list of {n} finite numbers", path=path, field=key, value=value)
        out.append(float(v))
    return out


def read_meta(root: Path) -> FlightMeta:
    """Parse and check `flight.yaml`."""
    path = root / FLIGHT_YAML
    data = _load_yaml(path, "flight.yaml")
    fmt = data.get("format")
    if fmt not in SUPPORTED_FORMATS:
        raise UnknownFormatError(
            f"unknown format version (this reader knows {', '.join(SUPPORTED_FORMATS)})",
            path=path, field="format", value=fmt,
        )
    vehicle = data.get("vehicle")
    if vehicle not in VEHICLES:
        raise YamlFormatError(f"vehicle must be one of {', '.join(VEHICLES)}", path=path, field="vehicle", value=vehicle)
    ground = data.get("ground_alt_msl_m")
    if isinstance(ground, bool) or not isinstance(ground, (int, float)) or not math.isfinite(float(ground)):
        raise YamlFormatError("expected a finite number of metres", path=path, field="ground_alt_msl_m", value=ground)
    notes = data.get("notes", "")
    map_hint = data.get("map")
    if map_hint is not None and not isinstance(map_hint, str):
        raise YamlFormatError("expected a path string", path=path, field="map", value=map_hint)
    extra = {k: v for k, v in data.items() if k not in _KNOWN_META_KEYS}
    return FlightMeta(str(fmt), str(vehicle), float(ground), "" if notes is None else str(notes), map_hint, extra)


def read_camera(root: Path) -> CameraModel:
    """Parse `mav0/cam0/sensor.yaml` (ASL camera yaml) into a CameraModel."""
    path = root / SENSOR_YAML
    data = _load_yaml(path, "camera sensor.yaml")
    w, h = _number_list(data, "resolution", 2, path)
    fx, fy, cx, cy = _number_list(data, "intrinsics", 4, path)
    model = data.get("distortion_model", "radial-tangential")
    if model not in ("radial-tangential", "radtan", "none"):
        raise YamlFormatError(
            "only radial-tangential distortion is supported", path=path, field="distortion_model", value=model
        )
    dist = (0.0, 0.0, 0.0, 0.0)
    if model != "none":
        k = _number_list(data, "distortion_coefficients", 4, path)
        dist = (k[0], k[1], k[2], k[3])
    tbs = data.get("T_BS")
    if not isinstance(tbs, dict):
        raise YamlFormatError("expected {rows: 4, cols: 4, data: [16 numbers]}", path=path, field="T_BS", value=tbs)
    if tbs.get("rows") != 4 or tbs.get("cols") != 4:
        raise YamlFormatError("T_BS must be 4 x 4", path=path, field="T_BS", value=(tbs.get("rows"), tbs.get("cols")))
    t_bs = _number_list(tbs, "data", 16, path)
    if w != int(w) or h != int(h):
        raise YamlFormatError("resolution must be integers", path=path, field="resolution", value=[w, h])
    try:
        return CameraModel(int(w), int(h), fx, fy, cx, cy, dist, tuple(t_bs))
    except GeoValueError as exc:
        raise YamlFormatError(str(exc), path=path, field=exc.field, value=exc.value) from exc


def read_frames(root: Path, camera: CameraModel | None, *, check_headers: bool = True) -> tuple[Frame, ...]:
    """Parse `mav0/cam0/data.csv`; with `check_headers` each image's header is read
    (cheap) to check it exists, is an image, and has the sensor's resolution."""
    path = root / CAM_CSV
    stamps, cells, lines = read_rows(path, CAM_COLUMNS, stream="cam0")
    if not stamps:
        raise CsvFormatError("the flight has no camera frames", path=path, line=2)
    data_dir = root / CAM_DATA_DIR
    frames: list[Frame] = []
    for i, (ts, row, line) in enumerate(zip(stamps, cells, lines, strict=True)):
        name = row[0]
        rel = Path(name)
        if not name or rel.is_absolute() or ".." in rel.parts:
            raise CsvFormatError(
                "filename must be a relative path inside mav0/cam0/data", path=path, line=line, field="filename",
                value=name,
            )
        frame_path = data_dir / rel
        if check_headers:
            _check_image_header(frame_path, i, camera)
        frames.append(Frame(ts, frame_path))
    return tuple(frames)


def _check_image_header(path: Path, index: int, camera: CameraModel | None) -> None:
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        raise ImageDecodeError("image file is missing", path=path, frame=index)
    try:
        with Image.open(path) as img:
            size = img.size
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise ImageDecodeError(f"image does not decode: {exc}", path=path, frame=index) from exc
    if camera is not None and size != (camera.width, camera.height):
        raise ImageDecodeError(
            f"image is {size[0]}x{size[1]}, sensor.yaml says {camera.width}x{camera.height}",
            path=path, frame=index, field="resolution", value=size,
        )


def read_stream(root: Path, spec: StreamSpec) -> TimeSeries | None:
    """A numeric stream as a TimeSeries; None for an absent optional stream."""
    path = root / spec.path
    if not path.exists() and not spec.required:
        return None
    t, v = read_numeric(path, spec.columns, stream=spec.name)
    if spec.required and t.size == 0:
        raise MissingStreamError(f"stream {spec.name!r} has no samples", path=path)
    return TimeSeries(spec.name, t, v, spec.names, spec.angles)


def _attempt(problems: list[DatasetError] | None, fn: Callable[[], T]) -> T | None:
    if problems is None:
        return fn()
    try:
        return fn()
    except DatasetError as exc:
        problems.append(exc)
        return None


def _read(root: Path, problems: list[DatasetError] | None, check_headers: bool) -> FlightDataset | None:
    if not root.is_dir():
        raise MissingStreamError("flight directory does not exist", path=root)
    meta = _attempt(problems, lambda: read_meta(root))
    camera = _attempt(problems, lambda: read_camera(root))
    frames = _attempt(problems, lambda: read_frames(root, camera, check_headers=check_headers))
    streams: dict[str, TimeSeries | None] = {}
    for spec in STREAMS:
        streams[spec.name] = _attempt(problems, lambda spec=spec: read_stream(root, spec))  # type: ignore[misc]
    if problems or meta is None or camera is None or frames is None:
        return None
    attitude, altitude = streams["attitude"], streams["altitude"]
    assert attitude is not None and altitude is not None  # required streams raise when absent
    return FlightDataset(
        root, meta, camera, frames, attitude, altitude,
        imu=streams["imu"], prior=streams["prior"], groundtruth=streams["groundtruth"],
    )


def read_flight(path: str | Path, *, check_images: bool = True) -> FlightDataset:
    """Read and check a flight dataset; raises the first problem as a DatasetError
    subclass naming the file, line and field. With `check_images` (default) every
    frame's image header is read to check it exists, is an image and has the
    sensor's resolution; full decoding happens in `load_frame`."""
    flight = _read(Path(path), None, check_images)
    assert flight is not None
    return flight


def validate_flight(path: str | Path) -> list[DatasetError]:
    """Every problem found in the dataset (empty when it is valid). Unlike
    `read_flight` this keeps going after a problem and fully decodes every frame."""
    root = Path(path)
    problems: list[DatasetError] = []
    try:
        flight = _read(root, problems, check_headers=False)
    except DatasetError as exc:
        return [exc]
    camera = None
    if flight is None:
        try:
            camera = read_camera(root)
        except DatasetError:
            camera = None
        try:
            frames: tuple[Frame, ...] = read_frames(root, None, check_headers=False)
        except DatasetError:
            frames = ()
    else:
        camera, frames = flight.camera, flight.frames
    expect = None if camera is None else (camera.width, camera.height)
    for i, frame in enumerate(frames):
        try:
            decode_image(frame.path, index=i, expect=expect)
        except DatasetError as exc:
            problems.append(exc)
    return problems
