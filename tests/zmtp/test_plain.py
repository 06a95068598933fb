"""PLAIN (RFC 24, as libzmq encodes it), sans-I/O: handshakes in both roles, ZAP
outcomes, every failure path, garbage into every handshake state, and byte-level
interop with libzmq (pyzmq) over real TCP."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wire_driver import TIMEOUT, Driver, libzmq_socket, wait_event
from zmq.auth.thread import ThreadAuthenticator
from zmtp_helpers import ConnectionPair, answer_zap

from trinq import zmtp

E = zmtp.ProtocolErrorCode
GREETING_PLAIN = zmtp.Greeting(mechanism=b"PLAIN").encode()
ZAP_OK = zmtp.build_zap_reply(200, b"OK", b"admin-user", {"X-Team": b"ops"})


def frame_of(body: bytes) -> bytes:
    return zmtp.encode_frame(zmtp.COMMAND, body)


def commands(data: bytes) -> list[bytes]:
    decoder = zmtp.FrameDecoder()
    decoder.feed(data)
    out = []
    while (frame := decoder.next_frame()) is not None:
        assert frame[0] & zmtp.COMMAND
        out.append(frame[1])
    return out


class Steps:
    """A PLAIN client and server, advanced one command at a time."""

    def __init__(self, username: bytes = b"admin", password: bytes = b"secret") -> None:
        self.c = zmtp.Connection(
            "DEALER", mechanism=zmtp.PlainClientMechanism(username, password), identity=b"c1"
        )
        self.s = zmtp.Connection("ROUTER", mechanism=zmtp.PlainServerMechanism(), identity=b"S")
        self.s.mechanism.configure_zap("global", "192.168.55.1")
        self.s.receive_data(self.c.initiate())
        self.c.receive_data(self.s.initiate())
        assert self.c.events() == [] and self.s.events() == []

    @property
    def sm(self) -> zmtp.PlainServerMechanism:
        assert isinstance(self.s.mechanism, zmtp.PlainServerMechanism)
        return self.s.mechanism

    def hello(self) -> bytes:
        return self.c.data_to_send()

    def to_zap(self, hello: bytes | None = None) -> list[bytes]:
        self.s.receive_data(self.hello() if hello is None else hello)
        assert self.s.events() == []
        assert self.s.data_to_send() == b""
        request = self.sm.zap_request()
        assert request is not None
        return request

    def welcome(self, reply: list[bytes] | None = ZAP_OK) -> bytes:
        self.to_zap()
        return answer_zap(self.s, reply)

    def initiate(self, welcome: bytes | None = None) -> bytes:
        self.c.receive_data(self.welcome() if welcome is None else welcome)
        assert self.c.events() == []
        return self.c.data_to_send()

    def ready(self, initiate: bytes | None = None) -> bytes:
        self.s.receive_data(self.initiate() if initiate is None else initiate)
        [hs] = self.s.events()
        assert isinstance(hs, zmtp.HandshakeComplete)
        return self.s.data_to_send()

    def complete(self) -> None:
        self.c.receive_data(self.ready())
        [hc] = self.c.events()
        assert isinstance(hc, zmtp.HandshakeComplete)


def fails(conn: zmtp.Connection, data: bytes, code: int | None) -> zmtp.RemoteProtocolError:
    conn.receive_data(data)
    with pytest.raises(zmtp.RemoteProtocolError) as info:
        while conn.events():
            pass
    assert conn.state is zmtp.ConnectionState.ERROR
    assert info.value.zmtp_code == code, info.value
    return info.value


def test_handshake_through_a_connection_pair() -> None:
    pair = ConnectionPair(
        zmtp.Connection(
            "REQ", mechanism=zmtp.PlainClientMechanism(b"u", b"p"), metadata={"X-K": b"v"}
        ),
        zmtp.Connection("REP", mechanism=zmtp.PlainServerMechanism()),
    )
    pair.pump()
    server = pair.b.mechanism
    request = server.zap_request()
    assert request == [b"1.0", b"1", b"", b"", b"", b"PLAIN", b"u", b"p"]
    server.zap_reply(ZAP_OK)
    pair.pump()
    ha, hb = pair.handshake()
    assert ha.mechanism == hb.mechanism == "PLAIN"
    assert ha.peer_socket_type == "REP" and hb.peer_socket_type == "REQ"
    assert hb.peer_properties == {"Socket-Type": b"REQ", "Identity": b"", "X-K": b"v"}
    assert server.user_id == b"admin-user"
    assert server.zap_properties == {"User-Id": b"admin-user", "X-Team": b"ops"}
    # after the handshake PLAIN frames are plain ZMTP (the NULL fast path)
    wire = pair.a.send_message([b"", b"hi"])
    assert wire == zmtp.encode_message([b"", b"hi"])
    assert pair.send(pair.a, wire) == [zmtp.Message([b"", b"hi"])]
    assert pair.send(pair.b, pair.b.send_command(zmtp.Ping(3, b"x"))) == [zmtp.Ping(3, b"x")]


def test_wire_format_as_libzmq() -> None:
    steps = Steps()
    hello = steps.hello()
    assert commands(hello) == [b"\x05HELLO\x05admin\x06secret"]
    assert steps.to_zap(hello) == [
        b"1.0",
        b"1",
        b"global",
        b"192.168.55.1",
        b"S",  # the server's own routing id
        b"PLAIN",
        b"admin",
        b"secret",
    ]
    steps.sm.zap_reply(ZAP_OK)
    welcome = steps.s.data_to_send()
    assert commands(welcome) == [b"\x07WELCOME"]
    assert commands(steps.initiate(welcome)) == [
        b"\x08INITIATE" + zmtp.encode_metadata([("Socket-Type", b"DEALER"), ("Identity", b"c1")])
    ]
    steps.s.receive_data(
        frame_of(b"\x08INITIATE" + zmtp.encode_metadata({"Socket-Type": b"DEALER"}))
    )
    steps.s.events()
    assert commands(steps.s.data_to_send()) == [
        b"\x05READY" + zmtp.encode_metadata([("Socket-Type", b"ROUTER"), ("Identity", b"S")])
    ]
    for mech in (zmtp.PlainClientMechanism(b"", b""), zmtp.PlainServerMechanism()):
        greeting = zmtp.Greeting.decode(zmtp.Connection("DEALER", mechanism=mech).initiate())
        assert greeting.mechanism == b"PLAIN" and not greeting.as_server


def test_empty_and_longest_credentials() -> None:
    steps = Steps(b"", b"")
    assert steps.to_zap()[6:] == [b"", b""]
    steps = Steps(b"u" * 255, b"p" * 255)
    assert steps.to_zap()[6:] == [b"u" * 255, b"p" * 255]
    with pytest.raises(ValueError, match="255"):
        zmtp.PlainClientMechanism(b"u" * 256, b"")
    with pytest.raises(ValueError, match="255"):
        zmtp.PlainClientMechanism(b"", b"p" * 256)


@pytest.mark.parametrize("libzmq_error", [True, False])
@pytest.mark.parametrize(("status", "sent"), [(400, b"400"), (500, b"500"), (300, None)])
def test_wrong_password_refused_by_zap(status: int, sent: bytes | None, libzmq_error: bool) -> None:
    steps = Steps(password=b"wrong")
    steps.s.mechanism = mech = zmtp.PlainServerMechanism(libzmq_error=libzmq_error)
    mech.configure(steps.s.socket_type, b"S", {})
    out = steps.welcome(zmtp.build_zap_reply(status, b"Invalid password"))
    if sent is None:
        assert out == b""
    elif libzmq_error:
        # libzmq >= 4.3's garbled ERROR ("\x05E" is one C hex escape): \x04\x09^RROR\x03400
        assert out == b"\x04\x09^RROR\x03" + sent
    else:
        assert out == frame_of(zmtp.error_body(sent))
    with pytest.raises(zmtp.AuthenticationFailure) as info:
        steps.s.events()
    assert info.value.status_code == status
    assert info.value.status_text == b"Invalid password"
    assert steps.s.refusal("x") == b""
    if sent is not None:  # our client reads either form
        err = fails(steps.c, out, None)
        assert isinstance(err, zmtp.AuthenticationFailure)
        assert err.status_code == status and err.peer_error == sent


def test_client_reads_libzmq_garbled_error_only_when_short() -> None:
    steps = Steps()
    steps.hello()
    # long enough to be a (strange) 94-octet command name: not an ERROR
    fails(steps.c, frame_of(b"^RROR" + bytes(95)), E.UNEXPECTED_COMMAND)
    steps = Steps()
    steps.hello()
    err = fails(steps.c, frame_of(b"^RROR\x04oops"), None)
    assert err.peer_error == b"oops" and not err.is_auth_failure


def test_no_zap_handler_fails_the_plain_server() -> None:
    steps = Steps()
    assert steps.welcome(reply=None) == b""
    with pytest.raises(zmtp.ZapUnavailable):
        steps.s.events()
    assert steps.s.refusal("x") == b""


def test_bad_zap_reply_is_a_zap_protocol_error() -> None:
    steps = Steps()
    assert steps.welcome([b"1.0", b"1", b"200"]) == b""
    with pytest.raises(zmtp.RemoteProtocolError) as info:
        steps.s.events()
    assert info.value.zmtp_code == E.ZAP_MALFORMED_REPLY


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"\x05HELLO", E.MALFORMED_COMMAND_HELLO),  # no username
        (b"\x05HELLO\x05adm", E.MALFORMED_COMMAND_HELLO),  # truncated username
        (b"\x05HELLO\x05admin", E.MALFORMED_COMMAND_HELLO),  # no password
        (b"\x05HELLO\x05admin\x06secre", E.MALFORMED_COMMAND_HELLO),  # truncated
        (b"\x05HELLO\x05admin\x06secretX", E.MALFORMED_COMMAND_HELLO),  # data after it
        (b"\x08INITIATE", E.UNEXPECTED_COMMAND),
        (b"\x05READY", E.UNEXPECTED_COMMAND),
        (b"\x05HELLX\x00\x00", E.UNEXPECTED_COMMAND),
        (b"\x00", E.MALFORMED_COMMAND_UNSPECIFIED),
    ],
)
def test_bad_hello(body: bytes, code: int) -> None:
    fails(Steps().s, frame_of(body), code)


def test_data_before_the_handshake() -> None:
    fails(Steps().s, zmtp.encode_message([b"x"]), E.UNEXPECTED_COMMAND)
    steps = Steps()
    steps.hello()
    fails(steps.c, zmtp.encode_message([b"x"]), E.UNEXPECTED_COMMAND)


def test_commands_while_waiting_for_zap_or_after_ready() -> None:
    steps = Steps()
    steps.to_zap()
    fails(steps.s, frame_of(b"\x05HELLO\x00\x00"), E.UNSPECIFIED)
    steps = Steps()
    steps.complete()
    # after READY, PLAIN is transparent: unknown commands are dropped (as libzmq)
    steps.s.receive_data(frame_of(b"\x08INITIATE"))
    assert steps.s.events() == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"\x07WELCOMEx", E.MALFORMED_COMMAND_WELCOME),
        (b"\x05READY", E.UNEXPECTED_COMMAND),  # READY before WELCOME
        (b"\x05HELLO\x00\x00", E.UNEXPECTED_COMMAND),
        (b"\x04PING\x00\x00", E.UNEXPECTED_COMMAND),  # PING before READY
    ],
)
def test_bad_welcome(body: bytes, code: int) -> None:
    steps = Steps()
    steps.hello()
    fails(steps.c, frame_of(body), code)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"\x05READY\x05X", E.INVALID_METADATA),
        (b"\x05READY\x0bSocket-Type\x00\x00\x00\x09ROU", E.INVALID_METADATA),
        (b"\x07WELCOME", E.UNEXPECTED_COMMAND),  # a second WELCOME
    ],
)
def test_bad_ready(body: bytes, code: int) -> None:
    steps = Steps()
    steps.initiate()
    fails(steps.c, frame_of(body), code)


def test_bad_initiate_metadata() -> None:
    steps = Steps()
    steps.c.receive_data(steps.welcome())
    steps.c.events()
    steps.c.data_to_send()
    fails(steps.s, frame_of(b"\x08INITIATE\x03ab"), E.INVALID_METADATA)


def test_socket_type_mismatch_after_ready() -> None:
    steps = Steps()
    steps.c.receive_data(steps.welcome())
    steps.c.events()
    steps.c.data_to_send()
    body = b"\x08INITIATE" + zmtp.encode_metadata({"Socket-Type": b"PUB"})
    fails(steps.s, frame_of(body), E.UNSPECIFIED)


def test_error_from_the_server_during_the_handshake() -> None:
    steps = Steps()
    steps.hello()
    err = fails(steps.c, frame_of(zmtp.error_body(b"go away")), None)
    assert not err.is_auth_failure and err.peer_error == b"go away"


def test_two_clients_two_servers() -> None:
    pair = ConnectionPair(
        zmtp.Connection("DEALER", mechanism=zmtp.PlainClientMechanism(b"a", b"b")),
        zmtp.Connection("DEALER", mechanism=zmtp.PlainClientMechanism(b"a", b"b")),
    )
    with pytest.raises(zmtp.RemoteProtocolError) as info:
        pair.pump()
    assert info.value.zmtp_code == E.UNEXPECTED_COMMAND
    pair = ConnectionPair(
        zmtp.Connection("DEALER", mechanism=zmtp.PlainServerMechanism()),
        zmtp.Connection("DEALER", mechanism=zmtp.PlainServerMechanism()),
    )
    pair.pump()
    assert pair.a.state is pair.b.state is zmtp.ConnectionState.HANDSHAKING


# ----------------------------------------------------------------------------------
# Garbage into every handshake state

STATES = ["client-welcome", "client-ready", "server-hello", "server-zap", "server-initiate"]
command_st = st.builds(
    zmtp.encode_command,
    st.sampled_from([b"HELLO", b"WELCOME", b"INITIATE", b"READY", b"ERROR", b"PING", b"Q"]),
    st.binary(max_size=40),
)
garbage_st = st.one_of(
    st.binary(max_size=200),
    st.lists(command_st, min_size=1, max_size=4).map(b"".join),
)


def _advance(state: str) -> zmtp.Connection:
    steps = Steps()
    if state == "client-welcome":
        steps.hello()
        return steps.c
    if state == "client-ready":
        steps.initiate()
        return steps.c
    if state == "server-hello":
        return steps.s
    if state == "server-zap":
        steps.to_zap()
        return steps.s
    steps.c.receive_data(steps.welcome())
    return steps.s


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(STATES), garbage_st)
def test_garbage_into_every_state(state: str, garbage: bytes) -> None:
    conn = _advance(state)
    conn.receive_data(garbage)
    try:
        for _ in range(5):
            conn.events()
            conn.data_to_send()
    except zmtp.RemoteProtocolError:
        assert conn.state is zmtp.ConnectionState.ERROR


# ----------------------------------------------------------------------------------
# libzmq interop over real TCP


@pytest.fixture
def libzmq_plain_server(zctx: zmq.Context[Any]) -> Iterator[tuple[zmq.Socket[Any], int]]:
    auth = ThreadAuthenticator(zctx)
    auth.start()
    auth.configure_plain(domain="global", passwords={"admin": "secret"})
    rep = libzmq_socket(zctx, zmq.REP)
    rep.plain_server = True
    rep.zap_domain = b"global"
    port = rep.bind_to_random_port("tcp://127.0.0.1")
    try:
        yield rep, port
    finally:
        rep.close()
        auth.stop()


def test_trinq_client_libzmq_server(libzmq_plain_server: tuple[zmq.Socket[Any], int]) -> None:
    rep, port = libzmq_plain_server
    mech = zmtp.PlainClientMechanism(b"admin", b"secret")
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        drv = Driver(zmtp.Connection("REQ", mechanism=mech, metadata={"X-Me": b"trinq"}), sock)
        hs = drv.handshake()
        assert hs.peer_socket_type == "REP" and hs.mechanism == "PLAIN"
        sock.sendall(drv.conn.send_message([b"", b"hello"]))
        frame = rep.recv(copy=False)
        assert frame.bytes == b"hello"
        assert frame.get("User-Id") == "admin" and frame.get("X-Me") == "trinq"
        rep.send(b"world")
        assert drv.recv() == zmtp.Message([b"", b"world"])


def test_trinq_client_wrong_password(libzmq_plain_server: tuple[zmq.Socket[Any], int]) -> None:
    _, port = libzmq_plain_server
    mech = zmtp.PlainClientMechanism(b"admin", b"guess")
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        drv = Driver(zmtp.Connection("REQ", mechanism=mech), sock)
        with pytest.raises(zmtp.AuthenticationFailure) as info:
            drv.handshake()
        assert info.value.status_code == 400 and info.value.peer_error == b"400"


def test_libzmq_plain_server_without_zap_handler_closes(zctx: zmq.Context[Any]) -> None:
    rep = libzmq_socket(zctx, zmq.REP)
    rep.plain_server = True
    port = rep.bind_to_random_port("tcp://127.0.0.1")
    mech = zmtp.PlainClientMechanism(b"admin", b"secret")
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        drv = Driver(zmtp.Connection("REQ", mechanism=mech), sock)
        drv.until(lambda evs: any(type(e) is zmtp.ConnectionClosed for e in evs))
        assert not drv.conn.handshake_complete


def _zap_handler(passwords: dict[bytes, bytes]) -> Callable[[list[bytes]], list[bytes]]:
    def handle(request: list[bytes]) -> list[bytes]:
        req = zmtp.parse_zap_request(request)
        user, password = req.credentials
        if passwords.get(user) == password:
            return zmtp.build_zap_reply(200, b"OK", user)
        return zmtp.build_zap_reply(400, b"Invalid username or password")

    return handle


def test_libzmq_client_trinq_server(zctx: zmq.Context[Any], listener: socket.socket) -> None:
    req = libzmq_socket(zctx, zmq.REQ)
    req.plain_username, req.plain_password = b"admin", b"secret"
    req.routing_id = b"client-7"
    req.connect(f"tcp://127.0.0.1:{listener.getsockname()[1]}")
    req.send(b"hello")
    conn, _ = listener.accept()
    mech = zmtp.PlainServerMechanism()
    mech.configure_zap(b"global", "127.0.0.1")
    drv = Driver(zmtp.Connection("REP", mechanism=mech), conn, _zap_handler({b"admin": b"secret"}))
    try:
        hs = drv.handshake()
        assert hs.peer_socket_type == "REQ" and hs.peer_identity == b"client-7"
        assert mech.username == b"admin" and mech.user_id == b"admin"
        assert drv.recv() == zmtp.Message([b"", b"hello"])
        conn.sendall(drv.conn.send_message([b"", b"world"]))
        assert req.recv() == b"world"
    finally:
        conn.close()


def test_libzmq_client_wrong_password_gets_error_400(
    zctx: zmq.Context[Any], listener: socket.socket
) -> None:
    dealer = libzmq_socket(zctx, zmq.DEALER)
    dealer.plain_username, dealer.plain_password = b"admin", b"guess"
    mon = dealer.get_monitor_socket(zmq.EVENT_HANDSHAKE_FAILED_AUTH)
    dealer.connect(f"tcp://127.0.0.1:{listener.getsockname()[1]}")
    conn, _ = listener.accept()
    drv = Driver(
        zmtp.Connection("ROUTER", mechanism=zmtp.PlainServerMechanism()),
        conn,
        _zap_handler({b"admin": b"secret"}),
    )
    try:
        with pytest.raises(zmtp.AuthenticationFailure) as info:
            drv.handshake()
        assert info.value.status_code == 400
        assert wait_event(mon, zmq.EVENT_HANDSHAKE_FAILED_AUTH)["value"] == 400
    finally:
        conn.close()
        mon.close()
