"""udp:// specifics: RADIO connects and DISH binds, unicast and multicast on loopback,
libzmq's datagram layout, the DISH's own group filtering, oversize and malformed
datagrams, bind errors and socket types, unbind/close releasing the port, a cancelled
bind, the multicast options and the monitor events.

UDP is lossy by nature, though not on loopback for a few hundred datagrams. Still, no
test relies on timing: a probe is sent until the first one arrives (a DISH's joins are
local, but the RADIO opens its socket in a task), then markers check the filtering.
"""

from __future__ import annotations

import errno
import random
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import trio
import trio.testing
from groups import joined

import trinq
from trinq._options import Options
from trinq._transports._udp import MAX_DATAGRAM, UdpBinding, UdpDialing, parse_udp_address
from trinq.testing import wait_for_event

E = trinq.Event
TIMEOUT_S = 10


def free_udp_port() -> int:
    """A udp port the kernel just handed out on 127.0.0.1 (then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def group_address() -> str:
    """A fresh administratively scoped multicast group (no cross-talk between runs)."""
    return f"239.255.{random.randrange(1, 255)}.{random.randrange(1, 255)}"


def port_of(endpoint: str) -> int:
    return int(endpoint.rpartition(":")[2])


def binding(dish: trinq.Socket, endpoint: str) -> UdpBinding:
    b = dish._bound[endpoint].binding
    assert isinstance(b, UdpBinding)
    return b


def dialing(radio: trinq.Socket, endpoint: str) -> UdpDialing:
    (d,) = radio._connected[endpoint]
    assert isinstance(d, UdpDialing)
    return d


async def drain_until(dish: trinq.Socket, last: bytes) -> list[trinq.Message]:
    got = []
    while (msg := await dish.recv_message()).data != last:
        got.append(msg)
    return got


_default_multicast: bool | None = None


def default_route_multicast_works() -> bool:
    """Whether multicast without an interface loops back here (a host needs a
    multicast-capable default route for that; loopback with IFACE 127.0.0.1 always
    works)."""
    global _default_multicast
    if _default_multicast is None:
        group = group_address()
        r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            r.bind((group, 0))
            mreq = socket.inet_aton(group) + socket.inet_aton("0.0.0.0")
            r.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
            r.settimeout(1)
            s.sendto(b"x", (group, r.getsockname()[1]))
            _default_multicast = r.recv(10) == b"x"
        except OSError:
            _default_multicast = False
        finally:
            r.close()
            s.close()
    return _default_multicast


# --- delivery ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind",
    ["unicast", "unicast-wildcard", "wildcard-ipv6", "multicast-lo", "multicast-default", "ipv6"],
)
async def test_dish_receives_only_joined_groups(ctx, kind):
    if kind == "multicast-default" and not default_route_multicast_works():
        pytest.skip("this host has no multicast-capable default route")
    if kind in ("ipv6", "wildcard-ipv6") and not socket.has_ipv6:
        pytest.skip("no IPv6")
    with trio.fail_after(TIMEOUT_S):
        radio = ctx.socket(trinq.RADIO)
        dish = ctx.socket(trinq.DISH, ipv6=kind == "wildcard-ipv6")  # "::", IPv4 too
        bind_ep = {
            "unicast": "udp://127.0.0.1:0",
            "unicast-wildcard": "udp://*:0",
            "wildcard-ipv6": "udp://*:0",
            "multicast-lo": f"udp://127.0.0.1;{group_address()}:0",
            "multicast-default": f"udp://{group_address()}:0",
            "ipv6": "udp://[::1]:0",
        }[kind]
        ep = await dish.bind(bind_ep)
        assert port_of(ep) != 0
        assert ep == bind_ep.rpartition(":")[0] + f":{port_of(ep)}"
        assert dish.last_endpoint == ep
        connect_ep = ep.replace("*", "127.0.0.1")
        radio.connect(connect_ep)
        dish.join("weather")
        await joined(radio, dish, "weather")
        for i in range(20):
            await radio.send(b"news %d" % i, group="news")
            await radio.send(b"weather %d" % i, group="weather")
        await radio.send(b"end", group="weather")
        got = await drain_until(dish, b"end")
        assert [m.data for m in got] == [b"weather %d" % i for i in range(20)]
        assert {m.group for m in got} == {"weather"}
        assert all(m.frames == (m.data,) and m.routing_id is None for m in got)
        stats = radio.statistics()
        assert [p.connected for p in stats.pipes] == [True]
        assert stats.messages_out >= 43  # every datagram went out, joined or not


async def test_leave_stops_delivery_and_join_resumes_it(ctx):
    with trio.fail_after(TIMEOUT_S):
        radio, dish = ctx.socket(trinq.RADIO), ctx.socket(trinq.DISH)
        radio.connect(await dish.bind(f"udp://127.0.0.1;{group_address()}:0"))
        dish.join("a")
        dish.join("b")
        await joined(radio, dish, "a")
        dish.leave("a")
        for i in range(5):
            await radio.send(b"a %d" % i, group="a")
            await radio.send(b"b %d" % i, group="b")
        await radio.send(b"end", group="b")
        assert [m.data for m in await drain_until(dish, b"end")] == [b"b %d" % i for i in range(5)]
        dish.join("a")
        await radio.send(b"a again", group="a")
        assert await dish.recv() == b"a again"


async def test_empty_group_and_groupless_send(ctx):
    """A RADIO send without a group goes to the empty group (libzmq's layout: a
    zero group length)."""
    with trio.fail_after(TIMEOUT_S):
        radio, dish = ctx.socket(trinq.RADIO), ctx.socket(trinq.DISH)
        radio.connect(await dish.bind("udp://127.0.0.1:0"))
        dish.join("")
        await joined(radio, dish, "")
        await radio.send(b"no group")
        msg = await dish.recv_message()
        assert (msg.data, msg.group) == (b"no group", "")


async def test_several_radios_to_one_dish(ctx):
    with trio.fail_after(TIMEOUT_S):
        dish = ctx.socket(trinq.DISH)
        ep = await dish.bind("udp://127.0.0.1:0")
        dish.join("g")
        radios = [ctx.socket(trinq.RADIO) for _ in range(3)]
        for radio in radios:
            radio.connect(ep)
            await joined(radio, dish, "g")
        # (60 datagrams in a burst: well within a default socket receive buffer)
        for i in range(20):
            for k, radio in enumerate(radios):
                await radio.send(b"%d:%d" % (k, i), group="g")
        for k, radio in enumerate(radios):
            await radio.send(b"end %d" % k, group="g")
        per_radio: dict[int, list[int]] = {0: [], 1: [], 2: []}
        ends = 0
        while ends < 3:
            data = await dish.recv()
            if data.startswith(b"end"):
                ends += 1
                continue
            k, i = map(int, data.split(b":"))
            per_radio[k].append(i)
        # each RADIO's datagrams arrive in order (loopback), all of them
        assert per_radio == {k: list(range(20)) for k in range(3)}


async def test_two_dishes_share_a_multicast_group(ctx):
    """Several DISHes on one host listen to one group and port (SO_REUSEADDR)."""
    with trio.fail_after(TIMEOUT_S):
        d1, d2 = ctx.socket(trinq.DISH), ctx.socket(trinq.DISH)
        ep = await d1.bind(f"udp://127.0.0.1;{group_address()}:0")
        assert await d2.bind(ep) == ep
        radio = ctx.socket(trinq.RADIO)
        radio.connect(ep)
        d1.join("g")
        d2.join("g")
        await joined(radio, d1, "g")
        await radio.send(b"both", group="g")
        assert await d1.recv() == b"both"
        while (await d2.recv()) != b"both":
            pass  # (d2 also got the probes)


async def test_one_radio_to_several_dishes(ctx):
    with trio.fail_after(TIMEOUT_S):
        radio = ctx.socket(trinq.RADIO)
        dishes = [ctx.socket(trinq.DISH) for _ in range(3)]
        for k, dish in enumerate(dishes):
            radio.connect(await dish.bind("udp://127.0.0.1:0"))
            dish.join(f"g{k}")
        for k, dish in enumerate(dishes):
            await joined(radio, dish, f"g{k}")
        for k in range(3):
            await radio.send(b"to %d" % k, group=f"g{k}")
        for k, dish in enumerate(dishes):
            assert await dish.recv() == b"to %d" % k


async def test_host_name(ctx):
    with trio.fail_after(TIMEOUT_S):
        radio, dish = ctx.socket(trinq.RADIO), ctx.socket(trinq.DISH)
        ep = await dish.bind("udp://localhost:0")
        assert ep.startswith("udp://localhost:")
        radio.connect(ep)
        dish.join("g")
        await joined(radio, dish, "g")


async def test_connect_before_bind(ctx):
    """Datagrams to nobody are lost (no error); once the DISH binds they arrive."""
    with trio.fail_after(TIMEOUT_S):
        port = free_udp_port()
        radio = ctx.socket(trinq.RADIO)
        radio.connect(f"udp://127.0.0.1:{port}")
        for _ in range(10):
            await radio.send(b"lost", group="g")
        dish = ctx.socket(trinq.DISH)
        await dish.bind(f"udp://127.0.0.1:{port}")
        dish.join("g")
        await joined(radio, dish, "g")


async def test_queued_before_the_socket_opens_is_sent_at_close(ctx):
    """Messages queued before the RADIO's task opened its socket are written within
    linger, as a tcp pipe's are."""
    with trio.fail_after(TIMEOUT_S):
        dish = ctx.socket(trinq.DISH)
        ep = await dish.bind("udp://127.0.0.1:0")
        dish.join("g")
        radio = ctx.socket(trinq.RADIO)
        radio.connect(ep)
        for i in range(10):
            await radio.send(b"%d" % i, group="g")  # (no checkpoint: all queued)
        await radio.aclose()
        assert [await dish.recv() for _ in range(10)] == [b"%d" % i for i in range(10)]


