"""The socket's wait queues: where ``send``/``recv`` park until a pipe changes.

A trimmed :class:`trio.lowlevel.ParkingLot`, built the same way on
``wait_task_rescheduled``/``reschedule``. Waking a parked receiver is on the
request/reply critical path (the engine's reader does it once per read), and
ParkingLot's general machinery (counts, generators, an ordered dict, repark)
measurably lengthened it: one-way p50 latency in same-session A/B runs went from
92 to 72 µs and from 65 to 63 µs (``bench/trinq_peer.py --workload lat``).
"""

from __future__ import annotations

from trio.lowlevel import (
    Abort,
    Task,
    current_task,
    notify_closing,
    reschedule,
    wait_task_rescheduled,
)

__all__ = ["WaitQueue"]


class WaitQueue:
    """The parts of :class:`trio.lowlevel.ParkingLot` a socket uses, with less overhead.

    ``await park()`` sleeps until ``unpark_all()``; a cancelled park leaves the queue
    and consumes nothing.

    One waiter may instead wait for a file descriptor to become readable and
    register that descriptor as :attr:`interrupt` (the receiver that reads its
    socket's only connection itself, see ``Engine.receive_inline``):
    ``unpark_all()`` then wakes it with ``trio.lowlevel.notify_closing`` (its wait
    raises ``trio.ClosedResourceError``), so whoever wakes the queue's waiters wakes
    it too. (A cancel scope would do the same, but entering one costs several times
    what the rest of a receive does.)
    """

    __slots__ = ("_tasks", "interrupt", "interrupt_task")

    def __init__(self) -> None:
        self._tasks: list[Task] = []
        self.interrupt: int | None = None
        #: the task waiting on :attr:`interrupt` (it clears both only while it owns them)
        self.interrupt_task: Task | None = None

    def __len__(self) -> int:
        return len(self._tasks) + (self.interrupt is not None)

    def __bool__(self) -> bool:
        return bool(self._tasks) or self.interrupt is not None

    async def park(self) -> None:
        task = current_task()
        tasks = self._tasks
        tasks.append(task)

        def abort(_: object) -> Abort:
            self._tasks.remove(task)
            return Abort.SUCCEEDED

        await wait_task_rescheduled(abort)

    def unpark_all(self) -> None:
        if self.interrupt is not None:
            fd, self.interrupt, self.interrupt_task = self.interrupt, None, None
            notify_closing(fd)
        tasks = self._tasks
        if tasks:
            self._tasks = []
            for task in tasks:
                reschedule(task)
