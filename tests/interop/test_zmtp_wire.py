"""Drive a sans-I/O ``zmtp.Connection`` over a blocking TCP socket against pyzmq.

Every standard libzmq socket type is paired with a compatible trinq type; the
handshake must complete, properties must be seen, a 3-frame message must go
each way where the pattern allows it (respecting envelopes), and a PING from
us must be answered with a PONG echoing (at most 16 octets of) the context.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import zmq

from trinq import zmtp

TIMEOUT = 5.0
MSG = [b"frame-one", b"", b"x" * 300]
REPLY = [b"reply", b"y" * 256, b"z"]


class Driver:
    """A blocking loop around one Connection and one TCP socket."""

    def __init__(self, sock: socket.socket, conn: zmtp.Connection) -> None:
        self.sock = sock
        self.conn = conn
        self.pending: list[Any] = []
        self.seen: list[Any] = []

    def flush(self) -> None:
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _read(self, timeout: float) -> bool:
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return False
        self.conn.receive_data(data)
        self.pending.extend(self.conn.events())
        self.flush()
        if not data:
            raise AssertionError("peer closed the connection")
        return True

    def expect(self, predicate: Callable[[Any], bool], timeout: float = TIMEOUT) -> Any:
        for _ in range(1000):
            while self.pending:
                event = self.pending.pop(0)
                self.seen.append(event)
                if predicate(event):
                    return event
            if not self._read(timeout):
                raise AssertionError(f"timed out; saw {self.seen!r}")
        raise AssertionError("no matching event")

    def try_expect(self, predicate: Callable[[Any], bool], timeout: float) -> Any | None:
        try:
            return self.expect(predicate, timeout)
        except AssertionError:
            return None


def is_(cls: type) -> Callable[[Any], bool]:
    return lambda ev: isinstance(ev, cls)


@pytest.fixture
def ctx() -> Iterator[zmq.Context[Any]]:
    context: zmq.Context[Any] = zmq.Context()
    try:
        yield context
    finally:
        context.destroy(linger=0)


def open_pair(
    ctx: zmq.Context[Any], peer_type: int, our_type: str, **kw: Any
) -> tuple[zmq.Socket[Any], Driver, zmtp.HandshakeComplete]:
    zsock = ctx.socket(peer_type)
    zsock.setsockopt(zmq.LINGER, 0)
    zsock.setsockopt(zmq.RCVTIMEO, int(TIMEOUT * 1000))
    zsock.setsockopt(zmq.SNDTIMEO, int(TIMEOUT * 1000))
    if peer_type in (zmq.DEALER, zmq.REQ, zmq.ROUTER):
        zsock.setsockopt(zmq.ROUTING_ID, b"pyzmq-peer")
    zsock.bind("tcp://127.0.0.1:*")
    endpoint = zsock.getsockopt(zmq.LAST_ENDPOINT).decode()
    port = int(endpoint.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    conn = zmtp.Connection(our_type, **kw)
    sock.sendall(conn.initiate())
    driver = Driver(sock, conn)
    hs = driver.expect(is_(zmtp.HandshakeComplete))
    return zsock, driver, hs


def check_ping(driver: Driver) -> None:
    driver.send(driver.conn.send_command(zmtp.Ping(0, b"LOL")))
    assert driver.expect(is_(zmtp.Pong)) == zmtp.Pong(b"LOL")
    ctx58 = bytes(range(58))
    driver.send(driver.conn.send_command(zmtp.Ping(10, ctx58)))
    assert driver.expect(is_(zmtp.Pong)) == zmtp.Pong(ctx58[:16])


CASES = [
    # (pyzmq type, our type, peer's Socket-Type, peer sends Identity?)
    (zmq.PAIR, "PAIR", "PAIR", False),
    (zmq.PUB, "SUB", "PUB", False),
    (zmq.SUB, "PUB", "SUB", False),
    (zmq.REQ, "REP", "REQ", True),
    (zmq.REP, "REQ", "REP", False),
    (zmq.DEALER, "ROUTER", "DEALER", True),
    (zmq.ROUTER, "DEALER", "ROUTER", True),
    (zmq.PULL, "PUSH", "PULL", False),
    (zmq.PUSH, "PULL", "PUSH", False),
    (zmq.XPUB, "XSUB", "XPUB", False),
    (zmq.XSUB, "XPUB", "XSUB", False),
]


@pytest.mark.parametrize(
    ("peer_type", "ours", "peer_name", "has_identity"), CASES, ids=[c[2] for c in CASES]
)
def test_wire_interop(
    ctx: zmq.Context[Any], peer_type: int, ours: str, peer_name: str, has_identity: bool
) -> None:
    zsock, driver, hs = open_pair(ctx, peer_type, ours, identity=b"trinq-side")
    try:
        assert hs.peer_socket_type == peer_name
        assert hs.peer_minor == 1
        assert hs.mechanism == "NULL"
        assert hs.peer_properties["Socket-Type"] == peer_name.encode()
        if has_identity:
            assert hs.peer_identity == b"pyzmq-peer"
            assert "Identity" in hs.peer_properties
        else:
            assert "Identity" not in hs.peer_properties
        conn = driver.conn
        send = driver.send

        if peer_type == zmq.PAIR:
            send(conn.send_message(MSG))
            assert zsock.recv_multipart() == MSG
            zsock.send_multipart(REPLY)
            assert driver.expect(is_(zmtp.Message)).frames == REPLY
        elif peer_type in (zmq.PUB, zmq.XPUB):
            send(conn.send_command(zmtp.Subscribe(b"frame")))
            if peer_type == zmq.XPUB:
                assert zsock.recv() == b"\x01frame"
            for _ in range(100):
                zsock.send_multipart(MSG)
                got = driver.try_expect(is_(zmtp.Message), 0.05)
                if got is not None:
                    break
            else:
                raise AssertionError("no publication received")
            assert got.frames == MSG
        elif peer_type in (zmq.SUB, zmq.XSUB):
            if peer_type == zmq.SUB:
                zsock.setsockopt(zmq.SUBSCRIBE, b"frame")
            else:
                zsock.send(b"\x01frame")  # forwarded as a legacy message (docs/interop.md §11)
            # libzmq attaches the pipe (and replays subscriptions) only when
            # the application thread processes commands: poke it meanwhile.
            for _ in range(100):
                zsock.getsockopt(zmq.EVENTS)
                sub = driver.try_expect(is_(zmtp.Subscribe), 0.05)
                if sub is not None:
                    break
            assert sub == zmtp.Subscribe(b"frame")
            send(conn.send_messages([MSG]))
            assert zsock.recv_multipart() == MSG
        elif peer_type == zmq.REQ:
            zsock.send_multipart(MSG)
            assert driver.expect(is_(zmtp.Message)).frames == [b"", *MSG]
            send(conn.send_message([b"", *REPLY]))
            assert zsock.recv_multipart() == REPLY
        elif peer_type == zmq.REP:
            send(conn.send_message([b"", *MSG]))
            assert zsock.recv_multipart() == MSG
            zsock.send_multipart(REPLY)
            assert driver.expect(is_(zmtp.Message)).frames == [b"", *REPLY]
        elif peer_type == zmq.DEALER:
            zsock.send_multipart(MSG)
            assert driver.expect(is_(zmtp.Message)).frames == MSG
            send(conn.send_message(REPLY))
            assert zsock.recv_multipart() == REPLY
        elif peer_type == zmq.ROUTER:
            send(conn.send_message(MSG))
            assert zsock.recv_multipart() == [b"trinq-side", *MSG]
            zsock.send_multipart([b"trinq-side", *REPLY])
            assert driver.expect(is_(zmtp.Message)).frames == REPLY
        elif peer_type == zmq.PULL:
            send(conn.send_message(MSG))
            assert zsock.recv_multipart() == MSG
        elif peer_type == zmq.PUSH:
            zsock.send_multipart(MSG)
            assert driver.expect(is_(zmtp.Message)).frames == MSG

        check_ping(driver)
    finally:
        driver.sock.close()
        zsock.close(linger=0)


def test_incompatible_type_refused(ctx: zmq.Context[Any]) -> None:
    zsock = ctx.socket(zmq.PUSH)
    zsock.setsockopt(zmq.LINGER, 0)
    zsock.bind("tcp://127.0.0.1:*")
    port = int(zsock.getsockopt(zmq.LAST_ENDPOINT).decode().rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    try:
        conn = zmtp.Connection("PUSH")
        sock.sendall(conn.initiate())
        driver = Driver(sock, conn)
        with pytest.raises(zmtp.RemoteProtocolError, match="PUSH"):
            driver.expect(is_(zmtp.HandshakeComplete))
    finally:
        sock.close()
        zsock.close(linger=0)


def test_maxmsgsize_against_libzmq(ctx: zmq.Context[Any]) -> None:
    zsock, driver, _ = open_pair(ctx, zmq.PUSH, "PULL", maxmsgsize=1000)
    try:
        zsock.send(b"a" * 1000)
        assert driver.expect(is_(zmtp.Message)).frames == [b"a" * 1000]
        zsock.send(b"b" * 1001)
        with pytest.raises(zmtp.RemoteProtocolError) as info:
            driver.expect(is_(zmtp.Message))
        assert info.value.emsgsize
    finally:
        driver.sock.close()
        zsock.close(linger=0)