async def test_dish_rcvhwm_pushes_back_on_the_kernel(ctx):
    """At RCVHWM the reader stops reading (datagrams wait in the kernel), as libzmq."""
    with trio.fail_after(TIMEOUT_S):
        dish = ctx.socket(trinq.DISH, rcvhwm=2)
        ep = await dish.bind("udp://127.0.0.1:0")
        dish.join("g")
        radio = ctx.socket(trinq.RADIO)
        radio.connect(ep)
        await joined(radio, dish, "g")
        for i in range(30):
            await radio.send(b"%d" % i, group="g")
        await trio.testing.wait_all_tasks_blocked()
        assert dish.statistics().pipes[0].inbound_queued == 2
        assert [await dish.recv() for _ in range(30)] == [b"%d" % i for i in range(30)]


# --- the wire -------------------------------------------------------------------------


async def test_datagram_layout(ctx):
    """libzmq's udp_engine layout: group length (1 octet), group, body."""
    with trio.fail_after(TIMEOUT_S):
        raw = trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with raw:
            await raw.bind(("127.0.0.1", 0))
            radio = ctx.socket(trinq.RADIO)
            radio.connect(f"udp://127.0.0.1:{raw.getsockname()[1]}")
            await radio.send(b"body", group="grp")
            await radio.send(b"", group="g" * 255)
            await radio.send(b"plain")
            assert (await raw.recvfrom(100))[0] == b"\x03grpbody"
            assert (await raw.recvfrom(300))[0] == b"\xff" + b"g" * 255
            assert (await raw.recvfrom(100))[0] == b"\x00plain"


