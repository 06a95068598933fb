"""CURVE (RFC 25/26), sans-I/O: handshakes, MESSAGE boxing, every failure path, garbage
into every handshake state, and byte-level interop with libzmq (pyzmq) over real TCP."""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Callable
from typing import Any

import pytest
import zmq
import zmq.auth
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nacl import bindings as nacl
from wire_driver import TIMEOUT, Driver, libzmq_socket, wait_event
from zmq.auth.thread import ThreadAuthenticator
from zmtp_helpers import ConnectionPair, answer_zap

from trinq import _z85, zmtp
from trinq.zmtp import _curve

E = zmtp.ProtocolErrorCode
GREETING_CURVE = zmtp.Greeting(mechanism=b"CURVE").encode()
ZAP_OK = zmtp.build_zap_reply(200, b"OK", b"user-1", {"X-Role": b"admin"})


def keypair() -> tuple[bytes, bytes]:
    return nacl.crypto_box_keypair()  # (public, secret), 32 raw bytes each


class Keys:
    def __init__(self) -> None:
        self.server_public, self.server_secret = keypair()
        self.client_public, self.client_secret = keypair()

    def client(self, server_key: bytes | None = None) -> zmtp.CurveClientMechanism:
        return zmtp.CurveClientMechanism(
            self.client_public, self.client_secret, server_key or self.server_public
        )

    def server(self) -> zmtp.CurveServerMechanism:
        return zmtp.CurveServerMechanism(self.server_public, self.server_secret)


def frames(data: bytes) -> list[tuple[int, bytes]]:
    decoder = zmtp.FrameDecoder()
    decoder.feed(data)
    out = []
    while (frame := decoder.next_frame()) is not None:
        out.append(frame)
    assert not decoder.buffered
    return out


def command(data: bytes) -> bytes:
    """The one command body in *data* (a whole frame)."""
    [(flags, body)] = frames(data)
    assert flags & zmtp.COMMAND
    return body


def frame_of(body: bytes) -> bytes:
    return zmtp.encode_frame(zmtp.COMMAND, body)


class Steps:
    """A client and a server Connection, advanced one handshake command at a time, so
    that a test can deliver, drop or garble each command."""

    def __init__(
        self,
        keys: Keys | None = None,
        client_type: str = "DEALER",
        server_type: str = "ROUTER",
        client: zmtp.CurveClientMechanism | None = None,
        **server_kw: Any,
    ) -> None:
        self.keys = keys = keys or Keys()
        self.c = zmtp.Connection(client_type, mechanism=client or keys.client())
        self.s = zmtp.Connection(server_type, mechanism=keys.server(), identity=b"srv", **server_kw)
        self.s.mechanism.configure_zap(b"global", "10.0.0.7")
        self.s.receive_data(self.c.initiate())
        self.c.receive_data(self.s.initiate())
        assert self.c.events() == [] and self.s.events() == []

    @property
    def cm(self) -> zmtp.CurveClientMechanism:
        assert isinstance(self.c.mechanism, zmtp.CurveClientMechanism)
        return self.c.mechanism

    @property
    def sm(self) -> zmtp.CurveServerMechanism:
        assert isinstance(self.s.mechanism, zmtp.CurveServerMechanism)
        return self.s.mechanism

    def hello(self) -> bytes:
        return self.c.data_to_send()

    def welcome(self, hello: bytes | None = None) -> bytes:
        self.s.receive_data(self.hello() if hello is None else hello)
        assert self.s.events() == []
        return self.s.data_to_send()

    def initiate(self, welcome: bytes | None = None) -> bytes:
        data = self.welcome() if welcome is None else welcome
        self.c.receive_data(data)
        assert self.c.events() == []
        return self.c.data_to_send()

    def to_zap(self, initiate: bytes | None = None) -> list[bytes]:
        self.s.receive_data(self.initiate() if initiate is None else initiate)
        assert self.s.events() == []
        assert self.s.data_to_send() == b""
        request = self.sm.zap_request()
        assert request is not None
        return request

    def ready(self, reply: list[bytes] | None = ZAP_OK) -> bytes:
        self.to_zap()
        return answer_zap(self.s, reply)

    def complete(self, reply: list[bytes] | None = ZAP_OK) -> None:
        self.c.receive_data(self.ready(reply))
        [hc] = self.c.events()
        [hs] = self.s.events()
        assert isinstance(hc, zmtp.HandshakeComplete) and isinstance(hs, zmtp.HandshakeComplete)


def fails(conn: zmtp.Connection, data: bytes, code: int | None) -> zmtp.RemoteProtocolError:
    """Feed *data*; the connection must fail with libzmq's *code*."""
    conn.receive_data(data)
    with pytest.raises(zmtp.RemoteProtocolError) as info:
        while conn.events():
            pass
    assert conn.state is zmtp.ConnectionState.ERROR
    assert info.value.zmtp_code == code, info.value
    return info.value


def ready_steps(**kw: Any) -> Steps:
    steps = Steps(**kw)
    steps.complete()
    return steps


# ----------------------------------------------------------------------------------
# The handshake


def test_handshake_both_roles_and_properties() -> None:
    keys = Keys()
    pair = ConnectionPair(
        zmtp.Connection("DEALER", mechanism=keys.client(), identity=b"cli", metadata={"X-A": b"1"}),
        zmtp.Connection("ROUTER", mechanism=keys.server()),
    )
    pair.pump()
    server = pair.b.mechanism
    request = server.zap_request()
    assert request is not None
    assert request[5:] == [b"CURVE", keys.client_public]
    assert server.zap_request() is None  # once
    server.zap_reply(ZAP_OK)
    pair.b_events += pair.b.events()
    pair.pump()
    ha, hb = pair.a_events.pop(0), pair.b_events.pop(0)
    assert isinstance(ha, zmtp.HandshakeComplete) and isinstance(hb, zmtp.HandshakeComplete)
    assert ha.mechanism == hb.mechanism == "CURVE"
    assert ha.peer_socket_type == "ROUTER"
    assert hb.peer_socket_type == "DEALER" and hb.peer_identity == b"cli"
    assert hb.peer_properties["X-A"] == b"1"
    assert isinstance(server, zmtp.CurveServerMechanism)
    assert server.client_key == keys.client_public
    assert server.user_id == b"user-1"
    assert server.zap_properties == {"User-Id": b"user-1", "X-Role": b"admin"}
    assert server.zap_status == 200
    assert not pair.a_events and not pair.b_events


