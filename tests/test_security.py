"""PLAIN, CURVE and ZAP between trinq sockets, through the engine and the Context's
ZAP handler, over every wire transport (libzmq interop: tests/interop/)."""

from __future__ import annotations

import errno

import pytest
import trio

import trinq
from trinq.auth import ZAP_ENDPOINT, Authenticator
from trinq.testing import WIRE_TRANSPORTS, endpoint, wait_for_event

pytestmark = pytest.mark.parametrize("transport", WIRE_TRANSPORTS)

E = trinq.Event
SERVER_PUBLIC, SERVER_SECRET = trinq.curve_keypair()
CLIENT_PUBLIC, CLIENT_SECRET = trinq.curve_keypair()


def curve_client(ctx: trinq.Context, kind: int = trinq.REQ, **extra: object) -> trinq.Socket:
    options = {
        "curve_serverkey": SERVER_PUBLIC,
        "curve_publickey": CLIENT_PUBLIC,
        "curve_secretkey": CLIENT_SECRET,
    }
    options.update(extra)  # type: ignore[arg-type]
    return ctx.socket(kind, **options)


async def round_trip(server: trinq.Socket, client: trinq.Socket) -> trinq.Message:
    await client.send(b"request")
    msg = await server.recv_message()
    assert msg.data == b"request"
    await server.send(b"reply")
    assert await client.recv() == b"reply"
    return msg


async def failed(mon: trinq.Monitor) -> trinq.MonitorEvent:
    """The first handshake failure (any kind) the monitor reports."""
    kinds = (E.HANDSHAKE_FAILED_AUTH, E.HANDSHAKE_FAILED_PROTOCOL, E.HANDSHAKE_FAILED_NO_DETAIL)
    while True:
        ev = await mon.receive()
        assert ev.event != E.HANDSHAKE_SUCCEEDED, ev
        if ev.event in kinds:
            return ev


# --- PLAIN -----------------------------------------------------------------------------


async def test_plain_with_the_right_password(ctx, transport, tmp_path):
    with trio.fail_after(10):
        async with Authenticator(ctx) as auth:
            auth.configure_plain(passwords={"admin": "secret"})
            server = ctx.socket(trinq.REP, plain_server=True)
            ep = await server.bind(endpoint(transport, tmp_path))
            client = ctx.socket(trinq.REQ, plain_username=b"admin", plain_password=b"secret")
            client.connect(ep)
            msg = await round_trip(server, client)
            assert msg.properties["User-Id"] == "admin"
            assert msg.properties["Socket-Type"] == "REQ"
            assert server.mechanism == trinq.PLAIN and client.mechanism == trinq.PLAIN


async def test_plain_with_a_wrong_password_is_refused_on_both_sides(ctx, transport, tmp_path):
    """The server's handler says 400: the server reports HANDSHAKE_FAILED_AUTH 400 and
    sends ERROR "400"; the client reports the same and does not reconnect."""
    with trio.fail_after(10):
        async with Authenticator(ctx) as auth:
            auth.configure_plain(passwords={"admin": "secret"})
            server = ctx.socket(trinq.PULL, plain_server=True)
            smon = server.monitor()
            ep = await server.bind(endpoint(transport, tmp_path))
            client = ctx.socket(trinq.PUSH, plain_username=b"admin", plain_password=b"guess")
            cmon = client.monitor()
            client.connect(ep)
            await client.send(b"never delivered")
            ev = await failed(cmon)
            assert (ev.event, ev.value) == (E.HANDSHAKE_FAILED_AUTH, 400)
            ev = await failed(smon)
            assert (ev.event, ev.value) == (E.HANDSHAKE_FAILED_AUTH, 400)
            assert auth.replies == {b"400": 1}
            with pytest.raises(trinq.Again):
                server.recv_nowait()


async def test_plain_server_without_a_handler_refuses(ctx, transport, tmp_path):
    """libzmq: a PLAIN server needs a ZAP handler; without one the connection closes."""
    with trio.fail_after(10):
        server = ctx.socket(trinq.PULL, plain_server=True)
        smon = server.monitor()
        ep = await server.bind(endpoint(transport, tmp_path))
        client = ctx.socket(trinq.PUSH, plain_username=b"a", plain_password=b"b")
        client.connect(ep)
        ev = await failed(smon)
        assert (ev.event, ev.value) == (E.HANDSHAKE_FAILED_NO_DETAIL, errno.EFAULT)


# --- CURVE -----------------------------------------------------------------------------


async def test_curve_without_a_handler_accepts_any_client_key(ctx, transport, tmp_path):
    """Stonehouse: a CURVE server with no ZAP handler encrypts but accepts every key."""
    with trio.fail_after(10):
        server = ctx.socket(trinq.REP, curve_server=True, curve_secretkey=SERVER_SECRET)
        ep = await server.bind(endpoint(transport, tmp_path))
        client = curve_client(ctx)
        client.connect(ep)
        msg = await round_trip(server, client)
        assert "User-Id" not in msg.properties


