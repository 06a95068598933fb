"""Monitor event types and the Monitor buffer: emit/receive/filter/drop/close."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from trinq._monitor import Event, Monitor, MonitorEvent, ProtocolErrorCode


def ev(kind: Event, value: int = 0, endpoint: str = "tcp://127.0.0.1:5555") -> MonitorEvent:
    return MonitorEvent(kind, value, endpoint)


def test_event_values_match_pyzmq() -> None:
    zmq = pytest.importorskip("zmq")
    ours = dict(Event.__members__)
    for name, member in zmq.Event.__members__.items():
        if name.startswith("PROTOCOL_ERROR_"):
            assert ProtocolErrorCode[name.removeprefix("PROTOCOL_ERROR_")] == int(member)
        else:
            assert ours.pop(name) == int(member), name
    assert not ours, f"not in pyzmq: {sorted(ours)}"
    assert len(ProtocolErrorCode) == sum(
        1 for name in zmq.Event.__members__ if name.startswith("PROTOCOL_ERROR_")
    )


def test_event_all() -> None:
    assert Event.ALL == Event.ALL_V1 == 0xFFFF
    assert Event.PIPES_STATS not in Event.ALL
    assert Event.PIPES_STATS in Event.ALL_V2
    assert Event.ALL.name == "ALL"


def test_monitor_event_is_frozen_value() -> None:
    a = MonitorEvent(Event.CONNECTED, 3, "tcp://h:1", peer_address="10.0.0.1:5")
    assert a == MonitorEvent(Event.CONNECTED, 3, "tcp://h:1", None, "10.0.0.1:5")
    assert a.reason is None
    with pytest.raises(AttributeError):
        a.value = 4  # type: ignore[misc]


async def test_emit_then_receive_in_order() -> None:
    with trio.fail_after(5):
        mon = Monitor()
        events = [ev(Event.LISTENING), ev(Event.ACCEPTED, 1), ev(Event.HANDSHAKE_SUCCEEDED, 1)]
        for e in events:
            mon.emit(e)
        assert [await mon.receive() for _ in events] == events
        with pytest.raises(trio.WouldBlock):
            mon.receive_nowait()


async def test_receive_waits_for_emit() -> None:
    with trio.fail_after(5):
        mon = Monitor()
        got: list[MonitorEvent] = []

        async def reader() -> None:
            got.append(await mon.receive())

        async with trio.open_nursery() as nursery:
            nursery.start_soon(reader)
            await trio.testing.wait_all_tasks_blocked()
            mon.emit(ev(Event.CONNECTED))
        assert got == [ev(Event.CONNECTED)]


async def test_mask_filters() -> None:
    with trio.fail_after(5):
        mon = Monitor(Event.CONNECTED | Event.DISCONNECTED)
        assert mon.events == Event.CONNECTED | Event.DISCONNECTED
        for kind in (Event.LISTENING, Event.CONNECTED, Event.CLOSED, Event.DISCONNECTED):
            mon.emit(ev(kind))
        mon.close()
        assert [e.event async for e in mon] == [Event.CONNECTED, Event.DISCONNECTED]
        assert mon.dropped == 0


async def test_default_mask_excludes_pipes_stats() -> None:
    with trio.fail_after(5):
        mon = Monitor()
        mon.emit(ev(Event.PIPES_STATS))
        mon.emit(ev(Event.MONITOR_STOPPED))
        mon.close()
        assert [e.event async for e in mon] == [Event.MONITOR_STOPPED]
        v2 = Monitor(Event.ALL_V2)
        v2.emit(ev(Event.PIPES_STATS))
        assert (await v2.receive()).event == Event.PIPES_STATS


async def test_full_buffer_drops_and_counts() -> None:
    with trio.fail_after(5):
        mon = Monitor(capacity=2)
        for value in range(5):
            mon.emit(ev(Event.CONNECT_RETRIED, value))  # never blocks, never raises
        assert mon.dropped == 3
        assert (await mon.receive()).value == 0
        mon.emit(ev(Event.CONNECT_RETRIED, 99))  # room again
        mon.close()
        assert [e.value async for e in mon] == [1, 99]
        assert mon.dropped == 3


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Monitor(capacity=0)


async def test_close_keeps_pending_events_then_ends() -> None:
    with trio.fail_after(5):
        mon = Monitor()
        mon.emit(ev(Event.CLOSED))
        mon.emit(ev(Event.MONITOR_STOPPED))
        mon.close()
        mon.close()  # idempotent
        assert mon.closed
        mon.emit(ev(Event.CONNECTED))  # ignored after close, no error
        assert (await mon.receive()).event == Event.CLOSED
        assert (await mon.receive()).event == Event.MONITOR_STOPPED
        with pytest.raises(trio.EndOfChannel):
            await mon.receive()
        assert mon.dropped == 0


async def test_close_wakes_waiting_receiver() -> None:
    with trio.fail_after(5):
        mon = Monitor()
        async with trio.open_nursery() as nursery:

            async def reader() -> None:
                with pytest.raises(trio.EndOfChannel):
                    await mon.receive()

            nursery.start_soon(reader)
            await trio.testing.wait_all_tasks_blocked()
            mon.close()


async def test_async_for_ends_with_stop_iteration() -> None:
    with trio.fail_after(5):
        mon = Monitor()
        mon.emit(ev(Event.ACCEPTED, 7))
        mon.close()
        seen = [e async for e in mon]
        assert seen == [ev(Event.ACCEPTED, 7)]
        with pytest.raises(StopAsyncIteration):
            await mon.__anext__()


async def test_async_with_acloses() -> None:
    with trio.fail_after(5):
        async with Monitor() as mon:
            mon.emit(ev(Event.LISTENING))
            assert (await mon.receive()).event == Event.LISTENING
            mon.emit(ev(Event.CONNECTED))
        assert mon.closed
        mon.emit(ev(Event.CONNECTED))  # producer never sees an error
        with pytest.raises(trio.ClosedResourceError):
            await mon.receive()
        assert "closed" in repr(mon)


async def test_cancelled_receive_consumes_nothing() -> None:
    """Atomic with respect to cancellation: a cancelled receive() leaves no hole."""
    with trio.fail_after(5):
        mon = Monitor()
        with trio.CancelScope() as scope:
            async with trio.open_nursery() as nursery:

                async def reader() -> None:
                    await mon.receive()
                    pytest.fail("cancelled receive returned")

                nursery.start_soon(reader)
                await trio.testing.wait_all_tasks_blocked()
                scope.cancel()
        assert scope.cancelled_caught
        mon.emit(ev(Event.DISCONNECTED, 5))
        assert await mon.receive() == ev(Event.DISCONNECTED, 5)


async def test_cancelled_receive_with_pending_event_keeps_it() -> None:
    with trio.fail_after(5):
        mon = Monitor()
        mon.emit(ev(Event.CONNECTED))
        with trio.CancelScope() as scope:
            scope.cancel()
            await mon.receive()
        assert scope.cancelled_caught
        assert mon.receive_nowait() == ev(Event.CONNECTED)
