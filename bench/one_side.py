"""One side of a stream against a raw peer that costs next to nothing; one JSON line.

The two-process ``thr`` benchmark measures the slower of sender and receiver, on a
machine whose other core runs the other one. This measures one side alone, as CPU
per message, against a plain-socket peer: a sink that discards (``send``) or a
blaster that writes pre-encoded frames in one ``sendall`` (``recv``), each with a
hand-made NULL handshake::

    python bench/one_side.py send [N] [SIZE]   # trinq PUSH -> raw sink
    python bench/one_side.py recv [N] [SIZE]   # raw blaster -> trinq PULL
    python bench/one_side.py pub [N] [SIZE] [SUBS]  # trinq XPUB -> SUBS raw sinks (10)

``pub`` measures PUB's fan-out (an XPUB, whose ``xpub_verbose`` reports each sink's
subscription, so the timing starts once all of them are subscribed; XPUB sends as PUB
does); its CPU is per message published, to every sink.

Run it from two checkouts (``PYTHONPATH=<checkout>``), interleaved and several times,
to compare a change: the machine's noise is larger than most single changes.
"""

from __future__ import annotations

import json
import multiprocessing
import resource
import selectors
import socket
import sys
import time

import trio

import trinq


def _greeting() -> bytes:
    return b"\xff" + bytes(8) + b"\x7f\x03\x01" + b"NULL".ljust(20, b"\0") + bytes(32)


def _ready(socket_type: bytes) -> bytes:
    body = b"\x05READY\x0bSocket-Type" + len(socket_type).to_bytes(4, "big") + socket_type
    return b"\x04" + bytes([len(body)]) + body


def _sub_sinks(port: int, subs: int) -> None:
    """``subs`` raw SUB connections, each subscribed to everything, drained until closed."""
    sel = selectors.DefaultSelector()
    for _ in range(subs):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(_greeting() + _ready(b"SUB") + b"\x04\x0a\x09SUBSCRIBE")
        sel.register(s, selectors.EVENT_READ)
    buf = bytearray(1 << 20)
    open_ = subs
    while open_:
        for key, _ in sel.select():
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            if not sock.recv_into(buf):
                sel.unregister(sock)
                sock.close()
                open_ -= 1


def _raw_peer(mode: str, port: int, n: int, size: int) -> None:
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(_greeting() + _ready(b"PULL" if mode == "sink" else b"PUSH"))
    if mode == "sink":
        buf = bytearray(1 << 20)
        while s.recv_into(buf):
            pass
    else:
        header = bytes([0, size]) if size < 256 else b"\x02" + size.to_bytes(8, "big")
        payload = (header + b"x" * size) * n
        got = b""
        while len(got) < 66 or len(got) < 66 + got[65]:  # its greeting and READY, whole
            got += s.recv(4096)  # (a close with unread input would reset the stream)
        s.sendall(payload)
        while s.recv(4096):  # until trinq closes
            pass
    s.close()


def _faults() -> int:
    """Minor page faults of this process so far (memory the kernel had to map)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


async def _run(mode: str, n: int, size: int, subs: int = 10) -> dict[str, object]:
    async with trinq.Context() as ctx:
        if mode == "pub":
            sock = ctx.socket(trinq.XPUB, xpub_verbose=True, sndhwm=0)
        else:
            sock = ctx.socket(trinq.PUSH if mode == "send" else trinq.PULL)
        port = int((await sock.bind("tcp://127.0.0.1:0")).rsplit(":", 1)[1])
        if mode == "pub":
            peer = multiprocessing.Process(target=_sub_sinks, args=(port, subs))
        else:
            peer = multiprocessing.Process(
                target=_raw_peer, args=("sink" if mode == "send" else "blast", port, n, size)
            )
        peer.start()
        if mode != "recv":
            msg = b"x" * size
            send = sock.send
            if mode == "pub":
                for _ in range(subs):  # every sink's subscription (xpub_verbose)
                    assert await sock.recv() == b"\x01"
            await send(msg)
            f0, c0, t0 = _faults(), time.process_time(), time.perf_counter()
            for _ in range(n - 1):
                await send(msg)
            f1, c1, t1 = _faults(), time.process_time(), time.perf_counter()
            sock.close(linger=-1)
        else:
            recv = sock.recv
            await recv()
            f0, c0, t0 = _faults(), time.process_time(), time.perf_counter()
            for _ in range(n - 1):
                await recv()
            f1, c1, t1 = _faults(), time.process_time(), time.perf_counter()
            sock.close(linger=0)
    peer.join()
    return {
        "bench": "one_side",
        "side": mode,
        "size": size,
        "count": n,
        "cpu_us_per_msg": round((c1 - c0) / (n - 1) * 1e6, 3),
        "msgs_per_s": round((n - 1) / (t1 - t0)),
        "minor_faults_per_msg": round((f1 - f0) / (n - 1), 3),
    }


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else "recv"
    if mode not in ("send", "recv", "pub"):
        raise SystemExit("usage: one_side.py send|recv|pub [N] [SIZE] [SUBS]")
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    size = int(sys.argv[3]) if len(sys.argv) > 3 else 16
    subs = int(sys.argv[4]) if len(sys.argv) > 4 else 10
    print(json.dumps(trio.run(_run, mode, n, size, subs)))


if __name__ == "__main__":
    main()
