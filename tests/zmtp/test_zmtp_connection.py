"""In-memory pairs of Connections (h11's ConnectionPair style)."""

from __future__ import annotations

import pytest
from zmtp_helpers import GREETING_NULL, ConnectionPair, drain

from trinq import zmtp


def make_pair(a: str = "DEALER", b: str = "ROUTER", **kw: object) -> ConnectionPair:
    return ConnectionPair(zmtp.Connection(a, **kw), zmtp.Connection(b))  # type: ignore[arg-type]


def test_null_handshake_properties() -> None:
    pair = ConnectionPair(
        zmtp.Connection("DEALER", identity=b"dealer-1", metadata={"X-Hello": b"world"}),
        zmtp.Connection("ROUTER", identity=b"r"),
    )
    ha, hb = pair.handshake()
    assert ha.peer_socket_type == "ROUTER"
    assert ha.peer_identity == b"r"
    assert hb.peer_socket_type == "DEALER"
    assert hb.peer_identity == b"dealer-1"
    assert hb.peer_properties == {
        "Socket-Type": b"DEALER",
        "Identity": b"dealer-1",
        "X-Hello": b"world",
    }
    assert hb.peer_minor == 1 and hb.mechanism == "NULL"
    for conn in (pair.a, pair.b):
        assert conn.handshake_complete
        assert conn.state is zmtp.ConnectionState.READY
        assert conn.peer_minor == 1
    assert pair.b.peer_identity == b"dealer-1"
    assert pair.b.peer_socket_type == "DEALER"
    assert pair.b.peer_properties["X-Hello"] == b"world"


@pytest.mark.parametrize("a_sends", [True, False])
def test_messages_both_ways(a_sends: bool) -> None:
    pair = make_pair("PAIR", "PAIR")
    pair.handshake()
    src, dst = (pair.a, pair.b) if a_sends else (pair.b, pair.a)
    msgs = [[b"one"], [b"a", b"", b"c" * 1000], [b"x" * 70000]]
    data = src.send_messages(msgs) + src.send_message([b"last"])
    dst.receive_data(data)
    assert drain(dst) == [zmtp.Message(m) for m in [*msgs, [b"last"]]]


@pytest.mark.parametrize("a_sends", [True, False])
def test_commands_both_ways(a_sends: bool) -> None:
    pair = make_pair("RADIO", "DISH")
    pair.handshake()
    src = pair.a if a_sends else pair.b
    cmds = [zmtp.Ping(5, b"ctx"), zmtp.Pong(b"ctx"), zmtp.Join(b"g"), zmtp.Leave(b"g")]
    cmds += [zmtp.Subscribe(b"t"), zmtp.Cancel(b"t")]
    data = b"".join(src.send_command(c) for c in cmds)
    assert pair.send(src, data) == cmds


def test_unknown_command_ignored_error_command_raises() -> None:
    pair = make_pair()
    pair.handshake()
    events = pair.send(pair.a, zmtp.encode_command(b"FOO", b"bar") + pair.a.send_message([b"m"]))
    assert events == [zmtp.Message([b"m"])]
    events = pair.send(
        pair.a, pair.a.send_message([b"n"]) + pair.a.send_command(zmtp.Error(b"bye"))
    )
    assert events == [zmtp.Message([b"n"])]
    assert pair.b.state is zmtp.ConnectionState.ERROR
    with pytest.raises(zmtp.RemoteProtocolError) as info:
        pair.b.events()
    assert info.value.peer_error == b"bye"
    assert not info.value.is_auth_failure


def test_error_during_handshake_is_auth_failure() -> None:
    conn = zmtp.Connection("DEALER")
    conn.initiate()
    conn.receive_data(GREETING_NULL + zmtp.encode_command(b"ERROR", b"\x03400"))
    with pytest.raises(zmtp.RemoteProtocolError) as info:
        conn.next_event()
    assert info.value.peer_error == b"400"
    assert info.value.is_auth_failure


def test_error_during_handshake_with_a_reason_is_a_protocol_error() -> None:
    """Only a bare ZAP status code means "authentication failed" (as libzmq)."""
    conn = zmtp.Connection("DEALER")
    conn.initiate()
    reason = b"incompatible socket types"
    conn.receive_data(GREETING_NULL + zmtp.encode_command(b"ERROR", bytes([len(reason)]) + reason))
    with pytest.raises(zmtp.RemoteProtocolError) as info:
        conn.next_event()
    assert info.value.peer_error == reason
    assert not info.value.is_auth_failure


