"""The public contract of trinq.Socket and trinq.Context (shared/design/DESIGN.md §1)."""

from __future__ import annotations

import inspect
import os
import socket
import sys

import attrs
import pytest
import trio
from rawpeer import free_endpoint, wait_until

import trinq
from trinq.testing import TRANSPORTS, endpoint, wait_for_event


async def pull_push_pair(ctx: trinq.Context, bind_ep: str) -> tuple[trinq.Socket, trinq.Socket]:
    pull = ctx.socket(trinq.PULL)
    resolved = await pull.bind(bind_ep)
    push = ctx.socket(trinq.PUSH)
    push.connect(resolved)
    return pull, push


# --- bind / endpoints ------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["tcp://127.0.0.1:*", "tcp://127.0.0.1:0"])
async def test_bind_returns_resolved_tcp_endpoint(ctx, spec):
    with trio.fail_after(10):
        pull = ctx.socket(trinq.PULL)
        ep = await pull.bind(spec)
        assert ep.startswith("tcp://127.0.0.1:")
        port = int(ep.rsplit(":", 1)[1])
        assert 0 < port < 65536
        assert pull.last_endpoint == ep
        assert pull.getsockopt(trinq.LAST_ENDPOINT) == ep
        push = ctx.socket(trinq.PUSH)
        push.connect(ep)
        await push.send(b"hi")
        assert await pull.recv() == b"hi"


@pytest.mark.skipif(not socket.has_ipv6, reason="no IPv6 support in this Python")
async def test_bind_ipv6_loopback(ctx):
    with trio.fail_after(10):
        pull = ctx.socket(trinq.PULL)
        ep = await pull.bind("tcp://[::1]:*")
        assert ep.startswith("tcp://[::1]:")
        assert int(ep.rsplit(":", 1)[1]) > 0
        push = ctx.socket(trinq.PUSH)
        push.connect(ep)
        await push.send(b"v6")
        assert await pull.recv() == b"v6"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="abstract ipc is Linux-only")
async def test_bind_ipc_abstract(ctx):
    with trio.fail_after(10):
        name = f"ipc://@trinq-test-{os.getpid()}-{id(ctx)}"
        pull = ctx.socket(trinq.PULL)
        ep = await pull.bind(name)
        assert ep == name
        push = ctx.socket(trinq.PUSH)
        push.connect(ep)
        await push.send(b"abstract")
        assert await pull.recv() == b"abstract"


async def test_bind_ipc_stale_socket_file(ctx, tmp_path):
    """A socket file left behind by a dead process does not stop a bind (libzmq)."""
    with trio.fail_after(10):
        path = tmp_path / "stale.ipc"
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(path))
        s.close()  # the file stays
        assert path.exists()
        pull = ctx.socket(trinq.PULL)
        ep = await pull.bind(f"ipc://{path}")
        assert ep == f"ipc://{path}"
        push = ctx.socket(trinq.PUSH)
        push.connect(ep)
        await push.send(b"fresh")
        assert await pull.recv() == b"fresh"
        await pull.aclose()
        assert not path.exists()  # closing the listener removes the file it made


async def test_bind_twice_same_port_is_eaddrinuse(ctx):
    with trio.fail_after(10):
        a = ctx.socket(trinq.PULL)
        ep = await a.bind("tcp://127.0.0.1:*")
        b = ctx.socket(trinq.PULL)
        with pytest.raises(trinq.ZMQError) as exc:
            await b.bind(ep)
        assert exc.value.errno == trinq.EADDRINUSE


