"""Hostile peers while serving good ones (issue 17), over ws (ZWS 2.0, RFC 45).

The ws counterpart of tests/test_hostile.py: each test binds a trinq socket on a ws
endpoint, connects a good trinq peer to it over ws, and lets raw WebSocket clients
(tests/rawwspeer.py, which writes the HTTP upgrade and the masked client frames by
hand) misbehave on the same endpoint: garbage instead of the upgrade, bad and endless
upgrade requests, bad WebSocket frames after it, huge declared 64-bit lengths,
slowloris upgrades, endless multipart messages, ZMTP PING commands and WebSocket ping
frames from peers that never read, SUBSCRIBE floods, connection floods, half-open
peers, reconnect storms and a stolen routing id. In each, the good peer's messages all
arrive, in order, and once the hostile peers are gone the number of living trio tasks
is back to what it was before they came.

Time is virtual (``autojump_clock``) where only trio timers are waited for; the
flood tests run in real time and are bounded by ``trio.fail_after``.
"""

from __future__ import annotations

import errno
import random
import struct
import tracemalloc
from typing import Any

import hostile
import pytest
import trio
from hostile import engines, expect_in_order
from rawpeer import wait_until
from rawwspeer import (
    BINARY,
    CLOSE,
    CONT,
    MORE,
    PING,
    PONG,
    TEXT,
    RawWsPeer,
    command,
    message,
    ping,
    ready,
    upgrade_request,
    ws_frame,
    ws_ping,
    zws,
)

import trinq
import trinq._engine
from trinq._engine import Engine
from trinq.testing import endpoint, wait_for_event

pytest.importorskip("wsproto")

E = trinq.Event


def buffered(engine: Engine) -> int:
    """Octets the engine's ZWS codec holds, not yet decoded."""
    codec: Any = engine.codec
    return len(codec._buf) + codec._pending_len


async def raw_handshake(peer: RawWsPeer, socket_type: str, identity: bytes | None = None) -> None:
    """Upgrade, then READY without reading anything back (a peer that never reads
    after the 101)."""
    await peer.upgrade()
    await peer.send(ready(socket_type, identity))


def serving(ctx: trinq.Context, *args: Any, **options: Any) -> Any:
    """:func:`hostile.serving` on a ws endpoint."""
    return hostile.serving(ctx, endpoint("ws", ""), *args, **options)


async def send_quietly(peer: RawWsPeer, data: bytes) -> None:
    """Send, unless the server has refused the peer already."""
    try:
        await peer.send(data)
    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
        pass


def reasons(seen: list[trinq.MonitorEvent], kind: trinq.Event) -> list[str]:
    return [ev.reason or "" for ev in seen if ev.event == kind]


# --- garbage before, instead of and after the upgrade --------------------------------


async def test_garbage_is_refused_while_the_good_peer_is_served(ctx):
    """Random junk instead of the upgrade request (refused at its first octet unless
    that looks like an HTTP method; then at handshake_ivl or 16 KiB), junk after a
    good upgrade (a bad frame at once, a frame in progress at handshake_ivl), and junk
    after a whole handshake (it may be a legal frame in progress: those peers hang up
    themselves)."""
    rng = random.Random(17)
    with trio.fail_after(20):
        async with serving(ctx, handshake_ivl=300) as (sock, ep, _mon, good):
            refused, hanging_up = [], []
            for i in range(40):
                peer = await RawWsPeer.connect(ep)
                junk = rng.randbytes(rng.randrange(1, 600))
                kind = i % 4
                if kind == 0:  # not HTTP at all
                    junk = bytes((rng.choice([0, 0x16, 0xFF, ord("g"), ord(" ")]),)) + junk
                    refused.append(peer)
                elif kind == 1:  # looks like a method, then junk
                    junk = b"GET" + junk
                    refused.append(peer)
                elif kind == 2:  # a good upgrade request, then junk
                    junk = upgrade_request(ep) + junk
                    refused.append(peer)
                else:
                    await peer.upgrade()
                    junk = ready("PUSH") + junk
                    hanging_up.append(peer)
                await send_quietly(peer, junk)
                await good.send_some(10)
            await expect_in_order(sock, 400)
            for peer in refused:
                await peer.wait_closed()
                await peer.aclose()
            for peer in hanging_up:
                await peer.aclose()


