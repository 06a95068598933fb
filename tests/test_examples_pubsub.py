"""Run the pub-sub examples as real processes with small counts and check their output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import trio

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


async def start_publisher(script: str, *args: str) -> tuple[trio.Process, str]:
    """Start a publisher bound to a free port; return it and the endpoint it printed."""
    proc = await trio.lowlevel.open_process(
        [sys.executable, str(EXAMPLES / script), "--endpoint", "tcp://127.0.0.1:*", *args],
        stdout=subprocess.PIPE,
        env=ENV,
    )
    assert proc.stdout is not None
    line = b""
    while not line.endswith(b"\n"):
        chunk = await proc.stdout.receive_some(1)
        assert chunk, f"{script} exited before printing its endpoint"
        line += chunk
    assert line.startswith(b"publishing on tcp://127.0.0.1:"), line
    return proc, line.split()[-1].decode()


async def run_client(script: str, *args: str) -> str:
    result = await trio.run_process(
        [sys.executable, str(EXAMPLES / script), *args], capture_stdout=True, env=ENV
    )
    return result.stdout.decode()


async def stop(proc: trio.Process) -> None:
    if proc.returncode is None:
        proc.terminate()
    with trio.move_on_after(5):
        await proc.wait()
    if proc.returncode is None:
        proc.kill()
        await proc.wait()


async def test_wuserver_wuclient():
    with trio.fail_after(60):
        server, endpoint = await start_publisher("wuserver.py", "--zips", "10", "--count", "0")
        try:
            out = await run_client("wuclient.py", "10003", "--endpoint", endpoint, "--updates", "5")
        finally:
            await stop(server)
    assert "for zip 10003" in out
    assert "Average temperature for zipcode '10003' was " in out
    average = float(out.rsplit(" was ", 1)[1].rstrip().rstrip("F"))
    assert -80 <= average < 135


async def test_psenvpub_psenvsub():
    with trio.fail_after(60):
        pub, endpoint = await start_publisher("psenvpub.py", "--count", "0", "--interval", "0.01")
        try:
            out = await run_client("psenvsub.py", "--endpoint", endpoint, "--count", "3")
        finally:
            await stop(pub)
    assert out.splitlines() == ["[B] We would like to see this"] * 3
