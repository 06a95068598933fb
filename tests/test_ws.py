"""ws:// and wss:// specifics (RFC 45 ZWS 2.0 over RFC 6455): addresses, the HTTP
upgrade and what it refuses, several paths on one port, unbind/rebind, reconnects,
monitor events, heartbeats as WebSocket ping/pong, the bare ``ZWS2.0`` subprotocol,
wss with a test CA, and the sans-I/O codec. (Every pattern's spec tests also run over
ws: trinq.testing.TRANSPORTS; libzmq interop is in tests/interop/test_ws_interop.py.)
"""

from __future__ import annotations

import errno
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import trio
from rawwspeer import BINARY, PONG, RawWsPeer, ws_ping
from rawwspeer import ping as zmtp_ping

import trinq
from trinq import zmtp
from trinq.testing import wait_for_event
from trinq.zmtp import _zws
from trinq.zmtp._zws import ZwsConnection, mask, select_subprotocol

E = trinq.Event
WS_UNSPECIFIED = zmtp.ProtocolErrorCode.WS_UNSPECIFIED


def port_of(endpoint: str) -> int:
    return int(endpoint.rsplit(":", 1)[1].split("/", 1)[0])


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port: int = s.getsockname()[1]
    s.close()
    return port


async def recv_in(sock: trinq.Socket, timeout: float = 5) -> list[bytes]:
    with trio.fail_after(timeout):
        return await sock.recv_multipart()


async def roundtrip(ctx: trinq.Context, endpoint: str) -> None:
    """A fresh PUSH reaches the PULL bound at ``endpoint`` (other peers unaffected)."""
    push = ctx.socket(trinq.PUSH, linger=5000)
    push.connect(endpoint)
    await push.send(b"still fine")
    await push.aclose()  # (once it has been written)


# --- a hand-made WebSocket client ----------------------------------------------------


def upgrade_request(port: int, path: str = "/", protocols: str | None = "ZWS2.0/NULL") -> bytes:
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
    ]
    if protocols is not None:
        lines.append(f"Sec-WebSocket-Protocol: {protocols}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def read_head(stream: trio.abc.Stream) -> tuple[bytes, bytes]:
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = await stream.receive_some(4096)
        if not data:
            return buf, b""
        buf += data
    head, _, rest = buf.partition(b"\r\n\r\n")
    return head, rest


async def read_all(stream: trio.abc.Stream) -> bytes:
    out = b""
    while True:
        try:
            data = await stream.receive_some(65536)
        except trio.BrokenResourceError:
            return out
        if not data:
            return out
        out += data


class RawClient:
    """A WebSocket client speaking ZWS by hand (the codec for the good traffic)."""

    def __init__(self, stream: trio.SocketStream, codec: ZwsConnection) -> None:
        self.stream = stream
        self.codec = codec

    async def send_raw(self, data: bytes) -> None:
        await self.stream.send_all(data)

    async def send(self, *frames: bytes) -> None:
        await self.stream.send_all(self.codec.send_message(list(frames)))

    async def events(self) -> list[Any]:
        """Read until the codec has events (or the server closed: [])."""
        while True:
            evs = self.codec.events()
            if evs:
                return evs
            data = await self.stream.receive_some(65536)
            if not data:
                return []
            self.codec.receive_data(data)


@asynccontextmanager
async def raw_client(
    endpoint: str, protocols: str = "ZWS2.0/NULL", socket_type: str = "PUSH"
) -> AsyncIterator[RawClient]:
    port = port_of(endpoint)
    path = "/" + endpoint.split("/", 3)[3]
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    try:
        await stream.send_all(upgrade_request(port, path, protocols))
        head, rest = await read_head(stream)
        assert head.startswith(b"HTTP/1.1 101"), head
        chosen = [
            line.split(b":", 1)[1].strip().decode()
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"sec-websocket-protocol:")
        ]
        codec = ZwsConnection(socket_type, client=True, subprotocol=chosen[0], received=rest)
        await stream.send_all(codec.initiate())
        client = RawClient(stream, codec)
        evs = await client.events()
        assert evs and type(evs[0]) is zmtp.HandshakeComplete, evs
        yield client
    finally:
        await trio.aclose_forcefully(stream)


def masked_frame(opcode_byte: int, payload: bytes, key: bytes = b"\x01\x02\x03\x04") -> bytes:
    """One client frame (masked) with the given first octet (FIN/RSV/opcode)."""
    n = len(payload)
    if n < 126:
        hdr = bytes((opcode_byte, 0x80 | n))
    elif n < 65536:
        hdr = bytes((opcode_byte, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        hdr = bytes((opcode_byte, 0x80 | 127)) + n.to_bytes(8, "big")
    return hdr + key + mask(payload, int.from_bytes(key, "little"))


# --- addresses, bind and unbind ---------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "ws://127.0.0.1",
        "ws://127.0.0.1/x",
        "ws://127.0.0.1:abc/x",
        "ws://127.0.0.1:70000/x",
        "ws://*:5555/x",
        "ws://127.0.0.1:0/x",
        "ws://127.0.0.1:5555/a b",
        "ws://[::1/x",
    ],
)
async def test_connect_address_errors(ctx, address) -> None:
    sock = ctx.socket(trinq.PUSH)
    with pytest.raises(trinq.ZMQError) as info:
        sock.connect(address)
    assert info.value.errno == errno.EINVAL


async def test_bind_port_0_and_star_resolve(ctx) -> None:
    with trio.fail_after(10):
        pull = ctx.socket(trinq.PULL)
        ep = await pull.bind("ws://127.0.0.1:0/feed")
        assert ep.startswith("ws://127.0.0.1:") and ep.endswith("/feed")
        assert port_of(ep) > 0
        assert pull.last_endpoint == ep
        ep2 = await pull.bind("ws://127.0.0.1:*")
        assert ep2.endswith("/") and port_of(ep2) not in (0, port_of(ep))
        wild = ctx.socket(trinq.PULL)
        ep3 = await wild.bind("ws://*:0/all")
        assert ep3.startswith("ws://0.0.0.0:") and ep3.endswith("/all")
        push = ctx.socket(trinq.PUSH, linger=0)
        push.connect(f"ws://127.0.0.1:{port_of(ep3)}/all")
        await push.send(b"via the wildcard")
        assert await recv_in(wild) == [b"via the wildcard"]


