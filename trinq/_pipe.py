"""Pipes: the per-peer bounded queues between a socket and one connection.

A :class:`Pipe` holds two trio memory channels, each item one *whole* multipart
message (``list[bytes]``), so a message is queued or not, never half:

* ``out``: socket -> writer task, capacity SNDHWM (0 = unbounded);
* ``in``: reader task -> socket, capacity RCVHWM (0 = unbounded).

A connection's pipe is *batched* on the ``out`` side (``Pipe(batched=True)``, what
``SocketCore.new_pipe`` makes): its channel items are :class:`Batch` lists of whole
messages, the newest appended to by every send until the writer takes it, and SNDHWM
is counted in messages by the pipe itself (``_out_count``), not by the channel.

The socket side only ever uses the ``*_nowait`` operations (through the routing
pieces in :mod:`trinq._routing`) and waits on the socket's parking lots; the
connection's reader and writer tasks use the blocking forms, which is where
back-pressure reaches TCP.

For speed, ``send_nowait`` and ``recv_nowait`` are the memory channels' own bound
methods stored on the pipe: routing a message costs no extra Python call.

A connect-side pipe is created by ``connect()`` and outlives reconnects: each new
connection's engine attaches to it, so messages queued while the peer was away
are sent once it is back. A bind-side pipe lives exactly as long as its
connection. When a pipe is terminated its ``in`` channel is closed, so messages
that already arrived are still delivered (the fair queue sees ``EndOfChannel``
only after draining them), and its ``out`` side refuses new messages.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Protocol

import attrs
import trio

from ._routing.pipe_like import RecvNowait, SendNowait

__all__ = [
    "BATCH_MESSAGES",
    "MAX_RUN_MESSAGES",
    "RUN_MESSAGES",
    "WAKE",
    "Batch",
    "Carrier",
    "Encoded",
    "Pipe",
    "PipeStatistics",
    "low_water_mark",
    "run_length",
]

Msg = list[bytes]


class Carrier(Protocol):
    """What carries a pipe's messages to and from its peer, as the pipe sees it: a
    connection's engine (``trinq._engine.Engine``) or an in-memory link
    (``trinq._transports._inproc``). The pipe never knows which."""

    def try_write_now(self, msg: Any) -> bool:
        """Write ``msg`` at once on the caller's stack if cheaper; ``False``: queue it."""
        ...

    def send_command(self, command: Any) -> None:
        """Deliver a command (Subscribe, Cancel, Join, Leave) to the peer; never blocks."""
        ...


class _Wake:
    """Sentinel queued on ``out`` to wake the writer for a command."""

    __slots__ = ()


WAKE: Any = _Wake()


class Encoded(bytes):
    """A message already encoded to wire bytes, queued on ``out`` like a message.

    PUB/XPUB encode a message once and queue the same bytes to every matching
    peer (no per-peer re-encode), but only toward pipes that say how with the same
    :attr:`Pipe.shared_encoder` (a ZMTP connection with the NULL mechanism); other
    pipes (inproc, and later CURVE or WebSocket) get the message itself.

    It is the wire bytes themselves (a ``bytes`` subclass, made with one copy), so
    the writer joins a batch of them at C speed (``b"".join``) and writes one as it
    is; ``type(x) is Encoded`` tells them from frame sequences.
    """

    __slots__ = ()


#: Most messages one :class:`Batch` holds before the next send starts another.
BATCH_MESSAGES = 64

#: Fewest messages one inbound run may hold before the next put starts another (the
#: length of runs of a pipe with a small RCVHWM: :func:`run_length`).
RUN_MESSAGES = 64

#: Most messages one inbound run holds: a pipe without RCVHWM.
MAX_RUN_MESSAGES = 1024


#: Largest body (exclusive) that Pipe.send_body queues alone; larger ones go as lists.
BODY_MAX = 1024


#: The widest gap libzmq leaves between a pipe's high- and low-water marks.
MAX_WM_DELTA = 1024


