"""The operator's Ed25519 signing key: generation (`operator keygen`) and use with
best-effort zeroisation of the key bytes this process holds.

Zeroisation is best-effort by nature: the PEM bytes are read into a bytearray that
is overwritten after use, but OpenSSL keeps its own copy inside the key object
(freed with OPENSSL_cleanse when the object is collected) and Python may have
copied buffers we cannot reach.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gps_denied_onboard.components.c4_map_cache import public_key_id
from gps_denied_onboard.components.c10_provisioning.errors import OperatorKeyError

MAX_KEY_FILE_BYTES = 16 * 1024


def public_key_path(private_path: str | os.PathLike[str]) -> Path:
    """`operator_ed25519.pem` -> `operator_ed25519.pub.pem`."""
    p = Path(private_path)
    return p.with_name(p.name[:-4] + ".pub.pem" if p.name.endswith(".pem") else p.name + ".pub.pem")


def generate_operator_key(path: str | os.PathLike[str], *, overwrite: bool = False) -> tuple[Path, Path, str]:
    """Write a new private key (PKCS#8 PEM, mode 0600) and its public key.
    Returns (private path, public path, key id). Refuses to overwrite unless told."""
    priv_path = Path(path)
    pub_path = public_key_path(priv_path)
    if priv_path.exists() and not overwrite:
        raise OperatorKeyError(str(priv_path), "already exists (refusing to overwrite a signing key)")
    key = Ed25519PrivateKey.generate()
    pem = bytearray(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    try:
        priv_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = priv_path.with_name(f".{priv_path.name}.tmp-{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, pem)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, priv_path)
    except OSError as exc:
        raise OperatorKeyError(str(priv_path), f"cannot write: {exc.strerror}") from exc
    finally:
        pem[:] = b"\0" * len(pem)
    public = key.public_key()
    pub_path.write_bytes(public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return priv_path, pub_path, public_key_id(public)


@contextmanager
def operator_key(path: str | os.PathLike[str]) -> Iterator[Ed25519PrivateKey]:
    """Load the operator private key for the duration of a `with` block; the PEM bytes
    read from disk are overwritten with zeros on exit (best-effort, see module doc)."""
    p = Path(path)
    buf = bytearray(MAX_KEY_FILE_BYTES + 1)
    try:
        with open(p, "rb", buffering=0) as fh:
            n = fh.readinto(buf)
    except FileNotFoundError:
        raise OperatorKeyError(str(p), "not found (create one with `operator keygen`)") from None
    except OSError as exc:
        raise OperatorKeyError(str(p), f"cannot read: {exc.strerror}") from exc
    try:
        if n is None or n > MAX_KEY_FILE_BYTES:
            raise OperatorKeyError(str(p), f"larger than {MAX_KEY_FILE_BYTES} bytes: not a key file")
        view = memoryview(buf)[:n]
        try:
            key = serialization.load_pem_private_key(view, password=None)
        except (ValueError, TypeError) as exc:
            raise OperatorKeyError(str(p), f"not an unencrypted PEM private key: {exc}") from None
        finally:
            view.release()
        if not isinstance(key, Ed25519PrivateKey):
            raise OperatorKeyError(str(p), f"is a {type(key).__name__}, expected Ed25519")
        yield key
    finally:
        buf[:] = b"\0" * len(buf)


def operator_public_key(path: str | os.PathLike[str]) -> Ed25519PublicKey:
    """The public half of the operator key at `path`."""
    with operator_key(path) as key:
        return key.public_key()
