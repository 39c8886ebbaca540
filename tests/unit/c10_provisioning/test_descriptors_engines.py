"""DescriptorBatcher (batches, stable ids, output checks) and EngineCompiler."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from c10_helpers import TinyExtractor, Workspace

from gps_denied_onboard.clock import FakeClock
from gps_denied_onboard.components.c4_map_cache import descriptor_id, open_cache
from gps_denied_onboard.components.c8_inference import onnxruntime_version
from gps_denied_onboard.components.c10_provisioning import (
    CacheProvisioner,
    DescriptorBatcher,
    DescriptorBatchError,
    EngineCompileError,
    EngineCompiler,
)
from tests.testlib.onnx_models import tiny_model_bytes


def _index(ws: Workspace, tmp: Path, name: str):  # type: ignore[no-untyped-def]
    cache = open_cache(ws.out, trusted_keys=[ws.pub], state_path=tmp / f"{name}.json", clock=FakeClock())
    return cache.descriptors()


def test_descriptors_are_computed_in_batches(ws: Workspace, tmp_path: Path) -> None:
    x = TinyExtractor()
    report = CacheProvisioner(extractor=x, descriptor_batch=4).build_cache_artifacts(ws.request())
    n = report.tile_count
    assert x.batches == [4] * (n // 4) + ([n % 4] if n % 4 else [])
    assert all(s == (256, 256, 3) for s in x.sizes)


def test_descriptor_ids_are_stable_across_rebuilds_and_bboxes(ws: Workspace, tmp_path: Path) -> None:
    CacheProvisioner(extractor=TinyExtractor()).build_cache_artifacts(ws.request())
    a = _index(ws, tmp_path, "a")
    lat_min, lon_min, lat_max, lon_max = ws.bbox
    smaller = (lat_min, lon_min, (lat_min + lat_max) / 2, (lon_min + lon_max) / 2)
    CacheProvisioner(extractor=TinyExtractor()).build_cache_artifacts(ws.request(bbox=smaller, strict_coverage=False))
    b = _index(ws, tmp_path, "b")
    assert 0 < len(b) < len(a)
    for i, did in enumerate(b.ids):
        assert did == descriptor_id(b.tiles[i])
        j = a.row_of(int(did))
        assert a.tiles[j] == b.tiles[i]
        interior = a.tiles[j].y < max(t.y for t in b.tiles) and a.tiles[j].x < max(t.x for t in b.tiles)
        if interior:  # edge tiles of the smaller bbox are the same tiles: same content, same descriptor
            np.testing.assert_allclose(a.matrix[j], b.matrix[i], atol=1e-6)


def test_windows_of_several_tiles(ws: Workspace, tmp_path: Path) -> None:
    x = TinyExtractor()
    CacheProvisioner(extractor=x, descriptor_span_tiles=2).build_cache_artifacts(ws.request())
    index = _index(ws, tmp_path, "w")
    assert index.span_tiles == 2 and all(s == (512, 512, 3) for s in x.sizes)
    widths = index.footprints_en_m[:, 2] - index.footprints_en_m[:, 0]
    assert np.all(widths > 1.9 * 256 * 0.42)


class _Bad:
    def __init__(self, kind: str) -> None:
        self.kind = kind

    name = "bad-extractor"
    dim = 4

    def describe(self, images: Sequence[npt.NDArray[np.uint8]]) -> npt.NDArray[np.float32]:
        n = len(images)
        if self.kind == "dim":
            return (np.ones((n, 5)) / np.sqrt(5)).astype(np.float32)
        if self.kind == "norm":
            return np.ones((n, 4), np.float32)
        if self.kind == "nan":
            return np.full((n, 4), np.nan, np.float32)
        return np.ones((n, 4), np.float64) / 2  # type: ignore[return-value]  # wrong dtype on purpose


@pytest.mark.parametrize(("kind", "match"), [("dim", "shape"), ("norm", "norms"), ("nan", "non-finite"), ("dtype", "float32")])
def test_bad_extractor_output_is_refused_naming_the_extractor(tmp_path: Path, kind: str, match: str) -> None:
    from gps_denied_onboard._types import TileXYZ

    tiles = [TileXYZ(18, 10, 10), TileXYZ(18, 11, 10)]
    img = (np.zeros((256, 256, 3), np.uint8), np.ones((256, 256), bool))
    with pytest.raises(DescriptorBatchError, match=match) as err:
        DescriptorBatcher(_Bad(kind)).run(tiles, lambda t: img, tmp_path)  # type: ignore[arg-type]
    assert err.value.extractor == "bad-extractor" and err.value.batch == 0


def test_onnxruntime_artefact_is_keyed_by_runtime_and_model_hash(tmp_path: Path) -> None:
    model = tmp_path / "tiny.onnx"
    model.write_bytes(tiny_model_bytes())
    compiler = EngineCompiler("onnxruntime")
    assert compiler.runtime_key() == f"onnxruntime:{onnxruntime_version()}"
    art = compiler.compile(model, tmp_path / "engines")
    sha = hashlib.sha256(model.read_bytes()).hexdigest()
    assert art.model_sha256 == sha and sha[:12] in art.path.name and onnxruntime_version() in art.path.name
    assert art.sha256 == hashlib.sha256(art.path.read_bytes()).hexdigest() and art.length == art.path.stat().st_size
    assert (art.backend, art.gpu_arch, art.fp16) == ("onnxruntime", "cpu", False)


def test_invalid_onnx_is_refused_naming_the_model(tmp_path: Path) -> None:
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(tiny_model_bytes()[:40])
    with pytest.raises(EngineCompileError) as err:
        EngineCompiler("onnxruntime").compile(bad, tmp_path / "e")
    assert "broken.onnx" in err.value.model


@pytest.mark.tensorrt
@pytest.mark.cuda
def test_tensorrt_engine_is_keyed_by_gpu_arch_and_version(tmp_path: Path) -> None:
    from gps_denied_onboard.components.c8_inference import tensorrt_runtime_key

    model = tmp_path / "tiny.onnx"
    model.write_bytes(tiny_model_bytes())
    art = EngineCompiler("tensorrt").compile(model, tmp_path / "e")
    arch, version = tensorrt_runtime_key()
    assert art.backend == "tensorrt" and art.gpu_arch == arch and art.runtime_version == version
    assert art.path.name.endswith(f".{arch}.trt{version}.engine")