def test_command_sizes_versions_and_nonces() -> None:
    steps = Steps()
    keys = steps.keys
    hello = command(steps.hello())
    assert len(hello) == 200
    assert hello[:8] == b"\x05HELLO\x01\x00" and hello[8:80] == bytes(72)
    cn_client, short = hello[80:112], hello[112:120]
    assert short == (1).to_bytes(8, "big")  # HELLO = 1
    plain = nacl.crypto_box_open(
        hello[120:], b"CurveZMQHELLO---" + short, cn_client, keys.server_secret
    )
    assert plain == bytes(64)
    welcome = command(steps.welcome(frame_of(hello)))
    assert len(welcome) == 168 and welcome[:8] == b"\x07WELCOME"
    inner = nacl.crypto_box_open(
        welcome[24:], b"WELCOME-" + welcome[8:24], keys.server_public, steps.cm._cn_secret
    )
    cn_server, cookie = inner[:32], inner[32:]
    assert len(cookie) == 96
    initiate = command(steps.initiate(frame_of(welcome)))
    assert initiate[:9] == b"\x08INITIATE" and len(initiate) >= 257
    assert initiate[9:105] == cookie
    assert initiate[105:113] == (2).to_bytes(8, "big")  # INITIATE = 2
    key = nacl.crypto_box_beforenm(cn_server, steps.cm._cn_secret)
    box = nacl.crypto_box_open_afternm(initiate[113:], b"CurveZMQINITIATE" + initiate[105:113], key)
    assert box[:32] == keys.client_public
    vouch = nacl.crypto_box_open(
        box[48:128], b"VOUCH---" + box[32:48], cn_server, keys.client_secret
    )
    assert vouch == cn_client + keys.server_public
    steps.to_zap(frame_of(initiate))
    steps.sm.zap_reply(ZAP_OK)
    ready = command(steps.s.data_to_send())
    assert ready[:6] == b"\x05READY" and ready[6:14] == (1).to_bytes(8, "big")  # READY = 1
    metadata = nacl.crypto_box_open_afternm(ready[14:], b"CurveZMQREADY---" + ready[6:14], key)
    assert zmtp.decode_metadata(metadata) == {"Socket-Type": b"ROUTER", "Identity": b"srv"}
    steps.c.receive_data(frame_of(ready))
    steps.c.events()
    steps.s.events()
    # First MESSAGEs: the client's is 3, the server's 2; outer flags 0; inner flags octet.
    for conn, prefix, first in (
        (steps.c, b"CurveZMQMESSAGEC", 3),
        (steps.s, b"CurveZMQMESSAGES", 2),
    ):
        wire = conn.send_messages([[b"a", b"b"]]) + conn.send_command(zmtp.Ping(5, b"p"))
        out = frames(wire)
        assert [f for f, _ in out] == [0, 0, 0]
        for n, ((_, body), expected) in enumerate(
            zip(out, [b"\x01a", b"\x00b", b"\x02\x04PING\x00\x05p"], strict=True)
        ):
            assert body[:8] == b"\x07MESSAGE"
            assert int.from_bytes(body[8:16], "big") == first + n
            assert nacl.crypto_box_open_afternm(body[16:], prefix + body[8:16], key) == expected


def test_messages_and_commands_round_trip_encrypted() -> None:
    steps = ready_steps(client_type="SUB", server_type="XPUB")
    c, s = steps.c, steps.s
    big = bytes(range(256)) * 40
    wire = c.send_command(zmtp.Subscribe(b"topic")) + c.send_command(zmtp.Cancel(b"old"))
    wire += c.send_command(zmtp.Ping(10, b"ctx")) + c.send_messages([[b""], [b"x", big]])
    assert b"topic" not in wire and b"PING" not in wire
    s.receive_data(wire)
    assert s.events() == [
        zmtp.Subscribe(b"topic"),
        zmtp.Cancel(b"old"),
        zmtp.Ping(10, b"ctx"),
        zmtp.Message([b""]),
        zmtp.Message([b"x", big]),
    ]
    wire = s.send_command(zmtp.Pong(b"ctx")) + s.send_message([b"news", b"body"])
    c.receive_data(wire)
    assert c.events() == [zmtp.Pong(b"ctx"), zmtp.Message([b"news", b"body"])]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(st.binary(max_size=300), min_size=1, max_size=4), min_size=1, max_size=8),
    st.integers(1, 97),
)
def test_batched_encoding_is_per_message_encoding_in_any_chunking(
    messages: list[list[bytes]], chunk: int
) -> None:
    steps = ready_steps()
    c, s = steps.c, steps.s
    wire = c.send_messages(messages)
    # the same as message by message (same nonces in order): decodes identically
    wire += b"".join(c.send_message(m) for m in messages)
    got: list[Any] = []
    for i in range(0, len(wire), chunk):
        s.receive_data(wire[i : i + chunk])
        got += s.events()
    assert got == [zmtp.Message(m) for m in messages] * 2


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            st.lists(st.binary(max_size=40), min_size=1, max_size=3),  # a message
            st.just("PING"),  # a command inside the boxes
        ),
        min_size=1,
        max_size=30,
    ),
    st.integers(1, 300),
    st.sets(st.integers(0, 40), max_size=6),
)
def test_events_into_decodes_runs_of_messages_with_refusals_in_any_chunking(
    items: list[Any], chunk: int, refuse_at: set[int]
) -> None:
    """The receive fast path (``decode_run``: runs of single-frame messages in one
    call) hands over exactly what frame-by-frame decoding gives -- messages in order,
    multipart ones whole, commands as events where they were -- whatever the chunking,
    and a ``put`` that refuses (a full RCVHWM) loses nothing: the refused message is
    ``take_stalled()``, the rest follows in order."""
    steps = Steps(Keys(), "DEALER", "ROUTER", raw_messages=True)
    steps.complete()
    c, s = steps.c, steps.s
    assert s.mechanism.decode_run is not None
    wire = b""
    expected: list[Any] = []
    for item in items:
        if item == "PING":
            wire += c.send_command(zmtp.Ping(0, b"x"))
            expected.append(zmtp.Ping(0, b"x"))
        else:
            wire += c.send_message(item)
            expected.append(tuple(item))
    got: list[Any] = []
    offers = 0

    def put(msg: Any) -> None:
        nonlocal offers
        offers += 1
        if offers in refuse_at:
            raise trio_would_block()
        got.append(msg)

    def drain(data: bytes | None) -> None:
        while True:
            try:
                events = s.events_into(put, data)
            except WouldBlockForTest:
                got.append(s.take_stalled())
                data = None
                continue
            data = None
            if not events:
                return
            got.extend(events)

    for i in range(0, len(wire), chunk):
        drain(wire[i : i + chunk])
    assert got == expected


class WouldBlockForTest(Exception):
    pass


def trio_would_block() -> Exception:
    return WouldBlockForTest()


