"""trinq <-> libzmq over ws:// (ZWS 2.0): PUSH/PULL, REQ/REP and PUB/SUB, each in both
directions and with either side bound, plus multipart and large messages and
heartbeats (WebSocket ping/pong) against libzmq.

The libzmq peer is Node's ``zeromq`` 6.x (a draft libzmq 4.3.5 with ws, although its
``capability`` does not say so), driven through ``node/ws_peer.js`` with the machinery
of :mod:`nodepeer` (installed on demand; never skipped in CI).
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import pytest
import trio
from nodepeer import NODE_DIR, NodePeer, b64, node_installed, node_peer  # noqa: F401

import trinq
from trinq.testing import wait_for_event

WS_PEER_JS = NODE_DIR / "ws_peer.js"
E = trinq.Event

pytestmark = pytest.mark.usefixtures("node_installed")


class WsPeer(NodePeer):
    """``ws_peer.js``: NodePeer's protocol, with multipart and subscriptions."""

    async def send_frames(self, *frames: bytes) -> None:
        await self.request("send", frames=[b64(f) for f in frames])

    async def recv_frames(self, timeout_ms: int | None = None) -> list[bytes]:
        reply = await self.request("recv", timeout=timeout_ms)
        return [base64.b64decode(f) for f in reply["frames"]]

    async def subscribe(self, topic: bytes) -> None:
        await self.request("subscribe", topic=b64(topic))


@asynccontextmanager
async def ws_peer(kind: str, mode: str, endpoint: str, **options: Any) -> AsyncIterator[WsPeer]:
    """Run ``ws_peer.js kind mode endpoint options`` for the block."""
    async with node_peer(
        kind, mode, endpoint, json.dumps(options), script=WS_PEER_JS, peer_class=WsPeer
    ) as peer:
        yield peer


@asynccontextmanager
async def pair_up(
    ctx: trinq.Context, ours: int, theirs: str, trinq_binds: bool, **trinq_options: Any
) -> AsyncIterator[tuple[trinq.Socket, WsPeer]]:
    """A trinq socket of type ``ours`` and a libzmq one of type ``theirs`` over ws,
    with the trinq side bound or connecting; returns once the trinq side has
    completed a handshake."""
    sock = ctx.socket(ours, linger=1000, **trinq_options)
    async with sock.monitor() as mon:
        if trinq_binds:
            ep = await sock.bind("ws://127.0.0.1:0/interop")
            async with ws_peer(theirs, "connect", ep) as peer:
                await wait_for_event(mon, E.HANDSHAKE_SUCCEEDED)
                yield sock, peer
        else:
            async with ws_peer(theirs, "bind", "ws://127.0.0.1:0/interop") as peer:
                assert peer.endpoint.startswith("ws://127.0.0.1:")
                sock.connect(peer.endpoint)
                await wait_for_event(mon, E.HANDSHAKE_SUCCEEDED)
                yield sock, peer
    sock.close(linger=0)


BIND_SIDES = pytest.mark.parametrize(
    "trinq_binds", [True, False], ids=["trinq-binds", "node-binds"]
)


@BIND_SIDES
async def test_trinq_push_to_libzmq_pull(ctx, trinq_binds) -> None:
    with trio.fail_after(30):
        async with pair_up(ctx, trinq.PUSH, "PULL", trinq_binds) as (push, peer):
            for i in range(20):
                await push.send_multipart([b"frame %d" % i, b"more", b""])
            for i in range(20):
                assert await peer.recv_frames() == [b"frame %d" % i, b"more", b""]
            big = bytes(range(256)) * 1000  # 256 KB: a 64-bit WebSocket length
            await push.send(big)
            assert await peer.recv_frames() == [big]


@BIND_SIDES
async def test_libzmq_push_to_trinq_pull(ctx, trinq_binds) -> None:
    with trio.fail_after(30):
        async with pair_up(ctx, trinq.PULL, "PUSH", trinq_binds) as (pull, peer):
            for i in range(20):
                await peer.send_frames(b"from libzmq %d" % i, b"x" * (i * 20))
            for i in range(20):
                with trio.fail_after(5):
                    assert await pull.recv_multipart() == [b"from libzmq %d" % i, b"x" * (i * 20)]
            big = bytes(range(256)) * 300
            await peer.send_frames(big)
            with trio.fail_after(5):
                assert await pull.recv() == big


@BIND_SIDES
async def test_trinq_req_to_libzmq_rep(ctx, trinq_binds) -> None:
    with trio.fail_after(30):
        async with pair_up(ctx, trinq.REQ, "REP", trinq_binds) as (req, peer):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(partial(peer.request, "echo", count=5))
                for i in range(5):
                    await req.send_multipart([b"request %d" % i, b"part"])
                    with trio.fail_after(5):
                        assert await req.recv_multipart() == [b"request %d" % i, b"part"]