@pytest.mark.parametrize(
    "data",
    [
        zmtp.encode_command(b"PING", b"\x00\x00"),  # PING before READY
        zmtp.encode_message([b"hello"]),  # data before READY
        zmtp.encode_command(b"READY", b"\x05X"),  # malformed metadata
    ],
)
def test_bad_handshake(data: bytes) -> None:
    conn = zmtp.Connection("DEALER")
    conn.initiate()
    conn.receive_data(GREETING_NULL + data)
    with pytest.raises(zmtp.RemoteProtocolError):
        conn.events()


def test_second_ready_after_handshake_ignored() -> None:
    pair = make_pair()
    pair.handshake()
    assert pair.send(pair.a, zmtp.encode_command(b"READY", b"")) == []


@pytest.mark.parametrize(
    ("a", "b"), [("PUSH", "PUSH"), ("REQ", "REQ"), ("PUB", "PULL"), ("PAIR", "DEALER")]
)
def test_mismatched_socket_types(a: str, b: str) -> None:
    pair = make_pair(a, b)
    with pytest.raises(zmtp.RemoteProtocolError) as info:
        pair.pump()
    assert a in info.value.reason and b in info.value.reason
    assert info.value.peer_error is None


def test_check_socket_type_disabled_and_missing_type() -> None:
    pair = ConnectionPair(
        zmtp.Connection("PUSH", check_socket_type=False),
        zmtp.Connection("PUSH", check_socket_type=False),
    )
    pair.handshake()
    conn = zmtp.Connection("PUSH")
    conn.initiate()
    conn.receive_data(GREETING_NULL + zmtp.encode_command(b"READY"))
    (hs,) = conn.events()
    assert hs.peer_socket_type == ""


def test_maxmsgsize_enforced() -> None:
    pair = ConnectionPair(zmtp.Connection("PULL", maxmsgsize=100), zmtp.Connection("PUSH"))
    pair.handshake()
    ok = pair.b.send_message([b"x" * 100])
    big = pair.b.send_message([b"y" * 101])
    pair.a.receive_data(ok + big[:9])  # only the header of the big frame
    assert pair.a.events() == [zmtp.Message([b"x" * 100])]
    with pytest.raises(zmtp.RemoteProtocolError) as info:
        pair.a.events()
    assert info.value.emsgsize


def test_maxmsgsize_long_header_rejected_before_body() -> None:
    conn = zmtp.Connection("PULL", maxmsgsize=100)
    ConnectionPair(conn, zmtp.Connection("PUSH")).handshake()
    conn.receive_data(b"\x02" + (1 << 40).to_bytes(8, "big"))
    with pytest.raises(zmtp.RemoteProtocolError) as info:
        conn.events()
    assert info.value.emsgsize


def test_maxmsgsize_applies_to_handshake() -> None:
    pair = ConnectionPair(zmtp.Connection("DEALER", maxmsgsize=20), zmtp.Connection("ROUTER"))
    with pytest.raises(zmtp.RemoteProtocolError) as info:
        pair.pump()
    assert info.value.emsgsize


def test_send_before_handshake_is_local_error() -> None:
    conn = zmtp.Connection("PUSH")
    with pytest.raises(zmtp.LocalProtocolError):
        conn.send_message([b"x"])
    with pytest.raises(zmtp.LocalProtocolError):
        conn.send_messages([[b"x"]])
    with pytest.raises(zmtp.LocalProtocolError):
        conn.send_command(zmtp.Ping())
    # ERROR may always be sent.
    assert conn.send_command(zmtp.Error(b"x")) == b"\x04\x08\x05ERROR\x01x"


def test_eof() -> None:
    pair = make_pair()
    pair.handshake()
    data = pair.a.send_message([b"a"])
    pair.b.receive_data(data)
    pair.b.receive_data(b"")
    assert pair.b.events() == [zmtp.Message([b"a"]), zmtp.ConnectionClosed()]
    assert pair.b.state is zmtp.ConnectionState.CLOSED
    assert pair.b.next_event() == zmtp.ConnectionClosed()
    assert pair.b.events() == []
    with pytest.raises(zmtp.LocalProtocolError):
        pair.b.receive_data(b"more")


def test_eof_during_greeting() -> None:
    conn = zmtp.Connection("PUSH")
    conn.receive_data(GREETING_NULL[:20])
    conn.receive_data(b"")
    assert drain(conn) == [zmtp.ConnectionClosed()]