def test_what_follows_a_refused_message_survives_the_end_of_the_stream() -> None:
    """A refusal leaves the rest of the read undecoded (``_wire_rest``); if the peer
    then closes, ``events()`` still returns all of it, in order, before the close."""
    steps = Steps(Keys(), "PUSH", "PULL", raw_messages=True)
    steps.complete()
    c, s = steps.c, steps.s
    wire = b"".join(c.send_message([b"m%d" % i]) for i in range(10))
    got: list[Any] = []

    def put(msg: Any) -> None:
        if len(got) == 3:
            raise WouldBlockForTest
        got.append(msg)

    with pytest.raises(WouldBlockForTest):
        s.events_into(put, wire)
    got.append(s.take_stalled())
    s.receive_data(b"")
    assert got + s.events() == [(b"m%d" % i,) for i in range(10)] + [zmtp.ConnectionClosed()]


def test_run_decoder_assembles_multipart_and_keeps_the_part_limit() -> None:
    """The run decoder assembles multipart messages (REQ/REP envelopes), also across
    reads; on a single-part socket (SERVER) a second part is still a protocol error,
    after the messages before it."""
    steps = Steps(Keys(), "DEALER", "ROUTER", raw_messages=True)
    steps.complete()
    c, s = steps.c, steps.s
    wire = c.send_message([b"", b"request"]) + c.send_message([b"a", b"b", b"c"])
    got: list[Any] = []
    half = len(wire) // 2 + 7
    assert s.events_into(got.append, wire[:half]) == []
    assert s.events_into(got.append, wire[half:]) == []
    assert got == [(b"", b"request"), (b"a", b"b", b"c")]
    steps = Steps(Keys(), "CLIENT", "SERVER", raw_messages=True)
    steps.complete()
    c, s = steps.c, steps.s
    one = c.send_message([b"single"])
    two = c.mechanism.encode_message([b"x", b"y"])  # what a CLIENT may not send
    got = []
    with pytest.raises(zmtp.RemoteProtocolError):
        s.events_into(got.append, one + two)
        s.events_into(got.append, None)
    assert got == [(b"single",)]


def test_run_decoder_leaves_errors_to_the_checking_path() -> None:
    """A replayed nonce or a box that does not open inside a run: the messages before
    it are delivered, then the connection fails as frame-by-frame decoding would."""
    steps = Steps(Keys(), "PUSH", "PULL", raw_messages=True)
    steps.complete()
    c, s = steps.c, steps.s
    first = c.send_message([b"one"])
    wire = first + c.send_message([b"two"]) + first  # the first MESSAGE replayed
    got: list[Any] = []
    with pytest.raises(zmtp.RemoteProtocolError) as info:
        events = s.events_into(got.append, wire)
        assert events == []
        s.events_into(got.append, None)
    assert got == [(b"one",), (b"two",)]
    assert info.value.zmtp_code == E.INVALID_SEQUENCE
    steps = Steps(Keys(), "PUSH", "PULL", raw_messages=True)
    steps.complete()
    c, s = steps.c, steps.s
    one = c.send_message([b"one"])
    bad = bytearray(c.send_message([b"two"]))
    bad[-1] ^= 0xFF  # the box no longer opens
    got = []
    with pytest.raises(zmtp.RemoteProtocolError) as info:
        events = s.events_into(got.append, one + bytes(bad))
        s.events_into(got.append, None)
    assert got == [(b"one",)]
    assert info.value.zmtp_code == E.CRYPTOGRAPHIC


def test_raw_messages_and_send_before_ready() -> None:
    keys = Keys()
    c = zmtp.Connection("PUSH", mechanism=keys.client())
    c.initiate()
    with pytest.raises(zmtp.LocalProtocolError):
        c.send_message([b"early"])
    with pytest.raises(zmtp.LocalProtocolError):
        keys.client().encode_messages([[b"early"]])
    with pytest.raises(zmtp.LocalProtocolError):
        keys.client().decode(0, b"\x07MESSAGE" + bytes(40))
    steps = Steps(keys, "PUSH", "PULL", raw_messages=True)
    steps.complete()
    steps.s.receive_data(steps.c.send_messages([[b"a", b"b"], [b"c"]]))
    assert steps.s.events() == [(b"a", b"b"), (b"c",)]
    with pytest.raises(ValueError):
        steps.c.send_messages([[]])


def test_stonehouse_without_zap_handler_and_enforce_domain() -> None:
    steps = Steps()
    steps.complete(reply=None)  # no handler bound: any client key is accepted
    assert steps.sm.user_id == b"" and steps.sm.zap_properties == {}
    steps = Steps()
    steps.sm.configure_zap(b"dom", b"1.2.3.4", enforce_domain=True)
    steps.to_zap()
    steps.sm.zap_unavailable()
    assert steps.s.data_to_send() == b""
    with pytest.raises(zmtp.ZapUnavailable):
        steps.s.events()
    assert steps.s.refusal("x") == b""
    steps = Steps()
    steps.sm.configure_zap(b"", b"1.2.3.4", enforce_domain=True)  # libzmq: no ZAP at all
    steps.s.receive_data(steps.initiate())
    steps.s.events()
    assert steps.sm.zap_request() is None
    steps.c.receive_data(steps.s.data_to_send())
    assert isinstance(steps.c.events()[0], zmtp.HandshakeComplete)


def test_zap_request_layout() -> None:
    steps = Steps()
    assert steps.to_zap() == [
        b"1.0",
        b"1",
        b"global",
        b"10.0.0.7",
        b"srv",  # the server socket's own routing id
        b"CURVE",
        steps.keys.client_public,
    ]


# ----------------------------------------------------------------------------------
# Failures


@pytest.mark.parametrize(("status", "sent"), [(400, b"400"), (500, b"500"), (300, None)])
def test_zap_refusal(status: int, sent: bytes | None) -> None:
    steps = Steps()
    out = steps.ready(zmtp.build_zap_reply(status, b"no way"))
    if sent is None:
        assert out == b""  # 300: close silently
    else:
        assert out == frame_of(zmtp.error_body(sent))
    with pytest.raises(zmtp.AuthenticationFailure) as info:
        steps.s.events()
    assert info.value.status_code == status and info.value.status_text == b"no way"
    assert info.value.is_auth_failure and info.value.peer_error is None
    assert steps.s.refusal("anything") == b""
    assert steps.s.state is zmtp.ConnectionState.ERROR
    if sent is not None:
        err = fails(steps.c, out, None)
        assert isinstance(err, zmtp.AuthenticationFailure)
        assert err.status_code == status and err.peer_error == sent


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        ([b"1.0", b"1", b"200", b"", b""], E.ZAP_MALFORMED_REPLY),
        ([b"x", b"1.0", b"1", b"200", b"", b"", b""], E.ZAP_MALFORMED_REPLY),
        ([b"2.0", b"1", b"200", b"", b"", b""], E.ZAP_BAD_VERSION),
        ([b"1.0", b"2", b"200", b"", b"", b""], E.ZAP_BAD_REQUEST_ID),
        ([b"1.0", b"1", b"201", b"", b"", b""], E.ZAP_INVALID_STATUS_CODE),
        ([b"1.0", b"1", b"200", b"", b"", b"\x05X"], E.ZAP_INVALID_METADATA),
    ],
)
def test_bad_zap_reply(reply: list[bytes], code: int) -> None:
    steps = Steps()
    assert steps.ready(reply) == b""
    with pytest.raises(zmtp.RemoteProtocolError) as info:
        steps.s.events()
    assert info.value.zmtp_code == code
    assert steps.s.refusal("x") == b""