BAD_FRAMES = [
    (ws_frame(BINARY, b"\x00rsv", rsv=4), "reserved bits"),
    (ws_frame(BINARY, b"\x00rsv", rsv=1), "reserved bits"),
    (ws_frame(0x3, b"\x00?"), "unknown WebSocket opcode"),
    (ws_frame(0xB, b"?"), "unknown WebSocket opcode"),
    (ws_frame(BINARY, b"\x00unmasked", masked=False), "unmasked WebSocket frame"),
    (ws_frame(PING, b"unmasked", masked=False), "unmasked WebSocket frame"),
    (ws_frame(TEXT, b"hello"), "text message"),
    (ws_frame(BINARY, b"\x00part", fin=False), "fragmented"),
    (ws_frame(CONT, b"\x00cont"), "continuation frame"),
    (ws_frame(BINARY, b""), "empty WebSocket binary message"),
    (ws_frame(PING, b"p" * 126), "control frame"),
    (ws_frame(PING, b"p", fin=False), "control frame"),
]


async def test_bad_frames_after_the_upgrade_are_refused_at_once(ctx):
    """Frames no client may send -- reserved bits, an unknown opcode, an unmasked
    frame, a text, fragmented or empty message, an oversized or fragmented control
    frame -- during the ZWS handshake (HANDSHAKE_FAILED_PROTOCOL) and after it
    (DISCONNECTED): each ends that connection at once, with the reason."""
    with trio.fail_after(20):
        async with serving(ctx) as (sock, ep, mon, good):
            for frame, reason in BAD_FRAMES:
                early = await RawWsPeer.connect(ep)
                await early.upgrade()
                await early.send(frame)  # before READY
                await early.wait_closed()
                seen = await wait_for_event(mon, E.HANDSHAKE_FAILED_PROTOCOL)
                assert reason in reasons(seen, E.HANDSHAKE_FAILED_PROTOCOL)[-1], (reason, seen)
                await early.aclose()

                late = await RawWsPeer.connect(ep)
                await late.handshake("PUSH")
                await late.send(message(b"noise") + frame)
                await late.wait_closed()
                seen = await wait_for_event(mon, E.DISCONNECTED)
                why = reasons(seen, E.DISCONNECTED)[-1]
                assert "protocol error" in why and reason in why, (reason, why)
                await late.aclose()
                await good.send_some(10)
            await expect_in_order(sock, 10 * len(BAD_FRAMES))


# --- bad, incomplete and endless upgrade requests ----------------------------------------


def bad_requests(ep: str) -> list[tuple[bytes, bytes]]:
    """(request, the status line's start) pairs the server must refuse."""
    good_req = upgrade_request(ep)
    return [
        (upgrade_request(ep, key=None), b"HTTP/1.1 400"),
        (upgrade_request(ep, protocols="chat, superchat"), b"HTTP/1.1 400"),
        (upgrade_request(ep, protocols="ZWS2.0/CURVE"), b"HTTP/1.1 400"),
        (upgrade_request(ep, protocols=None), b"HTTP/1.1 400"),
        (upgrade_request(ep, version="8"), b"HTTP/1.1 426"),
        (upgrade_request(ep, method="POST"), b"HTTP/1.1 400"),
        (upgrade_request(ep, path="/nobody-here"), b"HTTP/1.1 404"),
        (good_req.replace(b"Upgrade: websocket", b"Upgrade: h2c"), b"HTTP/1.1 400"),
        (good_req.replace(b"Connection: Upgrade", b"Connection: keep-alive"), b"HTTP/1.1 400"),
        (good_req.replace(b" HTTP/1.1\r\n", b" HTTP/1.1 extra\r\n", 1), b"HTTP/1.1 400"),
        (good_req.replace(b"GET /", b"GET nopath", 1), b"HTTP/1.1 400"),
        (upgrade_request(ep, extra=b"no colon here\r\n"), b"HTTP/1.1 400"),
        (upgrade_request(ep, extra=b"X-Junk: \x00\x01\r\n"), b"HTTP/1.1 400"),
        # not ASCII where wsproto decodes a header (idna, ascii): a crash before
        (good_req.replace(b"Host: 127.0.0.1", b"Host: \xff\xfe", 1), b"HTTP/1.1 400"),
        (good_req.replace(b"Host: 127.0.0.1", b"Host: xn--zz", 1), b"HTTP/1.1 400"),
        (upgrade_request(ep, protocols="ZWS2.0/NULL\xe9"), b"HTTP/1.1 400"),
        (good_req.replace(b"Connection: Upgrade", b"Connection: Upgrade\xff"), b"HTTP/1.1 400"),
        (upgrade_request(ep, extra=b"Sec-WebSocket-Extensions: \xffx\r\n"), b"HTTP/1.1 400"),
        (good_req.replace(b"GET /", b"GET /\xff", 1), b"HTTP/1.1 400"),
        # one huge header line
        (upgrade_request(ep, extra=b"X-Filler: " + b"f" * 100_000 + b"\r\n"), b"HTTP/1.1 431"),
    ]


