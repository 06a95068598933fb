"""Routing table: routing id -> outgoing pipe (libzmq ``routing_socket_base_t``).

Used by ROUTER (RFC 28: "SHALL identify each double queue using a unique 'identity'
binary string"; "SHALL route the message to the outgoing queue if that queue exists")
and by SERVER/PEER, which address peers with non-zero uint32 ids.

Keys are ``bytes`` for ROUTER and ``int`` for SERVER/PEER; one table holds one kind.
A reverse map pipe -> id makes :meth:`RoutingTable.remove_pipe` O(1) when a peer goes.

Id generation follows libzmq (``router_t::identify_peer``, ``server_t::xattach_pipe``):
a counter starting at a random uint32 and incremented per call, wrapping, skipping ids
currently in the table. :meth:`RoutingTable.generate_id` returns the 5-byte ROUTER form
``b"\\x00" + counter.to_bytes(4, "big")``; :meth:`RoutingTable.generate_uint32_id`
returns the int form and never 0.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import TYPE_CHECKING, Generic

import attrs

from .pipe_like import PipeT

__all__ = ["RoutingId", "RoutingTable"]

#: ``bytes`` for ROUTER identities, ``int`` (uint32, non-zero) for SERVER/PEER.
RoutingId = bytes | int

if TYPE_CHECKING:
    from typing_extensions import TypeVar

    # ``RoutingTable[Pipe]`` keeps both kinds of id; ``RoutingTable[Pipe, bytes]`` is ROUTER's.
    IdT = TypeVar("IdT", bound=RoutingId, default=RoutingId)
else:
    from typing import TypeVar

    IdT = TypeVar("IdT", bound=RoutingId)

_UINT32 = 0xFFFFFFFF


def _random_uint32() -> int:
    return random.getrandbits(32)


@attrs.define(eq=False)
class RoutingTable(Generic[PipeT, IdT]):
    """A bijection between routing ids and pipes, plus libzmq-style id generation."""

    _by_id: dict[IdT, PipeT] = attrs.field(factory=dict, init=False)
    _by_pipe: dict[PipeT, IdT] = attrs.field(factory=dict, init=False)
    _next_id: int = attrs.field(factory=_random_uint32, init=False)
    _next_uint32: int = attrs.field(factory=_random_uint32, init=False)

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, routing_id: object) -> bool:
        return routing_id in self._by_id

    def __iter__(self) -> Iterator[IdT]:
        """Iterate over the routing ids (a snapshot)."""
        return iter(tuple(self._by_id))

    def add(self, routing_id: IdT, pipe: PipeT) -> None:
        """Register *pipe* under *routing_id*.

        Raises :class:`ValueError` if the id is in use, or the pipe is already
        registered under another id. (Whether a clashing peer is parked or takes the
        id over -- ``ZMQ_ROUTER_HANDOVER`` -- is the pattern's decision.)
        """
        if routing_id in self._by_id:
            raise ValueError(f"routing id {routing_id!r} is already in use")
        if pipe in self._by_pipe:
            raise ValueError(f"pipe is already registered as {self._by_pipe[pipe]!r}")
        self._by_id[routing_id] = pipe
        self._by_pipe[pipe] = routing_id

    def remove(self, routing_id: IdT) -> PipeT | None:
        """Forget *routing_id*; return its pipe, or None if it was unknown."""
        pipe = self._by_id.pop(routing_id, None)
        if pipe is not None:
            del self._by_pipe[pipe]
        return pipe

    def remove_pipe(self, pipe: PipeT) -> IdT | None:
        """Forget *pipe*; return its routing id, or None if it was unknown."""
        routing_id = self._by_pipe.pop(pipe, None)
        if routing_id is not None:
            del self._by_id[routing_id]
        return routing_id

    def get(self, routing_id: IdT) -> PipeT | None:
        """The pipe registered under *routing_id*, or None."""
        return self._by_id.get(routing_id)

    def id_of(self, pipe: PipeT) -> IdT | None:
        """The routing id *pipe* is registered under, or None."""
        return self._by_pipe.get(pipe)

    def generate_id(self) -> bytes:
        """A fresh 5-byte ROUTER id: ``b"\\x00"`` + big-endian uint32 counter."""
        by_id = self._by_id
        counter = self._next_id
        while True:
            routing_id = b"\x00" + counter.to_bytes(4, "big")
            counter = (counter + 1) & _UINT32
            if routing_id not in by_id:
                self._next_id = counter
                return routing_id

    def generate_uint32_id(self) -> int:
        """A fresh non-zero uint32 id for SERVER/PEER, not currently in the table."""
        by_id = self._by_id
        counter = self._next_uint32
        while True:
            routing_id = counter
            counter = (counter + 1) & _UINT32
            if routing_id and routing_id not in by_id:
                self._next_uint32 = counter
                return routing_id
