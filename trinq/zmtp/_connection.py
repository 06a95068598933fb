"""The sans-I/O ZMTP 3.1 connection: bytes in, events out.

Theory of operation
-------------------
:class:`Connection` is shaped like h11's: it never touches a socket and
never waits.  The driver (trinq's engine, or a test) moves bytes:

* :meth:`Connection.initiate` returns our 64-octet greeting; send it at once
  (never wait for the peer's greeting first: libzmq withholds most of its own
  until it has seen our octet 10, docs/interop.md §1).
* :meth:`Connection.receive_data` only buffers (``b""`` means EOF).
* :meth:`Connection.next_event` returns one event or :data:`NEED_DATA`;
  :meth:`Connection.events` returns every available event as a list and is
  the fast path for a reader that handles one chunk at a time.
* :meth:`Connection.data_to_send` returns what the connection produced on its
  own during the handshake (READY, ...).  Call it after ``receive_data`` /
  ``events``.
* :meth:`Connection.send_message`, :meth:`Connection.send_messages` and
  :meth:`Connection.send_command` return the bytes to write.

State rules (the whole state machine lives in this table)::

    GREETING    --peer greeting accepted-------------->  HANDSHAKING
    HANDSHAKING --mechanism READY, socket type ok------->  READY   (emits HandshakeComplete)
    any         --EOF consumed------------------------->  CLOSED  (emits ConnectionClosed)
    any         --protocol violation by the peer------->  ERROR   (raises RemoteProtocolError)

Rule 1: events are delivered in wire order; :class:`HandshakeComplete` always
precedes the first :class:`Message`.  Rule 2: when an error is found after
some events were decoded, those events are returned first; ``state`` is
already ``ERROR`` and the *next* call raises.  A driver that calls
``events()`` until it returns an empty list (or checks ``state``) therefore
never misses an error.  Rule 3: in ``ERROR`` every receive call re-raises the
same :class:`RemoteProtocolError` and every send raises
:class:`LocalProtocolError`.

Once the handshake is done with a *transparent* mechanism (NULL), received
bytes go straight through :meth:`FrameDecoder.read_messages`; commands
(PING/PONG/SUBSCRIBE/CANCEL/JOIN/LEAVE) interrupt that loop briefly.  A driver
that queues messages anyway can skip the event list for data:
:meth:`Connection.events_into` hands each decoded message to a ``put`` callable
(a memory channel's ``send_nowait``, say) and returns only the events between.
Unknown post-handshake commands are silently dropped and a received ERROR
command raises (docs/interop.md §9).

With a non-transparent mechanism (CURVE) the decoder still splits the received
octets in one loop (every CURVE MESSAGE is one data frame), the mechanism decodes
each frame (:meth:`Mechanism.decode`), and messages are assembled here; writers
go through :meth:`Mechanism.encode_messages`, which CURVE implements as one
batched loop.  A server mechanism that asks ZAP pauses the handshake until the
driver answers (see "ZAP" in ``_mechanism.py``); a refusal it decides on its own
ends the connection with the error the mechanism recorded, after whatever ERROR
it queued, and :meth:`Connection.refusal` then adds nothing.

Subscriptions: a PUB or XPUB connection also decodes the legacy 3.0 form (a
single-frame message starting with ``\\x01``/``\\x00``) into
:class:`Subscribe`/:class:`Cancel`, since libzmq accepts both forms from any
peer (docs/interop.md §11).  Other socket types get such messages as plain
:class:`Message` events.  Toward a peer that announced minor version 0,
:meth:`Connection.send_command` encodes Subscribe/Cancel in the legacy form.
"""

from __future__ import annotations

import enum
import functools
import sys
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal

