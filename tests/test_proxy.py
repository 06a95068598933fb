"""trinq.proxy and trinq.proxy_steerable (libzmq's zmq_proxy / zmq_proxy_steerable).

Every test is bounded with ``trio.fail_after`` and waits on data or on
``trio.testing.wait_all_tasks_blocked`` (inproc: nothing is in flight in a kernel then),
never on a sleep.
"""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trio.testing

import trinq
from trinq.testing import endpoint

TIMEOUT = 20
TRANSPORTS = ["tcp", "inproc"]


async def bound(
    ctx: trinq.Context, kind: int, transport: str = "tcp", **opts: Any
) -> tuple[trinq.Socket, str]:
    sock = ctx.socket(kind, **opts)
    ep = await sock.bind(endpoint(transport, "/nonexistent"))
    return sock, ep


def connected(ctx: trinq.Context, kind: int, ep: str, **opts: Any) -> trinq.Socket:
    sock = ctx.socket(kind, **opts)
    sock.connect(ep)
    return sock


class Proxy:
    """A proxy running in a background task: ``done`` once it returned (or raised)."""

    def __init__(self) -> None:
        self.scope = trio.CancelScope()
        self.done = trio.Event()
        self.error: BaseException | None = None
        self.returned = False

    async def run(self, fn: Callable[[], Awaitable[None]]) -> None:
        try:
            with self.scope:
                await fn()
                self.returned = True
        except Exception as exc:
            self.error = exc
        finally:
            self.done.set()

    async def stop(self) -> None:
        self.scope.cancel()
        await self.done.wait()


@asynccontextmanager
async def running(fn: Callable[..., Awaitable[None]], *args: Any) -> AsyncIterator[Proxy]:
    p = Proxy()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(p.run, lambda: fn(*args))
        try:
            yield p
        finally:
            p.scope.cancel()


def msg3(i: int) -> list[bytes]:
    """A three-frame message whose every frame names ``i`` (a partial one would show)."""
    return [b"%d" % i, b"part-%d" % i, b"x" * (i % 53) + b"%d" % i]


def is_msg3(frames: list[bytes]) -> int:
    i = int(frames[0])
    assert frames == msg3(i)
    return i


def stats_of(frames: list[bytes]) -> list[int]:
    assert len(frames) == 8 and all(len(f) == 8 for f in frames)
    return [struct.unpack("=Q", f)[0] for f in frames]


# --- the three pairs ---------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_router_dealer_req_clients_rep_workers(ctx: trinq.Context, transport: str) -> None:
    clients, workers, per_client = 4, 3, 150
    with trio.fail_after(TIMEOUT):
        frontend, fep = await bound(ctx, trinq.ROUTER, transport)
        backend, bep = await bound(ctx, trinq.DEALER, transport)
        handled = [0] * workers

        async def worker(w: int, sock: trinq.Socket) -> None:
            while True:
                request = await sock.recv_multipart()
                handled[w] += 1
                await sock.send_multipart([b"reply", *request, b"w%d" % w])

        async def client(c: int, sock: trinq.Socket) -> None:
            for i in range(per_client):
                request = [b"c%d" % c, b"%d" % i, b"p" * (i % 37)]
                await sock.send_multipart(request)
                reply = await sock.recv_multipart()
                assert reply[:4] == [b"reply", *request]
                assert reply[4] in {b"w%d" % w for w in range(workers)}

        async with running(trinq.proxy, frontend, backend) as p:
            async with trio.open_nursery() as nursery:
                for w in range(workers):
                    nursery.start_soon(worker, w, connected(ctx, trinq.REP, bep))
                async with trio.open_nursery() as inner:
                    for c in range(clients):
                        inner.start_soon(client, c, connected(ctx, trinq.REQ, fep))
                nursery.cancel_scope.cancel()
            assert sum(handled) == clients * per_client
            assert not p.done.is_set()


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_pull_push_many_multipart_in_order(ctx: trinq.Context, transport: str) -> None:
    n = 3000
    with trio.fail_after(TIMEOUT):
        frontend, fep = await bound(ctx, trinq.PULL, transport)
        backend, bep = await bound(ctx, trinq.PUSH, transport)
        producer = connected(ctx, trinq.PUSH, fep)
        sink = connected(ctx, trinq.PULL, bep)
        async with running(trinq.proxy, frontend, backend), trio.open_nursery() as nursery:

            async def produce() -> None:
                for i in range(n):
                    await producer.send_multipart(msg3(i))

            nursery.start_soon(produce)
            got = [is_msg3(await sink.recv_multipart()) for _ in range(n)]
        assert got == list(range(n))


