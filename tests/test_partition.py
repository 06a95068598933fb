"""Real network partitions: two Linux network namespaces joined by a veth pair.

The ``veth`` fixture makes two fresh namespaces, ``a`` and ``b``, with one veth pair
between them (a /30 out of ``10.213.0.0/16``: its first address in ``a``, its second
in ``b``) and deletes them at the end, whatever happened. The trinq peers are child
processes (tests/partition_peer.py) run with ``ip netns exec``: a PULL binds in ``b``,
a PUSH in ``a`` connects to it with heartbeats. They report their monitor events (with
CLOCK_MONOTONIC timestamps) and what they received on stdout, in JSON lines; the PUSH
takes its orders on stdin.

A partition is ``ip link set <veth> down`` on one end -- the dialer's (its route to
the peer is gone: connects fail at once with ENETUNREACH) or the binder's (the dialer's
end loses its carrier: SYNs vanish, and ``connect_timeout`` ends each attempt) -- and
the heal is ``ip link set <veth> up``. Nothing is closed by the partition; only the
heartbeats can tell.

The tests need root (CAP_NET_ADMIN) and iproute2's ``ip``; without them, or where
``ip netns add`` fails (a container without the rights), they skip and say why.
Nothing here sleeps to wait: every wait is for a line from a peer, under a deadline.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trio
from procs import ENV, Lines

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="network namespaces are Linux's")

PEER = Path(__file__).resolve().parent / "partition_peer.py"
IVL, TIMEOUT = 100, 500  # heartbeat_ivl, heartbeat_timeout (ms)
#: what a DISCONNECTED caused by our heartbeat says (trinq._heartbeat.NO_TRAFFIC)
NO_TRAFFIC = "no traffic within heartbeat_timeout"
#: for process scheduling on a loaded machine (two cores, benchmarks running)
MARGIN = 2.0
HEARTBEATS = {"heartbeat_ivl": IVL, "heartbeat_timeout": TIMEOUT}
DIALER = {**HEARTBEATS, "reconnect_ivl": 100, "connect_timeout": 500, "linger": 0}

_serial = itertools.count()


# --- the namespaces -------------------------------------------------------------------


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], check=check, timeout=15, capture_output=True, text=True)


def _has_net_admin() -> bool:
    """CAP_NET_ADMIN in our effective set (root in a container may lack it)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return os.geteuid() == 0
    for line in status.splitlines():
        if line.startswith("CapEff:"):
            return bool(int(line.split()[1], 16) & (1 << 12))  # CAP_NET_ADMIN is 12
    return os.geteuid() == 0


@dataclass
class Veth:
    """Two namespaces and the veth pair between them; ``end`` is "a" or "b"."""

    ns: dict[str, str]
    dev: dict[str, str]
    addr: dict[str, str]

    def down(self, end: str) -> None:
        ip("-n", self.ns[end], "link", "set", self.dev[end], "down")

    def up(self, end: str) -> None:
        ip("-n", self.ns[end], "link", "set", self.dev[end], "up")


@pytest.fixture
def veth() -> Iterator[Veth]:
    if shutil.which("ip") is None:
        pytest.skip("iproute2's ip command is not installed: no network namespaces")
    if not _has_net_admin():
        pytest.skip("network namespaces need root or CAP_NET_ADMIN")
    n = next(_serial)
    # Each namespace has its own addresses and routes, so the subnet cannot collide
    # with anything; it is still made unique per test and process, for readability.
    block = (os.getpid() * 7 + n) % 16384
    prefix = f"10.213.{block // 64}.{(block % 64) * 4}"
    base = prefix.rsplit(".", 1)[0]
    last = int(prefix.rsplit(".", 1)[1])
    v = Veth(
        ns={"a": f"trinq-a-{os.getpid()}-{n}", "b": f"trinq-b-{os.getpid()}-{n}"},
        dev={"a": "tq-a", "b": "tq-b"},  # inside the namespaces only: no collisions
        addr={"a": f"{base}.{last + 1}", "b": f"{base}.{last + 2}"},
    )
    made: list[str] = []
    try:
        for end in ("a", "b"):
            done = ip("netns", "add", v.ns[end], check=False)
            if done.returncode != 0:
                pytest.skip(f"ip netns add failed: {done.stderr.strip()}")
            made.append(v.ns[end])
        a, b = v.ns["a"], v.ns["b"]
        ip(
            "-n",
            a,
            "link",
            "add",
            v.dev["a"],
            "type",
            "veth",
            "peer",
            "name",
            v.dev["b"],
            "netns",
            b,
        )
        for end in ("a", "b"):
            ns = v.ns[end]
            ip("-n", ns, "addr", "add", f"{v.addr[end]}/30", "dev", v.dev[end])
            ip("-n", ns, "link", "set", "lo", "up")
            ip("-n", ns, "link", "set", v.dev[end], "up")
        yield v
    finally:
        for ns in made:  # takes the veth pair with it
            ip("netns", "del", ns, check=False)


