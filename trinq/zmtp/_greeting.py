"""The 64-octet ZMTP 3.x greeting: encoding and incremental version detection.

Theory of operation
-------------------
RFC 37 ("Version Negotiation")::

    greeting = signature version mechanism as-server filler
    signature = %xFF padding %x7F
    padding = 8OCTET        ; Not significant
    version = version-major version-minor
    mechanism = 20mechanism-char
    as-server = %x00 / %x01
    filler = 31%x00

We always send all 64 octets at once (libzmq sends its greeting in three
pieces, but accepts ours whole).  Our padding mirrors libzmq's: octets 1-8
hold the big-endian number 1 (an empty ZMTP 1.0 identity + 1).

Decoding is incremental so that legacy peers are detected as early as libzmq
detects them (docs/interop.md §1-2): octet 0 != 0xFF, or bit 0 of octet 9
clear, means ZMTP 1.0; once octet 10 (the major version) is in, 0 means 1.0
and 1 means 2.0.  trinq refuses both.  Major 3 with minor 0 is ZMTP 3.0; any
other major >= 2 (and 3 with minor >= 1) is 3.1.  Padding, as-server and
filler are never validated.
"""

from __future__ import annotations

import attrs

from ._errors import RemoteProtocolError

__all__ = ["GREETING_SIZE", "Greeting", "detect_greeting"]

GREETING_SIZE = 64
_SIGNATURE = b"\xff\x00\x00\x00\x00\x00\x00\x00\x01\x7f"


def _pad_mechanism(name: bytes) -> bytes:
    if len(name) > 20:
        raise ValueError(f"mechanism name {name!r} is longer than 20 octets")
    return name.ljust(20, b"\x00")


@attrs.frozen
class Greeting:
    """A decoded (or to-be-encoded) ZMTP 3.x greeting.

    Attributes:
        major: version-major octet (3 for everything trinq speaks).
        minor: version-minor octet.
        mechanism: the mechanism name with NUL padding stripped (``b"NULL"``).
        as_server: the as-server octet (libzmq always sends 0 and never
            reads it).
    """

    major: int = 3
    minor: int = 1
    mechanism: bytes = b"NULL"
    as_server: bool = False

    def encode(self) -> bytes:
        """Return the full 64-octet greeting."""
        return b"".join(
            [
                _SIGNATURE,
                bytes([self.major, self.minor]),
                _pad_mechanism(self.mechanism),
                b"\x01" if self.as_server else b"\x00",
                bytes(31),
            ]
        )

    @property
    def zmtp_minor(self) -> int:
        """The effective 3.x minor version: 0 for a 3.0 peer, otherwise 1."""
        return 0 if (self.major == 3 and self.minor == 0) else 1

    @classmethod
    def decode(cls, data: bytes) -> Greeting:
        """Decode a complete 64-octet greeting.

        Raises:
            RemoteProtocolError: for ZMTP 1.0/2.0 peers or a short buffer.
        """
        greeting = detect_greeting(data)
        if greeting is None:
            raise RemoteProtocolError(f"incomplete greeting: {len(data)} of {GREETING_SIZE} octets")
        return greeting


def detect_greeting(data: bytes | bytearray) -> Greeting | None:
    """Inspect the first octets of a peer's greeting.

    Returns the :class:`Greeting` once all 64 octets are present, ``None``
    if more data is needed.  Raises :class:`RemoteProtocolError` as soon as
    the available octets prove the peer speaks ZMTP 1.0 or 2.0.
    """
    n = len(data)
    if n >= 1 and data[0] != 0xFF:
        raise RemoteProtocolError("peer speaks ZMTP 1.0 (no 0xFF signature); trinq requires ZMTP 3")
    if n >= 10 and not data[9] & 1:
        raise RemoteProtocolError(
            "peer speaks ZMTP 1.0 (long identity frame instead of a greeting); "
            "trinq requires ZMTP 3"
        )
    if n >= 11:
        major = data[10]
        if major == 0:
            raise RemoteProtocolError("peer speaks ZMTP 1.0 (revision 0); trinq requires ZMTP 3")
        if major == 1:
            raise RemoteProtocolError(
                "peer speaks ZMTP 2.0 (revision 1, libzmq 3.x); trinq requires ZMTP 3"
            )
    if n < GREETING_SIZE:
        return None
    return Greeting(
        major=data[10],
        minor=data[11],
        mechanism=bytes(data[12:32]).rstrip(b"\x00"),
        as_server=bool(data[32]),
    )
