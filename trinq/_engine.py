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

Lending: on a request/reply socket whose only pipe this is, the reader, finding
the socket empty while a receiver waits, lends reading to that receiver
(:meth:`Engine.receive_inline`): ``recv`` then waits on the kernel itself and
decodes on its own stack, so a reply wakes the receiver directly instead of the
reader and then, a scheduler pass later, the receiver. The reader sleeps in
:meth:`Engine._lend` and takes reading back when the receiver hands it something
other than data messages, after a lease without receives, when a second pipe
attaches, or before it sends a PING (docs/design.md, "Lending").

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
from collections import deque
from typing import TYPE_CHECKING, Any

import trio

from . import zmtp
from ._monitor import Event
from ._pipe import WAKE, Encoded, Pipe
from ._transports._stream import LeanSocketStream
from ._wait import WaitQueue

if TYPE_CHECKING:
    from ._socket import Socket

__all__ = ["Engine", "Outcome"]

#: How long (seconds) a receiver that reads for the reader may go without receiving
#: before the reader takes reading back (Engine.receive_inline).
LEND_LEASE = 0.01
#: Longest the lending reader sleeps while a receiver waits for data.
LEND_MAX_SLEEP = 1.0
_HB_EVENTS, _HB_STALLED, _HB_ERROR = range(3)
_ERROR = zmtp.ConnectionState.ERROR

#: How long (seconds) we try to write an ERROR command to a peer we refuse.
ERROR_SEND_TIMEOUT = 1.0
#: Most messages one writer batch takes before it writes.
WRITE_BATCH_MESSAGES = 4096
#: Most payload bytes one writer batch takes before it writes.
WRITE_BATCH_BYTES = 256 * 1024
#: Bytes asked of the transport per read...
RECEIVE_SIZE = 65536
#: ...unless a larger frame is pending: then up to this much, so the rest of a
#: big frame arrives in one read instead of many 64 KiB pieces.
MAX_RECEIVE_SIZE = 8 * 1024 * 1024


class Outcome(enum.Enum):
    """How a connection ended; the dialer reconnects unless it is PROTOCOL_ERROR."""

    CLOSED = "closed"  # EOF, I/O error, or we closed it (linger done)
    HANDSHAKE_TIMEOUT = "handshake timeout"
    HEARTBEAT_TIMEOUT = "heartbeat timeout"
    PROTOCOL_ERROR = "protocol error"
    REFUSED = "refused"  # the pattern refused the peer (PAIR's second peer)


