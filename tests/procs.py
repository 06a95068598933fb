"""Child processes for the tests that run examples/ and ``python -m trinq``: their pipes
read line by line, the environment they need, and a clean Ctrl-C."""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TypeVar

import trio

ROOT = Path(__file__).resolve().parent.parent
#: The environment of a child: this checkout importable, output unbuffered.
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    "PYTHONUNBUFFERED": "1",
}
ANY_PORT = "tcp://127.0.0.1:*"


class Lines:
    """One pipe of a child process, read line by line (``lines`` keeps them all)."""

    def __init__(self, stream: trio.abc.ReceiveStream) -> None:
        self.stream = stream
        self.lines: list[str] = []
        self._buffer = b""

    def ended_message(self) -> str:
        """What EOFError says when the pipe closes before a whole line."""
        return f"the process closed the pipe; lines so far: {self.lines}"

    async def readline(self) -> str:
        while b"\n" not in self._buffer:
            chunk = await self.stream.receive_some()
            if not chunk:
                raise EOFError(self.ended_message())
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        self.lines.append(line.decode())
        return self.lines[-1]

    async def read_all(self) -> list[str]:
        """Every line until EOF (a last partial one too); returns all lines read."""
        try:
            while True:
                await self.readline()
        except EOFError:
            pass
        if self._buffer:
            self.lines.append(self._buffer.decode())
            self._buffer = b""
        return self.lines

    rest = read_all


class LineReader(Lines):
    """A child process whose stdout is read line by line."""

    def __init__(self, process: trio.Process) -> None:
        assert process.stdout is not None
        super().__init__(process.stdout)
        self.process = process

    def ended_message(self) -> str:
        return f"process ended; output so far: {self.lines}"

    async def endpoint(self, prefix: str) -> str:
        """Read the next line, which must be ``prefix`` + a 127.0.0.1 endpoint."""
        line = await self.readline()
        assert line.startswith(prefix + "tcp://127.0.0.1:"), line
        return line.removeprefix(prefix)


@contextmanager
def sigint_inherited_as_default() -> Iterator[None]:
    """A child inherits an *ignored* SIGINT when pytest runs as a shell's background
    job, and then never raises KeyboardInterrupt. A Python-level handler is reset to the
    default by exec, so install a no-op one while spawning."""
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        yield
        return
    signal.signal(signal.SIGINT, lambda signum, frame: None)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


P = TypeVar("P", bound=LineReader)


@asynccontextmanager
async def running() -> AsyncIterator[list[P]]:
    """Collect the processes a test starts; kill leftovers at the end."""
    procs: list[P] = []
    try:
        yield procs
    finally:
        with trio.CancelScope(shield=True), trio.move_on_after(5):
            for proc in procs:
                if proc.process.returncode is None:
                    proc.process.kill()
                await proc.process.wait()
