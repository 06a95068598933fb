"""Draft socket types against a draft-enabled libzmq: Node's ``zeromq`` 6.x package
(libzmq 4.3.5 built with drafts), run as ``node/peer.js`` through :mod:`nodepeer`
(pyzmq's wheels have no draft sockets).

CLIENT-SERVER, RADIO-DISH, SCATTER-GATHER and CHANNEL-CHANNEL run with trinq on
either side and either side binding, over tcp and ipc. PEER runs as far as the node
binding allows: it cannot send from a PEER, nor learn a PEER message's routing id,
so trinq's ``connect_peer`` sends to a node PEER, and a node PEER's connection is
accepted by a trinq PEER. Also: a node CLIENT reaching a restarted trinq SERVER, and
mismatched socket types refused in both directions.

Every test is bounded by ``trio.fail_after``; the node peer gives up any receive or
send after 5 s and answers every command, so nothing hangs. RADIO-DISH joins
propagate asynchronously: a probe is sent until the first one arrives, then a marker
message checks the filtering exactly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
from nodepeer import NodeMessage, NodePeer, node_installed, node_peer  # noqa: F401

import trinq
from trinq.testing import WIRE_TRANSPORTS, wait_for_event

pytestmark = pytest.mark.usefixtures("node_installed")

E = trinq.Event
TIMEOUT_S = 20
#: How long one probe waits for a RADIO-DISH join to have reached the RADIO.
PROBE_S = 0.05
N = 200

transports = pytest.mark.parametrize("transport", WIRE_TRANSPORTS)
trinq_binds = pytest.mark.parametrize(
    "trinq_binds", [True, False], ids=["trinq-binds", "node-binds"]
)


def bind_endpoint(transport: str, tmp_path: Path, name: str) -> str:
    """Something to bind: 127.0.0.1 port 0, or a short ipc path in ``tmp_path``."""
    if transport == "tcp":
        return "tcp://127.0.0.1:0"
    return f"ipc://{tmp_path}/{name}.ipc"


def body(i: int) -> bytes:
    """Message ``i``: short ones and some longer than 255 bytes (a long ZMTP frame)."""
    return b"msg-%04d|" % i + b"x" * (300 * (i % 3 == 2))


@asynccontextmanager
async def wired(
    ctx: trinq.Context,
    kind: str,
    node_kind: str,
    trinq_binds: bool,
    transport: str,
    tmp_path: Path,
    **options: Any,
) -> AsyncIterator[tuple[trinq.Socket, NodePeer]]:
    """A trinq socket of ``kind`` and a node peer of ``node_kind``, one bound, the other
    connected to it."""
    sock = ctx.socket(getattr(trinq, kind), **options)
    if trinq_binds:
        ep = await sock.bind(bind_endpoint(transport, tmp_path, "t"))
        async with node_peer(node_kind, "connect", ep) as node:
            yield sock, node
    else:
        async with node_peer(node_kind, "bind", bind_endpoint(transport, tmp_path, "n")) as node:
            sock.connect(node.endpoint)
            yield sock, node


# --- CLIENT / SERVER -----------------------------------------------------------------


@transports
@pytest.mark.parametrize("server_binds", [True, False], ids=["server-binds", "clients-bind"])
async def test_trinq_server_replies_to_each_node_client(
    ctx: trinq.Context, transport: str, server_binds: bool, tmp_path: Path
) -> None:
    """Three node CLIENTs on one trinq SERVER: each gets its own replies, by routing id."""
    with trio.fail_after(TIMEOUT_S):
        server = ctx.socket(trinq.SERVER)
        async with node_peer_group(ctx, server, server_binds, transport, tmp_path, 3) as clients:
            for round_ in range(3):
                for i, client in enumerate(clients):
                    await client.send(b"hello from %d round %d" % (i, round_))
                seen: dict[int, bytes] = {}
                for _ in clients:
                    msg = await server.recv_message()
                    assert isinstance(msg.routing_id, int)
                    assert msg.routing_id not in seen
                    seen[msg.routing_id] = msg.data
                    await server.send(b"reply to " + msg.data, routing_id=msg.routing_id)
                for i, client in enumerate(clients):
                    reply = await client.recv()
                    assert reply.data == b"reply to hello from %d round %d" % (i, round_)
                assert len(set(seen)) == len(clients)


@asynccontextmanager
async def node_peer_group(
    ctx: trinq.Context,
    server: trinq.Socket,
    server_binds: bool,
    transport: str,
    tmp_path: Path,
    count: int,
) -> AsyncIterator[list[NodePeer]]:
    """``count`` node CLIENTs for ``server``: connected to it, or each bound and
    connected to by it."""
    async with AsyncExitStack() as stack:
        clients: list[NodePeer] = []
        if server_binds:
            ep = await server.bind(bind_endpoint(transport, tmp_path, "s"))
            for _ in range(count):
                clients.append(await stack.enter_async_context(node_peer("CLIENT", "connect", ep)))
        else:
            for i in range(count):
                ep = bind_endpoint(transport, tmp_path, f"c{i}")
                client = await stack.enter_async_context(node_peer("CLIENT", "bind", ep))
                server.connect(client.endpoint)
                clients.append(client)
        yield clients


@transports
@trinq_binds
async def test_node_server_replies_to_trinq_client(
    ctx: trinq.Context, transport: str, trinq_binds: bool, tmp_path: Path
) -> None:
    """A node SERVER echoes to the routing id each message came from."""
    with trio.fail_after(TIMEOUT_S):
        async with wired(ctx, "CLIENT", "SERVER", trinq_binds, transport, tmp_path) as (
            client,
            server,
        ):
            for i in range(N):
                await client.send(body(i))
            await server.echo(N)
            for i in range(N):
                assert await client.recv() == body(i)


@transports
async def test_node_server_replies_to_each_trinq_client(
    ctx: trinq.Context, transport: str, tmp_path: Path
) -> None:
    """Three trinq CLIENTs on one node SERVER each get back what they sent."""
    with trio.fail_after(TIMEOUT_S):
        async with node_peer("SERVER", "bind", bind_endpoint(transport, tmp_path, "n")) as server:
            clients = [ctx.socket(trinq.CLIENT) for _ in range(3)]
            for client in clients:
                client.connect(server.endpoint)
            for i, client in enumerate(clients):
                await client.send(b"client %d" % i)
            await server.echo(len(clients))
            for i, client in enumerate(clients):
                assert await client.recv() == b"client %d" % i


@transports
async def test_node_client_reaches_a_restarted_trinq_server(
    ctx: trinq.Context, transport: str, tmp_path: Path
) -> None:
    """The node CLIENT reconnects to a new trinq SERVER bound to the same endpoint."""
    with trio.fail_after(TIMEOUT_S):
        first = ctx.socket(trinq.SERVER)
        ep = await first.bind(bind_endpoint(transport, tmp_path, "s"))
        async with node_peer("CLIENT", "connect", ep) as client:
            await client.send(b"before")
            msg = await first.recv_message()
            assert msg.data == b"before"
            await first.send(b"ack before", routing_id=msg.routing_id)
            assert (await client.recv()).data == b"ack before"
            await first.aclose()

            second = ctx.socket(trinq.SERVER)
            mon = second.monitor()
            assert await second.bind(ep) == ep
            await wait_for_event(mon, E.HANDSHAKE_SUCCEEDED)  # the client is back
            await client.send(b"after")
            msg = await second.recv_message()
            assert msg.data == b"after"
            assert isinstance(msg.routing_id, int)
            await second.send(b"ack after", routing_id=msg.routing_id)
            assert (await client.recv()).data == b"ack after"


# --- RADIO / DISH --------------------------------------------------------------------


class _Dish:
    """The DISH side's operations, whether the DISH is trinq's or node's."""

    def __init__(self, sock: trinq.Socket | None = None, node: NodePeer | None = None) -> None:
        self.sock = sock
        self.node = node

    async def join(self, group: str) -> None:
        if self.sock is not None:
            self.sock.join(group)
        else:
            assert self.node is not None
            await self.node.join(group)

    async def leave(self, group: str) -> None:
        if self.sock is not None:
            self.sock.leave(group)
        else:
            assert self.node is not None
            await self.node.leave(group)

    async def try_recv(self, seconds: float) -> tuple[str | None, bytes] | None:
        if self.sock is not None:
            with trio.move_on_after(seconds):
                msg = await self.sock.recv_message()
                return msg.group, msg.data
            return None
        assert self.node is not None
        got = await self.node.try_recv(int(seconds * 1000))
        return None if got is None else (got.group, got.data)

    async def recv(self) -> tuple[str | None, bytes]:
        if self.sock is not None:
            msg = await self.sock.recv_message()
            return msg.group, msg.data
        assert self.node is not None
        got = await self.node.recv()
        return got.group, got.data


