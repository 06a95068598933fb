"""Ironhouse client: connects with its CURVE certificate to ``ironhouse_server.py``
and prints what it receives (see the server's docstring for the certificates).

    python examples/ironhouse_client.py --certs certs

It needs ``certs/client.key_secret`` (its own keys) and ``certs/server.key`` (the
server's public key: a client that does not know it cannot even say hello).
``--name other`` uses ``certs/other.key_secret`` instead, to see a refusal.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import trio

import trinq
from trinq.auth import load_certificate


async def main(endpoint: str, certs: Path, name: str, count: int, timeout: float) -> int:
    public, secret = load_certificate(certs / f"{name}.key_secret")
    server_public, _ = load_certificate(certs / "server.key")
    options = {"curve_publickey": public, "curve_secretkey": secret}
    status = 0
    async with trinq.Context() as ctx:
        pull = ctx.socket(trinq.PULL, linger=0, curve_serverkey=server_public, **options)
        monitor = pull.monitor(trinq.Event.HANDSHAKE_FAILED_AUTH)
        pull.connect(endpoint)

        async def watch(done: trio.CancelScope) -> None:
            nonlocal status
            event = await monitor.receive()  # the server's handler said no
            print(f"refused by the server: ZAP status {event.value}", file=sys.stderr)
            status = 1
            done.cancel()

        async def receive(done: trio.CancelScope) -> None:
            nonlocal status
            for _ in range(count):
                with trio.move_on_after(timeout):
                    print((await pull.recv()).decode(), flush=True)
                    continue
                print("nothing received: is ironhouse_server.py running?", file=sys.stderr)
                status = 1
                break
            done.cancel()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(watch, nursery.cancel_scope)
            nursery.start_soon(receive, nursery.cancel_scope)
    return status


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default="tcp://127.0.0.1:5580", help="the server")
    parser.add_argument("--certs", type=Path, default=Path("certs"), help="certificates")
    parser.add_argument("--name", default="client", help="whose certificate to use")
    parser.add_argument("--count", type=int, default=5, help="messages to receive")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per message")
    args = parser.parse_args()
    try:
        sys.exit(trio.run(main, args.endpoint, args.certs, args.name, args.count, args.timeout))
    except KeyboardInterrupt:
        sys.exit(130)  # 128 + SIGINT: how a shell reports a Ctrl-C'd program


if __name__ == "__main__":
    cli()
