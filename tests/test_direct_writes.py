"""When ``send`` writes on the caller's stack (``Engine.try_write_now``) and when not.

A send writes directly only while the connection's writer is idle and the socket has
waited (or yielded in a receive) since its previous send: the request/reply rhythm.
A tight send loop goes through the writer's batches, also right after its own yield
every ``YIELD_EVERY`` sends (docs/design.md, "Direct writes in request/reply").
"""

from __future__ import annotations

from typing import Any

import pytest
import trio
from rawpeer import echo_rounds

import trinq
from trinq._core import YIELD_EVERY
from trinq._engine import Engine


@pytest.fixture
def direct_writes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per message written directly from now on."""
    done: list[int] = []
    real = Engine.try_write_now

    def spy(self: Engine, msg: Any) -> bool:
        wrote = real(self, msg)
        if wrote:
            done.append(1)
        return wrote

    monkeypatch.setattr(Engine, "try_write_now", spy)
    return done


async def test_a_tight_send_loop_goes_through_the_writer(direct_writes: list[int]) -> None:
    count = 10 * YIELD_EVERY
    with trio.fail_after(20):
        async with trinq.Context() as ctx:
            pull = ctx.socket(trinq.PULL)
            push = ctx.socket(trinq.PUSH)
            push.connect(await pull.bind("tcp://127.0.0.1:0"))
            await push.send(b"first")  # (waits for the connection)
            assert await pull.recv() == b"first"
            direct_writes.clear()
            for i in range(count):
                await push.send(b"%d" % i)
            for i in range(count):
                assert await pull.recv() == b"%d" % i
            # At most the loop's first send (the socket had waited before it); one per
            # YIELD_EVERY (10 here) before the send's own yield stopped granting it.
            assert len(direct_writes) <= 1, len(direct_writes)


async def test_request_reply_still_writes_directly(direct_writes: list[int]) -> None:
    rounds = 50
    with trio.fail_after(20):
        async with trinq.Context() as ctx:
            rep = ctx.socket(trinq.REP)
            req = ctx.socket(trinq.REQ)
            req.connect(await rep.bind("tcp://127.0.0.1:0"))

            await echo_rounds(req, rep, rounds)
            # both sides' sends follow a wait: nearly all of them go out directly
            assert len(direct_writes) >= rounds, len(direct_writes)
