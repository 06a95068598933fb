"""What the hostile-peer tests share (tests/test_hostile.py over tcp and ipc,
tests/test_hostile_ws.py over ws): the good peer, the in-order check, the bound socket
under attack and the task-count bookkeeping around it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
from rawpeer import wait_until

import trinq
from trinq._engine import Engine
from trinq.testing import wait_for_event

E = trinq.Event


def living_tasks() -> int:
    return trio.lowlevel.current_statistics().tasks_living


def engines(sock: trinq.Socket) -> list[Engine]:
    return [p.carrier for p in sock._core.pipes if isinstance(p.carrier, Engine)]


async def settled(*socks: trinq.Socket) -> None:
    """Wait until every connection of ``socks`` runs its tasks (HANDSHAKE_SUCCEEDED is
    emitted just before the engine starts them), so a task count taken now is stable."""
    await wait_until(lambda: all(e._nursery is not None for s in socks for e in engines(s)))


class Good:
    """The good peer: a trinq socket connected to the endpoint under attack."""

    def __init__(self, sock: trinq.Socket) -> None:
        self.sock = sock
        self.sent = 0

    async def send_some(self, n: int) -> None:
        for _ in range(n):
            await self.sock.send(b"good %06d" % self.sent)
            self.sent += 1


async def expect_in_order(sock: trinq.Socket, count: int, start: int = 0) -> None:
    """Receive until ``count`` good messages came, each the next one (others ignored)."""
    want = start
    while want < start + count:
        msg = await sock.recv()
        if msg.startswith(b"good "):
            assert msg == b"good %06d" % want, (msg, want)
            want += 1


@asynccontextmanager
async def serving(
    ctx: trinq.Context,
    where: str,
    sock_type: trinq.SocketType = trinq.PULL,
    good_type: trinq.SocketType = trinq.PUSH,
    **options: Any,
) -> AsyncIterator[tuple[trinq.Socket, str, trinq.Monitor, Good]]:
    """The socket under attack, bound to ``where``, with its good peer connected; on
    exit, the task count must return to where it was with just those two."""
    sock = ctx.socket(sock_type, linger=0, **options)
    mon = sock.monitor()
    ep = await sock.bind(where)
    good_sock = ctx.socket(good_type, linger=0)
    good_mon = good_sock.monitor()
    good_sock.connect(ep)
    await wait_for_event(good_mon, E.HANDSHAKE_SUCCEEDED)
    await wait_for_event(mon, E.HANDSHAKE_SUCCEEDED)
    await settled(sock, good_sock)
    baseline = living_tasks()
    yield sock, ep, mon, Good(good_sock)
    await wait_until(lambda: living_tasks() <= baseline)
    assert living_tasks() == baseline


async def reconnect_storm(ctx: trinq.Context, serving_here: Any) -> None:
    """Ten rounds of 20 trinq peers that connect, handshake, send and leave, while the
    good peer sends (``serving_here``: :func:`serving` on the transport under test)."""
    with trio.fail_after(30):
        async with serving_here as (sock, ep, _mon, good):
            for _round in range(10):
                storm = [ctx.socket(trinq.PUSH, linger=0) for _ in range(20)]
                mons = [s.monitor() for s in storm]
                for s in storm:
                    s.connect(ep)
                for m in mons:
                    await wait_for_event(m, E.HANDSHAKE_SUCCEEDED)
                for s in storm:
                    await s.send(b"storm")
                await good.send_some(10)
                for s in storm:
                    await s.aclose()
            await expect_in_order(sock, 100)
            await wait_until(lambda: len(sock._core.pipes) == 1)


async def routing_id_theft(
    ctx: trinq.Context, where: str, connect_raw: Any, message: Callable[[bytes], bytes]
) -> None:
    """A raw DEALER (``connect_raw(ep)``, a RawPeer or RawWsPeer; ``message`` frames a
    message for it) announces the good peer's Identity: ROUTER (without
    router_handover) keeps the first owner; the impostor's messages go nowhere and
    replies still reach the good peer."""
    with trio.fail_after(20):
        router = ctx.socket(trinq.ROUTER, linger=0)
        mon = router.monitor()
        ep = await router.bind(where)
        dealer = ctx.socket(trinq.DEALER, linger=0, routing_id=b"good-id")
        dealer_mon = dealer.monitor()
        dealer.connect(ep)
        await wait_for_event(mon, E.HANDSHAKE_SUCCEEDED)
        await wait_for_event(dealer_mon, E.HANDSHAKE_SUCCEEDED)
        await settled(router, dealer)
        baseline = living_tasks()
        impostor = await connect_raw(ep)
        await impostor.handshake("DEALER", identity=b"good-id")
        await wait_for_event(mon, E.HANDSHAKE_SUCCEEDED)
        await impostor.send(message(b"from the impostor"))
        for i in range(50):
            await dealer.send(b"good %06d" % i)
        for i in range(50):
            assert await router.recv_multipart() == [b"good-id", b"good %06d" % i]
        await router.send_multipart([b"good-id", b"reply"])
        assert await dealer.recv() == b"reply"
        with trio.move_on_after(0.2):
            while True:
                frames = await impostor.read_message()
                assert frames != [b"reply"]
        with pytest.raises(trinq.Again):
            await router.recv_multipart(trinq.DONTWAIT)
        await impostor.aclose()
        await wait_until(lambda: living_tasks() <= baseline)
        assert living_tasks() == baseline
