"""A suite's `localization:` mapping: LocalizationConfig overrides for every run,
checked when the suite is read and handed to the localizer process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gps_denied_onboard.components.c12_sim import runner
from gps_denied_onboard.components.c12_sim.errors import BenchError
from gps_denied_onboard.components.c12_sim.suite import load_suite
from gps_denied_onboard.config.sections.localization import LocalizationConfig

_RUNS = "runs:\n  - name: synth\n    synthetic: {seed: 4, size_px: 384, gsd_m: 1.0}\n"


def _suite(tmp_path: Path, localization: str) -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(f"name: t\n{localization}{_RUNS}", encoding="utf-8")
    return path


def test_suite_without_localization_keeps_the_defaults(tmp_path: Path) -> None:
    suite = load_suite(_suite(tmp_path, ""))
    assert suite.localization == {}
    assert runner.localization_config(suite.localization) == LocalizationConfig()


def test_suite_localization_overrides_are_read(tmp_path: Path) -> None:
    suite = load_suite(_suite(tmp_path, "localization: {first_fix_consensus: false, max_speed_mps: 25}\n"))
    assert suite.localization == {"first_fix_consensus": False, "max_speed_mps": 25}
    cfg = runner.localization_config(suite.localization)
    assert cfg.first_fix_consensus is False and cfg.max_speed_mps == 25.0
    assert cfg.min_distinctiveness == LocalizationConfig().min_distinctiveness  # the rest stays default


def test_unknown_localization_setting_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="first_fix_consensuss") as exc:
        load_suite(_suite(tmp_path, "localization: {first_fix_consensuss: true}\n"))
    assert str(tmp_path / "suite.yaml") in str(exc.value)


@pytest.mark.parametrize(("text", "named"), [
    ("localization: {first_fix_consensus: 1}\n", "first_fix_consensus"),      # not a bool
    ("localization: {max_speed_mps: true}\n", "max_speed_mps"),               # a bool is not a number
    ("localization: {max_search_radius_px: 9.5}\n", "max_search_radius_px"),  # not an int
    ("localization: {covariance_inflation: -1.0}\n", "covariance_inflation"),  # refused by the config
    ("localization: [first_fix_consensus]\n", "localization"),               # not a mapping
])
def test_bad_localization_value_is_refused_naming_it(tmp_path: Path, text: str, named: str) -> None:
    with pytest.raises(BenchError, match=named):
        load_suite(_suite(tmp_path, text))


def _child_args(tmp_path: Path, localizer: str, localization: dict[str, Any] | None) -> list[str]:
    return [json.dumps({"localizer": localizer, "flight": str(tmp_path / "f"), "out": str(tmp_path / "o"),
                        "map": None, "cache": None, "realtime": False, "localization": localization})]


def test_overrides_reach_the_localizer_as_its_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []

    def fake(flight_dir: Path, out_dir: Path, **kwargs: Any) -> None:
        calls.append(kwargs)

    monkeypatch.setattr(runner, "resolve_localizer", lambda name: fake)
    assert runner._child_main(_child_args(tmp_path, "airborne", {"max_speed_mps": 25.0})) == 0
    assert calls[-1]["config"] == LocalizationConfig(max_speed_mps=25.0)
    # no overrides: no config argument, the localizer keeps its own default
    assert runner._child_main(_child_args(tmp_path, "airborne", None)) == 0
    assert "config" not in calls[-1]


def test_baseline_refuses_localization_overrides(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="airborne localizer only"):
        runner.run_localizer("baseline", tmp_path / "f", tmp_path / "o", localization={"first_fix_consensus": True})
