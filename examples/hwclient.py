"""Hello World client (zguide ``hwclient``): a REQ socket that sends "Hello" and waits
for each reply.

Start the server first (``python examples/hwserver.py``), then::

    python examples/hwclient.py --requests 10

Use ``--endpoint`` to reach a server that printed another endpoint.
"""

from __future__ import annotations

import argparse
import sys

import trio

import trinq


async def main(endpoint: str, requests: int) -> None:
    async with trinq.Context() as ctx, ctx.socket(trinq.REQ) as sock:
        print(f"Connecting to hello world server at {endpoint}", flush=True)
        sock.connect(endpoint)
        for n in range(requests):
            print(f"Sending request {n} ...", flush=True)
            await sock.send(b"Hello")
            reply = await sock.recv()
            print(f"Received reply {n} [ {reply.decode(errors='replace')} ]", flush=True)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default="tcp://127.0.0.1:5555", help="server to connect")
    parser.add_argument("--requests", type=int, default=10, help="how many requests to send")
    args = parser.parse_args()
    try:
        trio.run(main, args.endpoint, args.requests)
    except KeyboardInterrupt:
        sys.exit(130)  # 128 + SIGINT: how a shell reports a Ctrl-C'd program


if __name__ == "__main__":
    cli()
