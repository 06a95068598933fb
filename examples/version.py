"""Report versions (zguide ``version``): trinq's, the ZMTP it speaks, and libzmq's.

trinq's version comes from the installed package's metadata, the ZMTP version from
the greeting trinq sends, and libzmq's from pyzmq when pyzmq is installed (a libzmq
peer of that version talks to trinq)::

    python examples/version.py
"""

from __future__ import annotations

import argparse
import importlib.metadata
import sys

import trio

import trinq


async def main() -> None:
    try:
        version = importlib.metadata.version("trinq")
    except importlib.metadata.PackageNotFoundError:  # imported from a checkout, not installed
        version = f"{trinq.__version__} (not installed; trinq.__version__)"
    print(f"trinq {version}", flush=True)
    greeting = trinq.zmtp.Greeting()  # what trinq says in every handshake
    print(f"ZMTP {greeting.major}.{greeting.minor}", flush=True)
    try:
        import zmq
    except ImportError:
        print("libzmq: not available (pyzmq is not installed)", flush=True)
    else:
        print(f"libzmq {zmq.zmq_version()} (pyzmq {zmq.pyzmq_version()})", flush=True)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    try:
        trio.run(main)
    except KeyboardInterrupt:
        sys.exit(130)  # 128 + SIGINT: how a shell reports a Ctrl-C'd program


if __name__ == "__main__":
    cli()
