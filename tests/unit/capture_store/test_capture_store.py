"""Capture store: atomic, bounded, evicting per policy, recorded, crash-safe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gps_denied_onboard.capture_store import (
    KIND_DROPPED,
    KIND_EVICTED,
    KIND_RECOVERED,
    KIND_WRITTEN,
    CaptureExistsError,
    CaptureMetadata,
    CaptureStore,
    CaptureStoreFormatError,
    CaptureTooLargeError,
    CaptureValueError,
    CaptureWriteError,
    EvictionPolicy,
)

PNG = b"\x89PNG\r\n\x1a\n"
FLIGHT = "5f0c6a52-8b1e-4c1e-9d56-0c2f7f0e1a11"


def meta(t: int, var: float = 4.0, fmt: str = "png") -> CaptureMetadata:
    return CaptureMetadata(
        frame_time_ns=t, lat_deg=50.45, lon_deg=30.52, cov_nn=var, cov_ne=0.5, cov_ee=var, gsd_m=0.3,
        footprint=((50.451, 30.519), (50.451, 30.521), (50.449, 30.521), (50.449, 30.519)),
        image_format=fmt, width=64, height=48,
    )


def image(n: int = 1000) -> bytes:
    return PNG + bytes(n)


def test_put_then_reopen_returns_the_same_georeferenced_capture(tmp_path: Path, sink) -> None:
    store = CaptureStore(tmp_path / "cap", flight_id=FLIGHT, sink=sink)
    result = store.put(meta(1_000), image())
    assert result.stored and result.capture_id == meta(1_000).capture_id
    reopened = CaptureStore(tmp_path / "cap", read_only=True)
    assert reopened.flight_id == FLIGHT
    [capture] = reopened.captures()
    assert capture.metadata == meta(1_000)
    assert reopened.read_image(capture.capture_id) == image()
    assert [r.kind for r in sink.records] == [KIND_WRITTEN]
    assert sink.records[0].payload["capture_id"] == capture.capture_id
    assert sink.records[0].payload["flight_id"] == FLIGHT


def test_oldest_policy_evicts_oldest_and_counts(tmp_path: Path, sink) -> None:
    store = CaptureStore(tmp_path, flight_id=FLIGHT, max_count=3, sink=sink)
    for t in (10, 20, 30, 40, 50):
        store.put(meta(t), image())
    ids = [c.metadata.frame_time_ns for c in store.captures()]
    assert ids == [30, 40, 50]
    stats = store.stats()
    assert (stats.count, stats.written, stats.evicted) == (3, 5, 2)
    assert [r.payload["capture_id"] for r in sink.of_kind(KIND_EVICTED)] == [meta(10).capture_id, meta(20).capture_id]
    assert not (tmp_path / f"{meta(10).capture_id}.png").exists()


def test_byte_bound_is_never_exceeded(tmp_path: Path) -> None:
    store = CaptureStore(tmp_path, flight_id=FLIGHT, max_bytes=5_000)
    for t in range(1, 20):
        store.put(meta(t), image(1_200))
        assert store.stats().total_bytes <= 5_000
    on_disk = sum(p.stat().st_size for p in tmp_path.iterdir() if p.name != "store.json")
    assert on_disk == store.stats().total_bytes


def test_lowest_quality_policy_evicts_worst_georeference(tmp_path: Path, sink) -> None:
    store = CaptureStore(tmp_path, flight_id=FLIGHT, max_count=2, policy=EvictionPolicy.LOWEST_QUALITY, sink=sink)
    store.put(meta(1, var=1.0), image())
    store.put(meta(2, var=50.0), image())
    result = store.put(meta(3, var=2.0), image())
    assert result.evicted == (meta(2).capture_id,)
    assert [c.metadata.frame_time_ns for c in store.captures()] == [1, 3]


def test_lowest_quality_policy_drops_a_capture_worse_than_all_stored(tmp_path: Path, sink) -> None:
    store = CaptureStore(tmp_path, flight_id=FLIGHT, max_count=2, policy=EvictionPolicy.LOWEST_QUALITY, sink=sink)
    store.put(meta(1, var=1.0), image())
    store.put(meta(2, var=2.0), image())
    result = store.put(meta(3, var=9.0), image())
    assert not result.stored and "less trustworthy" in result.reason
    assert [c.metadata.frame_time_ns for c in store.captures()] == [1, 2]
    assert store.stats().dropped == 1 and sink.records[-1].kind == KIND_DROPPED


def test_capture_larger_than_the_store_is_refused(tmp_path: Path) -> None:
    store = CaptureStore(tmp_path, flight_id=FLIGHT, max_bytes=500)
    with pytest.raises(CaptureTooLargeError) as err:
        store.put(meta(1), image(1_000))
    assert err.value.max_bytes == 500 and err.value.size > 1_000


def test_duplicate_frame_and_wrong_image_bytes_are_refused(tmp_path: Path) -> None:
    store = CaptureStore(tmp_path, flight_id=FLIGHT)
    store.put(meta(1), image())
    with pytest.raises(CaptureExistsError):
        store.put(meta(1), image())
    with pytest.raises(CaptureValueError, match="image"):
        store.put(meta(2, fmt="jpg"), image())


@pytest.mark.parametrize(
    ("field", "value"),
    [("lat_deg", 91.0), ("lon_deg", float("nan")), ("cov_nn", -1.0), ("gsd_m", 0.0), ("frame_time_ns", -5),
     ("image_format", "bmp"), ("width", 0), ("footprint", ((0.0, 0.0),))],
)
def test_bad_metadata_names_the_field_and_value(field: str, value: object) -> None:
    kwargs = meta(1).to_json_dict()
    kwargs["footprint"] = meta(1).footprint
    kwargs[field] = value
    with pytest.raises(CaptureValueError) as err:
        CaptureMetadata(**kwargs)
    assert err.value.field.startswith(field.split("_")[0]) or err.value.field == "covariance"


def test_non_positive_definite_covariance_is_refused() -> None:
    kwargs = meta(1).to_json_dict()
    kwargs.update(footprint=meta(1).footprint, cov_nn=1.0, cov_ee=1.0, cov_ne=2.0)
    with pytest.raises(CaptureValueError, match="positive-definite"):
        CaptureMetadata(**kwargs)


def test_torn_write_is_removed_on_reopen_and_recorded(tmp_path: Path, sink) -> None:
    store = CaptureStore(tmp_path, flight_id=FLIGHT)
    store.put(meta(1), image())
    # A crash between the image and its metadata, and one inside an atomic write.
    (tmp_path / f"{meta(2).capture_id}.png").write_bytes(image())
    (tmp_path / ".x.png.tmp-123").write_bytes(b"partial")
    read_only = CaptureStore(tmp_path, read_only=True)
    assert len(read_only.captures()) == 1 and (tmp_path / ".x.png.tmp-123").exists()
    reopened = CaptureStore(tmp_path, flight_id=FLIGHT, sink=sink)
    assert [c.metadata.frame_time_ns for c in reopened.captures()] == [1]
    assert reopened.stats().recovered_orphans == 2
    assert not (tmp_path / f"{meta(2).capture_id}.png").exists()
    assert [r.kind for r in sink.records] == [KIND_RECOVERED]


def test_unknown_metadata_keys_are_kept(tmp_path: Path) -> None:
    store = CaptureStore(tmp_path, flight_id=FLIGHT)
    store.put(meta(7), image())
    path = tmp_path / f"{meta(7).capture_id}.json"
    data = json.loads(path.read_text())
    data["future_field"] = 3
    path.write_text(json.dumps(data))
    [capture] = CaptureStore(tmp_path, read_only=True).captures()
    assert capture.metadata.extra == {"future_field": 3}


def test_reopen_with_another_flight_id_is_refused(tmp_path: Path) -> None:
    CaptureStore(tmp_path, flight_id=FLIGHT)
    with pytest.raises(CaptureValueError, match="flight_id"):
        CaptureStore(tmp_path, flight_id="other-flight")
    with pytest.raises(CaptureStoreFormatError, match="store.json"):
        CaptureStore(tmp_path / "nowhere", read_only=True)


def test_disk_full_mid_capture_is_a_typed_error_and_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    import gps_denied_onboard.capture_store.store as store_module
    from gps_denied_onboard.helpers import AtomicWriteError

    store = CaptureStore(tmp_path, flight_id=FLIGHT)
    real_write = store_module.atomic_write_bytes

    def write_image_then_fill_disk(path, data, **kwargs):
        if str(path).endswith(".json"):
            raise AtomicWriteError(28, f"atomic write of {path} failed: No space left on device", str(path))
        return real_write(path, data, **kwargs)

    monkeypatch.setattr(store_module, "atomic_write_bytes", write_image_then_fill_disk)
    with pytest.raises(CaptureWriteError, match=meta(1).capture_id):
        store.put(meta(1), image())
    assert store.captures() == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store.json"]
