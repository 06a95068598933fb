"""Socket monitoring: libzmq's ``zmq_socket_monitor`` events as typed trio values.

``sock.monitor()`` returns a :class:`Monitor`. The socket (and its dialers, acceptors
and engines) call :meth:`Monitor.emit` synchronously; the application reads events with
``await monitor.receive()`` or ``async for``::

    async with sock.monitor(trinq.Event.CONNECTED | trinq.Event.DISCONNECTED) as events:
        async for ev in events:
            print(ev.event.name, ev.endpoint)

A slow reader never slows the socket down: the buffer is bounded, and when it is full
new events are dropped and counted in :attr:`Monitor.dropped`.
"""

from __future__ import annotations

import enum
from types import TracebackType

import attrs
import trio

# One enum for both layers: defined by the sans-I/O core, re-exported here (and as
# trinq.ProtocolErrorCode) because HANDSHAKE_FAILED_PROTOCOL events carry its values.
from .zmtp._errors import ProtocolErrorCode

__all__ = ["Event", "Monitor", "MonitorEvent", "ProtocolErrorCode"]


class Event(enum.IntFlag):
    """Monitor event kinds, with libzmq's names and bit values (``ZMQ_EVENT_*``)."""

    CONNECTED = 0x1
    CONNECT_DELAYED = 0x2
    CONNECT_RETRIED = 0x4
    LISTENING = 0x8
    BIND_FAILED = 0x10
    ACCEPTED = 0x20
    ACCEPT_FAILED = 0x40
    CLOSED = 0x80
    CLOSE_FAILED = 0x100
    DISCONNECTED = 0x200
    MONITOR_STOPPED = 0x400
    HANDSHAKE_FAILED_NO_DETAIL = 0x800
    HANDSHAKE_SUCCEEDED = 0x1000
    HANDSHAKE_FAILED_PROTOCOL = 0x2000
    HANDSHAKE_FAILED_AUTH = 0x4000
    PIPES_STATS = 0x10000
    #: Every version-1 event (libzmq ``ZMQ_EVENT_ALL``); excludes PIPES_STATS.
    ALL = 0xFFFF
    ALL_V1 = 0xFFFF
    #: Every event including the version-2 PIPES_STATS.
    ALL_V2 = 0x1FFFF


@attrs.frozen
class MonitorEvent:
    """One monitor event.

    Attributes:
      event: which event (an :class:`Event` member).
      value: libzmq's event value, as trinq fills it in:

        * BIND_FAILED, ACCEPT_FAILED, CLOSE_FAILED, CONNECT_DELAYED: an errno;
        * CONNECT_RETRIED: the reconnect interval in ms that the dialer will wait;
        * HANDSHAKE_FAILED_PROTOCOL: a :class:`ProtocolErrorCode`;
        * HANDSHAKE_FAILED_AUTH: the ZAP status code (e.g. 400);
        * CONNECTED, ACCEPTED: libzmq puts a file descriptor here; trinq has no fds
          to expose and puts a per-socket connection counter instead;
        * LISTENING, CLOSED, DISCONNECTED, HANDSHAKE_SUCCEEDED: 0 (libzmq: the fd);
        * anything else: 0.
      endpoint: the endpoint concerned (as bound/connected, port resolved).
      reason: human-readable detail (trinq extension), e.g. the protocol error text.
      peer_address: the remote address when known (libzmq v2 events have it).
    """

    event: Event
    value: int
    endpoint: str
    reason: str | None = None
    peer_address: str | None = None


class Monitor:
    """Receiving end of a socket's event stream; what ``sock.monitor()`` returns.

    Args:
      events: bit mask of the :class:`Event` kinds to keep (default ``Event.ALL``, which
        like libzmq excludes PIPES_STATS).
      capacity: how many undelivered events to buffer before dropping new ones.

    The producer side (:meth:`emit`, :meth:`close`) is synchronous and never blocks or
    raises. The consumer side is a trio receive channel: :meth:`receive`, ``async for``,
    and :meth:`aclose`/``async with``. A cancelled :meth:`receive` consumes nothing —
    the event stays queued for the next call — exactly like a trio memory channel.
    """

    def __init__(self, events: Event | int = Event.ALL, capacity: int = 1000) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self._mask = int(events)
        self._send, self._receive = trio.open_memory_channel[MonitorEvent](capacity)
        self._closed = False
        self.dropped: int = 0
        """Events dropped because the buffer was full."""

    @property
    def events(self) -> Event:
        """The event mask this monitor keeps."""
        return Event(self._mask)

    @property
    def closed(self) -> bool:
        """True once :meth:`close` or :meth:`aclose` was called."""
        return self._closed

    def emit(self, ev: MonitorEvent) -> None:
        """Queue ``ev`` if its kind is in the mask. Never blocks and never raises.

        When the buffer is full the event is dropped and :attr:`dropped` incremented;
        after :meth:`close`/:meth:`aclose` events are silently ignored.
        """
        if not ev.event & self._mask:
            return
        try:
            self._send.send_nowait(ev)
        except trio.WouldBlock:
            self.dropped += 1
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            pass

    def close(self) -> None:
        """End the stream (producer side). Already queued events stay receivable; after
        them :meth:`receive` raises :exc:`trio.EndOfChannel`. Idempotent.

        The socket calls this when it closes, right after emitting MONITOR_STOPPED.
        """
        self._closed = True
        self._send.close()

    async def receive(self) -> MonitorEvent:
        """Wait for and return the next event.

        Atomic with respect to cancellation: if the call is cancelled, no event was
        consumed.

        Raises:
          trio.EndOfChannel: the monitor was closed and every event was received.
          trio.ClosedResourceError: this monitor was closed with :meth:`aclose`.
        """
        return await self._receive.receive()

    def receive_nowait(self) -> MonitorEvent:
        """Return the next event if one is queued.

        Raises:
          trio.WouldBlock: nothing is queued yet.
          trio.EndOfChannel: the monitor was closed and every event was received.
        """
        return self._receive.receive_nowait()

    def __aiter__(self) -> Monitor:
        return self

    async def __anext__(self) -> MonitorEvent:
        try:
            return await self._receive.receive()
        except trio.EndOfChannel:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        """Stop monitoring: discard queued events and ignore later ones."""
        self._closed = True
        self._send.close()
        await self._receive.aclose()

    async def __aenter__(self) -> Monitor:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<trinq.Monitor {state} events={self.events!r} dropped={self.dropped}>"
