"""Distributor: copy one message to many peers, dropping where full (libzmq ``src/dist.cpp``).

Used on the sending side of PUB/XPUB (to matching subscribers), XSUB (subscriptions to
all publishers) and RADIO. RFC 29:

    SHALL silently drop the message if the queue for a subscriber is full.
    SHALL NOT block on sending.

Theory of operation: the attached pipes are kept in an insertion-ordered dict (O(1)
attach/detach). :meth:`Distributor.send_to_all` offers the message to each pipe once:
a full pipe simply misses this message, a terminated pipe is detached after the pass.
The *same* list object is enqueued on every pipe (libzmq shares one refcounted
``msg_t`` the same way), so consumers of a pipe must treat messages as immutable.

``xpub_nodrop`` (libzmq ``dist_t::check_hwm``) is served by :meth:`all_writable`: the
pattern checks it first and waits instead of sending when some target is full.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Generic

import attrs
import trio

from .pipe_like import SEND_TERMINATED, PipeT

__all__ = ["Distributor"]


@attrs.define(eq=False)
class Distributor(Generic[PipeT]):
    """Fan-out to attached pipes with PUB drop-on-full semantics."""

    _pipes: dict[PipeT, None] = attrs.field(factory=dict, init=False)

    @property
    def pipes(self) -> tuple[PipeT, ...]:
        """The attached pipes, in attach order."""
        return tuple(self._pipes)

    def __len__(self) -> int:
        return len(self._pipes)

    def __contains__(self, pipe: object) -> bool:
        return pipe in self._pipes

    def attach(self, pipe: PipeT) -> None:
        """Add *pipe* (no-op if already attached)."""
        self._pipes[pipe] = None

    def detach(self, pipe: PipeT) -> None:
        """Remove *pipe*; idempotent."""
        self._pipes.pop(pipe, None)

    def send_to_all(self, msg: list[bytes]) -> int:
        """Offer *msg* to every attached pipe; return how many took it."""
        return self.send_to_pipes(msg, self._pipes)

    def send_to_pipes(self, msg: list[bytes], pipes: Iterable[PipeT]) -> int:
        """Offer *msg* to each of *pipes* (e.g. the subscribers that matched).

        A full pipe silently misses the message; a terminated one is detached. The
        pipes are taken as given (they need not be attached). Returns how many took it.
        """
        sent = 0
        dead: list[PipeT] | None = None
        for pipe in pipes:
            try:
                pipe.send_nowait(msg)
            except trio.WouldBlock:
                continue
            except SEND_TERMINATED:
                if dead is None:
                    dead = []
                dead.append(pipe)
                continue
            sent += 1
        if dead is not None:
            for pipe in dead:
                self._pipes.pop(pipe, None)
        return sent

    def all_writable(self, pipes: Iterable[PipeT] | None = None) -> bool:
        """True only if every pipe in *pipes* (default: all attached) has room."""
        if pipes is None:
            pipes = self._pipes
        return all(pipe.writable() for pipe in pipes)
