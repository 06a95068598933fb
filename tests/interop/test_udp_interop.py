"""RADIO -> DISH over udp:// against a draft-enabled libzmq: Node's ``zeromq`` 6.x
package (libzmq 4.3.5 built with drafts), run as ``node/peer.js`` through
:mod:`nodepeer` (pyzmq's wheels have no draft sockets, hence no RADIO/DISH).

Both directions -- a trinq RADIO to a node DISH, a node RADIO to a trinq DISH -- over
unicast and multicast on loopback (``127.0.0.1;GROUP:PORT``: joined and sent on the
loopback interface, which works on any Linux host). A node DISH bound to port 0 does
not report the real port, so a free port is picked first (a throwaway socket bound to
port 0); a trinq DISH binds port 0 and says which one it got.

Every test is bounded by ``trio.fail_after``; the node peer gives up a receive after
its timeout and answers every command, so nothing hangs. A probe is sent until the
first one arrives (the RADIO's socket opens in the background), then markers check
the DISH's filtering exactly; nothing waits on a sleep.
"""

from __future__ import annotations

import random
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio
from nodepeer import NodePeer, node_installed, node_peer  # noqa: F401

import trinq

pytestmark = pytest.mark.usefixtures("node_installed")

TIMEOUT_S = 20
#: How long one probe waits for the first datagram.
PROBE_S = 0.05

kinds = pytest.mark.parametrize("kind", ["unicast", "multicast"])
directions = pytest.mark.parametrize("trinq_is", ["RADIO", "DISH"])


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def host_for(kind: str) -> str:
    if kind == "unicast":
        return "127.0.0.1"
    return f"127.0.0.1;239.255.{random.randrange(1, 255)}.{random.randrange(1, 255)}"


class _Pair:
    """A RADIO and a DISH, one trinq's and one node's, with the same operations."""

    def __init__(self, sock: trinq.Socket, node: NodePeer, trinq_is: str) -> None:
        self.sock = sock
        self.node = node
        self.trinq_radio = trinq_is == "RADIO"

    async def send(self, data: bytes, group: str) -> None:
        if self.trinq_radio:
            await self.sock.send(data, group=group)
        else:
            await self.node.send(data, group=group)

    async def send_many(self, items: list[tuple[str, bytes]]) -> None:
        for group, data in items:
            await self.send(data, group)

    async def join(self, group: str) -> None:
        if self.trinq_radio:
            await self.node.join(group)
        else:
            self.sock.join(group)

    async def leave(self, group: str) -> None:
        if self.trinq_radio:
            await self.node.leave(group)
        else:
            self.sock.leave(group)

    async def try_recv(self, seconds: float) -> tuple[str | None, bytes] | None:
        if self.trinq_radio:
            got = await self.node.try_recv(int(seconds * 1000))
            return None if got is None else (got.group, got.data)
        with trio.move_on_after(seconds):
            msg = await self.sock.recv_message()
            return msg.group, msg.data
        return None

    async def recv(self) -> tuple[str | None, bytes]:
        if self.trinq_radio:
            got = await self.node.recv()
            return got.group, got.data
        msg = await self.sock.recv_message()
        return msg.group, msg.data

    async def probe(self, group: str) -> None:
        """Send to ``group`` until the DISH receives one."""
        while True:
            await self.send(b"probe", group)
            first = await self.try_recv(PROBE_S)
            if first is not None:
                assert first == (group, b"probe")
                return

    async def until(self, marker: bytes) -> list[tuple[str | None, bytes]]:
        """What the DISH receives up to and including ``marker``, probes left out."""
        got: list[tuple[str | None, bytes]] = []
        while True:
            group, data = await self.recv()
            if data != b"probe":
                got.append((group, data))
            if data == marker:
                return got