def test_zap_answer_misuse() -> None:
    steps = Steps()
    with pytest.raises(zmtp.LocalProtocolError):
        steps.sm.zap_reply(ZAP_OK)
    steps.to_zap()
    assert steps.sm.zap_pending
    steps.sm.zap_reply(ZAP_OK)
    assert not steps.sm.zap_pending
    with pytest.raises(zmtp.LocalProtocolError):
        steps.sm.zap_unavailable()


def test_wrong_server_key() -> None:
    keys = Keys()
    other_public, _ = keypair()
    steps = Steps(
        keys, client=zmtp.CurveClientMechanism(keys.client_public, keys.client_secret, other_public)
    )
    err = fails(steps.s, steps.hello(), E.CRYPTOGRAPHIC)
    assert "server key" in err.reason
    assert steps.s.refusal("bad key")  # a protocol error: the driver may say why


def _patch(data: bytes, at: int, new: bytes) -> bytes:
    body = command(data)
    return frame_of(body[:at] + new + body[at + len(new) :])


def _flip(data: bytes, at: int) -> bytes:
    body = command(data)
    return _patch(data, at, bytes((body[at] ^ 0x20,)))


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda d: frame_of(command(d)[:-1]), E.MALFORMED_COMMAND_HELLO),  # 199 octets
        (lambda d: frame_of(command(d) + b"\0"), E.MALFORMED_COMMAND_HELLO),  # 201
        (lambda d: frame_of(command(d)[:100]), E.MALFORMED_COMMAND_HELLO),
        (lambda d: _patch(d, 6, b"\x02\x00"), E.MALFORMED_COMMAND_HELLO),  # version 2.0
        (lambda d: _patch(d, 7, b"\x01"), E.MALFORMED_COMMAND_HELLO),  # version 1.1
        (lambda d: _flip(d, 150), E.CRYPTOGRAPHIC),  # the box
        (lambda d: _flip(d, 90), E.CRYPTOGRAPHIC),  # C'
        (lambda d: _flip(d, 115), E.CRYPTOGRAPHIC),  # the nonce
        (lambda d: frame_of(b"\x07WELCOME" + command(d)[6:]), E.UNEXPECTED_COMMAND),
        (lambda d: frame_of(b"\x05READY"), E.UNEXPECTED_COMMAND),
        (lambda d: zmtp.encode_message([b"data"]), E.UNEXPECTED_COMMAND),
        (lambda d: b"\x04\x01\x00", E.MALFORMED_COMMAND_UNSPECIFIED),
    ],
)
def test_bad_hello(mutate: Callable[[bytes], bytes], code: int) -> None:
    steps = Steps()
    fails(steps.s, mutate(steps.hello()), code)


def test_hello_padding_is_not_checked_as_libzmq() -> None:
    steps = Steps()
    steps.s.receive_data(_patch(steps.hello(), 20, b"junk"))
    assert steps.s.events() == []
    assert command(steps.s.data_to_send())[:8] == b"\x07WELCOME"


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda d: frame_of(command(d)[:-1]), E.MALFORMED_COMMAND_WELCOME),
        (lambda d: frame_of(command(d) + b"\0"), E.MALFORMED_COMMAND_WELCOME),
        (lambda d: frame_of(b"\x07WELCOME"), E.MALFORMED_COMMAND_WELCOME),
        (lambda d: _flip(d, 10), E.CRYPTOGRAPHIC),  # nonce
        (lambda d: _flip(d, 100), E.CRYPTOGRAPHIC),  # box
        (lambda d: frame_of(b"\x05READY" + command(d)[8:]), E.UNEXPECTED_COMMAND),
        (lambda d: frame_of(b"\x07MESSAGE" + bytes(40)), E.UNEXPECTED_COMMAND),
        (lambda d: frame_of(b"\x05HELLO" + command(d)[8:]), E.UNEXPECTED_COMMAND),
    ],
)
def test_bad_welcome(mutate: Callable[[bytes], bytes], code: int) -> None:
    steps = Steps()
    fails(steps.c, mutate(steps.welcome()), code)


def test_welcome_replayed_is_refused() -> None:
    steps = Steps()
    welcome = steps.welcome()
    steps.initiate(welcome)
    fails(steps.c, welcome, E.UNEXPECTED_COMMAND)


def test_welcome_from_another_server_key() -> None:
    """A WELCOME boxed with a key other than S (a man in the middle) does not open."""
    steps = Steps()
    steps.welcome()
    impostor = Steps(Keys())
    fails(steps.c, impostor.welcome(), E.CRYPTOGRAPHIC)


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda d: frame_of(command(d)[:256]), E.MALFORMED_COMMAND_INITIATE),
        (lambda d: frame_of(command(d)[:100]), E.MALFORMED_COMMAND_INITIATE),
        (lambda d: _flip(d, 12), E.CRYPTOGRAPHIC),  # cookie nonce
        (lambda d: _flip(d, 60), E.CRYPTOGRAPHIC),  # cookie box
        (lambda d: _flip(d, 200), E.CRYPTOGRAPHIC),  # initiate box
        (lambda d: frame_of(command(d)[:-1]), E.CRYPTOGRAPHIC),  # truncated box
        (lambda d: frame_of(command(d) + b"\0"), E.CRYPTOGRAPHIC),  # extended box
        (lambda d: _patch(d, 105, (1).to_bytes(8, "big")), E.INVALID_SEQUENCE),  # = HELLO's
        (lambda d: _patch(d, 105, bytes(8)), E.INVALID_SEQUENCE),
        (lambda d: frame_of(b"\x05HELLO" + command(d)[9:]), E.UNEXPECTED_COMMAND),
        (lambda d: frame_of(b"\x05READY" + bytes(30)), E.UNEXPECTED_COMMAND),
    ],
)
def test_bad_initiate(mutate: Callable[[bytes], bytes], code: int) -> None:
    steps = Steps()
    fails(steps.s, mutate(steps.initiate()), code)


