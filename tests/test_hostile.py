"""Hostile peers while serving good ones (issue 17), over tcp and ipc.

Each test binds a trinq socket, connects a good trinq peer to it, and lets raw
connections (tests/rawpeer.py) misbehave on the same endpoint: garbage, huge declared
sizes, slowloris greetings, PING and SUBSCRIBE floods from peers that never read,
connection floods, half-open peers, reconnect storms, a stolen routing id. In each,
the good peer's messages all arrive, in order, and once the hostile peers are gone
the number of living trio tasks is back to what it was before they came
(``trio.lowlevel.current_statistics().tasks_living``). Queue bounds are checked on
the engine (``Engine.commands``), on the pattern, and with tracemalloc.

Time is virtual (``autojump_clock``) where only trio timers are waited for; the
flood tests run in real time and are bounded by ``trio.fail_after``.
"""

from __future__ import annotations

import random
import socket
import struct
import tracemalloc
from typing import Any

import hostile
import pytest
import trio
from hostile import engines, expect_in_order
from rawpeer import (
    COMMAND,
    LONG,
    MORE,
    RawPeer,
    command,
    frame,
    greeting,
    message,
    ping,
    ready,
    wait_until,
)

import trinq
import trinq._engine
from trinq.testing import WIRE_TRANSPORTS, endpoint, wait_for_event

E = trinq.Event

pytestmark = pytest.mark.parametrize("transport", WIRE_TRANSPORTS)


async def raw_connect(ep: str, *, rcvbuf: int | None = None) -> RawPeer:
    """A raw connection to a tcp or ipc endpoint (optionally with a tiny receive
    buffer, for a peer that never reads)."""
    if ep.startswith("tcp://"):
        host, _, port = ep.removeprefix("tcp://").rpartition(":")
        sock = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_STREAM)
        addr: Any = (host, int(port))
    else:
        sock = trio.socket.socket(trio.socket.AF_UNIX, trio.socket.SOCK_STREAM)
        addr = ep.removeprefix("ipc://")
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    await sock.connect(addr)
    return RawPeer(trio.SocketStream(sock))


async def raw_handshake(peer: RawPeer, socket_type: str, identity: bytes | None = None) -> None:
    """Greeting + READY without reading anything back (a peer that never reads)."""
    await peer.send(greeting() + ready(socket_type, identity))


def serving(ctx: trinq.Context, transport: str, tmp_path: Any, *args: Any, **options: Any) -> Any:
    """:func:`hostile.serving` on a tcp or ipc endpoint."""
    return hostile.serving(ctx, endpoint(transport, tmp_path), *args, **options)


# --- garbage -------------------------------------------------------------------------


async def test_garbage_is_refused_while_the_good_peer_is_served(ctx, transport, tmp_path):
    """Random junk, before the greeting, after it, and after a whole handshake. The
    server drops the first two kinds by itself (at once, or at handshake_ivl for junk
    that is an incomplete handshake so far); junk after a handshake may be a legal
    frame in progress, so those peers hang up themselves."""
    rng = random.Random(17)
    with trio.fail_after(20):
        async with serving(ctx, transport, tmp_path, handshake_ivl=300) as (sock, ep, _mon, good):
            refused, hanging_up = [], []
            for i in range(30):
                peer = await raw_connect(ep)
                junk = rng.randbytes(rng.randrange(1, 600))
                if i % 3 == 0:
                    refused.append(peer)
                elif i % 3 == 1:
                    junk = greeting() + junk
                    refused.append(peer)
                else:
                    junk = greeting() + ready("PUSH") + junk
                    hanging_up.append(peer)
                try:
                    await peer.send(junk)
                except (trio.BrokenResourceError, OSError):
                    pass  # already refused
                await good.send_some(10)
            await expect_in_order(sock, 300)
            for peer in refused:
                await peer.wait_closed()
                await peer.aclose()
            for peer in hanging_up:
                await peer.aclose()


# --- huge declared sizes -------------------------------------------------------------


async def test_huge_declared_frame_with_maxmsgsize_is_dropped_at_once(ctx, transport, tmp_path):
    with trio.fail_after(20):
        async with serving(ctx, transport, tmp_path, maxmsgsize=4096) as (sock, ep, _mon, good):
            peer = await raw_connect(ep)
            await raw_handshake(peer, "PUSH")
            await peer.send(bytes([LONG]) + struct.pack(">Q", 1 << 62))
            await peer.wait_closed()  # the declared size alone is enough
            await good.send_some(100)
            await expect_in_order(sock, 100)
            await peer.aclose()