async def test_malformed_datagrams_are_dropped_and_reported(ctx):
    with trio.fail_after(TIMEOUT_S):
        dish = ctx.socket(trinq.DISH)
        mon = dish.monitor(E.ACCEPT_FAILED)
        ep = await dish.bind("udp://127.0.0.1:0")
        dish.join("g")
        raw = trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with raw:
            await raw.bind(("127.0.0.1", 0))
            raw_port = raw.getsockname()[1]
            dest = ("127.0.0.1", port_of(ep))
            for bad in (b"", b"\x05abc", b"\x01", b"\xff" + b"x" * 200):
                await raw.sendto(bad, dest)
            await raw.sendto(b"\x01gfrom raw", dest)
            assert await dish.recv() == b"from raw"
            events = await wait_for_event(mon, E.ACCEPT_FAILED, 4)
        assert [ev.value for ev in events] == [errno.EPROTO] * 4
        assert all(ev.endpoint == ep for ev in events)
        assert events[0].peer_address == f"127.0.0.1:{raw_port}"
        assert "empty datagram" in (events[0].reason or "")
        assert "group of 5 bytes in a datagram of 4" in (events[1].reason or "")
        assert binding(dish, ep).malformed == 4
        # a RADIO's datagrams still arrive
        radio = ctx.socket(trinq.RADIO)
        radio.connect(ep)
        await joined(radio, dish, "g")