async def test_backend_to_frontend_only(ctx: trinq.Context) -> None:
    """PUSH frontend, PULL backend: only backend -> frontend can be forwarded."""
    with trio.fail_after(TIMEOUT):
        frontend, fep = await bound(ctx, trinq.PUSH)
        backend, bep = await bound(ctx, trinq.PULL)
        sink = connected(ctx, trinq.PULL, fep)
        producer = connected(ctx, trinq.PUSH, bep)
        async with running(trinq.proxy, frontend, backend):
            for i in range(100):
                await producer.send_multipart(msg3(i))
            assert [is_msg3(await sink.recv_multipart()) for _ in range(100)] == list(range(100))


@pytest.mark.parametrize(
    ("front", "back"), [(trinq.PUSH, trinq.PUSH), (trinq.PULL, trinq.SUB), (trinq.PUB, trinq.PUB)]
)
async def test_no_direction_is_einval(ctx: trinq.Context, front: int, back: int) -> None:
    with trio.fail_after(TIMEOUT):
        a, b = ctx.socket(front), ctx.socket(back)
        with pytest.raises(trinq.ZMQError) as info:
            await trinq.proxy(a, b)
        assert info.value.errno == trinq.EINVAL


async def test_router_proxying_to_itself(ctx: trinq.Context) -> None:
    """frontend is backend (libzmq allows it): a ROUTER sends each message back."""
    with trio.fail_after(TIMEOUT):
        router, ep = await bound(ctx, trinq.ROUTER)
        dealer = connected(ctx, trinq.DEALER, ep, routing_id=b"me")
        async with running(trinq.proxy_steerable, router, router, None, None):
            for i in range(50):
                # the ROUTER receives [b"me", data] and sends it on: back to "me"
                await dealer.send_multipart([b"%d" % i, b"x"])
                assert await dealer.recv_multipart() == [b"%d" % i, b"x"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_xsub_xpub_forwards_subscriptions_upstream(
    ctx: trinq.Context, transport: str
) -> None:
    hwm = {"sndhwm": 100_000, "rcvhwm": 100_000}
    with trio.fail_after(TIMEOUT):
        # An XPUB upstream shows what subscriptions reach the publisher.
        upstream, uep = await bound(ctx, trinq.XPUB, transport, **hwm)
        frontend = connected(ctx, trinq.XSUB, uep, **hwm)
        backend, bep = await bound(ctx, trinq.XPUB, transport, **hwm)
        sub = connected(ctx, trinq.SUB, bep, **hwm)
        async with running(trinq.proxy, frontend, backend):
            sub.subscribe(b"a")
            # the SUB -> XPUB (proxy) -> XSUB (proxy) -> upstream XPUB
            assert await upstream.recv() == b"\x01a"
            for i in range(300):
                await upstream.send_multipart([b"b", b"%d" % i])
                await upstream.send_multipart([b"a", b"%d" % i])
            await upstream.send_multipart([b"a", b"end"])
            got = []
            while (frames := await sub.recv_multipart()) != [b"a", b"end"]:
                got.append(frames)
            assert got == [[b"a", b"%d" % i] for i in range(300)]
            sub.unsubscribe(b"a")
            assert await upstream.recv() == b"\x00a"


# --- capture -----------------------------------------------------------------------


async def test_capture_gets_every_forwarded_message_both_ways(ctx: trinq.Context) -> None:
    n = 200
    with trio.fail_after(TIMEOUT):
        frontend, fep = await bound(ctx, trinq.ROUTER)
        backend, bep = await bound(ctx, trinq.DEALER)
        capture, cep = await bound(ctx, trinq.PUSH, "inproc")
        collector = connected(ctx, trinq.PULL, cep)
        client = connected(ctx, trinq.REQ, fep, routing_id=b"client")
        rep = connected(ctx, trinq.REP, bep)
        async with running(trinq.proxy, frontend, backend, capture), trio.open_nursery() as nursery:

            async def echo() -> None:
                while True:
                    await rep.send_multipart([b"re", *(await rep.recv_multipart())])

            nursery.start_soon(echo)
            for i in range(n):
                await client.send_multipart([b"%d" % i, b"q"])
                assert await client.recv_multipart() == [b"re", b"%d" % i, b"q"]
            copies = [await collector.recv_multipart() for _ in range(2 * n)]
            nursery.cancel_scope.cancel()
        # each request, then its reply, with the envelope as the proxy saw it
        expected = []
        for i in range(n):
            expected.append([b"client", b"", b"%d" % i, b"q"])
            expected.append([b"client", b"", b"re", b"%d" % i, b"q"])
        assert copies == expected


async def test_capture_order_matches_forwarding(ctx: trinq.Context) -> None:
    n = 1000
    with trio.fail_after(TIMEOUT):
        frontend, fep = await bound(ctx, trinq.PULL, "inproc")
        backend, bep = await bound(ctx, trinq.PUSH, "inproc")
        capture, cep = await bound(ctx, trinq.PAIR, "inproc")
        collector = connected(ctx, trinq.PAIR, cep)
        producer = connected(ctx, trinq.PUSH, fep)
        sink = connected(ctx, trinq.PULL, bep)
        async with running(trinq.proxy, frontend, backend, capture), trio.open_nursery() as nursery:

            async def produce() -> None:
                for i in range(n):
                    await producer.send_multipart(msg3(i))

            nursery.start_soon(produce)
            forwarded = [is_msg3(await sink.recv_multipart()) for _ in range(n)]
            copied = [is_msg3(await collector.recv_multipart()) for _ in range(n)]
        assert forwarded == copied == list(range(n))


# --- steering ----------------------------------------------------------------------


async def test_steerable_rep_control_pause_resume_statistics_terminate(ctx: trinq.Context) -> None:
    n = 300
    with trio.fail_after(TIMEOUT):
        frontend, fep = await bound(ctx, trinq.PULL, "inproc", rcvhwm=10_000)
        backend, bep = await bound(ctx, trinq.PUSH, "inproc")
        control, kep = await bound(ctx, trinq.REP, "inproc")
        steer = connected(ctx, trinq.REQ, kep)
        producer = connected(ctx, trinq.PUSH, fep, sndhwm=10_000)
        sink = connected(ctx, trinq.PULL, bep)

        async def command(cmd: bytes) -> list[bytes]:
            await steer.send(cmd)
            return await steer.recv_multipart()

        async with running(trinq.proxy_steerable, frontend, backend, None, control) as p:
            assert await command(b"STATISTICS") == [struct.pack("=Q", 0)] * 8
            assert await command(b"PAUSE") == [b""]
            for i in range(n):
                await producer.send_multipart(msg3(i))
            await trio.testing.wait_all_tasks_blocked()
            # paused: all n are queued in the frontend and the proxy took none
            assert frontend.getsockopt(trinq.EVENTS) & trinq.POLLIN
            assert stats_of(await command(b"STATISTICS")) == [0] * 8
            with pytest.raises(trinq.Again):
                await sink.recv_multipart(trinq.DONTWAIT)
            assert await command(b"PAUSE") == [b""]  # twice: still paused, still a reply
            assert await command(b"RESUME") == [b""]
            got = [is_msg3(await sink.recv_multipart()) for _ in range(n)]
            assert got == list(range(n))
            frames = 3 * n
            nbytes = sum(len(f) for i in range(n) for f in msg3(i))
            # frontend in, frontend out, backend in, backend out (frames, bytes each)
            assert stats_of(await command(b"STATISTICS")) == [
                frames,
                nbytes,
                0,
                0,
                0,
                0,
                frames,
                nbytes,
            ]
            assert await command(b"TERMINATE") == [b""]
            await p.done.wait()
            assert p.returned and p.error is None
        # the sockets are still usable
        await producer.send_multipart(msg3(7))
        assert is_msg3(await frontend.recv_multipart()) == 7


async def test_steerable_statistics_router_dealer_exact(ctx: trinq.Context) -> None:
    k = 40
    with trio.fail_after(TIMEOUT):
        frontend, fep = await bound(ctx, trinq.ROUTER)
        backend, bep = await bound(ctx, trinq.DEALER)
        control, kep = await bound(ctx, trinq.PAIR, "inproc")
        steer = connected(ctx, trinq.PAIR, kep)
        client = connected(ctx, trinq.REQ, fep, routing_id=b"client")
        worker = connected(ctx, trinq.REP, bep)
        async with running(trinq.proxy_steerable, frontend, backend, None, control):
            for _ in range(k):
                await client.send(b"ping")
                assert await worker.recv() == b"ping"
                await worker.send(b"pong!")
                assert await client.recv() == b"pong!"
            await steer.send(b"STATISTICS")
            values = stats_of(await steer.recv_multipart())
        # request [b"client", b"", b"ping"] in on frontend, out on backend (3 frames, 10
        # bytes); reply [b"client", b"", b"pong!"] in on backend, out on frontend (11)
        assert values == [3 * k, 10 * k, 3 * k, 11 * k, 3 * k, 11 * k, 3 * k, 10 * k]


async def test_steerable_pair_control_no_replies(ctx: trinq.Context) -> None:
    with trio.fail_after(TIMEOUT):
        frontend, fep = await bound(ctx, trinq.PULL, "inproc")
        backend, bep = await bound(ctx, trinq.PUSH, "inproc")
        control, kep = await bound(ctx, trinq.PAIR, "inproc")
        steer = connected(ctx, trinq.PAIR, kep)
        producer = connected(ctx, trinq.PUSH, fep)
        sink = connected(ctx, trinq.PULL, bep)
        async with running(trinq.proxy_steerable, frontend, backend, None, control) as p:
            # PAIR: PAUSE, RESUME and unknown commands get no reply; STATISTICS does
            await steer.send(b"PAUSE")
            await steer.send(b"HELLO")
            await steer.send(b"STATISTICS")
            # the first reply is the statistics: PAUSE and HELLO were handled silently
            assert stats_of(await steer.recv_multipart()) == [0] * 8
            await producer.send_multipart(msg3(1))
            await trio.testing.wait_all_tasks_blocked()
            await steer.send(b"STATISTICS")
            assert stats_of(await steer.recv_multipart()) == [0] * 8
            with pytest.raises(trinq.Again):
                await sink.recv_multipart(trinq.DONTWAIT)
            await steer.send(b"RESUME")
            assert is_msg3(await sink.recv_multipart()) == 1
            await steer.send(b"TERMINATE")
            await p.done.wait()
            assert p.returned
            with pytest.raises(trinq.Again):
                await steer.recv_multipart(trinq.DONTWAIT)


async def test_rep_control_unknown_and_multipart_commands(ctx: trinq.Context) -> None:
    with trio.fail_after(TIMEOUT):
        frontend, fep = await bound(ctx, trinq.PULL, "inproc")
        backend, bep = await bound(ctx, trinq.PUSH, "inproc")
        control, kep = await bound(ctx, trinq.REP, "inproc")
        steer = connected(ctx, trinq.REQ, kep)
        producer = connected(ctx, trinq.PUSH, fep)
        sink = connected(ctx, trinq.PULL, bep)
        async with running(trinq.proxy_steerable, frontend, backend, None, control) as p:
            await steer.send(b"HELLO")
            assert await steer.recv_multipart() == [b""]  # REP: a reply no matter what
            await steer.send(b"pause")  # commands are case-sensitive, as in libzmq
            assert await steer.recv_multipart() == [b""]
            await producer.send_multipart(msg3(1))
            assert is_msg3(await sink.recv_multipart()) == 1
            # the command is the first frame of the message
            await steer.send_multipart([b"PAUSE", b"extra"])
            assert await steer.recv_multipart() == [b""]
            await producer.send_multipart(msg3(2))
            await trio.testing.wait_all_tasks_blocked()
            with pytest.raises(trinq.Again):
                await sink.recv_multipart(trinq.DONTWAIT)
            assert not p.done.is_set()


async def test_pause_leaves_the_other_direction_paused_too(ctx: trinq.Context) -> None:
    with trio.fail_after(TIMEOUT):
        frontend, fep = await bound(ctx, trinq.ROUTER, "inproc")
        backend, bep = await bound(ctx, trinq.DEALER, "inproc")
        control, kep = await bound(ctx, trinq.PAIR, "inproc")
        steer = connected(ctx, trinq.PAIR, kep)
        client = connected(ctx, trinq.DEALER, fep, routing_id=b"c")
        worker = connected(ctx, trinq.DEALER, bep)
        async with running(trinq.proxy_steerable, frontend, backend, None, control):
            await client.send(b"request")
            assert await worker.recv_multipart() == [b"c", b"request"]
            await steer.send(b"PAUSE")
            await steer.send(b"STATISTICS")  # the PAUSE has been handled once this answers
            stats_of(await steer.recv_multipart())
            await worker.send_multipart([b"c", b"reply"])
            await client.send(b"another")
            await trio.testing.wait_all_tasks_blocked()
            with pytest.raises(trinq.Again):
                await client.recv_multipart(trinq.DONTWAIT)
            with pytest.raises(trinq.Again):
                await worker.recv_multipart(trinq.DONTWAIT)
            await steer.send(b"RESUME")
            assert await client.recv_multipart() == [b"reply"]
            assert await worker.recv_multipart() == [b"c", b"another"]


# --- back-pressure -----------------------------------------------------------------


async def test_full_side_stops_reading_other_direction_continues(ctx: trinq.Context) -> None:
    hwm = {"sndhwm": 5, "rcvhwm": 5}
    with trio.fail_after(TIMEOUT):
        frontend, fep = await bound(ctx, trinq.PAIR, "inproc", **hwm)
        backend, bep = await bound(ctx, trinq.PAIR, "inproc", **hwm)
        client = connected(ctx, trinq.PAIR, fep, **hwm)
        worker = connected(ctx, trinq.PAIR, bep, **hwm)
        async with running(trinq.proxy, frontend, backend):
            # the worker reads nothing: the client's sends back up to it, through the proxy
            sent = 0
            while True:
                await trio.testing.wait_all_tasks_blocked()
                try:
                    await client.send_multipart(msg3(sent), trinq.DONTWAIT)
                except trinq.Again:
                    break
                sent += 1
            assert 0 < sent < 100  # bounded: the queues on the way, not more
            # ...while the other direction still flows
            for i in range(50):
                await worker.send_multipart([b"back", b"%d" % i])
                assert await client.recv_multipart() == [b"back", b"%d" % i]
            got = [is_msg3(await worker.recv_multipart()) for _ in range(sent)]
            assert got == list(range(sent))


# --- cancellation ------------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_cancel_mid_stream_loses_and_splits_nothing(
    ctx: trinq.Context, transport: str
) -> None:
    """Cancel the proxy again and again mid-stream, then run it again on the same
    sockets: every message arrives, whole and in order (a message is taken only when
    the PUSH destination has room for it)."""
    n, every = 3000, 250
    with trio.fail_after(TIMEOUT):
        frontend, fep = await bound(ctx, trinq.PULL, transport, rcvhwm=20)
        backend, bep = await bound(ctx, trinq.PUSH, transport, sndhwm=20)
        producer = connected(ctx, trinq.PUSH, fep, sndhwm=20)
        sink = connected(ctx, trinq.PULL, bep, rcvhwm=20)
        got: list[int] = []
        async with trio.open_nursery() as nursery:

            async def produce() -> None:
                for i in range(n):
                    await producer.send_multipart(msg3(i))

            nursery.start_soon(produce)
            restarts = 0
            while len(got) < n:
                async with running(trinq.proxy, frontend, backend) as p:
                    for _ in range(min(every, n - len(got))):
                        got.append(is_msg3(await sink.recv_multipart()))
                    await p.stop()
                    assert p.error is None and not p.returned
                restarts += 1
                # stopped: what the proxy had forwarded arrives, nothing more
                await trio.testing.wait_all_tasks_blocked()
                while True:
                    try:
                        got.append(is_msg3(await sink.recv_multipart(trinq.DONTWAIT)))
                    except trinq.Again:
                        break
                    if transport == "tcp":
                        await trio.testing.wait_all_tasks_blocked()
        assert got == list(range(n))
        assert restarts >= n // (every + 100)  # (each stop leaves a few queued to drain)