async def test_curve_with_an_authenticator(ctx, transport, tmp_path):
    with trio.fail_after(10):
        async with Authenticator(ctx) as auth:
            auth.configure_curve(keys={CLIENT_PUBLIC})
            server = ctx.socket(trinq.REP, curve_server=True, curve_secretkey=SERVER_SECRET)
            smon = server.monitor()
            ep = await server.bind(endpoint(transport, tmp_path))
            good = curve_client(ctx)
            good.connect(ep)
            msg = await round_trip(server, good)
            assert msg.properties["User-Id"] == CLIENT_PUBLIC.decode()
            other_public, other_secret = trinq.curve_keypair()
            stranger = curve_client(ctx, curve_publickey=other_public, curve_secretkey=other_secret)
            mon = stranger.monitor()
            stranger.connect(ep)
            ev = await failed(mon)
            assert (ev.event, ev.value) == (E.HANDSHAKE_FAILED_AUTH, 400)
            await wait_for_event(smon, E.HANDSHAKE_FAILED_AUTH)
            # the good client is still served
            await round_trip(server, good)


async def test_curve_client_with_the_wrong_server_key_fails_clearly(ctx, transport, tmp_path):
    """A client that has the wrong server key cannot make its HELLO readable: the
    server refuses it (with an ERROR, so the client stops) and both say so."""
    with trio.fail_after(10):
        server = ctx.socket(trinq.PULL, curve_server=True, curve_secretkey=SERVER_SECRET)
        smon = server.monitor()
        ep = await server.bind(endpoint(transport, tmp_path))
        wrong, _ = trinq.curve_keypair()
        client = curve_client(ctx, trinq.PUSH, curve_serverkey=wrong)
        cmon = client.monitor()
        client.connect(ep)
        ev = await failed(smon)
        assert ev.event == E.HANDSHAKE_FAILED_PROTOCOL
        assert ev.value == trinq.ProtocolErrorCode.ZMTP_CRYPTOGRAPHIC
        ev = await failed(cmon)
        assert ev.event in (E.HANDSHAKE_FAILED_PROTOCOL, E.HANDSHAKE_FAILED_AUTH)
        after = []
        with trio.move_on_after(0.3):
            after.append(await cmon.receive())
        assert E.CONNECT_RETRIED not in [e.event for e in after]


async def test_curve_pub_sub_subscriptions_travel_encrypted(ctx, transport, tmp_path):
    with trio.fail_after(10):
        pub = ctx.socket(trinq.PUB, curve_server=True, curve_secretkey=SERVER_SECRET)
        ep = await pub.bind(endpoint(transport, tmp_path))
        sub = curve_client(ctx, trinq.SUB)
        sub.subscribe(b"weather")
        sub.connect(ep)
        while True:
            await pub.send(b"news: nothing")
            await pub.send(b"weather: sunny")
            try:
                got = await sub.recv(trinq.DONTWAIT)
            except trinq.Again:
                await sub.poll(10)
                continue
            assert got == b"weather: sunny"
            break


# --- ZAP with NULL, and the handler's behaviour ---------------------------------------------


async def test_null_with_a_zap_domain_asks_the_handler(ctx, transport, tmp_path):
    with trio.fail_after(10):
        async with Authenticator(ctx) as auth:
            auth.allow("10.9.9.9")  # not 127.0.0.1, nor an ipc peer's empty address
            server = ctx.socket(trinq.PULL, zap_domain=b"global")
            smon = server.monitor()
            ep = await server.bind(endpoint(transport, tmp_path))
            client = ctx.socket(trinq.PUSH)
            client.connect(ep)
            ev = await failed(smon)
            assert (ev.event, ev.value) == (E.HANDSHAKE_FAILED_AUTH, 400)
            assert auth.replies == {b"400": 1}


async def test_null_without_a_zap_domain_does_not_ask(ctx, transport, tmp_path):
    with trio.fail_after(10):
        async with Authenticator(ctx) as auth:
            auth.deny("127.0.0.1")
            server = ctx.socket(trinq.REP)
            ep = await server.bind(endpoint(transport, tmp_path))
            client = ctx.socket(trinq.REQ)
            client.connect(ep)
            await round_trip(server, client)
            assert auth.replies == {}


async def test_a_handler_that_never_answers_is_bounded_by_handshake_ivl(ctx, transport, tmp_path):
    """A ZAP handler that holds a request: that handshake times out (handshake_ivl),
    other connections are not held up."""
    with trio.fail_after(10):
        handler = ctx.socket(trinq.ROUTER)
        await handler.bind(ZAP_ENDPOINT)
        server = ctx.socket(trinq.PULL, plain_server=True, handshake_ivl=300)
        smon = server.monitor()
        ep = await server.bind(endpoint(transport, tmp_path))
        client = ctx.socket(trinq.PUSH, plain_username=b"a", plain_password=b"b")
        client.connect(ep)
        request = await handler.recv_multipart()
        # [REQ's id, delimiter, version, request id, domain, address, identity, ...]
        assert request[1:4] == [b"", b"1.0", b"1"]
        assert request[7:] == [b"PLAIN", b"a", b"b"]
        ev = await failed(smon)
        assert ev.event == E.HANDSHAKE_FAILED_NO_DETAIL
        assert ev.value == errno.ETIMEDOUT
        # meanwhile a NULL socket of the same context is served at once
        plain_rep = ctx.socket(trinq.REP)
        ep2 = await plain_rep.bind(endpoint(transport, tmp_path))
        req = ctx.socket(trinq.REQ)
        req.connect(ep2)
        await round_trip(plain_rep, req)


async def test_cancelled_authenticator_start_leaves_nothing_bound(ctx, transport, tmp_path):
    with trio.fail_after(10):
        auth = Authenticator(ctx)
        with trio.CancelScope() as scope:
            scope.cancel()
            await auth.start()
        async with Authenticator(ctx):  # the endpoint is free
            pass
