"""`operator provision` / `keygen` / `compile-engines` through their entry points."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from c10_helpers import Workspace

from gps_denied_onboard.clock import FakeClock
from gps_denied_onboard.components.c4_map_cache import open_cache
from gps_denied_onboard.runtime_root.operator_provision import compile_engines_main, keygen_main, provision_main
from tests.testlib.onnx_models import tiny_model_bytes


def _argv(ws: Workspace, out: Path, *extra: str) -> list[str]:
    bbox = ",".join(f"{v:.7f}" for v in ws.bbox)
    return ["--bbox", bbox, "--source", str(ws.raster), "--camera", str(ws.camera), "--key", str(ws.key),
            "--out", str(out), "--quiet", "--no-descriptors", *extra]


def test_provision_builds_then_reports_nothing_changed(ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli-cache"
    lat = (ws.bbox[0] + ws.bbox[2]) / 2
    lon = (ws.bbox[1] + ws.bbox[3]) / 2
    flight = str(uuid.uuid4())
    assert provision_main(_argv(ws, out, "--takeoff", f"{lat},{lon},250", "--flight-id", flight)) == 0
    first = capsys.readouterr().out
    for word in ("built", "area", "km^2", "tiles", "bytes", "manifest", "sha256", "time"):
        assert word in first
    assert provision_main(_argv(ws, out, "--takeoff", f"{lat},{lon},250", "--flight-id", flight)) == 0
    assert "nothing changed" in capsys.readouterr().out
    cache = open_cache(out, trusted_keys=[ws.pub], state_path=tmp_path / "s.json", clock=FakeClock())
    assert cache.manifest.flight_id == flight and cache.manifest.takeoff_origin is not None


def test_provision_empty_area_exits_1_with_the_hint(ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = _argv(ws, tmp_path / "c")
    argv[1] = "10,10,10.01,10.01"
    assert provision_main(argv) == 1
    assert "Hint" in capsys.readouterr().err


def test_provision_bad_bbox_is_a_usage_error(ws: Workspace, tmp_path: Path) -> None:
    argv = _argv(ws, tmp_path / "c")
    argv[1] = "45.5,15.0,45.6"
    with pytest.raises(SystemExit) as err:
        provision_main(argv)
    assert err.value.code == 2


def test_keygen_and_compile_engines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert keygen_main(["--out", str(tmp_path / "op.pem")]) == 0
    assert "key id" in capsys.readouterr().out
    assert keygen_main(["--out", str(tmp_path / "op.pem")]) == 1
    model = tmp_path / "tiny.onnx"
    model.write_bytes(tiny_model_bytes())
    assert compile_engines_main(["--model", str(model), "--out", str(tmp_path / "eng"), "--backend", "onnxruntime", "--quiet"]) == 0
    assert "onnxruntime" in capsys.readouterr().out and any((tmp_path / "eng").iterdir())


@pytest.mark.slow
def test_provision_real_crossdate_png_with_world_file(shared_data: Path, tmp_path: Path) -> None:
    """A real georeferenced PNG + world file (EPSG:4326) from the shared data set."""
    import rasterio
    from c10_helpers import CAMERA_YAML, TinyExtractor

    from gps_denied_onboard.components.c10_provisioning import CacheProvisioner, generate_operator_key
    from gps_denied_onboard.components.c11_tile_manager.download import RasterTileSource

    pair = shared_data / "crossdate" / "levir_test_1"
    if not (pair / "A.png").exists():
        pytest.skip("levir_test_1 not in the shared data")
    with rasterio.open(pair / "A.png") as ds:
        b = ds.bounds
    m = 0.0003
    cam = tmp_path / "cam.yaml"
    cam.write_text(CAMERA_YAML)
    key, pub, _ = generate_operator_key(tmp_path / "op.pem")
    from gps_denied_onboard.components.c10_provisioning import BuildRequest

    req = BuildRequest(bbox=(b.bottom + m, b.left + m, b.top - m, b.right - m), source=RasterTileSource(pair / "A.png"),
                       camera_path=cam, key_path=key, out_dir=tmp_path / "cache")
    report = CacheProvisioner(extractor=TinyExtractor()).build_cache_artifacts(req)
    assert report.tile_count >= 4 and report.coverage > 0.99
    cache = open_cache(tmp_path / "cache", trusted_keys=[pub], state_path=tmp_path / "s.json")
    patch = cache.map_source().read_patch(0.0, 0.0, 200, 200, 0.6)
    assert patch.valid.all() and patch.image.std() > 5
