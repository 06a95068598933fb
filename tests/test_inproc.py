"""inproc:// specifics: bind/connect order, names per Context, libzmq's HWM rule,
re-linking after a rebind, and what ends when (every pattern's spec tests also run
over inproc: trinq.testing.TRANSPORTS)."""

from __future__ import annotations

import errno

import pytest
import trio
import trio.testing

import trinq
from trinq.testing import wait_for_event

E = trinq.Event


async def fill(sock: trinq.Socket) -> int:
    """Send until a DONTWAIT send would block; return how many went."""
    sent = 0
    while True:
        try:
            await sock.send(b"%d" % sent, trinq.DONTWAIT)
        except trinq.Again:
            return sent
        sent += 1
        assert sent < 100_000, "never blocked"


async def test_connect_before_bind_queues_then_delivers(ctx) -> None:
    with trio.fail_after(10):
        push = ctx.socket(trinq.PUSH)
        push.connect("inproc://later")
        for i in range(5):
            await push.send(b"early %d" % i)  # queued on the connecting side's pipe
        pull = ctx.socket(trinq.PULL)
        assert await pull.bind("inproc://later") == "inproc://later"
        assert [await pull.recv() for _ in range(5)] == [b"early %d" % i for i in range(5)]
        await push.send(b"after")
        assert await pull.recv() == b"after"


async def test_bind_before_connect(ctx) -> None:
    with trio.fail_after(10):
        rep = ctx.socket(trinq.REP)
        await rep.bind("inproc://svc")
        req = ctx.socket(trinq.REQ)
        req.connect("inproc://svc")
        await req.send(b"ping")
        assert await rep.recv() == b"ping"
        await rep.send(b"pong")
        assert await req.recv() == b"pong"


@pytest.mark.parametrize("order", ["bind-first", "connect-first"])
@pytest.mark.parametrize(("sndhwm", "rcvhwm", "expected"), [(3, 5, 8), (10, 1, 11), (4, 4, 8)])
async def test_hwm_is_sndhwm_plus_peer_rcvhwm(ctx, order, sndhwm, rcvhwm, expected) -> None:
    """libzmq's inproc rule: a direction holds the sender's sndhwm plus the
    receiver's rcvhwm messages, whichever side was there first."""
    with trio.fail_after(10):
        push = ctx.socket(trinq.PUSH, sndhwm=sndhwm)
        pull = ctx.socket(trinq.PULL, rcvhwm=rcvhwm)
        if order == "bind-first":
            await pull.bind("inproc://hwm")
            push.connect("inproc://hwm")
        else:
            push.connect("inproc://hwm")
            await pull.bind("inproc://hwm")
        assert await fill(push) == expected
        assert pull.statistics().pipes[0].inbound_queued == expected
        assert await pull.recv() == b"0"  # room for one more: the sender may go on
        await push.send(b"more", trinq.DONTWAIT)
        with pytest.raises(trinq.Again):
            await push.send(b"too many", trinq.DONTWAIT)


async def test_connect_first_queue_is_the_senders_hwm_until_bound(ctx) -> None:
    with trio.fail_after(10):
        push = ctx.socket(trinq.PUSH, sndhwm=3)
        push.connect("inproc://nobody-yet")
        assert await fill(push) == 3
        pull = ctx.socket(trinq.PULL, rcvhwm=2)
        await pull.bind("inproc://nobody-yet")
        assert await fill(push) == 2  # grown by the binder's rcvhwm at the link


async def test_zero_hwm_is_unlimited(ctx) -> None:
    with trio.fail_after(10):
        push = ctx.socket(trinq.PUSH, sndhwm=0)
        pull = ctx.socket(trinq.PULL, rcvhwm=5)
        await pull.bind("inproc://unlimited")
        push.connect("inproc://unlimited")
        for i in range(5000):
            await push.send(b"%d" % i, trinq.DONTWAIT)
        assert pull.statistics().pipes[0].inbound_queued == 5000


async def test_a_blocked_sender_wakes_when_the_receiver_takes(ctx) -> None:
    with trio.fail_after(10):
        push = ctx.socket(trinq.PUSH, sndhwm=1)
        pull = ctx.socket(trinq.PULL, rcvhwm=1)
        await pull.bind("inproc://wake")
        push.connect("inproc://wake")
        assert await fill(push) == 2
        async with trio.open_nursery() as nursery:
            nursery.start_soon(push.send, b"blocked")
            await trio.testing.wait_all_tasks_blocked()
            assert await pull.recv() == b"0"
        assert [await pull.recv() for _ in range(2)] == [b"1", b"blocked"]


async def test_names_are_per_context() -> None:
    with trio.fail_after(10):
        async with trinq.Context() as one, trinq.Context() as two:
            a = one.socket(trinq.PULL)
            await a.bind("inproc://shared-name")
            b = two.socket(trinq.PULL)
            assert await b.bind("inproc://shared-name") == "inproc://shared-name"
            push = two.socket(trinq.PUSH)
            push.connect("inproc://shared-name")
            await push.send(b"for two")
            assert await b.recv() == b"for two"
            with pytest.raises(trinq.Again):
                a.recv_nowait()


async def test_binding_a_name_twice_is_eaddrinuse(ctx) -> None:
    a = ctx.socket(trinq.PULL)
    await a.bind("inproc://taken")
    b = ctx.socket(trinq.PULL)
    with pytest.raises(trinq.ZMQError) as info:
        await b.bind("inproc://taken")
    assert info.value.errno == errno.EADDRINUSE
    await a.unbind("inproc://taken")
    assert await b.bind("inproc://taken") == "inproc://taken"


