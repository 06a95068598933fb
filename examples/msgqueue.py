"""Message queue broker (zguide ``msgqueue``): ``rrbroker`` in one call, ``trinq.proxy``.

A ROUTER frontend for clients, a DEALER backend for workers, and
``await trinq.proxy(frontend, backend)`` moving whole messages both ways (one task per
direction inside), envelopes intact, as libzmq's ``zmq_proxy`` does. It works with the
same client and worker as ``rrbroker.py``; run each in its own shell::

    python examples/msgqueue.py                  # clients: 5559, workers: 5560
    python examples/rrworker.py                  # start one or more workers
    python examples/rrclient.py --requests 10

The broker runs until Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys

import trio

import trinq

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup


async def main(frontend_ep: str, backend_ep: str) -> None:
    async with (
        trinq.Context() as ctx,
        ctx.socket(trinq.ROUTER) as frontend,
        ctx.socket(trinq.DEALER) as backend,
    ):
        print(f"clients connect to {await frontend.bind(frontend_ep)}", flush=True)
        print(f"workers connect to {await backend.bind(backend_ep)}", flush=True)
        try:
            await trinq.proxy(frontend, backend)
        except BaseExceptionGroup as group:
            # The proxy's tasks run in a nursery, and trio wraps even a lone Ctrl-C in a
            # group: let it out as itself, for cli().
            if len(group.exceptions) == 1 and isinstance(group.exceptions[0], KeyboardInterrupt):
                raise group.exceptions[0] from None
            raise


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frontend", default="tcp://127.0.0.1:5559", help="bind for clients")
    parser.add_argument("--backend", default="tcp://127.0.0.1:5560", help="bind for workers")
    args = parser.parse_args()
    try:
        trio.run(main, args.frontend, args.backend)
    except KeyboardInterrupt:
        sys.exit(130)  # 128 + SIGINT: how a shell reports a Ctrl-C'd program


if __name__ == "__main__":
    cli()
