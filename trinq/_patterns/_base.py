"""The pattern-strategy protocol and registry.

A pattern is the small, synchronous object that gives a socket type its
semantics (RFC 28-31, 29, ...). It never awaits: the socket calls
``send_nowait``/``recv_nowait`` and, on ``trio.WouldBlock``, parks until a pipe
event may have changed the answer. Patterns are composed from the routing pieces
in :mod:`trinq._routing` (load balancer, fair queue, distributor, tries, routing
table), the way libzmq composes ``lb_t``/``fq_t``/``dist_t``.

Pipe lifecycle hooks, in order, for one pipe:

``accepts_pipe(pipe)``
    asked before a *bound* connection's pipe is attached (PAIR refuses a second peer).
``attach(pipe)``
    the pipe joins the socket (connect side: at ``connect()``; bind side: after
    the handshake).
``pipe_connected(pipe)`` / ``pipe_disconnected(pipe)``
    a connection started/stopped feeding the pipe (for a connect-side pipe these
    repeat on every reconnect; SUB replays subscriptions here).
``detach(pipe)``
    the pipe is gone for good. Inbound messages already queued are still
    delivered: fair queues drop a pipe only when it reports ``EndOfChannel``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import trio

from .._constants import EHOSTUNREACH, EINVAL, ENOTSUP
from .._errors import ZMQError
from .._routing import FairQueue, LoadBalancer
from .._routing.pipe_like import RECV_TERMINATED, SEND_TERMINATED

if TYPE_CHECKING:
    from .._options import Options
    from .._pipe import Pipe

__all__ = ["PATTERNS", "FairQueueReceiver", "Pattern", "register_pattern"]

Msg = list[bytes]


class Pattern:
    """Base class: every hook is a no-op and both directions are unsupported."""

    #: ZMTP name of the socket type ("PUSH", ...).
    socket_type: ClassVar[str] = ""
    #: False for send-only types (PUSH, PUB): the engine drops data messages from
    #: their peers instead of queueing them where nobody would read them.
    accepts_inbound: ClassVar[bool] = True
    #: True where a receive is typically answered by a send on the same connection
    #: (REQ, REP, DEALER, ROUTER, PAIR): the engine's reader then steps back until the
    #: woken receiver has run, so the answer is written before the reader reads again.
    replies_to_receives: ClassVar[bool] = False
    #: False for receive-only types (PULL, SUB): never POLLOUT (libzmq's xhas_out).
    sends: ClassVar[bool] = True
    #: True for STREAM: connections carry raw bytes (no ZMTP), ``trinq._codec.RawCodec``.
    raw: ClassVar[bool] = False
    #: True for the draft types (CLIENT, SERVER, RADIO, ...): messages have one frame;
    #: the socket refuses SNDMORE and multi-frame send_multipart with EINVAL.
    single_part: ClassVar[bool] = False
    #: False where each connection is a new peer (STREAM): no connect-side pipe made at
    #: ``connect()`` that outlives reconnects; every connection brings its own.
    pipes_outlive_connections: ClassVar[bool] = True
    #: While ``recv_nowait`` is one batched pipe's own (``FairQueue.fast_recv``): that
    #: pipe's :attr:`~trinq._pipe.Pipe.run_buffer`, which ``Socket.recv`` pops from
    #: itself (one call less per message), and the pipe. None otherwise.
    run_buffer: list[Any] | None = None
    run_pipe: Pipe | None = None
    #: While ``send_nowait`` is a load balancer's with a single pipe (PUSH, DEALER
    #: with one peer): that pipe, which ``Socket.send`` queues to directly (one call
    #: less per message; a terminated pipe sends it the long way). None otherwise.
    send_pipe: Pipe | None = None

    def __init__(self, options: Options) -> None:
        self.options = options

    def _set_send_pipe(self, pipe: Pipe | None) -> None:
        """Make ``pipe`` :attr:`send_pipe` (the load balancer's only pipe, or None).

        The pipe it replaces may no longer be appended to by ``Socket.send`` itself: the
        room it was granted was charged to the yield budget of an earlier send, and must
        not be found again, uncharged, if the pipe becomes the only one once more."""
        old = self.send_pipe
        if old is not None and old is not pipe:
            old._end_body_room()
        self.send_pipe = pipe

    # --- pipe lifecycle --------------------------------------------------------
    def accepts_pipe(self, pipe: Pipe) -> bool:
        return True

    def attach(self, pipe: Pipe) -> None:
        pass

    def detach(self, pipe: Pipe) -> None:
        pass

    def pipe_connected(self, pipe: Pipe) -> None:
        pass

    def pipe_disconnected(self, pipe: Pipe) -> None:
        pass

    def on_command(self, pipe: Pipe, command: Any) -> None:
        """A post-handshake command other than PING/PONG (Subscribe, Join, ...)."""

    # --- messages --------------------------------------------------------------
    def send_nowait(self, msg: Msg) -> None:
        raise ZMQError(ENOTSUP, f"{self.socket_type} sockets cannot send")

    def recv_nowait(self) -> Msg:
        raise ZMQError(ENOTSUP, f"{self.socket_type} sockets cannot receive")

    def recv_message_nowait(self) -> tuple[Msg, Pipe | None, int | None, str | None]:
        """The next message with where it came from: ``(frames, pipe, routing_id,
        group)`` (for ``Socket.recv_message``; ``trio.WouldBlock`` if none). Patterns
        whose messages carry a routing id or a group (SERVER, PEER, DISH) override it;
        the default takes :meth:`recv_nowait` and finds the pipe afterwards, so the
        plain receive path pays nothing for it."""
        try:
            msg = self.recv_nowait()
        except RECV_TERMINATED:
            msg = self.recv_after_end()
        return msg, self._source_pipe(), None, None

    def _source_pipe(self) -> Pipe | None:
        fq = getattr(self, "_fq", None)
        if fq is None:
            return None
        pipes = fq.pipes
        if len(pipes) == 1:  # served by that pipe's own queue (fast_recv)
            return pipes[0]  # type: ignore[no-any-return]
        return fq.last_pipe  # type: ignore[no-any-return]

    def send_routed(self, msg: Msg, routing_id: int | None, group: str | None) -> None:
        """Send ``msg`` to the peer ``routing_id`` or to ``group`` (SERVER, PEER, RADIO
        override it). Other socket types refuse both."""
        what = "routing_id" if routing_id is not None else "group"
        raise ZMQError(EINVAL, f"{self.socket_type} sockets do not send by {what}")

    def recv_after_end(self) -> Msg:
        """``recv_nowait`` raised a pipe's end (``trinq._routing.RECV_TERMINATED``).

        Only patterns that serve a single pipe directly (``FairQueue.fast_recv``) let
        that through; they receive again the long way here, which drops the pipe.
        """
        raise trio.WouldBlock

    def poll_state(self) -> tuple[bool | None, bool | None]:
        """``(can_recv, can_send)`` when the pattern's own state decides (REQ waiting
        for its reply cannot send, ...); ``None`` means "ask the pipes". Used for the
        ``events`` option (POLLIN/POLLOUT)."""
        return None, None

    def option_changed(self, name: str, value: Any) -> None:
        """A socket option was set (patterns react to e.g. subscribe)."""


class FairQueueReceiver(Pattern):
    """A pattern that receives through one fair queue with nothing to do per message
    (PULL, PAIR, XSUB; SUB while subscribed to everything).

    Its ``recv_nowait`` is the queue's :attr:`~trinq._routing.FairQueue.fast_recv`,
    re-read whenever the queue's pipes change: with a single peer, that peer's own
    queue.  Subclasses that filter override ``_fq_changed`` to choose.
    """

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self._fq: FairQueue[Pipe] = FairQueue(on_change=self._fq_changed)
        self._fq_changed()

    def _fq_changed(self) -> None:
        self._serve_from_fq()

    def _serve_from_fq(self) -> None:
        """Receive through the fair queue's :attr:`~trinq._routing.FairQueue.fast_recv`
        (with one batched pipe: from its run buffer, :attr:`Pattern.run_buffer`)."""
        fq = self._fq
        self.recv_nowait = fq.fast_recv  # type: ignore[method-assign]
        pipe = only_pipe(fq)
        buffer = getattr(pipe, "run_buffer", None)
        self.run_buffer = buffer
        self.run_pipe = pipe if buffer is not None else None

    def recv_after_end(self) -> Msg:
        return self._fq.recv_nowait()


def only_pipe(ring: FairQueue[Pipe] | LoadBalancer[Pipe]) -> Pipe | None:
    """The one pipe a fair queue or load balancer holds, or None (none, or several)."""
    pipes = ring.pipes
    return pipes[0] if len(pipes) == 1 else None


def send_to_peer(pipe: Pipe, frames: Msg, rid: bytes, mandatory: bool) -> None:
    """Queue ``frames`` for the peer ``rid`` (ROUTER, STREAM): a full or departed peer
    drops the message, unless ``mandatory`` (router_mandatory): then a full one makes
    the socket wait (``trio.WouldBlock``) and a departed one is EHOSTUNREACH."""
    try:
        pipe.send_nowait(frames)
    except trio.WouldBlock:
        if mandatory:
            raise  # the socket waits for room (or raises Again)
    except SEND_TERMINATED:
        if mandatory:
            raise ZMQError(EHOSTUNREACH, f"peer {rid!r} is gone") from None


PATTERNS: dict[str, type[Pattern]] = {}
_P = TypeVar("_P", bound="type[Pattern]")


def register_pattern(cls: _P) -> _P:
    """Class decorator: make ``cls`` the strategy for ``cls.socket_type``."""
    PATTERNS[cls.socket_type] = cls
    return cls
