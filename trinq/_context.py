"""Context: the root nursery that every socket's tasks live in."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any

import trio

from ._errors import ContextTerminated

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup
from ._socket import Socket

__all__ = ["Context"]


class Context(trio.abc.AsyncResource):
    """Owns a nursery; every socket created with :meth:`socket` runs inside it.

    Use it as an async context manager::

        async with trinq.Context() as ctx:
            async with ctx.socket(trinq.REP) as sock:
                ...

    Leaving the block closes every socket still open, honouring each socket's
    ``linger`` (when the block raised, sockets are closed with linger 0 so an
    error never hangs on unsent messages).
    """

    def __init__(self) -> None:
        self._nursery: trio.Nursery | None = None
        self._nursery_cm: Any = None
        self._sockets: set[Socket] = set()
        self._terminated = False

    async def __aenter__(self) -> Context:
        """Open the context's nursery. Cancellation: nothing is left open."""
        if self._nursery_cm is not None:
            raise RuntimeError("a Context can be entered only once")
        self._nursery_cm = trio.open_nursery()
        self._nursery = await self._nursery_cm.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        term_error: BaseException | None = None
        try:
            if exc is not None:
                for sock in list(self._sockets):
                    if not sock.closed:
                        sock._opts.set("linger", 0)
            await self.term()
        except BaseException as error:  # e.g. cancelled while lingering
            term_error = error
            if self._nursery is not None:
                self._nursery.cancel_scope.cancel()
        cm, self._nursery_cm = self._nursery_cm, None
        self._nursery = None
        try:
            result = await cm.__aexit__(exc_type, exc, tb)
        except BaseExceptionGroup as group:
            # The socket tasks never fail on their own, so a group holding just
            # the body's exception is unwrapped: users see their own error.
            if exc is not None and group.exceptions == (exc,):
                raise exc from None
            raise
        if term_error is not None:
            raise term_error
        return result  # type: ignore[no-any-return]

    def socket(self, socket_type: int, **options: Any) -> Socket:
        """Create a socket of ``socket_type`` (e.g. ``trinq.REQ``) with ``options``.

        Synchronous, like ``zmq.Context.socket``. Raises ``ZMQError(EINVAL)`` for a
        bad option and :class:`trinq.ContextTerminated` after :meth:`term`.
        """
        if self._terminated:
            raise ContextTerminated()
        if self._nursery is None:
            raise RuntimeError("use 'async with trinq.Context() as ctx:' before creating sockets")
        return Socket(self, socket_type, **options)

    def _start_socket(self, sock: Socket) -> None:
        assert self._nursery is not None
        self._sockets.add(sock)
        self._nursery.start_soon(sock._run)

    def _forget_socket(self, sock: Socket) -> None:
        self._sockets.discard(sock)

    def _spawn_system(self, fn: Any, *args: Any) -> None:
        if self._nursery is None:
            raise ContextTerminated()
        self._nursery.start_soon(fn, *args)

    async def term(self) -> None:
        """Close every socket (honouring linger) and refuse new ones.

        Cancellation: sockets still lingering are closed at once.
        """
        self._terminated = True
        async with trio.open_nursery() as nursery:
            for sock in list(self._sockets):
                nursery.start_soon(sock.aclose)

    aclose = term

    @property
    def closed(self) -> bool:
        return self._terminated
