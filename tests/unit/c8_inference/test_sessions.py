"""C8 runtime: ONNX Runtime sessions on a model built in code; TensorRT where it exists."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gps_denied_onboard.components.c8_inference import (
    BackendUnavailableError,
    DescriptorExtractor,
    InferenceInputError,
    InferenceSession,
    ModelDescriptorExtractor,
    ModelLoadError,
    OnnxRuntimeSession,
    open_session,
    tensorrt_available,
)
from tests.testlib.onnx_models import expected, tiny_model_bytes


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("m") / "tiny.onnx"
    p.write_bytes(tiny_model_bytes())
    return p


def test_onnxruntime_session_computes_the_model(model_path: Path) -> None:
    session = open_session(model_path, "onnxruntime")
    assert isinstance(session, InferenceSession) and session.backend == "onnxruntime"
    x = np.random.default_rng(0).random((5, 3, 8, 8), dtype=np.float32)
    out = session.run({"images": x})
    assert set(out) == {"desc"}
    np.testing.assert_allclose(np.asarray(out["desc"], np.float32), expected(x), rtol=1e-5, atol=1e-6)


def test_session_from_verified_bytes(model_path: Path) -> None:
    session = OnnxRuntimeSession(model_path.read_bytes(), name="tiny")
    assert session.input_names == ["images"] and session.output_names == ["desc"]


@pytest.mark.parametrize(("inputs", "match"), [
    ({"images": np.zeros((1, 3, 8, 8), np.float64)}, "dtype"),
    ({"images": np.zeros((1, 3, 8), np.float32)}, "rank"),
    ({"images": np.zeros((1, 4, 8, 8), np.float32)}, "dim 1"),
    ({}, "missing"),
    ({"images": np.zeros((1, 3, 8, 8), np.float32), "extra": np.zeros(1, np.float32)}, "unexpected"),
])
def test_wrong_input_is_a_typed_error_naming_the_tensor(model_path: Path, inputs: dict[str, np.ndarray], match: str) -> None:
    session = OnnxRuntimeSession(model_path)
    with pytest.raises(InferenceInputError, match=match) as err:
        session.run(inputs)
    assert err.value.name in ("images", "extra")


def test_garbage_model_is_a_load_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelLoadError) as err:
        OnnxRuntimeSession(bad)
    assert "bad.onnx" in err.value.source


def test_unknown_backend_is_refused(model_path: Path) -> None:
    with pytest.raises(BackendUnavailableError, match="unknown backend"):
        open_session(model_path, "coreml")


@pytest.mark.skipif(tensorrt_available(), reason="TensorRT present: the unavailable path cannot be exercised")
def test_tensorrt_backend_says_it_is_unavailable_here(model_path: Path) -> None:
    with pytest.raises(BackendUnavailableError, match="tensorrt"):
        open_session(model_path, "tensorrt")


def test_model_descriptor_extractor_normalises_rows(model_path: Path) -> None:
    x = ModelDescriptorExtractor(OnnxRuntimeSession(model_path), model_id="tiny-v1", input_name="images",
                                 output_name="desc", size=(8, 8), dim=4)
    assert isinstance(x, DescriptorExtractor) and "tiny-v1" in x.name
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 255, (32, 40, 3), dtype=np.uint8) for _ in range(3)]
    d = x.describe(images)
    assert d.shape == (3, 4) and d.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(d, axis=1), 1.0, rtol=1e-5)
    assert x.describe([]).shape == (0, 4)


@pytest.mark.tensorrt
@pytest.mark.cuda
def test_tensorrt_engine_matches_onnxruntime(tmp_path: Path, model_path: Path) -> None:
    from gps_denied_onboard.components.c10_provisioning import EngineCompiler

    art = EngineCompiler("tensorrt", fp16=False).compile(model_path, tmp_path)
    session = open_session(art.path, "tensorrt")
    x = np.random.default_rng(0).random((4, 3, 8, 8), dtype=np.float32)
    np.testing.assert_allclose(np.asarray(session.run({"images": x})["desc"], np.float32), expected(x), rtol=1e-3, atol=1e-4)


def test_runtime_matches_picks_what_this_host_can_run() -> None:
    from gps_denied_onboard.components.c8_inference import runtime_matches

    assert runtime_matches("onnxruntime", "cpu", "1.0.0")
    assert not runtime_matches("coreml", "cpu", "1")
    if not tensorrt_available():
        assert not runtime_matches("tensorrt", "sm_87", "10.3.0")
