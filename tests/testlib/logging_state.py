"""Keep one test's logging configuration from leaking into the next."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def restore_gdn_logging() -> Iterator[None]:
    """`demo_main` / `run_main` configure the project's logger (level, handler) as a
    binary would; give the next test the logging it had. Import it into a test module
    to apply it there."""
    gdn = logging.getLogger("gdn")
    level, handlers, propagate = gdn.level, list(gdn.handlers), gdn.propagate
    yield
    gdn.setLevel(level)
    gdn.handlers[:] = handlers
    gdn.propagate = propagate