async def test_cancel_while_holding_drops_that_message_whole(ctx: trinq.Context) -> None:
    """The one case where the proxy holds a message: its DEALER destination lost its
    only peer after the proxy took the message. A cancel then drops it, whole; the
    sockets stay usable."""
    with trio.fail_after(TIMEOUT):
        frontend, fep = await bound(ctx, trinq.PULL, "inproc")
        backend, bep = await bound(ctx, trinq.DEALER, "inproc")
        producer = connected(ctx, trinq.PUSH, fep)
        async with running(trinq.proxy, frontend, backend) as p:
            worker = connected(ctx, trinq.DEALER, bep)
            await producer.send_multipart(msg3(0))
            assert is_msg3(await worker.recv_multipart()) == 0
            await trio.testing.wait_all_tasks_blocked()  # waiting in recv: the room was there
            await worker.aclose()
            await trio.testing.wait_all_tasks_blocked()
            await producer.send_multipart(msg3(1))
            await trio.testing.wait_all_tasks_blocked()
            # the proxy took message 1 and waits for a peer to send it to
            assert not frontend.getsockopt(trinq.EVENTS) & trinq.POLLIN
            await p.stop()
        worker2 = connected(ctx, trinq.DEALER, bep)
        async with running(trinq.proxy, frontend, backend):
            await producer.send_multipart(msg3(2))
            assert is_msg3(await worker2.recv_multipart()) == 2  # 1 was dropped, whole


