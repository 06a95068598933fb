"""inproc://NAME: two sockets of one Context, their pipes cross-linked (no engine).

There is no connection, no encoding and no task: connecting links a pipe of the
connecting socket with a pipe of the bound one so that each one's outbound channel
*is* the other's inbound channel (libzmq's ``pipepair``). A send puts the message
straight into the peer's queue and wakes the peer's receivers; a receive that makes
room wakes the peer's blocked senders; a command (a subscription) goes straight to
the peer's pattern. This is omq.rb's ``pipe.peer = other``.

* Names are per :class:`~trinq.Context` (two contexts never see each other's).
* Bind and connect work in either order (libzmq >= 4): a connect to a name nobody
  has bound yet makes the connecting side's pipe at once (messages queue up to its
  SNDHWM) and links it when the name is bound.
* HWM as libzmq counts it for inproc: one direction holds the sender's ``sndhwm``
  plus the receiver's ``rcvhwm`` messages (unlimited when either is 0). For a
  connect before the bind the queue is made with the connecting side's HWM and
  grows by the binder's at the link (libzmq's ``set_hwms_boost``).
* When either side's pipe ends (close, unbind, disconnect) the other side's ends
  too; messages already in a queue are still received. A closed binder's name is
  free again, and connects made after that pend until a new bind. Linger does not
  apply: a message sent is already in the peer's queue.
* Socket types must be compatible (ZMTP's table): otherwise both sides get a
  ``HANDSHAKE_FAILED_PROTOCOL`` monitor event and the connect-side pipe ends.
"""

from __future__ import annotations

import math
from typing import Any

import trio

from .. import zmtp
from .._constants import EADDRINUSE, EINVAL
from .._core import PeerInfo, SocketCore
from .._errors import ZMQError
from .._monitor import Event
from .._pipe import Msg, Pipe

__all__ = ["InprocTransport"]


def _capacity(hwm: int) -> float:
    return hwm if hwm > 0 else math.inf


def _boost(channel: Any, extra: int) -> None:
    """Grow a memory channel's buffer by ``extra`` (0: unlimited) -- libzmq's
    ``set_hwms_boost`` for a connect made before the bind. trio has no public way to
    resize a channel; its state object holds the size (``max_buffer_size``)."""
    state = channel._state
    if extra <= 0:
        state.max_buffer_size = math.inf
    elif state.max_buffer_size != math.inf:
        state.max_buffer_size += extra


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
    return reg  # type: ignore[no-any-return]


class InprocPipe(Pipe):
    """One end of a cross-linked pair; its send and receive wake the other socket."""

    __slots__ = ("link_core", "link_peer")

    @classmethod
    def make(cls, core: SocketCore, endpoint: str, routing_id: bytes) -> InprocPipe:
        opts = core.options
        out_send, out_recv = trio.open_memory_channel[Msg](_capacity(opts.sndhwm))
        in_send, in_recv = trio.open_memory_channel[Msg](_capacity(opts.rcvhwm))
        pipe = cls.from_channels(out_send, out_recv, in_send, in_recv, endpoint)
        pipe.routing_id = routing_id
        pipe.link_core = None
        pipe.link_peer = None
        return pipe  # type: ignore[return-value]

    def link(self, core: SocketCore, peer: InprocPipe) -> None:
        """Send to and receive from ``peer`` (a pipe of the socket behind ``core``)."""
        self.link_core = core
        self.link_peer = peer
        out_send = self._out_send
        in_recv = self._in_recv
        receivers = core.receivers
        senders = core.senders

        def send_nowait(msg: Msg) -> None:
            out_send.send_nowait(msg)
            if receivers._tasks:
                receivers.unpark_all()

        def recv_nowait() -> Msg:
            msg = in_recv.receive_nowait()
            if senders._tasks:
                senders.unpark_all()
            return msg

        self.send_nowait = send_nowait
        self.recv_nowait = recv_nowait

    def outbound_pending(self) -> bool:
        return False  # what was sent is in the peer's queue already: nothing to linger for

    def terminate(self) -> None:
        if self.terminated:
            return
        super().terminate()
        peer, core = self.link_peer, self.link_core
        if peer is not None and core is not None and not peer.terminated:
            core.terminate_pipe(peer)  # ends it there, wakes that socket


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