async def test_huge_declared_frame_without_maxmsgsize_holds_only_what_came(
    ctx, transport, tmp_path
):
    """No maxmsgsize: the frame is legal, so the connection waits for its body; the
    decoder holds what the peer sent (one frame), nothing more, and the good peer is
    served meanwhile."""
    with trio.fail_after(20):
        async with serving(ctx, transport, tmp_path) as (sock, ep, _mon, good):
            peer = await raw_connect(ep)
            await raw_handshake(peer, "PUSH")
            body = b"x" * 300_000
            await peer.send(bytes([LONG]) + struct.pack(">Q", 1 << 40) + body)
            await good.send_some(100)
            await expect_in_order(sock, 100)
            await wait_until(lambda: any(e.codec.wanted_bytes > 1 << 39 for e in engines(sock)))
            held = [e.codec._decoder.buffered for e in engines(sock) if e.codec.wanted_bytes]
            assert held and max(held) <= 9 + len(body)
            await peer.aclose()


async def test_huge_handshake_command_is_refused_after_a_bound(ctx, transport, tmp_path):
    """Without maxmsgsize a READY may declare any size; the handshake takes at most
    MAX_HANDSHAKE_BYTES before it gives up, instead of buffering for handshake_ivl."""
    with trio.fail_after(20):
        async with serving(ctx, transport, tmp_path) as (sock, ep, mon, good):
            peer = await raw_connect(ep)
            await peer.send(greeting() + bytes([COMMAND | LONG]) + struct.pack(">Q", 1 << 40))
            chunk = bytes(65536)
            async with trio.open_nursery() as nursery:

                async def stuff() -> None:
                    try:
                        while True:
                            await peer.send(chunk)
                    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                        pass

                nursery.start_soon(stuff)
                seen = await wait_for_event(mon, E.HANDSHAKE_FAILED_PROTOCOL)
                assert "octets" in (seen[-1].reason or "")
                nursery.cancel_scope.cancel()
            await good.send_some(50)
            await expect_in_order(sock, 50)
            await peer.aclose()


# --- slowloris -----------------------------------------------------------------------


async def test_slowloris_greetings_time_out_at_handshake_ivl(
    ctx, transport, tmp_path, autojump_clock
):
    # (binding an ipc path runs in a thread: no deadline may be armed meanwhile under
    # the autojump clock, so the bound starts once the socket is serving)
    async with serving(ctx, transport, tmp_path, handshake_ivl=500) as (sock, ep, mon, good):
        with trio.fail_after(100):
            peers = [await raw_connect(ep) for _ in range(20)]
            t0 = trio.current_time()
            async with trio.open_nursery() as nursery:

                async def trickle(peer: RawPeer) -> None:
                    try:
                        for byte in greeting():
                            await peer.send(bytes([byte]))
                            await trio.sleep(0.1)
                    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                        pass

                for peer in peers:
                    nursery.start_soon(trickle, peer)
                await good.send_some(50)
                await expect_in_order(sock, 50)
                await wait_for_event(mon, E.HANDSHAKE_FAILED_NO_DETAIL, 20, timeout=100)
                assert trio.current_time() - t0 == pytest.approx(0.5, abs=0.05)
            for peer in peers:
                await peer.aclose()


async def test_endless_multipart_message_is_bounded(ctx, transport, tmp_path):
    """maxmsgsize bounds a multipart message as a whole (libzmq checks frames only): a
    message that never ends is a protocol error once it passes the limit, so memory
    stays bounded and the good peer is served meanwhile."""
    with trio.fail_after(20):
        async with serving(ctx, transport, tmp_path, maxmsgsize=100, rcvhwm=10) as (
            sock,
            ep,
            mon,
            good,
        ):
            peer = await raw_connect(ep)
            await raw_handshake(peer, "PUSH")
            await wait_for_event(mon, E.HANDSHAKE_SUCCEEDED)
            chunk = frame(b"12345678", MORE) * 5000
            tracemalloc.start()
            try:
                base, _ = tracemalloc.get_traced_memory()
                try:
                    for _ in range(20):  # up to 100 000 frames of one message
                        await peer.send(chunk)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    pass  # dropped: what it was told to stop
                grown = tracemalloc.get_traced_memory()[0] - base
            finally:
                tracemalloc.stop()
                await peer.aclose()
            seen = await wait_for_event(mon, E.DISCONNECTED)
            assert "exceeds maxmsgsize" in (seen[-1].reason or ""), seen[-1]
            await good.send_some(3)
            await expect_in_order(sock, 3)
            assert grown < 1024 * 1024, grown