async def test_oversize_is_refused_at_send(ctx):
    with trio.fail_after(TIMEOUT_S):
        dish = ctx.socket(trinq.DISH)
        ep = await dish.bind("udp://127.0.0.1:0")
        dish.join("g")
        radio = ctx.socket(trinq.RADIO)
        radio.connect(ep)
        # refused while the socket is not open yet (queued path) ...
        with pytest.raises(trinq.ZMQError) as info:
            await radio.send(b"x" * MAX_DATAGRAM, group="g")
        assert info.value.errno == trinq.EMSGSIZE
        await joined(radio, dish, "g")
        # ... and once it is (direct path); the largest one fits
        largest = b"y" * (MAX_DATAGRAM - 2)
        with pytest.raises(trinq.ZMQError) as info:
            await radio.send(largest + b"y", group="g")
        assert info.value.errno == trinq.EMSGSIZE
        assert "65507" in str(info.value)
        await radio.send(largest, group="g")
        assert await dish.recv() == largest
        await radio.send(b"after", group="g")
        assert await dish.recv() == b"after"


async def test_oversize_without_udp_pipe_is_not_refused(ctx):
    with trio.fail_after(TIMEOUT_S):
        radio = ctx.socket(trinq.RADIO)
        await radio.send(b"x" * 100_000, group="g")  # nobody: dropped, as ever


async def test_send_failure_is_reported_and_dropped(ctx):
    """A datagram the kernel refuses (broadcast without SO_BROADCAST: EACCES) is
    dropped; the first failure of a run is a CONNECT_DELAYED event."""
    with trio.fail_after(TIMEOUT_S):
        radio = ctx.socket(trinq.RADIO)
        mon = radio.monitor(E.CONNECTED | E.CONNECT_DELAYED)
        ep = "udp://255.255.255.255:9"
        radio.connect(ep)
        await wait_for_event(mon, E.CONNECTED)
        for _ in range(3):
            await radio.send(b"x", group="g")
        (ev,) = await wait_for_event(mon, E.CONNECT_DELAYED)
        assert ev.value == errno.EACCES and ev.endpoint == ep
        assert dialing(radio, ep).pipe.send_errors == 3
        assert radio.statistics().messages_out == 0


# --- addresses, errors, types ------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "",
        "127.0.0.1",
        "127.0.0.1:",
        "127.0.0.1:abc",
        "127.0.0.1:70000",
        "127.0.0.1:-1",
        ":5556",
        "::1:5556",
        "[::1]5556",
        ";239.1.2.3:5556",
        "127.0.0.1;127.0.0.2:5556",  # an interface only with a multicast group
        "239.1.2.4;239.1.2.3:5556",  # the interface cannot be multicast
        "127.0.0.1;[ff02::1]:5556",  # IP versions differ
        "127.0.0.1;*:5556",
    ],
)
@pytest.mark.parametrize("side", ["bind", "connect"])
async def test_bad_addresses_are_einval(ctx, address, side):
    with trio.fail_after(TIMEOUT_S):
        with pytest.raises(trinq.ZMQError) as info:
            if side == "bind":
                await ctx.socket(trinq.DISH).bind(f"udp://{address}")
            else:
                ctx.socket(trinq.RADIO).connect(f"udp://{address}")
        assert info.value.errno == trinq.EINVAL, info.value


@pytest.mark.parametrize("address", ["*:5556", "127.0.0.1:0", "127.0.0.1:*"])
async def test_connect_needs_a_host_and_port(ctx, address):
    with pytest.raises(trinq.ZMQError) as info:
        ctx.socket(trinq.RADIO).connect(f"udp://{address}")
    assert info.value.errno == trinq.EINVAL


