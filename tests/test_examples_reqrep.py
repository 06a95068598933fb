"""Run the request-reply examples as a user would: separate processes, real sockets.

Servers bind ``tcp://127.0.0.1:*`` and print the endpoint they got; the test hands it
to the client. Every test is bounded by ``trio.fail_after`` and kills what it started.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import trio
from procs import LineReader

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
}


class Proc(LineReader):
    """A child process whose stdout (with stderr) is read line by line."""


async def start(script: str, *args: str) -> Proc:
    process = await trio.lowlevel.open_process(
        [sys.executable, "-u", str(EXAMPLES / script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=ENV,
    )
    return Proc(process)


async def bound_endpoint(server: Proc) -> str:
    line = await server.readline()
    assert line.startswith("listening on tcp://127.0.0.1:"), line
    return line.removeprefix("listening on ")


async def stop(proc: Proc) -> None:
    if proc.process.returncode is None:
        proc.process.kill()
    await proc.process.wait()


async def test_hello_world():
    """hwclient gets a "World" for each "Hello" from hwserver."""
    with trio.fail_after(20):
        server = await start("hwserver.py", "--endpoint", "tcp://127.0.0.1:*")
        try:
            ep = await bound_endpoint(server)
            client = await start("hwclient.py", "--endpoint", ep, "--requests", "3")
            lines = await client.read_all()
            assert await client.process.wait() == 0, lines
            assert [ln for ln in lines if ln.startswith("Received reply")] == [
                f"Received reply {n} [ World ]" for n in range(3)
            ]
            for _ in range(3):
                assert await server.readline() == "Received request: Hello"
        finally:
            await stop(server)


async def test_lazy_pirate_survives_server_crash():
    """lpclient times out on the crashed lpserver, recreates its REQ socket, resends,
    and finishes against a restarted server on the same endpoint."""
    with trio.fail_after(30):
        first = await start("lpserver.py", "--endpoint", "tcp://127.0.0.1:*", "--crash-after", "2")
        try:
            ep = await bound_endpoint(first)
            client = await start(
                "lpclient.py",
                "--endpoint",
                ep,
                "--requests",
                "4",
                "--timeout",
                "1",
                "--retries",
                "10",
            )
            try:
                assert await first.process.wait() == 3  # the simulated crash
                assert (await first.read_all())[-1] == "I: simulating a crash"
                second = await start("lpserver.py", "--endpoint", ep)
                try:
                    assert await bound_endpoint(second) == ep
                    lines = await client.read_all()
                    assert await client.process.wait() == 0, lines
                finally:
                    await stop(second)
            finally:
                await stop(client)
        finally:
            await stop(first)
        assert [ln for ln in lines if ln.startswith("I: server replied OK")] == [
            f"I: server replied OK ({n})" for n in range(1, 5)
        ]
        assert "W: no response from server" in lines
        assert "I: reconnecting to server" in lines
        assert "I: resending (3)" in lines


async def test_lazy_pirate_gives_up_without_server(tmp_path):
    """With no server at all, lpclient abandons after --retries tries (exit status 1)."""
    with trio.fail_after(20):
        client = await start(
            "lpclient.py",
            "--endpoint",
            f"ipc://{tmp_path}/nobody.ipc",
            "--requests",
            "1",
            "--timeout",
            "0.2",
            "--retries",
            "2",
        )
        lines = await client.read_all()
        assert await client.process.wait() == 1, lines
        assert lines[-1] == "E: server seems to be offline, abandoning"
        assert lines.count("W: no response from server") == 2
