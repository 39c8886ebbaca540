"""CacheProvisioner: tiles -> engines -> descriptors -> signed manifest -> coverage check,
built in a staging directory and installed atomically.

Contracts (DESIGN §3 "Provisioning"), each with its own test:
- build identity (calibration bytes, tile-source identity = tile-hash aggregate,
  bbox, zoom, takeoff origin, flight id, engine inputs, descriptor extractor, key):
  an up-to-date, verifying cache with the same identity is left alone (warm path);
- a cross-process lock per output directory (`BuildLockHeldError`), released on every exit;
- strict coverage failure (`ManifestCoverageError`) keeps the prior cache and manifest;
  non-strict warns and installs;
- an empty tile corpus fails with an operator hint (`EmptyTileCorpusError`);
- any error leaves no half-built state: the staging directory is removed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import filelock
import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gps_denied_onboard._types import TileXYZ, tiles_covering
from gps_denied_onboard.clock import Clock, WallClock
from gps_denied_onboard.components.c4_map_cache import (
    CACHE_FORMAT,
    CALIBRATION_NAME,
    ENGINES_DIR,
    MANIFEST_NAME,
    TILES_NAME,
    MapCacheError,
    bbox_area_km2,
    canonical_json,
    decode_tile,
    open_cache,
    parse_camera_yaml,
    public_key_id,
)
from gps_denied_onboard.components.c4_map_cache import CalibrationError as CacheCalibrationError
from gps_denied_onboard.components.c8_inference import DescriptorExtractor
from gps_denied_onboard.components.c10_provisioning.descriptors import DescriptorBatcher, DescriptorSet
from gps_denied_onboard.components.c10_provisioning.engines import EngineCompiler
from gps_denied_onboard.components.c10_provisioning.errors import (
    BuildInputError,
    BuildLockHeldError,
    EmptyTileCorpusError,
    ManifestCoverageError,
)
from gps_denied_onboard.components.c10_provisioning.fsops import install_directory
from gps_denied_onboard.components.c10_provisioning.interface import (
    BuildReport,
    BuildRequest,
    EngineArtifact,
    ProgressFactory,
    null_progress,
)
from gps_denied_onboard.components.c10_provisioning.keys import operator_public_key
from gps_denied_onboard.components.c10_provisioning.manifest_builder import ManifestBuilder, ManifestFields
from gps_denied_onboard.components.c10_provisioning.tile_writer import TileCorpus, write_tiles
from gps_denied_onboard.helpers import atomic_write_bytes
from gps_denied_onboard.logging import get_logger

_log = get_logger("c10_provisioning")
TILE_SIZE = 256
_GRID = 16


def coverage_fraction(bbox: tuple[float, float, float, float], required: Sequence[TileXYZ], corpus: TileCorpus) -> float:
    """Fraction of the bbox (sampled on each tile's 16x16 validity cells) the tiles cover."""
    lat_min, lon_min, lat_max, lon_max = bbox
    inside_total = 0
    covered = 0
    offsets = (np.arange(_GRID) + 0.5) / _GRID
    for t in required:
        n = float(1 << t.z)
        lons = (t.x + offsets) / n * 360.0 - 180.0
        lats = np.degrees(np.arctan(np.sinh(np.pi * (1.0 - 2.0 * (t.y + offsets) / n))))
        inside = np.outer((lats >= lat_min) & (lats <= lat_max), (lons >= lon_min) & (lons <= lon_max))
        k = int(inside.sum())
        if not k:
            continue
        inside_total += k
        valid = corpus.validity.get(t)
        if valid is not None:
            covered += int((inside & valid).sum())
    return covered / inside_total if inside_total else 0.0


class CacheProvisioner:
    """Builds signed caches. Inject the descriptor extractor (None: no descriptors, the
    classical localizer computes what it needs from tiles), the engine compiler,
    a clock, and a progress factory (the CLI's tqdm bars)."""

    def __init__(self, *, extractor: DescriptorExtractor | None = None, engine_compiler: EngineCompiler | None = None,
                 clock: Clock | None = None, progress: ProgressFactory = null_progress,
                 descriptor_span_tiles: int = 1, descriptor_batch: int = 32,
                 manifest_builder: ManifestBuilder | None = None) -> None:
        self._clock = clock or WallClock()
        self._progress = progress
        self._batcher = DescriptorBatcher(extractor, span_tiles=descriptor_span_tiles, batch_size=descriptor_batch) if extractor else None
        self._compiler = engine_compiler
        self._manifests = manifest_builder or ManifestBuilder(self._clock)

    def _engine_compiler(self) -> EngineCompiler:
        if self._compiler is None:
            self._compiler = EngineCompiler()
        return self._compiler

    # -- diagnostics ------------------------------------------------------------
    def compile_engines_for_corpus(self, models: Sequence[Path], out_dir: Path) -> tuple[EngineArtifact, ...]:
        """Compile `models` into `out_dir` without touching any cache or taking the build
        lock (a diagnostic: does this host build engines for these models?)."""
        bar = self._progress("engines", len(models), "model")
        try:
            out = []
            for m in models:
                out.append(self._engine_compiler().compile(m, out_dir))
                bar.update(1)
            return tuple(out)
        finally:
            bar.close()

    # -- the build --------------------------------------------------------------
    def build_cache_artifacts(self, request: BuildRequest) -> BuildReport:
        """Build (or confirm up to date) the cache for `request`."""
        started = time.monotonic()
        out_dir = Path(request.out_dir).absolute()
        self._check_out_dir(out_dir)
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        calib_bytes = self._read_calibration(request.camera_path)
        public = operator_public_key(request.key_path)
        key_id = public_key_id(public)
        lock_path = out_dir.parent / f".{out_dir.name}.lock"
        lock = filelock.FileLock(str(lock_path), timeout=0)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise BuildLockHeldError(str(lock_path)) from None
        try:
            self._remove_stale_staging(out_dir)
            zoom = request.zoom if request.zoom is not None else request.source.native_zoom(request.bbox)
            tiles = list(tiles_covering(*request.bbox, zoom))
            if len(tiles) > request.max_tiles:
                raise BuildInputError("bbox", request.bbox, f"at most {request.max_tiles} tiles at zoom {zoom} (got {len(tiles)}); a smaller area or zoom")
            bar = self._progress("prepare", len(tiles), "tile")
            try:
                request.source.prepare(tiles, bar)
            finally:
                bar.close()
            identity = self._identity(request, calib_bytes, tiles, zoom, key_id)
            current = self._up_to_date(out_dir, identity, public, request, started)
            if current is not None:
                return current
            return self._build(request, out_dir, calib_bytes, tiles, zoom, identity, started)
        finally:
            lock.release()

    def _check_out_dir(self, out_dir: Path) -> None:
        if out_dir.exists() and (not out_dir.is_dir() or (any(out_dir.iterdir()) and not (out_dir / MANIFEST_NAME).exists())):
            raise BuildInputError("out_dir", str(out_dir), "a new or empty directory or an existing cache (refusing to replace other files)")

    @staticmethod
    def _read_calibration(path: Path) -> bytes:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise BuildInputError("camera", str(path), f"a readable ASL sensor.yaml ({exc.strerror})") from exc
        try:
            parse_camera_yaml(data, str(path))
        except CacheCalibrationError as exc:
            raise BuildInputError(f"camera {path}: {exc.key}", exc.value, exc.expected) from exc
        return data

    @staticmethod
    def _remove_stale_staging(out_dir: Path) -> None:
        # We hold the lock, so any staging dir left here is from a killed run.
        for stale in out_dir.parent.glob(f".{out_dir.name}.staging-*"):
            shutil.rmtree(stale, ignore_errors=True)

    def _identity(self, request: BuildRequest, calib: bytes, tiles: list[TileXYZ], zoom: int, key_id: str) -> str:
        models = [hashlib.sha256(Path(m).read_bytes()).hexdigest() for m in request.models]
        origin = request.takeoff_origin
        doc = {
            "format": CACHE_FORMAT,
            "calibration_sha256": hashlib.sha256(calib).hexdigest(),
            "source": request.source.identity(tiles),
            "bbox": list(request.bbox),
            "zoom": zoom,
            "takeoff_origin": None if origin is None else [origin.lat_deg, origin.lon_deg, origin.alt_m],
            "flight_id": None if request.flight_id is None else str(request.flight_id),
            "models": models,
            "engine_runtime": self._engine_compiler().runtime_key() if models else None,
            "descriptors": self._batcher.identity() if self._batcher else None,
            "key_id": key_id,
            "validity_days": request.validity_days,
        }
        return hashlib.sha256(canonical_json(doc)).hexdigest()

    def _up_to_date(self, out_dir: Path, identity: str, public: Ed25519PublicKey, request: BuildRequest,
                    started: float) -> BuildReport | None:
        """The report of the installed cache when it verifies and has this build identity."""
        if not (out_dir / MANIFEST_NAME).is_file():
            return None
        with tempfile.TemporaryDirectory(prefix="gdn-verify-") as tmp:
            try:
                cache = open_cache(out_dir, trusted_keys=[public], state_path=Path(tmp) / "state.json", clock=self._clock)
            except MapCacheError as exc:
                _log.info("existing cache does not verify; rebuilding", kind="c10_rebuild_unverified", error=str(exc))
                return None
            try:
                m = cache.manifest
                if m.build_identity != identity:
                    return None
                manifest_sha = hashlib.sha256((out_dir / MANIFEST_NAME).read_bytes()).hexdigest()
                bytes_total = sum(p.stat().st_size for p in out_dir.rglob("*") if p.is_file())
                coverage = float(m.raw.get("coverage", 0.0))
                descriptors = int((m.descriptors or {}).get("count", 0))
            finally:
                cache.close()
        _log.info("cache up to date; nothing changed", kind="c10_build_unchanged", out_dir=str(out_dir))
        return BuildReport(out_dir, False, identity, manifest_sha, m.version, m.zoom, m.tile_count, bytes_total,
                           bbox_area_km2(*request.bbox), coverage, time.monotonic() - started, descriptors)

    @staticmethod
    def _prior_version(out_dir: Path) -> int:
        try:
            v = json.loads((out_dir / MANIFEST_NAME).read_bytes()).get("version", 0)
            return int(v) if isinstance(v, int) else 0
        except (OSError, ValueError, AttributeError):
            return 0

    def _build(self, request: BuildRequest, out_dir: Path, calib: bytes, tiles: list[TileXYZ], zoom: int,
               identity: str, started: float) -> BuildReport:
        staging = out_dir.parent / f".{out_dir.name}.staging-{uuid.uuid4().hex[:12]}"
        staging.mkdir()
        warnings: list[str] = []
        try:
            cache_id = str(uuid.uuid4())
            bar = self._progress("tiles", len(tiles), "tile")
            try:
                corpus = write_tiles(staging, request.source.fetch(tiles, bar), cache_id=cache_id, zoom=zoom,
                                     bbox=request.bbox, description=request.source.description)
            finally:
                bar.close()
            if corpus.count == 0:
                raise EmptyTileCorpusError(request.bbox, request.source.description, request.source.coverage_hint())
            (staging / CALIBRATION_NAME).parent.mkdir(parents=True)
            atomic_write_bytes(staging / CALIBRATION_NAME, calib)
            engines = self.compile_engines_for_corpus(request.models, staging / ENGINES_DIR) if request.models else ()
            descriptor_set = self._describe(staging, corpus) if self._batcher is not None else None
            descriptors = descriptor_set.manifest_block() if descriptor_set is not None else None
            coverage = coverage_fraction(request.bbox, tiles, corpus)
            fields = ManifestFields(
                cache_id=cache_id, version=max(self._prior_version(out_dir) + 1, self._clock.unix_ns() // 1_000_000_000),
                bbox=request.bbox, zoom=zoom, tile_size=TILE_SIZE, takeoff_origin=request.takeoff_origin,
                flight_id=None if request.flight_id is None else str(request.flight_id), build_identity=identity,
                source_description=request.source.description, source_identity=request.source.identity(tiles),
                tile_count=corpus.count, merkle_root=corpus.merkle_root(), calibration_path=CALIBRATION_NAME,
                engines=tuple(engines), descriptors=descriptors, coverage=coverage, validity_s=request.validity_days * 86400.0,
            )
            body, manifest_sha = self._manifests.write(staging, fields, request.key_path)
            if coverage < request.min_coverage:
                if request.strict_coverage:
                    raise ManifestCoverageError(coverage, request.min_coverage, request.source.coverage_hint())
                msg = f"tiles cover {coverage:.1%} of the bbox (< {request.min_coverage:.1%}); installed anyway (non-strict)"
                warnings.append(msg)
                _log.warning("map coverage below the required fraction", kind="c10_coverage_low", coverage=coverage,
                             required=request.min_coverage)
            bytes_total = sum(p.stat().st_size for p in staging.rglob("*") if p.is_file())
            install_directory(staging, out_dir)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        elapsed = time.monotonic() - started
        _log.info("cache built", kind="c10_build_done", out_dir=str(out_dir), tiles=corpus.count, version=fields.version,
                  manifest_sha256=manifest_sha, elapsed_s=round(elapsed, 3))
        del body
        return BuildReport(out_dir, True, identity, manifest_sha, fields.version, zoom, corpus.count, bytes_total,
                           bbox_area_km2(*request.bbox), coverage, elapsed,
                           descriptor_set.count if descriptor_set is not None else 0,
                           tuple(engines), tuple(warnings))

    def _describe(self, staging: Path, corpus: TileCorpus) -> DescriptorSet:
        assert self._batcher is not None
        conn = sqlite3.connect(f"file:{staging / TILES_NAME}?mode=ro", uri=True)

        def read(t: TileXYZ) -> tuple[np.ndarray, np.ndarray] | None:
            if t not in corpus.hashes:
                return None
            row = conn.execute("SELECT tile_data FROM tiles WHERE zoom_level=? AND tile_column=? AND tile_row=?",
                               (t.z, t.x, (1 << t.z) - 1 - t.y)).fetchone()
            return None if row is None else decode_tile(bytes(row[0]), f"tile {t}")

        windows = len(self._batcher.windows(list(corpus.hashes)))
        bar = self._progress("descriptors", windows, "window")
        try:
            return self._batcher.run(sorted(corpus.hashes), read, staging, bar)
        finally:
            bar.close()
            conn.close()
