"""PAIR (RFC 31), PUSH and PULL (RFC 30)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import trio

from .._routing import LoadBalancer
from ._base import FairQueueReceiver, Pattern, only_pipe, register_pattern

if TYPE_CHECKING:
    from .._options import Options
    from .._pipe import Pipe

__all__ = ["Pair", "Pull", "Push"]

Msg = list[bytes]


@register_pattern
class Push(Pattern):
    """Round-robin to available peers; block when none (RFC 30)."""

    socket_type = "PUSH"
    accepts_inbound = False

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self._lb: LoadBalancer[Pipe] = LoadBalancer(on_change=self._lb_changed)
        self.send_nowait = self._lb.send_nowait  # type: ignore[method-assign,assignment]

    def _lb_changed(self) -> None:
        self._set_send_pipe(only_pipe(self._lb))

    def attach(self, pipe: Pipe) -> None:
        self._lb.attach(pipe)

    def detach(self, pipe: Pipe) -> None:
        self._lb.detach(pipe)


@register_pattern
class Pull(FairQueueReceiver):
    """Fair-queue from every peer (RFC 30)."""

    socket_type = "PULL"
    sends = False

    def attach(self, pipe: Pipe) -> None:
        self._fq.attach(pipe)


@register_pattern
class Pair(FairQueueReceiver):
    """Exclusive pair: at most one peer at a time (RFC 31).

    A second peer's connection is refused while the first one's pipe is alive,
    as libzmq does.
    """

    socket_type = "PAIR"
    replies_to_receives = True

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self._pipe: Pipe | None = None

    def accepts_pipe(self, pipe: Pipe) -> bool:
        return self._pipe is None or self._pipe is pipe

    def attach(self, pipe: Pipe) -> None:
        self._pipe = pipe
        self._fq.attach(pipe)

    def detach(self, pipe: Pipe) -> None:
        if self._pipe is pipe:
            self._pipe = None

    def send_nowait(self, msg: Msg) -> None:
        pipe = self._pipe
        if pipe is None:
            raise trio.WouldBlock
        try:
            pipe.send_nowait(msg)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            self._pipe = None
            raise trio.WouldBlock from None
