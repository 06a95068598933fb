"""Pub-sub envelope subscriber (zguide ``psenvsub``): subscribes to topic B only.

Prints ``[B] We would like to see this`` for each message; start ``psenvpub.py`` first
(or after: the subscriber reconnects until the publisher is up)::

    python examples/psenvpub.py &
    python examples/psenvsub.py --count 5
"""

from __future__ import annotations

import argparse
import sys

import trio

import trinq


async def main(endpoint: str, topic: str, count: int) -> None:
    async with trinq.Context() as ctx, ctx.socket(trinq.SUB) as subscriber:
        subscriber.connect(endpoint)
        subscriber.subscribe(topic)
        received = 0
        while count == 0 or received < count:
            address, contents = await subscriber.recv_multipart()
            print(f"[{address.decode()}] {contents.decode()}", flush=True)
            received += 1


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default="tcp://127.0.0.1:5563", help="where to connect")
    parser.add_argument("--topic", default="B", help="topic (first frame) to subscribe to")
    parser.add_argument("--count", type=int, default=10, help="messages to print (0 = forever)")
    args = parser.parse_args()
    try:
        trio.run(main, args.endpoint, args.topic, args.count)
    except KeyboardInterrupt:
        sys.exit(130)  # 128 + SIGINT: how a shell reports a Ctrl-C'd program


if __name__ == "__main__":
    cli()
