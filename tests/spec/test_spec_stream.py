"""STREAM spec tests: raw TCP/IPC peers addressed by routing id, as libzmq's
``test_stream.cpp``, ``test_stream_disconnect.cpp`` and ``test_stream_empty.cpp``
check them (the semantics of libzmq ``src/stream.cpp``; docs/patterns/stream.md).

The peers are plain trio streams (``trio.open_tcp_stream``, ``trio.open_unix_socket``,
``trio.open_tcp_listeners``): no ZMTP anywhere. TCP has no message boundaries, so
whatever a test sends may arrive in any number of ``[id, data]`` pieces; the tests
reassemble it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
import trio
import trio.testing

import trinq
from trinq.testing import WIRE_TRANSPORTS, endpoint

wire = pytest.mark.parametrize("transport", WIRE_TRANSPORTS)

MiB = 1024 * 1024


async def wait_until(predicate: Callable[[], bool]) -> None:
    """Wait (bounded by the test's fail_after) until ``predicate()`` holds, rechecking
    whenever every task is blocked (the sockets' I/O tasks have moved what they can)."""
    while not predicate():
        await trio.testing.wait_all_tasks_blocked(cushion=0.001)


async def bind_stream(
    ctx: trinq.Context, transport: str, tmp_path: Any, **opts: Any
) -> tuple[trinq.Socket, str]:
    server = ctx.socket(trinq.STREAM, linger=0, **opts)
    return server, await server.bind(endpoint(transport, tmp_path))


async def open_client(ep: str) -> trio.abc.Stream:
    """A plain (non-ZMQ) client connection to a bound endpoint."""
    if ep.startswith("tcp://"):
        host, _, port = ep.removeprefix("tcp://").rpartition(":")
        return await trio.open_tcp_stream(host, int(port))
    assert ep.startswith("ipc://")
    return await trio.open_unix_socket(ep.removeprefix("ipc://"))


async def accept_client(server: trinq.Socket, ep: str) -> tuple[trio.abc.Stream, bytes]:
    """Connect a plain client; return it and the routing id of its notification."""
    client = await open_client(ep)
    rid, data = await server.recv_multipart()
    assert data == b""
    return client, rid


async def read_exactly(stream: trio.abc.Stream, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = await stream.receive_some(n - len(buf))
        assert chunk, f"EOF after {len(buf)} of {n} bytes"
        buf += chunk
    return bytes(buf)


async def read_to_eof(stream: trio.abc.Stream) -> bytes:
    buf = bytearray()
    while chunk := await stream.receive_some(65536):
        buf += chunk
    return bytes(buf)


async def recv_data(sock: trinq.Socket, rid: bytes, n: int) -> bytes:
    """Reassemble ``n`` bytes from peer ``rid`` (no other peer may be talking)."""
    buf = bytearray()
    while len(buf) < n:
        got_rid, data = await sock.recv_multipart()
        assert got_rid == rid
        assert data, "an unexpected connect/disconnect notification"
        buf += data
    return bytes(buf)


async def nothing_more(sock: trinq.Socket) -> None:
    """Once every task is blocked, nothing is queued for the application."""
    await trio.testing.wait_all_tasks_blocked(cushion=0.01)
    with pytest.raises(trinq.Again):
        sock.recv_multipart_nowait()


# --- bound STREAM, plain clients ------------------------------------------------------


@wire
async def test_connect_notification(ctx, transport, tmp_path):
    """A new connection is announced as ``[routing_id, b""]``; ids are ROUTER's
    generated form: 5 octets, 0x00 + a uint32 counter (consecutive per connection)."""
    with trio.fail_after(10):
        server, ep = await bind_stream(ctx, transport, tmp_path)
        _c1, rid1 = await accept_client(server, ep)
        _c2, rid2 = await accept_client(server, ep)
        for rid in (rid1, rid2):
            assert len(rid) == 5 and rid[0] == 0
        first = int.from_bytes(rid1[1:], "big")
        assert int.from_bytes(rid2[1:], "big") == (first + 1) & 0xFFFFFFFF
        await nothing_more(server)


@wire
async def test_echo_to_the_right_client(ctx, transport, tmp_path):
    """``send_multipart([id, data])`` writes ``data`` to that connection only."""
    with trio.fail_after(10):
        server, ep = await bind_stream(ctx, transport, tmp_path)
        clients = [await accept_client(server, ep) for _ in range(3)]
        ids = {rid: k for k, (_c, rid) in enumerate(clients)}
        assert len(ids) == 3
        for k, (client, _rid) in enumerate(clients):
            await client.send_all(b"hello from %d" % k)
        for _ in range(3):
            rid, data = await server.recv_multipart()
            # one small write arrives in one read here; the id tells who sent it
            assert data == b"hello from %d" % ids[rid]
            await server.send_multipart([rid, b"echo " + data])
        for k, (client, _rid) in enumerate(clients):
            expect = b"echo hello from %d" % k
            assert await read_exactly(client, len(expect)) == expect


@wire
async def test_client_close_notifies_after_its_data(ctx, transport, tmp_path):
    """A peer that goes away is announced as ``[routing_id, b""]`` after everything
    it sent; from then on its id routes nowhere."""
    with trio.fail_after(10):
        server, ep = await bind_stream(ctx, transport, tmp_path)
        client, rid = await accept_client(server, ep)
        payload = os.urandom(200_000)
        await client.send_all(payload)
        await client.aclose()
        assert await recv_data(server, rid, len(payload)) == payload
        assert await server.recv_multipart() == [rid, b""]
        await nothing_more(server)
        await server.send_multipart([rid, b"to nobody"])  # dropped
        server.router_mandatory = True
        with pytest.raises(trinq.ZMQError) as exc:
            await server.send_multipart([rid, b"to nobody"])
        assert exc.value.errno == trinq.EHOSTUNREACH


@wire
async def test_server_closes_a_client(ctx, transport, tmp_path):
    """``send_multipart([id, b""])`` closes that connection after writing what was
    queued to it (the client sees the data, then EOF). As in libzmq, no notification
    follows for a connection the application closed, and its id is gone at once."""
    with trio.fail_after(10):
        server, ep = await bind_stream(ctx, transport, tmp_path)
        client, rid = await accept_client(server, ep)
        other, other_rid = await accept_client(server, ep)
        await server.send_multipart([rid, b"last words"])
        await server.send_multipart([rid, b""])
        assert await read_to_eof(client) == b"last words"
        await nothing_more(server)
        server.router_mandatory = True
        with pytest.raises(trinq.ZMQError) as exc:
            await server.send_multipart([rid, b"again"])
        assert exc.value.errno == trinq.EHOSTUNREACH
        # the other connection is untouched
        await server.send_multipart([other_rid, b"still here"])
        assert await read_exactly(other, 10) == b"still here"
        await other.send_all(b"me too")
        assert await server.recv_multipart() == [other_rid, b"me too"]


@wire
async def test_close_writes_everything_queued(ctx, transport, tmp_path):
    """Closing a peer writes all that is queued to it first, even while that peer is
    still sending (what it sends after the close is discarded, not delivered)."""
    with trio.fail_after(20):
        server, ep = await bind_stream(ctx, transport, tmp_path)
        client, rid = await accept_client(server, ep)
        big = os.urandom(4 * MiB)
        await server.send_multipart([rid, big])
        await server.send_multipart([rid, b""])
        await client.send_all(b"more from the client")  # while the server still writes
        assert await read_to_eof(client) == big
        await nothing_more(server)


async def test_unknown_id_is_dropped(ctx, tmp_path):
    """Without ``router_mandatory`` a message to an unknown id is dropped silently."""
    with trio.fail_after(10):
        server, ep = await bind_stream(ctx, "tcp", tmp_path)
        client, rid = await accept_client(server, ep)
        await server.send_multipart([b"\x00nope", b"lost"])
        await server.send_multipart([b"", b"lost too"])
        await server.send_multipart([rid, b"found"])
        assert await read_exactly(client, 5) == b"found"


async def test_unknown_id_router_mandatory(ctx, tmp_path):
    """With ``router_mandatory`` an unknown id is ``EHOSTUNREACH`` (libzmq's STREAM
    always raises it); the socket stays usable."""
    with trio.fail_after(10):
        server, ep = await bind_stream(ctx, "tcp", tmp_path, router_mandatory=True)
        client, rid = await accept_client(server, ep)
        with pytest.raises(trinq.ZMQError) as exc:
            await server.send_multipart([b"\x00nope", b"lost"])
        assert exc.value.errno == trinq.EHOSTUNREACH
        with pytest.raises(trinq.ZMQError) as exc:
            await server.send_multipart([b"\x00nope", b""])  # closing nobody, too
        assert exc.value.errno == trinq.EHOSTUNREACH
        await server.send_multipart([rid, b"found"])
        assert await read_exactly(client, 5) == b"found"


@pytest.mark.parametrize(
    "frames", [[b"only one"], [b"\x00\x00\x00\x00\x01", b"a", b"b"]], ids=["1", "3"]
)
async def test_not_two_frames_is_einval(ctx, tmp_path, frames):
    """A STREAM message is ``[routing_id, data]``: any other frame count is EINVAL
    (libzmq mis-frames it silently), and nothing is sent."""
    with trio.fail_after(10):
        server, ep = await bind_stream(ctx, "tcp", tmp_path)
        client, rid = await accept_client(server, ep)
        if len(frames) == 3:
            frames = [rid, *frames[1:]]
        with pytest.raises(trinq.ZMQError) as exc:
            await server.send_multipart(frames)
        assert exc.value.errno == trinq.EINVAL
        # the same through SNDMORE: the message is discarded, the next one is fine
        for f in frames[:-1]:
            await server.send(f, trinq.SNDMORE)
        with pytest.raises(trinq.ZMQError) as exc:
            await server.send(frames[-1])
        assert exc.value.errno == trinq.EINVAL
        await server.send_multipart([rid, b"ok"])
        assert await read_exactly(client, 2) == b"ok"


async def test_sndmore_form(ctx, tmp_path):
    """``send(id, SNDMORE)`` then ``send(data)`` is the same message as
    ``send_multipart([id, data])``; so is closing with ``send(id, SNDMORE); send(b"")``."""
    with trio.fail_after(10):
        server, ep = await bind_stream(ctx, "tcp", tmp_path)
        client, rid = await accept_client(server, ep)
        await server.send(rid, trinq.SNDMORE)
        await server.send(b"via sndmore")
        assert await read_exactly(client, 11) == b"via sndmore"
        await client.send_all(b"ping")
        assert await server.recv() == rid
        assert server.rcvmore
        assert await server.recv() == b"ping"
        assert not server.rcvmore
        await server.send(rid, trinq.SNDMORE)
        await server.send(b"")
        assert await read_to_eof(client) == b""


@wire
async def test_large_data_both_ways(ctx, transport, tmp_path):
    """1 MiB each way, in whatever pieces the transport delivers them."""
    with trio.fail_after(20):
        server, ep = await bind_stream(ctx, transport, tmp_path)
        client, rid = await accept_client(server, ep)
        up = os.urandom(MiB)
        down = os.urandom(MiB)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(client.send_all, up)
            assert await recv_data(server, rid, MiB) == up
        async with trio.open_nursery() as nursery:
            nursery.start_soon(server.send_multipart, [rid, down])
            assert await read_exactly(client, MiB) == down


@wire
async def test_empty_connection(ctx, transport, tmp_path):
    """A peer that connects and leaves without a byte: two notifications."""
    with trio.fail_after(10):
        server, ep = await bind_stream(ctx, transport, tmp_path)
        client, rid = await accept_client(server, ep)
        await client.aclose()
        assert await server.recv_multipart() == [rid, b""]
        await nothing_more(server)


async def test_disconnect_notification_sets_pollin(ctx, tmp_path):
    """A pending "went away" notification is something to receive (``events``)."""
    with trio.fail_after(10):
        server, ep = await bind_stream(ctx, "tcp", tmp_path)
        client, rid = await accept_client(server, ep)
        assert not server.events & trinq.POLLIN
        assert server.events & trinq.POLLOUT
        await client.aclose()
        await wait_until(lambda: server.statistics().peers == 0)
        assert server.events & trinq.POLLIN
        assert server.recv_multipart_nowait() == [rid, b""]
        assert not server.events & trinq.POLLIN


async def test_full_peer_waits_with_router_mandatory(ctx, tmp_path):
    """With ``router_mandatory`` a peer at its SNDHWM makes the send wait (DONTWAIT:
    ``Again``) until the peer reads; without it the message is dropped."""
    with trio.fail_after(20):
        server, ep = await bind_stream(ctx, "tcp", tmp_path, sndhwm=1, router_mandatory=True)
        client, rid = await accept_client(server, ep)
        chunk = b"x" * 65536
        sent = 0
        with pytest.raises(trinq.Again):
            for _ in range(10_000):  # bounded: the kernel buffers fill well before
                await server.send_multipart([rid, chunk], trinq.DONTWAIT)
                sent += 1
        assert sent < 10_000
        # a blocking send waits until the client reads
        async with trio.open_nursery() as nursery:
            nursery.start_soon(server.send_multipart, [rid, b"!"])
            got = await read_exactly(client, sent * len(chunk) + 1)
        assert got == chunk * sent + b"!"
        # without router_mandatory, a full peer drops instead of waiting
        server.router_mandatory = False
        for _ in range(sent + 50):
            await server.send_multipart([rid, chunk], trinq.DONTWAIT)


async def test_cancelled_recv_loses_nothing(ctx, tmp_path):
    """``recv_multipart`` is atomic under cancellation: a cancelled wait takes nothing,
    and a receive cancelled before it starts leaves a queued message queued."""
    with trio.fail_after(10):
        server, ep = await bind_stream(ctx, "tcp", tmp_path)
        client, rid = await accept_client(server, ep)
        got: list[list[bytes]] = []
        async with trio.open_nursery() as nursery:
            scope = trio.CancelScope()

            async def receive() -> None:
                with scope:
                    got.append(await server.recv_multipart())

            nursery.start_soon(receive)
            await trio.testing.wait_all_tasks_blocked()
            scope.cancel()  # while it is parked
        assert scope.cancelled_caught and not got
        await client.send_all(b"data")
        await wait_until(lambda: bool(server.events & trinq.POLLIN))
        with trio.CancelScope() as scope:
            scope.cancel()
            await server.recv_multipart()
        assert scope.cancelled_caught
        assert await server.recv_multipart() == [rid, b"data"]
        await client.aclose()
        await wait_until(lambda: server.statistics().peers == 0)
        with trio.CancelScope() as scope:
            scope.cancel()
            await server.recv_multipart()
        assert await server.recv_multipart() == [rid, b""]


@wire
async def test_many_clients_come_and_go(ctx, transport, tmp_path):
    """Every connection is announced once when it comes and once when it goes, after
    all its data, whatever the interleaving with the others."""
    with trio.fail_after(20):
        server, ep = await bind_stream(ctx, transport, tmp_path)
        n = 20

        async def client(k: int) -> None:
            conn = await open_client(ep)
            await conn.send_all(b"%d;" % k * 1000)
            await conn.aclose()

        async with trio.open_nursery() as nursery:
            for k in range(n):
                nursery.start_soon(client, k)
            log: dict[bytes, list[bytes]] = {}
            done = 0
            while done < n:
                rid, data = await server.recv_multipart()
                events = log.setdefault(rid, [])
                if not data:
                    assert events.count(b"") < 2
                    done += bool(events)
                events.append(data)
        assert len(log) == n
        texts = set()
        for events in log.values():
            assert events[0] == b"" and events[-1] == b""
            assert b"" not in events[1:-1]
            texts.add(b"".join(events))
        assert texts == {b"%d;" % k * 1000 for k in range(n)}
        await nothing_more(server)


# --- connecting STREAM, plain servers ---------------------------------------------------


async def plain_listener(transport: str, tmp_path: Any) -> tuple[trio.SocketListener, str]:
    """A plain trio listener and the endpoint a STREAM connects to."""
    if transport == "tcp":
        (listener,) = await trio.open_tcp_listeners(0, host="127.0.0.1")
        port = listener.socket.getsockname()[1]
        return listener, f"tcp://127.0.0.1:{port}"
    path = os.fspath(tmp_path / "plain.ipc")
    sock = trio.socket.socket(trio.socket.AF_UNIX, trio.socket.SOCK_STREAM)
    await sock.bind(path)
    sock.listen()
    return trio.SocketListener(sock), f"ipc://{path}"


@wire
async def test_connect_to_plain_server(ctx, transport, tmp_path):
    """A connecting STREAM gets ``[id, b""]`` for its connection too, then talks raw
    bytes; the server closing is ``[id, b""]`` again."""
    with trio.fail_after(10):
        listener, ep = await plain_listener(transport, tmp_path)
        async with listener:
            sock = ctx.socket(trinq.STREAM, linger=0)
            sock.connect(ep)
            conn = await listener.accept()
            rid, data = await sock.recv_multipart()
            assert data == b"" and len(rid) == 5 and rid[0] == 0
            await sock.send_multipart([rid, b"GET / HTTP/1.0\r\n\r\n"])
            assert await read_exactly(conn, 18) == b"GET / HTTP/1.0\r\n\r\n"
            await conn.send_all(b"HTTP/1.0 200 OK\r\n\r\nhi")
            assert await recv_data(sock, rid, 21) == b"HTTP/1.0 200 OK\r\n\r\nhi"
            await conn.aclose()
            assert await sock.recv_multipart() == [rid, b""]


async def test_connect_with_serve_tcp(ctx):
    """The same against ``trio.serve_tcp``: an echo server, and the STREAM closing."""
    with trio.fail_after(10):
        closed = trio.Event()

        async def echo(conn: trio.SocketStream) -> None:
            async for chunk in conn:
                await conn.send_all(chunk)
            closed.set()

        async with trio.open_nursery() as nursery:
            listeners = await nursery.start(partial(trio.serve_tcp, echo, 0, host="127.0.0.1"))
            port = listeners[0].socket.getsockname()[1]
            sock = ctx.socket(trinq.STREAM, linger=0)
            sock.connect(f"tcp://127.0.0.1:{port}")
            rid, data = await sock.recv_multipart()
            assert data == b""
            payload = os.urandom(300_000)
            await sock.send_multipart([rid, payload])
            assert await recv_data(sock, rid, len(payload)) == payload
            await sock.send_multipart([rid, b""])
            await closed.wait()
            nursery.cancel_scope.cancel()


async def test_connect_routing_id(ctx):
    """``connect_routing_id`` names the peer of the next ``connect()``."""
    with trio.fail_after(10):
        listener, ep = await plain_listener("tcp", None)
        async with listener:
            sock = ctx.socket(trinq.STREAM, linger=0)
            sock.connect_routing_id = b"web"
            sock.connect(ep)
            conn = await listener.accept()
            assert await sock.recv_multipart() == [b"web", b""]
            await sock.send_multipart([b"web", b"hi"])
            assert await read_exactly(conn, 2) == b"hi"


async def test_reconnect_is_a_new_peer(ctx):
    """Each connection is a peer of its own: after the server closes, the STREAM
    reconnects and announces the new connection under a new id."""
    with trio.fail_after(10):
        listener, ep = await plain_listener("tcp", None)
        async with listener:
            sock = ctx.socket(trinq.STREAM, linger=0, reconnect_ivl=10)
            sock.connect(ep)
            conn = await listener.accept()
            rid, _ = await sock.recv_multipart()
            await conn.aclose()
            assert await sock.recv_multipart() == [rid, b""]
            conn2 = await listener.accept()
            rid2, data = await sock.recv_multipart()
            assert data == b"" and rid2 != rid
            await sock.send_multipart([rid2, b"second"])
            assert await read_exactly(conn2, 6) == b"second"


async def test_heartbeat_options_never_drop_a_raw_peer(ctx, tmp_path):
    """A raw peer speaks no ZMTP, so it never answers a PING: heartbeat_ivl must not
    time it out (no heartbeats on STREAM connections)."""
    with trio.fail_after(10):
        server, ep = await bind_stream(ctx, "tcp", tmp_path, heartbeat_ivl=20, heartbeat_timeout=20)
        mon = server.monitor(trinq.Event.DISCONNECTED)
        client, rid = await accept_client(server, ep)
        # Ten heartbeat timeouts long: a heartbeat would have dropped the peer by now.
        with trio.move_on_after(0.2):
            ev = await mon.receive()
            raise AssertionError(f"the raw peer was dropped: {ev}")
        await client.send_all(b"still here")
        assert await server.recv_multipart() == [rid, b"still here"]
