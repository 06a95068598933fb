"""Run the pipeline examples (taskvent / taskwork / tasksink, pipeline_inproc) and
version.py as a user would: separate processes, real sockets on 127.0.0.1. Also: the
examples' README lists exactly the scripts there are.

The binding sides (sink, ventilator) bind ``tcp://127.0.0.1:*`` and print the endpoint
they got; the test hands it on. The ventilator is told how many workers to wait for
(``--workers``, through its socket monitor) instead of waiting for Enter, so every
worker is in its round-robin before the first task. Every test is bounded by
``trio.fail_after`` and kills what it started. ``pytest -s`` shows the timings.
"""

from __future__ import annotations

import importlib.metadata
import re
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
# 40 tasks of 1..50 msec: about 1 s of sleeping for one worker, a quarter for four.
# The same seed gives both runs the same workloads.
BATCH = ["--tasks", "40", "--max-workload", "50", "--seed", "12"]
ELAPSED = re.compile(r"Total elapsed time: (\d+) msec")
COST = re.compile(r"Total expected cost: (\d+) msec")


async def start(
    procs: list[LineReader], script: str, *args: str, stdin: int | None = None
) -> LineReader:
    with sigint_inherited_as_default():
        process = await trio.lowlevel.open_process(
            [sys.executable, "-u", str(EXAMPLES / script), *args],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=ENV,
        )
    procs.append(LineReader(process))
    return procs[-1]


def msec(pattern: re.Pattern[str], lines: list[str]) -> int:
    """The number in the one line of ``lines`` that matches ``pattern``."""
    found = [m for m in map(pattern.fullmatch, lines) if m]
    assert len(found) == 1, lines
    return int(found[0][1])


