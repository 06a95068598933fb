"""Micro-benchmark of the receive path's pieces, in one process; prints one JSON line.

A PULL socket's queue is filled directly (no network), then drained with
``await recv()`` and with ``recv_nowait()``; the trio operations underneath are
timed alone for comparison (ns per call, best of three)::

    python bench/recv_path.py
"""

from __future__ import annotations

import json
import math
import platform
import time
from collections.abc import Awaitable, Callable
from typing import Any

import trio
from trio.lowlevel import checkpoint_if_cancelled

import trinq

N = 200_000


def best_ns(times: list[float]) -> float:
    return round(min(times) * 1e9 / N, 1)


async def main() -> None:
    out: dict[str, Any] = {"bench": "recv_path", "python": platform.python_version()}
    async with trinq.Context() as ctx:
        pull = ctx.socket(trinq.PULL, rcvhwm=0)
        push = ctx.socket(trinq.PUSH)
        push.connect(await pull.bind("tcp://127.0.0.1:*"))
        await push.send(b"hello")
        assert await pull.recv() == b"hello"
        pipe = pull._pattern._fq.pipes[0]  # the one peer's queue
        put = pipe.put  # as the reader queues: into runs (one channel item per run)
        item = (b"x" * 16,)

        async def timed(name: str, drain: Callable[[], Awaitable[None]]) -> None:
            times = []
            for _ in range(3):
                for _ in range(N):
                    put(item)
                start = time.perf_counter()
                await drain()
                times.append(time.perf_counter() - start)
            out[name] = best_ns(times)

        async def await_recv() -> None:
            recv = pull.recv
            for _ in range(N):
                await recv()

        async def nowait_recv() -> None:
            recv_nowait = pull.recv_nowait
            for _ in range(N):
                recv_nowait()

        await timed("socket_recv_ns", await_recv)
        await timed("socket_recv_nowait_ns", nowait_recv)
        await pull.aclose()
        await push.aclose()

    send, receive = trio.open_memory_channel[Any](math.inf)
    times_send, times_recv, times_ckpt = [], [], []
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(N):
            send.send_nowait(item)
        times_send.append(time.perf_counter() - start)
        start = time.perf_counter()
        for _ in range(N):
            receive.receive_nowait()
        times_recv.append(time.perf_counter() - start)
        start = time.perf_counter()
        for _ in range(N):
            await checkpoint_if_cancelled()
        times_ckpt.append(time.perf_counter() - start)
    out["channel_send_nowait_ns"] = best_ns(times_send)
    out["channel_receive_nowait_ns"] = best_ns(times_recv)
    out["checkpoint_if_cancelled_ns"] = best_ns(times_ckpt)
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    trio.run(main)
