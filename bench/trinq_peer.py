#!/usr/bin/env python3
"""trinq peer for the shared benchmark harness: thr / lat / pubsub.

Same command line and JSON output as the reference peers in
``../shared/bench/peers`` (it reuses their ``benchlib``), so the numbers sit side
by side with pyzmq's in one ``run_matrix.py`` run::

  python ../shared/bench/run_matrix.py --add-impl trinq=bench/trinq_peer.py \\
      --impls 'pyzmq,trinq' --workloads thr,lat,pubsub --rounds 5

Run it from the repository root: the harness writes ``./bench-results/<timestamp>/``
(its ``--out`` default), which git ignores.  This peer itself writes no files; it
prints one JSON line on stdout.

By hand (two shells)::

  python bench/trinq_peer.py --workload thr --role recv --endpoint tcp://127.0.0.1:5555 \
      --size 16 --count 1000000
  python bench/trinq_peer.py --workload thr --role send --endpoint tcp://127.0.0.1:5555 \
      --size 16 --count 1000000

In ``pubsub`` the SUB side drains each socket with ``recv_nowait()`` and awaits
``recv()`` only when nothing is queued, as the pyzmq peer polls and then drains with
``NOBLOCK``; ``--recv-loop plain`` makes it one ``await recv()`` per message instead
(both in one run: ``--add-impl 'trinq-plain=bench/trinq_peer.py --recv-loop plain'``).

``--pattern client-server`` runs ``lat`` over CLIENT/SERVER (the SERVER answers with
``recv_message()`` and ``send(data, routing_id=...)``) and ``--pattern scatter-gather``
runs ``thr`` over SCATTER/GATHER; the default is REQ/REP and PUSH/PULL. No other peer
has the draft types (pyzmq's wheels lack them), so compare with trinq's own numbers::

  python ../shared/bench/run_matrix.py --add-impl trinq=bench/trinq_peer.py \
      --add-impl 'trinq-draft=bench/trinq_peer.py --pattern draft' \
      --impls 'trinq,trinq-draft' --workloads thr,lat --rounds 5

(``--pattern draft`` is both: SCATTER/GATHER for thr, CLIENT/SERVER for lat.)

``--transport ws`` runs over ``ws://`` (an explicit ``--endpoint ws://HOST:PORT/PATH``
works too; the flag turns the harness's ``tcp://HOST:PORT`` into ``ws://HOST:PORT/bench``)::

  python ../shared/bench/run_matrix.py --add-impl trinq=bench/trinq_peer.py \\
      --add-impl 'trinq-ws=bench/trinq_peer.py --transport ws' \\
      --impls 'trinq,trinq-ws' --workloads thr,lat --sizes 16,4096 --lat-sizes 16

``--curve`` secures every connection with CURVE: the binder is the CURVE server, the
connector the client, with no ZAP handler (Stonehouse: any client key is let in). Both
processes derive the same fixed key pairs from constant seeds (or take the Z85 secret
keys from ``TRINQ_BENCH_CURVE_SERVER_SECRET`` / ``TRINQ_BENCH_CURVE_CLIENT_SECRET``), as
does ``bench/pyzmq_curve_peer.py``, pyzmq's counterpart. ``--plain`` uses PLAIN instead
(user ``bench``, password ``bench``); a PLAIN server needs a ZAP handler, so the binder
runs a ``trinq.auth.Authenticator`` with that password table::

  TRINQ_BENCHLIB_DIR=../shared/bench/peers python ../shared/bench/run_matrix.py \\
      --add-impl 'pyzmq-curve=bench/pyzmq_curve_peer.py' \\
      --add-impl 'trinq-curve=bench/trinq_peer.py --curve' \\
      --add-impl trinq=bench/trinq_peer.py --add-impl 'trinq-plain=bench/trinq_peer.py --plain' \\
      --impls 'pyzmq*,trinq*' --workloads thr,lat --sizes 16,4096 --lat-sizes 16 \\
      --baseline pyzmq-curve --rounds 5

``--busy-poll US`` sets the ``busy_poll`` option on every socket (a receive that finds
nothing polls its connection for up to US microseconds before it sleeps; only sockets
whose receiver reads its one connection itself, REQ/REP in ``lat``; 0 turns it off, the
default is 50)::

  python ../shared/bench/run_matrix.py --add-impl trinq=bench/trinq_peer.py \\
      --add-impl 'trinq-bp0=bench/trinq_peer.py --busy-poll 0' \\
      --impls 'pyzmq,trinq*' --workloads lat --lat-sizes 16 --rounds 5

``--role both`` runs sender and receiver as two tasks of one trio run (over the
given endpoint).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(_HERE))  # the trinq checkout
for _cand in (
    os.environ.get("TRINQ_BENCHLIB_DIR", ""),
    os.path.join(_HERE, "..", "..", "shared", "bench", "peers"),
    os.path.join(_HERE, "peers"),
):
    if _cand and os.path.exists(os.path.join(_cand, "benchlib.py")):
        sys.path.insert(0, os.path.abspath(_cand))
        break

import benchlib as B  # noqa: E402
import trio  # noqa: E402

import trinq  # noqa: E402

IMPL = "trinq"

#: --curve: the seeds of the fixed key pairs (bench/pyzmq_curve_peer.py uses the same)
CURVE_SEEDS = {"server": b"trinq-bench-curve-server", "client": b"trinq-bench-curve-client"}
#: --plain: the credentials (the binder's Authenticator accepts them)
PLAIN_USER, PLAIN_PASSWORD = "bench", "bench"


def curve_keys(role: str) -> tuple[bytes, bytes]:
    """The fixed (public, secret) Z85 key pair of "server" or "client"."""
    secret = os.environ.get(f"TRINQ_BENCH_CURVE_{role.upper()}_SECRET", "").encode()
    if not secret:
        secret = trinq.z85.encode(hashlib.sha256(CURVE_SEEDS[role]).digest())
    return trinq.curve_public(secret), secret


def security_options(args, server: bool) -> dict:
    """Socket options for the --curve / --plain server (binder) or client (connector)."""
    if args.curve:
        server_public, server_secret = curve_keys("server")
        if server:
            return {"curve_server": True, "curve_secretkey": server_secret}
        public, secret = curve_keys("client")
        return {
            "curve_serverkey": server_public,
            "curve_publickey": public,
            "curve_secretkey": secret,
        }
    if args.plain:
        if server:
            return {"plain_server": True}
        return {"plain_username": PLAIN_USER, "plain_password": PLAIN_PASSWORD}
    return {}


def socket_options(args, server: bool) -> dict:
    """security_options, and busy_poll when --busy-poll is given."""
    options = security_options(args, server)
    if args.busy_poll is not None:
        options["busy_poll"] = args.busy_poll
    return options


async def thr_receive_loop(s: trinq.Socket, args) -> dict:
    recv = s.recv
    m = await recv()
    t0, c0 = B.now(), B.cpu()
    for _ in range(args.count - 1):
        m = await recv()
    t1, c1 = B.now(), B.cpu()
    return B.thr_fields(args.count, args.size, t0, t1, c0, c1, len(m))


async def thr_send_loop(s: trinq.Socket, args) -> dict:
    msg = B.payload(args.size)
    send = s.send
    t0, c0 = B.now(), B.cpu()
    for _ in range(args.count):
        await send(msg)
    t1, c1 = B.now(), B.cpu()
    return B.send_fields(args.count, t0, t1, c0, c1)


async def server_echo(s: trinq.Socket, count: int) -> None:
    """The lat REP side over SERVER: reply to each request's routing id."""
    recv_message, send = s.recv_message, s.send
    for _ in range(count):
        m = await recv_message()
        await send(m.data, routing_id=m.routing_id)


