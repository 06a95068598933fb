"""RFC 29/PUBSUB spec tests (PUB, SUB, XPUB, XSUB), in the style of libzmq's test_spec_*.cpp.

Each test's docstring quotes the SHALL clause(s) of shared/specs/29-pubsub.md it checks
(or names the libzmq option it pins); the whole module runs over every stream transport
in ``trinq.testing.TRANSPORTS``.

The slow joiner is defeated without sleeps: either an XPUB sees the subscription
message, or the publisher sends a probe in a loop until the subscriber receives one
(every wait bounded by ``trio.fail_after``).
"""

from __future__ import annotations

import itertools

import pytest
import trio

import trinq
from trinq.testing import TRANSPORTS, endpoint, wait_for_event

pytestmark = pytest.mark.parametrize("transport", TRANSPORTS)

PROBE = b"\xffprobe"


def sock(ctx: trinq.Context, kind: int, **options: object) -> trinq.Socket:
    """A socket with linger 0, so a stalled peer never holds up the test's exit."""
    return ctx.socket(kind, linger=0, **options)


async def await_probe(pub: trinq.Socket, sub: trinq.Socket) -> None:
    """Publish PROBE until ``sub`` receives it: its subscriptions reached ``pub``.

    Subscriptions travel in order on one connection, so every subscription made
    before the probe's is in effect once a probe arrives.
    """
    sub.subscribe(PROBE)
    with trio.fail_after(10):
        while True:
            await pub.send(PROBE)
            with trio.move_on_after(0.05):
                while await sub.recv() != PROBE:
                    pass
                break
    sub.unsubscribe(PROBE)


async def recv_data(sub: trinq.Socket) -> list[bytes]:
    """Receive the next message that is not a leftover probe."""
    while True:
        msg = await sub.recv_multipart()
        if msg[0] != PROBE:
            return msg


async def no_more(sub: trinq.Socket) -> None:
    with pytest.raises(trinq.Again):
        while True:
            msg = await sub.recv_multipart(trinq.DONTWAIT)
            assert msg[0] == PROBE, msg


# --- PUB --------------------------------------------------------------------------


async def test_pub_filters_on_first_frame_prefix(ctx, transport, tmp_path):
    """PUB: "SHALL perform a binary comparison of the subscription against the start of
    the first frame of the message." and "MAY, depending on the transport, send messages
    only to subscribers who have a matching subscription." (trinq filters on the
    publisher side: non-matching messages never reach the wire.)"""
    with trio.fail_after(10):
        pub = sock(ctx, trinq.XPUB)
        ep = await pub.bind(endpoint(transport, tmp_path))
        sub = sock(ctx, trinq.SUB)
        sub.connect(ep)
        sub.subscribe(b"ab")
        assert await pub.recv() == b"\x01ab"  # the subscription reached the publisher
        for msg in ([b"a"], [b"abc"], [b"xab"], [b"ab", b"more"], [b"AB"], [b"ab"], [b"x", b"ab"]):
            await pub.send_multipart(msg)
        await pub.send(b"ab-end")
        got = []
        while not got or got[-1] != [b"ab-end"]:
            got.append(await recv_data(sub))
        assert got == [[b"abc"], [b"ab", b"more"], [b"ab"], [b"ab-end"]]
        # only the matching messages crossed the wire
        assert sub.statistics().messages_in == 4


async def test_empty_subscription_matches_everything(ctx, transport, tmp_path):
    """PUB: "SHALL perform a binary comparison of the subscription against the start of
    the first frame of the message." -- the empty subscription is a prefix of every
    message, including an empty first frame."""
    with trio.fail_after(10):
        pub = sock(ctx, trinq.PUB)
        ep = await pub.bind(endpoint(transport, tmp_path))
        sub = sock(ctx, trinq.SUB)
        sub.connect(ep)
        sub.subscribe(b"")
        await await_probe(pub, sub)
        sent = [[b""], [b"x"], [b"\x00\x01"], [b"", b"second"], [b"y" * 300]]
        for msg in sent:
            await pub.send_multipart(msg)
        assert [await recv_data(sub) for _ in sent] == sent


