"""Socket.recv_message() -> trinq.Message, and send(routing_id=/group=) on the classic
types (the draft types that use them route by them)."""

from __future__ import annotations

import errno

import pytest
import trio
import trio.testing

import trinq
from trinq._message import Message
from trinq.testing import TRANSPORTS, endpoint


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_recv_message_carries_frames_and_properties(ctx, transport, tmp_path) -> None:
    with trio.fail_after(10):
        router = ctx.socket(trinq.ROUTER)
        ep = await router.bind(endpoint(transport, tmp_path))
        dealer = ctx.socket(trinq.DEALER, routing_id=b"worker-1")
        dealer.connect(ep)
        await dealer.send_multipart([b"a", b"body"])
        msg = await router.recv_message()
        assert isinstance(msg, Message)
        assert msg.frames == (b"worker-1", b"a", b"body")
        assert msg.data == b"body" and len(msg) == 3
        assert msg.routing_id is None and msg.group is None
        assert msg.properties["Socket-Type"] == "DEALER"
        assert msg.properties["Routing-Id"] == "worker-1"
        if transport == "tcp":
            assert msg.properties["Peer-Address"] == "127.0.0.1"
        with pytest.raises(TypeError):
            msg.properties["X"] = "y"  # type: ignore[index]


async def test_recv_message_with_several_peers_names_the_right_one(ctx) -> None:
    with trio.fail_after(10):
        pull = ctx.socket(trinq.PULL)
        ep = await pull.bind("tcp://127.0.0.1:*")
        pushes = [ctx.socket(trinq.PUSH) for _ in range(2)]
        for push in pushes:
            push.connect(ep)
        await pushes[0].send(b"from 0")
        await pushes[1].send(b"from 1")
        got = {(await pull.recv_message()).data for _ in range(2)}
        assert got == {b"from 0", b"from 1"}


async def test_recv_message_dontwait_and_rcvtimeo(ctx, autojump_clock) -> None:
    pull = ctx.socket(trinq.PULL)
    with pytest.raises(trinq.Again):
        await pull.recv_message(trinq.DONTWAIT)
    pull.rcvtimeo = 250
    with trio.fail_after(5):
        with pytest.raises(trinq.Again):
            await pull.recv_message()


async def test_recv_message_after_a_partial_recv_returns_the_rest(ctx) -> None:
    with trio.fail_after(10):
        push, pull = ctx.socket(trinq.PUSH), ctx.socket(trinq.PULL)
        pull.connect(await push.bind("inproc://partial"))
        await push.send_multipart([b"1", b"2", b"3"])
        assert await pull.recv() == b"1"
        assert (await pull.recv_message()).frames == (b"2", b"3")


async def test_cancelled_recv_message_takes_nothing(ctx) -> None:
    with trio.fail_after(10):
        push, pull = ctx.socket(trinq.PUSH), ctx.socket(trinq.PULL)
        pull.connect(await push.bind("tcp://127.0.0.1:*"))
        with trio.move_on_after(0.01) as scope:
            await pull.recv_message()
        assert scope.cancelled_caught
        await push.send(b"kept")
        assert (await pull.recv_message()).data == b"kept"


@pytest.mark.parametrize("kind", [trinq.PUSH, trinq.DEALER, trinq.PUB, trinq.PAIR])
async def test_routing_id_and_group_are_refused_by_classic_types(ctx, kind) -> None:
    sock = ctx.socket(kind)
    with pytest.raises(trinq.ZMQError) as info:
        await sock.send(b"x", routing_id=5)
    assert info.value.errno == errno.EINVAL
    with pytest.raises(trinq.ZMQError) as info:
        await sock.send(b"x", group="weather")
    assert info.value.errno == errno.EINVAL
    assert "group" in str(info.value)