async def _until_marker(dish: _Dish, marker: bytes) -> list[tuple[str | None, bytes]]:
    """What the DISH receives up to and including ``marker``, leftover probes left out."""
    got: list[tuple[str | None, bytes]] = []
    while True:
        group, data = await dish.recv()
        if data != b"probe":
            got.append((group, data))
        if data == marker:
            return got


@transports
@trinq_binds
@pytest.mark.parametrize("trinq_is", ["RADIO", "DISH"])
async def test_radio_dish(
    ctx: trinq.Context, transport: str, trinq_binds: bool, trinq_is: str, tmp_path: Path
) -> None:
    """A DISH gets exactly its joined groups' messages, in order, and after a leave no
    more of that group."""
    with trio.fail_after(TIMEOUT_S):
        node_kind = "DISH" if trinq_is == "RADIO" else "RADIO"
        async with wired(ctx, trinq_is, node_kind, trinq_binds, transport, tmp_path) as (
            sock,
            node,
        ):
            radio: trinq.Socket | NodePeer
            if trinq_is == "RADIO":
                radio, dish = sock, _Dish(node=node)
            else:
                radio, dish = node, _Dish(sock=sock)
            # joins travel in order: once "weather" passes the RADIO, "news" did too
            await dish.join("news")
            await dish.join("weather")
            while True:
                await radio.send(b"probe", group="weather")
                first = await dish.try_recv(PROBE_S)
                if first is not None:
                    assert first == ("weather", b"probe")
                    break

            for group, data in [
                ("sports", b"s1"),
                ("news", b"n1"),
                ("weather", b"w1"),
                ("sports", b"s2"),
                ("weatherman", b"prefix is not a match"),
                ("news", b"n2"),
                ("weather", b"marker 1"),
            ]:
                await radio.send(data, group=group)
            assert await _until_marker(dish, b"marker 1") == [
                ("news", b"n1"),
                ("weather", b"w1"),
                ("news", b"n2"),
                ("weather", b"marker 1"),
            ]

            await dish.leave("news")
            for group, data in [("news", b"n3"), ("weather", b"w2"), ("weather", b"marker 2")]:
                await radio.send(data, group=group)
            assert await _until_marker(dish, b"marker 2") == [
                ("weather", b"w2"),
                ("weather", b"marker 2"),
            ]


