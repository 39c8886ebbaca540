"""The reference ingest server against attacks, each test named for the attack it stops.
Real HTTP on loopback; the attacker speaks the API directly (ingest_env.RawClient)."""

from __future__ import annotations

import http.client
import json
import time

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from ingest_env import RawClient, error_code, write_trust

from gps_denied_onboard.components.c11_tile_manager.ingest.protocol import HEADER_METADATA, b64encode, sha256_hex

PAYLOAD = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


def stored_payloads(ingest) -> list[bytes]:
    root = ingest.service.config.storage_root
    return [p.read_bytes() for p in sorted(root.glob("flights/*/captures/*.bin"))]


def opened(ingest, operator_key) -> RawClient:
    client = RawClient(ingest.url, operator_key)
    assert client.open().status_code == 201
    return client


def test_replay_of_an_accepted_capture_request_is_rejected_and_stored_once(ingest, operator_key) -> None:
    client = opened(ingest, operator_key)
    request = client.capture_request(0, PAYLOAD)
    assert RawClient.send(request).status_code == 201
    replay = RawClient.send(request)
    assert replay.status_code == 409 and error_code(replay) == "replayed_request"
    assert replay.json()["error"]["already_accepted"] is True  # lets an honest retry count it as done
    assert stored_payloads(ingest) == [PAYLOAD]


def test_capture_without_metadata_or_with_non_json_metadata_is_refused(ingest, operator_key) -> None:
    client = opened(ingest, operator_key)
    request = client.capture_request(0, PAYLOAD, metadata=b"not json")
    assert error_code(RawClient.send(request)) == "malformed_request"
    request = client.capture_request(0, PAYLOAD)
    del request["headers"][HEADER_METADATA]
    assert error_code(RawClient.send(request)) == "malformed_request"
    assert stored_payloads(ingest) == []


def test_reused_sequence_number_with_other_content_is_rejected(ingest, operator_key) -> None:
    client = opened(ingest, operator_key)
    assert RawClient.send(client.capture_request(0, PAYLOAD)).status_code == 201
    other = RawClient.send(client.capture_request(0, PAYLOAD + b"x", capture_id="cap9999"))
    assert error_code(other) == "replayed_request"
    assert other.json()["error"]["already_accepted"] is False
    assert stored_payloads(ingest) == [PAYLOAD]


def test_tampered_payload_is_rejected(ingest, operator_key) -> None:
    client = opened(ingest, operator_key)
    request = client.capture_request(0, PAYLOAD)
    request["data"] = PAYLOAD[:-1] + b"\x00"
    response = RawClient.send(request)
    assert response.status_code == 422 and error_code(response) == "payload_hash_mismatch"
    assert stored_payloads(ingest) == []


def test_tampered_metadata_is_rejected(ingest, operator_key) -> None:
    client = opened(ingest, operator_key)
    request = client.capture_request(0, PAYLOAD, metadata=b'{"lat_deg": 50.0}')
    request["headers"][HEADER_METADATA] = b64encode(b'{"lat_deg": 51.0}')
    assert error_code(RawClient.send(request)) == "payload_hash_mismatch"


def test_session_hijack_with_another_flight_key_is_rejected(ingest, operator_key) -> None:
    client = opened(ingest, operator_key)
    intruder_key = Ed25519PrivateKey.generate()
    response = RawClient.send(client.capture_request(0, PAYLOAD, key=intruder_key))
    assert response.status_code == 401 and error_code(response) == "bad_signature"
    assert stored_payloads(ingest) == []


def test_flight_key_substitution_in_session_open_is_rejected(ingest, operator_key) -> None:
    client = RawClient(ingest.url, operator_key)
    body = client.open_request()
    body["statement"]["flight_public_key_hex"] = Ed25519PrivateKey.generate().public_key().public_bytes_raw().hex()
    response = client.post_open(body)
    assert response.status_code == 401 and error_code(response) == "bad_operator_signature"


def test_session_open_by_unknown_operator_key_is_rejected(ingest) -> None:
    response = RawClient(ingest.url, Ed25519PrivateKey.generate()).open()
    assert response.status_code == 403 and error_code(response) == "unknown_operator_key"


def test_revoked_operator_key_cannot_open_and_its_open_session_is_cut(ingest, operator_key) -> None:
    client = opened(ingest, operator_key)
    write_trust(ingest.service.config.operator_keys_path, [operator_key], revoked=(operator_key,))
    assert error_code(RawClient(ingest.url, operator_key).open()) == "revoked_operator_key"
    assert error_code(RawClient.send(client.capture_request(0, PAYLOAD))) == "revoked_operator_key"


