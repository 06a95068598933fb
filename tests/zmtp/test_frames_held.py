"""A frame a read leaves incomplete is held (views of the reads, one copy when it is
complete): whatever the cuts, the decoder's output is that of one whole read, and
every other method sees the held octets as buffered."""

from __future__ import annotations

import random
from typing import Any

import pytest
import trio

from trinq import zmtp
from trinq.zmtp import FrameDecoder, encode_message
from trinq.zmtp._frames import _HOLD_MIN


def _stream(rng: random.Random, count: int) -> tuple[bytes, list[Any]]:
    """A byte stream of data messages (short, long, multipart) and commands, and
    what read_messages should give for it, in order."""
    parts: list[bytes] = []
    want: list[Any] = []
    for _ in range(count):
        kind = rng.random()
        if kind < 0.08:
            body = b"\x04PING" + bytes(rng.randrange(300))
            header = (
                bytes((4, len(body))) if len(body) < 256 else b"\x06" + len(body).to_bytes(8, "big")
            )
            parts.append(header + body)
            want.append(("command", body))
            continue
        frames = []
        for _ in range(1 if kind < 0.7 else rng.randrange(2, 4)):
            size = rng.choice((0, 5, 255, 256, 300, 4096, rng.randrange(70_000)))
            frames.append(bytes([rng.randrange(256)]) * size)
        parts.append(encode_message(frames))
        want.append(tuple(frames))
    return b"".join(parts), want


def _decode(chunks: list[bytes], dec: FrameDecoder, room: int | None) -> list[Any]:
    got: list[Any] = []
    pipe: list[Any] = []

    def put(msg: Any) -> None:
        if room is not None and len(pipe) >= room:
            raise trio.WouldBlock
        pipe.append(msg)

    for chunk in chunks:
        data: bytes | None = chunk
        while True:
            try:
                cmd = dec.read_messages(put, None, data)
            except trio.WouldBlock:
                got.extend(pipe)
                pipe.clear()
                got.append(dec.stalled)
                dec.stalled = None
                data = None
                continue
            data = None
            got.extend(pipe)
            pipe.clear()
            if cmd is None:
                break
            got.append(("command", cmd[1]))
    return got


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("room", [None, 1, 3])
def test_any_cuts_decode_as_one_read(seed: int, room: int | None) -> None:
    rng = random.Random(seed)
    stream, want = _stream(rng, 40)
    assert _decode([stream], FrameDecoder(), room) == want
    cuts = sorted(rng.sample(range(1, len(stream)), min(60, len(stream) - 1)))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    dec = FrameDecoder()
    got = _decode(chunks, dec, room)
    assert got == want
    assert all(type(f) is bytes for g in got if g[0] != "command" for f in g)
    assert dec.buffered == 0 and dec.wanted <= 2  # (a header at most)


def test_a_held_frame_is_copied_once_and_the_read_after_it_is_not_copied() -> None:
    body = b"x" * 65536
    wire = encode_message([body]) + encode_message([b"y" * 16])
    first, rest = wire[:40_000], wire[40_000:]
    dec = FrameDecoder()
    out: list[Any] = []
    assert dec.read_messages(out.append, None, first) is None
    assert out == []
    assert dec._held is not None  # held, not copied into the buffer
    assert dec.buffered == 40_000
    assert dec.wanted == 9 + 65536 - 40_000  # the rest of this frame
    assert dec.read_messages(out.append, None, rest) is None
    assert out == [(body,), (b"y" * 16,)]
    assert dec._held is None and dec.buffered == 0


def test_feed_while_held_and_the_frame_by_frame_methods_see_the_held_octets() -> None:
    body = bytes(range(256)) * 4
    wire = encode_message([body])
    dec = FrameDecoder()
    out: list[Any] = []
    dec.read_messages(out.append, None, wire[:100])
    assert dec._held is not None
    dec.feed(wire[100:500])  # buffered after the held octets
    assert dec.buffered == 500
    assert dec.wanted == len(wire) - 500
    dec.feed(wire[500:])
    assert dec.next_frame() == (zmtp.LONG, body)  # the held frame, back in the buffer
    assert dec.buffered == 0
    dec.read_messages(out.append, None, wire[:300])
    assert dec.peek() == wire[:300]
    dec.read_messages(out.append, None, wire[300:])
    assert out == [(body,)]


def test_feed_then_read_messages_none_completes_a_held_frame() -> None:
    body = b"z" * 1000
    wire = encode_message([body, body]) + encode_message([b"end"])
    dec = FrameDecoder()
    out: list[Any] = []
    dec.read_messages(out.append, None, wire[:700])
    assert dec.read_messages(out.append, None, None) is None  # nothing new: still held
    dec.feed(wire[700:1500])
    dec.feed(wire[1500:])
    assert dec.read_messages(out.append, None, None) is None
    assert out == [(body, body), (b"end",)]


def test_maxmsgsize_counts_a_held_frame_of_a_multipart_message() -> None:
    dec = FrameDecoder(maxmsgsize=1500)
    wire = encode_message([b"a" * 1000, b"b" * 1000])
    dec.read_messages([].append, None, wire[:1200])
    with pytest.raises(zmtp.RemoteProtocolError, match="multipart message of 2000"):
        dec.read_messages([].append, None, wire[1200:])


def test_short_frames_are_not_held() -> None:
    dec = FrameDecoder()
    wire = encode_message([b"q" * (_HOLD_MIN - 1)])
    dec.read_messages([].append, None, wire[:50])
    assert dec._held is None and dec.buffered == 50
