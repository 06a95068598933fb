"""Load balancer: round-robin a message to the first peer with room (libzmq ``src/lb.cpp``).

Used on the sending side of PUSH, DEALER, REQ, CLIENT and SCATTER. RFC 28/30:

    SHALL consider a peer as available only when it has a outgoing queue that is not full.
    SHALL route outgoing messages to available peers using a round-robin strategy.

Theory of operation: the attached pipes live in a list with a cursor ``_current``. A send
tries the pipe under the cursor first and walks forward (wrapping) until one accepts;
the cursor then moves to the pipe *after* the winner. A full pipe is skipped this time
(it stays attached and is tried again next time), a terminated pipe is detached on the
spot. If no pipe accepts -- or there are none -- :class:`trio.WouldBlock` is raised and
the caller (the pattern / socket) waits and retries; the message is never dropped here.

libzmq keeps "active" pipes at the front of its array and flips them on
``activated``/``hwm`` events; trinq's pipes are bounded queues that can be asked
directly, so an attempt that raises ``WouldBlock`` plays the role of a deactivation.
Because trinq queues whole messages, there is no ``_more``/``rollback`` bookkeeping.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
import trio

from .pipe_like import SEND_TERMINATED, PipeT
from .ring import PipeRing

__all__ = ["LoadBalancer"]


@attrs.define(eq=False)
class LoadBalancer(PipeRing[PipeT]):
    """Round-robin over attached pipes, skipping full ones."""

    #: Called with no arguments whenever a pipe is attached or dropped (a pattern
    #: that lets the socket send to a single pipe directly re-reads it there).
    on_change: Callable[[], None] | None = attrs.field(default=None)

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def has_out(self) -> bool:
        """True if some attached pipe has room for one more message."""
        return any(pipe.writable() for pipe in self._pipes)

    def send_nowait(self, msg: list[bytes]) -> PipeT:
        """Enqueue *msg* on the next available pipe and return that pipe.

        Raises :class:`trio.WouldBlock` if every pipe is full or none is attached.
        """
        pipes = self._pipes
        n = len(pipes)
        if n == 1:  # one peer (the common PUSH/DEALER/REQ case): no cursor to walk
            pipe = pipes[0]
            try:
                pipe.send_nowait(msg)
            except SEND_TERMINATED:
                self._remove_at(0)
                raise trio.WouldBlock from None
            return pipe
        i = self._current
        remaining = n
        while remaining:
            pipe = pipes[i]
            try:
                pipe.send_nowait(msg)
            except trio.WouldBlock:
                i += 1
            except SEND_TERMINATED:
                self._remove_at(i)  # the next pipe slides into slot i
                n -= 1
            else:
                i += 1
                self._current = i if i < n else 0
                return pipe
            remaining -= 1
            if i >= n:
                i = 0
        raise trio.WouldBlock
