"""Micro-benchmark of ``await send()`` alone, in one process; prints one JSON line.

A PUSH socket connects to a port where nobody listens, so its pipe exists but no
writer ever takes from it: every send is the socket side of the path only (the
open batch, ``Pipe.body_room``, the yield budget), with SNDHWM 0 so that nothing
parks. ns per send, best of ``--reps`` loops of ``--count`` sends::

    python bench/send_path.py
    PYTHONPATH=<other checkout> python bench/send_path.py   # (from another directory)
"""

from __future__ import annotations

import argparse
import json
import platform
import socket
import time

import trio

import trinq


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def main(count: int, reps: int, size: int) -> None:
    endpoint = f"tcp://127.0.0.1:{_unused_port()}"
    msg = b"x" * size
    times = []
    async with trinq.Context() as ctx:
        for _ in range(reps):
            push = ctx.socket(trinq.PUSH, sndhwm=0, linger=0)
            push.connect(endpoint)
            send = push.send
            start = time.perf_counter()
            for _ in range(count):
                await send(msg)
            times.append(time.perf_counter() - start)
            push.close(linger=0)
    out = {
        "bench": "send_path",
        "python": platform.python_version(),
        "size": size,
        "count": count,
        "send_ns": round(min(times) * 1e9 / count, 1),
    }
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--size", type=int, default=16)
    args = parser.parse_args()
    trio.run(main, args.count, args.reps, args.size)
