"""XYZ downloader against a real HTTP server on loopback (no mocked client)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from tile_server import TileServer, tile_png

from gps_denied_onboard._types import TileXYZ
from gps_denied_onboard.components.c11_tile_manager.download import (
    DownloadIncompleteError,
    TileDecodeError,
    TileNotFoundError,
    TileServerError,
    TileSourceError,
    TileTimeoutError,
    XyzTileSource,
)

TILES = [TileXYZ(15, x, y) for y in range(11000, 11003) for x in range(17000, 17004)]  # 12 tiles


def _source(server: TileServer, mode: str, tmp_path: Path, **kw: object) -> XyzTileSource:
    opts: dict[str, object] = {"concurrency": 4, "max_attempts": 3, "backoff_s": 0.01, "timeout_s": 2.0}
    opts.update(kw)
    return XyzTileSource(server.url(mode), download_dir=tmp_path / "dl", zoom=15, **opts)  # type: ignore[arg-type]


def test_downloads_every_tile_byte_exact(server: TileServer, tmp_path: Path) -> None:
    src = _source(server, "ok", tmp_path)
    src.prepare(TILES)
    got = {t: data for t, data, _ in src.fetch(TILES)}
    assert set(got) == set(TILES)
    for t in TILES:
        assert got[t] == tile_png(t.z, t.x, t.y)
    assert src.requests_made == len(TILES)


def test_concurrency_limit_is_respected(tmp_path: Path) -> None:
    with TileServer(hold_s=0.05) as server:
        src = _source(server, "ok", tmp_path, concurrency=3)
        src.prepare(TILES)
        assert 1 < server.max_in_flight <= 3


def test_404_is_reported_as_not_found_and_never_retried(server: TileServer, tmp_path: Path) -> None:
    src = _source(server, "missing", tmp_path)
    with pytest.raises(TileNotFoundError) as err:
        src.fetch_one(TILES[0])
    assert err.value.status == 404 and TILES[0] == err.value.tile
    assert sum(server.requests.values()) == 1
    src.prepare(TILES[:3])  # a missing tile is not a failure of the run: coverage decides
    assert src.missing == frozenset(TILES[:3])
    assert list(src.fetch(TILES[:3])) == []
    server.requests.clear()
    again = _source(server, "missing", tmp_path)  # remembered: a warm re-run asks nothing
    again.prepare(TILES[:3])
    assert again.missing == frozenset(TILES[:3]) and not server.requests


def test_5xx_retries_with_backoff_then_fails_as_server_error(server: TileServer, tmp_path: Path) -> None:
    src = _source(server, "fail", tmp_path, max_attempts=3, backoff_s=0.05)
    t0 = time.monotonic()
    with pytest.raises(TileServerError) as err:
        src.fetch_one(TILES[0])
    elapsed = time.monotonic() - t0
    assert err.value.status == 500 and err.value.attempts == 3
    assert sum(server.requests.values()) == 3
    assert elapsed >= 0.05 + 0.1  # two backoff sleeps: 0.05, 0.1 (plus jitter)


def test_flaky_server_succeeds_after_retries(server: TileServer, tmp_path: Path) -> None:
    src = _source(server, "flaky", tmp_path, max_attempts=4)
    assert src.fetch_one(TILES[0]) == tile_png(15, TILES[0].x, TILES[0].y)
    assert sum(server.requests.values()) == 3  # two 503s, then 200


def test_retry_after_header_is_honoured(server: TileServer, tmp_path: Path) -> None:
    src = _source(server, "busy", tmp_path, backoff_s=5.0)  # backoff would be 5 s; Retry-After says 0
    t0 = time.monotonic()
    src.fetch_one(TILES[0])
    assert time.monotonic() - t0 < 2.0


def test_slow_server_times_out_honestly(tmp_path: Path) -> None:
    with TileServer(slow_s=1.5) as server:
        src = _source(server, "slow", tmp_path, timeout_s=0.2, max_attempts=2)
        t0 = time.monotonic()
        with pytest.raises(TileTimeoutError) as err:
            src.fetch_one(TILES[0])
        assert err.value.attempts == 2 and err.value.timeout_s == 0.2
        assert time.monotonic() - t0 < 1.4  # gave up on its timeout, did not wait for the server


def test_non_image_body_is_refused(server: TileServer, tmp_path: Path) -> None:
    src = _source(server, "garbage", tmp_path)
    with pytest.raises(DownloadIncompleteError) as err:
        src.prepare(TILES[:2])
    assert all(isinstance(e, TileDecodeError) for e in err.value.failures.values())


def test_interrupted_download_resumes_only_missing_tiles(server: TileServer, tmp_path: Path) -> None:
    src = _source(server, "oddfail", tmp_path, max_attempts=2)
    with pytest.raises(DownloadIncompleteError) as err:
        src.prepare(TILES)
    failed = set(err.value.failures)
    assert failed == {t for t in TILES if t.x % 2}
    assert all(isinstance(e, TileServerError) for e in err.value.failures.values())
    assert err.value.downloaded == len(TILES) - len(failed)
    server.healed = True
    server.requests.clear()
    resumed = _source(server, "oddfail", tmp_path)  # a new process would start like this
    resumed.prepare(TILES)
    assert {p.split("/")[3] for p in server.requests} == {str(t.x) for t in failed}
    assert sum(server.requests.values()) == len(failed)
    assert {t for t, _, _ in resumed.fetch(TILES)} == set(TILES)


def test_corrupt_stored_tile_is_removed_and_reported(server: TileServer, tmp_path: Path) -> None:
    src = _source(server, "ok", tmp_path)
    src.prepare(TILES[:1])
    stored = src.store / "15" / str(TILES[0].x) / f"{TILES[0].y}.tile"
    stored.write_bytes(b"torn")
    with pytest.raises(TileDecodeError, match="re-run"):
        list(src.fetch(TILES[:1]))
    assert not stored.exists()


def test_tms_rows_are_flipped_in_the_url(tmp_path: Path) -> None:
    src = XyzTileSource("http://127.0.0.1:1/{z}/{x}/{y}.png", download_dir=tmp_path, tms=True)
    assert src.url(TileXYZ(3, 1, 2)) == "http://127.0.0.1:1/3/1/5.png"
    flip = XyzTileSource("http://127.0.0.1:1/{z}/{x}/{-y}.png", download_dir=tmp_path)
    assert flip.url(TileXYZ(3, 1, 2)) == "http://127.0.0.1:1/3/1/5.png"
    wmts = XyzTileSource("http://127.0.0.1:1/wmts/l/GoogleMapsCompatible/{TileMatrix}/{TileRow}/{TileCol}.jpg", download_dir=tmp_path)
    assert wmts.url(TileXYZ(3, 1, 2)) == "http://127.0.0.1:1/wmts/l/GoogleMapsCompatible/3/2/1.jpg"


@pytest.mark.parametrize("template", ["ftp://h/{z}/{x}/{y}", "http://h/{z}/{x}.png", "http://h/tiles"])
def test_bad_url_template_is_refused(template: str, tmp_path: Path) -> None:
    with pytest.raises(TileSourceError, match="template"):
        XyzTileSource(template, download_dir=tmp_path)


def test_rate_limit_spaces_requests(server: TileServer, tmp_path: Path) -> None:
    src = _source(server, "ok", tmp_path, rate_limit_per_s=40.0, concurrency=4)
    t0 = time.monotonic()
    src.prepare(TILES[:8])
    assert time.monotonic() - t0 >= 7 / 40.0 * 0.9


def test_identity_changes_when_a_tile_changes(server: TileServer, tmp_path: Path) -> None:
    src = _source(server, "ok", tmp_path)
    src.prepare(TILES[:2])
    before = src.identity(TILES[:2])
    assert src.identity(TILES[:2]) == before
    (src.store / "15" / str(TILES[0].x) / f"{TILES[0].y}.tile").write_bytes(tile_png(1, 1, 1))
    assert src.identity(TILES[:2]) != before


def test_slow_server_within_the_timeout_is_not_an_error(tmp_path: Path) -> None:
    with TileServer(slow_s=0.2) as server:
        src = _source(server, "slow", tmp_path, timeout_s=2.0, concurrency=4)
        src.prepare(TILES[:4])
        assert len(list(src.fetch(TILES[:4]))) == 4 and src.requests_made == 4
