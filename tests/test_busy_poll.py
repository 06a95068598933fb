"""The ``busy_poll`` option: a receive that reads its one connection itself (docs/design.md
"Lending") polls the kernel for up to ``busy_poll`` microseconds before it sleeps, when no
other task of the trio run is ready, and stops polling for a while after polls that
found nothing.

A libzmq REP in a thread answers while the trio thread polls (the poll's ``recv`` calls
release the GIL), so a prompt peer is caught polling; a trinq peer in the same trio run
can never answer during a poll (it cannot run), so every poll there finds nothing and the
backoff keeps the cost to a few polls.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
import trio
import zmq
from rawpeer import echo_rounds

import trinq

ROUND_TRIPS = 100


def libzmq_rep(
    endpoint: str,
    count: int,
    before_reply: Callable[[bytes], object] = bool,
    last: bytes | None = None,
) -> None:
    """Answer ``count`` requests on a libzmq REP, or until the request ``last`` (run in a
    thread; bounded by RCVTIMEO)."""
    context = zmq.Context()
    rep = context.socket(zmq.REP)
    rep.setsockopt(zmq.RCVTIMEO, 10000)
    rep.setsockopt(zmq.LINGER, 1000)
    try:
        rep.connect(endpoint)
        for _ in range(count):
            request = rep.recv()
            before_reply(request)
            rep.send(request)
            if request == last:
                break
    finally:
        rep.close()
        context.term()


async def round_trips_with_libzmq(ctx: trinq.Context, **options: int) -> trinq.SocketStatistics:
    req = ctx.socket(trinq.REQ, linger=0, **options)
    endpoint = await req.bind("tcp://127.0.0.1:0")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(trio.to_thread.run_sync, libzmq_rep, endpoint, ROUND_TRIPS)
        for i in range(ROUND_TRIPS):
            await req.send(b"%d" % i)
            assert await req.recv() == b"%d" % i
    return req.statistics()


async def test_a_prompt_peer_is_caught_polling(ctx: trinq.Context) -> None:
    with trio.fail_after(30):
        # a generous budget (50 ms): a libzmq REP answers well within it
        stats = await round_trips_with_libzmq(ctx, busy_poll=50_000)
    assert stats.busy_polls >= stats.busy_poll_hits >= ROUND_TRIPS // 10, stats
    # a poll that finds data does not start a backoff: nearly every one is a hit
    assert stats.busy_polls - stats.busy_poll_hits <= ROUND_TRIPS // 10, stats


async def test_busy_poll_0_never_polls(ctx: trinq.Context) -> None:
    with trio.fail_after(30):
        stats = await round_trips_with_libzmq(ctx, busy_poll=0)
    assert (stats.busy_polls, stats.busy_poll_hits) == (0, 0)
    assert stats.messages_in == ROUND_TRIPS


async def test_polls_that_find_nothing_back_off(ctx: trinq.Context) -> None:
    """A peer in the same trio run cannot answer while the receiver polls: every poll
    misses, and after each the next 1, 2, 4 ... 64 receives sleep at once."""
    rounds = 300
    with trio.fail_after(30):
        req = ctx.socket(trinq.REQ, linger=0)
        rep = ctx.socket(trinq.REP, linger=0)
        assert req.busy_poll == 50  # the default
        req.connect(await rep.bind("tcp://127.0.0.1:0"))

        await echo_rounds(req, rep, rounds)
    for stats in (req.statistics(), rep.statistics()):
        assert stats.busy_poll_hits == 0, stats
        # waits 1, 3, 6, 11, 20, 37, 70, 135, 200, 265 poll (10 of 300); a few more
        # if a reply was already there
        assert 1 <= stats.busy_polls <= 12, stats


async def test_a_cancelled_polling_receive_loses_nothing(ctx: trinq.Context) -> None:
    release = threading.Event()

    def hold_back(request: bytes) -> None:
        if request == b"held":
            release.wait(10)

    with trio.fail_after(30):
        req = ctx.socket(trinq.REQ, linger=0, busy_poll=2000)
        endpoint = await req.bind("tcp://127.0.0.1:0")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(
                trio.to_thread.run_sync, libzmq_rep, endpoint, 10_000, hold_back, b"after"
            )
            # until a poll has caught a reply: the connection is lent, and the last
            # poll found data (so the next receive polls again, with no backoff)
            while req.statistics().busy_poll_hits == 0:
                await req.send(b"warm")
                assert await req.recv() == b"warm"
            polls = req.statistics().busy_polls
            await req.send(b"held")
            with trio.move_on_after(0.1) as scope:
                await req.recv()  # polls 2 ms, then sleeps: the reply is held back
            assert scope.cancelled_caught
            release.set()
            assert await req.recv() == b"held"  # the reply was not lost
            await req.send(b"after")
            assert await req.recv() == b"after"  # (the REP thread's last)
    assert req.statistics().busy_polls > polls


def test_busy_poll_option_values() -> None:
    from trinq._options import Options

    assert Options().busy_poll == 50
    assert Options(busy_poll=0).busy_poll == 0
    with pytest.raises(trinq.ZMQError) as info:
        Options(busy_poll=-1)
    assert info.value.errno == trinq.EINVAL
    assert "busy_poll" in str(info.value)


async def test_busy_poll_through_setsockopt(ctx: trinq.Context) -> None:
    sock = ctx.socket(trinq.DEALER)
    sock.setsockopt(trinq.BUSY_POLL, 0)
    assert sock.getsockopt(trinq.BUSY_POLL) == 0 == sock.busy_poll
