"""The task pipeline in one process (zguide ``taskvent`` + ``taskwork`` + ``tasksink``).

The ventilator, ``--workers`` worker tasks and the sink talk over inproc://, with the
sockets and messages of the three scripts (the ``"0"`` batch start, the workloads in
msec as text, the empty results), as trio tasks instead of processes: nothing to start
by hand, no "press Enter". The ventilator binds first and an inproc connect to a bound
name is linked at once, so every worker is in the ventilator's round-robin before the
first task goes out. Compare the elapsed time for a few worker counts::

    python examples/pipeline_inproc.py                 # 4 workers, 100 tasks
    python examples/pipeline_inproc.py --workers 1
"""

from __future__ import annotations

import argparse
import random
import sys

import trio

import trinq

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup

TASKS = "inproc://tasks"
RESULTS = "inproc://results"


async def worker(ctx: trinq.Context, *, task_status: trio.TaskStatus[None]) -> None:
    async with ctx.socket(trinq.PULL) as receiver, ctx.socket(trinq.PUSH) as sender:
        receiver.connect(TASKS)
        sender.connect(RESULTS)
        task_status.started()
        while True:
            workload = int(await receiver.recv_string())
            await trio.sleep(workload / 1000)  # "do the work"
            await sender.send(b"")


async def sink(
    ctx: trinq.Context, tasks: int, done: trio.CancelScope, *, task_status: trio.TaskStatus[None]
) -> None:
    async with ctx.socket(trinq.PULL) as receiver:
        await receiver.bind(RESULTS)
        task_status.started()
        await receiver.recv()  # the ventilator's "0": the batch starts
        start = trio.current_time()
        for _ in range(tasks):
            await receiver.recv()
        elapsed_ms = round((trio.current_time() - start) * 1000)
        print(f"Total elapsed time: {elapsed_ms} msec", flush=True)
        done.cancel()  # the batch is in: stop the workers too


async def main(workers: int, tasks: int, max_workload: int, seed: int | None) -> None:
    async with (
        trinq.Context() as ctx,
        ctx.socket(trinq.PUSH) as sender,
        ctx.socket(trinq.PUSH) as start,
    ):
        await sender.bind(TASKS)
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(sink, ctx, tasks, nursery.cancel_scope)
                for _ in range(workers):
                    await nursery.start(worker, ctx)
                start.connect(RESULTS)
                print(f"{workers} worker(s), {tasks} tasks", flush=True)
                await start.send(b"0")
                rng = random.Random(seed)
                total_msec = 0
                for _ in range(tasks):
                    workload = rng.randint(1, max_workload)
                    total_msec += workload
                    await sender.send_string(str(workload))
                print(f"Total expected cost: {total_msec} msec", flush=True)
        except BaseExceptionGroup as group:
            # Trio wraps even a lone Ctrl-C in a group: let it out as itself, for cli().
            if len(group.exceptions) == 1 and isinstance(group.exceptions[0], KeyboardInterrupt):
                raise group.exceptions[0] from None
            raise


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4, help="how many worker tasks")
    parser.add_argument("--tasks", type=int, default=100, help="how many tasks to send")
    parser.add_argument(
        "--max-workload", type=int, default=100, help="largest workload of a task, in msec"
    )
    parser.add_argument("--seed", type=int, help="seed the workloads (default: random)")
    args = parser.parse_args()
    try:
        trio.run(main, args.workers, args.tasks, args.max_workload, args.seed)
    except KeyboardInterrupt:
        sys.exit(130)  # 128 + SIGINT: how a shell reports a Ctrl-C'd program


if __name__ == "__main__":
    cli()