# --- the peers --------------------------------------------------------------------------


class Peer:
    """A partition_peer.py child: its stdout lines, parsed, and its stdin."""

    def __init__(self, name: str, process: trio.Process) -> None:
        self.name = name
        self.process = process
        self.lines: list[dict[str, Any]] = []
        self.ended = False
        self._changed = trio.Event()

    async def pump(self) -> None:
        """Read stdout all the time, so the child never blocks on a full pipe (a peer
        stuck in ``print`` would miss its heartbeats)."""
        assert self.process.stdout is not None
        out = Lines(self.process.stdout)
        try:
            while True:
                line = await out.readline()
                try:
                    self.lines.append(json.loads(line))
                except ValueError:
                    self.lines.append({"text": line})  # a traceback, say
                self._changed.set()
                self._changed = trio.Event()
        except (EOFError, trio.ClosedResourceError):
            self.ended = True
            self._changed.set()

    def output(self) -> str:
        shown = [line for line in self.lines if "recv" not in line]
        received = [line["recv"] for line in self.lines if "recv" in line]
        return f"{self.name}: {shown}; received {received}"

    async def wait_for(
        self, match: Callable[[dict[str, Any]], bool], start: int = 0, timeout: float = 10
    ) -> tuple[int, dict[str, Any]]:
        """The first line at or after index ``start`` that ``match``es, and its index."""
        i = start
        try:
            with trio.fail_after(timeout):
                while True:
                    while i < len(self.lines):
                        if match(self.lines[i]):
                            return i, self.lines[i]
                        i += 1
                    if self.ended:
                        raise AssertionError(f"the peer ended; {self.output()}")
                    await self._changed.wait()
        except trio.TooSlowError:
            raise AssertionError(f"waited {timeout} s in vain; {self.output()}") from None

    async def event(
        self, name: str, start: int = 0, timeout: float = 10
    ) -> tuple[int, dict[str, Any]]:
        return await self.wait_for(lambda line: line.get("event") == name, start, timeout)

    def events(self, start: int = 0) -> list[str]:
        return [line["event"] for line in self.lines[start:] if "event" in line]

    def received(self) -> list[int]:
        return [line["recv"] for line in self.lines if "recv" in line]

    async def received_all(self, numbers: range, timeout: float = 10) -> None:
        """Wait until every number in ``numbers`` was received."""
        want = set(numbers)
        seen = 0
        try:
            with trio.fail_after(timeout):
                while True:
                    want.difference_update(self.received()[seen:])
                    seen = len(self.received())
                    if not want:
                        return
                    if self.ended:
                        raise AssertionError(f"the peer ended; {self.output()}")
                    await self._changed.wait()
        except trio.TooSlowError:
            raise AssertionError(
                f"{len(want)} of {numbers} never arrived (e.g. {sorted(want)[:10]}); "
                f"{self.output()}"
            ) from None

    async def command(self, **command: Any) -> dict[str, Any]:
        """Send one command; return its ``done`` line."""
        start = len(self.lines)
        assert self.process.stdin is not None
        await self.process.stdin.send_all(json.dumps(command).encode() + b"\n")
        return (await self.wait_for(lambda line: "done" in line, start))[1]


