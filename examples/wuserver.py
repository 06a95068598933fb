"""Weather update server (zguide ``wuserver``): a PUB socket publishing random updates.

Each update is ``"<zipcode> <temperature> <relhumidity>"``; subscribers filter on the
zip-code prefix and the PUB only sends them what they asked for. Run it, then the
client in a second shell::

    python examples/wuserver.py                  # binds tcp://127.0.0.1:5556
    python examples/wuclient.py 10001            # averages 5 updates for zip 10001

It talks to libzmq peers both ways (pyzmq installed)::

    # pyzmq SUB against this trinq PUB
    python examples/wuserver.py &
    python -c "import zmq; s = zmq.Context().socket(zmq.SUB); \\
        s.connect('tcp://127.0.0.1:5556'); s.subscribe(b'10001 '); print(s.recv())"

    # trinq SUB (wuclient.py) against a pyzmq PUB
    python -c "import zmq, random; p = zmq.Context().socket(zmq.PUB); \\
        p.bind('tcp://127.0.0.1:5556'); \\
        [p.send_string('%05d %d %d' % (random.randrange(10000, 10010), 20, 50)) \\
         for _ in iter(int, 1)]" &
    python examples/wuclient.py 10001

``--zips`` narrows the range of zip codes (10000 up to 10000 + zips - 1; the zguide
uses the whole 0..99999 range), so a client sees its zip code sooner. The server
stops after ``--count`` updates (0 = run forever).
"""

from __future__ import annotations

import argparse
import random
import sys

import trio

import trinq


async def main(endpoint: str, count: int, zips: int) -> None:
    async with trinq.Context() as ctx, ctx.socket(trinq.PUB, linger=0) as publisher:
        bound = await publisher.bind(endpoint)
        print(f"publishing on {bound}", flush=True)
        sent = 0
        while count == 0 or sent < count:
            zipcode = random.randrange(10000, 10000 + zips)
            temperature = random.randrange(-80, 135)
            relhumidity = random.randrange(10, 60)
            await publisher.send_string(f"{zipcode:05d} {temperature} {relhumidity}")
            sent += 1


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default="tcp://127.0.0.1:5556", help="where to bind")
    parser.add_argument(
        "--count", type=int, default=2_000_000, help="stop after this many updates (0 = forever)"
    )
    parser.add_argument(
        "--zips", type=int, default=100, help="how many distinct zip codes, from 10000"
    )
    args = parser.parse_args()
    try:
        trio.run(main, args.endpoint, args.count, args.zips)
    except KeyboardInterrupt:
        sys.exit(130)  # 128 + SIGINT: how a shell reports a Ctrl-C'd program


if __name__ == "__main__":
    cli()
