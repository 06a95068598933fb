#!/usr/bin/env python3
"""RADIO -> DISH throughput over udp:// (unicast): one JSON line per message size.

By default the DISH runs in a child process (this script with ``--role recv``) and the
RADIO here, so each end has its own interpreter, as in ``bench/trinq_peer.py``::

  python bench/udp_thr.py                       # 16 B and 1 KiB, 200000 messages each
  python bench/udp_thr.py --sizes 16,1024,8000 --count 500000

Each line has the receiver's figures (``msgs_per_s``, ``mb_per_s``: from the first
message received to the last) and the sender's (``send_msgs_per_s``), plus ``received``
and ``loss``: UDP drops what the receiving socket's buffer cannot hold, so when the
RADIO outpaces the DISH the difference shows as loss, not as back-pressure. The DISH
asks for a large kernel receive buffer (``--rcvbuf``, capped by the kernel's
``net.core.rmem_max``).

``--role recv``/``--role send`` run one end each (two shells); the receiver prints
``READY <endpoint>`` once bound.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

import trio

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import trinq

GROUP = "bench"
#: the end marker: an empty body (data messages are never empty)
END = b""


def _fields(count: int, size: int, t0: float, t1: float, cpu0: float, cpu1: float) -> dict:
    el = max(t1 - t0, 1e-9)
    n = max(count - 1, 1)
    mps = n / el
    return {
        "msgs_per_s": round(mps, 1),
        "mb_per_s": round(mps * size / 1e6, 3),
        "elapsed_s": round(el, 6),
        "us_per_msg": round(1e6 / mps, 4),
        "cpu_us_per_msg": round((cpu1 - cpu0) * 1e6 / n, 4),
    }


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


async def receive(args: argparse.Namespace) -> dict[str, Any]:
    async with trinq.Context() as ctx:
        dish = ctx.socket(trinq.DISH, rcvbuf=args.rcvbuf, rcvhwm=0, rcvtimeo=2000)
        ep = await dish.bind(args.endpoint)
        dish.join(GROUP)
        print(f"READY {ep}", flush=True)
        recv = dish.recv
        msg = await recv()
        t0, c0 = time.perf_counter(), _cpu()
        t1, c1 = t0, c0
        n = 1
        while True:
            try:
                msg = await recv()
            except trinq.Again:
                break  # the end markers were lost: the sender is long done
            if msg == END:
                break
            n += 1
            t1 = time.perf_counter()
        c1 = _cpu()
        dish.close(linger=0)
        return {"received": n, **_fields(n, args.size, t0, t1, c0, c1)}


async def send(args: argparse.Namespace, endpoint: str) -> dict[str, Any]:
    async with trinq.Context() as ctx:
        radio = ctx.socket(trinq.RADIO, sndbuf=args.sndbuf)
        mon = radio.monitor(trinq.Event.CONNECTED)
        radio.connect(endpoint)
        await mon.receive()  # the socket is open: sends go straight out
        payload = b"x" * args.size
        snd = radio.send
        t0, c0 = time.perf_counter(), _cpu()
        for _ in range(args.count):
            await snd(payload, group=GROUP)
        t1, c1 = time.perf_counter(), _cpu()
        for _ in range(20):  # a few end markers, spaced out (lossy by nature)
            await trio.sleep(0.01)
            await snd(END, group=GROUP)
        await radio.aclose()
        f = _fields(args.count, args.size, t0, t1, c0, c1)
        return {"send_" + k: v for k, v in f.items()}


def _emit(args: argparse.Namespace, size: int, **fields: Any) -> None:
    d = {
        "impl": "trinq",
        "workload": "thr",
        "pattern": "radio-dish",
        "transport": "udp",
        "role": args.role,
        "size": size,
        "count": args.count,
        **fields,
        "python": sys.version.split()[0],
    }
    print(json.dumps(d, sort_keys=True), flush=True)


def run_both(args: argparse.Namespace) -> None:
    for size in [int(s) for s in args.sizes.split(",")]:
        cmd = [
            sys.executable,
            os.path.abspath(__file__),
            "--role",
            "recv",
            "--size",
            str(size),
            "--count",
            str(args.count),
            "--endpoint",
            args.endpoint,
            "--rcvbuf",
            str(args.rcvbuf),
        ]
        with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as child:
            assert child.stdout is not None
            line = child.stdout.readline().strip()
            if not line.startswith("READY "):
                raise SystemExit(f"receiver did not start: {line!r}")
            endpoint = line.split(" ", 1)[1].replace("*", "127.0.0.1")
            args.size = size
            sent = trio.run(send, args, endpoint)
            out, _ = child.communicate(timeout=60)
        got = json.loads(out.strip().splitlines()[-1])
        received = got.pop("received")
        fields = {k: v for k, v in got.items() if k not in ("impl", "role", "size", "count")}
        loss = 1 - received / args.count
        _emit(args, size, received=received, loss=round(loss, 4), **fields, **sent)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--role", choices=["both", "recv", "send"], default="both")
    p.add_argument("--endpoint", default="udp://127.0.0.1:0", help="where the DISH binds")
    p.add_argument("--sizes", default="16,1024", help="--role both: message sizes, bytes")
    p.add_argument("--size", type=int, default=16, help="--role recv/send: the size")
    p.add_argument("--count", type=int, default=200_000)
    p.add_argument("--rcvbuf", type=int, default=8 * 1024 * 1024, help="the DISH's SO_RCVBUF")
    p.add_argument("--sndbuf", type=int, default=-1, help="the RADIO's SO_SNDBUF")
    args = p.parse_args()
    if args.role == "both":
        run_both(args)
    elif args.role == "recv":
        _emit(args, args.size, **trio.run(receive, args))
    else:
        _emit(args, args.size, **trio.run(send, args, args.endpoint))


if __name__ == "__main__":
    main()
