"""PLAIN, CURVE and ZAP against libzmq (pyzmq 27 / libzmq 4.3.5 with libsodium), issue 14.

Both directions for every mechanism: a trinq client against a libzmq server that
authenticates with pyzmq's ``zmq.auth.thread.ThreadAuthenticator``, and a libzmq client
against a trinq server that authenticates with ``trinq.auth.Authenticator``. The right
credentials get through (and ``User-Id`` reaches the receiving application: trinq's
``recv_message().properties``, libzmq's ``Frame.get("User-Id")``); wrong ones are
refused with the monitor events libzmq itself reports (``HANDSHAKE_FAILED_AUTH`` with
the ZAP status code, ``HANDSHAKE_FAILED_PROTOCOL`` with a protocol error code), and
a refused client does not retry. REQ/REP and PUB/SUB (CURVE carries subscriptions
encrypted), tcp and ipc. NULL consults ZAP only with a ``zap_domain``. A PLAIN server
without a ZAP handler refuses everybody, as libzmq does.

A byte-recording TCP relay between trinq and libzmq shows that under CURVE neither
payloads nor topics (nor the password, nor the client's long-term key) cross in
plaintext, while the same relay under NULL and PLAIN sees them all.

The certificate files go both ways too: the libzmq server's ThreadAuthenticator reads
client certificates written by ``trinq.auth.create_certificates``, trinq's
Authenticator reads those written by ``zmq.auth.create_certificates``.

pyzmq sockets run blocking in ``trio.to_thread.run_sync`` with RCVTIMEO/SNDTIMEO and
linger 0; every test is bounded by ``trio.fail_after``.
"""

from __future__ import annotations

import contextlib
import errno
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio
import zmq
import zmq.auth
import zmq.auth.thread
import zmq.utils.monitor as zmon
import zmq.utils.z85

import trinq
import trinq.auth
from trinq.testing import WIRE_TRANSPORTS, endpoint, wait_for_event

# CI must run these tests, never skip them: a pyzmq without CURVE is a broken setup.
assert zmq.has("curve"), "this pyzmq's libzmq has no CURVE (libsodium); the tests need it"

E = trinq.Event
P = trinq.ProtocolErrorCode

TIMEO_MS = 5000
LIMIT_S = 15
#: reconnect_ivl of the clients in the refusal tests, and how long after a refusal we
#: watch for a reconnect that must not come (25 missed retries)
RECONNECT_MS = 20
QUIET_S = 0.5

USER, PASSWORD = "admin", "s3cret-Pa55word"
SERVER_PUBLIC, SERVER_SECRET = zmq.curve_keypair()
STRANGER_PUBLIC, STRANGER_SECRET = zmq.curve_keypair()

REQUEST = [b"request", b"", b"q" * 300]
REPLY = [b"reply", b"r" * 70_000, b""]


# --- helpers -------------------------------------------------------------------------


def zsock(zctx: zmq.Context[Any], kind: int, **options: Any) -> zmq.Socket[Any]:
    s = zctx.socket(kind)
    s.linger = 0
    s.rcvtimeo = TIMEO_MS
    s.sndtimeo = TIMEO_MS
    for name, value in options.items():
        setattr(s, name, value)
    return s


async def zcall(fn: Any, *args: Any) -> Any:
    return await trio.to_thread.run_sync(fn, *args)


def zbind(s: zmq.Socket[Any], transport: str, tmp_path: Path) -> str:
    ep = endpoint(transport, tmp_path)
    if transport == "tcp":
        return f"tcp://127.0.0.1:{s.bind_to_random_port('tcp://127.0.0.1')}"
    s.bind(ep)
    return ep


async def tbind(s: trinq.Socket, transport: str, tmp_path: Path) -> str:
    return await s.bind(endpoint(transport, tmp_path))


def _libzmq_until(mon: zmq.Socket[Any], kind: int, timeout_s: float = 10) -> list[tuple[int, int]]:
    """libzmq monitor events (event, value) up to the first ``kind`` (worker thread)."""
    deadline = time.monotonic() + timeout_s
    seen: list[tuple[int, int]] = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not mon.poll(max(1, int(left * 1000))):
            raise AssertionError(f"libzmq reported no {zmq.Event(kind)!r}: {seen}")
        m = zmon.recv_monitor_message(mon)
        seen.append((m["event"], m["value"]))
        if m["event"] == kind:
            return seen


def _libzmq_quiet(mon: zmq.Socket[Any], quiet_s: float) -> list[int]:
    """libzmq monitor event kinds until none arrives for ``quiet_s`` (at most 5 s)."""
    deadline = time.monotonic() + 5
    out: list[int] = []
    while time.monotonic() < deadline and mon.poll(int(quiet_s * 1000)):
        out.append(zmon.recv_monitor_message(mon)["event"])
    return out


async def libzmq_event(mon: zmq.Socket[Any], kind: int) -> tuple[int, int]:
    """Wait for libzmq's ``kind`` event; its (event, value)."""
    seen = await zcall(_libzmq_until, mon, kind)
    assert zmq.EVENT_HANDSHAKE_SUCCEEDED not in [ev for ev, _ in seen], seen
    return seen[-1]


async def trinq_event(mon: trinq.Monitor, kind: E) -> trinq.MonitorEvent:
    """Wait for trinq's ``kind`` event (no handshake may have succeeded before it)."""
    seen = await wait_for_event(mon, kind)
    assert E.HANDSHAKE_SUCCEEDED not in [ev.event for ev in seen], seen
    return seen[-1]


async def assert_no_reconnect(mon: trinq.Monitor) -> None:
    """The trinq client stays refused: no new connection attempt for QUIET_S."""
    with trio.move_on_after(QUIET_S):
        while True:
            ev = await mon.receive()
            assert ev.event not in (E.CONNECTED, E.CONNECT_RETRIED), ev


