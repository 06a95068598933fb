"""CURVE keys and certificate files, compatible with pyzmq.

* :func:`curve_keypair` / :func:`curve_public` are pyzmq's ``zmq.curve_keypair`` /
  ``zmq.curve_public``: keys as 40-character Z85 ``bytes``.
* :func:`parse_curve_key` turns what users pass as a key (40 Z85 characters as
  ``str`` or ``bytes``, or 32 raw bytes) into 32 raw bytes.
* :func:`create_certificates`, :func:`load_certificate` and :func:`load_certificates`
  read and write the files of pyzmq's ``zmq.auth`` (czmq's ZPL certificate format):
  ``name.key`` holds the public key, ``name.key_secret`` both keys (and the
  metadata); the secret file is created with mode 0600.  Files written by either
  library load in the other.

PyNaCl (the ``curve`` extra) is imported on first use; without it the key
functions raise :class:`ImportError` naming ``pip install 'trinq[curve]'``.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import _z85

__all__ = [
    "create_certificates",
    "curve_keypair",
    "curve_public",
    "load_certificate",
    "load_certificates",
    "parse_curve_key",
]

_INSTALL_HINT = "CURVE keys need PyNaCl: pip install 'trinq[curve]'"

_SECRET_BANNER = """#   ****  Generated on {0} by trinq  ****
#   ZeroMQ CURVE **Secret** Certificate
#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.

"""

_PUBLIC_BANNER = """#   ****  Generated on {0} by trinq  ****
#   ZeroMQ CURVE Public Certificate
#   Exchange securely, or use a secure mechanism to verify the contents
#   of this file after exchange. Store public certificates in your home
#   directory, in the .curve subdirectory.

"""


def _bindings() -> Any:
    try:
        from nacl import bindings
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    return bindings


def curve_keypair() -> tuple[bytes, bytes]:
    """A new CURVE key pair ``(public, secret)``, each 40 Z85 characters as bytes.

    As pyzmq's ``zmq.curve_keypair()``.
    """
    public, secret = _bindings().crypto_box_keypair()
    return _z85.encode(public), _z85.encode(secret)


def curve_public(secret_key: str | bytes) -> bytes:
    """The Z85 public key of a secret key (40 Z85 characters, or 32 raw bytes).

    As pyzmq's ``zmq.curve_public()``.

    Raises:
        ValueError: *secret_key* is not a CURVE key.
    """
    secret = parse_curve_key(secret_key)
    bindings = _bindings()
    try:
        public: bytes = bindings.crypto_scalarmult_base(secret)
    except Exception:  # nacl.exceptions.RuntimeError: a degenerate (all-zero) key
        raise ValueError("invalid CURVE secret key") from None
    return _z85.encode(public)


def parse_curve_key(value: str | bytes | bytearray | memoryview) -> bytes:
    """A CURVE key as 32 raw bytes, from 40 Z85 characters (``str`` or bytes) or 32 raw
    bytes.  41 bytes ending in NUL (libzmq's C string) are accepted as Z85 too.

    Raises:
        ValueError: anything else (with the length received, or the bad character).
        TypeError: *value* is neither ``str`` nor bytes-like.
    """
    if isinstance(value, str):
        if len(value) != 40:
            raise ValueError(
                f"a CURVE key given as str must be 40 Z85 characters, got {len(value)}"
            )
        try:
            return _z85.decode(value)
        except ValueError as exc:
            raise ValueError(f"invalid Z85 CURVE key: {exc}") from None
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError(f"a CURVE key is str or bytes, not {type(value).__name__}")
    raw = bytes(value)
    if len(raw) == 32:
        return raw
    if len(raw) == 41 and raw[40] == 0:
        raw = raw[:40]
    if len(raw) == 40:
        try:
            return _z85.decode(raw)
        except ValueError as exc:
            raise ValueError(f"invalid Z85 CURVE key: {exc}") from None
    raise ValueError(f"a CURVE key is 32 raw bytes or 40 Z85 characters, got {len(raw)} bytes")


def _text(value: str | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _write_key_file(
    path: Path,
    banner: str,
    public_key: bytes,
    secret_key: bytes | None = None,
    metadata: Mapping[str | bytes, str | bytes] | None = None,
) -> None:
    lines = [banner.format(datetime.datetime.now()), "metadata\n"]
    for key, value in (metadata or {}).items():
        lines.append(f"    {_text(key)} = {_text(value)}\n")
    lines.append("curve\n")
    lines.append(f'    public-key = "{_text(public_key)}"\n')
    if secret_key:
        lines.append(f'    secret-key = "{_text(secret_key)}"\n')
    content = "".join(lines).encode("utf-8")
    if secret_key:
        # Never let the secret exist with wider permissions, even briefly.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, 0o600)  # an existing file keeps its mode on O_CREAT
            os.write(fd, content)
        finally:
            os.close(fd)
    else:
        path.write_bytes(content)


def create_certificates(
    key_dir: str | os.PathLike[str],
    name: str,
    metadata: Mapping[str | bytes, str | bytes] | None = None,
) -> tuple[str, str]:
    """Create ``name.key`` (public) and ``name.key_secret`` (mode 0600) in *key_dir*.

    As pyzmq's ``zmq.auth.create_certificates``; *metadata* goes into the secret
    file.  Returns the two paths ``(public_file, secret_file)``.
    """
    public, secret = curve_keypair()
    base = Path(key_dir) / name
    public_file = base.with_name(base.name + ".key")
    secret_file = base.with_name(base.name + ".key_secret")
    _write_key_file(public_file, _PUBLIC_BANNER, public)
    _write_key_file(secret_file, _SECRET_BANNER, public, secret, metadata)
    return str(public_file), str(secret_file)


def load_certificate(filename: str | os.PathLike[str]) -> tuple[bytes, bytes | None]:
    """Read a certificate: ``(public_key, secret_key)`` as Z85 bytes (secret ``None``
    in a public certificate).  As pyzmq's ``zmq.auth.load_certificate``.

    Raises:
        OSError: the file does not exist.
        ValueError: it holds no public key.
    """
    path = Path(filename)
    if not path.exists():
        raise OSError(f"Invalid certificate file: {filename}")
    public_key: bytes | None = None
    secret_key: bytes | None = None
    with path.open("rb") as f:
        for raw in f:
            line = raw.strip()
            if line.startswith(b"#"):
                continue
            name, sep, value = line.partition(b"=")
            if not sep:
                continue
            if name.startswith(b"public-key"):
                public_key = value.strip(b" \t'\"")
            elif name.startswith(b"secret-key"):
                secret_key = value.strip(b" \t'\"")
            if public_key and secret_key:
                break
    if public_key is None:
        raise ValueError(f"No public key found in {filename}")
    return public_key, secret_key


def load_certificates(directory: str | os.PathLike[str] = ".") -> dict[bytes, bool]:
    """The public keys of every ``*.key`` file in *directory*, as ``{key: True}``.

    As pyzmq's ``zmq.auth.load_certificates``.

    Raises:
        OSError: *directory* is not a directory.
    """
    path = Path(directory)
    if not path.is_dir():
        raise OSError(f"Invalid certificate directory: {directory}")
    certs: dict[bytes, bool] = {}
    for cert_file in sorted(path.glob("*.key")):
        public_key, _ = load_certificate(cert_file)
        if public_key:
            certs[public_key] = True
    return certs
