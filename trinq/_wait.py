"""The socket's wait queues: where ``send``/``recv`` park until a pipe changes.

A trimmed :class:`trio.lowlevel.ParkingLot`, built the same way on
``wait_task_rescheduled``/``reschedule``. Waking a parked receiver is on the
request/reply critical path (the engine's reader does it once per read), and
ParkingLot's general machinery (counts, generators, an ordered dict, repark)
measurably lengthened it: one-way p50 latency in same-session A/B runs went from
92 to 72 µs and from 65 to 63 µs (``bench/trinq_peer.py --workload lat``).
"""

from __future__ import annotations

from collections.abc import Callable

from trio.lowlevel import (
    Abort,
    Task,
    current_task,
    enable_ki_protection,
    reschedule,
    wait_task_rescheduled,
)

__all__ = ["WaitQueue"]


class WaitQueue:
    """The parts of :class:`trio.lowlevel.ParkingLot` a socket uses, with less overhead.

    ``await park()`` sleeps until ``unpark_all()``; a cancelled park leaves the queue
    and consumes nothing.

    One waiter may instead wait for something else (the receiver that reads its
    socket's only connection itself waits for the kernel: ``trinq._loan``) and
    register a :attr:`waker`, a callable that ends that wait: ``unpark_all()`` calls
    it (once) along with rescheduling the parked tasks, so whoever wakes the queue's
    waiters wakes that one too. (A cancel scope would do the same, but entering one
    costs several times what the rest of a receive does; the loan's waker is a
    ``functools.partial(notify_closing, fd)``, which costs no Python frame.)
    """

    __slots__ = ("_tasks", "waker", "waker_task")

    def __init__(self) -> None:
        self._tasks: list[Task] = []
        self.waker: Callable[[], object] | None = None
        #: the task that registered :attr:`waker` (it clears both only while it owns them)
        self.waker_task: Task | None = None

    def __len__(self) -> int:
        return len(self._tasks) + (self.waker is not None)

    def __bool__(self) -> bool:
        return bool(self._tasks) or self.waker is not None

    @property
    def parked(self) -> int:
        """Tasks parked in :meth:`park` (not counting a :attr:`waker`)."""
        return len(self._tasks)

    @enable_ki_protection
    async def park(self) -> None:
        task = current_task()
        tasks = self._tasks
        tasks.append(task)

        def abort(_: object) -> Abort:
            self._tasks.remove(task)
            return Abort.SUCCEEDED

        await wait_task_rescheduled(abort)

    @enable_ki_protection
    def unpark_all(self) -> None:
        waker = self.waker
        if waker is not None:
            self.waker = self.waker_task = None
            waker()
        tasks = self._tasks
        if tasks:
            self._tasks = []
            for task in tasks:
                reschedule(task)
