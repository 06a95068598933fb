"""inproc://NAME: two sockets of one Context, their pipes cross-linked (no engine).

There is no connection, no encoding and no task: connecting links a pipe of the
connecting socket with a pipe of the bound one so that each one's outbound queue *is*
the other's inbound queue (libzmq's ``pipepair``; here a plain deque per direction).
A send puts the message straight into the peer's queue and wakes the peer's
receivers; a receive that makes room wakes the peer's blocked senders; a command (a
subscription) goes straight to the peer's pattern. This is omq.rb's ``pipe.peer = other``.

* Names are per :class:`~trinq.Context` (two contexts never see each other's).
* Bind and connect work in either order (libzmq >= 4): a connect to a name nobody
  has bound yet makes the connecting side's pipe at once (messages queue up to its
  SNDHWM) and links it when the name is bound.
* HWM as libzmq counts it for inproc: one direction holds the sender's ``sndhwm``
  plus the receiver's ``rcvhwm`` messages (unlimited when either is 0). For a
  connect before the bind the queue is made with the connecting side's HWM and
  grows by the binder's at the link (libzmq's ``set_hwms_boost``). ``conflate`` on
  either end makes a direction keep only the newest message; toward a send-only
  socket (PUB) messages are dropped, as its engine would drop them.
* The connecting side's pipe outlives its peers, as a tcp connect-side pipe does:
  when the bound socket unbinds or closes, the link ends, the connecting side keeps
  what it queued and links again, after ``reconnect_ivl`` (never with -1), once the
  name is bound (libzmq does not re-link inproc connects; trinq behaves as its tcp
  does). When the connecting side disconnects or closes, the bound side's pipe ends.
  Messages already in a queue are still received. Linger does not apply: a message
  sent is already in the peer's queue.
* Monitor events as for tcp: CONNECTED/ACCEPTED, HANDSHAKE_SUCCEEDED, DISCONNECTED
  (libzmq emits none for inproc).
* Socket types must be compatible (ZMTP's table): otherwise both sides get a
  ``HANDSHAKE_FAILED_PROTOCOL`` monitor event and the connect-side pipe ends.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import trio
from trio.lowlevel import enable_ki_protection

from .. import zmtp
from .._constants import EADDRINUSE, EINVAL, ENOTSUP, NULL
from .._core import PeerInfo, SocketCore
from .._errors import ZMQError
from .._monitor import Event
from .._pipe import Msg, Pipe

__all__ = ["InprocTransport"]


def _capacity(hwm: int) -> float:
    return hwm if hwm > 0 else math.inf


class _Queue:
    """One direction of a linked pair: a deque plus libzmq's inproc HWM.

    Plain Python, not a trio memory channel: both ends are synchronous
    (``*_nowait``) and the waiting happens on the sockets' wait queues, so the
    channel's own machinery would only cost time on every message."""

    __slots__ = ("cap", "ended", "items", "sender_lot")

    def __init__(self, cap: float) -> None:
        self.items: deque[Msg] = deque()
        #: most messages queued (the sender's sndhwm + the receiver's rcvhwm)
        self.cap = cap
        #: the receiving pipe ends: it gets EndOfChannel once this is drained
        self.ended = False
        #: the sending socket's wait queue, woken when a receive makes room
        self.sender_lot: Any = None

    def resize(self, own_hwm: int, peer_hwm: int | None) -> None:
        """libzmq's inproc HWM: the sender's sndhwm plus the receiver's rcvhwm
        (unlimited when either is 0); ``peer_hwm=None``: no peer now, the own HWM
        (libzmq grows a connect-before-bind queue with ``set_hwms_boost``)."""
        if peer_hwm is None:
            self.cap = _capacity(own_hwm)
        elif own_hwm <= 0 or peer_hwm <= 0:
            self.cap = math.inf
        else:
            self.cap = own_hwm + peer_hwm


class _Registry:
    """One Context's inproc names: who is bound, and who waits for a bind."""

    def __init__(self) -> None:
        self.bound: dict[str, InprocBinding] = {}
        self.pending: dict[str, list[InprocDialing]] = {}


def _registry(context: Any) -> _Registry:
    reg = getattr(context, "_inproc", None)
    if reg is None:
        reg = _Registry()
        context._inproc = reg
    return reg