def test_replayed_session_open_is_rejected(ingest, operator_key) -> None:
    client = RawClient(ingest.url, operator_key)
    body = client.open_request()
    assert client.post_open(body).status_code == 201
    replay = client.post_open(body)
    assert replay.status_code == 409 and error_code(replay) == "replayed_request"


def test_stale_session_open_is_rejected(ingest, operator_key) -> None:
    client = RawClient(ingest.url, operator_key)
    response = client.post_open(client.open_request(issued_unix_ns=time.time_ns() - 3_600 * 10**9))
    assert response.status_code == 401 and error_code(response) == "stale_request"


def test_statement_moved_to_another_sequence_number_is_rejected(ingest, operator_key) -> None:
    client = opened(ingest, operator_key)
    request = client.capture_request(0, PAYLOAD)
    request["url"] = request["url"].rsplit("/", 1)[0] + "/7"
    assert error_code(RawClient.send(request)) == "session_mismatch"


def test_capture_replayed_into_a_superseding_session_is_rejected(ingest, operator_key) -> None:
    first = opened(ingest, operator_key)
    request = first.capture_request(0, PAYLOAD)
    second = opened(ingest, operator_key)  # the flight's new session supersedes the first
    assert error_code(RawClient.send(request)) == "session_closed"
    moved = dict(request, url=request["url"].replace(first.session_id, second.session_id))
    assert error_code(RawClient.send(moved)) == "bad_signature"


def test_oversized_body_is_refused_without_reading_it(ingest, operator_key) -> None:
    client = opened(ingest, operator_key)
    request = client.capture_request(0, PAYLOAD)
    conn = http.client.HTTPConnection("127.0.0.1", ingest.port, timeout=5)
    conn.putrequest("PUT", f"/v1/sessions/{client.session_id}/captures/0")
    for name, value in request["headers"].items():
        conn.putheader(name, value)
    conn.putheader("Content-Length", str(10**9))
    conn.endheaders()
    response = conn.getresponse()
    assert response.status == 413
    assert json.loads(response.read())["error"]["code"] == "body_too_large"
    conn.close()


def test_body_without_length_is_refused(ingest, operator_key) -> None:
    client = opened(ingest, operator_key)
    request = client.capture_request(0, PAYLOAD)
    response = requests.put(request["url"], headers=request["headers"], data=iter([PAYLOAD]), timeout=5)
    assert response.status_code == 411 and error_code(response) == "length_required"


def test_path_traversal_in_flight_id_is_rejected(ingest, operator_key) -> None:
    client = RawClient(ingest.url, operator_key)
    client.flight_id = "../../etc"
    response = client.open()
    assert response.status_code == 400 and error_code(response) == "malformed_request"


def test_false_close_summary_is_rejected(ingest, operator_key) -> None:
    client = opened(ingest, operator_key)
    assert RawClient.send(client.capture_request(0, PAYLOAD)).status_code == 201
    lie = client.close(client.close_request([]))  # claims nothing was uploaded
    assert lie.status_code == 409 and error_code(lie) == "summary_mismatch"
    truth = client.close(client.close_request([(0, "cap0000", sha256_hex(PAYLOAD))]))
    assert truth.status_code == 200 and truth.json()["receipt"]["accepted_count"] == 1


def test_upload_into_a_closed_session_is_rejected(ingest, operator_key) -> None:
    client = opened(ingest, operator_key)
    assert client.close(client.close_request([])).status_code == 200
    response = RawClient.send(client.capture_request(0, PAYLOAD))
    assert response.status_code == 409 and error_code(response) == "session_closed"


def test_every_error_code_is_distinct_and_documented_with_its_status() -> None:
    import os
    from pathlib import Path

    import yaml

    from gps_denied_onboard.components.c11_tile_manager.ingest.protocol import HTTP_STATUS, ErrorCode

    codes = [c.value for c in ErrorCode]
    assert len(codes) == len(set(codes)) and set(HTTP_STATUS) == set(ErrorCode)
    srcdir = os.environ.get("TEST_SRCDIR")
    root = Path(srcdir) / os.environ.get("TEST_WORKSPACE", "gdn") if srcdir else Path(__file__).resolve().parents[3]
    contract = root / "docs" / "contracts" / "ingest-api.yaml"
    if not contract.exists():
        pytest.skip(f"{contract} is not in this sandbox (the plain pytest run checks it)")
    doc = yaml.safe_load(contract.read_text())
    code_doc = doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]
    assert code_doc["enum"] == codes
    for code, status in HTTP_STATUS.items():
        assert f"{code.value} ({status})" in code_doc["description"]
