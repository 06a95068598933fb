"""Weather update proxy (zguide ``wuproxy``): an XSUB/XPUB proxy between networks.

Connects an XSUB to the weather server and binds an XPUB for clients. Subscriptions
flow upstream (XPUB -> XSUB -> server, so the server still filters at the source) and
updates flow downstream::

    python examples/wuserver.py &                                  # :5556
    python examples/wuproxy.py &                                   # :8100
    python examples/wuclient.py 10001 --endpoint tcp://127.0.0.1:8100

The proxy stops after forwarding ``--count`` updates (0 = run forever).
"""

from __future__ import annotations

import argparse
import sys

import trio

import trinq

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup


async def main(frontend: str, backend: str, count: int) -> None:
    async with (
        trinq.Context() as ctx,
        ctx.socket(trinq.XSUB) as upstream,
        ctx.socket(trinq.XPUB, linger=0) as downstream,
    ):
        upstream.connect(frontend)
        print(f"proxying {frontend} -> {await downstream.bind(backend)}", flush=True)

        async def subscriptions() -> None:
            async for msg in downstream:  # \x01topic / \x00topic from clients
                await upstream.send_multipart(msg)

        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(subscriptions)
                forwarded = 0
                while count == 0 or forwarded < count:
                    await downstream.send_multipart(await upstream.recv_multipart())
                    forwarded += 1
                nursery.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            # Trio wraps even a lone Ctrl-C in a group: let it out as itself, for cli().
            if len(group.exceptions) == 1 and isinstance(group.exceptions[0], KeyboardInterrupt):
                raise group.exceptions[0] from None
            raise
        print(f"forwarded {forwarded} updates", flush=True)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frontend", default="tcp://127.0.0.1:5556", help="server to follow")
    parser.add_argument("--backend", default="tcp://127.0.0.1:8100", help="where clients connect")
    parser.add_argument(
        "--count", type=int, default=10_000, help="updates to forward (0 = forever)"
    )
    args = parser.parse_args()
    try:
        trio.run(main, args.frontend, args.backend, args.count)
    except KeyboardInterrupt:
        sys.exit(130)  # 128 + SIGINT: how a shell reports a Ctrl-C'd program


if __name__ == "__main__":
    cli()
