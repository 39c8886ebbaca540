"""ManifestBuilder output and the operator key's handling."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import stat
from pathlib import Path

import pytest
from c10_helpers import Workspace
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gps_denied_onboard._types import tms_to_xyz
from gps_denied_onboard.components.c4_map_cache import canonical_json, load_public_key, merkle_root
from gps_denied_onboard.components.c10_provisioning import (
    CacheProvisioner,
    OperatorKeyError,
    generate_operator_key,
    operator_key,
)
from gps_denied_onboard.components.c10_provisioning import keys as keys_module


@pytest.fixture
def built(ws: Workspace) -> Workspace:
    CacheProvisioner().build_cache_artifacts(ws.request())
    return ws


def test_manifest_is_canonical_json(built: Workspace) -> None:
    body = (built.out / "manifest.json").read_bytes()
    assert body == canonical_json(json.loads(body))
    assert body.startswith(b'{"bbox":{"lat_max":')  # sorted keys, no whitespace
    assert body.isascii()


def test_manifest_lists_every_file_with_length_and_sha256(built: Workspace) -> None:
    doc = json.loads((built.out / "manifest.json").read_bytes())
    on_disk = {p.relative_to(built.out).as_posix(): p for p in built.out.rglob("*") if p.is_file()}
    assert set(doc["files"]) == set(on_disk) - {"manifest.json", "manifest.sig"}
    for rel, entry in doc["files"].items():
        data = on_disk[rel].read_bytes()
        assert entry == {"length": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    assert doc["calibration"]["sha256"] == doc["files"]["calibration/camera.yaml"]["sha256"]
    for key in ("version", "created", "expires", "bbox", "takeoff_origin", "flight_id", "engines", "key_id"):
        assert key in doc


def test_merkle_root_binds_every_tile(built: Workspace) -> None:
    doc = json.loads((built.out / "manifest.json").read_bytes())
    conn = sqlite3.connect(built.out / "tiles.sqlite")
    rows = conn.execute("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles").fetchall()
    conn.close()
    leaves = [(tms_to_xyz(z, x, y), hashlib.sha256(d).digest()) for z, x, y, d in rows]
    assert merkle_root(leaves) == doc["tiles"]["merkle_root"] and doc["tiles"]["count"] == len(rows)
    leaves[0] = (leaves[0][0], hashlib.sha256(b"other").digest())
    assert merkle_root(leaves) != doc["tiles"]["merkle_root"]
    leaves[0], leaves[1] = (leaves[1][0], leaves[0][1]), (leaves[0][0], leaves[1][1])  # swapped positions
    assert merkle_root(leaves) != doc["tiles"]["merkle_root"]


def test_signature_verifies_only_with_the_operator_key(built: Workspace) -> None:
    body = (built.out / "manifest.json").read_bytes()
    sig = bytes.fromhex(json.loads((built.out / "manifest.sig").read_bytes())["sig"])
    load_public_key(built.pub).verify(sig, body)
    with pytest.raises(InvalidSignature):
        Ed25519PrivateKey.generate().public_key().verify(sig, body)


def test_key_bytes_are_zeroised_after_use(built: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bytearray] = []
    real = serialization.load_pem_private_key

    def spy(data, password=None):  # type: ignore[no-untyped-def]
        seen.append(data.obj)  # the bytearray the PEM was read into
        return real(data, password)

    monkeypatch.setattr(keys_module.serialization, "load_pem_private_key", spy)
    with operator_key(built.key) as key:
        key.sign(b"x")
        buffer = seen[0]
        assert b"BEGIN PRIVATE KEY" in bytes(buffer)
    assert not any(buffer)


def test_keygen_writes_a_private_key_only_the_owner_can_read(tmp_path: Path) -> None:
    priv, pub, key_id = generate_operator_key(tmp_path / "k" / "op.pem")
    assert stat.S_IMODE(priv.stat().st_mode) == 0o600
    assert pub.name == "op.pub.pem" and len(key_id) == 64
    with pytest.raises(OperatorKeyError, match="already exists"):
        generate_operator_key(priv)


def test_missing_key_points_to_keygen(ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(OperatorKeyError, match="operator keygen"):
        CacheProvisioner().build_cache_artifacts(ws.request(key_path=tmp_path / "nope.pem"))


def test_non_ed25519_key_is_refused(ws: Workspace, tmp_path: Path) -> None:
    pem = tmp_path / "ec.pem"
    pem.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with pytest.raises(OperatorKeyError, match="Ed25519"):
        CacheProvisioner().build_cache_artifacts(ws.request(key_path=pem))


def test_large_files_are_listed_with_chunk_hashes_that_verify(ws: Workspace, tmp_path: Path) -> None:
    from gps_denied_onboard.components.c4_map_cache import open_cache
    from gps_denied_onboard.components.c10_provisioning import ManifestBuilder

    CacheProvisioner(manifest_builder=ManifestBuilder(chunk_bytes=8192)).build_cache_artifacts(ws.request())
    entry = json.loads((ws.out / "manifest.json").read_bytes())["files"]["tiles.sqlite"]
    data = (ws.out / "tiles.sqlite").read_bytes()
    assert entry["chunk_bytes"] == 8192 and len(entry["chunk_sha256"]) == -(-len(data) // 8192)
    assert entry["chunk_sha256"][1] == hashlib.sha256(data[8192:16384]).hexdigest()
    assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    open_cache(ws.out, trusted_keys=[ws.pub], state_path=tmp_path / "s.json").close()
