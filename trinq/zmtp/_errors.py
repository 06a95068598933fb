"""Exceptions raised by the sans-I/O ZMTP core.

Theory of operation
-------------------
Following h11, there are two kinds of protocol error:

* :class:`LocalProtocolError` -- *we* misused the API (sending a message
  before the handshake finished, sending after an error, ...).
* :class:`RemoteProtocolError` -- the *peer* broke the protocol (bad greeting,
  incompatible socket type, oversized frame, malformed command, an ERROR
  command received, ...).

Both derive from :class:`ProtocolError`, which carries a human readable
``reason`` and, where libzmq has one, the numeric ``ZMQ_PROTOCOL_ERROR_*``
code (``zmtp_code``) that libzmq would report in a
``HANDSHAKE_FAILED_PROTOCOL`` monitor event.  Once a :class:`Connection`
raises a :class:`RemoteProtocolError` it is in the ``ERROR`` state and keeps
raising the same error; libzmq's policy for protocol errors is "disconnect
and do not reconnect" (docs/interop.md §14).
"""

from __future__ import annotations

import enum

__all__ = ["LocalProtocolError", "ProtocolError", "ProtocolErrorCode", "RemoteProtocolError"]


class ProtocolErrorCode(enum.IntEnum):
    """libzmq's ``ZMQ_PROTOCOL_ERROR_*`` values (``zmq.h``), named as in pyzmq's
    ``zmq.Event`` without the ``PROTOCOL_ERROR_`` prefix.

    Read from pyzmq 27.3 / libzmq 4.3.5 and hard-coded so that this package needs no
    pyzmq. ``ProtocolError.zmtp_code`` holds one of the ``ZMTP_*`` ones; a
    ``HANDSHAKE_FAILED_PROTOCOL`` monitor event carries one as its value
    (``trinq.ProtocolErrorCode`` is this class). The ``ZMTP_*`` codes can also be
    spelled without that prefix (``UNSPECIFIED is ZMTP_UNSPECIFIED``): aliases, so
    iteration and ``len()`` see each code once, under its full name.
    """

    ZMTP_UNSPECIFIED = 0x10000000
    ZMTP_UNEXPECTED_COMMAND = 0x10000001
    ZMTP_INVALID_SEQUENCE = 0x10000002
    ZMTP_KEY_EXCHANGE = 0x10000003
    ZMTP_MALFORMED_COMMAND_UNSPECIFIED = 0x10000011
    ZMTP_MALFORMED_COMMAND_MESSAGE = 0x10000012
    ZMTP_MALFORMED_COMMAND_HELLO = 0x10000013
    ZMTP_MALFORMED_COMMAND_INITIATE = 0x10000014
    ZMTP_MALFORMED_COMMAND_ERROR = 0x10000015
    ZMTP_MALFORMED_COMMAND_READY = 0x10000016
    ZMTP_MALFORMED_COMMAND_WELCOME = 0x10000017
    ZMTP_INVALID_METADATA = 0x10000018
    ZMTP_CRYPTOGRAPHIC = 0x11000001
    ZMTP_MECHANISM_MISMATCH = 0x11000002
    ZAP_UNSPECIFIED = 0x20000000
    ZAP_MALFORMED_REPLY = 0x20000001
    ZAP_BAD_REQUEST_ID = 0x20000002
    ZAP_BAD_VERSION = 0x20000003
    ZAP_INVALID_STATUS_CODE = 0x20000004
    ZAP_INVALID_METADATA = 0x20000005
    WS_UNSPECIFIED = 0x30000000

    # Short aliases of the ZMTP codes, as the sans-I/O core spells them.
    UNSPECIFIED = ZMTP_UNSPECIFIED
    UNEXPECTED_COMMAND = ZMTP_UNEXPECTED_COMMAND
    INVALID_SEQUENCE = ZMTP_INVALID_SEQUENCE
    KEY_EXCHANGE = ZMTP_KEY_EXCHANGE
    MALFORMED_COMMAND_UNSPECIFIED = ZMTP_MALFORMED_COMMAND_UNSPECIFIED
    MALFORMED_COMMAND_MESSAGE = ZMTP_MALFORMED_COMMAND_MESSAGE
    MALFORMED_COMMAND_HELLO = ZMTP_MALFORMED_COMMAND_HELLO
    MALFORMED_COMMAND_INITIATE = ZMTP_MALFORMED_COMMAND_INITIATE
    MALFORMED_COMMAND_ERROR = ZMTP_MALFORMED_COMMAND_ERROR
    MALFORMED_COMMAND_READY = ZMTP_MALFORMED_COMMAND_READY
    MALFORMED_COMMAND_WELCOME = ZMTP_MALFORMED_COMMAND_WELCOME
    INVALID_METADATA = ZMTP_INVALID_METADATA
    CRYPTOGRAPHIC = ZMTP_CRYPTOGRAPHIC
    MECHANISM_MISMATCH = ZMTP_MECHANISM_MISMATCH


class ProtocolError(Exception):
    """Base class for every ZMTP protocol violation.

    Attributes:
        reason: human readable description.
        zmtp_code: the libzmq ``ZMQ_PROTOCOL_ERROR_*`` value that applies, or
            ``None``.
    """

    reason: str
    zmtp_code: int | None

    def __init__(self, reason: str, *, zmtp_code: int | None = None) -> None:
        if type(self) is ProtocolError:
            raise TypeError("tried to directly instantiate ProtocolError")
        super().__init__(reason)
        self.reason = reason
        self.zmtp_code = zmtp_code


class LocalProtocolError(ProtocolError):
    """We (the caller of the sans-I/O API) did something the protocol forbids."""


class RemoteProtocolError(ProtocolError):
    """The peer violated the protocol; the connection must be dropped.

    Attributes:
        peer_error: the reason carried by an ERROR command the peer sent, or
            ``None`` if the error was detected locally.
        emsgsize: ``True`` when a frame exceeded ``maxmsgsize`` (libzmq's
            EMSGSIZE).
        is_auth_failure: ``True`` for authentication / mechanism-level
            rejection (an ERROR command received during the handshake); the
            engine reports ``HANDSHAKE_FAILED_AUTH`` instead of
            ``HANDSHAKE_FAILED_PROTOCOL`` for these.
    """

    peer_error: bytes | None
    emsgsize: bool
    is_auth_failure: bool

    def __init__(
        self,
        reason: str,
        *,
        zmtp_code: int | None = None,
        peer_error: bytes | None = None,
        emsgsize: bool = False,
        is_auth_failure: bool = False,
    ) -> None:
        super().__init__(reason, zmtp_code=zmtp_code)
        self.peer_error = peer_error
        self.emsgsize = emsgsize
        self.is_auth_failure = is_auth_failure
