"""The receiver reading for the reader (``trinq._loan.ReadLoan.borrow``, docs/design.md
"Lending: the receiver reads its only connection itself").

On REQ, REP, DEALER, ROUTER and PAIR sockets with a single peer, once the engine's
reader finds the socket empty while a receiver waits, it lends reading to that
receiver: ``recv`` then waits for the kernel itself and decodes on its own stack (no
reader-to-receiver hop on the round trip). These tests check that lending engages,
and that everything the reader would have done still happens while it is lent:
commands are answered, the end of the connection and protocol errors are seen,
RCVHWM holds, a second peer or ``close()`` wakes the receiver, a cancelled receive
loses nothing, non-waiting receives see what has arrived, and the reader takes
reading back when the receiver stops receiving.
"""

from __future__ import annotations

import errno
import random
import socket
import struct
from collections.abc import Awaitable, Callable

import pytest
import trio
import trio.testing
from rawpeer import RawPeer, command, drain, frame, message, ping, serve_raw_once, wait_until

import trinq
import trinq._loan
from trinq._loan import LENT, ReadLoan
from trinq.testing import WIRE_TRANSPORTS, endpoint, wait_for_event

E = trinq.Event

PAIRS = [
    (trinq.REQ, trinq.REP),
    (trinq.DEALER, trinq.ROUTER),
    (trinq.DEALER, trinq.REP),
    (trinq.REQ, trinq.ROUTER),
    (trinq.PAIR, trinq.PAIR),
]


def engine_of(sock: trinq.Socket):  # type: ignore[no-untyped-def]
    """The engine of the socket's only pipe."""
    (pipe,) = sock._pipes
    assert pipe.carrier is not None
    return pipe.carrier


def loan_of(sock: trinq.Socket) -> ReadLoan:
    """The read loan of the socket's only connection."""
    loan = engine_of(sock).loan
    assert loan is not None
    return loan


def lent(sock_or_loan: trinq.Socket | ReadLoan | None) -> bool:
    """Whether the connection is lent to receivers now."""
    if isinstance(sock_or_loan, trinq.Socket):
        sock_or_loan = engine_of(sock_or_loan).loan
    return sock_or_loan is not None and sock_or_loan.state == LENT


async def lent_pair(
    ctx: trinq.Context, ep: str, **options: int
) -> tuple[trinq.Socket, trinq.Socket]:
    """Two PAIR sockets that exchanged a message each way, with both ends lending."""
    a = ctx.socket(trinq.PAIR, **options)
    b = ctx.socket(trinq.PAIR)
    b.connect(await a.bind(ep))
    async with trio.open_nursery() as n:
        n.start_soon(b.send, b"hello")
        assert await a.recv() == b"hello"
    async with trio.open_nursery() as n:
        n.start_soon(a.send, b"back")
        assert await b.recv() == b"back"
    # The reader lends when it finds the socket empty while a receiver waits: have a
    # receiver take one message and wait for the next, on each side.
    for sock, peer in ((a, b), (b, a)):
        got: list[bytes] = []
        async with trio.open_nursery() as n:

            async def receive_two(sock: trinq.Socket = sock, got: list[bytes] = got) -> None:
                got.append(await sock.recv())
                await sock.recv()

            n.start_soon(receive_two)
            await wait_until(lambda s=sock: len(s._recv_lot) == 1)
            await peer.send(b"engage")
            await wait_until(lambda got=got: got == [b"engage"])
            await wait_until(lambda s=sock: lent(s) and loan_of(s).busy)
            n.cancel_scope.cancel()
    return a, b


@pytest.mark.parametrize("transport", WIRE_TRANSPORTS)
@pytest.mark.parametrize(("client_type", "server_type"), PAIRS)
async def test_round_trips_are_read_by_the_receiver(
    ctx: trinq.Context, tmp_path: object, transport: str, client_type: int, server_type: int
) -> None:
    server = ctx.socket(server_type)
    client = ctx.socket(client_type)
    client.connect(await server.bind(endpoint(transport, tmp_path)))  # type: ignore[arg-type]
    rounds = 30

    async def serve() -> None:
        for _ in range(rounds):
            msg = await server.recv_multipart()
            await server.send_multipart(msg)

    with trio.fail_after(10):
        async with trio.open_nursery() as n:
            n.start_soon(serve)
            for i in range(rounds):
                # a DEALER client writes the empty delimiter itself (REQ adds it)
                body = [b"", b"%d" % i] if client_type == trinq.DEALER else [b"%d" % i]
                await client.send_multipart(body)
                assert await client.recv_multipart() == body
    # both ends went over to the receiver reading, and it did read
    for sock in (client, server):
        engine = engine_of(sock)
        assert lent(engine.loan)
        assert engine.loan.calls >= rounds - 3
        stats = sock.statistics()
        assert stats.messages_in == rounds
        assert stats.messages_out == rounds


