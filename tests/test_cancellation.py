"""send*/recv* are atomic with respect to cancellation, and tight loops yield.

The contract (trinq/_socket.py module docstring, DESIGN.md §1): a whole message moves or
nothing does, exactly like a trio memory channel; every call is a cancellation point;
a call that completes at once still yields to the scheduler at least every
``YIELD_EVERY`` calls.
"""

from __future__ import annotations

import itertools
import pickle
import random

import pytest
import trio
import trio.testing
from rawpeer import free_endpoint, wait_until

import trinq
import trinq._cancel
from trinq._socket import YIELD_EVERY
from trinq.testing import wait_for_event

E = trinq.Event


async def pair(ctx: trinq.Context, **opts) -> tuple[trinq.Socket, trinq.Socket]:  # type: ignore[no-untyped-def]
    a = ctx.socket(trinq.PAIR, **opts)
    mon = a.monitor(E.HANDSHAKE_SUCCEEDED)
    ep = await a.bind("tcp://127.0.0.1:*")
    b = ctx.socket(trinq.PAIR, **opts)
    b.connect(ep)
    await wait_for_event(mon, E.HANDSHAKE_SUCCEEDED)
    await mon.aclose()
    return a, b


SENDS = {
    "send": lambda s: s.send(b"payload"),
    "send-bytearray": lambda s: s.send(bytearray(b"payload")),
    "send_multipart": lambda s: s.send_multipart([b"pay", b"load"]),
    "send_string": lambda s: s.send_string("payload"),
    "send_json": lambda s: s.send_json({"p": 1}),
    "send_pyobj": lambda s: s.send_pyobj(("p", 1)),
    "send-dontwait": lambda s: s.send(b"payload", trinq.DONTWAIT),
}

RECVS = {
    "recv": lambda s: s.recv(),
    "recv_multipart": lambda s: s.recv_multipart(),
    "recv_string": lambda s: s.recv_string(),
    "recv_json": lambda s: s.recv_json(),
    "recv_pyobj": lambda s: s.recv_pyobj(),
    "recv-dontwait": lambda s: s.recv(trinq.DONTWAIT),
}


@pytest.mark.parametrize("op", list(SENDS))
async def test_cancelled_send_moves_nothing(ctx, op, how="cancel-before"):
    with trio.fail_after(10):
        a, b = await pair(ctx)
        moved = 0
        with trio.CancelScope() as cs:
            if how == "cancel-before":
                cs.cancel()
            else:
                # expired, but not yet noticed by the scheduler: trinq's documented
                # guarantee (docs/design.md "Scheduling") is that a tight loop yields
                # within YIELD_EVERY calls, so at most that many sends get through
                cs.deadline = trio.current_time()
            for _ in range(3 * YIELD_EVERY):  # whatever the yield budget
                await SENDS[op](a)
                moved += 1
        assert cs.cancelled_caught
        assert moved <= (0 if how == "cancel-before" else YIELD_EVERY), moved
        # what moved, moved whole and once
        for _ in range(moved):
            assert len(await b.recv_multipart()) in (1, 2)
        await a.send(b"marker")
        assert await b.recv_multipart() == [b"marker"]
        with pytest.raises(trinq.Again):
            await b.recv(trinq.DONTWAIT)


@pytest.mark.parametrize("op", list(RECVS))
async def test_cancelled_recv_takes_nothing(ctx, op, how="cancel-before"):
    with trio.fail_after(10):
        a, b = await pair(ctx)
        first = b'{"n": 1}'
        await a.send(first)  # every RECVS op can decode it (pyobj gets its own below)
        if op == "recv_pyobj" and how != "cancel-before":
            first = pickle.dumps({"n": 1})
            await b.recv()
            await a.send(first)
        await wait_until(lambda: b.statistics().messages_in == (1 if first[0] == 123 else 2))
        base = b.statistics().messages_in
        for _ in range(3 * YIELD_EVERY):
            if op == "recv_pyobj":
                await a.send_pyobj({"n": 2})
            else:
                await a.send_json({"n": 2})
        await wait_until(lambda: b.statistics().messages_in == base + 3 * YIELD_EVERY)
        taken = 0
        with trio.CancelScope() as cs:
            if how == "cancel-before":
                cs.cancel()
            else:
                cs.deadline = trio.current_time()  # see test_cancelled_send_moves_nothing
            for _ in range(3 * YIELD_EVERY):
                await RECVS[op](b)
                taken += 1
        assert cs.cancelled_caught
        assert taken <= (0 if how == "cancel-before" else YIELD_EVERY), taken
        rest = [await b.recv() for _ in range(1 + 3 * YIELD_EVERY - taken)]
        if taken == 0:
            assert rest[0] == first
        assert len(rest) + taken == 1 + 3 * YIELD_EVERY
        with pytest.raises(trinq.Again):
            await b.recv(trinq.DONTWAIT)


