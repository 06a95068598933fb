"""trinq._channels.fast_send_nowait behaves as MemorySendChannel.send_nowait."""

from __future__ import annotations

import math

import pytest
import trio
import trio.testing

from trinq._channels import _layout_known, fast_send_nowait


def test_the_fast_form_is_in_use_with_this_trio() -> None:
    send, _ = trio.open_memory_channel[int](1)
    assert _layout_known(send)
    assert fast_send_nowait(send) != send.send_nowait


@pytest.mark.parametrize("cap", [0, 1, 3, math.inf])
def test_queues_up_to_capacity_then_would_block(cap: float) -> None:
    send, receive = trio.open_memory_channel[int](cap)
    put = fast_send_nowait(send)
    n = 5 if cap == math.inf else int(cap)
    for i in range(n):
        put(i)
    assert send.statistics().current_buffer_used == n
    if cap != math.inf:
        with pytest.raises(trio.WouldBlock):
            put(99)
    assert [receive.receive_nowait() for _ in range(n)] == list(range(n))


def test_closed_and_broken_channels_raise_as_trio_does() -> None:
    send, receive = trio.open_memory_channel[int](10)
    put = fast_send_nowait(send)
    put(1)
    receive.close()
    with pytest.raises(trio.BrokenResourceError):
        put(2)
    send2, _receive2 = trio.open_memory_channel[int](10)
    put2 = fast_send_nowait(send2)
    send2.close()
    with pytest.raises(trio.ClosedResourceError):
        put2(3)


async def test_a_waiting_receiver_gets_the_value_directly() -> None:
    send, receive = trio.open_memory_channel[int](0)
    put = fast_send_nowait(send)
    got: list[int] = []
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:

            async def receiver() -> None:
                got.append(await receive.receive())

            nursery.start_soon(receiver)
            await trio.testing.wait_all_tasks_blocked()
            put(7)  # capacity 0: only possible because a receiver waits
    assert got == [7]
