"""FairQueue (libzmq fq) -- RFC 28/29/30 fair-queued receiving."""

from __future__ import annotations

import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st

from trinq._routing import FairQueue

from ._fakes import FakePipe, pipes


def make(n: int) -> tuple[FairQueue, list[FakePipe]]:
    fq = FairQueue()
    ps = pipes(n)
    for p in ps:
        fq.attach(p)
    return fq, ps


# RFC 30 PULL / RFC 28 DEALER, REP, ROUTER: "SHALL receive incoming messages from its
# peers using a fair-queuing strategy."
def test_busy_peer_cannot_starve_others():
    fq, ps = make(3)
    ps[0].inbox.extend([[b"a%d" % i] for i in range(5)])
    ps[1].inbox.append([b"b0"])
    ps[2].inbox.append([b"c0"])
    got = [fq.recv_nowait() for _ in range(7)]
    assert got == [[b"a0"], [b"b0"], [b"c0"], [b"a1"], [b"a2"], [b"a3"], [b"a4"]]
    with pytest.raises(trio.WouldBlock):
        fq.recv_nowait()


def test_whole_multipart_message_per_turn():
    fq, ps = make(2)
    ps[0].inbox.extend([[b"a", b"1"], [b"a", b"2"]])
    ps[1].inbox.extend([[b"b", b"1"]])
    assert fq.recv_nowait_with_pipe() == (ps[0], [b"a", b"1"])
    assert fq.recv_nowait_with_pipe() == (ps[1], [b"b", b"1"])
    assert fq.recv_nowait_with_pipe() == (ps[0], [b"a", b"2"])


def test_empty_pipes_are_skipped():
    fq, ps = make(4)
    ps[2].inbox.append([b"x"])
    assert fq.recv_nowait_with_pipe() == (ps[2], [b"x"])
    ps[1].inbox.append([b"y"])
    ps[3].inbox.append([b"z"])
    # the cursor is after p2: p3 first, then p1 after wrapping
    assert fq.recv_nowait() == [b"z"]
    assert fq.recv_nowait() == [b"y"]


def test_all_empty_or_no_pipes_raises_wouldblock():
    with pytest.raises(trio.WouldBlock):
        FairQueue().recv_nowait()
    fq, _ = make(3)
    with pytest.raises(trio.WouldBlock):
        fq.recv_nowait_with_pipe()
    assert len(fq) == 3


def test_terminated_pipe_is_drained_then_detached():
    fq, ps = make(2)
    ps[0].inbox.append([b"last words"])
    ps[0].terminate()
    ps[1].inbox.append([b"b"])
    assert fq.recv_nowait() == [b"last words"]
    assert fq.recv_nowait() == [b"b"]
    with pytest.raises(trio.WouldBlock):
        fq.recv_nowait()
    assert fq.pipes == (ps[1],)


@pytest.mark.parametrize("error", [trio.ClosedResourceError, trio.BrokenResourceError])
def test_other_termination_errors_also_detach(error):
    class Closed(FakePipe):
        def recv_nowait(self) -> list[bytes]:
            raise error

    fq = FairQueue()
    dead, live = Closed("dead"), FakePipe("live")
    fq.attach(dead)
    fq.attach(live)
    live.inbox.append([b"ok"])
    assert fq.recv_nowait() == [b"ok"]
    assert fq.pipes == (live,)


def test_all_terminated_raises_wouldblock_and_empties():
    fq, ps = make(3)
    for p in ps:
        p.terminate()
    with pytest.raises(trio.WouldBlock):
        fq.recv_nowait()
    assert len(fq) == 0


def test_attach_detach_idempotent_and_rotation_kept():
    fq, ps = make(3)
    fq.attach(ps[1])
    assert len(fq) == 3
    for p in ps:
        p.inbox.extend([[p.name.encode()]] * 3)
    assert fq.recv_nowait() == [b"p0"]  # cursor at p1
    fq.detach(ps[1])
    fq.detach(ps[1])
    assert [fq.recv_nowait() for _ in range(3)] == [[b"p2"], [b"p0"], [b"p2"]]


@given(
    backlogs=st.lists(st.integers(0, 20), min_size=1, max_size=8),
)
def test_property_fairness(backlogs):
    """Each full round takes one message from every pipe that still has one, in order."""
    fq = FairQueue()
    ps = [FakePipe(f"p{i}") for i in range(len(backlogs))]
    for p, k in zip(ps, backlogs, strict=True):
        p.inbox.extend([[p.name.encode(), b"%d" % j] for j in range(k)])
        fq.attach(p)
    got = []
    while True:
        try:
            got.append(fq.recv_nowait_with_pipe())
        except trio.WouldBlock:
            break
    expected = [
        (p, [p.name.encode(), b"%d" % rnd])
        for rnd in range(max(backlogs))
        for p, k in zip(ps, backlogs, strict=True)
        if rnd < k
    ]
    assert got == expected


@given(ops=st.lists(st.tuples(st.sampled_from(["put", "get"]), st.integers(0, 4)), max_size=120))
def test_property_bounded_bypass(ops):
    """With puts and gets interleaved, a pipe that stays non-empty is passed over at most
    n - 1 times before it is served: no peer can starve another."""
    n = 5
    fq = FairQueue()
    ps = [FakePipe(f"p{i}") for i in range(n)]
    for p in ps:
        fq.attach(p)
    bypassed = [0] * n
    for op, idx in ops:
        if op == "put":
            ps[idx].inbox.append([b"m"])
            continue
        waiting = [bool(p.inbox) for p in ps]
        try:
            pipe, _ = fq.recv_nowait_with_pipe()
        except trio.WouldBlock:
            assert not any(waiting)
            continue
        who = ps.index(pipe)
        assert waiting[who]
        for i in range(n):
            bypassed[i] = bypassed[i] + 1 if waiting[i] and i != who else 0
            assert bypassed[i] <= n - 1


def test_fast_recv_serves_a_single_pipe_directly_and_tracks_changes():
    changes: list[int] = []
    fq = FairQueue(on_change=lambda: changes.append(len(fq)))
    assert fq.fast_recv == fq.recv_nowait  # no pipe: the full receive
    a, b = pipes(2)
    fq.attach(a)
    assert changes == [1]
    assert fq.fast_recv == a.recv_nowait  # one pipe: its own receive, no fq frame
    a.inbox.append([b"x"])
    assert fq.fast_recv() == [b"x"]
    fq.attach(b)
    assert changes == [1, 2]
    assert fq.fast_recv == fq.recv_nowait  # two pipes: fair queueing again
    fq.detach(a)
    assert changes == [1, 2, 1]
    assert fq.fast_recv == b.recv_nowait


def test_fast_recv_reports_the_end_and_recv_nowait_then_drops_the_pipe():
    changes: list[int] = []
    fq = FairQueue(on_change=lambda: changes.append(len(fq)))
    (a,) = pipes(1)
    fq.attach(a)
    a.inbox.append([b"last"])
    a.terminate()
    fast = fq.fast_recv
    assert fast() == [b"last"]  # queued messages still arrive
    with pytest.raises(trio.EndOfChannel):
        fast()  # the end is the caller's to handle ...
    assert len(fq) == 1
    with pytest.raises(trio.WouldBlock):
        fq.recv_nowait()  # ... by receiving the long way, which drops the pipe
    assert len(fq) == 0
    assert changes == [1, 0]
