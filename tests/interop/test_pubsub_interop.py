"""PUB/SUB/XPUB/XSUB interop with libzmq (through pyzmq) and with a fake ZMTP 3.0 peer.

The pyzmq side runs blocking in ``trio.to_thread.run_sync`` with RCVTIMEO/SNDTIMEO and
linger 0, so nothing can hang; every test is bounded by ``trio.fail_after``. The slow
joiner is defeated by an XPUB seeing the subscription, or by publishing a probe in a
loop until the subscriber has it.
"""

from __future__ import annotations

import socket
import struct
import threading
from typing import Any

import pytest
import trio
import zmq

import trinq

TIMEO_MS = 5000
BINDS = ["trinq-binds", "libzmq-binds"]


def zsock(zctx: zmq.Context[Any], kind: int) -> zmq.Socket[Any]:
    s = zctx.socket(kind)
    s.linger = 0
    s.rcvtimeo = TIMEO_MS
    s.sndtimeo = TIMEO_MS
    return s


async def zcall(fn: Any, *args: Any) -> Any:
    return await trio.to_thread.run_sync(fn, *args)


async def link(
    ours: trinq.Socket, theirs: zmq.Socket[Any], binds: str
) -> None:  # connect the pair in the requested direction
    if binds == "trinq-binds":
        ep = await ours.bind("tcp://127.0.0.1:*")
        theirs.connect(ep)
    else:
        port = theirs.bind_to_random_port("tcp://127.0.0.1")
        ours.connect(f"tcp://127.0.0.1:{port}")


def _try_recv(s: zmq.Socket[Any], timeout_ms: int) -> list[bytes] | None:
    if s.poll(timeout_ms, zmq.POLLIN):
        return s.recv_multipart()
    return None


async def probe_until_received(pub: trinq.Socket, sub: zmq.Socket[Any], probe: bytes) -> None:
    """Publish ``probe`` until the libzmq subscriber receives one; drain the extras."""
    with trio.fail_after(10):
        while await zcall(_try_recv, sub, 0) is None:
            await pub.send(probe)
            if await zcall(_try_recv, sub, 50) is not None:
                break
    while await zcall(_try_recv, sub, 50) is not None:
        pass


async def recv_poking(ours: trinq.Socket, theirs: zmq.Socket[Any]) -> bytes:
    """``ours.recv()``, while letting ``theirs`` process its commands.

    A libzmq socket attaches a newly accepted connection (and so sends its
    subscriptions) only when its application thread calls into it; a bound libzmq
    SUB/XSUB that nobody touches never subscribes its new peer.
    """
    with trio.fail_after(10):
        while True:
            await zcall(theirs.poll, 10)
            with trio.move_on_after(0.05):
                return await ours.recv()


# --- trinq publishes, libzmq subscribes ----------------------------------------------


@pytest.mark.parametrize("binds", BINDS)
async def test_trinq_pub_to_libzmq_sub(ctx, zctx, binds):
    with trio.fail_after(20):
        pub = ctx.socket(trinq.PUB, linger=0)
        sub = zsock(zctx, zmq.SUB)
        sub.subscribe(b"A")
        await link(pub, sub, binds)
        await probe_until_received(pub, sub, b"A-probe")
        for msg in ([b"A", b"1"], [b"B", b"2"], [b"AB", b"3"], [b"xA"], [b"A" * 300, b"x" * 70000]):
            await pub.send_multipart(msg)
        await pub.send(b"A-end")
        got = []
        while not got or got[-1] != [b"A-end"]:
            got.append(await zcall(sub.recv_multipart))
        assert got == [[b"A", b"1"], [b"AB", b"3"], [b"A" * 300, b"x" * 70000], [b"A-end"]]


@pytest.mark.parametrize("binds", BINDS)
async def test_trinq_xpub_with_libzmq_sub(ctx, zctx, binds):
    """A libzmq SUB's SUBSCRIBE/CANCEL commands reach a trinq XPUB's application."""
    with trio.fail_after(20):
        xpub = ctx.socket(trinq.XPUB, linger=0)
        sub = zsock(zctx, zmq.SUB)
        await link(xpub, sub, binds)
        sub.subscribe(b"weather")
        assert await recv_poking(xpub, sub) == b"\x01weather"
        await xpub.send_multipart([b"weather", b"sunny"])
        await xpub.send_multipart([b"sports", b"x"])
        await xpub.send_multipart([b"weather", b"rain"])
        assert await zcall(sub.recv_multipart) == [b"weather", b"sunny"]
        assert await zcall(sub.recv_multipart) == [b"weather", b"rain"]
        sub.unsubscribe(b"weather")
        assert await xpub.recv() == b"\x00weather"


