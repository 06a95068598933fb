"""CLIENT/SERVER echo server: a SERVER that answers each client by its routing id.

Run it, then one or more clients in other shells::

    python examples/csserver.py                 # binds tcp://127.0.0.1:5570
    python examples/csclient.py --name alice    # sends 5 requests, prints the echoes
    python examples/csclient.py --name bob

Unlike REP, a SERVER has no lock-step: it may answer in any order, answer later, or
answer twice; each message it receives says which peer sent it
(``recv_message().routing_id``) and ``send(data, routing_id=...)`` goes to that peer
only. Messages are single-part. ``--endpoint tcp://127.0.0.1:*`` picks a free port
(the server prints the endpoint it bound). Runs until Ctrl-C or ``--count`` requests.
"""

from __future__ import annotations

import argparse
import sys

import trio

import trinq


async def main(endpoint: str, count: int) -> None:
    async with trinq.Context() as ctx, ctx.socket(trinq.SERVER) as server:
        bound = await server.bind(endpoint)
        print(f"listening on {bound}", flush=True)
        served = 0
        while count == 0 or served < count:
            msg = await server.recv_message()
            print(f"from {msg.routing_id}: {msg.data.decode(errors='replace')}", flush=True)
            try:
                await server.send(b"echo: " + msg.data, routing_id=msg.routing_id)
            except trinq.ZMQError as exc:  # EHOSTUNREACH: that client has gone away
                print(f"cannot answer {msg.routing_id}: {exc}", flush=True)
            served += 1


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default="tcp://127.0.0.1:5570", help="where to bind")
    parser.add_argument(
        "--count", type=int, default=0, help="stop after this many requests (0 = run forever)"
    )
    args = parser.parse_args()
    try:
        trio.run(main, args.endpoint, args.count)
    except KeyboardInterrupt:
        sys.exit(130)  # 128 + SIGINT: how a shell reports a Ctrl-C'd program


if __name__ == "__main__":
    cli()
