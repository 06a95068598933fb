"""The cost of sleeping and being woken: a loopback ping-pong with no ZeroMQ at all.

Two processes send 25 bytes back and forth over one tcp connection, 20 000 round trips,
and the first prints the median and 90th-percentile round trip. The waiting side either

* ``block``: a blocking ``recv`` (the kernel wakes the thread),
* ``epoll``: ``epoll.poll`` then a non-blocking ``recv`` (an event loop's wait),
* ``trio``: ``trio.lowlevel.wait_readable`` then ``recv`` (trio's scheduler on top), or
* ``spin``: a non-blocking ``recv`` in a loop (never sleeps: one core busy).

The gap between ``spin`` and the others is what a wake-up costs on this machine; it is
why trinq's ``busy_poll`` exists (docs/design.md, "Busy polling")::

    python bench/wake_floor.py block epoll trio spin
"""

from __future__ import annotations

import os
import select
import socket
import sys
import time
from collections.abc import Callable

import trio

N = 20_000
MESSAGE = b"x" * 25


def receiver(sock: socket.socket, mode: str) -> Callable[[], bytes]:
    if mode == "block":
        return lambda: sock.recv(65536)
    sock.setblocking(False)
    if mode == "spin":

        def spin() -> bytes:
            while True:
                try:
                    return sock.recv(65536)
                except BlockingIOError:
                    pass

        return spin
    poller = select.epoll()
    poller.register(sock, select.EPOLLIN)

    def wait() -> bytes:
        while True:
            try:
                return sock.recv(65536)
            except BlockingIOError:
                poller.poll()

    return wait


def ping_pong(sock: socket.socket, mode: str, first: bool) -> list[int]:
    rtts: list[int] = []
    if mode == "trio":
        return trio.run(trio_ping_pong, sock, first)
    recv = receiver(sock, mode)
    clock = time.perf_counter_ns
    for _ in range(N):
        if first:
            start = clock()
            sock.send(MESSAGE)
            recv()
            rtts.append(clock() - start)
        else:
            recv()
            sock.send(MESSAGE)
    return rtts


async def trio_ping_pong(sock: socket.socket, first: bool) -> list[int]:
    sock.setblocking(False)
    rtts: list[int] = []
    clock = time.perf_counter_ns

    async def recv() -> bytes:
        while True:
            try:
                return sock.recv(65536)
            except BlockingIOError:
                await trio.lowlevel.wait_readable(sock)

    for _ in range(N):
        if first:
            start = clock()
            sock.send(MESSAGE)
            await recv()
            rtts.append(clock() - start)
        else:
            await recv()
            sock.send(MESSAGE)
    return rtts


def run(mode: str) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    if os.fork() == 0:
        peer = socket.create_connection(("127.0.0.1", port))
        peer.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        ping_pong(peer, mode, first=False)
        os._exit(0)
    sock, _ = listener.accept()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    rtts = sorted(ping_pong(sock, mode, first=True))
    os.wait()
    sock.close()
    listener.close()
    p50, p90 = rtts[N // 2] / 1000, rtts[N * 9 // 10] / 1000
    print(f"{mode:6} round trip p50 {p50:6.1f} us   p90 {p90:6.1f} us", flush=True)


if __name__ == "__main__":
    for mode in sys.argv[1:] or ["block", "epoll", "trio", "spin"]:
        run(mode)
