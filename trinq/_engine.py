"""One connection: handshake, then reader, writer and heartbeat tasks.

Theory of operation
-------------------
An :class:`Engine` drives one :class:`trinq.zmtp.Connection` over one trio
stream. It sends our greeting at once (never waiting for the peer's: libzmq
sends its own greeting in pieces and would deadlock otherwise), runs the
handshake under ``handshake_ivl``, attaches the connection to a
:class:`~trinq._pipe.Pipe`, and then runs three tasks in its own nursery:

reader
    ``receive_some`` (64 KiB) -> ``Connection.receive_data`` -> every complete
    event in the chunk. Messages go to the pipe's inbound channel with
    ``send_nowait``; only when RCVHWM is full does the reader ``await`` (and so
    stops reading: TCP pushes back on the peer). Waiting receivers are woken
    once per chunk, not once per message.
writer
    waits for the first queued message, then drains *everything* queued (up to
    a batch cap), encodes it into one buffer and makes one ``send_all``. It is
    the only task that *waits* on the stream for writing, and it is cancelled
    only when the connection is torn down (``send_all`` is not
    cancellation-atomic). While it is parked on an empty queue, a sender may
    write one message itself with a single non-blocking syscall
    (:meth:`Engine.try_write_now`); whatever the kernel does not take is handed
    to the writer, so the byte stream stays in order.
heartbeat
    only with ``heartbeat_ivl`` > 0 or after the peer sent a PING with a TTL:
    sends PINGs and enforces ``heartbeat_timeout`` / the peer's TTL.

Bounds (docs/reliability.md): data is bounded by the pipe's HWMs and the decoder's
``maxmsgsize``; commands bypass the HWM, so the engine bounds what peers can make it
queue: at most one owed PONG (the newest PING's context, as libzmq) and one owed
PING on :attr:`Engine.commands`; at most :data:`MAX_HANDSHAKE_BYTES` before the
handshake is done; and a reader that has handed :data:`MAX_COMMAND_BACKLOG` commands
to a pattern still holding what they made for the application (XPUB's subscription
messages) stops reading until the application has taken it.

Lending: on a request/reply socket whose only pipe this is, the reader, finding
the kernel empty while a receiver waits, lends reading to that receiver through
the connection's :class:`~trinq._loan.ReadLoan`, and sleeps until reading comes
back (docs/design.md, "Lending").

The engine talks to its socket only through the :class:`~trinq._core.SocketCore`
contract, and to the wire only through its codec (``trinq._codec``: ZMTP, or raw
bytes for STREAM); the heartbeat timers are the sans-I/O
:class:`~trinq._heartbeat.HeartbeatState`.

The first of these to finish decides the connection's :class:`Outcome`; the
others are cancelled, the stream is closed, and the dialer (if any) decides
whether to reconnect (libzmq's policy: yes after I/O errors and timeouts, no
after a protocol error).
"""

from __future__ import annotations

import enum
import errno
import math
import os
from collections.abc import Callable, Sequence
from typing import Any

import trio
from trio.lowlevel import enable_ki_protection, wait_readable

from . import zmtp
from ._codec import NOT_STALLED, Codec, decode_into
from ._core import PeerInfo, SocketCore
from ._heartbeat import HeartbeatAction, HeartbeatState, pong_context
from ._io import LeanSocketStream, recv_or_none
from ._loan import (  # (the read sizes: one rule for the reader and a lending receiver)
    RECEIVE_SIZE,
    ReadLoan,
    next_read_size,
    read_request,
)
from ._monitor import Event
from ._pipe import BODY_MAX, WAKE, Batch, Encoded, Pipe

__all__ = ["Engine", "Outcome"]