from ._commands import (
    command_body,
    error_body,
    parse_command,
    parse_error,
    parse_ping,
    ping_body,
    pong_body,
)
from ._errors import (
    LocalProtocolError,
    ProtocolErrorCode,
    RemoteProtocolError,
)
from ._events import (
    Cancel,
    ConnectionClosed,
    Error,
    Event,
    HandshakeComplete,
    Join,
    Leave,
    Message,
    Ping,
    Pong,
    Subscribe,
)
from ._frames import (
    COMMAND,
    MORE,
    BytesLike,
    FrameDecoder,
    Inbox,
    _as_frames,
    _too_many_parts,
    encode_bodies,
    encode_frame,
    encode_message,
    encode_messages,
)
from ._greeting import GREETING_SIZE, Greeting, detect_greeting
from ._mechanism import Mechanism, MechanismStatus, NullMechanism
from ._sockettypes import MAX_PARTS, SOCKET_TYPES, peer_of
from ._zap import AuthenticationFailure

__all__ = ["NEED_DATA", "Command", "Connection", "ConnectionState"]


class _NeedData(enum.Enum):
    """The type of the :data:`NEED_DATA` sentinel (an enum, so it can be a Literal)."""

    NEED_DATA = "NEED_DATA"

    def __repr__(self) -> str:
        return "NEED_DATA"


#: Returned by :meth:`Connection.next_event` when more bytes are needed.
NEED_DATA: Literal[_NeedData.NEED_DATA] = _NeedData.NEED_DATA

#: Anything :meth:`Connection.send_command` accepts.
Command = Subscribe | Cancel | Ping | Pong | Join | Leave | Error


class ConnectionState(enum.Enum):
    """Where a :class:`Connection` stands."""

    #: Waiting for (the rest of) the peer's greeting.
    GREETING = "GREETING"
    #: Greeting accepted; the mechanism handshake is running.
    HANDSHAKING = "HANDSHAKING"
    #: Handshake complete: messages and commands flow.
    READY = "READY"
    #: The peer closed the stream and every event was delivered.
    CLOSED = "CLOSED"
    #: The peer broke the protocol.
    ERROR = "ERROR"


def _is_zap_status(reason: bytes) -> bool:
    """Whether an ERROR reason is a bare ZAP status code: ``b"300"``, ``b"400"`` or
    ``b"500"`` (libzmq's ``handle_error_reason``)."""
    return len(reason) == 3 and reason[:1] in b"345" and reason[1:] == b"00"


def _pub_factory(frames: list[bytes]) -> Message | Subscribe | Cancel:
    if len(frames) == 1:
        frame = frames[0]
        if frame:
            first = frame[0]
            if first == 1:
                return Subscribe(frame[1:])
            if first == 0:
                return Cancel(frame[1:])
    return Message(frames)


_SIMPLE_COMMANDS: dict[bytes, Callable[[bytes], Event]] = {
    b"PONG": Pong,
    b"SUBSCRIBE": Subscribe,
    b"CANCEL": Cancel,
    b"JOIN": Join,
    b"LEAVE": Leave,
}


def command_event(body: bytes) -> Event | None:
    """The event of a post-handshake command (a ZMTP or ZWS connection's): None for
    one libzmq drops silently (any unknown name); a received ERROR raises."""
    name, data = parse_command(body)
    simple = _SIMPLE_COMMANDS.get(name)
    if simple is not None:
        return simple(data)
    if name == b"PING":
        ttl, context = parse_ping(data)
        return Ping(ttl, context)
    if name == b"ERROR":
        reason = parse_error(data)
        raise RemoteProtocolError(f"peer sent ERROR {reason!r}", peer_error=reason)
    return None


@functools.lru_cache(maxsize=16)
def _greeting_bytes(mechanism: bytes, as_server: bool) -> bytes:
    """Our 64-octet greeting (the same bytes for every connection of a kind)."""
    return Greeting(major=3, minor=1, mechanism=mechanism, as_server=as_server).encode()


