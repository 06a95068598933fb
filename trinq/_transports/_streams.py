"""Byte-stream transports (tcp, ipc): serve = accept loop + an engine per connection;
dial = connect -> engine -> back off -> connect again.

:class:`StreamTransport` implements the :class:`~trinq._transports.Transport`
contract for any transport that can listen and open trio streams; tcp and ipc only
say how to listen, connect, and prepare an accepted stream.

Serving: ``bind()`` opens the listeners itself (so errors such as EADDRINUSE reach
the caller); :meth:`StreamBinding.serve` then accepts until cancelled. Each accepted
connection's setup (``prepare_accepted``: socket options, and for a message
transport such as ws its HTTP upgrade) runs in that connection's own task, never in
the accept loop, so a slow peer cannot hold up the next accept. Closing the socket
stops accepting at once (:meth:`StreamBinding.stop_accepting`) while accepted
connections keep writing during ``linger``.

Dialing: the loop runs in its own cancel scope inside the socket's nursery;
``disconnect()`` and ``close()`` cancel it. Every await in the loop is
cancellation-safe: a cancelled connect attempt closes its half-open socket (trio's
``open_tcp_stream`` guarantees that), a cancelled engine closes its stream, and the
connect-side pipe is terminated in ``finally`` only when the dialer itself ends --
never between reconnects, so messages queued while the peer is away are kept and
sent after the reconnect.

Policy (libzmq ``session_base.cpp``, docs/interop.md §14): I/O errors, refused
connections and handshake/heartbeat timeouts are retried after ``reconnect_ivl``
(plus up to one ``reconnect_ivl`` of random jitter, doubling up to
``reconnect_ivl_max`` when that is set); a protocol error stops this endpoint for
good, and so does ``reconnect_ivl = -1``.
"""

from __future__ import annotations

import abc
import errno
import math
import random
import sys
from typing import Any

import trio
from trio.lowlevel import enable_ki_protection

from .._codec import RawCodec, shared_encoder_for, zmtp_codec
from .._core import SocketCore
from .._engine import Engine, Outcome
from .._monitor import Event
from .._options import Options
from .._pipe import Pipe

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup

__all__ = ["DialingTransport", "StreamBinding", "StreamTransport"]

# errnos that mean "out of resources for now": wait a little and retry (trio's
# serve_listeners does the same).
_CAPACITY_ERRNOS = {errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS}