async def test_reading_comes_back_when_the_receiver_stops(
    ctx: trinq.Context, autojump_clock: trio.testing.MockClock
) -> None:
    a, b = await lent_pair(ctx, "tcp://127.0.0.1:*")
    engine = engine_of(a)
    assert lent(engine.loan)
    await trio.sleep(1)  # (virtual) nobody receives for many lease periods
    assert not lent(engine.loan)
    # ... and the reader delivers again as usual
    await b.send(b"later")
    with trio.fail_after(5):
        assert await a.recv() == b"later"


async def start_receiving(
    nursery: trio.Nursery, sock: trinq.Socket, send_first: Callable[[], Awaitable[object]]
) -> list[list[bytes]]:
    """Start a task that receives forever into the returned list, let the peer's first
    message through with ``send_first()``, and wait until the reader lends to it."""
    got: list[list[bytes]] = []

    async def receive() -> None:
        while True:
            got.append(await sock.recv_multipart())

    nursery.start_soon(receive)
    await wait_until(lambda: len(sock._recv_lot) == 1)
    await send_first()
    await wait_until(lambda: len(got) == 1)
    await wait_until(lambda: lent(sock) and loan_of(sock).busy)
    return got


async def test_a_ping_is_answered_while_the_receiver_reads(ctx: trinq.Context) -> None:
    async with trio.open_nursery() as nursery:
        port, accepted = await nursery.start(serve_raw_once)
        sock = ctx.socket(trinq.PAIR)
        sock.connect(f"tcp://127.0.0.1:{port}")
        peer: RawPeer = await accepted.receive()
        await peer.handshake("PAIR")
        with trio.fail_after(10):
            got = await start_receiving(nursery, sock, lambda: peer.send(message(b"one")))
            # the receiver reads the PING and hands it to the reader, which answers
            await peer.send(ping(0, b"ctx-1"))
            assert await peer.read_command() == (b"PONG", b"ctx-1")
            # and data keeps flowing around commands
            await peer.send(message(b"two") + ping(0, b"ctx-2") + message(b"three"))
            assert await peer.read_command() == (b"PONG", b"ctx-2")
            await wait_until(lambda: got == [[b"one"], [b"two"], [b"three"]])
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize("lending", [True, False])
@pytest.mark.parametrize("how", ["close", "reset"])
async def test_the_end_of_the_connection_is_seen(
    ctx: trinq.Context, how: str, lending: bool
) -> None:
    """Whoever reads -- the receiver (lent) or the reader -- sees the end or the reset."""
    async with trio.open_nursery() as nursery:
        port, accepted = await nursery.start(serve_raw_once)
        sock = ctx.socket(trinq.DEALER)
        mon = sock.monitor()
        sock.connect(f"tcp://127.0.0.1:{port}")
        peer: RawPeer = await accepted.receive()
        await peer.handshake("ROUTER")
        with trio.fail_after(10):
            if lending:
                got = await start_receiving(nursery, sock, lambda: peer.send(message(b"first")))
            else:
                await peer.send(message(b"first"))
                got = [await sock.recv_multipart()]
                assert not lent(sock)  # nobody waited: the reader kept reading
            if how == "reset":  # SO_LINGER 0: the close sends RST (ECONNRESET on our side)
                peer.stream.socket.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
            await peer.aclose()
            await wait_for_event(mon, E.DISCONNECTED)
            # the closed connection's descriptor is nobody's to wake any more
            assert sock._recv_lot.waker is None
            # the dialer reconnects; the next peer is served by the same receiver
            peer2: RawPeer = await accepted.receive()
            await peer2.handshake("ROUTER")
            await peer2.send(message(b"second"))
            if not lending:
                got.append(await sock.recv_multipart())
            await wait_until(lambda: got == [[b"first"], [b"second"]])
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize("before", [True, False])
async def test_a_protocol_error_while_lent_drops_only_that_peer(
    ctx: trinq.Context, before: bool
) -> None:
    router = ctx.socket(trinq.ROUTER, maxmsgsize=100)
    mon = router.monitor()
    ep = await router.bind("tcp://127.0.0.1:*")
    bad = await RawPeer.connect_tcp(ep)
    await bad.handshake("DEALER", identity=b"bad")
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            got = await start_receiving(nursery, router, lambda: bad.send(message(b"ok")))
            # a message, then a frame over maxmsgsize: a protocol error (docs/interop.md §10)
            await bad.send((message(b"before") if before else b"") + frame(b"x" * 101))
            events = await wait_for_event(mon, E.DISCONNECTED)
            assert "protocol error" in (events[-1].reason or "")
            # a well-behaved peer is served by the receiver that was waiting
            good = await RawPeer.connect_tcp(ep)
            await good.handshake("DEALER", identity=b"good")
            await good.send(message(b"fine"))
            expected = [[b"bad", b"ok"]] + [[b"bad", b"before"]] * before + [[b"good", b"fine"]]
            await wait_until(lambda: len(got) == len(expected))
            assert got == expected
            nursery.cancel_scope.cancel()
        await good.aclose()
    await bad.aclose()


