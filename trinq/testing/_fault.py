"""A fault-injecting TCP proxy for testing reconnect, retry and heartbeat logic.

:class:`FaultProxy` listens on ``127.0.0.1`` (an ephemeral port) and forwards every
connection it accepts to one target tcp endpoint, byte for byte, until told to
misbehave. Faults are switched with plain (synchronous) method calls that take
effect at once, on the connections already open and on new ones:

=====================  =============================================================
``delay(s)``           every chunk waits ``s`` seconds (``trio.sleep``) before it is
                       forwarded: a slow link
``stall()``            nothing is forwarded; bytes wait (TCP pushes back on senders)
``cut()``              reset every open connection now
``cut_after(n)``       reset each connection once ``n`` more bytes went through it
``corrupt(...)``       flip bytes at given offsets, or at a seeded random rate
``refuse()``           reset new connections as soon as they are accepted
``partition()``        nothing gets through either way, and nothing is closed: held
                       (bytes wait, as TCP retransmits them) or dropped
``heal()``             undo every fault
=====================  =============================================================

Directions: ``"upstream"`` is from the connecting client to the target,
``"downstream"`` from the target back to the client, ``"both"`` is both.

Timing is done with ``trio.sleep`` and trio's own I/O waits, so under
``trio.testing.MockClock(autojump_threshold=0)`` (pytest-trio's ``autojump_clock``)
delays and the timeouts they provoke run in virtual time. The corruption RNG is
per connection and direction, seeded from ``seed`` and the connection's number, and
drawn per byte position, so which bytes are flipped does not depend on how the
kernel happened to chunk the stream.
"""

from __future__ import annotations

import contextlib
import math
import random
import socket as _stdlib_socket
import struct
from collections.abc import Iterable
from types import TracebackType
from typing import Literal

import trio

from .._transports._tcp import parse_tcp_address

__all__ = ["Direction", "FaultProxy"]

#: Which way a fault applies: client -> target, target -> client, or both.
Direction = Literal["both", "upstream", "downstream"]

_UP = 0
_DOWN = 1
_CHUNK = 65536


def _directions(direction: Direction) -> tuple[int, ...]:
    if direction == "both":
        return (_UP, _DOWN)
    if direction == "upstream":
        return (_UP,)
    if direction == "downstream":
        return (_DOWN,)
    raise ValueError(f"direction must be 'both', 'upstream' or 'downstream', not {direction!r}")


def _reset(stream: trio.SocketStream | None) -> None:
    """Make the next close of ``stream`` an abortive one (RST instead of FIN)."""
    if stream is None:
        return
    with contextlib.suppress(OSError):
        stream.socket.setsockopt(
            _stdlib_socket.SOL_SOCKET, _stdlib_socket.SO_LINGER, struct.pack("ii", 1, 0)
        )


class _Flow:
    """One direction of one connection: what went through, and its pending faults."""

    __slots__ = ("cut_at", "flips", "forwarded", "next_flip", "rate", "rng")

    def __init__(self) -> None:
        #: bytes forwarded so far
        self.forwarded = 0
        #: reset the connection once ``forwarded`` reaches this (None: never)
        self.cut_at: int | None = None
        #: absolute stream offsets still to be flipped
        self.flips: set[int] = set()
        #: random corruption: probability per byte (0: off), its RNG, the next offset
        self.rate = 0.0
        self.rng: random.Random | None = None
        self.next_flip = math.inf

    def set_rate(self, rate: float, rng: random.Random) -> None:
        self.rate = rate
        self.rng = rng
        self.next_flip = math.inf
        if rate > 0:
            self._draw(self.forwarded)

    def _draw(self, start: int) -> None:
        # the gap to the next flipped byte is geometric: the same draws, in stream
        # order, whatever the chunking
        assert self.rng is not None
        if self.rate >= 1:
            self.next_flip = start
            return
        u = self.rng.random()
        self.next_flip = start + int(math.log1p(-u) / math.log1p(-self.rate))

    def apply(self, data: bytes) -> tuple[bytes, bool]:
        """``data`` as it is forwarded (corrupted, shortened at a cut) and whether the
        connection must be reset after it."""
        start = self.forwarded
        end = start + len(data)
        cut = False
        if self.cut_at is not None and self.cut_at <= end:
            end = max(self.cut_at, start)
            data = data[: end - start]
            cut = True
        flips = [i for i in self.flips if start <= i < end]
        while self.next_flip < end:
            flips.append(int(self.next_flip))
            self._draw(int(self.next_flip) + 1)
        if flips:
            buf = bytearray(data)
            for i in flips:
                buf[i - start] ^= 0xFF
                self.flips.discard(i)
            data = bytes(buf)
        self.forwarded = end
        return data, cut


