"""`operator provision`, `operator keygen`, `operator compile-engines`: the composition
root for map-cache provisioning (wires C11 tile sources, C8/C10 engines, the C6
descriptor extractor when built in, and tqdm progress bars into C10)."""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from gps_denied_onboard._types import LatLonAlt
from gps_denied_onboard.logging import configure_logging
from gps_denied_onboard.runtime_root.availability import component_available, require_component

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def _floats(text: str, n: int, what: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what}: {text!r} is not {n} comma-separated numbers") from None
    if len(values) != n:
        raise argparse.ArgumentTypeError(f"{what}: {text!r} needs {n} comma-separated numbers")
    return values


def _bbox(text: str) -> tuple[float, float, float, float]:
    a, b, c, d = _floats(text, 4, "--bbox lat_min,lon_min,lat_max,lon_max")
    return a, b, c, d


def _takeoff(text: str) -> LatLonAlt:
    lat, lon, alt = _floats(text, 3, "--takeoff LAT,LON,ALT")
    try:
        return LatLonAlt(lat, lon, alt)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--takeoff: {exc}") from None


def _uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--flight-id: {text!r} is not a UUID") from None


def _tqdm_factory(quiet: bool) -> Any:
    from tqdm import tqdm

    def make(desc: str, total: int | None, unit: str) -> Any:
        return tqdm(total=total, desc=f"{desc:<11}", unit=unit, disable=quiet, file=sys.stderr, leave=True,
                    dynamic_ncols=True)

    return make


def _extractor(enabled: bool) -> tuple[Any, str]:
    """The localizer's default descriptor extractor when C6 provides one."""
    if not enabled:
        return None, "disabled (--no-descriptors)"
    if not component_available("c6_place_recognition"):
        return None, "c6_place_recognition not built in"
    c6 = importlib.import_module("gps_denied_onboard.components.c6_place_recognition")
    factory = getattr(c6, "default_descriptor_extractor", None)
    if factory is None:
        return None, "c6_place_recognition has no default_descriptor_extractor yet"
    x = factory()
    return x, x.name


def _source(args: argparse.Namespace, out: Path) -> Any:
    require_component("c11_tile_manager", "operator provision")
    from gps_denied_onboard.components.c11_tile_manager.download import RasterTileSource, XyzTileSource

    if args.source.startswith(("http://", "https://")):
        download_dir = Path(args.download_dir) if args.download_dir else out.parent / f".{out.name}.download"
        return XyzTileSource(args.source, download_dir=download_dir, zoom=args.zoom, tms=args.tms,
                             concurrency=args.concurrency, rate_limit_per_s=args.rate_limit, timeout_s=args.timeout)
    return RasterTileSource(args.source, crs=args.source_crs, tile_format=args.tile_format, jpeg_quality=args.jpeg_quality)


def _human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{n} B"
        size /= 1024
    return f"{n} B"


