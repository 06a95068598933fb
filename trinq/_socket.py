"""The generic trio socket that every pattern plugs into.

Theory of operation
-------------------
A :class:`Socket` owns a nursery (started inside its :class:`~trinq.Context`'s
nursery) holding one task per bound endpoint (acceptor) and per connected
endpoint (dialer); each connection's engine runs under one of those. The
socket-type semantics live in a small synchronous *pattern* object
(:mod:`trinq._patterns`) that routes whole messages over per-peer
:class:`~trinq._pipe.Pipe` queues.

Sending and receiving: the cost model
-------------------------------------
A trio scheduler pass costs several microseconds, several times what libzmq
spends per message. ``send``/``recv`` therefore do *not* yield to the scheduler
on every call. The exact guarantee (documented for users in docs/design.md):

* every ``send*``/``recv*`` call first checks for cancellation: if the
  enclosing scope has been cancelled (including a deadline the scheduler has
  already processed) it raises :class:`trio.Cancelled` without moving anything;
  a deadline that expires during a tight loop is processed at the loop's next
  yield, so at most :data:`YIELD_EVERY` more messages move;
* a call that can complete at once (room under SNDHWM / a message queued) does
  so, and yields to the scheduler at least once every :data:`YIELD_EVERY` such
  calls, so a tight send or receive loop cannot starve other tasks (or its own
  socket's I/O tasks) for more than that many messages;
* a call that cannot complete waits properly (parks) until it can, and a
  cancellation while waiting moves nothing.

Either way each call is atomic with respect to cancellation, like a trio memory
channel: the whole message moves, or nothing does.
"""

from __future__ import annotations

import difflib
import json
import math
import pickle
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

import attrs
import trio
from trio.lowlevel import cancel_shielded_checkpoint, checkpoint, enable_ki_protection

from . import _constants as C
from ._cancel import cancel_requested, run_vars
from ._codec import check_mechanism
from ._core import YIELD_EVERY, Loan, SocketCore
from ._errors import Again, ContextTerminated, ZMQError
from ._loan import LENT
from ._message import Message
from ._monitor import Event, Monitor
from ._options import OPTIONS, Options, lookup
from ._patterns import PATTERNS
from ._pipe import BODY_MAX, PipeStatistics
from ._routing.pipe_like import RECV_TERMINATED, SEND_TERMINATED
from ._transports import Binding, Dialing, split_endpoint, transport_for


class _Owner(Protocol):
    """What a socket needs of its :class:`trinq.Context` (which imports this module)."""

    def _start_socket(self, sock: Socket) -> None: ...

    def _forget_socket(self, sock: Socket) -> None: ...

    def _spawn_system(self, fn: Any, *args: Any) -> None: ...


__all__ = ["YIELD_EVERY", "Socket", "SocketStatistics"]


Msg = list[bytes]

_BUFFER_TYPES = (bytes, bytearray, memoryview)


def _properties(pipe: Any) -> Mapping[str, str]:
    """A received message's properties, from the pipe it came from (libzmq's names)."""
    if pipe is None:
        return MappingProxyType({})
    props: dict[str, str] = {}
    for key, value in pipe.peer_properties.items():
        name = "Routing-Id" if key.lower() == "identity" else key
        props[name] = value.decode("utf-8", "replace")
    if pipe.peer_socket_type:
        props["Socket-Type"] = pipe.peer_socket_type
    if pipe.peer_address:
        props["Peer-Address"] = pipe.peer_address
    return MappingProxyType(props)


class _Bound:
    """One bound endpoint: its binding, the scope it is served in, and an event set
    once it is closed (the address is free again)."""

    __slots__ = ("binding", "closed", "scope")

    def __init__(self, binding: Binding) -> None:
        self.binding = binding
        self.scope = trio.CancelScope()
        self.closed = trio.Event()


def _as_bytes(data: Any) -> bytes:
    if type(data) is bytes:
        return data
    if isinstance(data, str):
        raise TypeError("str is not a message frame: encode it, or use send_string()")
    try:
        return bytes(memoryview(data))
    except TypeError:
        raise TypeError(
            f"a message frame must be bytes-like (bytes, bytearray, memoryview), "
            f"not {type(data).__name__}"
        ) from None


@attrs.frozen
class SocketStatistics:
    """A snapshot from :meth:`Socket.statistics` (trio ``statistics()`` style).

    Attributes:
      socket_type: the socket's type name.
      peers: number of pipes (connected peers, plus connect-side pipes waiting for
        their peer).
      pipes: one :class:`PipeStatistics` per pipe (queued messages each way).
      messages_in, messages_out: whole messages received from / written to peers.
      bytes_in, bytes_out: bytes read from / written to the transports.
      endpoints: the bound and connected endpoints.
      busy_polls, busy_poll_hits: receives that busy-polled their connection before
        sleeping (the ``busy_poll`` option), and how many of those found data.
    """

    socket_type: str
    peers: int
    pipes: tuple[PipeStatistics, ...]
    messages_in: int
    messages_out: int
    bytes_in: int
    bytes_out: int
    endpoints: tuple[str, ...]
    busy_polls: int = 0
    busy_poll_hits: int = 0