class Connection:
    """One ZMTP 3.1 connection, seen from our side.

    Args:
        socket_type: our socket type name ("PUSH", "ROUTER", ...).
        mechanism: security mechanism; ``None`` means a fresh
            :class:`NullMechanism`.  It is configured with our socket type,
            identity and metadata via :meth:`Mechanism.configure`.
        identity: our ``Identity`` property, sent only by REQ, DEALER and
            ROUTER (libzmq's rule).
        metadata: extra READY properties (``X-...``).
        maxmsgsize: per-frame limit on the declared size (``-1``: none);
            applies to handshake commands too.
        check_socket_type: refuse peers whose ``Socket-Type`` is
            incompatible with ours (a missing property is accepted).
        max_parts: most frames a received data message may have (0: any); a longer
            one is a protocol error.  ``None`` (the default) means the socket
            type's limit, :data:`MAX_PARTS` (the draft types are single-part; a
            DISH receives a group frame and a body).
    """

    #: ZMTP 3.1 has PING/PONG heartbeats (the engine's codec contract)
    heartbeats = True

    def __init__(
        self,
        socket_type: str,
        *,
        mechanism: Mechanism | None = None,
        identity: bytes = b"",
        metadata: Mapping[str, bytes] | None = None,
        maxmsgsize: int = -1,
        check_socket_type: bool = True,
        raw_messages: bool = False,
        max_parts: int | None = None,
    ) -> None:
        if socket_type not in SOCKET_TYPES:
            raise ValueError(f"unknown socket type {socket_type!r}")
        self.socket_type = socket_type
        self.mechanism: Mechanism = NullMechanism() if mechanism is None else mechanism
        self.mechanism.configure(socket_type, bytes(identity), dict(metadata or {}))
        self.check_socket_type = check_socket_type
        self.state: ConnectionState = ConnectionState.GREETING
        self.peer_minor: int | None = None
        self.peer_socket_type: str | None = None
        self.peer_identity: bytes = b""
        self.peer_properties: dict[str, bytes] = {}
        if max_parts is None:
            max_parts = MAX_PARTS.get(socket_type, 0)
        self._decoder = FrameDecoder(maxmsgsize, max_parts)
        # Pending events. A list (56 B) where the mechanism is transparent (NULL, PLAIN:
        # an idle connection's footprint is the scale bar, docs/reliability.md); a
        # deque for CURVE, whose receive path queues and pops a read's worth here.
        # next_event() turns a long list into a deque (_pop_event).
        self._events: Any = [] if self.mechanism.transparent else deque()
        self._error: RemoteProtocolError | None = None
        self._eof = False
        self._initiated = False
        self._out: list[bytes] = []
        # The mechanism ended the handshake itself (a ZAP refusal): nothing more to say.
        self._refused = False
        # Data frames of a message being assembled (non-transparent mechanisms).
        self._rx_parts: list[bytes] = []
        # Wire messages split from the buffer but not decoded yet: what followed a
        # message that ``put`` refused on the run-decoding path (``_step_slow``).
        self._wire_rest: list[Any] = ()  # type: ignore[assignment]
        # _events_into_slow's functions for the put it was last given
        self._slow_hooks: tuple[Any, ...] | None = None
        self._fast_rx = False
        self._can_send = False
        self._transparent = self.mechanism.transparent
        #: Data messages handed to ``put`` by :meth:`events_into` so far.
        self.messages_put: int = 0
        self._inbox: Inbox | None = None
        # raw_messages: data messages come out of events() as plain tuples of
        # frames (not Message), saving an object per message on the engine's hot
        # path; tuples of bytes are untracked by the garbage collector, so deep
        # queues of received messages do not slow every collection down.
        self._factory: Callable[[list[bytes]], Any] | None = (
            _pub_factory if socket_type in ("PUB", "XPUB") else None if raw_messages else Message
        )
        self._greeting = _greeting_bytes(self.mechanism.name, self.mechanism.as_server)

    # ------------------------------------------------------------------
    # Introspection

    @property
    def handshake_complete(self) -> bool:
        """True once :class:`HandshakeComplete` has been produced."""
        return self.peer_minor is not None and self.mechanism.status is MechanismStatus.READY

    @property
    def maxmsgsize(self) -> int:
        """The per-frame size limit (-1: unlimited)."""
        return self._decoder.maxmsgsize

    # ------------------------------------------------------------------
    # Outgoing handshake bytes

    def initiate(self) -> bytes:
        """Return our full 64-octet greeting (call once, send immediately)."""
        if self._initiated:
            raise LocalProtocolError("greeting already produced")
        self._initiated = True
        return self._greeting

    def refusal(self, reason: str) -> bytes:
        """The ERROR command to send before closing a connection we refuse for the
        peer's fault, once the greeting has passed (ZMTP 3.1 allows ERROR during the
        handshake; it lets the peer stop instead of reconnecting), else ``b""``."""
        if self.peer_minor is None or self._refused:
            return b""
        return encode_frame(COMMAND, error_body(reason.encode()[:255]))

    def data_to_send(self) -> bytes:
        """Return (and clear) bytes produced by the handshake, ``b""`` if none.

        Includes the greeting if :meth:`initiate` was never called.  Also
        polls the mechanism, so a mechanism that was waiting on something
        external (a ZAP reply) can make progress.
        """
        if self.state is ConnectionState.HANDSHAKING:
            try:
                self._pump_mechanism()
                if self.mechanism.status is MechanismStatus.READY:
                    self._complete()
            except RemoteProtocolError as exc:
                self._fail(exc)
        out = self._out
        if not self._initiated:
            self._initiated = True
            out.insert(0, self._greeting)
        if not out:
            return b""
        self._out = []
        return b"".join(out)

    # ------------------------------------------------------------------
    # Receiving

    @property
    def wanted_bytes(self) -> int:
        """How many more octets the decoder needs to make progress (0 if unknown).

        Drivers can size their next read with it; see :attr:`FrameDecoder.wanted`.
        """
        return self._decoder.wanted

    def receive_data(self, data: BytesLike) -> None:
        """Buffer received octets; ``b""`` signals EOF.  Never parses."""
        if self._eof:
            if data:
                raise LocalProtocolError("received data after EOF")
            return
        if data:
            self._decoder.feed(data)
        else:
            self._eof = True
            self._fast_rx = False

    def next_event(self) -> Event | Literal[_NeedData.NEED_DATA]:
        """Return the next event, or :data:`NEED_DATA`.

        Raises:
            RemoteProtocolError: the peer broke the protocol (and again on
                every later call).
        """
        if self._events:
            return self._pop_event()
        if self._error is not None:
            raise self._error
        state = self.state
        if state is ConnectionState.CLOSED:
            return ConnectionClosed()
        self._process()
        if self._events:
            return self._pop_event()
        if self._error is not None:
            raise self._error
        return NEED_DATA

    def _pop_event(self) -> Event:
        events = self._events
        if type(events) is list:
            if len(events) <= 8:
                first: Event = events.pop(0)
                return first
            # a backlog taken one event at a time: O(1) pops from here on
            events = self._events = deque(events)
        event: Event = events.popleft()
        return event

    def events(self) -> list[Event]:
        """Return every event currently available, in order (maybe empty).

        If an error is detected after some events were decoded, those events
        are returned and the error is raised by the next call.
        """
        if self._fast_rx and not self._events:
            out: list[Any] = []
            append = out.append
            decoder = self._decoder
            factory = self._factory
            try:
                cmd = decoder.read_messages(append, factory)
                while cmd is not None:
                    self._on_command(cmd[1], out)
                    cmd = decoder.read_messages(append, factory)
            except RemoteProtocolError as exc:
                self._fail(exc)
                if not out:
                    raise
            return out
        result: list[Event] = []
        if self.state is ConnectionState.CLOSED and not self._events:
            return result
        try:
            while True:
                event = self.next_event()
                if event is NEED_DATA:
                    break
                result.append(event)
                if type(event) is ConnectionClosed:
                    break
        except RemoteProtocolError:
            if not result:
                raise
        return result

    def events_into(self, put: Callable[[Any], object], data: bytes | None = None) -> list[Event]:
        """Like :meth:`events`, but hand each data message to ``put`` as it is decoded.

        For drivers that queue messages anyway: this saves building, and walking,
        a list of them.  Messages are passed as tuples of frames (as with
        ``raw_messages=True``) and counted in :attr:`messages_put`.  Decoding stops
        after a command that produced events, so the events returned come after
        every message already put, in wire order; call again for the rest.  An
        empty list means more data is needed.  An error found after some messages
        were put is raised by the next call, as with :meth:`events`.

        If ``put`` raises, that message is consumed but kept: :meth:`take_stalled`
        returns it, and the exception propagates; take it before calling again.

        ``data``, if given, are octets just received: the same as calling
        :meth:`receive_data` first, but decoded in place when nothing else is
        buffered (a read that holds whole messages is then never copied into the
        buffer). Pass ``b""`` (end of stream) to :meth:`receive_data`, not here.
        Where the fast path does not apply (handshake, non-NULL mechanisms, errors,
        a connection not made with ``raw_messages=True``), this returns
        :meth:`events`, data messages included, and calls ``put`` for nothing.
        """
        decoder = self._decoder
        if decoder.stalled is not None:
            raise LocalProtocolError("take_stalled() the message put refused first")
        if not self._fast_rx or self._events or self._factory is not None:
            if (
                self.state is ConnectionState.READY
                and not self._transparent
                and self._factory is None
                and not self._eof
            ):
                return self._events_into_slow(put, data)
            if data is not None:
                self.receive_data(data)
            return self.events()
        out: list[Any] = []
        before = decoder.decoded
        inbox = self._inbox
        try:
            cmd = decoder.read_messages(put, None, data or None, inbox)
            while cmd is not None:
                self._on_command(cmd[1], out)
                if out:
                    break
                cmd = decoder.read_messages(put, None, None, inbox)
        except RemoteProtocolError as exc:
            self._fail(exc)
            if not out and decoder.decoded == before:
                raise
        finally:
            self.messages_put += decoder.decoded - before
        return out

    def _events_into_slow(self, put: Callable[[Any], object], data: bytes | None) -> list[Any]:
        """:meth:`events_into` for a non-transparent mechanism (CURVE) after the
        handshake: data messages go to ``put`` as they are decoded, up to the first
        command, which is returned with what follows it queued for the next call.
        (Without this a CURVE connection's messages came back as events, and a read
        loan handed reading back to the reader task for every message.)"""
        if data is not None:
            self.receive_data(data)
        hooks = self._slow_hooks
        if hooks is None or hooks[0] is not put:  # (made once per put, not per call)
            hooks = self._slow_hooks = self._make_slow_hooks(put)
        drain: Callable[[], list[Any]]
        _, counted, fast, drain, refused = hooks
        refused.clear()
        pending = self._events
        if pending:
            # what a refusal (a full RCVHWM) or a command left queued goes first; then,
            # if that is all, decoding goes on on the fast path (not the events() one)
            out = drain()
            if out or pending:
                return out
        try:
            self._step_slow(pending, counted, fast)
        except RemoteProtocolError as exc:
            self._fail(exc)  # what came before the error first; the next call raises
            if not pending and not refused:
                raise
        if refused:
            raise refused[0]
        return drain()

    def _make_slow_hooks(self, put: Callable[[Any], object]) -> tuple[Any, ...]:
        """The functions :meth:`_events_into_slow` hands ``put`` through, and the list
        that holds what ``put`` raised during one call."""
        pending = self._events
        refused: list[BaseException] = []
        decoder = self._decoder

        def counted(msg: Any) -> None:
            if refused:  # after a refusal, keep the rest in order for the next call
                pending.append(msg)
                return
            self.messages_put += 1
            try:
                put(msg)
            except BaseException as exc:
                decoder.stalled = msg  # take_stalled() returns it
                refused.append(exc)

        run = self.mechanism.decode_run

        max_more = decoder.max_parts - 1  # (-1: no limit)

        def fast(wire: list[Any]) -> int:
            """The mechanism's run decoder over ``wire``, while nothing is refused.
            Returns how many of ``wire`` it took; after a refusal, -1 - that (the rest
            stays undecoded)."""
            if refused or run is None:  # (run: never None here; for the type checker)
                return 0
            taken: int
            puts: int
            taken, puts, exc, msg, self._rx_parts = run(wire, put, self._rx_parts, max_more)
            self.messages_put += puts
            if exc is not None:
                decoder.stalled = msg
                refused.append(exc)
                return -1 - taken
            return taken

        def drain() -> list[Any]:
            """Put what is queued from earlier, up to the first command (returned)."""
            out: list[Any] = []
            while pending:
                item = pending.popleft()
                if type(item) is not tuple:
                    out.append(item)
                    break
                counted(item)
                if refused:
                    raise refused[0]
            return out

        return put, counted, fast if run is not None else None, drain, refused

    def set_inbox(self, inbox: Inbox | None) -> None:
        """Let :meth:`events_into` put runs of short single-frame messages straight
        into ``inbox`` (see :meth:`FrameDecoder.read_messages`) instead of calling
        ``put`` for each; ``inbox`` must be the queue that ``put`` appends to."""
        self._inbox = inbox

    def take_stalled(self) -> Any:
        """The message whose ``put`` raised in :meth:`events_into` (``None`` if none)."""
        msg = self._decoder.stalled
        self._decoder.stalled = None
        return msg

    def _fail(self, exc: RemoteProtocolError) -> None:
        self._error = exc
        self.state = ConnectionState.ERROR
        self._fast_rx = False
        self._can_send = False

    def _process(self) -> None:
        try:
            self._step()
        except RemoteProtocolError as exc:
            self._fail(exc)
            return
        if self._eof and self.state is not ConnectionState.ERROR:
            self._events.append(ConnectionClosed())
            self.state = ConnectionState.CLOSED

    def _step(self) -> None:
        decoder = self._decoder
        if self.state is ConnectionState.GREETING:
            greeting = detect_greeting(decoder.peek())
            if greeting is None:
                return
            decoder.skip(GREETING_SIZE)
            if greeting.mechanism != self.mechanism.name:
                raise RemoteProtocolError(
                    f"security mechanism mismatch: peer uses {greeting.mechanism!r}, "
                    f"we use {self.mechanism.name!r}",
                    zmtp_code=ProtocolErrorCode.MECHANISM_MISMATCH,
                )
            self.peer_minor = greeting.zmtp_minor
            self.state = ConnectionState.HANDSHAKING
            self._pump_mechanism()
        if self.state is ConnectionState.HANDSHAKING:
            mechanism = self.mechanism
            # Whatever the mechanism has to say first (a ZAP answer may have come in
            # since the last call); raises if it has failed on its own.
            self._pump_mechanism()
            while mechanism.status is not MechanismStatus.READY:
                frame = decoder.next_frame()
                if frame is None:
                    return
                flags, body = frame
                if not flags & COMMAND:
                    raise RemoteProtocolError(
                        "peer sent a message before the handshake completed",
                        zmtp_code=ProtocolErrorCode.UNEXPECTED_COMMAND,
                    )
                name, data = parse_command(mechanism.normalize_command(body))
                if name == b"ERROR":
                    reason = parse_error(data)
                    # As libzmq: a bare ZAP status code (300/400/500) is an
                    # authentication failure; any other reason is a protocol error.
                    if _is_zap_status(reason):
                        raise AuthenticationFailure(
                            f"peer rejected the handshake: {reason!r}",
                            status_code=int(reason),
                            peer_error=reason,
                        )
                    raise RemoteProtocolError(
                        f"peer rejected the handshake: {reason!r}", peer_error=reason
                    )
                mechanism.process_handshake_command(name, data)
                self._pump_mechanism()
            self._complete()
        if self.state is ConnectionState.READY:
            events = self._events
            if self._transparent:
                cmd = decoder.read_messages(events.append, self._factory)
                while cmd is not None:
                    self._on_command(cmd[1], events)
                    cmd = decoder.read_messages(events.append, self._factory)
            else:
                self._step_slow(events)

    def _step_slow(
        self,
        events: deque[Any],
        put: Callable[[Any], object] | None = None,
        fast: Callable[[list[Any]], int] | None = None,
    ) -> None:
        """Non-transparent mechanisms: the decoder splits frames in one tight loop
        (:meth:`FrameDecoder.read_messages`; a CURVE MESSAGE is one data frame), the
        mechanism decodes each, and messages are assembled here. With ``put``
        (:meth:`_events_into_slow`), data messages go to ``put`` until the first
        command; from there on everything is queued on ``events``, in order. ``fast``
        (with ``put``) decodes a leading run of plain data messages in one call and
        says how many of the wire messages it took."""
        decoder = self._decoder
        rest = self._wire_rest
        if rest:  # split earlier, not decoded yet: it comes first
            self._wire_rest = []
            if not self._decode_run(rest, events, put, fast):
                return
        wire: list[Any] = []
        while True:
            try:
                cmd = decoder.read_messages(wire.append, None)
            except RemoteProtocolError:
                self._decode_run(wire, events, put, fast)  # the frames before the bad one
                raise
            if wire:
                if not self._decode_run(wire, events, put, fast):
                    return  # put refused: the rest waits (in _wire_rest and the buffer)
                wire.clear()
            if cmd is None:
                return
            put = fast = None  # a wire-level command: what follows it is queued
            self._decode_wire([(cmd[1],)], events, cmd[0])

    def _decode_run(
        self,
        wire: list[Any],
        events: deque[Any],
        put: Callable[[Any], object] | None,
        fast: Callable[[list[Any]], int] | None,
    ) -> bool:
        """:meth:`_decode_wire`, after ``fast`` (if any) has taken what it can. False:
        ``put`` refused a message of the fast run, whose undecoded rest is kept in
        :attr:`_wire_rest` for the next call (so it is decoded once, when there is
        room, on the fast path)."""
        start = fast(wire) if fast is not None else 0
        if start < 0:
            self._wire_rest = wire[-1 - start :]
            return False
        if start < len(wire):
            self._decode_wire(wire[start:] if start else wire, events, 0, put)
        return True

    def _decode_wire(
        self,
        wire: list[Any],
        events: deque[Any],
        flags: int = 0,
        put: Callable[[Any], object] | None = None,
    ) -> None:
        """Decode runs of wire frames (tuples of bodies, one per outer message; CURVE's
        are single MESSAGE frames) through the mechanism and assemble messages (handed
        to ``put``, if given, until a command is seen; see :meth:`_step_slow`)."""
        decode = self.mechanism.decode
        factory = self._factory
        append = events.append if put is None else put
        parts = self._rx_parts
        max_more = self._decoder.max_parts - 1  # (-1: no limit)
        try:
            for outer in wire:
                last = len(outer) - 1
                i = 0
                for raw in outer:
                    fl, body = decode(MORE if i < last else flags, raw)
                    i += 1
                    if not fl and not parts:
                        append(factory([body]) if factory else (body,))
                    elif fl & COMMAND:
                        self._on_command(body, events)
                        append = events.append  # after a command, keep wire order
                    elif fl & MORE:
                        if max_more >= 0 and len(parts) >= max_more:
                            parts.clear()
                            raise _too_many_parts(max_more + 1)
                        parts.append(body)
                    else:
                        parts.append(body)
                        append(factory(parts) if factory else tuple(parts))
                        parts = self._rx_parts = []
        finally:
            self._rx_parts = parts

    def _pump_mechanism(self) -> None:
        mechanism = self.mechanism
        while True:
            body = mechanism.next_handshake_command()
            if body is None:
                break
            self._out.append(encode_frame(COMMAND, body))
        if mechanism.status is MechanismStatus.ERROR:
            # The mechanism ended the handshake on its own (a ZAP refusal or a bad ZAP
            # reply), having queued whatever it had to say (ERROR "400", or nothing).
            self._refused = mechanism.error is not None
            raise mechanism.error or RemoteProtocolError(
                f"{mechanism.name.decode(errors='replace')} handshake failed",
                zmtp_code=ProtocolErrorCode.UNSPECIFIED,
            )

    def _complete(self) -> None:
        if self.state is not ConnectionState.HANDSHAKING:
            return
        props = self.mechanism.peer_properties
        peer_type, identity = peer_of(self.socket_type, props, check=self.check_socket_type)
        self.peer_socket_type = peer_type
        self.peer_identity = identity
        props = dict(props)  # one copy, shared by the connection and its event
        self.peer_properties = props
        self.state = ConnectionState.READY
        self._can_send = True
        self._fast_rx = self._transparent and not self._eof
        assert self.peer_minor is not None
        self._events.append(
            HandshakeComplete(
                peer_socket_type=peer_type,
                peer_identity=identity,
                peer_properties=props,
                peer_minor=self.peer_minor,
                mechanism=sys.intern(self.mechanism.name.decode("ascii")),
            )
        )

    def _on_command(self, body: bytes, out: Any) -> None:
        event = command_event(body)
        if event is not None:
            out.append(event)

    # ------------------------------------------------------------------
    # Sending

    def _check_send(self) -> None:
        if not self._can_send:
            if self.state is ConnectionState.ERROR:
                raise LocalProtocolError("can't send on a connection in the ERROR state")
            raise LocalProtocolError(f"can't send messages in state {self.state.name}")

    def _encode_slow(self, frames: Sequence[BytesLike]) -> bytes:
        return self.mechanism.encode_message(frames)

    def send_message(self, frames: Sequence[BytesLike]) -> bytes:
        """Return the bytes for one multipart message (after the handshake).

        Raises:
            LocalProtocolError: the handshake is not complete, or the
                connection failed.
        """
        if not self._can_send:
            self._check_send()
        if self._transparent:
            return encode_message(frames)
        return self._encode_slow(frames)

    def send_messages(self, messages: Iterable[Sequence[BytesLike]]) -> bytes:
        """Return the bytes for many messages, joined once (writer batching)."""
        if not self._can_send:
            self._check_send()
        if self._transparent:
            return encode_messages(messages)
        return self.mechanism.encode_messages(messages)

    def send_bodies(self, bodies: list[bytes]) -> bytes:
        """:meth:`send_messages` for single-frame messages given as their bodies
        alone (a batched pipe's batch for ``Socket.send``)."""
        if not self._can_send:
            self._check_send()
        if self._transparent:
            return encode_bodies(bodies)
        return self.mechanism.encode_messages(_as_frames(bodies))

    def send_command(self, cmd: Command) -> bytes:
        """Return the bytes for a command.

        Subscribe/Cancel toward a ZMTP 3.0 peer (minor 0) use the legacy
        message form (``\\x01``/``\\x00`` + topic).  A Pong's context is
        truncated to 16 octets.  Error may be sent at any time; the others
        only after the handshake.
        """
        if type(cmd) is Error:
            body = error_body(cmd.reason)
            if not self._can_send or self._transparent:
                return encode_frame(COMMAND, body)
            return encode_frame(*self.mechanism.encode(COMMAND, body))
        self._check_send()
        if type(cmd) is Subscribe or type(cmd) is Cancel:
            prefix = b"\x01" if type(cmd) is Subscribe else b"\x00"
            if self.peer_minor == 0:
                return self.send_message([prefix + cmd.topic])
            name = b"SUBSCRIBE" if type(cmd) is Subscribe else b"CANCEL"
            body = command_body(name, bytes(cmd.topic))
        elif type(cmd) is Ping:
            if not 0 <= cmd.ttl <= 0xFFFF:
                raise LocalProtocolError(f"PING TTL {cmd.ttl} out of range 0..65535")
            body = ping_body(cmd.ttl, bytes(cmd.context))
        elif type(cmd) is Pong:
            body = pong_body(cmd.context)
        elif type(cmd) is Join or type(cmd) is Leave:
            if len(cmd.group) > 255:
                raise LocalProtocolError("group names are at most 255 octets")
            body = command_body(b"JOIN" if type(cmd) is Join else b"LEAVE", bytes(cmd.group))
        else:
            raise TypeError(f"not a ZMTP command: {cmd!r}")
        if self._transparent:
            return encode_frame(COMMAND, body)
        return encode_frame(*self.mechanism.encode(COMMAND, body))
