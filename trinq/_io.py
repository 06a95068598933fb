"""A lean trio Stream over a non-blocking stdlib socket.

``trio.SocketStream`` wraps every successful ``send``/``recv`` in a
checkpoint sandwich (a scheduler pass per call). trinq's engine already yields
where it matters (its writer waits on a memory channel, its reader on the
socket), so this stream skips the extra pass on the success path and waits
with :func:`trio.lowlevel.wait_readable` / :func:`~trio.lowlevel.wait_writable`
only when the kernel says it would block. Semantics otherwise match
``trio.SocketStream``: ``send_all`` may have sent part of the data if
cancelled; ``receive_some`` is atomic; errors become ``BrokenResourceError`` /
``ClosedResourceError``.
"""

from __future__ import annotations

import errno
import socket as _stdlib_socket
from collections.abc import Callable

import trio
from trio.lowlevel import checkpoint, notify_closing, wait_readable, wait_writable

__all__ = ["LeanSocketStream", "lean_stream"]

_CLOSED_ERRNOS = {errno.EBADF, errno.ENOTSOCK}


def recv_or_none(sock: _stdlib_socket.socket, n: int) -> bytes | None:
    """``sock.recv(n)``, None for EAGAIN: caught here, the exception's traceback never
    reaches (and so never materializes a frame object for) the waiting coroutine,
    and it is not kept alive while that coroutine waits."""
    try:
        return sock.recv(n)
    except BlockingIOError:
        return None


def _send_or_none(sock: _stdlib_socket.socket, data: memoryview) -> int | None:
    try:
        return sock.send(data)
    except BlockingIOError:
        return None


class LeanSocketStream(trio.abc.HalfCloseableStream):
    """See the module docstring. Construct it with :func:`lean_stream`."""

    __slots__ = ("_closed", "_receiving", "_sending", "_sock")

    def __init__(self, sock: _stdlib_socket.socket) -> None:
        sock.setblocking(False)
        self._sock = sock
        self._closed = False
        self._sending = False
        self._receiving = False

    @property
    def socket(self) -> _stdlib_socket.socket:
        return self._sock

    def getpeername(self) -> object:
        return self._sock.getpeername()

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        if self._sending:
            raise trio.BusyResourceError("another task is sending on this stream")
        if self._closed:
            raise trio.ClosedResourceError
        self._sending = True
        try:
            view = memoryview(data)
            total = len(view)
            sent = 0
            if not total:
                await checkpoint()
            while sent < total:
                try:
                    n = _send_or_none(self._sock, view[sent:] if sent else view)
                except OSError as exc:
                    raise self.translate_error(exc) from exc
                if n is None:
                    await wait_writable(self._sock)
                else:
                    sent += n
        finally:
            self._sending = False

    async def wait_send_all_might_not_block(self) -> None:
        if self._closed:
            raise trio.ClosedResourceError
        await wait_writable(self._sock)

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        """As ``trio.SocketStream.receive_some``."""
        data = await self.receive_or_give_up(max_bytes, None)
        assert data is not None
        return data

    async def receive_or_give_up(
        self, max_bytes: int | None, give_up: Callable[[], bool] | None
    ) -> bytes | None:
        """:meth:`receive_some`, except that ``give_up``, a callable asked each time
        the kernel has nothing, can make it return ``None`` instead of waiting (the
        engine's reader lends reading to a receiver that way: ``trinq._loan``)."""
        if self._receiving:
            raise trio.BusyResourceError("another task is receiving on this stream")
        if self._closed:
            raise trio.ClosedResourceError
        self._receiving = True
        try:
            while True:
                try:
                    data = recv_or_none(self._sock, max_bytes or 65536)
                except OSError as exc:
                    raise self.translate_error(exc) from exc
                if data is not None:
                    return data
                if give_up is not None and give_up():
                    return None
                await wait_readable(self._sock)
        finally:
            self._receiving = False

    @property
    def closed(self) -> bool:
        return self._closed

    async def send_eof(self) -> None:
        if self._closed:
            raise trio.ClosedResourceError
        await checkpoint()
        try:
            self._sock.shutdown(_stdlib_socket.SHUT_WR)
        except OSError as exc:
            raise self.translate_error(exc) from exc

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            notify_closing(self._sock)
            self._sock.close()
        await checkpoint()

    def translate_error(self, exc: OSError) -> Exception:
        if self._closed or exc.errno in _CLOSED_ERRNOS:
            return trio.ClosedResourceError("stream was closed")
        return trio.BrokenResourceError(exc)


def lean_stream(stream: trio.abc.Stream) -> trio.abc.Stream:
    """Turn a ``trio.SocketStream`` into a :class:`LeanSocketStream` (same socket).

    Anything else is returned unchanged.
    """
    if not isinstance(stream, trio.SocketStream):
        return stream
    tsock = stream.socket
    family, type_, proto = tsock.family, tsock.type, tsock.proto
    fd = tsock.detach()
    return LeanSocketStream(_stdlib_socket.socket(family, type_, proto, fileno=fd))
