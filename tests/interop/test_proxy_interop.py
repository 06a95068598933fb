"""A trinq proxy between libzmq (pyzmq) peers, and its STATISTICS against libzmq's.

pyzmq sockets live in worker threads (``trio.to_thread.run_sync``), each created and
used in one thread, with RCVTIMEO/SNDTIMEO and linger 0, so a broken proxy makes a test
fail, never hang; every test is also bounded by ``trio.fail_after``.
"""

from __future__ import annotations

import struct
import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio
import zmq

import trinq

ZTIMEO = 5000  # ms: every blocking pyzmq call returns within this
TIMEOUT = 30
HWM = 100_000


def zsocket(zctx: zmq.Context[Any], kind: int, **opts: Any) -> zmq.Socket[Any]:
    s = zctx.socket(kind)
    s.linger = 0  # unless opts say otherwise
    s.rcvtimeo = ZTIMEO
    s.sndtimeo = ZTIMEO
    for k, v in opts.items():
        s.setsockopt(getattr(zmq, k.upper()), v)
    return s


@asynccontextmanager
async def running(fn: Any, *args: Any) -> AsyncIterator[None]:
    """Run a trinq proxy in the background for the body; it must still be running."""
    done = trio.Event()

    async def run() -> None:
        try:
            await fn(*args)
        finally:
            done.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(run)
        yield
        assert not done.is_set(), "the proxy ended early"
        nursery.cancel_scope.cancel()


async def bound(ctx: trinq.Context, kind: int, **opts: Any) -> tuple[trinq.Socket, str]:
    sock = ctx.socket(kind, **opts)
    return sock, await sock.bind("tcp://127.0.0.1:*")


async def test_pyzmq_req_clients_rep_workers_through_router_dealer(
    ctx: trinq.Context, zctx: zmq.Context[Any]
) -> None:
    clients, workers, per_client = 3, 2, 200
    with trio.fail_after(TIMEOUT):
        frontend, fep = await bound(ctx, trinq.ROUTER)
        backend, bep = await bound(ctx, trinq.DEALER)
        # one inproc PAIR per worker tells it to stop (used by this thread only)
        stops = []
        for w in range(workers):
            stop = zsocket(zctx, zmq.PAIR)
            stop.bind(f"inproc://stop-{w}-{uuid.uuid4().hex}")
            stops.append(stop)

        def worker(w: int) -> int:
            rep = zsocket(zctx, zmq.REP)
            rep.connect(bep)
            stop = zsocket(zctx, zmq.PAIR)
            stop.connect(stops[w].last_endpoint.decode())
            poller = zmq.Poller()
            poller.register(rep, zmq.POLLIN)
            poller.register(stop, zmq.POLLIN)
            handled = 0
            try:
                while True:
                    ready = dict(poller.poll(ZTIMEO))
                    assert ready, "worker: nothing arrived"
                    if stop in ready:
                        return handled
                    request = rep.recv_multipart()
                    rep.send_multipart([b"reply", *request, b"w%d" % w])
                    handled += 1
            finally:
                rep.close()
                stop.close()

        def client(c: int) -> None:
            req = zsocket(zctx, zmq.REQ)
            req.connect(fep)
            try:
                for i in range(per_client):
                    request = [b"c%d" % c, b"%d" % i, b"", b"z" * (i % 300)]
                    req.send_multipart(request)
                    reply = req.recv_multipart()
                    assert reply[:-1] == [b"reply", *request]
                    assert reply[-1] in (b"w0", b"w1")
            finally:
                req.close()

        handled: list[int] = []

        async def run_worker(w: int) -> None:
            handled.append(await trio.to_thread.run_sync(worker, w))

        async with running(trinq.proxy, frontend, backend), trio.open_nursery() as nursery:
            for w in range(workers):
                nursery.start_soon(run_worker, w)
            async with trio.open_nursery() as inner:
                for c in range(clients):
                    inner.start_soon(trio.to_thread.run_sync, client, c)
            for stop in stops:
                stop.send(b"stop")
        for stop in stops:
            stop.close()
        assert sum(handled) == clients * per_client


