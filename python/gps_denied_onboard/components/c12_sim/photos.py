"""Folders of geotagged drone photos (EXIF GPS + DJI XMP attitude) as flights.

Each photo becomes a frame (downscaled), its XMP gimbal attitude the attitude
sample, its relative/absolute altitude the altitude sample, its EXIF GPS the
ground truth. A stabilised gimbal is written as a virtual body: yaw = gimbal
yaw, pitch = gimbal pitch + 90 deg (gimbal -90 = nadir = level body), roll =
gimbal roll, with the nadir mount (image top toward the gimbal's yaw), so the
camera orientation in the dataset is exactly the gimbal's.

Intrinsics: focal length (EXIF FocalLength, mm) over the sensor width, taken
from EXIF FocalPlaneXResolution, else a table of known camera models, else the
35 mm-equivalent focal length (FocalLengthIn35mmFilm, 36 mm wide frame).
"""

from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np

from gps_denied_onboard._types import CameraModel
from gps_denied_onboard.dataset import FORMAT_VERSION, FlightMeta, FlightWriter, PhotoMetadataError

# Sensor widths (mm) of common DJI cameras (EXIF Model), for photos without focal-plane tags.
SENSOR_WIDTH_MM = {
    "FC300S": 6.17, "FC300X": 6.17, "FC300C": 6.17, "FC330": 6.17, "FC220": 6.17, "FC2103": 6.17,
    "FC6310": 13.2, "FC6310S": 13.2, "FC6510": 13.2, "FC6520": 17.3, "FC7303": 6.3, "L1D-20C": 13.2,
    "FC3170": 6.4, "FC3411": 13.2, "FC3582": 9.6,
}
_T0_NS = 10_000_000_000
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_TAGS = {"FocalLength": 37386, "FocalLengthIn35mmFilm": 41989, "FocalPlaneXResolution": 41486,
         "FocalPlaneResolutionUnit": 41488, "DateTimeOriginal": 36867, "SubsecTimeOriginal": 37521, "Model": 272}
_XMP_RE = re.compile(rb'drone-dji:(\w+)="([^"]*)"|<drone-dji:(\w+)>([^<]*)</drone-dji:\w+>')


@dataclass(frozen=True)
class Photo:
    """What one photo says about itself."""

    path: Path
    t_ns: int
    width: int
    height: int
    focal_px: float
    lat: float
    lon: float
    gps_alt_m: float
    rel_alt_m: float
    abs_alt_m: float
    roll: float
    pitch: float
    yaw: float


def _rational(v: object) -> float:
    return float(v)  # type: ignore[arg-type]  # PIL IFDRational and tuples of them convert


def _dms(values: object, ref: object, path: Path, field: str) -> float:
    try:
        d, m, s = (_rational(x) for x in values)  # type: ignore[attr-defined]
    except (TypeError, ValueError, ZeroDivisionError) as exc:
        raise PhotoMetadataError("GPS coordinate is not degrees/minutes/seconds", path=path, field=field,
                                 value=values) from exc
    sign = -1.0 if str(ref).strip().upper() in ("S", "W") else 1.0
    return sign * (d + m / 60.0 + s / 3600.0)


