"""Distributor (libzmq dist) -- RFC 29 PUB/XPUB/XSUB fan-out."""

from __future__ import annotations

import pytest
import trio

from trinq._routing import Distributor

from ._fakes import FakePipe, pipes


def make(n: int, hwm: int = 1000) -> tuple[Distributor, list[FakePipe]]:
    dist = Distributor()
    ps = pipes(n, hwm)
    for p in ps:
        dist.attach(p)
    return dist, ps


# RFC 29 XSUB: "SHALL send all messages to all connected publishers."
def test_send_to_all_reaches_every_pipe_unmodified():
    dist, ps = make(3)
    msg = [b"topic", b"body"]
    assert dist.send_to_all(msg) == 3
    for p in ps:
        assert list(p.out) == [[b"topic", b"body"]]


# RFC 29 PUB/XPUB: "SHALL silently drop the message if the queue for a subscriber is
# full." and "SHALL NOT block on sending."
def test_full_pipe_silently_misses_message():
    dist, ps = make(3, hwm=1)
    ps[1].out.append([b"old"])
    assert dist.send_to_all([b"new"]) == 2
    assert list(ps[0].out) == [[b"new"]]
    assert list(ps[1].out) == [[b"old"]]
    assert list(ps[2].out) == [[b"new"]]
    assert len(dist) == 3  # a full pipe stays attached
    assert dist.send_to_all([b"newer"]) == 0


def test_no_pipes_sends_nowhere():
    assert Distributor().send_to_all([b"x"]) == 0


@pytest.mark.parametrize("error", [trio.BrokenResourceError, trio.ClosedResourceError])
def test_terminated_pipe_is_detached(error):
    dist, ps = make(3)
    ps[1].terminate(error)
    assert dist.send_to_all([b"x"]) == 2
    assert dist.pipes == (ps[0], ps[2])
    assert ps[1] not in dist


# RFC 29 PUB: "SHALL perform a binary comparison of the subscription against the start
# of the first frame of the message." -- the matching pipes come from the trie, the
# distributor sends to exactly those.
def test_send_to_pipes_only_targets_given_pipes():
    dist, ps = make(4)
    assert dist.send_to_pipes([b"x"], {ps[0], ps[2]}) == 2
    assert [len(p.out) for p in ps] == [1, 0, 1, 0]
    assert dist.send_to_pipes([b"y"], []) == 0


def test_send_to_pipes_detaches_terminated_and_drops_on_full():
    dist, ps = make(3, hwm=1)
    ps[0].terminate()
    ps[1].out.append([b"full"])
    assert dist.send_to_pipes([b"x"], ps) == 1
    assert dist.pipes == (ps[1], ps[2])


def test_attach_detach_idempotent():
    dist, ps = make(2)
    dist.attach(ps[0])
    assert len(dist) == 2
    dist.detach(ps[0])
    dist.detach(ps[0])
    assert dist.pipes == (ps[1],)


# libzmq dist_t::check_hwm, for ZMQ_XPUB_NODROP: the pattern waits instead of dropping.
def test_all_writable():
    dist, ps = make(3, hwm=1)
    assert dist.all_writable()
    ps[2].out.append([b"x"])
    assert not dist.all_writable()
    assert dist.all_writable([ps[0], ps[1]])
    assert not dist.all_writable([ps[2]])
    assert dist.all_writable([])
    assert Distributor().all_writable()