#: How long (seconds) we try to write an ERROR command to a peer we refuse.
ERROR_SEND_TIMEOUT = 1.0
#: Most messages one writer batch takes before it writes.
WRITE_BATCH_MESSAGES = 4096
#: Most payload bytes one writer batch takes before it writes.
WRITE_BATCH_BYTES = 256 * 1024
#: A writer batch of at most this many encoded parts and WRITE_BATCH_BYTES or more is
#: written part by part instead of joined first (large messages: no second copy)
JOIN_PARTS_MAX = 8
#: Most octets the reader reads without yielding while its pipe holds messages the
#: application has not taken (one read of RECEIVE_SIZE): past it, it lets the
#: application run before it reads more, so against a fast peer the inbound queue
#: stays near a read's worth instead of filling to RCVHWM first.
READER_LEAD = RECEIVE_SIZE
#: Most octets a peer may send before its handshake is complete (the greeting and the
#: handshake commands; a READY is a few hundred octets). Without ``maxmsgsize`` a
#: peer could otherwise make the handshake buffer grow for all of ``handshake_ivl``.
MAX_HANDSHAKE_BYTES = 1024 * 1024
#: Most commands one connection hands to its pattern while the pattern holds
#: something of its own for the application (an XPUB's subscription messages,
#: ``Pattern.poll_state``); past it the reader stops until the application has taken
#: it all, so TCP pushes back on the peer. Not applied with ``rcvhwm = 0``.
MAX_COMMAND_BACKLOG = 10_000
#: How long (seconds) a reader stopped by :data:`MAX_COMMAND_BACKLOG` first waits
#: before it looks again; it doubles up to :data:`COMMAND_BACKLOG_MAX_WAIT`.
COMMAND_BACKLOG_FIRST_WAIT = 0.001
COMMAND_BACKLOG_MAX_WAIT = 0.05


