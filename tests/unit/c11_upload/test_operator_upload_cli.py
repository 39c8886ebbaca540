"""`operator upload` end to end: landed state from a MAVLink autopilot on loopback UDP,
the reference server on loopback HTTP, the exit codes an operator scripts against."""

from __future__ import annotations

import json
import socket
import threading

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from ingest_env import FLIGHT, make_store, write_pem, write_trust
from pymavlink.dialects.v10 import ardupilotmega as mavlink1
from pymavlink.dialects.v20 import ardupilotmega as mavlink2

from gps_denied_onboard.runtime_root.operator_upload import ingest_server_main, upload_main


class FakeAutopilot:
    """Answers every datagram (the GCS heartbeat) with EXTENDED_SYS_STATE(landed_state);
    `landed_state=None` stays silent, like a vehicle that is off or out of range."""

    def __init__(self, landed_state: int | None, *, mavlink_v2: bool = False) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.landed_state = landed_state
        self.heartbeats = 0
        self._stop = threading.Event()
        self._mav = (mavlink2 if mavlink_v2 else mavlink1).MAVLink(None, srcSystem=1, srcComponent=1)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                _, addr = self.sock.recvfrom(2048)
            except TimeoutError:
                continue
            self.heartbeats += 1
            if self.landed_state is not None:
                msg = self._mav.extended_sys_state_encode(0, self.landed_state)
                self.sock.sendto(msg.pack(self._mav), addr)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture
def autopilot(request):
    pilot = FakeAutopilot(request.param)
    yield pilot
    pilot.close()


def run_upload(tmp_path, ingest_url: str, key_path, pilot: FakeAutopilot, wait: str = "3") -> int:
    return upload_main(["--flight", str(tmp_path / "flight"), "--to", ingest_url, "--operator-key", str(key_path),
                        "--mavlink", f"udpout:127.0.0.1:{pilot.port}", "--mavlink-wait", wait,
                        "--no-progress", "--attempts", "3"])


@pytest.mark.parametrize("autopilot", [1], indirect=True)
def test_upload_on_ground_sends_everything_and_exits_zero(tmp_path, ingest, operator_key, autopilot, capsys) -> None:
    store = make_store(tmp_path / "flight", 5)
    assert run_upload(tmp_path, ingest.url, write_pem(operator_key, tmp_path / "op.pem"), autopilot) == 0
    assert "5 uploaded" in capsys.readouterr().out
    held = sorted(p.stem for p in ingest.service.config.storage_root.glob(f"flights/{FLIGHT}/captures/*.bin"))
    assert held == [c.capture_id for c in store.captures()]
    audit = [json.loads(line) for line in (store.root / "upload" / "audit.jsonl").read_text().splitlines()]
    assert [a["kind"] for a in audit] == ["c11.upload.session.key.public", "c11.upload.report"]


def test_upload_reads_a_mavlink2_autopilot(tmp_path, ingest, operator_key) -> None:
    make_store(tmp_path / "flight", 1)
    pilot = FakeAutopilot(1, mavlink_v2=True)
    try:
        assert run_upload(tmp_path, ingest.url, write_pem(operator_key, tmp_path / "op.pem"), pilot) == 0
    finally:
        pilot.close()


@pytest.mark.parametrize("autopilot", [2, 3, 4, 0], indirect=True)
def test_upload_in_flight_exits_four_and_sends_nothing(tmp_path, ingest, operator_key, autopilot, capsys) -> None:
    make_store(tmp_path / "flight", 2)
    assert run_upload(tmp_path, ingest.url, write_pem(operator_key, tmp_path / "op.pem"), autopilot) == 4
    assert "not ON_GROUND" in capsys.readouterr().err
    assert ingest.service.storage.sessions == {}


@pytest.mark.parametrize("autopilot", [None], indirect=True)
def test_upload_with_silent_autopilot_fails_closed(tmp_path, ingest, operator_key, autopilot, capsys) -> None:
    make_store(tmp_path / "flight", 1)
    assert run_upload(tmp_path, ingest.url, write_pem(operator_key, tmp_path / "op.pem"), autopilot, "0.4") == 4
    assert "no landed state" in capsys.readouterr().err
    assert autopilot.heartbeats >= 1 and ingest.service.storage.sessions == {}


@pytest.mark.parametrize("autopilot", [1], indirect=True)
def test_upload_with_revoked_operator_key_exits_five(tmp_path, ingest, operator_key, autopilot, capsys) -> None:
    make_store(tmp_path / "flight", 1)
    write_trust(ingest.service.config.operator_keys_path, [operator_key], revoked=(operator_key,))
    assert run_upload(tmp_path, ingest.url, write_pem(operator_key, tmp_path / "op.pem"), autopilot) == 5
    assert "revoked_operator_key" in capsys.readouterr().err


def test_usage_errors_name_the_problem(tmp_path, capsys) -> None:
    key = write_pem(Ed25519PrivateKey.generate(), tmp_path / "op.pem")
    base = ["--operator-key", str(key), "--mavlink", "udpout:127.0.0.1:9", "--no-progress"]
    assert upload_main(["--flight", str(tmp_path), "--to", "http://127.0.0.1:9", *base]) == 2
    assert "no capture store" in capsys.readouterr().err
    make_store(tmp_path / "f", 1)
    assert upload_main(["--flight", str(tmp_path / "f"), "--to", "ftp://x", *base]) == 2
    assert "http" in capsys.readouterr().err
    assert ingest_server_main(["--storage", str(tmp_path / "s"), "--operator-keys", str(tmp_path / "none.json")]) == 2
    assert "none.json" in capsys.readouterr().err


@pytest.mark.parametrize("main", [upload_main, ingest_server_main])
def test_help_shows_the_commands_usage(main, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0 and "usage: operator" in capsys.readouterr().out