class Socket(trio.abc.AsyncResource):
    """A ZeroMQ socket for trio. Create it with :meth:`trinq.Context.socket`.

    Use it as an async context manager (``async with ctx.socket(trinq.PUSH) as s``),
    or call :meth:`aclose` / :meth:`close`. Options can be given to
    ``ctx.socket(type, **options)``, set as attributes (``s.sndhwm = 10``) or with
    :meth:`setsockopt`; all three are equivalent and use libzmq's names and units.
    """

    if TYPE_CHECKING:  # the option properties are generated from the option table
        sndhwm: int
        rcvhwm: int
        linger: int
        sndtimeo: int
        rcvtimeo: int
        maxmsgsize: int
        immediate: bool
        routing_id: bytes
        identity: bytes
        connect_routing_id: bytes
        reconnect_ivl: int
        reconnect_ivl_max: int
        handshake_ivl: int
        heartbeat_ivl: int
        heartbeat_ttl: int
        heartbeat_timeout: int
        router_mandatory: bool
        router_handover: bool
        probe_router: bool
        req_correlate: bool
        req_relaxed: bool
        xpub_verbose: bool
        xpub_verboser: bool
        xpub_manual: bool
        xpub_nodrop: bool
        xpub_welcome_msg: bytes
        conflate: bool
        invert_matching: bool
        rcvmore: bool
        events: int
        type: int

        # (for type checkers only: pyzmq's upper-case names are generated properties
        # too, and at run time there is no __getattr__: _install_upper_case_options)
        def __getattr__(self, name: str) -> Any: ...

    def __init__(self, context: _Owner, socket_type: int, **options: Any) -> None:
        try:
            stype = C.SocketType(socket_type)
        except ValueError:
            raise ZMQError(C.EINVAL, f"invalid socket type {socket_type!r}") from None
        self.socket_type = stype
        name = stype.name
        if name not in PATTERNS:
            raise ZMQError(C.EINVAL, f"socket type {name} is not implemented yet")
        self.context = context
        #: this thread's trio run variables: send/recv read the current task there
        self._run_vars = run_vars()
        opts = self._opts = Options.for_socket_type(self.socket_type)
        pattern = self._pattern = PATTERNS[name](opts)
        # bound once: the per-message send path skips two attribute lookups. (recv
        # is looked up on each call: SUB swaps its recv_nowait as its filter changes.)
        self._pattern_send = pattern.send_nowait
        for key, value in options.items():
            self.setsockopt(key, value)
        #: everything engines and transports see of this socket (trinq._core)
        core = self._core = SocketCore(opts, pattern, context, self._spawn)
        # the core's containers, by their own names here (the same objects)
        self._send_lot = core.senders
        self._recv_lot = core.receivers
        self._pipes = core.pipes
        self._partial_send: list[bytes] = []
        self._partial_recv: deque[bytes] = deque()
        self._bound: dict[str, _Bound] = {}
        self._connected: dict[str, list[Dialing]] = {}
        self._nursery: trio.Nursery | None = None
        self._pending: list[tuple[Any, tuple[Any, ...]]] = []
        self._started = trio.Event()
        self._finished = trio.Event()
        self._closed = False
        self._cancelled = False
        opts.last_endpoint = ""
        context._start_socket(self)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<trinq.Socket {self.socket_type.name} {state} at {id(self):#x}>"

    # --- the socket's own task ---------------------------------------------------

    @enable_ki_protection
    async def _run(self) -> None:
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                for fn, args in self._pending:
                    nursery.start_soon(fn, *args)
                self._pending.clear()
                self._started.set()
                if self._cancelled:  # closed before this task got to run
                    nursery.cancel_scope.cancel()
                await trio.sleep_forever()
        finally:
            self._nursery = None
            self._closed = True
            core = self._core
            core.closing = True
            for pipe in list(core.pipes):
                core.terminate_pipe(pipe)
            core.wake_all()
            core.stop_monitors()
            self._finished.set()

    def _spawn(self, fn: Any, *args: Any) -> None:
        if self._nursery is not None:
            self._nursery.start_soon(fn, *args)
        else:
            self._pending.append((fn, args))

    async def __aenter__(self) -> Socket:
        """Wait until the socket's task runs; return the socket.

        Cancellation: the ``async with`` body never runs, so the socket is closed
        (linger 0) before the cancellation propagates.
        """
        try:
            await self._started.wait()
        except BaseException:
            self.close(linger=0)
            raise
        return self

    # --- options -----------------------------------------------------------------

    def setsockopt(self, option: int | str, value: Any) -> None:
        """Set an option by libzmq number (``trinq.SNDHWM``) or name (``"sndhwm"``).

        Raises ``ZMQError(EINVAL)`` naming the option for an unknown option or a bad
        value. ``SUBSCRIBE``/``UNSUBSCRIBE`` are forwarded to :meth:`subscribe`.
        """
        spec = lookup(option)
        if spec.name == "subscribe":
            self.subscribe(value)
            return
        if spec.name == "unsubscribe":
            self.unsubscribe(value)
            return
        stored = self._opts.set(spec.name, value)
        self._pattern.option_changed(spec.name, stored)

    def getsockopt(self, option: int | str) -> Any:
        """Read an option by libzmq number or name."""
        spec = lookup(option)
        if spec.name == "events":
            return self._poll_events()
        if spec.name == "rcvmore":
            return bool(self._partial_recv)
        return self._opts.get(spec.name)

    set = setsockopt
    get = getsockopt

    def _poll_events(self) -> int:
        pattern = self._pattern
        can_recv, can_send = pattern.poll_state()
        if not pattern.accepts_inbound:  # send-only (PUSH, PUB): never POLLIN
            can_recv = False
        if not pattern.sends:  # receive-only (PULL, SUB): never POLLOUT
            can_send = False
        ev = 0
        if self._partial_recv or (
            can_recv if can_recv is not None else self._pattern_can(recv=True)
        ):
            ev |= C.POLLIN
        if can_send if can_send is not None else self._pattern_can(recv=False):
            ev |= C.POLLOUT
        return ev

    def _pattern_can(self, *, recv: bool) -> bool:
        if recv:
            if any(p.inbound_queued() for p in self._pipes):
                return True
            loan = self._lending_loan()  # nobody else reads the socket then
            return (
                loan is not None
                and bool(loan.read_available())
                and any(p.inbound_queued() for p in self._pipes)
            )
        return any(p.writable() for p in self._pipes)

    def subscribe(self, topic: bytes | str) -> None:
        """Subscribe to messages starting with ``topic`` (SUB/XSUB; XPUB with xpub_manual)."""
        self._pattern_topic("subscribe", topic)

    def unsubscribe(self, topic: bytes | str) -> None:
        """Remove one earlier subscription to ``topic``."""
        self._pattern_topic("unsubscribe", topic)

    def join(self, group: str | bytes) -> None:
        """DISH: receive the messages RADIO peers send to ``group`` (sync, like
        :meth:`subscribe`; a str of at most 255 bytes in UTF-8). Joining a group
        already joined is ``ZMQError(EINVAL)``, as in libzmq."""
        self._group_op("join", group)

    def leave(self, group: str | bytes) -> None:
        """DISH: stop receiving ``group``'s messages (sync); ``ZMQError(EINVAL)`` if
        it was not joined. Messages of that group already queued are dropped."""
        self._group_op("leave", group)

    def _group_op(self, op: str, group: str | bytes) -> None:
        self._check_open()
        fn = getattr(self._pattern, op, None)
        if fn is None:
            raise ZMQError(C.ENOTSUP, f"{self.socket_type.name} sockets do not {op} groups")
        fn(group)

    def _pattern_topic(self, op: str, topic: bytes | str) -> None:
        if isinstance(topic, str):
            topic = topic.encode()
        fn = getattr(self._pattern, op, None)
        if fn is None:
            raise ZMQError(C.EINVAL, f"{self.socket_type.name} sockets do not take {op}()")
        fn(_as_bytes(topic))

    # --- endpoints ---------------------------------------------------------------

    def _check_open(self) -> None:
        if self._core.closing:
            raise self._closed_error()

    def _closed_error(self) -> ZMQError:
        """What an operation on a closed socket raises: ``ContextTerminated`` once
        ``ctx.term()`` closed it (as pyzmq), else ``ZMQError(ENOTSOCK)``."""
        if self._core.terminated:
            return ContextTerminated()
        return ZMQError(C.ENOTSOCK, "socket is closed")

    async def bind(self, endpoint: str) -> str:
        """Listen on ``endpoint``; return the resolved endpoint.

        ``tcp://127.0.0.1:*`` (or port 0) picks a free port; the returned string
        (also in :attr:`last_endpoint`) names it. Returns once the socket accepts
        connections. Cancellation: if cancelled, nothing stays bound.
        """
        self._check_open()
        scheme, address = split_endpoint(endpoint)
        transport = transport_for(scheme)
        check_mechanism(self._opts)
        await self._started.wait()
        binding = await transport.bind(self._core, address)
        resolved = binding.endpoint
        if resolved in self._bound:
            await binding.discard()
            raise ZMQError(C.EADDRINUSE, f"already bound to {resolved}")
        bound = self._bound[resolved] = _Bound(binding)
        assert self._nursery is not None
        try:
            await self._nursery.start(self._serve, bound)
        except BaseException:
            self._bound.pop(resolved, None)
            raise
        self._opts.last_endpoint = resolved
        return resolved

    @enable_ki_protection
    async def _serve(
        self, bound: _Bound, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        try:
            with bound.scope:
                await bound.binding.serve(task_status=task_status)
        finally:
            bound.closed.set()  # the address is free again (unbind() waits for this)

    async def unbind(self, endpoint: str) -> None:
        """Stop listening on ``endpoint`` (as returned by :meth:`bind`) and close the
        connections accepted through it. Cancellation: the unbind is already done
        when this yields; a cancel only skips the wait for the listener to close."""
        self._check_open()
        bound = self._bound.pop(endpoint, None)
        if bound is None:
            raise ZMQError(C.ENOENT, f"not bound to {endpoint}")
        bound.scope.cancel()
        await bound.closed.wait()  # the address can be bound again once this returns

    def connect(self, endpoint: str) -> None:
        """Connect to ``endpoint`` in the background (sync, as in libzmq).

        Dialing, the handshake and reconnects run in the socket's nursery. Unless
        ``immediate`` is set, a pipe for the peer exists at once, so messages can be
        queued (up to SNDHWM) before the peer is reachable.
        """
        self._check_open()
        scheme, address = split_endpoint(endpoint)
        transport = transport_for(scheme)
        transport.check_connect_address(address)
        opts = self._opts
        check_mechanism(opts)
        connect_rid = opts.connect_routing_id
        if connect_rid:
            # libzmq: the option applies to the next connect() only.
            opts.connect_routing_id = b""
        dialing = transport.connect(self._core, endpoint, address, connect_rid)
        # (dialings that ended by themselves, e.g. after a protocol error, go here)
        live = [d for d in self._connected.get(endpoint, ()) if not d.ended]
        self._connected[endpoint] = [*live, dialing]
        opts.last_endpoint = endpoint

    def connect_peer(self, endpoint: str) -> int:
        """PEER: :meth:`connect` to ``endpoint`` and return the routing id the new peer
        has here (sync, as libzmq's ``zmq_connect_peer``): ``send(data,
        routing_id=rid)`` can queue messages for it at once, up to SNDHWM, before the
        connection is made. Other socket types raise ``ZMQError(ENOTSUP)``; with the
        ``immediate`` option there is no peer until it connects, so
        ``ZMQError(EFAULT)``, as in libzmq."""
        self._check_open()
        if self.socket_type is not C.SocketType.PEER:
            raise ZMQError(C.ENOTSUP, "connect_peer() is for PEER sockets")
        if self._opts.immediate:
            raise ZMQError(C.EFAULT, "connect_peer() cannot work with the immediate option")
        pattern: Any = self._pattern
        pattern.last_routing_id = None
        self.connect(endpoint)
        rid: int | None = pattern.last_routing_id
        if rid is None:  # (every PEER connect attaches its pipe at once)
            raise ZMQError(C.EFAULT, f"no peer was attached for {endpoint}")
        return rid

    def disconnect(self, endpoint: str) -> None:
        """Stop connecting to ``endpoint`` and close its connection (sync)."""
        self._check_open()
        dialings = self._connected.pop(endpoint, None)
        if not dialings or all(d.ended for d in dialings):
            raise ZMQError(C.ENOENT, f"not connected to {endpoint}")
        for dialing in dialings:
            dialing.stop()
        # As libzmq's term_endpoint: from now on nothing is routed to this peer.
        core = self._core
        for pipe in core.pop_connect_pipes(endpoint):
            core.terminate_pipe(pipe)

    # --- sending -----------------------------------------------------------------

    async def send(
        self,
        data: Any,
        flags: int = 0,
        *,
        routing_id: int | None = None,
        group: str | None = None,
    ) -> None:
        """Send one frame; with ``flags=trinq.SNDMORE`` more frames of the same
        message follow (the message goes out with the last frame).

        ``data`` is bytes-like (bytes, bytearray, memoryview); ``str`` is a
        ``TypeError`` (use :meth:`send_string`). With ``flags=trinq.DONTWAIT`` a
        send that would wait raises :class:`trinq.Again` instead. ``routing_id``
        (SERVER, PEER) and ``group`` (RADIO) say where a single-part message goes;
        other socket types raise ``ZMQError(EINVAL)`` for them.

        Cancellation: atomic, like a trio memory channel -- if ``Cancelled`` is
        raised the message was not queued; otherwise it was queued whole.
        """
        if type(data) is not bytes:
            data = _as_bytes(data)
        if flags or self._partial_send or routing_id is not None or group is not None:
            if routing_id is not None or group is not None:
                await self._send_routed(data, flags, routing_id, group)
            else:
                await self._send_frame_slow(data, flags)
            return
        # The one inlined send path (_send_message() is the general one, _spend_send() its
        # budget): see "the cost model" in the module docstring. cancel_requested(),
        # inlined (trinq._cancel.RUN; run_vars() says why a dict).
        task = self._run_vars["task"]
        if task._cancel_status.effectively_cancelled or task._runner.ki_pending:
            await checkpoint()  # raises Cancelled
        pipe = self._pattern.send_pipe
        if pipe is not None:  # one peer's pipe (LoadBalancer.send_nowait, inlined)
            room = pipe.body_room
            if room and len(data) < BODY_MAX:
                # Into the open batch of bodies, as Pipe._send_body_batched would. The
                # room was charged to the yield budget when it was granted (below),
                # and closing the socket ends it (Pipe._end_body_room): nothing else
                # to check or count here.
                pipe.body_room = room - 1
                pipe.body_batch.append(data)  # type: ignore[union-attr]
                pipe._out_count += 1
                return
        core = self._core
        if core.closing:
            raise self._closed_error()
        try:
            if pipe is not None:
                send_body = pipe.send_body
                try:
                    if send_body is not None:
                        send_body(data)  # (the body alone: no list per message)
                    else:
                        pipe.send_nowait([data])
                except SEND_TERMINATED:
                    self._pattern_send([data])  # drops the pipe: WouldBlock
            else:
                self._pattern_send([data])
        except trio.WouldBlock:
            await self._send_wait([data])
            return
        budget = core.send_budget - 1
        if not budget:
            # (no direct write after this yield: in a tight send loop it would write
            # one message alone per YIELD_EVERY; docs/design.md, "Direct writes in
            # request/reply")
            await cancel_shielded_checkpoint()
            budget = YIELD_EVERY
        if pipe is not None:
            room = pipe.body_room
            if room:
                # The next ``room`` sends append to the batch themselves, uncounted:
                # charge them now, at most what is left of the budget, so that a
                # tight loop still yields at least once every YIELD_EVERY sends.
                if room >= budget:
                    room = pipe.body_room = budget - 1
                budget -= room
        core.send_budget = budget

    async def _send_routed(
        self, data: bytes, flags: int, routing_id: int | None, group: str | None
    ) -> None:
        """``send(data, routing_id=...)`` / ``send(data, group=...)``: single-part only."""
        if cancel_requested():
            await checkpoint()  # raises Cancelled
        self._check_open()
        if flags & C.SNDMORE or self._partial_send:
            raise ZMQError(C.EINVAL, "a message sent by routing_id or group is single-part")
        pattern = self._pattern
        frames = [data]
        try:
            pattern.send_routed(frames, routing_id, group)
        except trio.WouldBlock:
            if flags & C.DONTWAIT:
                raise Again() from None
        else:
            await self._spend_send()
            return
        timeo = self._opts.sndtimeo
        with trio.move_on_after(math.inf if timeo < 0 else timeo / 1000):
            await self._send_routed_park(frames, routing_id, group)
            return
        raise Again("send timed out (sndtimeo)")

    @enable_ki_protection
    async def _send_routed_park(
        self, frames: Msg, routing_id: int | None, group: str | None
    ) -> None:
        """Wait until the peer ``routing_id`` has room (SERVER, PEER at its SNDHWM); a
        peer gone meanwhile is EHOSTUNREACH (``send_routed`` says so)."""
        core = self._core
        while True:
            core.direct_ok = True
            await core.senders.park()
            self._check_open()
            try:
                self._pattern.send_routed(frames, routing_id, group)
            except trio.WouldBlock:
                continue
            core.send_budget = YIELD_EVERY
            return

    async def _send_frame_slow(self, data: bytes, flags: int) -> None:
        if flags & C.SNDMORE:
            if cancel_requested():
                await checkpoint()  # raises Cancelled
            self._check_open()
            if self._pattern.single_part:
                raise self._multipart_refused()
            self._partial_send.append(data)
            return
        if self._partial_send:
            frames = self._partial_send
            frames.append(data)
            try:
                await self._send_message(frames, flags)
            except (trio.Cancelled, Again):
                frames.pop()  # retryable: the earlier SNDMORE frames stay pending
                raise
            except BaseException:
                self._partial_send = []  # e.g. EFSM: the whole message is discarded
                raise
            self._partial_send = []
            return
        await self._send_message([data], flags)

    async def send_multipart(self, msg_parts: Sequence[Any], flags: int = 0) -> None:
        """Send a whole multipart message (a sequence of bytes-like frames).

        Cancellation: atomic -- all frames are queued, or none.
        """
        frames = [p if type(p) is bytes else _as_bytes(p) for p in msg_parts]
        if not frames:
            raise ZMQError(C.EINVAL, "a message needs at least one frame")
        if len(frames) > 1 and self._pattern.single_part:
            raise self._multipart_refused()
        await self._send_message(frames, flags & ~C.SNDMORE)

    def _multipart_refused(self) -> ZMQError:
        return ZMQError(C.EINVAL, f"{self.socket_type.name} sockets send single-part messages only")

    async def send_string(self, s: str, flags: int = 0, encoding: str = "utf-8") -> None:
        """Send ``s`` encoded (UTF-8 by default). Cancellation: as :meth:`send`."""
        if not isinstance(s, str):
            raise TypeError(f"send_string() takes str, not {type(s).__name__}")
        await self.send(s.encode(encoding), flags)

    async def send_json(self, obj: Any, flags: int = 0, **kwargs: Any) -> None:
        """Send ``obj`` as a JSON text frame. Cancellation: as :meth:`send`."""
        await self.send(json.dumps(obj, **kwargs).encode("utf-8"), flags)

    async def send_pyobj(
        self, obj: Any, flags: int = 0, protocol: int = pickle.DEFAULT_PROTOCOL
    ) -> None:
        """Send ``obj`` pickled. Cancellation: as :meth:`send`."""
        await self.send(pickle.dumps(obj, protocol), flags)

    async def _send_message(self, frames: Msg, flags: int) -> None:
        """Every send but the single-frame one without flags (which send() inlines)."""
        if cancel_requested():
            await checkpoint()  # raises Cancelled
        if self._core.closing:
            raise self._closed_error()
        try:
            self._pattern_send(frames)
        except trio.WouldBlock:
            if flags & C.DONTWAIT:
                raise Again() from None
            await self._send_wait(frames)
            return
        await self._spend_send()

    async def _spend_send(self) -> None:
        """The send yield budget after a send that did not wait; send() inlines it.
        Its yield grants no direct write (send() says why)."""
        core = self._core
        budget = core.send_budget - 1
        if budget:
            core.send_budget = budget
        else:
            core.send_budget = YIELD_EVERY
            await cancel_shielded_checkpoint()

    async def _spend_recv(self) -> None:
        """The receive yield budget after a receive that did not wait; recv() inlines
        it. Its yield lets the next send be written directly (request/reply)."""
        core = self._core
        budget = core.recv_budget - 1
        if budget:
            core.recv_budget = budget
        else:
            core.recv_budget = YIELD_EVERY
            core.direct_ok = True
            await cancel_shielded_checkpoint()

    async def _send_wait(self, frames: Msg) -> None:
        timeo = self._opts.sndtimeo
        if timeo < 0:
            await self._send_park(frames)
            return
        with trio.move_on_after(timeo / 1000):
            await self._send_park(frames)
            return
        raise Again("send timed out (sndtimeo)")

    @enable_ki_protection
    async def _send_park(self, frames: Msg) -> None:
        core = self._core
        while True:
            core.direct_ok = True
            await core.senders.park()
            if core.closing:
                raise self._closed_error()
            try:
                self._pattern_send(frames)
            except trio.WouldBlock:
                continue
            core.send_budget = YIELD_EVERY
            return

    # --- receiving ---------------------------------------------------------------

    async def recv_multipart(self, flags: int = 0) -> list[bytes]:
        """Receive one whole message as a list of frames.

        With ``flags=trinq.DONTWAIT`` raises :class:`trinq.Again` if none is queued.
        Cancellation: atomic -- if ``Cancelled`` is raised no message was taken.
        """
        if cancel_requested():
            await checkpoint()  # raises Cancelled
        try:
            msg = self._take_whole()
        except trio.WouldBlock:
            if flags & C.DONTWAIT:
                raise self._would_block() from None
            msg = await self._recv_wait()
        else:
            await self._spend_recv()
        # received messages travel as tuples (see zmtp raw_messages); users get lists
        return msg if type(msg) is list else list(msg)

    async def recv(self, flags: int = 0) -> bytes:
        """Receive one frame. For a multipart message, later calls return the next
        frames and :attr:`rcvmore` tells whether more follow.

        Cancellation: atomic, as :meth:`recv_multipart`.
        """
        if self._partial_recv:
            if cancel_requested():
                await checkpoint()  # raises Cancelled
            return self._partial_recv.popleft()
        if flags:
            msg = await self.recv_multipart(flags)
        else:
            # The one inlined receive path (_take() and _spend_recv() are the general
            # ones): see "the cost model" in the module docstring. cancel_requested(),
            # inlined (trinq._cancel.RUN; run_vars() says why a dict).
            task = self._run_vars["task"]
            if task._cancel_status.effectively_cancelled or task._runner.ki_pending:
                await checkpoint()  # raises Cancelled
            pattern = self._pattern
            run = pattern.run_buffer
            try:
                if run:  # one peer's run being taken: Pipe._recv_batched, inlined
                    msg = run.pop()
                    if not run:
                        pattern.run_pipe.run_done()  # type: ignore[union-attr]
                else:
                    try:
                        msg = pattern.recv_nowait()
                    except RECV_TERMINATED:
                        msg = pattern.recv_after_end()
            except trio.WouldBlock:
                # _recv_wait() without a frame when there is no rcvtimeo
                msg = await (self._recv_park() if self._opts.rcvtimeo < 0 else self._recv_wait())
            else:
                core = self._core
                budget = core.recv_budget - 1
                if budget:
                    core.recv_budget = budget
                else:
                    core.recv_budget = YIELD_EVERY
                    core.direct_ok = True
                    await cancel_shielded_checkpoint()
        if type(msg) is bytes:  # type: ignore[comparison-overlap]  # (a run buffer item)
            return msg
        if len(msg) > 1:
            self._partial_recv.extend(msg[1:])
        return msg[0]

    def recv_nowait(self) -> bytes:
        """Take one queued frame without waiting, as :meth:`recv` would return it.

        Raises :class:`trinq.Again` if no message is queued. Synchronous, like
        ``trio.MemoryReceiveChannel.receive_nowait``: it is not a checkpoint, so it
        neither checks for cancellation nor lets other tasks run. It suits draining a
        backlog between awaits -- ``try: m = s.recv_nowait()`` /
        ``except trinq.Again: m = await s.recv()`` -- the way pyzmq code drains a
        socket with ``NOBLOCK`` after a poll. A loop that only ever calls it must
        yield by itself.
        """
        partial = self._partial_recv
        if partial:
            return partial.popleft()
        # _take(), inlined: recv_nowait() is the per-message call of a drain loop (the
        # benchmark's pub/sub receiver), where the call it saves is measurable.
        pattern = self._pattern
        run = pattern.run_buffer
        try:
            if run:  # as in recv()
                msg = run.pop()
                if not run:
                    pattern.run_pipe.run_done()  # type: ignore[union-attr]
            else:
                try:
                    msg = pattern.recv_nowait()
                except RECV_TERMINATED:
                    msg = pattern.recv_after_end()
        except trio.WouldBlock:
            if self._core.loan is None:  # (drain loops end here once per batch)
                raise self._would_block() from None
            try:
                msg = self._read_and_take()
            except trio.WouldBlock:
                raise self._would_block() from None
        if type(msg) is bytes:  # (as in recv())
            return msg
        if len(msg) > 1:
            partial.extend(msg[1:])
        first: bytes = msg[0]
        return first

    async def recv_message(self, flags: int = 0) -> Message:
        """Receive one whole message with its metadata, as a :class:`trinq.Message`:
        ``frames``, ``data`` (the last frame), ``routing_id`` (SERVER, PEER), ``group``
        (DISH) and ``properties`` (``Socket-Type``, ``Routing-Id``, ``Peer-Address``,
        ``X-...`` metadata of the peer it came from).

        With ``flags=trinq.DONTWAIT`` raises :class:`trinq.Again` if none is queued.
        ``rcvtimeo`` applies. Cancellation: atomic -- if ``Cancelled`` is raised no
        message was taken.
        """
        if cancel_requested():
            await checkpoint()  # raises Cancelled
        if self._partial_recv:  # the rest of a message partly taken by recv()
            rest = tuple(self._partial_recv)
            self._partial_recv.clear()
            return Message(rest)
        try:
            got = self._take_message()
        except trio.WouldBlock:
            if flags & C.DONTWAIT:
                raise self._would_block() from None
            timeo = self._opts.rcvtimeo
            waited: tuple[Msg, Any, int | None, str | None] | None = None
            if timeo < 0:
                waited = await self._recv_park(self._take_message)
            else:
                with trio.move_on_after(timeo / 1000):
                    waited = await self._recv_park(self._take_message)
                if waited is None:
                    raise Again("receive timed out (rcvtimeo)") from None
            assert waited is not None
            got = waited
        frames, pipe, routing_id, group = got
        return Message(tuple(frames), routing_id, group, _properties(pipe))

    def _take_message(self) -> tuple[Msg, Any, int | None, str | None]:
        try:
            return self._pattern.recv_message_nowait()
        except trio.WouldBlock:
            loan = self._lending_loan()
            if loan is None or not loan.read_available():
                raise
            return self._pattern.recv_message_nowait()

    def recv_multipart_nowait(self) -> list[bytes]:
        """Take one whole queued message without waiting; :class:`trinq.Again` if none.

        Synchronous and not a checkpoint, as :meth:`recv_nowait`.
        """
        try:
            msg = self._take_whole()
        except trio.WouldBlock:
            raise self._would_block() from None
        return msg if type(msg) is list else list(msg)

    def _take_whole(self) -> Msg:
        """The rest of a message partly taken by ``recv``, else :meth:`_take_or_read`."""
        if self._partial_recv:
            rest = list(self._partial_recv)
            self._partial_recv.clear()
            return rest
        return self._take_or_read()

    def _take(self) -> Msg:
        """The pattern's next message; ``trio.WouldBlock`` if none is queued.

        A pattern serving a single pipe directly reports that pipe's end; receiving
        the long way then drops it (``Pattern.recv_after_end``).
        """
        try:
            return self._pattern.recv_nowait()
        except RECV_TERMINATED:
            return self._pattern.recv_after_end()

    def _would_block(self) -> ZMQError:
        """What a receive that must not wait raises when nothing is queued."""
        if self._core.closing:
            return self._closed_error()
        return Again()

    async def recv_string(self, flags: int = 0, encoding: str = "utf-8") -> str:
        """Receive a frame and decode it. Cancellation: as :meth:`recv`."""
        return (await self.recv(flags)).decode(encoding)

    async def recv_json(self, flags: int = 0, **kwargs: Any) -> Any:
        """Receive a frame and parse it as JSON. Cancellation: as :meth:`recv`."""
        return json.loads(await self.recv(flags), **kwargs)

    async def recv_pyobj(self, flags: int = 0) -> Any:
        """Receive a frame and unpickle it (trusted peers only!). Cancellation: as :meth:`recv`."""
        return pickle.loads(await self.recv(flags))

    async def _recv_wait(self) -> Msg:
        timeo = self._opts.rcvtimeo
        if timeo < 0:
            msg: Msg = await self._recv_park()
            return msg
        with trio.move_on_after(timeo / 1000):
            msg = await self._recv_park()
            return msg
        raise Again("receive timed out (rcvtimeo)")

    @enable_ki_protection
    async def _recv_park(self, take: Any = None) -> Any:
        """Wait until ``take()`` (default :meth:`_take`) has something to return."""
        if take is None:
            take = self._take
        core = self._core
        lot = core.receivers
        pipes = core.pipes
        while True:
            if core.closing:
                raise self._closed_error()
            core.direct_ok = True
            loan = core.loan
            # _lending_loan(), inlined (on every request/reply receive), and only for
            # the first receiver: others park, and the reader wakes them
            if (
                loan is not None
                and loan.state == LENT
                and len(pipes) == 1
                and not lot._tasks
                and lot.waker is None
            ):
                await loan.borrow()
            else:
                await lot.park()
            try:
                msg = take()
            except trio.WouldBlock:
                continue
            core.recv_budget = YIELD_EVERY
            return msg

    def _lending_loan(self) -> Loan | None:
        """The read loan of this socket's only connection, if it is lent to receivers
        (request/reply sockets with a single peer: trinq._loan)."""
        core = self._core
        loan = core.loan
        if loan is not None and len(core.pipes) == 1 and loan.state == LENT:
            return loan
        return None

    def _take_or_read(self) -> Msg:
        """:meth:`_take`, else :meth:`_read_and_take`."""
        try:
            return self._take()
        except trio.WouldBlock:
            return self._read_and_take()

    def _read_and_take(self) -> Msg:
        """After a take found nothing: if the connection is lent (nobody else reads it
        then), read what has arrived and take again; else ``trio.WouldBlock``."""
        loan = self._lending_loan()
        if loan is None or not loan.read_available():
            raise trio.WouldBlock
        return self._take()

    @enable_ki_protection
    async def poll(self, timeout: float | None = None, flags: int = C.POLLIN) -> int:
        """Wait until the socket is ready for ``flags`` (``POLLIN``, ``POLLOUT``, or
        both) or ``timeout`` ms pass (``None`` or negative: forever); return the ready
        events among ``flags`` (0 after a timeout), as pyzmq's ``Socket.poll``.
        Nothing is received or sent. Cancellation: nothing changed."""
        if flags & ~(C.POLLIN | C.POLLOUT) or not flags:
            raise ZMQError(C.EINVAL, f"invalid poll flags {flags!r}: use POLLIN | POLLOUT")
        seconds = math.inf if timeout is None or timeout < 0 else timeout / 1000
        ready = self._poll_events() & flags
        if ready or seconds == 0:
            await trio.lowlevel.checkpoint()
            return ready
        with trio.move_on_after(seconds):
            if flags == C.POLLIN | C.POLLOUT:
                async with trio.open_nursery() as nursery:
                    for flag in (C.POLLIN, C.POLLOUT):
                        nursery.start_soon(self._wait_then_cancel, flag, nursery.cancel_scope)
            else:
                await self._wait_for_events(flags)
        return self._poll_events() & flags

    async def _wait_then_cancel(self, flag: int, done: trio.CancelScope) -> None:
        await self._wait_for_events(flag)
        done.cancel()

    @enable_ki_protection
    async def _wait_for_events(self, flag: int) -> None:
        """Until the ``events`` option has ``flag`` (POLLIN or POLLOUT) set; consumes
        nothing. Cancellation: nothing changed."""
        core = self._core
        lot = core.receivers if flag == C.POLLIN else core.senders
        while not self._poll_events() & flag:
            if core.closing:
                raise self._closed_error()
            if flag == C.POLLIN:
                loan = core.loan
                if loan is not None:
                    loan.end()  # the reader reads while only pollers wait
                core.polling += 1
                try:
                    await lot.park()
                finally:
                    core.polling -= 1
            else:
                await lot.park()
        await trio.lowlevel.checkpoint()

    def __aiter__(self) -> AsyncIterator[list[bytes]]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[list[bytes]]:
        while True:
            try:
                yield await self.recv_multipart()
            except ZMQError as exc:
                if exc.errno in (C.ENOTSOCK, C.ETERM):
                    return
                raise

    # --- monitoring / statistics -------------------------------------------------

    def monitor(self, events: Event | int = Event.ALL, capacity: int = 1000) -> Monitor:
        """Return a :class:`trinq.Monitor`: an async iterator of this socket's
        :class:`trinq.MonitorEvent`\\ s (libzmq's names and numbers), filtered by the
        ``events`` mask. It never slows the socket down: if it falls ``capacity``
        events behind, further events are dropped (and counted in ``.dropped``).
        """
        mon = Monitor(events, capacity)
        self._core.add_monitor(mon)
        return mon

    def statistics(self) -> SocketStatistics:
        """A frozen snapshot of peers, queues and traffic counters."""
        pipes = tuple(p.statistics() for p in self._pipes)
        counters = self._core.counters
        connected = (ep for ep, ds in self._connected.items() if not all(d.ended for d in ds))
        return SocketStatistics(
            socket_type=self.socket_type.name,
            peers=len(pipes),
            pipes=pipes,
            messages_in=counters.messages_in,
            messages_out=counters.messages_out,
            bytes_in=counters.bytes_in,
            bytes_out=counters.bytes_out,
            endpoints=(*self._bound, *connected),
            busy_polls=counters.busy_polls,
            busy_poll_hits=counters.busy_poll_hits,
        )

    # --- closing -----------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once :meth:`close` or :meth:`aclose` was called."""
        return self._core.closing

    async def aclose(self) -> None:
        """Close the socket, honouring ``linger``, and wait until it is closed.

        Queued outbound messages get up to ``linger`` ms (-1 = forever, libzmq's
        default; 0 = drop them at once) to be written; then every connection and
        listener is closed. Cancellation: if cancelled while lingering, the
        socket is closed at once (remaining messages are dropped) and the
        cancellation propagates; the socket is always closed afterwards.
        """
        if not self._core.closing:
            self._begin_close()
        await self._finish_close()

    def close(self, linger: int | None = None) -> None:
        """Close without waiting (pyzmq parity). ``linger`` (ms) overrides the option.

        The socket refuses further use at once; pending messages are written in the
        background for up to ``linger`` ms.
        """
        if self._core.closing:
            return
        if linger is not None:
            self._opts.set("linger", linger)
        self._begin_close()
        self.context._spawn_system(self._finish_close)

    @enable_ki_protection
    async def __aexit__(self, *exc_info: object) -> None:
        """Close (as :meth:`aclose`); when the body raised, with linger 0."""
        if exc_info[1] is not None and not self._core.closing:
            self._opts.set("linger", 0)
        await self.aclose()

    @enable_ki_protection
    async def _finish_close(self) -> None:
        core = self._core
        try:
            linger = self._opts.linger
            if linger != 0 and not self._cancelled and core.outbound_pending():
                with trio.move_on_after(linger / 1000 if linger > 0 else math.inf):
                    await core.drained.wait()
        finally:
            if not self._cancelled:
                self._cancel_everything()
            # Even when cancelled while lingering: closed means closed afterwards.
            with trio.CancelScope(shield=True):
                await self._finished.wait()

    @enable_ki_protection
    def _begin_close(self) -> None:
        core = self._core
        core.closing = True
        core.linger_pipes = list(core.pipes)
        # Stop accepting; connections already accepted keep writing during linger.
        for bound in self._bound.values():
            bound.binding.stop_accepting()
        # Refuse new messages; writers drain what is queued, then end.
        for pipe in list(core.pipes):
            self._pattern.detach(pipe)
            pipe.terminate()
        core.wake_all()
        core.check_drained()

    @enable_ki_protection
    def _cancel_everything(self) -> None:
        for dialings in self._connected.values():
            for dialing in dialings:
                dialing.stop()
        self._connected.clear()
        for bound in self._bound.values():
            bound.scope.cancel()
        self._bound.clear()
        self._cancelled = True
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()
        self.context._forget_socket(self)

    # --- for the Context -------------------------------------------------------------

    def _context_terminating(self, *, body_raised: bool) -> None:
        """``ctx.term()`` (or the context's exit) closes this socket: its closed-socket
        errors become ContextTerminated; with ``body_raised``, linger 0."""
        core = self._core
        core.terminated = True
        if body_raised and not core.closing:
            self._opts.set("linger", 0)


def _make_option_property(name: str) -> property:
    def fget(self: Socket) -> Any:
        return self.getsockopt(name)

    def fset(self: Socket, value: Any) -> None:
        self.setsockopt(name, value)

    return property(fget, fset, doc=OPTIONS[name].doc)


for _name, _spec in OPTIONS.items():
    # Methods with an option's name (subscribe, unsubscribe) keep their method form.
    for _attr in (_name, *_spec.aliases):
        if _attr != "type" and not hasattr(Socket, _attr):
            setattr(Socket, _attr, _make_option_property(_name))
Socket.type = property(lambda self: self.socket_type, doc="The socket type (trinq.SocketType).")  # type: ignore[assignment]
del _name, _spec, _attr  # pyright: ignore[reportPossiblyUnboundVariable]


def _get_hwm(self: Socket) -> int:
    return int(self.getsockopt("sndhwm"))


def _set_hwm(self: Socket, value: int) -> None:
    # pyzmq's Socket.hwm: one value for both queues; validated before either is set
    OPTIONS["sndhwm"].coerce(value)
    self.setsockopt("sndhwm", value)
    self.setsockopt("rcvhwm", value)


Socket.hwm = property(  # type: ignore[attr-defined]
    _get_hwm, _set_hwm, doc="pyzmq's ``hwm``: sets both sndhwm and rcvhwm; reads sndhwm."
)

#: Public attributes that are plain instance attributes (set in __init__).
_INSTANCE_ATTRS = frozenset({"socket_type", "context"})
#: Every lower-case option name and alias, for "did you mean" hints.
_OPTION_NAMES = sorted({a for s in OPTIONS.values() for a in (s.name, *s.aliases)})


def _option_for_attr(name: str) -> str | None:
    """The option an upper-case attribute names (``RCVTIMEO`` -> ``rcvtimeo``), as pyzmq."""
    if name.isupper():
        lowered = name.lower()
        if lowered in _OPTION_NAMES or lowered == "hwm":
            return lowered
    return None


def _no_such_attribute(name: str) -> AttributeError:
    close = difflib.get_close_matches(name.lower(), [*_OPTION_NAMES, "hwm"], n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return AttributeError(f"'Socket' object has no attribute or socket option {name!r}{hint}")


def _socket_setattr(self: Socket, name: str, value: Any) -> None:
    # Private state and the documented attributes go straight through; options are
    # properties on the class; an unknown public name is refused (a typo such as
    # ``s.sndhmw = 10`` must not silently leave the option unchanged).
    if name[0] == "_" or name in _INSTANCE_ATTRS or hasattr(Socket, name):
        object.__setattr__(self, name, value)
        return
    option = _option_for_attr(name)
    if option is None:
        raise _no_such_attribute(name)
    setattr(self, option, value)


def _install_upper_case_options() -> None:
    """pyzmq's upper-case spellings (``sock.RCVHWM``) as properties of the class: the
    same property as the lower-case name, or for an option whose lower-case name is a
    method (``subscribe``), one that sets it. (Not a ``__getattr__`` hook: on Python
    3.11 a class with one gets no specialised attribute reads, which made every
    ``self.x`` in ``send``/``recv`` a generic lookup: docs/design.md, "Scheduling".)"""
    for lowered in [*_OPTION_NAMES, "hwm"]:
        upper = lowered.upper()
        if upper in Socket.__dict__:
            continue
        attr = Socket.__dict__.get(lowered)
        if not isinstance(attr, property):
            attr = _make_option_property(lookup(lowered).name)
        setattr(Socket, upper, attr)


_install_upper_case_options()
Socket.__setattr__ = _socket_setattr  # type: ignore[method-assign,assignment]
