"""A hand-written ZWS 2.0 (RFC 45) WebSocket client over a raw trio stream, for
hostile-peer tests of the ws transport.

Like ``rawpeer`` for ZMTP, it makes its bytes itself (it deliberately uses neither
``trinq.zmtp`` nor wsproto): the HTTP upgrade request, client frames masked as RFC
6455 §5.3 requires (or deliberately not), and ZWS framing -- one WebSocket binary
message per ZMTP frame, whose first payload octet holds the flags (``0x01`` MORE,
``0x02`` COMMAND). So a test can send a bad upgrade, reserved bits, an unmasked frame,
a 64-bit length, a PING flood, and so on.

Import with ``from rawwspeer import ...``: the test modules put ``tests/`` on sys.path.
"""

from __future__ import annotations

import os
import socket
import struct

import trio
from rawpeer import RawPeer

# ZWS flags, in the first octet of a binary message's payload
MORE = 0x01
COMMAND = 0x02

# WebSocket opcodes (RFC 6455 §5.2)
CONT = 0x0
TEXT = 0x1
BINARY = 0x2
CLOSE = 0x8
PING = 0x9
PONG = 0xA
FIN = 0x80

#: A Sec-WebSocket-Key (any 16 octets, base64).
KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def split_ws(endpoint: str) -> tuple[str, int, str]:
    """``ws://HOST:PORT/PATH`` -> (host, port, path)."""
    rest = endpoint.removeprefix("ws://")
    hostport, _, path = rest.partition("/")
    host, _, port = hostport.rpartition(":")
    return host, int(port), "/" + path


def upgrade_request(
    endpoint: str,
    *,
    protocols: str | None = "ZWS2.0/NULL",
    key: str | None = KEY,
    version: str = "13",
    method: str = "GET",
    path: str | None = None,
    extra: bytes = b"",
) -> bytes:
    """An HTTP/1.1 WebSocket upgrade request for ``endpoint`` (``None`` leaves a header
    out; ``extra`` goes in as raw header lines, each ending in CRLF)."""
    host, port, ep_path = split_ws(endpoint)
    lines = [
        f"{method} {path or ep_path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Version: {version}",
    ]
    if key is not None:
        lines.append(f"Sec-WebSocket-Key: {key}")
    if protocols is not None:
        lines.append(f"Sec-WebSocket-Protocol: {protocols}")
    return ("\r\n".join(lines) + "\r\n").encode() + extra + b"\r\n"


def xor(data: bytes, key: bytes) -> bytes:
    """``data`` masked (or unmasked) with the 4-octet ``key``."""
    n = len(data)
    if not n:
        return b""
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")


def ws_frame(
    opcode: int,
    payload: bytes,
    *,
    fin: bool = True,
    rsv: int = 0,
    masked: bool = True,
    key: bytes | None = None,
    declared: int | None = None,
) -> bytes:
    """One client WebSocket frame: masked (as a client must) unless ``masked=False``;
    ``rsv`` is the RSV1-3 bits (0..7); ``declared`` claims another payload length
    than ``payload`` has (its header only is exact then)."""
    size = len(payload) if declared is None else declared
    b0 = (FIN if fin else 0) | (rsv & 7) << 4 | opcode
    mbit = 0x80 if masked else 0
    if size < 126:
        head = bytes((b0, mbit | size))
    elif size < 0x10000:
        head = bytes((b0, mbit | 126)) + struct.pack(">H", size)
    else:
        head = bytes((b0, mbit | 127)) + struct.pack(">Q", size)
    if not masked:
        return head + payload
    key = os.urandom(4) if key is None else key
    return head + key + xor(payload, key)


def zws(body: bytes, flags: int = 0) -> bytes:
    """One ZMTP frame as one (masked) WebSocket binary message."""
    return ws_frame(BINARY, bytes((flags,)) + body)


def command(name: bytes, data: bytes = b"") -> bytes:
    return zws(bytes((len(name),)) + name + data, COMMAND)


def ready(socket_type: str, identity: bytes | None = None) -> bytes:
    props = [(b"Socket-Type", socket_type.encode())]
    if identity is not None:
        props.append((b"Identity", identity))
    body = b"".join(bytes([len(k)]) + k + struct.pack(">I", len(v)) + v for k, v in props)
    return command(b"READY", body)