async def test_last_endpoint_follows_connect(ctx):
    with trio.fail_after(10):
        push = ctx.socket(trinq.PUSH)
        assert push.last_endpoint == ""
        ep = free_endpoint("tcp", "")
        push.connect(ep)
        assert push.last_endpoint == ep


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_unbind_closes_listener_and_connections(ctx, transport, tmp_path):
    with trio.fail_after(10):
        pull = ctx.socket(trinq.PULL)
        mon = pull.monitor()
        ep = await pull.bind(endpoint(transport, tmp_path))
        push = ctx.socket(trinq.PUSH)
        push.connect(ep)
        await push.send(b"1")
        assert await pull.recv() == b"1"
        await pull.unbind(ep)
        seen = await wait_for_event(mon, trinq.Event.CLOSED)
        if not any(e.event == trinq.Event.DISCONNECTED for e in seen):
            await wait_for_event(mon, trinq.Event.DISCONNECTED)
        # nobody listens any more
        with pytest.raises(OSError):
            if transport == "tcp":
                port = int(ep.rsplit(":", 1)[1])
                await trio.open_tcp_stream("127.0.0.1", port)
            else:
                s = trio.socket.socket(socket.AF_UNIX)
                try:
                    await s.connect(ep[len("ipc://") :])
                finally:
                    s.close()
        with pytest.raises(trinq.ZMQError) as exc:
            await pull.unbind(ep)
        assert exc.value.errno == trinq.ENOENT


async def test_connect_and_disconnect_are_sync(ctx):
    with trio.fail_after(10):
        assert not inspect.iscoroutinefunction(trinq.Socket.connect)
        assert not inspect.iscoroutinefunction(trinq.Socket.disconnect)
        assert not inspect.iscoroutinefunction(trinq.Socket.close)
        pull = ctx.socket(trinq.PULL)
        ep = await pull.bind("tcp://127.0.0.1:*")
        push = ctx.socket(trinq.PUSH)
        pmon = push.monitor()
        assert push.connect(ep) is None
        await push.send(b"a")
        assert await pull.recv() == b"a"
        assert push.disconnect(ep) is None
        # libzmq's term_endpoint terminates the endpoint's pipe synchronously: from
        # now on no message may be routed to it, so with no other peer a send blocks.
        with pytest.raises(trinq.Again):
            await push.send(b"b", trinq.DONTWAIT)
        await wait_for_event(pmon, trinq.Event.DISCONNECTED)
        with pytest.raises(trinq.Again):
            await push.send(b"b", trinq.DONTWAIT)
        with pytest.raises(trinq.ZMQError) as exc:
            push.disconnect(ep)
        assert exc.value.errno == trinq.ENOENT


# --- send / recv flavours ----------------------------------------------------------------


async def test_send_recv_flavours(ctx):
    with trio.fail_after(10):
        a = ctx.socket(trinq.PAIR)
        ep = await a.bind("tcp://127.0.0.1:*")
        b = ctx.socket(trinq.PAIR)
        b.connect(ep)
        await a.send(b"bytes")
        assert await b.recv() == b"bytes"
        await a.send(bytearray(b"bytearray"))
        assert await b.recv() == b"bytearray"
        await a.send(memoryview(b"xmemoryviewx")[1:-1])
        assert await b.recv() == b"memoryview"
        await a.send_string("héllo")
        assert await b.recv_string() == "héllo"
        await a.send_string("latin", encoding="latin-1")
        assert await b.recv() == b"latin"
        await a.send_json({"a": [1, 2, None]})
        assert await b.recv_json() == {"a": [1, 2, None]}
        await a.send_pyobj({"t": (1, 2), "s": {3}})
        assert await b.recv_pyobj() == {"t": (1, 2), "s": {3}}
        await a.send_multipart([b"x", bytearray(b"y"), memoryview(b"z")])
        assert await b.recv_multipart() == [b"x", b"y", b"z"]
        # empty frames are fine
        await a.send_multipart([b"", b""])
        assert await b.recv_multipart() == [b"", b""]
        # SNDMORE builds one message; recv() + rcvmore walks it
        await a.send(b"1", trinq.SNDMORE)
        await a.send_string("2", trinq.SNDMORE)
        await a.send(b"3")
        assert await b.recv() == b"1"
        assert b.rcvmore
        assert b.getsockopt(trinq.RCVMORE) == 1
        assert await b.recv() == b"2"
        assert b.rcvmore
        assert await b.recv() == b"3"
        assert not b.rcvmore
        assert b.getsockopt(trinq.RCVMORE) == 0
        # a message assembled with SNDMORE is received whole by recv_multipart
        await a.send(b"p", trinq.SNDMORE)
        await a.send(b"q")
        assert await b.recv_multipart() == [b"p", b"q"]


