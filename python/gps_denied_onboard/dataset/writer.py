"""Writing gdn-flight/1 datasets. Output is byte-for-byte deterministic for the
same inputs (fixed key order, lossless float text, deterministic encoders)."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import yaml

from gps_denied_onboard._types import CameraModel
from gps_denied_onboard.dataset.csvio import write_numeric, write_rows
from gps_denied_onboard.dataset.errors import DatasetError
from gps_denied_onboard.dataset.flight import VEHICLES, FlightMeta
from gps_denied_onboard.dataset.layout import (
    CAM_COLUMNS,
    CAM_CSV,
    CAM_DATA_DIR,
    FLIGHT_YAML,
    FORMAT_VERSION,
    SENSOR_YAML,
    STREAMS_BY_NAME,
)
from gps_denied_onboard.dataset.timeseries import TimeSeries

IMAGE_EXTS = ("png", "jpg")


def _dump_yaml(data: dict[str, Any], *, flow_lists: bool = True) -> str:
    return yaml.safe_dump(
        data, sort_keys=False, default_flow_style=None if flow_lists else False, allow_unicode=True, width=200
    )


def meta_yaml(meta: FlightMeta) -> str:
    """The text of `flight.yaml` for `meta` (documented keys first, then extras)."""
    data: dict[str, Any] = {
        "format": meta.format,
        "vehicle": meta.vehicle,
        "ground_alt_msl_m": float(meta.ground_alt_msl_m),
        "notes": meta.notes,
    }
    if meta.map is not None:
        data["map"] = meta.map
    data.update(meta.extra)
    return _dump_yaml(data, flow_lists=False)


def sensor_yaml(camera: CameraModel, rate_hz: float | None = None) -> str:
    """The ASL camera `sensor.yaml` text for `camera`."""
    data: dict[str, Any] = {
        "sensor_type": "camera",
        "comment": "gdn-flight/1 cam0 (OpenCV camera frame; T_BS maps camera to body FRD)",
        "T_BS": {"cols": 4, "rows": 4, "data": [float(v) for v in camera.T_BS]},
    }
    if rate_hz is not None:
        data["rate_hz"] = float(rate_hz)
    data.update(
        {
            "resolution": [int(camera.width), int(camera.height)],
            "camera_model": "pinhole",
            "intrinsics": [float(camera.fx), float(camera.fy), float(camera.cx), float(camera.cy)],
            "distortion_model": "radial-tangential",
            "distortion_coefficients": [float(d) for d in camera.distortion],
        }
    )
    return _dump_yaml(data)


class FlightWriter:
    """Builds a flight dataset directory frame by frame (the simulator's output).

    Use as a context manager or call `close()`: frames are written as they come,
    `data.csv`, the streams and the yaml files on close.
    """

    def __init__(
        self, root: str | Path, meta: FlightMeta, camera: CameraModel, *, overwrite: bool = False,
        rate_hz: float | None = None,
    ) -> None:
        self.root = Path(root)
        if meta.format != FORMAT_VERSION:
            raise DatasetError(f"this writer writes {FORMAT_VERSION}", field="format", value=meta.format)
        if meta.vehicle not in VEHICLES:
            raise DatasetError(f"vehicle must be one of {', '.join(VEHICLES)}", field="vehicle", value=meta.vehicle)
        if self.root.exists() and any(self.root.iterdir()):
            if not overwrite:
                raise DatasetError("output directory exists and is not empty (use overwrite)", path=self.root)
            if not (self.root / FLIGHT_YAML).is_file():
                raise DatasetError("refusing to overwrite a directory that is not a flight dataset", path=self.root)
            shutil.rmtree(self.root)
        (self.root / CAM_DATA_DIR).mkdir(parents=True, exist_ok=True)
        # flight.yaml first (rewritten on close): an interrupted write is still recognisably a
        # flight directory, so a later `overwrite` may replace it.
        (self.root / FLIGHT_YAML).write_text(meta_yaml(meta), encoding="utf-8")
        self.meta = meta
        self.camera = camera
        self._rate_hz = rate_hz
        self._frames: list[tuple[int, str]] = []
        self._streams: dict[str, tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]] = {}
        self._closed = False

    def add_frame(self, t_ns: int, image: npt.NDArray[np.uint8], *, ext: str = "png", jpeg_quality: int = 92) -> Path:
        """Encode and store a BGR uint8 frame captured at `t_ns`."""
        if image.shape[:2] != (self.camera.height, self.camera.width):
            raise DatasetError(
                f"frame is {image.shape[1]}x{image.shape[0]}, camera is {self.camera.width}x{self.camera.height}",
                field="resolution", value=image.shape, frame=len(self._frames),
            )
        if ext == "png":
            ok, buf = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 3])
        elif ext == "jpg":
            ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)])
        else:
            raise DatasetError(f"image extension must be one of {IMAGE_EXTS}", field="ext", value=ext)
        if not ok:
            raise DatasetError("image encoding failed", frame=len(self._frames))
        return self.add_frame_bytes(t_ns, buf.tobytes(), ext=ext)

    def add_frame_bytes(self, t_ns: int, data: bytes, *, ext: str) -> Path:
        """Store an already encoded frame (e.g. a camera's own JPEG)."""
        t = int(t_ns)
        if self._frames and t <= self._frames[-1][0]:
            raise DatasetError(
                f"frame timestamp {t} is not after the previous one ({self._frames[-1][0]})",
                field="timestamp", value=t, frame=len(self._frames),
            )
        name = f"{t}.{ext}"
        path = self.root / CAM_DATA_DIR / name
        path.write_bytes(data)
        self._frames.append((t, name))
        return path

    def set_stream(self, name: str, t_ns: npt.ArrayLike, values: npt.ArrayLike) -> None:
        """Set a whole stream ("attitude", "altitude", "imu", "prior", "groundtruth")."""
        spec = STREAMS_BY_NAME.get(name)
        if spec is None:
            raise DatasetError(f"unknown stream (known: {', '.join(STREAMS_BY_NAME)})", field="stream", value=name)
        t = np.asarray(t_ns, dtype=np.int64).reshape(-1)
        v = np.asarray(values, dtype=np.float64).reshape(t.shape[0], len(spec.names))
        # TimeSeries checks shape and strictly increasing time.
        TimeSeries(name, t, v, spec.names, spec.angles)
        if not np.all(np.isfinite(v)):
            raise DatasetError("stream values must be finite", field=name)
        self._streams[name] = (t, v)

    def close(self) -> Path:
        """Write `data.csv`, the streams and the yaml files; returns the flight directory."""
        if self._closed:
            return self.root
        for required in ("attitude", "altitude"):
            if required not in self._streams:
                raise DatasetError(f"stream {required!r} was never set", field=required)
        if not self._frames:
            raise DatasetError("a flight needs at least one frame", field="cam0")
        write_rows(self.root / CAM_CSV, CAM_COLUMNS, ([t, name] for t, name in self._frames))
        for name, (t, v) in self._streams.items():
            write_numeric(self.root / STREAMS_BY_NAME[name].path, STREAMS_BY_NAME[name].columns, t, v)
        (self.root / SENSOR_YAML).write_text(sensor_yaml(self.camera, self._rate_hz), encoding="utf-8")
        (self.root / FLIGHT_YAML).write_text(meta_yaml(self.meta), encoding="utf-8")
        self._closed = True
        return self.root

    def __enter__(self) -> FlightWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()


def write_flight(
    root: str | Path,
    meta: FlightMeta,
    camera: CameraModel,
    frames: Iterable[tuple[int, npt.NDArray[np.uint8]]],
    *,
    attitude: tuple[npt.ArrayLike, npt.ArrayLike],
    altitude: tuple[npt.ArrayLike, npt.ArrayLike],
    imu: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
    prior: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
    groundtruth: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
    ext: str = "png",
    overwrite: bool = False,
) -> Path:
    """Write a whole flight in one call; each stream is (t_ns, values N x k)."""
    with FlightWriter(root, meta, camera, overwrite=overwrite) as writer:
        for t, image in frames:
            writer.add_frame(t, image, ext=ext)
        for name, stream in (
            ("attitude", attitude), ("altitude", altitude), ("imu", imu), ("prior", prior), ("groundtruth", groundtruth)
        ):
            if stream is not None:
                writer.set_stream(name, stream[0], stream[1])
    return writer.root
