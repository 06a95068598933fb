"""ipc:// transport: Unix-domain stream sockets.

``ipc:///path`` binds a socket file; ``ipc://@name`` uses Linux's abstract
namespace; ``ipc://*`` picks a fresh path in the temp dir. As libzmq does, a bind
removes a stale file left at the path, and closing the listener removes the file
it created.
"""

from __future__ import annotations

import os
import socket as _stdlib_socket
import tempfile
import uuid

import trio

from .._constants import EINVAL
from .._errors import ZMQError
from .._io import lean_stream
from .._options import Options
from ._streams import StreamTransport

__all__ = ["IpcTransport"]


def _sockaddr(address: str) -> str:
    if not address:
        raise ZMQError(EINVAL, "invalid ipc address: empty path")
    if address.startswith("@"):
        return "\0" + address[1:]
    return address


class _UnlinkingListener(trio.abc.Listener[trio.abc.Stream]):
    """Wraps a SocketListener (which is final) and removes its socket file on close."""

    def __init__(self, sock: trio.socket.SocketType, path: str | None) -> None:
        self._inner = trio.SocketListener(sock)
        self._path = path
        self.socket = sock

    async def accept(self) -> trio.abc.Stream:
        return await self._inner.accept()

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            if self._path is not None:
                try:
                    os.unlink(self._path)
                except OSError:
                    pass
                self._path = None


class IpcTransport(StreamTransport):
    scheme = "ipc"

    def check_connect_address(self, address: str) -> None:
        if address == "*":
            raise ZMQError(EINVAL, "invalid ipc address '*' for connect")
        _sockaddr(address)

    async def listen(
        self, address: str, options: Options
    ) -> tuple[list[trio.abc.Listener[trio.abc.Stream]], str]:
        if address == "*":
            address = os.path.join(tempfile.gettempdir(), f"trinq-{uuid.uuid4().hex[:12]}.ipc")
        path = _sockaddr(address)
        sock = trio.socket.socket(_stdlib_socket.AF_UNIX, _stdlib_socket.SOCK_STREAM)
        try:
            file_path = None if path.startswith("\0") else path
            if file_path is not None:
                try:
                    os.unlink(file_path)  # stale socket file, as libzmq does
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    raise ZMQError(
                        exc.errno or EINVAL, f"cannot bind ipc://{address}: {exc}"
                    ) from exc
            try:
                await sock.bind(path)
                sock.listen(options.backlog)
            except OSError as exc:
                raise ZMQError(exc.errno or EINVAL, f"cannot bind ipc://{address}: {exc}") from exc
        except BaseException:
            sock.close()
            raise
        return [_UnlinkingListener(sock, file_path)], f"ipc://{address}"

    async def open_stream(self, address: str, options: Options) -> trio.abc.Stream:
        path = _sockaddr(address)
        sock = trio.socket.socket(_stdlib_socket.AF_UNIX, _stdlib_socket.SOCK_STREAM)
        try:
            await sock.connect(path)
        except BaseException:
            sock.close()
            raise
        return lean_stream(trio.SocketStream(sock))

    async def prepare_accepted(self, stream: trio.abc.Stream, options: Options) -> trio.abc.Stream:
        return lean_stream(stream)

    def peer_address(self, stream: trio.abc.Stream) -> str:
        return ""
