"""The thread-safe ("draft") socket family, as libzmq composes it.

* :class:`Client` (RFC 41) = a DEALER that carries single-part messages.
* :class:`Server` (RFC 41) = fair queue in + a :class:`~trinq._routing.RoutingTable` of
  uint32 routing ids out (``server.cpp``): each peer gets a non-zero id when its pipe
  attaches (a counter from a random start, as libzmq's), a received message says which
  peer sent it (``recv_message().routing_id``), and ``send(data, routing_id=...)`` goes
  to that peer only.
* :class:`Peer` (RFC 51) = a SERVER that can also ``connect_peer()``: connect and learn
  the new peer's routing id at once (``peer.cpp``).
* :class:`Radio` / :class:`Dish` (RFC 48) = exact-match groups. A DISH sends JOIN and
  LEAVE commands (replayed on every new connection, as SUB replays its
  subscriptions); a RADIO keeps, per peer, the set of groups it joined and offers each
  message only to the peers in its group, dropping it where a peer's pipe is full.
  A message travels between them as two frames, group then body (RFC 37, "The
  Radio-Dish Pattern"); on an inproc pipe too.
* :class:`Scatter` / :class:`Gather` (RFC 49) = single-part PUSH and PULL.
* :class:`Channel` (RFC 52) = single-part PAIR.

Every one of them refuses multipart: the socket raises ``ZMQError(EINVAL)`` for
``SNDMORE`` or a multi-frame ``send_multipart`` (``Pattern.single_part``), and a peer
that sends a multipart message is disconnected with a protocol error (the codec's
``zmtp.MAX_PARTS``; libzmq drops such messages silently instead, docs/design.md).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import trio

from .._constants import EHOSTUNREACH, EINVAL, EMSGSIZE, ENOTSUP
from .._errors import ZMQError
from .._routing import SEND_TERMINATED, FairQueue, RoutingTable
from ..zmtp import Join, Leave
from ._base import Pattern, register_pattern
from ._pipeline import Pair, Pull, Push
from ._reqrep import Dealer

if TYPE_CHECKING:
    from .._options import Options
    from .._pipe import Pipe

__all__ = [
    "Channel",
    "Client",
    "Dish",
    "Gather",
    "Peer",
    "Radio",
    "Scatter",
    "Server",
    "group_bytes",
]

Msg = list[bytes]

_UINT32_MAX = 0xFFFFFFFF


def group_bytes(group: str | bytes) -> bytes:
    """A RADIO/DISH group as it travels: UTF-8, at most 255 octets (RFC 48)."""
    if isinstance(group, str):
        raw = group.encode("utf-8")
    elif isinstance(group, (bytes, bytearray, memoryview)):
        raw = bytes(group)
    else:
        raise TypeError(f"a group is str (or bytes), not {type(group).__name__}")
    if len(raw) > 255:
        raise ZMQError(EINVAL, f"a group is at most 255 bytes (UTF-8), not {len(raw)}")
    return raw


def _group_str(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


@register_pattern
class Client(Dealer):
    """CLIENT: round-robin out, fair-queue in, single-part (RFC 41)."""

    socket_type = "CLIENT"
    single_part = True


@register_pattern
class Server(Pattern):
    """SERVER: replies go to the peer named by a uint32 routing id (RFC 41)."""

    socket_type = "SERVER"
    single_part = True
    replies_to_receives = True

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self._fq: FairQueue[Pipe] = FairQueue()
        self._table: RoutingTable[Pipe, int] = RoutingTable()
        #: the routing id given to the last pipe attached (``Socket.connect_peer``)
        self.last_routing_id: int | None = None

    def attach(self, pipe: Pipe) -> None:
        rid = self._table.generate_uint32_id()
        self._table.add(rid, pipe)
        pipe.state = rid  # kept after detach: queued messages still say who sent them
        self._fq.attach(pipe)
        self.last_routing_id = rid

    def detach(self, pipe: Pipe) -> None:
        # Nothing is routed to it any more; what it sent is still delivered (_base).
        self._table.remove_pipe(pipe)

    def poll_state(self) -> tuple[bool | None, bool | None]:
        # libzmq's server_t::xhas_out: always writable (whether a message fits depends
        # on the peer it goes to)
        return None, True

    def send_nowait(self, msg: Msg) -> None:
        raise ZMQError(
            EHOSTUNREACH,
            f"{self.socket_type} sends to one peer: send(data, routing_id=msg.routing_id)",
        )

    def send_routed(self, msg: Msg, routing_id: int | None, group: str | None) -> None:
        if group is not None:
            raise ZMQError(EINVAL, f"{self.socket_type} sockets do not send by group")
        if type(routing_id) is not int or not 0 < routing_id <= _UINT32_MAX:
            raise ZMQError(
                EINVAL, f"a routing id is an int in 1..{_UINT32_MAX}, not {routing_id!r}"
            )
        pipe = self._table.get(routing_id)
        if pipe is None:
            raise ZMQError(EHOSTUNREACH, f"no peer with routing id {routing_id}")
        try:
            pipe.send_nowait(msg)  # trio.WouldBlock at its SNDHWM: the socket waits
        except SEND_TERMINATED:
            raise ZMQError(EHOSTUNREACH, f"peer {routing_id} is gone") from None

    def recv_nowait(self) -> Msg:
        return self._fq.recv_nowait()

    def recv_message_nowait(self) -> tuple[Msg, Pipe | None, int | None, str | None]:
        pipe, msg = self._fq.recv_nowait_with_pipe()
        return msg, pipe, pipe.state, None


@register_pattern
class Peer(Server):
    """PEER: a SERVER that also connects to peers by name (RFC 51)."""

    socket_type = "PEER"


@register_pattern
class Radio(Pattern):
    """RADIO: each message to the peers that joined its group (RFC 48)."""

    socket_type = "RADIO"
    single_part = True
    accepts_inbound = False

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        #: group -> the pipes that joined it (each pipe's own set is ``pipe.state``)
        self._members: dict[bytes, set[Pipe]] = {}
        #: pipes that take every group and filter on their far side (a udp pipe: its
        #: datagrams go to whoever listens; libzmq's radio_t::_udp_pipes)
        self._all_groups: set[Pipe] = set()
        self._max_datagram: float = math.inf

    def attach(self, pipe: Pipe) -> None:
        pipe.state = set()
        if getattr(pipe, "all_groups", False):
            self._all_groups.add(pipe)
            self._limit_changed()

    def detach(self, pipe: Pipe) -> None:
        if pipe in self._all_groups:
            self._all_groups.discard(pipe)
            self._limit_changed()
        self._forget(pipe)

    def _limit_changed(self) -> None:
        #: the most ``1 + group + body`` every pipe can carry (a udp datagram's limit):
        #: checked before any peer gets the message, so a send is all or nothing
        self._max_datagram = min(
            (getattr(p, "max_datagram", math.inf) for p in self._all_groups), default=math.inf
        )

    def pipe_disconnected(self, pipe: Pipe) -> None:
        # The next connection tells us its joins afresh (DISH replays them). (Not at
        # pipe_connected: an inproc DISH may have replayed them to us already.)
        self._forget(pipe)

    def _forget(self, pipe: Pipe) -> None:
        groups: set[bytes] = pipe.state or set()
        members = self._members
        for group in groups:
            pipes = members.get(group)
            if pipes is not None:
                pipes.discard(pipe)
                if not pipes:
                    del members[group]
        groups.clear()

    def on_command(self, pipe: Pipe, command: Any) -> None:
        t = type(command)
        if t is Join:
            group = bytes(command.group)
            pipe.state.add(group)
            self._members.setdefault(group, set()).add(pipe)
        elif t is Leave:
            group = bytes(command.group)
            pipe.state.discard(group)
            pipes = self._members.get(group)
            if pipes is not None:
                pipes.discard(pipe)
                if not pipes:
                    del self._members[group]

    def poll_state(self) -> tuple[bool | None, bool | None]:
        return False, True  # never blocks: a full peer misses the message

    def send_nowait(self, msg: Msg) -> None:
        # No group given: libzmq's empty group, for DISHes that joined "".
        self._broadcast(b"", msg[0])

    def send_routed(self, msg: Msg, routing_id: int | None, group: str | None) -> None:
        if routing_id is not None:
            raise ZMQError(EINVAL, "RADIO sockets send by group, not by routing_id")
        assert group is not None
        self._broadcast(group_bytes(group), msg[0])

    def _broadcast(self, group: bytes, body: bytes) -> None:
        pipes = self._members.get(group)
        if self._all_groups:
            size = 1 + len(group) + len(body)
            if size > self._max_datagram:
                raise ZMQError(
                    EMSGSIZE,
                    f"a udp datagram is at most {self._max_datagram} bytes (1 + group + "
                    f"body); this one would be {size}",
                )
            pipes = self._all_groups | pipes if pipes else self._all_groups
        if not pipes:
            return
        frames = [group, body]
        for pipe in tuple(pipes):
            try:
                pipe.send_nowait(frames)
            except trio.WouldBlock:
                pass  # that peer misses it, as with PUB
            except SEND_TERMINATED:
                pass  # detach() forgets it


@register_pattern
class Dish(Pattern):
    """DISH: receive the messages of the groups joined (RFC 48)."""

    socket_type = "DISH"
    single_part = True
    sends = False

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self._fq: FairQueue[Pipe] = FairQueue()
        self._pipes: set[Pipe] = set()
        self._joined: set[bytes] = set()

    def attach(self, pipe: Pipe) -> None:
        self._fq.attach(pipe)
        self._pipes.add(pipe)

    def detach(self, pipe: Pipe) -> None:
        self._pipes.discard(pipe)

    def pipe_connected(self, pipe: Pipe) -> None:
        for group in self._joined:
            pipe.send_command(Join(group))

    def join(self, group: str | bytes) -> None:
        """Join ``group``; ``ZMQError(EINVAL)`` if already joined (as libzmq)."""
        raw = group_bytes(group)
        if raw in self._joined:
            raise ZMQError(EINVAL, f"already joined group {_group_str(raw)!r}")
        self._joined.add(raw)
        command = Join(raw)
        for pipe in self._pipes:
            pipe.send_command(command)

    def leave(self, group: str | bytes) -> None:
        """Leave ``group``; ``ZMQError(EINVAL)`` if not joined (as libzmq)."""
        raw = group_bytes(group)
        if raw not in self._joined:
            raise ZMQError(EINVAL, f"not a member of group {_group_str(raw)!r}")
        self._joined.discard(raw)
        command = Leave(raw)
        for pipe in self._pipes:
            pipe.send_command(command)

    def send_nowait(self, msg: Msg) -> None:
        raise ZMQError(ENOTSUP, "DISH sockets cannot send; use join()/leave()")

    def _next(self) -> tuple[Pipe, Msg]:
        recv = self._fq.recv_nowait_with_pipe
        joined = self._joined
        while True:
            pipe, msg = recv()
            # a message whose group we left since it was queued is dropped, as libzmq's
            # dish_t::xrecv does; so is a single frame without a group
            if len(msg) == 2 and msg[0] in joined:
                return pipe, msg

    def recv_nowait(self) -> Msg:
        return [self._next()[1][1]]

    def recv_message_nowait(self) -> tuple[Msg, Pipe | None, int | None, str | None]:
        pipe, msg = self._next()
        return [msg[1]], pipe, None, _group_str(msg[0])


@register_pattern
class Scatter(Push):
    """SCATTER: single-part PUSH (RFC 49)."""

    socket_type = "SCATTER"
    single_part = True


@register_pattern
class Gather(Pull):
    """GATHER: single-part PULL (RFC 49)."""

    socket_type = "GATHER"
    single_part = True


@register_pattern
class Channel(Pair):
    """CHANNEL: single-part PAIR (RFC 52)."""

    socket_type = "CHANNEL"
    single_part = True