async def test_no_subscription_receives_nothing(ctx, transport, tmp_path):
    """SUB: "MAY, depending on the transport, filter messages according to
    subscriptions, using a prefix match algorithm." -- without a subscription a SUB
    receives nothing (XPUB reports no subscriber, so the PUB sends nothing)."""
    with trio.fail_after(10):
        xpub = sock(ctx, trinq.XPUB)
        ep = await xpub.bind(endpoint(transport, tmp_path))
        mon = xpub.monitor()
        quiet = sock(ctx, trinq.SUB)
        quiet.connect(ep)
        loud = sock(ctx, trinq.SUB)
        loud.connect(ep)
        loud.subscribe(b"t")
        await wait_for_event(mon, trinq.Event.HANDSHAKE_SUCCEEDED, 2)
        assert await xpub.recv() == b"\x01t"
        for i in range(10):
            await xpub.send(b"t%d" % i)
        assert [await loud.recv() for _ in range(10)] == [b"t%d" % i for i in range(10)]
        await no_more(quiet)
        assert quiet.statistics().messages_in == 0


async def test_many_subscriptions_and_unsubscribe(ctx, transport, tmp_path):
    """SUB: "MAY send subscribe and unsubscribe requests to publishers depending on the
    transport protocol used." -- many subscriptions at once are additive, and an
    unsubscribed topic is no longer delivered."""
    with trio.fail_after(10):
        pub = sock(ctx, trinq.PUB)
        ep = await pub.bind(endpoint(transport, tmp_path))
        sub = sock(ctx, trinq.SUB)
        sub.connect(ep)
        topics = [b"topic-%03d" % i for i in range(100)]
        for t in topics:
            sub.subscribe(t)
        sub.subscribe("str-topic")
        await await_probe(pub, sub)
        for t in [*topics, b"other", b"str-topic!"]:
            await pub.send_multipart([t, b"body"])
        got = [await recv_data(sub) for _ in range(101)]
        assert got == [[t, b"body"] for t in [*topics, b"str-topic!"]]
        for t in topics[::2]:
            sub.unsubscribe(t)
        sub.unsubscribe("str-topic")
        for t in [*topics, b"str-topic!"]:
            await pub.send(t)
        await pub.send(b"topic-001-end")
        got = []
        while not got or got[-1] != b"topic-001-end":
            got.append((await recv_data(sub))[0])
        assert got == [*topics[1::2], b"topic-001-end"]


async def test_subscriptions_are_refcounted(ctx, transport, tmp_path):
    """XPUB: "SHALL deliver these commands to its calling application." and "MAY,
    depending on configuration, normalize commands delivered to its calling application
    so that multiple identical subscriptions result in a single command only." --
    subscribing twice and unsubscribing once keeps the subscription."""
    with trio.fail_after(10):
        xpub = sock(ctx, trinq.XPUB)
        ep = await xpub.bind(endpoint(transport, tmp_path))
        sub = sock(ctx, trinq.SUB)
        sub.connect(ep)
        sub.subscribe(b"k")
        sub.subscribe(b"k")
        assert await xpub.recv() == b"\x01k"
        sub.unsubscribe(b"k")
        sub.subscribe(b"end")
        assert await xpub.recv() == b"\x01end"  # no \x00k in between
        await xpub.send(b"k1")
        assert await sub.recv() == b"k1"
        sub.unsubscribe(b"k")
        assert await xpub.recv() == b"\x00k"


