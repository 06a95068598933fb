"""Request-reply broker (zguide ``rrbroker``): a ROUTER frontend for clients and a
DEALER backend for workers, with two tasks copying whole messages between them.

The ROUTER adds each client's routing id to the request and the DEALER spreads the
requests over the workers; replies come back with the envelope intact, so the ROUTER
can send each to the client that asked. Run each in its own shell::

    python examples/rrbroker.py                  # clients: 5559, workers: 5560
    python examples/rrworker.py                  # start one or more workers
    python examples/rrclient.py --requests 10

The broker runs until Ctrl-C, or until it relayed ``--count`` replies.
"""

from __future__ import annotations

import argparse
import sys

import trio

import trinq

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup


async def main(frontend_ep: str, backend_ep: str, count: int) -> None:
    async with (
        trinq.Context() as ctx,
        ctx.socket(trinq.ROUTER) as frontend,
        ctx.socket(trinq.DEALER) as backend,
    ):
        print(f"clients connect to {await frontend.bind(frontend_ep)}", flush=True)
        print(f"workers connect to {await backend.bind(backend_ep)}", flush=True)
        try:
            async with trio.open_nursery() as nursery:

                async def requests() -> None:
                    async for msg in frontend:
                        await backend.send_multipart(msg)

                async def replies() -> None:
                    relayed = 0
                    async for msg in backend:
                        await frontend.send_multipart(msg)
                        relayed += 1
                        if relayed == count:
                            nursery.cancel_scope.cancel()

                nursery.start_soon(requests)
                nursery.start_soon(replies)
        except BaseExceptionGroup as group:
            # Trio wraps even a lone Ctrl-C in a group: let it out as itself, for cli().
            if len(group.exceptions) == 1 and isinstance(group.exceptions[0], KeyboardInterrupt):
                raise group.exceptions[0] from None
            raise


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frontend", default="tcp://127.0.0.1:5559", help="bind for clients")
    parser.add_argument("--backend", default="tcp://127.0.0.1:5560", help="bind for workers")
    parser.add_argument(
        "--count", type=int, default=0, help="stop after relaying this many replies (0 = never)"
    )
    args = parser.parse_args()
    try:
        trio.run(main, args.frontend, args.backend, args.count)
    except KeyboardInterrupt:
        sys.exit(130)  # 128 + SIGINT: how a shell reports a Ctrl-C'd program


if __name__ == "__main__":
    cli()