async def test_empty_name_is_einval(ctx) -> None:
    sock = ctx.socket(trinq.PULL)
    with pytest.raises(trinq.ZMQError) as info:
        await sock.bind("inproc://")
    assert info.value.errno == errno.EINVAL


async def test_rebind_relinks_the_connecting_side_and_keeps_its_queue(ctx) -> None:
    """The connecting side's pipe outlives its bound peer (as over tcp): messages sent
    while nobody is bound arrive at the next binder, and subscriptions are replayed."""
    with trio.fail_after(10):
        sub = ctx.socket(trinq.SUB, reconnect_ivl=1)
        sub.subscribe(b"t")
        sub.connect("inproc://pub")
        pub = ctx.socket(trinq.XPUB)
        await pub.bind("inproc://pub")
        assert await pub.recv() == b"\x01t"
        await pub.send(b"t1")
        assert await sub.recv() == b"t1"
        mon = sub.monitor()
        await pub.aclose()
        await wait_for_event(mon, E.DISCONNECTED)
        pub2 = ctx.socket(trinq.XPUB)
        await pub2.bind("inproc://pub")
        assert await pub2.recv() == b"\x01t"  # replayed on the new link
        await pub2.send(b"t2")
        assert await sub.recv() == b"t2"

        push = ctx.socket(trinq.PUSH, reconnect_ivl=1)
        pull = ctx.socket(trinq.PULL)
        await pull.bind("inproc://queue")
        push.connect("inproc://queue")
        await pull.aclose()
        await push.send(b"while nobody is bound")
        pull2 = ctx.socket(trinq.PULL)
        await pull2.bind("inproc://queue")
        assert await pull2.recv() == b"while nobody is bound"


async def test_reconnect_ivl_minus_one_does_not_relink(ctx) -> None:
    with trio.fail_after(10):
        pull = ctx.socket(trinq.PULL)
        await pull.bind("inproc://once")
        push = ctx.socket(trinq.PUSH, reconnect_ivl=-1)
        push.connect("inproc://once")
        await pull.aclose()
        await trio.testing.wait_all_tasks_blocked()
        assert "inproc://once" not in push.statistics().endpoints


async def test_disconnect_ends_the_bound_sides_pipe(ctx) -> None:
    with trio.fail_after(10):
        pull = ctx.socket(trinq.PULL)
        mon = pull.monitor()
        await pull.bind("inproc://d")
        push = ctx.socket(trinq.PUSH)
        push.connect("inproc://d")
        await push.send(b"sent before disconnect")
        push.disconnect("inproc://d")
        await wait_for_event(mon, E.DISCONNECTED)
        assert await pull.recv() == b"sent before disconnect"  # still delivered
        assert pull.statistics().peers == 0


async def test_close_of_the_sender_keeps_what_it_sent(ctx) -> None:
    """No linger over inproc: a message sent is already in the peer's queue."""
    with trio.fail_after(10):
        pull = ctx.socket(trinq.PULL)
        await pull.bind("inproc://gone")
        push = ctx.socket(trinq.PUSH, linger=-1)
        push.connect("inproc://gone")
        for i in range(3):
            await push.send(b"%d" % i)
        await push.aclose()  # returns at once: nothing to linger for
        assert [await pull.recv() for _ in range(3)] == [b"0", b"1", b"2"]


async def test_incompatible_types_are_refused(ctx) -> None:
    with trio.fail_after(10):
        pub = ctx.socket(trinq.PUB)
        pub_mon = pub.monitor()
        await pub.bind("inproc://wrong")
        req = ctx.socket(trinq.REQ)
        mon = req.monitor()
        req.connect("inproc://wrong")
        seen = await wait_for_event(mon, E.HANDSHAKE_FAILED_PROTOCOL)
        assert "incompatible socket types" in (seen[-1].reason or "")
        await wait_for_event(pub_mon, E.HANDSHAKE_FAILED_PROTOCOL)
        assert "inproc://wrong" not in req.statistics().endpoints
        assert pub.statistics().peers == 0


async def test_router_sees_the_dealers_routing_id(ctx) -> None:
    with trio.fail_after(10):
        router = ctx.socket(trinq.ROUTER)
        await router.bind("inproc://r")
        dealer = ctx.socket(trinq.DEALER, routing_id=b"me")
        dealer.connect("inproc://r")
        await dealer.send(b"hi")
        assert await router.recv_multipart() == [b"me", b"hi"]
        await router.send_multipart([b"me", b"back"])
        assert await dealer.recv() == b"back"


async def test_monitor_events_like_a_connection(ctx) -> None:
    with trio.fail_after(10):
        pull = ctx.socket(trinq.PULL)
        bmon = pull.monitor()
        await pull.bind("inproc://events")
        push = ctx.socket(trinq.PUSH)
        cmon = push.monitor()
        push.connect("inproc://events")
        kinds = [e.event for e in await wait_for_event(cmon, E.HANDSHAKE_SUCCEEDED)]
        assert kinds == [E.CONNECTED, E.HANDSHAKE_SUCCEEDED]
        kinds = [e.event for e in await wait_for_event(bmon, E.HANDSHAKE_SUCCEEDED)]
        assert kinds == [E.LISTENING, E.ACCEPTED, E.HANDSHAKE_SUCCEEDED]
        await push.send(b"x")
        await pull.recv()
        assert push.statistics().messages_out == 1
        assert pull.statistics().messages_in == 1
