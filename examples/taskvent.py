"""Task ventilator (zguide ``taskvent``): a PUSH socket handing out tasks to workers.

Binds a PUSH for the workers, connects a second PUSH to the sink, waits for Enter,
tells the sink that a batch starts (``"0"``), then sends ``--tasks`` tasks, each a
random workload in msec (1 to ``--max-workload``) as text. The workers' PULL sockets
get them round-robin, so the more workers, the sooner the sink has every result.
Start the sink and the workers, then press Enter here (each in its own shell)::

    python examples/tasksink.py                  # binds tcp://127.0.0.1:5558
    python examples/taskwork.py                  # start one or more workers
    python examples/taskvent.py                  # binds tcp://127.0.0.1:5557

Press Enter only once every worker is running: a PUSH spreads tasks over the workers
connected at the time, so a worker that connects late gets none of the batch.
``--workers N`` waits until N workers have connected (the socket monitor tells)
before asking; ``--no-wait`` does not ask at all. The ventilator exits once every
task is on its way (closing the socket waits for the queued ones to be sent).
"""

from __future__ import annotations

import argparse
import random
import sys

import trio

import trinq


async def main(
    ventilator: str,
    sink: str,
    tasks: int,
    max_workload: int,
    workers: int,
    wait: bool,
    seed: int | None,
) -> None:
    async with (
        trinq.Context() as ctx,
        ctx.socket(trinq.PUSH) as sender,
        ctx.socket(trinq.PUSH) as start,
    ):
        connected = sender.monitor(trinq.Event.HANDSHAKE_SUCCEEDED)
        print(f"workers connect to {await sender.bind(ventilator)}", flush=True)
        start.connect(sink)
        for n in range(1, workers + 1):
            await connected.receive()
            print(f"worker {n} of {workers} connected", flush=True)
        await connected.aclose()
        if wait:
            print("Press Enter when the workers are ready: ", flush=True)
            # A blocked readline cannot be interrupted: abandon the thread on Ctrl-C.
            await trio.to_thread.run_sync(sys.stdin.readline, abandon_on_cancel=True)
        print("Sending tasks to workers...", flush=True)
        await start.send(b"0")  # the first message is "0": it signals the batch start
        rng = random.Random(seed)
        total_msec = 0
        for _ in range(tasks):
            workload = rng.randint(1, max_workload)
            total_msec += workload
            await sender.send_string(str(workload))
        print(f"Total expected cost: {total_msec} msec", flush=True)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--ventilator", default="tcp://127.0.0.1:5557", help="where to bind for the workers"
    )
    parser.add_argument("--sink", default="tcp://127.0.0.1:5558", help="the sink to connect")
    parser.add_argument("--tasks", type=int, default=100, help="how many tasks to send")
    parser.add_argument(
        "--max-workload", type=int, default=100, help="largest workload of a task, in msec"
    )
    parser.add_argument(
        "--workers", type=int, default=0, help="first wait until this many workers connected"
    )
    parser.add_argument(
        "--no-wait", dest="wait", action="store_false", help="do not wait for Enter"
    )
    parser.add_argument("--seed", type=int, help="seed the workloads (default: random)")
    args = parser.parse_args()
    try:
        trio.run(
            main,
            args.ventilator,
            args.sink,
            args.tasks,
            args.max_workload,
            args.workers,
            args.wait,
            args.seed,
        )
    except KeyboardInterrupt:
        sys.exit(130)  # 128 + SIGINT: how a shell reports a Ctrl-C'd program


if __name__ == "__main__":
    cli()
