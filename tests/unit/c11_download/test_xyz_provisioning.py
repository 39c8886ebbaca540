"""End to end: an XYZ server on loopback -> CacheProvisioner -> a cache C4 verifies;
the warm re-run asks the server nothing."""

from __future__ import annotations

from pathlib import Path

from tile_server import TileServer

from gps_denied_onboard._types import pixel_to_lonlat
from gps_denied_onboard.components.c4_map_cache import open_cache
from gps_denied_onboard.components.c10_provisioning import BuildRequest, CacheProvisioner, generate_operator_key
from gps_denied_onboard.components.c11_tile_manager.download import XyzTileSource

CAMERA = "resolution: [640, 480]\nintrinsics: [500, 500, 319.5, 239.5]\ndistortion_coefficients: [0, 0, 0, 0]\n"


def test_provision_from_an_xyz_server_then_warm_rerun_is_offline(server: TileServer, tmp_path: Path) -> None:
    z = 16
    lon0, lat1 = pixel_to_lonlat(34_000 * 256 + 10, 22_000 * 256 + 10, z)
    lon1, lat0 = pixel_to_lonlat(34_002 * 256 + 200, 22_002 * 256 + 200, z)
    cam = tmp_path / "camera.yaml"
    cam.write_text(CAMERA)
    key, pub, _ = generate_operator_key(tmp_path / "op.pem")
    out = tmp_path / "cache"

    def request() -> BuildRequest:
        src = XyzTileSource(server.url("ok"), download_dir=tmp_path / "dl", zoom=z, backoff_s=0.01)
        return BuildRequest(bbox=(lat0, lon0, lat1, lon1), source=src, camera_path=cam, key_path=key, out_dir=out)

    report = CacheProvisioner().build_cache_artifacts(request())
    assert report.changed and report.tile_count == 9 and report.coverage == 1.0
    assert sum(server.requests.values()) == 9
    with open_cache(out, trusted_keys=[pub], state_path=tmp_path / "state.json") as cache:
        assert len(cache.tiles()) == 9
        assert cache.map_source().read_patch(0.0, 0.0, 64, 64, 2.0).valid.all()
    server.requests.clear()
    again = CacheProvisioner().build_cache_artifacts(request())
    assert not again.changed and not server.requests