def test_parse() -> None:
    a = parse_udp_address("lo;239.1.2.3:5556", bind=True)
    assert (a.iface, a.host, a.port, a.if_index) == (
        "lo",
        "239.1.2.3",
        5556,
        socket.if_nametoindex("lo"),
    )
    assert a.endpoint(5556) == "udp://lo;239.1.2.3:5556"
    b = parse_udp_address("[::1]:0", bind=True)
    assert (b.host, b.port, b.endpoint(41000)) == ("::1", 0, "udp://[::1]:41000")
    assert parse_udp_address("*;239.1.2.3:1", bind=False).iface == "*"


async def test_unknown_interface_is_enodev(ctx):
    with pytest.raises(trinq.ZMQError) as info:
        await ctx.socket(trinq.DISH).bind("udp://nosuchif0;239.1.2.3:5556")
    assert info.value.errno == errno.ENODEV
    with pytest.raises(trinq.ZMQError) as info:
        ctx.socket(trinq.RADIO).connect("udp://nosuchif0;239.1.2.3:5556")
    assert info.value.errno == errno.ENODEV


async def test_interface_by_name(ctx):
    with trio.fail_after(TIMEOUT_S):
        radio, dish = ctx.socket(trinq.RADIO), ctx.socket(trinq.DISH)
        ep = await dish.bind(f"udp://lo;{group_address()}:0")
        assert ep.startswith("udp://lo;239.255.")
        radio.connect(ep)
        dish.join("g")
        await joined(radio, dish, "g")


async def test_address_not_here_is_eaddrnotavail(ctx):
    with pytest.raises(trinq.ZMQError) as info:
        await ctx.socket(trinq.DISH).bind("udp://203.0.113.7:5556")  # TEST-NET-3
    assert info.value.errno == errno.EADDRNOTAVAIL


async def test_eaddrinuse(ctx):
    with trio.fail_after(TIMEOUT_S):
        d1 = ctx.socket(trinq.DISH)
        ep = await d1.bind("udp://127.0.0.1:0")
        for dish in (d1, ctx.socket(trinq.DISH)):  # the same socket, and another one
            with pytest.raises(trinq.ZMQError) as info:
                await dish.bind(ep)
            assert info.value.errno == errno.EADDRINUSE
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
            with pytest.raises(OSError):  # nobody else gets it either
                other.bind(("127.0.0.1", port_of(ep)))


@pytest.mark.parametrize(
    "socket_type",
    [
        trinq.RADIO,
        trinq.PUB,
        trinq.SUB,
        trinq.PUSH,
        trinq.PULL,
        trinq.REQ,
        trinq.ROUTER,
        trinq.PAIR,
        trinq.CLIENT,
        trinq.SERVER,
        trinq.SCATTER,
        trinq.GATHER,
    ],
    ids=lambda t: t.name,
)
async def test_only_dish_binds(ctx, socket_type):
    with pytest.raises(trinq.ZMQError) as info:
        await ctx.socket(socket_type).bind("udp://127.0.0.1:0")
    assert info.value.errno == trinq.ENOCOMPATPROTO


@pytest.mark.parametrize(
    "socket_type",
    [trinq.DISH, trinq.PUB, trinq.SUB, trinq.PUSH, trinq.DEALER, trinq.CLIENT, trinq.SCATTER],
    ids=lambda t: t.name,
)
async def test_only_radio_connects(ctx, socket_type):
    sock = ctx.socket(socket_type)
    with pytest.raises(trinq.ZMQError) as info:
        sock.connect("udp://127.0.0.1:5556")
    assert info.value.errno == trinq.ENOCOMPATPROTO
    assert sock.statistics().pipes == ()


