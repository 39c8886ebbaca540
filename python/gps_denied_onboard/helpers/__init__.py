"""Small shared helpers: crash-safe file writes and rate limiting."""

from gps_denied_onboard.helpers.atomic_write import (
    AtomicWriteError,
    atomic_write_bytes,
    atomic_write_text,
    fsync_dir,
    sha256_file,
    verify_sidecar,
)
from gps_denied_onboard.helpers.rate_limit import RateLimiter

__all__ = [
    "AtomicWriteError",
    "RateLimiter",
    "atomic_write_bytes",
    "atomic_write_text",
    "fsync_dir",
    "sha256_file",
    "verify_sidecar",
]