async def test_pyzmq_xpub_upstream_sub_downstream_through_xsub_xpub(
    ctx: trinq.Context, zctx: zmq.Context[Any]
) -> None:
    """Subscriptions travel from a libzmq SUB through the proxy to a libzmq XPUB (so the
    test sees them arrive), and only the matching messages come back down."""
    n = 300
    with trio.fail_after(TIMEOUT):
        upstream = zsocket(zctx, zmq.XPUB, sndhwm=HWM, rcvhwm=HWM)
        upstream.bind("tcp://127.0.0.1:*")
        uep = upstream.last_endpoint.decode()
        frontend = ctx.socket(trinq.XSUB, sndhwm=HWM, rcvhwm=HWM)
        frontend.connect(uep)
        backend, bep = await bound(ctx, trinq.XPUB, sndhwm=HWM, rcvhwm=HWM)

        def publish() -> list[bytes]:
            try:
                seen = [upstream.recv()]  # the subscription, through the proxy
                for i in range(n):
                    upstream.send_multipart([b"b", b"%d" % i])
                    upstream.send_multipart([b"a", b"%d" % i])
                upstream.send_multipart([b"a", b"end"])
                seen.append(upstream.recv())  # the unsubscription
                return seen
            finally:
                upstream.close()

        def subscribe() -> list[list[bytes]]:
            sub = zsocket(zctx, zmq.SUB, rcvhwm=HWM)
            sub.connect(bep)
            sub.subscribe(b"a")
            got = []
            try:
                while (frames := sub.recv_multipart()) != [b"a", b"end"]:
                    got.append(frames)
                sub.unsubscribe(b"a")
                return got
            finally:
                sub.close()

        results: dict[str, Any] = {}

        async def run(name: str, fn: Any) -> None:
            results[name] = await trio.to_thread.run_sync(fn)

        async with running(trinq.proxy, frontend, backend), trio.open_nursery() as nursery:
            nursery.start_soon(run, "pub", publish)
            nursery.start_soon(run, "sub", subscribe)
        assert results["pub"] == [b"\x01a", b"\x00a"]
        assert results["sub"] == [[b"a", b"%d" % i] for i in range(n)]


async def test_pyzmq_pub_to_sub_through_xsub_xpub(
    ctx: trinq.Context, zctx: zmq.Context[Any]
) -> None:
    n = 500
    with trio.fail_after(TIMEOUT):
        frontend, fep = await bound(ctx, trinq.XSUB, sndhwm=HWM, rcvhwm=HWM)
        backend, bep = await bound(ctx, trinq.XPUB, sndhwm=HWM, rcvhwm=HWM)
        subscribed = threading.Event()

        def publish() -> None:
            # linger: close() must not drop what is still queued (bounded all the same)
            pub = zsocket(zctx, zmq.PUB, sndhwm=HWM, linger=ZTIMEO)
            pub.connect(fep)
            try:
                # until the subscriber has one: the subscription is all the way up then
                deadline = time.monotonic() + ZTIMEO / 1000
                while not subscribed.is_set():
                    assert time.monotonic() < deadline, "the subscription never arrived"
                    pub.send_multipart([b"news", b"warm-up"])
                    subscribed.wait(0.02)
                for i in range(n):
                    pub.send_multipart([b"weather", b"%d" % i])  # nobody wants these
                    pub.send_multipart([b"news", b"%d" % i, b"n" * (i % 100)])
                pub.send_multipart([b"news", b"end"])
            finally:
                pub.close()

        def subscribe() -> list[list[bytes]]:
            sub = zsocket(zctx, zmq.SUB, rcvhwm=HWM)
            sub.connect(bep)
            sub.subscribe(b"news")
            got = []
            try:
                while (frames := sub.recv_multipart()) != [b"news", b"end"]:
                    subscribed.set()
                    if frames[1] != b"warm-up":
                        got.append(frames)
                return got
            finally:
                sub.close()

        got: list[list[bytes]] = []

        async def run_sub() -> None:
            got.extend(await trio.to_thread.run_sync(subscribe))

        async with running(trinq.proxy, frontend, backend), trio.open_nursery() as nursery:
            nursery.start_soon(run_sub)
            nursery.start_soon(trio.to_thread.run_sync, publish)
        assert got == [[b"news", b"%d" % i, b"n" * (i % 100)] for i in range(n)]


