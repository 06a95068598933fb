"""ZWS 2.0 (RFC 45): ZeroMQ over WebSocket (RFC 6455), sans-I/O.

Theory of operation
-------------------
After the HTTP upgrade (done by the transport, which also picks the subprotocol),
every ZMTP frame travels as **one WebSocket binary message** whose first payload
octet holds the ZMTP flags (``0x01`` MORE, ``0x02`` COMMAND) and the rest the frame
body. There is no ZMTP greeting: the subprotocol names the mechanism.

* ``ZWS2.0/NULL`` (``/PLAIN``, ``/CURVE``): the mechanism's handshake commands
  (READY, ...) are command messages, then traffic; the same
  :class:`~trinq.zmtp.Mechanism` objects as ZMTP drive it.
* ``ZWS2.0`` (no mechanism, RFC 45 "No Mechanism", like ZMTP 2.0): each side first
  sends its routing id as one message, then traffic. The peer's socket type is
  unknown, so it is not checked.

What libzmq does, and so what this codec does (docs/interop.md §16):

* subscriptions are *messages* ``\\x01topic`` / ``\\x00topic`` (a PUB or XPUB also
  takes SUBSCRIBE/CANCEL commands);
* heartbeats are WebSocket ping and pong control frames, not ZMTP PING/PONG: a
  received ping is reported as :class:`~trinq.zmtp.Ping` (TTL 0, the ping's payload
  as context) and a pong as :class:`~trinq.zmtp.Pong`; :meth:`ZwsConnection.send_command`
  encodes ``Ping``/``Pong`` as ping/pong frames (a ZMTP PING *command* from a peer is
  answered with a ZMTP PONG command). A pong frame carries the ``Pong``'s whole context,
  so the pong answering a ping echoes its payload unchanged (0..125 octets, RFC 6455
  §5.5.3); a PONG command, as over ZMTP, at most 16 octets of it. So an engine's
  heartbeat logic is the same over ws as over ZMTP;
* a close frame ends the connection (:class:`~trinq.zmtp.ConnectionClosed`);
* a text message, a fragmented message (FIN clear, or a continuation frame), an
  empty binary message, reserved bits, a wrong mask bit (client frames are masked,
  server frames are not), an unknown opcode, or a frame -- or a multipart message,
  its frames summed, as in :class:`~trinq.zmtp.FrameDecoder` -- over ``maxmsgsize``
  is a protocol error.

Masking (RFC 6455 §5.3): a client masks every frame with a fresh random 32-bit key
(drawn from a pool refilled by ``os.urandom``). The XOR runs over the whole payload at
once: in C by ``websockets.speedups.apply_mask`` (the ``ws`` extra installs websockets;
about 0.2 µs per 4 KiB), or, without it, as Python ints (:func:`mask`; about 5 µs per
4 KiB, still far ahead of any per-byte loop). websockets is imported on first use, as
the transport imports wsproto, so ``import trinq`` does not pay for it.

The codec implements the engine's ``Codec`` protocol (``trinq/_codec.py``), with the
same fast path as :class:`~trinq.zmtp.Connection`: after a transparent handshake,
:meth:`ZwsConnection.events_into` hands each data message straight to ``put``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, cast

from ._commands import (
    command_body,
    error_body,
    parse_command,
    parse_error,
    ping_body,
    pong_body,
)
from ._connection import ConnectionState, _pub_factory, command_event
from ._errors import LocalProtocolError, ProtocolErrorCode, RemoteProtocolError
from ._events import (
    Cancel,
    ConnectionClosed,
    Error,
    HandshakeComplete,
    Join,
    Leave,
    Ping,
    Pong,
    Subscribe,
)
from ._frames import BytesLike, _as_frames
from ._mechanism import Mechanism, MechanismStatus, NullMechanism
from ._sockettypes import MAX_PARTS, SOCKET_TYPES, peer_of

#: The ws extra's C masker, ``websockets.speedups.apply_mask(data, key_octets)``, once
#: :func:`_load_masker` found it (None without websockets, or before the first use).
#: It beats the Python ints at every length from 1 octet (about 60 ns at 1..64 octets
#: against 120..200 ns; 0.2 against 5.3 µs at 4 KiB), so it masks every payload.
_apply_mask: Callable[[BytesLike, bytes], bytes] | None = None
_masker_loaded = False

#: From this payload length on, the server unmasks a client's data frame in place in
#: the receive buffer (a memoryview, the key rotated to start at the body); shorter
#: ones are unmasked whole -- flags octet and body, the key as sent -- and then split,
#: which costs fewer objects than rotating the key but one more copy of the body.
_UNMASK_VIEW_MIN = 8192

__all__ = [
    "BARE",
    "ZwsConnection",
    "mask",
    "mechanism_of",
    "offered_subprotocols",
    "select_subprotocol",
]

#: The subprotocol without a mechanism (RFC 45 "No Mechanism").
BARE = "ZWS2.0"
_PREFIX = "ZWS2.0/"

# ZMTP flags inside the first payload octet (RFC 45 "Framing").
_MORE = 0x01
_COMMAND = 0x02

# WebSocket opcodes (RFC 6455 §5.2), with FIN set.
_CONT = 0x0
_TEXT = 0x1
_BINARY = 0x2
_CLOSE = 0x8
_PING = 0x9
_PONG = 0xA
_FIN_BINARY = 0x80 | _BINARY

#: The close status we send when we refuse a peer (1002: protocol error).
_CLOSE_PROTOCOL_ERROR = 1002

_NO_LIMIT = 1 << 64
_WS = ProtocolErrorCode.WS_UNSPECIFIED

# Unmasked headers (server -> client) for bodies of 0..123 octets: opcode, payload
# length (body + the flags octet), the flags octet.
_LAST = tuple(bytes((_FIN_BINARY, n + 1, 0)) for n in range(124))
_MORE_HDR = tuple(bytes((_FIN_BINARY, n + 1, _MORE)) for n in range(124))
_CMD_HDR = tuple(bytes((_FIN_BINARY, n + 1, _COMMAND)) for n in range(124))
_HEADERS = (_LAST, _MORE_HDR, _CMD_HDR)  # by flags: 0, MORE, COMMAND
# Masked headers (client -> server) for bodies of 0..123 octets, without the key.
_MASKED_HDR = tuple(bytes((_FIN_BINARY, 0x80 | (n + 1))) for n in range(124))


def offered_subprotocols(mechanism: str) -> list[str]:
    """What a client offers for ``mechanism`` ("NULL", "PLAIN", "CURVE"), as libzmq:
    ``ZWS2.0/NULL`` then the bare ``ZWS2.0`` for NULL, else ``ZWS2.0/<MECHANISM>``."""
    if mechanism == "NULL":
        return [_PREFIX + "NULL", BARE]
    return [_PREFIX + mechanism]


def select_subprotocol(offered: Iterable[str], mechanism: str) -> str | None:
    """The server's choice among a client's ``offered`` subprotocols: the first one
    that fits ``mechanism`` (libzmq ``select_protocol``), or None."""
    for proto in offered:
        proto = proto.strip()
        if proto == _PREFIX + mechanism or (proto == BARE and mechanism == "NULL"):
            return proto
    return None


def mechanism_of(subprotocol: str) -> str | None:
    """The mechanism a ZWS subprotocol names (``"ZWS2.0/NULL"`` -> ``"NULL"``), None
    for the bare ``ZWS2.0``; ValueError for anything else."""
    if subprotocol == BARE:
        return None
    if subprotocol.startswith(_PREFIX) and len(subprotocol) > len(_PREFIX):
        return subprotocol[len(_PREFIX) :]
    raise ValueError(f"not a ZWS 2.0 subprotocol: {subprotocol!r}")


# --- masking -----------------------------------------------------------------------

# length -> (the int with a 1 at every 4th octet, all-ones of that length -- or 0 when
# the length is a multiple of 4: then ``key * spread`` has the right length already)
_SPREAD: dict[int, tuple[int, int]] = {}


#: Lengths up to this are cached (at most _SPREAD_ENTRIES of them: a few MiB at worst).
_SPREAD_MAX = 16 * 1024
_SPREAD_ENTRIES = 256


def _spread(n: int) -> tuple[int, int]:
    got = _SPREAD.get(n)
    if got is None:
        words = (n + 3) >> 2
        ones = (1 << (8 * n)) - 1 if n & 3 else 0
        got = (int.from_bytes(b"\x01\x00\x00\x00" * words, "little"), ones)
        if n <= _SPREAD_MAX:
            if len(_SPREAD) >= _SPREAD_ENTRIES:
                _SPREAD.clear()
            _SPREAD[n] = got
    return got


def _load_masker() -> None:
    """Import the C masker (the first :class:`ZwsConnection` or :func:`mask` does)."""
    global _apply_mask, _masker_loaded
    _masker_loaded = True
    try:
        from websockets.speedups import apply_mask
    except ImportError:  # pragma: no cover - websockets is in the ws and test extras
        return
    # (websockets < 16 types ``data`` as bytes only; its C code takes any bytes-like)
    _apply_mask = cast("Callable[[BytesLike, bytes], bytes]", apply_mask)


def mask(data: BytesLike, key: int) -> bytes:
    """``data`` XOR the 4-octet masking ``key`` repeated (RFC 6455 §5.3).

    ``key`` is the key's octets read as a little-endian int, so octet ``i`` of the
    payload is XORed with key octet ``i % 4``. Masking and unmasking are the same.
    """
    if not _masker_loaded:
        _load_masker()
    if _apply_mask is not None:
        return _apply_mask(data, key.to_bytes(4, "little"))
    return _mask_int(data, key)


def _mask_int(data: BytesLike, key: int) -> bytes:
    """:func:`mask` as Python ints (without the C masker)."""
    n = len(data)
    if not n:
        return b""
    spread, ones = _SPREAD.get(n) or _spread(n)
    x = int.from_bytes(data, "little") ^ (key * spread)
    return (x & ones if ones else x).to_bytes(n, "little")


def _mask_octets(data: BytesLike, key: bytes) -> bytes:
    """:func:`mask` with the key as its 4 octets in wire order (as the C masker takes
    it). Only for a :class:`ZwsConnection`, which loaded the masker."""
    if _apply_mask is not None:
        return _apply_mask(data, key)
    return _mask_int(data, int.from_bytes(key, "little"))


#: Masking keys drawn per pool refill (os.urandom), 5 octets each: see _key_pool().
_POOL_KEYS = 1024


def _key_pool() -> bytes:
    """Fresh masking keys, each as 5 octets ``k0 k1 k2 k3 k0``: the key (octets 0..3,
    as sent), then its first octet again. A data frame's payload is the flags octet
    then the body, so the body is masked from key octet 1 on: with the key ``k1 k2 k3
    k0`` (octets 1..4 of the record), and a flags octet 0 masked is ``k0`` (octet 4),
    so a frame's key and masked flags are octets 0..4, with no rotation."""
    rnd = os.urandom(4 * _POOL_KEYS)
    pool = bytearray(5 * _POOL_KEYS)
    for i in range(4):
        pool[i::5] = rnd[i::4]
    pool[4::5] = rnd[0::4]
    return bytes(pool)