async def test_paths_on_one_port_dispatch(ctx) -> None:
    with trio.fail_after(10):
        a = ctx.socket(trinq.PULL)
        ep_a = await a.bind("ws://127.0.0.1:0/a")
        port = port_of(ep_a)
        b = ctx.socket(trinq.PULL)
        ep_b = await b.bind(f"ws://127.0.0.1:{port}/b")
        assert ep_b == f"ws://127.0.0.1:{port}/b"
        ep_c = await a.bind(f"ws://127.0.0.1:{port}/c")  # one socket, two paths
        pushes = {}
        for name, ep in (("a", ep_a), ("b", ep_b), ("c", ep_c)):
            push = pushes[name] = ctx.socket(trinq.PUSH, linger=0)
            push.connect(ep)
            await push.send(name.encode())
        assert await recv_in(b) == [b"b"]
        assert sorted([(await recv_in(a))[0], (await recv_in(a))[0]]) == [b"a", b"c"]
        # a query string does not change the path
        q = ctx.socket(trinq.PUSH, linger=0)
        q.connect(f"ws://127.0.0.1:{port}/b?from=test")
        await q.send(b"query")
        assert await recv_in(b) == [b"query"]


async def test_eaddrinuse(ctx) -> None:
    with trio.fail_after(10):
        a = ctx.socket(trinq.PULL)
        ep = await a.bind("ws://127.0.0.1:0/x")
        for sock in (a, ctx.socket(trinq.PULL)):
            with pytest.raises(trinq.ZMQError) as info:
                await sock.bind(ep)
            assert info.value.errno == errno.EADDRINUSE
        # a tcp bind of the same port is the kernel's EADDRINUSE
        with pytest.raises(trinq.ZMQError) as info:
            await ctx.socket(trinq.PULL).bind(f"tcp://127.0.0.1:{port_of(ep)}")
        assert info.value.errno == errno.EADDRINUSE
        # another context shares no ports with this one
        async with trinq.Context() as other:
            with pytest.raises(trinq.ZMQError) as info:
                await other.socket(trinq.PULL).bind(f"ws://127.0.0.1:{port_of(ep)}/y")
            assert info.value.errno == errno.EADDRINUSE


async def test_unbind_one_path_then_rebind_and_free_the_port(ctx) -> None:
    with trio.fail_after(10):
        a = ctx.socket(trinq.PULL)
        b = ctx.socket(trinq.PULL)
        ep_a = await a.bind("ws://127.0.0.1:0/a")
        port = port_of(ep_a)
        ep_b = await b.bind(f"ws://127.0.0.1:{port}/b")
        push = ctx.socket(trinq.PUSH, linger=0, reconnect_ivl=20)
        push.connect(ep_a)
        await push.send(b"1")
        assert await recv_in(a) == [b"1"]
        await a.unbind(ep_a)
        await roundtrip(ctx, ep_b)  # the port still serves /b
        assert await recv_in(b) == [b"still fine"]
        # /a is gone: a new client is refused (404) and retries
        late = ctx.socket(trinq.PUSH, linger=0, reconnect_ivl=20)
        async with late.monitor() as mon:
            late.connect(ep_a)
            seen = await wait_for_event(mon, E.CONNECT_DELAYED)
        assert "404" in (seen[-1].reason or ""), seen[-1]
        await late.send(b"queued")
        assert await a.bind(ep_a) == ep_a  # rebind the path on the shared port
        await push.send(b"2")  # the first client reconnects too
        assert sorted([(await recv_in(a))[0], (await recv_in(a))[0]]) == [b"2", b"queued"]
        # unbinding every path frees the port for anyone
        await a.unbind(ep_a)
        await b.unbind(ep_b)
        probe = socket.socket()
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
        probe.close()
        assert not ctx._ws_ports


async def test_reconnect_after_bind_and_rebind(ctx) -> None:
    with trio.fail_after(15):
        ep = f"ws://127.0.0.1:{free_port()}/later"
        push = ctx.socket(trinq.PUSH, reconnect_ivl=20)
        push.connect(ep)  # before anyone listens
        for i in range(3):
            await push.send(b"early %d" % i)
        pull = ctx.socket(trinq.PULL)
        assert await pull.bind(ep) == ep
        assert [(await recv_in(pull))[0] for _ in range(3)] == [b"early %d" % i for i in range(3)]
        # the server goes away and comes back: the client reconnects by itself
        async with push.monitor() as mon:
            pull.close(linger=0)
            await wait_for_event(mon, E.DISCONNECTED)
            pull = ctx.socket(trinq.PULL)
            await pull.bind(ep)
            await wait_for_event(mon, E.HANDSHAKE_SUCCEEDED)
        await push.send(b"again")
        assert await recv_in(pull) == [b"again"]
        push.close(linger=0)


async def test_monitor_sequence(ctx) -> None:
    with trio.fail_after(10):
        pull = ctx.socket(trinq.PULL)
        async with pull.monitor() as bmon:
            ep = await pull.bind("ws://127.0.0.1:0/m")
            push = ctx.socket(trinq.PUSH, linger=0)
            async with push.monitor() as cmon:
                push.connect(ep)
                cseen = await wait_for_event(cmon, E.HANDSHAKE_SUCCEEDED)
                assert [e.event for e in cseen] == [E.CONNECTED, E.HANDSHAKE_SUCCEEDED]
                assert all(e.endpoint == ep for e in cseen)
            bseen = await wait_for_event(bmon, E.HANDSHAKE_SUCCEEDED)
            assert [e.event for e in bseen] == [E.LISTENING, E.ACCEPTED, E.HANDSHAKE_SUCCEEDED]
            assert bseen[1].peer_address == "127.0.0.1"
            push.close()
            await wait_for_event(bmon, E.DISCONNECTED)
            await pull.unbind(ep)
            assert [e.event for e in await wait_for_event(bmon, E.CLOSED)] == [E.CLOSED]


async def test_cancelled_bind_leaves_nothing_bound(ctx) -> None:
    with trio.fail_after(10):
        port = free_port()
        ep = f"ws://127.0.0.1:{port}/c"
        sock = ctx.socket(trinq.PULL)
        await sock.bind("tcp://127.0.0.1:*")  # (the socket runs)
        for _ in range(3):
            with trio.CancelScope() as scope:
                scope.cancel()
                await sock.bind(ep)
            assert scope.cancelled_caught
        # a cancel at any checkpoint of bind: each attempt leaves the port unbound
        for checkpoints in range(1, 8):
            bound = False
            with trio.CancelScope() as scope:

                async def cancel_later(n: int = checkpoints, s: trio.CancelScope = scope) -> None:
                    for _ in range(n):
                        await trio.lowlevel.checkpoint()
                    s.cancel()

                async with trio.open_nursery() as nursery:
                    nursery.start_soon(cancel_later)
                    await sock.bind(ep)
                    bound = True
            if bound:
                await sock.unbind(ep)
        assert not ctx._ws_ports
        assert await sock.bind(ep) == ep  # still free


