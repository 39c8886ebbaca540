"""CacheProvisioner: each contract of DESIGN §3 "Provisioning" with its own test."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
import uuid
from pathlib import Path

import filelock
import pytest
from c10_helpers import TinyExtractor, Workspace

from gps_denied_onboard._types import LatLonAlt
from gps_denied_onboard.clock import FakeClock
from gps_denied_onboard.components.c4_map_cache import VerifiedCache, open_cache
from gps_denied_onboard.components.c8_inference import open_session
from gps_denied_onboard.components.c10_provisioning import (
    BuildInputError,
    BuildLockHeldError,
    CacheProvisioner,
    EmptyTileCorpusError,
    ManifestCoverageError,
)
from tests.testlib.onnx_models import tiny_model_bytes


def _verify(ws: Workspace, tmp: Path) -> VerifiedCache:
    return open_cache(ws.out, trusted_keys=[ws.pub], state_path=tmp / f"state-{uuid.uuid4().hex}.json")


def _no_leftovers(ws: Workspace) -> None:
    assert not list(ws.out.parent.glob(".cache.staging-*")), "half-built staging directory left behind"


def test_build_produces_a_cache_the_airborne_reader_verifies(ws: Workspace, tmp_path: Path, extractor: TinyExtractor) -> None:
    origin = LatLonAlt((ws.bbox[0] + ws.bbox[2]) / 2, (ws.bbox[1] + ws.bbox[3]) / 2, 420.0)
    flight = uuid.uuid4()
    report = CacheProvisioner(extractor=extractor).build_cache_artifacts(ws.request(takeoff_origin=origin, flight_id=flight))
    assert report.changed and report.tile_count > 0 and report.coverage == pytest.approx(1.0, abs=0.005)
    assert report.bytes_total == sum(p.stat().st_size for p in ws.out.rglob("*") if p.is_file())
    assert report.manifest_sha256 == hashlib.sha256((ws.out / "manifest.json").read_bytes()).hexdigest()
    with _verify(ws, tmp_path) as cache:
        m = cache.manifest
        assert m.takeoff_origin == origin and m.flight_id == str(flight) and cache.frame.origin == origin
        assert m.tile_count == report.tile_count == len(cache.tiles())
        assert m.build_identity == report.build_identity
        index = cache.descriptors()
        assert index is not None and len(index) == report.descriptor_count == report.tile_count
        assert index.extractor == extractor.name
        patch = cache.map_source().read_patch(0.0, 0.0, 64, 64, 0.5)
        assert patch.valid.all()
    _no_leftovers(ws)


def test_warm_rerun_skips_all_work_in_under_a_second(ws: Workspace, extractor: TinyExtractor) -> None:
    first = CacheProvisioner(extractor=extractor).build_cache_artifacts(ws.request())
    manifest = (ws.out / "manifest.json").read_bytes()
    inode = (ws.out / "tiles.sqlite").stat().st_ino
    batches = len(extractor.batches)
    t0 = time.monotonic()
    again = CacheProvisioner(extractor=extractor).build_cache_artifacts(ws.request())
    assert time.monotonic() - t0 < 1.0
    assert not again.changed and again.manifest_sha256 == first.manifest_sha256 and again.version == first.version
    assert (ws.out / "manifest.json").read_bytes() == manifest and (ws.out / "tiles.sqlite").stat().st_ino == inode
    assert len(extractor.batches) == batches  # no descriptor work


def _rebuilt(ws: Workspace, tmp_path: Path, **change: object) -> None:
    p = CacheProvisioner()
    first = p.build_cache_artifacts(ws.request())
    second = p.build_cache_artifacts(ws.request(**change))
    assert second.changed and second.build_identity != first.build_identity
    assert second.version > first.version
    _verify(ws, tmp_path).close()
    _no_leftovers(ws)


def test_calibration_change_rebuilds(ws: Workspace, tmp_path: Path) -> None:
    other = tmp_path / "cam2.yaml"
    other.write_text(ws.camera.read_text().replace("500.0, 500.0", "510.0, 510.0"))
    _rebuilt(ws, tmp_path, camera_path=other)


def test_takeoff_origin_participates_in_the_identity(ws: Workspace, tmp_path: Path) -> None:
    _rebuilt(ws, tmp_path, takeoff_origin=LatLonAlt(ws.bbox[0] + 0.001, ws.bbox[1] + 0.001, 300.0))


def test_flight_id_participates_in_the_identity(ws: Workspace, tmp_path: Path) -> None:
    _rebuilt(ws, tmp_path, flight_id=uuid.uuid4())


def test_source_content_change_rebuilds(ws: Workspace, tmp_path: Path) -> None:
    CacheProvisioner().build_cache_artifacts(ws.request())
    from tests.testlib.rasters import make_geotiff

    make_geotiff(ws.raster, size=800, seed=5)
    from gps_denied_onboard.components.c11_tile_manager.download import RasterTileSource

    report = CacheProvisioner().build_cache_artifacts(ws.request(source=RasterTileSource(ws.raster)))
    assert report.changed


def test_tampered_cache_is_rebuilt_not_trusted(ws: Workspace, tmp_path: Path) -> None:
    CacheProvisioner().build_cache_artifacts(ws.request())
    (ws.out / "calibration" / "camera.yaml").write_text("tampered")
    assert CacheProvisioner().build_cache_artifacts(ws.request()).changed
    _verify(ws, tmp_path).close()


def _hold_lock(lock_path: Path) -> subprocess.Popen[str]:
    code = ("import filelock, sys, time\n"
            f"l = filelock.FileLock({str(lock_path)!r}); l.acquire()\n"
            "print('held', flush=True); time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_second_process_gets_build_lock_held_error(ws: Workspace, tmp_path: Path) -> None:
    ws.out.parent.mkdir(parents=True)
    lock_path = ws.out.parent / ".cache.lock"
    holder = _hold_lock(lock_path)
    try:
        with pytest.raises(BuildLockHeldError) as err:
            CacheProvisioner().build_cache_artifacts(ws.request())
        assert err.value.lock_path == str(lock_path)
        assert not ws.out.exists()
    finally:
        holder.kill()
        holder.wait()
    assert CacheProvisioner().build_cache_artifacts(ws.request()).changed  # the kernel freed it


def test_lock_is_released_on_every_exit_path(ws: Workspace) -> None:
    with pytest.raises(EmptyTileCorpusError):
        CacheProvisioner().build_cache_artifacts(ws.request(bbox=(10.0, 10.0, 10.01, 10.01)))
    lock = filelock.FileLock(str(ws.out.parent / ".cache.lock"), timeout=0)
    lock.acquire()
    lock.release()


def test_strict_coverage_failure_rolls_back_to_the_prior_manifest(ws: Workspace, tmp_path: Path) -> None:
    CacheProvisioner().build_cache_artifacts(ws.request())
    before = (ws.out / "manifest.json").read_bytes()
    lat_min, lon_min, lat_max, lon_max = ws.bbox
    wider = (lat_min, lon_min, lat_max + 0.01, lon_max + 0.01)  # mostly beyond the raster
    with pytest.raises(ManifestCoverageError) as err:
        CacheProvisioner().build_cache_artifacts(ws.request(bbox=wider))
    assert err.value.coverage < 0.5 and err.value.required == 0.99
    assert (ws.out / "manifest.json").read_bytes() == before
    _verify(ws, tmp_path).close()
    _no_leftovers(ws)


def test_non_strict_coverage_warns_and_installs(ws: Workspace, tmp_path: Path) -> None:
    lat_min, lon_min, lat_max, lon_max = ws.bbox
    wider = (lat_min, lon_min, lat_max + 0.002, lon_max)
    report = CacheProvisioner().build_cache_artifacts(ws.request(bbox=wider, strict_coverage=False))
    assert report.changed and 0.3 < report.coverage < 0.99
    assert report.warnings and "non-strict" in report.warnings[0]
    with _verify(ws, tmp_path) as cache:
        assert cache.manifest.raw["coverage"] == pytest.approx(report.coverage, abs=1e-6)


def test_empty_tile_corpus_fails_with_an_operator_hint(ws: Workspace) -> None:
    with pytest.raises(EmptyTileCorpusError) as err:
        CacheProvisioner().build_cache_artifacts(ws.request(bbox=(10.0, 10.0, 10.01, 10.01)))
    assert "map.tif covers lat 45.5" in err.value.hint and "lat_min,lon_min,lat_max,lon_max" in err.value.hint
    assert not ws.out.exists()
    _no_leftovers(ws)


def test_hard_error_leaves_no_half_built_state(ws: Workspace, tmp_path: Path) -> None:
    CacheProvisioner().build_cache_artifacts(ws.request())
    before = (ws.out / "manifest.json").read_bytes()
    with pytest.raises(RuntimeError, match="extractor crashed"):
        CacheProvisioner(extractor=TinyExtractor(fail_on_batch=1), descriptor_batch=4).build_cache_artifacts(ws.request())
    assert (ws.out / "manifest.json").read_bytes() == before
    _verify(ws, tmp_path).close()
    _no_leftovers(ws)


def test_stale_staging_from_a_killed_run_is_removed(ws: Workspace) -> None:
    stale = ws.out.parent / ".cache.staging-deadbeef0000"
    stale.mkdir(parents=True)
    (stale / "tiles.sqlite").write_bytes(b"half")
    CacheProvisioner().build_cache_artifacts(ws.request())
    assert not stale.exists()


def test_refuses_to_replace_a_directory_that_is_not_a_cache(ws: Workspace) -> None:
    ws.out.mkdir(parents=True)
    (ws.out / "thesis.tex").write_text("precious")
    with pytest.raises(BuildInputError, match="refusing"):
        CacheProvisioner().build_cache_artifacts(ws.request())
    assert (ws.out / "thesis.tex").read_text() == "precious"


def test_engines_are_compiled_into_the_cache_and_hashed(ws: Workspace, tmp_path: Path) -> None:
    model = tmp_path / "tiny.onnx"
    model.write_bytes(tiny_model_bytes())
    report = CacheProvisioner().build_cache_artifacts(ws.request(models=(model,)))
    assert len(report.engines) == 1
    with _verify(ws, tmp_path) as cache:
        (entry,) = cache.engines
        assert entry.backend == "onnxruntime" and entry.model_sha256 == hashlib.sha256(model.read_bytes()).hexdigest()
        session = open_session(cache.engine_bytes(entry), entry.backend)
        assert session.backend == "onnxruntime"


def test_compile_engines_for_corpus_is_lock_free(ws: Workspace, tmp_path: Path) -> None:
    model = tmp_path / "tiny.onnx"
    model.write_bytes(tiny_model_bytes())
    ws.out.parent.mkdir(parents=True)
    holder = _hold_lock(ws.out.parent / ".cache.lock")
    try:
        arts = CacheProvisioner().compile_engines_for_corpus([model], tmp_path / "engines")
    finally:
        holder.kill()
        holder.wait()
    assert arts[0].path.is_file() and not ws.out.exists()


def test_versions_increase_even_with_a_clock_set_back(ws: Workspace) -> None:
    first = CacheProvisioner(clock=FakeClock(unix_ns=1_900_000_000 * 10**9)).build_cache_artifacts(ws.request())
    second = CacheProvisioner(clock=FakeClock()).build_cache_artifacts(ws.request(flight_id=uuid.uuid4()))
    assert second.version == first.version + 1


def test_build_killed_midway_leaves_the_prior_cache_and_the_next_run_recovers(ws: Workspace, tmp_path: Path) -> None:
    """SIGKILL during the descriptor pass: the installed cache is the old one, intact;
    the next run clears the staging directory and builds."""
    import os
    import signal

    CacheProvisioner().build_cache_artifacts(ws.request())
    before = (ws.out / "manifest.json").read_bytes()
    here = Path(__file__).parent
    code = f"""
