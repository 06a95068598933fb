"""ZMTP 3.1 heartbeats (RFC 37, docs/interop.md §15) against a hand-driven raw peer.

The raw peer completes the handshake by hand (tests/rawpeer.py) and then does exactly
what each test needs: stay silent, PING with a context or a TTL, answer PINGs, ...
Time is virtual (``autojump_clock``): ``trio.sleep`` only advances it.
"""

from __future__ import annotations

import struct

import pytest
import trio
from rawpeer import RawPeer, command, drain, ping, serve_raw_once

import trinq
from trinq.testing import wait_for_event

E = trinq.Event


async def connect_raw(
    ctx: trinq.Context, nursery: trio.Nursery, **options: int
) -> tuple[trinq.Socket, trinq.Monitor, RawPeer, trio.MemoryReceiveChannel[RawPeer]]:
    """A trinq PAIR connects to a raw listener; the raw peer handshakes as PAIR."""
    port, accepted = await nursery.start(serve_raw_once)
    sock = ctx.socket(trinq.PAIR, **options)
    mon = sock.monitor()
    sock.connect(f"tcp://127.0.0.1:{port}")
    peer = await accepted.receive()
    await peer.handshake("PAIR")
    await wait_for_event(mon, E.HANDSHAKE_SUCCEEDED, timeout=100)
    return sock, mon, peer, accepted


async def test_heartbeat_timeout_detects_silent_peer(ctx, autojump_clock):
    """With heartbeat_ivl set we PING; a peer that then sends nothing at all within
    heartbeat_timeout is dropped (and, being a timeout, re-dialled)."""
    with trio.fail_after(100):
        async with trio.open_nursery() as nursery:
            _sock, mon, peer, accepted = await connect_raw(
                ctx, nursery, heartbeat_ivl=1000, heartbeat_timeout=3000, reconnect_ivl=100
            )
            t0 = trio.current_time()
            name, data = await peer.read_command()
            assert name == b"PING"
            assert trio.current_time() - t0 == pytest.approx(1.0, abs=0.01)
            (ttl,) = struct.unpack(">H", data[:2])
            assert ttl == 0  # heartbeat_ttl default 0
            assert data[2:] == b""  # empty context, as libzmq
            # stay silent (but keep reading)
            await wait_for_event(mon, E.DISCONNECTED, timeout=100)
            assert trio.current_time() - t0 == pytest.approx(4.0, abs=0.01)
            await peer.wait_closed()
            second = await accepted.receive()  # a timeout is retried
            await second.aclose()
            nursery.cancel_scope.cancel()


async def test_answering_peer_is_kept(ctx, autojump_clock):
    """A peer that answers each PING with a PONG stays connected for many intervals."""
    with trio.fail_after(100):
        async with trio.open_nursery() as nursery:
            sock, mon, peer, _ = await connect_raw(
                ctx, nursery, heartbeat_ivl=1000, heartbeat_timeout=500
            )
            for _ in range(20):
                name, _data = await peer.read_command()
                assert name == b"PING"
                await peer.send(command(b"PONG"))
            assert E.DISCONNECTED not in [e.event for e in drain(mon)]
            await peer.send(b"\x00\x05alive")
            assert await sock.recv() == b"alive"
            nursery.cancel_scope.cancel()


@pytest.mark.parametrize(
    ("context", "echo"),
    [(b"", b""), (b"LOL", b"LOL"), (bytes(range(58)), bytes(range(16)))],
    ids=["empty", "LOL", "58-bytes"],
)
async def test_pong_echoes_at_most_16_bytes_of_context(ctx, context, echo):
    """RFC 37: PONG carries the PING's context; libzmq (test_heartbeats.cpp) echoes at
    most 16 octets of it -- a 58-octet context gives 16 back."""
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            _sock, mon, peer, _ = await connect_raw(ctx, nursery)
            await peer.send(ping(0, context))
            name, data = await peer.read_command()
            assert name == b"PONG"
            assert data == echo
            assert E.DISCONNECTED not in [e.event for e in drain(mon)]
            nursery.cancel_scope.cancel()


@pytest.mark.parametrize(
    ("ttl_ms", "ttl_ds"),
    [(2500, 25), (2599, 25), (65500, 655), (65600, 655), (100_000, 655), (6_553_599, 655)],
)
async def test_ping_ttl_in_deciseconds_capped_at_655(ctx, autojump_clock, ttl_ms, ttl_ds):
    """Our PING's TTL is heartbeat_ttl in deciseconds (truncated), never above 655:
    libzmq converts it in 16-bit arithmetic and would wrap (docs/interop.md §15, libzmq#4226)."""
    with trio.fail_after(100):
        async with trio.open_nursery() as nursery:
            _sock, _mon, peer, _ = await connect_raw(
                ctx, nursery, heartbeat_ivl=1000, heartbeat_ttl=ttl_ms
            )
            name, data = await peer.read_command()
            assert name == b"PING"
            assert struct.unpack(">H", data[:2])[0] == ttl_ds
            nursery.cancel_scope.cancel()


async def test_peer_ttl_expiry_drops_connection(ctx, autojump_clock):
    """A PING with a TTL arms a timer on our side (no heartbeat_ivl of our own needed):
    if nothing more arrives within the TTL, we drop the connection."""
    with trio.fail_after(100):
        async with trio.open_nursery() as nursery:
            _sock, mon, peer, _ = await connect_raw(ctx, nursery)
            t0 = trio.current_time()
            await peer.send(ping(20))  # 2 s
            name, _ = await peer.read_command()
            assert name == b"PONG"
            await wait_for_event(mon, E.DISCONNECTED, timeout=100)
            assert trio.current_time() - t0 == pytest.approx(2.0, abs=0.01)
            await peer.wait_closed()
            nursery.cancel_scope.cancel()


async def test_peer_ttl_rearmed_by_traffic(ctx, autojump_clock):
    """Anything received within the TTL keeps the connection; only silence drops it."""
    with trio.fail_after(100):
        async with trio.open_nursery() as nursery:
            sock, mon, peer, _ = await connect_raw(ctx, nursery)
            for i in range(10):
                await peer.send(ping(20))  # 2 s TTL
                await peer.read_command()
                await trio.sleep(1.5)
                await peer.send(b"\x00\x01" + bytes([i]))
                await trio.sleep(1.5)
            assert E.DISCONNECTED not in [e.event for e in drain(mon)]
            assert [await sock.recv() for _ in range(10)] == [bytes([i]) for i in range(10)]
            t0 = trio.current_time()
            await peer.send(ping(20))
            await wait_for_event(mon, E.DISCONNECTED, timeout=100)
            assert trio.current_time() - t0 == pytest.approx(2.0, abs=0.01)
            nursery.cancel_scope.cancel()


async def test_ping_ttl_zero_arms_nothing(ctx, autojump_clock):
    """A PING with TTL 0 asks for nothing: the connection stays however long it is silent."""
    with trio.fail_after(1000):
        async with trio.open_nursery() as nursery:
            _sock, mon, peer, _ = await connect_raw(ctx, nursery)
            await peer.send(ping(0, b"ctx"))
            assert await peer.read_command() == (b"PONG", b"ctx")
            await trio.sleep(600)
            assert E.DISCONNECTED not in [e.event for e in drain(mon)]
            nursery.cancel_scope.cancel()
