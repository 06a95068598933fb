"""RFC 49/SCATTERGATHER and RFC 52/CHANNEL spec tests, and the draft family's
single-part rule on the wire.

SCATTER and GATHER are the single-part PUSH and PULL; CHANNEL the single-part PAIR.
Each test's docstring quotes the clause it checks; the spec tests run over every
transport in ``trinq.testing.TRANSPORTS``, the wire tests over tcp with a raw peer.
"""

from __future__ import annotations

import os
import sys

import pytest
import trio

import trinq
from trinq.testing import TRANSPORTS, endpoint, wait_for_event

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from rawpeer import MORE, RawPeer, frame

E = trinq.Event

transports = pytest.mark.parametrize("transport", TRANSPORTS)


@transports
async def test_scatter_round_robins_and_gather_fair_queues(ctx, transport, tmp_path):
    """SCATTER: "SHALL route outgoing messages to available peers using a round-robin
    strategy"; GATHER: "SHALL receive incoming messages from its peers using a
    fair-queuing strategy"."""
    with trio.fail_after(10):
        scatter = ctx.socket(trinq.SCATTER)
        mon = scatter.monitor()
        ep = await scatter.bind(endpoint(transport, tmp_path))
        gathers = [ctx.socket(trinq.GATHER) for _ in range(2)]
        for g in gathers:
            g.connect(ep)
        await wait_for_event(mon, E.HANDSHAKE_SUCCEEDED, 2)
        for i in range(20):
            await scatter.send(b"%d" % i)
        a = [int(await gathers[0].recv()) for _ in range(10)]
        b = [int(await gathers[1].recv()) for _ in range(10)]
        assert sorted(a + b) == list(range(20))
        assert len({x % 2 for x in a}) == 1 and len({x % 2 for x in b}) == 1


@transports
async def test_gather_from_many_scatters_in_order(ctx, transport, tmp_path):
    """GATHER: each peer's messages arrive in the order it sent them."""
    with trio.fail_after(10):
        gather = ctx.socket(trinq.GATHER)
        ep = await gather.bind(endpoint(transport, tmp_path))
        scatters = [ctx.socket(trinq.SCATTER) for _ in range(3)]
        for s in scatters:
            s.connect(ep)
        for i in range(100):
            for k, s in enumerate(scatters):
                await s.send(b"%d %d" % (k, i))
        seqs: dict[bytes, list[int]] = {}
        for _ in range(300):
            k, i = (await gather.recv()).split()
            seqs.setdefault(k, []).append(int(i))
        assert all(seq == list(range(100)) for seq in seqs.values())
        assert len(seqs) == 3


@transports
async def test_scatter_blocks_with_no_peers(ctx, transport, tmp_path):
    """SCATTER: "SHALL block on sending ... when it has no available peers"."""
    with trio.fail_after(10):
        scatter = ctx.socket(trinq.SCATTER)
        await scatter.bind(endpoint(transport, tmp_path))
        with pytest.raises(trinq.Again):
            await scatter.send(b"x", trinq.DONTWAIT)
        with trio.move_on_after(0.05) as scope:
            await scatter.send(b"x")
        assert scope.cancelled_caught


@transports
async def test_channel_is_an_exclusive_pair(ctx, transport, tmp_path):
    """CHANNEL: "SHALL ... connect to at most one peer" and carries messages both
    ways."""
    with trio.fail_after(10):
        a, b = ctx.socket(trinq.CHANNEL), ctx.socket(trinq.CHANNEL)
        ep = await a.bind(endpoint(transport, tmp_path))
        b.connect(ep)
        for i in range(10):
            await b.send(b"ping %d" % i)
            assert await a.recv() == b"ping %d" % i
            await a.send(b"pong %d" % i)
            assert await b.recv() == b"pong %d" % i
        intruder = ctx.socket(trinq.CHANNEL)
        intruder.connect(ep)
        await intruder.send(b"intruder")
        await b.send(b"still b")
        assert await a.recv() == b"still b"


@pytest.mark.parametrize("kind", ["SCATTER", "CHANNEL", "GATHER", "DISH"])
async def test_multipart_sends_are_refused(ctx, kind):
    """RFC 49/52: multipart is forbidden; EINVAL at once (GATHER and DISH cannot send
    at all: ENOTSUP for a single frame, EINVAL for more)."""
    with trio.fail_after(10):
        s = ctx.socket(getattr(trinq, kind))
        with pytest.raises(trinq.ZMQError) as info:
            await s.send_multipart([b"a", b"b"])
        assert info.value.errno == trinq.EINVAL
        with pytest.raises(trinq.ZMQError) as info:
            await s.send(b"a", trinq.SNDMORE)
        assert info.value.errno == trinq.EINVAL


# --- a multipart message from a peer is a protocol error for that peer ------------


@pytest.mark.parametrize(
    ("kind", "peer_type", "bad"),
    [
        ("SERVER", "CLIENT", [b"a", b"b"]),
        ("GATHER", "SCATTER", [b"a", b"b"]),
        ("CHANNEL", "CHANNEL", [b"a", b"b"]),
        ("PEER", "PEER", [b"a", b"b"]),
        ("DISH", "RADIO", [b"g", b"a", b"b"]),
    ],
)
async def test_multipart_from_a_peer_disconnects_it_only(ctx, kind, peer_type, bad):
    """A peer that sends a multipart message is disconnected (a protocol error, with a
    DISCONNECTED event saying so); what it sent before, and the other peers, are
    unaffected."""
    with trio.fail_after(10):
        sock = ctx.socket(getattr(trinq, kind))
        mon = sock.monitor()
        ep = await sock.bind("tcp://127.0.0.1:0")
        if kind == "DISH":
            sock.join("g")
        good_frames = [b"g", b"good"] if kind == "DISH" else [b"good"]
        peer = await RawPeer.connect_tcp(ep)
        await peer.handshake(peer_type)
        await wait_for_event(mon, E.HANDSHAKE_SUCCEEDED)
        wire = b"".join(
            frame(f, MORE if i < len(good_frames) - 1 else 0) for i, f in enumerate(good_frames)
        )
        wire += b"".join(frame(f, MORE if i < len(bad) - 1 else 0) for i, f in enumerate(bad))
        await peer.send(wire)
        seen = await wait_for_event(mon, E.DISCONNECTED)
        reason = seen[-1].reason
        assert "protocol error" in reason and "multipart message" in reason, reason
        await peer.wait_closed()
        await peer.aclose()
        assert await sock.recv() == b"good"
        with pytest.raises(trinq.Again):
            await sock.recv(trinq.DONTWAIT)
        # another peer is served as before
        other = await RawPeer.connect_tcp(ep)
        await other.handshake(peer_type)
        await other.send(
            b"".join(
                frame(f, MORE if i < len(good_frames) - 1 else 0) for i, f in enumerate(good_frames)
            )
        )
        assert await sock.recv() == b"good"
        await other.aclose()