async def test_slow_subscriber_dropped_fast_ones_get_everything(ctx, transport, tmp_path):
    """PUB: "SHALL silently drop the message if the queue for a subscriber is full." and
    "SHALL NOT block on sending." and "SHOULD constrain queue sizes to a
    runtime-configurable limit." -- a stalled subscriber loses messages at SNDHWM,
    the PUB-side queue never exceeds SNDHWM, and a fast one receives every message."""
    hwm = 4
    count = 300
    payload = b"p" * 65536
    with trio.fail_after(30):
        pub = sock(ctx, trinq.PUB, sndhwm=hwm)
        mon = pub.monitor()
        ep = await pub.bind(endpoint(transport, tmp_path))
        slow = sock(ctx, trinq.SUB, rcvhwm=hwm)
        fast = sock(ctx, trinq.SUB)
        for s in (slow, fast):
            s.connect(ep)
            s.subscribe(b"")
        await wait_for_event(mon, trinq.Event.HANDSHAKE_SUCCEEDED, 2)
        await await_probe(pub, fast)
        await await_probe(pub, slow)
        most_queued = 0
        for i in range(count):
            # never blocks: a full slow queue only costs the slow subscriber
            with trio.fail_after(5):
                await pub.send_multipart([b"%05d" % i, payload])
            most_queued = max(most_queued, *(p.outbound_queued for p in pub.statistics().pipes))
            msg = await recv_data(fast)
            assert msg == [b"%05d" % i, payload]
        # inproc: one queue of the PUB's sndhwm + the SUB's rcvhwm (libzmq's rule)
        assert most_queued <= (2 * hwm if transport == "inproc" else hwm)
        got = []
        while True:
            try:
                msg = await slow.recv_multipart(trinq.DONTWAIT)
            except trinq.Again:
                # everything still in flight arrives within a short quiet period
                with trio.move_on_after(0.5):
                    msg = await slow.recv_multipart()
                if msg[0] == PROBE or (got and msg[0] == got[-1]):
                    break
            if msg[0] != PROBE:
                got.append(msg[0])
        numbers = [int(m) for m in got]
        assert numbers == sorted(numbers)
        assert len(numbers) < count, "the stalled subscriber should have lost messages"


async def test_pub_discards_messages_from_subscribers(ctx, transport, tmp_path):
    """PUB: "SHALL silently discard any messages that subscribers send it." and "MAY
    be connected to any number of SUB or XSUB subscribers, and SHALL only send
    messages."; SUB: "SHALL only receive messages." """
    with trio.fail_after(10):
        pub = sock(ctx, trinq.PUB)
        ep = await pub.bind(endpoint(transport, tmp_path))
        xsub = sock(ctx, trinq.XSUB)
        xsub.connect(ep)
        await xsub.send(b"\x01")
        await xsub.send_multipart([b"user", b"message"])
        await await_probe_xsub(pub, xsub)
        with pytest.raises(trinq.ZMQError) as info:
            await pub.recv(trinq.DONTWAIT)
        assert info.value.errno == trinq.ENOTSUP
        assert pub.statistics().pipes[0].inbound_queued == 0
        sub = sock(ctx, trinq.SUB)
        with pytest.raises(trinq.ZMQError) as info:
            await sub.send(b"x")
        assert info.value.errno == trinq.ENOTSUP
        assert "subscribe" in str(info.value)


async def await_probe_xsub(pub: trinq.Socket, xsub: trinq.Socket) -> None:
    """Like :func:`await_probe` for an XSUB already subscribed to everything."""
    with trio.fail_after(10):
        while True:
            await pub.send(PROBE)
            with trio.move_on_after(0.05):
                await xsub.recv()
                break


