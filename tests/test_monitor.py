"""Socket monitor events (libzmq names and numbers), and robustness against bad peers.

A misbehaving peer (garbage, a wrong greeting, an oversize frame, ...) must produce a
monitor event and cost only its own connection: the socket keeps serving the
well-behaved peer, with no crash, no hang and no lost message.
"""

from __future__ import annotations

import pytest
import trio
import zmq
from rawpeer import (
    GREETING_V2,
    RawPeer,
    command,
    drain,
    frame,
    free_endpoint,
    greeting,
    message,
    ready,
)

import trinq
from trinq.testing import WIRE_TRANSPORTS, endpoint, wait_for_event

E = trinq.Event


def test_event_numbers_are_libzmqs():
    expected = {
        "CONNECTED": 0x1,
        "CONNECT_DELAYED": 0x2,
        "CONNECT_RETRIED": 0x4,
        "LISTENING": 0x8,
        "BIND_FAILED": 0x10,
        "ACCEPTED": 0x20,
        "ACCEPT_FAILED": 0x40,
        "CLOSED": 0x80,
        "CLOSE_FAILED": 0x100,
        "DISCONNECTED": 0x200,
        "MONITOR_STOPPED": 0x400,
        "HANDSHAKE_FAILED_NO_DETAIL": 0x800,
        "HANDSHAKE_SUCCEEDED": 0x1000,
        "HANDSHAKE_FAILED_PROTOCOL": 0x2000,
        "HANDSHAKE_FAILED_AUTH": 0x4000,
    }
    for name, value in expected.items():
        assert int(E[name]) == value == getattr(zmq, "EVENT_" + name), name
    assert int(E.ALL) == zmq.EVENT_ALL


@pytest.mark.parametrize("transport", WIRE_TRANSPORTS)
async def test_lifecycle_events(ctx, transport, tmp_path):
    """LISTENING, ACCEPTED, CONNECTED, HANDSHAKE_SUCCEEDED, DISCONNECTED,
    CONNECT_DELAYED/CONNECT_RETRIED, CLOSED and MONITOR_STOPPED, in order, with the
    resolved endpoint."""
    with trio.fail_after(10):
        pull = ctx.socket(trinq.PULL)
        bmon = pull.monitor()
        ep = await pull.bind(endpoint(transport, tmp_path))
        ev = await bmon.receive()
        assert (ev.event, ev.endpoint) == (E.LISTENING, ep)

        push = ctx.socket(trinq.PUSH, reconnect_ivl=10)
        cmon = push.monitor()
        push.connect(ep)
        cev = await cmon.receive()
        assert (cev.event, cev.endpoint) == (E.CONNECTED, ep)
        cev2 = await cmon.receive()
        assert (cev2.event, cev2.endpoint) == (E.HANDSHAKE_SUCCEEDED, ep)
        bev = await bmon.receive()
        assert (bev.event, bev.endpoint) == (E.ACCEPTED, ep)
        bev2 = await bmon.receive()
        assert (bev2.event, bev2.endpoint) == (E.HANDSHAKE_SUCCEEDED, ep)

        await pull.unbind(ep)
        b_after = await wait_for_event(bmon, E.CLOSED)
        assert {e.event for e in b_after} <= {E.DISCONNECTED, E.CLOSED}
        assert b_after[-1].endpoint == ep
        # the connecting side notices and starts retrying
        c_after = await wait_for_event(cmon, E.CONNECT_RETRIED)
        kinds = [e.event for e in c_after]
        assert kinds[0] == E.DISCONNECTED
        assert all(e.endpoint == ep for e in c_after)

        await pull.aclose()
        rest = [e.event async for e in bmon]
        assert rest[-1] == E.MONITOR_STOPPED
        await push.aclose()
        rest = [e.event async for e in cmon]
        assert rest[-1] == E.MONITOR_STOPPED


async def test_connect_delayed_carries_errno(ctx, tmp_path):
    with trio.fail_after(10):
        push = ctx.socket(trinq.PUSH)
        mon = push.monitor()
        push.connect(free_endpoint("tcp", tmp_path))
        seen = await wait_for_event(mon, E.CONNECT_DELAYED)
        # a refused connection is ECONNREFUSED (not ETIMEDOUT: nothing timed out)
        assert seen[-1].value == trinq.ECONNREFUSED, seen[-1]
        retried = await wait_for_event(mon, E.CONNECT_RETRIED)
        assert 100 <= retried[-1].value < 200  # reconnect_ivl default 100 + jitter


