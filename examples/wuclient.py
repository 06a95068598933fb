"""Weather update client (zguide ``wuclient``): a SUB socket filtering on a zip code.

Subscribes to one zip code, collects ``--updates`` updates and prints the average
temperature. Start ``wuserver.py`` (or any libzmq PUB sending ``"zip temp humidity"``
strings; see the docstring there for pyzmq one-liners in both directions)::

    python examples/wuserver.py &
    python examples/wuclient.py 10001
"""

from __future__ import annotations

import argparse
import sys

import trio

import trinq


async def main(zipcode: str, endpoint: str, updates: int) -> None:
    async with trinq.Context() as ctx, ctx.socket(trinq.SUB) as subscriber:
        subscriber.connect(endpoint)
        # the trailing space makes "10001" not match "100010"
        subscriber.subscribe(f"{zipcode} ")
        print(f"Collecting updates from weather server {endpoint} for zip {zipcode}", flush=True)
        total = 0
        for _ in range(updates):
            update = await subscriber.recv_string()
            _zip, temperature, _humidity = update.split()
            total += int(temperature)
        print(
            f"Average temperature for zipcode '{zipcode}' was {total / updates:.1f}F",
            flush=True,
        )


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("zipcode", nargs="?", default="10001", help="zip code to follow")
    parser.add_argument("--endpoint", default="tcp://127.0.0.1:5556", help="where to connect")
    parser.add_argument("--updates", type=int, default=5, help="how many updates to average")
    args = parser.parse_args()
    try:
        trio.run(main, args.zipcode, args.endpoint, args.updates)
    except KeyboardInterrupt:
        sys.exit(130)  # 128 + SIGINT: how a shell reports a Ctrl-C'd program


if __name__ == "__main__":
    cli()
