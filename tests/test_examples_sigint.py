"""Ctrl-C ends the long-running examples quietly: exit status 130 and no traceback.

Each example runs as a real process bound to free ports on 127.0.0.1. The test waits
for the endpoint line it prints, exchanges one message with it through trinq (so it
is past start-up and idle in its loop, where a user would press Ctrl-C), then sends
SIGINT. The example's ``except KeyboardInterrupt: sys.exit(130)`` only works if the
KeyboardInterrupt comes out of ``trio.run`` as itself: wrapped in an exception group
(by the example's own nursery, or by trinq's ``Context`` / ``Socket`` exits) it
escapes as a traceback and exit status 1, which is what these tests catch.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest
import trio
from procs import LineReader, sigint_inherited_as_default

import trinq

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX SIGINT")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    "PYTHONUNBUFFERED": "1",
}
ANY_PORT = "tcp://127.0.0.1:*"


class Child(LineReader):
    """An example process: stdout read line by line, stderr collected in a file."""

    def __init__(self, process: trio.Process, stderr: Path) -> None:
        super().__init__(process)
        self.stderr_path = stderr

    def ended_message(self) -> str:
        return f"exited; stdout {self.lines}, stderr:\n{self.stderr()}"

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")


Spawn = Callable[..., Awaitable[Child]]


# --- one scenario per example: start it, check it works, yield it still connected ---
#
# SIGINT is sent while the test's sockets are still connected, so the example is idle
# in its loop (as when a user presses Ctrl-C), not busy tearing down connections.


@asynccontextmanager
async def hwserver(ctx: trinq.Context, spawn: Spawn) -> AsyncIterator[Child]:
    child = await spawn("hwserver.py", "--endpoint", ANY_PORT)
    endpoint = await child.endpoint("listening on ")
    async with ctx.socket(trinq.REQ, linger=0) as req:
        req.connect(endpoint)
        await req.send(b"Hello")
        assert await req.recv() == b"World"
        yield child


@asynccontextmanager
async def lpserver(ctx: trinq.Context, spawn: Spawn) -> AsyncIterator[Child]:
    child = await spawn("lpserver.py", "--endpoint", ANY_PORT)
    endpoint = await child.endpoint("listening on ")
    async with ctx.socket(trinq.REQ, linger=0) as req:
        req.connect(endpoint)
        await req.send(b"1")
        assert await req.recv() == b"1"
        yield child


@asynccontextmanager
async def rrworker(ctx: trinq.Context, spawn: Spawn) -> AsyncIterator[Child]:
    # The worker connects and prints nothing until a request: the reply is the sign.
    async with ctx.socket(trinq.REQ, linger=0) as req:
        child = await spawn("rrworker.py", "--endpoint", await req.bind(ANY_PORT))
        await req.send(b"Hello")
        assert await req.recv() == b"World"
        assert await child.readline() == "worker: received request: Hello"
        yield child


@asynccontextmanager
async def rrbroker(ctx: trinq.Context, spawn: Spawn) -> AsyncIterator[Child]:
    child = await spawn("rrbroker.py", "--frontend", ANY_PORT, "--backend", ANY_PORT)
    frontend = await child.endpoint("clients connect to ")
    backend = await child.endpoint("workers connect to ")
    async with ctx.socket(trinq.REQ, linger=0) as client, ctx.socket(trinq.REP) as worker:
        client.connect(frontend)
        worker.connect(backend)
        await client.send(b"Hello")
        assert await worker.recv() == b"Hello"
        await worker.send(b"World")
        assert await client.recv() == b"World"
        yield child


@asynccontextmanager
async def wuserver(ctx: trinq.Context, spawn: Spawn) -> AsyncIterator[Child]:
    child = await spawn("wuserver.py", "--endpoint", ANY_PORT, "--count", "0")
    endpoint = await child.endpoint("publishing on ")
    async with ctx.socket(trinq.SUB) as sub:
        sub.connect(endpoint)
        sub.subscribe(b"")
        assert len((await sub.recv_string()).split()) == 3
        yield child


@asynccontextmanager
async def psenvpub(ctx: trinq.Context, spawn: Spawn) -> AsyncIterator[Child]:
    child = await spawn("psenvpub.py", "--endpoint", ANY_PORT, "--count", "0", "--interval", "0.01")
    endpoint = await child.endpoint("publishing on ")
    async with ctx.socket(trinq.SUB) as sub:
        sub.connect(endpoint)
        sub.subscribe(b"B")
        assert await sub.recv_multipart() == [b"B", b"We would like to see this"]
        yield child


@asynccontextmanager
async def wuproxy(ctx: trinq.Context, spawn: Spawn) -> AsyncIterator[Child]:
    # An XPUB stands in for the weather server: it sees the subscription arrive
    # through the proxy, so the update it then sends is not lost to the slow joiner.
    async with ctx.socket(trinq.XPUB, linger=0) as server, ctx.socket(trinq.SUB) as client:
        upstream = await server.bind(ANY_PORT)
        child = await spawn(
            "wuproxy.py", "--frontend", upstream, "--backend", ANY_PORT, "--count", "0"
        )
        downstream = await child.endpoint(f"proxying {upstream} -> ")
        client.connect(downstream)
        client.subscribe(b"10001 ")
        assert await server.recv() == b"\x0110001 "
        await server.send(b"10001 70 40")
        assert await client.recv() == b"10001 70 40"
        yield child


SCENARIOS = [hwserver, lpserver, rrworker, rrbroker, wuserver, psenvpub, wuproxy]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: f"{s.__name__}.py")
async def test_ctrl_c_exits_130_without_traceback(
    scenario: Callable[[trinq.Context, Spawn], AbstractAsyncContextManager[Child]],
    ctx: trinq.Context,
    tmp_path: Path,
) -> None:
    children: list[Child] = []

    async def spawn(script: str, *args: str) -> Child:
        stderr = tmp_path / f"{script}.stderr"
        with stderr.open("wb") as errfile, sigint_inherited_as_default():
            process = await trio.lowlevel.open_process(
                [sys.executable, str(EXAMPLES / script), *args],
                stdout=subprocess.PIPE,
                stderr=errfile,
                env=ENV,
            )
        children.append(Child(process, stderr))
        return children[-1]

    with trio.fail_after(20):
        try:
            async with scenario(ctx, spawn) as child:
                child.process.send_signal(signal.SIGINT)
                status = await child.process.wait()
            stderr = child.stderr()
            assert "Traceback" not in stderr, stderr
            assert "ExceptionGroup" not in stderr, stderr
            assert status == 130, f"exit status {status}; stderr:\n{stderr}"
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(5):
                for c in children:
                    if c.process.returncode is None:
                        c.process.kill()
                    await c.process.wait()
