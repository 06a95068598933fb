"""RFC 48/RADIO-DISH spec tests, over every transport in ``trinq.testing.TRANSPORTS``.

Each test's docstring quotes the clause of shared/specs/48-radio-dish.md (or RFC 37's
"The Radio-Dish Pattern") it checks. A DISH's joins reach the RADIO asynchronously, so
tests wait for delivery by sending until a first message arrives (RADIO drops what
nobody joined: that is the semantics), then check exact filtering with marker
messages sent after it.
"""

from __future__ import annotations

import pytest
import trio
from groups import joined

import trinq
from trinq.testing import TRANSPORTS, endpoint, wait_for_event

pytestmark = pytest.mark.parametrize("transport", TRANSPORTS)

E = trinq.Event


async def pair(
    ctx: trinq.Context, transport: str, tmp_path: object, dish_binds: bool = True
) -> tuple[trinq.Socket, trinq.Socket]:
    radio, dish = ctx.socket(trinq.RADIO), ctx.socket(trinq.DISH)
    if dish_binds:
        radio.connect(await dish.bind(endpoint(transport, tmp_path)))
    else:
        dish.connect(await radio.bind(endpoint(transport, tmp_path)))
    return radio, dish


@pytest.mark.parametrize("dish_binds", [True, False])
async def test_dish_receives_only_joined_groups(ctx, transport, tmp_path, dish_binds):
    """DISH: "SHALL deliver to the application only messages whose group it has
    joined"; RADIO: "SHALL send a message to the peers that joined its group"."""
    with trio.fail_after(10):
        radio, dish = await pair(ctx, transport, tmp_path, dish_binds)
        dish.join("weather")
        await joined(radio, dish, "weather")
        for i in range(10):
            await radio.send(b"news %d" % i, group="news")
            await radio.send(b"weather %d" % i, group="weather")
        await radio.send(b"end", group="weather")
        got = []
        while (msg := await dish.recv_message()).data != b"end":
            got.append(msg)
        assert [m.data for m in got] == [b"weather %d" % i for i in range(10)]
        assert {m.group for m in got} == {"weather"}
        assert all(m.frames == (m.data,) and m.routing_id is None for m in got)


async def test_join_before_connect_is_replayed(ctx, transport, tmp_path):
    """DISH: joins made before a peer connects are sent when it does (RFC 37: "SHALL
    send ... JOIN ... for each group" on a new connection)."""
    with trio.fail_after(10):
        radio, dish = ctx.socket(trinq.RADIO), ctx.socket(trinq.DISH)
        dish.join("a")
        dish.join("b")
        radio.connect(await dish.bind(endpoint(transport, tmp_path)))
        await joined(radio, dish, "a")
        await radio.send(b"to b", group="b")
        msg = await dish.recv_message()
        assert (msg.data, msg.group) == (b"to b", "b")


async def test_leave_stops_delivery(ctx, transport, tmp_path):
    """DISH: after leave(), that group's messages are no longer delivered (those
    already queued are dropped, as libzmq's dish_t::xrecv does)."""
    with trio.fail_after(10):
        radio, dish = await pair(ctx, transport, tmp_path)
        dish.join("a")
        dish.join("b")
        await joined(radio, dish, "a")
        await joined(radio, dish, "b")
        await radio.send(b"queued a", group="a")
        dish.leave("a")
        for _ in range(5):
            await radio.send(b"later a", group="a")
        await radio.send(b"b", group="b")
        msg = await dish.recv_message()
        assert (msg.data, msg.group) == (b"b", "b")


async def test_radio_fans_out_to_every_member(ctx, transport, tmp_path):
    """RADIO: a message goes to every peer that joined its group, and only those."""
    with trio.fail_after(10):
        radio = ctx.socket(trinq.RADIO)
        ep = await radio.bind(endpoint(transport, tmp_path))
        dishes = [ctx.socket(trinq.DISH) for _ in range(3)]
        for i, d in enumerate(dishes):
            d.connect(ep)
            d.join("all")
            d.join(f"only {i}")
        for i, d in enumerate(dishes):
            # (joins arrive in order: once the second works, so does the first)
            await joined(radio, d, f"only {i}")
        for i in range(3):
            await radio.send(b"for %d" % i, group=f"only {i}")
        await radio.send(b"everyone", group="all")
        for i, d in enumerate(dishes):
            assert await d.recv() == b"for %d" % i
            assert await d.recv() == b"everyone"