def is_bound(context: Any, name: str) -> bool:
    """Whether ``inproc://name`` is bound in ``context`` now (the ZAP handler check)."""
    return name in _registry(context).bound


def _refuse(msg: Msg) -> None:
    raise trio.ClosedResourceError("the pipe was terminated")


class InprocPipe(Pipe):
    """One end of a cross-linked pair; its send and receive wake the other socket.

    The connecting side's pipe (``dialing`` set) outlives its peers, like a tcp
    connect-side pipe: when the bound socket goes away it is unlinked (what it
    queued stays queued) and linked again when the name is bound again. The bound
    side's pipe lives as long as the link."""

    __slots__ = ("dialing", "in_q", "link_core", "link_peer", "out_q", "own_core")

    def __init__(self, core: SocketCore, endpoint: str, out_q: _Queue, in_q: _Queue) -> None:
        self._init_peer(endpoint, None)
        self._conflate = False
        self.own_core = core
        self.link_core: SocketCore | None = None
        self.link_peer: InprocPipe | None = None
        self.dialing: InprocDialing | None = None
        self.out_q = out_q
        self.in_q = in_q
        self.send_nowait = self._send_unlinked
        items = in_q.items
        popleft = items.popleft

        # Set once: a fair queue serving a single pipe keeps this function
        # (FairQueue.fast_recv), so it must not change when the pipe is (re)linked.
        def recv_nowait() -> Msg:
            try:
                msg = popleft()
            except IndexError:
                if in_q.ended:
                    raise trio.EndOfChannel from None
                raise trio.WouldBlock from None
            lot = in_q.sender_lot
            if lot is not None and lot._tasks:
                lot.unpark_all()  # room again: wake the peer's blocked senders
            return msg

        self.recv_nowait = recv_nowait

    @classmethod
    def make(cls, core: SocketCore, endpoint: str, routing_id: bytes) -> InprocPipe:
        """The connecting side's pipe, with queues of its own HWMs."""
        opts = core.options
        pipe = cls(core, endpoint, _Queue(_capacity(opts.sndhwm)), _Queue(_capacity(opts.rcvhwm)))
        pipe.routing_id = routing_id
        return pipe

    def _send_unlinked(self, msg: Msg) -> None:
        """No peer (yet, or any more): queue up to the own HWM."""
        q = self.out_q
        if len(q.items) >= q.cap:
            raise trio.WouldBlock
        q.items.append(msg)

    def link(self, core: SocketCore, peer: InprocPipe) -> None:
        """Send to and receive from ``peer`` (a pipe of the socket behind ``core``)."""
        self.link_core = core
        self.link_peer = peer
        q = self.out_q
        q.ended = False
        q.sender_lot = self.own_core.senders
        items = q.items
        append = items.append
        receivers = core.receivers
        mine = self.own_core.counters
        theirs = core.counters

        if not core.pattern.accepts_inbound:
            # toward a send-only socket (PUB): dropped, as its engine would drop them

            def send_nowait(msg: Msg) -> None:
                mine.messages_out += 1

        elif self.own_core.options.conflate or core.options.conflate:
            # ZMQ_CONFLATE on either end: the queue keeps only the newest message

            def send_nowait(msg: Msg) -> None:
                items.clear()
                append(msg)
                mine.messages_out += 1
                theirs.messages_in += 1
                if receivers._tasks:
                    receivers.unpark_all()

        else:

            def send_nowait(msg: Msg) -> None:
                if len(items) >= q.cap:
                    raise trio.WouldBlock
                append(msg)
                mine.messages_out += 1
                theirs.messages_in += 1
                if receivers._tasks:
                    receivers.unpark_all()

        self.send_nowait = send_nowait

    def _unlink(self) -> None:
        """The peer is gone but this pipe lives on (the connecting side)."""
        self.link_core = self.link_peer = None
        self.send_nowait = self._send_unlinked
        self.in_q.sender_lot = None
        opts = self.own_core.options
        self.out_q.resize(opts.sndhwm, None)
        self.in_q.resize(opts.rcvhwm, None)

    # --- the Pipe queries, on the deques ---------------------------------------------

    def writable(self) -> bool:
        q = self.out_q
        return not self.terminated and len(q.items) < q.cap

    def outbound_queued(self) -> int:
        return len(self.out_q.items)

    def inbound_queued(self) -> int:
        return len(self.in_q.items)

    def outbound_pending(self) -> bool:
        return False  # what was sent is in the peer's queue already: nothing to linger for

    @enable_ki_protection
    def terminate(self) -> None:
        if self.terminated:
            return
        self.terminated = True
        self.send_nowait = _refuse
        self.in_q.ended = True  # what arrived is still received, then EndOfChannel
        peer, core = self.link_peer, self.link_core
        if peer is None or core is None:
            return
        self.own_core.emit(Event.DISCONNECTED, 0, self.endpoint, "inproc link closed")
        self.link_core = self.link_peer = None
        if peer.terminated:
            return
        if peer.dialing is not None:
            peer._lose_peer()
        else:
            self.out_q.ended = True
            core.terminate_pipe(peer)  # a bound side's pipe ends with its link
            core.wake_receivers()

    @enable_ki_protection
    def _lose_peer(self) -> None:
        """The connecting side's pipe: its bound peer went away; wait for a new bind."""
        own = self.own_core
        carrier = self.carrier
        own.emit(Event.DISCONNECTED, 0, self.endpoint, "inproc peer closed")
        self._unlink()
        own.disconnect_peer(self, carrier, end_pipe=False)
        dialing = self.dialing
        if dialing is None or dialing.ended:
            return
        ivl = own.options.reconnect_ivl
        if ivl < 0:  # as a tcp dialer: no reconnect
            dialing.ended = True
            return
        # As a tcp dialer, after reconnect_ivl -- and never from inside the pattern
        # call that dropped the link (a ROUTER handing an identity over).
        own.spawn(dialing.pend_after, ivl / 1000)


