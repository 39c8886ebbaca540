"""Runs a benchmark script under `bazel run` (bench/BUILD.bazel).

`bazel run` starts programs inside the runfiles tree; a benchmark's relative
paths on the command line (suite files, --json outputs) mean the caller's
directory, so change there first, then run the script as `__main__`.
"""

from __future__ import annotations

import os
import runpy
import sys


def main() -> None:
    script = os.path.abspath(sys.argv[1])
    caller_dir = os.environ.get("BUILD_WORKING_DIRECTORY")
    if caller_dir:
        os.chdir(caller_dir)
    sys.argv = [script, *sys.argv[2:]]
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