async def test_close_lingers_over_ws(ctx) -> None:
    with trio.fail_after(10):
        pull = ctx.socket(trinq.PULL)
        ep = await pull.bind("ws://127.0.0.1:0/linger")
        push = ctx.socket(trinq.PUSH, linger=5000)
        push.connect(ep)
        for i in range(200):
            await push.send(b"%d" % i + b"x" * 3000)
        await push.aclose()  # waits until everything is written
        got = [(await recv_in(pull))[0][:3] for _ in range(200)]
        assert got[-1] == b"199"


# --- what the server refuses -----------------------------------------------------------


@pytest.fixture
async def pull_ws(ctx) -> AsyncIterator[tuple[trinq.Socket, str, trinq.Monitor]]:
    pull = ctx.socket(trinq.PULL, handshake_ivl=2000)
    mon = pull.monitor()
    ep = await pull.bind("ws://127.0.0.1:0/zmq")
    yield pull, ep, mon
    mon.close()


async def refused(ep: str, request: bytes) -> bytes:
    """Send ``request`` to the port of ``ep``; return all the server answers."""
    stream = await trio.open_tcp_stream("127.0.0.1", port_of(ep))
    try:
        await stream.send_all(request)
        return await read_all(stream)
    finally:
        await trio.aclose_forcefully(stream)


async def next_of(mon: trinq.Monitor, *kinds: trinq.Event) -> trinq.MonitorEvent:
    with trio.fail_after(5):
        while True:
            ev = await mon.receive()
            if ev.event in kinds:
                return ev


async def test_not_http_is_accept_failed(ctx, pull_ws) -> None:
    pull, ep, mon = pull_ws
    with trio.fail_after(10):
        greeting = b"\xff" + b"\x00" * 8 + b"\x7f\x03\x01NULL" + b"\x00" * 48
        assert await refused(ep, greeting) == b""  # closed at once, no HTTP answer
        ev = await next_of(mon, E.ACCEPT_FAILED, E.ACCEPTED)
        assert ev.event is E.ACCEPT_FAILED and ev.value == errno.EPROTO
        assert "not an HTTP request" in (ev.reason or "")
        await roundtrip(ctx, ep)
        assert await recv_in(pull) == [b"still fine"]


async def test_plain_http_request_is_refused(ctx, pull_ws) -> None:
    pull, ep, mon = pull_ws
    with trio.fail_after(10):
        port = port_of(ep)
        answer = await refused(ep, f"GET /zmq HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        assert answer.startswith(b"HTTP/1.1 400"), answer
        ev = await next_of(mon, E.ACCEPT_FAILED, E.ACCEPTED)
        assert ev.event is E.ACCEPT_FAILED and ev.value == errno.EPROTO
        assert "not a WebSocket upgrade request" in (ev.reason or "")
        # a POST and an old WebSocket version too
        post = upgrade_request(port, "/zmq").replace(b"GET", b"POST", 1)
        assert (await refused(ep, post)).startswith(b"HTTP/1.1 400")
        old = upgrade_request(port, "/zmq").replace(b"Version: 13", b"Version: 8")
        assert (await refused(ep, old)).startswith(b"HTTP/1.1 426")
        await roundtrip(ctx, ep)
        assert await recv_in(pull) == [b"still fine"]


async def test_unknown_path_is_404(ctx, pull_ws) -> None:
    _, ep, mon = pull_ws
    with trio.fail_after(10):
        answer = await refused(ep, upgrade_request(port_of(ep), "/nope"))
        assert answer.startswith(b"HTTP/1.1 404"), answer
        assert b"no socket is bound at ws://127.0.0.1:" in answer
        ev = await next_of(mon, E.ACCEPT_FAILED, E.ACCEPTED)
        assert ev.event is E.ACCEPT_FAILED and ev.value == errno.ENOENT
        assert "/nope" in (ev.reason or "")


async def test_oversized_request_head(ctx, pull_ws) -> None:
    _, ep, mon = pull_ws
    with trio.fail_after(10):
        big = upgrade_request(port_of(ep), "/zmq").replace(
            b"\r\n\r\n", b"\r\nX-Filler: " + b"f" * 20000 + b"\r\n\r\n"
        )
        answer = await refused(ep, big)
        assert answer.startswith(b"HTTP/1.1 431"), answer[:80]
        ev = await next_of(mon, E.ACCEPT_FAILED, E.ACCEPTED)
        assert ev.event is E.ACCEPT_FAILED


async def test_wrong_subprotocol_is_handshake_failed(ctx, pull_ws) -> None:
    pull, ep, mon = pull_ws
    with trio.fail_after(10):
        for protocols in ("chat, superchat", "ZWS2.0/PLAIN", None):
            answer = await refused(ep, upgrade_request(port_of(ep), "/zmq", protocols))
            assert answer.startswith(b"HTTP/1.1 400"), answer
            assert b"no ZWS 2.0 subprotocol in common" in answer
            assert (await next_of(mon, E.ACCEPTED, E.ACCEPT_FAILED)).event is E.ACCEPTED
            ev = await next_of(mon, E.HANDSHAKE_FAILED_PROTOCOL, E.HANDSHAKE_SUCCEEDED)
            assert ev.event is E.HANDSHAKE_FAILED_PROTOCOL and ev.value == WS_UNSPECIFIED
            assert "no ZWS 2.0 subprotocol in common" in (ev.reason or "")
        await roundtrip(ctx, ep)
        assert await recv_in(pull) == [b"still fine"]


async def test_slow_client_times_out(ctx) -> None:
    with trio.fail_after(10):
        pull = ctx.socket(trinq.PULL, handshake_ivl=100)
        async with pull.monitor() as mon:
            ep = await pull.bind("ws://127.0.0.1:0/slow")
            stream = await trio.open_tcp_stream("127.0.0.1", port_of(ep))
            await stream.send_all(b"GET /slow HTTP/1.1\r\n")  # ... and nothing more
            ev = await next_of(mon, E.ACCEPT_FAILED)
            assert ev.value == errno.ETIMEDOUT
            assert await read_all(stream) == b""
            await stream.aclose()
            await roundtrip(ctx, ep)
            assert await recv_in(pull) == [b"still fine"]


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (masked_frame(0x81, b"hello"), "text message"),
        (masked_frame(0x02, b"\x00part") + masked_frame(0x80, b"two"), "fragmented"),
        (masked_frame(0x80, b"\x00cont"), "continuation frame"),
        (masked_frame(0x82, b""), "empty WebSocket binary message"),
        (masked_frame(0xC2, b"\x00rsv"), "reserved bits"),
        (masked_frame(0x83, b"\x00?"), "unknown WebSocket opcode"),
        (masked_frame(0x82, b"\x00" + b"z" * 101), "exceeds maxmsgsize 100"),
        (bytes((0x82, 3)) + b"\x00ab", "unmasked WebSocket frame from a client"),
        (masked_frame(0x89, b"p" * 126), "control frame"),
    ],
    ids=[
        "text",
        "fragmented",
        "continuation",
        "empty",
        "rsv",
        "opcode",
        "oversized",
        "unmasked",
        "big-ping",
    ],
)
async def test_bad_frames_disconnect_that_peer_only(ctx, frame, reason) -> None:
    with trio.fail_after(10):
        pull = ctx.socket(trinq.PULL, maxmsgsize=100)
        async with pull.monitor() as mon:
            ep = await pull.bind("ws://127.0.0.1:0/frames")
            good = ctx.socket(trinq.PUSH, linger=0)
            good.connect(ep)
            await good.send(b"before")
            assert await recv_in(pull) == [b"before"]
            async with raw_client(ep) as bad:
                await bad.send(b"ok")
                assert await recv_in(pull) == [b"ok"]
                await bad.send_raw(frame)
                while True:
                    ev = await next_of(mon, E.DISCONNECTED)
                    if ev.reason and "protocol error" in ev.reason:
                        break
                assert reason in ev.reason, ev
                assert await read_all(bad.stream) == b""  # the server closed it
            await good.send(b"after")
            assert await recv_in(pull) == [b"after"]