class _Owed:
    """A placeholder on :attr:`Engine.commands` for the one PONG (or PING) the
    connection owes; the writer encodes it with its newest content."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<owed {self.name}>"


_OWED_PONG: Any = _Owed("PONG")
_OWED_PING: Any = _Owed("PING")


class Outcome(enum.Enum):
    """How a connection ended; the dialer reconnects unless it is PROTOCOL_ERROR."""

    CLOSED = "closed"  # EOF, I/O error, or we closed it (linger done)
    HANDSHAKE_TIMEOUT = "handshake timeout"
    HEARTBEAT_TIMEOUT = "heartbeat timeout"
    PROTOCOL_ERROR = "protocol error"
    REFUSED = "refused"  # the pattern refused the peer (PAIR's second peer)


class Engine:
    """Drives one connection for a socket (through ``core``); see the module docstring."""

    # (slots: an idle connection's footprint is the scale bar, docs/reliability.md)
    __slots__ = (
        "_commands_in",
        "_handshake_event",
        "_hb",
        "_hb_scope",
        "_hb_started",
        "_loan_put",
        "_nursery",
        "_owns_pipe",
        "_ping_owed",
        "_pong_context",
        "_raw_send",
        "_reading_blocked",
        "codec",
        "commands",
        "connect_routing_id",
        "core",
        "endpoint",
        "handshake_done",
        "loan",
        "outcome",
        "peer_address",
        "pipe",
        "reason",
        "shared_encoder",
        "stream",
        "traffic",
        "writer_idle",
    )

    def __init__(
        self,
        core: SocketCore,
        stream: trio.abc.Stream,
        codec: Codec,
        endpoint: str,
        pipe: Pipe | None,
        peer_address: str = "",
        *,
        connect_routing_id: bytes = b"",
        shared_encoder: Callable[[Sequence[bytes]], bytes] | None = None,
    ) -> None:
        self.core = core
        self.stream = stream
        self.codec = codec
        self.endpoint = endpoint
        self.pipe = pipe
        self.peer_address = peer_address
        #: how this connection encodes a message that other pipes may share
        self.shared_encoder = shared_encoder
        #: commands for the writer, in order (never more than one owed PONG and one
        #: owed PING among them: ``_OWED_PONG``/``_OWED_PING`` placeholders)
        self.commands: list[Any] = []  # (not a deque: 56 bytes idle, not 760)
        #: the context of the PONG we owe (the newest PING's), None: none owed
        self._pong_context: bytes | None = None
        self._ping_owed = False
        #: commands handed to the pattern since it last held nothing of its own
        self._commands_in = 0
        #: routing id given by ``connect_routing_id`` for a pipe made at handshake
        self.connect_routing_id = connect_routing_id
        self.outcome = Outcome.CLOSED
        self.reason: str | None = None
        self.handshake_done = False
        self._handshake_event: zmtp.HandshakeComplete | None = None
        #: the writer is parked on an empty queue (see try_write_now)
        self.writer_idle = False
        self._raw_send = stream.socket if isinstance(stream, LeanSocketStream) else None
        #: reads so far (the heartbeat counts them as traffic; the loan adds its own)
        self.traffic = 0
        self._reading_blocked = False
        self._owns_pipe = False
        self._nursery: trio.Nursery | None = None
        self._hb: HeartbeatState | None = None
        self._hb_scope: trio.CancelScope | None = None
        self._hb_started = False
        #: the read loan, on a connection whose reader may lend (trinq._loan)
        self.loan: ReadLoan | None = None

    # --- the Carrier side (what the pipe calls) ----------------------------------------

    def send_command(self, command: Any) -> None:
        """Queue a ZMTP command for the writer (never blocks, bypasses the HWM)."""
        commands = self.commands
        commands.append(command)
        self.writer_idle = False
        pipe = self.pipe
        if pipe is not None and len(commands) == 1:
            # One WAKE per batch of commands: the writer takes every queued command
            # whenever it wakes, and it looks at ``commands`` before it waits.
            try:
                pipe._out_send.send_nowait(WAKE)
            except (trio.WouldBlock, trio.ClosedResourceError, trio.BrokenResourceError):
                pass  # the writer is busy (or draining) and will see the command

    def _owe_pong(self, ping_context: bytes) -> None:
        """Answer a PING: at most one PONG is ever owed, carrying the newest PING's
        context (libzmq keeps one pending PONG per connection). A peer that PINGs and
        never reads therefore cannot make the command queue grow. The context is kept
        whole up to a WebSocket pong's 125 octets (:func:`pong_context`); the codec
        cuts it to 16 for a ZMTP PONG command."""
        owed = self._pong_context is not None
        self._pong_context = pong_context(ping_context)
        if not owed:
            self.send_command(_OWED_PONG)

    def _owe_ping(self) -> None:
        """Our heartbeat PING; one not yet written is not queued twice."""
        if not self._ping_owed:
            self._ping_owed = True
            self.send_command(_OWED_PING)

    def _encode_commands(self) -> list[bytes]:
        """Every queued command as wire bytes, in order; empties the queue."""
        encode = self.codec.send_command
        parts: list[bytes] = []
        for c in self.commands:
            if c is _OWED_PONG:
                c = zmtp.Pong(self._pong_context or b"")
                self._pong_context = None
            elif c is _OWED_PING:
                assert self._hb is not None
                c = zmtp.Ping(self._hb.ping_ttl, b"")
                self._ping_owed = False
            parts.append(encode(c))
        self.commands.clear()
        return parts

    def try_write_now(self, msg: Any) -> bool:
        """Write ``msg`` on the caller's stack if that is cheaper than waking the writer.

        Only while the writer is parked with nothing queued (so order is kept), and
        only when the socket has waited or yielded since its previous send -- the
        request/reply rhythm, where waking a writer task costs a scheduler pass per
        message. A tight send loop keeps going through the queue, so the writer
        still batches. A partial write hands the rest to the writer. Never blocks,
        never raises: ``False`` means "queue it as usual".
        """
        core = self.core
        if not (self.writer_idle and core.direct_ok) or self.commands:
            return False
        raw_send = self._raw_send
        if raw_send is None:
            return False
        data = msg if type(msg) is Encoded else self.codec.send_message(msg)
        try:
            n = raw_send.send(data)
        except OSError:
            return False  # EAGAIN, or a broken connection the reader/writer will see
        core.direct_ok = False
        if n < len(data):
            self.writer_idle = False
            assert self.pipe is not None
            self.pipe._out_send.send_nowait(Encoded(data[n:]))  # type: ignore[arg-type]
        counters = core.counters
        counters.messages_out += 1
        counters.bytes_out += n
        return True

    # --- lifecycle -----------------------------------------------------------------

    @enable_ki_protection
    async def run(self) -> Outcome:
        """Run the connection to its end and return how it ended.

        Never raises for connection-level problems (they become the outcome and a
        monitor event); a cancellation closes the stream and propagates.
        """
        core = self.core
        try:
            events = await self._handshake()
            if events is None:
                return self.outcome
            pipe = self._connect()
            if pipe is None:
                return self.outcome
            self._emit(Event.HANDSHAKE_SUCCEEDED, 0)
            if core.options.heartbeat_ivl > 0:
                self._hb = self._new_hb()  # else made by the first PING with a TTL
            try:
                async with trio.open_nursery() as nursery:
                    self._nursery = nursery
                    nursery.start_soon(self._writer, name=_WRITER_TASK)
                    if self._hb is not None and self._hb.active and self.codec.heartbeats:
                        self._start_heartbeat()
                    # The reader runs in this task (one task fewer per connection):
                    # it returns after _finish(), which cancels the writer.
                    await self._reader(events)
            finally:
                self._nursery = None
                core.disconnect_peer(
                    pipe,
                    self,
                    end_pipe=self._owns_pipe or self.outcome is Outcome.PROTOCOL_ERROR,
                )
                self._emit(Event.DISCONNECTED, 0, self.reason)
            return self.outcome
        finally:
            if self.loan is not None:
                self.loan.close()
            with trio.CancelScope(shield=True):
                await trio.aclose_forcefully(self.stream)

    def _new_hb(self) -> HeartbeatState:
        opts = self.core.options
        return HeartbeatState(
            ivl_ms=opts.heartbeat_ivl,
            timeout_ms=opts.heartbeat_timeout,
            ttl_ms=opts.heartbeat_ttl,
            now=trio.current_time(),
        )

    def _emit(self, event: Event, value: int, reason: str | None = None) -> None:
        """A monitor event about this connection (endpoint and peer address filled in)."""
        self.core.emit(event, value, self.endpoint, reason, self.peer_address or None)

    def _finish(self, outcome: Outcome, reason: str | None = None) -> None:
        if self._nursery is not None and not self._nursery.cancel_scope.cancel_called:
            self.outcome = outcome
            self.reason = reason
            self._nursery.cancel_scope.cancel()

    async def _handshake(self) -> list[Any] | None:
        """Greeting + mechanism handshake; returns the events that followed it."""
        codec = self.codec
        ivl = self.core.options.handshake_ivl
        try:
            with trio.fail_after(ivl / 1000 if ivl > 0 else math.inf):
                first = codec.initiate()
                if first:
                    await self.stream.send_all(first)
                mechanism = self._configure_zap()
                events = codec.events()  # a codec without a handshake is done already
                eof = False
                received = 0
                while True:
                    for i, ev in enumerate(events):
                        if type(ev) is zmtp.HandshakeComplete:
                            self.handshake_done = True
                            self._handshake_event = ev
                            return events[i + 1 :] or []
                        if type(ev) is zmtp.ConnectionClosed:
                            eof = True
                    if eof:
                        raise trio.BrokenResourceError("peer closed during the handshake")
                    if mechanism is not None and await self._ask_zap(mechanism):
                        events = codec.events()  # the handshake went on (or failed)
                        continue
                    if received > MAX_HANDSHAKE_BYTES:
                        raise zmtp.RemoteProtocolError(
                            f"handshake not done after {received} octets "
                            f"(at most {MAX_HANDSHAKE_BYTES})",
                            zmtp_code=zmtp.ProtocolErrorCode.UNSPECIFIED,
                        )
                    data = await self.stream.receive_some(RECEIVE_SIZE)
                    eof = not data
                    received += len(data)
                    codec.receive_data(bytes(data) if type(data) is not bytes else data)
                    events = codec.events()
                    out = codec.data_to_send()
                    if out:
                        await self.stream.send_all(out)
        except trio.TooSlowError:
            self.outcome = Outcome.HANDSHAKE_TIMEOUT
            self._emit(
                Event.HANDSHAKE_FAILED_NO_DETAIL,
                errno.ETIMEDOUT,
                f"handshake not done within handshake_ivl={ivl} ms",
            )
        except zmtp.ZapUnavailable as exc:
            # libzmq closes silently (a PLAIN server with no ZAP handler, or
            # zap_enforce_domain): the peer is told nothing
            self.outcome = Outcome.PROTOCOL_ERROR
            self._emit(Event.HANDSHAKE_FAILED_NO_DETAIL, errno.EFAULT, str(exc))
        except zmtp.AuthenticationFailure as exc:
            # refused by our ZAP handler (an ERROR with the status was sent, except
            # for 300), or the peer's ERROR said 300/400/500
            self.outcome = Outcome.PROTOCOL_ERROR
            self._emit(Event.HANDSHAKE_FAILED_AUTH, exc.status_code, str(exc))
        except zmtp.ProtocolError as exc:
            self.outcome = Outcome.PROTOCOL_ERROR
            ev = (
                Event.HANDSHAKE_FAILED_AUTH
                if getattr(exc, "is_auth_failure", False)
                else (Event.HANDSHAKE_FAILED_PROTOCOL)
            )
            code = getattr(exc, "zmtp_code", None) or errno.EPROTO
            self._emit(ev, code, str(exc))
            if isinstance(exc, zmtp.RemoteProtocolError) and exc.peer_error is None:
                # We refuse a peer that passed the greeting (socket-type mismatch, a
                # bad command): say why, as ZMTP 3.1 allows, so that the other side
                # stops instead of reconnecting forever (libzmq closes silently).
                await self._send_refusal(codec.refusal(exc.reason))
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            self.outcome = Outcome.CLOSED
            self._emit(Event.HANDSHAKE_FAILED_NO_DETAIL, _errno_of(exc), str(exc))
        return None

    def _configure_zap(self) -> zmtp.Mechanism | None:
        """Tell a ZMTP connection's mechanism what a ZAP request needs (our domain and
        routing id, the peer's address); the mechanism decides whether it asks (PLAIN
        and CURVE servers always; NULL only with a ``zap_domain``, as libzmq)."""
        mechanism: zmtp.Mechanism | None = getattr(self.codec, "mechanism", None)
        if mechanism is None:
            return None
        opts = self.core.options
        mechanism.configure_zap(
            opts.zap_domain.decode("utf-8", "replace"),
            self.peer_address,
            identity=opts.routing_id,
        )
        return mechanism

    async def _ask_zap(self, mechanism: zmtp.Mechanism) -> bool:
        """If the handshake waits on a ZAP reply, ask the Context's handler (RFC 27),
        hand the answer to the mechanism and write what it makes of it (WELCOME,
        READY, or ERROR); True if it did. Other connections go on meanwhile: this runs
        in this connection's task, under ``handshake_ivl``."""
        request = mechanism.zap_request()
        if request is None:
            return False
        ask = getattr(self.core.context, "_zap_request", None)
        reply = await ask(request) if ask is not None else None
        if reply is None:
            mechanism.zap_unavailable()  # libzmq's behaviour with no handler bound
        else:
            mechanism.zap_reply(reply)
        out = self.codec.data_to_send()
        if out:
            await self.stream.send_all(out)
        return True

    async def _send_refusal(self, data: bytes) -> None:
        """Best effort: why we refuse the peer, then the connection closes."""
        if not data:
            return
        with trio.move_on_after(ERROR_SEND_TIMEOUT):
            try:
                await self.stream.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                pass

    def _connect(self) -> Pipe | None:
        """The handshake is done: start feeding the pipe (SocketCore.connect_peer)."""
        ev = self._handshake_event
        assert ev is not None
        self._handshake_event = None  # (not kept by an idle connection)
        properties = ev.peer_properties
        mechanism = getattr(self.codec, "mechanism", None)
        if mechanism is not None and mechanism.zap_properties:
            # what the ZAP handler said (User-Id, metadata) wins over the peer's own
            # metadata of the same name, as in libzmq
            properties = {**properties, **mechanism.zap_properties}
        peer = PeerInfo(
            ev.peer_socket_type,
            ev.peer_identity,
            properties,
            ev.peer_minor,
            self.peer_address,
        )
        fresh = self.pipe is None
        pipe = self.core.connect_peer(self.pipe, self.endpoint, self.connect_routing_id, peer, self)
        if pipe is None:
            self.outcome = Outcome.REFUSED
            self._emit(Event.DISCONNECTED, 0, "peer refused by the pattern")
            return None
        self._owns_pipe = fresh
        self.pipe = pipe
        return pipe

    # --- tasks ---------------------------------------------------------------------

    @enable_ki_protection
    async def _reader(self, events: list[Any]) -> None:
        core = self.core
        pipe = self.pipe
        assert pipe is not None
        codec = self.codec
        stream = self.stream
        pattern = core.pattern
        put: Callable[[Any], None]
        if not pattern.accepts_inbound:
            put = _drop
        else:  # (messages travel as frame tuples too: the pipe takes any sequence)
            put = pipe.put
            set_inbox = getattr(codec, "set_inbox", None)
            if set_inbox is not None and pipe._batched:
                set_inbox(pipe)  # runs of small messages go into the pipe's open run
        lot = core.receivers
        Message = zmtp.Message
        ERROR = zmtp.ConnectionState.ERROR
        counters = core.counters
        step_back = pattern.replies_to_receives
        if (
            step_back
            and pattern.accepts_inbound
            and not pipe.conflate
            and isinstance(stream, LeanSocketStream)
            and os.name == "posix"  # the receiver waits on a dup of the descriptor
        ):
            self._loan_put = put  # the loan itself is made when first lent (_try_lend)
            may_lend = True
        else:
            may_lend = False
        lean = stream if type(stream) is LeanSocketStream else None
        data: Any  # (what a read returned: bytes, a bytearray over TLS, None when lent)
        seen = codec.messages_put
        read_size = RECEIVE_SIZE  # (BUSY_RECEIVE_SIZE while reads come back full)
        lead = 0  # octets read since this task last yielded
        try:
            while True:
                n = 0
                # Data messages normally went straight into the pipe (events_into);
                # this list holds commands, and everything while the fast path is off.
                for ev in events:
                    # data messages are plain frame tuples (raw_messages=True) ...
                    if type(ev) is not tuple:
                        if type(ev) is not Message:
                            if self._on_event(ev):
                                await self._command_backlog_wait()
                            continue
                        ev = ev.frames  # ... except PUB/XPUB's non-subscription data
                    n += 1
                    try:
                        put(ev)
                    except trio.WouldBlock:
                        await self.put_blocking(ev)
                put_count = codec.messages_put
                n += put_count - seen
                seen = put_count
                if n:
                    counters.messages_in += n
                    if lot:
                        lot.unpark_all()
                        # Let the woken receiver run before this task goes back to the
                        # socket: in request/reply its answer then goes out before this
                        # task's next recv (EAGAIN) and epoll re-arm. Twice there, because
                        # trio runs each batch of runnable tasks in a random direction:
                        # after one yield this task shares the receiver's batch and goes
                        # first half the time; after two it always runs after it. (Not
                        # for one-way consumers, where the second pass is pure cost.)
                        await trio.lowlevel.cancel_shielded_checkpoint()
                        if step_back:
                            await trio.lowlevel.cancel_shielded_checkpoint()
                        lead = 0
                    elif lead >= READER_LEAD and pipe._in_count:
                        # The application has not taken what this task read since it
                        # last yielded: let it, before reading more (docs/design.md,
                        # "A turn per read's worth").
                        await trio.lowlevel.cancel_shielded_checkpoint()
                        lead = 0
                if codec.state is ERROR:
                    codec.events()  # raises the error that followed the events above
                if not events:  # events_into() needs more data
                    size = read_request(read_size, codec.wanted_bytes)
                    if lean is not None:
                        sock = lean.socket
                        # a LeanSocketStream, read here: no receive coroutine (nor a
                        # bound give-up method) per idle connection
                        while True:
                            try:
                                data = recv_or_none(sock, size)
                            except OSError as exc:
                                raise lean.translate_error(exc) from exc
                            if data is not None:
                                break
                            if may_lend and self._try_lend():
                                break  # lent: data is None
                            await wait_readable(sock)
                            lead = 0
                    else:  # (only a LeanSocketStream lends)
                        data = await stream.receive_some(size)  # (a checkpoint)
                        lead = 0
                    if data is None:
                        loan = self.loan
                        assert loan is not None
                        handed = await loan.reader_wait()
                        seen = codec.messages_put  # the receiver counted its own
                        if handed is not None:
                            events = handed
                            continue
                        # it stopped at a full RCVHWM: decode the rest of its read below
                    elif not data:
                        self._finish(Outcome.CLOSED, "peer closed the connection")
                        return
                    else:
                        got = len(data)
                        counters.bytes_in += got
                        self.traffic += 1
                        read_size = next_read_size(read_size, size, got)
                        lead += got
                else:
                    data = None  # decode what is buffered
                events, stalled = decode_into(codec, put, data)  # pyright: ignore[reportArgumentType]
                data = None  # (an idle connection need not keep its last read alive)
                while stalled is not NOT_STALLED:  # RCVHWM: stop reading until there is room
                    await self.put_blocking(stalled)
                    events, stalled = decode_into(codec, put, None)
        except zmtp.ProtocolError as exc:
            # As libzmq: after the handshake a protocol error is reported as the
            # DISCONNECTED event (whose reason says why), not as HANDSHAKE_FAILED_*.
            self._finish(Outcome.PROTOCOL_ERROR, f"protocol error: {exc}")
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            self._finish(Outcome.CLOSED, str(exc) or type(exc).__name__)

    def _try_lend(self) -> bool:
        """ReadLoan.try_lend, the loan made on first use (most connections of a busy
        socket never lend: only a socket's only pipe does)."""
        loan = self.loan
        if loan is None:
            core = self.core
            if len(core.receivers._tasks) <= core.polling or len(core.pipes) != 1:
                return False  # (try_lend's own first test)
            stream = self.stream
            assert isinstance(stream, LeanSocketStream)  # (only such a stream lends)
            loan = self.loan = ReadLoan(core, stream, self.codec, self._loan_put, self)
        return loan.try_lend()

    async def put_blocking(self, msg: Any) -> None:
        """Queue ``msg`` when the pipe is at RCVHWM: stop reading until the queue is
        down to its low-water mark (``Pipe.run_done``), so TCP pushes back on the peer
        (the receivers are woken first)."""
        self.core.wake_receivers()
        self._reading_blocked = True
        assert self.pipe is not None
        await self.pipe.put_wait(msg)
        self._reading_blocked = False

    def _on_event(self, ev: Any) -> bool:
        """Handle a command (or the end of the stream) from the reader; True: the
        pattern's backlog passed :data:`MAX_COMMAND_BACKLOG`, stop reading for now."""
        t = type(ev)
        if t is zmtp.Ping:
            self._owe_pong(ev.context)
            hb = self._hb
            if hb is None and ev.ttl > 0:
                hb = self._hb = self._new_hb()
            if hb is not None:
                hb.ping_received(ev.ttl, trio.current_time(), self.traffic)
                if self._hb_scope is not None:
                    self._hb_scope.deadline = hb.deadline()
                if hb.active:
                    self._start_heartbeat()  # a no-op if it runs already
        elif t is zmtp.Pong:
            pass
        elif t is zmtp.ConnectionClosed:
            self._finish(Outcome.CLOSED, "peer closed the connection")
        else:
            assert self.pipe is not None
            core = self.core
            core.pattern.on_command(self.pipe, ev)
            core.wake_receivers()  # e.g. XPUB turned a subscription into a message
            self._commands_in += 1
            if self._commands_in >= MAX_COMMAND_BACKLOG and core.options.rcvhwm > 0:
                if core.pattern.poll_state()[0] is True:
                    return True  # it holds what the commands made, untaken
                self._commands_in = 0
        return False

    async def _command_backlog_wait(self) -> None:
        """The pattern holds :data:`MAX_COMMAND_BACKLOG` commands' worth of work for the
        application (an XPUB's subscription messages): stop reading, so TCP pushes
        back on the peer, until the application has taken all of it.

        Nothing tells the engine when the application receives, so the reader looks
        again after a short wait that doubles (1 ms .. 50 ms); a reader stopped here
        counts as alive for the heartbeat, as one stopped by RCVHWM does."""
        pattern = self.core.pattern
        delay = COMMAND_BACKLOG_FIRST_WAIT
        self._reading_blocked = True
        try:
            while pattern.poll_state()[0] is True:
                await trio.sleep(delay)
                delay = min(delay * 2, COMMAND_BACKLOG_MAX_WAIT)
        finally:
            self._reading_blocked = False
        self._commands_in = 0

    @enable_ki_protection
    async def _writer(self) -> None:
        # Few locals, and no bound method or last batch held while parked: this
        # coroutine, and the frame object trio makes of a task's coroutine, are per
        # idle connection (docs/reliability.md, the scale bar).
        core = self.core
        pipe = self.pipe
        assert pipe is not None
        out = pipe._out_recv
        codec = self.codec
        commands = self.commands
        ended = False
        direct = self._raw_send is not None and not pipe.conflate
        try:
            while not ended:
                m: Any = WAKE
                if not commands:
                    # direct writes only while the queue is really empty (order!)
                    idle = direct and not out.statistics().current_buffer_used
                    if idle:
                        self.writer_idle = True
                        pipe.enable_direct()
                    try:
                        m = await out.receive()
                    except trio.EndOfChannel:
                        break
                    finally:
                        if idle:
                            self.writer_idle = False
                            pipe.disable_direct()
                ended, data, n = self._take_batch(m, out, codec)
                if data is None:
                    continue
                if core.senders:
                    core.senders.unpark_all()
                if isinstance(data, list):  # a few large parts: written one by one, unjoined
                    size = 0
                    for part in data:
                        await self.stream.send_all(part)
                        size += len(part)
                else:
                    await self.stream.send_all(data)
                    size = len(data)
                counters = core.counters
                counters.messages_out += n
                counters.bytes_out += size
                data = None
                if core.closing:
                    core.check_drained()
            # The pipe was terminated and everything queued has been written.
            self._finish(Outcome.CLOSED, "socket closed")
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            self._finish(Outcome.CLOSED, str(exc) or type(exc).__name__)

    def _take_batch(
        self, m: Any, out: Any, codec: Any
    ) -> tuple[bool, bytes | list[bytes] | None, int]:
        """The writer's batch: ``m`` and everything else queued, up to the caps, as
        wire bytes (commands first); returns (the channel ended, the bytes -- or a few
        large parts to write one by one -- or None when there is nothing to write, the
        messages in them)."""
        batch: list[list[bytes]] = []
        chunks: list[bytes] = []  # wire bytes, in order, for Encoded items
        nbytes = 0
        nsent = 0  # Encoded items (whole messages) in chunks
        ended = False
        encode = codec.send_messages
        wake = WAKE
        encoded = Encoded
        batched = Batch
        pipe = self.pipe
        receive_nowait = out.receive_nowait
        max_messages = WRITE_BATCH_MESSAGES
        max_bytes = WRITE_BATCH_BYTES
        while True:
            items: Any = (m,)
            if type(m) is batched:
                # a batch of sends (Pipe._send_batched): no more appends to it
                pipe.taken(m)  # type: ignore[union-attr]
                if m.encoded:
                    first = m[0]
                    if type(first) is encoded and len(first) < BODY_MAX:
                        # PUB's fan-out of short messages: all their bytes in one
                        # C-level pass (Encoded is bytes; a frame sequence among them
                        # is not, and then the batch goes item by item)
                        try:
                            wire = b"".join(m)
                        except TypeError:
                            items = m  # item by item, below
                        else:
                            if batch:
                                chunks.append(encode(batch))
                                nsent += len(batch)
                                batch = []
                            chunks.append(wire)
                            nsent += len(m)
                            nbytes += len(wire)
                            items = ()
                    elif len(set(map(type, m))) == 1:
                        # only Encoded, long ones: their bytes, kept apart (a few
                        # large parts are written one by one, not joined)
                        if batch:
                            chunks.append(encode(batch))
                            nsent += len(batch)
                            batch = []
                        wire_parts = list(m)
                        chunks += wire_parts
                        nsent += len(wire_parts)
                        nbytes += sum(map(len, wire_parts))
                        items = ()
                    else:
                        items = m  # item by item, below
                else:  # only frame sequences, or only bodies: encoded whole
                    if batch:
                        chunks.append(encode(batch))
                        nsent += len(batch)
                        batch = []
                    wire = codec.send_bodies(m) if m.bodies else encode(m)
                    chunks.append(wire)
                    nsent += len(m)
                    nbytes += len(wire)
                    items = ()
            for x in items:
                if type(x) is list:
                    batch.append(x)
                    for f in x:
                        nbytes += len(f)
                elif x is wake:
                    pass
                elif type(x) is encoded:
                    # pre-encoded (PUB fan-out): keep the order of the stream
                    if batch:
                        chunks.append(encode(batch))
                        nsent += len(batch)
                        batch = []
                    chunks.append(x)
                    nsent += 1
                    nbytes += len(x)
                else:  # any other sequence of frames
                    batch.append(x)
                    for f in x:
                        nbytes += len(f)
            if len(batch) >= max_messages or nbytes >= max_bytes:
                break
            try:
                m = receive_nowait()
            except trio.WouldBlock:
                break
            except trio.EndOfChannel:
                ended = True
                break
        commands = self.commands
        if commands or chunks:
            parts = self._encode_commands() if commands else []
            parts.extend(chunks)
            if batch:
                parts.append(encode(batch))
            # One batch taken whole is written as its codec made it, and a few large
            # parts one by one: joining them copied every byte of a large-message
            # batch a second time.
            if len(parts) == 1:
                return ended, parts[0], len(batch) + nsent
            if len(parts) <= JOIN_PARTS_MAX and nbytes >= max_bytes:
                return ended, parts, len(batch) + nsent
            return ended, b"".join(parts), len(batch) + nsent
        if batch:
            return ended, encode(batch), len(batch)
        return ended, None, 0

    def _start_heartbeat(self) -> None:
        """Start the heartbeat task once per connection (for our PINGs or a peer TTL)."""
        if not self._hb_started and self._nursery is not None:
            self._hb_started = True
            self._nursery.start_soon(self._heartbeat)

    @enable_ki_protection
    async def _heartbeat(self) -> None:
        """Sleep until the heartbeat state's next deadline; do what it says.

        It reads the deadline at every wake-up, so one started for our own PINGs
        also enforces a peer TTL that arrives later, and vice versa."""
        hb = self._hb
        assert hb is not None
        while True:
            with trio.CancelScope(deadline=hb.deadline()) as scope:
                self._hb_scope = scope
                await trio.sleep_forever()
            self._hb_scope = None
            now = trio.current_time()
            while (due := hb.poll(now, self.traffic, self._reading_blocked)) is not None:
                action, reason = due
                if action is HeartbeatAction.TIMED_OUT:
                    self._finish(Outcome.HEARTBEAT_TIMEOUT, reason)
                    return
                if self.loan is not None:
                    self.loan.end()  # the reader reads the answer, whoever receives
                self._owe_ping()


#: the writer task's name (trio's own default, made once: not a new str per task)
_WRITER_TASK = f"{__name__}.Engine._writer"


def _drop(msg: Any) -> None:
    """Where a send-only socket's reader puts data messages from its peers."""


def _errno_of(exc: BaseException) -> int:
    if isinstance(exc, OSError) and exc.errno:
        return exc.errno
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, OSError) and cause.errno:
        return cause.errno
    return errno.ECONNRESET