def read_photo(path: str | Path) -> Photo:
    """Parse a photo's EXIF and DJI XMP; PhotoMetadataError names the photo and field."""
    from PIL import Image, UnidentifiedImageError

    p = Path(path)
    try:
        with Image.open(p) as img:
            exif = img.getexif()
            width, height = img.size
    except (OSError, UnidentifiedImageError) as exc:
        raise PhotoMetadataError(f"not a readable image: {exc}", path=p) from exc
    sub = exif.get_ifd(_EXIF_IFD)
    gps = exif.get_ifd(_GPS_IFD)
    data = p.read_bytes()
    xmp: dict[str, str] = {}
    for m in _XMP_RE.finditer(data):
        key = (m.group(1) or m.group(3)).decode()
        xmp[key] = (m.group(2) if m.group(1) else m.group(4)).decode(errors="replace").strip()

    def need_xmp(key: str) -> float:
        if key not in xmp:
            raise PhotoMetadataError("missing DJI XMP field", path=p, field=f"drone-dji:{key}")
        try:
            return float(xmp[key])
        except ValueError:
            raise PhotoMetadataError("not a number", path=p, field=f"drone-dji:{key}", value=xmp[key]) from None

    for key in ("GPSLatitude", "GPSLongitude"):
        if {"GPSLatitude": 2, "GPSLongitude": 4}[key] not in gps:
            raise PhotoMetadataError("missing EXIF GPS field", path=p, field=key)
    lat = _dms(gps[2], gps.get(1, "N"), p, "GPSLatitude")
    lon = _dms(gps[4], gps.get(3, "E"), p, "GPSLongitude")
    gps_alt = _rational(gps[6]) * (-1.0 if gps.get(5, b"\x00") in (b"\x01", 1) else 1.0) if 6 in gps else math.nan
    stamp = sub.get(_TAGS["DateTimeOriginal"]) or exif.get(306)
    if not stamp:
        raise PhotoMetadataError("missing EXIF field", path=p, field="DateTimeOriginal")
    try:
        when = datetime.strptime(str(stamp).strip("\x00 "), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        raise PhotoMetadataError("not 'YYYY:MM:DD HH:MM:SS'", path=p, field="DateTimeOriginal", value=stamp) from None
    subsec = str(sub.get(_TAGS["SubsecTimeOriginal"], "") or "").strip("\x00 ")
    t_ns = calendar.timegm(when.timetuple()) * 1_000_000_000 + (int(subsec.ljust(9, "0")[:9]) if subsec.isdigit() else 0)
    focal_mm = sub.get(_TAGS["FocalLength"])
    if focal_mm is None or _rational(focal_mm) <= 0:
        raise PhotoMetadataError("missing EXIF field", path=p, field="FocalLength", value=focal_mm)
    model = str(exif.get(_TAGS["Model"], "")).strip("\x00 ")
    fpx = sub.get(_TAGS["FocalPlaneXResolution"])
    unit = {2: 25.4, 3: 10.0, 4: 1.0}.get(int(sub.get(_TAGS["FocalPlaneResolutionUnit"], 2)), 25.4)
    f35 = sub.get(_TAGS["FocalLengthIn35mmFilm"])
    if fpx is not None and _rational(fpx) > 0:
        focal_px = _rational(focal_mm) * _rational(fpx) / unit
    elif model in SENSOR_WIDTH_MM:
        focal_px = _rational(focal_mm) / SENSOR_WIDTH_MM[model] * width
    elif f35:
        focal_px = float(f35) / 36.0 * width
    else:
        raise PhotoMetadataError(
            "cannot derive the focal length in pixels: no FocalPlaneXResolution, unknown camera model and no "
            "FocalLengthIn35mmFilm", path=p, field="FocalPlaneXResolution", value=model,
        )
    return Photo(
        p, t_ns, width, height, focal_px, lat, lon, gps_alt, need_xmp("RelativeAltitude"),
        need_xmp("AbsoluteAltitude"), math.radians(need_xmp("GimbalRollDegree")),
        math.radians(need_xmp("GimbalPitchDegree") + 90.0), math.radians(need_xmp("GimbalYawDegree")),
    )


def flight_from_photos(folder: str | Path, out_dir: str | Path, *, max_width: int = 640,
                       prior_sigma_m: float | None = 10.0, seed: int = 0, map_path: str | Path | None = None,
                       overwrite: bool = False) -> Path:
    """Write a gdn-flight/1 dataset from a folder of geotagged JPEG photos."""
    src = Path(folder)
    files = sorted(q for q in src.iterdir() if q.suffix.lower() in (".jpg", ".jpeg")) if src.is_dir() else []
    if not files:
        raise PhotoMetadataError("no JPEG photos in the folder", path=src)
    photos = sorted((read_photo(f) for f in files), key=lambda ph: (ph.t_ns, ph.path.name))
    first = photos[0]
    for ph in photos[1:]:
        if (ph.width, ph.height) != (first.width, first.height):
            raise PhotoMetadataError("photos of one flight must share a resolution", path=ph.path,
                                     field="resolution", value=(ph.width, ph.height))
    # Equal capture seconds (no sub-second tag) are spread evenly: order is kept, time stays monotonic.
    stamps = [ph.t_ns for ph in photos]
    for i in range(1, len(stamps)):
        if stamps[i] <= stamps[i - 1]:
            stamps[i] = stamps[i - 1] + 1_000_000
    t_ns = np.array(stamps, dtype=np.int64) - stamps[0] + _T0_NS
    full = CameraModel(first.width, first.height, first.focal_px, first.focal_px, (first.width - 1) / 2.0,
                       (first.height - 1) / 2.0)
    scale = min(1.0, max_width / first.width)
    w, h = int(round(first.width * scale)), int(round(first.height * scale))
    camera = full.scaled(w, h)
    ground = float(np.median([ph.abs_alt_m - ph.rel_alt_m for ph in photos]))
    meta = FlightMeta(
        FORMAT_VERSION, "multirotor", ground,
        f"{len(photos)} geotagged photos from {src.name}; attitude = gimbal as a virtual body; truth = photo GPS",
        map=str(Path(map_path).resolve()) if map_path else None,
        extra={"photos": {"source": str(src.resolve()), "files": [ph.path.name for ph in photos]}},
    )
    rng = np.random.default_rng(np.random.SeedSequence([seed, 21]))
    with FlightWriter(out_dir, meta, camera, overwrite=overwrite) as writer:
        for ph, t in zip(photos, t_ns, strict=True):
            img = cv2.imread(str(ph.path), cv2.IMREAD_COLOR)
            if img is None:
                raise PhotoMetadataError("photo does not decode", path=ph.path)
            if scale < 1.0:
                img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
            writer.add_frame(int(t), img, ext="jpg", jpeg_quality=92)
        att = np.array([[ph.roll, ph.pitch, math.atan2(math.sin(ph.yaw), math.cos(ph.yaw))] for ph in photos])
        writer.set_stream("attitude", t_ns, att)
        writer.set_stream("altitude", t_ns, np.array([[ph.rel_alt_m, ph.abs_alt_m] for ph in photos]))
        gps_alt = [ph.gps_alt_m if math.isfinite(ph.gps_alt_m) else ph.abs_alt_m for ph in photos]
        writer.set_stream("groundtruth", t_ns,
                          np.column_stack([[ph.lat for ph in photos], [ph.lon for ph in photos], gps_alt, att]))
        if prior_sigma_m is not None:
            m_lat = 111_132.0
            m_lon = 111_320.0 * math.cos(math.radians(first.lat))
            dn, de = rng.normal(0.0, prior_sigma_m, 2)
            writer.set_stream("prior", t_ns[:1],
                              [[first.lat + dn / m_lat, first.lon + de / m_lon, float(prior_sigma_m)]])
    return Path(out_dir)
