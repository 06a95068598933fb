"""Connect side: connect -> engine -> back off -> connect again.

The loop runs in its own cancel scope inside the socket's nursery;
``disconnect()`` and ``close()`` cancel that scope. Every await in the loop is
cancellation-safe: a cancelled connect attempt closes its half-open socket
(trio's ``open_tcp_stream`` guarantees that), a cancelled engine closes its
stream, and the connect-side pipe is terminated in ``finally`` only when the
dialer itself ends -- never between reconnects, so messages queued while the
peer is away are kept and sent after the reconnect.

Policy (libzmq ``session_base.cpp``): I/O errors, refused connections and
handshake/heartbeat timeouts are retried after ``reconnect_ivl`` (plus up to one
``reconnect_ivl`` of random jitter, doubling up to ``reconnect_ivl_max`` when
that is set); a protocol error stops this endpoint for good, and so does
``reconnect_ivl = -1``.
"""

from __future__ import annotations

import errno
import math
import random
import sys
from typing import TYPE_CHECKING

import trio

from ._engine import Engine, Outcome
from ._monitor import Event
from ._transports import Transport

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup

if TYPE_CHECKING:
    from ._pipe import Pipe
    from ._socket import Socket

__all__ = ["dial_loop"]


async def dial_loop(
    sock: Socket,
    endpoint: str,
    transport: Transport,
    address: str,
    pipe: Pipe | None,
    scope: trio.CancelScope,
    connect_routing_id: bytes = b"",
) -> None:
    """Keep a connection to ``endpoint`` until cancelled or a protocol error."""
    opts = sock._opts
    try:
        with scope:
            ivl = max(opts.reconnect_ivl, 0)
            while True:
                timeout = opts.connect_timeout / 1000 if opts.connect_timeout > 0 else math.inf
                try:
                    with trio.fail_after(timeout):
                        stream = await transport.connect(address, opts)
                except (OSError, trio.TooSlowError) as exc:
                    sock._emit(Event.CONNECT_DELAYED, _connect_errno(exc), endpoint, str(exc))
                else:
                    sock._emit(Event.CONNECTED, sock._next_connection_id(), endpoint)
                    engine = Engine(
                        sock,
                        stream,
                        endpoint,
                        pipe,
                        transport.peer_address(stream),
                        connect_routing_id=connect_routing_id,
                    )
                    outcome = await engine.run()
                    if engine.handshake_done:
                        ivl = max(opts.reconnect_ivl, 0)
                    if outcome is Outcome.PROTOCOL_ERROR:
                        return  # libzmq: no reconnect after a protocol error
                    if sock._closing and (pipe is None or not pipe.outbound_pending()):
                        return  # closing, and nothing left that linger waits for
                if opts.reconnect_ivl < 0:
                    return
                delay = ivl + (
                    random.randrange(opts.reconnect_ivl) if opts.reconnect_ivl > 0 else 0
                )
                sock._emit(Event.CONNECT_RETRIED, delay, endpoint)
                await trio.sleep(delay / 1000)
                if opts.reconnect_ivl_max > 0:
                    ivl = min(max(ivl, 1) * 2, opts.reconnect_ivl_max)
    finally:
        if pipe is not None:
            sock._terminate_pipe(pipe)
        sock._dialer_ended(endpoint, scope)


def _connect_errno(exc: BaseException) -> int:
    """The errno behind a failed connect.

    trio's ``open_tcp_stream`` raises a plain ``OSError`` ("all attempts to
    connect ... failed") whose real errors are in ``__cause__`` (one error, or an
    exception group of the attempts); ETIMEDOUT means connect_timeout expired.
    """
    if isinstance(exc, trio.TooSlowError):
        return errno.ETIMEDOUT
    seen: list[BaseException] = [exc]
    while seen:
        err = seen.pop(0)
        if isinstance(err, OSError) and err.errno:
            return err.errno
        if isinstance(err, BaseExceptionGroup):
            seen.extend(err.exceptions)
        if err.__cause__ is not None:
            seen.append(err.__cause__)
    return errno.ECONNREFUSED
