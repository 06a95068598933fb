"""RFC 41/CLIENTSERVER and RFC 51/P2P spec tests (CLIENT, SERVER, PEER).

Each test's docstring quotes the clause of shared/specs/41-clientserver.md or
51-p2p.md it checks; the module runs over every transport in
``trinq.testing.TRANSPORTS``.
"""

from __future__ import annotations

import pytest
import trio

import trinq
from trinq.testing import TRANSPORTS, endpoint, wait_for_event

pytestmark = pytest.mark.parametrize("transport", TRANSPORTS)

E = trinq.Event


async def server_with_clients(
    ctx: trinq.Context, transport: str, tmp_path: object, n: int
) -> tuple[trinq.Socket, list[trinq.Socket]]:
    server = ctx.socket(trinq.SERVER)
    mon = server.monitor()
    ep = await server.bind(endpoint(transport, tmp_path))
    clients = [ctx.socket(trinq.CLIENT) for _ in range(n)]
    for c in clients:
        c.connect(ep)
    await wait_for_event(mon, E.HANDSHAKE_SUCCEEDED, n)
    return server, clients


async def test_server_replies_reach_the_client_that_asked(ctx, transport, tmp_path):
    """SERVER: "SHALL route outgoing messages to the peer identified by the routing id
    of the message" and "SHALL receive incoming messages from its peers using a
    fair-queuing strategy", each carrying "a routing id ... of the originating peer"."""
    with trio.fail_after(10):
        server, clients = await server_with_clients(ctx, transport, tmp_path, 3)
        for i, c in enumerate(clients):
            await c.send(b"client %d" % i)
        seen: set[int] = set()
        for _ in clients:
            msg = await server.recv_message()
            assert msg.routing_id is not None
            assert 0 < msg.routing_id <= 0xFFFFFFFF
            assert msg.frames == (msg.data,)
            seen.add(msg.routing_id)
            await server.send(b"re: " + msg.data, routing_id=msg.routing_id)
        assert len(seen) == 3  # one id per peer
        for i, c in enumerate(clients):
            assert await c.recv() == b"re: client %d" % i


async def test_server_routing_id_is_stable_per_peer(ctx, transport, tmp_path):
    """SERVER: a peer keeps its routing id for as long as it is connected."""
    with trio.fail_after(10):
        server, (client,) = await server_with_clients(ctx, transport, tmp_path, 1)
        ids = set()
        for i in range(5):
            await client.send(b"%d" % i)
            ids.add((await server.recv_message()).routing_id)
        assert len(ids) == 1


async def test_server_fair_queues_its_clients(ctx, transport, tmp_path):
    """SERVER: "SHALL receive incoming messages from its peers using a fair-queuing
    strategy"."""
    with trio.fail_after(10):
        server, clients = await server_with_clients(ctx, transport, tmp_path, 2)
        for c in clients:
            for i in range(20):
                await c.send(b"%d" % i)
        # wait until both clients' messages are queued, then take them
        got = [await server.recv_message() for _ in range(40)]
        first = got[0].routing_id
        by_peer: dict[int | None, list[int]] = {}
        for m in got:
            by_peer.setdefault(m.routing_id, []).append(int(m.data))
        assert all(seq == list(range(20)) for seq in by_peer.values())
        assert len(by_peer) == 2
        assert first is not None


async def test_send_to_unknown_routing_id_is_ehostunreach(ctx, transport, tmp_path):
    """SERVER: "If the routing id is not known, the SERVER socket SHALL return an error
    (EHOSTUNREACH)"; the socket stays usable."""
    with trio.fail_after(10):
        server, (client,) = await server_with_clients(ctx, transport, tmp_path, 1)
        await client.send(b"hi")
        msg = await server.recv_message()
        bogus = msg.routing_id % 0xFFFFFFFF + 1  # type: ignore[operator]
        with pytest.raises(trinq.ZMQError) as info:
            await server.send(b"x", routing_id=bogus)
        assert info.value.errno == trinq.EHOSTUNREACH
        with pytest.raises(trinq.ZMQError) as info:
            await server.send(b"no routing id")
        assert info.value.errno == trinq.EHOSTUNREACH
        await server.send(b"ok", routing_id=msg.routing_id)
        assert await client.recv() == b"ok"


