"""Synchronised subscriber (zguide ``syncsub``): check in, then count every update.

Subscribes to everything, waits for the publisher's ``SYNC`` (proof that the
subscription arrived), checks in on the sync channel, and counts updates until
``END``. See ``syncpub.py``::

    python examples/syncpub.py &
    python examples/syncsub.py
"""

from __future__ import annotations

import argparse
import sys

import trio

import trinq


async def main(publish: str, sync: str) -> None:
    async with (
        trinq.Context() as ctx,
        ctx.socket(trinq.SUB, rcvhwm=0) as subscriber,
        ctx.socket(trinq.PUSH) as syncclient,
    ):
        subscriber.connect(publish)
        subscriber.subscribe(b"")
        syncclient.connect(sync)
        while await subscriber.recv() != b"SYNC":
            pass
        await syncclient.send(b"ready")
        updates = 0
        while True:
            msg = await subscriber.recv()
            if msg == b"END":
                break
            if msg != b"SYNC":
                updates += 1
        print(f"Received {updates} updates", flush=True)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--publish", default="tcp://127.0.0.1:5561", help="PUB endpoint")
    parser.add_argument("--sync", default="tcp://127.0.0.1:5562", help="sync endpoint")
    args = parser.parse_args()
    try:
        trio.run(main, args.publish, args.sync)
    except KeyboardInterrupt:
        sys.exit(130)  # 128 + SIGINT: how a shell reports a Ctrl-C'd program


if __name__ == "__main__":
    cli()
