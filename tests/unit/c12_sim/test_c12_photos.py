"""Geotagged photo folders (EXIF GPS + DJI XMP) as flights, and the errors that name photo and field."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gps_denied_onboard.components.c12_sim import flight_from_photos, read_photo
from gps_denied_onboard.dataset import PhotoMetadataError, read_flight

XMP_KEYS = {
    "AbsoluteAltitude": "+198.31", "RelativeAltitude": "+39.80", "GimbalRollDegree": "+0.00",
    "GimbalYawDegree": "+45.00", "GimbalPitchDegree": "-89.90",
}


def _photo(path: Path, second: int, lat_s: float, *, drop_xmp: str = "", drop_gps: bool = False,
           model: str = "FC300S") -> Path:
    rng = np.random.default_rng(second)
    img = Image.fromarray(rng.integers(0, 255, (90, 160, 3), dtype=np.uint8))
    ex = Image.Exif()
    ex[272] = model
    if not drop_gps:
        ex[0x8825] = {1: "N", 2: (46.0, 50.0, lat_s), 3: "W", 4: (91.0, 59.0, 40.0), 6: 198.3}
    ex[0x8769] = {36867: f"2016:06:23 16:32:{second:02d}", 37386: 3.61, 41989: 20}
    attrs = " ".join(f'drone-dji:{k}="{v}"' for k, v in XMP_KEYS.items() if k != drop_xmp)
    xmp = f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description {attrs}/></x:xmpmeta>'.encode()
    img.save(path, exif=ex, xmp=xmp)
    return path


def test_folder_becomes_a_flight_with_gimbal_attitude_and_gps_truth(tmp_path: Path) -> None:
    src = tmp_path / "photos"
    src.mkdir()
    for i, sec in enumerate((10, 17, 24)):
        _photo(src / f"DJI_{i:04d}.JPG", sec, 30.0 + i)
    out = flight_from_photos(src, tmp_path / "flight", max_width=80, prior_sigma_m=None)
    f = read_flight(out)
    assert [fr.t_ns - f.frames[0].t_ns for fr in f.frames] == [0, 7_000_000_000, 14_000_000_000]
    assert (f.camera.width, f.camera.height) == (80, 45)
    # FC300S: 6.17 mm sensor width, 3.61 mm lens -> 0.585 x width pixels.
    assert f.camera.fx == pytest.approx(3.61 / 6.17 * 80, rel=1e-6)
    gt = f.groundtruth
    assert gt is not None and f.prior is None
    assert gt.column("lat")[1] == pytest.approx(46 + 50 / 60 + 31 / 3600)
    assert gt.column("lon")[0] == pytest.approx(-(91 + 59 / 60 + 40 / 3600))
    np.testing.assert_allclose(f.attitude.values[0], [0.0, math.radians(0.1), math.radians(45.0)], atol=1e-12)
    np.testing.assert_allclose(f.altitude.values[0], [39.8, 198.31])
    assert f.meta.ground_alt_msl_m == pytest.approx(158.51)


def test_unknown_camera_falls_back_to_35mm_equivalent(tmp_path: Path) -> None:
    p = read_photo(_photo(tmp_path / "a.jpg", 1, 1.0, model="XYZ-1"))
    assert p.focal_px == pytest.approx(20 / 36 * 160)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"drop_xmp": "GimbalYawDegree"}, "drone-dji:GimbalYawDegree"),
    ({"drop_xmp": "RelativeAltitude"}, "drone-dji:RelativeAltitude"),
    ({"drop_gps": True}, "GPSLatitude"),
])
def test_missing_metadata_names_photo_and_field(tmp_path: Path, kwargs: dict, field: str) -> None:
    src = tmp_path / "photos"
    src.mkdir()
    _photo(src / "DJI_0001.JPG", 1, 1.0)
    bad = _photo(src / "DJI_0002.JPG", 2, 2.0, **kwargs)
    with pytest.raises(PhotoMetadataError) as err:
        flight_from_photos(src, tmp_path / "flight")
    assert err.value.path == bad and err.value.field == field
    assert "DJI_0002.JPG" in str(err.value)


def test_empty_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PhotoMetadataError):
        flight_from_photos(tmp_path, tmp_path / "flight")


@pytest.mark.slow
def test_real_drone_photos(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "real_drone" / "brighton_beach" / "images"
    if not src.is_dir():
        pytest.skip("real_drone/brighton_beach is absent")
    f = read_flight(flight_from_photos(src, tmp_path / "flight"))
    assert len(f.frames) == 18 and (f.camera.width, f.camera.height) == (640, 360)
    hfov = 2 * math.degrees(math.atan(f.camera.width / 2 / f.camera.fx))
    assert hfov == pytest.approx(81.0, abs=0.5)  # the README's figure for the FC300S
    assert f.groundtruth is not None
    assert f.groundtruth.column("lat")[0] == pytest.approx(46.84260708, abs=1e-7)