async def assert_libzmq_no_reconnect(mon: zmq.Socket[Any]) -> None:
    later = await zcall(_libzmq_quiet, mon, QUIET_S)
    assert zmq.EVENT_CONNECT_RETRIED not in later, later
    assert zmq.EVENT_HANDSHAKE_SUCCEEDED not in later, later


async def refused_by_libzmq(
    ctx: trinq.Context,
    rep_mon: zmq.Socket[Any],
    ep: str,
    trinq_kind: E,
    libzmq_kind: int,
    libzmq_value: int,
    trinq_value: int | None = None,
    **client: Any,
) -> tuple[trinq.Socket, trinq.Monitor]:
    """A trinq REQ with ``client``'s options connects to the libzmq server at ``ep``
    and queues a request; both sides report the refusal (``trinq_kind``, with
    ``trinq_value`` if given; ``libzmq_kind`` with ``libzmq_value`` on ``rep_mon``)."""
    req = ctx.socket(trinq.REQ, **client)
    mon = req.monitor()
    req.connect(ep)
    await req.send(b"must not arrive")  # queued, as in libzmq
    failed = await trinq_event(mon, trinq_kind)
    if trinq_value is not None:
        assert failed.value == trinq_value, failed
    assert await libzmq_event(rep_mon, libzmq_kind) == (libzmq_kind, libzmq_value)
    return req, mon


@contextlib.contextmanager
def libzmq_authenticator(zctx: zmq.Context[Any]) -> Iterator[zmq.auth.thread.ThreadAuthenticator]:
    auth = zmq.auth.thread.ThreadAuthenticator(zctx)
    auth.start()
    try:
        yield auth
    finally:
        auth.stop()


def client_certificate(directory: Path, writer: str) -> tuple[bytes, bytes]:
    """A client certificate pair in ``directory`` (made by ``writer``: "trinq" or
    "pyzmq"), read back by the other library: (public, secret) in Z85."""
    directory.mkdir(exist_ok=True)
    if writer == "trinq":
        _, secret_file = trinq.auth.create_certificates(directory, "client")
        public, secret = zmq.auth.load_certificate(secret_file)
    else:
        _, secret_file = zmq.auth.create_certificates(directory, "client")
        public, secret = trinq.auth.load_certificate(secret_file)
    assert secret is not None
    return public, secret


def curve_client(public: Any, secret: Any, server: Any = SERVER_PUBLIC) -> dict[str, Any]:
    """A CURVE client's options, with the same names in trinq and pyzmq."""
    return {"curve_serverkey": server, "curve_publickey": public, "curve_secretkey": secret}


CURVE_SERVER = {"curve_server": True, "curve_secretkey": SERVER_SECRET}


def _reply_with_user_id(rep: zmq.Socket[Any]) -> tuple[list[bytes], str | None]:
    frames = rep.recv_multipart(copy=False)
    rep.send_multipart(REPLY)
    try:
        user_id = frames[0].get("User-Id")
    except zmq.ZMQError:  # EINVAL: no such property (no ZAP handler was asked)
        user_id = None
    return [f.bytes for f in frames], user_id


async def libzmq_round_trip(req: trinq.Socket, rep: zmq.Socket[Any]) -> str | None:
    """trinq REQ -> libzmq REP and back; the User-Id libzmq attached to the request."""
    await req.send_multipart(REQUEST)
    got, user_id = await zcall(_reply_with_user_id, rep)
    assert got == REQUEST
    assert await req.recv_multipart() == REPLY
    return user_id


async def trinq_round_trip(req: zmq.Socket[Any], rep: trinq.Socket) -> dict[str, str]:
    """libzmq REQ -> trinq REP and back; the request's message properties."""
    await zcall(req.send_multipart, REQUEST)
    msg = await rep.recv_message()
    assert list(msg.frames) == REQUEST
    await rep.send_multipart(REPLY)
    assert await zcall(req.recv_multipart) == REPLY
    return dict(msg.properties)


# --- PLAIN ---------------------------------------------------------------------------


@pytest.mark.parametrize("transport", WIRE_TRANSPORTS)
async def test_plain_trinq_client_libzmq_server(ctx, zctx, transport, tmp_path) -> None:
    with trio.fail_after(LIMIT_S), libzmq_authenticator(zctx) as auth:
        auth.configure_plain(domain="*", passwords={USER: PASSWORD})
        rep = zsock(zctx, zmq.REP, plain_server=True)
        ep = zbind(rep, transport, tmp_path)
        req = ctx.socket(trinq.REQ, plain_username=USER.encode(), plain_password=PASSWORD)
        req.connect(ep)
        assert await libzmq_round_trip(req, rep) == USER


@pytest.mark.parametrize("transport", WIRE_TRANSPORTS)
async def test_plain_libzmq_client_trinq_server(ctx, zctx, transport, tmp_path) -> None:
    with trio.fail_after(LIMIT_S):
        async with trinq.auth.Authenticator(ctx) as auth:
            auth.configure_plain(passwords={USER: PASSWORD})
            rep = ctx.socket(trinq.REP, plain_server=True)
            ep = await tbind(rep, transport, tmp_path)
            req = zsock(
                zctx, zmq.REQ, plain_username=USER.encode(), plain_password=PASSWORD.encode()
            )
            req.connect(ep)
            props = await trinq_round_trip(req, rep)
            assert props["User-Id"] == USER
            assert props["Socket-Type"] == "REQ"
            assert auth.replies == {b"200": 1}