def test_data_to_send_includes_greeting_without_initiate() -> None:
    conn = zmtp.Connection("PUSH")
    assert conn.data_to_send() == GREETING_NULL[:12] + b"NULL" + GREETING_NULL[16:]
    assert conn.data_to_send() == b""


@pytest.mark.parametrize("ours", ["PUB", "XPUB"])
def test_pub_decodes_legacy_subscriptions(ours: str) -> None:
    pair = make_pair("SUB", ours)
    pair.handshake()
    data = pair.a.send_messages([[b"\x01A"], [b"\x00A"], [b"\x01A", b"x"], [b"hello"], [b""]])
    assert pair.send(pair.a, data) == [
        zmtp.Subscribe(b"A"),
        zmtp.Cancel(b"A"),
        zmtp.Message([b"\x01A", b"x"]),
        zmtp.Message([b"hello"]),
        zmtp.Message([b""]),
    ]


def test_other_types_keep_legacy_form_as_message() -> None:
    pair = make_pair("PUB", "SUB")
    pair.handshake()
    assert pair.send(pair.a, pair.a.send_message([b"\x01A"])) == [zmtp.Message([b"\x01A"])]


def test_events_returned_before_error() -> None:
    pair = make_pair()
    pair.handshake()
    pair.b.receive_data(pair.a.send_message([b"ok"]) + b"\x04\x01\x00")  # empty command name
    assert pair.b.events() == [zmtp.Message([b"ok"])]
    assert pair.b.state is zmtp.ConnectionState.ERROR
    with pytest.raises(zmtp.RemoteProtocolError):
        pair.b.events()


def test_message_event_is_immutable() -> None:
    msg = zmtp.Message([b"a"])
    with pytest.raises(AttributeError):
        msg.frames = [b"b"]  # type: ignore[misc]
    assert msg == zmtp.Message([b"a"]) and msg != zmtp.Message([b"b"])
    assert repr(msg) == "Message(frames=[b'a'])"


def test_protocol_error_not_instantiable() -> None:
    with pytest.raises(TypeError):
        zmtp.ProtocolError("x")


class RecordingMechanism(zmtp.NullMechanism):
    """A non-transparent mechanism: XOR every post-handshake body with 0x55."""

    transparent = False

    def encode(self, flags: int, body: bytes) -> tuple[int, bytes]:
        return flags, bytes(b ^ 0x55 for b in body)

    def decode(self, flags: int, body: bytes) -> tuple[int, bytes]:
        return flags, bytes(b ^ 0x55 for b in body)


def test_non_transparent_mechanism_slow_path() -> None:
    pair = ConnectionPair(
        zmtp.Connection("DEALER", mechanism=RecordingMechanism()),
        zmtp.Connection("ROUTER", mechanism=RecordingMechanism()),
    )
    pair.handshake()
    data = pair.a.send_messages([[b"a", b"b"], [b"c"]]) + pair.a.send_command(zmtp.Ping(1, b"z"))
    assert b"a" not in data[:4]
    assert pair.send(pair.a, data) == [
        zmtp.Message([b"a", b"b"]),
        zmtp.Message([b"c"]),
        zmtp.Ping(1, b"z"),
    ]


def raw_pull() -> ConnectionPair:
    pair = ConnectionPair(zmtp.Connection("PULL", raw_messages=True), zmtp.Connection("PUSH"))
    pair.handshake()
    return pair


def test_events_into_puts_messages_in_wire_order_and_stops_after_a_command() -> None:
    pair = raw_pull()
    pull, push = pair.a, pair.b
    wire = push.send_messages([[b"a"], [b"b", b"c"], [b"x" * 300]])
    wire += b"\x04\x07\x04PING\x00\x00" + push.send_message([b"after"])
    pull.receive_data(wire)
    got: list[object] = []
    events = pull.events_into(got.append)
    assert got == [(b"a",), (b"b", b"c"), (b"x" * 300,)]
    assert events == [zmtp.Ping(0, b"")]  # the command, after the messages before it
    assert pull.events_into(got.append) == []  # the rest, then "need more data"
    assert got[-1] == (b"after",)
    assert pull.messages_put == 4


def test_events_into_keeps_the_message_put_refused() -> None:
    pair = raw_pull()
    pull, push = pair.a, pair.b
    pull.receive_data(push.send_messages([[b"1"], [b"2", b"2"], [b"3"]]))
    got: list[object] = []

    def put(msg: object) -> None:
        if len(got) == 1:
            raise BlockingIOError  # a full queue, say
        got.append(msg)

    with pytest.raises(BlockingIOError):
        pull.events_into(put)
    with pytest.raises(zmtp.LocalProtocolError):
        pull.events_into(put)  # the refused message must be taken first
    assert pull.take_stalled() == (b"2", b"2")
    assert pull.take_stalled() is None
    got.append("taken")
    assert pull.events_into(got.append) == []
    assert got == [(b"1",), "taken", (b"3",)]  # nothing lost, nothing twice
    assert pull.messages_put == 3


