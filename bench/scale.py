"""Scale: N idle peers on one ROUTER -- memory and tasks per connection.

This process binds a ROUTER over tcp and measures it; a child process (this script
with ``--peers``) opens N connections and completes a real ZMTP handshake on each
as a DEALER with its own routing id (it drives ``trinq.zmtp.Connection`` by hand, so
the peers cost the child little and nothing here). Then:

1. with all N idle: traced memory (tracemalloc) and RSS over the ROUTER's own
   baseline, per connection, and trio tasks per connection -- by task name, and the
   allocation sites that hold the memory (tracemalloc, grouped by file and line);
2. one message routed to each peer by its routing id, and its echo received back;
3. the peers leave: memory and tasks once every connection is gone.

Both processes raise their open-file limit to the hard limit first. One JSON line per
step.

    python bench/scale.py            # N = 2000
    python bench/scale.py 10000
"""

from __future__ import annotations

import argparse
import collections
import gc
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import trio  # noqa: E402

import trinq  # noqa: E402
from trinq import zmtp  # noqa: E402


def emit(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


def raise_nofile(need: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, need)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# --- the peers' process ------------------------------------------------------------------


async def one_peer(host: str, port: int, index: int, limit: trio.Semaphore, ready: Any) -> None:
    async with limit:
        stream = await trio.open_tcp_stream(host, port)
        conn = zmtp.Connection("DEALER", identity=b"peer-%d" % index)
        await stream.send_all(conn.initiate())
        done = False
        while not done:
            data = await stream.receive_some(65536)
            if not data:
                return
            conn.receive_data(data)
            for ev in conn.events():
                if isinstance(ev, zmtp.HandshakeComplete):
                    done = True
            out = conn.data_to_send()
            if out:
                await stream.send_all(out)
    ready()
    async with stream:
        while True:
            data = await stream.receive_some(65536)
            if not data:
                return
            conn.receive_data(data)
            for ev in conn.events():
                if isinstance(ev, zmtp.Message):
                    await stream.send_all(conn.send_message(ev.frames))  # the echo


async def peers(endpoint: str, count: int, concurrency: int) -> None:
    raise_nofile(count + 100)
    host, _, port = endpoint.removeprefix("tcp://").rpartition(":")
    limit = trio.Semaphore(concurrency)
    connected = 0

    def ready() -> None:
        nonlocal connected
        connected += 1
        if connected == count:
            print(json.dumps({"connected": count}), flush=True)

    stdin = trio.lowlevel.FdStream(os.dup(0))
    async with trio.open_nursery() as nursery:
        for i in range(count):
            nursery.start_soon(one_peer, host, int(port), i, limit, ready)
        while await stdin.receive_some():  # until "leave" (or EOF): then everybody goes
            break
        nursery.cancel_scope.cancel()
    print(json.dumps({"left": count}), flush=True)


# --- the measuring process ---------------------------------------------------------------


def task_names() -> collections.Counter[str]:
    names: collections.Counter[str] = collections.Counter()

    def walk(task: trio.lowlevel.Task) -> None:
        names[task.name.rpartition(".")[2] if "trinq" in task.name else task.name] += 1
        for nursery in task.child_nurseries:
            for child in nursery.child_tasks:
                walk(child)

    walk(trio.lowlevel.current_root_task())
    return names


def take_snapshot() -> tracemalloc.Snapshot | None:
    return tracemalloc.take_snapshot() if tracemalloc.is_tracing() else None


def where(
    snapshot: tracemalloc.Snapshot, base: tracemalloc.Snapshot, n: int, per: int
) -> list[Any]:
    out = []
    for stat in snapshot.compare_to(base, "lineno")[:n]:
        frame = stat.traceback[0]
        path = frame.filename
        path = path[path.rfind("trinq/") :] if "trinq/" in path else os.path.basename(path)
        out.append([f"{path}:{frame.lineno}", round(stat.size_diff / per), stat.count_diff])
    return out


async def measure(args: argparse.Namespace) -> None:
    n = args.peers
    limit = raise_nofile(n + 100)
    gc.collect()
    if args.tracemalloc:
        tracemalloc.start(1)
    async with trinq.Context() as ctx:
        router = ctx.socket(trinq.ROUTER, backlog=4096, linger=0, router_mandatory=True)
        mon = router.monitor(
            events=trinq.Event.HANDSHAKE_SUCCEEDED | trinq.Event.DISCONNECTED, capacity=2 * n + 10
        )
        ep = await router.bind("tcp://127.0.0.1:*")
        for _ in range(10):  # (the accept loop starts just after bind() returns)
            await trio.lowlevel.checkpoint()
        gc.collect()
        base_snap = take_snapshot()
        base_traced = tracemalloc.get_traced_memory()[0]
        base_rss = rss_kib()
        base_tasks = trio.lowlevel.current_statistics().tasks_living
        base_names = task_names()
        emit(
            step="baseline",
            peers=n,
            nofile=limit,
            traced_kib=base_traced // 1024,
            rss_kib=base_rss,
            tasks=base_tasks,
        )
        cmd = [
            sys.executable,
            os.path.abspath(__file__),
            "--peers-of",
            ep,
            str(n),
            "--concurrency",
            str(args.concurrency),
        ]
        proc = await trio.lowlevel.open_process(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert proc.stdout is not None and proc.stdin is not None
        t0 = time.monotonic()
        with trio.fail_after(args.timeout):
            for _ in range(n):
                while (await mon.receive()).event != trinq.Event.HANDSHAKE_SUCCEEDED:
                    pass
            line = await proc.stdout.receive_some()  # {"connected": n}
            assert b"connected" in line, line
        took = time.monotonic() - t0
        gc.collect()
        snap = take_snapshot()
        traced = tracemalloc.get_traced_memory()[0] - base_traced
        rss = rss_kib() - base_rss
        tasks = trio.lowlevel.current_statistics().tasks_living - base_tasks
        names = task_names() - base_names
        emit(
            step="idle",
            peers=n,
            connect_seconds=round(took, 2),
            traced_bytes_per_conn=round(traced / n),
            rss_bytes_per_conn=round(rss * 1024 / n),
            tasks_per_conn=round(tasks / n, 2),
            tasks_by_name={k: round(v / n, 2) for k, v in names.most_common()},
        )
        if snap is not None and base_snap is not None:
            emit(
                step="idle-where",
                peers=n,
                top=where(snap, base_snap, args.top, n),
                columns=["site", "bytes_per_conn", "blocks"],
            )
        # one message to each peer, by routing id, and its echo back
        t0 = time.monotonic()
        with trio.fail_after(args.timeout):
            for i in range(n):
                await router.send_multipart([b"peer-%d" % i, b"ping %d" % i])
            got = set()
            for _ in range(n):
                rid, body = await router.recv_multipart()
                assert body == b"ping " + rid.removeprefix(b"peer-"), (rid, body)
                got.add(rid)
        assert len(got) == n
        del got  # (it holds every routing id)
        emit(step="routed", peers=n, round_trips=n, seconds=round(time.monotonic() - t0, 3))
        # everybody leaves
        await proc.stdin.send_all(b"leave\n")
        with trio.fail_after(args.timeout):
            gone = 0
            while gone < n:
                if (await mon.receive()).event == trinq.Event.DISCONNECTED:
                    gone += 1
            while router.statistics().peers:
                await trio.sleep(0.01)
        await proc.wait()
        gc.collect()
        left_traced = tracemalloc.get_traced_memory()[0] - base_traced
        left_rss = rss_kib() - base_rss
        # A fair queue lets go of an ended pipe only when a receive reaches it (queued
        # messages are delivered first): one receive that finds nothing frees them.
        try:
            await router.recv_multipart(trinq.DONTWAIT)
        except trinq.Again:
            pass
        gc.collect()
        emit(
            step="left",
            peers=n,
            traced_kib_over_baseline=left_traced // 1024,
            rss_kib_over_baseline=left_rss,
            tasks_over_baseline=trio.lowlevel.current_statistics().tasks_living - base_tasks,
        )
        snap = take_snapshot()
        if snap is not None and base_snap is not None:
            emit(
                step="left-where-after-a-receive",
                peers=n,
                top=where(snap, base_snap, args.top, 1),
                columns=["site", "bytes", "blocks"],
            )
        emit(
            step="left-after-a-receive",
            peers=n,
            traced_kib_over_baseline=(tracemalloc.get_traced_memory()[0] - base_traced) // 1024,
            rss_kib_over_baseline=rss_kib() - base_rss,
            tasks_over_baseline=trio.lowlevel.current_statistics().tasks_living - base_tasks,
        )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("peers", type=int, nargs="?", default=2000, help="idle peers (default 2000)")
    p.add_argument("--concurrency", type=int, default=256, help="handshakes in flight")
    p.add_argument("--top", type=int, default=15, help="allocation sites to show")
    p.add_argument("--timeout", type=float, default=300)
    p.add_argument(
        "--no-tracemalloc",
        dest="tracemalloc",
        action="store_false",
        help="RSS only (tracemalloc slows everything and costs RSS itself)",
    )
    p.add_argument("--peers-of", nargs=2, metavar=("ENDPOINT", "N"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.peers_of:
        trio.run(peers, args.peers_of[0], int(args.peers_of[1]), args.concurrency)
        return 0
    trio.run(measure, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
