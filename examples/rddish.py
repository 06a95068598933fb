"""RADIO/DISH weather feed, the dish: joins one group per city and prints updates.

    python examples/rddish.py --city paris --city oslo --updates 10

Prints each update with its group (``recv_message().group``) and the average
temperature per city at the end. Waits at most ``--timeout`` seconds for each update.
"""

from __future__ import annotations

import argparse
import sys

import trio

import trinq


async def main(endpoint: str, cities: list[str], updates: int, timeout: float) -> int:
    totals: dict[str, list[int]] = {city: [] for city in cities}
    async with trinq.Context() as ctx, ctx.socket(trinq.DISH) as dish:
        dish.connect(endpoint)
        for city in cities:
            dish.join(city)
        for _ in range(updates):
            with trio.move_on_after(timeout):
                msg = await dish.recv_message()
                city, temperature = msg.data.decode().split()
                assert city == msg.group  # a dish gets only the groups it joined
                totals[city].append(int(temperature))
                print(f"[{msg.group}] {temperature}", flush=True)
                continue
            print("no update: is rdradio.py running?", file=sys.stderr, flush=True)
            return 1
    for city, temps in totals.items():
        if temps:
            print(f"average in {city}: {sum(temps) / len(temps):.1f}", flush=True)
    return 0


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default="tcp://127.0.0.1:5571", help="the radio")
    parser.add_argument(
        "--city", action="append", dest="cities", help="a group to join (repeatable)"
    )
    parser.add_argument("--updates", type=int, default=10, help="updates to receive")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per update")
    args = parser.parse_args()
    try:
        cities = args.cities or ["paris"]
        sys.exit(trio.run(main, args.endpoint, cities, args.updates, args.timeout))
    except KeyboardInterrupt:
        sys.exit(130)  # 128 + SIGINT: how a shell reports a Ctrl-C'd program


if __name__ == "__main__":
    cli()