class DialingTransport(abc.ABC):
    """What every transport over trio streams shares: the connect side (the dial loop
    and an engine per connection). :class:`StreamTransport` adds the usual bind (an
    accept loop over listeners); a transport with a bind of its own (ws, whose binds
    share a port) subclasses this directly and provides ``bind``."""

    scheme = ""

    # --- what a subclass provides ------------------------------------------------------

    @abc.abstractmethod
    def check_connect_address(self, address: str) -> None:
        """Validate a connect address synchronously; raise ZMQError(EINVAL) if malformed."""

    @abc.abstractmethod
    async def open_stream(self, address: str, options: Options) -> trio.abc.Stream:
        """Open one connection to ``address``."""

    def peer_address(self, stream: trio.abc.Stream) -> str:
        """A printable address of the remote end (for monitor events and ZAP)."""
        return ""

    # --- the Transport contract (connect side) ---------------------------------------

    def connect(
        self, core: SocketCore, endpoint: str, address: str, routing_id: bytes
    ) -> StreamDialing:
        pattern = core.pattern
        pipe = None
        if not core.options.immediate and pattern.pipes_outlive_connections:
            pipe = core.new_pipe(endpoint, self._shared_encoder(core))
            pipe.routing_id = routing_id
            core.add_connect_pipe(endpoint, pipe)
        dialing = StreamDialing(pipe)
        core.spawn(self._dial, core, endpoint, address, pipe, dialing, routing_id)
        return dialing

    # --- engines -------------------------------------------------------------------

    def _shared_encoder(self, core: SocketCore) -> Any:
        return None if core.pattern.raw else shared_encoder_for(core.options)

    def codec(self, core: SocketCore, stream: trio.abc.Stream) -> Any:
        """The codec of one connection: ZMTP, or raw bytes for STREAM sockets (a
        message transport frames its own: ws)."""
        return RawCodec() if core.pattern.raw else zmtp_codec(core.socket_type, core.options)

    def engine(
        self,
        core: SocketCore,
        stream: trio.abc.Stream,
        endpoint: str,
        pipe: Pipe | None,
        routing_id: bytes = b"",
    ) -> Engine:
        """The engine for one connection: this transport's codec over ``stream``."""
        return Engine(
            core,
            stream,
            self.codec(core, stream),
            endpoint,
            pipe,
            self.peer_address(stream),
            connect_routing_id=routing_id,
            shared_encoder=self._shared_encoder(core),
        )

    @enable_ki_protection
    async def _dial(
        self,
        core: SocketCore,
        endpoint: str,
        address: str,
        pipe: Pipe | None,
        dialing: StreamDialing,
        routing_id: bytes,
    ) -> None:
        """Keep a connection to ``endpoint`` until cancelled or a protocol error."""
        opts = core.options
        try:
            with dialing.scope:
                ivl = max(opts.reconnect_ivl, 0)
                while True:
                    timeout = opts.connect_timeout / 1000 if opts.connect_timeout > 0 else math.inf
                    try:
                        with trio.fail_after(timeout):
                            stream = await self.open_stream(address, opts)
                    except (OSError, UnicodeError, trio.TooSlowError) as exc:
                        # (UnicodeError: a host name the resolver's idna codec refuses)
                        core.emit(Event.CONNECT_DELAYED, _connect_errno(exc), endpoint, str(exc))
                    else:
                        core.emit(Event.CONNECTED, core.next_connection_id(), endpoint)
                        engine = self.engine(core, stream, endpoint, pipe, routing_id)
                        outcome = await engine.run()
                        if engine.handshake_done:
                            ivl = max(opts.reconnect_ivl, 0)
                        if outcome is Outcome.PROTOCOL_ERROR:
                            return  # libzmq: no reconnect after a protocol error
                        if core.closing and (pipe is None or not pipe.outbound_pending()):
                            return  # closing, and nothing left that linger waits for
                    if opts.reconnect_ivl < 0:
                        return
                    delay = ivl + (
                        random.randrange(opts.reconnect_ivl) if opts.reconnect_ivl > 0 else 0
                    )
                    core.emit(Event.CONNECT_RETRIED, delay, endpoint)
                    await trio.sleep(delay / 1000)
                    if opts.reconnect_ivl_max > 0:
                        ivl = min(max(ivl, 1) * 2, opts.reconnect_ivl_max)
        finally:
            dialing.ended = True
            if pipe is not None:
                core.terminate_pipe(pipe)
            core.check_drained()


class StreamTransport(DialingTransport):
    """Base class of the byte-stream transports (tcp, ipc): the connect side, and a
    bind that listens and runs an engine per accepted connection."""

    @abc.abstractmethod
    async def listen(
        self, address: str, options: Options
    ) -> tuple[list[trio.abc.Listener[trio.abc.Stream]], str]:
        """Start listening; return the listeners and the resolved endpoint."""

    #: a synchronous prepare_accepted (None: the async one runs in the connection's task)
    prepare_accepted_now: Any = None

    async def prepare_accepted(self, stream: trio.abc.Stream, options: Options) -> trio.abc.Stream:
        """Per accepted connection, in its own task: apply options (and, for a
        message transport, run its upgrade); return the stream the engine drives."""
        return stream

    async def bind(self, core: SocketCore, address: str) -> StreamBinding:
        listeners, resolved = await self.listen(address, core.options)
        return StreamBinding(self, core, resolved, listeners)

    @enable_ki_protection
    async def _serve_one(self, core: SocketCore, endpoint: str, stream: trio.abc.Stream) -> None:
        try:
            stream = await self.prepare_accepted(stream, core.options)
        except (OSError, trio.BrokenResourceError) as exc:
            core.emit(Event.ACCEPT_FAILED, getattr(exc, "errno", 0) or 0, endpoint, str(exc))
            await trio.aclose_forcefully(stream)
            return
        await self.engine(core, stream, endpoint, None).run()


