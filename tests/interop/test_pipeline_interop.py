"""PAIR and PUSH/PULL against libzmq (through pyzmq), plus heartbeats with a libzmq peer.

``*_compliant`` tests in the spirit of zmq.rs' ``tests/*_compliant.rs``: every pairing
in both directions and with either side binding, over tcp and ipc, multipart, 2000
messages. pyzmq runs blocking in ``trio.to_thread.run_sync`` with RCVTIMEO/SNDTIMEO and
linger 0, so a broken peer makes a test fail, never hang.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import trio
import zmq
from zmq.utils.monitor import recv_monitor_message

import trinq
from trinq.testing import WIRE_TRANSPORTS, endpoint, wait_for_event

N = 2000
ZTIMEO = 5000  # ms: every blocking pyzmq call returns within this


def make_msg(i: int) -> list[bytes]:
    return [b"%d" % i, b"", os.urandom(i % 97) * (1 + i % 50)]


def zsocket(zctx: zmq.Context[Any], kind: int, **opts: int) -> zmq.Socket[Any]:
    s = zctx.socket(kind)
    s.linger = 0
    s.rcvtimeo = ZTIMEO
    s.sndtimeo = ZTIMEO
    for k, v in opts.items():
        s.setsockopt(getattr(zmq, k.upper()), v)
    return s


async def wire(
    ctx: trinq.Context,
    zctx: zmq.Context[Any],
    tkind: int,
    zkind: int,
    trinq_binds: bool,
    transport: str,
    tmp_path: Any,
    **topts: Any,
) -> tuple[trinq.Socket, zmq.Socket[Any], trinq.Monitor]:
    t = ctx.socket(tkind, **topts)
    mon = t.monitor()
    z = zsocket(zctx, zkind)
    if trinq_binds:
        ep = await t.bind(endpoint(transport, tmp_path))
        z.connect(ep)
    else:
        if transport == "tcp":
            z.bind("tcp://127.0.0.1:*")
        else:
            z.bind(endpoint("ipc", tmp_path))
        ep = z.last_endpoint.decode()
        t.connect(ep)
    await wait_for_event(mon, trinq.Event.HANDSHAKE_SUCCEEDED)
    return t, z, mon


def zrecv_all(z: zmq.Socket[Any], n: int) -> list[list[bytes]]:
    return [z.recv_multipart() for _ in range(n)]


def zsend_all(z: zmq.Socket[Any], msgs: list[list[bytes]]) -> None:
    for m in msgs:
        z.send_multipart(m)


def no_disconnects(mon: trinq.Monitor) -> list[trinq.MonitorEvent]:
    events = []
    while True:
        try:
            events.append(mon.receive_nowait())
        except trio.WouldBlock:
            return events


@pytest.mark.parametrize("transport", WIRE_TRANSPORTS)
@pytest.mark.parametrize("trinq_binds", [True, False], ids=["trinq-binds", "zmq-binds"])
async def test_trinq_push_to_zmq_pull(ctx, zctx, transport, trinq_binds, tmp_path):
    with trio.fail_after(10):
        t, z, _ = await wire(ctx, zctx, trinq.PUSH, zmq.PULL, trinq_binds, transport, tmp_path)
        msgs = [make_msg(i) for i in range(N)]
        async with trio.open_nursery() as nursery:
            result: list[list[list[bytes]]] = []

            async def receive() -> None:
                result.append(await trio.to_thread.run_sync(zrecv_all, z, N))

            nursery.start_soon(receive)
            for m in msgs:
                await t.send_multipart(m)
        assert result[0] == msgs


@pytest.mark.parametrize("transport", WIRE_TRANSPORTS)
@pytest.mark.parametrize("trinq_binds", [True, False], ids=["trinq-binds", "zmq-binds"])
async def test_zmq_push_to_trinq_pull(ctx, zctx, transport, trinq_binds, tmp_path):
    with trio.fail_after(10):
        t, z, _ = await wire(ctx, zctx, trinq.PULL, zmq.PUSH, trinq_binds, transport, tmp_path)
        msgs = [make_msg(i) for i in range(N)]
        async with trio.open_nursery() as nursery:
            nursery.start_soon(trio.to_thread.run_sync, zsend_all, z, msgs)
            got = [await t.recv_multipart() for _ in range(N)]
        assert got == msgs


@pytest.mark.parametrize("transport", WIRE_TRANSPORTS)
@pytest.mark.parametrize("trinq_binds", [True, False], ids=["trinq-binds", "zmq-binds"])
async def test_pair_both_directions(ctx, zctx, transport, trinq_binds, tmp_path):
    with trio.fail_after(10):
        t, z, _ = await wire(ctx, zctx, trinq.PAIR, zmq.PAIR, trinq_binds, transport, tmp_path)
        to_z = [make_msg(i) for i in range(N)]
        to_t = [[b"back", *make_msg(i)] for i in range(N)]

        def zside() -> list[list[bytes]]:
            # interleave so neither side's HWM ever fills
            got = []
            for m in to_t:
                z.send_multipart(m)
                got.append(z.recv_multipart())
            return got

        async with trio.open_nursery() as nursery:
            result: list[list[list[bytes]]] = []

            async def run_z() -> None:
                result.append(await trio.to_thread.run_sync(zside))

            nursery.start_soon(run_z)
            got = []
            for m in to_z:
                await t.send_multipart(m)
                got.append(await t.recv_multipart())
        assert result[0] == to_z
        assert got == to_t


@pytest.mark.parametrize("transport", WIRE_TRANSPORTS)
async def test_zmq_push_fans_out_to_trinq_and_zmq_pulls(ctx, zctx, transport, tmp_path):
    """A libzmq PUSH round-robins between a trinq PULL and a libzmq PULL."""
    with trio.fail_after(10):
        z = zsocket(zctx, zmq.PUSH)
        zmon = z.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
        zmon.rcvtimeo = ZTIMEO
        if transport == "tcp":
            z.bind("tcp://127.0.0.1:*")
        else:
            z.bind(endpoint("ipc", tmp_path))
        ep = z.last_endpoint.decode()
        zpull = zsocket(zctx, zmq.PULL)
        zpull.connect(ep)
        t = ctx.socket(trinq.PULL)
        mon = t.monitor()
        t.connect(ep)
        await wait_for_event(mon, trinq.Event.HANDSHAKE_SUCCEEDED)
        # make sure libzmq has attached both pipes before sending
        for _ in range(2):
            await trio.to_thread.run_sync(recv_monitor_message, zmon)
        msgs = [[b"%d" % i] for i in range(200)]
        await trio.to_thread.run_sync(zsend_all, z, msgs)
        got_t = [await t.recv_multipart() for _ in range(100)]
        got_z = await trio.to_thread.run_sync(zrecv_all, zpull, 100)
        assert sorted(got_t + got_z, key=lambda m: int(m[0])) == msgs
        z.disable_monitor()
        zmon.close(0)


@pytest.mark.parametrize("transport", WIRE_TRANSPORTS)
async def test_trinq_pull_fair_queues_zmq_pushes(ctx, zctx, transport, tmp_path):
    with trio.fail_after(10):
        t = ctx.socket(trinq.PULL)
        mon = t.monitor()
        ep = await t.bind(endpoint(transport, tmp_path))
        pushes = [zsocket(zctx, zmq.PUSH) for _ in range(3)]
        for z in pushes:
            z.connect(ep)
        await wait_for_event(mon, trinq.Event.HANDSHAKE_SUCCEEDED, 3)
        for n, z in enumerate(pushes):
            await trio.to_thread.run_sync(
                zsend_all, z, [[b"%d" % n, b"%d" % i] for i in range(300)]
            )
        got = [await t.recv_multipart() for _ in range(900)]
        for n in range(3):
            assert [m[1] for m in got if m[0] == b"%d" % n] == [b"%d" % i for i in range(300)]


# --- heartbeats with a libzmq peer ------------------------------------------------------

PING_FRAME = 9  # flags, size, 4 "PING", 2-octet TTL, empty context (docs/interop.md §15)
PONG_FRAME = 7  # flags, size, 4 "PONG", empty context


async def wait_bytes_in(t: trinq.Socket, at_least: int) -> None:
    """Wait (on a condition, not a timer) until ``t`` has read ``at_least`` more bytes."""
    base = t.statistics().bytes_in
    while t.statistics().bytes_in < base + at_least:
        await trio.lowlevel.checkpoint()


@pytest.mark.parametrize("transport", WIRE_TRANSPORTS)
async def test_libzmq_pings_trinq_pongs(ctx, zctx, transport, tmp_path):
    """libzmq with heartbeat_ivl PINGs us; we PONG, so it never drops the connection
    over many intervals while no application traffic flows."""
    with trio.fail_after(10):
        t = ctx.socket(trinq.PAIR)
        mon = t.monitor()
        ep = await t.bind(endpoint(transport, tmp_path))
        z = zsocket(zctx, zmq.PAIR, heartbeat_ivl=30, heartbeat_timeout=120, heartbeat_ttl=0)
        zmon = z.get_monitor_socket()
        zmon.rcvtimeo = ZTIMEO
        z.connect(ep)
        await wait_for_event(mon, trinq.Event.HANDSHAKE_SUCCEEDED)
        # 15 PINGs = 15 intervals; without PONGs libzmq would drop us after ~5.
        await wait_bytes_in(t, 15 * PING_FRAME)
        events = no_disconnects(mon)
        assert not [e for e in events if e.event == trinq.Event.DISCONNECTED], events
        zevents = []
        while True:
            try:
                zevents.append(recv_monitor_message(zmon, zmq.NOBLOCK)["event"])
            except zmq.Again:
                break
        assert zmq.EVENT_DISCONNECTED not in zevents, zevents
        assert zevents.count(zmq.EVENT_HANDSHAKE_SUCCEEDED) == 1, zevents
        await t.send(b"still here")
        assert await trio.to_thread.run_sync(z.recv) == b"still here"
        z.disable_monitor()
        zmon.close(0)


@pytest.mark.parametrize("transport", WIRE_TRANSPORTS)
async def test_trinq_pings_libzmq_pongs(ctx, zctx, transport, tmp_path):
    """Our heartbeat_ivl PINGs get PONGs from libzmq: no DISCONNECTED over many
    intervals (heartbeat_timeout would fire without them) and traffic still flows."""
    with trio.fail_after(10):
        z = zsocket(zctx, zmq.PAIR)
        if transport == "tcp":
            z.bind("tcp://127.0.0.1:*")
        else:
            z.bind(endpoint("ipc", tmp_path))
        ep = z.last_endpoint.decode()
        t = ctx.socket(trinq.PAIR, heartbeat_ivl=30, heartbeat_timeout=120)
        mon = t.monitor()
        t.connect(ep)
        await wait_for_event(mon, trinq.Event.HANDSHAKE_SUCCEEDED)
        await wait_bytes_in(t, 15 * PONG_FRAME)
        events = no_disconnects(mon)
        assert not [e for e in events if e.event == trinq.Event.DISCONNECTED], events
        assert not [e for e in events if e.event == trinq.Event.CONNECTED], events
        await trio.to_thread.run_sync(z.send, b"ping-pong ok")
        assert await t.recv() == b"ping-pong ok"
