"""Entry point of //python:demo (kept outside the package so the binary's main file
names nothing that could shadow a standard-library module)."""

import os
import sys

# Python puts the script's *real* directory first on sys.path, which through the
# runfiles symlink is the source tree: drop it under Bazel so that only what this
# binary was built with (its runfiles) is importable. Gated-out components must
# stay absent at run time, not only at build time.
if sys.path and sys.path[0] == os.path.dirname(os.path.realpath(__file__)) and any(".runfiles" in p for p in sys.path[1:]):
    del sys.path[0]

from gps_denied_onboard.cli.demo_main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