async def test_large_messages_both_ways(ctx) -> None:
    with trio.fail_after(20):
        a = ctx.socket(trinq.PAIR)
        ep = await a.bind("ws://127.0.0.1:0/big")
        b = ctx.socket(trinq.PAIR)
        b.connect(ep)
        for size in (0, 1, 123, 124, 125, 126, 65534, 65535, 65536, 1 << 20):
            payload = os.urandom(size)
            await b.send_multipart([payload, b"tail"])
            assert await recv_in(a) == [payload, b"tail"]
            await a.send(payload)
            assert await recv_in(b) == [payload]


# --- heartbeats: WebSocket ping/pong --------------------------------------------------


async def test_server_heartbeat_is_a_websocket_ping(ctx) -> None:
    with trio.fail_after(10):
        pull = ctx.socket(trinq.PULL, heartbeat_ivl=30, heartbeat_timeout=300)
        async with pull.monitor() as mon:
            ep = await pull.bind("ws://127.0.0.1:0/hb")
            async with raw_client(ep) as client:
                evs = await client.events()
                assert type(evs[0]) is zmtp.Ping, evs  # a ws ping frame, not a command
                # answer one (the codec makes a pong frame), then stay silent
                await client.send_raw(client.codec.send_command(zmtp.Pong(evs[0].context)))
                ev = await next_of(mon, E.DISCONNECTED)
                assert "heartbeat" in (ev.reason or ""), ev


async def test_client_answers_pings_and_heartbeats_keep_a_link(ctx) -> None:
    with trio.fail_after(10):
        pull = ctx.socket(trinq.PULL, heartbeat_ivl=20, heartbeat_timeout=500)
        ep = await pull.bind("ws://127.0.0.1:0/hb2")
        push = ctx.socket(trinq.PUSH, heartbeat_ivl=20, heartbeat_timeout=500, linger=0)
        async with pull.monitor() as mon, push.monitor() as pmon:
            push.connect(ep)
            await wait_for_event(mon, E.HANDSHAKE_SUCCEEDED)
            await wait_for_event(pmon, E.HANDSHAKE_SUCCEEDED)
            before = (pull.statistics().bytes_in, push.statistics().bytes_in)
            with trio.move_on_after(1.0):  # 50 heartbeat periods without data
                ev = await mon.receive()
                pytest.fail(f"unexpected event {ev}")
            assert pull.statistics().bytes_in > before[0]  # pings and pongs came
            assert push.statistics().bytes_in > before[1]
            assert pmon.dropped == 0 and not [e for e in _drain(pmon) if e.event is E.DISCONNECTED]
            await push.send(b"tick")
            assert await recv_in(pull) == [b"tick"]


def _drain(mon: trinq.Monitor) -> list[trinq.MonitorEvent]:
    out = []
    while True:
        try:
            out.append(mon.receive_nowait())
        except (trio.WouldBlock, trio.EndOfChannel):
            return out


async def test_raw_client_gets_pong_for_its_ping(ctx) -> None:
    with trio.fail_after(10):
        pull = ctx.socket(trinq.PULL)
        ep = await pull.bind("ws://127.0.0.1:0/ping")
        async with raw_client(ep) as client:
            await client.send_raw(masked_frame(0x89, b"are you there"))
            evs = await client.events()
            assert evs == [zmtp.Pong(b"are you there")]
            # a ZMTP PING command (RFC 45's command grammar) gets a PONG command
            ping = zmtp.ping_body(0, b"ctx")
            await client.send_raw(masked_frame(0x82, b"\x02" + ping))
            assert await client.events() == [zmtp.Pong(b"ctx")]


@pytest.mark.parametrize(
    "payload",
    [bytes(range(125)), b"", b"x" * 17, b"0123456789abcdef"],
    ids=["125-octets", "empty", "17-octets", "16-octets"],
)
async def test_websocket_pong_echoes_the_whole_ping_payload(ctx, payload: bytes) -> None:
    """RFC 6455 §5.5.3: the pong answering a WebSocket ping carries the ping's payload
    unchanged, all of it (a control frame's up to 125 octets), not a ZMTP PONG's 16;
    a ZMTP PING command over ws is still answered by a PONG command cut to 16."""
    with trio.fail_after(10):
        pull = ctx.socket(trinq.PULL)
        ep = await pull.bind("ws://127.0.0.1:0/pong")
        peer = await RawWsPeer.connect(ep)
        try:
            await peer.handshake("PUSH")
            await peer.send(ws_ping(payload))
            assert await peer.read_ws_frame() == (PONG, payload)
            await peer.send(zmtp_ping(0, payload))
            assert await peer.read_ws_frame() == (BINARY, b"\x02\x04PONG" + payload[:16])
            # and a ws ping after the PING command gets a ws pong again
            await peer.send(ws_ping(payload[::-1]))
            assert await peer.read_ws_frame() == (PONG, payload[::-1])
        finally:
            await peer.aclose()