@pytest.mark.parametrize("bad", [0, -1, 2**32, "1", 1.0])
async def test_invalid_routing_id_is_einval(ctx, transport, tmp_path, bad):
    with trio.fail_after(10):
        server = ctx.socket(trinq.SERVER)
        await server.bind(endpoint(transport, tmp_path))
        with pytest.raises(trinq.ZMQError) as info:
            await server.send(b"x", routing_id=bad)
        assert info.value.errno == trinq.EINVAL


async def test_departed_peer_is_ehostunreach(ctx, transport, tmp_path):
    """SERVER: a peer that went away is no longer known: EHOSTUNREACH."""
    with trio.fail_after(10):
        server, (client,) = await server_with_clients(ctx, transport, tmp_path, 1)
        mon = server.monitor()
        await client.send(b"hi")
        msg = await server.recv_message()
        await client.aclose()
        await wait_for_event(mon, E.DISCONNECTED)
        with pytest.raises(trinq.ZMQError) as info:
            await server.send(b"x", routing_id=msg.routing_id)
        assert info.value.errno == trinq.EHOSTUNREACH


async def hwm_pair(
    ctx: trinq.Context, transport: str, tmp_path: object
) -> tuple[trinq.Socket, trinq.Socket, int]:
    server = ctx.socket(trinq.SERVER, sndhwm=1)
    mon = server.monitor()
    ep = await server.bind(endpoint(transport, tmp_path))
    client = ctx.socket(trinq.CLIENT, rcvhwm=1)
    client.connect(ep)
    await wait_for_event(mon, E.HANDSHAKE_SUCCEEDED)
    await client.send(b"hi")
    rid = (await server.recv_message()).routing_id
    assert rid is not None
    return server, client, rid


async def fill(server: trinq.Socket, rid: int) -> int:
    """Send numbered 1000-byte messages until one times out (sndtimeo 50 ms): the
    peer's pipe, the transport's buffers and the peer's RCVHWM are all full."""
    server.sndtimeo = 50
    n = 0
    try:
        while True:
            await server.send(b"%d " % n + b"x" * 1000, routing_id=rid)
            n += 1
    except trinq.Again:
        pass
    server.sndtimeo = -1
    return n


async def test_server_send_blocks_at_the_peers_hwm(ctx, transport, tmp_path):
    """SERVER: a send to a peer at its SNDHWM waits (DONTWAIT: Again; sndtimeo: Again
    after the timeout), as libzmq's server returns EAGAIN for that pipe; it completes
    once the peer reads."""
    with trio.fail_after(20):
        server, client, rid = await hwm_pair(ctx, transport, tmp_path)
        n = await fill(server, rid)
        assert n >= 1
        with pytest.raises(trinq.Again):
            await server.send(b"dontwait", trinq.DONTWAIT, routing_id=rid)
        done = trio.Event()

        async def blocked_send() -> None:
            await server.send(b"last", routing_id=rid)
            done.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(blocked_send)
            for i in range(n):
                assert (await client.recv()).split(b" ")[0] == b"%d" % i
            assert await client.recv() == b"last"
            await done.wait()


async def test_blocked_routed_send_cancelled_queues_nothing(ctx, transport, tmp_path):
    """Cancellation of a routed send that waits: nothing was queued."""
    with trio.fail_after(20):
        server, client, rid = await hwm_pair(ctx, transport, tmp_path)
        n = await fill(server, rid)
        with trio.move_on_after(0.05) as scope:
            await server.send(b"cancelled", routing_id=rid)
        assert scope.cancelled_caught
        got = [(await client.recv()).split(b" ")[0] for _ in range(n)]
        assert got == [b"%d" % i for i in range(n)]
        await server.send(b"after", routing_id=rid)
        assert await client.recv() == b"after"


async def test_client_round_robins_over_servers(ctx, transport, tmp_path):
    """CLIENT: "SHALL route outgoing messages to available peers using a round-robin
    strategy"."""
    with trio.fail_after(10):
        servers = [ctx.socket(trinq.SERVER) for _ in range(2)]
        client = ctx.socket(trinq.CLIENT)
        mon = client.monitor()
        for s in servers:
            client.connect(await s.bind(endpoint(transport, tmp_path)))
        await wait_for_event(mon, E.HANDSHAKE_SUCCEEDED, 2)
        for i in range(10):
            await client.send(b"%d" % i)
        a = [int((await servers[0].recv_message()).data) for _ in range(5)]
        b = [int((await servers[1].recv_message()).data) for _ in range(5)]
        assert sorted(a + b) == list(range(10))
        assert len({x % 2 for x in a}) == 1 and len({x % 2 for x in b}) == 1