@pytest.mark.parametrize("transport", WIRE_TRANSPORTS)
async def test_plain_wrong_password_refused_by_libzmq(ctx, zctx, transport, tmp_path) -> None:
    with trio.fail_after(LIMIT_S), libzmq_authenticator(zctx) as auth:
        auth.configure_plain(domain="*", passwords={USER: PASSWORD})
        rep = zsock(zctx, zmq.REP, plain_server=True)
        rep_mon = rep.get_monitor_socket()
        ep = zbind(rep, transport, tmp_path)
        _, mon = await refused_by_libzmq(
            ctx,
            rep_mon,
            ep,
            E.HANDSHAKE_FAILED_AUTH,
            zmq.EVENT_HANDSHAKE_FAILED_AUTH,
            400,
            400,
            plain_username=USER,
            plain_password="wrong",
            reconnect_ivl=RECONNECT_MS,
        )
        await assert_no_reconnect(mon)
        assert not rep.poll(0)


@pytest.mark.parametrize("transport", WIRE_TRANSPORTS)
async def test_plain_wrong_password_refused_by_trinq(ctx, zctx, transport, tmp_path) -> None:
    with trio.fail_after(LIMIT_S):
        async with trinq.auth.Authenticator(ctx) as auth:
            auth.configure_plain(passwords={USER: PASSWORD})
            rep = ctx.socket(trinq.REP, plain_server=True)
            mon = rep.monitor()
            ep = await tbind(rep, transport, tmp_path)
            req = zsock(
                zctx,
                zmq.REQ,
                plain_username=USER.encode(),
                plain_password=b"wrong",
                reconnect_ivl=RECONNECT_MS,
            )
            req_mon = req.get_monitor_socket()
            req.connect(ep)
            await zcall(req.send, b"must not arrive")
            failed = await trinq_event(mon, E.HANDSHAKE_FAILED_AUTH)
            assert failed.value == 400, failed
            assert "Invalid password" in (failed.reason or ""), failed
            assert await libzmq_event(req_mon, zmq.EVENT_HANDSHAKE_FAILED_AUTH) == (
                zmq.EVENT_HANDSHAKE_FAILED_AUTH,
                400,
            )
            await assert_libzmq_no_reconnect(req_mon)
            assert auth.replies == {b"400": 1}
            with pytest.raises(trinq.Again):
                rep.recv_nowait()


@pytest.mark.parametrize("transport", WIRE_TRANSPORTS)
async def test_libzmq_plain_server_without_zap_handler_refuses(
    ctx, zctx, transport, tmp_path
) -> None:
    """libzmq: a PLAIN server needs a ZAP handler (HANDSHAKE_FAILED_NO_DETAIL, EFAULT);
    it closes without a word, so the trinq client sees the peer close.

    libzmq 4.3.5 quirk: with a monitor attached, the monitor event can leave errno at
    EAGAIN (``plain_server.cpp`` returns -1 right after emitting it), and the engine
    then merely stops reading instead of closing; the connection hangs until the
    handshake timer fires. A short ``handshake_ivl`` bounds that case."""
    with trio.fail_after(LIMIT_S):
        rep = zsock(zctx, zmq.REP, plain_server=True, handshake_ivl=1000)
        rep_mon = rep.get_monitor_socket()
        ep = zbind(rep, transport, tmp_path)
        req, _ = await refused_by_libzmq(
            ctx,
            rep_mon,
            ep,
            E.HANDSHAKE_FAILED_NO_DETAIL,
            zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL,
            errno.EFAULT,
            plain_username=USER,
            plain_password=PASSWORD,
        )
        req.close(linger=0)
        assert not rep.poll(0)


@pytest.mark.parametrize("transport", WIRE_TRANSPORTS)
async def test_trinq_plain_server_without_zap_handler_refuses(
    ctx, zctx, transport, tmp_path
) -> None:
    """trinq does what libzmq does: no handler bound, no PLAIN peer gets in."""
    with trio.fail_after(LIMIT_S):
        rep = ctx.socket(trinq.REP, plain_server=True)
        mon = rep.monitor()
        ep = await tbind(rep, transport, tmp_path)
        req = zsock(zctx, zmq.REQ, plain_username=USER.encode(), plain_password=PASSWORD.encode())
        req_mon = req.get_monitor_socket()
        req.connect(ep)
        await zcall(req.send, b"must not arrive")
        failed = await trinq_event(mon, E.HANDSHAKE_FAILED_NO_DETAIL)
        assert failed.value == errno.EFAULT, failed
        await libzmq_event(req_mon, zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL)
        req.close()
        with pytest.raises(trinq.Again):
            rep.recv_nowait()


# --- CURVE, REQ/REP ------------------------------------------------------------------


@pytest.mark.parametrize("transport", WIRE_TRANSPORTS)
async def test_curve_trinq_client_libzmq_server(ctx, zctx, transport, tmp_path) -> None:
    """The libzmq server's ThreadAuthenticator reads a certificate trinq wrote."""
    public, secret = client_certificate(tmp_path / "clients", writer="trinq")
    with trio.fail_after(LIMIT_S), libzmq_authenticator(zctx) as auth:
        auth.configure_curve(domain="*", location=str(tmp_path / "clients"))
        rep = zsock(zctx, zmq.REP, **CURVE_SERVER)
        ep = zbind(rep, transport, tmp_path)
        req = ctx.socket(trinq.REQ, **curve_client(public, secret))
        req.connect(ep)
        assert await libzmq_round_trip(req, rep) == public.decode()


@pytest.mark.parametrize("form", ["z85-str", "raw"])
async def test_curve_trinq_client_key_forms(ctx, zctx, form) -> None:
    """Keys as Z85 text and as 32 raw bytes work like Z85 bytes (Stonehouse server)."""
    public, secret = zmq.curve_keypair()
    z85_keys = [public, secret, SERVER_PUBLIC]
    keys: list[Any] = (
        [zmq.utils.z85.decode(k) for k in z85_keys]
        if form == "raw"
        else [k.decode() for k in z85_keys]
    )
    with trio.fail_after(LIMIT_S):
        rep = zsock(zctx, zmq.REP, **CURVE_SERVER)
        ep = zbind(rep, "tcp", Path())
        req = ctx.socket(trinq.REQ, **curve_client(*keys))
        req.connect(ep)
        await libzmq_round_trip(req, rep)


