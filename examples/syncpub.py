"""Synchronised publisher (zguide ``syncpub``): wait for every subscriber, then publish.

Defeats the slow joiner without sleeping: until ``--subscribers`` subscribers have
checked in, the publisher broadcasts ``SYNC`` now and then. A subscriber that receives
a ``SYNC`` knows its subscription reached the publisher, and says so on the sync
channel (PUSH -> PULL here; the zguide uses REQ/REP). Then every update is delivered
to every subscriber, followed by ``END``::

    python examples/syncpub.py --subscribers 2 &
    python examples/syncsub.py & python examples/syncsub.py
"""

from __future__ import annotations

import argparse
import sys

import trio

import trinq


async def main(publish: str, sync: str, subscribers: int, count: int) -> None:
    async with (
        trinq.Context() as ctx,
        ctx.socket(trinq.PUB, sndhwm=count + 10) as publisher,
        ctx.socket(trinq.PULL) as syncservice,
    ):
        print(f"publishing on {await publisher.bind(publish)}", flush=True)
        print(f"sync service on {await syncservice.bind(sync)}", flush=True)
        print(f"Waiting for {subscribers} subscribers", flush=True)
        ready = 0
        while ready < subscribers:
            await publisher.send(b"SYNC")
            with trio.move_on_after(0.1):
                while ready < subscribers:
                    await syncservice.recv()
                    ready += 1
        print(f"Broadcasting {count} updates", flush=True)
        for _ in range(count):
            await publisher.send(b"Rhubarb")
        await publisher.send(b"END")


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--publish", default="tcp://127.0.0.1:5561", help="PUB endpoint")
    parser.add_argument("--sync", default="tcp://127.0.0.1:5562", help="sync endpoint")
    parser.add_argument("--subscribers", type=int, default=1, help="subscribers to wait for")
    parser.add_argument("--count", type=int, default=100_000, help="updates to broadcast")
    args = parser.parse_args()
    try:
        trio.run(main, args.publish, args.sync, args.subscribers, args.count)
    except KeyboardInterrupt:
        sys.exit(130)  # 128 + SIGINT: how a shell reports a Ctrl-C'd program


if __name__ == "__main__":
    cli()
