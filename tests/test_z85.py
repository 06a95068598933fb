"""Z85 (RFC 32)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trinq import _z85

RFC_VECTOR = bytes([0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B])


def test_rfc_vector() -> None:
    assert _z85.encode(RFC_VECTOR) == b"HelloWorld"
    assert _z85.decode("HelloWorld") == RFC_VECTOR
    assert _z85.decode(b"HelloWorld") == RFC_VECTOR


def test_empty_and_extremes() -> None:
    assert _z85.encode(b"") == b""
    assert _z85.decode("") == b""
    assert _z85.encode(b"\0\0\0\0") == b"00000"
    assert _z85.encode(b"\xff\xff\xff\xff") == b"%nSc0"
    assert _z85.decode("%nSc0") == b"\xff\xff\xff\xff"


def test_curve_key_length() -> None:
    assert len(_z85.encode(bytes(32))) == 40
    assert _z85.decode("0" * 40) == bytes(32)


@pytest.mark.parametrize("bad", [b"abc", b"abcde"])
def test_encode_rejects_bad_length(bad: bytes) -> None:
    with pytest.raises(ValueError, match="multiple of 4"):
        _z85.encode(bad)


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ("Hell", "multiple of 5"),
        ("Hello~orld", "invalid character"),
        ("Hello orld", "invalid character"),
        ("Hellé", "non-ASCII"),
        ("#####", "overflows"),
        ("%nSc1", "overflows"),
    ],
)
def test_decode_rejects(bad: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        _z85.decode(bad)


@given(st.binary(max_size=64).map(lambda b: b[: len(b) - len(b) % 4]))
def test_round_trip(data: bytes) -> None:
    text = _z85.encode(data)
    assert len(text) == len(data) // 4 * 5
    assert set(text) <= set(_z85.ALPHABET)
    assert _z85.decode(text) == data
    assert _z85.decode(text.decode("ascii")) == data


@given(st.binary(min_size=4, max_size=4).map(lambda b: b * 2))
def test_matches_pyzmq(data: bytes) -> None:
    zmq_z85 = pytest.importorskip("zmq.utils.z85")
    assert _z85.encode(data) == zmq_z85.encode(data)
