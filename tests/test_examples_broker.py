"""Run the broker examples (msgqueue.py, mtserver.py) and mspoller.py as a user would:
separate processes, real sockets on 127.0.0.1, the zguide clients as peers.

The examples bind ``tcp://127.0.0.1:*`` and print the endpoint they got; the test hands
it on (or binds itself, for the peers mspoller.py connects to). Every test is bounded
by ``trio.fail_after`` and kills what it started. msgqueue.py and mtserver.py need
``trinq.proxy``; mspoller.py needs ``trinq.Poller``.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
import trio
from procs import ANY_PORT, ENV, LineReader, running, sigint_inherited_as_default

import trinq

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX only")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


async def start(procs: list[LineReader], script: str, *args: str) -> LineReader:
    with sigint_inherited_as_default():
        process = await trio.lowlevel.open_process(
            [sys.executable, "-u", str(EXAMPLES / script), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=ENV,
        )
    procs.append(LineReader(process))
    return procs[-1]


async def interrupt(child: LineReader) -> None:
    """Ctrl-C the (idle) child: it must exit 130, quietly."""
    child.process.send_signal(signal.SIGINT)
    status = await child.process.wait()
    output = "\n".join(await child.read_all())
    assert "Traceback" not in output, output
    assert "ExceptionGroup" not in output, output
    assert status == 130, f"exit status {status}; output:\n{output}"


# --- msgqueue.py: rrbroker in one trinq.proxy call ---------------------------------


async def test_msgqueue_between_rrclient_and_rrworker():
    with trio.fail_after(20):
        async with running() as procs:
            broker = await start(
                procs, "msgqueue.py", "--frontend", ANY_PORT, "--backend", ANY_PORT
            )
            frontend = await broker.endpoint("clients connect to ")
            backend = await broker.endpoint("workers connect to ")
            worker = await start(procs, "rrworker.py", "--endpoint", backend, "--count", "3")
            client = await start(procs, "rrclient.py", "--endpoint", frontend, "--requests", "3")
            lines = await client.read_all()
            assert await client.process.wait() == 0, lines
            assert lines == [f"Received reply {n} [World]" for n in range(3)]
            lines = await worker.read_all()
            assert await worker.process.wait() == 0, lines
            assert lines == ["worker: received request: Hello"] * 3
            await interrupt(broker)


async def test_msgqueue_keeps_envelopes(ctx: trinq.Context):
    """Two trinq REQ clients through the queue to one REP: each gets its own reply."""
    with trio.fail_after(20):
        async with running() as procs:
            broker = await start(
                procs, "msgqueue.py", "--frontend", ANY_PORT, "--backend", ANY_PORT
            )
            frontend = await broker.endpoint("clients connect to ")
            backend = await broker.endpoint("workers connect to ")
            async with (
                ctx.socket(trinq.REQ, linger=0) as alice,
                ctx.socket(trinq.REQ, linger=0) as bob,
                ctx.socket(trinq.REP) as worker,
            ):
                worker.connect(backend)
                for client in (alice, bob):
                    client.connect(frontend)
                await alice.send(b"alice")
                await bob.send(b"bob")
                for _ in range(2):
                    await worker.send(b"re: " + await worker.recv())
                assert await bob.recv() == b"re: bob"
                assert await alice.recv() == b"re: alice"
                await interrupt(broker)


# --- mtserver.py: ROUTER -> proxy -> DEALER on inproc -> 5 REP worker tasks -------


async def test_mtserver_answers_hwclient():
    """hwclient's requests go round-robin over the five workers, one each."""
    with trio.fail_after(20):
        async with running() as procs:
            server = await start(procs, "mtserver.py", "--endpoint", ANY_PORT, "--work", "0")
            endpoint = await server.endpoint("listening on ")
            client = await start(procs, "hwclient.py", "--endpoint", endpoint, "--requests", "5")
            lines = await client.read_all()
            assert await client.process.wait() == 0, lines
            assert [ln for ln in lines if ln.startswith("Received reply")] == [
                f"Received reply {n} [ World ]" for n in range(5)
            ]
            assert [await server.readline() for _ in range(5)] == [
                f"worker {n}: received request: Hello" for n in range(1, 6)
            ]
            await interrupt(server)


async def test_mtserver_serves_clients_in_parallel(ctx: trinq.Context):
    """Five REQ clients at once: five workers take a request each while the first is
    still "working" (each works 2 s, so they can only all start if they run at once)."""
    with trio.fail_after(20):
        async with running() as procs:
            server = await start(procs, "mtserver.py", "--endpoint", ANY_PORT, "--work", "2")
            endpoint = await server.endpoint("listening on ")
            clients = [ctx.socket(trinq.REQ, linger=0) for _ in range(5)]
            try:
                for n, client in enumerate(clients):
                    client.connect(endpoint)
                    await client.send(f"Hello {n}".encode())
                with trio.fail_after(1.5):  # well before the first 2 s of work are over
                    started = {(await server.readline()).split(":")[0] for _ in clients}
                assert started == {f"worker {n}" for n in range(1, 6)}
                for client in clients:
                    assert await client.recv() == b"World"
            finally:
                for client in clients:
                    await client.aclose()
            await interrupt(server)


# --- mspoller.py: one trinq.Poller over a PULL and a SUB ----------------------------


async def test_mspoller_receives_from_push_and_pub(ctx: trinq.Context):
    """A task from the test's PUSH and a weather update from its XPUB (a PUB that shows
    the subscription arriving, so the update is not sent before mspoller listens)."""
    with trio.fail_after(20):
        async with (
            ctx.socket(trinq.PUSH, linger=0) as tasks,
            ctx.socket(trinq.XPUB, linger=0) as weather,
            running() as procs,
        ):
            poller = await start(
                procs,
                "mspoller.py",
                *("--ventilator", await tasks.bind(ANY_PORT)),
                *("--weather", await weather.bind(ANY_PORT)),
                "--count",
                "2",
            )
            assert await weather.recv() == b"\x0110001 "
            await weather.send(b"100010 1 1")  # not 10001: the subscription ends in a space
            await weather.send(b"10001 70 40")
            await tasks.send(b"42")
            lines = await poller.read_all()
            assert await poller.process.wait() == 0, lines
            assert sorted(lines) == ["task: 42", "weather update: 10001 70 40"]


async def test_mspoller_ctrl_c_exits_130_without_traceback(ctx: trinq.Context):
    with trio.fail_after(20):
        async with (
            ctx.socket(trinq.PUSH, linger=0) as tasks,
            ctx.socket(trinq.PUB, linger=0) as weather,
            running() as procs,
        ):
            poller = await start(
                procs,
                "mspoller.py",
                *("--ventilator", await tasks.bind(ANY_PORT)),
                *("--weather", await weather.bind(ANY_PORT)),
            )
            await tasks.send(b"1")
            # It may still be on its way back into poll(): a Ctrl-C anywhere there must
            # exit quietly too (trinq's nursery-opening calls are KI-protected).
            assert await poller.readline() == "task: 1"
            await interrupt(poller)