async def test_sub_fair_queues_publishers(ctx, transport, tmp_path):
    """SUB: "SHALL receive incoming messages from its publishers using a fair-queuing
    strategy." and "SHALL maintain a single incoming message queue for each connected
    publisher." """
    with trio.fail_after(10):
        sub = sock(ctx, trinq.SUB)
        sub.subscribe(b"")
        pubs = [sock(ctx, trinq.XPUB) for _ in range(2)]
        for p in pubs:
            sub.connect(await p.bind(endpoint(transport, tmp_path)))
        for p in pubs:
            assert await p.recv() == b"\x01"
        for n, p in enumerate(pubs):
            for i in range(5):
                await p.send(b"%d-%d" % (n, i))
        # wait until both queues hold all five, then check the interleaving
        with trio.fail_after(5):
            while sum(p.inbound_queued for p in sub.statistics().pipes) < 10:
                await trio.sleep(0.01)
        got = [await sub.recv() for _ in range(10)]
        assert sorted(got) == sorted(b"%d-%d" % (n, i) for n in range(2) for i in range(5))
        sources = [m[:1] for m in got]
        assert all(a != b for a, b in itertools.pairwise(sources))  # alternating


# --- XPUB -------------------------------------------------------------------------


async def test_xpub_delivers_subscriptions(ctx, transport, tmp_path):
    """XPUB: "SHALL receive subscribe and unsubscribe requests from subscribers
    depending on the transport protocol used." and "SHALL deliver these commands to its
    calling application." (as ``\\x01topic`` / ``\\x00topic`` messages, as libzmq)."""
    with trio.fail_after(10):
        xpub = sock(ctx, trinq.XPUB)
        ep = await xpub.bind(endpoint(transport, tmp_path))
        subs = [sock(ctx, trinq.SUB) for _ in range(2)]
        for s in subs:
            s.connect(ep)
            s.subscribe(b"news")
        assert await xpub.recv() == b"\x01news"
        subs[0].subscribe(b"")
        assert await xpub.recv() == b"\x01"
        subs[0].unsubscribe(b"news")
        subs[1].subscribe(b"sync")
        # the first unsubscribe of "news" leaves a subscriber: not reported
        assert await xpub.recv() == b"\x01sync"
        subs[1].unsubscribe(b"news")
        assert await xpub.recv() == b"\x00news"


async def test_xpub_verbose_and_verboser(ctx, transport, tmp_path):
    """XPUB: "MAY, depending on configuration, normalize commands delivered to its
    calling application so that multiple identical subscriptions result in a single
    command only." -- ``xpub_verbose`` passes every subscription, ``xpub_verboser``
    also every unsubscription."""
    with trio.fail_after(10):
        xpub = sock(ctx, trinq.XPUB, xpub_verbose=True)
        ep = await xpub.bind(endpoint(transport, tmp_path))
        a, b = sock(ctx, trinq.SUB), sock(ctx, trinq.SUB)
        for s in (a, b):
            s.connect(ep)
            s.subscribe(b"x")
        assert [await xpub.recv(), await xpub.recv()] == [b"\x01x", b"\x01x"]
        a.unsubscribe(b"x")
        a.subscribe(b"y")
        assert await xpub.recv() == b"\x01y"  # verbose alone: b still has x, no \x00x
        xpub.xpub_verboser = True
        a.unsubscribe(b"y")
        assert await xpub.recv() == b"\x00y"
        b.subscribe(b"z")
        a.subscribe(b"z")
        assert [await xpub.recv(), await xpub.recv()] == [b"\x01z", b"\x01z"]
        a.unsubscribe(b"z")
        assert await xpub.recv() == b"\x00z"  # verboser: reported though b remains


async def test_xpub_reports_unsubscribe_when_subscriber_disconnects(ctx, transport, tmp_path):
    """XPUB: "SHALL, if the subscriber peer disconnects prematurely, generate a suitable
    unsubscribe request for the calling application." """
    with trio.fail_after(10):
        xpub = sock(ctx, trinq.XPUB)
        ep = await xpub.bind(endpoint(transport, tmp_path))
        keep, leave = sock(ctx, trinq.SUB), sock(ctx, trinq.SUB)
        keep.connect(ep)
        keep.subscribe(b"shared")
        assert await xpub.recv() == b"\x01shared"
        leave.connect(ep)
        for t in (b"shared", b"mine-1", b"mine-2"):
            leave.subscribe(t)
        assert [await xpub.recv(), await xpub.recv()] == [b"\x01mine-1", b"\x01mine-2"]
        await leave.aclose()
        assert sorted([await xpub.recv(), await xpub.recv()]) == [b"\x00mine-1", b"\x00mine-2"]
        await keep.aclose()
        assert await xpub.recv() == b"\x00shared"


