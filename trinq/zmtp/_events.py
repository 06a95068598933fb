"""Events produced by :meth:`Connection.next_event` / :meth:`Connection.events`.

Theory of operation
-------------------
Events are immutable value objects (``attrs`` frozen, slotted classes), as in
h11.  Several are also *commands* accepted by :meth:`Connection.send_command`:
:class:`Subscribe`, :class:`Cancel`, :class:`Ping`, :class:`Pong`,
:class:`Join`, :class:`Leave` and :class:`Error`.

:class:`Message` is the exception to the attrs rule: it is created once per
received message on the hot path, and attrs' frozen ``__init__`` costs twice
as much as a hand-written one.  It is a slotted class whose ``__init__``
stores the frame list through the slot descriptor directly, and whose
``__setattr__``/``__delattr__`` refuse changes, so it is just as immutable
(the frame *list* itself is owned by the receiver).  It compares by value.

Don't subclass these.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

__all__ = [
    "Cancel",
    "ConnectionClosed",
    "Error",
    "Event",
    "HandshakeComplete",
    "Join",
    "Leave",
    "Message",
    "Ping",
    "Pong",
    "Subscribe",
]


@attrs.frozen
class HandshakeComplete:
    """The greeting and security handshake finished; messages may flow.

    Attributes:
        peer_socket_type: the peer's ``Socket-Type`` property ("" if absent).
        peer_identity: the peer's ``Identity`` property (b"" if absent).
        peer_properties: every READY property the peer sent.
        peer_minor: 0 for a ZMTP 3.0 peer, 1 for 3.1.
        mechanism: the mechanism name ("NULL", "PLAIN", "CURVE").
    """

    peer_socket_type: str
    peer_identity: bytes
    peer_properties: dict[str, bytes] = attrs.field(hash=False)
    peer_minor: int
    mechanism: str


class Message:
    """One whole multipart message (data frames only).

    Attributes:
        frames: the frames, in order (at least one).
    """

    __slots__ = ("frames",)
    frames: list[bytes]

    def __init__(self, frames: list[bytes]) -> None:
        _set_frames(self, frames)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        if type(other) is Message:
            return self.frames == other.frames
        return NotImplemented

    __hash__: ClassVar[None] = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Message(frames={self.frames!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Message, (self.frames,))


_set_frames = Message.__dict__["frames"].__set__


@attrs.frozen
class Subscribe:
    """A subscription (SUBSCRIBE command, or legacy ``\\x01topic`` message)."""

    topic: bytes


@attrs.frozen
class Cancel:
    """An unsubscription (CANCEL command, or legacy ``\\x00topic`` message)."""

    topic: bytes


@attrs.frozen
class Ping:
    """A PING heartbeat.  *ttl* is in deciseconds, as on the wire.

    When sent, *context* may exceed the RFC's 16 octets (libzmq echoes only
    the first 16).
    """

    ttl: int = 0
    context: bytes = b""


@attrs.frozen
class Pong:
    """A PONG reply.  When sent, *context* is truncated to 16 octets."""

    context: bytes = b""


@attrs.frozen
class Join:
    """A DISH joined *group* (JOIN command)."""

    group: bytes


@attrs.frozen
class Leave:
    """A DISH left *group* (LEAVE command)."""

    group: bytes


@attrs.frozen
class Error:
    """An ERROR command to send (received ones raise RemoteProtocolError)."""

    reason: bytes


@attrs.frozen
class ConnectionClosed:
    """The peer closed the stream (EOF) and every earlier event was consumed."""


Event = (
    HandshakeComplete | Message | Subscribe | Cancel | Ping | Pong | Join | Leave | ConnectionClosed
)
