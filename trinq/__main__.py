"""The ``trinq`` command line: ``python -m trinq demo``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import trio

import trinq
from trinq._patterns import PATTERNS


async def _demo_pipeline(ctx: trinq.Context) -> None:
    async with ctx.socket(trinq.PULL) as pull, ctx.socket(trinq.PUSH) as push:
        events = pull.monitor()
        endpoint = await pull.bind("tcp://127.0.0.1:*")
        print(f"PULL bound to {endpoint}")
        push.connect(endpoint)
        for i in range(3):
            await push.send_multipart([b"task", str(i).encode()])
        for _ in range(3):
            print(f"  PULL received {await pull.recv_multipart()}")
        while True:
            try:
                ev = events.receive_nowait()
            except trio.WouldBlock:
                break
            print(f"  monitor: {ev.event.name} {ev.endpoint}")
        print(f"  {push.statistics().messages_out} messages written by PUSH")


async def _demo_reqrep(ctx: trinq.Context) -> None:
    async with ctx.socket(trinq.REP) as rep, ctx.socket(trinq.REQ) as req:
        endpoint = await rep.bind("tcp://127.0.0.1:*")
        req.connect(endpoint)
        await req.send(b"Hello")
        request = await rep.recv()
        await rep.send(b"World")
        reply = await req.recv()
        print(f"REQ/REP over {endpoint}: {request!r} -> {reply!r}")


def _libzmq_peer(endpoint: str, count: int) -> list[list[bytes]]:
    import zmq

    zctx = zmq.Context()
    try:
        s = zctx.socket(zmq.PULL)
        s.linger = 0
        s.rcvtimeo = 5000
        s.connect(endpoint)
        return [s.recv_multipart() for _ in range(count)]
    finally:
        zctx.destroy(linger=0)


async def _demo_libzmq(ctx: trinq.Context) -> None:
    try:
        import zmq
    except ImportError:
        print("pyzmq is not installed: skipping the libzmq interop part of the demo")
        print("  (python3 -m pip install pyzmq, then run the demo again)")
        return
    async with ctx.socket(trinq.PUSH) as push:
        endpoint = await push.bind("tcp://127.0.0.1:*")
        got: list[list[bytes]] = []

        async def peer() -> None:
            got.extend(await trio.to_thread.run_sync(_libzmq_peer, endpoint, 3))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(peer)
            # PUSH waits (RFC 30) until the libzmq peer has connected.
            for i in range(3):
                await push.send_multipart([b"from-trinq", str(i).encode()])
        print(f"libzmq {zmq.zmq_version()} PULL (via pyzmq) received from trinq PUSH:")
        for msg in got:
            print(f"  {msg}")


async def demo() -> None:
    """Run trinq sockets against each other and, when pyzmq is present, libzmq."""
    print(f"trinq {trinq.__version__} on trio {trio.__version__}")
    with trio.fail_after(30):
        async with trinq.Context() as ctx:
            await _demo_pipeline(ctx)
            if "REQ" in PATTERNS:
                await _demo_reqrep(ctx)
            await _demo_libzmq(ctx)
    print("demo done")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="trinq", description="ZeroMQ for trio.")
    parser.add_argument("--version", action="version", version=trinq.__version__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="run a short self-contained demonstration")
    args = parser.parse_args(argv)
    if args.command == "demo":
        trio.run(demo)
    return 0


if __name__ == "__main__":
    sys.exit(main())
