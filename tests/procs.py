"""A child process read line by line (the example tests drive examples/ this way)."""

from __future__ import annotations

import trio


class LineReader:
    """A child process whose stdout is read line by line (``lines`` keeps them all)."""

    def __init__(self, process: trio.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        self._buffer = b""

    def ended_message(self) -> str:
        """What EOFError says when the process ends before a whole line."""
        return f"process ended; output so far: {self.lines}"

    async def readline(self) -> str:
        assert self.process.stdout is not None
        while b"\n" not in self._buffer:
            chunk = await self.process.stdout.receive_some()
            if not chunk:
                raise EOFError(self.ended_message())
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        self.lines.append(line.decode())
        return self.lines[-1]

    async def read_all(self) -> list[str]:
        """Every line until the process closes stdout (a last partial one too)."""
        try:
            while True:
                await self.readline()
        except EOFError:
            pass
        if self._buffer:
            self.lines.append(self._buffer.decode())
            self._buffer = b""
        return self.lines