async def test_a_second_peer_wakes_the_reading_receiver(ctx: trinq.Context) -> None:
    router = ctx.socket(trinq.ROUTER)
    ep = await router.bind("tcp://127.0.0.1:*")
    first = ctx.socket(trinq.DEALER, routing_id=b"first")
    first.connect(ep)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            got = await start_receiving(nursery, router, lambda: first.send(b"a"))
            engine = engine_of(router)
            second = ctx.socket(trinq.DEALER, routing_id=b"second")
            second.connect(ep)
            await second.send(b"b")
            await wait_until(lambda: got == [[b"first", b"a"], [b"second", b"b"]])
            assert not lent(engine.loan)  # two peers: each reader reads its own
            await first.send(b"c")
            await wait_until(lambda: len(got) == 3)
            nursery.cancel_scope.cancel()
        assert got[2] == [b"first", b"c"]


async def test_close_wakes_the_reading_receiver(ctx: trinq.Context) -> None:
    a, _b = await lent_pair(ctx, "tcp://127.0.0.1:*")
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            errors: list[int] = []

            async def receive() -> None:
                try:
                    await a.recv()
                except trinq.ZMQError as exc:
                    errors.append(exc.errno)

            nursery.start_soon(receive)
            engine = engine_of(a)
            await wait_until(lambda: engine.loan.busy)
            a.close(linger=0)
        assert errors == [errno.ENOTSOCK]


@pytest.mark.parametrize("how", ["cancel", "rcvtimeo"])
async def test_a_cancelled_reading_receive_loses_nothing(ctx: trinq.Context, how: str) -> None:
    a, b = await lent_pair(ctx, "tcp://127.0.0.1:*")
    engine = engine_of(a)
    with trio.fail_after(10):
        if how == "cancel":
            with trio.CancelScope() as scope:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(a.recv)
                    await wait_until(lambda: engine.loan.busy)
                    scope.cancel()
        else:
            a.rcvtimeo = 50
            with pytest.raises(trinq.Again):
                await a.recv()
            a.rcvtimeo = -1
        assert not engine.loan.busy
        await b.send(b"after")
        assert await a.recv() == b"after"
        assert a.statistics().messages_in == 3


async def test_receives_that_do_not_wait_see_what_arrived(ctx: trinq.Context) -> None:
    a, b = await lent_pair(ctx, "tcp://127.0.0.1:*")
    engine = engine_of(a)
    sockobj = engine.stream.socket
    with trio.fail_after(10):
        for i, take in enumerate(["recv_nowait", "dontwait", "events", "multipart_nowait"]):
            assert lent(engine.loan)  # nobody but a receiver reads now
            with pytest.raises(trinq.Again):
                a.recv_nowait()
            body = b"m%d" % i
            await b.send(body)
            await trio.lowlevel.wait_readable(sockobj)  # it is in the kernel
            if take == "recv_nowait":
                assert a.recv_nowait() == body
            elif take == "dontwait":
                assert await a.recv(trinq.DONTWAIT) == body
            elif take == "events":
                assert a.events & trinq.POLLIN
                assert await a.recv() == body
            else:
                assert a.recv_multipart_nowait() == [body]


async def test_rcvhwm_holds_while_lent(ctx: trinq.Context) -> None:
    a, b = await lent_pair(ctx, "tcp://127.0.0.1:*", rcvhwm=4)
    (pipe,) = a._pipes
    count = 2000
    got = []
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:

            async def send_all() -> None:
                for i in range(count):
                    await b.send(b"%d" % i)

            nursery.start_soon(send_all)
            while len(got) < count:
                got.append(await a.recv())
                assert pipe.inbound_queued() <= 4
    assert got == [b"%d" % i for i in range(count)]


