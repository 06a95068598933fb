"""Dialer behaviour: reconnect after peer restarts, backoff, error policy (docs/interop.md §14)."""

from __future__ import annotations

import errno
import math

import pytest
import trio
from rawpeer import GREETING_V2, drain, free_endpoint, greeting, ready, serve_raw_once

import trinq
from trinq.testing import WIRE_TRANSPORTS, endpoint, wait_for_event

E = trinq.Event


@pytest.mark.parametrize("transport", WIRE_TRANSPORTS)
async def test_push_reconnects_after_pull_restarts_no_loss(ctx, transport, tmp_path):
    """The bound PULL goes away and comes back on the same endpoint: messages the PUSH
    queued meanwhile (its connect-side pipe outlives the connection) all arrive, in order."""
    with trio.fail_after(10):
        pull = ctx.socket(trinq.PULL)
        ep = await pull.bind(endpoint(transport, tmp_path))  # same port/path afterwards
        push = ctx.socket(trinq.PUSH, reconnect_ivl=10)
        mon = push.monitor()
        push.connect(ep)
        for i in range(10):
            await push.send(b"before %d" % i)
        assert [await pull.recv() for _ in range(10)] == [b"before %d" % i for i in range(10)]
        await pull.aclose()
        await wait_for_event(mon, E.DISCONNECTED)
        for i in range(100):
            await push.send_multipart([b"while down", b"%d" % i])
        pull2 = ctx.socket(trinq.PULL)
        assert await pull2.bind(ep) == ep
        got = [await pull2.recv_multipart() for _ in range(100)]
        assert got == [[b"while down", b"%d" % i] for i in range(100)]
        await push.send(b"after")
        assert await pull2.recv() == b"after"
        with pytest.raises(trinq.Again):
            await pull2.recv(trinq.DONTWAIT)


@pytest.mark.parametrize("transport", WIRE_TRANSPORTS)
async def test_pull_reconnects_after_push_restarts(ctx, transport, tmp_path):
    """The connecting PULL keeps dialling when the bound PUSH restarts."""
    with trio.fail_after(10):
        push = ctx.socket(trinq.PUSH)
        ep = await push.bind(endpoint(transport, tmp_path))
        pull = ctx.socket(trinq.PULL, reconnect_ivl=10)
        mon = pull.monitor()
        pull.connect(ep)
        await push.send(b"one")
        assert await pull.recv() == b"one"
        await push.aclose()
        await wait_for_event(mon, E.DISCONNECTED)
        push2 = ctx.socket(trinq.PUSH)
        await push2.bind(ep)
        await push2.send(b"two")  # blocks until the PULL is back
        assert await pull.recv() == b"two"
        events = [e.event for e in drain(mon)]
        assert E.HANDSHAKE_SUCCEEDED in events


@pytest.mark.parametrize("transport", WIRE_TRANSPORTS)
async def test_reconnect_backoff_in_connect_retried(ctx, transport, tmp_path, autojump_clock):
    """CONNECT_RETRIED carries the interval the dialer waits: reconnect_ivl plus up to
    one reconnect_ivl of jitter, doubling up to reconnect_ivl_max (libzmq)."""
    with trio.fail_after(100):
        push = ctx.socket(trinq.PUSH, reconnect_ivl=100, reconnect_ivl_max=800)
        mon = push.monitor(E.CONNECT_RETRIED)
        push.connect(free_endpoint(transport, tmp_path))
        values = []
        times = []
        for _ in range(7):
            ev = await mon.receive()
            assert ev.event == E.CONNECT_RETRIED
            values.append(ev.value)
            times.append(trio.current_time())
        base = [100, 200, 400, 800, 800, 800, 800]
        for v, b in zip(values, base, strict=True):
            assert b <= v < b + 100, values
        # the dialer really waited that long (virtual time)
        for k in range(6):
            assert times[k + 1] - times[k] == pytest.approx(values[k] / 1000, abs=0.002)


async def test_reconnect_without_ivl_max_stays_flat(ctx, tmp_path, autojump_clock):
    with trio.fail_after(100):
        push = ctx.socket(trinq.PUSH, reconnect_ivl=50)
        mon = push.monitor(E.CONNECT_RETRIED)
        push.connect(free_endpoint("ipc", tmp_path))
        values = [(await mon.receive()).value for _ in range(6)]
        assert all(50 <= v < 100 for v in values), values