async def amain(args) -> None:
    w, role = args.workload, args.role
    draft = args.pattern
    push, pull = (
        (trinq.SCATTER, trinq.GATHER)
        if draft in ("scatter-gather", "draft")
        else (trinq.PUSH, trinq.PULL)
    )
    client_server = draft in ("client-server", "draft")
    srv, cli = socket_options(args, server=True), socket_options(args, server=False)
    async with trinq.Context() as ctx, contextlib.AsyncExitStack() as stack:
        if args.plain and role in ("recv", "both", "rep", "pub"):
            auth = await stack.enter_async_context(trinq.auth.Authenticator(ctx))
            auth.configure_plain(passwords={PLAIN_USER: PLAIN_PASSWORD})
        if w == "thr" and role == "recv":
            s = ctx.socket(pull, **srv)
            await s.bind(args.endpoint)
            B.signal_ready(args)
            f = await thr_receive_loop(s, args)
            s.close(linger=0)
            B.emit(IMPL, args, **f)
        elif w == "thr" and role == "send":
            s = ctx.socket(push, **cli)
            s.connect(args.endpoint)
            f = await thr_send_loop(s, args)
            await s.aclose()  # default linger: waits until everything is written
            B.emit(IMPL, args, **f)
        elif w == "thr" and role == "both":
            r = ctx.socket(pull, **srv)
            ep = await r.bind(args.endpoint)
            s = ctx.socket(push, **cli)
            s.connect(ep)
            async with trio.open_nursery() as n:
                n.start_soon(thr_send_loop, s, args)
                f = await thr_receive_loop(r, args)
            f["send_cpu_note"] = "same process: cpu_us_per_msg covers both ends"
            s.close(linger=0)
            r.close(linger=0)
            B.emit(IMPL, args, **f)
        elif w == "lat" and role == "rep":
            s = ctx.socket(trinq.SERVER if client_server else trinq.REP, **srv)
            await s.bind(args.endpoint)
            B.signal_ready(args)
            send, recv = s.send, s.recv
            if client_server:
                await server_echo(s, args.count + args.warmup)
            for _ in range(0 if client_server else args.count + args.warmup):
                await send(await recv())
            await s.aclose()
            B.emit(IMPL, args, status="ok")
        elif w == "lat" and role == "req":
            s = ctx.socket(trinq.CLIENT if client_server else trinq.REQ, **cli)
            s.connect(args.endpoint)
            msg = B.payload(args.size)
            send, recv = s.send, s.recv
            for _ in range(args.warmup):
                await send(msg)
                await recv()
            rtts = [0] * args.count
            clk = B.now_ns
            t0, c0 = B.now(), B.cpu()
            for i in range(args.count):
                a = clk()
                await send(msg)
                m = await recv()
                rtts[i] = clk() - a
            t1, c1 = B.now(), B.cpu()
            f = B.lat_fields(rtts, c0, c1, t0, t1)
            if len(m) != args.size:
                f["error"] = "bad reply size"
            s.close(linger=0)
            B.emit(IMPL, args, **f)
        elif w == "pubsub" and role == "pub":
            s = ctx.socket(trinq.PUB, sndhwm=0, **srv)  # lossless for the benchmark
            await s.bind(args.endpoint)
            ctl = B.CtlServer(args.ctl_port)
            B.signal_ready(args)
            hello = B.payload(args.size, B.PS_HELLO)
            while not ctl.poll(b"R"):
                await s.send(hello)
                await trio.sleep(0.005)
            data, end = B.payload(args.size, B.PS_DATA), B.payload(args.size, B.PS_END)
            send = s.send
            t0, c0 = B.now(), B.cpu()
            for _ in range(args.count):
                await send(data)
            t1, c1 = B.now(), B.cpu()
            for _ in range(3):
                await send(end)
            while not ctl.poll(b"D"):
                await trio.sleep(0.02)
            ctl.close()
            s.close(linger=0)
            B.emit(IMPL, args, **B.send_fields(args.count, t0, t1, c0, c1))
        elif w == "pubsub" and role == "sub":
            ctl = B.CtlClient(args.ctl_port)
            socks = []
            for _ in range(args.subs):
                s = ctx.socket(trinq.SUB, rcvhwm=0, **cli)
                s.subscribe(b"")
                s.connect(args.endpoint)
                socks.append(s)
            for s in socks:  # every subscriber sees a HELLO before we say ready
                while (await s.recv())[0] != B.PS_HELLO:
                    pass
            stats = [B.SubStats() for _ in socks]

            async def sub_task(s: trinq.Socket, st) -> None:
                # Drain what is queued without awaiting, await when nothing is: the
                # pyzmq peer likewise polls, then drains each socket with NOBLOCK.
                recv, recv_nowait, on_msg, Again = s.recv, s.recv_nowait, st.on_msg, trinq.Again
                if args.recv_loop == "plain":
                    while not on_msg(await recv()):
                        pass
                    return
                while True:
                    try:
                        m = recv_nowait()
                    except Again:
                        m = await recv()
                    if on_msg(m):
                        return

            c0 = B.cpu()
            ctl.send(b"R")
            async with trio.open_nursery() as n:
                for s, st in zip(socks, stats, strict=True):
                    n.start_soon(sub_task, s, st)
            c1 = B.cpu()
            ctl.send(b"D")
            B.emit(IMPL, args, **B.pubsub_fields(stats, args.count, args.size, c0, c1))
            ctl.close()
            for s in socks:
                s.close(linger=0)
        else:
            raise SystemExit(f"unsupported workload/role: {w}/{role}")