async def test_pyzmq_push_pull_through_pull_push_with_capture(
    ctx: trinq.Context, zctx: zmq.Context[Any]
) -> None:
    n = 2000

    def msg(i: int) -> list[bytes]:
        return [b"%d" % i, b"", b"m" * (i % 1000)]

    with trio.fail_after(TIMEOUT):
        frontend, fep = await bound(ctx, trinq.PULL)
        backend, bep = await bound(ctx, trinq.PUSH)
        capture, cep = await bound(ctx, trinq.PUSH)

        def produce() -> None:
            push = zsocket(zctx, zmq.PUSH, linger=ZTIMEO)  # close() keeps what is queued
            push.connect(fep)
            try:
                for i in range(n):
                    push.send_multipart(msg(i))
            finally:
                push.close()

        def consume(ep: str) -> list[list[bytes]]:
            pull = zsocket(zctx, zmq.PULL)
            pull.connect(ep)
            try:
                return [pull.recv_multipart() for _ in range(n)]
            finally:
                pull.close()

        results: dict[str, list[list[bytes]]] = {}

        async def run(name: str, ep: str) -> None:
            results[name] = await trio.to_thread.run_sync(consume, ep)

        async with (
            running(trinq.proxy, frontend, backend, capture),
            trio.open_nursery() as nursery,
        ):
            nursery.start_soon(run, "sink", bep)
            nursery.start_soon(run, "capture", cep)
            nursery.start_soon(trio.to_thread.run_sync, produce)
        assert results["sink"] == results["capture"] == [msg(i) for i in range(n)]


# --- STATISTICS: the same traffic through libzmq's proxy and trinq's ------------------

K = 60


def request(i: int) -> list[bytes]:
    return [b"%d" % i, b"r" * (i % 7)]


def reply(i: int) -> list[bytes]:
    return [b"ok", b"y" * (i % 5), b""]


def traffic(zctx: zmq.Context[Any], fep: str, bep: str, kep: str) -> list[int]:
    """K request/reply round trips through a proxy at fep/bep; then STATISTICS and
    TERMINATE over its REP control socket at kep. Returns the statistics."""
    client = zsocket(zctx, zmq.REQ, routing_id=b"client")
    worker = zsocket(zctx, zmq.REP)
    steer = zsocket(zctx, zmq.REQ)
    try:
        client.connect(fep)
        worker.connect(bep)
        steer.connect(kep)
        for i in range(K):
            client.send_multipart(request(i))
            assert worker.recv_multipart() == request(i)
            worker.send_multipart(reply(i))
            assert client.recv_multipart() == reply(i)
        steer.send(b"STATISTICS")
        frames = steer.recv_multipart()
        assert len(frames) == 8 and all(len(f) == 8 for f in frames)
        steer.send(b"TERMINATE")
        assert steer.recv_multipart() == [b""]
        return [struct.unpack("=Q", f)[0] for f in frames]
    finally:
        for s in (client, worker, steer):
            s.close()


def libzmq_statistics(zctx: zmq.Context[Any]) -> list[int]:
    frontend = zsocket(zctx, zmq.ROUTER)
    backend = zsocket(zctx, zmq.DEALER)
    control = zsocket(zctx, zmq.REP)
    frontend.bind("tcp://127.0.0.1:*")
    backend.bind("tcp://127.0.0.1:*")
    kep = f"inproc://control-{uuid.uuid4().hex}"
    control.bind(kep)
    proxy = threading.Thread(
        target=zmq.proxy_steerable, args=(frontend, backend, None, control), daemon=True
    )
    proxy.start()
    try:
        return traffic(zctx, frontend.last_endpoint.decode(), backend.last_endpoint.decode(), kep)
    finally:
        proxy.join(ZTIMEO / 1000)
        assert not proxy.is_alive(), "libzmq's proxy did not TERMINATE"
        for s in (frontend, backend, control):
            s.close()


async def test_statistics_match_libzmq_proxy_steerable(
    ctx: trinq.Context, zctx: zmq.Context[Any]
) -> None:
    with trio.fail_after(TIMEOUT):
        expected = await trio.to_thread.run_sync(libzmq_statistics, zctx)
        frontend, fep = await bound(ctx, trinq.ROUTER)
        backend, bep = await bound(ctx, trinq.DEALER)
        control, kep = await bound(ctx, trinq.REP)
        returned = trio.Event()

        async def run() -> None:
            await trinq.proxy_steerable(frontend, backend, None, control)
            returned.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(run)
            ours = await trio.to_thread.run_sync(traffic, zctx, fep, bep, kep)
            await returned.wait()  # TERMINATE made it return
    # envelope [b"client", b""] + body: frames and bytes per direction and side
    req_frames, rep_frames = 2 + 2, 2 + 3
    req_bytes = sum(6 + len(b"".join(request(i))) for i in range(K))
    rep_bytes = sum(6 + len(b"".join(reply(i))) for i in range(K))
    assert expected == [
        K * req_frames, req_bytes, K * rep_frames, rep_bytes,
        K * rep_frames, rep_bytes, K * req_frames, req_bytes,
    ]  # fmt: skip
    assert ours == expected