class _Carrier:
    """What an inproc pipe calls: commands go straight to the peer's pattern."""

    __slots__ = ("core", "pipe")
    shared_encoder = None

    def __init__(self, core: SocketCore, pipe: Pipe) -> None:
        self.core = core  # the peer's socket
        self.pipe = pipe  # the peer's pipe

    def try_write_now(self, msg: Any) -> bool:
        return False

    def send_command(self, command: Any) -> None:
        if not self.pipe.terminated:
            self.core.pattern.on_command(self.pipe, command)
            self.core.wake_receivers()  # e.g. XPUB turned a subscription into a message


def _peer_info(core: SocketCore) -> PeerInfo:
    """What the other socket learns about ``core``'s, as a READY would tell it."""
    props = {"Socket-Type": core.socket_type.encode()}
    identity = b""
    if core.socket_type in zmtp.IDENTITY_SENDERS:
        identity = props["Identity"] = core.options.routing_id
    return PeerInfo(core.socket_type, identity, props)


@enable_ki_protection
def _link(binding: InprocBinding, dialing: InprocDialing) -> None:
    """Cross-link the connecting side's pipe with a new pipe of the bound side."""
    bcore, ccore = binding.core, dialing.core
    cpipe = dialing.pipe
    endpoint = binding.endpoint
    if cpipe.terminated or dialing.ended:
        return
    ccore.emit(Event.CONNECTED, ccore.next_connection_id(), endpoint)
    bcore.emit(Event.ACCEPTED, bcore.next_connection_id(), endpoint)
    if not zmtp.is_compatible(bcore.socket_type, ccore.socket_type):
        reason = (
            f"incompatible socket types over {endpoint}: "
            f"{ccore.socket_type} cannot talk to {bcore.socket_type}"
        )
        for core in (bcore, ccore):
            core.emit(
                Event.HANDSHAKE_FAILED_PROTOCOL,
                zmtp.ProtocolErrorCode.UNSPECIFIED,
                endpoint,
                reason,
            )
        dialing.ended = True  # as after a protocol error: this connect is over
        ccore.terminate_pipe(cpipe)
        return
    bpipe = InprocPipe(bcore, endpoint, cpipe.in_q, cpipe.out_q)
    attached = bcore.connect_peer(
        bpipe, endpoint, b"", _peer_info(ccore), _Carrier(ccore, cpipe), attach=True
    )
    if attached is None:
        # Refused by the pattern (PAIR's second peer), as a tcp connection would be:
        # the connecting side keeps its pipe (what it sends stays queued there).
        bcore.emit(Event.DISCONNECTED, 0, endpoint, "peer refused by the pattern")
        bpipe.terminate()
        return
    bopts, copts = bcore.options, ccore.options
    cpipe.out_q.resize(copts.sndhwm, bopts.rcvhwm)
    cpipe.in_q.resize(bopts.sndhwm, copts.rcvhwm)
    bpipe.link(ccore, cpipe)
    cpipe.link(bcore, bpipe)
    binding.pipes.add(bpipe)
    ccore.connect_peer(cpipe, endpoint, b"", _peer_info(bcore), _Carrier(bcore, bpipe))
    for core in (bcore, ccore):
        core.emit(Event.HANDSHAKE_SUCCEEDED, 0, endpoint)
    # messages queued before the link are waiting: each side may take them now
    bcore.wake_all()
    ccore.wake_all()


