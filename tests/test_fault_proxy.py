"""trinq.testing.FaultProxy: each fault, shown with a trinq pair talking through it.

The proxy forwards to a bound trinq socket; the other socket connects to
``proxy.endpoint``. Time is virtual (``autojump_clock``) wherever only trinq's own
timers and the proxy's delays are waited for.
"""

from __future__ import annotations

import random

import pytest
import trio

import trinq
from trinq.testing import FaultProxy, wait_for_event
from trinq.testing._fault import _Flow

E = trinq.Event


async def pair_through(
    ctx: trinq.Context,
    proxy_target: str,
    bound: trinq.Socket,
    connecting_type: trinq.SocketType,
    proxy: FaultProxy,
    **options: object,
) -> tuple[trinq.Socket, trinq.Monitor]:
    """Connect a ``connecting_type`` socket to the proxy; return it once its
    handshake (through the proxy) is done, with its monitor."""
    sock = ctx.socket(connecting_type, linger=0, **options)
    mon = sock.monitor()
    sock.connect(proxy.endpoint)
    await wait_for_event(mon, E.HANDSHAKE_SUCCEEDED, timeout=100)
    return sock, mon


async def test_forwards_transparently(ctx) -> None:
    with trio.fail_after(10):
        pull = ctx.socket(trinq.PULL)
        ep = await pull.bind("tcp://127.0.0.1:*")
        async with FaultProxy(ep) as proxy:
            assert proxy.endpoint.startswith("tcp://127.0.0.1:")
            push, _ = await pair_through(ctx, ep, pull, trinq.PUSH, proxy)
            for i in range(200):
                await push.send(b"m%d" % i)
            assert [await pull.recv() for _ in range(200)] == [b"m%d" % i for i in range(200)]
            assert proxy.accepted == 1 and proxy.connections == 1
            # (the proxy counts a chunk after its send_all: the PULL may have it first)
            await proxy.wait_forwarded(200 * 4 + 64, "upstream")
            await proxy.wait_forwarded(65, "downstream")
        assert proxy.connections == 0


async def test_delay_holds_each_chunk(ctx, autojump_clock) -> None:
    with trio.fail_after(100):
        pull = ctx.socket(trinq.PULL)
        ep = await pull.bind("tcp://127.0.0.1:*")
        async with FaultProxy(ep) as proxy:
            push, _ = await pair_through(ctx, ep, pull, trinq.PUSH, proxy)
            proxy.delay(2.5, "upstream")
            t0 = trio.current_time()
            await push.send(b"slow")
            assert await pull.recv() == b"slow"
            assert trio.current_time() - t0 == pytest.approx(2.5, abs=0.05)
            proxy.delay(0)
            t0 = trio.current_time()
            await push.send(b"fast")
            assert await pull.recv() == b"fast"
            assert trio.current_time() - t0 < 0.05


async def test_stall_holds_bytes_until_resumed(ctx, autojump_clock) -> None:
    with trio.fail_after(100):
        pull = ctx.socket(trinq.PULL)
        ep = await pull.bind("tcp://127.0.0.1:*")
        async with FaultProxy(ep) as proxy:
            push, _ = await pair_through(ctx, ep, pull, trinq.PUSH, proxy)
            proxy.stall()
            for i in range(20):
                await push.send(b"%d" % i)
            with trio.move_on_after(5) as waited:
                await pull.recv()
            assert waited.cancelled_caught  # nothing came through
            proxy.resume()
            assert [await pull.recv() for _ in range(20)] == [b"%d" % i for i in range(20)]


async def test_lazy_pirate_recovers_from_a_cut(ctx, autojump_clock) -> None:
    """The reply is cut mid-frame; the REQ (req_relaxed + req_correlate) resends after
    its own timeout, the dialer reconnects, and the retry gets its answer."""
    with trio.fail_after(100):
        rep = ctx.socket(trinq.REP)
        ep = await rep.bind("tcp://127.0.0.1:*")
        async with FaultProxy(ep) as proxy, trio.open_nursery() as nursery:

            async def serve() -> None:
                while True:
                    request = await rep.recv()
                    await rep.send(b"re:" + request)

            nursery.start_soon(serve)
            req, _mon = await pair_through(
                ctx,
                ep,
                rep,
                trinq.REQ,
                proxy,
                req_relaxed=True,
                req_correlate=True,
                reconnect_ivl=50,
            )
            await req.send(b"warm-up")
            assert await req.recv() == b"re:warm-up"
            # the next reply is cut after 3 of its bytes: the REQ never sees it
            proxy.cut_after(3, "downstream")
            await req.send(b"job")
            await proxy.wait_cuts(1)
            proxy.heal()  # (a cut_after applies to new connections too until healed)
            replies = []
            for _attempt in range(5):  # Lazy Pirate: wait a while, then ask again
                with trio.move_on_after(1.0):
                    replies.append(await req.recv())
                    break
                await req.send(b"job")
            assert replies == [b"re:job"]
            assert proxy.accepted == 2
            nursery.cancel_scope.cancel()


