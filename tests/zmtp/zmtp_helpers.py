"""Shared helpers for the sans-I/O ZMTP tests (an h11-style ConnectionPair)."""

from __future__ import annotations

from typing import Any

from trinq import zmtp

GREETING_NULL = (
    b"\xff\x00\x00\x00\x00\x00\x00\x00\x01\x7f"
    + b"\x03\x01"
    + b"NULL"
    + b"\x00" * 16
    + b"\x00"
    + b"\x00" * 31
)

# READY as libzmq's DEALER sends it (tests/testutil.hpp, docs/interop.md §3).
READY_DEALER = b"\x04\x29\x05READY\x0bSocket-Type\x00\x00\x00\x06DEALER\x08Identity\x00\x00\x00\x00"


def drain(conn: zmtp.Connection) -> list[Any]:
    """Return every event available from *conn* via next_event()."""
    out: list[Any] = []
    while True:
        event = conn.next_event()
        if event is zmtp.NEED_DATA:
            return out
        out.append(event)
        if type(event) is zmtp.ConnectionClosed:
            return out


class ConnectionPair:
    """Two Connections wired back to back through in-memory byte transfer."""

    def __init__(self, a: zmtp.Connection, b: zmtp.Connection) -> None:
        self.a = a
        self.b = b
        self.a_events: list[Any] = []
        self.b_events: list[Any] = []
        self._pending = {id(a): a.initiate(), id(b): b.initiate()}

    def other(self, conn: zmtp.Connection) -> zmtp.Connection:
        return self.b if conn is self.a else self.a

    def pump(self) -> None:
        """Move bytes both ways until neither side has anything to send."""
        for _ in range(20):
            moved = False
            for src in (self.a, self.b):
                data = self._pending.pop(id(src), b"") + src.data_to_send()
                if data:
                    moved = True
                    dst = self.other(src)
                    dst.receive_data(data)
                    events = dst.events()
                    (self.a_events if dst is self.a else self.b_events).extend(events)
            if not moved:
                return
        raise AssertionError("handshake did not settle")

    def handshake(self) -> tuple[zmtp.HandshakeComplete, zmtp.HandshakeComplete]:
        self.pump()
        ha, hb = self.a_events.pop(0), self.b_events.pop(0)
        assert isinstance(ha, zmtp.HandshakeComplete)
        assert isinstance(hb, zmtp.HandshakeComplete)
        return ha, hb

    def send(self, src: zmtp.Connection, data: bytes) -> list[Any]:
        dst = self.other(src)
        dst.receive_data(data)
        return dst.events()


def answer_zap(conn: zmtp.Connection, reply: list[bytes] | None) -> bytes:
    """Answer the server connection's pending ZAP request (``None``: no handler is
    bound) and return what it sends then."""
    if reply is None:
        conn.mechanism.zap_unavailable()
    else:
        conn.mechanism.zap_reply(reply)
    return conn.data_to_send()
