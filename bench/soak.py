"""Soak: PUSH/PULL with a blocking HWM while the PULL's process is restarted and killed.

This process runs the PUSH, sending sequence numbers (8 octets each) as fast as the
HWM lets it; the PULL runs in a child process (this script with ``--child``), which
reports what it received as runs of consecutive numbers on its stdout. The child is
restarted gracefully ``--restarts`` times and killed (SIGKILL) ``--kills`` times,
alternately, in each bind direction:

* ``child-binds``: the child's PULL binds, the PUSH connects. The PUSH's connect-side
  pipe outlives each connection, so what is queued in it when the child goes away is
  delivered to the next incarnation.
* ``parent-binds``: the PUSH binds, the child's PULL connects. A bind-side pipe ends
  with its connection: what was queued toward a killed child is dropped (libzmq does
  the same), and the PUSH blocks while no child is connected.

A graceful restart is the one a receiver can make without losing anything: the PUSH
stops sending for a moment, the child is told the last number sent and exits once it
has received it, and the PUSH goes on sending at once -- blocking at its HWM while
no child is there -- until the next incarnation takes over. A kill happens in the
middle of the traffic; what was in flight (kernel buffers, the child's own queue)
is lost, and so, in parent-binds, is the pipe's queue.

Every number received twice is a duplicate (must be 0); a number missing after a
graceful restart is a loss there (must be 0); the numbers missing around each kill
are reported. tracemalloc samples this process after every phase (memory must be
flat). One JSON line per phase and a summary per direction.

    python bench/soak.py --restarts 3 --kills 3
    python bench/soak.py --direction child-binds --restarts 10 --kills 10 --per-phase 50000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
import tracemalloc
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import trio  # noqa: E402

import trinq  # noqa: E402
from trinq.testing import wait_for_event  # noqa: E402


def emit(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


# --- the child: a PULL that reports runs of consecutive numbers ---------------------------


async def child(endpoint: str, bind: bool, hwm: int) -> None:
    async with trinq.Context() as ctx:
        pull = ctx.socket(trinq.PULL, rcvhwm=hwm, linger=0)
        mon = pull.monitor()
        if bind:
            await pull.bind(endpoint)
        else:
            pull.connect(endpoint)
            await wait_for_event(mon, trinq.Event.HANDSHAKE_SUCCEEDED, timeout=30)
        print(json.dumps({"ready": os.getpid()}), flush=True)
        run: list[int] = []  # [first, last]
        drain_to: list[int] = []
        highest = -1

        def flush() -> None:
            if run:
                print(json.dumps({"run": run}), flush=True)
                run.clear()

        async def commands() -> None:
            stdin = trio.lowlevel.FdStream(os.dup(0))
            buf = b""
            while True:
                data = await stdin.receive_some()
                if not data:
                    return
                buf += data
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    word, _, value = line.decode().partition(" ")
                    if word == "drain":
                        drain_to.append(int(value))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(commands)
            last_flush = trio.current_time()
            while True:
                if drain_to and highest >= drain_to[0] - 1:
                    break
                with trio.move_on_after(0.05):
                    seq = int.from_bytes(await pull.recv(), "big")
                    highest = max(highest, seq)
                    if run and seq == run[1] + 1:
                        run[1] = seq
                    else:
                        flush()
                        run[:] = [seq, seq]
                now = trio.current_time()
                if now - last_flush > 0.02 or (run and run[1] - run[0] > 5000):
                    flush()
                    last_flush = now
            flush()
            print(json.dumps({"drained": drain_to[0]}), flush=True)
            nursery.cancel_scope.cancel()


# --- the parent: the PUSH, the bookkeeping and the restarts -------------------------------


class Child:
    """One incarnation of the child process, and what it reported."""

    def __init__(self, soak: Soak) -> None:
        self.soak = soak
        self.proc: trio.Process | None = None
        self.ready = trio.Event()
        self.drained = trio.Event()
        self.received = 0
        self.progress = trio.Event()

    async def run(self, endpoint: str, bind: bool, hwm: int) -> None:
        cmd = [sys.executable, os.path.abspath(__file__), "--child", endpoint, "--hwm", str(hwm)]
        if bind:
            cmd.append("--bind")
        self.proc = await trio.lowlevel.open_process(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={**os.environ}
        )
        assert self.proc.stdout is not None
        buf = b""
        try:
            while True:
                data = await self.proc.stdout.receive_some()
                if not data:
                    break
                buf += data
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    self.on_line(json.loads(line))
        finally:
            await self.proc.wait()

    def on_line(self, msg: dict[str, Any]) -> None:
        if "ready" in msg:
            self.ready.set()
        elif "run" in msg:
            first, last = msg["run"]
            self.soak.record(first, last)
            self.received += last - first + 1
            self.progress.set()
            self.progress = trio.Event()
        elif "drained" in msg:
            self.drained.set()

    async def drain(self, last: int) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        await self.proc.stdin.send_all(b"drain %d\n" % last)
        await self.drained.wait()
        await self.proc.wait()

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()


class Soak:
    """The sender and the books: which numbers arrived, and how often."""

    def __init__(self) -> None:
        self.seen = bytearray()
        self.duplicates = 0
        self.next_seq = 0
        self.sending = trio.Event()
        self.sending.set()
        self.parked = trio.Event()

    def record(self, first: int, last: int) -> None:
        if len(self.seen) <= last:
            self.seen.extend(bytes(last + 1 - len(self.seen) + 65536))
        for seq in range(first, last + 1):
            if self.seen[seq]:
                self.duplicates += 1
            self.seen[seq] = 1

    def missing(self, start: int, end: int) -> int:
        """Numbers in ``[start, end)`` never received."""
        if len(self.seen) < end:
            self.seen.extend(bytes(end - len(self.seen)))
        return (end - start) - sum(self.seen[start:end])

    async def pause(self) -> None:
        """Stop the sender between two sends (none half-done)."""
        self.sending = trio.Event()
        self.parked = trio.Event()
        await self.parked.wait()

    def resume(self) -> None:
        self.sending.set()

    async def sender(self, push: trinq.Socket) -> None:
        while True:
            if not self.sending.is_set():
                self.parked.set()
                await self.sending.wait()
            await push.send(self.next_seq.to_bytes(8, "big"))
            self.next_seq += 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def traced_kib() -> int:
    """tracemalloc's count for everything but this script's own books (``seen``)."""
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(False, os.path.abspath(__file__))]
    )
    return sum(stat.size for stat in snapshot.statistics("filename")) // 1024


def phase_kinds(restarts: int, kills: int) -> list[str]:
    kinds = []
    while restarts or kills:
        if restarts:
            kinds.append("restart")
            restarts -= 1
        if kills:
            kinds.append("kill")
            kills -= 1
    return kinds


async def soak_direction(direction: str, args: argparse.Namespace) -> dict[str, Any]:
    soak = Soak()
    child_binds = direction == "child-binds"
    kinds = phase_kinds(args.restarts, args.kills)
    memory: list[int] = []
    lost_graceful = 0
    kills: list[dict[str, int]] = []  # since the last drain
    kill_reports: list[dict[str, int]] = []
    checked = 0  # numbers below this were accounted for
    async with trinq.Context() as ctx:
        push = ctx.socket(trinq.PUSH, sndhwm=args.hwm, linger=0)
        mon = push.monitor()
        if child_binds:
            endpoint = f"tcp://127.0.0.1:{free_port()}"
            push.connect(endpoint)
        else:
            endpoint = await push.bind("tcp://127.0.0.1:*")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(soak.sender, push)
            current = Child(soak)
            nursery.start_soon(current.run, endpoint, child_binds, args.hwm)
            await current.ready.wait()
            t0 = time.monotonic()
            for phase, kind in enumerate([*kinds, "final"]):
                start = current.received
                while current.received - start < args.per_phase:
                    await current.progress.wait()
                if kind == "kill":
                    await current.kill()
                    await wait_for_event(mon, trinq.Event.DISCONNECTED, timeout=30)
                    queued = sum(p.outbound_queued for p in push.statistics().pipes)
                    kills.append({"sent": soak.next_seq, "queued": queued})
                else:
                    await soak.pause()
                    last = soak.next_seq
                    await current.drain(last)
                    await wait_for_event(mon, trinq.Event.DISCONNECTED, timeout=30)
                    for k in kills:  # what went missing up to each kill is that kill's
                        lost = soak.missing(checked, k["sent"])
                        # (child-binds: the pipe's queue at the kill must have survived)
                        pipe_lost = soak.missing(k["sent"] - k["queued"], k["sent"])
                        kill_reports.append({**k, "lost": lost, "lost_from_pipe": pipe_lost})
                        checked = k["sent"]
                    kills = []
                    lost_graceful += soak.missing(checked, last)
                    checked = last
                    if kind == "final":
                        break
                    soak.resume()  # it sends on, blocking at the HWM while nobody is there
                await trio.sleep(args.away)
                current = Child(soak)
                nursery.start_soon(current.run, endpoint, child_binds, args.hwm)
                await current.ready.wait()
                memory.append(traced_kib())
                emit(
                    direction=direction,
                    phase=phase + 1,
                    kind=kind,
                    sent=soak.next_seq,
                    received=sum(soak.seen),
                    duplicates=soak.duplicates,
                    traced_kib=memory[-1],
                    rss_kib=rss_kib(),
                    seconds=round(time.monotonic() - t0, 2),
                )
            nursery.cancel_scope.cancel()
    pipe_ok = not child_binds or all(k["lost_from_pipe"] == 0 for k in kill_reports)
    result = {
        "summary": direction,
        "restarts": kinds.count("restart"),
        "kills": kinds.count("kill"),
        "sent": soak.next_seq,
        "received": sum(soak.seen),
        "duplicates": soak.duplicates,
        "lost_on_graceful_restarts": lost_graceful,
        "lost_at_kills": [k["lost"] for k in kill_reports],
        "queued_in_pipe_at_kills": [k["queued"] for k in kill_reports],
        "pipe_queue_delivered_after_kills": pipe_ok if child_binds else None,
        "traced_kib_first_last_max": [memory[0], memory[-1], max(memory)] if memory else [],
        "seconds": round(time.monotonic() - t0, 2),
        "ok": soak.duplicates == 0 and lost_graceful == 0 and pipe_ok,
    }
    emit(**result)
    return result


async def parent(args: argparse.Namespace) -> int:
    tracemalloc.start()
    directions = ["child-binds", "parent-binds"] if args.direction == "both" else [args.direction]
    ok = True
    with trio.fail_after(args.timeout):
        for direction in directions:
            ok &= bool((await soak_direction(direction, args))["ok"])
    return 0 if ok else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--restarts", type=int, default=3, help="graceful restarts per direction")
    p.add_argument("--kills", type=int, default=3, help="kills per direction")
    p.add_argument("--per-phase", type=int, default=20000, help="messages received per phase")
    p.add_argument("--hwm", type=int, default=100, help="sndhwm/rcvhwm")
    p.add_argument("--away", type=float, default=0.2, help="seconds without a child")
    p.add_argument("--direction", choices=["both", "child-binds", "parent-binds"], default="both")
    p.add_argument("--timeout", type=float, default=600, help="give up after this long")
    p.add_argument("--child", metavar="ENDPOINT", help=argparse.SUPPRESS)
    p.add_argument("--bind", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        trio.run(child, args.child, args.bind, args.hwm)
        return 0
    return trio.run(parent, args)


if __name__ == "__main__":
    sys.exit(main())
