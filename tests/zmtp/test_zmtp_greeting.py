"""Greeting decoding and version negotiation (RFC 37, docs/interop.md §1-2)."""

from __future__ import annotations

import pytest
from zmtp_helpers import GREETING_NULL, READY_DEALER

from trinq import zmtp


def test_three_piece_arrival() -> None:
    conn = zmtp.Connection("ROUTER")
    conn.initiate()
    for piece in (GREETING_NULL[:10], GREETING_NULL[10:11], GREETING_NULL[11:]):
        conn.receive_data(piece)
        assert conn.events() == []
    assert conn.state is zmtp.ConnectionState.HANDSHAKING
    assert conn.data_to_send().startswith(b"\x04")
    conn.receive_data(READY_DEALER)
    (hs,) = conn.events()
    assert hs == zmtp.HandshakeComplete(
        "DEALER", b"", {"Socket-Type": b"DEALER", "Identity": b""}, 1, "NULL"
    )


@pytest.mark.parametrize(
    ("data", "version"),
    [
        (b"\x05\x00abcd", "ZMTP 1.0"),  # 0MQ 2.x: short length + flags
        (b"\xff" + b"\x00" * 8 + b"\x00", "ZMTP 1.0"),  # LSB of octet 9 clear
        (b"\xff" + b"\x00" * 7 + b"\x01\x7f\x00", "ZMTP 1.0"),  # revision 0
        (b"\xff" + b"\x00" * 7 + b"\x01\x7f\x01\x05", "ZMTP 2.0"),  # revision 1 + type
    ],
)
def test_old_versions_refused_early(data: bytes, version: str) -> None:
    conn = zmtp.Connection("DEALER")
    conn.initiate()
    conn.receive_data(data)
    with pytest.raises(zmtp.RemoteProtocolError, match=version.replace(".", r"\.")):
        conn.next_event()
    assert conn.state is zmtp.ConnectionState.ERROR
    with pytest.raises(zmtp.RemoteProtocolError):
        conn.events()
    with pytest.raises(zmtp.LocalProtocolError):
        conn.send_message([b"x"])


@pytest.mark.parametrize(
    ("major", "minor", "peer_minor"), [(3, 0, 0), (3, 1, 1), (3, 7, 1), (4, 0, 1), (2, 0, 1)]
)
def test_version_dispatch(major: int, minor: int, peer_minor: int) -> None:
    conn = zmtp.Connection("DEALER")
    conn.initiate()
    conn.receive_data(GREETING_NULL[:10] + bytes([major, minor]) + GREETING_NULL[12:])
    assert conn.events() == []
    assert conn.peer_minor == peer_minor


def test_padding_and_filler_not_checked() -> None:
    conn = zmtp.Connection("DEALER")
    conn.initiate()
    junk = b"\xff" + b"\x12" * 8 + b"\x7f\x03\x01NULL" + b"\x00" * 16 + b"\x01" + b"\xaa" * 31
    conn.receive_data(junk)
    assert conn.events() == []
    assert conn.state is zmtp.ConnectionState.HANDSHAKING


def test_mechanism_mismatch() -> None:
    conn = zmtp.Connection("DEALER")
    conn.initiate()
    conn.receive_data(GREETING_NULL[:12] + b"PLAIN".ljust(20, b"\x00") + GREETING_NULL[32:])
    with pytest.raises(zmtp.RemoteProtocolError) as info:
        conn.events()
    assert info.value.zmtp_code == zmtp.ProtocolErrorCode.MECHANISM_MISMATCH
    assert not info.value.is_auth_failure


def test_greeting_decode_incomplete() -> None:
    with pytest.raises(zmtp.RemoteProtocolError):
        zmtp.Greeting.decode(GREETING_NULL[:63])
    assert zmtp.detect_greeting(GREETING_NULL[:40]) is None
