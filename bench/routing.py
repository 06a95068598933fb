"""Micro-benchmark of the synchronous routing pieces (no trio scheduling, no I/O).

Prints one JSON line of operations per second:

* ``lb_fq``: one ``LoadBalancer.send_nowait`` plus one ``FairQueue.recv_nowait`` over 4
  loopback pipes (what a PUSH -> PULL hop costs in routing alone);
* ``dist_send_to_all_10``: one ``Distributor.send_to_all`` to 10 pipes;
* ``trie_match_1000``: one ``SubscriptionTrie.match`` against 1000 subscriptions.

Run: ``python bench/routing.py [seconds-per-case]``.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import trio

try:
    import trinq  # noqa: F401
except ImportError:  # running from a checkout that is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trinq._routing import Distributor, FairQueue, LoadBalancer, SubscriptionTrie


class LoopPipe:
    """A bounded deque: what is sent on it can be received from it."""

    __slots__ = ("hwm", "queue", "routing_id")

    def __init__(self, hwm: int = 1_000_000) -> None:
        self.hwm = hwm
        self.queue: deque[list[bytes]] = deque()
        self.routing_id = b""

    def send_nowait(self, msg: list[bytes]) -> None:
        if len(self.queue) >= self.hwm:
            raise trio.WouldBlock
        self.queue.append(msg)

    def recv_nowait(self) -> list[bytes]:
        try:
            return self.queue.popleft()
        except IndexError:
            raise trio.WouldBlock from None

    def writable(self) -> bool:
        return len(self.queue) < self.hwm


def rate(batch: Callable[[int], None], seconds: float, n: int = 10_000) -> float:
    """Run ``batch(n)`` repeatedly for about *seconds*; return operations per second."""
    batch(n)  # warm up
    done = 0
    start = time.perf_counter()
    elapsed = 0.0
    while elapsed < seconds:
        batch(n)
        done += n
        elapsed = time.perf_counter() - start
    return done / elapsed


def bench_lb_fq(seconds: float) -> float:
    lb, fq = LoadBalancer(), FairQueue()
    for _ in range(4):
        pipe = LoopPipe()
        lb.attach(pipe)
        fq.attach(pipe)
    msg = [b"x" * 32]
    send, recv = lb.send_nowait, fq.recv_nowait

    def batch(n: int) -> None:
        for _ in range(n):
            send(msg)
            recv()

    return rate(batch, seconds)


def bench_dist(seconds: float) -> float:
    dist = Distributor()
    pipes = [LoopPipe() for _ in range(10)]
    for pipe in pipes:
        dist.attach(pipe)
    msg = [b"topic", b"x" * 32]
    send_to_all = dist.send_to_all

    def batch(n: int) -> None:
        for _ in range(n):
            send_to_all(msg)
        for pipe in pipes:
            pipe.queue.clear()

    return rate(batch, seconds)


def bench_trie(seconds: float) -> float:
    trie = SubscriptionTrie()
    subscribers = [LoopPipe() for _ in range(50)]
    for i in range(1000):
        # topics of assorted lengths: "a.<i>", "sensor/<i>/temp", ...
        topic = (b"a.%d", b"sensor/%d/temp", b"market.quote.%d")[i % 3] % i
        trie.add(topic, subscribers[i % 50])
    data = b"sensor/502/temp 21.5C"
    match = trie.match
    if match(data) != {subscribers[502 % 50]}:
        raise RuntimeError("benchmark trie does not match as expected")

    def batch(n: int) -> None:
        for _ in range(n):
            match(data)

    return rate(batch, seconds)


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 0.5
    result = {
        "bench": "routing",
        "python": platform.python_version(),
        "lb_fq_ops_per_s": round(bench_lb_fq(seconds)),
        "dist_send_to_all_10_ops_per_s": round(bench_dist(seconds)),
        "trie_match_1000_ops_per_s": round(bench_trie(seconds)),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
