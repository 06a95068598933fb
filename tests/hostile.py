"""What the hostile-peer tests share (tests/test_hostile.py over tcp and ipc,
tests/test_hostile_ws.py over ws): the good peer, the in-order check, the bound socket
under attack and the task-count bookkeeping around it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

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
