"""Request-reply client for the broker (zguide ``rrclient``): a REQ socket connected to
the broker's frontend.

Start ``examples/rrbroker.py`` and at least one ``examples/rrworker.py`` first, then::

    python examples/rrclient.py --requests 10
"""

from __future__ import annotations

import argparse
import sys

import trio

import trinq


async def main(endpoint: str, requests: int) -> None:
    async with trinq.Context() as ctx, ctx.socket(trinq.REQ) as sock:
        sock.connect(endpoint)
        for n in range(requests):
            await sock.send(b"Hello")
            reply = await sock.recv()
            print(f"Received reply {n} [{reply.decode(errors='replace')}]", flush=True)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default="tcp://127.0.0.1:5559", help="broker frontend")
    parser.add_argument("--requests", type=int, default=10, help="how many requests to send")
    args = parser.parse_args()
    try:
        trio.run(main, args.endpoint, args.requests)
    except KeyboardInterrupt:
        sys.exit(130)  # 128 + SIGINT: how a shell reports a Ctrl-C'd program


if __name__ == "__main__":
    cli()
