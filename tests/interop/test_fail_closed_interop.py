"""Fail closed against libzmq (through pyzmq): socket-type mismatches stop the
connecting side in both directions, and a refused security option never lets a
plaintext exchange happen (issue 10, items 1 and 5)."""

from __future__ import annotations

import pytest
import trio
import zmq
import zmq.utils.monitor as zmon

import trinq
from trinq.testing import WIRE_TRANSPORTS, endpoint, wait_for_event

E = trinq.Event

#: A libzmq peer reconnects after reconnect_ivl (10 ms here): this long without a
#: reconnect is 50 missed retries.
QUIET_S = 0.5


def _libzmq_events(monitor: zmq.Socket, quiet_ms: int) -> list[int]:
    """libzmq monitor events until none arrives for ``quiet_ms`` (worker thread)."""
    out = []
    while monitor.poll(quiet_ms):
        out.append(zmon.recv_monitor_message(monitor)["event"])
    return out


@pytest.mark.parametrize("transport", WIRE_TRANSPORTS)
async def test_libzmq_req_against_trinq_pub_stops(ctx, transport, tmp_path) -> None:
    """trinq binds: it tells the libzmq REQ why (ERROR), and libzmq does not retry."""
    with trio.fail_after(15):
        pub = ctx.socket(trinq.PUB)
        mon = pub.monitor()
        ep = await pub.bind(endpoint(transport, tmp_path))
        zctx = zmq.Context()
        try:
            req = zctx.socket(zmq.REQ)
            req.linger = 0
            req.reconnect_ivl = 10
            req_mon = req.get_monitor_socket()
            req.connect(ep)
            seen = await wait_for_event(mon, E.HANDSHAKE_FAILED_PROTOCOL)
            assert "incompatible socket types" in (seen[-1].reason or "")
            events = await trio.to_thread.run_sync(_libzmq_events, req_mon, int(QUIET_S * 1000))
            assert events.count(zmq.EVENT_CONNECTED) == 1, events
            assert zmq.EVENT_CONNECT_RETRIED not in events, events
            assert zmq.EVENT_DISCONNECTED in events, events
            with trio.move_on_after(QUIET_S):
                await wait_for_event(mon, E.ACCEPTED)
                raise AssertionError("libzmq reconnected after the mismatch")
            req_mon.close()
            req.close()
        finally:
            zctx.destroy(linger=0)


@pytest.mark.parametrize("transport", WIRE_TRANSPORTS)
async def test_trinq_req_against_libzmq_pub_stops(ctx, transport, tmp_path) -> None:
    """libzmq binds (and closes without an ERROR): trinq reports the mismatch as a
    protocol error and its dialer stops."""
    with trio.fail_after(15):
        zctx = zmq.Context()
        try:
            pub = zctx.socket(zmq.PUB)
            pub.linger = 0
            ep = endpoint(transport, tmp_path)
            if ep.startswith("tcp://"):
                port = pub.bind_to_random_port("tcp://127.0.0.1")
                ep = f"tcp://127.0.0.1:{port}"
            else:
                pub.bind(ep)
            req = ctx.socket(trinq.REQ, reconnect_ivl=1)
            mon = req.monitor()
            req.connect(ep)
            seen = await wait_for_event(mon, E.HANDSHAKE_FAILED_PROTOCOL)
            assert "incompatible socket types" in (seen[-1].reason or "")
            with trio.fail_after(5):
                while ep in req.statistics().endpoints:  # the dialer ends by itself
                    await trio.lowlevel.checkpoint()
            await req.aclose()
            later = [e async for e in mon]
            assert not [e for e in later if e.event == E.CONNECT_RETRIED], later
            pub.close()
        finally:
            zctx.destroy(linger=0)


@pytest.mark.skipif(not zmq.has("curve"), reason="this libzmq build has no CURVE")
async def test_null_server_exchanges_nothing_with_a_curve_client(ctx) -> None:
    """A trinq socket without security never talks to a libzmq CURVE client: the
    handshake fails on the mechanism and no message crosses in plaintext."""
    with trio.fail_after(15):
        rep = ctx.socket(trinq.REP)
        mon = rep.monitor()
        ep = await rep.bind("tcp://127.0.0.1:*")
        zctx = zmq.Context()
        try:
            public, secret = zmq.curve_keypair()
            server_public, _ = zmq.curve_keypair()
            req = zctx.socket(zmq.REQ)
            req.linger = 0
            req.curve_publickey, req.curve_secretkey = public, secret
            req.curve_serverkey = server_public
            req_mon = req.get_monitor_socket(zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL)
            req.connect(ep)
            req.send(b"secret in plaintext?")

            def libzmq_refusal() -> dict[str, object]:
                assert req_mon.poll(10_000), "libzmq reported no handshake failure"
                return zmon.recv_monitor_message(req_mon)

            refusal = await trio.to_thread.run_sync(libzmq_refusal)
            assert refusal["event"] == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
            assert refusal["value"] == zmq.PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH
            # trinq saw the connection fail in its handshake, and nothing was delivered
            seen = await wait_for_event(mon, E.ACCEPTED)
            failed = (E.HANDSHAKE_FAILED_PROTOCOL, E.HANDSHAKE_FAILED_NO_DETAIL)
            while not any(e.event in failed for e in seen):
                seen.append(await mon.receive())
            assert E.HANDSHAKE_SUCCEEDED not in [e.event for e in seen]
            with pytest.raises(trinq.Again):
                rep.recv_nowait()
            assert rep.statistics().messages_in == 0
            req_mon.close()
            req.close()
        finally:
            zctx.destroy(linger=0)
