"""Fair queue: receive from peers in turn, one whole message each (libzmq ``src/fq.cpp``).

Used on the receiving side of PULL, DEALER, ROUTER, REP, SUB/XSUB, XPUB and friends.
RFC 28/29/30:

    SHALL receive incoming messages from its peers using a fair-queuing strategy.

Theory of operation: a list of pipes and a cursor. A receive asks the pipe under the
cursor first and walks forward (wrapping) past empty pipes; after a message is taken the
cursor moves to the pipe *after* the one that supplied it, so a peer with a deep backlog
gets one message per turn and cannot starve the others. A pipe that reports
:class:`trio.EndOfChannel` (terminated and drained) is detached. If every pipe is empty
-- or none is attached -- :class:`trio.WouldBlock` is raised.

libzmq advances only when the last frame of a multipart message has been read
(``_more``); trinq pipes carry whole messages, so each dequeue is already a whole
message and the cursor always advances.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
import trio

from .pipe_like import RECV_TERMINATED, PipeT
from .ring import PipeRing

__all__ = ["FairQueue"]


@attrs.define(eq=False)
class FairQueue(PipeRing[PipeT]):
    """Round-robin receive over attached pipes, one whole message per turn."""

    #: The pipe the last message returned by :meth:`recv_nowait` came from.
    last_pipe: PipeT | None = attrs.field(default=None, init=False)
    #: Called with no arguments whenever a pipe is attached or dropped: a pattern that
    #: serves from :attr:`fast_recv` re-reads it there.
    on_change: Callable[[], None] | None = attrs.field(default=None)

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    @property
    def fast_recv(self) -> Callable[[], list[bytes]]:
        """The cheapest correct receive for the pipes attached now.

        With exactly one pipe (SUB with one publisher, PULL with one pusher, PAIR),
        that pipe's own ``recv_nowait``: one Python call less per message. Unlike
        :meth:`recv_nowait` it neither sets :attr:`last_pipe` nor drops a finished
        pipe: it raises the pipe's termination (``RECV_TERMINATED``), and the caller
        then calls :meth:`recv_nowait`, which drops the pipe (and so calls
        :attr:`on_change`). Otherwise :meth:`recv_nowait` itself.
        """
        pipes = self._pipes
        if len(pipes) == 1:
            return pipes[0].recv_nowait
        return self.recv_nowait

    def recv_nowait(self) -> list[bytes]:
        """Return the next message in fair order; :class:`trio.WouldBlock` if none.

        The pipe it came from is left in :attr:`last_pipe` (REP/ROUTER need it).
        """
        pipes = self._pipes
        n = len(pipes)
        i = self._current
        remaining = n
        while remaining:
            pipe = pipes[i]
            try:
                msg = pipe.recv_nowait()
            except trio.WouldBlock:
                i += 1
            except RECV_TERMINATED:
                self._remove_at(i)  # the next pipe slides into slot i
                n -= 1
            else:
                i += 1
                self._current = i if i < n else 0
                self.last_pipe = pipe
                return msg
            remaining -= 1
            if i >= n:
                i = 0
        raise trio.WouldBlock

    def recv_nowait_with_pipe(self) -> tuple[PipeT, list[bytes]]:
        """Like :meth:`recv_nowait`, also returning the pipe the message came from."""
        msg = self.recv_nowait()
        # recv_nowait returned, so it has just set last_pipe (not None); an ignore rather
        # than a cast or an assert keeps this per-message path free of extra work.
        return self.last_pipe, msg  # type: ignore[return-value]
