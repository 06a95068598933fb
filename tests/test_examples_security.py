"""Run the Ironhouse examples as a user would: certificates from ``trinq keygen``, then
the server and clients as processes (CURVE + trinq.auth.Authenticator)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import trio
from procs import ANY_PORT, ENV, ROOT, LineReader, running

EXAMPLES = ROOT / "examples"


async def start(procs: list[LineReader], *argv: str) -> LineReader:
    process = await trio.lowlevel.open_process(
        [sys.executable, "-u", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=ENV,
    )
    proc = LineReader(process)
    procs.append(proc)
    return proc


async def test_ironhouse_lets_in_only_the_authorized_client(tmp_path):
    certs = tmp_path / "certs"
    with trio.fail_after(40):
        for name in ("server", "client", "stranger"):
            await trio.run_process(
                [sys.executable, "-m", "trinq", "keygen", "--directory", str(certs), name],
                env=ENV,
                capture_stdout=True,
            )
        (certs / "authorized").mkdir()
        shutil.copy(certs / "client.key", certs / "authorized")
        async with running() as procs:
            server = await start(
                procs, str(EXAMPLES / "ironhouse_server.py"), "--certs", str(certs),
                "--endpoint", ANY_PORT, "--count", "3",
            )  # fmt: skip
            line = await server.readline()
            assert line.startswith("listening on tcp://127.0.0.1:"), line
            ep = line.split()[2]
            stranger = await start(
                procs, str(EXAMPLES / "ironhouse_client.py"), "--certs", str(certs),
                "--endpoint", ep, "--name", "stranger", "--count", "1",
            )  # fmt: skip
            lines = await stranger.read_all()
            assert await stranger.process.wait() == 1, lines
            assert "refused by the server: ZAP status 400" in lines
            assert await server.readline() == "refused a client: ZAP status 400"
            client = await start(
                procs, str(EXAMPLES / "ironhouse_client.py"), "--certs", str(certs),
                "--endpoint", ep, "--count", "3",
            )  # fmt: skip
            lines = await client.read_all()
            assert await client.process.wait() == 0, lines
            assert lines == [f"Ironhouse message {i}" for i in range(3)]
            assert (await server.read_all())[-1] == "all sent"
            assert await server.process.wait() == 0
