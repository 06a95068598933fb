"""Bind side: accept connections and run an engine for each.

``bind()`` opens the listeners itself (so errors such as EADDRINUSE reach the
caller) and then starts :func:`accept_loop` with ``nursery.start``, so the bind
returns only once the socket is accepting. Each endpoint runs in its own
nursery; ``unbind()`` cancels it, which closes the listeners and every
connection accepted through them, as libzmq does.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

import trio

from ._engine import Engine
from ._monitor import Event
from ._transports import Transport

if TYPE_CHECKING:
    from ._socket import Socket

__all__ = ["serve_endpoint"]

# errnos that mean "out of resources for now": wait a little and retry (trio's
# serve_listeners does the same).
_CAPACITY_ERRNOS = {errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS}


async def serve_endpoint(
    sock: Socket,
    endpoint: str,
    transport: Transport,
    listeners: list[trio.abc.Listener[trio.abc.Stream]],
    scope: trio.CancelScope,
    listen_scope: trio.CancelScope,
    closed: trio.Event,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Accept on ``listeners`` until ``listen_scope`` is cancelled; run every
    accepted connection until ``scope`` is cancelled; set ``closed`` at the end.

    The two scopes let a closing socket stop accepting at once while the
    connections it already has keep writing during ``linger``.
    """
    try:
        with scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(
                    _listen, sock, endpoint, transport, listeners, listen_scope, nursery
                )
                sock._emit(Event.LISTENING, 0, endpoint)
                task_status.started()
    finally:
        with trio.CancelScope(shield=True):
            for listener in listeners:
                await trio.aclose_forcefully(listener)
        closed.set()  # the address is free again (Socket.unbind waits for this)


async def _listen(
    sock: Socket,
    endpoint: str,
    transport: Transport,
    listeners: list[trio.abc.Listener[trio.abc.Stream]],
    listen_scope: trio.CancelScope,
    connections: trio.Nursery,
) -> None:
    try:
        with listen_scope:
            async with trio.open_nursery() as nursery:
                for listener in listeners:
                    nursery.start_soon(
                        _accept_loop, sock, endpoint, transport, listener, connections
                    )
    finally:
        with trio.CancelScope(shield=True):
            for listener in listeners:
                await trio.aclose_forcefully(listener)
        sock._emit(Event.CLOSED, 0, endpoint)


async def _accept_loop(
    sock: Socket,
    endpoint: str,
    transport: Transport,
    listener: trio.abc.Listener[trio.abc.Stream],
    nursery: trio.Nursery,
) -> None:
    while True:
        try:
            stream = await listener.accept()
        except OSError as exc:
            sock._emit(Event.ACCEPT_FAILED, exc.errno or 0, endpoint, str(exc))
            if exc.errno in _CAPACITY_ERRNOS:
                await trio.sleep(0.1)
                continue
            raise
        try:
            stream = transport.prepare_accepted(stream, sock._opts)
        except OSError as exc:
            sock._emit(Event.ACCEPT_FAILED, exc.errno or 0, endpoint, str(exc))
            await trio.aclose_forcefully(stream)
            continue
        sock._emit(Event.ACCEPTED, sock._next_connection_id(), endpoint)
        nursery.start_soon(_serve_one, sock, endpoint, transport, stream)


async def _serve_one(
    sock: Socket, endpoint: str, transport: Transport, stream: trio.abc.Stream
) -> None:
    engine = Engine(sock, stream, endpoint, None, transport.peer_address(stream))
    await engine.run()