def _extra_args(parser) -> None:
    parser.add_argument(
        "--pattern",
        choices=["classic", "client-server", "scatter-gather", "draft"],
        default="classic",
        help="socket types: classic (PUSH/PULL, REQ/REP), client-server (lat over "
        "CLIENT/SERVER), scatter-gather (thr over SCATTER/GATHER), draft (both)",
    )
    parser.add_argument(
        "--transport",
        choices=["tcp", "ws"],
        default="tcp",
        help="ws: run over ws:// instead (the harness's tcp://HOST:PORT becomes "
        "ws://HOST:PORT/bench), e.g. --add-impl 'trinq-ws=bench/trinq_peer.py --transport ws'",
    )
    security = parser.add_mutually_exclusive_group()
    security.add_argument(
        "--curve",
        action="store_true",
        help="CURVE: the binder is the server, the connector the client (fixed key pairs "
        "shared with bench/pyzmq_curve_peer.py; no ZAP handler: any client key)",
    )
    security.add_argument(
        "--plain",
        action="store_true",
        help="PLAIN (user/password bench/bench; the binder runs a trinq.auth.Authenticator)",
    )
    parser.add_argument(
        "--busy-poll",
        type=int,
        default=None,
        metavar="US",
        help="set the busy_poll option (microseconds) on every socket: a receive that "
        "finds nothing polls its connection that long before it sleeps (0: never; "
        "default: the option's default, 50)",
    )
    parser.add_argument(
        "--recv-loop",
        choices=["drain", "plain"],
        default="drain",
        help="pubsub SUB: drain with recv_nowait() and await recv() only when empty "
        "(default, as the pyzmq peer polls and drains with NOBLOCK), or plain: "
        "one await recv() per message",
    )


def main() -> None:
    args = B.parse_args(IMPL, extra=_extra_args)
    if args.transport == "ws" and args.endpoint.startswith("tcp://"):
        args.endpoint = "ws://" + args.endpoint.removeprefix("tcp://") + "/bench"
    trio.run(amain, args)


if __name__ == "__main__":
    main()
