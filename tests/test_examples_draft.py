"""Run the draft-type examples as a user would: separate processes, real sockets.

``csserver.py``/``csclient.py`` (CLIENT/SERVER echo) and ``rdradio.py``/``rddish.py``
(RADIO/DISH weather feed by group). The binders take ``tcp://127.0.0.1:*`` and print
the endpoint they got. Every test is bounded and kills what it started.
"""

from __future__ import annotations

import subprocess
import sys

import trio
from procs import ANY_PORT, ENV, ROOT, LineReader, running

EXAMPLES = ROOT / "examples"


async def start(procs: list[LineReader], script: str, *args: str) -> LineReader:
    process = await trio.lowlevel.open_process(
        [sys.executable, "-u", str(EXAMPLES / script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=ENV,
    )
    proc = LineReader(process)
    procs.append(proc)
    return proc


async def test_client_server_echo_answers_each_client():
    """Two csclients each get their own five echoes from one csserver."""
    with trio.fail_after(30):
        async with running() as procs:
            server = await start(procs, "csserver.py", "--endpoint", ANY_PORT)
            ep = await server.endpoint("listening on ")
            clients = [
                await start(procs, "csclient.py", "--endpoint", ep, "--name", name)
                for name in ("alice", "bob")
            ]
            for name, client in zip(("alice", "bob"), clients, strict=True):
                lines = await client.read_all()
                assert await client.process.wait() == 0, lines
                assert lines == [f"Received reply: echo: {name} #{i}" for i in range(5)]
            seen = [await server.readline() for _ in range(10)]
            ids = {line.split(":")[0] for line in seen}
            assert len(ids) == 2  # one routing id per client


async def test_client_without_server_says_so():
    with trio.fail_after(30):
        async with running() as procs:
            client = await start(
                procs, "csclient.py", "--endpoint", "tcp://127.0.0.1:9", "--timeout", "0.3"
            )
            lines = await client.read_all()
            assert await client.process.wait() == 1
            assert lines == ["no reply: is csserver.py running?"]


async def test_radio_dish_weather_feed_by_group():
    """rddish gets updates of the cities it joined, and of no other."""
    with trio.fail_after(30):
        async with running() as procs:
            radio = await start(procs, "rdradio.py", "--endpoint", ANY_PORT)
            ep = await radio.endpoint("publishing on ")
            dish = await start(
                procs, "rddish.py", "--endpoint", ep, "--city", "paris", "--city", "oslo"
            )
            lines = await dish.read_all()
            assert await dish.process.wait() == 0, lines
            updates = [ln for ln in lines if ln.startswith("[")]
            assert len(updates) == 10
            assert {ln.split("]")[0][1:] for ln in updates} <= {"paris", "oslo"}
            assert any(ln.startswith("average in ") for ln in lines)