async def test_str_is_a_type_error(ctx):
    with trio.fail_after(10):
        a = ctx.socket(trinq.PAIR)
        with pytest.raises(TypeError):
            await a.send("text")  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            await a.send_multipart([b"ok", "text"])  # type: ignore[list-item]
        with pytest.raises(TypeError):
            await a.send(12345)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            await a.send_string(b"bytes")  # type: ignore[arg-type]


async def test_async_for_yields_messages(ctx):
    with trio.fail_after(10):
        pull, push = await pull_push_pair(ctx, "tcp://127.0.0.1:*")
        for i in range(5):
            await push.send_multipart([b"m", b"%d" % i])
        got = []
        async for frames in pull:
            got.append(frames)
            if len(got) == 5:
                break
        assert got == [[b"m", b"%d" % i] for i in range(5)]


async def test_async_for_ends_when_socket_closes(ctx):
    with trio.fail_after(10):
        pull = ctx.socket(trinq.PULL)
        await pull.bind("tcp://127.0.0.1:*")
        got = []

        async def consume() -> None:
            async for frames in pull:
                got.append(frames)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(consume)
            await trio.testing.wait_all_tasks_blocked()
            pull.close()
        assert got == []


# --- options ---------------------------------------------------------------------------


async def test_options_three_ways_equivalent(ctx):
    with trio.fail_after(10):
        a = ctx.socket(trinq.PUSH, sndhwm=10, linger=250, routing_id=b"abc")
        b = ctx.socket(trinq.PUSH)
        b.sndhwm = 10
        b.linger = 250
        b.routing_id = b"abc"
        c = ctx.socket(trinq.PUSH)
        c.setsockopt(trinq.SNDHWM, 10)
        c.setsockopt(trinq.LINGER, 250)
        c.setsockopt(trinq.ROUTING_ID, b"abc")
        for s in (a, b, c):
            assert s.sndhwm == 10
            assert s.getsockopt(trinq.SNDHWM) == 10
            assert s.getsockopt("sndhwm") == 10
            assert s.linger == 250 == s.getsockopt(trinq.LINGER)
            assert s.routing_id == b"abc" == s.getsockopt(trinq.ROUTING_ID)
        # defaults, libzmq's
        d = ctx.socket(trinq.PULL)
        assert d.rcvhwm == 1000
        assert d.sndhwm == 1000
        assert d.reconnect_ivl == 100
        assert d.handshake_ivl == 30000
        assert d.getsockopt(trinq.TYPE) == trinq.PULL


@pytest.mark.parametrize(
    ("name", "option", "value"),
    [
        ("sndhwm", trinq.SNDHWM, -1),
        ("rcvhwm", trinq.RCVHWM, "ten"),
        ("linger", trinq.LINGER, -2),
        ("reconnect_ivl", trinq.RECONNECT_IVL, 1.5),
        ("heartbeat_ivl", trinq.HEARTBEAT_IVL, -5),
        ("routing_id", trinq.ROUTING_ID, b"x" * 256),
    ],
)
async def test_bad_option_value_is_einval_naming_option(ctx, name, option, value):
    with trio.fail_after(10):
        with pytest.raises(trinq.ZMQError) as e1:
            ctx.socket(trinq.PUSH, **{name: value})
        s = ctx.socket(trinq.PUSH)
        with pytest.raises(trinq.ZMQError) as e2:
            setattr(s, name, value)
        with pytest.raises(trinq.ZMQError) as e3:
            s.setsockopt(option, value)
        for e in (e1, e2, e3):
            assert e.value.errno == trinq.EINVAL
            assert name in str(e.value).lower()


