"""Request-reply interop against libzmq (through pyzmq).

Every compatible pairing -- REQ-REP, REQ-ROUTER, DEALER-REP, DEALER-ROUTER and
ROUTER-ROUTER -- runs with trinq on either side and either side binding, over tcp and
ipc, with multipart bodies (including an empty and a long frame) and explicit
identities. Each side follows a small *script*: a generator that yields a message to
send, or ``None`` to receive one (and is sent back what arrived), so the same script
drives a blocking pyzmq socket in a worker thread and a trinq socket in trio.

pyzmq sockets get RCVTIMEO/SNDTIMEO and linger 0, and every test is bounded by
``trio.fail_after``, so nothing can hang.
"""

from __future__ import annotations

import sys
from collections.abc import Generator
from typing import Any

import pytest
import trio
import zmq

import trinq
from trinq.testing import WIRE_TRANSPORTS, endpoint

TIMEOUT_MS = 5000
N = 5

Script = Generator["list[bytes] | None", "list[bytes] | None", None]

PAIRINGS = [
    ("REQ", "REP"),
    ("REQ", "ROUTER"),
    ("DEALER", "REP"),
    ("DEALER", "ROUTER"),
    ("ROUTER", "ROUTER"),
]


def body(i: int) -> list[bytes]:
    return [b"request", b"%d" % i, b"", b"x" * 300]


def reply(i: int) -> list[bytes]:
    return [b"reply", b"%d" % i, b"y" * 260, b""]


def client_script(kind: str, binds: bool) -> Script:
    """The requesting side: N requests, each answered before the next one."""
    peer = b"server"
    if kind == "ROUTER" and binds:
        # the connecting server ROUTER announces itself with probe_router
        probe = yield None
        assert probe == [b"server", b""]
    for i in range(N):
        if kind == "REQ":
            yield body(i)
            assert (yield None) == reply(i)
        elif kind == "DEALER":
            yield [b"", *body(i)]
            assert (yield None) == [b"", *reply(i)]
        else:
            yield [peer, *body(i)]
            assert (yield None) == [peer, *reply(i)]


def server_script(kind: str, client_kind: str) -> Script:
    """The answering side; a ROUTER checks the client's explicit identity."""
    envelope = [b"client"] if client_kind == "ROUTER" else [b"client", b""]
    for i in range(N):
        msg = yield None
        if kind == "REP":
            assert msg == body(i)
            yield reply(i)
        else:
            assert msg == [*envelope, *body(i)]
            yield [*envelope, *reply(i)]


def run_pyzmq(sock: zmq.Socket, script: Script) -> None:
    received = None
    try:
        while True:
            op = script.send(received)
            if op is None:
                received = sock.recv_multipart()
            else:
                sock.send_multipart(op)
                received = None
    except StopIteration:
        pass


async def run_trinq(sock: trinq.Socket, script: Script) -> None:
    received = None
    try:
        while True:
            op = script.send(received)
            if op is None:
                received = await sock.recv_multipart()
            else:
                await sock.send_multipart(op)
                received = None
    except StopIteration:
        pass


def options_for(kinds: dict[str, str], role: str, binds: bool) -> dict[str, Any]:
    opts: dict[str, Any] = {"routing_id": role.encode()}
    if kinds["client"] == kinds["server"] == "ROUTER" and role == "server" and not binds:
        opts["probe_router"] = True  # tells the bound client ROUTER the server's id
    return opts


def pyzmq_socket(zctx: zmq.Context, kind: str, opts: dict[str, Any]) -> zmq.Socket:
    s = zctx.socket(getattr(zmq, kind))
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.RCVTIMEO, TIMEOUT_MS)
    s.setsockopt(zmq.SNDTIMEO, TIMEOUT_MS)
    s.setsockopt(zmq.ROUTING_ID, opts["routing_id"])
    if opts.get("probe_router"):
        s.setsockopt(zmq.PROBE_ROUTER, 1)
    return s