async def test_expired_deadline_stops_send_loops(ctx):
    """A deadline that has passed stops a tight send loop within the documented yield
    budget: a trio memory channel lets exactly one send through (its checkpoint after
    the first send notices the deadline); trinq yields once every YIELD_EVERY calls
    (docs/design.md, "Scheduling"), so at most YIELD_EVERY messages get through, each
    whole and once."""
    for op in SENDS:
        await test_cancelled_send_moves_nothing(ctx, op, how="deadline-passed")


async def test_expired_deadline_stops_recv_loops(ctx):
    """The receiving side of test_expired_deadline_stops_send_loops."""
    for op in RECVS:
        await test_cancelled_recv_takes_nothing(ctx, op, how="deadline-passed")


async def test_cancelled_sndmore_frames(ctx):
    """A cancelled SNDMORE frame is not added; a cancelled last frame leaves the frames
    before it pending, so the message goes out exactly once when the last frame is sent."""
    with trio.fail_after(10):
        a, b = await pair(ctx)
        await a.send(b"1", trinq.SNDMORE)
        with trio.CancelScope() as cs:
            cs.cancel()
            await a.send(b"never", trinq.SNDMORE)
        await a.send(b"2", trinq.SNDMORE)
        with trio.CancelScope() as cs:
            cs.cancel()
            await a.send(b"not-last")
        await a.send(b"3")
        assert await b.recv_multipart() == [b"1", b"2", b"3"]
        with pytest.raises(trinq.Again):
            await b.recv(trinq.DONTWAIT)


async def test_cancelled_recv_mid_multipart(ctx):
    """recv() walking a multipart message: a cancelled call takes no frame."""
    with trio.fail_after(10):
        a, b = await pair(ctx)
        await a.send_multipart([b"1", b"2", b"3"])
        assert await b.recv() == b"1"
        with trio.CancelScope() as cs:
            cs.cancel()
            await b.recv()
        assert b.rcvmore
        assert await b.recv() == b"2"
        with trio.CancelScope() as cs:
            cs.cancel()
            await b.recv_multipart()
        assert await b.recv_multipart() == [b"3"]


async def test_cancel_while_parked_on_full_hwm(ctx):
    """A send parked on a full SNDHWM and then cancelled queued nothing."""
    with trio.fail_after(10):
        ep = free_endpoint("tcp", "")
        push = ctx.socket(trinq.PUSH, sndhwm=2)
        push.connect(ep)  # nobody there: the pipe fills at 2
        await push.send(b"0")
        await push.send(b"1")
        for k in range(5):
            async with trio.open_nursery() as nursery:

                async def parked(k: int = k) -> None:
                    await push.send(b"cancelled %d" % k)
                    pytest.fail("a parked send completed")

                nursery.start_soon(parked)
                await trio.testing.wait_all_tasks_blocked()
                nursery.cancel_scope.cancel()
        pull = ctx.socket(trinq.PULL)
        await pull.bind(ep)
        assert await pull.recv() == b"0"
        assert await pull.recv() == b"1"
        await push.send(b"2")
        assert await pull.recv() == b"2"
        with pytest.raises(trinq.Again):
            await pull.recv(trinq.DONTWAIT)


async def test_cancel_while_parked_on_empty_queue(ctx):
    """A recv parked on an empty queue and then cancelled takes nothing; a message that
    arrives afterwards goes to the next recv."""
    with trio.fail_after(10):
        a, b = await pair(ctx)
        for _ in range(5):
            async with trio.open_nursery() as nursery:

                async def parked() -> None:
                    await b.recv()
                    pytest.fail("a parked recv completed")

                nursery.start_soon(parked)
                await trio.testing.wait_all_tasks_blocked()
                nursery.cancel_scope.cancel()
        await a.send(b"late")
        assert await b.recv() == b"late"


