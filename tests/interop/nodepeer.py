"""A draft-enabled libzmq peer for the interop tests: Node's ``zeromq`` 6.x package
(libzmq 4.3.5 built with the draft API) driven through ``node/peer.js``.

:func:`node_peer` starts ``node peer.js TYPE MODE ENDPOINT`` as a trio subprocess,
waits for its ``READY <endpoint>`` line and yields a :class:`NodePeer`, whose methods
each send one JSON command line and await the one JSON reply line; the process is
killed when the block ends, however it ends. The protocol is described in peer.js.

The package is installed on demand: the session-scoped :func:`node_installed` fixture
runs ``npm ci`` in ``node/`` when ``node/node_modules/zeromq`` is missing (a file lock
keeps parallel workers from installing at once). Without ``node``/``npm`` it installs
Debian's ``nodejs`` and ``npm`` with apt-get when ``CI`` is set (and fails loudly if
that does not work); elsewhere the tests are skipped with the reason.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NoReturn, TypeVar

import pytest
import trio
from procs import Lines

NODE_DIR = Path(__file__).resolve().parent / "node"
PEER_JS = NODE_DIR / "peer.js"
#: How long a reply may take: the peer gives up a receive or send after 5 s itself.
REPLY_TIMEOUT_S = 10.0
INSTALL_TIMEOUT_S = 600

_installed = False


class NodePeerError(Exception):
    """The node peer answered ``{"error": ...}``, or died, or did not answer."""


@dataclass(frozen=True)
class NodeMessage:
    """One message the node peer received."""

    data: bytes
    routing_id: int | None = None
    group: str | None = None


def _in_ci() -> bool:
    return bool(os.environ.get("CI"))


def _cannot(reason: str) -> NoReturn:
    """Fail in CI (the interop tests must never silently skip there), skip elsewhere."""
    if _in_ci():
        pytest.fail(f"CI is set but the node interop peer is unusable: {reason}", pytrace=False)
    pytest.skip(f"node interop peer unavailable: {reason}")


def _run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
        check=False,
        **kwargs,
    )


def _tail(proc: subprocess.CompletedProcess[str]) -> str:
    return (proc.stdout + proc.stderr).strip()[-2000:]


def _ensure_node_and_npm() -> None:
    if shutil.which("node") and shutil.which("npm"):
        return
    if not _in_ci():
        _cannot("`node` and `npm` are not on PATH (install Node.js >= 18 with npm)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "nodejs", "npm"]):
        try:
            proc = _run(cmd, env=env)
        except (OSError, subprocess.SubprocessError) as exc:
            _cannot(f"`{' '.join(cmd)}` could not run: {exc}")
        if proc.returncode != 0:
            _cannot(f"`{' '.join(cmd)}` exited {proc.returncode}:\n{_tail(proc)}")
    if not (shutil.which("node") and shutil.which("npm")):
        _cannot("apt-get installed nodejs and npm, but `node`/`npm` are still not on PATH")


def _check_draft() -> None:
    """The installed package must load and have the draft sockets."""
    script = "const z = require('zeromq'); require('zeromq/draft'); console.log(z.capability.draft)"
    proc = _run(["node", "--no-warnings", "-e", script], cwd=NODE_DIR)
    if proc.returncode != 0:
        _cannot(f"node cannot load zeromq from {NODE_DIR}:\n{_tail(proc)}")
    if proc.stdout.strip() != "true":
        _cannot(f"this zeromq build has no draft sockets (capability.draft: {proc.stdout!r})")


def ensure_installed() -> None:
    """Make ``node peer.js`` runnable: node and npm present, ``npm ci`` done, drafts on."""
    global _installed
    if _installed:
        return
    _ensure_node_and_npm()
    lock_path = Path(tempfile.gettempdir()) / f"trinq-node-peer-{os.getuid()}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another worker may be installing
        if not (NODE_DIR / "node_modules" / "zeromq").is_dir():
            cmd = ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"]
            try:
                proc = _run(cmd, cwd=NODE_DIR)
            except (OSError, subprocess.SubprocessError) as exc:
                _cannot(f"`npm ci` in {NODE_DIR} could not run: {exc}")
            if proc.returncode != 0:
                _cannot(f"`npm ci` in {NODE_DIR} exited {proc.returncode}:\n{_tail(proc)}")
        _check_draft()
    _installed = True


@pytest.fixture(scope="session")
def node_installed() -> Path:
    """Once per session: the node peer is installed (or the test skips / fails in CI)."""
    ensure_installed()
    return PEER_JS


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _message(reply: dict[str, Any]) -> NodeMessage:
    return NodeMessage(base64.b64decode(reply["data"]), reply.get("routing_id"), reply.get("group"))


class NodePeer:
    """A running ``peer.js``: one socket of ``kind`` in a node process."""

    def __init__(self, kind: str, process: trio.Process, stderr: IO[bytes]) -> None:
        assert process.stdin is not None and process.stdout is not None
        self.kind = kind
        self.process = process
        self.stdout = Lines(process.stdout)
        self._stderr = stderr
        self._lock = trio.Lock()
        #: Set when a reply did not come: a late one would answer the next command.
        self._broken = ""
        #: What READY said: the bound (resolved) or connected endpoint.
        self.endpoint = ""

    def diagnostics(self) -> str:
        fd = self._stderr.fileno()  # pread: node shares the file offset
        size = os.fstat(fd).st_size
        err = os.pread(fd, 4000, max(0, size - 4000)).decode(errors="replace").strip()
        return f"node {self.kind} peer; stdout lines: {self.stdout.lines}; stderr: {err!r}"

    async def ready(self) -> str:
        try:
            with trio.fail_after(REPLY_TIMEOUT_S):
                line = await self.stdout.readline()
        except (EOFError, trio.TooSlowError) as exc:
            raise NodePeerError(f"no READY line ({exc!r}); {self.diagnostics()}") from None
        if not line.startswith("READY "):
            raise NodePeerError(f"expected READY, got {line!r}; {self.diagnostics()}")
        self.endpoint = line.removeprefix("READY ")
        return self.endpoint

    async def request(self, op: str, **args: Any) -> dict[str, Any]:
        """Send one command and return its reply; ``{"error": ...}`` raises."""
        reply = await self.request_raw(op, **args)
        if "error" in reply:
            raise NodePeerError(f"{op}: {reply['error']}")
        return reply

    async def request_raw(self, op: str, **args: Any) -> dict[str, Any]:
        """Send one command and return its reply as it is (errors included)."""
        assert self.process.stdin is not None
        line = json.dumps({"op": op, **{k: v for k, v in args.items() if v is not None}})
        async with self._lock:
            if self._broken:
                raise NodePeerError(f"{op}: the peer is unusable since {self._broken}")
            try:
                with trio.fail_after(REPLY_TIMEOUT_S):
                    await self.process.stdin.send_all(line.encode() + b"\n")
                    answer = await self.stdout.readline()
            except (EOFError, trio.TooSlowError, trio.BrokenResourceError) as exc:
                self._broken = f"{op} got no reply"
                raise NodePeerError(f"{op}: no reply ({exc!r}); {self.diagnostics()}") from None
            except BaseException:  # cancelled mid-command: the reply is still to come
                self._broken = f"{op} was cancelled"
                raise
        try:
            reply: dict[str, Any] = json.loads(answer)
        except ValueError:
            raise NodePeerError(f"{op}: not JSON: {answer!r}; {self.diagnostics()}") from None
        return reply

    async def send(
        self, data: bytes, *, routing_id: int | None = None, group: str | None = None
    ) -> None:
        await self.request("send", data=b64(data), routing_id=routing_id, group=group)

    async def send_many(self, data: Iterable[bytes], *, group: str | None = None) -> None:
        await self.request("send_many", data=[b64(d) for d in data], group=group)

    async def recv(self, timeout_ms: int | None = None) -> NodeMessage:
        return _message(await self.request("recv", timeout=timeout_ms))

    async def try_recv(self, timeout_ms: int) -> NodeMessage | None:
        """A message, or ``None`` if none arrived within ``timeout_ms``."""
        reply = await self.request_raw("recv", timeout=timeout_ms)
        if reply.get("error") == "timeout":
            return None
        if "error" in reply:
            raise NodePeerError(f"recv: {reply['error']}")
        return _message(reply)

    async def recv_many(self, count: int) -> list[NodeMessage]:
        reply = await self.request("recv_many", count=count)
        return [_message(m) for m in reply["messages"]]

    async def echo(self, count: int = 1) -> None:
        """Receive ``count`` messages and send each back (SERVER: to its sender)."""
        await self.request("echo", count=count)

    async def join(self, group: str) -> None:
        await self.request("join", group=group)

    async def leave(self, group: str) -> None:
        await self.request("leave", group=group)

    async def connect(self, endpoint: str) -> None:
        await self.request("connect", endpoint=endpoint)

    async def bind(self, endpoint: str) -> str:
        reply = await self.request("bind", endpoint=endpoint)
        return str(reply["endpoint"])

    async def close(self) -> None:
        """Close the socket; the process exits."""
        await self.request("close")
        with trio.fail_after(REPLY_TIMEOUT_S):
            await self.process.wait()


P = TypeVar("P", bound="NodePeer")


@asynccontextmanager
async def node_peer(
    kind: str,
    mode: str,
    endpoint: str,
    *extra: str,
    script: Path = PEER_JS,
    peer_class: type[P] = NodePeer,  # type: ignore[assignment]
) -> AsyncIterator[P]:
    """Run ``node script kind mode endpoint [extra ...]`` (default ``peer.js``) for the
    block, as a ``peer_class`` (default :class:`NodePeer`); killed at the end."""
    ensure_installed()
    # stderr goes to a file: nothing has to drain it, and it is there for diagnostics
    with tempfile.TemporaryFile() as stderr:
        process = await trio.lowlevel.open_process(
            ["node", "--no-warnings", str(script), kind, mode, endpoint, *extra],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            cwd=NODE_DIR,
        )
        try:
            peer = peer_class(kind, process, stderr)
            await peer.ready()
            yield peer
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(5):
                if process.returncode is None:
                    process.kill()
                await process.wait()
            for pipe in (process.stdin, process.stdout):
                if pipe is not None:
                    await pipe.aclose()
