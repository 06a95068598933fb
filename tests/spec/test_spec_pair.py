"""RFC 31/EXPAIR spec tests (PAIR), in the style of libzmq's test_spec_*.cpp.

Each test's docstring quotes the SHALL clause(s) of shared/specs/31-expair.md it checks;
the whole module runs over every stream transport in ``trinq.testing.TRANSPORTS``.
"""

from __future__ import annotations

import os
import sys

import pytest
import trio
import trio.testing

import trinq
from trinq.testing import TRANSPORTS, endpoint, wait_for_event

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from rawpeer import free_endpoint

pytestmark = pytest.mark.parametrize("transport", TRANSPORTS)


async def test_pair_bidirectional_whole_messages(ctx, transport, tmp_path):
    """PAIR: "SHALL not filter or modify outgoing or incoming messages in any way." and
    "SHALL receive incoming messages from its single peer if it has one." / "SHALL deliver
    these to its calling application."
    """
    with trio.fail_after(10):
        a = ctx.socket(trinq.PAIR)
        ep = await a.bind(endpoint(transport, tmp_path))
        b = ctx.socket(trinq.PAIR)
        b.connect(ep)
        msg = [b"", b"one", b"\x00" * 300, b"three"]
        for i in range(100):
            await b.send_multipart([*msg, b"%d" % i])
            await a.send_multipart([b"%d" % i, *msg])
        for i in range(100):
            assert await a.recv_multipart() == [*msg, b"%d" % i]
            assert await b.recv_multipart() == [b"%d" % i, *msg]


async def test_pair_refuses_second_peer(ctx, transport, tmp_path):
    """PAIR "can be connected to at most one PAIR peer at any time" (RFC 31 overview):
    the bound PAIR refuses a second peer while the first is connected, and keeps serving
    the first one; the second peer's messages are never delivered."""
    with trio.fail_after(10):
        a = ctx.socket(trinq.PAIR)
        mon = a.monitor()
        ep = await a.bind(endpoint(transport, tmp_path))
        b = ctx.socket(trinq.PAIR)
        b.connect(ep)
        await wait_for_event(mon, trinq.Event.HANDSHAKE_SUCCEEDED)
        await b.send(b"from b")
        assert await a.recv() == b"from b"
        # linger=0: c's message can never be delivered, and with libzmq's default
        # linger (-1) closing c would wait for it forever (as zmq_ctx_term does).
        c = ctx.socket(trinq.PAIR, linger=0)
        c.connect(ep)
        await c.send(b"from c")  # queued on c's own pipe
        seen = await wait_for_event(mon, trinq.Event.DISCONNECTED)
        assert not any(ev.event == trinq.Event.HANDSHAKE_SUCCEEDED for ev in seen)
        # the first peer still works both ways
        await a.send(b"to b")
        assert await b.recv() == b"to b"
        await b.send(b"again from b")
        assert await a.recv() == b"again from b"
        with pytest.raises(trinq.Again):
            await a.recv(trinq.DONTWAIT)
        with pytest.raises(trinq.Again):
            await c.recv(trinq.DONTWAIT)


async def test_pair_accepts_new_peer_after_first_leaves(ctx, transport, tmp_path):
    """PAIR: "SHALL create a double queue when a peer connects to it. If this peer
    disconnects, the PAIR socket SHALL destroy its double queue" -- so a new peer can
    take its place."""
    with trio.fail_after(10):
        a = ctx.socket(trinq.PAIR)
        mon = a.monitor()
        ep = await a.bind(endpoint(transport, tmp_path))
        b = ctx.socket(trinq.PAIR)
        b.connect(ep)
        await b.send(b"b1")
        assert await a.recv() == b"b1"
        await b.aclose()
        await wait_for_event(mon, trinq.Event.DISCONNECTED)
        c = ctx.socket(trinq.PAIR)
        c.connect(ep)
        await c.send(b"c1")
        assert await a.recv() == b"c1"
        await a.send(b"to c")
        assert await c.recv() == b"to c"


async def test_pair_blocks_without_peer(ctx, transport, tmp_path):
    """PAIR: "SHALL block on sending, or return a suitable error, when it has no available
    peer." and "SHALL not accept further messages when it has no available peer."
    """
    with trio.fail_after(10):
        a = ctx.socket(trinq.PAIR)
        ep = await a.bind(endpoint(transport, tmp_path))
        with pytest.raises(trinq.Again):
            await a.send(b"x", trinq.DONTWAIT)
        a.sndtimeo = 10
        with pytest.raises(trinq.Again):
            await a.send(b"x")
        a.sndtimeo = -1
        b = ctx.socket(trinq.PAIR)
        b.connect(ep)
        await a.send(b"first")  # blocks until b is there
        assert await b.recv() == b"first"
        with pytest.raises(trinq.Again):
            await b.recv(trinq.DONTWAIT)


async def test_pair_queue_before_connection(ctx, transport, tmp_path):
    """PAIR: "SHALL create a double queue when initiating an outgoing connection to a
    peer, and SHALL maintain the double queue whether or not the connection is
    established." / "SHALL consider its peer as available only when it has a outgoing
    queue that is not full." / "SHALL NOT discard messages that it cannot queue."
    """
    with trio.fail_after(10):
        ep = free_endpoint(transport, tmp_path)
        b = ctx.socket(trinq.PAIR, sndhwm=3)
        b.connect(ep)
        for i in range(3):
            await b.send(b"%d" % i, trinq.DONTWAIT)
        with pytest.raises(trinq.Again):
            await b.send(b"3", trinq.DONTWAIT)
        a = ctx.socket(trinq.PAIR)
        await a.bind(ep)
        assert [await a.recv() for _ in range(3)] == [b"0", b"1", b"2"]
        await a.send(b"back")
        assert await b.recv() == b"back"


async def test_pair_hwm_blocks(ctx, transport, tmp_path):
    """PAIR: "SHOULD constrain incoming and outgoing queue sizes to a runtime-configurable
    limit." -- a PAIR whose peer does not read eventually blocks, losing nothing."""
    with trio.fail_after(10):
        size = 128 * 1024
        a = ctx.socket(trinq.PAIR, rcvhwm=1)
        ep = await a.bind(endpoint(transport, tmp_path))
        b = ctx.socket(trinq.PAIR, sndhwm=1)
        b.connect(ep)
        sent = 0
        again = 0
        while again < 2:
            assert sent < 5000
            try:
                await b.send(sent.to_bytes(4, "big") * (size // 4), trinq.DONTWAIT)
            except trinq.Again:
                again += 1
                await trio.testing.wait_all_tasks_blocked()
            else:
                sent += 1
                again = 0
        assert sent >= 2
        for i in range(sent):
            data = await a.recv()
            assert data[:4] == i.to_bytes(4, "big") and len(data) == size