@BIND_SIDES
async def test_libzmq_req_to_trinq_rep(ctx, trinq_binds) -> None:
    with trio.fail_after(30):
        async with pair_up(ctx, trinq.REP, "REQ", trinq_binds) as (rep, peer):
            for i in range(5):
                async with trio.open_nursery() as nursery:

                    async def answer() -> None:
                        with trio.fail_after(5):
                            msg = await rep.recv_multipart()
                        await rep.send_multipart([*msg, b"answered"])

                    nursery.start_soon(answer)
                    await peer.send_frames(b"question %d" % i)
                    assert await peer.recv_frames() == [b"question %d" % i, b"answered"]


async def _recv_or_none(peer: WsPeer, timeout_ms: int = 50) -> list[bytes] | None:
    reply = await peer.request_raw("recv", timeout=timeout_ms)
    if reply.get("error") == "timeout":
        return None
    assert "error" not in reply, reply
    return [base64.b64decode(f) for f in reply["frames"]]


@BIND_SIDES
async def test_trinq_pub_to_libzmq_sub(ctx, trinq_binds) -> None:
    with trio.fail_after(30):
        async with pair_up(ctx, trinq.PUB, "SUB", trinq_binds) as (pub, peer):
            await peer.subscribe(b"weather")
            first = [b"weather.paris", b"sunny"]
            got = None
            while got is None:  # (the subscription reaches the PUB when it does)
                await pub.send_multipart(first)
                got = await _recv_or_none(peer)
            assert got == first
            # the PUB filters: only the subscribed topic arrives
            await pub.send(b"sports: nothing")
            await pub.send_multipart([b"weather.rome", b"rain"])
            while (frames := await peer.recv_frames()) == first:
                pass  # (copies sent while waiting for the subscription)
            assert frames == [b"weather.rome", b"rain"]


@BIND_SIDES
async def test_libzmq_pub_to_trinq_sub(ctx, trinq_binds) -> None:
    with trio.fail_after(30):
        async with pair_up(ctx, trinq.SUB, "PUB", trinq_binds) as (sub, peer):
            sub.subscribe(b"weather")
            first = [b"weather.oslo", b"snow"]
            got = None
            while got is None:
                await peer.send_frames(*first)
                with trio.move_on_after(0.05):
                    got = await sub.recv_multipart()
            assert got == first
            await peer.send_frames(b"sports")
            await peer.send_frames(b"weather.nice", b"sun")
            while (frames := await sub.recv_multipart()) == first:
                pass
            assert frames == [b"weather.nice", b"sun"]
            # an unsubscription and a new subscription reach libzmq's PUB too
            sub.unsubscribe(b"weather")
            sub.subscribe(b"news")
            while True:
                await peer.send_frames(b"weather.again")
                await peer.send_frames(b"news!")
                with trio.move_on_after(0.05):
                    if await sub.recv_multipart() == [b"news!"]:
                        break
            # from now on weather is filtered out at libzmq's PUB
            await peer.send_frames(b"weather.late")
            await peer.send_frames(b"news.last")
            while (frames := await sub.recv_multipart()) != [b"news.last"]:
                assert frames in ([b"news!"], [b"weather.again"]), frames


async def test_trinq_heartbeats_against_libzmq(ctx) -> None:
    """trinq's heartbeat PINGs are WebSocket pings; libzmq answers with pongs, so a
    short heartbeat_timeout keeps the link up while nothing else flows."""
    with trio.fail_after(30):
        options = {"heartbeat_ivl": 20, "heartbeat_timeout": 500}
        async with pair_up(ctx, trinq.PULL, "PUSH", True, **options) as (pull, peer):
            before = pull.statistics().bytes_in
            async with pull.monitor() as mon:
                with trio.move_on_after(1.0):  # 50 heartbeat periods, no data
                    ev = await mon.receive()
                    pytest.fail(f"unexpected event {ev}")
            assert pull.statistics().bytes_in > before  # libzmq's pongs
            await peer.send_frames(b"still connected")
            with trio.fail_after(5):
                assert await pull.recv() == b"still connected"


async def test_libzmq_heartbeats_against_trinq(ctx) -> None:
    """libzmq's heartbeat pings (WebSocket pings) get trinq's pongs."""
    with trio.fail_after(30):
        pull = ctx.socket(trinq.PULL)
        async with pull.monitor() as mon:
            ep = await pull.bind("ws://127.0.0.1:0/hb")
            opts = {"heartbeatInterval": 20, "heartbeatTimeout": 500}
            async with ws_peer("PUSH", "connect", ep, **opts) as peer:
                await wait_for_event(mon, E.HANDSHAKE_SUCCEEDED)
                before = pull.statistics().bytes_in
                with trio.move_on_after(1.0):
                    ev = await mon.receive()
                    pytest.fail(f"unexpected event {ev}")
                assert pull.statistics().bytes_in > before  # libzmq's pings
                await peer.send_frames(b"alive")
                with trio.fail_after(5):
                    assert await pull.recv() == b"alive"
