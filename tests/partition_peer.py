"""A trinq peer for tests/test_partition.py, run inside a network namespace.

    ip netns exec <ns> python3 tests/partition_peer.py '<json config>'

The config is ``{"role": "pull" | "push", "endpoint": ..., "options": {...}}``; the
options are given to ``ctx.socket``. The peer talks to the test in JSON lines:

stdout, one object per line:

* ``{"ready": endpoint}`` once bound (pull: the real port) or connecting (push);
* ``{"event": name, "t": time.monotonic(), "value": ..., "reason": ...}`` for every
  monitor event (CLOCK_MONOTONIC is the machine's, so the test can compare it with
  its own ``time.monotonic()``);
* pull: ``{"recv": n}`` for every message received (each message is ``b"%d" % n``);
* push: ``{"done": command, ...}`` after each command, with the socket's statistics.

stdin (push), one command per line:

* ``{"send": [start, stop], "dontwait": bool}`` sends ``start .. stop-1``; with
  ``dontwait`` a send that would wait is an error (``{"done": "send", "again": n}``);
* ``{"stats": true}`` only reports the statistics.

Both end when stdin closes: the sockets are closed with linger 0.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import trio
from procs import Lines

import trinq


def emit(**obj: Any) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def stats(sock: trinq.Socket) -> dict[str, Any]:
    st = sock.statistics()
    return {
        "peers": st.peers,
        "queued": sum(p.outbound_queued for p in st.pipes),
        "connected": sum(p.connected for p in st.pipes),
        "messages_out": st.messages_out,
    }


async def report(monitor: trinq.Monitor) -> None:
    async for ev in monitor:
        emit(event=ev.event.name, t=time.monotonic(), value=ev.value, reason=ev.reason)


async def receive_all(pull: trinq.Socket) -> None:
    while True:
        emit(recv=int(await pull.recv()))


async def obey(push: trinq.Socket, command: dict[str, Any]) -> None:
    if "send" in command:
        start, stop = command["send"]
        flags = trinq.DONTWAIT if command.get("dontwait") else 0
        for n in range(start, stop):
            try:
                await push.send(b"%d" % n, flags)
            except trinq.Again:
                emit(done="send", again=n, stats=stats(push))
                return
        emit(done="send", stats=stats(push))
    else:
        emit(done="stats", stats=stats(push))


async def main(config: dict[str, Any]) -> None:
    stdin = Lines(trio.lowlevel.FdStream(os.dup(0)))
    async with trinq.Context() as ctx:
        sock = ctx.socket(getattr(trinq, config["role"].upper()), **config["options"])
        async with trio.open_nursery() as nursery:
            nursery.start_soon(report, sock.monitor())
            if config["role"] == "pull":
                emit(ready=await sock.bind(config["endpoint"]))
                nursery.start_soon(receive_all, sock)
            else:
                sock.connect(config["endpoint"])
                emit(ready=config["endpoint"])
            try:
                while True:
                    await obey(sock, json.loads(await stdin.readline()))
            except EOFError:
                pass
            nursery.cancel_scope.cancel()
        sock.close(linger=0)


if __name__ == "__main__":
    trio.run(main, json.loads(sys.argv[1]))