@pytest.mark.parametrize("transport", WIRE_TRANSPORTS)
async def test_curve_libzmq_client_trinq_server(ctx, zctx, transport, tmp_path) -> None:
    """trinq's Authenticator reads a certificate directory pyzmq wrote."""
    public, secret = client_certificate(tmp_path / "clients", writer="pyzmq")
    with trio.fail_after(LIMIT_S):
        async with trinq.auth.Authenticator(ctx) as auth:
            auth.configure_curve(location=tmp_path / "clients")
            rep = ctx.socket(trinq.REP, **CURVE_SERVER)
            ep = await tbind(rep, transport, tmp_path)
            req = zsock(zctx, zmq.REQ, **curve_client(public, secret))
            req.connect(ep)
            props = await trinq_round_trip(req, rep)
            assert props["User-Id"] == public.decode()
            assert auth.replies == {b"200": 1}


@pytest.mark.parametrize("server", ["libzmq", "trinq"])
async def test_curve_without_zap_handler_accepts_any_key(ctx, zctx, server) -> None:
    """Stonehouse: a CURVE server with no ZAP handler lets any client key in (libzmq)."""
    public, secret = zmq.curve_keypair()
    with trio.fail_after(LIMIT_S):
        if server == "libzmq":
            rep = zsock(zctx, zmq.REP, **CURVE_SERVER)
            ep = zbind(rep, "tcp", Path())
            req = ctx.socket(trinq.REQ, **curve_client(public, secret))
            req.connect(ep)
            await libzmq_round_trip(req, rep)
        else:
            trep = ctx.socket(trinq.REP, **CURVE_SERVER)
            ep = await trep.bind("tcp://127.0.0.1:0")
            zreq = zsock(zctx, zmq.REQ, **curve_client(public, secret))
            zreq.connect(ep)
            await trinq_round_trip(zreq, trep)


@pytest.mark.parametrize("transport", WIRE_TRANSPORTS)
async def test_curve_unknown_client_key_refused_by_libzmq(ctx, zctx, transport, tmp_path) -> None:
    client_certificate(tmp_path / "clients", writer="trinq")  # the one key allowed
    with trio.fail_after(LIMIT_S), libzmq_authenticator(zctx) as auth:
        auth.configure_curve(domain="*", location=str(tmp_path / "clients"))
        rep = zsock(zctx, zmq.REP, **CURVE_SERVER)
        rep_mon = rep.get_monitor_socket()
        ep = zbind(rep, transport, tmp_path)
        _, mon = await refused_by_libzmq(
            ctx,
            rep_mon,
            ep,
            E.HANDSHAKE_FAILED_AUTH,
            zmq.EVENT_HANDSHAKE_FAILED_AUTH,
            400,
            400,
            **curve_client(STRANGER_PUBLIC, STRANGER_SECRET),
            reconnect_ivl=RECONNECT_MS,
        )
        await assert_no_reconnect(mon)
        assert not rep.poll(0)


@pytest.mark.parametrize("transport", WIRE_TRANSPORTS)
async def test_curve_unknown_client_key_refused_by_trinq(ctx, zctx, transport, tmp_path) -> None:
    client_certificate(tmp_path / "clients", writer="pyzmq")  # the one key allowed
    with trio.fail_after(LIMIT_S):
        async with trinq.auth.Authenticator(ctx) as auth:
            auth.configure_curve(location=tmp_path / "clients")
            rep = ctx.socket(trinq.REP, **CURVE_SERVER)
            mon = rep.monitor()
            ep = await tbind(rep, transport, tmp_path)
            req = zsock(
                zctx,
                zmq.REQ,
                **curve_client(STRANGER_PUBLIC, STRANGER_SECRET),
                reconnect_ivl=RECONNECT_MS,
            )
            req_mon = req.get_monitor_socket()
            req.connect(ep)
            await zcall(req.send, b"must not arrive")
            failed = await trinq_event(mon, E.HANDSHAKE_FAILED_AUTH)
            assert failed.value == 400, failed
            assert await libzmq_event(req_mon, zmq.EVENT_HANDSHAKE_FAILED_AUTH) == (
                zmq.EVENT_HANDSHAKE_FAILED_AUTH,
                400,
            )
            await assert_libzmq_no_reconnect(req_mon)
            assert auth.replies == {b"400": 1}
            with pytest.raises(trinq.Again):
                rep.recv_nowait()


@pytest.mark.parametrize("transport", WIRE_TRANSPORTS)
async def test_curve_wrong_server_key_against_libzmq(ctx, zctx, transport, tmp_path) -> None:
    """libzmq cannot open the HELLO (CRYPTOGRAPHIC) and closes without a word; the
    trinq client sees the peer close during the handshake (as a libzmq client does)."""
    public, secret = zmq.curve_keypair()
    with trio.fail_after(LIMIT_S):
        rep = zsock(zctx, zmq.REP, **CURVE_SERVER)
        rep_mon = rep.get_monitor_socket()
        ep = zbind(rep, transport, tmp_path)
        req, _ = await refused_by_libzmq(
            ctx,
            rep_mon,
            ep,
            E.HANDSHAKE_FAILED_NO_DETAIL,
            zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL,
            zmq.PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC,
            **curve_client(public, secret, server=STRANGER_PUBLIC),
        )
        req.close(linger=0)
        assert not rep.poll(0)