async def test_radio_over_tcp_and_udp_at_once(ctx):
    """A RADIO may mix transports: its tcp DISH gets only its groups, the udp one all
    (and filters)."""
    with trio.fail_after(TIMEOUT_S):
        radio = ctx.socket(trinq.RADIO)
        tcp_dish, udp_dish = ctx.socket(trinq.DISH), ctx.socket(trinq.DISH)
        radio.connect(await tcp_dish.bind("tcp://127.0.0.1:0"))
        radio.connect(await udp_dish.bind("udp://127.0.0.1:0"))
        tcp_dish.join("t")
        udp_dish.join("u")
        await joined(radio, tcp_dish, "t")
        await joined(radio, udp_dish, "u")
        await radio.send(b"for u", group="u")
        await radio.send(b"for t", group="t")
        assert await udp_dish.recv() == b"for u"
        assert await tcp_dish.recv() == b"for t"


# --- lifecycle --------------------------------------------------------------------------


@pytest.mark.parametrize("multicast", [False, True], ids=["unicast", "multicast"])
@pytest.mark.parametrize("how", ["unbind", "aclose"])
async def test_unbind_and_close_release_the_port(ctx, multicast, how):
    with trio.fail_after(TIMEOUT_S):
        dish = ctx.socket(trinq.DISH)
        mon = dish.monitor(E.LISTENING | E.CLOSED)
        host = f"127.0.0.1;{group_address()}" if multicast else "127.0.0.1"
        ep = await dish.bind(f"udp://{host}:0")
        b = binding(dish, ep)
        assert b.sock is not None
        if how == "unbind":
            await dish.unbind(ep)
        else:
            await dish.aclose()
        assert b.sock is None
        events = await wait_for_event(mon, E.CLOSED)
        assert [(ev.event, ev.endpoint) for ev in events] == [(E.LISTENING, ep), (E.CLOSED, ep)]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
            other.bind(("127.0.0.1", port_of(ep)))  # free (no SO_REUSEADDR here)
        again = ctx.socket(trinq.DISH)
        assert await again.bind(ep) == ep


async def test_unbound_dish_gets_nothing_more(ctx):
    with trio.fail_after(TIMEOUT_S):
        dish = ctx.socket(trinq.DISH)
        ep1 = await dish.bind("udp://127.0.0.1:0")
        ep2 = await dish.bind("udp://127.0.0.1:0")
        dish.join("g")
        r1, r2 = ctx.socket(trinq.RADIO), ctx.socket(trinq.RADIO)
        r1.connect(ep1)
        r2.connect(ep2)
        await joined(r1, dish, "g")
        await dish.unbind(ep1)
        await r1.send(b"from r1", group="g")  # nobody listens at ep1 now
        await joined(r2, dish, "g")
        await r2.send(b"end", group="g")
        assert await drain_until(dish, b"end") == []


async def test_radio_disconnect(ctx):
    with trio.fail_after(TIMEOUT_S):
        dish = ctx.socket(trinq.DISH)
        ep = await dish.bind("udp://127.0.0.1:0")
        dish.join("g")
        radio = ctx.socket(trinq.RADIO)
        radio.connect(ep)
        await joined(radio, dish, "g")
        d = dialing(radio, ep)
        radio.disconnect(ep)
        assert radio.statistics().pipes == ()
        await radio.send(b"to nobody", group="g")
        await trio.testing.wait_all_tasks_blocked()  # the writer task has ended
        assert d.ended and d.sock is None
        radio.connect(ep)
        await joined(radio, dish, "g")


class _CancelAfter(trio.abc.Instrument):
    """Cancel ``scope`` after ``task`` has run ``steps`` times."""

    def __init__(self, task: trio.lowlevel.Task, steps: int, scope: trio.CancelScope) -> None:
        self.task, self.steps, self.scope = task, steps, scope

    def after_task_step(self, task: trio.lowlevel.Task) -> None:
        if task is self.task:
            self.steps -= 1
            if self.steps == 0:
                self.scope.cancel()


@contextmanager
def cancel_after(steps: int) -> Iterator[trio.CancelScope]:
    with trio.CancelScope() as scope:
        inst = _CancelAfter(trio.lowlevel.current_task(), steps, scope)
        trio.lowlevel.add_instrument(inst)
        try:
            yield scope
        finally:
            trio.lowlevel.remove_instrument(inst)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "127.0.0.1;239.255.0.9"])
