"""The pipe interface the routing pieces are written against.

Routing never touches trio channels directly: it sees a per-peer pipe that moves whole
multipart messages (``list[bytes]``) and reports back-pressure and termination through
trio's own exception types. ``trinq/_pipe.py`` provides the real implementation; tests
use a deque with a high-water mark.

Exceptions, as the routing pieces interpret them:

* ``send_nowait`` raises :class:`trio.WouldBlock` when the pipe is at its SNDHWM, and
  :class:`trio.BrokenResourceError` or :class:`trio.ClosedResourceError` once the pipe
  has been terminated.
* ``recv_nowait`` raises :class:`trio.WouldBlock` when empty, and
  :class:`trio.EndOfChannel` once terminated and drained (a
  :class:`trio.ClosedResourceError` or :class:`trio.BrokenResourceError` is treated the
  same way).
"""

from __future__ import annotations

from typing import Protocol

import trio

__all__ = ["RECV_TERMINATED", "SEND_TERMINATED", "PipeLike"]


class PipeLike(Protocol):
    """One peer's double queue, as the routing layer sees it."""

    routing_id: bytes

    def send_nowait(self, msg: list[bytes]) -> None:
        """Enqueue one whole multipart message, or raise (see the module docstring)."""
        ...

    def recv_nowait(self) -> list[bytes]:
        """Dequeue one whole multipart message, or raise (see the module docstring)."""
        ...

    def writable(self) -> bool:
        """True if the outgoing queue has room for one more message."""
        ...


#: A pipe raising one of these from ``send_nowait`` is gone for good.
SEND_TERMINATED: tuple[type[BaseException], ...] = (
    trio.BrokenResourceError,
    trio.ClosedResourceError,
)

#: A pipe raising one of these from ``recv_nowait`` will never yield another message.
RECV_TERMINATED: tuple[type[BaseException], ...] = (
    trio.EndOfChannel,
    trio.BrokenResourceError,
    trio.ClosedResourceError,
)