@pytest.mark.parametrize("transport", WIRE_TRANSPORTS)
async def test_curve_wrong_server_key_against_trinq(ctx, zctx, transport, tmp_path) -> None:
    """trinq reports CRYPTOGRAPHIC and answers with an ERROR, so the libzmq client
    stops instead of retrying."""
    public, secret = zmq.curve_keypair()
    with trio.fail_after(LIMIT_S):
        rep = ctx.socket(trinq.REP, **CURVE_SERVER)
        mon = rep.monitor()
        ep = await tbind(rep, transport, tmp_path)
        req = zsock(
            zctx,
            zmq.REQ,
            **curve_client(public, secret, server=STRANGER_PUBLIC),
            reconnect_ivl=RECONNECT_MS,
        )
        req_mon = req.get_monitor_socket()
        req.connect(ep)
        await zcall(req.send, b"must not arrive")
        failed = await trinq_event(mon, E.HANDSHAKE_FAILED_PROTOCOL)
        assert failed.value == P.ZMTP_CRYPTOGRAPHIC, failed
        assert P(failed.value) is P.ZMTP_CRYPTOGRAPHIC
        await libzmq_event(req_mon, zmq.EVENT_DISCONNECTED)
        await assert_libzmq_no_reconnect(req_mon)
        with pytest.raises(trinq.Again):
            rep.recv_nowait()


# --- CURVE, PUB/SUB (subscriptions travel encrypted) ---------------------------------

WANTED = b"wanted"
PUBLISHED = [[b"other", b"1"], [b"wanted", b"2"], [b"wanted.sub", b"3"], [b"xwanted"], [b"4"]]
DELIVERED = [[b"wanted", b"2"], [b"wanted.sub", b"3"]]
PROBES = ([b"wanted-probe"], [b"other-probe"])
END = [b"wanted-end"]


def _try_recv(s: zmq.Socket[Any], timeout_ms: int) -> list[bytes] | None:
    return s.recv_multipart() if s.poll(timeout_ms) else None


def _recv_until_end(s: zmq.Socket[Any]) -> list[list[bytes]]:
    got: list[list[bytes]] = []
    while not got or got[-1] != END:
        got.append(s.recv_multipart())
    return got


def check_filtered(got: list[list[bytes]]) -> None:
    """Only the subscribed topic arrived, all of it, in order (late probes aside)."""
    assert all(m[0].startswith(WANTED) for m in got), got
    assert [m for m in got if m not in PROBES] == [*DELIVERED, END], got


@pytest.mark.parametrize("transport", WIRE_TRANSPORTS)
async def test_curve_trinq_pub_libzmq_sub(ctx, zctx, transport, tmp_path) -> None:
    public, secret = zmq.curve_keypair()
    with trio.fail_after(LIMIT_S):
        async with trinq.auth.Authenticator(ctx) as auth:
            auth.configure_curve(keys=[public])
            pub = ctx.socket(trinq.PUB, linger=0, **CURVE_SERVER)
            ep = await tbind(pub, transport, tmp_path)
            sub = zsock(zctx, zmq.SUB, **curve_client(public, secret))
            sub.subscribe(WANTED)
            sub.connect(ep)
            while True:  # until the (encrypted) subscription has reached the PUB
                for probe in PROBES:
                    await pub.send_multipart(probe)
                if await zcall(_try_recv, sub, 50) is not None:
                    break
            for msg in PUBLISHED:
                await pub.send_multipart(msg)
            await pub.send_multipart(END)
            check_filtered(await zcall(_recv_until_end, sub))
            assert auth.replies == {b"200": 1}


@pytest.mark.parametrize("transport", WIRE_TRANSPORTS)
async def test_curve_libzmq_pub_trinq_sub(ctx, zctx, transport, tmp_path) -> None:
    public, secret = zmq.curve_keypair()
    with trio.fail_after(LIMIT_S), libzmq_authenticator(zctx) as auth:
        auth.configure_curve(domain="*", location=zmq.auth.CURVE_ALLOW_ANY)
        pub = zsock(zctx, zmq.PUB, **CURVE_SERVER)
        ep = zbind(pub, transport, tmp_path)
        sub = ctx.socket(trinq.SUB, **curve_client(public, secret))
        sub.subscribe(WANTED)
        sub.connect(ep)
        got: list[list[bytes]] = []
        while not got:  # the libzmq PUB reads subscriptions when it is used
            for probe in PROBES:
                await zcall(pub.send_multipart, probe)
            with trio.move_on_after(0.05):
                got.append(await sub.recv_multipart())
        for msg in PUBLISHED:
            await zcall(pub.send_multipart, msg)
        await zcall(pub.send_multipart, END)
        got = []
        while not got or got[-1] != END:
            got.append(await sub.recv_multipart())
        check_filtered(got)


# --- NULL with a ZAP domain ----------------------------------------------------------


async def test_null_with_zap_domain_trinq_server_denies_address(ctx, zctx) -> None:
    with trio.fail_after(LIMIT_S):
        async with trinq.auth.Authenticator(ctx) as auth:
            auth.deny("127.0.0.1")
            rep = ctx.socket(trinq.REP, zap_domain="global")
            mon = rep.monitor()
            ep = await rep.bind("tcp://127.0.0.1:0")
            req = zsock(zctx, zmq.REQ, reconnect_ivl=RECONNECT_MS)
            req_mon = req.get_monitor_socket()
            req.connect(ep)
            await zcall(req.send, b"must not arrive")
            failed = await trinq_event(mon, E.HANDSHAKE_FAILED_AUTH)
            assert failed.value == 400, failed
            assert "Address denied" in (failed.reason or ""), failed
            assert await libzmq_event(req_mon, zmq.EVENT_HANDSHAKE_FAILED_AUTH) == (
                zmq.EVENT_HANDSHAKE_FAILED_AUTH,
                400,
            )
            await assert_libzmq_no_reconnect(req_mon)
            with pytest.raises(trinq.Again):
                rep.recv_nowait()