@asynccontextmanager
async def udp_pair(ctx: trinq.Context, trinq_is: str, kind: str) -> AsyncIterator[_Pair]:
    """The DISH binds (udp: only a DISH binds), the RADIO connects to it."""
    host = host_for(kind)
    if trinq_is == "DISH":
        dish = ctx.socket(trinq.DISH)
        ep = await dish.bind(f"udp://{host}:0")
        async with node_peer("RADIO", "connect", ep) as node:
            yield _Pair(dish, node, trinq_is)
    else:
        ep = f"udp://{host}:{free_udp_port()}"  # libzmq does not resolve port 0 here
        async with node_peer("DISH", "bind", ep) as node:
            radio = ctx.socket(trinq.RADIO)
            radio.connect(ep)
            yield _Pair(radio, node, trinq_is)


@kinds
@directions
async def test_radio_dish_over_udp(ctx: trinq.Context, trinq_is: str, kind: str) -> None:
    """The DISH gets exactly its joined groups' messages, in order; after a leave no
    more of that group."""
    with trio.fail_after(TIMEOUT_S):
        async with udp_pair(ctx, trinq_is, kind) as pair:
            await pair.join("news")
            await pair.join("weather")
            await pair.probe("weather")
            await pair.send_many(
                [
                    ("sports", b"s1"),
                    ("news", b"n1"),
                    ("weather", b"w1"),
                    ("sports", b"s2"),
                    ("weatherman", b"prefix is not a match"),
                    ("news", b"n2"),
                    ("", b"the empty group"),
                    ("weather", b"marker 1"),
                ]
            )
            assert await pair.until(b"marker 1") == [
                ("news", b"n1"),
                ("weather", b"w1"),
                ("news", b"n2"),
                ("weather", b"marker 1"),
            ]
            await pair.leave("news")
            await pair.send_many([("news", b"n3"), ("weather", b"w2"), ("weather", b"marker 2")])
            assert await pair.until(b"marker 2") == [("weather", b"w2"), ("weather", b"marker 2")]


@kinds
@directions
async def test_long_groups_and_bodies(ctx: trinq.Context, trinq_is: str, kind: str) -> None:
    """Long groups and bodies up to 8000 bytes (libzmq receives at most 8192 bytes per
    datagram). A trinq DISH takes a 255-byte group; a libzmq 4.3.5 DISH only up to 127
    bytes: it reads the length octet as a signed char and aborts on 128..255
    (``udp_engine.cpp``, fixed after 4.3.5), whoever sends it. One at a time: a burst
    of large datagrams may overflow the receiving socket's buffer (UDP drops then)."""
    long_group = "g" * (255 if trinq_is == "DISH" else 127)
    bodies = [bytes([i % 256]) * (i * 397 % 8001) for i in range(40)]
    with trio.fail_after(TIMEOUT_S):
        async with udp_pair(ctx, trinq_is, kind) as pair:
            await pair.join(long_group)
            await pair.probe(long_group)
            for body in bodies:
                await pair.send(body, long_group)
                group, data = await pair.recv()
                while data == b"probe":  # (a probe still on its way)
                    group, data = await pair.recv()
                assert (group, data) == (long_group, body)


async def test_node_radio_to_trinq_dish_on_wildcard(ctx: trinq.Context) -> None:
    """A trinq DISH bound to ``udp://*:PORT`` gets a node RADIO's unicast datagrams."""
    with trio.fail_after(TIMEOUT_S):
        dish = ctx.socket(trinq.DISH)
        ep = await dish.bind("udp://*:0")
        port = ep.rpartition(":")[2]
        async with node_peer("RADIO", "connect", f"udp://127.0.0.1:{port}") as node:
            pair = _Pair(dish, node, "DISH")
            await pair.join("g")
            await pair.probe("g")
            await node.send_many([b"%d" % i for i in range(50)], group="g")
            assert [(await pair.recv())[1] for _ in range(50)] == [b"%d" % i for i in range(50)]


async def test_node_dish_refuses_connect_and_radio_refuses_bind() -> None:
    """libzmq's own rule, which trinq follows: udp is RADIO-connect / DISH-bind only
    (ENOCOMPATPROTO otherwise)."""
    with trio.fail_after(TIMEOUT_S):
        port = free_udp_port()
        for kind, mode in (("DISH", "connect"), ("RADIO", "bind")):
            with pytest.raises(Exception, match=r"FAILED|ENOCOMPATPROTO|not compatible"):
                async with node_peer(kind, mode, f"udp://127.0.0.1:{port}"):
                    pass