# --- SCATTER / GATHER ----------------------------------------------------------------


@transports
@trinq_binds
@pytest.mark.parametrize("trinq_is", ["SCATTER", "GATHER"])
async def test_scatter_gather_in_order(
    ctx: trinq.Context, transport: str, trinq_binds: bool, trinq_is: str, tmp_path: Path
) -> None:
    """N messages cross SCATTER -> GATHER whole and in order."""
    with trio.fail_after(TIMEOUT_S):
        node_kind = "GATHER" if trinq_is == "SCATTER" else "SCATTER"
        async with wired(ctx, trinq_is, node_kind, trinq_binds, transport, tmp_path) as (
            sock,
            node,
        ):
            if trinq_is == "SCATTER":
                for i in range(N):
                    await sock.send(body(i))
                got = [m.data for m in await node.recv_many(N)]
            else:
                await node.send_many(body(i) for i in range(N))
                got = [await sock.recv() for _ in range(N)]
            assert got == [body(i) for i in range(N)]


# --- CHANNEL -------------------------------------------------------------------------


@transports
@trinq_binds
async def test_channel_both_ways(
    ctx: trinq.Context, transport: str, trinq_binds: bool, tmp_path: Path
) -> None:
    """CHANNEL to CHANNEL: node echoes what trinq sends, and sends on its own."""
    with trio.fail_after(TIMEOUT_S):
        async with wired(ctx, "CHANNEL", "CHANNEL", trinq_binds, transport, tmp_path) as (
            chan,
            node,
        ):
            for i in range(N):
                await chan.send(body(i))
            await node.echo(N)
            assert [await chan.recv() for _ in range(N)] == [body(i) for i in range(N)]
            await node.send(b"from node")
            assert await chan.recv() == b"from node"


# --- PEER ----------------------------------------------------------------------------


@transports
async def test_trinq_connect_peer_sends_to_node_peer(
    ctx: trinq.Context, transport: str, tmp_path: Path
) -> None:
    """``connect_peer`` gives a routing id to send to at once; a node PEER receives (the
    node binding cannot send from a PEER)."""
    with trio.fail_after(TIMEOUT_S):
        async with node_peer("PEER", "bind", bind_endpoint(transport, tmp_path, "n")) as node:
            peer = ctx.socket(trinq.PEER)
            rid = peer.connect_peer(node.endpoint)
            assert isinstance(rid, int) and rid != 0
            for i in range(N):
                await peer.send(body(i), routing_id=rid)
            got = await node.recv_many(N)
            assert [m.data for m in got] == [body(i) for i in range(N)]


