"""Exception-group helpers for trinq's own nurseries (Context exit, Poller.poll): what
the user raised, or a lone interruption, comes out as itself, never wrapped."""

from __future__ import annotations

import sys

import trio

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup

__all__ = ["leaves", "lone", "only"]


def leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for sub in exc.exceptions for leaf in leaves(sub)]
    return [exc]


def only(error: BaseException, exc: BaseException) -> bool:
    """Whether ``error`` is ``exc``, or groups around nothing but ``exc``.

    A group that passed through a cancel scope may have been rebuilt (trio splits
    ``Cancelled`` out with ``split()``, which derives a new group): it is the same
    when its leaves are the same exception objects."""
    if error is exc:
        return True
    if not isinstance(error, BaseExceptionGroup):
        return False
    if len(error.exceptions) == 1 and only(error.exceptions[0], exc):
        return True
    if isinstance(exc, BaseExceptionGroup):
        mine, theirs = leaves(error), leaves(exc)
        return len(mine) == len(theirs) and all(a is b for a, b in zip(mine, theirs, strict=True))
    return False


def lone(error: BaseException) -> BaseException:
    """A group whose only leaves are one interruption (``KeyboardInterrupt``,
    ``SystemExit``, ``Cancelled``; the same one, or several ``Cancelled``) ->
    that interruption; anything else unchanged."""
    if not isinstance(error, BaseExceptionGroup):
        return error
    found = leaves(error)
    first = found[0]
    if isinstance(first, trio.Cancelled) and all(isinstance(e, trio.Cancelled) for e in found):
        return first
    if len(found) == 1 and isinstance(first, (KeyboardInterrupt, SystemExit)):
        return first
    return error