class _Link:
    """One proxied connection."""

    def __init__(self, number: int, client: trio.SocketStream) -> None:
        self.number = number
        self.client = client
        self.server: trio.SocketStream | None = None
        self.flows = (_Flow(), _Flow())
        self.scope = trio.CancelScope()
        #: bytes were dropped by a partition: the stream has a hole, heal() resets it
        self.lossy = False
        self.reset = False

    def cut(self) -> None:
        self.reset = True
        self.scope.cancel()


class FaultProxy:
    """Forward tcp connections to ``target``, injecting faults on command.

    Use it as an async context manager; connect your client to :attr:`endpoint`
    instead of the target::

        async with trinq.testing.FaultProxy(server_endpoint) as proxy:
            client.connect(proxy.endpoint)
            ...
            proxy.partition()   # heartbeats now time out
            ...
            proxy.heal()

    Args:
        target: the tcp endpoint to forward to (``"tcp://127.0.0.1:5555"``).
        seed: seeds the corruption RNG (see :meth:`corrupt`).
        chunk_size: most bytes read at once per direction (a delay applies per chunk).

    Every fault method is synchronous and applies at once, to the connections open
    now and to those accepted later, until it is undone (:meth:`heal` undoes all).
    """

    __module__ = "trinq.testing"

    def __init__(self, target: str, *, seed: int = 0, chunk_size: int = _CHUNK) -> None:
        scheme, sep, address = target.partition("://")
        if scheme != "tcp" or not sep:
            raise ValueError(f"FaultProxy forwards to a tcp:// endpoint, not {target!r}")
        self._host, self._port = parse_tcp_address(address, bind=False)
        self.target = target
        self.seed = seed
        self.chunk_size = chunk_size
        #: connections accepted so far (refused ones included)
        self.accepted = 0
        #: connections reset by :meth:`refuse`
        self.refused = 0
        #: connections reset by :meth:`cut` or :meth:`cut_after`
        self.cuts = 0
        #: bytes forwarded so far, (upstream, downstream)
        self.forwarded = [0, 0]
        self._links: set[_Link] = set()
        self._delay = [0.0, 0.0]
        self._stalled = [False, False]
        self._cut_after: list[int | None] = [None, None]
        self._flips: list[frozenset[int]] = [frozenset(), frozenset()]
        self._rate = [0.0, 0.0]
        self._refusing = False
        self._partition: Literal["hold", "drop"] | None = None
        self._changed = trio.Event()
        self._listener: trio.SocketListener | None = None
        self._stack: contextlib.AsyncExitStack | None = None
        self._nursery: trio.Nursery | None = None

    # --- lifecycle ---------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        """Where clients connect: ``tcp://127.0.0.1:<port>``."""
        return f"tcp://127.0.0.1:{self.port}"

    @property
    def port(self) -> int:
        """The proxy's listening port (valid inside ``async with``)."""
        if self._listener is None:
            raise RuntimeError("the FaultProxy is not running (use 'async with')")
        port: int = self._listener.socket.getsockname()[1]
        return port

    @property
    def connections(self) -> int:
        """Connections open through the proxy now."""
        return len(self._links)

    async def __aenter__(self) -> FaultProxy:
        """Start listening and forwarding.

        Cancellation: if cancelled, nothing is left listening or running."""
        stack = contextlib.AsyncExitStack()
        try:
            listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
            self._listener = listeners[0]
            for extra in listeners[1:]:
                await trio.aclose_forcefully(extra)
            stack.push_async_callback(self._close_listener)
            self._nursery = await stack.enter_async_context(trio.open_nursery())
            self._nursery.start_soon(self._accept_loop)
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        """Stop: close the listener and every proxied connection (both ends, at once).

        Cancellation: cannot leave anything behind; every connection and the listener
        are closed forcefully whether or not this is cancelled."""
        stack, self._stack = self._stack, None
        if stack is None:
            return None
        assert self._nursery is not None
        self._nursery.cancel_scope.cancel()
        return await stack.__aexit__(exc_type, exc, tb)

    async def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            await trio.aclose_forcefully(listener)

    # --- waiting (for tests: no sleeping) -----------------------------------------

    async def wait_accepted(self, count: int) -> None:
        """Wait until :attr:`accepted` is at least ``count``.

        Cancellation: leaves nothing behind (it only waits)."""
        while self.accepted < count:
            await self._changed.wait()

    async def wait_cuts(self, count: int) -> None:
        """Wait until :attr:`cuts` is at least ``count``.

        Cancellation: leaves nothing behind (it only waits)."""
        while self.cuts < count:
            await self._changed.wait()

    async def wait_forwarded(self, nbytes: int, direction: Direction = "upstream") -> None:
        """Wait until at least ``nbytes`` have been forwarded in ``direction`` (summed
        over both directions for ``"both"``).

        Cancellation: leaves nothing behind (it only waits)."""
        dirs = _directions(direction)
        while sum(self.forwarded[d] for d in dirs) < nbytes:
            await self._changed.wait()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    # --- faults --------------------------------------------------------------------

    def delay(self, seconds: float, direction: Direction = "both") -> None:
        """Hold every chunk for ``seconds`` before forwarding it (0: no delay)."""
        if seconds < 0 or not math.isfinite(seconds):
            raise ValueError(f"delay must be a finite number >= 0, not {seconds!r}")
        for d in _directions(direction):
            self._delay[d] = float(seconds)
        self._notify()

    def stall(self, direction: Direction = "both") -> None:
        """Forward nothing in ``direction`` until :meth:`resume` or :meth:`heal`;
        bytes wait, so the sender's socket fills up and TCP pushes back."""
        for d in _directions(direction):
            self._stalled[d] = True
        self._notify()

    def resume(self, direction: Direction = "both") -> None:
        """Undo :meth:`stall`."""
        for d in _directions(direction):
            self._stalled[d] = False
        self._notify()

    def cut(self) -> None:
        """Reset every open connection now (both ends see a reset)."""
        for link in list(self._links):
            self._cut(link)

    def cut_after(self, nbytes: int | None, direction: Direction = "both") -> None:
        """Reset each connection once ``nbytes`` more bytes have gone through it in
        ``direction`` (counted from now on open connections, from their first byte on
        new ones); the bytes up to that point are forwarded. ``None`` disarms it."""
        if nbytes is not None and nbytes < 0:
            raise ValueError("nbytes must be >= 0 or None")
        for d in _directions(direction):
            self._cut_after[d] = nbytes
            for link in list(self._links):
                flow = link.flows[d]
                flow.cut_at = None if nbytes is None else flow.forwarded + nbytes
                if nbytes == 0:
                    self._cut(link)
        self._notify()

    def corrupt(
        self,
        offsets: Iterable[int] = (),
        *,
        rate: float = 0.0,
        direction: Direction = "both",
    ) -> None:
        """Flip (xor 0xFF) the bytes at ``offsets`` -- counted from now on open
        connections, from their first byte on new ones -- and, with ``rate`` > 0, each
        byte with that probability (a per-connection RNG seeded from ``seed``).
        ``corrupt()`` with no arguments turns corruption off."""
        if not 0 <= rate <= 1:
            raise ValueError("rate must be between 0 and 1")
        wanted = frozenset(offsets)
        if any(i < 0 for i in wanted):
            raise ValueError("offsets must be >= 0")
        for d in _directions(direction):
            self._flips[d] = wanted
            self._rate[d] = rate
            for link in self._links:
                flow = link.flows[d]
                flow.flips = {flow.forwarded + i for i in wanted}
                flow.set_rate(rate, self._rng(link, d))
        self._notify()

    def refuse(self, refusing: bool = True) -> None:
        """Reset new connections as soon as they are accepted (``False``: accept
        again). Open connections are not affected."""
        self._refusing = refusing
        self._notify()

    def partition(self, *, drop: bool = False) -> None:
        """Let nothing through either way, and close nothing: the peers see silence.

        By default bytes are held and delivered, in order, by :meth:`heal` -- what
        TCP's retransmissions do after a short partition. With ``drop=True`` they are
        read and thrown away; a stream with a hole cannot go on, so :meth:`heal` resets
        the connections that lost bytes. Connections accepted during a partition are
        held open without reaching the target until :meth:`heal`."""
        self._partition = "drop" if drop else "hold"
        self._notify()

    def heal(self) -> None:
        """Undo every fault: no delay, no stall, no cut or corruption pending, accept
        connections, end a partition (resetting the connections a dropping partition
        made lossy)."""
        self._delay = [0.0, 0.0]
        self._stalled = [False, False]
        self._cut_after = [None, None]
        self._flips = [frozenset(), frozenset()]
        self._rate = [0.0, 0.0]
        self._refusing = False
        self._partition = None
        for link in list(self._links):
            for flow in link.flows:
                flow.cut_at = None
                flow.flips = set()
                flow.rate = 0.0
                flow.next_flip = math.inf
            if link.lossy:
                self._cut(link)
        self._notify()

    # --- forwarding ----------------------------------------------------------------

    def _rng(self, link: _Link, direction: int) -> random.Random:
        return random.Random(f"{self.seed}/{link.number}/{direction}")

    def _cut(self, link: _Link) -> None:
        if not link.reset:
            self.cuts += 1
            link.cut()
            self._notify()

    async def _accept_loop(self) -> None:
        assert self._listener is not None and self._nursery is not None
        while True:
            stream = await self._listener.accept()
            self.accepted += 1
            number = self.accepted
            if self._refusing:
                self.refused += 1
                _reset(stream)
                await trio.aclose_forcefully(stream)
                self._notify()
                continue
            link = _Link(number, stream)
            for d in (_UP, _DOWN):
                flow = link.flows[d]
                flow.cut_at = self._cut_after[d]
                flow.flips = set(self._flips[d])
                flow.set_rate(self._rate[d], self._rng(link, d))
            self._links.add(link)
            self._notify()
            self._nursery.start_soon(self._serve, link)

    async def _serve(self, link: _Link) -> None:
        try:
            with link.scope:
                while self._partition is not None:  # the target sees nothing yet
                    await self._changed.wait()
                try:
                    link.server = await trio.open_tcp_stream(self._host, self._port)
                except OSError:
                    link.reset = True  # the target is not there: so the client hears
                    return
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._pump, link, _UP, link.client, link.server)
                    nursery.start_soon(self._pump, link, _DOWN, link.server, link.client)
        finally:
            self._links.discard(link)
            if link.reset:
                _reset(link.client)
                _reset(link.server)
            await trio.aclose_forcefully(link.client)
            if link.server is not None:
                await trio.aclose_forcefully(link.server)
            self._notify()

    def _held(self, d: int) -> bool:
        return self._stalled[d] or self._partition == "hold"

    async def _pump(
        self, link: _Link, d: int, src: trio.SocketStream, dst: trio.SocketStream
    ) -> None:
        flow = link.flows[d]
        try:
            while True:
                while self._held(d):
                    await self._changed.wait()
                data = await src.receive_some(self.chunk_size)
                if not data:
                    break  # EOF: the other side is closed too (ZMTP never half-closes)
                # a stall or partition that began during the read holds this chunk
                while self._held(d):
                    await self._changed.wait()
                if self._partition == "drop":
                    link.lossy = True
                    continue
                delay = self._delay[d]
                if delay > 0:
                    await trio.sleep(delay)
                data, cut = flow.apply(data)
                if data:
                    await dst.send_all(data)
                    self.forwarded[d] += len(data)
                    self._notify()
                if cut:
                    self._cut(link)
                    return
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            link.reset = True  # one end was reset: so is the other
        link.scope.cancel()
