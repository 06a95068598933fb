"""Reading from multiple sockets (zguide ``mspoller``): one Poller, a PULL and a SUB.

The PULL takes tasks from the ventilator, the SUB weather updates for one zip code
from the weather server; one loop waits on both with ``await poller.poll()`` and
receives from whichever is ready (a poll consumes nothing: the ``recv`` that follows
does not wait). The zguide's way, ported line for line; in trio a nursery with one
task per socket is often simpler (docs/waiting.md). Start the servers, then this::

    python examples/wuserver.py &                # weather updates on 5556
    python examples/mspoller.py --count 150 &    # connects to 5557 and 5556
    python examples/tasksink.py --tasks 0 &      # takes the batch start, wants no results
    python examples/taskvent.py --workers 1 --no-wait     # mspoller.py is the worker

It runs until Ctrl-C, or until it received ``--count`` messages.
"""

from __future__ import annotations

import argparse
import sys

import trio

import trinq

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup


async def main(ventilator: str, weather: str, zipcode: str, count: int) -> None:
    async with (
        trinq.Context() as ctx,
        ctx.socket(trinq.PULL) as receiver,
        ctx.socket(trinq.SUB) as subscriber,
    ):
        receiver.connect(ventilator)
        subscriber.connect(weather)
        subscriber.subscribe(f"{zipcode} ")  # the space: "10001" must not match "100010"
        poller = trinq.Poller()
        poller.register(receiver, trinq.POLLIN)
        poller.register(subscriber, trinq.POLLIN)
        received = 0
        while count == 0 or received < count:
            try:
                events = dict(await poller.poll())
            except BaseExceptionGroup as group:
                # The poll waits in a nursery, and trio wraps even a lone Ctrl-C in a
                # group: let it out as itself, for cli().
                if len(group.exceptions) == 1 and isinstance(
                    group.exceptions[0], KeyboardInterrupt
                ):
                    raise group.exceptions[0] from None
                raise
            if receiver in events:
                task = await receiver.recv_string()
                print(f"task: {task}", flush=True)  # process the task
                received += 1
            if subscriber in events:
                update = await subscriber.recv_string()
                print(f"weather update: {update}", flush=True)  # process the update
                received += 1


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--ventilator", default="tcp://127.0.0.1:5557", help="the ventilator to take tasks from"
    )
    parser.add_argument("--weather", default="tcp://127.0.0.1:5556", help="the weather server")
    parser.add_argument("--zipcode", default="10001", help="zip code to follow")
    parser.add_argument(
        "--count", type=int, default=0, help="stop after this many messages (0 = run forever)"
    )
    args = parser.parse_args()
    try:
        trio.run(main, args.ventilator, args.weather, args.zipcode, args.count)
    except KeyboardInterrupt:
        sys.exit(130)  # 128 + SIGINT: how a shell reports a Ctrl-C'd program


if __name__ == "__main__":
    cli()