class Engine:
    """Drives one connection for ``socket``; see the module docstring."""

    def __init__(
        self,
        socket: Socket,
        stream: trio.abc.Stream,
        endpoint: str,
        pipe: Pipe | None,
        peer_address: str = "",
        *,
        connect_routing_id: bytes = b"",
    ) -> None:
        self.socket = socket
        self.stream = stream
        self.endpoint = endpoint
        self.pipe = pipe
        self.peer_address = peer_address
        opts = socket._opts
        self.conn = zmtp.Connection(
            socket._pattern.socket_type,
            identity=opts.routing_id,
            maxmsgsize=opts.maxmsgsize,
            raw_messages=True,
        )
        self.commands: deque[Any] = deque()
        #: routing id given by ``connect_routing_id`` for a pipe made at handshake
        self.connect_routing_id = connect_routing_id
        self.outcome = Outcome.CLOSED
        self.reason: str | None = None
        self.handshake_done = False
        #: the writer is parked on an empty queue (see try_write_now)
        self.writer_idle = False
        sock_obj = getattr(stream, "socket", None)
        self._raw_send = sock_obj.send if isinstance(stream, LeanSocketStream) else None
        self._recv_chunks = 0
        self._ttl_armed_at = 0
        self._reading_blocked = False
        self._nursery: trio.Nursery | None = None
        self._hb_scope: trio.CancelScope | None = None
        self._hb_started = False
        self._peer_ttl_deadline = math.inf
        # Lending (see receive_inline): the socket's receiver reads for the reader.
        #: the reader handed reading to the socket's receiver
        self.lent = False
        #: the receiver's own descriptor for the socket (a dup): it waits on that, so
        #: waking it (``notify_closing``) never disturbs the writer's waits
        self._lend_fd = -1
        #: what the borrowing receiver left for the reader: (kind, value), see _lend
        self._handback: tuple[int, Any] | None = None
        self._lend_lot = WaitQueue()
        #: receive_inline calls so far, and whether one is running (for the lease)
        self._inline_calls = 0
        self._inline_busy = False
        self._wake_reader_when_done = False
        self._in_put: Any = None

    # --- public to the socket ------------------------------------------------------

    def send_command(self, command: Any) -> None:
        """Queue a ZMTP command for the writer (never blocks, bypasses the HWM)."""
        self.commands.append(command)
        self.writer_idle = False
        pipe = self.pipe
        if pipe is not None:
            try:
                pipe._out_send.send_nowait(WAKE)
            except (trio.WouldBlock, trio.ClosedResourceError, trio.BrokenResourceError):
                pass  # the writer is busy (or draining) and will see the command

    def try_write_now(self, msg: Any) -> bool:
        """Write ``msg`` on the caller's stack if that is cheaper than waking the writer.

        Only while the writer is parked with nothing queued (so order is kept), and
        only when the socket has waited or yielded since its previous send -- the
        request/reply rhythm, where waking a writer task costs a scheduler pass per
        message. A tight send loop keeps going through the queue, so the writer
        still batches. A partial write hands the rest to the writer. Never blocks,
        never raises: ``False`` means "queue it as usual".
        """
        sock = self.socket
        if not (self.writer_idle and sock._direct_ok) or self.commands:
            return False
        raw_send = self._raw_send
        if raw_send is None:
            return False
        data = msg.data if type(msg) is Encoded else self.conn.send_message(msg)
        try:
            n = raw_send(data)
        except OSError:
            return False  # EAGAIN, or a broken connection the reader/writer will see
        sock._direct_ok = False
        if n < len(data):
            self.writer_idle = False
            assert self.pipe is not None
            self.pipe._out_send.send_nowait(Encoded(data[n:]))
        stats = sock._stats
        stats[1] += 1
        stats[3] += n
        return True

    # --- lifecycle -----------------------------------------------------------------

    async def run(self) -> Outcome:
        """Run the connection to its end and return how it ended.

        Never raises for connection-level problems (they become the outcome and a
        monitor event); a cancellation closes the stream and propagates.
        """
        sock = self.socket
        try:
            events = await self._handshake()
            if events is None:
                return self.outcome
            pipe = self._adopt_pipe()
            if pipe is None:
                return self.outcome
            self._emit(Event.HANDSHAKE_SUCCEEDED, 0)
            try:
                async with trio.open_nursery() as nursery:
                    self._nursery = nursery
                    nursery.start_soon(self._reader, events)
                    nursery.start_soon(self._writer)
                    if sock._opts.heartbeat_ivl > 0:
                        self._start_heartbeat()
            finally:
                self._nursery = None
                self._release_pipe(pipe)
                self._emit(Event.DISCONNECTED, 0, self.reason)
            return self.outcome
        finally:
            self._stop_lending()
            if self._lend_fd >= 0:
                fd, self._lend_fd = self._lend_fd, -1
                lot = sock._recv_lot
                if lot.interrupt == fd:  # never let anyone notify a reused fd number
                    lot.interrupt = lot.interrupt_task = None
                trio.lowlevel.notify_closing(fd)  # wakes a receiver waiting on it
                os.close(fd)
            with trio.CancelScope(shield=True):
                await trio.aclose_forcefully(self.stream)

    def _emit(self, event: Event, value: int, reason: str | None = None) -> None:
        """A monitor event about this connection (endpoint and peer address filled in)."""
        self.socket._emit(event, value, self.endpoint, reason, self.peer_address or None)

    def _finish(self, outcome: Outcome, reason: str | None = None) -> None:
        if self._nursery is not None and not self._nursery.cancel_scope.cancel_called:
            self.outcome = outcome
            self.reason = reason
            self._nursery.cancel_scope.cancel()

    async def _handshake(self) -> list[Any] | None:
        """Greeting + mechanism handshake; returns the events that followed it."""
        sock = self.socket
        conn = self.conn
        ivl = sock._opts.handshake_ivl
        try:
            with trio.fail_after(ivl / 1000 if ivl > 0 else math.inf):
                await self.stream.send_all(conn.initiate())
                while True:
                    data = await self.stream.receive_some(RECEIVE_SIZE)
                    conn.receive_data(data)
                    events = conn.events()
                    out = conn.data_to_send()
                    if out:
                        await self.stream.send_all(out)
                    for i, ev in enumerate(events):
                        if type(ev) is zmtp.HandshakeComplete:
                            self.handshake_done = True
                            self._handshake_event = ev
                            return events[i + 1 :]
                        if type(ev) is zmtp.ConnectionClosed:
                            raise trio.BrokenResourceError("peer closed during the handshake")
                    if not data:
                        raise trio.BrokenResourceError("peer closed during the handshake")
        except trio.TooSlowError:
            self.outcome = Outcome.HANDSHAKE_TIMEOUT
            self._emit(
                Event.HANDSHAKE_FAILED_NO_DETAIL,
                errno.ETIMEDOUT,
                f"handshake not done within handshake_ivl={ivl} ms",
            )
        except zmtp.ProtocolError as exc:
            self.outcome = Outcome.PROTOCOL_ERROR
            ev = (
                Event.HANDSHAKE_FAILED_AUTH
                if getattr(exc, "is_auth_failure", False)
                else (Event.HANDSHAKE_FAILED_PROTOCOL)
            )
            code = getattr(exc, "zmtp_code", None) or errno.EPROTO
            self._emit(ev, code, str(exc))
            if (
                isinstance(exc, zmtp.RemoteProtocolError)
                and exc.peer_error is None
                and conn.peer_minor is not None
            ):
                # We refuse a peer that passed the greeting (socket-type mismatch, a
                # bad command): say why, as ZMTP 3.1 allows, so that the other side
                # stops instead of reconnecting forever (libzmq closes silently).
                await self._send_error(exc.reason)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            self.outcome = Outcome.CLOSED
            self._emit(Event.HANDSHAKE_FAILED_NO_DETAIL, _errno_of(exc), str(exc))
        return None

    async def _send_error(self, reason: str) -> None:
        """Best effort: an ERROR command with ``reason``, then the connection closes."""
        data = zmtp.encode_frame(zmtp.COMMAND, zmtp.error_body(reason.encode()[:255]))
        with trio.move_on_after(ERROR_SEND_TIMEOUT):
            try:
                await self.stream.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                pass

    def _adopt_pipe(self) -> Pipe | None:
        sock = self.socket
        ev = self._handshake_event
        pipe = self.pipe
        fresh = pipe is None
        if pipe is None:
            pipe = sock._new_pipe(self.endpoint)
            pipe.routing_id = self.connect_routing_id
        pipe.peer_socket_type = ev.peer_socket_type
        pipe.peer_identity = ev.peer_identity
        pipe.peer_properties = ev.peer_properties
        pipe.peer_minor = ev.peer_minor
        if fresh:
            if not sock._pattern.accepts_pipe(pipe):
                self.outcome = Outcome.REFUSED
                self._emit(Event.DISCONNECTED, 0, "peer refused by the pattern")
                return None
            self.pipe = pipe
            self._owns_pipe = True
            sock._attach_pipe(pipe)
        else:
            self._owns_pipe = False
        pipe.engine = self
        sock._pattern.pipe_connected(pipe)
        sock._notify_writable()
        return pipe

    def _release_pipe(self, pipe: Pipe) -> None:
        sock = self.socket
        if pipe.engine is self:
            pipe.engine = None
        sock._pattern.pipe_disconnected(pipe)
        if self._owns_pipe or self.outcome is Outcome.PROTOCOL_ERROR:
            sock._terminate_pipe(pipe)
        sock._check_drained()

    # --- tasks ---------------------------------------------------------------------

    async def _reader(self, events: list[Any]) -> None:
        sock = self.socket
        pipe = self.pipe
        assert pipe is not None
        conn = self.conn
        stream = self.stream
        in_send = pipe._in_send
        if not sock._pattern.accepts_inbound:
            put = _drop
        elif pipe.conflate:
            put = pipe.deliver_nowait
        else:
            put = in_send.send_nowait
        lot = sock._recv_lot
        Message = zmtp.Message
        ERROR = zmtp.ConnectionState.ERROR
        stats = sock._stats
        events_into = conn.events_into
        step_back = sock._pattern.replies_to_receives
        self._in_put = put
        lendable = (
            step_back
            and sock._pattern.accepts_inbound
            and not pipe.conflate
            and self._raw_send is not None
            and os.name == "posix"  # the receiver waits on a dup of the descriptor
        )
        seen = conn.messages_put
        try:
            while True:
                n = 0
                # Data messages normally went straight into the pipe (events_into);
                # this list holds commands, and everything while the fast path is off.
                for ev in events:
                    # data messages are plain frame tuples (raw_messages=True) ...
                    if type(ev) is not tuple:
                        if type(ev) is not Message:
                            self._on_event(ev)
                            continue
                        ev = ev.frames  # ... except PUB/XPUB's non-subscription data
                    n += 1
                    try:
                        put(ev)
                    except trio.WouldBlock:
                        await self._put_blocking(ev)
                put_count = conn.messages_put
                n += put_count - seen
                seen = put_count
                if n:
                    stats[0] += n
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
                if conn.state is ERROR:
                    conn.events()  # raises the error that followed the events above
                if not events:  # events_into() needs more data
                    wanted = conn.wanted_bytes
                    size = RECEIVE_SIZE if wanted <= RECEIVE_SIZE else min(wanted, MAX_RECEIVE_SIZE)
                    if lendable:  # None: lent to a receiver, which read until now
                        data = await stream.receive_some(size, give_up=self._try_lend)  # type: ignore[call-arg]
                    else:
                        data = await stream.receive_some(size)
                    if data is None:
                        handed = await self._lend()
                        seen = conn.messages_put  # the receiver counted its own
                        if handed is not None:
                            events = handed
                            continue
                        # it stopped at a full RCVHWM: decode the rest of its read below
                    elif not data:
                        self._finish(Outcome.CLOSED, "peer closed the connection")
                        return
                    else:
                        stats[2] += len(data)
                        self._recv_chunks += 1
                else:
                    data = None  # decode what is buffered
                while True:
                    try:
                        events = events_into(put, data)
                        break
                    except trio.WouldBlock:
                        data = None  # (it is in the decoder's buffer now)
                        await self._put_blocking(conn.take_stalled())
        except zmtp.ProtocolError as exc:
            # As libzmq: after the handshake a protocol error is reported as the
            # DISCONNECTED event (whose reason says why), not as HANDSHAKE_FAILED_*.
            self._finish(Outcome.PROTOCOL_ERROR, f"protocol error: {exc}")
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            self._finish(Outcome.CLOSED, str(exc) or type(exc).__name__)

    async def _put_blocking(self, msg: Any) -> None:
        """Queue ``msg`` when the pipe is at RCVHWM: stop reading until there is room,
        so TCP pushes back on the peer (the receivers are woken first)."""
        lot = self.socket._recv_lot
        if lot:
            lot.unpark_all()
        self._reading_blocked = True
        await self.pipe._in_send.send(msg)  # type: ignore[union-attr]
        self._reading_blocked = False

    # --- lending: the receiver reads for the reader ------------------------------

    def _try_lend(self) -> bool:
        """The reader found the socket empty (``receive_some``'s ``give_up``): lend
        reading to a waiting receiver if this is the socket's only pipe."""
        sock = self.socket
        lot = sock._recv_lot
        if not lot or len(sock._pipes) != 1:
            return False
        if self._lend_fd < 0:
            self._lend_fd = os.dup(self.stream.socket.fileno())  # type: ignore[attr-defined]
        self.lent = True
        sock._lent_engine = self
        lot.unpark_all()
        return True

    def can_lend(self) -> bool:
        """Whether a receiver may call :meth:`receive_inline` now."""
        return self.lent and self._handback is None

    async def receive_inline(self) -> bool:
        """Read and decode on the calling receiver's stack instead of the reader's.

        Called by a receiver that found nothing queued on a request/reply socket
        whose only connection is this one, once the reader has lent it reading
        (:meth:`can_lend`). Waking the reader task and then, from it, the receiver
        costs a scheduler pass on the round trip's critical path; here the
        kernel's readiness wakes the receiver itself. The reader lends when it finds
        the socket empty while a receiver waits (:meth:`_try_lend`), sleeps
        in :meth:`_lend`, and takes reading back when the receiver has not called
        for a lease period (:data:`LEND_LEASE`), or at once when this call meets
        anything but data messages (a command, an error, the end, RCVHWM).

        Returns ``True`` when messages may have been queued (take one), ``False``
        when the caller should look again the usual way (woken through the
        receive queue's ``interrupt``, or reading was handed back). Cancellation:
        only the wait for readiness is a checkpoint, and a cancelled call has read
        nothing.
        """
        fd = self._lend_fd
        lot = self.socket._recv_lot
        self._inline_busy = True
        try:
            while True:
                got = self.read_available()
                if got is not None:
                    return got
                if lot.interrupt is not None:
                    # Another receiver began to wait while this one was being woken
                    # (a recv_nowait() took the data and woke the queue meanwhile):
                    # that one reads; this one parks.
                    return False
                me = trio.lowlevel.current_task()
                lot.interrupt = fd
                lot.interrupt_task = me
                try:
                    await trio.lowlevel.wait_readable(fd)
                except trio.ClosedResourceError:
                    return False  # woken by unpark_all(), or the connection closed
                except BaseException:
                    if lot.interrupt_task is me:
                        lot.interrupt = lot.interrupt_task = None
                    if lot._tasks:  # cancelled: a receiver parked behind this one reads
                        lot.unpark_all()
                    raise
                finally:
                    # Only if still ours: once woken, another receiver may have begun
                    # to wait on the same descriptor and registered it.
                    if lot.interrupt_task is me:
                        lot.interrupt = lot.interrupt_task = None
        finally:
            self._inline_busy = False
            if self._wake_reader_when_done:  # the reader waits for this call to end
                self._wake_reader_when_done = False
                self._lend_lot.unpark_all()

    def read_available(self) -> bool | None:
        """Read and decode what the kernel holds now, for a receiver (never blocks).

        The synchronous part of :meth:`receive_inline`, also used by receives that
        must not wait (``recv_nowait``, ``DONTWAIT``, the ``events`` option) while
        the reader is lending, so that they see what has arrived. ``None``: nothing
        complete arrived; ``True``: messages may have been queued; ``False``: reading
        went back to the reader (or had already).
        """
        stream: LeanSocketStream = self.stream  # type: ignore[assignment]
        sockobj = stream.socket
        conn = self.conn
        self._inline_calls += 1
        while True:
            if not self.lent or self._handback is not None or stream._closed:
                return False
            wanted = conn.wanted_bytes
            try:
                data = sockobj.recv(
                    RECEIVE_SIZE if wanted <= RECEIVE_SIZE else min(wanted, MAX_RECEIVE_SIZE)
                )
            except BlockingIOError:
                return None
            except OSError as exc:
                self._hand_back(_HB_ERROR, exc)
                return False
            if not data:
                # the reader raises it and ends the connection as on its own EOF
                self._hand_back(_HB_ERROR, trio.BrokenResourceError("peer closed the connection"))
                return False
            stats = self.socket._stats
            stats[2] += len(data)
            self._recv_chunks += 1
            before = conn.messages_put
            try:
                events = conn.events_into(self._in_put, data)
            except trio.WouldBlock:  # RCVHWM is full: the reader waits for room
                stats[0] += conn.messages_put - before
                self._hand_back(_HB_STALLED, conn.take_stalled())
                return True
            except zmtp.ProtocolError:
                self._hand_back(_HB_EVENTS, [])  # the reader's next call raises it
                return False
            n = conn.messages_put - before
            stats[0] += n
            if events or conn.state is _ERROR:
                self._hand_back(_HB_EVENTS, events)  # commands are the reader's
                return True
            if n:
                lot = self.socket._recv_lot
                if lot._tasks or lot.interrupt is not None:
                    lot.unpark_all()  # other receivers share what this read brought
                return True

    def _stop_lending(self) -> None:
        self.lent = False
        sock = self.socket
        if sock._lent_engine is self:
            sock._lent_engine = None

    def end_lending(self) -> None:
        """Take reading back now (the socket is getting a second pipe)."""
        if self.lent and self._handback is None:
            self._hand_back(_HB_EVENTS, [])

    def _hand_back(self, kind: int, value: Any) -> None:
        self._handback = (kind, value)
        self._lend_lot.unpark_all()

    async def _lend(self) -> list[Any] | None:
        """The reader's wait while a receiver reads for it (see :meth:`receive_inline`).

        Returns the events to process when reading comes back to the reader, or
        ``None`` when what the receiver read is still to be decoded (it stopped at a
        full RCVHWM; the message refused then is queued by the time this returns)."""
        last = -1
        delay = LEND_LEASE
        try:
            while self._handback is None:
                if self._inline_busy:
                    # The receiver waits for data: look again later, less and less
                    # often (an idle REQ must not wake this task every lease). Once
                    # the sleep is longer than a lease, the receiver wakes this task
                    # when it is done; not before, as that would be once per receive.
                    self._wake_reader_when_done = delay > LEND_LEASE
                    with trio.move_on_after(delay) as timer:
                        await self._lend_lot.park()
                    self._wake_reader_when_done = False
                    # still waiting: sleep longer; woken (it received): a lease again
                    delay = min(delay * 2, LEND_MAX_SLEEP) if timer.cancelled_caught else LEND_LEASE
                    last = -1  # a whole lease from here
                    continue
                if self._inline_calls == last:
                    return []  # the lease ran out: read again
                last = self._inline_calls
                delay = LEND_LEASE
                with trio.move_on_after(LEND_LEASE):
                    await self._lend_lot.park()
        finally:
            self._wake_reader_when_done = False
            self._stop_lending()
            self._handback, handback = None, self._handback
        assert handback is not None
        kind, value = handback
        if kind == _HB_ERROR:
            raise value
        if kind == _HB_STALLED:
            await self._put_blocking(value)
            return None
        return value  # type: ignore[no-any-return]

    def _on_event(self, ev: Any) -> None:
        t = type(ev)
        if t is zmtp.Ping:
            self.send_command(zmtp.Pong(ev.context[:16]))
            if ev.ttl > 0:
                self._peer_ttl_deadline = trio.current_time() + ev.ttl / 10
                self._ttl_armed_at = self._recv_chunks
                if self._hb_scope is not None:
                    self._hb_scope.deadline = min(self._hb_scope.deadline, self._peer_ttl_deadline)
                self._start_heartbeat()  # a no-op if it runs already
        elif t is zmtp.Pong:
            pass
        elif t is zmtp.ConnectionClosed:
            self._finish(Outcome.CLOSED, "peer closed the connection")
        else:
            assert self.pipe is not None
            sock = self.socket
            sock._pattern.on_command(self.pipe, ev)
            if sock._recv_lot:  # e.g. XPUB turned a subscription into a message
                sock._recv_lot.unpark_all()

    async def _writer(self) -> None:
        sock = self.socket
        pipe = self.pipe
        assert pipe is not None
        out = pipe._out_recv
        receive = out.receive
        receive_nowait = out.receive_nowait
        conn = self.conn
        encode = conn.send_messages
        commands = self.commands
        send_all = self.stream.send_all
        stats = sock._stats
        wake = WAKE
        encoded = Encoded
        max_messages = WRITE_BATCH_MESSAGES
        max_bytes = WRITE_BATCH_BYTES
        ended = False
        direct = self._raw_send is not None and not pipe.conflate
        try:
            while not ended:
                batch: list[list[bytes]] = []
                chunks: list[bytes] = []  # wire bytes, in order, for Encoded items
                nbytes = 0
                nsent = 0  # Encoded items (whole messages) in chunks
                m: Any = wake
                if not commands:
                    # direct writes only while the queue is really empty (order!)
                    idle = direct and not out.statistics().current_buffer_used
                    if idle:
                        self.writer_idle = True
                        pipe.enable_direct()
                    try:
                        m = await receive()
                    except trio.EndOfChannel:
                        break
                    finally:
                        if idle:
                            self.writer_idle = False
                            pipe.disable_direct()
                # Take the first item and everything else queued, up to the caps.
                while True:
                    if type(m) is list:
                        batch.append(m)
                        for f in m:
                            nbytes += len(f)
                    elif m is wake:
                        pass
                    elif type(m) is encoded:
                        # pre-encoded (PUB fan-out): keep the order of the stream
                        if batch:
                            chunks.append(encode(batch))
                            nsent += len(batch)
                            batch = []
                        chunks.append(m.data)
                        nsent += 1
                        nbytes += len(m.data)
                    else:  # any other sequence of frames
                        batch.append(m)
                        for f in m:
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
                if commands or chunks:
                    parts = [conn.send_command(c) for c in commands]
                    commands.clear()
                    parts.extend(chunks)
                    if batch:
                        parts.append(encode(batch))
                    data = b"".join(parts)
                elif batch:
                    data = encode(batch)
                else:
                    continue
                if sock._send_lot:
                    sock._send_lot.unpark_all()
                await send_all(data)
                stats[1] += len(batch) + nsent
                stats[3] += len(data)
                if sock._closing:
                    sock._check_drained()
            # The pipe was terminated and everything queued has been written.
            self._finish(Outcome.CLOSED, "socket closed")
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            self._finish(Outcome.CLOSED, str(exc) or type(exc).__name__)

    def _start_heartbeat(self) -> None:
        """Start the heartbeat task once per connection (for our PINGs or a peer TTL)."""
        if not self._hb_started and self._nursery is not None:
            self._hb_started = True
            self._nursery.start_soon(self._heartbeat)

    async def _heartbeat(self) -> None:
        """PING every heartbeat_ivl; time out a silent peer (RFC 37 + libzmq rules).

        It reads the peer-TTL deadline at every wake-up, so one started for our own
        PINGs also enforces a TTL that arrives later, and vice versa."""
        opts = self.socket._opts
        ivl = opts.heartbeat_ivl / 1000 if opts.heartbeat_ivl > 0 else math.inf
        timeout = opts.heartbeat_timeout / 1000 if opts.heartbeat_timeout >= 0 else ivl
        # libzmq converts the TTL in 16-bit deciseconds: keep it <= 655 (facts §15).
        ttl = min(opts.heartbeat_ttl // 100, 655)
        now = trio.current_time()
        next_ping = now + ivl
        ping_deadline = math.inf
        ping_sent_at = 0
        while True:
            wake_at = min(next_ping, ping_deadline, self._peer_ttl_deadline)
            with trio.CancelScope(deadline=wake_at) as scope:
                self._hb_scope = scope
                await trio.sleep_forever()
            self._hb_scope = None
            now = trio.current_time()
            alive = self._reading_blocked
            if ping_deadline <= now:
                if self._recv_chunks > ping_sent_at or alive:
                    ping_deadline = math.inf
                else:
                    self._finish(Outcome.HEARTBEAT_TIMEOUT, "no traffic within heartbeat_timeout")
                    return
            if self._peer_ttl_deadline <= now:
                if alive or self._recv_chunks > self._ttl_armed_at:
                    # anything received since the PING that armed it disarms the TTL
                    self._peer_ttl_deadline = math.inf
                else:
                    self._finish(Outcome.HEARTBEAT_TIMEOUT, "peer's heartbeat TTL expired")
                    return
            if next_ping <= now:
                self.end_lending()  # the reader reads the answer, whoever receives
                self.send_command(zmtp.Ping(ttl, b""))
                ping_sent_at = self._recv_chunks
                if ping_deadline == math.inf:
                    ping_deadline = now + timeout
                next_ping = now + ivl


def _drop(msg: list[bytes]) -> None:
    """Where a send-only socket's reader puts data messages from its peers."""


def _errno_of(exc: BaseException) -> int:
    if isinstance(exc, OSError) and exc.errno:
        return exc.errno
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, OSError) and cause.errno:
        return cause.errno
    return errno.ECONNRESET
