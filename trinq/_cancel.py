"""A cheaper "has this task been cancelled?" for the per-message paths.

``await trio.lowlevel.checkpoint_if_cancelled()`` is what every ``send``/``recv``
used to start with. It costs about 270 ns on CPython 3.11 (trio 0.35) -- most of it
creating and finishing a coroutine -- which was a fifth of a 16-byte message's whole
receive path. :func:`cancel_requested` answers the same question synchronously, in
about 60 ns, so that the caller awaits only when there is something to raise::

    if cancel_requested():
        await trio.lowlevel.checkpoint()  # raises Cancelled (or KeyboardInterrupt)

It reads three fields of trio's run state (the current task's cancel status, the
runner's pending KeyboardInterrupt) that trio has kept, under these names, since
2019. Where they are not there (another trio), it falls back to the public
equivalent that trio's documentation gives, ``current_effective_deadline() ==
-inf``, which is slower but the same answer. ``tests/test_cancellation.py`` checks
that the fast form is the one in use with the trio the tests run on.

A pending KeyboardInterrupt also answers True: trio delivers it to the main task at
a checkpoint, and the ``checkpoint()`` that follows is one (in another task it only
yields, as ``checkpoint_if_cancelled`` would not: a scheduler pass, nothing lost).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import trio

__all__ = ["FAST", "RUN", "cancel_requested", "run_vars"]


def _public() -> bool:
    """The documented equivalent of :func:`trio.lowlevel.checkpoint_if_cancelled`'s test."""
    return trio.current_effective_deadline() == -math.inf


def _make_fast() -> Callable[[], bool] | None:
    try:
        from trio._core import _run
    except ImportError:  # pragma: no cover - another trio layout
        return None
    run_context: Any = getattr(_run, "GLOBAL_RUN_CONTEXT", None)
    fields = {
        _run.CancelStatus: ("effectively_cancelled",),
        _run.Runner: ("ki_pending",),
        _run.Task: ("_cancel_status", "_runner"),
    }
    for cls, names in fields.items():
        have = {a.name for a in getattr(cls, "__attrs_attrs__", ())}
        if run_context is None or not have.issuperset(names):
            return None  # pragma: no cover - another trio layout

    def cancel_requested() -> bool:
        task = run_context.task
        requested: bool = task._cancel_status.effectively_cancelled or task._runner.ki_pending
        return requested

    return cancel_requested


_fast = _make_fast()

#: whether :func:`cancel_requested` is the fast form (trio's run state as expected)
FAST: bool = _fast is not None

#: True if a checkpoint here would raise (the task's scope is cancelled, or a
#: KeyboardInterrupt waits): then ``await trio.lowlevel.checkpoint()``. Synchronous.
cancel_requested: Callable[[], bool] = _fast if _fast is not None else _public


class _PublicTask:
    """What :data:`RUN` gives where trio's fields are not there: the same three
    attribute reads, answered by the public check (slower, same answer)."""

    __slots__ = ()

    @property
    def task(self) -> _PublicTask:
        return self

    @property
    def _cancel_status(self) -> _PublicTask:
        return self

    @property
    def _runner(self) -> _PublicTask:
        return self

    @property
    def effectively_cancelled(self) -> bool:
        return _public()

    ki_pending = False


def _run_context() -> Any:
    if _fast is None:
        return _PublicTask()  # pragma: no cover - another trio layout
    from trio._core import _run

    return _run.GLOBAL_RUN_CONTEXT


#: For the two per-message paths (``Socket.send``/``recv``), which inline
#: :func:`cancel_requested` to save its call (~35 ns of ~110)::
#:
#:     task = RUN.task
#:     if task._cancel_status.effectively_cancelled or task._runner.ki_pending:
#:         await trio.lowlevel.checkpoint()  # raises Cancelled
#:
#: trio's run context, or where its layout differs an object answering the same
#: reads with the public check.
RUN: Any = _run_context()


def run_vars() -> Any:
    """This thread's trio run variables, as a mapping: ``run_vars()["task"]`` is
    ``RUN.task`` while a run is active in the thread.

    trio keeps them in a ``threading.local``; its ``__dict__`` is the calling thread's
    own dict, the same object for the thread's life (trio sets and deletes the keys at
    each run's start and end). A dict lookup costs about 45 ns less than the
    ``threading.local`` attribute read, which is most of the inlined check's cost, so a
    socket takes this mapping when it is made (in its trio thread, the only one it may
    be used from) and its ``send``/``recv`` read ``task`` from it.
    """
    if _fast is None:
        return {"task": RUN}  # pragma: no cover - another trio layout
    return RUN.__dict__
