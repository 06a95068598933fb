"""What a cancellation leaves behind for the lifecycle operations.

``send*``/``recv*`` are covered by test_cancellation.py; here: ``bind``, ``unbind``,
``aclose`` (while lingering), ``Context.term`` and ``Socket.__aenter__`` -- each
docstring states the outcome, and each test checks exactly that.
"""

from __future__ import annotations

import trio
import trio.testing
from rawpeer import free_endpoint

import trinq


async def test_cancelled_bind_leaves_nothing_bound(ctx):
    """Socket.bind: "if cancelled, nothing stays bound"."""
    with trio.fail_after(10):
        sock = ctx.socket(trinq.PULL)
        ep = free_endpoint("tcp", "")
        with trio.CancelScope() as cs:
            cs.cancel()
            await sock.bind(ep)
        assert cs.cancelled_caught
        assert sock.statistics().endpoints == ()
        # the address is free: binding it (here, and from another socket) works
        other = ctx.socket(trinq.PULL)
        assert await other.bind(ep) == ep
        await other.unbind(ep)
        assert await sock.bind(ep) == ep


async def test_cancelled_unbind_is_still_done(ctx):
    """Socket.unbind: "the unbind is already done when this yields; a cancel only
    skips the wait for the listener to close"."""
    with trio.fail_after(10):
        sock = ctx.socket(trinq.PULL)
        mon = sock.monitor(trinq.Event.CLOSED)
        ep = await sock.bind("tcp://127.0.0.1:*")
        with trio.CancelScope() as cs:
            cs.cancel()
            await sock.unbind(ep)
        assert cs.cancelled_caught
        assert ep not in sock.statistics().endpoints
        assert (await mon.receive()).event == trinq.Event.CLOSED
        assert await ctx.socket(trinq.PULL).bind(ep) == ep  # the port was released


async def test_cancelled_aclose_still_closes(ctx, autojump_clock):
    """Socket.aclose: "if cancelled while lingering, the socket is closed at once
    (remaining messages are dropped) and the cancellation propagates"."""
    with trio.fail_after(10):
        push = ctx.socket(trinq.PUSH)  # linger -1: would wait forever for a peer
        push.connect(free_endpoint("tcp", ""))
        await push.send(b"undeliverable")
        with trio.move_on_after(1) as cs:
            await push.aclose()
        assert cs.cancelled_caught
        assert push.closed
        assert push.statistics().peers == 0
        await push.aclose()  # idempotent, returns at once


async def test_cancelled_context_term_closes_every_socket(autojump_clock):
    """Context.term: "Cancellation: sockets still lingering are closed at once"."""
    with trio.fail_after(10):
        async with trinq.Context() as ctx:
            a = ctx.socket(trinq.PUSH)
            b = ctx.socket(trinq.PUSH)
            for s in (a, b):
                s.connect(free_endpoint("tcp", ""))
                await s.send(b"undeliverable")
            with trio.move_on_after(1) as cs:
                await ctx.term()
            assert cs.cancelled_caught
            assert a.closed and b.closed
            assert ctx.closed


async def test_cancelled_socket_enter_closes_the_socket(ctx):
    """Socket.__aenter__: "the async with body never runs, so the socket is closed"."""
    with trio.fail_after(10):
        sock = ctx.socket(trinq.PUSH)
        with trio.CancelScope() as cs:
            cs.cancel()
            async with sock:
                raise AssertionError("the body must not run")
        assert cs.cancelled_caught
        assert sock.closed