@pytest.mark.parametrize("kind", ["CLIENT", "SERVER", "PEER"])
async def test_multipart_is_refused_at_once(ctx, transport, tmp_path, kind):
    """RFC 41: "The CLIENT/SERVER sockets SHALL NOT send multipart messages"; trinq
    raises EINVAL at once for SNDMORE and a multi-frame send_multipart, and the socket
    stays usable."""
    with trio.fail_after(10):
        s = ctx.socket(getattr(trinq, kind))
        with pytest.raises(trinq.ZMQError) as info:
            await s.send(b"a", trinq.SNDMORE)
        assert info.value.errno == trinq.EINVAL
        with pytest.raises(trinq.ZMQError) as info:
            await s.send_multipart([b"a", b"b"])
        assert info.value.errno == trinq.EINVAL
        with pytest.raises(trinq.ZMQError) as info:
            await s.send(b"a", trinq.SNDMORE, routing_id=1)
        assert info.value.errno == trinq.EINVAL


async def test_client_single_frame_send_multipart_is_fine(ctx, transport, tmp_path):
    with trio.fail_after(10):
        server, (client,) = await server_with_clients(ctx, transport, tmp_path, 1)
        await client.send_multipart([b"one"])
        assert (await server.recv_message()).frames == (b"one",)


async def test_incompatible_peer_is_refused(ctx, transport, tmp_path):
    """CLIENT talks only to SERVER (RFC 37's compatibility table): a DEALER is refused."""
    with trio.fail_after(10):
        server = ctx.socket(trinq.SERVER)
        mon = server.monitor()
        ep = await server.bind(endpoint(transport, tmp_path))
        dealer = ctx.socket(trinq.DEALER)
        dealer.connect(ep)
        await wait_for_event(mon, E.HANDSHAKE_FAILED_PROTOCOL)
        assert server.statistics().peers == 0


async def test_routed_send_on_other_types_is_einval(ctx, transport, tmp_path):
    with trio.fail_after(10):
        client = ctx.socket(trinq.CLIENT)
        with pytest.raises(trinq.ZMQError) as info:
            await client.send(b"x", routing_id=5)
        assert info.value.errno == trinq.EINVAL
        server = ctx.socket(trinq.SERVER)
        with pytest.raises(trinq.ZMQError) as info:
            await server.send(b"x", group="g")
        assert info.value.errno == trinq.EINVAL


# --- PEER (RFC 51) ---------------------------------------------------------------


async def test_connect_peer_returns_a_routing_id_usable_at_once(ctx, transport, tmp_path):
    """PEER: "connect_peer ... returns the routing id of the new peer", and messages
    to it can be queued before the connection is made."""
    with trio.fail_after(10):
        a, b = ctx.socket(trinq.PEER), ctx.socket(trinq.PEER)
        ep = await a.bind(endpoint(transport, tmp_path))
        rid = b.connect_peer(ep)
        assert isinstance(rid, int) and 0 < rid <= 0xFFFFFFFF
        await b.send(b"early", routing_id=rid)
        msg = await a.recv_message()
        assert msg.data == b"early"
        await a.send(b"back", routing_id=msg.routing_id)
        reply = await b.recv_message()
        assert reply.data == b"back"
        assert reply.routing_id == rid


async def test_peer_connects_to_several_peers(ctx, transport, tmp_path):
    with trio.fail_after(10):
        hub = ctx.socket(trinq.PEER)
        others = [ctx.socket(trinq.PEER) for _ in range(3)]
        rids = [hub.connect_peer(await o.bind(endpoint(transport, tmp_path))) for o in others]
        assert len(set(rids)) == 3
        for i, rid in enumerate(rids):
            await hub.send(b"to %d" % i, routing_id=rid)
        for i, o in enumerate(others):
            assert (await o.recv_message()).data == b"to %d" % i


async def test_connect_peer_errors(ctx, transport, tmp_path):
    with trio.fail_after(10):
        ep = endpoint(transport, tmp_path)
        server = ctx.socket(trinq.SERVER)
        with pytest.raises(trinq.ZMQError) as info:
            server.connect_peer(ep)
        assert info.value.errno == trinq.ENOTSUP
        peer = ctx.socket(trinq.PEER, immediate=True)
        with pytest.raises(trinq.ZMQError) as info:
            peer.connect_peer(ep)
        assert info.value.errno == trinq.EFAULT