@asynccontextmanager
async def peers() -> AsyncIterator[Callable[..., Any]]:
    """Yields ``start(veth, end, role, endpoint, **options)``, which runs a peer in
    namespace ``end`` and returns it once it is ready; every peer is stopped at the end
    (stdin closed, then killed if it does not exit at once)."""
    started: list[Peer] = []
    async with trio.open_nursery() as nursery:

        async def start(v: Veth, end: str, role: str, endpoint: str, **options: Any) -> Peer:
            config = {"role": role, "endpoint": endpoint, "options": options}
            process = await trio.lowlevel.open_process(
                [
                    "ip",
                    "netns",
                    "exec",
                    v.ns[end],
                    sys.executable,
                    "-u",
                    str(PEER),
                    json.dumps(config),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=ENV,
            )
            peer = Peer(f"{role} in {end}", process)
            started.append(peer)
            nursery.start_soon(peer.pump)
            await peer.wait_for(lambda line: "ready" in line, timeout=20)
            return peer

        try:
            yield start
        finally:
            with trio.CancelScope(shield=True):
                for peer in started:
                    assert peer.process.stdin is not None
                    await peer.process.stdin.aclose()
                with trio.move_on_after(5) as waiting:
                    for peer in started:
                        await peer.process.wait()
                if waiting.cancelled_caught:
                    for peer in started:
                        if peer.process.returncode is None:
                            peer.process.kill()
                    for peer in started:
                        await peer.process.wait()
            nursery.cancel_scope.cancel()


async def connected_pair(
    start: Callable[..., Any], v: Veth, pull_options: dict[str, Any]
) -> tuple[Peer, Peer]:
    """A PULL bound in ``b``, a PUSH in ``a`` connected to it; both handshaken."""
    pull = await start(v, "b", "pull", f"tcp://{v.addr['b']}:*", **pull_options)
    _, ready = await pull.wait_for(lambda line: "ready" in line)
    push = await start(v, "a", "push", ready["ready"], **DIALER)
    await push.event("HANDSHAKE_SUCCEEDED", timeout=20)
    await pull.event("HANDSHAKE_SUCCEEDED", timeout=20)
    return pull, push


def still_connected(peer: Peer) -> None:
    """The connection has not dropped on its own before the partition (a stalled
    process could do that) -- else the test would measure the wrong thing."""
    assert "DISCONNECTED" not in peer.events(), peer.output()


# --- the tests ----------------------------------------------------------------------------

ENDS = [pytest.param("a", id="dialer-end-down"), pytest.param("b", id="binder-end-down")]


@pytest.mark.parametrize("end", ENDS)
async def test_heartbeats_detect_a_partition(veth, end):
    """Link down on one end: both sides, each with heartbeats, report DISCONNECTED for
    "no traffic within heartbeat_timeout" within heartbeat_ivl + heartbeat_timeout of
    the partition (plus a margin for the scheduling of three processes); the dialer
    keeps trying meanwhile, and after the heal it reconnects and messages flow."""
    with trio.fail_after(30):
        async with peers() as start:
            pull, push = await connected_pair(start, veth, {**HEARTBEATS, "linger": 0})
            await push.command(send=[0, 1])
            await pull.received_all(range(1))
            still_connected(push)
            still_connected(pull)
            marks = {peer: len(peer.lines) for peer in (push, pull)}

            t_down = time.monotonic()
            veth.down(end)
            bound = (IVL + TIMEOUT) / 1000 + MARGIN
            noticed = {}
            for peer in (push, pull):
                noticed[peer], ev = await peer.event("DISCONNECTED", marks[peer], bound + 5)
                took = ev["t"] - t_down
                # not before heartbeat_timeout, less what a PONG to a PING sent just
                # before the partition may have needed to arrive (generously)
                assert TIMEOUT / 2000 < took < bound, (took, peer.output())
                assert ev["reason"] == NO_TRAFFIC, peer.output()
                print(f"{peer.name}: partition noticed after {took:.3f} s (bound {bound} s)")
            # the dialer goes on dialling into the partition, and fails
            await push.event("CONNECT_DELAYED", noticed[push])
            assert "HANDSHAKE_SUCCEEDED" not in push.events(marks[push]), push.output()

            mark = len(push.lines)
            veth.up(end)
            await push.event("HANDSHAKE_SUCCEEDED", mark)
            await push.command(send=[1, 2])
            await pull.received_all(range(2))
            assert pull.received() == [0, 1]


@pytest.mark.parametrize("end", ENDS)
async def test_dialer_reconnects_after_the_heal_and_delivers_its_queue(veth, end):
    """Numbered messages from the PUSH (dialer, heartbeats) to the PULL, in four groups:

    * ``before`` (0..99): sent and all received before the partition;
    * ``in flight`` (100..149): sent after the link went down but before the heartbeat
      noticed: they are written into the TCP connection that is about to be declared
      dead, and sit in the kernel's send buffer. Nothing is promised for them (libzmq
      promises nothing either): each arrives at most once -- lost with the dead socket,
      or late, when the kernel's retransmission of the orphaned socket gets through
      after the heal (the PULL has no heartbeats, so its end of the old connection may
      still be open), possibly after later messages;
    * ``queued`` (150..649): sent while the dialer is disconnected (after its
      DISCONNECTED, with the link still down). They stay in trinq's connect-side pipe
      (under SNDHWM, so ``DONTWAIT`` sends succeed) across the failed reconnect
      attempts, and after the heal all of them arrive, exactly once and in order;
    * ``after`` (650..699): sent once reconnected, all received after the queued ones.

    And nothing is ever received twice."""
    before, in_flight, queued, after = (
        range(0, 100),
        range(100, 150),
        range(150, 650),
        range(650, 700),
    )
    with trio.fail_after(30):
        async with peers() as start:
            pull, push = await connected_pair(start, veth, {"linger": 0})
            await push.command(send=[before.start, before.stop])
            await pull.received_all(before)
            assert pull.received() == list(before)
            still_connected(push)
            mark = len(push.lines)

            veth.down(end)
            done = await push.command(send=[in_flight.start, in_flight.stop])
            assert "again" not in done, push.output()
            i, ev = await push.event(
                "DISCONNECTED", mark, timeout=(IVL + TIMEOUT) / 1000 + MARGIN + 5
            )
            assert ev["reason"] == NO_TRAFFIC, push.output()

            done = await push.command(send=[queued.start, queued.stop], dontwait=True)
            assert "again" not in done, f"SNDHWM reached while partitioned: {push.output()}"
            # (a message of the in-flight group still in the pipe would be counted too)
            assert len(queued) <= done["stats"]["queued"] <= len(queued) + len(in_flight), done
            assert done["stats"]["connected"] == 0, done
            # a failed attempt, and the queue still there afterwards
            j, _ = await push.event("CONNECT_DELAYED", i)
            await push.event("CONNECT_RETRIED", j)
            assert "HANDSHAKE_SUCCEEDED" not in push.events(mark), push.output()
            assert (await push.command(stats=True))["stats"] == done["stats"]
            assert not set(pull.received()) & set(queued)

            mark = len(push.lines)
            veth.up(end)
            await push.event("HANDSHAKE_SUCCEEDED", mark)
            await pull.received_all(queued)
            done = await push.command(send=[after.start, after.stop])
            assert "again" not in done, push.output()
            await pull.received_all(after)

            got = pull.received()
            assert len(got) == len(set(got)), f"duplicates: {push.output()} {pull.output()}"
            assert set(got) <= set(range(after.stop))
            assert got[: len(before)] == list(before)
            assert [n for n in got if n in queued or n in after] == [*queued, *after]
            late = [n for n in got if n in in_flight]
            assert late == sorted(late)  # one TCP stream: whatever arrived is in order
            print(f"in flight at the partition: {len(late)} of {len(in_flight)} arrived so far")
