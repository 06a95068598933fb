"""Ctrl-C never lands half-way into a trinq operation that opens a nursery.

Trio raises ``KeyboardInterrupt`` at once in unprotected code; landing between the
creation of a nursery's ``__aexit__`` coroutine and its first step, it leaves the nursery
open and trio's task tree corrupted ("Nursery stack corrupted"). An operation that opens
a nursery in the caller's task (``Poller.poll``, ``Socket.poll`` for both directions,
``proxy``, the Context's enter/exit/term, the command line's patient close) is therefore
KI-protected: a Ctrl-C arriving while it runs is delivered at its next checkpoint, as a
``KeyboardInterrupt`` out of the wait.

The tests trace every line those frames execute and check trio's own verdict,
``trio.lowlevel.currently_ki_protected()``, on each of them: a Ctrl-C arriving on any of
those lines is deferred. Each operation is called from ``as_user``, a frame with KI
protection disabled, as an application's code is (pytest-trio's own frames are
protected, which would hide the difference). (tests/test_examples_broker.py sends a real SIGINT to
examples/mspoller.py, which is how the unprotected poll was found.)
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from types import CodeType, FrameType
from typing import Any

import pytest
import trio

import trinq
from trinq import _proxy
from trinq.__main__ import _close_patiently, _Status


@contextmanager
def lines_traced(*codes: CodeType) -> Iterator[list[tuple[str, int, bool]]]:
    """Record (function, line, KI-protected?) for every line run in frames of ``codes``."""
    seen: list[tuple[str, int, bool]] = []
    wanted = set(codes)

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            # currently_ki_protected() looks at the traced frame (our caller) and up
            seen.append(
                (frame.f_code.co_name, frame.f_lineno, trio.lowlevel.currently_ki_protected())
            )
        return local

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        return local if frame.f_code in wanted else None

    old = sys.gettrace()
    sys.settrace(tracer)
    try:
        yield seen
    finally:
        sys.settrace(old)


@trio.lowlevel.disable_ki_protection
async def as_user(fn: Callable[..., Awaitable[Any]], *args: Any) -> Any:
    """Await ``fn(*args)`` from unprotected code, like an application's."""
    return await fn(*args)


def assert_all_protected(seen: list[tuple[str, int, bool]], *names: str) -> None:
    assert {name for name, _, _ in seen} >= set(names), seen  # the frames did run
    exposed = [(name, line) for name, line, protected in seen if not protected]
    assert not exposed, f"lines a Ctrl-C would interrupt: {exposed}"


async def test_poller_poll_that_waits_is_protected(ctx: trinq.Context) -> None:
    with trio.fail_after(10):
        pull = ctx.socket(trinq.PULL, linger=0)
        push = ctx.socket(trinq.PUSH, linger=0)
        push.connect(await pull.bind("tcp://127.0.0.1:0"))
        poller = trinq.Poller()
        poller.register(pull, trinq.POLLIN)
        with lines_traced(trinq.Poller.poll.__code__) as seen:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(push.send, b"x")
                assert dict(await as_user(poller.poll)) == {pull: trinq.POLLIN}
        assert_all_protected(seen, "poll")


async def test_socket_poll_both_directions_is_protected(ctx: trinq.Context) -> None:
    with trio.fail_after(10):
        dealer = ctx.socket(trinq.DEALER, linger=0)  # no peer: neither in nor out
        with lines_traced(trinq.Socket.poll.__code__) as seen:
            assert await as_user(dealer.poll, 50, trinq.POLLIN | trinq.POLLOUT) == 0
        assert_all_protected(seen, "poll")


async def test_context_enter_exit_and_term_are_protected() -> None:
    codes = (
        trinq.Context.__aenter__.__code__,
        trinq.Context.__aexit__.__code__,
        trinq.Context.term.__code__,
        trinq.Socket.__aexit__.__code__,
    )

    async def user() -> None:
        async with trinq.Context() as ctx:
            async with ctx.socket(trinq.PUB, linger=0) as sock:
                await sock.bind("tcp://127.0.0.1:0")

    with trio.fail_after(10), lines_traced(*codes) as seen:
        await as_user(user)
    assert_all_protected(seen, "__aenter__", "__aexit__", "term")  # both __aexit__s


async def test_proxy_is_protected(ctx: trinq.Context) -> None:
    with trio.fail_after(10):
        frontend = ctx.socket(trinq.PULL, linger=0)
        backend = ctx.socket(trinq.PUSH, linger=0)
        await frontend.bind("tcp://127.0.0.1:0")
        with lines_traced(_proxy._run.__code__) as seen:
            with trio.move_on_after(0.05):
                await as_user(trinq.proxy, frontend, backend)
        assert_all_protected(seen, "_run")


async def test_cli_patient_close_is_protected(ctx: trinq.Context) -> None:
    with trio.fail_after(10):
        sock = ctx.socket(trinq.PUB, linger=0)
        with lines_traced(_close_patiently.__code__) as seen:
            await as_user(_close_patiently, sock, _Status())
        assert_all_protected(seen, "_close_patiently")


async def _protected_frame() -> None:
    await trio.lowlevel.checkpoint()


async def _unprotected_frame() -> None:
    await trio.lowlevel.checkpoint()


trio.lowlevel.enable_ki_protection(_protected_frame)


@pytest.mark.parametrize("protected", [True, False])
async def test_the_check_tells_protected_from_unprotected(protected: bool) -> None:
    """The tracer sees trio's verdict, not a constant: an unprotected frame is seen so."""
    frame_under_test = _protected_frame if protected else _unprotected_frame
    with trio.fail_after(10), lines_traced(frame_under_test.__code__) as seen:
        await as_user(frame_under_test)
    assert seen and all(p is protected for _, _, p in seen), seen
