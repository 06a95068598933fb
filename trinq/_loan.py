"""Lending: the waiting receiver reads its socket's only connection itself.

On a request/reply socket (REQ, REP, DEALER, ROUTER, PAIR) with a single peer,
waking the engine's reader task and then, from it, the receiver costs a scheduler
pass on the round trip's critical path. When the reader finds the kernel empty
while a receiver waits, it *lends* reading to that receiver instead: ``recv`` then
waits on the kernel itself (on a ``dup`` of the descriptor, so that waking it never
disturbs the writer's waits) and decodes on its own stack, with the same decode
step and the same pipe as the reader, so RCVHWM and message order are unchanged.

One :class:`ReadLoan` per connection holds every piece of that state. Its states:

``READER``
    the reader reads (the usual state; also before the first loan).
``LENT``
    the reader sleeps in :meth:`reader_wait`; receivers may :meth:`borrow`.
``RETURNED``
    a receiver met something that is not a data message -- a command, a protocol
    error, the end of the connection, a full RCVHWM -- or the reader's lease ran
    out, a second pipe attached (:meth:`end`), or a PING is due: the reader takes
    reading back, with what was handed back, and the state becomes ``READER``.

The reader takes reading back after a lease (:data:`LEASE`) without receives,
sleeping longer and longer while a receiver waits for data (up to
:data:`MAX_SLEEP`), so an idle REQ does not wake it every lease.
docs/design.md ("Lending") has the full story and the measurements.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from typing import Any, Protocol

import trio
from trio.lowlevel import enable_ki_protection

from . import zmtp
from ._codec import NOT_STALLED, decode_into
from ._core import SocketCore
from ._io import LeanSocketStream
from ._wait import WaitQueue

__all__ = [
    "BUSY_RECEIVE_SIZE",
    "LEASE",
    "LENT",
    "MAX_SLEEP",
    "READER",
    "RETURNED",
    "LoanOwner",
    "ReadLoan",
    "next_read_size",
    "read_request",
]

#: How long (seconds) a receiver that reads for the reader may go without receiving
#: before the reader takes reading back.
LEASE = 0.01
#: Longest the lending reader sleeps while a receiver waits for data.
MAX_SLEEP = 1.0
#: Bytes asked of the kernel per read, unless a larger frame is pending (then up to
#: MAX_RECEIVE_SIZE), or reads come back full (then BUSY_RECEIVE_SIZE, until one is less
#: than half full: docs/design.md, "Larger reads for a busy stream"). The engine's
#: reader uses the same numbers and the same two functions below.
RECEIVE_SIZE = 65536
MAX_RECEIVE_SIZE = 8 * 1024 * 1024
BUSY_RECEIVE_SIZE = 262144


def read_request(read_size: int, wanted: int) -> int:
    """How much to ask of the kernel now: ``read_size``, or more for a pending frame
    that wants more (the decoder's ``wanted_bytes``), at most MAX_RECEIVE_SIZE."""
    return read_size if wanted <= read_size else min(wanted, MAX_RECEIVE_SIZE)


def next_read_size(read_size: int, asked: int, got: int) -> int:
    """The read size after a read that asked ``asked`` octets and got ``got``: larger
    after a full one (the kernel has more), RECEIVE_SIZE again after one less than half
    full (asking above malloc's mmap threshold costs a mmap, mremap and munmap per read
    of a few octets until a large read has been freed), else unchanged."""
    if got == asked:
        return BUSY_RECEIVE_SIZE
    if got < read_size >> 1:
        return RECEIVE_SIZE
    return read_size


#: Most waits that sleep at once after busy polls that found nothing (``_busy_poll``).
SPIN_SKIP_MAX = 64

READER, LENT, RETURNED = 0, 1, 2
#: kinds of what a receiver hands back
EVENTS, STALLED, ERROR = range(3)
_ERROR_STATE = zmtp.ConnectionState.ERROR


class LoanOwner(Protocol):
    """The connection a loan belongs to, as the loan sees it."""

    #: reads received so far (heartbeats count them as traffic)
    traffic: int

    async def put_blocking(self, msg: Any) -> None:
        """Queue ``msg`` once the pipe has room (the reader stops reading meanwhile)."""
        ...


class ReadLoan:
    """The lending state of one connection; see the module docstring."""

    __slots__ = (
        "_codec",
        "_fd",
        "_handback",
        "_owner",
        "_reader_lot",
        "_sock",
        "_spin_penalty",
        "_spin_skip",
        "_stream",
        "_wake_reader_when_done",
        "_waker",
        "busy",
        "calls",
        "core",
        "put",
        "read_size",
        "state",
    )

    def __init__(
        self,
        core: SocketCore,
        stream: LeanSocketStream,
        codec: Any,
        put: Callable[[Any], None],
        owner: LoanOwner,
    ) -> None:
        self.core = core
        self._stream = stream
        self._sock = stream.socket
        self._codec = codec
        #: where decoded data messages go (the pipe's inbound channel)
        self.put = put
        self._owner = owner
        self.state = READER
        #: what the next read asks for (RECEIVE_SIZE, or BUSY_RECEIVE_SIZE while full)
        self.read_size = RECEIVE_SIZE
        #: the receiver's own descriptor for the connection (a dup), -1 until lent
        self._fd = -1
        self._waker: Callable[[], object] | None = None
        self._handback: tuple[int, Any] | None = None
        self._reader_lot = WaitQueue()
        #: borrow()/read_available() calls so far (for the lease), and whether a
        #: receiver is inside borrow() now
        self.calls = 0
        self.busy = False
        self._wake_reader_when_done = False
        #: waits to sleep at once before the next busy poll, and the next such count
        self._spin_skip = 0
        self._spin_penalty = 1

    # --- the reader's side ----------------------------------------------------------

    @enable_ki_protection
    def try_lend(self) -> bool:
        """The reader found the kernel empty: lend reading to a waiting receiver if
        this is the socket's only pipe (``LeanSocketStream.receive_or_give_up``)."""
        core = self.core
        lot = core.receivers
        if len(lot._tasks) <= core.polling or len(core.pipes) != 1:
            return False  # nobody but pollers waits (or nobody): keep reading
        if self._fd < 0:
            self._fd = os.dup(self._sock.fileno())
            self._waker = functools.partial(trio.lowlevel.notify_closing, self._fd)
        self.state = LENT
        core.loan = self
        lot.unpark_all()
        return True

    @enable_ki_protection
    async def reader_wait(self) -> list[Any] | None:
        """The reader's sleep while a receiver reads for it.

        Returns the events to process when reading comes back, or ``None`` when what
        the receiver read is still to be decoded (it stopped at a full RCVHWM; the
        message refused then is queued by the time this returns). Raises the error
        a receiver met (the end of the connection, a reset). Cancellation: reading
        is the reader's again."""
        last = -1
        delay = LEASE
        try:
            while self._handback is None:
                if self.busy:
                    # The receiver waits for data: look again later, less and less
                    # often. Once the sleep is longer than a lease, the receiver wakes
                    # this task when it is done; not before (that would be once per
                    # receive).
                    self._wake_reader_when_done = delay > LEASE
                    with trio.move_on_after(delay) as timer:
                        await self._reader_lot.park()
                    self._wake_reader_when_done = False
                    delay = min(delay * 2, MAX_SLEEP) if timer.cancelled_caught else LEASE
                    last = -1  # a whole lease from here
                    continue
                if self.calls == last:
                    return []  # the lease ran out: read again
                last = self.calls
                delay = LEASE
                with trio.move_on_after(LEASE):
                    await self._reader_lot.park()
        finally:
            self._wake_reader_when_done = False
            self._stop()
            self._handback, handback = None, self._handback
        assert handback is not None
        kind, value = handback
        if kind == ERROR:
            raise value
        if kind == STALLED:
            await self._owner.put_blocking(value)
            return None
        events: list[Any] = value
        return events

    @enable_ki_protection
    def end(self) -> None:
        """Take reading back now (a second pipe attaches, a PING is due)."""
        if self.state == LENT:
            self._hand_back(EVENTS, [])

    @enable_ki_protection
    def close(self) -> None:
        """The connection ended: wake a receiver waiting on the dup, then close it."""
        self._stop()
        fd, self._fd = self._fd, -1
        if fd >= 0:
            lot = self.core.receivers
            if lot.waker is self._waker:  # never let anyone notify a reused fd number
                lot.waker = lot.waker_task = None
            trio.lowlevel.notify_closing(fd)  # wakes a receiver waiting on it
            os.close(fd)

    def _stop(self) -> None:
        self.state = READER
        core = self.core
        if core.loan is self:
            core.loan = None

    def _hand_back(self, kind: int, value: Any) -> None:
        self._handback = (kind, value)
        self.state = RETURNED
        self._reader_lot.unpark_all()

    # --- the receivers' side ------------------------------------------------------

    @enable_ki_protection
    async def borrow(self) -> bool:
        """Read and decode on the calling receiver's stack instead of the reader's.

        For a receiver that found nothing queued while this loan is ``LENT`` and its
        socket has this one pipe. Returns ``True`` when messages may have been
        queued (take one), ``False`` when the caller should look again the usual way
        (woken through the receive queue's waker, or reading went back to the
        reader). Cancellation: only the wait for readiness is a checkpoint, and a
        cancelled call has read nothing.
        """
        lot = self.core.receivers
        self.busy = True
        try:
            while True:
                got = self.read_available()
                if got is not None:
                    return got
                if lot.waker is not None:
                    # Another receiver began to wait while this one was being woken
                    # (a recv_nowait() took the data and woke the queue meanwhile):
                    # that one reads; this one parks.
                    return False
                me = trio.lowlevel.current_task()
                spin = self.core.options.busy_poll
                if spin and not me._runner.runq and not me._cancel_status.effectively_cancelled:
                    if self._spin_skip:
                        self._spin_skip -= 1
                    else:
                        got = self._busy_poll(spin)
                        if got is not None:
                            return got
                lot.waker = self._waker
                lot.waker_task = me
                try:
                    await trio.lowlevel.wait_readable(self._fd)
                except trio.ClosedResourceError:
                    return False  # woken by unpark_all(), or the connection closed
                except BaseException:
                    if lot.waker_task is me:
                        lot.waker = lot.waker_task = None
                    if lot._tasks:  # cancelled: a receiver parked behind this one reads
                        lot.unpark_all()
                    raise
                finally:
                    # Only if still ours: once woken, another receiver may have begun
                    # to wait on the same descriptor and registered it.
                    if lot.waker_task is me:
                        lot.waker = lot.waker_task = None
        finally:
            self.busy = False
            if self._wake_reader_when_done:  # the reader waits for this call to end
                self._wake_reader_when_done = False
                self._reader_lot.unpark_all()

    def _busy_poll(self, spin_us: int) -> bool | None:
        """Call :meth:`read_available` until it finds something or ``spin_us``
        microseconds pass (the ``busy_poll`` option). Synchronous: no other task runs
        meanwhile, which is why :meth:`borrow` spins only when none is ready; a task
        that a timer or another descriptor would make ready waits at most this long.

        Adaptive, as a spin-then-block lock: a poll that found nothing makes the next
        ``n`` waits sleep at once, ``n`` doubling with each such poll up to
        :data:`SPIN_SKIP_MAX`; one that found data resets ``n``. A peer that answers
        within the budget (a request/reply round trip) is caught spinning every time,
        a slow or same-process one costs one budget every ``SPIN_SKIP_MAX`` waits."""
        counters = self.core.counters
        counters.busy_polls += 1
        deadline = time.perf_counter_ns() + spin_us * 1000
        read = self.read_available
        clock = time.perf_counter_ns
        while True:
            got = read()
            if got is not None:
                counters.busy_poll_hits += 1
                self._spin_penalty = 1
                return got
            if clock() >= deadline:
                self._spin_skip = penalty = self._spin_penalty
                self._spin_penalty = min(penalty * 2, SPIN_SKIP_MAX)
                return None

    @enable_ki_protection
    def read_available(self) -> bool | None:
        """Read and decode what the kernel holds now, for a receiver (never blocks).

        The synchronous part of :meth:`borrow`, also used by receives that must not
        wait (``recv_nowait``, ``DONTWAIT``, the ``events`` option) while lent, so
        that they see what has arrived. ``None``: nothing complete arrived; ``True``:
        messages may have been queued; ``False``: reading went back to the reader.
        """
        sockobj = self._sock
        codec = self._codec
        stream = self._stream
        self.calls += 1
        while True:
            if self.state != LENT or stream._closed:
                return False
            size = read_request(self.read_size, codec.wanted_bytes)
            try:
                data = sockobj.recv(size)
            except BlockingIOError:
                return None
            except OSError as exc:
                self._hand_back(ERROR, exc)
                return False
            if not data:
                # the reader raises it and ends the connection as on its own EOF
                self._hand_back(ERROR, trio.BrokenResourceError("peer closed the connection"))
                return False
            got = len(data)
            counters = self.core.counters
            counters.bytes_in += got
            self._owner.traffic += 1
            self.read_size = next_read_size(self.read_size, size, got)
            before = codec.messages_put
            try:
                events, stalled = decode_into(codec, self.put, data)
            except zmtp.ProtocolError:
                self._hand_back(EVENTS, [])  # the reader's next call raises it
                return False
            n = codec.messages_put - before
            if stalled is not NOT_STALLED:  # RCVHWM is full: the reader waits for room
                counters.messages_in += n
                self._hand_back(STALLED, stalled)
                return True
            counters.messages_in += n
            if events or codec.state is _ERROR_STATE:
                self._hand_back(EVENTS, events)  # commands are the reader's
                return True
            if n:
                lot = self.core.receivers
                if lot._tasks or lot.waker is not None:
                    lot.unpark_all()  # other receivers share what this read brought
                return True
