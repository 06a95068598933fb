#!/usr/bin/env python3
"""pyzmq (blocking, libzmq 4.3.5) with CURVE: the reference for ``trinq_peer.py --curve``.

It runs the shared pyzmq peer (``../shared/bench/peers/pyzmq_peer.py``: the same
workloads, loops and JSON output) unchanged, with every socket it creates made CURVE:
the binding types (PULL, REP, PUB) are CURVE servers, the connecting ones (PUSH, REQ,
SUB) clients. The key pairs are the fixed ones ``bench/trinq_peer.py --curve`` derives
(SHA-256 of a constant seed as the secret key, or the Z85 secret keys in
``TRINQ_BENCH_CURVE_SERVER_SECRET`` / ``TRINQ_BENCH_CURVE_CLIENT_SECRET``), so a
pyzmq and a trinq peer can be paired by hand too. No ZAP handler: like libzmq without
one, the server lets any client key in (Stonehouse)::

  TRINQ_BENCHLIB_DIR=../shared/bench/peers python ../shared/bench/run_matrix.py \\
      --add-impl 'pyzmq-curve=bench/pyzmq_curve_peer.py' \\
      --add-impl 'trinq-curve=bench/trinq_peer.py --curve' \\
      --impls 'pyzmq*,trinq*' --workloads thr,lat --sizes 16,4096 --lat-sizes 16 \\
      --baseline pyzmq-curve --rounds 5

By hand (two shells)::

  python bench/pyzmq_curve_peer.py --workload thr --role recv --endpoint tcp://127.0.0.1:5555 \\
      --size 16 --count 1000000
  python bench/trinq_peer.py --curve --workload thr --role send \\
      --endpoint tcp://127.0.0.1:5555 --size 16 --count 1000000

Run it from anywhere; it finds ``benchlib`` and ``pyzmq_peer`` as ``bench/trinq_peer.py``
finds ``benchlib`` (``TRINQ_BENCHLIB_DIR`` first).
"""

from __future__ import annotations

import hashlib
import os
import sys
import types

_HERE = os.path.dirname(os.path.abspath(__file__))
for _cand in (
    os.environ.get("TRINQ_BENCHLIB_DIR", ""),
    os.path.join(_HERE, "..", "..", "shared", "bench", "peers"),
    os.path.join(_HERE, "peers"),
):
    if _cand and os.path.exists(os.path.join(_cand, "pyzmq_peer.py")):
        sys.path.insert(0, os.path.abspath(_cand))
        break

import pyzmq_peer  # noqa: E402
import zmq  # noqa: E402
from zmq.utils import z85  # noqa: E402

IMPL = "pyzmq-curve"

#: the same seeds as bench/trinq_peer.py's CURVE_SEEDS
CURVE_SEEDS = {"server": b"trinq-bench-curve-server", "client": b"trinq-bench-curve-client"}
#: the socket types that bind in pyzmq_peer.py: they are the CURVE servers
SERVER_TYPES = {zmq.PULL, zmq.REP, zmq.PUB}


def curve_keys(role: str) -> tuple[bytes, bytes]:
    """The fixed (public, secret) Z85 key pair of "server" or "client"."""
    secret = os.environ.get(f"TRINQ_BENCH_CURVE_{role.upper()}_SECRET", "").encode()
    if not secret:
        secret = z85.encode(hashlib.sha256(CURVE_SEEDS[role]).digest())
    return zmq.curve_public(secret), secret


SERVER_PUBLIC, SERVER_SECRET = curve_keys("server")
CLIENT_PUBLIC, CLIENT_SECRET = curve_keys("client")


class CurveContext(zmq.Context):
    """A zmq.Context whose sockets are CURVE servers or clients (see the docstring)."""

    def socket(self, socket_type, *args, **kwargs):  # type: ignore[override]
        s = super().socket(socket_type, *args, **kwargs)
        if socket_type in SERVER_TYPES:
            s.curve_server = True
            s.curve_secretkey = SERVER_SECRET
        else:
            s.curve_serverkey = SERVER_PUBLIC
            s.curve_publickey = CLIENT_PUBLIC
            s.curve_secretkey = CLIENT_SECRET
        return s


class _ZmqWithCurve(types.ModuleType):
    """What ``pyzmq_peer`` sees as ``zmq``: the real module, but a CURVE Context."""

    Context = CurveContext

    def __getattr__(self, name: str):
        return getattr(zmq, name)


def main() -> None:
    if not zmq.has("curve"):
        raise SystemExit("this pyzmq's libzmq has no CURVE (no libsodium)")
    pyzmq_peer.zmq = _ZmqWithCurve("zmq")
    pyzmq_peer.IMPL = IMPL
    pyzmq_peer.main()


if __name__ == "__main__":
    main()
