"""Property-based tests: round trips, split invariance, garbage robustness."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from zmtp_helpers import GREETING_NULL, ConnectionPair

from trinq import zmtp

frames_st = st.lists(
    st.one_of(st.binary(max_size=40), st.binary(min_size=250, max_size=600)),
    min_size=1,
    max_size=5,
)
messages_st = st.lists(frames_st, min_size=1, max_size=6)
commands_st = st.one_of(
    st.builds(zmtp.Ping, st.integers(0, 0xFFFF), st.binary(max_size=16)),
    st.builds(zmtp.Pong, st.binary(max_size=16)),
    st.builds(zmtp.Subscribe, st.binary(max_size=300)),
    st.builds(zmtp.Cancel, st.binary(max_size=30)),
)


def ready_pair(maxmsgsize: int = -1) -> ConnectionPair:
    pair = ConnectionPair(
        zmtp.Connection("DEALER", maxmsgsize=maxmsgsize), zmtp.Connection("DEALER")
    )
    pair.handshake()
    return pair


@given(messages_st)
def test_multipart_round_trip(messages: list[list[bytes]]) -> None:
    pair = ready_pair()
    data = b"".join(pair.a.send_message(m) for m in messages)
    assert pair.send(pair.a, data) == [zmtp.Message(m) for m in messages]


@given(messages_st)
def test_encode_messages_is_concatenation(messages: list[list[bytes]]) -> None:
    assert zmtp.encode_messages(messages) == b"".join(map(zmtp.encode_message, messages))
    assert zmtp.encode_messages(iter(messages)) == b"".join(map(zmtp.encode_message, messages))


def _full_stream() -> tuple[bytes, list[Any]]:
    """A peer's whole byte stream (greeting, READY, traffic) and its events."""
    peer = zmtp.Connection("ROUTER", identity=b"peer")
    me = zmtp.Connection("DEALER")
    head = peer.initiate()
    peer.receive_data(me.initiate())
    peer.events()
    head += peer.data_to_send()
    peer.receive_data(me.data_to_send())
    peer.events()
    return head, []


def _decode_in_pieces(data: bytes, cuts: list[int], use_events: bool) -> list[Any]:
    conn = zmtp.Connection("DEALER")
    conn.initiate()
    out: list[Any] = []
    prev = 0
    for cut in [*sorted(set(cuts)), len(data)]:
        if cut > prev:
            conn.receive_data(data[prev:cut])
        prev = cut
        if use_events:
            out.extend(conn.events())
        else:
            while (ev := conn.next_event()) is not zmtp.NEED_DATA:
                out.append(ev)
    return out


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=60)
@given(messages_st, st.lists(commands_st, max_size=3), st.data())
def test_split_invariance(
    messages: list[list[bytes]], cmds: list[Any], data: st.DataObject
) -> None:
    head, _ = _full_stream()
    sender = ready_pair().a
    traffic = b"".join(sender.send_message(m) for m in messages)
    traffic += b"".join(sender.send_command(c) for c in cmds)
    stream = head + traffic
    whole = _decode_in_pieces(stream, [], use_events=True)
    assert isinstance(whole[0], zmtp.HandshakeComplete)
    assert whole[1:] == [zmtp.Message(m) for m in messages] + cmds
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=20))
    assert _decode_in_pieces(stream, cuts, use_events=True) == whole
    assert _decode_in_pieces(stream, cuts, use_events=False) == whole


def test_every_byte_boundary() -> None:
    head, _ = _full_stream()
    sender = ready_pair().a
    stream = head + sender.send_messages([[b"a", b"b" * 300], [b""], [b"z" * 256]])
    stream += sender.send_command(zmtp.Ping(3, b"ctx"))
    whole = _decode_in_pieces(stream, [], use_events=True)
    assert len(whole) == 5
    for i in range(len(stream) + 1):
        assert _decode_in_pieces(stream, [i], use_events=True) == whole
    # one byte at a time
    assert _decode_in_pieces(stream, list(range(len(stream))), use_events=False) == whole


