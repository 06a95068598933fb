"""A deque-with-HWM stand-in for ``trinq._pipe.Pipe`` (the routing layer's PipeLike)."""

from __future__ import annotations

from collections import deque

import trio


class FakePipe:
    """One peer: an outgoing queue bounded by *hwm* and an incoming queue.

    ``out`` is what routing sent to the peer; ``inbox`` is what the peer sent us.
    ``terminate()`` makes sends raise ``BrokenResourceError`` and, once ``inbox`` is
    drained, receives raise ``EndOfChannel`` -- as a real pipe does.
    """

    def __init__(self, name: str = "", hwm: int = 1000, routing_id: bytes = b"") -> None:
        self.name = name
        self.hwm = hwm
        self.routing_id = routing_id
        self.out: deque[list[bytes]] = deque()
        self.inbox: deque[list[bytes]] = deque()
        self.terminated = False
        self.closed_error: type[Exception] = trio.BrokenResourceError

    def __repr__(self) -> str:
        return f"FakePipe({self.name!r})"

    def send_nowait(self, msg: list[bytes]) -> None:
        if self.terminated:
            raise self.closed_error
        if len(self.out) >= self.hwm:
            raise trio.WouldBlock
        self.out.append(msg)

    def recv_nowait(self) -> list[bytes]:
        if self.inbox:
            return self.inbox.popleft()
        if self.terminated:
            raise trio.EndOfChannel
        raise trio.WouldBlock

    def writable(self) -> bool:
        return not self.terminated and len(self.out) < self.hwm

    def terminate(self, error: type[Exception] = trio.BrokenResourceError) -> None:
        self.terminated = True
        self.closed_error = error


def pipes(n: int, hwm: int = 1000) -> list[FakePipe]:
    return [FakePipe(f"p{i}", hwm=hwm) for i in range(n)]
