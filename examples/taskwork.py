"""Task worker (zguide ``taskwork``): PULLs tasks, PUSHes the results to the sink.

Each task is a workload in msec; the worker "does" it by sleeping that long, prints a
progress dot, and sends the sink an empty result. Start the sink first, then one or
more workers, then the ventilator (each in its own shell)::

    python examples/tasksink.py
    python examples/taskwork.py                  # connects to 5557 and 5558
    python examples/taskvent.py

The worker runs until Ctrl-C, or until it did ``--count`` tasks.
"""

from __future__ import annotations

import argparse
import sys

import trio

import trinq


async def main(ventilator: str, sink: str, count: int) -> None:
    async with (
        trinq.Context() as ctx,
        ctx.socket(trinq.PULL) as receiver,
        ctx.socket(trinq.PUSH) as sender,
    ):
        receiver.connect(ventilator)
        sender.connect(sink)
        done = 0
        while count == 0 or done < count:
            workload = int(await receiver.recv_string())
            print(".", end="", flush=True)  # show progress
            await trio.sleep(workload / 1000)  # "do the work"
            await sender.send(b"")  # the result
            done += 1


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--ventilator", default="tcp://127.0.0.1:5557", help="the ventilator to take tasks from"
    )
    parser.add_argument("--sink", default="tcp://127.0.0.1:5558", help="the sink to send results")
    parser.add_argument(
        "--count", type=int, default=0, help="stop after this many tasks (0 = run forever)"
    )
    args = parser.parse_args()
    try:
        trio.run(main, args.ventilator, args.sink, args.count)
    except KeyboardInterrupt:
        sys.exit(130)  # 128 + SIGINT: how a shell reports a Ctrl-C'd program


if __name__ == "__main__":
    cli()