def test_initiate_nonce_gap_is_allowed() -> None:
    steps = Steps()
    welcome = steps.welcome()
    steps.cm._tx_nonce = 1000  # INITIATE nonce 1000 (> HELLO's 1): fine
    steps.to_zap(steps.initiate(welcome))
    steps.sm.zap_reply(ZAP_OK)
    steps.c.receive_data(steps.s.data_to_send())
    assert isinstance(steps.c.events()[0], zmtp.HandshakeComplete)
    wire = steps.c.send_message([b"x"])
    assert int.from_bytes(frames(wire)[0][1][8:16], "big") == 1001
    steps.s.receive_data(wire)
    assert steps.s.events()[-1] == zmtp.Message([b"x"])


def test_initiate_replaying_hello_nonce() -> None:
    steps = Steps()
    welcome = steps.welcome()
    steps.cm._tx_nonce = 1  # a valid box, but the nonce of HELLO again
    fails(steps.s, steps.initiate(welcome), E.INVALID_SEQUENCE)


def test_vouch_for_another_server() -> None:
    other = keypair()[0]

    class Liar(zmtp.CurveClientMechanism):
        def _process_welcome(self, data: bytes) -> None:
            super()._process_welcome(data)
            self.server_key = other  # the vouch will name another S

    keys = Keys()
    steps = Steps(
        keys,
        client=Liar(keys.client_public, keys.client_secret, keys.server_public),
    )
    fails(steps.s, steps.initiate(), E.KEY_EXCHANGE)


def test_vouch_by_a_key_the_client_does_not_hold() -> None:
    steps = Steps()
    welcome = steps.welcome()
    steps.cm.public_key = keypair()[0]  # claims C it has no secret for
    fails(steps.s, steps.initiate(welcome), E.CRYPTOGRAPHIC)


def test_initiate_from_another_connection_is_refused() -> None:
    """Each connection has its own cookie key: a cookie from one is useless on another."""
    keys = Keys()
    one, two = Steps(keys), Steps(keys)
    two.welcome()
    fails(two.s, one.initiate(), E.CRYPTOGRAPHIC)


def test_cookie_key_is_dropped_after_initiate() -> None:
    steps = Steps()
    steps.to_zap()
    assert steps.sm._cookie_key is None


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda d: frame_of(command(d)[:29]), E.MALFORMED_COMMAND_READY),
        (lambda d: frame_of(b"\x05READY"), E.MALFORMED_COMMAND_READY),
        (lambda d: _flip(d, 8), E.CRYPTOGRAPHIC),  # nonce
        (lambda d: _flip(d, 20), E.CRYPTOGRAPHIC),  # box
        (lambda d: frame_of(command(d)[:-1]), E.CRYPTOGRAPHIC),
        (lambda d: frame_of(b"\x07WELCOME" + bytes(160)), E.UNEXPECTED_COMMAND),
        (lambda d: frame_of(b"\x07MESSAGE" + command(d)[6:]), E.UNEXPECTED_COMMAND),
        (lambda d: zmtp.encode_message([b"x"]), E.UNEXPECTED_COMMAND),
    ],
)
def test_bad_ready(mutate: Callable[[bytes], bytes], code: int) -> None:
    steps = Steps()
    fails(steps.c, mutate(steps.ready()), code)


@pytest.mark.parametrize("as_command", [False, True])
def test_message_before_ready(as_command: bool) -> None:
    """A MESSAGE before READY (as libzmq frames it, or as a command): refused."""
    other = ready_steps()
    [(_, early)] = frames(other.s.send_message([b"early"]))
    steps = Steps()
    steps.initiate()  # the client now waits for READY
    wire = frame_of(early) if as_command else zmtp.encode_frame(0, early)
    fails(steps.c, wire, E.UNEXPECTED_COMMAND)


def test_ready_metadata_must_be_valid() -> None:
    steps = Steps()
    steps.to_zap()
    steps.sm.zap_reply(ZAP_OK)
    steps.sm.metadata = {}
    key = steps.sm._key
    assert key is not None
    bad = nacl.crypto_box_easy_afternm(b"\x05X", b"CurveZMQREADY---" + (7).to_bytes(8, "big"), key)
    fails(steps.c, frame_of(b"\x05READY" + (7).to_bytes(8, "big") + bad), E.INVALID_METADATA)


def test_initiate_metadata_must_be_valid() -> None:
    steps = Steps()
    steps.cm.metadata = {}
    steps.cm.basic_properties = lambda: []  # type: ignore[method-assign]
    welcome = steps.welcome()
    steps.c.receive_data(welcome)
    steps.c.events()
    initiate = command(steps.c.data_to_send())
    key = steps.cm._key
    assert key is not None
    # re-box the same plaintext plus one stray octet of metadata
    short = initiate[105:113]
    plain = nacl.crypto_box_open_afternm(initiate[113:], b"CurveZMQINITIATE" + short, key)
    box = nacl.crypto_box_easy_afternm(plain + b"\x07", b"CurveZMQINITIATE" + short, key)
    fails(steps.s, frame_of(initiate[:113] + box), E.INVALID_METADATA)


def test_replayed_and_decreasing_nonces_are_refused_gaps_allowed() -> None:
    steps = ready_steps()
    c, s = steps.c, steps.s
    m1, m2, m3, m4 = (c.send_message([bytes([i])]) for i in range(4))
    s.receive_data(m1 + m3)  # m2 never arrives: a gap is fine
    assert s.events() == [zmtp.Message([b"\x00"]), zmtp.Message([b"\x02"])]
    fails(s, m2, E.INVALID_SEQUENCE)  # smaller than the last one
    del m4
    steps = ready_steps()
    m1 = steps.s.send_message([b"a"])
    steps.c.receive_data(m1)
    assert steps.c.events() == [zmtp.Message([b"a"])]
    fails(steps.c, m1, E.INVALID_SEQUENCE)  # replayed


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda b: b[:20], E.MALFORMED_COMMAND_MESSAGE),
        (lambda b: b[:32], E.MALFORMED_COMMAND_MESSAGE),
        (lambda b: b[:-1], E.CRYPTOGRAPHIC),
        (lambda b: b + b"\0", E.CRYPTOGRAPHIC),
        (lambda b: b[:40] + bytes((b[40] ^ 1,)) + b[41:], E.CRYPTOGRAPHIC),
        (lambda b: b[:9] + bytes((b[9] ^ 1,)) + b[10:], E.CRYPTOGRAPHIC),  # another nonce
        (lambda b: b"\x07MESSAGX" + b[8:], E.UNEXPECTED_COMMAND),
        (lambda b: zmtp.command_body(b"PING", b"\x00\x00"), E.UNEXPECTED_COMMAND),
        (lambda b: b"", E.UNEXPECTED_COMMAND),
    ],
)
def test_bad_message(mutate: Callable[[bytes], bytes], code: int) -> None:
    steps = ready_steps()
    good = steps.c.send_message([b"ok"])
    [(_, body)] = frames(steps.c.send_message([b"payload" * 3]))
    # earlier messages are delivered before the error (Rule 2)
    steps.s.receive_data(good + zmtp.encode_frame(0, mutate(body)))
    assert steps.s.events() == [zmtp.Message([b"ok"])]
    with pytest.raises(zmtp.RemoteProtocolError) as info:
        steps.s.events()
    assert info.value.zmtp_code == code