async def test_concurrent_receivers_share_a_lent_socket(ctx: trinq.Context) -> None:
    a, b = await lent_pair(ctx, "tcp://127.0.0.1:*")
    got: list[bytes] = []
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:

            async def receive() -> None:
                got.append(await a.recv())

            nursery.start_soon(receive)
            nursery.start_soon(receive)
            await wait_until(lambda: loan_of(a).busy and len(a._recv_lot._tasks) == 1)
            await b.send(b"x")
            await b.send(b"y")
    assert sorted(got) == [b"x", b"y"]


async def test_our_ping_takes_reading_back(
    ctx: trinq.Context, autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sending a PING ends a loan, so the peer's PONG is read even if nobody receives
    (with a lease far longer than heartbeat_timeout, only that keeps the peer)."""
    monkeypatch.setattr(trinq._loan, "LEASE", 10_000.0)
    with trio.fail_after(100):
        async with trio.open_nursery() as nursery:
            port, accepted = await nursery.start(serve_raw_once)
            sock = ctx.socket(trinq.PAIR, heartbeat_ivl=1000, heartbeat_timeout=500)
            mon = sock.monitor()
            sock.connect(f"tcp://127.0.0.1:{port}")
            peer: RawPeer = await accepted.receive()
            await peer.handshake("PAIR")
            async with trio.open_nursery() as receiving:
                await start_receiving(receiving, sock, lambda: peer.send(message(b"one")))
                receiving.cancel_scope.cancel()  # lent, and now nobody receives
            assert lent(sock)
            for _ in range(5):
                name, _data = await peer.read_command()
                assert name == b"PING"
                await peer.send(command(b"PONG"))
            assert E.DISCONNECTED not in [e.event for e in drain(mon)]
            nursery.cancel_scope.cancel()


async def test_the_lending_reader_sleeps_through_a_ping_pong(
    ctx: trinq.Context, mock_clock: trio.testing.MockClock
) -> None:
    """While the receivers read, the readers are not woken per message: only by their
    lease timer (here the clock stands still except for one jump past a lease, taken
    while one side's receiver waits -- the case that once woke a reader per receive)."""
    a, b = await lent_pair(ctx, "tcp://127.0.0.1:*")

    class CountReaderSteps(trio.abc.Instrument):
        steps = 0

        def before_task_step(self, task: trio.lowlevel.Task) -> None:
            if task.name.endswith("Engine._reader"):
                self.steps += 1

    async def ping_pong(rounds: int) -> None:
        for i in range(rounds):
            await b.send(b"%d" % i)
            assert await b.recv() == b"%d" % i

    counter = CountReaderSteps()
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:

            async def echo() -> None:
                while True:
                    await a.send(await a.recv())

            nursery.start_soon(echo)
            await ping_pong(10)
            await wait_until(lambda: loan_of(a).busy)
            mock_clock.jump(trinq._loan.LEASE * 1.5)  # a's reader looks, a waits
            await ping_pong(10)
            trio.lowlevel.add_instrument(counter)
            try:
                await ping_pong(200)
            finally:
                trio.lowlevel.remove_instrument(counter)
            nursery.cancel_scope.cancel()
    assert lent(a) and lent(b)
    assert counter.steps <= 4, counter.steps


async def test_a_cancelled_reading_receiver_hands_over_to_the_next(
    ctx: trinq.Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two receivers: the one reading is cancelled; the one parked behind it takes
    over at once (not after the reader's lease, made very long here)."""
    monkeypatch.setattr(trinq._loan, "LEASE", 1000.0)
    a, b = await lent_pair(ctx, "tcp://127.0.0.1:*")
    engine = engine_of(a)
    got: list[bytes] = []
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            first = trio.CancelScope()

            async def receive_first() -> None:
                with first:
                    got.append(await a.recv())

            nursery.start_soon(receive_first)
            await wait_until(lambda: engine.loan.busy)

            async def receive_second() -> None:
                got.append(await a.recv())

            nursery.start_soon(receive_second)
            await wait_until(lambda: len(a._recv_lot._tasks) == 1)
            first.cancel()
            await wait_until(lambda: engine.loan.busy and not a._recv_lot._tasks)
            assert lent(engine.loan)
            await b.send(b"for the second")
    assert got == [b"for the second"]


async def test_disconnect_while_the_receiver_reads(ctx: trinq.Context) -> None:
    """disconnect() ends the lent connection; the waiting recv is woken, not broken,
    and gets the next peer's message after a new connect()."""
    a, b = await lent_pair(ctx, "tcp://127.0.0.1:*")
    ep = a.last_endpoint
    (old,) = a._pipes
    got: list[bytes] = []
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:

            async def receive() -> None:
                got.append(await b.recv())

            nursery.start_soon(receive)
            engine = engine_of(b)
            await wait_until(lambda: engine.loan.busy)
            b.disconnect(ep)
            await wait_until(lambda: not b._pipes and b._recv_lot.waker is None)
            b.connect(ep)
            # PAIR `a` takes the new connection once it has seen the old one end
            await wait_until(
                lambda: (
                    len(a._pipes) == 1
                    and old not in a._pipes
                    and all(p.carrier is not None for p in a._pipes)
                )
            )
            await a.send(b"again")
    assert got == [b"again"]


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
async def test_a_random_mix_of_receives_loses_and_reorders_nothing(
    ctx: trinq.Context, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """Lending under churn: await recv / recv_nowait / recv under short deadlines / the
    events option, one or two receivers, heartbeats both ways (so commands arrive and
    PINGs end loans), a tiny lease (so the reader takes back and lends again all the
    time) and sometimes a tiny RCVHWM. Every message arrives once, in order, and the
    connection survives."""
    rng = random.Random(seed)
    monkeypatch.setattr(trinq._loan, "LEASE", 0.0005)
    rcvhwm = rng.choice([0, 2, 1000])
    a = ctx.socket(trinq.PAIR, rcvhwm=rcvhwm, heartbeat_ivl=5, heartbeat_timeout=10_000)
    b = ctx.socket(trinq.PAIR, heartbeat_ivl=7, heartbeat_timeout=10_000)
    mon_a, mon_b = a.monitor(), b.monitor()
    b.connect(await a.bind("tcp://127.0.0.1:*"))
    total = 400
    got: list[bytes] = []
    lent_seen = 0

    async def send_all() -> None:
        for i in range(total):
            await b.send(b"%d" % i)
            if rng.random() < 0.3:  # a lull: the receivers catch up and wait (lending)
                await wait_until(lambda i=i: len(got) > i)
            elif rng.random() < 0.3:
                await trio.lowlevel.checkpoint()

    async def receiver() -> None:
        nonlocal lent_seen
        while True:
            lent_seen += any(p.carrier is not None and lent(p.carrier.loan) for p in a._pipes)
            action = rng.random()
            if action < 0.45:
                got.append(await a.recv())
            elif action < 0.65:
                try:
                    got.append(a.recv_nowait())
                except trinq.Again:
                    await trio.lowlevel.checkpoint()
            elif action < 0.85:
                with trio.move_on_after(rng.choice([0, 0.0002, 0.002])):
                    got.append(await a.recv())
            elif a.events & trinq.POLLIN:
                got.append(a.recv_nowait())
            else:
                await trio.lowlevel.checkpoint()

    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(receiver)
            if rng.random() < 0.5:
                nursery.start_soon(receiver)
            nursery.start_soon(send_all)
            await wait_until(lambda: len(got) >= total, timeout=30)
            nursery.cancel_scope.cancel()
    assert got == [b"%d" % i for i in range(total)]
    assert lent_seen  # the mix did run while the receivers read
    for mon in (mon_a, mon_b):
        assert E.DISCONNECTED not in [e.event for e in drain(mon)]


@pytest.mark.parametrize("seed", [1, 2])
async def test_lazy_pirate_under_lending(
    ctx: trinq.Context, autojump_clock: trio.testing.MockClock, seed: int
) -> None:
    """REQ (req_relaxed + req_correlate) against a REP that sometimes answers only after
    the client gave up: the client's reading receive is cancelled by its deadline, it
    sends the next request, and it only ever gets the answer to the latest one."""
    rng = random.Random(seed)
    server = ctx.socket(trinq.REP)
    client = ctx.socket(trinq.REQ, req_relaxed=True, req_correlate=True)
    client.connect(await server.bind("tcp://127.0.0.1:*"))
    gave_up = trio.Event()
    stalls = answers = lent_stalls = 0

    async def serve() -> None:
        nonlocal gave_up
        while True:
            request = await server.recv()
            if rng.random() < 0.3:  # answer late: only after the client timed out
                await gave_up.wait()
                gave_up = trio.Event()
            await server.send(b"re:" + request)

    with trio.fail_after(100):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(serve)
            for i in range(60):
                await client.send(b"%d" % i)
                with trio.move_on_after(1):
                    assert await client.recv() == b"re:%d" % i
                    answers += 1
                    continue
                stalls += 1
                lent_stalls += lent(client)  # the cancelled recv was reading
                gave_up.set()
            nursery.cancel_scope.cancel()
    assert answers
    assert lent_stalls and lent_stalls <= stalls
