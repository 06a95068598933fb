"""trinq.Poller: readiness without consuming, timeouts, POLLOUT, file descriptors."""

from __future__ import annotations

import errno
import socket
from typing import Any

import pytest
import trio
import trio.testing

import trinq
from trinq.testing import TRANSPORTS, endpoint

IN, OUT = trinq.POLLIN, trinq.POLLOUT


async def _now(_: object) -> None:
    """An awaitable for a trigger that is a plain call."""
    await trio.lowlevel.checkpoint()


async def poll_after(poller: trinq.Poller, trigger: Any) -> list[tuple[object, int]]:
    """What ``poller.poll()`` returns when ``trigger()`` runs while it waits."""
    got: list[list[tuple[object, int]]] = []

    async def wait() -> None:
        got.append(await poller.poll())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(wait)
        await trio.testing.wait_all_tasks_blocked()
        await trigger()
    return got[0]


async def connected_pair(ctx, transport, tmp_path, a=trinq.PUSH, b=trinq.PULL, **opts):
    """Two sockets whose connection is up (one message went through)."""
    sender, receiver = ctx.socket(a, **opts), ctx.socket(b, **opts)
    receiver.connect(await sender.bind(endpoint(transport, tmp_path)))
    await sender.send(b"warm-up")
    assert await receiver.recv() == b"warm-up"
    return sender, receiver


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_readable_without_consuming(ctx, transport, tmp_path) -> None:
    with trio.fail_after(10):
        push, pull = await connected_pair(ctx, transport, tmp_path)
        poller = trinq.Poller()
        poller.register(pull, IN)
        assert await poller.poll(0) == []
        assert await poll_after(poller, lambda: push.send(b"hello")) == [(pull, IN)]
        # polling again still sees it: nothing was taken
        assert dict(await poller.poll(0)) == {pull: IN}
        assert await pull.recv() == b"hello"
        assert await poller.poll(0) == []


async def test_several_sockets_only_the_ready_ones(ctx, tmp_path) -> None:
    with trio.fail_after(10):
        pairs = [await connected_pair(ctx, "inproc", tmp_path) for _ in range(3)]
        poller = trinq.Poller()
        for _, pull in pairs:
            poller.register(pull, IN)
        await pairs[1][0].send(b"x")
        assert await poller.poll(1000) == [(pairs[1][1], IN)]


async def test_timeout_returns_empty(ctx, autojump_clock) -> None:
    pull = ctx.socket(trinq.PULL)
    poller = trinq.Poller()
    poller.register(pull, IN)
    with trio.fail_after(5):
        assert await poller.poll(250) == []
    assert trio.current_time() == pytest.approx(0.25, abs=0.01)


async def test_no_items_sleeps_for_the_timeout(autojump_clock) -> None:
    with trio.fail_after(5):
        assert await trinq.Poller().poll(100) == []
    assert trio.current_time() == pytest.approx(0.1, abs=0.01)


async def test_pollout_follows_the_hwm(ctx, tmp_path) -> None:
    with trio.fail_after(10):
        push, pull = await connected_pair(ctx, "inproc", tmp_path, sndhwm=1, rcvhwm=1)
        poller = trinq.Poller()
        poller.register(push, OUT)
        assert await poller.poll(0) == [(push, OUT)]
        await push.send(b"1")
        await push.send(b"2")  # the inproc queue holds sndhwm + rcvhwm
        assert await poller.poll(0) == []

        async def take_one() -> None:
            assert await pull.recv() == b"1"  # room again

        assert await poll_after(poller, take_one) == [(push, OUT)]


async def test_pollin_and_pollout_together(ctx, tmp_path) -> None:
    with trio.fail_after(10):
        a, b = await connected_pair(ctx, "tcp", tmp_path, a=trinq.PAIR, b=trinq.PAIR)
        poller = trinq.Poller()
        poller.register(b, IN | OUT)
        assert await poller.poll(0) == [(b, OUT)]
        await a.send(b"x")
        with trio.fail_after(5):
            while dict(await poller.poll()).get(b) != IN | OUT:
                await trio.testing.wait_all_tasks_blocked()
        poller.modify(b, IN)
        assert await poller.poll(0) == [(b, IN)]
        poller.unregister(b)
        with pytest.raises(KeyError):
            poller.unregister(b)


async def test_lent_request_reply_socket_is_polled_promptly(ctx) -> None:
    """A DEALER with one peer lends reading to receivers; a poller is no receiver, so
    the reader keeps reading and the poll wakes when the reply arrives."""
    with trio.fail_after(10):
        router = ctx.socket(trinq.ROUTER)
        dealer = ctx.socket(trinq.DEALER, routing_id=b"d")
        dealer.connect(await router.bind("tcp://127.0.0.1:*"))
        await dealer.send(b"ping")
        assert await router.recv_multipart() == [b"d", b"ping"]
        for i in range(5):
            poller = trinq.Poller()
            poller.register(dealer, IN)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(router.send_multipart, [b"d", b"%d" % i])
                with trio.fail_after(2):
                    assert await poller.poll() == [(dealer, IN)]
            assert await dealer.recv() == b"%d" % i