@settings(max_examples=300)
@given(st.binary(max_size=400), st.lists(st.integers(0, 400), max_size=8), st.booleans())
def test_garbage_only_raises_protocol_error(
    garbage: bytes, cuts: list[int], after_greeting: bool
) -> None:
    limit = 64
    conn = zmtp.Connection("DEALER", maxmsgsize=limit)
    conn.initiate()
    data = (GREETING_NULL + garbage) if after_greeting else garbage
    prev = 0
    try:
        for cut in [*sorted(c for c in set(cuts) if c <= len(data)), len(data)]:
            if cut > prev:
                conn.receive_data(data[prev:cut])
            prev = cut
            conn.events()
            if conn.state is not zmtp.ConnectionState.GREETING:
                assert conn._decoder.buffered <= limit + 9
        conn.receive_data(b"")
        conn.events()
    except zmtp.ProtocolError:
        assert conn.state is zmtp.ConnectionState.ERROR


@settings(max_examples=200)
@given(st.binary(max_size=400), st.integers(0, 300))
def test_garbage_after_handshake(garbage: bytes, limit: int) -> None:
    pair = ready_pair(maxmsgsize=max(limit, 64))
    conn = pair.a
    try:
        for i in range(0, len(garbage), 7):
            conn.receive_data(garbage[i : i + 7])
            conn.events()
            assert conn._decoder.buffered <= conn.maxmsgsize + 9
    except zmtp.RemoteProtocolError:
        assert conn.state is zmtp.ConnectionState.ERROR


@given(
    st.lists(
        st.tuples(st.text("abcXY-", min_size=1, max_size=20), st.binary(max_size=50)), max_size=5
    )
)
def test_metadata_round_trip(props: list[tuple[str, bytes]]) -> None:
    expected = dict(props)
    assert zmtp.decode_metadata(zmtp.encode_metadata(list(expected.items()))) == expected


class _Refused(Exception):
    pass


def _decode_into_pieces(
    data: bytes, cuts: list[int], refuse: list[bool], *, in_place: bool = False
) -> tuple[list[Any], int]:
    """Like _decode_in_pieces, through events_into with a put that sometimes refuses
    (with ``in_place``, each read goes to events_into itself, not to receive_data)."""
    conn = zmtp.Connection("DEALER", raw_messages=True)
    conn.initiate()
    out: list[Any] = []
    calls = 0

    def put(msg: Any) -> None:
        nonlocal calls
        calls += 1
        if refuse and refuse[calls % len(refuse)]:
            raise _Refused
        out.append(msg)

    prev = 0
    for cut in [*sorted(set(cuts)), len(data)]:
        fresh = None
        if cut > prev:
            if in_place:
                fresh = data[prev:cut]
            else:
                conn.receive_data(data[prev:cut])
        prev = cut
        while True:
            try:
                events = conn.events_into(put, fresh)
                fresh = None
            except _Refused:
                fresh = None  # consumed: it is in the decoder's buffer now
                out.append(conn.take_stalled())  # what a reader blocked on RCVHWM does
                continue
            if not events:
                break
            out.extend(events)
    assert conn.take_stalled() is None
    # messages decoded with the handshake come back in the events() list instead
    return out, conn.messages_put


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=60)
@given(messages_st, st.lists(commands_st, max_size=3), st.data())
def test_events_into_matches_events(
    messages: list[list[bytes]], cmds: list[Any], data: st.DataObject
) -> None:
    """Same events in the same order as events(), data messages through put (as
    tuples), whatever the read boundaries and whichever puts are refused."""
    head, _ = _full_stream()
    sender = ready_pair().a
    traffic = b"".join(sender.send_message(m) for m in messages)
    traffic += b"".join(sender.send_command(c) for c in cmds)
    # a command in the middle, too
    traffic = sender.send_command(zmtp.Ping(1, b"x")) + traffic
    stream = head + traffic
    whole = [
        tuple(ev.frames) if type(ev) is zmtp.Message else ev
        for ev in _decode_in_pieces(stream, [], use_events=True)
    ]
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=20))
    refuse = data.draw(st.lists(st.booleans(), max_size=5))
    assert _decode_into_pieces(stream, cuts, refuse)[0] == whole
    assert _decode_into_pieces(stream, cuts, refuse, in_place=True)[0] == whole
    # the traffic in reads of its own: every message goes through put
    for in_place in (False, True):
        got, put_count = _decode_into_pieces(
            stream, [len(head), len(head) + len(traffic) // 2], refuse, in_place=in_place
        )
        assert got == whole
        assert put_count == len(messages)