async def test_unknown_option_is_einval(ctx):
    with trio.fail_after(10):
        s = ctx.socket(trinq.PUSH)
        with pytest.raises(trinq.ZMQError) as exc:
            s.setsockopt("no_such_option", 1)
        assert exc.value.errno == trinq.EINVAL
        with pytest.raises(trinq.ZMQError) as exc:
            ctx.socket(trinq.PUSH, no_such_option=1)
        assert exc.value.errno == trinq.EINVAL


@pytest.mark.parametrize(
    ("ep", "errno"),
    [
        ("bogus://127.0.0.1:5555", trinq.EPROTONOSUPPORT),
        ("udpx://x", trinq.EPROTONOSUPPORT),
        ("tcp://127.0.0.1", trinq.EINVAL),
        ("tcp://127.0.0.1:notaport", trinq.EINVAL),
        ("tcp://127.0.0.1:70000", trinq.EINVAL),
        ("no-scheme-at-all", trinq.EINVAL),
        ("tcp://", trinq.EINVAL),
    ],
)
async def test_bad_endpoints(ctx, ep, errno):
    with trio.fail_after(10):
        s = ctx.socket(trinq.PUSH)
        with pytest.raises(trinq.ZMQError) as e1:
            s.connect(ep)
        with pytest.raises(trinq.ZMQError) as e2:
            await s.bind(ep)
        for e in (e1, e2):
            assert e.value.errno == errno
            assert str(e.value)  # a message, not just a number


async def test_connect_needs_a_port(ctx):
    s = ctx.socket(trinq.PUSH)
    for ep in ("tcp://127.0.0.1:*", "tcp://127.0.0.1:0", "tcp://*:5555"):
        with pytest.raises(trinq.ZMQError) as exc:
            s.connect(ep)
        assert exc.value.errno == trinq.EINVAL


# --- statistics ------------------------------------------------------------------------


async def test_statistics_snapshot(ctx):
    with trio.fail_after(10):
        pull, push = await pull_push_pair(ctx, "tcp://127.0.0.1:*")
        for i in range(10):
            await push.send_multipart([b"abc", b"%d" % i])
        await wait_until(lambda: pull.statistics().messages_in == 10)
        before = pull.statistics()
        assert before.socket_type == "PULL"
        assert before.peers == 1 == len(before.pipes)
        assert before.pipes[0].inbound_queued == 10
        assert before.bytes_in > 10 * 4
        assert pull.last_endpoint in before.endpoints
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            before.peers = 5  # type: ignore[misc]
        for _ in range(10):
            await pull.recv_multipart()
        after = pull.statistics()
        assert before.pipes[0].inbound_queued == 10  # the snapshot did not move
        assert after.pipes[0].inbound_queued == 0
        # the writer counts a batch once its send_all returned: maybe after the peer read it
        await wait_until(lambda: push.statistics().messages_out == 10)
        ps = push.statistics()
        assert ps.socket_type == "PUSH"
        assert ps.messages_out == 10
        assert ps.bytes_out >= before.bytes_in - 64  # minus greeting/READY differences
        assert push.last_endpoint in ps.endpoints


# --- closing -----------------------------------------------------------------------------


async def test_context_exit_closes_every_socket():
    with trio.fail_after(10):
        async with trinq.Context() as ctx:
            a = ctx.socket(trinq.PULL)
            ep = await a.bind("tcp://127.0.0.1:*")
            b = ctx.socket(trinq.PUSH)
            b.connect(ep)
            c = ctx.socket(trinq.PAIR)
            mon = a.monitor()
        for s in (a, b, c):
            assert s.closed
        with pytest.raises(trinq.ContextTerminated) as exc:  # closed by the context
            await b.send(b"x")
        assert exc.value.errno == trinq.ETERM
        events = [ev.event async for ev in mon]
        assert events[-1] == trinq.Event.MONITOR_STOPPED
        with pytest.raises(trinq.ContextTerminated):
            ctx.socket(trinq.PAIR)


async def test_close_right_after_creation(ctx):
    """A socket closed before its task ever ran must still close (no hang)."""
    with trio.fail_after(10):
        s = ctx.socket(trinq.PUSH)
        s.close()
        await s.aclose()
        t = ctx.socket(trinq.PULL)
        await t.aclose()
        assert s.closed and t.closed