async def test_null_with_zap_domain_trinq_server_allows_address(ctx, zctx) -> None:
    with trio.fail_after(LIMIT_S):
        async with trinq.auth.Authenticator(ctx) as auth:
            auth.allow("127.0.0.1")
            rep = ctx.socket(trinq.REP, zap_domain="global")
            ep = await rep.bind("tcp://127.0.0.1:0")
            req = zsock(zctx, zmq.REQ)
            req.connect(ep)
            props = await trinq_round_trip(req, rep)
            assert props["User-Id"] == "anonymous"
            assert auth.replies == {b"200": 1}


async def test_null_with_zap_domain_libzmq_server_denies_trinq(ctx, zctx) -> None:
    with trio.fail_after(LIMIT_S), libzmq_authenticator(zctx) as auth:
        auth.deny("127.0.0.1")
        rep = zsock(zctx, zmq.REP, zap_domain=b"global")
        rep_mon = rep.get_monitor_socket()
        ep = zbind(rep, "tcp", Path())
        _, mon = await refused_by_libzmq(
            ctx,
            rep_mon,
            ep,
            E.HANDSHAKE_FAILED_AUTH,
            zmq.EVENT_HANDSHAKE_FAILED_AUTH,
            400,
            400,
            reconnect_ivl=RECONNECT_MS,
        )
        await assert_no_reconnect(mon)
        assert not rep.poll(0)


@pytest.mark.parametrize("server", ["libzmq", "trinq"])
async def test_null_without_zap_domain_skips_zap(ctx, zctx, server) -> None:
    """libzmq >= 4.3: NULL asks ZAP only when a zap_domain is set, so a deny list does
    not apply to it."""
    with trio.fail_after(LIMIT_S):
        if server == "libzmq":
            with libzmq_authenticator(zctx) as zauth:
                zauth.deny("127.0.0.1")
                rep = zsock(zctx, zmq.REP)
                ep = zbind(rep, "tcp", Path())
                req = ctx.socket(trinq.REQ)
                req.connect(ep)
                assert await libzmq_round_trip(req, rep) is None
        else:
            async with trinq.auth.Authenticator(ctx) as tauth:
                tauth.deny("127.0.0.1")
                trep = ctx.socket(trinq.REP)
                ep = await trep.bind("tcp://127.0.0.1:0")
                zreq = zsock(zctx, zmq.REQ)
                zreq.connect(ep)
                props = await trinq_round_trip(zreq, trep)
                assert "User-Id" not in props
                assert tauth.replies == {}


# --- wire capture: what a relay between the two sees --------------------------------

SECRET_REQUEST = b"REQUEST-PAYLOAD-7f3a9c1e-do-not-leak"
SECRET_REPLY = b"REPLY-PAYLOAD-52b8d0e4-do-not-leak"
SECRET_TOPIC = b"TOPIC-classified-91c2"
SECRET_DATA = b"PUBLISHED-PAYLOAD-e6a1f7b3-do-not-leak"


