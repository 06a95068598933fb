"""STREAM against libzmq's ``ZMQ_STREAM`` (through pyzmq), both directions.

Neither side speaks ZMTP: each sees the other as a raw byte stream and announces the
connection as ``[id, b""]``. pyzmq runs blocking in ``trio.to_thread.run_sync`` with
RCVTIMEO/SNDTIMEO and linger 0, and every test is bounded by ``trio.fail_after``.

libzmq processes a socket's pending commands (such as the end of a pipe it closed) only
inside calls on that socket, so a pyzmq side that closes a connection keeps polling
until the trinq side has seen the close.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest
import trio
import zmq

import trinq
from trinq.testing import WIRE_TRANSPORTS, endpoint

pytestmark = pytest.mark.parametrize("transport", WIRE_TRANSPORTS)

ZTIMEO = 5000  # ms: every blocking pyzmq call returns within this
BIG = 1024 * 1024


def zstream(zctx: zmq.Context[Any]) -> zmq.Socket[Any]:
    s = zctx.socket(zmq.STREAM)
    s.linger = 0
    s.rcvtimeo = ZTIMEO
    s.sndtimeo = ZTIMEO
    return s


def z_recv_data(z: zmq.Socket[Any], zid: bytes, n: int) -> bytes:
    """Reassemble ``n`` bytes from peer ``zid`` on the pyzmq side."""
    buf = bytearray()
    while len(buf) < n:
        rid, data = z.recv_multipart()
        assert rid == zid
        assert data, "an unexpected notification"
        buf += data
    return bytes(buf)


async def t_recv_data(t: trinq.Socket, tid: bytes, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        rid, data = await t.recv_multipart()
        assert rid == tid
        assert data, "an unexpected notification"
        buf += data
    return bytes(buf)


def z_poll_until(z: zmq.Socket[Any], done: threading.Event) -> None:
    """Let libzmq process its commands until the trio side says it saw the close."""
    for _ in range(ZTIMEO // 10):
        if done.is_set():
            return
        z.poll(10)
    raise AssertionError("the trinq side never saw the connection close")


async def exchange(t: trinq.Socket, z: zmq.Socket[Any], trinq_closes: bool) -> None:
    """Both sides see the connection; bytes both ways (small, then 1 MiB); one side
    closes it and the other sees ``[id, b""]``."""
    small_up, small_down = b"hello from libzmq", b"hello from trinq"
    big = os.urandom(BIG)

    def z_hello() -> bytes:
        zid, data = z.recv_multipart()
        assert data == b""
        z.send_multipart([zid, small_up])
        return zid

    zid = await trio.to_thread.run_sync(z_hello)
    tid, data = await t.recv_multipart()
    assert data == b""
    assert await t_recv_data(t, tid, len(small_up)) == small_up

    await t.send_multipart([tid, small_down])
    got = await trio.to_thread.run_sync(z_recv_data, z, zid, len(small_down))
    assert got == small_down

    # 1 MiB each way, in whatever pieces arrive
    async with trio.open_nursery() as nursery:
        nursery.start_soon(t.send_multipart, [tid, big])
        got = await trio.to_thread.run_sync(z_recv_data, z, zid, BIG)
    assert got == big
    await trio.to_thread.run_sync(z.send_multipart, [zid, big])
    assert await t_recv_data(t, tid, BIG) == big

    if trinq_closes:
        await t.send_multipart([tid, b"bye"])
        await t.send_multipart([tid, b""])

        def z_sees_close() -> None:
            assert z_recv_data(z, zid, 3) == b"bye"
            assert z.recv_multipart() == [zid, b""]  # libzmq's disconnect notification

        await trio.to_thread.run_sync(z_sees_close)
    else:
        done = threading.Event()

        def z_close() -> None:
            z.send_multipart([zid, b"bye"])
            z.send_multipart([zid, b""])
            z_poll_until(z, done)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(trio.to_thread.run_sync, z_close)
            assert await t_recv_data(t, tid, 3) == b"bye"
            assert await t.recv_multipart() == [tid, b""]
            done.set()


@pytest.mark.parametrize("trinq_closes", [True, False], ids=["trinq-closes", "libzmq-closes"])
async def test_libzmq_stream_connects_to_trinq(ctx, zctx, transport, tmp_path, trinq_closes):
    """trinq STREAM bound, libzmq STREAM connecting."""
    with trio.fail_after(20):
        t = ctx.socket(trinq.STREAM, linger=0)
        ep = await t.bind(endpoint(transport, tmp_path))
        z = zstream(zctx)
        z.connect(ep)
        await exchange(t, z, trinq_closes)


@pytest.mark.parametrize("trinq_closes", [True, False], ids=["trinq-closes", "libzmq-closes"])
async def test_trinq_stream_connects_to_libzmq(ctx, zctx, transport, tmp_path, trinq_closes):
    """libzmq STREAM bound, trinq STREAM connecting."""
    with trio.fail_after(20):
        z = zstream(zctx)
        if transport == "tcp":
            z.bind("tcp://127.0.0.1:*")
        else:
            z.bind(endpoint("ipc", tmp_path))
        ep = z.getsockopt_string(zmq.LAST_ENDPOINT)
        # reconnect_ivl=-1: the trinq side does not come back after the close
        t = ctx.socket(trinq.STREAM, linger=0, reconnect_ivl=-1)
        t.connect(ep)
        await exchange(t, z, trinq_closes)


async def test_libzmq_stream_and_plain_clients_share_trinq(ctx, zctx, transport, tmp_path):
    """A trinq STREAM serving a libzmq STREAM and a plain trio client at once routes
    each reply to the connection it is addressed to."""
    with trio.fail_after(20):
        t = ctx.socket(trinq.STREAM, linger=0)
        ep = await t.bind(endpoint(transport, tmp_path))
        z = zstream(zctx)
        z.connect(ep)
        zid = (await trio.to_thread.run_sync(z.recv_multipart))[0]
        zpeer, data = await t.recv_multipart()
        assert data == b""
        if transport == "tcp":
            host, _, port = ep.removeprefix("tcp://").rpartition(":")
            plain = await trio.open_tcp_stream(host, int(port))
        else:
            plain = await trio.open_unix_socket(ep.removeprefix("ipc://"))
        ppeer, data = await t.recv_multipart()
        assert data == b"" and ppeer != zpeer
        await t.send_multipart([ppeer, b"to plain"])
        await t.send_multipart([zpeer, b"to libzmq"])
        got = await trio.to_thread.run_sync(z_recv_data, z, zid, 9)
        assert got == b"to libzmq"
        buf = b""
        while len(buf) < 8:
            buf += await plain.receive_some(8 - len(buf))
        assert buf == b"to plain"
        await plain.aclose()