@pytest.mark.parametrize("binds", BINDS)
async def test_libzmq_xsub_message_form_to_trinq_xpub(ctx, zctx, binds):
    """docs/interop.md §11: a libzmq XSUB forwards an application ``\\x01topic`` as an ordinary
    message even on ZMTP 3.1; trinq's XPUB must parse it as a subscription."""
    with trio.fail_after(20):
        xpub = ctx.socket(trinq.XPUB, linger=0)
        xsub = zsock(zctx, zmq.XSUB)
        await link(xpub, xsub, binds)
        await zcall(xsub.send, b"\x01quote")
        assert await recv_poking(xpub, xsub) == b"\x01quote"
        await xpub.send(b"quote-1")
        await xpub.send(b"other")
        await xpub.send(b"quote-2")
        assert await zcall(xsub.recv) == b"quote-1"
        assert await zcall(xsub.recv) == b"quote-2"
        await zcall(xsub.send_multipart, [b"up", b"stream"])
        assert await xpub.recv_multipart() == [b"up", b"stream"]
        await zcall(xsub.send, b"\x00quote")
        assert await xpub.recv() == b"\x00quote"


# --- libzmq publishes, trinq subscribes ----------------------------------------------


@pytest.mark.parametrize("binds", BINDS)
async def test_libzmq_xpub_to_trinq_sub(ctx, zctx, binds):
    """trinq's SUB sends SUBSCRIBE/CANCEL commands libzmq understands, and filters."""
    with trio.fail_after(20):
        sub = ctx.socket(trinq.SUB)
        xpub = zsock(zctx, zmq.XPUB)
        await link(sub, xpub, binds)
        sub.subscribe(b"t1")
        sub.subscribe("t2")
        assert sorted([await zcall(xpub.recv), await zcall(xpub.recv)]) == [b"\x01t1", b"\x01t2"]
        for m in (b"t1-a", b"zz", b"t2-b", b"t3"):
            await zcall(xpub.send, m)
        assert [await sub.recv(), await sub.recv()] == [b"t1-a", b"t2-b"]
        sub.unsubscribe(b"t1")
        assert await zcall(xpub.recv) == b"\x00t1"


@pytest.mark.parametrize("binds", BINDS)
async def test_libzmq_pub_to_trinq_sub(ctx, zctx, binds):
    with trio.fail_after(20):
        sub = ctx.socket(trinq.SUB)
        pub = zsock(zctx, zmq.PUB)
        await link(sub, pub, binds)
        sub.subscribe(b"")
        with trio.fail_after(10):
            while True:
                await zcall(pub.send, b"probe")
                with trio.move_on_after(0.05):
                    await sub.recv()
                    break
        await zcall(pub.send_multipart, [b"data", b"x" * 100000])
        while (msg := await sub.recv_multipart()) == [b"probe"]:
            pass
        assert msg == [b"data", b"x" * 100000]


@pytest.mark.parametrize("binds", BINDS)
async def test_trinq_xsub_to_libzmq_xpub(ctx, zctx, binds):
    with trio.fail_after(20):
        xsub = ctx.socket(trinq.XSUB)
        xpub = zsock(zctx, zmq.XPUB)
        await link(xsub, xpub, binds)
        await xsub.send(b"\x01news")
        assert await zcall(xpub.recv) == b"\x01news"
        await zcall(xpub.send, b"news-1")
        assert await xsub.recv() == b"news-1"
        await xsub.send_multipart([b"hello", b"publisher"])
        assert await zcall(xpub.recv_multipart) == [b"hello", b"publisher"]
        await xsub.send(b"\x00news")
        assert await zcall(xpub.recv) == b"\x00news"


@pytest.mark.parametrize("size", [245, 246, 255])
async def test_topics_near_255_bytes(ctx, zctx, size):
    """docs/interop.md §8: in 3.1 mode the SUBSCRIBE name counts toward the short/long frame
    choice (a 245-byte topic fits a short frame, 246 does not). Both directions."""
    topic = bytes(range(1, size + 1)) if size < 256 else b"t" * size
    with trio.fail_after(20):
        # trinq SUB -> libzmq XPUB
        sub = ctx.socket(trinq.SUB)
        zxpub = zsock(zctx, zmq.XPUB)
        port = zxpub.bind_to_random_port("tcp://127.0.0.1")
        sub.connect(f"tcp://127.0.0.1:{port}")
        sub.subscribe(topic)
        assert await zcall(zxpub.recv) == b"\x01" + topic
        await zcall(zxpub.send, topic + b"!")
        assert await sub.recv() == topic + b"!"
        sub.unsubscribe(topic)
        assert await zcall(zxpub.recv) == b"\x00" + topic
        # libzmq SUB -> trinq XPUB
        xpub = ctx.socket(trinq.XPUB, linger=0)
        zsub = zsock(zctx, zmq.SUB)
        zsub.connect(await xpub.bind("tcp://127.0.0.1:*"))
        zsub.subscribe(topic)
        assert await xpub.recv() == b"\x01" + topic
        await xpub.send(topic)
        assert await zcall(zsub.recv) == topic


