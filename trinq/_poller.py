"""``trinq.Poller``: wait until one of several sockets (or file descriptors) is ready.

pyzmq's shape, for code ported from the zguide: ``register(socket, POLLIN |
POLLOUT)``, ``modify``, ``unregister``, ``await poll(timeout)`` -> ``[(socket,
events), ...]``. Polling consumes nothing: a socket reported readable still holds its
message for the next ``recv``.

How it waits: first it asks every registered item whether it is ready now (a trinq
socket's ``events`` option; ``select`` with a zero timeout for a file descriptor). If
nothing is, it waits in a nursery with one task per item and direction -- a trinq
socket's receive or send wait queue (woken whenever messages arrive or room appears),
``trio.lowlevel.wait_readable``/``wait_writable`` for a descriptor -- until the first
one wakes or the timeout passes, then asks every item again. In trio, a nursery with
one task per socket is often the simpler answer (docs/waiting.md says when).
"""

from __future__ import annotations

import math
import select
import sys
from typing import Any

import trio
from trio.lowlevel import enable_ki_protection

from . import _constants as C
from ._errors import ZMQError
from ._groups import lone
from ._socket import Socket

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup

__all__ = ["Poller"]


def _fileno(obj: Any) -> int:
    if isinstance(obj, int):
        return obj
    fileno = getattr(obj, "fileno", None)
    if fileno is None:
        raise TypeError(
            f"can only poll trinq sockets, file descriptors and objects with fileno(), "
            f"not {type(obj).__name__}"
        )
    fd = fileno()
    if not isinstance(fd, int):
        raise TypeError(f"{obj!r}.fileno() returned {fd!r}, not an int")
    return fd


class Poller:
    """Wait on several sockets at once (pyzmq's ``zmq.Poller``)."""

    def __init__(self) -> None:
        self._items: dict[Any, int] = {}

    @property
    def sockets(self) -> list[tuple[Any, int]]:
        """The registered items and the events each is polled for."""
        return list(self._items.items())

    def register(self, socket: Any, flags: int = C.POLLIN | C.POLLOUT) -> None:
        """Poll ``socket`` (a trinq Socket, a file descriptor, or an object with
        ``fileno()``) for ``flags`` (``POLLIN``, ``POLLOUT``); registering it again
        replaces its flags; ``flags=0`` unregisters it (as pyzmq)."""
        if flags & ~(C.POLLIN | C.POLLOUT):
            raise ZMQError(C.EINVAL, f"invalid poll flags {flags!r}: use POLLIN | POLLOUT")
        if not isinstance(socket, Socket):
            _fileno(socket)  # a TypeError now rather than at poll()
        if flags:
            self._items[socket] = flags
        else:
            self._items.pop(socket, None)

    modify = register

    def unregister(self, socket: Any) -> None:
        """Stop polling ``socket``; ``KeyError`` if it is not registered (as pyzmq)."""
        del self._items[socket]

    def _ready(self) -> list[tuple[Any, int]]:
        """What is ready now, consuming nothing."""
        ready: list[tuple[Any, int]] = []
        fds: dict[int, tuple[Any, int]] = {}
        for item, flags in self._items.items():
            if isinstance(item, Socket):
                events = item.getsockopt(C.EVENTS) & flags
                if events:
                    ready.append((item, events))
            else:
                fds[_fileno(item)] = (item, flags)
        if fds:
            rlist = [fd for fd, (_, flags) in fds.items() if flags & C.POLLIN]
            wlist = [fd for fd, (_, flags) in fds.items() if flags & C.POLLOUT]
            readable, writable, _ = select.select(rlist, wlist, [], 0)
            for fd, (item, _) in fds.items():
                events = (C.POLLIN if fd in readable else 0) | (C.POLLOUT if fd in writable else 0)
                if events:
                    ready.append((item, events))
        return ready

    @enable_ki_protection
    async def poll(self, timeout: float | None = None) -> list[tuple[Any, int]]:
        """Wait until a registered item is ready, or ``timeout`` ms pass (``None`` or
        negative: forever; 0: do not wait); return ``[(item, events), ...]`` for the
        ready ones (empty after a timeout). Nothing is received or sent.

        Cancellation: nothing was consumed, so a cancelled poll leaves every socket
        as it was.
        """
        seconds = math.inf if timeout is None or timeout < 0 else timeout / 1000
        if not self._items:  # as zmq_poll with no items: just the timeout
            await trio.sleep(seconds)
            return []
        ready = self._ready()
        if ready or seconds == 0:
            await trio.lowlevel.checkpoint()
            return ready
        failed: list[ZMQError] = []
        with trio.move_on_after(seconds):
            try:
                async with trio.open_nursery() as nursery:
                    for item, flags in self._items.items():
                        for flag in (C.POLLIN, C.POLLOUT):
                            if flags & flag:
                                nursery.start_soon(
                                    _wait_one, item, flag, nursery.cancel_scope, failed
                                )
            except BaseExceptionGroup as group:
                raise lone(group) from None  # Ctrl-C or a cancel comes out as itself
        if failed:  # a polled socket was closed (ENOTSOCK, ContextTerminated)
            raise failed[0]
        return self._ready()


@enable_ki_protection
async def _wait_one(item: Any, flag: int, done: trio.CancelScope, failed: list[ZMQError]) -> None:
    """One poll task: until ``item`` has ``flag``; then every other task stops."""
    try:
        if isinstance(item, Socket):
            await item.poll(None, flag)
        elif flag == C.POLLIN:
            await trio.lowlevel.wait_readable(_fileno(item))
        else:
            await trio.lowlevel.wait_writable(_fileno(item))
    except ZMQError as exc:
        failed.append(exc)
    done.cancel()