# --- the bare ZWS2.0 subprotocol (a browser's few lines of JS) --------------------------


async def test_bare_zws_subprotocol(ctx) -> None:
    """Offering only ``ZWS2.0``: each side sends its routing id first, then frames;
    the flags octet leads each message."""
    with trio.fail_after(10):
        pair = ctx.socket(trinq.PAIR, routing_id=b"server-id")
        ep = await pair.bind("ws://127.0.0.1:0/browser")
        port = port_of(ep)
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        try:
            await stream.send_all(upgrade_request(port, "/browser", "ZWS2.0"))
            head, rest = await read_head(stream)
            assert head.startswith(b"HTTP/1.1 101")
            assert b"Sec-WebSocket-Protocol: ZWS2.0\r\n" in head + b"\r\n"
            # by hand, as a browser would: routing id (empty), then one message
            await stream.send_all(masked_frame(0x82, b"\x00") + masked_frame(0x82, b"\x00hello"))
            assert await recv_in(pair) == [b"hello"]
            await pair.send(b"world")
            data = rest
            while len(data) < 2 + 10 + 2 + 6:
                data += await stream.receive_some(4096)
            # unmasked server frames: routing id message, then the reply
            assert data == b"\x82\x0a\x00server-id" + b"\x82\x06\x00world"
        finally:
            await stream.aclose()


async def test_browser_style_sub(ctx) -> None:
    """What docs/transports.md's browser snippet does, frame for frame."""
    with trio.fail_after(10):
        pub = ctx.socket(trinq.PUB)
        ep = await pub.bind("ws://127.0.0.1:0/events")
        port = port_of(ep)
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        try:
            await stream.send_all(upgrade_request(port, "/events", "ZWS2.0"))
            head, rest = await read_head(stream)
            assert head.startswith(b"HTTP/1.1 101")
            await stream.send_all(masked_frame(0x82, b"\x00"))  # routing id: empty
            await stream.send_all(masked_frame(0x82, b"\x00\x01weather"))  # subscribe
            codec = ZwsConnection("SUB", client=True, subprotocol="ZWS2.0", received=rest)
            codec.initiate()
            got: list[Any] = []
            while not any(type(m) is tuple for m in got):
                await pub.send(b"news: ignored")
                await pub.send_multipart([b"weather", b"sunny"])
                with trio.move_on_after(0.05):
                    data = await stream.receive_some(65536)
                    codec.receive_data(data)
                    got.extend(codec.events())
            messages = [m for m in got if type(m) is tuple]
            assert messages[0] == (b"weather", b"sunny")
        finally:
            await stream.aclose()


async def test_pub_shares_no_encoding_with_ws_pipes(ctx) -> None:
    with trio.fail_after(10):
        pub = ctx.socket(trinq.PUB)
        ep_tcp = await pub.bind("tcp://127.0.0.1:*")
        ep_ws = await pub.bind("ws://127.0.0.1:0/pub")
        subs = []
        for ep in (ep_tcp, ep_ws, ep_ws):
            sub = ctx.socket(trinq.SUB)
            sub.subscribe(b"")
            sub.connect(ep)
            subs.append(sub)
        got: list[list[bytes]] = []
        while not got:
            await pub.send_multipart([b"topic", b"body"])
            with trio.move_on_after(0.05):
                got = [await s.recv_multipart() for s in subs]
        assert got == [[b"topic", b"body"]] * 3


async def test_stream_sockets_refuse_ws(ctx) -> None:
    sock = ctx.socket(trinq.STREAM)
    with pytest.raises(trinq.ZMQError) as info:
        await sock.bind("ws://127.0.0.1:0/s")
    assert info.value.errno == errno.ENOTSUP
    with pytest.raises(trinq.ZMQError) as info:
        sock.connect("ws://127.0.0.1:5555/s")
    assert info.value.errno == errno.ENOTSUP


async def test_client_reports_refusals(ctx) -> None:
    """A server that is not ZWS: CONNECT_DELAYED with the reason, then retries."""
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            listeners = await nursery.start(
                partial(trio.serve_tcp, host="127.0.0.1"), _http_server, 0
            )
            port = listeners[0].socket.getsockname()[1]
            push = ctx.socket(trinq.PUSH, linger=0, reconnect_ivl=20)
            async with push.monitor() as mon:
                push.connect(f"ws://127.0.0.1:{port}/x")
                seen = await wait_for_event(mon, E.CONNECT_RETRIED, 2)
            delayed = [e for e in seen if e.event is E.CONNECT_DELAYED]
            assert delayed and all(e.value == errno.EPROTO for e in delayed)
            assert "HTTP 418" in (delayed[0].reason or ""), delayed[0]
            push.close()
            nursery.cancel_scope.cancel()


