"""Byte vectors from RFC 23/37 and the libzmq interop facts."""

from __future__ import annotations

import pytest
from zmtp_helpers import GREETING_NULL, READY_DEALER, ConnectionPair

from trinq import zmtp


def test_greeting_bytes() -> None:
    conn = zmtp.Connection("DEALER")
    greeting = conn.initiate()
    assert greeting == GREETING_NULL
    assert len(greeting) == 64
    assert zmtp.Greeting().encode() == GREETING_NULL
    assert zmtp.Greeting.decode(GREETING_NULL) == zmtp.Greeting(3, 1, b"NULL", False)


def test_initiate_twice_is_local_error() -> None:
    conn = zmtp.Connection("PUSH")
    conn.initiate()
    with pytest.raises(zmtp.LocalProtocolError):
        conn.initiate()


def test_ready_dealer_bytes() -> None:
    conn = zmtp.Connection("DEALER")
    conn.initiate()
    conn.receive_data(GREETING_NULL)
    assert conn.events() == []
    assert conn.data_to_send() == READY_DEALER
    assert conn.data_to_send() == b""


def test_ready_push_has_no_identity() -> None:
    conn = zmtp.Connection("PUSH", identity=b"ignored", metadata={"X-Foo": b"bar"})
    conn.initiate()
    conn.receive_data(GREETING_NULL)
    conn.events()
    body = b"\x05READY\x0bSocket-Type\x00\x00\x00\x04PUSH\x05X-Foo\x00\x00\x00\x03bar"
    assert conn.data_to_send() == bytes([4, len(body)]) + body


def test_short_and_long_frames() -> None:
    assert zmtp.encode_message([b"A"]) == b"\x00\x01A"
    assert zmtp.encode_message([b"A", b"BC"]) == b"\x01\x01A\x00\x02BC"
    assert zmtp.encode_message([b""]) == b"\x00\x00"
    big = b"x" * 256
    assert zmtp.encode_message([big]) == b"\x02" + (256).to_bytes(8, "big") + big
    assert (
        zmtp.encode_message([big, b"y"]) == b"\x03" + (256).to_bytes(8, "big") + big + b"\x00\x01y"
    )
    assert zmtp.encode_message([b"x" * 255])[:2] == b"\x00\xff"
    assert zmtp.encode_message([bytearray(b"ab"), memoryview(b"cd")]) == b"\x01\x02ab\x00\x02cd"
    with pytest.raises(ValueError):
        zmtp.encode_message([])


def test_decoder_leniency() -> None:
    dec = zmtp.FrameDecoder()
    # LONG frame with a small size, reserved bits set, MORE on a command.
    dec.feed(b"\x02" + (3).to_bytes(8, "big") + b"abc" + b"\xf8\x01z" + b"\x05\x05\x04PING")
    out: list[object] = []
    cmd = dec.read_messages(out.append, list)
    assert out == [[b"abc"], [b"z"]]
    assert cmd == (0x05, b"\x04PING")


@pytest.mark.parametrize(
    ("cmd", "wire"),
    [
        (zmtp.Ping(0, b""), b"\x04\x07\x04PING\x00\x00"),
        (zmtp.Ping(300, b"LOL"), b"\x04\x0a\x04PING\x01\x2cLOL"),
        (zmtp.Pong(b"LOL"), b"\x04\x08\x04PONGLOL"),
        (zmtp.Pong(b"x" * 58), b"\x04\x15\x04PONG" + b"x" * 16),
        (zmtp.Subscribe(b"A"), b"\x04\x0b\x09SUBSCRIBEA"),
        (zmtp.Cancel(b"A"), b"\x04\x08\x06CANCELA"),
        (zmtp.Join(b"g"), b"\x04\x06\x04JOINg"),
        (zmtp.Leave(b"g"), b"\x04\x07\x05LEAVEg"),
        (zmtp.Error(b"nope"), b"\x04\x0b\x05ERROR\x04nope"),
    ],
)
def test_command_bytes(cmd: zmtp.Command, wire: bytes) -> None:
    pair = ConnectionPair(zmtp.Connection("SUB"), zmtp.Connection("PUB"))
    pair.handshake()
    assert pair.a.send_command(cmd) == wire


def test_legacy_subscribe_toward_zmtp30() -> None:
    conn = zmtp.Connection("SUB")
    conn.initiate()
    conn.receive_data(GREETING_NULL[:11] + b"\x00" + GREETING_NULL[12:])
    conn.receive_data(zmtp.encode_command(b"READY", b"\x0bSocket-Type\x00\x00\x00\x03PUB"))
    (hs,) = conn.events()
    assert hs.peer_minor == 0
    assert conn.peer_minor == 0
    assert conn.send_command(zmtp.Subscribe(b"A")) == b"\x00\x02\x01A"
    assert conn.send_command(zmtp.Cancel(b"A")) == b"\x00\x02\x00A"


def test_large_subscribe_uses_long_form() -> None:
    # The SUBSCRIBE name counts toward short vs long (docs/interop.md §8).
    pair = ConnectionPair(zmtp.Connection("SUB"), zmtp.Connection("PUB"))
    pair.handshake()
    assert pair.a.send_command(zmtp.Subscribe(b"t" * 245))[:2] == b"\x04\xff"
    assert pair.a.send_command(zmtp.Subscribe(b"t" * 246))[:1] == b"\x06"


def test_command_codecs() -> None:
    assert zmtp.parse_command(b"\x05READYabc") == (b"READY", b"abc")
    with pytest.raises(zmtp.RemoteProtocolError):
        zmtp.parse_command(b"\x09READY")
    with pytest.raises(zmtp.RemoteProtocolError):
        zmtp.parse_command(b"")
    meta = zmtp.encode_metadata([("Socket-Type", b"REQ"), ("X-A", b"")])
    assert zmtp.decode_metadata(meta) == {"Socket-Type": b"REQ", "X-A": b""}
    with pytest.raises(zmtp.RemoteProtocolError):
        zmtp.decode_metadata(meta[:-1] + b"\x00\x00\x00\x05")
    assert zmtp.parse_ping(b"\x00\x0aabc") == (10, b"abc")
    assert zmtp.parse_error(b"\x03abc") == b"abc"


def test_socket_types() -> None:
    assert len(zmtp.SOCKET_TYPES) == 21
    assert zmtp.SOCKET_TYPES["CHANNEL"] == 20
    assert zmtp.SOCKET_TYPES["PUSH"] == 8
    assert zmtp.is_compatible("REQ", "ROUTER")
    assert zmtp.is_compatible("XPUB", "SUB")
    assert not zmtp.is_compatible("REQ", "REQ")
    assert not zmtp.is_compatible("PUSH", "PUSH")
    assert not zmtp.is_compatible("STREAM", "STREAM")
    assert not zmtp.is_compatible("NOPE", "PAIR")
    pairs = {
        (a, b) for a in zmtp.SOCKET_TYPES for b in zmtp.SOCKET_TYPES if zmtp.is_compatible(a, b)
    }
    assert all((b, a) in pairs for a, b in pairs)


def test_protocol_error_codes_match_pyzmq() -> None:
    import zmq

    for code in zmtp.ProtocolErrorCode:
        assert getattr(zmq, f"PROTOCOL_ERROR_{code.name}") == code.value
    assert zmtp.ProtocolErrorCode.UNSPECIFIED is zmtp.ProtocolErrorCode.ZMTP_UNSPECIFIED
