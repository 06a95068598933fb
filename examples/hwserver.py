"""Hello World server (zguide ``hwserver``): a REP socket that answers "World".

Run it, then the client in a second shell::

    python examples/hwserver.py                  # binds tcp://127.0.0.1:5555
    python examples/hwclient.py                  # sends 10 requests

``--endpoint tcp://127.0.0.1:*`` picks a free port (the server prints the endpoint it
bound; pass it to the client with ``--endpoint``). The server runs until Ctrl-C, or
until it answered ``--count`` requests.
"""

from __future__ import annotations

import argparse
import sys

import trio

import trinq


async def main(endpoint: str, count: int, work: float) -> None:
    async with trinq.Context() as ctx, ctx.socket(trinq.REP) as sock:
        bound = await sock.bind(endpoint)
        print(f"listening on {bound}", flush=True)
        served = 0
        while count == 0 or served < count:
            request = await sock.recv()
            print(f"Received request: {request.decode(errors='replace')}", flush=True)
            await trio.sleep(work)  # "do some work"
            await sock.send(b"World")
            served += 1


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default="tcp://127.0.0.1:5555", help="where to bind")
    parser.add_argument(
        "--count", type=int, default=0, help="stop after this many requests (0 = run forever)"
    )
    parser.add_argument("--work", type=float, default=0.0, help="seconds of 'work' per request")
    args = parser.parse_args()
    try:
        trio.run(main, args.endpoint, args.count, args.work)
    except KeyboardInterrupt:
        sys.exit(130)  # 128 + SIGINT: how a shell reports a Ctrl-C'd program


if __name__ == "__main__":
    cli()
