"""The Bazel pytest runner: sharding partitions the cases, filters map to -k."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest


def _runner() -> ModuleType:
    here = Path(__file__).resolve()
    for base in (here.parents[3], Path.cwd()):
        path = base / "tools" / "pytest" / "pytest_main.py"
        if path.exists():
            spec = importlib.util.spec_from_file_location("pytest_main_under_test", path)
            assert spec and spec.loader
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
    pytest.skip("tools/pytest/pytest_main.py not found")


class _Hook:
    def __init__(self) -> None:
        self.deselected: list[object] = []

    def pytest_deselected(self, items: list[object]) -> None:
        self.deselected.extend(items)


@pytest.mark.parametrize("total", [2, 3, 7])
def test_shards_partition_the_cases_exactly(total: int) -> None:
    runner = _runner()
    ids = [f"tests/unit/x/test_{i}.py::test_case_{j}" for i in range(5) for j in range(9)]
    seen: list[str] = []
    for index in range(total):
        items = [SimpleNamespace(nodeid=n) for n in ids]
        hook = _Hook()
        runner._ShardPlugin(index, total).pytest_collection_modifyitems(SimpleNamespace(hook=hook), items)
        seen += [i.nodeid for i in items]
        assert len(items) + len(hook.deselected) == len(ids)
    assert sorted(seen) == sorted(ids)


def test_filter_and_outputs_map_to_pytest_arguments(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    runner = _runner()
    captured: dict[str, list[str]] = {}

    def fake_main(args: list[str], plugins: list[object]) -> int:
        captured["args"] = args
        return 0

    monkeypatch.setattr(runner.pytest, "main", fake_main)
    monkeypatch.setenv("TESTBRIDGE_TEST_ONLY", "tiles")
    monkeypatch.setenv("XML_OUTPUT_FILE", str(tmp_path / "out.xml"))
    monkeypatch.setenv("TEST_TMPDIR", str(tmp_path))
    monkeypatch.setenv("TEST_TOTAL_SHARDS", "1")
    monkeypatch.setattr(sys, "argv", ["pytest_main.py", "tests/x/test_a.py"])
    assert runner.main() == 0
    args = captured["args"]
    assert args[args.index("-k") + 1] == "tiles"
    assert args[args.index("--junitxml") + 1] == str(tmp_path / "out.xml")
    assert "--strict-markers" in args
    assert args[args.index("--basetemp") + 1].startswith(str(tmp_path))
    assert args[-1] == "tests/x/test_a.py"