async def test_xpub_receives_user_messages_fair_queued(ctx, transport, tmp_path):
    """XPUB: "SHALL receive incoming messages from its subscribers using a fair-queuing
    strategy." and "SHALL deliver these messages to its calling application." """
    with trio.fail_after(10):
        xpub = sock(ctx, trinq.XPUB)
        ep = await xpub.bind(endpoint(transport, tmp_path))
        xsubs = [sock(ctx, trinq.XSUB) for _ in range(2)]
        for n, x in enumerate(xsubs):
            x.connect(ep)
            await x.send(b"\x01%d" % n)
            assert await xpub.recv() == b"\x01%d" % n
        for n, x in enumerate(xsubs):
            for i in range(3):
                await x.send_multipart([b"up-%d" % n, b"%d" % i])
        got = [await xpub.recv_multipart() for _ in range(6)]
        assert sorted(got) == sorted([b"up-%d" % n, b"%d" % i] for n in range(2) for i in range(3))
        per_peer = [[m[1] for m in got if m[0] == b"up-%d" % n] for n in range(2)]
        assert per_peer == [[b"0", b"1", b"2"]] * 2


async def test_xpub_manual(ctx, transport, tmp_path):
    """libzmq ``ZMQ_XPUB_MANUAL``: requests are delivered but not applied; the
    application calls ``subscribe()`` on the XPUB for the peer whose request it read
    last (here it rewrites the topic). Its subscriptions are reported on disconnect."""
    with trio.fail_after(10):
        xpub = sock(ctx, trinq.XPUB, xpub_manual=True)
        ep = await xpub.bind(endpoint(transport, tmp_path))
        sub = sock(ctx, trinq.SUB)
        sub.connect(ep)
        sub.subscribe(b"A")
        assert await xpub.recv() == b"\x01A"
        await xpub.send(b"A-not-yet")  # nothing is applied by itself
        xpub.subscribe(b"")  # the app grants everything instead
        await xpub.send(b"A-now")
        assert await sub.recv() == b"A-now"
        sub.subscribe(b"B")
        assert await xpub.recv() == b"\x01B"
        await xpub.send(b"B2")
        assert await sub.recv() == b"B2"
        xpub.unsubscribe(b"")
        await sub.aclose()
        assert sorted([await xpub.recv(), await xpub.recv()]) == [b"\x00A", b"\x00B"]
        with pytest.raises(trinq.ZMQError) as info:
            sock(ctx, trinq.XPUB).subscribe(b"x")
        assert info.value.errno == trinq.EINVAL


async def test_xpub_nodrop_blocks_instead_of_dropping(ctx, transport, tmp_path):
    """libzmq ``ZMQ_XPUB_NODROP``: instead of RFC 29's "SHALL silently drop the message
    if the queue for a subscriber is full", the send waits (``Again`` with DONTWAIT)."""
    with trio.fail_after(10):
        xpub = sock(ctx, trinq.XPUB, xpub_nodrop=True, sndhwm=2)
        ep = await xpub.bind(endpoint(transport, tmp_path))
        sub = sock(ctx, trinq.SUB, rcvhwm=2)
        sub.connect(ep)
        sub.subscribe(b"")
        assert await xpub.recv() == b"\x01"
        payload = b"z" * 65536
        sent = 0
        with pytest.raises(trinq.Again):
            while True:
                await xpub.send_multipart([b"%d" % sent, payload], trinq.DONTWAIT)
                sent += 1
                await trio.lowlevel.checkpoint()  # let the writer drain what it can
        # inproc: one queue of the XPUB's sndhwm + the SUB's rcvhwm (libzmq's rule)
        limit = 4 if transport == "inproc" else 2
        assert max(p.outbound_queued for p in xpub.statistics().pipes) == limit
        extra = 100

        async def publish() -> None:
            for i in range(sent, sent + extra):
                await xpub.send_multipart([b"%d" % i, payload])  # waits, never drops

        # every accepted message arrives: nothing was dropped
        async with trio.open_nursery() as nursery:
            nursery.start_soon(publish)
            got = [int((await sub.recv_multipart())[0]) for _ in range(sent + extra)]
        assert got == list(range(sent + extra))