class StreamDialing:
    """One ``connect()`` of a stream transport: its dial loop's scope and its pipe."""

    def __init__(self, pipe: Pipe | None) -> None:
        self.scope = trio.CancelScope()
        self.pipe = pipe
        #: the dial loop returned (a protocol error, reconnect_ivl=-1, or stopped)
        self.ended = False

    def stop(self) -> None:
        """Stop dialing; the caller ends the pipes (``disconnect``) or lingers."""
        self.scope.cancel()


class StreamBinding:
    """One ``bind()`` of a stream transport: its listeners and accepted connections."""

    def __init__(
        self,
        transport: StreamTransport,
        core: SocketCore,
        endpoint: str,
        listeners: list[trio.abc.Listener[trio.abc.Stream]],
    ) -> None:
        self.transport = transport
        self.core = core
        self.endpoint = endpoint
        self.listeners = listeners
        self._listen_scope = trio.CancelScope()
        #: the connection tasks' name (trio's default, made once per binding)
        serve = transport._serve_one
        self._serve_name = f"{serve.__module__}.{serve.__qualname__}"

    async def discard(self) -> None:
        """Close the listeners of a binding that will not be served."""
        for listener in self.listeners:
            await trio.aclose_forcefully(listener)

    def stop_accepting(self) -> None:
        """Stop accepting; the connections accepted so far keep running (linger)."""
        self._listen_scope.cancel()

    @enable_ki_protection
    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Accept until cancelled, running every accepted connection inside; the
        listeners are closed (and the address free again) when this returns."""
        core = self.core
        try:
            async with trio.open_nursery() as connections:
                connections.start_soon(self._listen, connections)
                core.emit(Event.LISTENING, 0, self.endpoint)
                task_status.started()
        finally:
            with trio.CancelScope(shield=True):
                await self.discard()

    @enable_ki_protection
    async def _listen(self, connections: trio.Nursery) -> None:
        try:
            with self._listen_scope:
                async with trio.open_nursery() as nursery:
                    for listener in self.listeners:
                        nursery.start_soon(self._accept_loop, listener, connections)
        finally:
            with trio.CancelScope(shield=True):
                await self.discard()
            self.core.emit(Event.CLOSED, 0, self.endpoint)

    @enable_ki_protection
    async def _accept_loop(
        self, listener: trio.abc.Listener[trio.abc.Stream], connections: trio.Nursery
    ) -> None:
        core = self.core
        endpoint = self.endpoint
        while True:
            try:
                stream = await listener.accept()
            except OSError as exc:
                core.emit(Event.ACCEPT_FAILED, exc.errno or 0, endpoint, str(exc))
                if exc.errno in _CAPACITY_ERRNOS:
                    await trio.sleep(0.1)
                    continue
                raise
            core.emit(Event.ACCEPTED, core.next_connection_id(), endpoint)
            prepare_now = self.transport.prepare_accepted_now
            if prepare_now is not None:
                try:
                    stream = prepare_now(stream, core.options)
                except OSError as exc:
                    core.emit(Event.ACCEPT_FAILED, exc.errno or 0, endpoint, str(exc))
                    await trio.aclose_forcefully(stream)
                    continue
                engine = self.transport.engine(core, stream, endpoint, None)
                connections.start_soon(engine.run, name=_RUN_NAME)
                continue
            connections.start_soon(
                self.transport._serve_one, core, endpoint, stream, name=self._serve_name
            )


_RUN_NAME = "trinq._engine.Engine.run"


def _connect_errno(exc: BaseException) -> int:
    """The errno behind a failed connect.

    trio's ``open_tcp_stream`` raises a plain ``OSError`` ("all attempts to
    connect ... failed") whose real errors are in ``__cause__`` (one error, or an
    exception group of the attempts); ETIMEDOUT means connect_timeout expired. A name
    that does not resolve (``socket.gaierror``, whose codes are not errnos) is
    EHOSTUNREACH.
    """
    if isinstance(exc, trio.TooSlowError):
        return errno.ETIMEDOUT
    seen: list[BaseException] = [exc]
    while seen:
        err = seen.pop(0)
        if isinstance(err, OSError) and err.errno:
            return err.errno if err.errno > 0 else errno.EHOSTUNREACH
        if isinstance(err, BaseExceptionGroup):
            seen.extend(err.exceptions)
        if err.__cause__ is not None:
            seen.append(err.__cause__)
    return errno.ECONNREFUSED
