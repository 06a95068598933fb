"""PipeRing: the rotation shared by the load balancer and the fair queue.

Both keep their pipes in a list with a cursor (libzmq's ``lb_t``/``fq_t`` keep
an array and a ``_current`` index); attaching appends, detaching keeps the
rotation order and moves the cursor so the next pipe in turn stays next.
"""

from __future__ import annotations

from typing import Generic

import attrs

from .pipe_like import PipeT

__all__ = ["PipeRing"]


@attrs.define(eq=False)
class PipeRing(Generic[PipeT]):
    """A list of pipes plus a round-robin cursor."""

    _pipes: list[PipeT] = attrs.field(factory=list, init=False)
    _current: int = attrs.field(default=0, init=False)

    @property
    def pipes(self) -> tuple[PipeT, ...]:
        """The attached pipes, in round-robin order."""
        return tuple(self._pipes)

    def __len__(self) -> int:
        return len(self._pipes)

    def attach(self, pipe: PipeT) -> None:
        """Add *pipe* at the end of the rotation (no-op if already attached)."""
        if pipe not in self._pipes:
            self._pipes.append(pipe)
            self._changed()

    def detach(self, pipe: PipeT) -> None:
        """Remove *pipe*; idempotent. The rotation continues with the next pipe."""
        try:
            index = self._pipes.index(pipe)
        except ValueError:
            return
        self._remove_at(index)

    def _remove_at(self, index: int) -> None:
        del self._pipes[index]
        if index < self._current:
            self._current -= 1
        if self._current >= len(self._pipes):
            self._current = 0
        self._changed()

    def _changed(self) -> None:
        """The set of pipes changed (subclasses may react)."""