async def test_cancel_races_with_wakeup(ctx):
    """The message arrives and the parked receiver is cancelled in the same tick: either
    the recv returns it, or it stays queued -- never both, never neither."""
    with trio.fail_after(10):
        a, b = await pair(ctx)
        got: list[bytes] = []
        for i in range(50):
            async with trio.open_nursery() as nursery:

                async def parked() -> None:
                    got.append(await b.recv())

                nursery.start_soon(parked)
                await trio.testing.wait_all_tasks_blocked()
                await a.send(b"%d" % i)
                await wait_until(lambda i=i: b.statistics().messages_in == i + 1)
                nursery.cancel_scope.cancel()
            if len(got) == i:  # the cancel won: the message is still there
                got.append(await b.recv(trinq.DONTWAIT))
        assert got == [b"%d" % i for i in range(50)]


@pytest.mark.parametrize("seed", range(4))
async def test_random_deadlines_lose_and_duplicate_nothing(ctx, autojump_clock, seed):
    """Sender and receiver both run under deadlines that expire at arbitrary ticks of the
    virtual clock, with tiny HWMs so calls park often; every cancelled call is retried.
    The receiver must see each message exactly once, in order."""
    rng = random.Random(seed)
    n = 300
    with trio.fail_after(10_000):
        a, b = await pair(ctx, sndhwm=1, rcvhwm=1)
        cancelled = {"send": 0, "recv": 0}

        async def producer() -> None:
            i = 0
            while i < n:
                with trio.move_on_after(rng.choice([0, 0.001, 0.002, 0.005, 0.01])):
                    await a.send_multipart([b"%d" % i, b"x" * rng.randrange(20000)])
                    i += 1
                    continue
                cancelled["send"] += 1
                await trio.sleep(rng.choice([0, 0.001, 0.003]))

        got: list[int] = []

        async def consumer() -> None:
            while len(got) < n:
                with trio.move_on_after(rng.choice([0, 0.001, 0.002, 0.005, 0.01])):
                    m = await b.recv_multipart()
                    got.append(int(m[0]))
                    continue
                cancelled["recv"] += 1
                await trio.sleep(rng.choice([0, 0.002, 0.004]))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(producer)
            nursery.start_soon(consumer)
        assert got == list(range(n))
        assert cancelled["send"] > 0 and cancelled["recv"] > 0  # the test did cancel
        with pytest.raises(trinq.Again):
            await b.recv(trinq.DONTWAIT)


async def test_sndtimeo_and_cancel_while_parked(ctx, autojump_clock):
    """A parked send ends with Again at sndtimeo, or with Cancelled if cancelled first;
    neither queues the message."""
    with trio.fail_after(100):
        a = ctx.socket(trinq.PAIR, sndtimeo=1000)
        await a.bind("tcp://127.0.0.1:*")  # no peer: sends park
        t0 = trio.current_time()
        with pytest.raises(trinq.Again):
            await a.send(b"x")
        assert trio.current_time() - t0 == pytest.approx(1.0)
        with trio.move_on_after(0.5) as cs:
            await a.send(b"y")
        assert cs.cancelled_caught
        b = ctx.socket(trinq.PAIR)
        b.connect(a.last_endpoint)
        a.sndtimeo = -1
        await a.send(b"z")
        assert await b.recv() == b"z"
        with pytest.raises(trinq.Again):
            await b.recv(trinq.DONTWAIT)


# --- the yield guarantee -------------------------------------------------------------


async def _count_while(busy) -> int:  # type: ignore[no-untyped-def]
    """Run ``busy()`` while another task counts how often it gets to run."""
    count = 0
    done = False

    async def other() -> None:
        nonlocal count
        while not done:
            count += 1
            await trio.lowlevel.checkpoint()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(other)
        await trio.lowlevel.checkpoint()  # let it start
        start = count
        await busy()
        done = True
    return count - start


async def test_tight_send_loop_lets_other_tasks_run(ctx):
    with trio.fail_after(10):
        push = ctx.socket(trinq.PUSH, sndhwm=0, linger=0)  # unbounded: never parks
        push.connect(free_endpoint("tcp", ""))

        async def busy() -> None:
            for _ in range(10_000):
                await push.send(b"x")

        ran = await _count_while(busy)
        assert ran >= 10_000 // YIELD_EVERY - 1, ran
        assert sum(p.outbound_queued for p in push.statistics().pipes) == 10_000