import sys, time
sys.path.insert(0, {str(here)!r})
from c10_helpers import TinyExtractor, Workspace
from gps_denied_onboard.components.c10_provisioning import CacheProvisioner
from gps_denied_onboard.components.c11_tile_manager.download import RasterTileSource
from pathlib import Path
import uuid

class Slow(TinyExtractor):
    def describe(self, images):
        print("describing", flush=True)
        time.sleep(30)
        return super().describe(images)

ws = Workspace.__new__(Workspace)
ws.raster, ws.camera, ws.key, ws.out = Path({str(ws.raster)!r}), Path({str(ws.camera)!r}), Path({str(ws.key)!r}), Path({str(ws.out)!r})
ws.source = RasterTileSource(ws.raster)
ws.bbox = {ws.bbox!r}
CacheProvisioner(extractor=Slow()).build_cache_artifacts(ws.request(flight_id=uuid.uuid4()))
"""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "describing"
        assert list(ws.out.parent.glob(".cache.staging-*")), "the build should be in its staging dir"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert (ws.out / "manifest.json").read_bytes() == before
    _verify(ws, tmp_path).close()
    report = CacheProvisioner().build_cache_artifacts(ws.request(flight_id=uuid.uuid4()))
    assert report.changed
    _no_leftovers(ws)
