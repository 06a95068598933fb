"""Codecs: what an engine drives -- bytes in, events out; messages in, bytes out.

The engine (``trinq._engine``) is transport- and protocol-agnostic: it runs a
handshake, a reader, a writer and a heartbeat over a byte stream, and asks its codec
to turn bytes into events and messages into bytes. The codec is sans-I/O.

* :func:`zmtp_codec` -- ZMTP 3.x: the :class:`trinq.zmtp.Connection` state machine
  itself (no wrapper: the reader's per-read call is the connection's own
  ``events_into``). With the NULL mechanism its message bytes do not depend on the
  connection, so pipes of such connections share one encoding of a PUB fan-out
  (:data:`ZMTP_SHARED_ENCODER`).
* :class:`RawCodec` -- STREAM sockets: no greeting, no framing. Each read is one
  message ``(data,)``, each message's frames are written as they are; the start of
  the connection is an empty message (libzmq's "peer connected" notification).

A later ZWS codec (one WebSocket message per ZMTP frame, no greeting) and CURVE
boxing (inside the ZMTP mechanism) plug in here; docs/design.md, "How to add a
transport", says how.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

import trio

from . import _constants as C
from . import zmtp
from ._errors import ZMQError
from ._options import Options

__all__ = [
    "NOT_STALLED",
    "ZMTP_SHARED_ENCODER",
    "Codec",
    "RawCodec",
    "decode_into",
    "shared_encoder_for",
    "zmtp_codec",
]

#: How a NULL-mechanism ZMTP connection encodes a message (the same for every one).
ZMTP_SHARED_ENCODER: Callable[[Sequence[bytes]], bytes] = zmtp.encode_message


class Codec(Protocol):
    """What the engine needs of a codec (``trinq.zmtp.Connection`` provides it)."""

    #: ``zmtp.ConnectionState.ERROR`` once the peer broke the protocol
    state: zmtp.ConnectionState
    #: data messages handed to ``put`` by :meth:`events_into` so far
    messages_put: int
    #: the protocol has PING/PONG, so ``heartbeat_ivl`` applies (raw bytes: no)
    heartbeats: bool

    @property
    def wanted_bytes(self) -> int:
        """Octets needed to complete the frame being decoded (0 if unknown)."""
        ...

    def initiate(self) -> bytes:
        """What to send first (the greeting); may be empty."""
        ...

    def receive_data(self, data: bytes) -> None: ...

    def events(self) -> list[Any]:
        """Every complete event so far; raises ``zmtp.ProtocolError``."""
        ...

    def data_to_send(self) -> bytes:
        """Handshake bytes produced so far."""
        ...

    def events_into(self, put: Callable[[Any], object], data: bytes | None = None) -> list[Any]:
        """Decode ``data``; data messages go to ``put`` (which may raise
        ``trio.WouldBlock``: then :meth:`take_stalled` returns the refused one);
        returns the other events."""
        ...

    def take_stalled(self) -> Any: ...

    def send_message(self, frames: Sequence[bytes]) -> bytes: ...

    def send_messages(self, messages: Iterable[Sequence[bytes]]) -> bytes: ...

    def send_bodies(self, bodies: list[bytes]) -> bytes:
        """:meth:`send_messages` for single-frame messages given as their bodies
        alone (what a batched pipe queues for ``Socket.send``)."""
        ...

    def send_command(self, cmd: Any) -> bytes: ...

    def refusal(self, reason: str) -> bytes:
        """What to send to a peer we refuse after a protocol error of its own (a ZMTP
        ERROR command once the greeting passed), or ``b""``."""
        ...


#: :func:`decode_into`'s "nothing was refused"
NOT_STALLED: Any = object()


def decode_into(
    codec: Codec, put: Callable[[Any], object], data: bytes | None
) -> tuple[list[Any], Any]:
    """The inbound decode step, shared by the engine's reader and a read loan's
    borrower: decode ``data`` (``None``: what is buffered) with data messages going
    to ``put``; return ``(other events, the message put refused)`` -- the second is
    :data:`NOT_STALLED` unless the pipe was full (RCVHWM), in which case the caller
    queues it once there is room (the reader waits; a borrower hands it back) and
    decodes the rest with ``data=None``. Raises ``zmtp.ProtocolError``."""
    try:
        return codec.events_into(put, data), NOT_STALLED
    except trio.WouldBlock:
        return [], codec.take_stalled()


def mechanism_for(options: Options) -> zmtp.Mechanism | None:
    """The security mechanism ``options`` select (libzmq's rules, ``Options.set``):
    None for NULL (the connection's default), else a fresh PLAIN or CURVE client or
    server. Raises ``ValueError`` for keys that are missing or do not belong together,
    ``ImportError`` (naming ``pip install 'trinq[curve]'``) without PyNaCl;
    ``Socket.bind``/``connect`` call :func:`check_mechanism` first, so an engine never
    sees either."""
    mechanism = options.mechanism
    if mechanism == C.PLAIN:
        if options.plain_server:
            return zmtp.PlainServerMechanism()
        return zmtp.PlainClientMechanism(options.plain_username, options.plain_password)
    if mechanism == C.CURVE:
        if options.curve_server:
            return zmtp.CurveServerMechanism(
                options.curve_publickey or None, options.curve_secretkey
            )
        return zmtp.CurveClientMechanism(
            options.curve_publickey, options.curve_secretkey, options.curve_serverkey
        )
    return None


def check_mechanism(options: Options) -> None:
    """Raise ``ZMQError`` now if the security options cannot make a mechanism:
    EINVAL naming what is missing, ENOTSUP when PyNaCl is not installed (never a
    fall-back to NULL)."""
    mechanism = options.mechanism
    if mechanism == C.CURVE:
        if options.curve_server:
            if not options.curve_secretkey:
                raise ZMQError(C.EINVAL, "a CURVE server needs curve_secretkey")
        else:
            missing = [
                name
                for name in ("curve_serverkey", "curve_publickey", "curve_secretkey")
                if not getattr(options, name)
            ]
            if missing:
                raise ZMQError(
                    C.EINVAL, f"a CURVE client needs {', '.join(missing)} (see curve_keypair())"
                )
    try:
        mechanism_for(options)
    except ImportError as exc:
        raise ZMQError(C.ENOTSUP, str(exc)) from None
    except ValueError as exc:
        raise ZMQError(C.EINVAL, f"security options: {exc}") from None


def zmtp_codec(socket_type: str, options: Options) -> zmtp.Connection:
    """A ZMTP connection for a socket of ``socket_type`` with ``options``."""
    conn = zmtp.Connection(
        socket_type,
        mechanism=mechanism_for(options),
        identity=options.routing_id,
        maxmsgsize=options.maxmsgsize,
        raw_messages=True,
    )
    if socket_type == "RADIO":
        # A libzmq DISH takes a PING for a group frame and breaks (docs/interop.md §17):
        # a RADIO never heartbeats.
        conn.heartbeats = False
    return conn


def shared_encoder_for(options: Options) -> Callable[[Sequence[bytes]], bytes] | None:
    """The shared encoder of ZMTP pipes made with ``options``: NULL and PLAIN, whose
    frames travel as they are after the handshake; not CURVE, whose connections box
    every message with their own nonces."""
    return ZMTP_SHARED_ENCODER if options.mechanism in (C.NULL, C.PLAIN) else None


class RawCodec:
    """STREAM's codec: raw bytes; see the module docstring."""

    wanted_bytes = 0
    state = zmtp.ConnectionState.READY
    heartbeats = False  # a raw peer speaks no ZMTP: it would never answer a PING

    def __init__(self) -> None:
        self.messages_put = 0
        self._pending: list[Any] = [
            zmtp.HandshakeComplete(
                peer_socket_type="",
                peer_identity=b"",
                peer_properties={},
                peer_minor=1,
                mechanism="NULL",
            ),
            (b"",),  # "a peer connected", queued before anything it sends
        ]
        self._data: list[bytes] = []
        self._stalled: Any = None

    def initiate(self) -> bytes:
        return b""

    def receive_data(self, data: bytes) -> None:
        if data:
            self._pending.append((bytes(data),))

    def events(self) -> list[Any]:
        events, self._pending = self._pending, []
        return events

    def data_to_send(self) -> bytes:
        return b""

    def events_into(self, put: Callable[[Any], object], data: bytes | None = None) -> list[Any]:
        if data:
            msg = (bytes(data),)
            try:
                put(msg)
            except BaseException:
                self._stalled = msg
                raise
            self.messages_put += 1
        return []

    def take_stalled(self) -> Any:
        msg, self._stalled = self._stalled, None
        self.messages_put += 1
        return msg

    def send_message(self, frames: Sequence[bytes]) -> bytes:
        return b"".join(frames)

    def send_messages(self, messages: Iterable[Sequence[bytes]]) -> bytes:
        return b"".join(f for m in messages for f in m)

    def send_bodies(self, bodies: list[bytes]) -> bytes:
        return b"".join(bodies)

    def send_command(self, cmd: Any) -> bytes:
        return b""  # STREAM peers speak no ZMTP: commands have nowhere to go

    def refusal(self, reason: str) -> bytes:
        return b""
