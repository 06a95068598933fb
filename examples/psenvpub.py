"""Pub-sub envelope publisher (zguide ``psenvpub``): the topic travels in its own frame.

Publishes two-frame messages ``[topic, body]`` for topics A and B; subscribers filter on
the first frame only, so the body never has to start with the topic::

    python examples/psenvpub.py                  # binds tcp://127.0.0.1:5563
    python examples/psenvsub.py                  # prints only the B messages

The publisher stops after ``--count`` rounds (0 = run forever), pausing ``--interval``
seconds between rounds.
"""

from __future__ import annotations

import argparse
import sys

import trio

import trinq


async def main(endpoint: str, count: int, interval: float) -> None:
    async with trinq.Context() as ctx, ctx.socket(trinq.PUB, linger=0) as publisher:
        bound = await publisher.bind(endpoint)
        print(f"publishing on {bound}", flush=True)
        rounds = 0
        while count == 0 or rounds < count:
            await publisher.send_multipart([b"A", b"We don't want to see this"])
            await publisher.send_multipart([b"B", b"We would like to see this"])
            rounds += 1
            await trio.sleep(interval)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default="tcp://127.0.0.1:5563", help="where to bind")
    parser.add_argument("--count", type=int, default=600, help="rounds to publish (0 = forever)")
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between rounds")
    args = parser.parse_args()
    try:
        trio.run(main, args.endpoint, args.count, args.interval)
    except KeyboardInterrupt:
        sys.exit(130)  # 128 + SIGINT: how a shell reports a Ctrl-C'd program


if __name__ == "__main__":
    cli()
