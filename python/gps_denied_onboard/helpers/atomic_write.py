"""Atomic file replacement: write a temp file, fsync it, rename over the target,
fsync the directory. A reader sees the old file or the new one, never a mix,
even across a power cut. An optional `<name>.sha256` sidecar records the digest."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

SIDECAR_SUFFIX = ".sha256"


class AtomicWriteError(OSError):
    """Writing or verifying a file failed; names the path."""


def fsync_dir(directory: str | os.PathLike[str]) -> None:
    """Make a directory's entries (a rename, a new or removed file) durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, sidecar: bool = False, mode: int = 0o644) -> str:
    """Atomically replace `path` with `data`. Returns the SHA-256 hex digest of `data`.

    With `sidecar=True` also writes `<path>.sha256` (``"<hex>  <name>\\n"``, the
    sha256sum format) atomically, after the data file.
    """
    target = Path(path)
    directory = target.parent
    digest = hashlib.sha256(data).hexdigest()
    tmp = directory / f".{target.name}.tmp-{os.getpid()}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
        fsync_dir(directory)
    except OSError as exc:
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass
        raise AtomicWriteError(exc.errno, f"atomic write of {target} failed: {exc.strerror}", str(target)) from exc
    if sidecar:
        atomic_write_bytes(
            target.with_name(target.name + SIDECAR_SUFFIX), f"{digest}  {target.name}\n".encode(), sidecar=False
        )
    return digest


def atomic_write_text(path: str | os.PathLike[str], text: str, *, sidecar: bool = False) -> str:
    """`atomic_write_bytes` for UTF-8 text."""
    return atomic_write_bytes(path, text.encode("utf-8"), sidecar=sidecar)


def sha256_file(path: str | os.PathLike[str], chunk_size: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file, streamed."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_size):
            h.update(chunk)
    return h.hexdigest()


def verify_sidecar(path: str | os.PathLike[str]) -> bool:
    """True when `path` matches the digest in its `.sha256` sidecar.

    Raises AtomicWriteError when the sidecar is missing or malformed.
    """
    target = Path(path)
    side = target.with_name(target.name + SIDECAR_SUFFIX)
    try:
        recorded = side.read_text(encoding="utf-8").split()[0]
    except (OSError, IndexError) as exc:
        raise AtomicWriteError(2, f"no readable sha256 sidecar for {target}", str(side)) from exc
    if len(recorded) != 64:
        raise AtomicWriteError(22, f"malformed sha256 sidecar for {target}: {recorded!r}", str(side))
    return sha256_file(target) == recorded