async def test_close_is_sync(ctx):
    with trio.fail_after(10):
        s = ctx.socket(trinq.PUSH)
        assert s.close() is None
        assert s.closed
        with pytest.raises(trinq.ZMQError) as exc:
            await s.send(b"x")
        assert exc.value.errno == trinq.ENOTSOCK
        with pytest.raises(trinq.ZMQError):
            s.connect("tcp://127.0.0.1:5555")
        s.close()  # idempotent
        await s.aclose()


async def test_linger_zero_drops_pending(ctx, autojump_clock):
    """linger=0: closing does not wait for messages that cannot be delivered."""
    with trio.fail_after(10):
        push = ctx.socket(trinq.PUSH, linger=0)
        mon = push.monitor()
        push.connect(free_endpoint("tcp", ""))
        await wait_for_event(mon, trinq.Event.CONNECT_DELAYED)  # undeliverable
        for _ in range(5):
            await push.send(b"x")
        start = trio.current_time()
        await push.aclose()
        assert trio.current_time() == start  # no time passed at all
        assert push.closed


async def test_linger_positive_bounds_the_wait(ctx, autojump_clock):
    """linger>0 with an unreachable peer: aclose gives up after linger ms."""
    with trio.fail_after(10):
        push = ctx.socket(trinq.PUSH, linger=2000)
        mon = push.monitor()
        push.connect(free_endpoint("ipc", "/nonexistent-dir-for-trinq"))
        await wait_for_event(mon, trinq.Event.CONNECT_DELAYED)
        await push.send(b"x")
        start = trio.current_time()
        await push.aclose()
        assert 2.0 <= trio.current_time() - start < 3.0


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_linger_positive_waits_for_delivery(ctx, transport, tmp_path):
    """linger>0: a close with queued messages lets them be delivered once the peer appears."""
    with trio.fail_after(10):
        ep = free_endpoint(transport, tmp_path)
        push = ctx.socket(trinq.PUSH, linger=8000, reconnect_ivl=10)
        push.connect(ep)
        for i in range(3):
            await push.send(b"%d" % i)
        pull = ctx.socket(trinq.PULL)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(push.aclose)
            await trio.testing.wait_all_tasks_blocked()
            assert push.closed
            await pull.bind(ep)
            assert [await pull.recv() for _ in range(3)] == [b"0", b"1", b"2"]
        assert push.closed


async def test_context_body_exception_closes_with_linger_zero_and_propagates():
    """An exception in the Context's ``async with`` body: sockets close with linger 0
    (no hang on undeliverable messages) and the body's exception arrives unwrapped."""
    with trio.fail_after(10):
        with pytest.raises(KeyError, match="boom"):
            async with trinq.Context() as ctx:
                push = ctx.socket(trinq.PUSH)  # default linger -1 (forever)
                mon = push.monitor()
                push.connect(free_endpoint("tcp", ""))
                await wait_for_event(mon, trinq.Event.CONNECT_DELAYED)
                await push.send(b"undeliverable")
                raise KeyError("boom")
        assert push.closed


async def test_socket_body_exception_closes_with_linger_zero_and_propagates(ctx):
    """The same for a Socket's own ``async with``: linger 0, exception unwrapped."""
    with trio.fail_after(10):
        with pytest.raises(KeyError, match="boom"):
            async with ctx.socket(trinq.PUSH) as push:
                push.connect(free_endpoint("tcp", ""))
                await push.send(b"undeliverable")
                raise KeyError("boom")
        assert push.closed


async def test_socket_async_with(ctx):
    with trio.fail_after(10):
        async with ctx.socket(trinq.PULL) as pull, ctx.socket(trinq.PUSH, linger=0) as push:
            ep = await pull.bind("tcp://127.0.0.1:*")
            push.connect(ep)
            await push.send(b"x")
            assert await pull.recv() == b"x"
        assert pull.closed and push.closed


# --- a single peer served directly ---------------------------------------------------


