"""pytest entry point for Bazel test targets (see tools/pytest/defs.bzl).

Maps Bazel's test protocol onto pytest: JUnit XML to $XML_OUTPUT_FILE,
`--test_filter` ($TESTBRIDGE_TEST_ONLY) to `-k`, caches under $TEST_TMPDIR,
test sharding ($TEST_TOTAL_SHARDS / $TEST_SHARD_INDEX) by stable file-and-name
hashing, and `--strict-markers` always.
"""

from __future__ import annotations

import hashlib
import os
import sys

import pytest


class _ShardPlugin:
    """Keeps the tests whose node id hashes to this shard."""

    def __init__(self, index: int, total: int) -> None:
        self.index = index
        self.total = total

    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        keep, drop = [], []
        for item in items:
            digest = int(hashlib.sha1(item.nodeid.encode()).hexdigest(), 16)
            (keep if digest % self.total == self.index else drop).append(item)
        items[:] = keep
        if drop:
            config.hook.pytest_deselected(items=drop)


def main() -> int:
    args = ["--strict-markers", "-p", "no:cacheprovider", "-ra", "--tb=short"]
    tmp = os.environ.get("TEST_TMPDIR")
    if tmp:
        args += ["--basetemp", os.path.join(tmp, "pytest")]
        os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", os.path.join(tmp, "hypothesis"))
    xml = os.environ.get("XML_OUTPUT_FILE")
    if xml:
        args += ["--junitxml", xml]
    only = os.environ.get("TESTBRIDGE_TEST_ONLY")
    if only:
        args += ["-k", only]
    plugins: list[object] = []
    total = int(os.environ.get("TEST_TOTAL_SHARDS", "1"))
    if total > 1:
        status = os.environ.get("TEST_SHARD_STATUS_FILE")
        if status:
            open(status, "w").close()  # tells Bazel this runner understands sharding
        plugins.append(_ShardPlugin(int(os.environ["TEST_SHARD_INDEX"]), total))
    args += sys.argv[1:]
    code = pytest.main(args, plugins=plugins)
    if code == pytest.ExitCode.NO_TESTS_COLLECTED and (total > 1 or only):
        return 0  # an empty shard or a filter that matches nothing here is not a failure
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
