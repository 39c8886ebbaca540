#!/usr/bin/env python3
"""Run a benchmark suite: `bench/run_suite.py bench/suites/standard.yaml [operator bench options]`.

The same as `operator bench --suite FILE ...`; prints the per-run table and the totals.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))

from gps_denied_onboard.runtime_root.operator_sim import bench_main  # noqa: E402 - after the path setup


def main(argv: list[str]) -> int:
    if not argv or argv[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    return bench_main(["--suite", argv[0], *argv[1:]])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