async def test_monitor_mask_filters(ctx):
    with trio.fail_after(10):
        pull = ctx.socket(trinq.PULL)
        only = pull.monitor(E.HANDSHAKE_SUCCEEDED | E.MONITOR_STOPPED)
        assert only.events == E.HANDSHAKE_SUCCEEDED | E.MONITOR_STOPPED
        ep = await pull.bind("tcp://127.0.0.1:*")
        push = ctx.socket(trinq.PUSH)
        push.connect(ep)
        assert (await only.receive()).event == E.HANDSHAKE_SUCCEEDED
        await pull.aclose()
        assert [e.event async for e in only] == [E.MONITOR_STOPPED]


async def test_two_monitors_both_see_events(ctx):
    with trio.fail_after(10):
        pull = ctx.socket(trinq.PULL)
        m1, m2 = pull.monitor(), pull.monitor()
        await pull.bind("tcp://127.0.0.1:*")
        assert (await m1.receive()).event == E.LISTENING
        assert (await m2.receive()).event == E.LISTENING
        await m1.aclose()  # one stops; the socket and the other go on
        push = ctx.socket(trinq.PUSH)
        push.connect(pull.last_endpoint)
        await wait_for_event(m2, E.HANDSHAKE_SUCCEEDED)


# --- bad peers --------------------------------------------------------------------------

