"""C13 flight data recorder: writer thread, segments, header/footer, capacity cap, reader/recover/export."""

from gps_denied_onboard.components.c13_fdr.errors import FdrError

__all__ = ["FdrError"]
