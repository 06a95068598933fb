"""A hand-written ZMTP 3.1 peer over a raw trio stream, for fault-injection tests.

It encodes and parses bytes itself (it deliberately does not use ``trinq.zmtp``), so a
test can make a peer that completes the handshake and then goes silent, sends a PING
with a chosen context/TTL, sends garbage, a ZMTP 2.0 greeting, an oversize frame, ...

Import with ``from rawpeer import ...``: the test modules put ``tests/`` on sys.path.
"""

from __future__ import annotations

import struct

import trio

MORE = 0x01
LONG = 0x02
COMMAND = 0x04


def greeting(mechanism: bytes = b"NULL", major: int = 3, minor: int = 1) -> bytes:
    """A full 64-octet ZMTP 3.x greeting."""
    return (
        b"\xff"
        + b"\x00" * 7
        + b"\x01\x7f"
        + bytes([major, minor])
        + mechanism.ljust(20, b"\x00")
        + b"\x00"
        + b"\x00" * 31
    )


#: A ZMTP 2.0 greeting (revision 0x01, then a socket-type byte and an identity frame).
GREETING_V2 = b"\xff" + b"\x00" * 7 + b"\x01\x7f" + b"\x01" + b"\x08" + b"\x00\x00"


def frame(body: bytes, flags: int = 0) -> bytes:
    if len(body) > 255:
        return bytes([flags | LONG]) + struct.pack(">Q", len(body)) + body
    return bytes([flags, len(body)]) + body


def command(name: bytes, data: bytes = b"") -> bytes:
    return frame(bytes([len(name)]) + name + data, COMMAND)


def ready(socket_type: str, identity: bytes | None = None) -> bytes:
    props = [(b"Socket-Type", socket_type.encode())]
    if identity is not None:
        props.append((b"Identity", identity))
    body = b"".join(bytes([len(k)]) + k + struct.pack(">I", len(v)) + v for k, v in props)
    return command(b"READY", body)


def ping(ttl_ds: int = 0, context: bytes = b"") -> bytes:
    return command(b"PING", struct.pack(">H", ttl_ds) + context)


def message(*frames: bytes) -> bytes:
    out = []
    for i, f in enumerate(frames):
        out.append(frame(f, MORE if i < len(frames) - 1 else 0))
    return b"".join(out)


class RawPeer:
    """One raw connection: buffered reads, frame parsing, handshake by hand."""

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self.buf = bytearray()
        self.eof = False

    @classmethod
    async def connect_tcp(cls, endpoint: str) -> RawPeer:
        host, _, port = endpoint.removeprefix("tcp://").rpartition(":")
        return cls(await trio.open_tcp_stream(host, int(port)))

    async def send(self, data: bytes) -> None:
        await self.stream.send_all(data)

    async def _fill(self) -> bool:
        data = await self.stream.receive_some(65536)
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    async def read_exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not await self._fill():
                raise EOFError(f"EOF after {len(self.buf)} of {n} bytes")
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    async def read_frame(self) -> tuple[int, bytes]:
        flags = (await self.read_exactly(1))[0]
        if flags & LONG:
            (size,) = struct.unpack(">Q", await self.read_exactly(8))
        else:
            size = (await self.read_exactly(1))[0]
        return flags, await self.read_exactly(size)

    async def read_command(self) -> tuple[bytes, bytes]:
        """Next command frame as (name, data); data frames in between are skipped."""
        while True:
            flags, body = await self.read_frame()
            if flags & COMMAND:
                n = body[0]
                return body[1 : 1 + n], body[1 + n :]

    async def read_message(self) -> list[bytes]:
        """Next data message (commands in between are skipped)."""
        frames: list[bytes] = []
        while True:
            flags, body = await self.read_frame()
            if flags & COMMAND:
                continue
            frames.append(body)
            if not flags & MORE:
                return frames

    async def wait_closed(self) -> None:
        """Read (and discard) until the other side closes the connection."""
        try:
            while await self._fill():
                self.buf.clear()
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            pass
        self.eof = True

    async def handshake(self, socket_type: str, identity: bytes | None = None) -> bytes:
        """Send our greeting+READY, read theirs; return their READY body."""
        await self.send(greeting() + ready(socket_type, identity))
        g = await self.read_exactly(64)
        assert g[0] == 0xFF and g[10] == 3, g
        name, data = await self.read_command()
        assert name == b"READY", name
        return data

    async def aclose(self) -> None:
        await trio.aclose_forcefully(self.stream)


async def serve_raw_once(
    *,
    task_status: trio.TaskStatus[tuple[int, trio.MemoryReceiveChannel[RawPeer]]] = (
        trio.TASK_STATUS_IGNORED
    ),
) -> None:
    """Listen on 127.0.0.1:0; report (port, channel of accepted RawPeers)."""
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    send, recv = trio.open_memory_channel[RawPeer](100)
    port = listeners[0].socket.getsockname()[1]
    task_status.started((port, recv))
    try:
        async with send:
            while True:
                stream = await listeners[0].accept()
                await send.send(RawPeer(stream))
    finally:
        for lst in listeners:
            await trio.aclose_forcefully(lst)


# --- small generic helpers shared by the socket-core tests ---------------------------


def free_endpoint(transport: str, directory: object) -> str:
    """An endpoint nobody listens on yet (to connect before the bind).

    tcp: a port the kernel just handed out on 127.0.0.1 (then released); ipc: a new path.
    """
    import os
    import socket

    if transport == "tcp":
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        return f"tcp://127.0.0.1:{port}"
    global _ipc_counter
    _ipc_counter += 1
    return f"ipc://{os.fspath(directory)}/free{_ipc_counter}.ipc"  # type: ignore[arg-type]


_ipc_counter = 0


def drain(mon: object) -> list[object]:
    """Every monitor event queued now (never waits)."""
    out = []
    while True:
        try:
            out.append(mon.receive_nowait())  # type: ignore[attr-defined]
        except (trio.WouldBlock, trio.EndOfChannel):
            return out


async def wait_until(predicate, timeout: float = 10) -> None:  # type: ignore[no-untyped-def]
    """Checkpoint until ``predicate()`` is true (no sleeping; bounded by ``timeout``)."""
    with trio.fail_after(timeout):
        while not predicate():
            await trio.lowlevel.checkpoint()


async def bind_with_peers(ctx, socket_type, peer_type, count: int, bind_endpoint: str):  # type: ignore[no-untyped-def]
    """Bind a ``socket_type`` socket, connect ``count`` ``peer_type`` sockets to it, and
    return ``(socket, peers)`` once every one of those handshakes has completed."""
    import trinq
    from trinq.testing import wait_for_event

    sock = ctx.socket(socket_type)
    mon = sock.monitor()
    ep = await sock.bind(bind_endpoint)
    peers = [ctx.socket(peer_type) for _ in range(count)]
    for peer in peers:
        peer.connect(ep)
    await wait_for_event(mon, trinq.Event.HANDSHAKE_SUCCEEDED, count)
    return sock, peers


async def echo_rounds(req, rep, rounds: int) -> None:  # type: ignore[no-untyped-def]
    """``rounds`` request/reply round trips, ``rep`` echoing each of ``req``'s numbered
    requests (checked) from a task of its own."""

    async def serve() -> None:
        for _ in range(rounds):
            await rep.send(await rep.recv())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve)
        for i in range(rounds):
            await req.send(b"%d" % i)
            assert await req.recv() == b"%d" % i
