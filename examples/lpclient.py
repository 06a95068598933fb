"""Lazy Pirate client (zguide ``lpclient``): reliable request-reply on top of REQ.

A REQ socket waits for its reply forever, so a crashed server would wedge it. The Lazy
Pirate recipe bounds each wait with ``trio.move_on_after``; on a timeout it closes the
REQ socket (linger 0: the request is abandoned), opens a new one, and resends, up to
``--retries`` times before giving up. With ``--relaxed`` it keeps one socket instead and
resends on it (``req_relaxed`` + ``req_correlate``: the late reply to an abandoned
request is recognised and dropped).

Try it against ``examples/lpserver.py``, in two shells::

    python examples/lpserver.py --crash-after 3
    python examples/lpclient.py --requests 10

Exit status: 0 when every request was answered, 1 when the server seems offline.
"""

from __future__ import annotations

import argparse
import sys

import trio

import trinq


def new_client(ctx: trinq.Context, endpoint: str, relaxed: bool) -> trinq.Socket:
    sock = ctx.socket(trinq.REQ, linger=0, req_relaxed=relaxed, req_correlate=relaxed)
    sock.connect(endpoint)
    return sock


async def main(endpoint: str, requests: int, timeout: float, retries: int, relaxed: bool) -> int:
    async with trinq.Context() as ctx:
        print(f"I: connecting to server at {endpoint}", flush=True)
        client = new_client(ctx, endpoint, relaxed)
        for sequence in range(1, requests + 1):
            request = str(sequence).encode()
            await client.send(request)
            retries_left = retries
            while True:
                reply = None
                with trio.move_on_after(timeout):
                    reply = await client.recv()
                if reply == request:
                    print(f"I: server replied OK ({reply.decode()})", flush=True)
                    break
                if reply is not None:
                    print(f"E: malformed reply from server: {reply!r}", flush=True)
                    continue
                # Timed out. The cancelled recv left the REQ awaiting this reply.
                retries_left -= 1
                print("W: no response from server", flush=True)
                if retries_left == 0:
                    print("E: server seems to be offline, abandoning", flush=True)
                    await client.aclose()
                    return 1
                if not relaxed:
                    print("I: reconnecting to server", flush=True)
                    await client.aclose()
                    client = new_client(ctx, endpoint, relaxed)
                print(f"I: resending ({request.decode()})", flush=True)
                await client.send(request)
        await client.aclose()
    return 0


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default="tcp://127.0.0.1:5555", help="server to connect")
    parser.add_argument("--requests", type=int, default=10, help="how many requests to send")
    parser.add_argument("--timeout", type=float, default=2.5, help="seconds to wait per try")
    parser.add_argument("--retries", type=int, default=3, help="tries per request")
    parser.add_argument(
        "--relaxed", action="store_true", help="resend on the same socket (req_relaxed)"
    )
    args = parser.parse_args()
    try:
        status = trio.run(
            main, args.endpoint, args.requests, args.timeout, args.retries, args.relaxed
        )
    except KeyboardInterrupt:
        status = 130
    sys.exit(status)


if __name__ == "__main__":
    cli()