@transports
async def test_two_node_peers_get_their_own_messages(
    ctx: trinq.Context, transport: str, tmp_path: Path
) -> None:
    """One trinq PEER, two node PEERs: each routing id reaches its own peer only."""
    with trio.fail_after(TIMEOUT_S):
        async with (
            node_peer("PEER", "bind", bind_endpoint(transport, tmp_path, "a")) as a,
            node_peer("PEER", "bind", bind_endpoint(transport, tmp_path, "b")) as b,
        ):
            peer = ctx.socket(trinq.PEER)
            rid_a = peer.connect_peer(a.endpoint)
            rid_b = peer.connect_peer(b.endpoint)
            assert rid_a != rid_b
            for i in range(5):
                await peer.send(b"to a %d" % i, routing_id=rid_a)
                await peer.send(b"to b %d" % i, routing_id=rid_b)
            assert [m.data for m in await a.recv_many(5)] == [b"to a %d" % i for i in range(5)]
            assert [m.data for m in await b.recv_many(5)] == [b"to b %d" % i for i in range(5)]
            assert await a.try_recv(50) is None
            assert await b.try_recv(50) is None


@transports
async def test_trinq_peer_accepts_a_node_peer(
    ctx: trinq.Context, transport: str, tmp_path: Path
) -> None:
    """A node PEER connecting to a bound trinq PEER completes the handshake (PEER is
    compatible with PEER); no protocol failure is reported."""
    with trio.fail_after(TIMEOUT_S):
        peer = ctx.socket(trinq.PEER)
        mon = peer.monitor()
        ep = await peer.bind(bind_endpoint(transport, tmp_path, "t"))
        async with node_peer("PEER", "connect", ep):
            seen = await wait_for_event(mon, E.HANDSHAKE_SUCCEEDED)
            failed = (E.HANDSHAKE_FAILED_PROTOCOL, E.HANDSHAKE_FAILED_NO_DETAIL)
            assert not [e for e in seen if e.event in failed], seen


# --- mismatched types ----------------------------------------------------------------


@transports
@pytest.mark.parametrize(
    ("node_kind", "trinq_kind"),
    [("CLIENT", "DISH"), ("SCATTER", "DISH"), ("RADIO", "GATHER"), ("CLIENT", "REP")],
)
async def test_trinq_refuses_a_mismatched_node_socket(
    ctx: trinq.Context, transport: str, node_kind: str, trinq_kind: str, tmp_path: Path
) -> None:
    """trinq binds: a node socket of an incompatible type fails the handshake."""
    with trio.fail_after(TIMEOUT_S):
        sock = ctx.socket(getattr(trinq, trinq_kind))
        mon = sock.monitor()
        ep = await sock.bind(bind_endpoint(transport, tmp_path, "t"))
        async with node_peer(node_kind, "connect", ep):
            seen = await wait_for_event(mon, E.HANDSHAKE_FAILED_PROTOCOL)
            assert "incompatible socket types" in (seen[-1].reason or ""), seen
            assert E.HANDSHAKE_SUCCEEDED not in [e.event for e in seen], seen


@transports
@pytest.mark.parametrize(
    ("trinq_kind", "node_kind"),
    [("CLIENT", "DISH"), ("PEER", "SERVER"), ("CHANNEL", "CLIENT"), ("REQ", "SERVER")],
)
async def test_trinq_refuses_a_mismatched_node_listener(
    ctx: trinq.Context, transport: str, trinq_kind: str, node_kind: str, tmp_path: Path
) -> None:
    """node binds: trinq's connecting socket reports the mismatch as a protocol error."""
    with trio.fail_after(TIMEOUT_S):
        async with node_peer(node_kind, "bind", bind_endpoint(transport, tmp_path, "n")) as node:
            sock = ctx.socket(getattr(trinq, trinq_kind))
            mon = sock.monitor()
            if trinq_kind == "PEER":
                sock.connect_peer(node.endpoint)
            else:
                sock.connect(node.endpoint)
            seen = await wait_for_event(mon, E.HANDSHAKE_FAILED_PROTOCOL)
            assert "incompatible socket types" in (seen[-1].reason or ""), seen
