"""Request-reply worker for the broker (zguide ``rrworker``): a REP socket connected
to the broker's backend, answering "World".

Start ``examples/rrbroker.py`` first (any order works: the worker reconnects until the
broker is there), then one or more of::

    python examples/rrworker.py

It runs until Ctrl-C, or until it answered ``--count`` requests.
"""

from __future__ import annotations

import argparse
import sys

import trio

import trinq


async def main(endpoint: str, count: int, name: str) -> None:
    async with trinq.Context() as ctx, ctx.socket(trinq.REP) as sock:
        sock.connect(endpoint)
        served = 0
        while count == 0 or served < count:
            request = await sock.recv()
            print(f"{name}: received request: {request.decode(errors='replace')}", flush=True)
            await sock.send(b"World")
            served += 1


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default="tcp://127.0.0.1:5560", help="broker backend")
    parser.add_argument(
        "--count", type=int, default=0, help="stop after this many requests (0 = run forever)"
    )
    parser.add_argument("--name", default="worker", help="printed with each request")
    args = parser.parse_args()
    try:
        trio.run(main, args.endpoint, args.count, args.name)
    except KeyboardInterrupt:
        sys.exit(130)  # 128 + SIGINT: how a shell reports a Ctrl-C'd program


if __name__ == "__main__":
    cli()