async def run_tcp_pipeline(workers: int) -> tuple[int, int]:
    """One batch through tasksink, ``workers`` taskwork processes and taskvent; returns
    the sink's elapsed msec and the ventilator's expected cost (the workloads' sum)."""
    async with running() as procs:
        sink = await start(procs, "tasksink.py", "--sink", ANY_PORT, "--tasks", "40")
        results = await sink.endpoint("collecting results on ")
        vent = await start(
            procs,
            "taskvent.py",
            *("--ventilator", ANY_PORT, "--sink", results),
            *("--workers", str(workers), "--no-wait", *BATCH),
        )
        tasks = await vent.endpoint("workers connect to ")
        crew = [
            await start(procs, "taskwork.py", "--ventilator", tasks, "--sink", results)
            for _ in range(workers)
        ]
        vent_lines = await vent.read_all()
        assert await vent.process.wait() == 0, vent_lines
        connected = [f"worker {n} of {workers} connected" for n in range(1, workers + 1)]
        assert vent_lines[1:-2] == connected, vent_lines
        assert vent_lines[-2] == "Sending tasks to workers..."
        cost = msec(COST, vent_lines[-1:])
        sink_lines = await sink.read_all()
        assert await sink.process.wait() == 0, sink_lines
        assert sink_lines[1] == (":" + "." * 9) * 4, sink_lines
        for worker in crew:
            worker.process.kill()
        # Round-robin: each worker printed a dot for each of its tasks, 40 / workers.
        assert ["".join(await w.read_all()) for w in crew] == ["." * (40 // workers)] * workers
        return msec(ELAPSED, sink_lines), cost


async def test_tcp_pipeline_four_workers_beat_one():
    """The zguide's point: four workers finish the same batch in well under the time of
    one (they sleep, so this holds on a machine with fewer cores too)."""
    with trio.fail_after(40):
        one, cost = await run_tcp_pipeline(1)
        four, same_cost = await run_tcp_pipeline(4)
    print(
        f"\ntaskvent/taskwork/tasksink over tcp, {cost} msec of work: "
        f"1 worker {one} msec, 4 workers {four} msec"
    )
    assert same_cost == cost  # the same seed, the same workloads
    assert one >= 0.95 * cost  # one worker really sleeps through every workload
    assert four < 0.6 * one


async def run_inproc_pipeline(workers: int) -> tuple[int, int]:
    result = await trio.run_process(
        [sys.executable, str(EXAMPLES / "pipeline_inproc.py"), "--workers", str(workers), *BATCH],
        capture_stdout=True,
        env=ENV,
    )
    lines = result.stdout.decode().splitlines()
    assert lines[0] == f"{workers} worker(s), 40 tasks", lines
    return msec(ELAPSED, lines), msec(COST, lines[1:2])


async def test_inproc_pipeline_four_workers_beat_one():
    with trio.fail_after(30):
        one, cost = await run_inproc_pipeline(1)
        four, same_cost = await run_inproc_pipeline(4)
    print(f"\npipeline_inproc.py, {cost} msec of work: 1 worker {one} msec, 4 workers {four} msec")
    assert same_cost == cost
    assert one >= 0.95 * cost
    assert four < 0.6 * one


async def test_ventilator_waits_for_enter():
    """Without --no-wait the ventilator asks, and sends only after a line on stdin."""
    with trio.fail_after(20):
        async with running() as procs:
            sink = await start(procs, "tasksink.py", "--sink", ANY_PORT, "--tasks", "3")
            results = await sink.endpoint("collecting results on ")
            vent = await start(
                procs,
                "taskvent.py",
                *("--ventilator", ANY_PORT, "--sink", results, "--tasks", "3"),
                stdin=subprocess.PIPE,
            )
            tasks = await vent.endpoint("workers connect to ")
            await start(procs, "taskwork.py", "--ventilator", tasks, "--sink", results)
            assert await vent.readline() == "Press Enter when the workers are ready: "
            assert vent.process.stdin is not None
            await vent.process.stdin.send_all(b"\n")
            assert await vent.readline() == "Sending tasks to workers..."
            assert await vent.process.wait() == 0, await vent.read_all()
            lines = await sink.read_all()
            assert await sink.process.wait() == 0, lines
            assert lines[1] == ":..", lines
            msec(ELAPSED, lines)


async def test_version():
    """Three lines: trinq's version, ZMTP 3.1, and libzmq's (pyzmq is a test dependency)."""
    zmq = pytest.importorskip("zmq")
    with trio.fail_after(20):
        result = await trio.run_process(
            [sys.executable, str(EXAMPLES / "version.py")], capture_stdout=True, env=ENV
        )
    assert result.stdout.decode().splitlines() == [
        f"trinq {importlib.metadata.version('trinq')}",
        "ZMTP 3.1",
        f"libzmq {zmq.zmq_version()} (pyzmq {zmq.pyzmq_version()})",
    ]


@pytest.mark.parametrize(
    ("script", "args", "ready"),
    [
        ("tasksink.py", ["--sink", ANY_PORT], "collecting results on "),
        ("taskvent.py", ["--ventilator", ANY_PORT], "Press Enter when the workers are ready: "),
    ],
    ids=["tasksink.py", "taskvent.py-at-the-prompt"],
)
async def test_ctrl_c_exits_130_without_traceback(script, args, ready):
    with trio.fail_after(20):
        async with running() as procs:
            child = await start(procs, script, *args, stdin=subprocess.PIPE)
            while not (await child.readline()).startswith(ready):
                pass
            child.process.send_signal(signal.SIGINT)
            status = await child.process.wait()
            output = "\n".join(await child.read_all())
            assert "Traceback" not in output, output
            assert status == 130, f"exit status {status}; output:\n{output}"


async def test_worker_ctrl_c_exits_130_without_traceback():
    """A worker waiting for tasks (from the test's PUSH: it did one, so it is idle)."""
    with trio.fail_after(20):
        async with (
            trinq.Context() as ctx,
            ctx.socket(trinq.PUSH, linger=0) as tasks,
            ctx.socket(trinq.PULL) as results,
            running() as procs,
        ):
            child = await start(
                procs,
                "taskwork.py",
                *("--ventilator", await tasks.bind(ANY_PORT)),
                *("--sink", await results.bind(ANY_PORT)),
            )
            await tasks.send(b"1")
            assert await results.recv() == b""
            child.process.send_signal(signal.SIGINT)
            status = await child.process.wait()
            output = "\n".join(await child.read_all())
            assert "Traceback" not in output, output
            assert status == 130, f"exit status {status}; output:\n{output}"


def test_readme_lists_every_example():
    """examples/README.md has one table row per script, and no row for a missing one."""
    rows = re.findall(r"^\| `([\w.]+\.py)` \|", (EXAMPLES / "README.md").read_text(), re.M)
    assert sorted(rows) == sorted(p.name for p in EXAMPLES.glob("*.py"))
    assert len(rows) == len(set(rows))