def low_water_mark(hwm: float) -> float:
    """The queue length at which a reader stopped at ``hwm`` messages by a short one
    goes on: half the HWM, or ``MAX_WM_DELTA`` below a large one (libzmq's
    ``pipe_t::compute_lwm``).

    Waking the reader at every run taken refilled the queue a run at a time (a task
    switch per 64 messages); at the low-water mark it refills in one go, while half
    the queue is still there to be taken. A reader stopped by a long message (at
    least :data:`BODY_MAX` octets) goes on at the first finished run, as before:
    for those the task switch is cheap beside the message, and refilling hundreds of
    them at once made glibc trim the heap and fault it back in."""
    if hwm == math.inf:
        return math.inf
    return hwm - MAX_WM_DELTA if hwm > 2 * MAX_WM_DELTA else (hwm + 1) // 2


def run_length(hwm: float) -> int:
    """Most messages one run of the decoder's short-message lane holds, in a pipe with
    RCVHWM ``hwm`` (other puts start a run at :data:`RUN_MESSAGES`).

    A run counts whole until its last message is taken, so it is the grain at which
    the queue falls: half the gap between the high- and low-water marks (at least
    :data:`RUN_MESSAGES`), and the queue still holds a gap's worth when the reader
    goes on. Runs of a whole RCVHWM made it swing between empty and full. A pipe
    without RCVHWM takes :data:`MAX_RUN_MESSAGES`: a run costs a channel item, a
    list and the decoder's per-run checks, 64 of them a 16-byte message's decode
    cost twice what 1024 do (``bench/frame_path.py``). Long messages keep runs of
    64: a run of hundreds of them is many megabytes taken and freed at once."""
    if hwm == math.inf:
        return MAX_RUN_MESSAGES
    gap = int(hwm - low_water_mark(hwm)) // 2
    return min(max(gap, RUN_MESSAGES), MAX_RUN_MESSAGES)


class Batch(list):  # type: ignore[type-arg]
    """Outbound messages queued on ``out`` as ONE channel item (a batched pipe).

    The newest batch stays open: while the writer has not taken it (``taken``),
    the next sends append to it instead of making a channel item each, as libzmq's
    ypipe writes many messages and flushes once. The writer sets ``taken`` when it
    processes the batch, and later sends start a new one.
    """

    __slots__ = ("bodies", "encoded", "taken")

    def __init__(self, first: Any, bodies: bool = False) -> None:
        super().__init__((first,))
        self.taken = False
        #: it holds an :class:`Encoded` (else only sequences of frames: the writer
        #: then takes it whole, with C-level list operations)
        self.encoded = type(first) is Encoded
        #: it holds only single-frame messages given as their bodies alone
        #: (``Pipe.send_body``; a batch holds either these or frame sequences)
        self.bodies = bodies


@attrs.frozen
class PipeStatistics:
    """A snapshot of one pipe (see :meth:`trinq.Socket.statistics`)."""

    endpoint: str
    routing_id: bytes
    connected: bool
    outbound_queued: int
    inbound_queued: int


