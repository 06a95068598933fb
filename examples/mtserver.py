"""Multithreaded Hello World server (zguide ``mtserver``), with trio tasks for threads.

A ROUTER bound for clients, a DEALER bound on ``inproc://workers``, ``trinq.proxy``
between them in one task, and ``--workers`` worker tasks, each a REP socket connected
to ``inproc://workers`` that answers "World" after ``--work`` seconds of "work". The
DEALER hands the requests out round-robin, so the workers serve clients in parallel.
It answers ``hwclient.py``; run them in two shells::

    python examples/mtserver.py                  # binds tcp://127.0.0.1:5555
    python examples/hwclient.py                  # sends 10 requests

The server runs until Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys

import trio

import trinq

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup

WORKERS = "inproc://workers"


async def worker(
    ctx: trinq.Context, name: str, work: float, *, task_status: trio.TaskStatus[None]
) -> None:
    async with ctx.socket(trinq.REP) as sock:
        sock.connect(WORKERS)
        task_status.started()
        while True:
            request = await sock.recv()
            print(f"{name}: received request: {request.decode(errors='replace')}", flush=True)
            await trio.sleep(work)  # "do some work"
            await sock.send(b"World")


async def main(endpoint: str, workers: int, work: float) -> None:
    async with (
        trinq.Context() as ctx,
        ctx.socket(trinq.ROUTER) as clients,
        ctx.socket(trinq.DEALER) as backend,
    ):
        await backend.bind(WORKERS)
        try:
            async with trio.open_nursery() as nursery:
                for n in range(1, workers + 1):
                    await nursery.start(worker, ctx, f"worker {n}", work)
                # every worker is in the DEALER's round-robin before the first request
                print(f"listening on {await clients.bind(endpoint)}", flush=True)
                nursery.start_soon(trinq.proxy, clients, backend)
        except BaseExceptionGroup as group:
            # Trio wraps even a lone Ctrl-C in a group: let it out as itself, for cli().
            if len(group.exceptions) == 1 and isinstance(group.exceptions[0], KeyboardInterrupt):
                raise group.exceptions[0] from None
            raise


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default="tcp://127.0.0.1:5555", help="where to bind")
    parser.add_argument("--workers", type=int, default=5, help="how many worker tasks")
    parser.add_argument("--work", type=float, default=0.1, help="seconds of 'work' per request")
    args = parser.parse_args()
    try:
        trio.run(main, args.endpoint, args.workers, args.work)
    except KeyboardInterrupt:
        sys.exit(130)  # 128 + SIGINT: how a shell reports a Ctrl-C'd program


if __name__ == "__main__":
    cli()