BAD_INPUTS = {
    "http-garbage": (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", None),
    "random-bytes": (bytes(range(255, 0, -1)) * 4, None),
    "zmtp2-greeting": (GREETING_V2 + b"\x00\x00" * 10, E.HANDSHAKE_FAILED_PROTOCOL),
    "mechanism-mismatch": (greeting(b"PLAIN"), E.HANDSHAKE_FAILED_PROTOCOL),
    "incompatible-type": (greeting() + ready("PULL"), E.HANDSHAKE_FAILED_PROTOCOL),
    "message-before-ready": (greeting() + message(b"too early"), E.HANDSHAKE_FAILED_PROTOCOL),
    "malformed-ready": (greeting() + command(b"READY", b"\x0bSocket-Type\xff"), None),
    "eof-mid-greeting": (greeting()[:30], E.HANDSHAKE_FAILED_NO_DETAIL),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
async def test_bad_handshake_input_costs_only_that_peer(ctx, case):
    data, expected = BAD_INPUTS[case]
    with trio.fail_after(10):
        pull = ctx.socket(trinq.PULL, handshake_ivl=2000)
        mon = pull.monitor()
        ep = await pull.bind("tcp://127.0.0.1:*")
        good = ctx.socket(trinq.PUSH)
        good.connect(ep)
        for i in range(50):
            await good.send(b"good %d" % i)
        await wait_for_event(mon, E.HANDSHAKE_SUCCEEDED)

        bad = await RawPeer.connect_tcp(ep)
        await bad.send(data)
        if case == "eof-mid-greeting":
            await bad.stream.send_eof()
        failures = E.HANDSHAKE_FAILED_PROTOCOL | E.HANDSHAKE_FAILED_NO_DETAIL
        seen = []
        while not (seen and seen[-1].event & failures):
            seen.append(await mon.receive())
        if expected is not None:
            assert seen[-1].event == expected, seen
        await bad.wait_closed()  # we closed the bad connection
        await bad.aclose()

        for i in range(50, 100):
            await good.send(b"good %d" % i)
        assert [await pull.recv() for _ in range(100)] == [b"good %d" % i for i in range(100)]
        # only the bad peer's connection went away
        later = [e.event for e in drain(mon)]
        assert later.count(E.DISCONNECTED) <= 1
        assert pull.statistics().peers == 1


async def test_oversize_frame_over_maxmsgsize(ctx):
    """A frame bigger than maxmsgsize is a protocol error for that connection (docs/interop.md §10):
    event, disconnect; the good peer keeps flowing; a frame at the limit passes."""
    with trio.fail_after(10):
        pull = ctx.socket(trinq.PULL, maxmsgsize=1000)
        mon = pull.monitor()
        ep = await pull.bind("tcp://127.0.0.1:*")
        good = ctx.socket(trinq.PUSH)
        good.connect(ep)
        await wait_for_event(mon, E.HANDSHAKE_SUCCEEDED)

        bad = await RawPeer.connect_tcp(ep)
        await bad.handshake("PUSH")
        await wait_for_event(mon, E.HANDSHAKE_SUCCEEDED)
        await bad.send(frame(b"a" * 1000))  # exactly at the limit: fine
        assert await pull.recv() == b"a" * 1000
        await bad.send(frame(b"b" * 1001))
        seen = await wait_for_event(mon, E.DISCONNECTED)
        kinds = [e.event for e in seen]
        assert E.HANDSHAKE_FAILED_PROTOCOL in kinds or kinds[-1] == E.DISCONNECTED
        await bad.wait_closed()
        await bad.aclose()
        for i in range(20):
            await good.send(b"%d" % i)
        assert [await pull.recv() for _ in range(20)] == [b"%d" % i for i in range(20)]
        with pytest.raises(trinq.Again):
            await pull.recv(trinq.DONTWAIT)  # the oversize frame was never delivered


async def test_messages_before_a_bad_frame_in_the_same_read_are_delivered(ctx):
    """The messages decoded before a protocol error reach the application; then that
    connection is dropped (the reader puts messages into the queue as it decodes)."""
    with trio.fail_after(10):
        pull = ctx.socket(trinq.PULL, maxmsgsize=100)
        mon = pull.monitor()
        ep = await pull.bind("tcp://127.0.0.1:*")
        bad = await RawPeer.connect_tcp(ep)
        await bad.handshake("PUSH")
        await wait_for_event(mon, E.HANDSHAKE_SUCCEEDED)
        await bad.send(message(b"one") + message(b"two", b"parts") + frame(b"x" * 101))
        await wait_for_event(mon, E.DISCONNECTED)
        assert await pull.recv_multipart() == [b"one"]
        assert await pull.recv_multipart() == [b"two", b"parts"]
        with pytest.raises(trinq.Again):
            await pull.recv(trinq.DONTWAIT)
        await bad.wait_closed()
        await bad.aclose()


async def test_unknown_command_after_handshake_is_ignored(ctx):
    """docs/interop.md §9: any other command is silently dropped, not an error."""
    with trio.fail_after(10):
        pull = ctx.socket(trinq.PULL)
        mon = pull.monitor()
        ep = await pull.bind("tcp://127.0.0.1:*")
        peer = await RawPeer.connect_tcp(ep)
        await peer.handshake("PUSH")
        await peer.send(command(b"X-WHATEVER", b"data") + command(b"PONG") + message(b"ok"))
        assert await pull.recv() == b"ok"
        assert E.DISCONNECTED not in [e.event for e in drain(mon)]
        await peer.aclose()


async def test_peer_vanishing_mid_message(ctx):
    """A peer that closes after half a frame: DISCONNECTED, nothing half-delivered."""
    with trio.fail_after(10):
        pull = ctx.socket(trinq.PULL)
        mon = pull.monitor()
        ep = await pull.bind("tcp://127.0.0.1:*")
        peer = await RawPeer.connect_tcp(ep)
        await peer.handshake("PUSH")
        await peer.send(message(b"whole") + b"\x01\x05par")  # MORE frame, truncated
        await peer.aclose()
        await wait_for_event(mon, E.DISCONNECTED)
        assert await pull.recv_multipart() == [b"whole"]
        with pytest.raises(trinq.Again):
            await pull.recv(trinq.DONTWAIT)


async def test_connection_events_carry_the_peer_address(ctx):
    """HANDSHAKE_SUCCEEDED and DISCONNECTED name the remote address (tcp: its IP),
    as libzmq's v2 monitor events do."""
    with trio.fail_after(10):
        pull = ctx.socket(trinq.PULL)
        mon = pull.monitor(E.HANDSHAKE_SUCCEEDED | E.DISCONNECTED)
        ep = await pull.bind("tcp://127.0.0.1:*")
        push = ctx.socket(trinq.PUSH, linger=0)
        push.connect(ep)
        ok = await mon.receive()
        assert ok.event == E.HANDSHAKE_SUCCEEDED and ok.peer_address == "127.0.0.1"
        await push.aclose()
        gone = await mon.receive()
        assert gone.event == E.DISCONNECTED and gone.peer_address == "127.0.0.1"