async def test_rcvtimeo_and_sndtimeo_do_not_end_the_proxy(ctx: trinq.Context) -> None:
    with trio.fail_after(TIMEOUT):
        frontend, fep = await bound(ctx, trinq.PULL, "inproc", rcvtimeo=0)
        backend, bep = await bound(ctx, trinq.PUSH, "inproc", sndtimeo=0, sndhwm=2)
        producer = connected(ctx, trinq.PUSH, fep)
        async with running(trinq.proxy, frontend, backend) as p:
            await trio.testing.wait_all_tasks_blocked()
            sink = connected(ctx, trinq.PULL, bep, rcvhwm=2)
            for i in range(100):
                await producer.send_multipart(msg3(i))
            assert [is_msg3(await sink.recv_multipart()) for _ in range(100)] == list(range(100))
            assert not p.done.is_set()


# --- returning ---------------------------------------------------------------------


@pytest.mark.parametrize("which", ["frontend", "backend"])
@pytest.mark.parametrize(
    ("front", "back"),
    [(trinq.ROUTER, trinq.DEALER), (trinq.XSUB, trinq.XPUB), (trinq.PULL, trinq.PUSH)],
)
async def test_returns_when_a_socket_is_closed(
    ctx: trinq.Context, front: int, back: int, which: str
) -> None:
    with trio.fail_after(TIMEOUT):
        frontend, _ = await bound(ctx, front)
        backend, _ = await bound(ctx, back)
        async with running(trinq.proxy, frontend, backend) as p:
            await trio.testing.wait_all_tasks_blocked()
            assert not p.done.is_set()
            (frontend if which == "frontend" else backend).close()
            await p.done.wait()
            assert p.returned and p.error is None