def _peer_info(core: SocketCore, address: str) -> PeerInfo:
    identity = b""
    if core.socket_type in zmtp.IDENTITY_SENDERS:
        identity = core.options.routing_id
    return PeerInfo(core.socket_type, identity, {"Socket-Type": core.socket_type.encode()})


def _link(binding: InprocBinding, dialing: InprocDialing) -> None:
    """Cross-link the connecting side's pipe with a new pipe of the bound side."""
    bcore, ccore = binding.core, dialing.core
    cpipe = dialing.pipe
    endpoint = binding.endpoint
    if cpipe.terminated:
        return
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
        dialing.ended = True
        ccore.terminate_pipe(cpipe)
        return
    bopts = bcore.options
    # The bound side's pipe uses the connecting side's channels, grown to libzmq's
    # inproc HWM: sender's sndhwm + receiver's rcvhwm.
    _boost(cpipe._out_send, bopts.rcvhwm)
    _boost(cpipe._in_send, bopts.sndhwm)
    bpipe: InprocPipe = InprocPipe.from_channels(  # type: ignore[assignment]
        cpipe._in_send.clone(), cpipe._in_recv, cpipe._out_send.clone(), cpipe._out_recv, endpoint
    )
    bpipe.link_core = bpipe.link_peer = None
    attached = bcore.connect_peer(
        bpipe, endpoint, b"", _peer_info(ccore, ""), _Carrier(ccore, cpipe), attach=True
    )
    if attached is None:  # refused by the pattern (PAIR's second peer)
        bpipe.terminate()
        dialing.ended = True
        ccore.terminate_pipe(cpipe)
        return
    bcore.emit(Event.ACCEPTED, bcore.next_connection_id(), endpoint)
    bpipe.link(ccore, cpipe)
    cpipe.link(bcore, bpipe)
    binding.pipes.add(bpipe)
    ccore.emit(Event.CONNECTED, ccore.next_connection_id(), endpoint)
    ccore.connect_peer(cpipe, endpoint, b"", _peer_info(bcore, ""), _Carrier(bcore, bpipe))
    for core in (bcore, ccore):
        core.emit(Event.HANDSHAKE_SUCCEEDED, 0, endpoint)
    # messages queued before the link are waiting: the bound side may take them now
    bcore.wake_all()


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

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self.core.emit(Event.LISTENING, 0, self.endpoint)
        task_status.started()
        try:
            await trio.sleep_forever()
        finally:
            self.stop_accepting()
            for pipe in list(self.pipes):
                self.core.terminate_pipe(pipe)
            self.pipes.clear()

    def stop_accepting(self) -> None:
        if self.registry.bound.get(self.name) is self:
            self._unregister()
            self.core.emit(Event.CLOSED, 0, self.endpoint)

    async def discard(self) -> None:
        self._unregister()
        await trio.lowlevel.checkpoint()


class InprocDialing:
    """One ``connect()`` to an inproc name: its pipe, linked now or at the bind."""

    def __init__(self, core: SocketCore, name: str, pipe: InprocPipe, registry: _Registry) -> None:
        self.core = core
        self.name = name
        self.pipe = pipe
        self.registry = registry
        self.ended = False

    def stop(self) -> None:
        pending = self.registry.pending.get(self.name)
        if pending and self in pending:
            pending.remove(self)
            if not pending:
                del self.registry.pending[self.name]
        self.ended = True


class InprocTransport:
    """See the module docstring."""

    scheme = "inproc"

    def check_connect_address(self, address: str) -> None:
        if not address:
            raise ZMQError(EINVAL, "invalid inproc address: empty name")

    async def bind(self, core: SocketCore, address: str) -> InprocBinding:
        self.check_connect_address(address)
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
        self.check_connect_address(address)
        reg = _registry(core.context)
        pipe = InprocPipe.make(core, endpoint, routing_id)
        core.add_connect_pipe(endpoint, pipe)
        dialing = InprocDialing(core, address, pipe, reg)
        binding = reg.bound.get(address)
        if binding is not None:
            _link(binding, dialing)
        else:
            reg.pending.setdefault(address, []).append(dialing)
        return dialing
