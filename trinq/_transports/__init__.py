"""Transport registry: endpoint scheme -> transport.

A transport turns an endpoint address (the part after ``scheme://``) into trio
objects: ``await listen(address, options)`` returns listeners plus the resolved
endpoint, and ``await connect(address, options)`` returns a connected stream.
Byte-stream transports (tcp, ipc) hand back :class:`trio.abc.Stream`; a
message-oriented transport (ws, udp) plugs in by returning a stream-like object
from its own adapter, so the engine never needs to know which one it drives.

This layer only does I/O: no ZMTP, no patterns.
"""

from __future__ import annotations

from typing import Protocol

import trio

from .._constants import EPROTONOSUPPORT
from .._errors import ZMQError
from .._options import Options

__all__ = ["Transport", "register", "split_endpoint", "transport_for"]


class Transport(Protocol):
    """What every transport provides."""

    scheme: str

    def check_connect_address(self, address: str) -> None:
        """Validate a connect address synchronously; raise ZMQError(EINVAL) if malformed."""

    async def listen(
        self, address: str, options: Options
    ) -> tuple[list[trio.abc.Listener[trio.abc.Stream]], str]:
        """Start listening; return the listeners and the resolved endpoint."""

    async def connect(self, address: str, options: Options) -> trio.abc.Stream:
        """Open one connection to ``address``."""

    def prepare_accepted(self, stream: trio.abc.Stream, options: Options) -> trio.abc.Stream:
        """Apply options to an accepted stream; return the stream the engine drives."""

    def peer_address(self, stream: trio.abc.Stream) -> str:
        """A printable address of the remote end (for monitor events and ZAP)."""


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
    from ._ipc import IpcTransport
    from ._tcp import TcpTransport

    register(TcpTransport())
    register(IpcTransport())


_register_builtin()
