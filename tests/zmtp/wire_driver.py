"""Drive a sans-I/O ``zmtp.Connection`` by hand over a blocking TCP socket, to check
the mechanisms byte for byte against libzmq (pyzmq): tests/zmtp/test_plain.py and
test_curve.py. Every blocking call is bounded by :data:`TIMEOUT`."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import zmq
from zmq.utils.monitor import recv_monitor_message

from trinq import zmtp

TIMEOUT = 5.0


class Driver:
    """A trinq Connection driven by hand over a blocking TCP socket (timeouts bounded)."""

    def __init__(
        self,
        conn: zmtp.Connection,
        sock: socket.socket,
        zap: Callable[[list[bytes]], list[bytes] | None] | None = None,
    ) -> None:
        self.conn, self.sock, self.zap = conn, sock, zap
        self.events: list[Any] = []
        sock.settimeout(TIMEOUT)
        sock.sendall(conn.initiate())

    def _flush(self) -> None:
        out = self.conn.data_to_send()
        if out:
            self.sock.sendall(out)

    def _poll(self) -> None:
        self.events += self.conn.events()
        self._flush()
        request = self.conn.mechanism.zap_request()
        if request is not None:
            reply = self.zap(request) if self.zap else None
            if reply is None:
                self.conn.mechanism.zap_unavailable()
            else:
                self.conn.mechanism.zap_reply(reply)
            self._flush()  # READY, or ERROR "400", before a failure is raised
            self.events += self.conn.events()

    def until(self, pred: Callable[[list[Any]], bool]) -> list[Any]:
        deadline = time.monotonic() + TIMEOUT
        self._poll()
        while not pred(self.events):
            assert time.monotonic() < deadline, "timed out"
            data = self.sock.recv(65536)
            self.conn.receive_data(data)
            self._poll()
            if not data:
                break
        return self.events

    def handshake(self) -> zmtp.HandshakeComplete:
        self.until(lambda evs: any(type(e) is zmtp.HandshakeComplete for e in evs))
        event = self.events.pop(0)
        assert type(event) is zmtp.HandshakeComplete
        return event

    def recv(self) -> Any:
        self.until(lambda evs: bool(evs))
        return self.events.pop(0)

    def send(self, frames: list[bytes]) -> None:
        self.sock.sendall(self.conn.send_message(frames))


def wait_event(mon: zmq.Socket[Any], wanted: int) -> dict[str, Any]:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if mon.poll(int(TIMEOUT * 1000)):
            event = recv_monitor_message(mon)
            if event["event"] == wanted:
                return event
    raise AssertionError(f"no monitor event {wanted}")


def libzmq_socket(zctx: zmq.Context[Any], kind: int) -> zmq.Socket[Any]:
    sock = zctx.socket(kind)
    sock.linger = 0
    sock.rcvtimeo = sock.sndtimeo = int(TIMEOUT * 1000)
    return sock