def test_events_into_delivers_then_raises_the_error() -> None:
    pair = raw_pull()
    pull, push = pair.a, pair.b
    pull.receive_data(push.send_message([b"ok"]) + b"\x04\x01\x00")  # empty command name
    got: list[object] = []
    assert pull.events_into(got.append) == []
    assert got == [(b"ok",)]
    assert pull.state is zmtp.ConnectionState.ERROR
    with pytest.raises(zmtp.RemoteProtocolError):
        pull.events_into(got.append)


def test_events_into_falls_back_to_events_when_not_raw() -> None:
    pair = make_pair("PULL", "PUSH")
    pair.handshake()
    pair.a.receive_data(pair.b.send_message([b"m"]))
    got: list[object] = []
    assert pair.a.events_into(got.append) == [zmtp.Message([b"m"])]
    assert got == []


# --- the draft types' single-part rule (MAX_PARTS) ----------------------------------


@pytest.mark.parametrize(
    "socket_type", ["CLIENT", "SERVER", "SCATTER", "GATHER", "PEER", "CHANNEL"]
)
def test_single_part_types_refuse_a_multipart_message(socket_type: str) -> None:
    from trinq.zmtp import MAX_PARTS, FrameDecoder, RemoteProtocolError

    assert MAX_PARTS[socket_type] == 1
    got: list[object] = []
    dec = FrameDecoder(-1, MAX_PARTS[socket_type])
    dec.feed(b"\x00\x01a" + b"\x01\x01b\x00\x01c")
    with pytest.raises(RemoteProtocolError, match="single-part"):
        dec.read_messages(got.append, None)
    assert got == [(b"a",)]  # what came before is delivered


def test_dish_takes_group_and_body_but_not_three_frames() -> None:
    from trinq.zmtp import MAX_PARTS, FrameDecoder, RemoteProtocolError

    got: list[object] = []
    dec = FrameDecoder(-1, MAX_PARTS["DISH"])
    dec.feed(b"\x01\x01g\x00\x01x" + b"\x01\x01g\x01\x01h\x00\x01y")
    with pytest.raises(RemoteProtocolError, match="at most 2-part"):
        dec.read_messages(got.append, None)
    assert got == [(b"g", b"x")]


def test_add_frame_applies_the_limit_too() -> None:
    from trinq.zmtp import MORE, FrameDecoder, RemoteProtocolError

    dec = FrameDecoder(-1, 1)
    assert dec.add_frame(0, b"a") == [b"a"]
    with pytest.raises(RemoteProtocolError):
        dec.add_frame(MORE, b"b")


def test_classic_types_have_no_part_limit() -> None:
    from trinq.zmtp import MAX_PARTS

    assert "DEALER" not in MAX_PARTS
    conn = zmtp.Connection("DEALER")
    assert conn._decoder.max_parts == 0


def test_maxmsgsize_bounds_a_multipart_message_as_a_whole() -> None:
    """Each frame fits, but the message passes maxmsgsize: a protocol error (EMSGSIZE),
    raised as soon as the frames so far pass it; messages within it pass."""
    from trinq.zmtp import MORE, FrameDecoder, RemoteProtocolError, encode_message

    got: list[object] = []
    dec = FrameDecoder(10)
    dec.feed(encode_message([b"12345", b"12345"]))  # exactly 10: fine
    dec.read_messages(got.append, None)
    assert got == [(b"12345", b"12345")]
    dec.feed(encode_message([b"123456", b"12345"]))
    with pytest.raises(RemoteProtocolError) as info:
        dec.read_messages(got.append, None)
    assert info.value.emsgsize and "multipart message of 11 octets" in str(info.value)
    dec = FrameDecoder(10)
    dec.feed(bytes([MORE, 6]) + b"123456" + bytes([MORE, 6]) + b"123456")  # never ends
    with pytest.raises(RemoteProtocolError):
        dec.read_messages(got.append, None)
    dec = FrameDecoder(10)
    assert dec.add_frame(MORE, b"123456") is None
    with pytest.raises(RemoteProtocolError):
        dec.add_frame(0, b"12345")