def test_plaintext_command_frame_after_handshake_is_refused() -> None:
    steps = ready_steps()
    fails(steps.s, zmtp.encode_command(b"PING", b"\x00\x00"), E.UNEXPECTED_COMMAND)


def test_error_command_inside_the_box_raises() -> None:
    steps = ready_steps()
    err = fails(steps.c, steps.s.send_command(zmtp.Error(b"bye")), None)
    assert err.peer_error == b"bye"


def test_two_clients_and_two_servers() -> None:
    keys = Keys()
    pair = ConnectionPair(
        zmtp.Connection("DEALER", mechanism=keys.client()),
        zmtp.Connection("DEALER", mechanism=keys.client()),
    )
    with pytest.raises(zmtp.RemoteProtocolError) as info:
        pair.pump()
    assert info.value.zmtp_code == E.UNEXPECTED_COMMAND
    pair = ConnectionPair(
        zmtp.Connection("DEALER", mechanism=keys.server()),
        zmtp.Connection("DEALER", mechanism=keys.server()),
    )
    pair.pump()  # both wait for a HELLO (libzmq: until the handshake timeout)
    assert pair.a.state is pair.b.state is zmtp.ConnectionState.HANDSHAKING


def test_mechanism_mismatch_with_null() -> None:
    keys = Keys()
    conn = zmtp.Connection("DEALER", mechanism=keys.client())
    conn.initiate()
    conn.receive_data(zmtp.Greeting(mechanism=b"NULL").encode())
    with pytest.raises(zmtp.RemoteProtocolError) as info:
        conn.events()
    assert info.value.zmtp_code == E.MECHANISM_MISMATCH


def test_greeting_announces_curve_as_client_even_on_the_server() -> None:
    keys = Keys()
    for mech in (keys.client(), keys.server()):
        greeting = zmtp.Greeting.decode(zmtp.Connection("DEALER", mechanism=mech).initiate())
        assert greeting.mechanism == b"CURVE" and not greeting.as_server


def test_key_validation() -> None:
    keys = Keys()
    with pytest.raises(ValueError, match="32 raw bytes"):
        zmtp.CurveClientMechanism(keys.client_public[:31], keys.client_secret, keys.server_public)
    with pytest.raises(ValueError, match="32 raw bytes"):
        zmtp.CurveClientMechanism(keys.client_public, keys.client_secret, b"x" * 40)
    with pytest.raises(ValueError, match="does not belong"):
        zmtp.CurveClientMechanism(keys.server_public, keys.client_secret, keys.server_public)
    with pytest.raises(ValueError, match="does not belong"):
        zmtp.CurveServerMechanism(keys.client_public, keys.server_secret)
    assert zmtp.CurveServerMechanism(None, keys.server_secret).public_key == keys.server_public


def test_missing_pynacl_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_curve, "_loaded", None)
    for name in [m for m in sys.modules if m == "nacl" or m.startswith("nacl.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "nacl", None)
    with pytest.raises(ImportError, match=r"pip install 'trinq\[curve\]'"):
        zmtp.CurveServerMechanism(None, bytes(range(32)))
    with pytest.raises(ImportError, match=r"pip install 'trinq\[curve\]'"):
        zmtp.CurveClientMechanism(bytes(32), bytes(32), bytes(32))


def test_direct_libsodium_path_matches_bindings() -> None:
    sodium = _curve._sodium()
    public, secret = keypair()
    key = nacl.crypto_box_beforenm(public, secret)
    nonce = bytes(24)
    for plain in (b"\x00", b"\x01" + bytes(5000)):
        box = sodium.seal(plain, nonce, key)
        assert box == nacl.crypto_box_easy_afternm(plain, nonce, key)
        assert sodium.open_split(box, nonce, key) == (plain[0], plain[1:])
        assert sodium.open_split(box[:-1], nonce, key) is None
    assert sodium.open_split(b"short", nonce, key) is None


# ----------------------------------------------------------------------------------
# Garbage into every handshake state


def _advance(state: str) -> zmtp.Connection:
    steps = Steps()
    if state == "client-welcome":
        steps.hello()
        return steps.c
    if state == "client-ready":
        steps.c.receive_data(steps.welcome())
        steps.c.events()
        steps.c.data_to_send()
        return steps.c
    if state == "client-done":
        steps.complete()
        return steps.c
    if state == "server-hello":
        return steps.s
    if state == "server-initiate":
        steps.welcome()
        return steps.s
    if state == "server-zap":
        steps.to_zap()
        return steps.s
    steps.complete()
    return steps.s


STATES = [
    "client-welcome",
    "client-ready",
    "client-done",
    "server-hello",
    "server-initiate",
    "server-zap",
    "server-done",
]
NAMES = [b"HELLO", b"WELCOME", b"INITIATE", b"READY", b"MESSAGE", b"ERROR", b"PING", b"X"]
command_st = st.builds(
    lambda name, data: zmtp.encode_command(name, data),
    st.sampled_from(NAMES),
    st.one_of(st.binary(max_size=40), st.binary(min_size=150, max_size=300)),
)
garbage_st = st.one_of(
    st.binary(max_size=400),
    st.lists(command_st, min_size=1, max_size=4).map(b"".join),
    st.lists(st.binary(max_size=300), min_size=1, max_size=3).map(zmtp.encode_message),
)


def _survive(conn: zmtp.Connection, data: bytes) -> None:
    conn.receive_data(data)
    try:
        for _ in range(10):
            conn.events()
            conn.data_to_send()
    except zmtp.RemoteProtocolError:
        assert conn.state is zmtp.ConnectionState.ERROR


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(STATES), garbage_st)
def test_garbage_into_every_state(state: str, garbage: bytes) -> None:
    _survive(_advance(state), garbage)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["hello", "welcome", "initiate", "ready"]),
    st.integers(0, 400),
    st.integers(1, 255),
    st.sampled_from(["flip", "truncate", "extend"]),
)
def test_garbled_commands(which: str, at: int, value: int, how: str) -> None:
    steps = Steps()
    victim = steps.c if which in ("welcome", "ready") else steps.s
    data = {
        "hello": steps.hello,
        "welcome": steps.welcome,
        "initiate": steps.initiate,
        "ready": steps.ready,
    }[which]()
    body = command(data)
    at %= len(body)
    if how == "flip":
        body = body[:at] + bytes((body[at] ^ value,)) + body[at + 1 :]
    elif how == "truncate":
        body = body[:at]
    else:
        body = body + bytes((value,)) * (at % 7 + 1)
    _survive(victim, frame_of(body) if body else b"\x04\x00")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=30), max_size=9))