async def test_bad_upgrade_requests_are_refused(ctx):
    """Each bad request gets its HTTP refusal (or none) and the connection closes; the
    socket, and the good peer, go on."""
    with trio.fail_after(20):
        async with serving(ctx) as (sock, ep, _mon, good):
            for request, status in bad_requests(ep):
                peer = await RawWsPeer.connect(ep)
                await send_quietly(peer, request)
                answer = await peer.wait_closed()
                assert answer.startswith(status), (request[:120], answer[:200])
                await peer.aclose()
                await good.send_some(5)
            await expect_in_order(sock, 5 * len(bad_requests(ep)))


async def test_endless_request_headers_are_bounded(ctx):
    """Header lines that never end (and one line that never ends): the server reads at
    most 16 KiB of request head, answers 431 and closes; memory does not grow with
    what the peers keep sending."""
    with trio.fail_after(20):
        async with serving(ctx) as (sock, ep, mon, good):
            tracemalloc.start()
            try:
                base, _ = tracemalloc.get_traced_memory()
                answers = []
                for line in (b"X-A: b\r\n", b"c" * 1000):
                    for _ in range(5):
                        peer = await RawWsPeer.connect(ep)
                        await peer.send(upgrade_request(ep)[:-2])  # the head not ended
                        async with trio.open_nursery() as nursery:

                            async def endless(peer: RawWsPeer = peer, line: bytes = line) -> None:
                                chunk = line * (65536 // len(line))
                                try:
                                    for _ in range(1000):  # up to 64 MB
                                        await peer.send(chunk)
                                except (trio.BrokenResourceError, OSError):
                                    pass

                            nursery.start_soon(endless)
                            answers.append(await peer.wait_closed())
                        await peer.aclose()
                        await good.send_some(10)
                grown = tracemalloc.get_traced_memory()[0] - base
            finally:
                tracemalloc.stop()
            assert all(a.startswith(b"HTTP/1.1 431") for a in answers), answers
            seen = await wait_for_event(mon, E.ACCEPT_FAILED, 10)
            assert all("over 16384 octets" in r for r in reasons(seen, E.ACCEPT_FAILED))
            await expect_in_order(sock, 100)
            assert grown < 512 * 1024, grown


# --- huge declared sizes ---------------------------------------------------------------


def huge_frame_header(size: int) -> bytes:
    """A masked binary frame's header declaring ``size`` octets (64-bit length)."""
    # (a key of zeros: what follows the header goes unmasked, the flags octet first)
    return ws_frame(BINARY, b"", declared=size, key=bytes(4)) + b"\x00"


async def test_huge_declared_frame_with_maxmsgsize_is_dropped_at_once(ctx):
    """A 64-bit length past maxmsgsize ends the connection on the header alone, in the
    ZWS handshake and after it (2**62, and 2**63 + 1, whose top bit RFC 6455 forbids)."""
    with trio.fail_after(20):
        async with serving(ctx, maxmsgsize=4096) as (sock, ep, mon, good):
            for size in (1 << 62, (1 << 63) + 1, (1 << 64) - 1, 4098):
                early = await RawWsPeer.connect(ep)
                await early.upgrade()
                await early.send(huge_frame_header(size))
                await early.wait_closed()
                seen = await wait_for_event(mon, E.HANDSHAKE_FAILED_PROTOCOL)
                assert "exceeds maxmsgsize" in reasons(seen, E.HANDSHAKE_FAILED_PROTOCOL)[-1]
                await early.aclose()

                late = await RawWsPeer.connect(ep)
                await raw_handshake(late, "PUSH")
                await late.send(huge_frame_header(size))
                await late.wait_closed()
                seen = await wait_for_event(mon, E.DISCONNECTED)
                assert "exceeds maxmsgsize" in reasons(seen, E.DISCONNECTED)[-1]
                await late.aclose()
                await good.send_some(25)
            await expect_in_order(sock, 100)


async def test_huge_declared_frame_without_maxmsgsize_holds_only_what_came(ctx):
    """No maxmsgsize: a 2**40-octet frame is legal, so the connection waits for its
    body; the codec holds what the peer sent (one frame), nothing more, and the good
    peer is served meanwhile."""
    with trio.fail_after(20):
        async with serving(ctx) as (sock, ep, _mon, good):
            peer = await RawWsPeer.connect(ep)
            await raw_handshake(peer, "PUSH")
            body = b"x" * 300_000
            await peer.send(huge_frame_header(1 << 40) + body)
            await good.send_some(100)
            await expect_in_order(sock, 100)
            await wait_until(lambda: any(e.codec.wanted_bytes > 1 << 39 for e in engines(sock)))
            held = [buffered(e) for e in engines(sock) if e.codec.wanted_bytes]
            assert held and max(held) <= 15 + len(body), held
            await peer.aclose()


@pytest.mark.parametrize("kind", ["huge-command", "ping-flood"])
async def test_huge_handshake_is_refused_after_a_bound(ctx, kind):
    """Without maxmsgsize a READY may declare any size, and WebSocket pings before the
    READY are legal (and ignored); either way the handshake takes at most
    MAX_HANDSHAKE_BYTES before it gives up, instead of going on for handshake_ivl."""
    with trio.fail_after(20):
        async with serving(ctx) as (sock, ep, mon, good):
            peer = await RawWsPeer.connect(ep)
            await peer.upgrade()
            if kind == "huge-command":
                await peer.send(huge_frame_header(1 << 40)[:-1] + b"\x02")  # a command
                chunk = bytes(65536)
            else:
                chunk = ws_ping() * (65536 // 6)
            async with trio.open_nursery() as nursery:

                async def stuff() -> None:
                    try:
                        while True:
                            await peer.send(chunk)
                    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                        pass

                nursery.start_soon(stuff)
                seen = await wait_for_event(mon, E.HANDSHAKE_FAILED_PROTOCOL)
                assert "octets" in reasons(seen, E.HANDSHAKE_FAILED_PROTOCOL)[-1]
                nursery.cancel_scope.cancel()
            await good.send_some(50)
            await expect_in_order(sock, 50)
            await peer.aclose()


# --- slowloris -------------------------------------------------------------------------


async def test_slowloris_upgrades_time_out_at_handshake_ivl(ctx, autojump_clock):
    """Upgrade requests sent one octet per 100 ms, or cut short and never finished, are
    dropped at handshake_ivl (ACCEPT_FAILED, ETIMEDOUT); so is a peer that upgrades and
    then trickles its READY (HANDSHAKE_FAILED_NO_DETAIL)."""
    async with serving(ctx, handshake_ivl=500) as (sock, ep, mon, good):
        with trio.fail_after(100):
            trickling = [await RawWsPeer.connect(ep) for _ in range(10)]
            stalled = [await RawWsPeer.connect(ep) for _ in range(10)]
            upgraded = [await RawWsPeer.connect(ep) for _ in range(5)]
            for peer in upgraded:
                await peer.upgrade()
            t0 = trio.current_time()
            async with trio.open_nursery() as nursery:

                async def trickle(peer: RawWsPeer, data: bytes) -> None:
                    try:
                        for byte in data:
                            await peer.send(bytes([byte]))
                            await trio.sleep(0.1)
                    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                        pass

                for peer in trickling:
                    nursery.start_soon(trickle, peer, upgrade_request(ep))
                for peer in stalled:
                    await peer.send(upgrade_request(ep)[:40])  # ... and nothing more
                for peer in upgraded:
                    nursery.start_soon(trickle, peer, ready("PUSH"))
                await good.send_some(50)
                await expect_in_order(sock, 50)
                seen = await wait_for_event(mon, E.ACCEPT_FAILED, 20, timeout=100)
                assert trio.current_time() - t0 == pytest.approx(0.5, abs=0.05)
                failed = [ev for ev in seen if ev.event == E.ACCEPT_FAILED]
                assert all(ev.value == errno.ETIMEDOUT for ev in failed), failed
                if len(reasons(seen, E.HANDSHAKE_FAILED_NO_DETAIL)) < 5:
                    await wait_for_event(
                        mon,
                        E.HANDSHAKE_FAILED_NO_DETAIL,
                        5 - len(reasons(seen, E.HANDSHAKE_FAILED_NO_DETAIL)),
                        timeout=100,
                    )
                assert trio.current_time() - t0 == pytest.approx(0.5, abs=0.05)
            for peer in trickling + stalled:
                assert not await peer.wait_closed()  # closed without an answer
            for peer in trickling + stalled + upgraded:
                await peer.aclose()


# --- an endless multipart message --------------------------------------------------------


async def test_endless_multipart_message_is_bounded(ctx):
    """maxmsgsize bounds a multipart message as a whole over ws as over tcp: ZWS
    frames with MORE forever are a protocol error once they pass the limit, so memory
    stays bounded and the good peer is served meanwhile."""
    with trio.fail_after(20):
        async with serving(ctx, maxmsgsize=100, rcvhwm=10) as (sock, ep, mon, good):
            peer = await RawWsPeer.connect(ep)
            await raw_handshake(peer, "PUSH")
            await wait_for_event(mon, E.HANDSHAKE_SUCCEEDED)
            chunk = zws(b"12345678", MORE) * 5000
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
            assert "exceeds maxmsgsize" in reasons(seen, E.DISCONNECTED)[-1], seen[-1]
            await good.send_some(3)
            await expect_in_order(sock, 3)
            assert grown < 1024 * 1024, grown


async def test_multipart_message_past_maxmsgsize_in_one_read(ctx):
    """A message whose frames each fit maxmsgsize but whose sum does not is refused
    even when it arrives whole in one read; one that fits is delivered."""
    with trio.fail_after(20):
        async with serving(ctx, maxmsgsize=100) as (sock, ep, mon, good):
            peer = await RawWsPeer.connect(ep)
            await raw_handshake(peer, "PUSH")
            fits, too_big = [b"a" * 50, b"b" * 50], [b"c" * 60, b"d" * 41]
            await peer.send(message(*fits) + message(*too_big) + message(b"after"))
            seen = await wait_for_event(mon, E.DISCONNECTED)
            assert (
                "multipart message of 101 octets exceeds maxmsgsize 100"
                in (reasons(seen, E.DISCONNECTED)[-1])
            ), seen[-1]
            await good.send_some(5)
            got, want = [], 0
            while want < 5:
                msg = await sock.recv_multipart()
                if msg == [b"good %06d" % want]:
                    want += 1
                else:
                    got.append(msg)
            assert got == [fits]  # and neither the one too big nor what followed it
            with pytest.raises(trinq.Again):
                await sock.recv_multipart(trinq.DONTWAIT)
            await peer.aclose()


# --- floods from peers that never read ------------------------------------------------


@pytest.mark.parametrize("kind", ["zmtp-ping-command", "websocket-ping-frame"])
async def test_ping_flood_from_a_peer_that_never_reads(ctx, kind):
    """Every PING (a ZMTP PING command in a ws message, or a WebSocket ping frame) is
    owed a PONG (a PONG command or a WebSocket pong frame), but only one is ever
    queued: the command queue and the traced memory stay flat however long the
    flood."""
    with trio.fail_after(30):
        async with serving(ctx, rcvhwm=10) as (sock, ep, _mon, good):
            peer = await RawWsPeer.connect(ep, rcvbuf=4096)
            await raw_handshake(peer, "PUSH")
            await wait_until(lambda: len(engines(sock)) == 2)
            if kind == "zmtp-ping-command":
                one = ping(0, b"0123456789abcdef")
            else:  # (a pong now and then, unasked: ignored)
                one = ws_ping(b"0123456789abcdef" * 7) + ws_frame(PONG, b"unasked")
            flood = one * (60_000 // len(one))
            before = sock.statistics().bytes_in
            tracemalloc.start()
            try:
                await peer.send(flood)
                await good.send_some(10)
                base, _ = tracemalloc.get_traced_memory()
                longest = 0
                for _ in range(16):  # ~1 MB of PINGs
                    await peer.send(flood)
                    longest = max(longest, *(len(e.commands) for e in engines(sock)))
                await good.send_some(10)
                await expect_in_order(sock, 20)
                # every PING was read (and answered, as far as the peer lets us write)
                await wait_until(lambda: sock.statistics().bytes_in >= before + 17 * len(flood))
                grown = tracemalloc.get_traced_memory()[0] - base
            finally:
                tracemalloc.stop()
            assert longest <= 1
            assert grown < 512 * 1024, grown
            await peer.aclose()


async def test_subscribe_flood_to_a_pub_from_a_peer_that_never_reads(ctx):
    """Over ws a subscription is a ``\\x01topic`` message (a SUBSCRIBE command is taken
    too): a PUB keeps one entry per distinct topic and pipe, so repeating a few topics
    forever costs nothing, and queues nothing outbound."""
    with trio.fail_after(30):
        async with serving(ctx, sock_type=trinq.PUB, good_type=trinq.SUB) as (
            pub,
            ep,
            _mon,
            good,
        ):
            good.sock.subscribe(b"good")
            peer = await RawWsPeer.connect(ep, rcvbuf=4096)
            await raw_handshake(peer, "SUB")
            flood = b"".join(zws(b"\x01topic-%d" % (i % 8)) for i in range(1000))
            flood += b"".join(command(b"SUBSCRIBE", b"topic-%d" % (i % 8)) for i in range(1000))
            flood += b"".join(zws(b"\x00topic-%d" % (i % 8)) for i in range(50))
            flood += b"".join(command(b"CANCEL", b"topic-%d" % (i % 8)) for i in range(50))
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


async def test_subscribe_flood_to_a_verbose_xpub_stops_the_reader(ctx, monkeypatch):
    """XPUB with xpub_verbose turns every subscription into a message for the
    application; one that does not read them stops that peer's reader once
    MAX_COMMAND_BACKLOG are waiting; reading them resumes it, and every one arrives, in
    order."""
    monkeypatch.setattr(trinq._engine, "MAX_COMMAND_BACKLOG", 300)
    with trio.fail_after(30):
        async with serving(ctx, sock_type=trinq.XPUB, good_type=trinq.SUB, xpub_verbose=True) as (
            xpub,
            ep,
            _mon,
            good,
        ):
            good.sock.subscribe(b"good")
            assert await xpub.recv() == b"\x01good"
            peer = await RawWsPeer.connect(ep, rcvbuf=4096)
            await raw_handshake(peer, "SUB")
            total = 3000
            await peer.send(b"".join(zws(b"\x01t%05d" % i) for i in range(total)))
            pattern: Any = xpub._core.pattern
            await wait_until(lambda: any(e._reading_blocked for e in engines(xpub)))
            assert len(pattern._pending) <= 300
            for i in range(100):  # publishing (and the good subscriber) go on meanwhile
                await xpub.send(b"good %06d" % i)
            await expect_in_order(good.sock, 100)
            got = [await xpub.recv() for _ in range(total)]
            assert got == [b"\x01t%05d" % i for i in range(total)]
            await peer.aclose()


async def test_join_flood_to_a_radio_from_a_peer_that_never_reads(ctx):
    """JOIN/LEAVE commands over ws to a RADIO: one set entry per distinct group, nothing
    queued; the good DISH is served throughout."""
    with trio.fail_after(30):
        async with serving(ctx, sock_type=trinq.RADIO, good_type=trinq.DISH) as (
            radio,
            ep,
            _mon,
            good,
        ):
            pattern: Any = radio._core.pattern
            good.sock.join("good")
            await wait_until(lambda: b"good" in pattern._members)
            peer = await RawWsPeer.connect(ep, rcvbuf=4096)
            await raw_handshake(peer, "DISH")
            flood = b"".join(
                command(b"JOIN" if i % 3 else b"LEAVE", b"g%d" % (i % 16)) for i in range(3000)
            )
            tracemalloc.start()
            try:
                await peer.send(flood)
                await wait_until(lambda: len(engines(radio)) == 2)
                base, _ = tracemalloc.get_traced_memory()
                for _ in range(10):
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


async def test_connection_flood(ctx):
    """300 connections at once -- silent, upgrading and handshaking, half an upgrade,
    closing at once -- while the good peer sends; then they all go and the tasks with
    them."""
    with trio.fail_after(30):
        async with serving(ctx) as (sock, ep, _mon, good):
            peers: list[RawWsPeer] = []
            async with trio.open_nursery() as nursery:

                async def one(i: int) -> None:
                    try:
                        peer = await RawWsPeer.connect(ep)
                        peers.append(peer)
                        if i % 4 == 0:
                            await raw_handshake(peer, "PUSH")
                            await peer.send(message(b"noise"))
                        elif i % 4 == 1:
                            await peer.aclose()
                        elif i % 4 == 2:
                            await peer.send(upgrade_request(ep)[:30])
                    except (OSError, trio.BrokenResourceError, EOFError):
                        pass  # (past the listen backlog a connect can be refused)

                for i in range(300):
                    nursery.start_soon(one, i)
                await good.send_some(300)
            await expect_in_order(sock, 300)
            assert len(peers) >= 150
            for peer in peers:
                await peer.aclose()


async def test_half_open_peers_are_dropped_by_heartbeats(ctx, autojump_clock):
    """Peers that upgrade and handshake and then neither answer the WebSocket pings
    nor close are dropped at heartbeat_ivl + heartbeat_timeout; the good peer (a
    trinq socket, which answers with pongs) stays."""
    async with serving(ctx, heartbeat_ivl=100, heartbeat_timeout=300) as (sock, ep, mon, good):
        with trio.fail_after(100):
            peers = []
            for _ in range(10):
                peer = await RawWsPeer.connect(ep)
                await peer.handshake("PUSH")
                peers.append(peer)
            t0 = trio.current_time()
            seen = await wait_for_event(mon, E.DISCONNECTED, 10, timeout=100)
            assert trio.current_time() - t0 <= 0.1 + 0.3 + 0.05
            assert all("heartbeat" in r for r in reasons(seen, E.DISCONNECTED)), seen
            await good.send_some(50)
            await expect_in_order(sock, 50)
            for peer in peers:
                opcodes = []
                try:
                    while True:
                        opcodes.append((await peer.read_ws_frame())[0])
                except (EOFError, trio.BrokenResourceError):
                    pass
                assert PING in opcodes, opcodes  # the server did ask
                await peer.aclose()


async def test_reconnect_storm(ctx):
    """Ten rounds of 20 trinq peers that connect over ws, handshake, send and leave."""
    await hostile.reconnect_storm(ctx, serving(ctx))


async def test_close_frames_and_abrupt_ends(ctx):
    """Peers that end in every way a WebSocket can -- a close frame (in the ZWS
    handshake, after it, in the middle of a multipart message), EOF mid-frame, a
    reset -- leave nothing behind."""
    with trio.fail_after(20):
        async with serving(ctx) as (sock, ep, _mon, good):
            endings = [
                ws_frame(CLOSE, struct.pack(">H", 1000) + b"bye"),
                message(b"noise") + ws_frame(CLOSE, b""),
                zws(b"part", MORE) + ws_frame(CLOSE, struct.pack(">H", 1001)),
                zws(b"part", MORE) + zws(b"x" * 1000)[:500],  # then EOF
            ]
            for i, ending in enumerate(endings * 3):
                peer = await RawWsPeer.connect(ep)
                if i % 4:
                    await raw_handshake(peer, "PUSH")
                else:
                    await peer.upgrade()
                await peer.send(ending)
                await (peer.reset() if i >= 8 else peer.aclose())
                await good.send_some(10)
            await expect_in_order(sock, 120)
            await wait_until(lambda: len(sock._core.pipes) == 1)


# --- routing ids ---------------------------------------------------------------------


async def test_router_peer_claiming_another_routing_id(ctx):
    """A raw ws DEALER announces the good peer's Identity: ROUTER (without
    router_handover) keeps the first owner; the impostor's messages go nowhere and
    replies still reach the good peer."""
    await hostile.routing_id_theft(ctx, endpoint("ws", ""), RawWsPeer.connect, message)
