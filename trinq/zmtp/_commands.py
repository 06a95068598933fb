"""ZMTP command and metadata codecs.

Theory of operation
-------------------
A command is a frame with the COMMAND flag whose body is::

    command-body = command-name command-data
    command-name = short-size 1*255command-name-char

The *body* helpers here (``*_body``) build ``command-body`` octets, which is
what a :class:`~trinq.zmtp.Mechanism` hands to the connection during the
handshake; :func:`encode_command` wraps a name and data into a whole frame.

Metadata (READY, INITIATE) is a sequence of properties::

    property = name value
    name = short-size 1*255name-char
    value = 4OCTET *OCTET     ; size in network order

Names are sent exactly as given (libzmq matches ``Socket-Type`` and
``Identity`` case-sensitively, docs/interop.md §3) and decoded as ASCII.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from typing import cast

from ._errors import (
    ProtocolErrorCode,
    RemoteProtocolError,
)
from ._frames import COMMAND, encode_frame

__all__ = [
    "command_body",
    "decode_metadata",
    "encode_command",
    "encode_metadata",
    "error_body",
    "parse_command",
    "parse_error",
    "parse_ping",
    "ping_body",
    "pong_body",
    "ready_body",
]


def command_body(name: bytes, data: bytes = b"") -> bytes:
    """Return ``command-body`` octets: the length-prefixed *name*, then *data*."""
    if not 0 < len(name) < 256:
        raise ValueError(f"bad command name {name!r}")
    return bytes((len(name),)) + name + data


def encode_command(name: bytes, data: bytes = b"") -> bytes:
    """Return a complete command frame (COMMAND flag, short or long form)."""
    return encode_frame(COMMAND, command_body(name, data))


def parse_command(body: bytes) -> tuple[bytes, bytes]:
    """Split a command frame body into ``(name, data)``.

    Raises:
        RemoteProtocolError: if the name is empty or truncated.
    """
    if not body or body[0] == 0 or len(body) < 1 + body[0]:
        raise RemoteProtocolError(
            f"malformed command frame {body[:32]!r}",
            zmtp_code=ProtocolErrorCode.MALFORMED_COMMAND_UNSPECIFIED,
        )
    end = 1 + body[0]
    return body[1:end], body[end:]


def encode_metadata(properties: Iterable[tuple[str | bytes, bytes]] | Mapping[str, bytes]) -> bytes:
    """Encode metadata properties (name, value) in order."""
    # The cast: pyright narrows an Iterable[tuple] that is a Mapping to Mapping[tuple, ...].
    items: Iterable[tuple[str | bytes, bytes]] = (
        cast("Mapping[str, bytes]", properties).items()
        if isinstance(properties, Mapping)
        else properties
    )
    out: list[bytes] = []
    for name, value in items:
        raw = name.encode("ascii") if isinstance(name, str) else bytes(name)
        if not 0 < len(raw) < 256:
            raise ValueError(f"bad metadata property name {name!r}")
        value = bytes(value)
        out.append(bytes((len(raw),)) + raw + len(value).to_bytes(4, "big") + value)
    return b"".join(out)


def decode_metadata(
    data: bytes, *, zmtp_code: int = ProtocolErrorCode.INVALID_METADATA
) -> dict[str, bytes]:
    """Decode metadata into a dict (names as received, ASCII).

    Raises:
        RemoteProtocolError: on truncated properties or non-ASCII names.
    """
    props: dict[str, bytes] = {}
    pos = 0
    n = len(data)
    while pos < n:
        name_len = data[pos]
        value_at = pos + 1 + name_len
        if name_len == 0 or value_at + 4 > n:
            raise RemoteProtocolError("malformed metadata property", zmtp_code=zmtp_code)
        try:
            name = sys.intern(data[pos + 1 : value_at].decode("ascii"))
        except UnicodeDecodeError:
            raise RemoteProtocolError(
                "non-ASCII metadata property name", zmtp_code=zmtp_code
            ) from None
        size = int.from_bytes(data[value_at : value_at + 4], "big")
        end = value_at + 4 + size
        if end > n:
            raise RemoteProtocolError(
                f"metadata property {name!r} value is truncated", zmtp_code=zmtp_code
            )
        props[name] = data[value_at + 4 : end]
        pos = end
    return props


def ready_body(properties: Iterable[tuple[str | bytes, bytes]] | Mapping[str, bytes]) -> bytes:
    """Return the body of a READY command carrying *properties*."""
    return command_body(b"READY", encode_metadata(properties))


def error_body(reason: bytes) -> bytes:
    """Return the body of an ERROR command (reason truncated to 255 octets)."""
    reason = bytes(reason[:255])
    return command_body(b"ERROR", bytes((len(reason),)) + reason)


def parse_error(data: bytes) -> bytes:
    """Return the reason carried by ERROR command *data*."""
    if not data or len(data) < 1 + data[0]:
        raise RemoteProtocolError(
            "malformed ERROR command", zmtp_code=ProtocolErrorCode.MALFORMED_COMMAND_ERROR
        )
    return data[1 : 1 + data[0]]


def ping_body(ttl: int, context: bytes) -> bytes:
    """Return the body of a PING command (TTL in deciseconds, 0..65535)."""
    return command_body(b"PING", ttl.to_bytes(2, "big") + context)


def parse_ping(data: bytes) -> tuple[int, bytes]:
    """Return ``(ttl, context)`` from PING command *data*."""
    if len(data) < 2:
        raise RemoteProtocolError(
            "malformed PING command",
            zmtp_code=ProtocolErrorCode.MALFORMED_COMMAND_UNSPECIFIED,
        )
    return int.from_bytes(data[:2], "big"), data[2:]


def pong_body(context: bytes) -> bytes:
    """Return the body of a PONG command (context truncated to 16 octets)."""
    return command_body(b"PONG", bytes(context[:16]))
