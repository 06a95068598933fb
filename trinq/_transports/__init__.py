"""Transports: endpoint scheme -> what serves and dials it.

A transport owns both ends of its endpoints: ``await bind(core, address)`` returns
a :class:`Binding` (bound now, so errors such as EADDRINUSE reach the caller),
whose ``serve()`` the socket runs in its nursery until it unbinds or closes; and
``connect(core, endpoint, address, routing_id)`` (sync, as in libzmq) starts
whatever makes and keeps the connection, returning a :class:`Dialing` handle.

What kinds plug in here (docs/design.md, "How to add a transport"):

* byte-stream transports (tcp, ipc): :class:`~._streams.StreamTransport` -- an
  accept loop and a reconnecting dial loop, one engine per connection;
* message transports (ws, later): the same, with a per-connection upgrade in
  ``prepare_accepted`` and their own codec;
* in-memory (inproc): :mod:`._inproc` -- no engine, the two sockets' pipes are
  cross-linked;
* datagram (udp, later): an engine-less reader/writer on one datagram socket.

Transports talk to the socket only through its :class:`~trinq._core.SocketCore`.
"""

from __future__ import annotations

from typing import Protocol

import trio

from .._constants import EPROTONOSUPPORT
from .._core import SocketCore
from .._errors import ZMQError

__all__ = ["Binding", "Dialing", "Transport", "register", "split_endpoint", "transport_for"]


class Binding(Protocol):
    """One bound endpoint."""

    #: the resolved endpoint (port 0 / ``*`` filled in)
    endpoint: str

    async def serve(self, *, task_status: trio.TaskStatus[None] = ...) -> None:
        """Serve until cancelled (call ``task_status.started()`` once serving); the
        endpoint is free again when this returns."""
        ...

    def stop_accepting(self) -> None:
        """Take no new peers; the ones already there keep going (linger)."""
        ...

    async def discard(self) -> None:
        """Release a binding that will not be served (the socket refused it)."""
        ...


class Dialing(Protocol):
    """One ``connect()``."""

    #: the dialing ended by itself (a protocol error, ``reconnect_ivl=-1``)
    ended: bool

    def stop(self) -> None:
        """Stop making connections (``disconnect()``, or the socket closes)."""
        ...


class Transport(Protocol):
    """What every transport provides."""

    scheme: str

    def check_connect_address(self, address: str) -> None:
        """Validate a connect address synchronously; raise ZMQError(EINVAL) if malformed."""
        ...

    async def bind(self, core: SocketCore, address: str) -> Binding:
        """Bind ``address`` for the socket behind ``core``."""
        ...

    def connect(self, core: SocketCore, endpoint: str, address: str, routing_id: bytes) -> Dialing:
        """Start connecting ``endpoint`` (sync); ``routing_id`` is connect_routing_id.
        The socket has validated ``address`` with :meth:`check_connect_address`."""
        ...


_REGISTRY: dict[str, Transport] = {}


def register(transport: Transport) -> None:
    """Make ``transport`` available for its scheme (replaces an earlier one)."""
    _REGISTRY[transport.scheme] = transport


def split_endpoint(endpoint: str) -> tuple[str, str]:
    """Split ``"tcp://host:port"`` into ``("tcp", "host:port")``."""
    if not isinstance(endpoint, str):
        raise TypeError(f"endpoint must be str, not {type(endpoint).__name__}")
    scheme, sep, address = endpoint.partition("://")
    if not sep or not scheme or not address:
        raise ZMQError(22, f"invalid endpoint {endpoint!r}: expected 'transport://address'")
    return scheme, address


def transport_for(scheme: str) -> Transport:
    """The transport registered for ``scheme``, or ZMQError(EPROTONOSUPPORT)."""
    try:
        return _REGISTRY[scheme]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise ZMQError(
            EPROTONOSUPPORT, f"transport {scheme!r} is not supported (known: {known})"
        ) from None


def _register_builtin() -> None:
    from ._inproc import InprocTransport
    from ._ipc import IpcTransport
    from ._tcp import TcpTransport
    from ._udp import UdpTransport
    from ._ws import WssTransport, WsTransport

    register(TcpTransport())
    register(IpcTransport())
    register(InprocTransport())
    register(UdpTransport())
    register(WsTransport())
    register(WssTransport())


_register_builtin()
