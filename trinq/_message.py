"""``trinq.Message``: one received message with what is known about where it came from."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import attrs

__all__ = ["Message"]

_EMPTY: Mapping[str, str] = MappingProxyType({})


@attrs.frozen
class Message:
    """A whole received message and its metadata (:meth:`trinq.Socket.recv_message`).

    Attributes:
      frames: every frame, in order.
      routing_id: the peer's routing id on SERVER and PEER sockets, else ``None``.
      group: the group of a message received by a DISH, else ``None``.
      properties: what the peer said about itself in its handshake and what the
        connection knows, as libzmq's ``zmq_msg_gets`` names it: ``Socket-Type``,
        ``Routing-Id`` (the peer's ``Identity`` property, when it sent one),
        ``Peer-Address`` (tcp: the peer's IP), ``X-...`` application metadata, and
        later ``User-Id`` and what a ZAP handler returned.
    """

    frames: tuple[bytes, ...]
    routing_id: int | None = None
    group: str | None = None
    properties: Mapping[str, str] = _EMPTY

    @property
    def data(self) -> bytes:
        """The last frame (the whole body of a single-part message)."""
        return self.frames[-1]

    def __len__(self) -> int:
        return len(self.frames)