async def test_reconnect_ivl_minus_one_never_retries(ctx, tmp_path, autojump_clock):
    with trio.fail_after(100):
        push = ctx.socket(trinq.PUSH, reconnect_ivl=-1)
        mon = push.monitor()
        push.connect(free_endpoint("ipc", tmp_path))
        await wait_for_event(mon, E.CONNECT_DELAYED)
        await trio.sleep(60)
        assert E.CONNECT_RETRIED not in [e.event for e in drain(mon)]


@pytest.mark.parametrize(
    "bad_handshake",
    [
        pytest.param(GREETING_V2, id="zmtp2-greeting"),
        pytest.param(greeting() + ready("PUSH"), id="incompatible-type"),
        pytest.param(greeting(b"CURVE"), id="mechanism-mismatch"),
    ],
)
async def test_protocol_error_stops_endpoint(ctx, bad_handshake, autojump_clock):
    """A protocol error in the handshake: HANDSHAKE_FAILED_PROTOCOL, and the connecting
    side does NOT reconnect (libzmq 'Don't reconnect on protocol errors', docs/interop.md §14)."""
    with trio.fail_after(100):
        async with trio.open_nursery() as nursery:
            port, accepted = await nursery.start(serve_raw_once)
            push = ctx.socket(trinq.PUSH, reconnect_ivl=100)
            mon = push.monitor()
            push.connect(f"tcp://127.0.0.1:{port}")
            peer = await accepted.receive()
            await peer.send(bad_handshake)
            seen = await wait_for_event(mon, E.HANDSHAKE_FAILED_PROTOCOL)
            assert E.HANDSHAKE_SUCCEEDED not in [e.event for e in seen]
            assert seen[-1].value != 0
            await peer.wait_closed()  # trinq closed the connection
            await trio.sleep(30)  # 300 reconnect intervals of virtual time
            with pytest.raises(trio.WouldBlock):
                accepted.receive_nowait()
            later = [e.event for e in drain(mon)]
            assert E.CONNECT_RETRIED not in later
            assert E.CONNECTED not in later
            nursery.cancel_scope.cancel()


async def test_handshake_timeout_with_silent_peer(ctx, autojump_clock):
    """A peer that accepts and never sends a greeting is dropped after handshake_ivl, and
    (a timeout, not a protocol error) the dialer reconnects."""
    with trio.fail_after(100):
        async with trio.open_nursery() as nursery:
            port, accepted = await nursery.start(serve_raw_once)
            push = ctx.socket(trinq.PUSH, handshake_ivl=500, reconnect_ivl=100)
            mon = push.monitor()
            push.connect(f"tcp://127.0.0.1:{port}")
            peer = await accepted.receive()
            t0 = trio.current_time()
            g = await peer.read_exactly(10)  # trinq greets at once; we stay silent
            assert g[0] == 0xFF
            seen = await wait_for_event(mon, E.HANDSHAKE_FAILED_NO_DETAIL, timeout=100)
            assert trio.current_time() - t0 == pytest.approx(0.5, abs=0.01)
            assert seen[-1].value == errno.ETIMEDOUT
            await peer.wait_closed()
            await wait_for_event(mon, E.CONNECT_RETRIED, timeout=100)
            second = await accepted.receive()  # it came back
            await second.aclose()
            nursery.cancel_scope.cancel()


@pytest.mark.parametrize("transport", WIRE_TRANSPORTS)
async def test_disconnect_mid_backoff(ctx, transport, tmp_path, autojump_clock):
    """disconnect() while the dialer sleeps between attempts ends it cleanly: no further
    attempts, the endpoint's pipe is gone, and connecting again later works."""
    with trio.fail_after(100):
        ep = free_endpoint(transport, tmp_path)
        push = ctx.socket(trinq.PUSH, reconnect_ivl=10_000)
        mon = push.monitor()
        push.connect(ep)
        await push.send(b"queued, then dropped by disconnect")
        await wait_for_event(mon, E.CONNECT_RETRIED, timeout=100)
        push.disconnect(ep)
        await trio.sleep(60)  # several reconnect intervals
        later = [e.event for e in drain(mon)]
        assert E.CONNECT_RETRIED not in later and E.CONNECT_DELAYED not in later, later
        st = push.statistics()
        assert st.peers == 0 and ep not in st.endpoints
        with pytest.raises(trinq.Again):
            await push.send(b"x", trinq.DONTWAIT)
        # the endpoint can be used again. Real I/O from here: stop the virtual clock from
        # jumping (trio binds AF_UNIX sockets in a worker thread, and while it runs the
        # autojump clock would leap to the next deadline).
        autojump_clock.autojump_threshold = math.inf
        pull = ctx.socket(trinq.PULL)
        await pull.bind(ep)
        push.connect(ep)
        await push.send(b"fresh")
        assert await pull.recv() == b"fresh"