def test_garbage_zap_reply(reply: list[bytes]) -> None:
    steps = Steps()
    steps.to_zap()
    steps.sm.zap_reply(reply)  # never raises
    try:
        steps.s.data_to_send()
        steps.s.events()
    except zmtp.RemoteProtocolError:
        assert steps.s.state is zmtp.ConnectionState.ERROR


# ----------------------------------------------------------------------------------
# libzmq interop over real TCP (pyzmq = libzmq 4.3.x with libsodium)


def _accept(lsock: socket.socket) -> socket.socket:
    conn, _ = lsock.accept()
    return conn


def _z(key: bytes) -> bytes:
    return _z85.decode(key)


def test_libzmq_has_curve() -> None:
    assert zmq.has("curve")


def test_trinq_client_libzmq_server(zctx: zmq.Context[Any]) -> None:
    server_public, server_secret = zmq.curve_keypair()
    client_public, client_secret = zmq.curve_keypair()
    rep = libzmq_socket(zctx, zmq.REP)
    rep.curve_server = True
    rep.curve_secretkey = server_secret
    port = rep.bind_to_random_port("tcp://127.0.0.1")
    mech = zmtp.CurveClientMechanism(_z(client_public), _z(client_secret), _z(server_public))
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        drv = Driver(zmtp.Connection("REQ", mechanism=mech, metadata={"X-Hi": b"there"}), sock)
        hs = drv.handshake()
        assert hs.peer_socket_type == "REP" and hs.mechanism == "CURVE"
        drv.send([b"", b"hello"])
        frame = rep.recv(copy=False)
        assert frame.bytes == b"hello" and frame.get("X-Hi") == "there"
        rep.send_multipart([b"world", b"x" * 1000])
        assert drv.recv() == zmtp.Message([b"", b"world", b"x" * 1000])
        # heartbeats travel boxed too: a PING gets an encrypted PONG from libzmq
        sock.sendall(drv.conn.send_command(zmtp.Ping(0, b"hb")))
        assert drv.recv() == zmtp.Pong(b"hb")


def test_trinq_client_refused_by_libzmq_zap(zctx: zmq.Context[Any], tmp_path: Any) -> None:
    from trinq._certs import create_certificates, load_certificate

    auth = ThreadAuthenticator(zctx)
    auth.start()
    try:
        allowed = tmp_path / "allowed"
        allowed.mkdir()
        create_certificates(allowed, "someone")
        auth.configure_curve(domain="*", location=str(allowed))
        server_public, server_secret = zmq.curve_keypair()
        rep = libzmq_socket(zctx, zmq.REP)
        rep.curve_server = True
        rep.curve_secretkey = server_secret
        port = rep.bind_to_random_port("tcp://127.0.0.1")
        # a key the handler does not know: libzmq sends ERROR "400"
        stranger_pub, stranger_sec = load_certificate(create_certificates(tmp_path, "x")[1])
        assert stranger_sec is not None
        mech = zmtp.CurveClientMechanism(_z(stranger_pub), _z(stranger_sec), _z(server_public))
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
            drv = Driver(zmtp.Connection("REQ", mechanism=mech), sock)
            with pytest.raises(zmtp.AuthenticationFailure) as info:
                drv.handshake()
            assert info.value.status_code == 400 and info.value.peer_error == b"400"
        # a key from the certificate directory: accepted
        pub, sec = load_certificate(allowed / "someone.key_secret")
        assert sec is not None
        mech = zmtp.CurveClientMechanism(_z(pub), _z(sec), _z(server_public))
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
            drv = Driver(zmtp.Connection("REQ", mechanism=mech), sock)
            drv.handshake()
            drv.send([b"", b"ping"])
            assert rep.recv() == b"ping"
    finally:
        auth.stop()


def test_trinq_client_wrong_server_key_libzmq_closes(zctx: zmq.Context[Any]) -> None:
    _, server_secret = zmq.curve_keypair()
    wrong_public, _ = zmq.curve_keypair()
    client_public, client_secret = zmq.curve_keypair()
    rep = libzmq_socket(zctx, zmq.REP)
    rep.curve_server = True
    rep.curve_secretkey = server_secret
    mon = rep.get_monitor_socket(zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL)
    port = rep.bind_to_random_port("tcp://127.0.0.1")
    mech = zmtp.CurveClientMechanism(_z(client_public), _z(client_secret), _z(wrong_public))
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        drv = Driver(zmtp.Connection("REQ", mechanism=mech), sock)
        drv.until(lambda evs: any(type(e) is zmtp.ConnectionClosed for e in evs))
    event = wait_event(mon, zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL)
    assert event["value"] == zmq.PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC
    mon.close()


def _serve(lsock: socket.socket, conn: zmtp.Connection, zap: Any = None) -> Driver:
    return Driver(conn, _accept(lsock), zap)


def test_libzmq_client_trinq_server(zctx: zmq.Context[Any], listener: socket.socket) -> None:
    server_public, server_secret = zmq.curve_keypair()
    client_public, client_secret = zmq.curve_keypair()
    req = libzmq_socket(zctx, zmq.REQ)
    req.curve_serverkey = server_public
    req.curve_publickey, req.curve_secretkey = client_public, client_secret
    req.setsockopt(zmq.METADATA, b"X-Client:yes")  # type: ignore[attr-defined]
    req.connect(f"tcp://127.0.0.1:{listener.getsockname()[1]}")
    req.send(b"hello")
    requests: list[list[bytes]] = []

    def zap(request: list[bytes]) -> list[bytes]:
        requests.append(request)
        return zmtp.build_zap_reply(200, b"OK", b"alice", {"X-Grant": b"all"})

    mech = zmtp.CurveServerMechanism(_z(server_public), _z(server_secret))
    mech.configure_zap(b"dom", "127.0.0.1")
    drv = _serve(listener, zmtp.Connection("REP", mechanism=mech, identity=b"me"), zap)
    try:
        hs = drv.handshake()
        assert hs.peer_socket_type == "REQ" and hs.peer_properties["X-Client"] == b"yes"
        assert requests == [
            [b"1.0", b"1", b"dom", b"127.0.0.1", b"me", b"CURVE", _z(client_public)]
        ]
        assert mech.client_key == _z(client_public)
        assert mech.zap_properties == {"User-Id": b"alice", "X-Grant": b"all"}
        assert drv.recv() == zmtp.Message([b"", b"hello"])
        drv.send([b"", b"world", b"y" * 3000])
        assert req.recv_multipart() == [b"world", b"y" * 3000]
    finally:
        drv.sock.close()


