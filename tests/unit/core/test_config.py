"""Config loading: typed sections, clear errors, unknown keys kept, snapshot hash."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from gps_denied_onboard.config import (
    ConfigFileError,
    ConfigValueError,
    GdnConfig,
    config_from_mapping,
    config_snapshot,
    load_config,
)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "airborne.yaml"
    path.write_text(text)
    return path


def test_defaults_without_a_file() -> None:
    cfg = load_config(None)
    assert cfg == GdnConfig()
    assert cfg.fdr.segment_bytes == 64 * 1024 * 1024
    assert cfg.fdr.flight_cap_bytes == 64 * 1024**3


def test_values_are_typed_and_frozen(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, "fdr:\n  segment_bytes: 1048576\n  fsync_interval_s: 0.5\nruntime:\n  vehicle: fixed_wing\n"))
    assert cfg.fdr.segment_bytes == 1048576
    assert cfg.fdr.fsync_interval_s == 0.5
    assert cfg.runtime.vehicle == "fixed_wing"
    with pytest.raises(AttributeError):
        cfg.fdr.segment_bytes = 1  # type: ignore[misc]


def test_wrong_type_names_file_key_value_and_expectation(tmp_path: Path) -> None:
    path = _write(tmp_path, "fdr:\n  segment_bytes: big\n")
    with pytest.raises(ConfigValueError) as info:
        load_config(path)
    err = info.value
    assert err.source == str(path)
    assert err.key_path == "fdr.segment_bytes"
    assert err.value == "big"
    assert "integer" in err.expected
    assert str(path) in str(err) and "fdr.segment_bytes" in str(err) and "'big'" in str(err)


def test_bad_literal_lists_the_choices(tmp_path: Path) -> None:
    with pytest.raises(ConfigValueError, match="runtime.vehicle.*'multirotor', 'fixed_wing'"):
        load_config(_write(tmp_path, "runtime:\n  vehicle: blimp\n"))


def test_section_validation_error_names_the_section(tmp_path: Path) -> None:
    with pytest.raises(ConfigValueError, match="fdr.*fsync_interval_s"):
        load_config(_write(tmp_path, "fdr:\n  fsync_interval_s: 5\n"))


def test_booleans_are_not_integers() -> None:
    with pytest.raises(ConfigValueError, match="fdr.queue_size"):
        config_from_mapping({"fdr": {"queue_size": True}})


def test_unknown_keys_warn_and_are_kept(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        cfg = load_config(_write(tmp_path, "fdr:\n  future_knob: 3\nnew_section:\n  a: 1\n"))
    assert cfg.unknown_keys == {"fdr.future_knob": 3, "new_section": {"a": 1}}
    assert any("fdr.future_knob" in str(r.__dict__.get("gdn_kv")) for r in caplog.records)
    text, _ = config_snapshot(cfg)
    assert "future_knob" in text


def test_there_is_no_switch_to_disable_the_fdr(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, "fdr:\n  enabled: false\n"))
    assert "fdr.enabled" in cfg.unknown_keys
    assert not hasattr(cfg.fdr, "enabled")


def test_snapshot_is_canonical_and_hash_changes_with_content() -> None:
    a_text, a_hash = config_snapshot(config_from_mapping({"fdr": {"queue_size": 8}, "runtime": {"log_level": "INFO"}}))
    b_text, b_hash = config_snapshot(config_from_mapping({"runtime": {"log_level": "INFO"}, "fdr": {"queue_size": 8}}))
    assert a_text == b_text and a_hash == b_hash
    _, c_hash = config_snapshot(config_from_mapping({"fdr": {"queue_size": 16}}))
    assert c_hash != a_hash
    assert len(a_hash) == 64


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")
    with pytest.raises(ConfigFileError, match=r"line \d+, column \d+"):
        load_config(_write(tmp_path, "fdr:\n  - [unclosed\n"))
    with pytest.raises(ConfigFileError, match="mapping"):
        load_config(_write(tmp_path, "- a\n- b\n"))


def test_newer_schema_version_is_refused() -> None:
    with pytest.raises(ConfigValueError, match="schema_version"):
        config_from_mapping({"schema_version": 99})