class Pipe:
    """One peer's queues; see the module docstring."""

    __slots__ = (
        "_batched",
        "_conflate",
        "_in_cap",
        "_in_count",
        "_in_cur",
        "_in_cur_len",
        "_in_lwm",
        "_in_open",
        "_in_recv",
        "_in_run_max",
        "_in_send",
        "_in_waiter",
        "_in_wake_at",
        "_open",
        "_out_cap",
        "_out_closed",
        "_out_count",
        "_out_recv",
        "_out_send",
        "body_batch",
        "body_room",
        "carrier",
        "enc_batch",
        "enc_room",
        "endpoint",
        "peer_address",
        "peer_identity",
        "peer_minor",
        "peer_properties",
        "peer_socket_type",
        "put",
        "recv_nowait",
        "routing_id",
        "run_buffer",
        "send_body",
        "send_nowait",
        "shared_encoder",
        "state",
        "terminated",
    )

    run_buffer: list[Any] | None
    send_body: Callable[[bytes], None] | None

    def __init__(
        self,
        sndhwm: int,
        rcvhwm: int,
        endpoint: str = "",
        *,
        conflate: bool = False,
        shared_encoder: Callable[[Msg], bytes] | None = None,
        batched: bool = False,
    ) -> None:
        if conflate:
            # ZMQ_CONFLATE: each queue holds only the newest message.
            sndhwm = rcvhwm = 1
            batched = False
        out_cap = sndhwm if sndhwm > 0 else math.inf
        # A batched pipe bounds its messages itself (_out_count); its channel items
        # are batches, commands' WAKEs and a direct write's remainder.
        out_send, out_recv = trio.open_memory_channel[Msg](math.inf if batched else out_cap)
        in_cap = rcvhwm if rcvhwm > 0 else math.inf
        # A batched pipe's inbound items are runs (lists) of messages; it counts
        # RCVHWM in messages itself (_in_count), as it does SNDHWM.
        in_send: Any = None
        in_recv: Any = None
        if not batched:  # (a batched pipe makes its inbound channel with the first put)
            in_send, in_recv = trio.open_memory_channel[Msg](in_cap)
        self._conflate = conflate
        self._out_send = out_send
        self._out_recv = out_recv
        self._in_send = in_send
        self._in_recv = in_recv
        self._batched = batched
        self._out_cap = out_cap
        #: messages in this pipe's batches that the writer has not taken yet
        self._out_count = 0
        #: the newest batch (appended to until the writer takes it)
        self._open: Batch | None = None
        self._out_closed = False
        #: Enqueue a whole message for the peer; raises trio.WouldBlock at SNDHWM.
        self.send_nowait: SendNowait = self._queue_send()
        self._in_cap = in_cap
        #: a reader stopped at RCVHWM by a short message goes on once the queue is
        #: down to this many messages (libzmq's low-water mark: :func:`low_water_mark`)
        self._in_lwm = low_water_mark(in_cap)
        #: the queue length at which a finished run wakes the reader waiting for room
        #: (``put_wait`` sets it: the low-water mark, or any room for a long message)
        self._in_wake_at: float = math.inf
        #: most messages one run of the decoder's short-message lane holds
        #: (:func:`run_length`); other puts start a run at :data:`RUN_MESSAGES`
        self._in_run_max = run_length(in_cap)
        #: messages put and not yet taken, counted per run: a run being taken counts
        #: whole until its last message is taken (never more than RCVHWM queued)
        self._in_count = 0
        #: the newest run, appended to by the reader until the socket side takes it
        self._in_open: list[Any] | None = None
        #: the run being taken (reversed: its next message is the last item)
        self._in_cur: list[Any] = []
        self._in_cur_len = 0
        #: set when a reader waits for room (``put_wait``)
        self._in_waiter: trio.Event | None = None
        #: Take one whole message from the peer; trio.WouldBlock when empty,
        #: trio.EndOfChannel once terminated and drained.
        self.recv_nowait: RecvNowait
        #: The reader side: queue one inbound message; trio.WouldBlock at RCVHWM.
        self.put: Callable[[Any], None]
        if batched:
            self.recv_nowait = self._recv_batched
            self.put = self._put_batched
        else:
            self.recv_nowait = in_recv.receive_nowait  # pyright: ignore[reportOptionalMemberAccess]
            self.put = self.deliver_nowait
        self._init_peer(endpoint, shared_encoder)
        if batched:
            self.run_buffer = self._in_cur  # (documented in _init_peer)
        self.send_body = self._queue_body()

    def _init_peer(self, endpoint: str, shared_encoder: Callable[[Msg], bytes] | None) -> None:
        """Everything but the queues (a subclass with queues of its own calls this)."""
        self.endpoint = endpoint
        #: what carries this pipe's messages now (None: no connection at the moment)
        self.carrier: Carrier | None = None
        #: how this pipe's peers encode a message, when many pipes can share the bytes
        self.shared_encoder = shared_encoder
        self.routing_id = b""
        self.peer_identity = b""
        self.peer_socket_type = ""
        self.peer_properties: dict[str, bytes] = {}
        self.peer_minor = 1
        self.peer_address = ""
        self.terminated = False
        #: A batched pipe's run being taken, reversed (its next message is the last
        #: item): a socket served by this pipe alone pops from it itself, and calls
        #: :meth:`run_done` when it empties it (``Socket.recv``). None: no runs. Its
        #: items are frame tuples, or for a single-frame message the decoder's lane
        #: queued, the body alone (``bytes``: see ``zmtp.Inbox.open_run``).
        self.run_buffer = None
        #: Queue a single-frame message given as its body (``Socket.send``), where
        #: the pipe keeps it so (a batched pipe, while its writer is busy: no list
        #: per message, and the writer encodes runs of bodies at C speed); None:
        #: use :attr:`send_nowait` with the frames.
        self.send_body = None
        #: How many more bodies ``Socket.send`` may append to :attr:`body_batch`
        #: itself, with no check at all (0: call :attr:`send_body`). Positive only
        #: while that batch is the open one, holds bodies, is not taken, and both it
        #: and SNDHWM have room; whatever changes one of these sets it to 0. (Only
        #: a batched pipe's ``_send_body_batched`` makes it positive.)
        self.body_room = 0
        self.body_batch: Batch | None = None
        #: :attr:`body_room` for PUB's fan-out: how many more :class:`Encoded` items
        #: ``_Publisher.send_nowait`` may append to :attr:`enc_batch` itself. Positive
        #: only while that batch is the open one, holds Encoded items, is not taken, and
        #: both it and SNDHWM have room (``_send_batched`` grants it; what ends
        #: body_room ends it too).
        self.enc_room = 0
        self.enc_batch: Batch | None = None
        #: Free for the pattern's per-pipe bookkeeping.
        self.state: Any = None

    def __repr__(self) -> str:
        return f"<Pipe {self.endpoint or '?'} id={self.routing_id!r}>"

    # --- direct writes --------------------------------------------------------------

    def _queue_send(self) -> SendNowait:
        """How a message is queued for the writer: appended to a batch, or one channel
        item per message (not batched), or replacing the queued one (conflate)."""
        if self._conflate:
            return self._send_conflate
        return self._send_batched if self._batched else self._out_send.send_nowait

    def _queue_body(self) -> Callable[[bytes], None] | None:
        return self._send_body_batched if self._batched and not self._conflate else None

    def _send_body_batched(self, body: bytes) -> None:
        """:meth:`_send_batched` for a single-frame message given as its body (the
        batch holds the body alone; the writer's codec takes it so). Bodies of
        :data:`BODY_MAX` octets or more go as frame lists, as before: a list per
        message costs nothing next to their bytes, and bodies batches of 64 KiB
        messages measured slower (docs/design.md, "Bodies alone")."""
        if len(body) >= BODY_MAX:
            self._send_batched([body])
            return
        if self._out_closed:
            raise trio.ClosedResourceError
        if self._out_count >= self._out_cap:
            raise trio.WouldBlock
        batch = self._open
        if batch is not None and batch.bodies and not batch.taken and len(batch) < BATCH_MESSAGES:
            batch.append(body)
        else:
            batch = Batch(body, bodies=True)
            self._out_send.send_nowait(batch)
            self._open = batch
            self._end_body_room()  # (an Encoded batch is no longer the open one)
        count = self._out_count = self._out_count + 1
        # the next sends may append to this batch themselves (Socket.send)
        room = BATCH_MESSAGES - len(batch)
        cap = self._out_cap - count
        self.body_room = room if room < cap else int(cap)
        self.body_batch = batch

    def _send_batched(self, msg: Msg) -> None:
        """Queue ``msg``: in the open batch if the writer has not taken it yet (no
        channel operation at all), else in a new batch. SNDHWM counts messages."""
        if self._out_closed:
            raise trio.ClosedResourceError
        if self._out_count >= self._out_cap:
            raise trio.WouldBlock
        batch = self._open
        if (
            batch is not None
            and not batch.taken
            and len(batch) < BATCH_MESSAGES
            and not batch.bodies
        ):
            batch.append(msg)
            if type(msg) is Encoded:  # type: ignore[comparison-overlap]
                batch.encoded = True
        else:
            batch = Batch(msg)
            self._out_send.send_nowait(batch)
            self._open = batch
            self._end_body_room()  # a bodies batch is no longer the open one
        count = self._out_count = self._out_count + 1
        if batch.encoded:
            # the next fan-outs may append their Encoded items to it themselves
            room = BATCH_MESSAGES - len(batch)
            cap = self._out_cap - count
            self.enc_room = room if room < cap else int(cap)
            self.enc_batch = batch

    def _end_body_room(self) -> None:
        """The open batch may no longer be appended to by ``Socket.send`` itself
        (:attr:`body_room`), nor by PUB's fan-out (:attr:`enc_room`): taken, followed
        by another kind of batch, closed, or direct mode."""
        self.body_room = 0
        self.body_batch = None
        self.enc_room = 0
        self.enc_batch = None

    def taken(self, batch: Batch) -> None:
        """The writer took ``batch``: its messages no longer count against SNDHWM."""
        batch.taken = True
        self._out_count -= len(batch)
        if self._open is batch:
            self._open = None  # (nor is the last batch kept alive, with its messages)
            self._end_body_room()

    def enable_direct(self) -> None:
        """Called by an idle writer: route the next message through
        :meth:`_send_direct` so it can be written without waking the writer."""
        if not self._conflate:
            self._end_body_room()
            self.send_nowait = self._send_direct
            if self.send_body is not None:
                self.send_body = self._send_body_direct

    def disable_direct(self) -> None:
        self.send_nowait = self._queue_send()
        self.send_body = self._queue_body()

    def _send_direct(self, msg: Msg) -> None:
        carrier = self.carrier
        if carrier is not None and carrier.try_write_now(msg):
            return
        self.disable_direct()
        self.send_nowait(msg)

    def _send_body_direct(self, body: bytes) -> None:
        """:meth:`_send_direct` for a body alone; queued as a body when the direct
        write does not happen, so a tight send loop's batches stay all bodies (a
        frames batch in front of them made the writer join the two: another copy)."""
        carrier = self.carrier
        if carrier is not None and carrier.try_write_now([body]):
            return
        self.disable_direct()
        self._send_body_batched(body)

    # --- conflate ------------------------------------------------------------------

    def _send_conflate(self, msg: Msg) -> None:
        try:
            self._out_recv.receive_nowait()  # replace the queued message, if any
        except (trio.WouldBlock, trio.EndOfChannel):
            pass
        self._out_send.send_nowait(msg)

    def deliver_nowait(self, msg: Msg) -> None:
        """Reader side: queue an inbound message (conflate: replacing the old one)."""
        if self._conflate:
            try:
                self._in_recv.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel):
                pass
        self._in_send.send_nowait(msg)

    async def put_wait(self, msg: Any) -> None:
        """Reader side: queue ``msg``, waiting for room at RCVHWM (so TCP pushes back).

        Cancellation: as a memory channel's ``send``: ``msg`` was queued or not."""
        if not self._batched:
            await self._in_send.send(msg)
            return
        # Short messages wait for the low-water mark (a refill in one go); a long one
        # for any room: refills of hundreds of long messages at a time made the heap
        # swing by as many megabytes, and glibc trimmed it and faulted it back in.
        size = len(msg) if type(msg) is bytes else sum(map(len, msg))
        self._in_wake_at = self._in_lwm if size < BODY_MAX else math.inf
        while True:
            if self.terminated:
                raise trio.ClosedResourceError("the pipe was terminated")
            try:
                self._put_batched(msg)
            except trio.WouldBlock:
                pass
            else:
                return
            waiter = self._in_waiter = trio.Event()
            await waiter.wait()

    # --- inbound runs (a batched pipe) --------------------------------------------------

    def _put_batched(self, msg: Any) -> None:
        """Queue one inbound message: appended to the open run, or a new run."""
        if self._in_count >= self._in_cap:
            raise trio.WouldBlock
        run = self._in_open
        if run is None or len(run) >= RUN_MESSAGES:
            run = self._new_run()
        run.append(msg)
        self._in_count += 1

    def _new_run(self) -> list[Any]:
        """Queue a new, empty run and make it the open one (an empty run is skipped by
        the taker)."""
        run: list[Any] = []
        send = self._in_send
        (self._open_inbound() if send is None else send).send_nowait(run)
        self._in_open = run
        return run

    def _open_inbound(self) -> trio.MemorySendChannel[Any]:
        """The inbound channel, made with the first put (an idle connection's pipe has
        none: docs/reliability.md, the scale bar); ClosedResourceError once terminated."""
        if self.terminated:
            raise trio.ClosedResourceError("the pipe was terminated")
        send, self._in_recv = trio.open_memory_channel[Any](math.inf)
        self._in_send = send
        return send

    def in_room(self) -> float:
        """How many more inbound messages the decoder may append to :meth:`open_run`'s
        list now: the room under RCVHWM, at most what that run still holds."""
        room = self._in_cap - self._in_count
        run = self._in_open
        most = self._in_run_max
        left = most - len(run) if run is not None and len(run) < most else most
        return room if room < left else left

    def open_run(self) -> list[Any]:
        """The list the reader may append inbound messages to directly (the open run),
        at most :meth:`in_room` of them, then :meth:`close_run` with how many."""
        run = self._in_open
        if run is None or len(run) >= self._in_run_max:
            run = self._new_run()
        return run

    def close_run(self, n: int) -> None:
        self._in_count += n

    def _recv_batched(self) -> Any:
        cur = self._in_cur
        if cur:
            msg = cur.pop()
            if not cur:
                self.run_done()
            # a single-frame message from the decoder's lane is its body alone in the
            # run (zmtp.Inbox.open_run); takers get frames, as from any pipe
            return (msg,) if type(msg) is bytes else msg
        return self._recv_run()

    def _recv_run(self) -> Any:
        """Take the next run from the channel (WouldBlock / EndOfChannel as it says)."""
        receive = self._in_recv
        if receive is None:  # nothing was ever put
            raise trio.EndOfChannel if self.terminated else trio.WouldBlock
        while True:
            run = receive.receive_nowait()
            if run is self._in_open:
                self._in_open = None  # the reader starts another
            n = len(run)
            if n:
                break
        if n == 1:
            self._in_cur_len = 1
            self.run_done()
            msg = run[0]
        else:
            run.reverse()
            msg = run.pop()
            self._in_cur += run  # (one list for the pipe's life: run_buffer)
            self._in_cur_len = n
        return (msg,) if type(msg) is bytes else msg  # (as _recv_batched)

    def run_done(self) -> None:
        """The run being taken is empty (its last message was just popped from
        :attr:`run_buffer`): its messages leave the count; a reader waiting for room
        goes on if that left the queue where :meth:`put_wait` said."""
        count = self._in_count = self._in_count - self._in_cur_len
        self._in_cur_len = 0
        if count <= self._in_wake_at:
            self._wake_reader()

    def _wake_reader(self) -> None:
        """A reader waiting for room (``put_wait``) looks again."""
        waiter = self._in_waiter
        if waiter is not None:
            self._in_waiter = None
            waiter.set()

    @property
    def conflate(self) -> bool:
        return self._conflate

    # --- socket side -------------------------------------------------------------

    def writable(self) -> bool:
        """Whether one more message fits under SNDHWM."""
        if self._batched:
            return not self.terminated and self._out_count < self._out_cap
        st = self._out_send.statistics()
        return not self.terminated and st.current_buffer_used < st.max_buffer_size

    def send_command(self, command: Any) -> None:
        """Queue a command (Subscribe, Cancel, Join, Leave) for the current connection.

        Commands bypass the HWM. While no connection is attached they are dropped:
        patterns replay their state (e.g. every subscription) on each new connection.
        """
        if self.carrier is not None and not self.terminated:
            self.carrier.send_command(command)

    def outbound_pending(self) -> bool:
        """Whether messages are queued, or held by a writer that has not written them.

        A writer parked in ``receive()`` holds nothing; one that has been handed a
        message (or is inside ``send_all``) is not parked, so it counts as pending
        until it finishes.
        """
        st = self._out_send.statistics()
        if st.current_buffer_used or self._out_count:
            return True
        return self.carrier is not None and st.tasks_waiting_receive == 0

    def outbound_queued(self) -> int:
        if self._batched:
            return self._out_count
        return self._out_send.statistics().current_buffer_used

    def inbound_queued(self) -> int:
        if self._batched:
            return self._in_count - self._in_cur_len + len(self._in_cur)
        used: int = self._in_send.statistics().current_buffer_used
        return used

    def statistics(self) -> PipeStatistics:
        return PipeStatistics(
            endpoint=self.endpoint,
            routing_id=self.routing_id,
            connected=self.carrier is not None,
            outbound_queued=self.outbound_queued(),
            inbound_queued=self.inbound_queued(),
        )

    def close_outbound(self) -> None:
        """Refuse new outbound messages; the writer drains what is queued, then ends
        the connection (the engine terminates the pipe then). Inbound stays open."""
        self._out_closed = True
        self._end_body_room()
        self._out_send.close()

    def terminate(self) -> None:
        """End the pipe: refuse new outbound messages, let inbound ones drain."""
        if self.terminated:
            return
        self.terminated = True
        self._out_closed = True
        self._end_body_room()
        self._out_send.close()
        if self._in_send is not None:
            self._in_send.close()
        self._in_open = None  # the reader's next put finds the channel closed
        self._wake_reader()