async def test_cut_resets_both_ends(ctx, autojump_clock) -> None:
    with trio.fail_after(100):
        pull = ctx.socket(trinq.PULL)
        pull_mon = pull.monitor()
        ep = await pull.bind("tcp://127.0.0.1:*")
        async with FaultProxy(ep) as proxy:
            push, push_mon = await pair_through(ctx, ep, pull, trinq.PUSH, proxy, reconnect_ivl=50)
            await wait_for_event(pull_mon, E.HANDSHAKE_SUCCEEDED)
            proxy.cut()
            await wait_for_event(push_mon, E.DISCONNECTED)
            await wait_for_event(pull_mon, E.DISCONNECTED)
            await wait_for_event(push_mon, E.HANDSHAKE_SUCCEEDED)  # it reconnects
            await push.send(b"after")
            assert await pull.recv() == b"after"
            assert proxy.cuts == 1 and proxy.accepted == 2


async def test_corrupt_greeting_is_a_protocol_error(ctx, autojump_clock) -> None:
    """The server's first greeting octet flipped: the client sees a ZMTP 1.0 peer, a
    protocol error, and does not reconnect."""
    with trio.fail_after(100):
        pull = ctx.socket(trinq.PULL)
        ep = await pull.bind("tcp://127.0.0.1:*")
        async with FaultProxy(ep) as proxy:
            proxy.corrupt([0], direction="downstream")
            push = ctx.socket(trinq.PUSH, linger=0, reconnect_ivl=50)
            mon = push.monitor()
            push.connect(proxy.endpoint)
            seen = await wait_for_event(mon, E.HANDSHAKE_FAILED_PROTOCOL, timeout=100)
            assert "ZMTP 1.0" in (seen[-1].reason or "")
            with trio.move_on_after(2):
                await proxy.wait_accepted(2)
            assert proxy.accepted == 1  # a protocol error: no reconnect


async def test_corrupt_frame_after_handshake_is_a_protocol_error(ctx, autojump_clock) -> None:
    """A data frame's flags octet flipped (LONG, COMMAND, reserved bits): with
    maxmsgsize the receiver refuses it and drops the connection."""
    with trio.fail_after(100):
        pull = ctx.socket(trinq.PULL, maxmsgsize=1024)
        pull_mon = pull.monitor()
        ep = await pull.bind("tcp://127.0.0.1:*")
        async with FaultProxy(ep) as proxy:
            push, _ = await pair_through(ctx, ep, pull, trinq.PUSH, proxy)
            await push.send(b"intact")
            assert await pull.recv() == b"intact"
            proxy.corrupt([0], direction="upstream")
            await push.send(b"hello")  # 0x00 -> 0xff: a LONG frame whose size is
            await push.send(b"world")  # 05 'hello' 00 05: far over maxmsgsize
            seen = await wait_for_event(pull_mon, E.DISCONNECTED, timeout=100)
            assert "protocol error" in (seen[-1].reason or "")


def test_random_corruption_does_not_depend_on_chunking() -> None:
    data = bytes(range(256)) * 40
    outputs = []
    for sizes in ([len(data)], [1] * 64 + [len(data)], [7, 300, 4096, len(data)]):
        flow = _Flow()
        flow.set_rate(0.01, random.Random("seed"))
        out = b""
        rest = data
        for n in sizes:
            piece, rest = rest[:n], rest[n:]
            out += flow.apply(piece)[0]
        outputs.append(out)
    assert outputs[0] == outputs[1] == outputs[2]
    flipped = sum(a != b for a, b in zip(outputs[0], data, strict=False))
    assert 50 < flipped < 160  # about 1 % of 10240


