"""ZMTP 3.1 heartbeat timers as a sans-I/O state object (RFC 37; docs/interop.md §15).

:class:`HeartbeatState` never sleeps, reads a clock or touches a socket. The engine
tells it the time (seconds, ``trio.current_time()`` style) and how much it has received
so far, and it answers with what to do. Rules, as libzmq applies them:

1. With ``heartbeat_ivl`` > 0 a PING is due every interval from the end of the
   handshake (``now`` at construction). Other traffic does *not* reset this timer.
2. Our PINGs carry TTL = ``heartbeat_ttl`` ms // 100 (deciseconds), capped at
   :data:`MAX_PING_TTL`: libzmq turns a received TTL into ms in 16-bit arithmetic,
   so more would wrap (libzmq#4226). Their context is empty.
3. Sending a PING arms a timeout of ``heartbeat_timeout`` ms (``heartbeat_ivl`` if it is
   < 0; 0 arms nothing), unless one is armed already. Anything received after the
   PING that armed it cancels it; otherwise the deadline times the connection out.
4. A received PING with TTL > 0 arms a "peer TTL" deadline, now + TTL/10 s, replacing
   an older one; any later traffic cancels it. A PING with TTL 0 cancels it (the PING
   itself is traffic, and arms nothing).
5. "Traffic" is a counter that only goes up (the engine counts received chunks):
   something arrived after an event iff the counter is now greater than it was then.
   Cancelling is lazy, so a timer cancelled by traffic is dropped at the next poll.
6. A reader stopped by a full RCVHWM (``reading_blocked``) counts as alive: an
   expired deadline is then dropped, and no PING timeout is armed (libzmq arms none
   while its input is stopped).

The answer to a PING (a PONG echoing :func:`pong_context`) is the engine's job; the
codec cuts that context to what its PONG carries: a ZMTP PONG command at most
:data:`MAX_PONG_CONTEXT` octets, a WebSocket pong frame its ping's whole payload.
"""

from __future__ import annotations

import enum
import math

__all__ = [
    "MAX_PING_TTL",
    "MAX_PONG_CONTEXT",
    "MAX_WS_PONG_PAYLOAD",
    "NO_TRAFFIC",
    "TTL_EXPIRED",
    "HeartbeatAction",
    "HeartbeatState",
    "pong_context",
]

#: the largest TTL (deciseconds) libzmq reads back correctly (16-bit ms)
MAX_PING_TTL = 655
#: a ZMTP PONG command echoes at most this many octets of the PING's context (libzmq)
MAX_PONG_CONTEXT = 16
#: a WebSocket pong echoes its ping's whole payload (RFC 6455 §5.5.3), at most this
#: many octets (a control frame's, §5.5)
MAX_WS_PONG_PAYLOAD = 125
#: reasons that come with :attr:`HeartbeatAction.TIMED_OUT`
NO_TRAFFIC = "no traffic within heartbeat_timeout"
TTL_EXPIRED = "peer's heartbeat TTL expired"


class HeartbeatAction(enum.Enum):
    """What :meth:`HeartbeatState.poll` asks the engine to do."""

    #: send ``PING(ping_ttl, b"")`` now
    SEND_PING = "heartbeat_ivl elapsed"
    #: drop the connection as a timeout (the reason says which timer fired)
    TIMED_OUT = "heartbeat timeout"


def pong_context(ping_context: bytes) -> bytes:
    """What a PONG owed for a PING with ``ping_context`` keeps of it: as much as any
    PONG echoes, which is a WebSocket pong's :data:`MAX_WS_PONG_PAYLOAD` octets (a
    ws ping's whole payload), so no more of a huge ZMTP PING context is held. The
    codec encoding the PONG cuts it to what its PONG carries: a ZMTP PONG command
    :data:`MAX_PONG_CONTEXT` octets (``trinq.zmtp.pong_body``), a WebSocket pong all
    of it."""
    return ping_context[:MAX_WS_PONG_PAYLOAD]


class HeartbeatState:
    """Heartbeat timers of one connection, from the end of its handshake on.

    Drive it with::

        while (due := hb.poll(now, traffic, reading_blocked)) is not None: ...
        # then sleep until hb.deadline(), or until ping_received() moves it earlier
    """

    __slots__ = (
        "_ivl",
        "_next_ping",
        "_ping_deadline",
        "_ping_traffic",
        "_timeout",
        "_ttl_deadline",
        "_ttl_traffic",
        "ping_ttl",
    )

    def __init__(self, *, ivl_ms: int, timeout_ms: int, ttl_ms: int, now: float) -> None:
        self._ivl = ivl_ms / 1000 if ivl_ms > 0 else math.inf
        timeout_ms = ivl_ms if timeout_ms < 0 else timeout_ms
        self._timeout = timeout_ms / 1000 if timeout_ms > 0 else math.inf
        #: the TTL (deciseconds) to put in our PINGs
        self.ping_ttl = min(max(ttl_ms, 0) // 100, MAX_PING_TTL)
        self._next_ping = now + self._ivl
        self._ping_deadline = math.inf  # our PING's timeout, armed at _ping_traffic
        self._ping_traffic = 0
        self._ttl_deadline = math.inf  # the peer's TTL, armed at _ttl_traffic
        self._ttl_traffic = 0

    @property
    def active(self) -> bool:
        """Whether anything is scheduled: our PINGs, or a timeout or TTL to enforce."""
        return self.deadline() < math.inf

    def deadline(self) -> float:
        """When :meth:`poll` must next be called (``math.inf``: never)."""
        return min(self._next_ping, self._ping_deadline, self._ttl_deadline)

    def ping_received(self, ttl_ds: int, now: float, traffic: int) -> None:
        """The peer sent a PING with a TTL of ``ttl_ds`` deciseconds.

        ``traffic`` is the counter including the PING itself. This may move
        :meth:`deadline` earlier."""
        if ttl_ds > 0:
            self._ttl_deadline = now + ttl_ds / 10
            self._ttl_traffic = traffic
        else:
            self._ttl_deadline = math.inf

    def poll(
        self, now: float, traffic: int, reading_blocked: bool
    ) -> tuple[HeartbeatAction, str] | None:
        """The next thing due at ``now``, with why, or None once nothing is.

        Call it again (same arguments) until it returns None. Returning SEND_PING
        means the caller sends a PING now; TIMED_OUT means it drops the connection
        (the timer that fired is disarmed). Timeouts are reported before a PING."""
        if traffic > self._ping_traffic:
            self._ping_deadline = math.inf  # something arrived after our PING
        if traffic > self._ttl_traffic:
            self._ttl_deadline = math.inf  # something arrived after the peer's PING
        if self._ping_deadline <= now:
            self._ping_deadline = math.inf
            if not reading_blocked:
                return HeartbeatAction.TIMED_OUT, NO_TRAFFIC
        if self._ttl_deadline <= now:
            self._ttl_deadline = math.inf
            if not reading_blocked:
                return HeartbeatAction.TIMED_OUT, TTL_EXPIRED
        if self._next_ping <= now:
            self._next_ping = now + self._ivl
            if self._ping_deadline == math.inf and not reading_blocked:
                self._ping_deadline = now + self._timeout
                self._ping_traffic = traffic
            return HeartbeatAction.SEND_PING, HeartbeatAction.SEND_PING.value
        return None