def test_libzmq_dealer_commands_to_trinq_server(
    zctx: zmq.Context[Any], listener: socket.socket
) -> None:
    """A libzmq SUB subscribes through the box (SUBSCRIBE with the COMMAND bit)."""
    server_public, server_secret = zmq.curve_keypair()
    client_public, client_secret = zmq.curve_keypair()
    sub = libzmq_socket(zctx, zmq.SUB)
    sub.curve_serverkey = server_public
    sub.curve_publickey, sub.curve_secretkey = client_public, client_secret
    sub.subscribe(b"news")
    sub.connect(f"tcp://127.0.0.1:{listener.getsockname()[1]}")
    mech = zmtp.CurveServerMechanism(None, _z(server_secret))
    drv = _serve(listener, zmtp.Connection("PUB", mechanism=mech))
    try:
        drv.handshake()
        assert drv.recv() == zmtp.Subscribe(b"news")
        drv.send([b"news", b"flash"])
        assert sub.recv_multipart() == [b"news", b"flash"]
    finally:
        drv.sock.close()


def test_libzmq_client_gets_error_400_from_trinq_server(
    zctx: zmq.Context[Any], listener: socket.socket
) -> None:
    server_public, server_secret = zmq.curve_keypair()
    client_public, client_secret = zmq.curve_keypair()
    dealer = libzmq_socket(zctx, zmq.DEALER)
    dealer.curve_serverkey = server_public
    dealer.curve_publickey, dealer.curve_secretkey = client_public, client_secret
    mon = dealer.get_monitor_socket(zmq.EVENT_HANDSHAKE_FAILED_AUTH)
    dealer.connect(f"tcp://127.0.0.1:{listener.getsockname()[1]}")
    mech = zmtp.CurveServerMechanism(None, _z(server_secret))
    drv = _serve(
        listener,
        zmtp.Connection("ROUTER", mechanism=mech),
        lambda request: zmtp.build_zap_reply(400, b"Unknown key"),
    )
    try:
        with pytest.raises(zmtp.AuthenticationFailure) as info:
            drv.handshake()
        assert info.value.status_code == 400
        event = wait_event(mon, zmq.EVENT_HANDSHAKE_FAILED_AUTH)
        assert event["value"] == 400  # libzmq parsed our ERROR "400" as a ZAP status
    finally:
        drv.sock.close()
        mon.close()


def test_libzmq_client_with_wrong_server_key_fails_at_trinq(
    zctx: zmq.Context[Any], listener: socket.socket
) -> None:
    _, server_secret = zmq.curve_keypair()
    wrong_public, _ = zmq.curve_keypair()
    client_public, client_secret = zmq.curve_keypair()
    dealer = libzmq_socket(zctx, zmq.DEALER)
    dealer.curve_serverkey = wrong_public
    dealer.curve_publickey, dealer.curve_secretkey = client_public, client_secret
    dealer.connect(f"tcp://127.0.0.1:{listener.getsockname()[1]}")
    drv = _serve(
        listener,
        zmtp.Connection("ROUTER", mechanism=zmtp.CurveServerMechanism(None, _z(server_secret))),
    )
    try:
        with pytest.raises(zmtp.RemoteProtocolError) as info:
            drv.handshake()
        assert info.value.zmtp_code == E.CRYPTOGRAPHIC
    finally:
        drv.sock.close()


def test_libzmq_and_trinq_stream_many_messages_both_ways(
    zctx: zmq.Context[Any], listener: socket.socket
) -> None:
    server_public, server_secret = zmq.curve_keypair()
    client_public, client_secret = zmq.curve_keypair()
    dealer = libzmq_socket(zctx, zmq.DEALER)
    dealer.curve_serverkey = server_public
    dealer.curve_publickey, dealer.curve_secretkey = client_public, client_secret
    dealer.connect(f"tcp://127.0.0.1:{listener.getsockname()[1]}")
    messages = [[b"%d" % i, b"z" * (i * 37 % 700)] for i in range(300)]

    def blast() -> None:
        for m in messages:
            dealer.send_multipart(m)

    sender = threading.Thread(target=blast)
    sender.start()
    drv = _serve(
        listener,
        zmtp.Connection("DEALER", mechanism=zmtp.CurveServerMechanism(None, _z(server_secret))),
    )
    try:
        drv.handshake()
        drv.until(lambda evs: len(evs) >= len(messages))
        assert drv.events == [zmtp.Message(m) for m in messages]
        drv.sock.sendall(drv.conn.send_messages(messages))
        assert [dealer.recv_multipart() for _ in messages] == messages
    finally:
        sender.join(TIMEOUT)
        drv.sock.close()


def test_events_into_puts_curve_messages_in_wire_order() -> None:
    """After the handshake, ``events_into`` hands CURVE data messages to ``put`` (not
    as events), stops at a command with what follows it queued, and keeps the message
    a full ``put`` refused for ``take_stalled``: nothing lost, nothing reordered."""
    keys = Keys()
    steps = Steps(keys, "DEALER", "ROUTER", raw_messages=True)
    steps.complete()
    c, s = steps.c, steps.s
    wire = c.send_messages([[b"1"], [b"2", b"2b"]]) + c.send_command(zmtp.Ping(0, b"p"))
    wire += c.send_messages([[b"3"], [b"4"]])
    got: list[Any] = []
    assert s.events_into(got.append, wire) == [zmtp.Ping(0, b"p")]
    assert got == [(b"1",), (b"2", b"2b")] and s.messages_put == 2
    # the rest was queued: delivered by the next calls, in order
    rest: list[Any] = []
    while batch := s.events_into(rest.append):
        rest += batch
    assert rest == [(b"3",), (b"4",)]

    class Full(Exception):
        pass

    taken: list[Any] = []

    def put(msg: Any) -> None:
        if len(taken) == 1:
            raise Full
        taken.append(msg)

    with pytest.raises(Full):
        s.events_into(put, c.send_messages([[b"5"], [b"6"], [b"7"]]))
    assert taken == [(b"5",)]
    assert s.take_stalled() == (b"6",)
    later: list[Any] = []
    while batch := s.events_into(later.append):
        later += batch
    assert later == [(b"7",)]
