"""SocketCore: the one contract between a socket and whatever carries its messages.

A :class:`trinq.Socket` is the public face; everything below it -- engines, the
stream transports' accept and dial loops, the inproc links, later ws and udp --
talks to the socket only through its :class:`SocketCore`: attach and release a peer
pipe, wake the senders or receivers, count traffic, emit monitor events, read the
options, see that the socket is closing. No module outside ``_socket.py`` reads a
``Socket``'s private attributes, and nothing here imports the socket.

Fields are plain attributes (``__slots__``) because hot paths read them: the
engine's reader wakes ``receivers`` once per read, its writer adds to ``counters``
once per batch, ``direct_ok`` is read on every direct write.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import trio
from trio.lowlevel import enable_ki_protection

from ._monitor import Event, Monitor, MonitorEvent
from ._options import Options
from ._pipe import Msg, Pipe
from ._wait import WaitQueue

if TYPE_CHECKING:
    from ._patterns import Pattern


class Loan(Protocol):
    """A connection's read loan as the socket sees it (``trinq._loan.ReadLoan``)."""

    #: READER / LENT / RETURNED (``trinq._loan``)
    state: int

    def end(self) -> None: ...

    async def borrow(self) -> bool: ...

    def read_available(self) -> bool | None: ...


__all__ = ["YIELD_EVERY", "Counters", "Loan", "PeerInfo", "SocketCore"]

#: A ``send``/``recv`` that completes without waiting yields to the scheduler
#: once every this many calls (see "the cost model" in ``trinq._socket``).
YIELD_EVERY = 128


class Counters:
    """Traffic counters of one socket (``Socket.statistics()`` reads them)."""

    __slots__ = (
        "busy_poll_hits",
        "busy_polls",
        "bytes_in",
        "bytes_out",
        "messages_in",
        "messages_out",
    )

    def __init__(self) -> None:
        self.messages_in = 0
        self.messages_out = 0
        self.bytes_in = 0
        self.bytes_out = 0
        #: receives that busy-polled (the ``busy_poll`` option), and those that found data
        self.busy_polls = 0
        self.busy_poll_hits = 0


class PeerInfo:
    """What a carrier learned about its peer (from the handshake, or from the other
    socket for inproc), handed to :meth:`SocketCore.connect_peer`."""

    __slots__ = ("address", "identity", "minor", "properties", "socket_type")

    def __init__(
        self,
        socket_type: str,
        identity: bytes = b"",
        properties: dict[str, bytes] | None = None,
        minor: int = 1,
        address: str = "",
    ) -> None:
        self.socket_type = socket_type
        self.identity = identity
        self.properties = properties if properties is not None else {}
        self.minor = minor
        self.address = address


