"""tcp:// transport: IPv4, IPv6 (``[::1]``), ``*`` wildcard, host names, port 0/``*``."""

from __future__ import annotations

import socket as _stdlib_socket
from errno import ENODEV

import trio

from .._constants import EINVAL
from .._errors import ZMQError
from .._io import lean_stream
from .._options import Options
from ._streams import StreamTransport

__all__ = ["TcpTransport", "parse_tcp_address"]


def parse_tcp_address(address: str, *, bind: bool) -> tuple[str, int]:
    """Parse ``host:port`` (``[v6]:port``, ``*:*``) into (host, port); port 0 = ephemeral."""
    if address.startswith("["):
        host, sep, rest = address[1:].partition("]")
        if not sep or not rest.startswith(":"):
            raise ZMQError(EINVAL, f"invalid tcp address {address!r}")
        port_s = rest[1:]
    else:
        host, sep, port_s = address.rpartition(":")
        if not sep or not host:
            raise ZMQError(EINVAL, f"invalid tcp address {address!r}: expected host:port")
        if ";" in host:
            # libzmq's "source:port;host:port" form: we connect from any source.
            host = host.split(";", 1)[1]
    if port_s in ("*", "0"):
        if not bind:
            raise ZMQError(EINVAL, f"invalid tcp address {address!r}: connect needs a port")
        port = 0
    else:
        try:
            port = int(port_s)
        except ValueError:
            raise ZMQError(EINVAL, f"invalid tcp port in {address!r}") from None
        if not 0 <= port <= 65535:
            raise ZMQError(EINVAL, f"invalid tcp port in {address!r}")
    if host == "*" and not bind:
        raise ZMQError(EINVAL, f"invalid tcp address {address!r}: cannot connect to '*'")
    if host != "*" and ":" not in host:
        try:
            host.encode("idna")  # what the resolver will do (labels of 1..63 octets)
        except UnicodeError as exc:
            raise ZMQError(EINVAL, f"invalid tcp host in {address!r}: {exc}") from None
    return host, port


def _format(host: str, port: int) -> str:
    if ":" in host:
        return f"tcp://[{host}]:{port}"
    return f"tcp://{host}:{port}"


def _apply_keepalive(sock: trio.socket.SocketType, options: Options) -> None:
    if options.tcp_keepalive == -1:
        return
    sock.setsockopt(_stdlib_socket.SOL_SOCKET, _stdlib_socket.SO_KEEPALIVE, options.tcp_keepalive)
    if options.tcp_keepalive != 1:
        return
    for opt, name in (
        (options.tcp_keepalive_idle, "TCP_KEEPIDLE"),
        (options.tcp_keepalive_intvl, "TCP_KEEPINTVL"),
        (options.tcp_keepalive_cnt, "TCP_KEEPCNT"),
    ):
        if opt != -1 and hasattr(_stdlib_socket, name):
            sock.setsockopt(_stdlib_socket.IPPROTO_TCP, getattr(_stdlib_socket, name), opt)


class TcpTransport(StreamTransport):
    scheme = "tcp"

    def check_connect_address(self, address: str) -> None:
        parse_tcp_address(address, bind=False)

    async def listen(
        self, address: str, options: Options
    ) -> tuple[list[trio.abc.Listener[trio.abc.Stream]], str]:
        host, port = parse_tcp_address(address, bind=True)
        if host == "*":
            host = "::" if options.ipv6 else "0.0.0.0"
        try:
            listeners = await trio.open_tcp_listeners(port, host=host, backlog=options.backlog)
        except _stdlib_socket.gaierror as exc:
            # a name that does not resolve: libzmq says ENODEV (gaierror's codes are
            # not errnos)
            raise ZMQError(ENODEV, f"cannot bind to tcp://{address}: {exc}") from exc
        except OSError as exc:
            raise ZMQError(exc.errno or EINVAL, f"cannot bind to tcp://{address}: {exc}") from exc
        sockname = listeners[0].socket.getsockname()
        return list(listeners), _format(sockname[0], sockname[1])

    async def open_stream(self, address: str, options: Options) -> trio.abc.Stream:
        host, port = parse_tcp_address(address, bind=False)
        stream = await trio.open_tcp_stream(host, port)
        _apply_keepalive(stream.socket, options)
        return lean_stream(stream)

    async def prepare_accepted(self, stream: trio.abc.Stream, options: Options) -> trio.abc.Stream:
        return self.prepare_accepted_now(stream, options)

    def prepare_accepted_now(self, stream: trio.abc.Stream, options: Options) -> trio.abc.Stream:
        if isinstance(stream, trio.SocketStream):
            _apply_keepalive(stream.socket, options)
        return lean_stream(stream)

    def peer_address(self, stream: trio.abc.Stream) -> str:
        try:
            peer = stream.socket.getpeername()  # type: ignore[attr-defined]
        except (AttributeError, OSError):
            return ""
        return str(peer[0])
