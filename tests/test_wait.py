"""trinq._wait.WaitQueue: the socket's parking spot for send/recv."""

from __future__ import annotations

import trio
import trio.testing

from trinq._wait import WaitQueue


async def test_unpark_all_wakes_every_parked_task():
    queue = WaitQueue()
    woke: list[int] = []
    assert not queue
    queue.unpark_all()  # nobody parked: nothing happens

    async def waiter(i: int) -> None:
        await queue.park()
        woke.append(i)

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            for i in range(3):
                nursery.start_soon(waiter, i)
                await trio.testing.wait_all_tasks_blocked()
            assert len(queue) == 3 and queue
            queue.unpark_all()
            assert not queue
    assert sorted(woke) == [0, 1, 2]  # all woken (trio picks the running order)


async def test_a_cancelled_park_leaves_the_queue():
    queue = WaitQueue()
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(queue.park)
            await trio.testing.wait_all_tasks_blocked()
            assert len(queue) == 1
            nursery.cancel_scope.cancel()
    assert len(queue) == 0
    queue.unpark_all()  # the cancelled task is not rescheduled a second time


async def test_park_after_unpark_waits_for_the_next_one():
    queue = WaitQueue()
    done = trio.Event()

    async def waiter() -> None:
        await queue.park()
        done.set()

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            queue.unpark_all()
            nursery.start_soon(waiter)
            await trio.testing.wait_all_tasks_blocked()
            assert not done.is_set()
            queue.unpark_all()
            await done.wait()