def _length_header(opcode_fin: int, size: int, mask_bit: int) -> bytes:
    if size < 126:
        return bytes((opcode_fin, mask_bit | size))
    if size < 0x10000:
        return bytes((opcode_fin, mask_bit | 126)) + size.to_bytes(2, "big")
    return bytes((opcode_fin, mask_bit | 127)) + size.to_bytes(8, "big")


def _too_big(size: int, limit: int) -> RemoteProtocolError:
    return RemoteProtocolError(
        f"WebSocket message with a frame of {size} octets exceeds maxmsgsize {limit}",
        emsgsize=True,
        zmtp_code=_WS,
    )


def _message_too_big(size: int, limit: int) -> RemoteProtocolError:
    return RemoteProtocolError(
        f"multipart message of {size} octets exceeds maxmsgsize {limit}",
        emsgsize=True,
        zmtp_code=_WS,
    )


def _ws_error(reason: str) -> RemoteProtocolError:
    return RemoteProtocolError(reason, zmtp_code=_WS)


class ZwsConnection:
    """One ZWS 2.0 connection after the WebSocket upgrade; see the module docstring.

    Args:
        socket_type: our socket type name ("PUSH", ...).
        client: we made the WebSocket connection (we mask, the peer must not).
        subprotocol: the negotiated one (``"ZWS2.0/NULL"``, ``"ZWS2.0"``, ...).
        mechanism: the security mechanism the subprotocol names (None: a fresh
            :class:`~trinq.zmtp.NullMechanism`); ignored for the bare ``ZWS2.0``.
        identity: our routing id (READY's ``Identity``; the first message of the
            bare ``ZWS2.0``).
        metadata: extra READY properties.
        maxmsgsize: largest accepted frame body, and largest multipart message (the
            sum of its frames, as :class:`~trinq.zmtp.FrameDecoder`), -1: none.
        check_socket_type: refuse peers whose ``Socket-Type`` is incompatible.
        max_parts: most frames a data message may have (None: the socket type's).
        received: octets that arrived with the HTTP upgrade, before the codec existed.
    """

    #: heartbeats apply (as WebSocket ping/pong)
    heartbeats = True

    def __init__(
        self,
        socket_type: str,
        *,
        client: bool,
        subprotocol: str,
        mechanism: Mechanism | None = None,
        identity: bytes = b"",
        metadata: Mapping[str, bytes] | None = None,
        maxmsgsize: int = -1,
        check_socket_type: bool = True,
        max_parts: int | None = None,
        received: bytes = b"",
    ) -> None:
        if socket_type not in SOCKET_TYPES:
            raise ValueError(f"unknown socket type {socket_type!r}")
        if not _masker_loaded:
            _load_masker()
        self.socket_type = socket_type
        self.client = client
        self.subprotocol = subprotocol
        name = mechanism_of(subprotocol)
        self.bare = name is None
        if mechanism is None:
            mechanism = NullMechanism()
        if name is not None and mechanism.name.decode("ascii") != name:
            raise ValueError(
                f"subprotocol {subprotocol!r} does not name the "
                f"{mechanism.name.decode('ascii')} mechanism"
            )
        self.mechanism = mechanism
        mechanism.configure(socket_type, bytes(identity), dict(metadata or {}))
        self.identity = bytes(identity)
        self.check_socket_type = check_socket_type
        self.maxmsgsize = maxmsgsize
        self._limit = _NO_LIMIT if maxmsgsize < 0 else maxmsgsize
        if max_parts is None:
            max_parts = MAX_PARTS.get(socket_type, 0)
        self._max_more = max_parts - 1  # -1: any number of frames
        self._transparent = self.bare or mechanism.transparent
        self.state: ConnectionState = ConnectionState.HANDSHAKING
        #: Data messages handed to ``put`` by :meth:`events_into` so far.
        self.messages_put = 0
        self._factory: Callable[[list[bytes]], Any] | None = (
            _pub_factory if socket_type in ("PUB", "XPUB") else None
        )
        # what we expect of the peer's mask bit
        self._peer_mask = 0 if client else 0x80
        self._buf = bytes(received)
        self._pending: list[bytes] = []
        self._pending_len = 0
        self._need = 1
        self._parts: list[bytes] = []
        #: octets of the frames in ``_parts`` (counted only with a maxmsgsize)
        self._parts_size = 0
        self._error: RemoteProtocolError | None = None
        self._eof = False
        self._initiated = False
        self._out: list[bytes] = []
        self._can_send = False
        self._stalled: Any = None
        self._keys = b""
        self._key_pos = 0
        #: the last PING came as a ZMTP command (answer with a PONG command)
        self._ping_command = False
        self._handshake_event: HandshakeComplete | None = None

    # --- introspection -------------------------------------------------------------

    @property
    def handshake_complete(self) -> bool:
        return self._handshake_event is not None

    @property
    def wanted_bytes(self) -> int:
        """Octets still missing before the next frame can be decoded (0 if unknown)."""
        return max(0, self._need - len(self._buf) - self._pending_len)

    # --- outgoing: the handshake ---------------------------------------------------

    def initiate(self) -> bytes:
        """What we send first: our routing id (bare ``ZWS2.0``) or the mechanism's
        first handshake command(s)."""
        if self._initiated:
            raise LocalProtocolError("initiate() already called")
        self._initiated = True
        if self.bare:
            return self._frame(0, self.identity)
        self._pump_mechanism()
        out, self._out = self._out, []
        return b"".join(out)

    def data_to_send(self) -> bytes:
        """Handshake octets produced since the last call (``b""`` if none)."""
        if not self._initiated:
            return self.initiate()
        if self.state is ConnectionState.HANDSHAKING and not self.bare:
            try:
                self._pump_mechanism()
                self._maybe_complete()
            except RemoteProtocolError as exc:
                self._fail(exc)
        if not self._out:
            return b""
        out, self._out = self._out, []
        return b"".join(out)

    def refusal(self, reason: str) -> bytes:
        """An ERROR command then a close frame (1002), for a peer we refuse."""
        return self._frame(_COMMAND, error_body(reason.encode()[:255])) + self._control(
            _CLOSE, _CLOSE_PROTOCOL_ERROR.to_bytes(2, "big") + reason.encode()[:100]
        )

    def _pump_mechanism(self) -> None:
        mechanism = self.mechanism
        while True:
            body = mechanism.next_handshake_command()
            if body is None:
                return
            self._out.append(self._frame(_COMMAND, body))

    # --- incoming ----------------------------------------------------------------------

    def receive_data(self, data: BytesLike) -> None:
        """Buffer received octets; ``b""`` means the peer closed the stream."""
        if self._eof:
            if data:
                raise LocalProtocolError("received data after EOF")
            return
        if data:
            if type(data) is not bytes:
                data = bytes(data)
            self._pending.append(data)
            self._pending_len += len(data)
        else:
            self._eof = True

    def events(self) -> list[Any]:
        """Every event available now, data messages included (as tuples of frames,
        or :class:`~trinq.zmtp.Message`/``Subscribe``/``Cancel`` on a PUB or XPUB).
        An error found after some events is raised by the next call."""
        if self._error is not None:
            raise self._error
        out: list[Any] = []
        if self.state is ConnectionState.CLOSED:
            return out
        # (data messages go into ``out`` here: they are not counted in messages_put)
        put_before = self.messages_put
        try:
            if self.state is ConnectionState.HANDSHAKING:
                self._handshake(out)
            if self.state is ConnectionState.READY:
                factory = self._factory
                self._decode(out.append if factory is None else _Factoried(out, factory), out)
        except RemoteProtocolError as exc:
            self._fail(exc)
            if not out:
                raise
            return out
        finally:
            self.messages_put = put_before
        if self._eof and self.state in (ConnectionState.READY, ConnectionState.HANDSHAKING):
            out.append(ConnectionClosed())
            self.state = ConnectionState.CLOSED
        return out

    def events_into(self, put: Callable[[Any], object], data: bytes | None = None) -> list[Any]:
        """As :meth:`trinq.zmtp.Connection.events_into`: data messages go to ``put``
        (a refusal keeps the message for :meth:`take_stalled`), the other events are
        returned; decoding stops after the first of them. An empty list means more
        data is needed."""
        if self._stalled is not None:
            raise LocalProtocolError("take_stalled() the message put refused first")
        if data is not None:
            self.receive_data(data)
        if self.state is not ConnectionState.READY or self._factory is not None or self._eof:
            return self.events()
        out: list[Any] = []
        before = self.messages_put
        try:
            self._decode(put, out, stop=True)
        except RemoteProtocolError as exc:
            self._fail(exc)
            if not out and self.messages_put == before:
                raise
        return out

    def take_stalled(self) -> Any:
        """The message whose ``put`` raised in :meth:`events_into` (None if none)."""
        msg, self._stalled = self._stalled, None
        if msg is not None:
            self.messages_put += 1
        return msg

    def _fail(self, exc: RemoteProtocolError) -> None:
        self._error = exc
        self.state = ConnectionState.ERROR
        self._can_send = False

    def _take(self) -> bytes:
        """Everything buffered, as one bytes object."""
        pending = self._pending
        if pending:
            if self._buf:
                pending.insert(0, self._buf)
            self._buf = pending[0] if len(pending) == 1 else b"".join(pending)
            self._pending = []
            self._pending_len = 0
        return self._buf

    def _next_frame(self) -> tuple[int, int, bytes] | None:
        """One whole WebSocket frame as (opcode, flags, body) -- flags and body split
        for a binary frame, (opcode, 0, payload) for a control frame -- or None."""
        if len(self._buf) + self._pending_len < self._need:
            return None
        buf = self._take()
        n = len(buf)
        if n < 2:
            self._need = 2
            return None
        b0 = buf[0]
        b1 = buf[1]
        size = b1 & 0x7F
        hl = 2
        if size == 126:
            hl = 4
        elif size == 127:
            hl = 10
        masked = b1 & 0x80
        if masked:
            hl += 4
        if n < hl:
            self._need = hl
            return None
        if size == 126:
            size = (buf[2] << 8) | buf[3]
        elif size == 127:
            size = int.from_bytes(buf[2:10], "big")
        opcode = self._check_header(b0, b1, size)
        end = hl + size
        if end > n:
            self._need = end
            return None
        self._need = 1
        payload: bytes = buf[hl:end]
        if masked:
            payload = _mask_octets(payload, buf[hl - 4 : hl])
        self._buf = buf[end:]
        if opcode == _BINARY:
            return opcode, payload[0], payload[1:]
        return opcode, 0, payload

    def _check_header(self, b0: int, b1: int, size: int) -> int:
        """Validate a frame header (everything but the payload); return its opcode."""
        if b0 & 0x70:
            raise _ws_error("WebSocket frame with reserved bits set (no extension was agreed)")
        if (b1 & 0x80) != self._peer_mask:
            raise _ws_error(
                "unmasked WebSocket frame from a client"
                if self._peer_mask
                else "masked WebSocket frame from a server"
            )
        opcode = b0 & 0x0F
        fin = b0 & 0x80
        if opcode == _BINARY:
            if not fin:
                raise _ws_error("fragmented WebSocket message (ZWS: one frame per message)")
            if size == 0:
                raise _ws_error("empty WebSocket binary message (no ZWS flags octet)")
            if size - 1 > self._limit:
                raise _too_big(size - 1, self.maxmsgsize)
            return opcode
        if opcode in (_PING, _PONG, _CLOSE):
            if not fin or size > 125:
                raise _ws_error("malformed WebSocket control frame (fragmented or over 125 octets)")
            return opcode
        if opcode == _TEXT:
            raise _ws_error("WebSocket text message (ZWS carries binary messages only)")
        if opcode == _CONT:
            raise _ws_error("WebSocket continuation frame (ZWS: one frame per message)")
        raise _ws_error(f"unknown WebSocket opcode {opcode:#x}")

    def _handshake(self, out: list[Any]) -> None:
        while self.state is ConnectionState.HANDSHAKING:
            frame = self._next_frame()
            if frame is None:
                return
            opcode, flags, body = frame
            if opcode != _BINARY:
                if opcode == _CLOSE:
                    self.state = ConnectionState.CLOSED
                    out.append(ConnectionClosed())
                continue  # a ping before the handshake is done: nothing to answer yet
            if self.bare:
                if flags & (_COMMAND | _MORE):
                    raise _ws_error("ZWS2.0: the first message must be the peer's routing id")
                self._complete("", body, {})
                out.append(self._handshake_event)
                continue
            if not flags & _COMMAND:
                raise RemoteProtocolError(
                    "peer sent a message before the handshake completed",
                    zmtp_code=ProtocolErrorCode.UNEXPECTED_COMMAND,
                )
            name, data = parse_command(body)
            if name == b"ERROR":
                reason = parse_error(data)
                raise RemoteProtocolError(
                    f"peer rejected the handshake: {reason!r}",
                    peer_error=reason,
                    is_auth_failure=len(reason) == 3 and reason[:1] in b"345" and reason.isdigit(),
                )
            mechanism = self.mechanism
            mechanism.process_handshake_command(name, data)
            if mechanism.status is MechanismStatus.ERROR:
                raise RemoteProtocolError(
                    f"{mechanism.name.decode(errors='replace')} handshake failed",
                    zmtp_code=ProtocolErrorCode.UNSPECIFIED,
                )
            self._pump_mechanism()
            if self._maybe_complete():
                out.append(self._handshake_event)

    def _maybe_complete(self) -> bool:
        mechanism = self.mechanism
        if self.state is not ConnectionState.HANDSHAKING or mechanism.status is not (
            MechanismStatus.READY
        ):
            return False
        props = mechanism.peer_properties
        peer_type, identity = peer_of(self.socket_type, props, check=self.check_socket_type)
        self._complete(peer_type, identity, dict(props))
        return True

    def _complete(self, peer_type: str, identity: bytes, props: dict[str, bytes]) -> None:
        self.state = ConnectionState.READY
        self._can_send = True
        self._handshake_event = HandshakeComplete(
            peer_socket_type=peer_type,
            peer_identity=identity,
            peer_properties=props,
            peer_minor=1,
            mechanism="NULL" if self.bare else self.mechanism.name.decode("ascii"),
        )

    def _decode(self, put: Callable[[Any], object], out: list[Any], stop: bool = False) -> None:
        """Decode whole frames: each complete data message to ``put``, everything
        else appended to ``out`` (and, with ``stop``, decoding ends after it)."""
        if not self._transparent:
            self._decode_slow(put, out)
            return
        if len(self._buf) + self._pending_len < self._need:
            return
        buf = self._take()
        n = len(buf)
        pos = 0
        parts = self._parts
        parts_size = self._parts_size
        limit = self._limit
        max_more = self._max_more
        peer_mask = self._peer_mask
        msg: Any = None
        count = 0
        need = 1
        spreads = _SPREAD
        from_bytes = int.from_bytes
        apply = _apply_mask
        view_min = _UNMASK_VIEW_MIN
        try:
            while True:
                avail = n - pos
                if avail < 2:
                    need = 2
                    break
                b0 = buf[pos]
                b1 = buf[pos + 1]
                size = b1 & 0x7F
                if size < 126:
                    hl = 2
                elif size == 126:
                    if avail < 4:
                        need = 4
                        break
                    hl = 4
                    size = (buf[pos + 2] << 8) | buf[pos + 3]
                else:
                    if avail < 10:
                        need = 10
                        break
                    hl = 10
                    size = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                if b0 != _FIN_BINARY or (b1 & 0x80) != peer_mask or not size or size - 1 > limit:
                    opcode = self._check_header(b0, b1, size)
                else:
                    opcode = _BINARY
                if peer_mask:
                    hl += 4
                start = pos + hl
                end = start + size
                if end > n:
                    need = end - pos
                    break
                if peer_mask:
                    if opcode != _BINARY:
                        flags = 0
                        body = _mask_octets(buf[start:end], buf[start - 4 : start])
                    elif apply is not None:  # the C masker
                        if size < view_min:  # flags octet and body at once, then split
                            body = apply(buf[start:end], buf[start - 4 : start])
                            flags = body[0]
                            body = body[1:]
                        else:  # the body in place, the key rotated to start at it
                            flags = buf[start] ^ buf[start - 4]
                            body = apply(
                                memoryview(buf)[start + 1 : end],
                                buf[start - 3 : start] + buf[start - 4 : start - 3],
                            )
                    else:  # Python ints
                        key = from_bytes(buf[start - 4 : start], "little")
                        flags = buf[start] ^ (key & 0xFF)
                        size -= 1
                        if size:
                            sp = spreads.get(size) or _spread(size)
                            rot = (key >> 8) | ((key & 0xFF) << 24)  # from payload octet 1
                            x = from_bytes(buf[start + 1 : end], "little") ^ (rot * sp[0])
                            body = (x & sp[1] if sp[1] else x).to_bytes(size, "little")
                        else:
                            body = b""
                else:
                    if opcode == _BINARY:
                        flags = buf[start]
                        body = buf[start + 1 : end]
                    else:
                        flags = 0
                        body = buf[start:end]
                pos = end
                if opcode != _BINARY:
                    self._on_control(opcode, body, out)
                    if stop and out:
                        break
                    continue
                if flags & _COMMAND:
                    self._on_command(body, out)
                    if stop and out:
                        break
                    continue
                if flags & _MORE:
                    if max_more >= 0 and len(parts) >= max_more:
                        parts = []
                        raise RemoteProtocolError(
                            "a multipart message on a connection that carries "
                            + ("single-part" if max_more == 0 else f"at most {max_more + 1}-part")
                            + " messages",
                            zmtp_code=ProtocolErrorCode.UNSPECIFIED,
                        )
                    parts.append(body)
                    if limit != _NO_LIMIT:
                        parts_size += len(body)
                        if parts_size > limit:  # maxmsgsize bounds the message
                            parts = []
                            raise _message_too_big(parts_size, self.maxmsgsize)
                    continue
                if parts:
                    if limit != _NO_LIMIT:
                        parts_size += len(body)
                        if parts_size > limit:
                            parts = []
                            raise _message_too_big(parts_size, self.maxmsgsize)
                        parts_size = 0
                    parts.append(body)
                    msg = tuple(parts)
                    parts = []
                else:
                    msg = (body,)
                count += 1
                put(msg)
        except RemoteProtocolError:
            self._buf = buf[pos:]
            self._parts = parts
            self._parts_size = 0
            self._need = 1
            self.messages_put += count
            raise
        except BaseException:
            # put(msg) refused msg (a full pipe): it is consumed; keep it
            if msg is None:
                raise
            self._stalled = msg
            self._buf = buf[pos:]
            self._parts = parts
            self._parts_size = parts_size
            self._need = 1
            self.messages_put += count - 1
            raise
        self._buf = buf[pos:] if pos else buf
        self._parts = parts
        self._parts_size = parts_size
        self._need = need
        self.messages_put += count

    def _decode_slow(self, put: Callable[[Any], object], out: list[Any]) -> None:
        """Frames through the mechanism's ``decode`` (a non-transparent mechanism)."""
        decode = self.mechanism.decode
        while True:
            frame = self._next_frame()
            if frame is None:
                return
            opcode, flags, body = frame
            if opcode != _BINARY:
                self._on_control(opcode, body, out)
                continue
            flags, body = decode(flags, body)
            if flags & _COMMAND:
                self._on_command(body, out)
                continue
            if flags & _MORE:
                if self._max_more >= 0 and len(self._parts) >= self._max_more:
                    self._parts = []
                    raise RemoteProtocolError(
                        "a multipart message with too many frames for this socket type",
                        zmtp_code=ProtocolErrorCode.UNSPECIFIED,
                    )
            if self._parts or flags & _MORE:
                total = self._parts_size + len(body)
                if total > self._limit:  # maxmsgsize bounds the message
                    self._parts = []
                    self._parts_size = 0
                    raise _message_too_big(total, self.maxmsgsize)
                self._parts_size = total if flags & _MORE else 0
            self._parts.append(body)
            if flags & _MORE:
                continue
            msg = tuple(self._parts)
            self._parts = []
            try:
                put(msg)
            except BaseException:
                self._stalled = msg
                raise
            self.messages_put += 1

    def _on_control(self, opcode: int, payload: bytes, out: list[Any]) -> None:
        if opcode == _PING:
            self._ping_command = False
            out.append(Ping(0, payload))
        elif opcode == _PONG:
            out.append(Pong(payload))
        else:  # close
            self._eof = True
            self.state = ConnectionState.CLOSED
            out.append(ConnectionClosed())

    def _on_command(self, body: bytes, out: list[Any]) -> None:
        event = command_event(body)
        if event is not None:
            if type(event) is Ping:
                self._ping_command = True  # answer it with a PONG command, not a WS pong
            out.append(event)

    # --- outgoing: traffic ---------------------------------------------------------

    def _next_key(self) -> bytes:
        """A fresh masking key as 5 octets: the key, then its first octet again (see
        :func:`_key_pool`)."""
        pos = self._key_pos
        keys = self._keys
        if pos + 5 > len(keys):
            keys = self._keys = _key_pool()
            pos = 0
        self._key_pos = pos + 5
        return keys[pos : pos + 5]

    def _frame(self, flags: int, body: BytesLike) -> bytes:
        """One ZMTP frame as one WebSocket binary message."""
        parts: list[Any] = []
        self._append_frame(parts, flags, body)
        return b"".join(parts)

    def _append_frame(self, parts: list[Any], flags: int, body: BytesLike) -> None:
        n = len(body)
        if not self.client:
            if n < 124 and flags <= _COMMAND:
                parts.append(_HEADERS[flags][n])
            else:
                parts.append(_length_header(_FIN_BINARY, n + 1, 0) + bytes((flags,)))
            parts.append(body)
            return
        rec = self._next_key()  # the key, then the flags octet 0 masked
        hdr = _length_header(_FIN_BINARY, n + 1, 0x80)
        parts.append(hdr + rec if not flags else hdr + rec[:4] + bytes((flags ^ rec[0],)))
        if n:
            parts.append(_mask_octets(body, rec[1:]))  # the body: from key octet 1 on

    def _control(self, opcode: int, payload: bytes) -> bytes:
        payload = payload[:125]
        if not self.client:
            return bytes((0x80 | opcode, len(payload))) + payload
        kb = self._next_key()[:4]
        return bytes((0x80 | opcode, 0x80 | len(payload))) + kb + _mask_octets(payload, kb)

    def _check_send(self) -> None:
        if self.state is ConnectionState.ERROR:
            raise LocalProtocolError("can't send on a connection in the ERROR state")
        raise LocalProtocolError(f"can't send messages in state {self.state.name}")

    def send_message(self, frames: Sequence[BytesLike]) -> bytes:
        """The octets of one multipart message (after the handshake)."""
        if not self._can_send:
            self._check_send()
        if not frames:
            raise ValueError("a ZMTP message has at least one frame")
        if len(frames) == 1 and self._transparent:
            if self.client:
                return self.send_messages((frames,))
            body = frames[0]
            n = len(body)
            if n < 124:
                return _LAST[n] + body
        parts: list[Any] = []
        self._append_message(parts, frames)
        return b"".join(parts)

    def send_bodies(self, bodies: list[bytes]) -> bytes:
        """:meth:`send_messages` for single-frame messages given as their bodies."""
        return self.send_messages(_as_frames(bodies))

    def send_messages(self, messages: Iterable[Sequence[BytesLike]]) -> bytes:
        """The octets of many messages, joined once (writer batching)."""
        if not self._can_send:
            self._check_send()
        parts: list[Any] = []
        append = parts.append
        if not self._transparent:
            for frames in messages:
                self._append_message(parts, frames)
        elif not self.client:
            last = _LAST
            for frames in messages:
                if len(frames) == 1:
                    body = frames[0]
                    n = len(body)
                    if n < 124:
                        append(last[n])
                        append(body)
                        continue
                self._append_message(parts, frames)
        else:
            # Client: every frame masked with its own key (single-frame messages inline).
            spreads = _SPREAD
            from_bytes = int.from_bytes
            apply = _apply_mask
            masked_hdr = _MASKED_HDR
            for frames in messages:
                if len(frames) != 1:
                    self._append_message(parts, frames)
                    continue
                body = frames[0]
                n = len(body)
                pos = self._key_pos
                keys = self._keys
                if pos + 5 > len(keys):
                    keys = self._keys = _key_pool()
                    pos = 0
                self._key_pos = pos + 5
                append(masked_hdr[n] if n < 124 else _length_header(_FIN_BINARY, n + 1, 0x80))
                # the key, then the flags octet 0 masked (see _key_pool)
                append(keys[pos : pos + 5])
                if not n:
                    continue
                # the body is masked from key octet 1 on: with record octets 1..4
                if apply is not None:
                    append(apply(body, keys[pos + 1 : pos + 5]))
                else:
                    sp = spreads.get(n) or _spread(n)
                    x = from_bytes(body, "little") ^ (
                        from_bytes(keys[pos + 1 : pos + 5], "little") * sp[0]
                    )
                    append((x & sp[1] if sp[1] else x).to_bytes(n, "little"))
        return b"".join(parts)

    def _append_message(self, parts: list[Any], frames: Sequence[BytesLike]) -> None:
        if not frames:
            raise ValueError("a ZMTP message has at least one frame")
        last = len(frames) - 1
        if self._transparent:
            for i, frame in enumerate(frames):
                self._append_frame(parts, _MORE if i < last else 0, frame)
        else:
            encode = self.mechanism.encode
            for i, frame in enumerate(frames):
                flags, body = encode(_MORE if i < last else 0, bytes(frame))
                self._append_frame(parts, flags, body)

    def _command_frame(self, body: bytes) -> bytes:
        if self._transparent:
            return self._frame(_COMMAND, body)
        return self._frame(*self.mechanism.encode(_COMMAND, body))

    def send_command(self, cmd: Any) -> bytes:
        """The octets for a command: Subscribe/Cancel as ``\\x01``/``\\x00`` messages,
        Ping/Pong as WebSocket ping/pong frames with the whole context (a ZMTP PONG
        command, its context cut to 16 octets, when the peer's last PING was a
        command), Join/Leave/Error as command messages."""
        t = type(cmd)
        if t is Error:
            return self._frame(_COMMAND, error_body(cmd.reason))
        if not self._can_send:
            self._check_send()
        if t is Subscribe or t is Cancel:
            prefix = b"\x01" if t is Subscribe else b"\x00"
            return self.send_message([prefix + bytes(cmd.topic)])
        if t is Ping:
            if not 0 <= cmd.ttl <= 0xFFFF:
                raise LocalProtocolError(f"PING TTL {cmd.ttl} out of range 0..65535")
            return self._control(_PING, bytes(cmd.context))
        if t is Pong:
            if self._ping_command:
                return self._command_frame(pong_body(cmd.context))
            return self._control(_PONG, bytes(cmd.context))
        if t is Join or t is Leave:
            if len(cmd.group) > 255:
                raise LocalProtocolError("group names are at most 255 octets")
            name = b"JOIN" if t is Join else b"LEAVE"
            return self._command_frame(command_body(name, bytes(cmd.group)))
        raise TypeError(f"not a ZMTP command: {cmd!r}")

    def ping_command(self, ttl: int, context: bytes) -> bytes:
        """A ZMTP PING *command* message (not used toward libzmq, which expects
        WebSocket pings; for peers that follow RFC 45's command grammar)."""
        return self._command_frame(ping_body(ttl, context))


class _Factoried:
    """``put`` for PUB/XPUB: each message through the subscription factory."""

    __slots__ = ("_append", "_factory")

    def __init__(self, out: list[Any], factory: Callable[[list[bytes]], Any]) -> None:
        self._append = out.append
        self._factory = factory

    def __call__(self, msg: tuple[bytes, ...]) -> None:
        self._append(self._factory(list(msg)))