@pytest.mark.parametrize(
    ("receiver", "sender"),
    [(trinq.PULL, trinq.PUSH), (trinq.PAIR, trinq.PAIR), (trinq.SUB, trinq.XPUB)],
)
async def test_single_peer_gone_then_drained_then_next_peer(ctx, receiver, sender):
    """With one peer a receiver reads that peer's queue directly (one call less per
    message). When that peer goes away its queued messages still arrive, the finished
    queue is dropped, and the next peer is served -- PAIR accepts it only then."""
    with trio.fail_after(10):
        rx = ctx.socket(receiver)
        if receiver == trinq.SUB:
            rx.subscribe(b"")
        ep = await rx.bind("tcp://127.0.0.1:*")
        mon = rx.monitor()
        for round_ in range(2):
            tx = ctx.socket(sender, linger=5000)
            tx.connect(ep)
            if sender == trinq.XPUB:
                assert await tx.recv() == b"\x01"  # the subscription arrived
            for i in range(3):
                await tx.send(b"%d-%d" % (round_, i))
            await tx.aclose()  # waits until all three are written
            await wait_for_event(mon, trinq.Event.DISCONNECTED)
            assert [await rx.recv() for _ in range(3)] == [b"%d-%d" % (round_, i) for i in range(3)]
            with pytest.raises(trinq.Again):
                await rx.recv(trinq.DONTWAIT)
            assert rx.statistics().pipes == ()
            assert len(rx._pattern._fq) == 0  # the drained queue was dropped


# --- recv_nowait ---------------------------------------------------------------------


async def test_recv_nowait_takes_queued_frames_and_raises_again_when_empty(ctx):
    with trio.fail_after(10):
        pull, push = await pull_push_pair(ctx, "tcp://127.0.0.1:*")
        with pytest.raises(trinq.Again):
            pull.recv_nowait()
        with pytest.raises(trinq.Again):
            pull.recv_multipart_nowait()
        await push.send_multipart([b"a", b"b"])
        await push.send(b"c")
        await push.send_multipart([b"d", b"e"])
        assert await pull.recv() == b"a"  # wait for the first; the rest follow it
        await wait_until(lambda: pull.statistics().pipes[0].inbound_queued == 2)
        assert pull.rcvmore
        assert pull.recv_nowait() == b"b"  # the rest of a multipart message first
        assert not pull.rcvmore
        assert pull.recv_nowait() == b"c"
        assert pull.recv_multipart_nowait() == [b"d", b"e"]
        with pytest.raises(trinq.Again):
            pull.recv_nowait()


async def test_recv_nowait_is_not_a_checkpoint(ctx):
    """Like trio's receive_nowait: no cancellation check, no schedule point."""
    with trio.fail_after(10):
        pull, push = await pull_push_pair(ctx, "tcp://127.0.0.1:*")
        for i in range(3):
            await push.send(b"%d" % i)
        await wait_until(lambda: pull.statistics().messages_in == 3)
        with trio.CancelScope() as scope:
            scope.cancel()
            assert pull.recv_nowait() == b"0"  # a cancelled scope does not stop it
            with pytest.raises(trio.Cancelled):
                await pull.recv()  # the async form checks first ...
        assert pull.recv_nowait() == b"1"  # ... and took nothing
        assert pull.recv_nowait() == b"2"


async def test_recv_nowait_on_closed_socket_is_enotsock(ctx):
    pull = ctx.socket(trinq.PULL)
    pull.close()
    with pytest.raises(trinq.ZMQError) as info:
        pull.recv_nowait()
    assert info.value.errno == trinq.ENOTSOCK


async def test_recv_nowait_follows_the_pattern_rules(ctx):
    req = ctx.socket(trinq.REQ)
    with pytest.raises(trinq.ZMQError) as info:
        req.recv_nowait()  # REQ must send first
    assert info.value.errno == trinq.EFSM
    push = ctx.socket(trinq.PUSH)
    with pytest.raises(trinq.ZMQError) as info:
        push.recv_nowait()
    assert info.value.errno == trinq.ENOTSUP
