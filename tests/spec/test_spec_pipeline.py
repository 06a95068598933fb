"""RFC 30/PIPELINE spec tests (PUSH, PULL), in the style of libzmq's test_spec_pushpull.cpp.

Each test's docstring quotes the SHALL clause(s) of shared/specs/30-pipeline.md it checks;
the whole module runs over every stream transport in ``trinq.testing.TRANSPORTS``.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections import Counter

import pytest
import trio
import trio.testing

import trinq
from trinq.testing import TRANSPORTS, endpoint, wait_for_event

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from rawpeer import bind_with_peers, free_endpoint, wait_until

pytestmark = pytest.mark.parametrize("transport", TRANSPORTS)


async def connected(sock: trinq.Socket, mon: trinq.Monitor, n: int) -> None:
    await wait_for_event(mon, trinq.Event.HANDSHAKE_SUCCEEDED, n)


async def test_push_round_robin_to_peers(ctx, transport, tmp_path):
    """PUSH: "SHALL route outgoing messages to available peers using a round-robin
    strategy." and "SHALL not filter or modify outgoing messages in any way."
    """
    with trio.fail_after(10):
        push = ctx.socket(trinq.PUSH)
        mon = push.monitor()
        ep = await push.bind(endpoint(transport, tmp_path))
        pulls = [ctx.socket(trinq.PULL) for _ in range(3)]
        for p in pulls:
            p.connect(ep)
        await connected(push, mon, 3)
        for i in range(30):
            await push.send_multipart([b"%d" % i, b"payload"])
        got = []
        for p in pulls:
            msgs = [await p.recv_multipart() for _ in range(10)]
            assert all(m[1] == b"payload" and len(m) == 2 for m in msgs)
            got.append([int(m[0]) for m in msgs])
        for seq in got:
            # strict rotation: one peer receives every third message
            assert [b - a for a, b in itertools.pairwise(seq)] == [3] * 9
        assert sorted(x for seq in got for x in seq) == list(range(30))
        for p in pulls:
            with pytest.raises(trinq.Again):
                await p.recv(trinq.DONTWAIT)


async def test_push_connect_side_round_robin(ctx, transport, tmp_path):
    """PUSH: "SHALL route outgoing messages to available peers using a round-robin
    strategy." (PUSH connecting to several bound PULLs)."""
    with trio.fail_after(10):
        pulls = [ctx.socket(trinq.PULL) for _ in range(2)]
        eps = [await p.bind(endpoint(transport, tmp_path)) for p in pulls]
        push = ctx.socket(trinq.PUSH)
        mon = push.monitor()
        for ep in eps:
            push.connect(ep)
        await connected(push, mon, 2)
        for i in range(20):
            await push.send(b"%d" % i)
        a = [int(await pulls[0].recv()) for _ in range(10)]
        b = [int(await pulls[1].recv()) for _ in range(10)]
        assert sorted(a + b) == list(range(20))
        assert {x % 2 for x in a} != {x % 2 for x in b}
        assert len({x % 2 for x in a}) == 1


async def test_push_blocks_with_no_peers(ctx, transport, tmp_path):
    """PUSH: "SHALL block on sending, or return a suitable error, when it has no available
    peers." and "SHALL not accept further messages when it has no available peers."
    """
    with trio.fail_after(10):
        push = ctx.socket(trinq.PUSH)
        ep = await push.bind(endpoint(transport, tmp_path))
        with pytest.raises(trinq.Again):
            await push.send(b"x", trinq.DONTWAIT)
        push.sndtimeo = 20
        with pytest.raises(trinq.Again):
            await push.send(b"x")
        push.sndtimeo = -1
        with trio.move_on_after(0.05) as scope:
            await push.send(b"cancelled")
        assert scope.cancelled_caught
        # Nothing was accepted meanwhile: a peer arriving now gets only new messages.
        pull = ctx.socket(trinq.PULL)
        pull.connect(ep)
        await push.send(b"first")
        assert await pull.recv() == b"first"
        with pytest.raises(trinq.Again):
            await pull.recv(trinq.DONTWAIT)


async def test_push_queue_exists_before_connection(ctx, transport, tmp_path):
    """PUSH: "SHALL create this queue when initiating an outgoing connection to a peer, and
    SHALL maintain the queue whether or not the connection is established." and
    "SHALL consider a peer as available only when it has a outgoing queue that is not
    full." and "SHALL NOT discard messages that it cannot queue."
    """
    with trio.fail_after(10):
        ep = free_endpoint(transport, tmp_path)
        push = ctx.socket(trinq.PUSH, sndhwm=5)
        push.connect(ep)
        for i in range(5):
            await push.send(b"%d" % i, trinq.DONTWAIT)
        with pytest.raises(trinq.Again):
            await push.send(b"5", trinq.DONTWAIT)
        push.sndtimeo = 10
        with pytest.raises(trinq.Again):
            await push.send(b"5")
        pull = ctx.socket(trinq.PULL)
        await pull.bind(ep)
        assert [await pull.recv() for _ in range(5)] == [b"%d" % i for i in range(5)]
        await push.send(b"after")
        assert await pull.recv() == b"after"