async def test_file_descriptors_and_fileno_objects(ctx) -> None:
    with trio.fail_after(10):
        left, right = socket.socketpair()
        with left, right:
            left.setblocking(False)
            poller = trinq.Poller()
            poller.register(left, IN)
            poller.register(right.fileno(), OUT)
            assert await poller.poll(0) == [(right.fileno(), OUT)]
            poller.unregister(right.fileno())
            assert await poll_after(poller, lambda: _now(right.send(b"x"))) == [(left, IN)]
            pull = ctx.socket(trinq.PULL)
            poller.register(pull, IN)  # sockets and descriptors mixed
            assert await poller.poll(0) == [(left, IN)]
            assert left.recv(1) == b"x"  # nothing was consumed


async def test_cancelled_poll_consumes_nothing(ctx, tmp_path) -> None:
    with trio.fail_after(10):
        push, pull = await connected_pair(ctx, "inproc", tmp_path)
        poller = trinq.Poller()
        poller.register(pull, IN)
        with trio.move_on_after(0.01) as scope:
            await poller.poll()
        assert scope.cancelled_caught
        await push.send(b"later")
        assert dict(await poller.poll(1000)) == {pull: IN}
        assert await pull.recv() == b"later"


async def test_bad_registrations(ctx) -> None:
    poller = trinq.Poller()
    with pytest.raises(TypeError):
        poller.register(object(), IN)
    with pytest.raises(trinq.ZMQError) as info:
        poller.register(ctx.socket(trinq.PULL), 8)
    assert info.value.errno == errno.EINVAL
    sock = ctx.socket(trinq.PULL)
    poller.register(sock, IN)
    poller.register(sock, 0)  # flags 0 unregisters, as pyzmq
    assert poller.sockets == []


async def test_closed_socket_raises(ctx) -> None:
    with trio.fail_after(10):
        pull = ctx.socket(trinq.PULL)
        poller = trinq.Poller()
        poller.register(pull, IN)
        async with trio.open_nursery() as nursery:
            errors: list[BaseException] = []

            async def wait() -> None:
                try:
                    await poller.poll()
                except trinq.ZMQError as exc:
                    errors.append(exc)

            nursery.start_soon(wait)
            await trio.testing.wait_all_tasks_blocked()
            await pull.aclose()
        assert len(errors) == 1 and errors[0].errno == errno.ENOTSOCK


async def test_socket_poll_as_pyzmq(ctx, tmp_path, autojump_clock) -> None:
    with trio.fail_after(10):
        push, pull = await connected_pair(ctx, "inproc", tmp_path)
        assert await pull.poll(0) == 0
        assert await pull.poll(100) == 0  # timed out
        assert await push.poll(0, OUT) == OUT
        assert await pull.poll(0, IN | OUT) == 0  # PULL cannot send
        await push.send(b"x")
        assert await pull.poll() == IN
        assert await pull.recv() == b"x"
        with pytest.raises(trinq.ZMQError):
            await pull.poll(0, 8)


@pytest.mark.parametrize(
    ("kind", "never"),
    [(trinq.PULL, OUT), (trinq.SUB, OUT), (trinq.PUSH, IN), (trinq.PUB, IN)],
)
async def test_one_way_types_never_report_the_other_direction(ctx, kind, never) -> None:
    """As libzmq (xhas_in / xhas_out): PULL and SUB are never writable, PUSH and PUB
    never readable, whatever their pipes hold."""
    sock = ctx.socket(kind)
    peer_kind = {trinq.PULL: trinq.PUSH, trinq.SUB: trinq.PUB}.get(kind, trinq.PULL)
    if kind == trinq.PUB:
        peer_kind = trinq.SUB
    peer = ctx.socket(peer_kind)
    peer.connect(await sock.bind(f"inproc://one-way-{kind}"))
    assert not sock.events & never
    assert await sock.poll(0, never) == 0


async def test_xpub_subscriptions_are_readable(ctx) -> None:
    with trio.fail_after(10):
        xpub = ctx.socket(trinq.XPUB)
        await xpub.bind("inproc://xpub-poll")
        sub = ctx.socket(trinq.SUB)
        sub.connect("inproc://xpub-poll")
        sub.subscribe(b"a")
        assert await xpub.poll(1000) == IN
        assert xpub.events & IN
        assert await xpub.recv() == b"\x01a"
        assert not xpub.events & IN
