"""The exception hierarchy, modelled on pyzmq's ``zmq/error.py``.

::

    ZMQBaseError
    ├── ZMQError(errno, msg=None)      .errno (libzmq value), .strerror
    │   ├── Again                      EAGAIN: DONTWAIT would have waited, or a timeout
    │   └── ContextTerminated          ETERM: the context is closing
    └── ZMQBindError                   bind failed for a reason that has no errno

``ZMQError(EAGAIN)`` is a plain :class:`ZMQError`, not an :class:`Again`: code that
means "would block" raises :class:`Again` explicitly, so ``except trinq.Again`` catches
exactly those cases.
"""

from __future__ import annotations

import os
from typing import Any

from ._constants import EAGAIN, EFSM, EHOSTUNREACH, EMTHREAD, ENOCOMPATPROTO, ETERM

__all__ = [
    "Again",
    "ContextTerminated",
    "ZMQBaseError",
    "ZMQBindError",
    "ZMQError",
    "strerror",
]

_LIBZMQ_MESSAGES: dict[int, str] = {
    EFSM: "Operation cannot be accomplished in current state",
    ENOCOMPATPROTO: "The protocol is not compatible with the socket type",
    ETERM: "Context was terminated",
    EMTHREAD: "No thread available",
    # libzmq has its own text for this one (glibc says "No route to host").
    EHOSTUNREACH: "Host unreachable",
}


def strerror(errno: int) -> str:
    """Return libzmq's message for ``errno`` (``zmq_strerror``).

    libzmq-specific numbers (EFSM, ETERM, …) and EHOSTUNREACH get libzmq's text;
    everything else is the operating system's ``strerror``, as in libzmq.
    """
    try:
        return _LIBZMQ_MESSAGES[errno]
    except KeyError:
        return os.strerror(errno)


class ZMQBaseError(Exception):
    """Root of every exception trinq raises on purpose."""


class ZMQError(ZMQBaseError):
    """An error with a libzmq errno.

    Args:
      errno: the error number (use the constants ``trinq.EFSM``, ``trinq.EINVAL``, …).
      msg: a specific message; by default libzmq's text for ``errno``.

    Attributes:
      errno (int): the error number.
      strerror (str): the message; also what ``str(exc)`` returns.
    """

    errno: int
    strerror: str

    def __init__(self, errno: int, msg: str | None = None) -> None:
        self.errno = errno
        self.strerror = msg if msg is not None else strerror(errno)
        super().__init__(errno, self.strerror)

    def __str__(self) -> str:
        return self.strerror

    def __repr__(self) -> str:
        return f"{type(self).__name__}(errno={self.errno!r}, msg={self.strerror!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.errno, self.strerror))


def _rebuild(cls: type[ZMQError], errno: int, msg: str) -> ZMQError:
    """Unpickle helper: rebuild any ZMQError subclass without calling its ``__init__``."""
    exc = cls.__new__(cls)
    ZMQError.__init__(exc, errno, msg)
    return exc


class Again(ZMQError):
    """The operation would have to wait (errno ``EAGAIN``).

    Raised instead of waiting when ``DONTWAIT`` is given, and when ``sndtimeo`` /
    ``rcvtimeo`` expire. The trio analogue is :exc:`trio.WouldBlock`.
    """

    def __init__(self, msg: str | None = None) -> None:
        super().__init__(EAGAIN, msg)


class ContextTerminated(ZMQError):
    """The context was terminated while the operation was pending (errno ``ETERM``)."""

    def __init__(self, msg: str | None = None) -> None:
        super().__init__(ETERM, msg)


class ZMQBindError(ZMQBaseError):
    """A bind could not be completed (e.g. no free port in a requested range)."""
