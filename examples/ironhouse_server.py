"""Ironhouse server (zguide ch. 5 "Ironhouse"): CURVE encryption, and only the clients
whose certificates are in a directory get in.

Make the certificates once (``trinq keygen`` writes pyzmq-format files)::

    trinq keygen --directory certs server
    trinq keygen --directory certs client
    mkdir -p certs/authorized && cp certs/client.key certs/authorized/

then run the server and the client in two shells::

    python examples/ironhouse_server.py --certs certs     # binds tcp://127.0.0.1:5580
    python examples/ironhouse_client.py --certs certs

The server runs a ``trinq.auth.Authenticator``: connections from 127.0.0.1 only, and
CURVE clients whose public key is in ``certs/authorized``. Everything on the wire is
encrypted; a client without an authorized key is refused with ZAP status 400 (watch
the ``refused`` lines). It sends ``--count`` messages to the client, then exits.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import trio

import trinq
from trinq.auth import load_certificate


async def main(endpoint: str, certs: Path, count: int) -> None:
    public, secret = load_certificate(certs / "server.key_secret")
    async with trinq.Context() as ctx, trinq.auth.Authenticator(ctx) as auth:
        auth.allow("127.0.0.1")
        auth.configure_curve(location=certs / "authorized")
        async with ctx.socket(trinq.PUSH, curve_server=True, curve_secretkey=secret) as push:
            monitor = push.monitor(trinq.Event.HANDSHAKE_FAILED_AUTH)
            bound = await push.bind(endpoint)
            print(f"listening on {bound} (server key {public.decode()})", flush=True)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(report_refusals, monitor)
                for i in range(count):
                    await push.send(b"Ironhouse message %d" % i)  # waits for a client
                nursery.cancel_scope.cancel()
            print("all sent", flush=True)


async def report_refusals(monitor: trinq.Monitor) -> None:
    async for event in monitor:
        print(f"refused a client: ZAP status {event.value}", flush=True)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default="tcp://127.0.0.1:5580", help="where to bind")
    parser.add_argument("--certs", type=Path, default=Path("certs"), help="certificates")
    parser.add_argument("--count", type=int, default=5, help="messages to send")
    args = parser.parse_args()
    try:
        trio.run(main, args.endpoint, args.certs, args.count)
    except KeyboardInterrupt:
        sys.exit(130)  # 128 + SIGINT: how a shell reports a Ctrl-C'd program


if __name__ == "__main__":
    cli()
