"""RADIO/DISH weather feed, the radio: weather updates published by city as groups.

Run it, then a dish in another shell::

    python examples/rdradio.py                      # binds tcp://127.0.0.1:5571
    python examples/rddish.py --city paris --city oslo

Each update goes to the group named after its city (groups are exact names, not
prefixes as PUB/SUB topics are). A RADIO never blocks: a dish that did not join a
city's group never gets its updates, and one that cannot keep up misses some, as with
PUB/SUB. ``--endpoint tcp://127.0.0.1:*`` picks a free port; ``--count`` stops after
that many updates (0 = run until Ctrl-C).
"""

from __future__ import annotations

import argparse
import random
import sys

import trio

import trinq

CITIES = ("paris", "oslo", "lima", "cairo", "perth")


async def main(endpoint: str, count: int, interval: float) -> None:
    async with trinq.Context() as ctx, ctx.socket(trinq.RADIO) as radio:
        bound = await radio.bind(endpoint)
        print(f"publishing on {bound}", flush=True)
        rng = random.Random(1)
        sent = 0
        while count == 0 or sent < count:
            city = rng.choice(CITIES)
            temperature = rng.randrange(-20, 40)
            await radio.send(f"{city} {temperature}".encode(), group=city)
            sent += 1
            await trio.sleep(interval)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default="tcp://127.0.0.1:5571", help="where to bind")
    parser.add_argument("--count", type=int, default=0, help="updates to send (0: forever)")
    parser.add_argument("--interval", type=float, default=0.001, help="seconds between updates")
    args = parser.parse_args()
    try:
        trio.run(main, args.endpoint, args.count, args.interval)
    except KeyboardInterrupt:
        sys.exit(130)  # 128 + SIGINT: how a shell reports a Ctrl-C'd program


if __name__ == "__main__":
    cli()