def ping(ttl_ds: int = 0, context: bytes = b"") -> bytes:
    """A ZMTP PING *command* inside a ws message (RFC 45's command grammar)."""
    return command(b"PING", struct.pack(">H", ttl_ds) + context)


def ws_ping(payload: bytes = b"") -> bytes:
    """A WebSocket-level ping control frame (opcode 0x9)."""
    return ws_frame(PING, payload)


def message(*frames: bytes) -> bytes:
    return b"".join(zws(f, MORE if i < len(frames) - 1 else 0) for i, f in enumerate(frames))


class RawWsPeer(RawPeer):
    """One raw ws connection: buffered reads (``RawPeer``'s), server frames parsed,
    upgrade by hand."""

    def __init__(self, stream: trio.abc.Stream, endpoint: str) -> None:
        super().__init__(stream)
        self.endpoint = endpoint

    @classmethod
    async def connect(cls, endpoint: str, *, rcvbuf: int | None = None) -> RawWsPeer:
        """A TCP connection to the ws endpoint's port (optionally with a tiny receive
        buffer, for a peer that never reads)."""
        host, port, _ = split_ws(endpoint)
        sock = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_STREAM)
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        try:
            await sock.connect((host, port))
        except BaseException:
            sock.close()
            raise
        return cls(trio.SocketStream(sock), endpoint)

    async def read_head(self) -> bytes:
        """The server's HTTP response head (through the blank line)."""
        while b"\r\n\r\n" not in self.buf:
            if not await self._fill():
                raise EOFError(f"EOF in the HTTP response head: {bytes(self.buf)!r}")
        end = self.buf.index(b"\r\n\r\n") + 4
        head = bytes(self.buf[:end])
        del self.buf[:end]
        return head

    async def upgrade(self, protocols: str = "ZWS2.0/NULL") -> bytes:
        """Send the upgrade request; read and check the 101 response; return its head."""
        await self.send(upgrade_request(self.endpoint, protocols=protocols))
        head = await self.read_head()
        assert head.startswith(b"HTTP/1.1 101 "), head
        assert b"\r\nsec-websocket-protocol: zws2.0" in head.lower(), head
        return head

    async def read_ws_frame(self) -> tuple[int, bytes]:
        """One server frame (unmasked, as a server's must be): (opcode, payload)."""
        b0, b1 = await self.read_exactly(2)
        assert not b1 & 0x80, "a masked frame from the server"
        size = b1 & 0x7F
        if size == 126:
            (size,) = struct.unpack(">H", await self.read_exactly(2))
        elif size == 127:
            (size,) = struct.unpack(">Q", await self.read_exactly(8))
        return b0 & 0x0F, await self.read_exactly(size)

    async def read_frame(self) -> tuple[int, bytes]:
        """The next ZWS frame (control frames skipped): (flags, body)."""
        while True:
            opcode, payload = await self.read_ws_frame()
            if opcode == BINARY:
                return payload[0], payload[1:]
            if opcode == CLOSE:
                raise EOFError("close frame")

    async def read_command(self) -> tuple[bytes, bytes]:
        while True:
            flags, body = await self.read_frame()
            if flags & COMMAND:
                n = body[0]
                return body[1 : 1 + n], body[1 + n :]

    async def read_message(self) -> list[bytes]:
        frames: list[bytes] = []
        while True:
            flags, body = await self.read_frame()
            if flags & COMMAND:
                continue
            frames.append(body)
            if not flags & MORE:
                return frames

    async def handshake(self, socket_type: str, identity: bytes | None = None) -> bytes:
        """Upgrade, send READY, read the server's READY; return its body."""
        await self.upgrade()
        await self.send(ready(socket_type, identity))
        name, data = await self.read_command()
        assert name == b"READY", name
        return data

    async def wait_closed(self) -> bytes:
        """Read until the other side closes; return what came (at most 64 KiB kept)."""
        got = bytes(self.buf)
        self.buf.clear()
        try:
            while True:
                data = await self.stream.receive_some(65536)
                if not data:
                    break
                if len(got) < 65536:
                    got += data
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            pass
        self.eof = True
        return got

    async def reset(self) -> None:
        """Close with an RST instead of a FIN (SO_LINGER 0)."""
        if isinstance(self.stream, trio.SocketStream):
            linger = struct.pack("ii", 1, 0)
            self.stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        await self.aclose()

    async def aclose(self) -> None:
        await trio.aclose_forcefully(self.stream)