class InprocBinding:
    """A bound inproc name."""

    def __init__(self, core: SocketCore, name: str, registry: _Registry) -> None:
        self.core = core
        self.name = name
        self.endpoint = f"inproc://{name}"
        self.registry = registry
        self.pipes: set[InprocPipe] = set()

    def _unregister(self) -> None:
        if self.registry.bound.get(self.name) is self:
            del self.registry.bound[self.name]

    @enable_ki_protection
    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self.core.emit(Event.LISTENING, 0, self.endpoint)
        task_status.started()
        try:
            await trio.sleep_forever()
        finally:
            self.stop_accepting()
            for pipe in list(self.pipes):
                self.core.terminate_pipe(pipe)  # the connecting sides wait for a new bind
            self.pipes.clear()

    def stop_accepting(self) -> None:
        if self.registry.bound.get(self.name) is self:
            self._unregister()
            self.core.emit(Event.CLOSED, 0, self.endpoint)

    async def discard(self) -> None:
        self._unregister()
        await trio.lowlevel.checkpoint()


class InprocDialing:
    """One ``connect()`` to an inproc name: its pipe, linked now or at the next bind."""

    def __init__(self, core: SocketCore, name: str, pipe: InprocPipe, registry: _Registry) -> None:
        self.core = core
        self.name = name
        self.pipe = pipe
        pipe.dialing = self
        self.registry = registry
        self.ended = False

    def pend(self) -> None:
        """Wait for the name to be bound (again)."""
        binding = self.registry.bound.get(self.name)
        if binding is not None:
            _link(binding, self)
        else:
            self.registry.pending.setdefault(self.name, []).append(self)

    @enable_ki_protection
    async def pend_after(self, delay: float) -> None:
        await trio.sleep(delay)
        if not self.ended and not self.core.closing and not self.pipe.terminated:
            self.pend()

    def stop(self) -> None:
        pending = self.registry.pending.get(self.name)
        if pending and self in pending:
            pending.remove(self)
            if not pending:
                del self.registry.pending[self.name]
        self.ended = True


def _no_security(core: SocketCore) -> None:
    """inproc has no handshake to run PLAIN or CURVE in: a socket whose options ask
    for one cannot use it (never a fall-back to NULL; libzmq skips security here)."""
    if core.options.mechanism != NULL:
        raise ZMQError(
            ENOTSUP,
            "inproc carries no security mechanism: a socket with PLAIN or CURVE options "
            "cannot bind or connect over inproc (it would run without security)",
        )


class InprocTransport:
    """See the module docstring."""

    scheme = "inproc"

    def check_connect_address(self, address: str) -> None:
        if not address:
            raise ZMQError(EINVAL, "invalid inproc address: empty name")

    async def bind(self, core: SocketCore, address: str) -> InprocBinding:
        self.check_connect_address(address)
        _no_security(core)
        await trio.lowlevel.checkpoint()
        reg = _registry(core.context)
        if address in reg.bound:
            raise ZMQError(EADDRINUSE, f"inproc://{address} is already bound")
        binding = InprocBinding(core, address, reg)
        reg.bound[address] = binding
        for dialing in reg.pending.pop(address, []):
            _link(binding, dialing)
        return binding

    def connect(
        self, core: SocketCore, endpoint: str, address: str, routing_id: bytes
    ) -> InprocDialing:
        _no_security(core)
        reg = _registry(core.context)
        pipe = InprocPipe.make(core, endpoint, routing_id)
        core.add_connect_pipe(endpoint, pipe)
        dialing = InprocDialing(core, address, pipe, reg)
        dialing.pend()
        return dialing