async def test_radio_drops_for_a_full_peer(ctx, transport, tmp_path):
    """RADIO: "SHALL silently drop the message" for a peer whose queue is full; sends
    never block."""
    with trio.fail_after(10):
        radio = ctx.socket(trinq.RADIO, sndhwm=10)
        dish = ctx.socket(trinq.DISH, rcvhwm=10)
        radio.connect(await dish.bind(endpoint(transport, tmp_path)))
        dish.join("g")
        await joined(radio, dish, "g")
        for i in range(20_000):
            await radio.send(b"%d" % i, trinq.DONTWAIT, group="g")
        assert radio.events & trinq.POLLOUT
        got = []
        while True:
            try:
                got.append(int(await dish.recv(trinq.DONTWAIT)))
            except trinq.Again:
                if await dish.poll(100) == 0:
                    break
        assert 0 < len(got) < 20_000
        assert got == sorted(got)  # what arrives, arrives in order


async def test_group_rules(ctx, transport, tmp_path):
    """Groups are at most 255 bytes (RFC 48); joining twice or leaving a group not
    joined is EINVAL (libzmq); RADIO and DISH refuse each other's operations."""
    with trio.fail_after(10):
        radio, dish = ctx.socket(trinq.RADIO), ctx.socket(trinq.DISH)
        dish.join("x" * 255)
        with pytest.raises(trinq.ZMQError) as info:
            dish.join("y" * 256)
        assert info.value.errno == trinq.EINVAL
        with pytest.raises(trinq.ZMQError) as info:
            dish.join("é" * 128)  # 256 bytes in UTF-8
        assert info.value.errno == trinq.EINVAL
        with pytest.raises(trinq.ZMQError) as info:
            dish.join("x" * 255)
        assert info.value.errno == trinq.EINVAL
        with pytest.raises(trinq.ZMQError) as info:
            dish.leave("never")
        assert info.value.errno == trinq.EINVAL
        with pytest.raises(trinq.ZMQError) as info:
            await radio.send(b"x", group="y" * 256)
        assert info.value.errno == trinq.EINVAL
        with pytest.raises(trinq.ZMQError) as info:
            await dish.send(b"x")
        assert info.value.errno == trinq.ENOTSUP
        with pytest.raises(trinq.ZMQError) as info:
            radio.join("g")
        assert info.value.errno == trinq.ENOTSUP
        with pytest.raises(trinq.ZMQError) as info:
            await radio.send_multipart([b"a", b"b"])
        assert info.value.errno == trinq.EINVAL
        with pytest.raises(trinq.ZMQError) as info:
            await radio.send(b"x", routing_id=1)
        assert info.value.errno == trinq.EINVAL
        with pytest.raises(TypeError):
            dish.join(5)  # type: ignore[arg-type]


async def test_empty_group_is_a_group(ctx, transport, tmp_path):
    """A RADIO send without a group goes to the empty group, as in libzmq."""
    with trio.fail_after(10):
        radio, dish = await pair(ctx, transport, tmp_path)
        dish.join("")
        await joined(radio, dish, "")
        await radio.send(b"no group")
        msg = await dish.recv_message()
        assert (msg.data, msg.group) == (b"no group", "")


async def test_dish_rejoins_after_reconnect(ctx, transport, tmp_path):
    """DISH replays its joins on a reconnect; the RADIO forgets a departed peer's."""
    with trio.fail_after(15):
        dish = ctx.socket(trinq.DISH, reconnect_ivl=20)
        dish.join("g")
        radio = ctx.socket(trinq.RADIO)
        ep = await radio.bind(endpoint(transport, tmp_path))
        dish.connect(ep)
        await joined(radio, dish, "g")
        await radio.aclose()
        radio = ctx.socket(trinq.RADIO)
        await radio.bind(ep)
        await joined(radio, dish, "g")


async def test_incompatible_peer_is_refused(ctx, transport, tmp_path):
    """RADIO talks only to DISH: a SUB is refused with a monitor event."""
    with trio.fail_after(10):
        radio = ctx.socket(trinq.RADIO)
        mon = radio.monitor()
        ep = await radio.bind(endpoint(transport, tmp_path))
        sub = ctx.socket(trinq.SUB)
        sub.connect(ep)
        await wait_for_event(mon, E.HANDSHAKE_FAILED_PROTOCOL)