async def test_welcome_message(ctx, transport, tmp_path):
    """libzmq ``ZMQ_XPUB_WELCOME_MSG``: each new subscriber is sent the welcome message
    when it attaches (a SUB sees it if subscribed to its prefix)."""
    with trio.fail_after(10):
        xpub = sock(ctx, trinq.XPUB, xpub_welcome_msg=b"W-hello")
        ep = await xpub.bind(endpoint(transport, tmp_path))
        subs = [sock(ctx, trinq.SUB) for _ in range(2)]
        for s in subs:
            s.subscribe(b"W")
            s.connect(ep)
        for s in subs:
            assert await s.recv() == b"W-hello"
        assert await xpub.recv() == b"\x01W"
        # connect side: the welcome is queued on connect and sent on the first connection
        sub = sock(ctx, trinq.SUB)
        sub.subscribe(b"W")
        ep2 = await sub.bind(endpoint(transport, tmp_path))
        xpub2 = sock(ctx, trinq.XPUB, xpub_welcome_msg=b"W2")
        xpub2.connect(ep2)
        assert await sub.recv() == b"W2"


async def test_conflate_keeps_only_newest(ctx, transport, tmp_path):
    """libzmq ``ZMQ_CONFLATE`` on SUB: the queue holds only the last message received."""
    with trio.fail_after(10):
        pub = sock(ctx, trinq.XPUB)
        ep = await pub.bind(endpoint(transport, tmp_path))
        sub = sock(ctx, trinq.SUB, conflate=True)
        sub.subscribe(b"")
        sub.connect(ep)
        assert await pub.recv() == b"\x01"
        for i in range(100):
            await pub.send(b"%03d" % i)
        # wait (bounded) until all 100 crossed the wire, then read once
        with trio.fail_after(5):
            while sub.statistics().messages_in < 100:
                await trio.sleep(0.01)
        assert await sub.recv() == b"099"
        with pytest.raises(trinq.Again):
            await sub.recv(trinq.DONTWAIT)


async def test_invert_matching(ctx, transport, tmp_path):
    """libzmq ``ZMQ_INVERT_MATCHING`` (set on both PUB and SUB): only messages that
    match *no* subscription are delivered."""
    with trio.fail_after(10):
        pub = sock(ctx, trinq.XPUB, invert_matching=True)
        ep = await pub.bind(endpoint(transport, tmp_path))
        sub = sock(ctx, trinq.SUB, invert_matching=True)
        sub.connect(ep)
        sub.subscribe(b"skip")
        assert await pub.recv() == b"\x01skip"
        for m in (b"skip-1", b"keep-1", b"skipper", b"keep-2"):
            await pub.send(m)
        assert [await sub.recv(), await sub.recv()] == [b"keep-1", b"keep-2"]
        # the publisher inverted too: the skipped ones never crossed the wire
        assert sub.statistics().messages_in == 2


# --- XSUB and proxies -------------------------------------------------------------


