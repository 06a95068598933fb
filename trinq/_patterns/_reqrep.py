"""REQ, REP, DEALER, ROUTER (RFC 28), composed as libzmq composes them.

* :class:`Dealer` = fair queue in + load balancer out, nothing else (``dealer.cpp``).
* :class:`Req` = a DEALER + the empty delimiter (and, with ``req_correlate``, a
  request-id frame) + a lock-step state machine (``req.cpp``).
* :class:`Router` = fair queue in + a :class:`~trinq._routing.RoutingTable` out; the
  routing-id frame is prepended on receive and consumed on send (``router.cpp``).
* :class:`Rep` = a ROUTER that saves the envelope of each request and puts it back
  on the reply, with a lock-step state machine (``rep.cpp``).

The REQ state machine (``strict`` = not ``req_relaxed``)::

    state            send()                         recv()
    ---------------  -----------------------------  -----------------------------
    ready            -> awaiting reply              EFSM
    awaiting reply   strict: EFSM                   a valid reply from the peer
                     relaxed: -> awaiting reply     asked -> ready; anything else
                     (the old reply is abandoned)   is dropped silently

A failed attempt (``trio.WouldBlock``, a cancelled wait) never changes the state, so
``send``/``recv`` keep the socket's cancellation atomicity: a REQ whose ``recv`` was
cancelled is still awaiting its reply.

ROUTER identities (docs/interop.md §13): a peer is registered under, in order of preference,
the ``connect_routing_id`` given for that connect, the peer's ``Identity``, or a
generated 5-byte id. A bound peer is identified when it attaches (after the
handshake); a connect-side pipe when its first connection completes (or at once when
``connect_routing_id`` named it) and it keeps that id across reconnects, as libzmq
does. A second peer claiming an id in use is *parked*: its messages are not
delivered and nothing can be routed to it, unless ``router_handover`` is set, in
which case it takes the id and the old peer is disconnected (a connect-side old peer,
which would only reconnect, is kept under a fresh generated id instead).
"""

from __future__ import annotations

import random
import sys
from typing import TYPE_CHECKING

import trio

from .._constants import EFSM, EHOSTUNREACH
from .._errors import ZMQError
from .._routing import SEND_TERMINATED, FairQueue, LoadBalancer, RoutingTable
from ._base import Pattern, only_pipe, register_pattern, send_to_peer

if TYPE_CHECKING:
    from .._options import Options
    from .._pipe import Pipe

__all__ = ["Dealer", "Rep", "Req", "Router"]

Msg = list[bytes]

_PROBE: Msg = [b""]


def _send_probe(pipe: Pipe) -> None:
    """``probe_router``: an empty message first thing on a new pipe (libzmq xattach_pipe)."""
    try:
        pipe.send_nowait(_PROBE)
    except (trio.WouldBlock, *SEND_TERMINATED):
        pass


@register_pattern
class Dealer(Pattern):
    """Round-robin out, fair-queue in, no envelope changes (RFC 28 DEALER)."""

    socket_type = "DEALER"
    replies_to_receives = True

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self._fq: FairQueue[Pipe] = FairQueue()
        self._lb: LoadBalancer[Pipe] = LoadBalancer(on_change=self._lb_changed)

    def _lb_changed(self) -> None:
        self._set_send_pipe(only_pipe(self._lb))

    def attach(self, pipe: Pipe) -> None:
        self._fq.attach(pipe)
        self._lb.attach(pipe)
        if self.options.probe_router:
            _send_probe(pipe)

    def detach(self, pipe: Pipe) -> None:
        # Inbound messages already queued are still delivered (see _base).
        self._lb.detach(pipe)

    def send_nowait(self, msg: Msg) -> None:
        self._lb.send_nowait(msg)

    def recv_nowait(self) -> Msg:
        return self._fq.recv_nowait()


