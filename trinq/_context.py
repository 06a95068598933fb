"""Context: the root nursery that every socket's tasks live in."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any

import trio
from trio.lowlevel import enable_ki_protection

from ._errors import ContextTerminated
from ._groups import lone as _lone
from ._groups import only as _only

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup
from ._socket import Socket

__all__ = ["ZAP_NAME", "Context"]

#: The inproc name a ZAP handler binds (RFC 27: ``inproc://zeromq.zap.01``).
ZAP_NAME = "zeromq.zap.01"


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

    @enable_ki_protection
    async def __aenter__(self) -> Context:
        """Open the context's nursery. Cancellation: nothing is left open."""
        if self._nursery_cm is not None:
            raise RuntimeError("a Context can be entered only once")
        self._nursery_cm = trio.open_nursery()
        self._nursery = await self._nursery_cm.__aenter__()
        return self

    @enable_ki_protection
    async def __aexit__(  # type: ignore[override]  # pyright: ignore[reportIncompatibleMethodOverride]
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:  # the nursery's answer (trio: bool)
        """Close every socket (as :meth:`term`; with linger 0 when the body raised).

        What the body raised comes out as it was raised, never wrapped in another
        exception group; a ``KeyboardInterrupt``, ``SystemExit`` or ``Cancelled``
        that arrives while sockets linger comes out unwrapped too.
        Cancellation: sockets still lingering are closed at once.
        """
        term_error: BaseException | None = None
        try:
            for sock in list(self._sockets):
                sock._context_terminating(body_raised=exc is not None)
            await self.term()
        except BaseException as error:  # e.g. cancelled or interrupted while lingering
            term_error = _lone(error)
            if self._nursery is not None:
                self._nursery.cancel_scope.cancel()
        cm, self._nursery_cm = self._nursery_cm, None
        self._nursery = None
        try:
            result = await cm.__aexit__(exc_type, exc, tb)
        except BaseException as error:
            # The socket tasks never fail on their own: a group holding just the
            # body's exception (or just the interruption) is unwrapped.
            if exc is not None and _only(error, exc):
                raise exc from None
            if term_error is not None and _only(error, term_error):
                raise term_error from None
            raise _lone(error) from None
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

    async def _zap_request(self, request: list[bytes]) -> list[bytes] | None:
        """Ask this Context's ZAP handler (bound at ``inproc://zeromq.zap.01``, RFC 27)
        and return its reply frames; None when no handler is bound (the mechanism then
        does what libzmq does without one). A server mechanism's handshake calls this
        (``trinq._engine``) from its connection's task, so other connections go on.
        Cancellation (the handshake's ``handshake_ivl``, or closing): the request is
        abandoned and its socket closed."""
        from . import _constants as C
        from ._transports._inproc import is_bound

        if not is_bound(self, ZAP_NAME) or self._terminated:
            return None
        sock = Socket(self, C.REQ, linger=0)
        try:
            sock.connect("inproc://" + ZAP_NAME)
            await sock.send_multipart(request)
            return await sock.recv_multipart()
        finally:
            sock.close(linger=0)

    def _spawn_system(self, fn: Any, *args: Any) -> None:
        if self._nursery is None:
            raise ContextTerminated()
        self._nursery.start_soon(fn, *args)

    @enable_ki_protection
    async def term(self) -> None:
        """Close every socket (honouring linger) and refuse new ones.

        Calls blocked on those sockets, and later ones, raise
        :class:`trinq.ContextTerminated` (as in pyzmq).
        Cancellation: sockets still lingering are closed at once.
        """
        self._terminated = True
        for sock in self._sockets:
            sock._context_terminating(body_raised=False)  # calls raise ContextTerminated
        try:
            async with trio.open_nursery() as nursery:
                for sock in list(self._sockets):
                    nursery.start_soon(sock.aclose)
        except BaseExceptionGroup as group:
            raise _lone(group) from None

    aclose = term

    @property
    def closed(self) -> bool:
        return self._terminated
