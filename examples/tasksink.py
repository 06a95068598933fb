"""Task sink (zguide ``tasksink``): a PULL socket collecting the workers' results.

Waits for the ventilator's batch start (``"0"``), then collects ``--tasks`` results,
printing ``:`` for every tenth and ``.`` for the others, and reports how long the
batch took. Start it first, then the workers, then the ventilator::

    python examples/tasksink.py                  # binds tcp://127.0.0.1:5558
    python examples/taskwork.py                  # one or more workers
    python examples/taskvent.py                  # press Enter when the workers run

With more workers the batch takes less time: that is the point of the pipeline. The
sink exits after one batch.
"""

from __future__ import annotations

import argparse
import sys

import trio

import trinq


async def main(sink: str, tasks: int) -> None:
    async with trinq.Context() as ctx, ctx.socket(trinq.PULL) as receiver:
        print(f"collecting results on {await receiver.bind(sink)}", flush=True)
        await receiver.recv()  # the ventilator's "0": the batch starts
        start = trio.current_time()
        for task_nbr in range(tasks):
            await receiver.recv()
            print(":" if task_nbr % 10 == 0 else ".", end="", flush=True)
        elapsed_ms = round((trio.current_time() - start) * 1000)
        print(f"\nTotal elapsed time: {elapsed_ms} msec", flush=True)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sink", default="tcp://127.0.0.1:5558", help="where to bind for the results"
    )
    parser.add_argument("--tasks", type=int, default=100, help="how many results to collect")
    args = parser.parse_args()
    try:
        trio.run(main, args.sink, args.tasks)
    except KeyboardInterrupt:
        sys.exit(130)  # 128 + SIGINT: how a shell reports a Ctrl-C'd program


if __name__ == "__main__":
    cli()