def provision_main(argv: list[str]) -> int:
    """Build (or confirm up to date) a signed map cache."""
    p = argparse.ArgumentParser(prog="operator provision", description="Build a signed map cache for a flight area.")
    p.add_argument("--bbox", type=_bbox, required=True, help="lat_min,lon_min,lat_max,lon_max (degrees, WGS84)")
    p.add_argument("--source", required=True, help="GeoTIFF/COG, image with world file, or XYZ URL template (http…/{z}/{x}/{y}.png)")
    p.add_argument("--camera", type=Path, required=True, help="camera calibration, ASL sensor.yaml layout")
    p.add_argument("--key", type=Path, required=True, help="operator Ed25519 private key (operator keygen)")
    p.add_argument("--out", type=Path, required=True, help="cache directory to create or update")
    p.add_argument("--takeoff", type=_takeoff, help="takeoff origin LAT,LON,ALT (anchors the cache's local frame)")
    p.add_argument("--flight-id", type=_uuid, help="UUID of the flight this cache is for")
    p.add_argument("--zoom", type=int, help="tile zoom (default: matches the source's resolution; 0.5 m/px for XYZ)")
    p.add_argument("--source-crs", help="CRS of a raster without one (e.g. EPSG:32633 for a world file with no .prj)")
    p.add_argument("--tile-format", choices=("png", "jpeg"), default="png",
                   help="cache tiles rendered from a raster: png (lossless, default) or jpeg (smaller, faster)")
    p.add_argument("--jpeg-quality", type=int, default=92, help="JPEG quality for --tile-format jpeg (default 92)")
    p.add_argument("--model", type=Path, action="append", default=[], help="ONNX model to compile into the cache (repeatable)")
    p.add_argument("--non-strict", action="store_true", help="warn instead of failing when coverage is below --min-coverage")
    p.add_argument("--min-coverage", type=float, default=0.99, help="required fraction of the bbox covered (default 0.99)")
    p.add_argument("--validity-days", type=float, default=30.0, help="manifest lifetime (default 30 days)")
    p.add_argument("--no-descriptors", action="store_true", help="skip precomputed place-recognition descriptors")
    p.add_argument("--tms", action="store_true", help="XYZ server uses TMS rows for {y}")
    p.add_argument("--download-dir", help="where XYZ downloads are kept for resume (default: next to --out)")
    p.add_argument("--concurrency", type=int, default=4, help="parallel XYZ requests (default 4)")
    p.add_argument("--rate-limit", type=float, help="max XYZ requests per second")
    p.add_argument("--timeout", type=float, default=10.0, help="XYZ request timeout in seconds")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    args = p.parse_args(argv)
    configure_logging("WARNING")
    c10 = require_component("c10_provisioning", "operator provision")
    started = time.monotonic()
    try:
        out = args.out.absolute()
        source = _source(args, out)
        extractor, extractor_note = _extractor(not args.no_descriptors)
        request = c10.BuildRequest(
            bbox=args.bbox, source=source, camera_path=args.camera, key_path=args.key, out_dir=out,
            takeoff_origin=args.takeoff, flight_id=args.flight_id, zoom=args.zoom, models=tuple(args.model),
            strict_coverage=not args.non_strict, min_coverage=args.min_coverage, validity_days=args.validity_days,
        )
        provisioner = c10.CacheProvisioner(extractor=extractor, progress=_tqdm_factory(args.quiet))
        report = provisioner.build_cache_artifacts(request)
    except _handled_errors(c10) as exc:
        print(f"operator provision: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    elapsed = time.monotonic() - started
    state = "built" if report.changed else "up to date, nothing changed"
    print(f"cache {report.out_dir}: {state}")
    print(f"  area        {report.area_km2:.3f} km^2 (zoom {report.zoom}, coverage {report.coverage:.1%})")
    print(f"  tiles       {report.tile_count}")
    print(f"  bytes       {_human_bytes(report.bytes_total)} ({report.bytes_total} B)")
    print(f"  descriptors {report.descriptor_count} ({extractor_note})")
    print(f"  engines     {len(report.engines) if report.changed else '-'}")
    print(f"  version     {report.version}")
    print(f"  manifest    sha256 {report.manifest_sha256}")
    print(f"  time        {elapsed:.2f} s")
    for w in report.warnings:
        print(f"  warning     {w}")
    return EXIT_OK


def _handled_errors(c10: Any) -> tuple[type[Exception], ...]:
    """Errors reported as a one-line operator message (anything else is a bug: traceback)."""
    errors: tuple[type[Exception], ...] = (c10.ProvisioningError,)
    if component_available("c11_tile_manager"):
        from gps_denied_onboard.components.c11_tile_manager import TileManagerError

        errors += (TileManagerError,)
    return errors


def keygen_main(argv: list[str]) -> int:
    """Create an operator Ed25519 key pair (private PEM 0600 + .pub.pem)."""
    p = argparse.ArgumentParser(prog="operator keygen", description="Create an operator Ed25519 signing key.")
    p.add_argument("--out", type=Path, default=Path("operator_ed25519.pem"), help="private key path (default operator_ed25519.pem)")
    p.add_argument("--force", action="store_true", help="overwrite an existing key")
    args = p.parse_args(argv)
    c10 = require_component("c10_provisioning", "operator keygen")
    try:
        priv, pub, key_id = c10.generate_operator_key(args.out, overwrite=args.force)
    except c10.ProvisioningError as exc:
        print(f"operator keygen: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"private key {priv} (keep secret; mode 0600)")
    print(f"public key  {pub} (install on the vehicle as a trusted key)")
    print(f"key id      {key_id}")
    return EXIT_OK


def compile_engines_main(argv: list[str]) -> int:
    """Compile ONNX models for this host (TensorRT when available, else ONNX Runtime)."""
    p = argparse.ArgumentParser(prog="operator compile-engines",
                                description="Compile ONNX models into inference engines for this host's GPU.")
    p.add_argument("--tile-format", choices=("png", "jpeg"), default="png",
                   help="cache tiles rendered from a raster: png (lossless, default) or jpeg (smaller, faster)")
    p.add_argument("--jpeg-quality", type=int, default=92, help="JPEG quality for --tile-format jpeg (default 92)")
    p.add_argument("--model", type=Path, action="append", required=True, help="ONNX model (repeatable)")
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument("--backend", choices=("auto", "tensorrt", "onnxruntime"), default="auto")
    p.add_argument("--no-fp16", action="store_true", help="build FP32 TensorRT engines")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    configure_logging("WARNING")
    c10 = require_component("c10_provisioning", "operator compile-engines")
    try:
        compiler = c10.EngineCompiler(args.backend, fp16=not args.no_fp16)
        artefacts = c10.CacheProvisioner(engine_compiler=compiler, progress=_tqdm_factory(args.quiet)) \
            .compile_engines_for_corpus(args.model, args.out)
    except c10.ProvisioningError as exc:
        print(f"operator compile-engines: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    for a in artefacts:
        print(f"{a.model}: {a.backend} {a.runtime_version} {a.gpu_arch} fp16={a.fp16} -> {a.path} sha256 {a.sha256}")
    return EXIT_OK