async def test_cancelled_bind_leaves_nothing_bound(ctx, host):
    """Cancelled at any of its checkpoints, bind() leaves the port free."""
    with trio.fail_after(TIMEOUT_S):
        dish = ctx.socket(trinq.DISH)
        await dish.bind("udp://127.0.0.1:0")  # the socket is running
        (first,) = dish.statistics().endpoints
        await dish.unbind(first)
        for steps in range(1, 50):
            ep = f"udp://{host}:{free_udp_port()}"
            result: Any = None
            with cancel_after(steps) as scope:
                result = await dish.bind(ep)
            if not scope.cancelled_caught:
                assert result == ep
                await dish.unbind(ep)
                break
            assert dish.statistics().endpoints == ()
            await trio.testing.wait_all_tasks_blocked()
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
                other.bind(("127.0.0.1", port_of(ep)))
        else:
            pytest.fail("bind was always cancelled")
        assert steps > 1


# --- options and events -----------------------------------------------------------------


def test_multicast_options() -> None:
    opts = Options()
    assert (opts.multicast_hops, opts.multicast_loop) == (1, True)
    for bad in (0, -1, 256):
        with pytest.raises(trinq.ZMQError):
            opts.set("multicast_hops", bad)
    assert opts.set(25, 8) == 8  # ZMQ_MULTICAST_HOPS
    assert opts.set(96, 0) is False  # ZMQ_MULTICAST_LOOP


async def test_multicast_options_reach_the_socket(ctx):
    with trio.fail_after(TIMEOUT_S):
        radio = ctx.socket(trinq.RADIO, multicast_hops=7, multicast_loop=False)
        mon = radio.monitor(E.CONNECTED)
        ep = f"udp://127.0.0.1;{group_address()}:5556"
        radio.connect(ep)
        await wait_for_event(mon, E.CONNECTED)
        sock = dialing(radio, ep).sock
        assert sock is not None
        assert sock.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL) == 7
        assert sock.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP) == 0
        assert (
            socket.inet_ntoa(sock.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, 4))
            == "127.0.0.1"
        )


async def test_multicast_loop_off_reaches_no_local_dish(ctx):
    """(Over the default route's interface: what is sent out of the loopback
    interface itself comes back whatever IP_MULTICAST_LOOP says.)"""
    if not default_route_multicast_works():
        pytest.skip("this host has no multicast-capable default route")
    with trio.fail_after(TIMEOUT_S):
        dish = ctx.socket(trinq.DISH)
        ep = await dish.bind(f"udp://{group_address()}:0")
        dish.join("g")
        quiet = ctx.socket(trinq.RADIO, multicast_loop=False)
        mon = quiet.monitor(E.CONNECTED)
        quiet.connect(ep)
        await wait_for_event(mon, E.CONNECTED)
        for i in range(20):
            await quiet.send(b"quiet %d" % i, group="g")
        loud = ctx.socket(trinq.RADIO)
        loud.connect(ep)
        await joined(loud, dish, "g")  # sent after quiet's: would have come after them
        assert quiet.statistics().messages_out == 20


async def test_monitor_events(ctx):
    with trio.fail_after(TIMEOUT_S):
        dish, radio = ctx.socket(trinq.DISH), ctx.socket(trinq.RADIO)
        dmon, rmon = dish.monitor(), radio.monitor()
        ep = await dish.bind("udp://127.0.0.1:0")
        radio.connect(ep)
        (ev,) = await wait_for_event(rmon, E.CONNECTED)
        assert ev.endpoint == ep and ev.value == 1
        await dish.unbind(ep)
        events = await wait_for_event(dmon, E.CLOSED)
        assert [e.event for e in events] == [E.LISTENING, E.CLOSED]
        radio.close()
        events = await wait_for_event(rmon, E.MONITOR_STOPPED)
        assert [e.event for e in events] == [E.MONITOR_STOPPED]  # nothing to disconnect


async def test_security_mechanism_is_refused(ctx):
    dish = ctx.socket(trinq.DISH)
    try:
        dish.plain_server = True
    except trinq.ZMQError:
        pytest.skip("PLAIN is not available in this build")
    with pytest.raises(trinq.ZMQError) as info:
        await dish.bind("udp://127.0.0.1:0")
    assert info.value.errno == trinq.ENOTSUP
