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

from typing import TYPE_CHECKING, Protocol

import trio

__all__ = ["RECV_TERMINATED", "SEND_TERMINATED", "PipeLike", "PipeT", "RecvNowait", "SendNowait"]


class SendNowait(Protocol):
    """``PipeLike.send_nowait`` as a value: the type for a pipe that *stores* its send
    function in an attribute (a channel's bound ``send_nowait``, swapped at run time).

    Annotate such an attribute with this rather than ``Callable[[list[bytes]], None]``:
    pyright binds a ``Callable``-typed attribute of a ``__slots__`` class like a method
    when it matches the class against :class:`PipeLike`, and then rejects it.
    """

    def __call__(self, msg: list[bytes], /) -> None: ...


class RecvNowait(Protocol):
    """``PipeLike.recv_nowait`` as a value (see :class:`SendNowait`)."""

    def __call__(self) -> list[bytes]: ...


class PipeLike(Protocol):
    """One peer's double queue, as the routing layer sees it."""

    routing_id: bytes

    # Positional-only: the real pipe stores trio's ``MemorySendChannel.send_nowait``
    # (parameter ``value``) here, and the routing pieces only ever pass it positionally.
    def send_nowait(self, msg: list[bytes], /) -> None:
        """Enqueue one whole multipart message, or raise (see the module docstring)."""
        ...

    def recv_nowait(self) -> list[bytes]:
        """Dequeue one whole multipart message, or raise (see the module docstring)."""
        ...

    def writable(self) -> bool:
        """True if the outgoing queue has room for one more message."""
        ...


# PipeT: the concrete pipe class a routing container holds (``FairQueue[Pipe]``), so
# that what it hands back (``last_pipe``, ``send_nowait``'s pipe) keeps that type. Its
# PEP 696 default makes an unparametrised ``FairQueue()`` a ``FairQueue[PipeLike]``, so
# callers that do not care need no annotation. The default is for type checkers only
# (typing_extensions is not a run-time dependency); at run time a plain TypeVar does.
if TYPE_CHECKING:
    from typing_extensions import TypeVar

    PipeT = TypeVar("PipeT", bound=PipeLike, default=PipeLike)
else:
    from typing import TypeVar

    PipeT = TypeVar("PipeT", bound="PipeLike")


# (Fixed-length tuple types, so that ``except (trio.WouldBlock, *SEND_TERMINATED)``
# type-checks as a tuple of exception classes.)

#: A pipe raising one of these from ``send_nowait`` is gone for good.
SEND_TERMINATED: tuple[type[trio.BrokenResourceError], type[trio.ClosedResourceError]] = (
    trio.BrokenResourceError,
    trio.ClosedResourceError,
)

#: A pipe raising one of these from ``recv_nowait`` will never yield another message.
RECV_TERMINATED: tuple[
    type[trio.EndOfChannel], type[trio.BrokenResourceError], type[trio.ClosedResourceError]
] = (
    trio.EndOfChannel,
    trio.BrokenResourceError,
    trio.ClosedResourceError,
)
