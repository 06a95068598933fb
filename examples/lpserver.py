"""Lazy Pirate server (zguide ``lpserver``): a REP echo server that can simulate a
crash, to exercise ``examples/lpclient.py``.

Each request is answered with itself. With ``--crash-after N`` the server dies without
answering the request after the N-th (the process exits at once, as a crash would).
Try, in two shells::

    python examples/lpserver.py --crash-after 3
    python examples/lpclient.py

The client retries, and abandons when no server comes back; start the server again
while the client is retrying and it carries on. ``--endpoint tcp://127.0.0.1:*`` picks
a free port and prints it.
"""

from __future__ import annotations

import argparse
import os
import sys

import trio

import trinq


async def main(endpoint: str, crash_after: int, work: float) -> None:
    async with trinq.Context() as ctx, ctx.socket(trinq.REP) as sock:
        bound = await sock.bind(endpoint)
        print(f"listening on {bound}", flush=True)
        cycles = 0
        while True:
            request = await sock.recv()
            cycles += 1
            if crash_after and cycles > crash_after:
                print("I: simulating a crash", flush=True)
                os._exit(3)  # no cleanup, no reply: the client sees the peer vanish
            print(f"I: normal request ({request.decode(errors='replace')})", flush=True)
            await trio.sleep(work)  # "do some heavy work"
            await sock.send(request)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default="tcp://127.0.0.1:5555", help="where to bind")
    parser.add_argument(
        "--crash-after",
        type=int,
        default=0,
        help="crash when request N+1 arrives (0 = never crash)",
    )
    parser.add_argument("--work", type=float, default=0.0, help="seconds of 'work' per request")
    args = parser.parse_args()
    try:
        trio.run(main, args.endpoint, args.crash_after, args.work)
    except KeyboardInterrupt:
        sys.exit(130)  # 128 + SIGINT: how a shell reports a Ctrl-C'd program


if __name__ == "__main__":
    cli()