async def test_pull_fair_queues(ctx, transport, tmp_path):
    """PULL: "SHALL receive incoming messages from its peers using a fair-queuing
    strategy." and "SHALL maintain an incoming queue for each connected peer."
    """
    with trio.fail_after(10):
        pull, pushes = await bind_with_peers(
            ctx, trinq.PULL, trinq.PUSH, 3, endpoint(transport, tmp_path)
        )
        for n, p in enumerate(pushes):
            for i in range(10):
                await p.send_multipart([b"%d" % n, b"%d" % i])

        def all_queued() -> bool:
            return sum(s.inbound_queued for s in pull.statistics().pipes) == 30

        await wait_until(all_queued)
        msgs = [await pull.recv_multipart() for _ in range(30)]
        senders = [m[0] for m in msgs]
        for k in range(0, 30, 3):
            assert len(set(senders[k : k + 3])) == 3, senders
        # per-peer order is kept
        for n in range(3):
            assert [m[1] for m in msgs if m[0] == b"%d" % n] == [b"%d" % i for i in range(10)]


async def test_hwm_blocks_sender(ctx, transport, tmp_path):
    """PUSH: "SHALL consider a peer as available only when it has a outgoing queue that is
    not full." / "SHALL NOT discard messages that it cannot queue." and PULL: "SHOULD
    constrain incoming queue sizes to a runtime-configurable limit."

    With a PULL that does not read, the sender fills SNDHWM + RCVHWM (+ kernel buffers)
    and then blocks; every message sent is later received once, in order.
    """
    with trio.fail_after(10):
        size = 128 * 1024
        pull = ctx.socket(trinq.PULL, rcvhwm=2)
        ep = await pull.bind(endpoint(transport, tmp_path))
        push = ctx.socket(trinq.PUSH, sndhwm=2)
        mon = push.monitor()
        push.connect(ep)
        await wait_for_event(mon, trinq.Event.HANDSHAKE_SUCCEEDED)
        sent = 0
        again_in_a_row = 0
        while again_in_a_row < 2:
            assert sent < 5000, "the sender never blocked"
            try:
                await push.send(sent.to_bytes(4, "big") * (size // 4), trinq.DONTWAIT)
            except trinq.Again:
                again_in_a_row += 1
                await trio.testing.wait_all_tasks_blocked()
            else:
                sent += 1
                again_in_a_row = 0
        assert sent >= 4  # sndhwm + rcvhwm at least
        if transport == "inproc":
            # libzmq's inproc rule: one queue of the sender's sndhwm + the receiver's
            # rcvhwm messages, which both ends see
            assert sent == 4
            assert all(s.inbound_queued == 4 for s in pull.statistics().pipes)
            assert all(s.outbound_queued == 4 for s in push.statistics().pipes)
        else:
            assert all(s.inbound_queued <= 2 for s in pull.statistics().pipes)
            assert all(s.outbound_queued <= 2 for s in push.statistics().pipes)
        # With sndtimeo the blocked send gives up with Again -- unless the kernel
        # (TCP window growth) took more bytes meanwhile, in which case it went out.
        push.sndtimeo = 10
        try:
            await push.send(b"last")
            late = [b"last"]
        except trinq.Again:
            late = []
        for i in range(sent):
            data = await pull.recv()
            assert len(data) == size and data[:4] == i.to_bytes(4, "big")
        for expected in late:
            assert await pull.recv() == expected
        with pytest.raises(trinq.Again):
            await pull.recv(trinq.DONTWAIT)


async def test_messages_are_whole_multipart(ctx, transport, tmp_path):
    """PUSH/PULL: "SHALL not filter or modify outgoing messages in any way." /
    "SHALL not filter or modify incoming messages in any way." -- multipart messages from
    several senders arrive whole, never interleaved frame by frame."""
    with trio.fail_after(10):
        pull = ctx.socket(trinq.PULL)
        ep = await pull.bind(endpoint(transport, tmp_path))
        pushes = [ctx.socket(trinq.PUSH) for _ in range(3)]
        for p in pushes:
            p.connect(ep)

        async def sender(n: int, p: trinq.Socket) -> None:
            for i in range(50):
                await p.send(b"%d" % n, trinq.SNDMORE)
                await p.send(b"", trinq.SNDMORE)
                await p.send(b"%d" % i, trinq.SNDMORE)
                await p.send(b"z" * (i * 10))

        async with trio.open_nursery() as nursery:
            for n, p in enumerate(pushes):
                nursery.start_soon(sender, n, p)
            counts: Counter[bytes] = Counter()
            for _ in range(150):
                m = await pull.recv_multipart()
                assert len(m) == 4 and m[1] == b""
                i = int(m[2])
                assert m[3] == b"z" * (i * 10)
                assert i == counts[m[0]]
                counts[m[0]] += 1
        assert counts == {b"0": 50, b"1": 50, b"2": 50}


async def test_pull_cannot_send_push_cannot_recv(ctx, transport, tmp_path):
    """PUSH "SHALL only send messages"; PULL "SHALL only receive messages"."""
    with trio.fail_after(10):
        push = ctx.socket(trinq.PUSH)
        pull = ctx.socket(trinq.PULL)
        with pytest.raises(trinq.ZMQError) as e1:
            await pull.send(b"x")
        assert e1.value.errno == trinq.ENOTSUP
        with pytest.raises(trinq.ZMQError) as e2:
            await push.recv()
        assert e2.value.errno == trinq.ENOTSUP
