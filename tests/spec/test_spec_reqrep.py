"""RFC 28/REQREP spec tests (REQ, REP, DEALER, ROUTER), in the style of libzmq's
test_spec_req/rep/dealer/router.cpp plus its option tests (req_relaxed, req_correlate,
router_mandatory, router_handover, probe_router, connect_rid) and test_reqrep_device.

Each test's docstring quotes the SHALL clause(s) of shared/specs/28-reqrep.md it checks
(or names the libzmq behaviour it pins, from docs/interop.md §12-13); the
whole module runs over every stream transport in ``trinq.testing.TRANSPORTS``.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio
import trio.testing
from rawpeer import bind_with_peers

import trinq
from trinq.testing import TRANSPORTS, endpoint, wait_for_event

pytestmark = pytest.mark.parametrize("transport", TRANSPORTS)

HS = trinq.Event.HANDSHAKE_SUCCEEDED


async def wait_until(predicate: Callable[[], bool]) -> None:
    """Wait (bounded by the test's fail_after) until ``predicate()`` holds.

    Rechecks each time every task is blocked, i.e. after the sockets' I/O tasks
    had a chance to move whatever the kernel already holds.
    """
    while not predicate():
        await trio.testing.wait_all_tasks_blocked(cushion=0.001)


def received(sock: trinq.Socket) -> int:
    return sock.statistics().messages_in


async def free_endpoint(ctx: trinq.Context, transport: str, tmp_path: Any) -> str:
    """An endpoint nothing listens on (for connect-before-bind tests)."""
    probe = ctx.socket(trinq.PULL)
    ep = await probe.bind(endpoint(transport, tmp_path))
    await probe.aclose()
    return ep


# --- REQ ---------------------------------------------------------------------------


async def test_req_round_robin(ctx, transport, tmp_path):
    """REQ: "SHALL route outgoing messages to connected peers using a round-robin
    strategy." and "MAY be connected to any number of REP or ROUTER peers."
    """
    with trio.fail_after(10):
        req, reps = await bind_with_peers(
            ctx, trinq.REQ, trinq.REP, 3, endpoint(transport, tmp_path)
        )
        seen: list[int] = []
        for i in range(6):
            await req.send(b"%d" % i)
            async with trio.open_nursery() as nursery:

                async def serve(k: int, rep: trinq.Socket) -> None:
                    msg = await rep.recv()
                    seen.append(k)
                    await rep.send(msg + b"!")
                    nursery.cancel_scope.cancel()

                for k, rep in enumerate(reps):
                    nursery.start_soon(serve, k, rep)
            assert await req.recv() == b"%d!" % i
        # strict rotation over the three peers
        assert seen[3:] == seen[:3]
        assert sorted(seen[:3]) == [0, 1, 2]


async def test_req_wire_format(ctx, transport, tmp_path):
    """REQ: "SHALL prefix the outgoing message with an empty delimiter frame." and the
    request and reply messages "SHALL have this format on the wire: A delimiter,
    consisting of an empty frame, added by the REQ socket. One or more data frames".
    """
    with trio.fail_after(10):
        router = ctx.socket(trinq.ROUTER)
        ep = await router.bind(endpoint(transport, tmp_path))
        req = ctx.socket(trinq.REQ, routing_id=b"client")
        req.connect(ep)
        await req.send_multipart([b"a", b"", b"c"])
        assert await router.recv_multipart() == [b"client", b"", b"a", b"", b"c"]
        await router.send_multipart([b"client", b"", b"single"])
        assert await req.recv_multipart() == [b"single"]
        await req.send(b"again")
        assert await router.recv_multipart() == [b"client", b"", b"again"]
        await router.send_multipart([b"client", b"", b"x", b"y"])
        assert await req.recv() == b"x"
        assert req.rcvmore
        assert await req.recv() == b"y"


async def test_req_blocks_without_peers(ctx, transport, tmp_path, autojump_clock):
    """REQ: "SHALL block on sending, or return a suitable error, when it has no
    connected peers."
    """
    with trio.fail_after(10):
        req = ctx.socket(trinq.REQ)
        with pytest.raises(trinq.Again):
            await req.send(b"x", trinq.DONTWAIT)
        with trio.move_on_after(5) as scope:
            await req.send(b"x")
        assert scope.cancelled_caught
        req.sndtimeo = 250
        with pytest.raises(trinq.Again):
            await req.send(b"x")
        # nothing was sent, so the REQ is still ready to send (not awaiting a reply)
        with pytest.raises(trinq.ZMQError) as info:
            await req.recv(trinq.DONTWAIT)
        assert info.value.errno == trinq.EFSM


async def test_req_keeps_request_until_peer_is_reachable(ctx, transport, tmp_path):
    """REQ: "SHALL NOT discard messages that it cannot send to a connected peer."
    (connected but not yet reachable: the request waits in its queue)
    """
    with trio.fail_after(10):
        ep = await free_endpoint(ctx, transport, tmp_path)
        req = ctx.socket(trinq.REQ)
        req.connect(ep)
        await req.send(b"early")
        rep = ctx.socket(trinq.REP)
        await rep.bind(ep)
        assert await rep.recv() == b"early"
        await rep.send(b"late")
        assert await req.recv() == b"late"


async def test_req_lockstep(ctx, transport, tmp_path):
    """REQ: "SHALL send and then receive exactly one message at a time." (libzmq: EFSM
    on a recv before a send, or a second send before the reply)
    """
    with trio.fail_after(10):
        rep = ctx.socket(trinq.REP)
        ep = await rep.bind(endpoint(transport, tmp_path))
        req = ctx.socket(trinq.REQ)
        req.connect(ep)
        with pytest.raises(trinq.ZMQError) as info:
            await req.recv()
        assert info.value.errno == trinq.EFSM
        await req.send(b"one")
        with pytest.raises(trinq.ZMQError) as info:
            await req.send(b"two")
        assert info.value.errno == trinq.EFSM
        assert await rep.recv() == b"one"
        await rep.send(b"reply")
        assert await req.recv() == b"reply"
        await req.send(b"three")
        assert await rep.recv() == b"three"


async def test_req_accepts_reply_only_from_last_peer(ctx, transport, tmp_path):
    """REQ: "SHALL accept an incoming message only from the last peer that it sent a
    request to." and "SHALL discard silently any messages received from other peers."
    """
    with trio.fail_after(10):
        routers = [ctx.socket(trinq.ROUTER, router_mandatory=True) for _ in range(2)]
        mons = [r.monitor() for r in routers]
        eps = [await r.bind(endpoint(transport, tmp_path)) for r in routers]
        req = ctx.socket(trinq.REQ, routing_id=b"R")
        for ep in eps:
            req.connect(ep)
        for mon in mons:
            await wait_for_event(mon, HS)
        await req.send(b"question")
        asked, other = routers  # the load balancer starts with the first connect
        assert await asked.recv_multipart() == [b"R", b"", b"question"]
        await other.send_multipart([b"R", b"", b"impostor"])
        await wait_until(lambda: received(req) == 1)
        with pytest.raises(trinq.Again):
            await req.recv(trinq.DONTWAIT)
        await asked.send_multipart([b"R", b"", b"answer"])
        assert await req.recv() == b"answer"


async def test_req_drops_malformed_replies(ctx, transport, tmp_path):
    """The reply "SHALL have this format on the wire: A delimiter, consisting of an
    empty frame ... One or more data frames". A malformed reply is dropped silently
    and the REQ still takes the next valid one (libzmq test_invalid_rep).
    """
    with trio.fail_after(10):
        router = ctx.socket(trinq.ROUTER)
        ep = await router.bind(endpoint(transport, tmp_path))
        req = ctx.socket(trinq.REQ, routing_id=b"R")
        req.connect(ep)
        await req.send(b"q")
        await router.recv_multipart()
        for bad in ([b"no delimiter"], [b"x", b"", b"y"], [b""]):
            await router.send_multipart([b"R", *bad])
        await wait_until(lambda: received(req) == 3)
        with pytest.raises(trinq.Again):
            await req.recv(trinq.DONTWAIT)
        await router.send_multipart([b"R", b"", b"good"])
        assert await req.recv_multipart() == [b"good"]


async def test_req_correlate_wire_format(ctx, transport, tmp_path):
    """req_correlate (libzmq docs/interop.md §12): "With ZMQ_REQ_CORRELATE it also puts a 4-octet
    request id frame before the delimiter. That id is in host byte order." Replies
    carrying another id are dropped.
    """
    with trio.fail_after(10):
        router = ctx.socket(trinq.ROUTER)
        ep = await router.bind(endpoint(transport, tmp_path))
        req = ctx.socket(trinq.REQ, routing_id=b"R", req_correlate=True)
        req.connect(ep)
        await req.send(b"first")
        rid, req_id, delim, body = await router.recv_multipart()
        assert (rid, delim, body, len(req_id)) == (b"R", b"", b"first", 4)
        first = int.from_bytes(req_id, sys.byteorder)
        wrong = ((first + 7) & 0xFFFFFFFF).to_bytes(4, sys.byteorder)
        await router.send_multipart([rid, wrong, b"", b"stale"])
        await router.send_multipart([rid, b"", b"no id"])
        await router.send_multipart([rid, req_id, b"", b"right"])
        assert await req.recv() == b"right"
        await req.send(b"second")
        _, req_id2, _, _ = await router.recv_multipart()
        assert int.from_bytes(req_id2, sys.byteorder) == (first + 1) & 0xFFFFFFFF


async def test_req_relaxed_resend_goes_to_next_peer(ctx, transport, tmp_path):
    """req_relaxed (libzmq test_req_relaxed): a new request may be sent before the
    reply; it goes to the next peer, and the abandoned peer's reply is dropped
    ("SHALL discard silently any messages received from other peers").
    """
    with trio.fail_after(10):
        routers = [ctx.socket(trinq.ROUTER) for _ in range(2)]
        mons = [r.monitor() for r in routers]
        eps = [await r.bind(endpoint(transport, tmp_path)) for r in routers]
        req = ctx.socket(trinq.REQ, routing_id=b"R", req_relaxed=True, req_correlate=True)
        for ep in eps:
            req.connect(ep)
        for mon in mons:
            await wait_for_event(mon, HS)
        await req.send(b"one")
        await req.send(b"two")
        first = await routers[0].recv_multipart()
        second = await routers[1].recv_multipart()
        assert first[-1] == b"one" and second[-1] == b"two"
        await routers[0].send_multipart([*first[:-1], b"reply to one"])
        await routers[1].send_multipart([*second[:-1], b"reply to two"])
        assert await req.recv() == b"reply to two"


async def test_req_cancelled_recv_keeps_waiting_for_the_reply(ctx, transport, tmp_path):
    """Cancellation: a REQ whose recv was cancelled is still awaiting that reply
    ("SHALL send and then receive exactly one message at a time"): a strict REQ
    refuses a new request and still gets the reply on the next recv.
    """
    with trio.fail_after(10):
        router = ctx.socket(trinq.ROUTER)
        ep = await router.bind(endpoint(transport, tmp_path))
        req = ctx.socket(trinq.REQ, routing_id=b"R")
        req.connect(ep)
        await req.send(b"q")
        envelope = (await router.recv_multipart())[:-1]
        async with trio.open_nursery() as nursery:
            nursery.start_soon(req.recv)
            await trio.testing.wait_all_tasks_blocked()
            nursery.cancel_scope.cancel()
        with pytest.raises(trinq.ZMQError) as info:
            await req.send(b"another")
        assert info.value.errno == trinq.EFSM
        await router.send_multipart([*envelope, b"the reply"])
        assert await req.recv() == b"the reply"


async def test_req_relaxed_after_cancel_drops_late_reply(ctx, transport, tmp_path):
    """Cancellation with req_relaxed + req_correlate: after a cancelled recv a new
    request may be sent, and the late reply to the abandoned one is dropped.
    """
    with trio.fail_after(10):
        router = ctx.socket(trinq.ROUTER)
        ep = await router.bind(endpoint(transport, tmp_path))
        req = ctx.socket(trinq.REQ, routing_id=b"R", req_relaxed=True, req_correlate=True)
        req.connect(ep)
        await req.send(b"old")
        old = await router.recv_multipart()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(req.recv)
            await trio.testing.wait_all_tasks_blocked()
            nursery.cancel_scope.cancel()
        await req.send(b"new")
        new = await router.recv_multipart()
        await router.send_multipart([*old[:-1], b"late reply"])
        await router.send_multipart([*new[:-1], b"fresh reply"])
        assert await req.recv() == b"fresh reply"


async def test_req_relaxed_drains_reply_that_arrived_before_resend(ctx, transport, tmp_path):
    """req_relaxed without req_correlate: a reply to the abandoned request that is
    already queued when the new request is sent is discarded (libzmq req.cpp drains
    every queued reply when a request starts).
    """
    with trio.fail_after(10):
        router = ctx.socket(trinq.ROUTER)
        ep = await router.bind(endpoint(transport, tmp_path))
        req = ctx.socket(trinq.REQ, routing_id=b"R", req_relaxed=True)
        req.connect(ep)
        await req.send(b"old")
        old = await router.recv_multipart()
        await router.send_multipart([*old[:-1], b"late reply"])
        await wait_until(lambda: received(req) == 1)
        await req.send(b"new")
        new = await router.recv_multipart()
        await router.send_multipart([*new[:-1], b"fresh reply"])
        assert await req.recv() == b"fresh reply"


async def test_req_relaxed_survives_dead_peer(ctx, transport, tmp_path):
    """A REQ whose peer dies mid-request does not wedge: with req_relaxed it sends a
    new request, which reaches the restarted server ("SHALL NOT discard messages that
    it cannot send to a connected peer").
    """
    with trio.fail_after(10):
        rep = ctx.socket(trinq.REP)
        ep = await rep.bind(endpoint(transport, tmp_path))
        req = ctx.socket(trinq.REQ, req_relaxed=True, req_correlate=True)
        mon = req.monitor()
        req.connect(ep)
        await req.send(b"lost")
        assert await rep.recv() == b"lost"
        await rep.aclose()  # dies without replying
        await wait_for_event(mon, trinq.Event.DISCONNECTED)
        await req.send(b"retry")
        rep2 = ctx.socket(trinq.REP)
        await rep2.bind(ep)
        assert await rep2.recv() == b"retry"
        await rep2.send(b"ok")
        assert await req.recv() == b"ok"


async def cancelled_at(op: Callable[[], Awaitable[Any]], ticks: int) -> tuple[bool, Any]:
    """Run ``op`` and cancel it after ``ticks`` scheduler checkpoints.

    Returns ``(True, result)`` if it completed, ``(False, None)`` if it was cancelled.
    """
    result: list[Any] = []
    async with trio.open_nursery() as nursery:
        scope = trio.CancelScope()

        async def canceller() -> None:
            for _ in range(ticks):
                await trio.lowlevel.checkpoint()
            scope.cancel()

        nursery.start_soon(canceller)
        with scope:
            result.append(await op())
        nursery.cancel_scope.cancel()
    return (True, result[0]) if result else (False, None)


async def until_done(op: Callable[[], Awaitable[Any]]) -> Any:
    """Retry ``op``, cancelling attempt k at its k-th checkpoint, until it completes."""
    ticks = 0
    while True:
        done, value = await cancelled_at(op, ticks)
        if done:
            return value
        ticks += 1


async def test_cancel_at_every_await_point(ctx, transport, tmp_path):
    """Cancellation atomicity through REQ/REP: every send and recv is cancelled at its
    first, second, ... await point and retried; each request and reply still arrives
    exactly once and in order ("SHALL send and then receive exactly one message at a
    time"; "SHALL NOT discard messages that it cannot send to a connected peer").
    """
    with trio.fail_after(10):
        rep = ctx.socket(trinq.REP)
        ep = await rep.bind(endpoint(transport, tmp_path))
        req = ctx.socket(trinq.REQ)
        req.connect(ep)
        n = 20
        requests: list[bytes] = []
        replies: list[bytes] = []

        async def client() -> None:
            for i in range(n):
                await until_done(lambda i=i: req.send_multipart([b"req", b"%d" % i]))
                replies.append(b"".join(await until_done(req.recv_multipart)))

        async def server() -> None:
            for _ in range(n):
                msg = await until_done(rep.recv_multipart)
                requests.append(b"".join(msg))
                await until_done(lambda msg=msg: rep.send_multipart([b"rep", msg[1]]))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(client)
            nursery.start_soon(server)
        assert requests == [b"req%d" % i for i in range(n)]
        assert replies == [b"rep%d" % i for i in range(n)]


# --- REP ---------------------------------------------------------------------------


async def test_rep_fair_queue(ctx, transport, tmp_path):
    """REP: "SHALL receive incoming messages from its peers using a fair-queuing
    strategy." and "MAY be connected to any number of REQ or DEALER peers."
    """
    with trio.fail_after(10):
        rep, dealers = await bind_with_peers(
            ctx, trinq.REP, trinq.DEALER, 3, endpoint(transport, tmp_path)
        )
        for k, d in enumerate(dealers):
            for j in range(3):
                await d.send_multipart([b"", b"%d-%d" % (k, j)])
        await wait_until(lambda: received(rep) == 9)
        order = []
        for _ in range(9):
            (body,) = await rep.recv_multipart()
            order.append(body)
            await rep.send(b"ok")
        peers = [[b.split(b"-")[0] for b in order[i : i + 3]] for i in range(0, 9, 3)]
        assert all(sorted(p) == [b"0", b"1", b"2"] for p in peers)


async def test_rep_envelope_saved_and_restored(ctx, transport, tmp_path):
    """REP: "SHALL remove and store the address envelope, including the delimiter.",
    "SHALL pass the remaining data frames to its calling application.", "SHALL prepend
    the address envelope and delimiter." and "SHALL deliver this message back to the
    originating peer."
    """
    with trio.fail_after(10):
        rep = ctx.socket(trinq.REP)
        ep = await rep.bind(endpoint(transport, tmp_path))
        dealer = ctx.socket(trinq.DEALER)
        dealer.connect(ep)
        await dealer.send_multipart([b"hop1", b"hop2", b"", b"body", b"", b"tail"])
        assert await rep.recv_multipart() == [b"body", b"", b"tail"]
        await rep.send_multipart([b"r1", b"r2"])
        assert await dealer.recv_multipart() == [b"hop1", b"hop2", b"", b"r1", b"r2"]


async def test_rep_drops_requests_without_delimiter(ctx, transport, tmp_path):
    """REP: the request "SHALL have this format on the wire: An address envelope ...
    A delimiter, consisting of an empty frame. One or more data frames"; a request
    without a delimiter is discarded silently (docs/interop.md §12).
    """
    with trio.fail_after(10):
        rep = ctx.socket(trinq.REP)
        ep = await rep.bind(endpoint(transport, tmp_path))
        dealer = ctx.socket(trinq.DEALER)
        dealer.connect(ep)
        await dealer.send_multipart([b"no", b"delimiter"])
        await dealer.send_multipart([b"delimiter last", b""])
        await wait_until(lambda: received(rep) == 2)
        with pytest.raises(trinq.Again):
            await rep.recv(trinq.DONTWAIT)
        await dealer.send_multipart([b"", b"valid"])
        assert await rep.recv() == b"valid"


async def test_rep_lockstep(ctx, transport, tmp_path):
    """REP: "SHALL receive and then send exactly one message at a time." and "SHALL
    wait for a single reply message from its calling application." (EFSM otherwise)
    """
    with trio.fail_after(10):
        rep = ctx.socket(trinq.REP)
        ep = await rep.bind(endpoint(transport, tmp_path))
        with pytest.raises(trinq.ZMQError) as info:
            await rep.send(b"unasked")
        assert info.value.errno == trinq.EFSM
        req = ctx.socket(trinq.REQ)
        req.connect(ep)
        await req.send(b"q")
        assert await rep.recv() == b"q"
        with pytest.raises(trinq.ZMQError) as info:
            await rep.recv()
        assert info.value.errno == trinq.EFSM
        await rep.send(b"a")
        assert await req.recv() == b"a"


async def test_rep_discards_reply_to_vanished_peer(ctx, transport, tmp_path):
    """REP: "SHALL silently discard the reply, or return an error, if the originating
    peer is no longer connected." and "SHALL not block on sending."
    """
    with trio.fail_after(10):
        rep = ctx.socket(trinq.REP)
        mon = rep.monitor()
        ep = await rep.bind(endpoint(transport, tmp_path))
        gone = ctx.socket(trinq.REQ)
        gone.connect(ep)
        await gone.send(b"q1")
        assert await rep.recv() == b"q1"
        await gone.aclose()
        await wait_for_event(mon, trinq.Event.DISCONNECTED)
        await rep.send(b"nobody listens", trinq.DONTWAIT)
        req = ctx.socket(trinq.REQ)
        req.connect(ep)
        await req.send(b"q2")
        assert await rep.recv() == b"q2"
        await rep.send(b"a2")
        assert await req.recv() == b"a2"


# --- DEALER ------------------------------------------------------------------------


async def test_dealer_round_robin_out(ctx, transport, tmp_path):
    """DEALER: "SHALL route outgoing messages to available peers using a round-robin
    strategy." and "SHALL not filter or modify outgoing or incoming messages in any way."
    """
    with trio.fail_after(10):
        dealer, peers = await bind_with_peers(
            ctx, trinq.DEALER, trinq.DEALER, 3, endpoint(transport, tmp_path)
        )
        for i in range(9):
            await dealer.send_multipart([b"", b"%d" % i])
        got = []
        for p in peers:
            msgs = [await p.recv_multipart() for _ in range(3)]
            assert all(m[0] == b"" and len(m) == 2 for m in msgs)
            got.append([int(m[1]) for m in msgs])
        for seq in got:
            assert seq == [seq[0], seq[0] + 3, seq[0] + 6]
        assert sorted(x for seq in got for x in seq) == list(range(9))


async def test_dealer_fair_queue_in(ctx, transport, tmp_path):
    """DEALER: "SHALL receive incoming messages from its peers using a fair-queuing
    strategy." and "SHALL deliver these to its calling application."
    """
    with trio.fail_after(10):
        dealer, peers = await bind_with_peers(
            ctx, trinq.DEALER, trinq.DEALER, 2, endpoint(transport, tmp_path)
        )
        for k, p in enumerate(peers):
            for j in range(3):
                await p.send_multipart([b"%d" % k, b"%d" % j])
        await wait_until(lambda: received(dealer) == 6)
        order = [await dealer.recv_multipart() for _ in range(6)]
        assert [m[0] for m in order[0::2]] != [m[0] for m in order[1::2]]
        assert sorted(order) == sorted([b"%d" % k, b"%d" % j] for k in range(2) for j in range(3))


async def test_dealer_blocks_without_available_peers(ctx, transport, tmp_path):
    """DEALER: "SHALL block on sending, or return a suitable error, when it has no
    available peers." and "SHALL not accept further messages when it has no available
    peers." (a connect-side queue exists before the peer does: "SHALL create a double
    queue when initiating an outgoing connection to a peer")
    """
    with trio.fail_after(10):
        lonely = ctx.socket(trinq.DEALER)
        with pytest.raises(trinq.Again):
            await lonely.send(b"x", trinq.DONTWAIT)
        ep = await free_endpoint(ctx, transport, tmp_path)
        dealer = ctx.socket(trinq.DEALER, sndhwm=2, linger=0)
        dealer.connect(ep)
        await dealer.send(b"queued 1", trinq.DONTWAIT)
        await dealer.send(b"queued 2", trinq.DONTWAIT)
        with pytest.raises(trinq.Again):
            await dealer.send(b"refused", trinq.DONTWAIT)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(dealer.send, b"refused")
            await trio.testing.wait_all_tasks_blocked()
            nursery.cancel_scope.cancel()  # the send was still waiting
        assert dealer.statistics().pipes[0].outbound_queued == 2


async def test_dealer_queue_destroyed_on_disconnect(ctx, transport, tmp_path):
    """DEALER: "SHALL create a double queue when a peer connects to it. If this peer
    disconnects, the DEALER socket SHALL destroy its double queue and SHALL discard any
    messages it contains."
    """
    with trio.fail_after(10):
        dealer = ctx.socket(trinq.DEALER)
        mon = dealer.monitor()
        ep = await dealer.bind(endpoint(transport, tmp_path))
        peer = ctx.socket(trinq.DEALER)
        peer.connect(ep)
        await wait_for_event(mon, HS)
        assert dealer.statistics().peers == 1
        peer.disconnect(ep)
        await wait_for_event(mon, trinq.Event.DISCONNECTED)
        assert dealer.statistics().peers == 0
        with pytest.raises(trinq.Again):
            await dealer.send(b"nobody", trinq.DONTWAIT)
        peer.connect(ep)
        await wait_for_event(mon, HS)
        await dealer.send(b"fresh")
        assert await peer.recv() == b"fresh"


# --- ROUTER ------------------------------------------------------------------------


async def test_router_prefixes_identity_and_fair_queues(ctx, transport, tmp_path):
    """ROUTER: "SHALL receive incoming messages from its peers using a fair-queuing
    strategy.", "SHALL prefix each incoming message with a frame containing the
    identity of the originating double queue." and "SHOULD allow the peer to specify
    its identity explicitly through the Identity metadata property."
    """
    with trio.fail_after(10):
        router = ctx.socket(trinq.ROUTER)
        mon = router.monitor()
        ep = await router.bind(endpoint(transport, tmp_path))
        for name in (b"A", b"B"):
            d = ctx.socket(trinq.DEALER, routing_id=name)
            d.connect(ep)
            await wait_for_event(mon, HS)
            for j in range(2):
                await d.send_multipart([name + b"%d" % j, b"more"])
        await wait_until(lambda: received(router) == 4)
        order = [await router.recv_multipart() for _ in range(4)]
        assert [m[0] for m in order] in ([b"A", b"B"] * 2, [b"B", b"A"] * 2)
        assert all(m[1] == m[0] + m[1][1:] and m[2] == b"more" for m in order)


async def test_router_generated_ids(ctx, transport, tmp_path):
    """ROUTER: "SHALL identify each double queue using a unique "identity" binary
    string." -- anonymous peers get libzmq's 5-byte ids: 0x00 + a uint32 counter.
    """
    with trio.fail_after(10):
        router = ctx.socket(trinq.ROUTER)
        mon = router.monitor()
        ep = await router.bind(endpoint(transport, tmp_path))
        ids = []
        for _ in range(2):
            d = ctx.socket(trinq.DEALER)
            d.connect(ep)
            await wait_for_event(mon, HS)
            await d.send(b"hi")
            rid, body = await router.recv_multipart()
            assert body == b"hi"
            ids.append(rid)
            await router.send_multipart([rid, b"back"])
            assert await d.recv() == b"back"
        assert all(len(i) == 5 and i[0] == 0 for i in ids)
        a, b = (int.from_bytes(i[1:], "big") for i in ids)
        assert b == (a + 1) & 0xFFFFFFFF


async def test_router_routes_by_first_frame(ctx, transport, tmp_path):
    """ROUTER: "SHALL remove the first frame from each outgoing message and use this as
    the identity of a double queue." and "SHALL route the message to the outgoing queue
    if that queue exists, and has space."
    """
    with trio.fail_after(10):
        router = ctx.socket(trinq.ROUTER, router_mandatory=True)
        mon = router.monitor()
        ep = await router.bind(endpoint(transport, tmp_path))
        dealers = {n: ctx.socket(trinq.DEALER, routing_id=n) for n in (b"A", b"B")}
        for d in dealers.values():
            d.connect(ep)
        await wait_for_event(mon, HS, 2)
        await router.send_multipart([b"B", b"for", b"B"])
        await router.send_multipart([b"A", b"for A"])
        assert await dealers[b"A"].recv_multipart() == [b"for A"]
        assert await dealers[b"B"].recv_multipart() == [b"for", b"B"]


async def test_router_unknown_id_dropped_or_refused(ctx, transport, tmp_path):
    """ROUTER: "SHALL either silently drop the message, or return an error, depending on
    configuration, if the queue does not exist" (router_mandatory: EHOSTUNREACH) and
    "SHALL NOT block on sending."
    """
    with trio.fail_after(10):
        router = ctx.socket(trinq.ROUTER)
        mon = router.monitor()
        ep = await router.bind(endpoint(transport, tmp_path))
        d = ctx.socket(trinq.DEALER, routing_id=b"D")
        d.connect(ep)
        await wait_for_event(mon, HS)
        await router.send_multipart([b"nobody", b"dropped"])
        await router.send_multipart([b"D"])  # an id with no body: dropped
        await router.send_multipart([b"D", b"delivered"])
        assert await d.recv_multipart() == [b"delivered"]
        router.router_mandatory = True
        with pytest.raises(trinq.ZMQError) as info:
            await router.send_multipart([b"nobody", b"refused"])
        assert info.value.errno == trinq.EHOSTUNREACH


async def test_router_mandatory_full_peer_waits(ctx, transport, tmp_path):
    """ROUTER: "SHALL either silently drop the message, or return an error, depending on
    configuration, if the queue ... is full." With router_mandatory a full peer gives
    Again under DONTWAIT, and a blocking send waits for room (docs/interop.md §13).
    """
    with trio.fail_after(10):
        router = ctx.socket(trinq.ROUTER, router_mandatory=True, sndhwm=1)
        mon = router.monitor()
        ep = await router.bind(endpoint(transport, tmp_path))
        d = ctx.socket(trinq.DEALER, routing_id=b"slow", rcvhwm=1)
        d.connect(ep)
        await wait_for_event(mon, HS)
        big = b"x" * (1 << 20)
        sent = 0
        while True:
            try:
                await router.send_multipart([b"slow", big], trinq.DONTWAIT)
            except trinq.Again:
                break
            sent += 1
            assert sent < 200, "the peer's queue never filled"
            await trio.testing.wait_all_tasks_blocked()
        async with trio.open_nursery() as nursery:
            done = trio.Event()

            async def blocked_send() -> None:
                await router.send_multipart([b"slow", b"last"])
                done.set()

            nursery.start_soon(blocked_send)
            await trio.testing.wait_all_tasks_blocked()
            assert not done.is_set()
            for _ in range(sent):
                assert await d.recv() == big
            assert await d.recv() == b"last"
        assert done.is_set()


async def test_router_duplicate_identity_is_ignored(ctx, transport, tmp_path):
    """ROUTER: "SHALL identify each double queue using a unique "identity" binary
    string." A second peer claiming an identity in use is not attached under it: its
    messages are not delivered (libzmq test_router_handover, docs/interop.md §13).
    """
    with trio.fail_after(10):
        router = ctx.socket(trinq.ROUTER)
        mon = router.monitor()
        ep = await router.bind(endpoint(transport, tmp_path))
        first = ctx.socket(trinq.DEALER, routing_id=b"X")
        first.connect(ep)
        await first.send(b"from first")
        assert await router.recv_multipart() == [b"X", b"from first"]
        second = ctx.socket(trinq.DEALER, routing_id=b"X")
        second.connect(ep)
        await wait_for_event(mon, HS, 2)
        await second.send(b"from second")
        await wait_until(lambda: received(router) == 2)
        with pytest.raises(trinq.Again):
            await router.recv(trinq.DONTWAIT)
        await router.send_multipart([b"X", b"reply"])
        assert await first.recv() == b"reply"
        with pytest.raises(trinq.Again):
            await second.recv(trinq.DONTWAIT)


async def test_router_handover(ctx, transport, tmp_path):
    """router_handover: a new peer with an identity in use takes it over and the old
    connection is closed (libzmq test_router_handover).
    """
    with trio.fail_after(10):
        router = ctx.socket(trinq.ROUTER, router_handover=True)
        mon = router.monitor()
        ep = await router.bind(endpoint(transport, tmp_path))
        first = ctx.socket(trinq.DEALER, routing_id=b"X", reconnect_ivl=-1)
        first_mon = first.monitor()
        first.connect(ep)
        await first.send(b"hello 1")
        assert await router.recv_multipart() == [b"X", b"hello 1"]
        second = ctx.socket(trinq.DEALER, routing_id=b"X")
        second.connect(ep)
        await wait_for_event(mon, HS, 2)
        await wait_for_event(first_mon, trinq.Event.DISCONNECTED)
        await second.send(b"hello 2")
        assert await router.recv_multipart() == [b"X", b"hello 2"]
        await router.send_multipart([b"X", b"to the new one"])
        assert await second.recv() == b"to the new one"
        with pytest.raises(trinq.Again):
            await first.recv(trinq.DONTWAIT)


async def test_router_queue_destroyed_on_disconnect(ctx, transport, tmp_path):
    """ROUTER: "SHALL create a double queue when a peer connects to it. If this peer
    disconnects, the ROUTER socket SHALL destroy its double queue and SHALL discard any
    messages it contains." (libzmq test_spec_router test_destroy_queue_on_disconnect)
    """
    with trio.fail_after(10):
        router = ctx.socket(trinq.ROUTER)
        mon = router.monitor()
        ep = await router.bind(endpoint(transport, tmp_path))
        peer = ctx.socket(trinq.DEALER, routing_id=b"B")
        peer.connect(ep)
        await wait_for_event(mon, HS)
        peer.disconnect(ep)
        await wait_for_event(mon, trinq.Event.DISCONNECTED)
        assert router.statistics().peers == 0
        await router.send_multipart([b"B", b"lost"])
        router.router_mandatory = True
        with pytest.raises(trinq.ZMQError) as info:
            await router.send_multipart([b"B", b"refused"], trinq.DONTWAIT)
        assert info.value.errno == trinq.EHOSTUNREACH
        peer.connect(ep)
        await wait_for_event(mon, HS)
        await router.send_multipart([b"B", b"fresh"])
        assert await peer.recv() == b"fresh"
        with pytest.raises(trinq.Again):
            await router.recv(trinq.DONTWAIT)


async def test_router_connect_side_queue_and_connect_routing_id(ctx, transport, tmp_path):
    """ROUTER: "SHALL create a double queue when initiating an outgoing connection to a
    peer, and SHALL maintain the double queue whether or not the connection is
    established." connect_routing_id names that queue at once (libzmq test_connect_rid),
    so messages routed to it before the peer exists are queued, not refused.
    """
    with trio.fail_after(10):
        ep = await free_endpoint(ctx, transport, tmp_path)
        client = ctx.socket(trinq.ROUTER, routing_id=b"client", router_mandatory=True)
        client.connect_routing_id = b"server"
        client.connect(ep)
        await client.send_multipart([b"server", b"queued before bind"])
        server = ctx.socket(trinq.ROUTER)
        await server.bind(ep)
        assert await server.recv_multipart() == [b"client", b"queued before bind"]
        await server.send_multipart([b"client", b"answer"])
        assert await client.recv_multipart() == [b"server", b"answer"]


async def test_router_to_router_uses_peer_identity(ctx, transport, tmp_path):
    """ROUTER: "SHOULD allow the peer to specify its identity explicitly through the
    Identity metadata property." -- also on the connecting side: a connect-side queue
    takes the bound peer's Identity once the handshake is done.
    """
    with trio.fail_after(10):
        server = ctx.socket(trinq.ROUTER, routing_id=b"srv")
        ep = await server.bind(endpoint(transport, tmp_path))
        client = ctx.socket(trinq.ROUTER, routing_id=b"cli", router_mandatory=True)
        mon = client.monitor()
        client.connect(ep)
        await wait_for_event(mon, HS)
        await client.send_multipart([b"srv", b"hi"])
        assert await server.recv_multipart() == [b"cli", b"hi"]
        await server.send_multipart([b"cli", b"hello"])
        assert await client.recv_multipart() == [b"srv", b"hello"]


@pytest.mark.parametrize("kind", ["ROUTER", "DEALER", "REQ"])
async def test_probe_router(ctx, transport, tmp_path, kind):
    """probe_router (libzmq test_probe_router): a connecting ROUTER, DEALER or REQ sends
    an empty message first, so the bound ROUTER learns its identity and can talk first.
    """
    with trio.fail_after(10):
        server = ctx.socket(trinq.ROUTER)
        ep = await server.bind(endpoint(transport, tmp_path))
        client = ctx.socket(trinq.SocketType[kind], routing_id=b"probe", probe_router=True)
        client.connect(ep)
        assert await server.recv_multipart() == [b"probe", b""]
        if kind == "REQ":
            await client.send(b"q")
            assert await server.recv_multipart() == [b"probe", b"", b"q"]
            await server.send_multipart([b"probe", b"", b"Hello"])
        else:
            await server.send_multipart([b"probe", b"Hello"])
        assert (await client.recv_multipart())[-1] == b"Hello"


async def test_envelopes_through_router_dealer_device(ctx, transport, tmp_path):
    """REP: "SHALL prepend the address envelope and delimiter." and "SHALL deliver this
    message back to the originating peer." -- across a ROUTER/DEALER queue device
    (libzmq test_reqrep_device): multipart requests from several REQs reach several
    REPs and every reply returns to the client that asked.
    """
    with trio.fail_after(10):
        frontend = ctx.socket(trinq.ROUTER)
        backend = ctx.socket(trinq.DEALER)
        fe = await frontend.bind(endpoint(transport, tmp_path))
        be = await backend.bind(endpoint(transport, tmp_path))

        async def pump(src: trinq.Socket, dst: trinq.Socket) -> None:
            async for msg in src:
                await dst.send_multipart(msg)

        async def worker(name: bytes) -> None:
            rep = ctx.socket(trinq.REP)
            rep.connect(be)
            async for msg in rep:
                await rep.send_multipart([name, *msg])

        async def client(k: int, results: dict[int, list[list[bytes]]]) -> None:
            req = ctx.socket(trinq.REQ)
            req.connect(fe)
            got = []
            for i in range(4):
                await req.send_multipart([b"c%d" % k, b"", b"#%d" % i])
                got.append(await req.recv_multipart())
            results[k] = got

        results: dict[int, list[list[bytes]]] = {}
        async with trio.open_nursery() as nursery:
            nursery.start_soon(pump, frontend, backend)
            nursery.start_soon(pump, backend, frontend)
            for name in (b"w1", b"w2"):
                nursery.start_soon(worker, name)
            async with trio.open_nursery() as clients:
                for k in range(3):
                    clients.start_soon(client, k, results)
            nursery.cancel_scope.cancel()
        for k in range(3):
            assert [m[1:] for m in results[k]] == [[b"c%d" % k, b"", b"#%d" % i] for i in range(4)]
            assert {m[0] for m in results[k]} <= {b"w1", b"w2"}


async def test_events_option_follows_the_lockstep(ctx, transport, tmp_path):
    """The ``events`` option (POLLIN/POLLOUT) reflects REQ's and REP's state, not just
    their pipes: a REQ waiting for its reply cannot send, a REP owing a reply cannot
    receive."""
    with trio.fail_after(10):
        rep = ctx.socket(trinq.REP)
        ep = await rep.bind(endpoint(transport, tmp_path))
        req = ctx.socket(trinq.REQ)
        req.connect(ep)
        assert req.events & trinq.POLLOUT
        assert not req.events & trinq.POLLIN
        await req.send(b"q")
        assert not req.events & trinq.POLLOUT
        assert await rep.recv() == b"q"
        assert rep.events == trinq.POLLOUT
        await rep.send(b"a")
        assert not rep.events & trinq.POLLOUT
        assert await req.recv() == b"a"
        assert req.events & trinq.POLLOUT
