"""Where one side of a REQ/REP round trip spends its time (JSON line on stdout).

Runs ``bench/trinq_peer.py --workload lat --role rep`` in a subprocess and a REQ in
this process, with ``perf_counter_ns`` stamps at three points of each round trip on
the REQ side, taken without editing trinq (wrappers installed at run time):

* ``wake_to_app_us``: from the receiver's wake-up on the socket (the end of its
  ``wait_readable`` while the engine lends, docs/design.md "Lending") to ``recv()``
  returning to the application: reading, decoding, queueing, taking the reply;
* ``app_to_send_us``: from there through the next ``send()`` down to the ``send``
  syscall (the application loop, the REQ pattern, framing);
* ``send_syscall_us``: the ``send`` syscall itself (loopback TCP delivers to the
  peer, and wakes it, inside it).

Medians over the timed round trips. The wrapper around ``wait_readable`` adds a
coroutine frame to the wake-up, so ``wake_to_app_us`` reads a microsecond or two
above what stamps patched into the engine show (docs/performance.md). Only round
trips where the receiver read the reply itself are counted (``inline_share`` says
how many that was)::

    python bench/lat_breakdown.py --count 20000
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time

import trio

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(_HERE))  # the trinq checkout

import trinq  # noqa: E402
import trinq._engine as engine_mod  # noqa: E402

ns = time.perf_counter_ns


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def run(count: int, warmup: int, size: int, endpoint: str) -> dict[str, object]:
    woke = [0]
    samples: list[tuple[int, int, int]] = []
    returned = [0]
    lent_fds: set[int] = set()
    real_wait_readable = trio.lowlevel.wait_readable

    async def timed_wait_readable(fd: object) -> None:
        await real_wait_readable(fd)  # type: ignore[arg-type]
        if fd in lent_fds:
            woke[0] = ns()

    async with trinq.Context() as ctx:
        req = ctx.socket(trinq.REQ)
        req.connect(endpoint)
        msg = b"x" * size
        for _ in range(warmup):
            await req.send(msg)
            await req.recv()
        (pipe,) = req._core.pipes
        engine = pipe.carrier  # the connection's engine (trinq._engine.Engine)
        assert isinstance(engine, engine_mod.Engine)
        raw_send = engine._raw_send
        assert raw_send is not None

        class TimedSend:
            """The direct write's socket (Engine.try_write_now calls its send)."""

            def send(self, data: bytes) -> int:
                t0 = ns()
                n = raw_send.send(data)
                t1 = ns()
                if woke[0] and returned[0]:
                    samples.append((returned[0] - woke[0], t0 - returned[0], t1 - t0))
                woke[0] = returned[0] = 0
                return int(n)

        engine._raw_send = TimedSend()  # type: ignore[assignment]
        engine_mod.trio.lowlevel.wait_readable = timed_wait_readable  # type: ignore[attr-defined]
        try:
            for _ in range(count):
                loan = engine.loan  # (made on the first loan: trinq._loan.ReadLoan)
                if loan is not None and loan._fd >= 0:
                    lent_fds.add(loan._fd)
                await req.send(msg)
                await req.recv()
                returned[0] = ns()
        finally:
            engine_mod.trio.lowlevel.wait_readable = real_wait_readable  # type: ignore[attr-defined]
            engine._raw_send = raw_send
        req.close(linger=0)

    def median_us(k: int) -> float:
        values = sorted(s[k] for s in samples)
        return round(values[len(values) // 2] / 1000, 2) if values else float("nan")

    return {
        "impl": "trinq",
        "workload": "lat-breakdown",
        "role": "req",
        "size": size,
        "count": count,
        "inline_share": round(len(samples) / max(count - 1, 1), 3),
        "wake_to_app_us": median_us(0),
        "app_to_send_us": median_us(1),
        "send_syscall_us": median_us(2),
        "python": sys.version.split()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--warmup", type=int, default=1000)
    parser.add_argument("--size", type=int, default=16)
    args = parser.parse_args()
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    rep = subprocess.Popen(
        [
            sys.executable,
            os.path.join(_HERE, "trinq_peer.py"),
            "--workload",
            "lat",
            "--role",
            "rep",
            "--endpoint",
            endpoint,
            "--size",
            str(args.size),
            "--count",
            str(args.count),
            "--warmup",
            str(args.warmup),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        result = trio.run(run, args.count, args.warmup, args.size, endpoint)
    finally:
        try:
            rep.wait(timeout=30)
        except subprocess.TimeoutExpired:
            rep.kill()
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