# --- floods from peers that never read ----------------------------------------------


async def test_ping_flood_from_a_peer_that_never_reads(ctx, transport, tmp_path):
    """Every PING is owed a PONG, but only one is ever queued (the newest context):
    the command queue and the traced memory stay flat however long the flood."""
    with trio.fail_after(30):
        async with serving(ctx, transport, tmp_path, rcvhwm=10) as (sock, ep, _mon, good):
            peer = await raw_connect(ep, rcvbuf=4096)
            await raw_handshake(peer, "PUSH")
            await wait_until(lambda: len(engines(sock)) == 2)
            flood = ping(0, b"0123456789abcdef") * 2000
            tracemalloc.start()
            try:
                await peer.send(flood)
                await good.send_some(10)
                base, _ = tracemalloc.get_traced_memory()
                longest = 0
                for _ in range(20):  # 40 000 PINGs, ~1 MB
                    await peer.send(flood)
                    longest = max(longest, *(len(e.commands) for e in engines(sock)))
                await good.send_some(10)
                await expect_in_order(sock, 20)
                grown = tracemalloc.get_traced_memory()[0] - base
            finally:
                tracemalloc.stop()
            assert longest <= 1
            assert grown < 512 * 1024, grown  # when every PING queued a PONG: ~4 MB
            await peer.aclose()


async def test_subscribe_flood_to_a_pub_from_a_peer_that_never_reads(ctx, transport, tmp_path):
    """A PUB keeps one subscription entry per distinct topic and pipe: repeating a few
    topics forever costs nothing, and queues nothing outbound."""
    with trio.fail_after(30):
        async with serving(ctx, transport, tmp_path, sock_type=trinq.PUB, good_type=trinq.SUB) as (
            pub,
            ep,
            _mon,
            good,
        ):
            good.sock.subscribe(b"good")
            peer = await raw_connect(ep, rcvbuf=4096)
            await raw_handshake(peer, "SUB")
            flood = b"".join(command(b"SUBSCRIBE", b"topic-%d" % (i % 8)) for i in range(2000))
            flood += b"".join(command(b"CANCEL", b"topic-%d" % (i % 8)) for i in range(100))
            tracemalloc.start()
            try:
                await peer.send(flood)
                await wait_until(lambda: len(engines(pub)) == 2)
                base, _ = tracemalloc.get_traced_memory()
                for _ in range(20):
                    await peer.send(flood)
                    assert all(len(e.commands) == 0 for e in engines(pub))
                grown = tracemalloc.get_traced_memory()[0] - base
            finally:
                tracemalloc.stop()
            assert grown < 256 * 1024, grown
            for i in range(200):  # the good subscriber is served throughout
                await pub.send(b"good %06d" % i)
            await expect_in_order(good.sock, 200)
            await peer.aclose()


async def test_subscribe_flood_to_a_verbose_xpub_stops_the_reader(
    ctx, transport, tmp_path, monkeypatch
):
    """XPUB with xpub_verbose turns every SUBSCRIBE into a message for the application.
    An application that does not read them stops that peer's reader once
    MAX_COMMAND_BACKLOG are waiting (TCP then pushes back); reading them resumes it,
    and every one arrives, in order."""
    monkeypatch.setattr(trinq._engine, "MAX_COMMAND_BACKLOG", 300)
    with trio.fail_after(30):
        async with serving(
            ctx, transport, tmp_path, sock_type=trinq.XPUB, good_type=trinq.SUB, xpub_verbose=True
        ) as (xpub, ep, _mon, good):
            good.sock.subscribe(b"good")
            assert await xpub.recv() == b"\x01good"
            peer = await raw_connect(ep, rcvbuf=4096)
            await raw_handshake(peer, "SUB")
            total = 3000
            await peer.send(b"".join(command(b"SUBSCRIBE", b"t%05d" % i) for i in range(total)))
            pattern: Any = xpub._core.pattern
            await wait_until(lambda: any(e._reading_blocked for e in engines(xpub)))
            assert len(pattern._pending) <= 300
            for i in range(100):  # publishing (and the good subscriber) go on meanwhile
                await xpub.send(b"good %06d" % i)
            await expect_in_order(good.sock, 100)
            got = [await xpub.recv() for _ in range(total)]
            assert got == [b"\x01t%05d" % i for i in range(total)]
            await peer.aclose()


