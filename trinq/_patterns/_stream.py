"""STREAM: raw TCP/IPC connections addressed by routing id (libzmq ``stream.cpp``).

A STREAM socket speaks no ZMTP: each connection's engine drives it with
:class:`trinq._codec.RawCodec` (no greeting, no framing), and every connection is a
peer of its own (``pipes_outlive_connections = False``: its pipe is made when it
connects and ends with it; a connect-side reconnect is a new peer with a new id).

Message shapes, as libzmq's:

* receive ``[routing_id, data]`` -- ``data`` is whatever one read returned (TCP has
  no message boundaries: the application reassembles);
* receive ``[routing_id, b""]`` -- the peer connected (the codec's first, empty
  inbound message), and once more when it went away, *after* everything it sent
  (the fair queue drops a pipe only once it is drained; ``_fq_changed`` sees that);
* send ``[routing_id, data]`` -- write ``data`` to that peer;
* send ``[routing_id, b""]`` -- close that connection: what is already queued to it
  is written first (the pipe's outbound side is closed; the engine's writer drains
  it, then ends the connection, and the engine terminates the pipe).
  As in libzmq, no ``[routing_id, b""]`` is delivered for a connection the
  application closed itself, and nothing that peer sent after is delivered.

A message that is not exactly two frames is ``ZMQError(EINVAL)`` (libzmq silently
mis-frames it). An unknown routing id is dropped, or ``ZMQError(EHOSTUNREACH)`` with
``router_mandatory``; a peer at its SNDHWM drops the message, or with
``router_mandatory`` makes the send wait (libzmq's STREAM always behaves as with
``router_mandatory``, which it does not let you set).

Routing ids are ROUTER's generated form (``0x00`` + a big-endian uint32 counter from
a random start), or the ``connect_routing_id`` given for that ``connect()`` when it
is free.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

import trio

from .._constants import EHOSTUNREACH, EINVAL
from .._errors import ZMQError
from .._routing import FairQueue, RoutingTable
from ._base import Pattern, register_pattern, send_to_peer

if TYPE_CHECKING:
    from .._options import Options
    from .._pipe import Pipe

__all__ = ["Stream"]

Msg = list[bytes]

# pipe.state, per connection: what the application has been told about it.
_NEW = None  # attached; its "connected" notification not received yet
_CONNECTED = "connected"  # [id, b""] delivered: a matching one is due when it ends
_CLOSED = "closed"  # the application closed it: nothing more is delivered


@register_pattern
class Stream(Pattern):
    """Raw byte streams, one routing id per connection; see the module docstring."""

    socket_type = "STREAM"
    raw = True
    pipes_outlive_connections = False

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self._fq: FairQueue[Pipe] = FairQueue(on_change=self._fq_changed)
        self._table: RoutingTable[Pipe, bytes] = RoutingTable()
        #: the pipes in the fair queue (to tell which one it dropped)
        self._queued: set[Pipe] = set()
        #: pipes detached from the socket whose fair queue has not dropped them yet
        self._ending: set[Pipe] = set()
        #: "went away" notifications not received yet
        self._notices: deque[Msg] = deque()

    # --- pipe lifecycle --------------------------------------------------------------

    def attach(self, pipe: Pipe) -> None:
        table = self._table
        rid = pipe.routing_id  # the connect_routing_id of this connect, or b""
        if not rid or rid in table:
            rid = table.generate_id()
        pipe.routing_id = rid
        pipe.state = _NEW
        table.add(rid, pipe)
        self._queued.add(pipe)
        self._fq.attach(pipe)

    def detach(self, pipe: Pipe) -> None:
        # Nothing is routed to it any more; what it sent is still delivered, and the
        # fair queue drops it (-> _fq_changed) once that is drained.
        self._table.remove_pipe(pipe)
        if pipe in self._queued and (pipe.state is _CONNECTED or pipe.inbound_queued()):
            self._ending.add(pipe)  # a receive has something to say (poll_state)

    def _fq_changed(self) -> None:
        queued = self._queued
        if len(queued) == len(self._fq):
            return  # a pipe was attached
        for pipe in queued - set(self._fq.pipes):
            queued.discard(pipe)
            self._ending.discard(pipe)
            if pipe.state is _CONNECTED:
                self._notices.append([pipe.routing_id, b""])

    def poll_state(self) -> tuple[bool | None, bool | None]:
        # A pending "went away" counts as a message; sending is always possible
        # (whether a message fits depends on the peer it goes to, as in libzmq).
        return (True if self._notices or self._ending else None), True

    # --- messages ----------------------------------------------------------------

    def send_nowait(self, msg: Msg) -> None:
        if len(msg) != 2:
            raise ZMQError(
                EINVAL, f"STREAM sends [routing_id, data] (2 frames), not {len(msg)} frame(s)"
            )
        rid, data = msg
        pipe = self._table.get(rid)
        if pipe is None:
            if self.options.router_mandatory:
                raise ZMQError(EHOSTUNREACH, f"no peer with routing id {rid!r}")
            return
        if not data:
            self._close(pipe)
            return
        send_to_peer(pipe, [data], rid, self.options.router_mandatory)

    def _close(self, pipe: Pipe) -> None:
        """The application closes this connection (``[id, b""]``)."""
        self._table.remove_pipe(pipe)
        pipe.state = _CLOSED
        self._queued.discard(pipe)
        self._ending.discard(pipe)
        self._fq.detach(pipe)  # what it sent from now on is not delivered
        # End the outbound side only: the writer drains what is queued, then ends the
        # connection, and the engine then terminates the pipe. (``pipe.terminate()``
        # would also close the inbound side, and a read arriving before the writer is
        # done would end the connection there and then, cutting the queued data.)
        pipe.close_outbound()

    def recv_nowait(self) -> Msg:
        notices = self._notices
        if notices:
            return notices.popleft()
        try:
            pipe, msg = self._fq.recv_nowait_with_pipe()
        except trio.WouldBlock:
            if notices:  # the fair queue has just dropped a finished pipe
                return notices.popleft()
            raise
        data = msg[0]
        if not data:
            pipe.state = _CONNECTED  # the codec's "a peer connected" message
        return [pipe.routing_id, data]