# --- a fake ZMTP 3.0 peer (raw stdlib socket, hand-written bytes) -----------------------

GREETING_30 = (
    b"\xff"
    + b"\x00" * 8
    + b"\x7f"  # signature
    + b"\x03\x00"  # version 3.0
    + b"NULL".ljust(20, b"\x00")
    + b"\x00"  # as-server
    + b"\x00" * 31
)


def ready_30(socket_type: bytes) -> bytes:
    body = b"\x05READY" + b"\x0bSocket-Type" + struct.pack(">I", len(socket_type)) + socket_type
    return b"\x04" + bytes([len(body)]) + body


def short_message(body: bytes) -> bytes:
    assert len(body) <= 255
    return b"\x00" + bytes([len(body)]) + body


def recv_exact(s: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise ConnectionError("peer closed")
        data += chunk
    return data


def read_frame(s: socket.socket) -> tuple[int, bytes]:
    flags = recv_exact(s, 1)[0]
    if flags & 0x02:
        size = struct.unpack(">Q", recv_exact(s, 8))[0]
    else:
        size = recv_exact(s, 1)[0]
    return flags, recv_exact(s, size)


def handshake_30(s: socket.socket, socket_type: bytes) -> bytes:
    """Send our 3.0 greeting + READY; return the peer's greeting after checking READY."""
    s.sendall(GREETING_30)
    peer = recv_exact(s, 64)
    s.sendall(ready_30(socket_type))
    flags, body = read_frame(s)
    assert flags & 0x04 and body.startswith(b"\x05READY"), body
    return peer


async def test_fake_zmtp30_sub_subscribes_to_trinq_pub(ctx):
    """A 3.0 peer subscribes with the legacy ``\\x01topic`` message; trinq's PUB
    filters for it."""
    with trio.fail_after(20):
        pub = ctx.socket(trinq.PUB, linger=0)
        ep = await pub.bind("tcp://127.0.0.1:*")
        port = int(ep.rsplit(":", 1)[1])
        seen: list[bytes] = []
        done = trio.Event()

        def peer() -> None:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                greeting = handshake_30(s, b"SUB")
                assert greeting[10:12] == b"\x03\x01"  # trinq announces 3.1
                s.sendall(short_message(b"\x01A"))
                while True:
                    flags, body = read_frame(s)
                    assert not flags & 0x04, "only messages expected after READY"
                    seen.append(body)
                    if body == b"A-data":
                        return

        async def run_peer() -> None:
            await trio.to_thread.run_sync(peer)
            done.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(run_peer)
            while not done.is_set():
                await pub.send(b"B-filtered")
                await pub.send(b"A-data")
                with trio.move_on_after(0.05):
                    await done.wait()
        assert seen == [b"A-data"]


async def test_trinq_sub_sends_legacy_form_to_fake_zmtp30_pub(ctx):
    """Toward a peer announcing minor 0, trinq's SUB sends subscriptions as
    ``\\x01topic`` / ``\\x00topic`` messages, not SUBSCRIBE commands (docs/interop.md §2, §11),
    replaying them all on connect, and receives what matches."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    frames: list[tuple[int, bytes]] = []
    replayed = threading.Event()

    def peer() -> None:
        listener.settimeout(10)
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(10)
            handshake_30(conn, b"PUB")
            while len(frames) < 3:
                frames.append(read_frame(conn))
            replayed.set()
            frames.append(read_frame(conn))  # the unsubscription
            for body in (b"A-hello", b"B-nope", b"X-gone", b"C-hello"):
                conn.sendall(short_message(body))
            conn.recv(1)  # returns once trinq closes the connection

    with listener, trio.fail_after(20):
        sub = ctx.socket(trinq.SUB)
        for topic in (b"A", b"C", b"X"):
            sub.subscribe(topic)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(trio.to_thread.run_sync, peer)
            sub.connect(f"tcp://127.0.0.1:{port}")
            assert await trio.to_thread.run_sync(replayed.wait, 10)
            sub.unsubscribe(b"X")
            assert await sub.recv() == b"A-hello"
            assert await sub.recv() == b"C-hello"
            await sub.aclose()
        # message frames (flags 0) in the legacy form, never commands
        assert frames == [(0, b"\x01A"), (0, b"\x01C"), (0, b"\x01X"), (0, b"\x00X")]