@pytest.mark.parametrize("transport", WIRE_TRANSPORTS)
@pytest.mark.parametrize("binder", ["client", "server"])
@pytest.mark.parametrize("trinq_side", ["client", "server"])
@pytest.mark.parametrize(
    ("client_kind", "server_kind"), PAIRINGS, ids=[f"{c}-{s}" for c, s in PAIRINGS]
)
async def test_pairing(zctx, tmp_path, transport, binder, trinq_side, client_kind, server_kind):
    """REQ/REP/DEALER/ROUTER against libzmq: every pairing, role and bind direction."""
    kinds = {"client": client_kind, "server": server_kind}
    scripts = {
        "client": client_script(client_kind, binder == "client"),
        "server": server_script(server_kind, client_kind),
    }
    zmq_side = "server" if trinq_side == "client" else "client"
    with trio.fail_after(10):
        async with trinq.Context() as ctx:
            topts = options_for(kinds, trinq_side, binder == trinq_side)
            tsock = ctx.socket(trinq.SocketType[kinds[trinq_side]], linger=0, **topts)
            zopts = options_for(kinds, zmq_side, binder == zmq_side)
            zsock = pyzmq_socket(zctx, kinds[zmq_side], zopts)
            connect_rid = b"server" if client_kind == "ROUTER" and binder == "server" else b""
            if binder == trinq_side:
                ep = await tsock.bind(endpoint(transport, tmp_path))
                if connect_rid:
                    zsock.setsockopt(zmq.CONNECT_ROUTING_ID, connect_rid)
                zsock.connect(ep)
            else:
                zsock.bind(endpoint(transport, tmp_path))
                ep = zsock.getsockopt_string(zmq.LAST_ENDPOINT)
                if connect_rid:
                    tsock.connect_routing_id = connect_rid
                tsock.connect(ep)
            try:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(run_trinq, tsock, scripts[trinq_side])
                    # not abandoned on cancel: the thread owns zsock until RCVTIMEO ends it
                    await trio.to_thread.run_sync(run_pyzmq, zsock, scripts[zmq_side])
            finally:
                zsock.close(linger=0)


@pytest.mark.parametrize("trinq_side", ["REQ", "REP"])
async def test_req_correlate_relaxed(zctx, trinq_side):
    """req_correlate + req_relaxed against libzmq: the request-id frame (host byte
    order) survives a REP's envelope handling, and an abandoned request's reply is
    dropped on both implementations.
    """
    with trio.fail_after(10):
        async with trinq.Context() as ctx:
            if trinq_side == "REQ":
                req = ctx.socket(trinq.REQ, req_correlate=True, req_relaxed=True, linger=0)
                zrep = zctx.socket(zmq.ROUTER)
                zrep.setsockopt(zmq.LINGER, 0)
                zrep.setsockopt(zmq.RCVTIMEO, TIMEOUT_MS)
                zrep.bind("tcp://127.0.0.1:0")
                req.connect(zrep.getsockopt_string(zmq.LAST_ENDPOINT))
                await req.send(b"first")
                first = await trio.to_thread.run_sync(zrep.recv_multipart)
                await req.send(b"second")
                second = await trio.to_thread.run_sync(zrep.recv_multipart)
                assert first[2:] == [b"", b"first"] and second[2:] == [b"", b"second"]
                id1, id2 = (int.from_bytes(m[1], sys.byteorder) for m in (first, second))
                assert id2 == (id1 + 1) & 0xFFFFFFFF
                zrep.send_multipart([*first[:3], b"stale"])
                zrep.send_multipart([*second[:3], b"fresh"])
                assert await req.recv() == b"fresh"
                zrep.close(linger=0)
            else:
                rep = ctx.socket(trinq.REP, linger=0)
                ep = await rep.bind("tcp://127.0.0.1:*")
                zreq = zctx.socket(zmq.REQ)
                for opt, value in (
                    (zmq.LINGER, 0),
                    (zmq.RCVTIMEO, TIMEOUT_MS),
                    (zmq.REQ_CORRELATE, 1),
                    (zmq.REQ_RELAXED, 1),
                ):
                    zreq.setsockopt(opt, value)
                zreq.connect(ep)
                zreq.send(b"abandoned")
                assert await rep.recv() == b"abandoned"
                zreq.send(b"current")
                await rep.send(b"late")
                assert await rep.recv() == b"current"
                await rep.send(b"answer")
                assert await trio.to_thread.run_sync(zreq.recv) == b"answer"
                zreq.close(linger=0)


async def test_router_generated_ids_for_libzmq_peers(zctx):
    """An anonymous libzmq DEALER gets a 5-byte generated id at a trinq ROUTER, and the
    reply routed by that id reaches it.
    """
    with trio.fail_after(10):
        async with trinq.Context() as ctx:
            router = ctx.socket(trinq.ROUTER, linger=0)
            ep = await router.bind("tcp://127.0.0.1:*")
            dealers = [zctx.socket(zmq.DEALER) for _ in range(2)]
            for i, d in enumerate(dealers):
                d.setsockopt(zmq.LINGER, 0)
                d.setsockopt(zmq.RCVTIMEO, TIMEOUT_MS)
                d.connect(ep)
                d.send_multipart([b"%d" % i, b"part"])
            ids = {}
            for _ in range(2):
                rid, n, part = await router.recv_multipart()
                assert len(rid) == 5 and rid[0] == 0 and part == b"part"
                ids[int(n)] = rid
            for i, d in enumerate(dealers):
                await router.send_multipart([ids[i], b"to %d" % i])
                assert await trio.to_thread.run_sync(d.recv) == b"to %d" % i
                d.close(linger=0)