class Recorder:
    """A TCP relay on 127.0.0.1 to ``target_port`` that keeps every byte it forwards:
    :attr:`upstream` (client to server) and :attr:`downstream`."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.upstream = bytearray()
        self.downstream = bytearray()
        self.port = 0

    async def run(self, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self.port = listeners[0].socket.getsockname()[1]
        task_status.started()
        await trio.serve_listeners(self._serve, listeners)

    async def _serve(self, client: trio.SocketStream) -> None:
        try:
            server = await trio.open_tcp_stream("127.0.0.1", self.target_port)
        except OSError:
            await client.aclose()
            return
        async with client, server, trio.open_nursery() as nursery:
            nursery.start_soon(self._pump, client, server, self.upstream, nursery.cancel_scope)
            nursery.start_soon(self._pump, server, client, self.downstream, nursery.cancel_scope)

    @staticmethod
    async def _pump(
        src: trio.SocketStream, dst: trio.SocketStream, record: bytearray, scope: trio.CancelScope
    ) -> None:
        try:
            while data := await src.receive_some(65536):
                record += data
                await dst.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        scope.cancel()


def _port(ep: str) -> int:
    return int(ep.rsplit(":", 1)[1])


MECHANISMS = ["null", "plain", "curve"]


def _client_options(mechanism: str, public: bytes, secret: bytes) -> dict[str, Any]:
    if mechanism == "plain":
        return {"plain_username": USER.encode(), "plain_password": PASSWORD.encode()}
    if mechanism == "curve":
        return curve_client(public, secret)
    return {}


def _server_options(mechanism: str) -> dict[str, Any]:
    return {"null": {}, "plain": {"plain_server": True}, "curve": CURVE_SERVER}[mechanism]


@contextlib.asynccontextmanager
async def _authenticators(ctx: trinq.Context, zctx: zmq.Context[Any], mechanism: str) -> Any:
    """Both libraries' ZAP handlers, letting the test's credentials in."""
    with libzmq_authenticator(zctx) as zauth:
        zauth.configure_plain(domain="*", passwords={USER: PASSWORD})
        zauth.configure_curve(domain="*", location=zmq.auth.CURVE_ALLOW_ANY)
        async with trinq.auth.Authenticator(ctx) as tauth:
            tauth.configure_plain(passwords={USER: PASSWORD})
            tauth.configure_curve(allow_any=True)
            yield


def check_capture(
    rec: Recorder, mechanism: str, upstream: list[bytes], downstream: list[bytes], public: bytes
) -> None:
    secrets = [*upstream, *downstream, PASSWORD.encode(), zmq.utils.z85.decode(public)]
    if mechanism == "curve":
        for secret in secrets:
            assert secret not in rec.upstream, secret
            assert secret not in rec.downstream, secret
        assert len(rec.upstream) > 300 and len(rec.downstream) > 300  # it did carry them
        return
    for secret in upstream:  # the same relay sees everything without CURVE
        assert secret in rec.upstream, secret
    for secret in downstream:
        assert secret in rec.downstream, secret
    assert (PASSWORD.encode() in rec.upstream) == (mechanism == "plain")


@pytest.mark.parametrize("server", ["libzmq", "trinq"])
@pytest.mark.parametrize("mechanism", MECHANISMS)
async def test_wire_capture_reqrep(ctx, zctx, mechanism, server) -> None:
    """A request and its reply, through a recording relay, either side serving."""
    public, secret = zmq.curve_keypair()
    client, server_opts = _client_options(mechanism, public, secret), _server_options(mechanism)
    with trio.fail_after(LIMIT_S):
        async with _authenticators(ctx, zctx, mechanism), trio.open_nursery() as nursery:
            if server == "libzmq":
                zrep = zsock(zctx, zmq.REP, **server_opts)
                rec = Recorder(_port(zbind(zrep, "tcp", Path())))
                await nursery.start(rec.run)
                treq = ctx.socket(trinq.REQ, **client)
                treq.connect(f"tcp://127.0.0.1:{rec.port}")
                await treq.send(SECRET_REQUEST)
                assert await zcall(zrep.recv) == SECRET_REQUEST
                await zcall(zrep.send, SECRET_REPLY)
                assert await treq.recv() == SECRET_REPLY
            else:
                trep = ctx.socket(trinq.REP, **server_opts)
                rec = Recorder(_port(await trep.bind("tcp://127.0.0.1:0")))
                await nursery.start(rec.run)
                zreq = zsock(zctx, zmq.REQ, **client)
                zreq.connect(f"tcp://127.0.0.1:{rec.port}")
                await zcall(zreq.send, SECRET_REQUEST)
                assert await trep.recv() == SECRET_REQUEST
                await trep.send(SECRET_REPLY)
                assert await zcall(zreq.recv) == SECRET_REPLY
            nursery.cancel_scope.cancel()
    check_capture(rec, mechanism, [SECRET_REQUEST], [SECRET_REPLY], public)


@pytest.mark.parametrize("publisher", ["libzmq", "trinq"])
@pytest.mark.parametrize("mechanism", MECHANISMS)
async def test_wire_capture_pubsub(ctx, zctx, mechanism, publisher) -> None:
    """A subscription (upstream) and a published message (downstream) through a
    recording relay; the PUB binds and serves."""
    public, secret = zmq.curve_keypair()
    client, server_opts = _client_options(mechanism, public, secret), _server_options(mechanism)
    message = [SECRET_TOPIC, SECRET_DATA]
    with trio.fail_after(LIMIT_S):
        async with _authenticators(ctx, zctx, mechanism), trio.open_nursery() as nursery:
            if publisher == "libzmq":
                zpub = zsock(zctx, zmq.PUB, **server_opts)
                rec = Recorder(_port(zbind(zpub, "tcp", Path())))
                await nursery.start(rec.run)
                tsub = ctx.socket(trinq.SUB, **client)
                tsub.subscribe(SECRET_TOPIC)
                tsub.connect(f"tcp://127.0.0.1:{rec.port}")
                while True:
                    await zcall(zpub.send_multipart, message)
                    with trio.move_on_after(0.05):
                        assert await tsub.recv_multipart() == message
                        break
            else:
                tpub = ctx.socket(trinq.PUB, **server_opts)
                rec = Recorder(_port(await tpub.bind("tcp://127.0.0.1:0")))
                await nursery.start(rec.run)
                zsub = zsock(zctx, zmq.SUB, **client)
                zsub.subscribe(SECRET_TOPIC)
                zsub.connect(f"tcp://127.0.0.1:{rec.port}")
                while True:
                    await tpub.send_multipart(message)
                    got = await zcall(_try_recv, zsub, 50)
                    if got is not None:
                        assert got == message
                        break
            nursery.cancel_scope.cancel()
    check_capture(rec, mechanism, [SECRET_TOPIC], [SECRET_TOPIC, SECRET_DATA], public)


# --- CURVE under load and while idle -------------------------------------------------


def bulk_messages() -> list[list[bytes]]:
    """Many messages of mixed sizes (short and long frames, multipart, empty frames):
    many MESSAGE boxes per write, so the batched encoder and the nonces are exercised."""
    sizes = (0, 1, 16, 222, 223, 255, 256, 4096, 70_000)  # 222|223: short|long MESSAGE
    out = []
    for i in range(3000):
        body = bytes([i % 251]) * sizes[i % len(sizes)]
        out.append([b"%d" % i, body] if i % 3 == 0 else [b"%d" % i + body])
    return out


@pytest.mark.parametrize("sender", ["trinq", "libzmq"])
async def test_curve_bulk_push_pull(ctx, zctx, sender) -> None:
    public, secret = zmq.curve_keypair()
    expected = bulk_messages()

    def libzmq_receive(pull: zmq.Socket[Any]) -> list[list[bytes]]:
        return [pull.recv_multipart() for _ in expected]

    def libzmq_send(push: zmq.Socket[Any]) -> None:
        for msg in expected:
            push.send_multipart(msg)

    with trio.fail_after(LIMIT_S):
        if sender == "trinq":
            pull = zsock(zctx, zmq.PULL, **CURVE_SERVER)
            ep = zbind(pull, "tcp", Path())
            push = ctx.socket(trinq.PUSH, **curve_client(public, secret))
            push.connect(ep)
            got: list[list[bytes]] = []

            async def receive() -> None:
                got.extend(await zcall(libzmq_receive, pull))

            async with trio.open_nursery() as nursery:
                nursery.start_soon(receive)
                for msg in expected:
                    await push.send_multipart(msg)
        else:
            tpull = ctx.socket(trinq.PULL, **CURVE_SERVER)
            ep = await tpull.bind("tcp://127.0.0.1:0")
            zpush = zsock(zctx, zmq.PUSH, **curve_client(public, secret))
            zpush.connect(ep)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(zcall, libzmq_send, zpush)
                got = [await tpull.recv_multipart() for _ in expected]
        assert got == expected


@pytest.mark.parametrize("server", ["libzmq", "trinq"])
async def test_curve_heartbeats_keep_an_idle_connection(ctx, zctx, server) -> None:
    """PING/PONG travel as CURVE MESSAGE boxes (COMMAND flag) both ways: with a 100 ms
    heartbeat timeout on both sides an idle connection stays up, and the relay sees
    the (encrypted) heartbeat traffic."""
    public, secret = zmq.curve_keypair()
    hb = {"heartbeat_ivl": 20, "heartbeat_timeout": 100}
    with trio.fail_after(LIMIT_S):
        async with trio.open_nursery() as nursery:
            if server == "libzmq":
                zrep = zsock(zctx, zmq.REP, **CURVE_SERVER, **hb)
                zmon_sock = zrep.get_monitor_socket()
                rec = Recorder(_port(zbind(zrep, "tcp", Path())))
                await nursery.start(rec.run)
                treq = ctx.socket(trinq.REQ, **curve_client(public, secret), **hb)
                tmon = treq.monitor()
                treq.connect(f"tcp://127.0.0.1:{rec.port}")
                await libzmq_round_trip(treq, zrep)
            else:
                trep = ctx.socket(trinq.REP, **CURVE_SERVER, **hb)
                tmon = trep.monitor()
                rec = Recorder(_port(await trep.bind("tcp://127.0.0.1:0")))
                await nursery.start(rec.run)
                zreq = zsock(zctx, zmq.REQ, **curve_client(public, secret), **hb)
                zmon_sock = zreq.get_monitor_socket()
                zreq.connect(f"tcp://127.0.0.1:{rec.port}")
                await trinq_round_trip(zreq, trep)
            before = len(rec.upstream), len(rec.downstream)
            with trio.move_on_after(QUIET_S):  # idle: only heartbeats cross
                while True:
                    ev = await tmon.receive()
                    assert ev.event != E.DISCONNECTED, ev
            later = await zcall(_libzmq_quiet, zmon_sock, 0.05)
            assert zmq.EVENT_DISCONNECTED not in later, later
            # a PING is 2 + 8 + 8 + 16 + 1 + 7 = 42 octets at least under CURVE, 20 ms apart
            assert len(rec.upstream) - before[0] > 5 * 42
            assert len(rec.downstream) - before[1] > 5 * 42
            if server == "libzmq":
                assert await libzmq_round_trip(treq, zrep) is None
            else:
                await trinq_round_trip(zreq, trep)
            nursery.cancel_scope.cancel()


# --- identities and concurrent handshakes --------------------------------------------


async def test_curve_routing_ids_cross_in_the_encrypted_metadata(ctx, zctx) -> None:
    """The routing id travels in INITIATE's (client) and READY's (server) boxed
    metadata: each side's ROUTER addresses the other by it."""
    public, secret = zmq.curve_keypair()
    with trio.fail_after(LIMIT_S):
        # libzmq DEALER -> trinq ROUTER
        router = ctx.socket(trinq.ROUTER, **CURVE_SERVER)
        ep = await router.bind("tcp://127.0.0.1:0")
        dealer = zsock(zctx, zmq.DEALER, routing_id=b"libzmq-7", **curve_client(public, secret))
        dealer.connect(ep)
        await zcall(dealer.send_multipart, [b"hi", b"there"])
        msg = await router.recv_message()
        assert list(msg.frames) == [b"libzmq-7", b"hi", b"there"]
        assert msg.properties["Routing-Id"] == "libzmq-7"
        await router.send_multipart([b"libzmq-7", b"back"])
        assert await zcall(dealer.recv_multipart) == [b"back"]
        # trinq DEALER -> libzmq ROUTER
        zrouter = zsock(zctx, zmq.ROUTER, **CURVE_SERVER)
        zep = zbind(zrouter, "tcp", Path())
        tdealer = ctx.socket(trinq.DEALER, routing_id=b"trinq-9", **curve_client(public, secret))
        tdealer.connect(zep)
        await tdealer.send_multipart([b"hello"])
        assert await zcall(zrouter.recv_multipart) == [b"trinq-9", b"hello"]
        await zcall(zrouter.send_multipart, [b"trinq-9", b"world"])
        assert await tdealer.recv_multipart() == [b"world"]


