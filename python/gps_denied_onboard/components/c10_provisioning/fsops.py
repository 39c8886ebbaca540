"""Directory-level atomic replacement for a built cache."""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
from pathlib import Path

from gps_denied_onboard.helpers import fsync_dir

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two directories with renameat2(RENAME_EXCHANGE); False when unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    rc = fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def install_directory(staging: Path, target: Path) -> None:
    """Make `staging` become `target`. Readers of `target` see the old cache or the new
    one, never a mix (atomic exchange where the kernel supports it); the old one is deleted."""
    parent = target.parent
    if not target.exists():
        os.rename(staging, target)
        fsync_dir(parent)
        return
    if _exchange(staging, target):
        fsync_dir(parent)
        shutil.rmtree(staging)  # now holds the previous cache
        return
    backup = parent / f".{target.name}.previous-{os.getpid()}"
    os.rename(target, backup)
    try:
        os.rename(staging, target)
    except OSError:
        os.rename(backup, target)
        raise
    fsync_dir(parent)
    shutil.rmtree(backup)