async def test_returns_when_capture_or_control_is_closed(ctx: trinq.Context) -> None:
    with trio.fail_after(TIMEOUT):
        frontend, _ = await bound(ctx, trinq.PULL)
        backend, _ = await bound(ctx, trinq.PUSH)
        for role in ("capture", "control"):
            extra = ctx.socket(trinq.PUB if role == "capture" else trinq.REP)
            args = (extra, None) if role == "capture" else (None, extra)
            async with running(trinq.proxy_steerable, frontend, backend, *args) as p:
                await trio.testing.wait_all_tasks_blocked()
                assert not p.done.is_set()
                extra.close()
                await p.done.wait()
                assert p.returned and p.error is None


async def test_returns_when_the_context_is_terminated() -> None:
    with trio.fail_after(TIMEOUT):
        async with trinq.Context() as ctx:
            frontend, _ = await bound(ctx, trinq.ROUTER)
            backend, _ = await bound(ctx, trinq.DEALER)
            async with running(trinq.proxy, frontend, backend) as p:
                await trio.testing.wait_all_tasks_blocked()
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(ctx.term)
                    await p.done.wait()
                assert p.returned and p.error is None


async def test_other_errors_are_raised_plain(ctx: trinq.Context) -> None:
    with trio.fail_after(TIMEOUT):
        frontend, fep = await bound(ctx, trinq.PULL, "inproc")
        backend, _ = await bound(ctx, trinq.ROUTER, "inproc", router_mandatory=True)
        producer = connected(ctx, trinq.PUSH, fep)
        await producer.send_multipart([b"nobody", b"hello"])
        with pytest.raises(trinq.ZMQError) as info:
            await trinq.proxy(frontend, backend)
        assert info.value.errno == trinq.EHOSTUNREACH
        assert not frontend.closed and not backend.closed