async def test_refuse_then_heal(ctx, autojump_clock) -> None:
    with trio.fail_after(100):
        pull = ctx.socket(trinq.PULL)
        ep = await pull.bind("tcp://127.0.0.1:*")
        async with FaultProxy(ep) as proxy:
            proxy.refuse()
            push = ctx.socket(trinq.PUSH, linger=0, reconnect_ivl=50)
            mon = push.monitor()
            push.connect(proxy.endpoint)
            await proxy.wait_accepted(3)
            assert proxy.refused >= 3 and proxy.connections == 0
            await push.send(b"queued while refused")
            proxy.heal()
            await wait_for_event(mon, E.HANDSHAKE_SUCCEEDED, timeout=100)
            assert await pull.recv() == b"queued while refused"


async def test_heartbeats_detect_a_partition_and_nothing_queued_is_lost(
    ctx, autojump_clock
) -> None:
    """A held partition: the PUSH's heartbeat times out (ivl + timeout), its dialer
    reconnects into the partition (held silently), and what it queued meanwhile is
    delivered, in order, once the partition heals."""
    with trio.fail_after(100):
        pull = ctx.socket(trinq.PULL)
        ep = await pull.bind("tcp://127.0.0.1:*")
        async with FaultProxy(ep) as proxy:
            push, mon = await pair_through(
                ctx,
                ep,
                pull,
                trinq.PUSH,
                proxy,
                heartbeat_ivl=200,
                heartbeat_timeout=600,
                reconnect_ivl=50,
            )
            await push.send(b"before")
            assert await pull.recv() == b"before"
            proxy.partition()
            t0 = trio.current_time()
            seen = await wait_for_event(mon, E.DISCONNECTED, timeout=100)
            assert "heartbeat" in (seen[-1].reason or "")
            assert trio.current_time() - t0 <= 0.2 + 0.6 + 0.01
            await proxy.wait_accepted(2)  # the reconnection, held by the partition
            for i in range(50):
                await push.send(b"%d" % i)
            proxy.heal()
            assert [await pull.recv() for _ in range(50)] == [b"%d" % i for i in range(50)]


async def test_short_partition_delays_but_loses_nothing(ctx, autojump_clock) -> None:
    with trio.fail_after(100):
        pull = ctx.socket(trinq.PULL)
        ep = await pull.bind("tcp://127.0.0.1:*")
        async with FaultProxy(ep) as proxy:
            push, _mon = await pair_through(ctx, ep, pull, trinq.PUSH, proxy)
            proxy.partition()
            for i in range(100):
                await push.send(b"%d" % i)
            with trio.move_on_after(3) as waited:
                await pull.recv()
            assert waited.cancelled_caught
            proxy.heal()
            assert [await pull.recv() for _ in range(100)] == [b"%d" % i for i in range(100)]
            assert proxy.accepted == 1  # the same connection carried it all


async def test_dropping_partition_resets_lossy_connections_on_heal(ctx, autojump_clock) -> None:
    with trio.fail_after(100):
        pull = ctx.socket(trinq.PULL)
        ep = await pull.bind("tcp://127.0.0.1:*")
        async with FaultProxy(ep) as proxy:
            push, mon = await pair_through(ctx, ep, pull, trinq.PUSH, proxy, reconnect_ivl=50)
            proxy.partition(drop=True)
            await push.send(b"dropped")
            await proxy.wait_forwarded(0)
            with trio.move_on_after(3) as waited:
                await pull.recv()
            assert waited.cancelled_caught
            proxy.heal()  # the stream lost bytes: reset, and the dialer reconnects
            await wait_for_event(mon, E.HANDSHAKE_SUCCEEDED, timeout=100)
            await push.send(b"after")
            assert await pull.recv() == b"after"
            assert proxy.cuts == 1


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        FaultProxy("ipc:///tmp/x")
    proxy = FaultProxy("tcp://127.0.0.1:5555")
    with pytest.raises(RuntimeError):
        proxy.endpoint  # noqa: B018
    with pytest.raises(ValueError):
        proxy.delay(-1)
    with pytest.raises(ValueError):
        proxy.corrupt(rate=2)
    with pytest.raises(ValueError):
        proxy.stall("sideways")  # type: ignore[arg-type]
