"""LoadBalancer (libzmq lb) -- RFC 28 DEALER / RFC 30 PUSH outgoing routing."""

from __future__ import annotations

import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st

from trinq._routing import LoadBalancer

from ._fakes import FakePipe, pipes


def make(n: int, hwm: int = 1000) -> tuple[LoadBalancer, list[FakePipe]]:
    lb = LoadBalancer()
    ps = pipes(n, hwm)
    for p in ps:
        lb.attach(p)
    return lb, ps


# RFC 30 / RFC 28: "SHALL route outgoing messages to available peers using a
# round-robin strategy."
def test_round_robin_order():
    lb, ps = make(3)
    chosen = [lb.send_nowait([b"%d" % i]) for i in range(7)]
    assert chosen == [ps[0], ps[1], ps[2], ps[0], ps[1], ps[2], ps[0]]
    assert list(ps[0].out) == [[b"0"], [b"3"], [b"6"]]
    assert list(ps[1].out) == [[b"1"], [b"4"]]


def test_whole_multipart_message_goes_to_one_pipe():
    lb, ps = make(2)
    msg = [b"a", b"b", b"c"]
    assert lb.send_nowait(msg) is ps[0]
    assert list(ps[0].out) == [msg]
    assert not ps[1].out


# RFC 30 / RFC 28: "SHALL consider a peer as available only when it has a outgoing
# queue that is not full."
def test_full_pipe_is_skipped_and_retried_later():
    lb, ps = make(3, hwm=1)
    ps[1].out.append([b"x"])  # p1 is full
    assert lb.send_nowait([b"a"]) is ps[0]
    assert lb.send_nowait([b"b"]) is ps[2]
    ps[1].out.clear()
    ps[0].out.clear()
    # the cursor is after p2, so p0 comes next, then p1 (now with room)
    assert lb.send_nowait([b"c"]) is ps[0]
    assert lb.send_nowait([b"d"]) is ps[1]


# RFC 30 / RFC 28: "SHALL block on sending, or return a suitable error, when it has no
# available peers." / "SHALL NOT discard messages that it cannot queue."
def test_all_full_raises_wouldblock_and_keeps_cursor():
    lb, ps = make(2, hwm=1)
    lb.send_nowait([b"a"])
    lb.send_nowait([b"b"])
    with pytest.raises(trio.WouldBlock):
        lb.send_nowait([b"c"])
    assert [len(p.out) for p in ps] == [1, 1]
    assert not lb.has_out()
    ps[1].out.clear()
    assert lb.has_out()
    assert lb.send_nowait([b"c"]) is ps[1]


def test_no_pipes_raises_wouldblock():
    lb = LoadBalancer()
    assert len(lb) == 0
    assert not lb.has_out()
    with pytest.raises(trio.WouldBlock):
        lb.send_nowait([b"a"])


@pytest.mark.parametrize("error", [trio.BrokenResourceError, trio.ClosedResourceError])
def test_terminated_pipe_is_detached_and_skipped(error):
    lb, ps = make(3)
    ps[0].terminate(error)
    assert lb.send_nowait([b"a"]) is ps[1]
    assert lb.pipes == (ps[1], ps[2])
    assert lb.send_nowait([b"b"]) is ps[2]
    assert lb.send_nowait([b"c"]) is ps[1]


def test_all_terminated_raises_wouldblock_and_empties():
    lb, ps = make(3)
    for p in ps:
        p.terminate()
    with pytest.raises(trio.WouldBlock):
        lb.send_nowait([b"a"])
    assert len(lb) == 0


def test_terminated_last_pipe_wraps_to_first():
    lb, ps = make(3)
    lb.send_nowait([b"a"])
    lb.send_nowait([b"b"])  # cursor now at p2
    ps[2].terminate()
    assert lb.send_nowait([b"c"]) is ps[0]
    assert lb.pipes == (ps[0], ps[1])


def test_attach_is_idempotent_and_detach_too():
    lb, ps = make(2)
    lb.attach(ps[0])
    assert len(lb) == 2
    lb.detach(ps[0])
    lb.detach(ps[0])
    assert lb.pipes == (ps[1],)


def test_detach_before_cursor_keeps_rotation():
    lb, ps = make(4)
    lb.send_nowait([b"a"])
    lb.send_nowait([b"b"])  # cursor at p2
    lb.detach(ps[0])
    assert lb.send_nowait([b"c"]) is ps[2]
    assert lb.send_nowait([b"d"]) is ps[3]
    assert lb.send_nowait([b"e"]) is ps[1]


def test_detach_at_cursor_moves_to_next():
    lb, ps = make(3)
    lb.send_nowait([b"a"])  # cursor at p1
    lb.detach(ps[1])
    assert lb.send_nowait([b"b"]) is ps[2]
    assert lb.send_nowait([b"c"]) is ps[0]


def test_detach_last_at_cursor_wraps():
    lb, ps = make(3)
    lb.send_nowait([b"a"])
    lb.send_nowait([b"b"])  # cursor at p2
    lb.detach(ps[2])
    assert lb.send_nowait([b"c"]) is ps[0]


def test_new_pipe_joins_rotation():
    lb, ps = make(2)
    lb.send_nowait([b"a"])
    extra = FakePipe("extra")
    lb.attach(extra)
    assert [lb.send_nowait([b"x"]) for _ in range(3)] == [ps[1], extra, ps[0]]


@given(n=st.integers(1, 8), count=st.integers(0, 200), start=st.integers(0, 7))
def test_property_exact_round_robin_when_never_full(n, count, start):
    lb, ps = make(n, hwm=10_000)
    for _ in range(start % n):  # begin from an arbitrary cursor position
        lb.send_nowait([b"warmup"])
    for p in ps:
        p.out.clear()
    chosen = [lb.send_nowait([b"m"]) for _ in range(count)]
    first = start % n
    assert chosen == [ps[(first + k) % n] for k in range(count)]
    counts = [len(p.out) for p in ps]
    assert max(counts, default=0) - min(counts, default=0) <= 1


@given(
    hwms=st.lists(st.integers(0, 3), min_size=1, max_size=6),
    ops=st.lists(st.one_of(st.just(None), st.integers(0, 5)), max_size=60),
)
def test_property_never_drops_never_overfills(hwms, ops):
    """A message is queued on exactly one pipe with room, or WouldBlock and nowhere.

    ``None`` sends one message; an int drains that pipe's queue (the peer read it).
    """
    ps = [FakePipe(f"p{i}", hwm=h) for i, h in enumerate(hwms)]
    lb = LoadBalancer()
    for p in ps:
        lb.attach(p)
    sent = 0
    for op in ops:
        if op is None:
            had_room = any(p.writable() for p in ps)
            assert lb.has_out() == had_room
            try:
                pipe = lb.send_nowait([b"%d" % sent])
            except trio.WouldBlock:
                assert not had_room
            else:
                assert had_room
                assert pipe.out[-1] == [b"%d" % sent]
                sent += 1
        elif op < len(ps):
            ps[op].out.clear()
        for p in ps:
            assert len(p.out) <= p.hwm