async def _http_server(stream: trio.SocketStream) -> None:
    await read_head(stream)
    body = b"I'm a teapot"
    await stream.send_all(
        b"HTTP/1.1 418 I'm a teapot\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    await trio.aclose_forcefully(stream)


async def test_missing_wsproto_is_a_clear_error(ctx, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "wsproto", None)
    monkeypatch.setitem(sys.modules, "wsproto.handshake", None)
    sock = ctx.socket(trinq.PUSH)
    with pytest.raises(trinq.ZMQError) as info:
        sock.connect("ws://127.0.0.1:5555/x")
    assert info.value.errno == errno.EPROTONOSUPPORT
    assert "pip install 'trinq[ws]'" in str(info.value)
    with pytest.raises(trinq.ZMQError):
        await sock.bind("wss://127.0.0.1:0/x")


# --- wss -------------------------------------------------------------------------------


class CertAuthority:
    """A test certificate authority and a server certificate for 127.0.0.1/localhost,
    as PEM text: made with trustme, else cryptography, else the openssl CLI."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        try:
            self._with_trustme()
        except ImportError:
            try:
                self._with_cryptography()
            except ImportError:
                self._with_openssl()

    def _with_trustme(self) -> None:
        import trustme  # type: ignore[import-not-found]

        ca = trustme.CA()
        cert = ca.issue_cert("localhost", "127.0.0.1")
        self.ca_pem = ca.cert_pem.bytes()
        self.cert_pem = b"".join(blob.bytes() for blob in cert.cert_chain_pems)
        self.key_pem = cert.private_key_pem.bytes()

    def _with_cryptography(self) -> None:
        import datetime
        import ipaddress

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        now = datetime.datetime.now(datetime.timezone.utc)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "trinq test CA")])
        ca = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(True, False, False, False, False, True, True, False, False),
                critical=True,
            )
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        self.ca_pem = ca.public_bytes(serialization.Encoding.PEM)
        self.cert_pem = cert.public_bytes(serialization.Encoding.PEM)
        self.key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def _with_openssl(self) -> None:
        openssl = shutil.which("openssl")
        if openssl is None:
            if os.environ.get("CI"):
                pytest.fail("no trustme, cryptography or openssl to make test certificates")
            pytest.skip("no trustme, cryptography or openssl to make test certificates")
        d = self.dir
        ext = d / "ext.cnf"
        ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")

        def run(*args: str) -> None:
            subprocess.run([openssl, *args], check=True, capture_output=True, cwd=d)

        run(
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=trinq test CA",
        )
        run(
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "srv.key",
            "-out",
            "srv.csr",
            "-subj",
            "/CN=localhost",
        )
        run(
            "x509",
            "-req",
            "-in",
            "srv.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "srv.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        )
        self.ca_pem = (d / "ca.pem").read_bytes()
        self.cert_pem = (d / "srv.pem").read_bytes()
        self.key_pem = (d / "srv.key").read_bytes()


@pytest.fixture(scope="module")
def test_ca() -> Iterator[CertAuthority]:
    with tempfile.TemporaryDirectory() as tmp:
        yield CertAuthority(Path(tmp))


async def test_wss_with_pem_options(ctx, test_ca) -> None:
    with trio.fail_after(10):
        rep = ctx.socket(trinq.REP, wss_cert_pem=test_ca.cert_pem, wss_key_pem=test_ca.key_pem)
        ep = await rep.bind("wss://127.0.0.1:0/secure")
        assert ep.startswith("wss://127.0.0.1:") and ep.endswith("/secure")
        req = ctx.socket(trinq.REQ, linger=0)
        req.wss_trust_pem = test_ca.ca_pem.decode()  # str works too
        req.connect(ep)
        for i in range(3):
            await req.send(b"ping %d" % i)
            assert await recv_in(rep) == [b"ping %d" % i]
            await rep.send(b"pong %d" % i + b"!" * 100_000)
            assert (await recv_in(req))[0][:6] == b"pong %d" % i
        # a second path on the wss port
        pull = ctx.socket(trinq.PULL)
        ep2 = await pull.bind(f"wss://127.0.0.1:{port_of(ep)}/other")
        push = ctx.socket(trinq.PUSH, linger=0, wss_trust_pem=test_ca.ca_pem)
        push.wss_hostname = "localhost"
        push.connect(ep2)
        await push.send(b"named")
        assert await recv_in(pull) == [b"named"]


async def test_wss_untrusted_or_misnamed_server_is_refused(ctx, test_ca) -> None:
    with trio.fail_after(10):
        pull = ctx.socket(trinq.PULL, wss_cert_pem=test_ca.cert_pem, wss_key_pem=test_ca.key_pem)
        ep = await pull.bind("wss://127.0.0.1:0/secure")
        for options in ({}, {"wss_trust_pem": test_ca.ca_pem, "wss_hostname": "example.org"}):
            push = ctx.socket(trinq.PUSH, linger=0, reconnect_ivl=50, **options)
            async with push.monitor() as mon:
                push.connect(ep)
                ev = await next_of(mon, E.CONNECT_DELAYED)
            assert ev.value == errno.EPROTO
            assert "certificate verify failed" in (ev.reason or ""), ev
            assert "wss_trust_pem" in (ev.reason or "")
            push.close()


async def test_wss_ssl_context_option(ctx, test_ca, tmp_path) -> None:
    with trio.fail_after(10):
        (tmp_path / "c.pem").write_bytes(test_ca.cert_pem)
        (tmp_path / "k.pem").write_bytes(test_ca.key_pem)
        server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server.load_cert_chain(tmp_path / "c.pem", tmp_path / "k.pem")
        client = ssl.create_default_context(cadata=test_ca.ca_pem.decode())
        pull = ctx.socket(trinq.PULL, wss_ssl_context=server)
        ep = await pull.bind("wss://127.0.0.1:0/ctx")
        push = ctx.socket(trinq.PUSH, linger=0, wss_ssl_context=client)
        push.connect(ep)
        await push.send(b"over a given SSLContext")
        assert await recv_in(pull) == [b"over a given SSLContext"]
        assert pull.wss_ssl_context is server


async def test_wss_bind_needs_a_certificate(ctx, test_ca) -> None:
    sock = ctx.socket(trinq.PULL)
    with pytest.raises(trinq.ZMQError) as info:
        await sock.bind("wss://127.0.0.1:0/x")
    assert info.value.errno == errno.EINVAL and "wss_cert_pem" in str(info.value)
    sock.wss_cert_pem = test_ca.cert_pem
    sock.wss_key_pem = b"-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"
    with pytest.raises(trinq.ZMQError) as info:
        await sock.bind("wss://127.0.0.1:0/x")
    assert info.value.errno == errno.EINVAL
    with pytest.raises(trinq.ZMQError) as info:
        sock.wss_ssl_context = "not a context"
    assert info.value.errno == errno.EINVAL


async def test_bad_connect_settings_are_einval_at_connect(ctx) -> None:
    sock = ctx.socket(trinq.PUSH, wss_trust_pem=b"not a certificate")
    with pytest.raises(trinq.ZMQError) as info:
        sock.connect("wss://127.0.0.1:5555/x")
    assert info.value.errno == errno.EINVAL and "wss_trust_pem" in str(info.value)
    with pytest.raises(trinq.ZMQError) as info:
        sock.connect("ws://" + "a" * 64 + ".example:5555/x")  # a label idna refuses
    assert info.value.errno == errno.EINVAL


async def test_plain_client_on_a_wss_port(ctx, test_ca) -> None:
    """A ws (no TLS) client on a wss port: the TLS handshake fails on the server
    (ACCEPT_FAILED) and the client retries; the port keeps serving."""
    with trio.fail_after(10):
        pull = ctx.socket(trinq.PULL, wss_cert_pem=test_ca.cert_pem, wss_key_pem=test_ca.key_pem)
        async with pull.monitor() as mon:
            ep = await pull.bind("wss://127.0.0.1:0/p")
            plain = ctx.socket(trinq.PUSH, linger=0, reconnect_ivl=50)
            plain.connect("ws" + ep[3:])
            ev = await next_of(mon, E.ACCEPT_FAILED)
            assert "TLS" in (ev.reason or ""), ev
            plain.close()
        push = ctx.socket(trinq.PUSH, linger=0, wss_trust_pem=test_ca.ca_pem)
        push.connect(ep)
        await push.send(b"fine")
        assert await recv_in(pull) == [b"fine"]


# --- the codec, sans I/O ----------------------------------------------------------------


def connected_pair(
    client_type: str = "PUSH", server_type: str = "PULL", subprotocol: str = "ZWS2.0/NULL"
) -> tuple[ZwsConnection, ZwsConnection]:
    c = ZwsConnection(client_type, client=True, subprotocol=subprotocol, identity=b"cid")
    s = ZwsConnection(server_type, client=False, subprotocol=subprotocol, identity=b"sid")
    s.receive_data(c.initiate())
    c.receive_data(s.initiate())
    (hc,) = c.events()
    (hs,) = s.events()
    assert type(hc) is type(hs) is zmtp.HandshakeComplete
    return c, s


def reference_mask(data: bytes, key: bytes) -> bytes:
    """RFC 6455 §5.3, octet by octet."""
    return bytes(b ^ key[i % 4] for i, b in enumerate(data))


@pytest.mark.parametrize("accelerated", [True, False], ids=["apply_mask", "python"])
@pytest.mark.parametrize(
    "n", [0, 1, 2, 3, 4, 5, 7, 8, 30, 31, 32, 33, 124, 125, 126, 1000, 4096, 8191, 8192, 70000]
)
def test_masking_matches_the_reference_with_and_without_the_c_masker(
    monkeypatch: pytest.MonkeyPatch, accelerated: bool, n: int
) -> None:
    """Masking (and unmasking) is the same octets whether websockets' C ``apply_mask``
    does it (every payload, when installed) or Python ints do: mask(), a client's data
    frames (single- and multipart, inline and not) and control frames decoded by a
    server (in the batch decoder and frame by frame), and a hand-masked frame decoded. The
    lengths cover every key rotation, both sides of the server's in-place unmasking
    (_UNMASK_VIEW_MIN) and all three length encodings."""
    _zws._load_masker()
    if not accelerated:
        monkeypatch.setattr(_zws, "_apply_mask", None)
    data = bytes((i * 7 + 3) % 256 for i in range(n))
    key = b"\x9a\x01\xfe\x33"
    assert mask(data, int.from_bytes(key, "little")) == reference_mask(data, key)
    for offset in range(4):  # payloads starting at every key octet
        part = data[offset:]
        k = key[offset:] + key[:offset]
        assert mask(part, int.from_bytes(k, "little")) == reference_mask(part, k)
        assert _zws._mask_octets(part, k) == reference_mask(part, k)
        assert _zws._mask_octets(memoryview(data)[offset:], k) == reference_mask(part, k)
    c, s = connected_pair()
    s.receive_data(
        c.send_message([data])
        + c.send_messages([[data], [b"after"], [data, data[:5]], [bytearray(data)]])
        + c.send_messages([[memoryview(data)]])
    )
    assert s.events() == [(data,), (data,), (b"after",), (data, data[:5]), (data,), (data,)]
    s.receive_data(c.send_command(zmtp.Ping(0, data[:125])))
    assert s.events() == [zmtp.Ping(0, data[:125])]
    s.receive_data(masked_frame(0x82, b"\x00" + data, key))
    assert s.events() == [(data,)]
    s.receive_data(masked_frame(0x82, b"\x01" + data, key) + masked_frame(0x82, b"\x00", key))
    assert s.events() == [(data, b"")]
    s.receive_data(masked_frame(0x82, b"\x01" + data, key))  # the frame-by-frame path
    assert s._next_frame() == (_zws._BINARY, 0x01, data)
    hand = bytearray(masked_frame(0x82, b"\x00" + data, key))
    payload = reference_mask(b"\x00" + data, key)
    assert bytes(hand[-len(payload) :]) == payload


def test_client_frames_are_masked_with_the_key_they_carry(monkeypatch: pytest.MonkeyPatch) -> None:
    """A client data frame's octets, checked by hand: the 4 key octets after the
    header, then the whole payload (the flags octet, then the body) XOR that key from
    its first octet on -- the codec masks the body with the key's octets 1..4 (its
    pool's records repeat octet 0) and must get that rotation right, with and
    without the C masker."""
    _zws._load_masker()
    for accelerated in (True, False):
        if not accelerated:
            monkeypatch.setattr(_zws, "_apply_mask", None)
        c, _ = connected_pair()
        for n in (0, 1, 3, 4, 5, 100, 4096):
            body = os.urandom(n)
            for flags, wire in ((0, c.send_message([body])), (0x01, c._frame(0x01, body))):
                hl = 2 if n + 1 < 126 else 4
                assert wire[1] & 0x80
                key = wire[hl : hl + 4]
                assert reference_mask(wire[hl + 4 :], key) == bytes((flags,)) + body
            ping = c.send_command(zmtp.Ping(0, body[:125]))
            key = ping[2:6]
            assert reference_mask(ping[6:], key) == body[:125]


def test_the_c_masker_is_installed_where_the_tests_run() -> None:
    """The test extra installs websockets (the ws extra's C masker), so CI runs the
    accelerated path (the tests above run the Python one too)."""
    _zws._load_masker()
    assert _zws._apply_mask is not None
    from websockets.speedups import apply_mask

    assert _zws._apply_mask is apply_mask


def test_import_trinq_does_not_import_websockets() -> None:
    """The C masker is imported on first use (websockets' import costs ~10 ms)."""
    code = "import sys, trinq; print('websockets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_mask_is_rfc6455() -> None:
    # RFC 6455 §5.7: "Hello" masked with 37 fa 21 3d
    key = int.from_bytes(bytes.fromhex("37fa213d"), "little")
    assert mask(b"Hello", key) == bytes.fromhex("7f9f4d5158")
    for n in (0, 1, 3, 4, 5, 4096, 4097):
        data = os.urandom(n)
        assert mask(mask(data, key), key) == data


def test_subprotocol_choice_is_libzmqs() -> None:
    assert select_subprotocol(["ZWS2.0/NULL", "ZWS2.0"], "NULL") == "ZWS2.0/NULL"
    assert select_subprotocol([" ZWS2.0", "ZWS2.0/NULL"], "NULL") == "ZWS2.0"
    assert select_subprotocol(["ZWS2.0/PLAIN"], "NULL") is None
    assert select_subprotocol(["ZWS2.0/PLAIN", "ZWS2.0"], "PLAIN") == "ZWS2.0/PLAIN"


@pytest.mark.parametrize("subprotocol", ["ZWS2.0/NULL", "ZWS2.0"])
def test_codec_both_directions_byte_by_byte(subprotocol) -> None:
    c, s = connected_pair("DEALER", "ROUTER", subprotocol)
    messages = [[b"a"], [b"", b"x" * 200], [b"y" * 70000, b"z"], [b""]]
    for sender, receiver in ((c, s), (s, c)):
        data = sender.send_messages(messages[:2]) + sender.send_message(messages[2])
        data += sender.send_message(messages[3])
        got: list[Any] = []
        for i in range(len(data)):  # every split point
            got.extend(receiver.events_into(got.append, data[i : i + 1]))
        assert got == [tuple(m) for m in messages]
        assert receiver.messages_put == len(messages)


def test_codec_handshake_properties() -> None:
    c, s = connected_pair("DEALER", "ROUTER")
    assert c.handshake_complete and s.handshake_complete
    _, bare_s = connected_pair("DEALER", "ROUTER", "ZWS2.0")
    assert bare_s._handshake_event is not None
    assert bare_s._handshake_event.peer_identity == b"cid"
    assert bare_s._handshake_event.peer_socket_type == ""


def test_codec_refuses_incompatible_socket_type() -> None:
    c = ZwsConnection("PUSH", client=True, subprotocol="ZWS2.0/NULL")
    s = ZwsConnection("PUB", client=False, subprotocol="ZWS2.0/NULL")
    s.initiate()
    s.receive_data(c.initiate())
    with pytest.raises(zmtp.RemoteProtocolError, match="incompatible socket types"):
        s.events()


def test_codec_stalls_and_resumes() -> None:
    c, s = connected_pair()
    data = c.send_messages([[b"%d" % i] for i in range(5)])
    taken: list[Any] = []

    def put(msg: Any) -> None:
        if len(taken) == 2:
            raise trio.WouldBlock
        taken.append(msg)

    with pytest.raises(trio.WouldBlock):
        s.events_into(put, data)
    assert s.take_stalled() == (b"2",)
    taken.append((b"2",))
    rest: list[Any] = []
    assert s.events_into(rest.append, None) == []
    assert taken + rest == [(b"%d" % i,) for i in range(5)]
    assert s.messages_put == 5


def test_codec_subscriptions_are_messages() -> None:
    sub, pub = connected_pair("SUB", "PUB")
    data = sub.send_command(zmtp.Subscribe(b"weather")) + sub.send_command(zmtp.Cancel(b"w"))
    pub.receive_data(data)
    assert pub.events() == [zmtp.Subscribe(b"weather"), zmtp.Cancel(b"w")]
    # a server SUB sends them unmasked: \x82, length, flags 0, \x01, topic
    _, sub2 = connected_pair("PUB", "SUB")
    assert sub2.send_command(zmtp.Subscribe(b"t")) == b"\x82\x03\x00\x01t"


def test_codec_ping_pong_mapping() -> None:
    c, s = connected_pair()
    ping = s.send_command(zmtp.Ping(100, b""))
    assert ping == b"\x89\x00"  # a WebSocket ping frame (the TTL has no place)
    c.receive_data(ping)
    assert c.events() == [zmtp.Ping(0, b"")]
    pong = c.send_command(zmtp.Pong(b""))
    assert pong[0] == 0x8A and pong[1] == 0x80  # a masked pong
    s.receive_data(pong)
    assert s.events() == [zmtp.Pong(b"")]
    # a close frame ends the connection
    s.receive_data(b"\x88\x80" + b"\x00\x00\x00\x00")
    assert s.events() == [zmtp.ConnectionClosed()]


@pytest.mark.parametrize("n", [0, 1, 16, 17, 125])
def test_codec_pong_frame_carries_the_whole_context(n: int) -> None:
    """A Pong answering a WebSocket ping is a pong frame with the whole context (0..125
    octets, as RFC 6455 §5.5.3 wants it echoed); answering a ZMTP PING command, a PONG
    command with at most 16 octets of it."""
    c, s = connected_pair()
    payload = bytes(range(n))
    s.receive_data(masked_frame(0x89, payload))
    assert s.events() == [zmtp.Ping(0, payload)]
    assert s.send_command(zmtp.Pong(payload)) == bytes((0x8A, n)) + payload
    c.receive_data(s.send_command(zmtp.Pong(payload)))
    assert c.events() == [zmtp.Pong(payload)]
    # the server's ping to the client: the client's (masked) pong echoes it all too
    c.receive_data(s.send_command(zmtp.Ping(0, payload)))
    assert c.events() == [zmtp.Ping(0, payload)]
    s.receive_data(c.send_command(zmtp.Pong(payload)))
    assert s.events() == [zmtp.Pong(payload)]
    # a ZMTP PING command is answered with a PONG command cut to 16 octets
    s.receive_data(masked_frame(0x82, b"\x02" + zmtp.ping_body(0, payload)))
    assert s.events() == [zmtp.Ping(0, payload)]
    body = b"\x02\x04PONG" + payload[:16]  # the flags octet, then the PONG command
    assert s.send_command(zmtp.Pong(payload)) == bytes((0x82, len(body))) + body


def test_codec_join_and_error_commands() -> None:
    dish, radio = connected_pair("DISH", "RADIO")
    radio.receive_data(dish.send_command(zmtp.Join(b"g1")) + dish.send_command(zmtp.Leave(b"g1")))
    assert radio.events() == [zmtp.Join(b"g1"), zmtp.Leave(b"g1")]
    refusal = radio.refusal("go away")
    dish.receive_data(refusal)
    with pytest.raises(zmtp.RemoteProtocolError, match="go away"):
        dish.events()


def test_codec_error_after_messages_is_raised_next() -> None:
    c, s = connected_pair()
    data = c.send_message([b"fine"]) + masked_frame(0x81, b"text")
    got: list[Any] = []
    assert s.events_into(got.append, data) == []
    assert got == [(b"fine",)]
    with pytest.raises(zmtp.RemoteProtocolError, match="text message"):
        s.events()