class SocketCore:
    """See the module docstring."""

    __slots__ = (
        "_conn_counter",
        "_connect_pipes",
        "_monitors",
        "closing",
        "context",
        "counters",
        "direct_ok",
        "drained",
        "linger_pipes",
        "loan",
        "options",
        "pattern",
        "pipes",
        "polling",
        "receivers",
        "recv_budget",
        "send_budget",
        "senders",
        "socket_type",
        "spawn",
        "terminated",
    )

    def __init__(
        self,
        options: Options,
        pattern: Pattern,
        context: Any,
        spawn: Callable[..., None],
    ) -> None:
        self.options = options
        self.pattern = pattern
        #: the ZMTP socket-type name ("REQ", ...)
        self.socket_type: str = pattern.socket_type
        #: the owning Context (transports keep per-context state there: inproc names)
        self.context = context
        #: start a task in the socket's nursery: ``spawn(fn, *args)``
        self.spawn = spawn
        self.pipes: set[Pipe] = set()
        self.senders = WaitQueue()
        self.receivers = WaitQueue()
        self.counters = Counters()
        #: sends / receives left before the next forced yield (the cost model)
        self.send_budget = YIELD_EVERY
        self.recv_budget = YIELD_EVERY
        #: True once the socket waited, or yielded in a receive, since its last send:
        #: the next send may be written directly by the engine
        #: (``Engine.try_write_now``).
        self.direct_ok = True
        #: the read loan of this socket's only connection, while one is lent
        #: (``trinq._loan``): receivers then read the connection themselves
        self.loan: Loan | None = None
        #: Poller tasks parked on ``receivers`` (the reader lends only to receivers)
        self.polling = 0
        #: the socket refuses new work (close() or aclose() began)
        self.closing = False
        #: set by Context.term(): closed-socket errors become ContextTerminated
        self.terminated = False
        #: set once nothing queued outbound remains while closing (linger waits on it)
        self.drained = trio.Event()
        self.linger_pipes: list[Pipe] = []
        self._monitors: list[Monitor] = []
        self._conn_counter = 0
        self._connect_pipes: dict[str, list[Pipe]] = {}

    # --- pipes -------------------------------------------------------------------

    def new_pipe(self, endpoint: str, shared_encoder: Callable[[Msg], bytes] | None = None) -> Pipe:
        """A pipe with this socket's HWMs (not attached yet)."""
        opts = self.options
        return Pipe(
            opts.sndhwm,
            opts.rcvhwm,
            endpoint,
            conflate=opts.conflate,
            shared_encoder=shared_encoder,
            batched=True,
        )

    @enable_ki_protection
    def attach_pipe(self, pipe: Pipe) -> None:
        """The pipe joins the socket: the pattern routes over it from now on."""
        if self.pipes:  # only the only pipe's connection lends (trinq._loan)
            loan = self.loan
            if loan is not None:
                loan.end()
        self.pipes.add(pipe)
        self.pattern.attach(pipe)
        self.wake_all()

    def add_connect_pipe(self, endpoint: str, pipe: Pipe) -> None:
        """A connect-side pipe, made by ``connect()``: attached at once, and ended by
        ``disconnect(endpoint)``."""
        self.attach_pipe(pipe)
        self._connect_pipes.setdefault(endpoint, []).append(pipe)

    def pop_connect_pipes(self, endpoint: str) -> list[Pipe]:
        return self._connect_pipes.pop(endpoint, [])

    @enable_ki_protection
    def terminate_pipe(self, pipe: Pipe) -> None:
        """The pipe is gone for good: detach it, end its queues, wake everyone."""
        pipes = self._connect_pipes.get(pipe.endpoint)
        if pipes and pipe in pipes:
            pipes.remove(pipe)
            if not pipes:
                del self._connect_pipes[pipe.endpoint]
        if pipe in self.pipes:
            self.pipes.discard(pipe)
            self.pattern.detach(pipe)
        pipe.terminate()
        self.wake_all()

    @enable_ki_protection
    def connect_peer(
        self,
        pipe: Pipe | None,
        endpoint: str,
        routing_id: bytes,
        peer: PeerInfo,
        carrier: Any,
        *,
        attach: bool | None = None,
    ) -> Pipe | None:
        """A carrier (a connection whose handshake is done, an inproc link) starts
        feeding ``pipe`` -- a connect-side pipe that outlives reconnects -- or, when
        ``pipe`` is None, a fresh one attached now (bind side; ``attach=True`` with a
        pipe made by the carrier). Returns the pipe, or None when the pattern refuses
        the peer (PAIR's second peer)."""
        fresh = pipe is None if attach is None else attach
        if pipe is None:
            pipe = self.new_pipe(endpoint, getattr(carrier, "shared_encoder", None))
            pipe.routing_id = routing_id
        pipe.peer_socket_type = peer.socket_type
        pipe.peer_identity = peer.identity
        pipe.peer_properties = peer.properties
        pipe.peer_minor = peer.minor
        pipe.peer_address = peer.address
        if fresh:
            if not self.pattern.accepts_pipe(pipe):
                return None
            self.attach_pipe(pipe)
        pipe.carrier = carrier
        self.pattern.pipe_connected(pipe)
        self.wake_senders()
        return pipe

    @enable_ki_protection
    def disconnect_peer(self, pipe: Pipe, carrier: Any, *, end_pipe: bool) -> None:
        """The carrier stopped feeding ``pipe``; ``end_pipe``: the pipe ends with it
        (a bind-side pipe, or after a protocol error)."""
        if pipe.carrier is carrier:
            pipe.carrier = None
        self.pattern.pipe_disconnected(pipe)
        if end_pipe:
            self.terminate_pipe(pipe)
        self.check_drained()

    # --- waking ------------------------------------------------------------------

    def wake_senders(self) -> None:
        if self.senders:
            self.senders.unpark_all()

    def wake_receivers(self) -> None:
        if self.receivers:
            self.receivers.unpark_all()

    def wake_all(self) -> None:
        if self.senders:
            self.senders.unpark_all()
        if self.receivers:
            self.receivers.unpark_all()

    # --- closing -----------------------------------------------------------------

    def outbound_pending(self) -> bool:
        return any(pipe.outbound_pending() for pipe in self.linger_pipes)

    def check_drained(self) -> None:
        """Called whenever outbound data may have gone: lets a lingering close end."""
        if self.closing and not self.outbound_pending():
            self.drained.set()

    # --- monitoring --------------------------------------------------------------

    def next_connection_id(self) -> int:
        self._conn_counter += 1
        return self._conn_counter

    def add_monitor(self, monitor: Monitor) -> None:
        self._monitors.append(monitor)

    def emit(
        self,
        event: Event,
        value: int,
        endpoint: str,
        reason: str | None = None,
        peer_address: str | None = None,
    ) -> None:
        """A monitor event (no cost when nobody monitors)."""
        if self._monitors:
            ev = MonitorEvent(event, value, endpoint, reason, peer_address)
            for mon in self._monitors:
                mon.emit(ev)

    def stop_monitors(self) -> None:
        for mon in self._monitors:
            mon.emit(MonitorEvent(Event.MONITOR_STOPPED, 0, ""))
            mon.close()