async def test_join_flood_to_a_radio_from_a_peer_that_never_reads(ctx, transport, tmp_path):
    """A RADIO keeps a set of groups per pipe: JOIN/LEAVE floods over a few groups cost
    nothing and queue nothing; the good DISH is served throughout."""
    with trio.fail_after(30):
        async with serving(
            ctx, transport, tmp_path, sock_type=trinq.RADIO, good_type=trinq.DISH
        ) as (radio, ep, _mon, good):
            pattern: Any = radio._core.pattern
            good.sock.join("good")
            await wait_until(lambda: b"good" in pattern._members)
            peer = await raw_connect(ep, rcvbuf=4096)
            await raw_handshake(peer, "DISH")
            flood = b"".join(
                command(b"JOIN" if i % 3 else b"LEAVE", b"g%d" % (i % 16)) for i in range(3000)
            )
            tracemalloc.start()
            try:
                await peer.send(flood)
                await wait_until(lambda: len(engines(radio)) == 2)
                base, _ = tracemalloc.get_traced_memory()
                for _ in range(15):
                    await peer.send(flood)
                    assert all(len(e.commands) == 0 for e in engines(radio))
                grown = tracemalloc.get_traced_memory()[0] - base
            finally:
                tracemalloc.stop()
            assert grown < 256 * 1024, grown
            assert len(pattern._members) <= 17
            for i in range(200):
                await radio.send(b"good %06d" % i, group="good")
            await expect_in_order(good.sock, 200)
            await peer.aclose()


# --- connection floods, half-open peers, storms ---------------------------------------


async def test_connection_flood(ctx, transport, tmp_path):
    """200 connections at once -- some silent, some handshaking, some closing at once --
    while the good peer sends; then they all go and the tasks with them."""
    with trio.fail_after(30):
        async with serving(ctx, transport, tmp_path) as (sock, ep, _mon, good):
            peers: list[RawPeer] = []
            async with trio.open_nursery() as nursery:

                async def one(i: int) -> None:
                    try:
                        peer = await raw_connect(ep)
                        peers.append(peer)
                        if i % 3 == 0:
                            await raw_handshake(peer, "PUSH")
                            await peer.send(message(b"noise"))
                        elif i % 3 == 1:
                            await peer.aclose()
                    except (OSError, trio.BrokenResourceError):
                        pass  # past the listen backlog (100) a unix connect can fail

                for i in range(200):
                    nursery.start_soon(one, i)
                await good.send_some(200)
            await expect_in_order(sock, 200)
            assert len(peers) >= 100
            for peer in peers:
                await peer.aclose()


async def test_half_open_peers_are_dropped_by_heartbeats(ctx, transport, tmp_path, autojump_clock):
    """Peers that handshake and then neither answer PINGs nor close are dropped at
    heartbeat_ivl + heartbeat_timeout; the good peer (a trinq socket) answers and stays."""
    async with serving(ctx, transport, tmp_path, heartbeat_ivl=100, heartbeat_timeout=300) as (
        sock,
        ep,
        mon,
        good,
    ):
        with trio.fail_after(100):  # (after the bind: see the slowloris test)
            peers = []
            for _ in range(10):
                peer = await raw_connect(ep)
                await raw_handshake(peer, "PUSH")
                peers.append(peer)
            t0 = trio.current_time()
            seen = await wait_for_event(mon, E.DISCONNECTED, 10, timeout=100)
            assert trio.current_time() - t0 <= 0.1 + 0.3 + 0.05
            assert all(
                "heartbeat" in (ev.reason or "") for ev in seen if ev.event == E.DISCONNECTED
            )
            await good.send_some(50)
            await expect_in_order(sock, 50)
            for peer in peers:
                await peer.aclose()


async def test_reconnect_storm(ctx, transport, tmp_path):
    """Ten rounds of 20 trinq peers that connect, handshake, send and leave."""
    await hostile.reconnect_storm(ctx, serving(ctx, transport, tmp_path))


# --- routing ids ---------------------------------------------------------------------


async def test_router_peer_claiming_another_routing_id(ctx, transport, tmp_path):
    """A raw DEALER announces the good peer's Identity: ROUTER (without
    router_handover) keeps the first owner; the impostor's messages go nowhere and
    replies still reach the good peer."""
    await hostile.routing_id_theft(ctx, endpoint(transport, tmp_path), raw_connect, message)