async def test_xsub_subscribes_with_messages(ctx, transport, tmp_path):
    """XSUB: "SHALL accept subscription commands from its calling application." and
    "SHALL send subscribe and unsubscribe requests to publishers depending on the
    transport protocol used." and "SHALL send all messages to all connected
    publishers." """
    with trio.fail_after(10):
        xpubs = [sock(ctx, trinq.XPUB) for _ in range(2)]
        xsub = sock(ctx, trinq.XSUB)
        for x in xpubs:
            xsub.connect(await x.bind(endpoint(transport, tmp_path)))
        await xsub.send(b"\x01weather")
        for x in xpubs:
            assert await x.recv() == b"\x01weather"
        await xsub.send_multipart([b"hello", b"upstream"])
        for x in xpubs:
            assert await x.recv_multipart() == [b"hello", b"upstream"]
        for x in xpubs:
            await x.send(b"weather-1")
            await x.send(b"sports-1")
        got = sorted([await xsub.recv(), await xsub.recv()])
        assert got == [b"weather-1", b"weather-1"]
        await xsub.send(b"\x00weather")
        for x in xpubs:
            assert await x.recv() == b"\x00weather"


async def test_subscriptions_forwarded_through_proxy(ctx, transport, tmp_path):
    """XPUB/XSUB: "For many-to-many use-cases the pattern provides raw socket types
    (XPUB, XSUB) to construct distribution proxies" -- a subscription travels SUB ->
    XPUB -> app -> XSUB -> PUB, and the PUB filters at the source."""
    with trio.fail_after(10):
        pub = sock(ctx, trinq.XPUB)  # XPUB to see the subscription arrive; sends as a PUB
        pub_ep = await pub.bind(endpoint(transport, tmp_path))
        xsub = sock(ctx, trinq.XSUB)
        xsub.connect(pub_ep)
        xpub = sock(ctx, trinq.XPUB)
        front = await xpub.bind(endpoint(transport, tmp_path))

        async def forward(src: trinq.Socket, dst: trinq.Socket) -> None:
            async for msg in src:
                await dst.send_multipart(msg)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(forward, xsub, xpub)
            nursery.start_soon(forward, xpub, xsub)
            sub = sock(ctx, trinq.SUB)
            sub.connect(front)
            sub.subscribe(b"wanted")
            assert await pub.recv() == b"\x01wanted"  # SUB -> XPUB -> app -> XSUB -> PUB
            for i in range(5):
                await pub.send(b"unwanted-%d" % i)
                await pub.send(b"wanted-%d" % i)
            assert [await recv_data(sub) for _ in range(5)] == [
                [b"wanted-%d" % i] for i in range(5)
            ]
            # the PUB filtered at the source: no "unwanted" reached the proxy
            assert xsub.statistics().messages_in == 5
            nursery.cancel_scope.cancel()


async def test_resubscribe_after_publisher_restart(ctx, transport, tmp_path):
    """SUB: "SHALL create a queue when initiating an outgoing connection to a publisher,
    and SHALL maintain the queue whether or not the connection is established." -- and,
    as libzmq, it resends its subscriptions when it reconnects to a restarted PUB."""
    with trio.fail_after(20):
        pub = sock(ctx, trinq.PUB)
        ep = await pub.bind(endpoint(transport, tmp_path))
        sub = sock(ctx, trinq.SUB, reconnect_ivl=20)
        mon = sub.monitor()
        sub.connect(ep)
        sub.subscribe(b"live")
        await await_probe(pub, sub)
        await pub.send(b"live-1")
        assert await recv_data(sub) == [b"live-1"]
        await pub.aclose()
        await wait_for_event(mon, trinq.Event.DISCONNECTED)
        pub2 = sock(ctx, trinq.XPUB)
        assert await pub2.bind(ep) == ep
        # the replayed subscriptions arrive without the SUB doing anything
        assert await pub2.recv() == b"\x01live"
        await pub2.send(b"live-2")
        await pub2.send(b"dead")
        assert await recv_data(sub) == [b"live-2"]
