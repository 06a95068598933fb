"""CLIENT/SERVER echo client: sends requests to ``csserver.py`` and prints the echoes.

    python examples/csclient.py --name alice --requests 5

A CLIENT round-robins its messages over the servers it is connected to and receives
their answers fair-queued; it may send several requests before reading any answer
(no REQ lock-step). Each wait for an answer is bounded by ``--timeout`` seconds.
"""

from __future__ import annotations

import argparse
import sys

import trio

import trinq


async def main(endpoint: str, name: str, requests: int, timeout: float) -> int:
    async with trinq.Context() as ctx, ctx.socket(trinq.CLIENT) as client:
        client.connect(endpoint)
        for i in range(requests):  # send them all first: a CLIENT need not wait
            await client.send(f"{name} #{i}".encode())
        for _ in range(requests):
            with trio.move_on_after(timeout):
                reply = await client.recv()
                print(f"Received reply: {reply.decode(errors='replace')}", flush=True)
                continue
            print("no reply: is csserver.py running?", file=sys.stderr, flush=True)
            client.linger = 0  # do not wait on exit to deliver what nobody took
            return 1
    return 0


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default="tcp://127.0.0.1:5570", help="the server")
    parser.add_argument("--name", default="client", help="put in each request")
    parser.add_argument("--requests", type=int, default=5, help="how many requests")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per reply")
    args = parser.parse_args()
    try:
        sys.exit(trio.run(main, args.endpoint, args.name, args.requests, args.timeout))
    except KeyboardInterrupt:
        sys.exit(130)  # 128 + SIGINT: how a shell reports a Ctrl-C'd program


if __name__ == "__main__":
    cli()