async def _largest_gap(busy, calls) -> int:  # type: ignore[no-untyped-def]
    """Run ``busy()`` in a task of its own and note ``calls()`` each time that task
    yields to the scheduler (a trio instrument's ``after_task_step``); return the most
    calls that completed within one step (the yield guarantee: at most YIELD_EVERY)."""
    seen: list[int] = []
    task: trio.lowlevel.Task | None = None

    class Steps(trio.abc.Instrument):
        def after_task_step(self, t: trio.lowlevel.Task) -> None:
            if t is task:
                seen.append(calls())

    async def run_busy() -> None:
        nonlocal task
        task = trio.lowlevel.current_task()
        seen.append(calls())
        await busy()

    steps = Steps()
    trio.lowlevel.add_instrument(steps)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(run_busy)
    finally:
        trio.lowlevel.remove_instrument(steps)
    return max(b - a for a, b in itertools.pairwise(seen))


@pytest.mark.parametrize("peer", ["none", "connected", "second-peer-comes-and-goes"])
async def test_a_tight_send_loop_yields_within_the_budget_exactly(ctx, peer):
    """Sends that append to a batch by themselves (Socket.send's body fast path) are
    charged to the yield budget when their room is granted; however the room is
    granted, ended and granted again, no more than YIELD_EVERY sends pass between two
    runs of another task."""
    with trio.fail_after(20):
        push = ctx.socket(trinq.PUSH, sndhwm=0, linger=0)
        pull = ctx.socket(trinq.PULL, rcvhwm=0)
        ep = await pull.bind("tcp://127.0.0.1:*")
        if peer == "none":
            push.connect(free_endpoint("tcp", ""))
        else:
            push.connect(ep)
            await push.send(b"first")
            assert await pull.recv() == b"first"
        extra = ctx.socket(trinq.PULL, rcvhwm=0) if peer.startswith("second") else None
        sent = 0

        async def busy() -> None:
            nonlocal sent
            for i in range(20_000):
                if extra is not None and i == 5_000:
                    extra_ep = await extra.bind("tcp://127.0.0.1:*")
                    push.connect(extra_ep)  # the pipe is there at once: two peers
                if extra is not None and i == 12_000:
                    push.disconnect(extra_ep)  # one peer again
                await push.send(b"x")
                sent += 1

        gap = await _largest_gap(busy, lambda: sent)
        assert 0 < gap <= YIELD_EVERY, gap


async def test_tight_recv_loop_lets_other_tasks_run(ctx):
    with trio.fail_after(10):
        a, b = await pair(ctx, rcvhwm=0, sndhwm=0)
        for i in range(10_000):
            await a.send(b"%d" % i)
        await wait_until(lambda: b.statistics().messages_in == 10_000)
        got: list[bytes] = []

        async def busy() -> None:
            for _ in range(10_000):
                got.append(await b.recv())

        ran = await _count_while(busy)
        assert ran >= 10_000 // YIELD_EVERY - 1, ran
        assert got == [b"%d" % i for i in range(10_000)]


async def test_every_call_is_a_cancellation_point_even_when_it_could_complete(ctx):
    """No yield budget lets a cancelled call through: 10_000 sends in a cancelled scope
    all raise Cancelled."""
    with trio.fail_after(10):
        push = ctx.socket(trinq.PUSH, sndhwm=0, linger=0)
        push.connect(free_endpoint("tcp", ""))
        raised = 0
        for _ in range(10_000):
            with trio.CancelScope() as cs:
                cs.cancel()
                await push.send(b"x")
            raised += cs.cancelled_caught
        assert raised == 10_000
        assert sum(p.outbound_queued for p in push.statistics().pipes) == 0


def test_the_cheap_cancellation_check_is_in_use():
    """send/recv test for cancellation with trinq._cancel.cancel_requested; with the
    trio the tests run on it must be the fast form, not the public fallback."""
    assert trinq._cancel.FAST


async def test_cancel_requested_agrees_with_trio():
    assert not trinq._cancel.cancel_requested()
    assert not trinq._cancel._public()
    with trio.CancelScope() as scope:
        scope.cancel()
        assert trinq._cancel.cancel_requested()
        assert trinq._cancel._public()
        with trio.CancelScope(shield=True):
            assert not trinq._cancel.cancel_requested()
            assert not trinq._cancel._public()
