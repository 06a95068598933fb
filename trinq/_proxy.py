"""``trinq.proxy`` and ``trinq.proxy_steerable``: libzmq's built-in proxy, for trio.

libzmq's ``zmq_proxy`` (src/proxy.cpp) is one thread polling both sockets: it forwards
a burst of messages from a socket that has ``POLLIN`` to the other one when that one has
``POLLOUT``, frame by frame, copying each frame to the capture socket first. trinq runs
one task per direction instead, each looping *wait for room on the destination, receive
a whole message, send it whole, copy it to capture*, all in the proxy's own nursery.
What that keeps from libzmq:

* whole multipart messages, never a part of one (trinq's ``recv_multipart`` and
  ``send_multipart`` are atomic, also with respect to cancellation);
* back-pressure: a direction whose destination is full stops reading its source, while
  the other direction keeps going;
* a message is taken from its source only when the destination can queue it at once
  (libzmq's POLLOUT test), so stopping the proxy almost never strands a message in it;
* the eight STATISTICS counters, counting frames (``Message totals count each part in
  a multipart message individually``, zmq_proxy_steerable(3)), in libzmq's order;
* the control protocol: PAUSE, RESUME, TERMINATE and STATISTICS; a REP control socket
  gets an empty reply to every other message, a PAIR one none.

What differs, and why (also in docs/proxy.md):

* the copy goes to capture *after* the message was forwarded (libzmq copies each frame
  just before forwarding it), so capture sees exactly the forwarded messages;
* the proxy returns when one of its sockets is closed (libzmq's returns on ``ETERM``);
* timeouts (``rcvtimeo``/``sndtimeo``) set on the sockets never end the proxy: it waits
  as long as it has to, as libzmq's proxy, which polls, does for receiving;
* a pair of sockets that cannot forward in either direction is ``ZMQError(EINVAL)``
  (libzmq's proxy would wait forever).
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Awaitable, Callable

import trio
from trio.lowlevel import enable_ki_protection

from . import _constants as C
from ._cancel import cancel_requested
from ._errors import Again, ZMQError
from ._poller import Poller
from ._socket import Socket

__all__ = ["proxy", "proxy_steerable"]

Msg = list[bytes]

#: Socket types that cannot receive (their ``recv`` raises ENOTSUP) ...
_SEND_ONLY = frozenset(
    {C.SocketType.PUB, C.SocketType.PUSH, C.SocketType.RADIO, C.SocketType.SCATTER}
)
#: ... and those that cannot send.
_RECV_ONLY = frozenset(
    {C.SocketType.SUB, C.SocketType.PULL, C.SocketType.DISH, C.SocketType.GATHER}
)
#: Destinations whose send waits for room on any of their peers (a load balancer or a
#: single peer): for them ``POLLOUT`` means "a send would not wait", and the proxy waits
#: for it before receiving, as libzmq does. The others (ROUTER, PUB, XPUB, XSUB, ...)
#: drop what does not fit instead of waiting, so they never hold a message back.
_WAITS_FOR_ROOM = frozenset(
    {
        C.SocketType.PAIR,
        C.SocketType.DEALER,
        C.SocketType.PUSH,
        C.SocketType.CLIENT,
        C.SocketType.SCATTER,
        C.SocketType.CHANNEL,
    }
)

#: libzmq's STATISTICS reply, one uint64 per frame in host byte order (libzmq memcpy's
#: a ``uint64_t``): received on frontend (messages, bytes), sent on frontend, received
#: on backend, sent on backend. "Messages" are frames, as in libzmq.
_FRONTEND_IN, _FRONTEND_OUT, _BACKEND_IN, _BACKEND_OUT = 0, 2, 4, 6
_UINT64 = struct.Struct("=Q")
_MASK64 = (1 << 64) - 1


def _closed(exc: ZMQError) -> bool:
    """A closed socket (``ENOTSOCK``) or a terminated context (``ContextTerminated``)."""
    return exc.errno in (C.ENOTSOCK, C.ETERM)


class _Steering:
    """PAUSE/RESUME state shared by the pumps: while paused nobody takes a message."""

    def __init__(self) -> None:
        self.paused = False
        self._resumed = trio.Event()
        #: the cancel scopes of pumps waiting to take a message (PAUSE cancels them)
        self.waiting: set[trio.CancelScope] = set()

    def pause(self) -> None:
        if not self.paused:
            self.paused = True
            self._resumed = trio.Event()
            for scope in self.waiting:
                scope.cancel()

    def resume(self) -> None:
        if self.paused:
            self.paused = False
            self._resumed.set()

    async def wait_active(self) -> None:
        while self.paused:
            await self._resumed.wait()


class _Run:
    """One proxy run: its statistics, and the first error that ended it."""

    def __init__(self, nursery: trio.Nursery) -> None:
        self.nursery = nursery
        self.stats = [0] * 8
        self.error: Exception | None = None

    async def guarded(self, fn: Callable[[], Awaitable[None]]) -> None:
        """Run one of the proxy's tasks; whichever ends first ends the proxy.

        A closed socket ends it quietly; any other error is kept, raised by the proxy
        itself (a plain exception, not an exception group).
        """
        try:
            await fn()
        except ZMQError as exc:
            if not _closed(exc) and self.error is None:
                self.error = exc
        except Exception as exc:
            if self.error is None:
                self.error = exc
        self.nursery.cancel_scope.cancel()


async def _send_once(sock: Socket, msg: Msg, flags: int) -> None:
    if len(msg) == 1:  # (single-part: also what the draft socket types accept)
        await sock.send(msg[0], flags)
    else:
        await sock.send_multipart(msg, flags)


async def _send(sock: Socket, msg: Msg) -> None:
    """Queue ``msg`` whole on ``sock``, waiting for room as long as it takes (a
    ``sndtimeo`` on ``sock`` only makes this wait in steps)."""
    while True:
        try:
            await _send_once(sock, msg, 0)
            return
        except Again:
            await sock.poll(None, C.POLLOUT)


async def _recv(sock: Socket) -> Msg:
    """``sock.recv_multipart()``, ignoring a ``rcvtimeo``. Cancellation: nothing taken."""
    while True:
        try:
            return await sock.recv_multipart()
        except Again:  # sock has a rcvtimeo: wait without it
            await sock.poll(None, C.POLLIN)


async def _send_held(sock: Socket, msg: Msg) -> None:
    """Queue ``msg``, which the proxy holds, whole on ``sock``: at once under a shield if
    it fits (so a cancellation that arrived just before cannot drop it), else waiting
    for room (and a cancel while waiting drops it, whole)."""
    with trio.CancelScope(shield=True):
        try:
            await _send_once(sock, msg, C.DONTWAIT)  # never waits
            return
        except Again:
            pass
    await _send(sock, msg)


async def _take(src: Socket, dst: Socket, either: Poller | None) -> tuple[Msg, bool]:
    """Wait for and take the next message from ``src``; for a destination that waits
    for room (``either`` is then a poller of ``src`` for POLLIN and ``dst`` for
    POLLOUT), only once ``dst`` has room, as libzmq's proxy does. The waits ignore any
    ``rcvtimeo`` of ``src``.

    Returns ``(message, waited)``. Cancellation: nothing was taken. And a message taken
    without waiting (``waited`` false) can be sent with a plain send without losing it
    to a cancellation: the take was synchronous, right after a check that no
    cancellation is pending, so the send's own first check finds none either -- there
    is no checkpoint in between where one could arrive. A message that had to be waited
    for comes from ``recv_multipart``, which returns from a checkpoint: send it with
    :func:`_send_held`.
    """
    while True:
        if either is not None and not dst.getsockopt(C.EVENTS) & C.POLLOUT:
            # Polling consumes nothing. While src has nothing queued, watch it too, so
            # that src being closed ends the proxy even now; a closed socket raises.
            if src is dst or src.getsockopt(C.EVENTS) & C.POLLIN:
                await dst.poll(None, C.POLLOUT)
            else:
                await either.poll()
            continue
        if cancel_requested():  # (no yield unless cancelled)
            await trio.lowlevel.checkpoint()
        try:
            return src.recv_multipart_nowait(), False
        except Again:
            pass
        return await _recv(src), True  # a closed src raises here


async def _pump(
    run: _Run,
    src: Socket,
    dst: Socket,
    capture: Socket | None,
    steering: _Steering | None,
    counters: tuple[int, int],
) -> None:
    """Forward whole messages from ``src`` to ``dst`` (and copy them to ``capture``)
    until cancelled or a socket is closed."""
    stats = run.stats
    i_in, i_out = counters
    either: Poller | None = None
    if dst.socket_type in _WAITS_FOR_ROOM:
        either = Poller()
        either.register(dst, C.POLLOUT)
        if src is not dst:
            either.register(src, C.POLLIN)
    while True:
        if steering is None:
            msg, waited = await _take(src, dst, either)
        else:
            await steering.wait_active()
            taken: tuple[Msg, bool] | None = None
            with trio.CancelScope() as scope:
                steering.waiting.add(scope)
                try:
                    taken = await _take(src, dst, either)
                finally:
                    steering.waiting.discard(scope)
            if taken is None:  # PAUSE arrived while waiting: nothing was taken
                continue
            msg, waited = taken
        nbytes = sum(map(len, msg))
        stats[i_in] += len(msg)
        stats[i_in + 1] += nbytes
        # Only waiting for room is cancellable here (see _take), and a cancel then drops
        # this one message, whole.
        if waited:
            await _send_held(dst, msg)
        else:
            await _send(dst, msg)
        stats[i_out] += len(msg)
        stats[i_out + 1] += nbytes
        if capture is not None:
            # (the forwarding send may have yielded: a cancel may be pending now)
            await _send_held(capture, msg)


async def _until_closed(sock: Socket) -> None:
    """For a socket no pump receives from: return (by raising its error) once it is
    closed. A socket that cannot receive never has POLLIN, so the poll ends only that
    way; one that can (a DEALER capture) is watched until something arrives on it."""
    await sock.poll(None, C.POLLIN)
    await trio.sleep_forever()


async def _steer(run: _Run, control: Socket, steering: _Steering) -> None:
    """Serve the control socket until TERMINATE (libzmq's ``handle_control``)."""
    reply_always = control.socket_type == C.SocketType.REP
    while True:
        command = (await _recv(control))[0]
        if command == b"STATISTICS":
            await _send(control, [_UINT64.pack(v & _MASK64) for v in run.stats])
            continue
        if command == b"PAUSE":
            steering.pause()
        elif command == b"RESUME":
            steering.resume()
        # anything else changes nothing (and a REP control still gets its reply)
        if reply_always:
            await _send(control, [b""])
        if command == b"TERMINATE":
            return


def _directions(frontend: Socket, backend: Socket) -> list[tuple[Socket, Socket, tuple[int, int]]]:
    """The ``(source, destination, counters)`` the proxy forwards over."""
    out: list[tuple[Socket, Socket, tuple[int, int]]] = []

    def can(src: Socket, dst: Socket) -> bool:
        return src.socket_type not in _SEND_ONLY and dst.socket_type not in _RECV_ONLY

    if can(frontend, backend):
        out.append((frontend, backend, (_FRONTEND_IN, _BACKEND_OUT)))
    if backend is not frontend and can(backend, frontend):
        out.append((backend, frontend, (_BACKEND_IN, _FRONTEND_OUT)))
    if not out:
        raise ZMQError(
            C.EINVAL,
            f"a proxy cannot forward between {frontend.socket_type.name} and "
            f"{backend.socket_type.name} in either direction",
        )
    return out


@enable_ki_protection  # a Ctrl-C waits for a checkpoint: never mid-way into the nursery
async def _run(
    frontend: Socket, backend: Socket, capture: Socket | None, control: Socket | None
) -> None:
    directions = _directions(frontend, backend)
    if capture is not None and capture.socket_type in _RECV_ONLY:
        raise ZMQError(C.EINVAL, f"a {capture.socket_type.name} socket cannot capture")
    steering = _Steering() if control is not None else None
    # A closed socket ends the proxy when a task waiting on it sees it; a socket that no
    # pump receives from (a PUSH backend, the capture) gets a task that waits for that.
    received = {src for src, _, _ in directions}
    watched: list[Socket] = []
    for sock in (backend, frontend, capture):
        if sock is not None and sock not in received and sock not in watched:
            watched.append(sock)
    async with trio.open_nursery() as nursery:
        run = _Run(nursery)
        for src, dst, counters in directions:
            pump = functools.partial(_pump, run, src, dst, capture, steering, counters)
            nursery.start_soon(run.guarded, pump)
        for sock in watched:
            nursery.start_soon(run.guarded, functools.partial(_until_closed, sock))
        if control is not None:
            assert steering is not None
            nursery.start_soon(run.guarded, functools.partial(_steer, run, control, steering))
    if run.error is not None:
        raise run.error


async def proxy(frontend: Socket, backend: Socket, capture: Socket | None = None) -> None:
    """Forward messages between ``frontend`` and ``backend`` until cancelled (libzmq's
    ``zmq_proxy``).

    Each message moves whole, in every direction the two socket types allow: both ways
    for ROUTER/DEALER and XSUB/XPUB (subscriptions the XPUB receives travel upstream
    through the XSUB), frontend to backend only for PULL/PUSH. ``frontend`` may be
    ``backend`` (one socket forwarding to itself, as libzmq allows). A destination that
    is full stops the reading of its source; the other direction keeps going.

    ``capture``, if given (PUB, PUSH, DEALER or PAIR), gets a copy of every forwarded
    message, sent after the message was forwarded and waiting for room as any send
    does: a capture socket that blocks (a PUSH with no peer) slows the proxy down, as
    in libzmq. Use PUB for a capture that must never do so.

    Returns when one of its sockets is closed (``ZMQError(ENOTSOCK)``, or
    ``trinq.ContextTerminated`` after ``ctx.term()``). Any other error from a socket
    (``EHOSTUNREACH`` from a ``router_mandatory`` ROUTER, ...) ends the proxy and is
    raised, as libzmq's proxy returns -1. Raises ``ZMQError(EINVAL)`` at once if the
    socket types cannot forward in either direction (PUSH frontend, PULL backend).

    Cancellation: the proxy runs its tasks in its own nursery and never closes a
    socket; cancelled, it stops and leaves every socket open and usable, with no part of
    a multipart message sent anywhere. A message is taken from its source only when the
    destination can queue it at once, so it is either still queued in the source or
    queued whole in the destination. Only if the destination lost its room in between
    (its last peer went away; a ``router_mandatory`` ROUTER peer was full) is the
    message waiting inside the proxy, and a cancel then drops that one message, whole.
    A copy not yet queued on ``capture`` is not captured.
    """
    await _run(frontend, backend, capture, None)


async def proxy_steerable(
    frontend: Socket,
    backend: Socket,
    capture: Socket | None = None,
    control: Socket | None = None,
) -> None:
    """:func:`proxy`, steered through ``control`` (libzmq's ``zmq_proxy_steerable``).

    ``control`` (REP or PAIR) receives commands, each a message whose first frame is:

    * ``b"PAUSE"``: stop forwarding in both directions; nothing more is taken from
      either socket (a message taken before the command still goes out);
    * ``b"RESUME"``: forward again;
    * ``b"TERMINATE"``: stop and return (what is left behind: as a cancellation);
    * ``b"STATISTICS"``: reply with 8 frames, each a uint64 in host byte order (as
      libzmq): frames received on frontend, bytes received on frontend, frames sent on
      frontend, bytes sent on frontend, then the same four for backend. Each frame of a
      multipart message counts once, as in libzmq.

    A REP control socket gets an empty reply to every other message (PAUSE, RESUME,
    TERMINATE and unknown commands alike); a PAIR one gets none. Unknown commands are
    otherwise ignored. With ``control=None`` this is :func:`proxy`. Returning,
    cancellation and errors: as :func:`proxy`; closing ``control`` also ends the proxy.
    """
    await _run(frontend, backend, capture, control)