async def test_slow_zap_answer_does_not_hold_up_other_libzmq_clients(ctx, zctx) -> None:
    """trinq's CURVE server waits for each ZAP reply in that connection's task: while
    the handler sits on one libzmq client's key, another client gets in, and the
    first follows once its answer comes."""
    slow_public, slow_secret = zmq.curve_keypair()
    fast_public, fast_secret = zmq.curve_keypair()
    release = trio.Event()
    asked = trio.Event()

    async def verdict(domain: str, key: bytes) -> bool:
        if key == slow_public:
            asked.set()
            await release.wait()
        return True

    with trio.fail_after(LIMIT_S):
        async with trinq.auth.Authenticator(ctx) as auth:
            auth.configure_curve(callback=verdict)
            router = ctx.socket(trinq.ROUTER, **CURVE_SERVER)
            ep = await router.bind("tcp://127.0.0.1:0")
            slow = zsock(
                zctx, zmq.DEALER, routing_id=b"slow", **curve_client(slow_public, slow_secret)
            )
            slow.connect(ep)
            await zcall(slow.send, b"from slow")
            await asked.wait()
            fast = zsock(
                zctx, zmq.DEALER, routing_id=b"fast", **curve_client(fast_public, fast_secret)
            )
            fast.connect(ep)
            await zcall(fast.send, b"from fast")
            msg = await router.recv_message()
            assert list(msg.frames) == [b"fast", b"from fast"]
            assert msg.properties["User-Id"] == fast_public.decode()
            release.set()
            msg = await router.recv_message()
            assert list(msg.frames) == [b"slow", b"from slow"]
            assert msg.properties["User-Id"] == slow_public.decode()
            assert auth.replies == {b"200": 2}
