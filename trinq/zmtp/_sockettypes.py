"""The ZMTP socket-type table and libzmq's peer compatibility rules.

Theory of operation
-------------------
Socket types travel as ASCII names in the ``Socket-Type`` READY property.
:data:`SOCKET_TYPES` maps each name to libzmq's numeric ``ZMQ_*`` value
(all 21 types, draft types included).  :func:`is_compatible` encodes the
pairs accepted by libzmq's ``mechanism_t::check_socket_type`` (interop facts
§4); names are compared exactly, case-sensitively, as libzmq does.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from types import MappingProxyType

from ._errors import ProtocolErrorCode, RemoteProtocolError

__all__ = ["IDENTITY_SENDERS", "MAX_PARTS", "SOCKET_TYPES", "is_compatible", "peer_of"]

SOCKET_TYPES: Mapping[str, int] = MappingProxyType(
    {
        "PAIR": 0,
        "PUB": 1,
        "SUB": 2,
        "REQ": 3,
        "REP": 4,
        "DEALER": 5,
        "ROUTER": 6,
        "PULL": 7,
        "PUSH": 8,
        "XPUB": 9,
        "XSUB": 10,
        "STREAM": 11,
        "SERVER": 12,
        "CLIENT": 13,
        "RADIO": 14,
        "DISH": 15,
        "GATHER": 16,
        "SCATTER": 17,
        "DGRAM": 18,
        "PEER": 19,
        "CHANNEL": 20,
    }
)

#: Socket types whose READY carries an ``Identity`` property (libzmq
#: ``mechanism_t::add_basic_properties``).
IDENTITY_SENDERS: frozenset[str] = frozenset({"REQ", "DEALER", "ROUTER"})

#: The most frames a data message may have, for the socket types that limit it: the
#: thread-safe draft types (RFC 41, 48, 49, 51, 52) carry single-part messages; a DISH
#: receives each as a group frame (MORE) and a body frame (RFC 37, "The Radio-Dish
#: Pattern"). A longer message from a peer is a protocol error.
MAX_PARTS: Mapping[str, int] = MappingProxyType(
    {
        "CLIENT": 1,
        "SERVER": 1,
        "RADIO": 1,
        "DISH": 2,
        "SCATTER": 1,
        "GATHER": 1,
        "PEER": 1,
        "CHANNEL": 1,
    }
)

_COMPATIBLE: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "REQ": frozenset({"REP", "ROUTER"}),
        "REP": frozenset({"REQ", "DEALER"}),
        "DEALER": frozenset({"REP", "DEALER", "ROUTER"}),
        "ROUTER": frozenset({"REQ", "DEALER", "ROUTER"}),
        "PUB": frozenset({"SUB", "XSUB"}),
        "XPUB": frozenset({"SUB", "XSUB"}),
        "SUB": frozenset({"PUB", "XPUB"}),
        "XSUB": frozenset({"PUB", "XPUB"}),
        "PUSH": frozenset({"PULL"}),
        "PULL": frozenset({"PUSH"}),
        "PAIR": frozenset({"PAIR"}),
        "CLIENT": frozenset({"SERVER"}),
        "SERVER": frozenset({"CLIENT"}),
        "RADIO": frozenset({"DISH"}),
        "DISH": frozenset({"RADIO"}),
        "SCATTER": frozenset({"GATHER"}),
        "GATHER": frozenset({"SCATTER"}),
        "PEER": frozenset({"PEER"}),
        "CHANNEL": frozenset({"CHANNEL"}),
        "DGRAM": frozenset({"DGRAM"}),
    }
)


def is_compatible(ours: str, peer: str) -> bool:
    """Return whether a socket of type *ours* accepts a peer of type *peer*.

    Unknown names (and STREAM, which never speaks ZMTP) are compatible with
    nothing.
    """
    return peer in _COMPATIBLE.get(ours, frozenset())


def peer_of(ours: str, properties: Mapping[str, bytes], *, check: bool = True) -> tuple[str, bytes]:
    """The peer's socket type and ``Identity`` from its READY/INITIATE metadata
    (names compared case-insensitively; missing: ``""`` and ``b""``).

    Raises:
        RemoteProtocolError: with ``check``, a ``Socket-Type`` that *ours* does not
            accept (a missing one is accepted, as libzmq does).
    """
    socket_type: bytes | None = None
    identity = b""
    for key, value in properties.items():
        lowered = key.lower()
        if lowered == "socket-type":
            socket_type = value
        elif lowered == "identity":
            identity = value
    peer_type = "" if socket_type is None else sys.intern(socket_type.decode("ascii", "replace"))
    if check and socket_type is not None and not is_compatible(ours, peer_type):
        raise RemoteProtocolError(
            f"incompatible socket types: we are {ours}, peer is {peer_type!r}",
            zmtp_code=ProtocolErrorCode.UNSPECIFIED,
        )
    return peer_type, identity