@register_pattern
class Req(Dealer):
    """A DEALER with the delimiter and the lock-step state machine (RFC 28 REQ)."""

    socket_type = "REQ"

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self._awaiting = False
        #: the pipe the pending request went to; None = accept a reply from any pipe
        #: (libzmq, once that pipe has gone away)
        self._reply_pipe: Pipe | None = None
        self._request_id = random.getrandbits(32)  # libzmq starts at a random value
        self._id_frame = b""

    def detach(self, pipe: Pipe) -> None:
        if pipe is self._reply_pipe:
            self._reply_pipe = None
        super().detach(pipe)

    def _lb_changed(self) -> None:
        pass  # (sends go through the envelope and the state machine: no send_pipe)

    def send_nowait(self, msg: Msg) -> None:
        if self._awaiting and not self.options.req_relaxed:
            raise ZMQError(EFSM, "REQ: a request is pending; receive its reply first")
        if self.options.req_correlate:
            request_id = (self._request_id + 1) & 0xFFFFFFFF
            id_frame = request_id.to_bytes(4, sys.byteorder)  # host order, as libzmq
            pipe = self._lb.send_nowait([id_frame, b"", *msg])
            self._request_id = request_id
            self._id_frame = id_frame
        else:
            pipe = self._lb.send_nowait([b"", *msg])
            self._id_frame = b""
        self._reply_pipe = pipe
        self._awaiting = True
        # libzmq: drop every reply already queued, so a stale answer (to an abandoned
        # request, or from a peer that was not asked) is never taken for this one.
        recv = self._fq.recv_nowait
        try:
            while True:
                recv()
        except trio.WouldBlock:
            pass

    def poll_state(self) -> tuple[bool | None, bool | None]:
        if not self._awaiting:
            return False, None
        return None, (None if self.options.req_relaxed else False)

    def recv_nowait(self) -> Msg:
        if not self._awaiting:
            raise ZMQError(EFSM, "REQ: send a request before receiving")
        recv = self._fq.recv_nowait_with_pipe
        id_frame = self._id_frame
        start = 2 if id_frame else 1
        while True:
            pipe, msg = recv()  # trio.WouldBlock: keep waiting, state unchanged
            if self._reply_pipe is not None and pipe is not self._reply_pipe:
                continue  # "SHALL discard silently any messages received from other peers"
            if len(msg) <= start or msg[start - 1] or (id_frame and msg[0] != id_frame):
                continue  # malformed, or the reply to another request
            self._awaiting = False
            self._reply_pipe = None
            return msg[start:]


@register_pattern
class Router(Pattern):
    """Explicit addressing by routing id (RFC 28 ROUTER); see the module docstring."""

    socket_type = "ROUTER"
    replies_to_receives = True

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self._fq: FairQueue[Pipe] = FairQueue()
        self._table: RoutingTable[Pipe, bytes] = RoutingTable()
        #: pipes whose id was taken when they arrived; retried when an id frees up
        self._parked: set[Pipe] = set()

    # --- identities ------------------------------------------------------------

    def attach(self, pipe: Pipe) -> None:
        # pipe.state: the id forced by connect_routing_id for this connect (or b"");
        # whether the pipe outlives its connections (attached before the handshake).
        pipe.state = (pipe.routing_id, not pipe.peer_socket_type)
        if pipe.routing_id or pipe.peer_socket_type:
            self._identify(pipe)
        if self.options.probe_router:
            _send_probe(pipe)

    def pipe_connected(self, pipe: Pipe) -> None:
        if self._table.id_of(pipe) is None:
            self._parked.discard(pipe)
            self._identify(pipe)

    def detach(self, pipe: Pipe) -> None:
        self._parked.discard(pipe)
        if self._table.remove_pipe(pipe) is not None:
            for parked in list(self._parked):
                if self._identify(parked):
                    self._parked.discard(parked)

    def _identify(self, pipe: Pipe) -> bool:
        table = self._table
        rid = pipe.state[0] or pipe.peer_identity
        if not rid:
            rid = table.generate_id()
        elif rid in table:
            if not self.options.router_handover:
                self._parked.add(pipe)
                return False
            old = table.remove(rid)
            assert old is not None
            old.routing_id = table.generate_id()
            table.add(old.routing_id, old)
            if not old.state[1]:
                old.terminate()  # libzmq disconnects the old peer
        table.add(rid, pipe)
        pipe.routing_id = rid
        self._fq.attach(pipe)
        return True

    # --- messages --------------------------------------------------------------

    def send_nowait(self, msg: Msg) -> None:
        if len(msg) < 2:
            return  # an id with no body: libzmq drops it silently
        pipe = self._table.get(msg[0])
        if pipe is None:
            if self.options.router_mandatory:
                raise ZMQError(EHOSTUNREACH, f"no peer with routing id {msg[0]!r}")
            return
        send_to_peer(pipe, msg[1:], msg[0], self.options.router_mandatory)

    def recv_nowait(self) -> Msg:
        pipe, msg = self._fq.recv_nowait_with_pipe()
        return [pipe.routing_id, *msg]


@register_pattern
class Rep(Router):
    """A ROUTER that saves and restores each request's envelope (RFC 28 REP)."""

    socket_type = "REP"
    replies_to_receives = True

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self._envelope: Msg | None = None

    def poll_state(self) -> tuple[bool | None, bool | None]:
        if self._envelope is not None:
            return False, True  # a reply is due (REP never blocks sending it)
        return None, False

    def recv_nowait(self) -> Msg:
        if self._envelope is not None:
            raise ZMQError(EFSM, "REP: send the reply to the last request first")
        recv = self._fq.recv_nowait_with_pipe
        while True:
            pipe, msg = recv()
            try:
                # the delimiter is the first empty frame that is not the last frame
                end = msg.index(b"", 0, len(msg) - 1) + 1
            except ValueError:
                continue  # no delimiter: dropped silently, as libzmq does
            self._envelope = [pipe.routing_id, *msg[:end]]
            return msg[end:]

    def send_nowait(self, msg: Msg) -> None:
        envelope = self._envelope
        if envelope is None:
            raise ZMQError(EFSM, "REP: receive a request before sending a reply")
        super().send_nowait(envelope + msg)
        self._envelope = None
