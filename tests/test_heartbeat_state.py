"""The sans-I/O heartbeat timers (trinq/_heartbeat.py; docs/interop.md §15).

Plain synchronous tests: time is whatever float the test passes, "traffic" is the
received-chunk counter the engine keeps. No trio, no sleeping.
"""

from __future__ import annotations

import math
import pathlib
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trinq import _heartbeat, zmtp
from trinq._heartbeat import (
    MAX_PING_TTL,
    MAX_PONG_CONTEXT,
    MAX_WS_PONG_PAYLOAD,
    NO_TRAFFIC,
    TTL_EXPIRED,
    HeartbeatAction,
    HeartbeatState,
    pong_context,
)

PING = HeartbeatAction.SEND_PING
TIMED_OUT = HeartbeatAction.TIMED_OUT


def drain(
    hb: HeartbeatState, now: float, traffic: int = 0, blocked: bool = False
) -> list[tuple[HeartbeatAction, str]]:
    """Everything due at *now*, as the engine's loop would collect it."""
    out: list[tuple[HeartbeatAction, str]] = []
    for _ in range(10):
        due = hb.poll(now, traffic, blocked)
        if due is None:
            return out
        out.append(due)
        if due[0] is TIMED_OUT:
            return out  # the engine drops the connection here
    raise AssertionError(f"poll() did not settle: {out}")


def pinging(ivl_ms: int = 1000, timeout_ms: int = -1, ttl_ms: int = 0) -> HeartbeatState:
    return HeartbeatState(ivl_ms=ivl_ms, timeout_ms=timeout_ms, ttl_ms=ttl_ms, now=0.0)


def test_ping_cadence_is_not_reset_by_traffic() -> None:
    hb = pinging(ivl_ms=1000, timeout_ms=10_000)
    assert hb.active
    assert hb.deadline() == 1.0
    assert drain(hb, 0.5, traffic=1) == []
    assert hb.deadline() == 1.0  # the traffic at 0.5 moved nothing
    assert drain(hb, 1.0, traffic=1) == [(PING, PING.value)]
    assert drain(hb, 1.7, traffic=9) == []
    assert drain(hb, 2.0, traffic=9) == [(PING, PING.value)]
    assert hb.deadline() == 3.0


def test_silent_peer_times_out_after_our_ping() -> None:
    hb = pinging(ivl_ms=1000, timeout_ms=500)
    assert drain(hb, 1.0) == [(PING, PING.value)]
    assert hb.deadline() == 1.5
    assert drain(hb, 1.4) == []
    assert drain(hb, 1.5) == [(TIMED_OUT, NO_TRAFFIC)]


def test_traffic_after_our_ping_disarms_the_timeout() -> None:
    hb = pinging(ivl_ms=1000, timeout_ms=500)
    assert drain(hb, 1.0, traffic=3) == [(PING, PING.value)]
    assert drain(hb, 1.5, traffic=4) == []
    assert hb.deadline() == 2.0  # only the next PING is left


def test_traffic_before_our_ping_does_not_count() -> None:
    hb = pinging(ivl_ms=1000, timeout_ms=500)
    assert drain(hb, 0.9, traffic=5) == []
    assert drain(hb, 1.0, traffic=5) == [(PING, PING.value)]
    assert drain(hb, 1.5, traffic=5) == [(TIMED_OUT, NO_TRAFFIC)]


def test_a_blocked_reader_counts_as_alive() -> None:
    hb = pinging(ivl_ms=1000, timeout_ms=500)
    assert drain(hb, 1.0) == [(PING, PING.value)]
    assert drain(hb, 1.5, blocked=True) == []  # expired, but the peer may be talking
    assert hb.deadline() == 2.0
    # blocked when a PING goes out: no timeout is armed (libzmq: input stopped)
    assert drain(hb, 2.0, blocked=True) == [(PING, PING.value)]
    assert hb.deadline() == 3.0
    assert drain(hb, 3.0) == [(PING, PING.value)]  # unblocked: this one arms it
    assert drain(hb, 3.5) == [(TIMED_OUT, NO_TRAFFIC)]


def test_a_blocked_reader_keeps_the_peer_ttl_from_firing() -> None:
    hb = pinging(ivl_ms=0)
    hb.ping_received(10, now=0.0, traffic=1)
    assert drain(hb, 1.0, traffic=1, blocked=True) == []
    assert not hb.active


@pytest.mark.parametrize(
    ("ttl_ms", "ttl_ds"),
    [(0, 0), (99, 0), (1500, 15), (65_500, 655), (65_599, 655), (65_600, 655), (6_553_599, 655)],
)
def test_ping_ttl_in_deciseconds_capped_at_655(ttl_ms: int, ttl_ds: int) -> None:
    assert pinging(ttl_ms=ttl_ms).ping_ttl == ttl_ds
    assert MAX_PING_TTL == 655


def test_peer_ttl_expires_without_traffic() -> None:
    hb = pinging(ivl_ms=0)
    assert not hb.active
    hb.ping_received(30, now=10.0, traffic=4)  # 3 s, counted with the PING's own chunk
    assert hb.active
    assert hb.deadline() == 13.0
    assert drain(hb, 12.9, traffic=4) == []
    assert drain(hb, 13.0, traffic=4) == [(TIMED_OUT, TTL_EXPIRED)]
    assert not hb.active  # the fired timer is disarmed


def test_peer_ttl_disarmed_by_traffic_after_the_ping() -> None:
    hb = pinging(ivl_ms=0)
    hb.ping_received(30, now=10.0, traffic=4)
    assert drain(hb, 13.0, traffic=5) == []
    assert not hb.active
    assert hb.deadline() == math.inf


def test_each_peer_ping_replaces_the_ttl() -> None:
    hb = pinging(ivl_ms=0)
    hb.ping_received(30, now=10.0, traffic=1)
    hb.ping_received(10, now=11.0, traffic=2)  # a shorter TTL moves the deadline earlier
    assert hb.deadline() == 12.0
    assert drain(hb, 12.0, traffic=2) == [(TIMED_OUT, TTL_EXPIRED)]


def test_peer_ping_with_ttl_zero_cancels_and_arms_nothing() -> None:
    hb = pinging(ivl_ms=0)
    hb.ping_received(0, now=0.0, traffic=1)
    assert not hb.active
    hb.ping_received(30, now=1.0, traffic=2)
    hb.ping_received(0, now=1.5, traffic=2)  # same chunk: still traffic after the first
    assert not hb.active


def test_peer_ttl_while_our_pings_run() -> None:
    hb = pinging(ivl_ms=1000, timeout_ms=3000)
    hb.ping_received(5, now=0.2, traffic=1)
    assert hb.deadline() == pytest.approx(0.7)  # the min of next PING (1.0) and TTL (0.7)
    assert drain(hb, 0.7, traffic=1) == [(TIMED_OUT, TTL_EXPIRED)]

    hb = pinging(ivl_ms=1000, timeout_ms=500)
    hb.ping_received(50, now=0.5, traffic=1)  # TTL until 5.5
    assert drain(hb, 1.0, traffic=1) == [(PING, PING.value)]  # nothing new since: armed
    assert hb.deadline() == 1.5  # our timeout comes first
    assert drain(hb, 1.5, traffic=1) == [(TIMED_OUT, NO_TRAFFIC)]
    assert hb.deadline() == 2.0  # the next PING; the TTL (5.5) is still armed too
    assert drain(hb, 5.5, traffic=1) == [(TIMED_OUT, TTL_EXPIRED)]


def test_traffic_disarms_both_timers() -> None:
    hb = pinging(ivl_ms=1000, timeout_ms=3000)
    assert drain(hb, 1.0, traffic=1) == [(PING, PING.value)]
    hb.ping_received(10, now=1.5, traffic=2)  # counts for our PING, arms a TTL
    assert hb.deadline() == 2.0
    assert drain(hb, 2.0, traffic=3) == [(PING, PING.value)]  # chunk 3: TTL disarmed
    assert hb.deadline() == 3.0
    assert drain(hb, 5.0, traffic=3) == [(TIMED_OUT, NO_TRAFFIC)]  # armed at 2.0


def test_no_interval_and_no_peer_ttl_is_inactive() -> None:
    hb = pinging(ivl_ms=0, timeout_ms=5000, ttl_ms=10_000)
    assert not hb.active
    assert hb.deadline() == math.inf
    assert drain(hb, 1e9) == []


def test_heartbeat_timeout_defaults_to_the_interval() -> None:
    hb = pinging(ivl_ms=2000, timeout_ms=-1)
    assert drain(hb, 2.0) == [(PING, PING.value)]
    assert hb.deadline() == 4.0
    # timeout and next PING due together: the timeout is reported first
    assert drain(hb, 4.0) == [(TIMED_OUT, NO_TRAFFIC)]


def test_heartbeat_timeout_zero_arms_nothing() -> None:
    """libzmq arms the timeout only when heartbeat_timeout > 0."""
    hb = pinging(ivl_ms=1000, timeout_ms=0)
    for t in (1.0, 2.0, 3.0):
        assert drain(hb, t) == [(PING, PING.value)]
        assert hb.deadline() == t + 1.0


def test_timeout_longer_than_interval_is_armed_once_until_traffic() -> None:
    # silent: later PINGs do not push the deadline armed by the first
    hb = pinging(ivl_ms=1000, timeout_ms=3000)
    for t in (1.0, 2.0, 3.0):
        assert drain(hb, t) == [(PING, PING.value)]
    assert drain(hb, 4.0) == [(TIMED_OUT, NO_TRAFFIC)]
    # traffic cancels it; the next PING arms a fresh one
    hb = pinging(ivl_ms=1000, timeout_ms=3000)
    assert drain(hb, 1.0, traffic=0) == [(PING, PING.value)]
    assert drain(hb, 2.0, traffic=1) == [(PING, PING.value)]  # armed again: until 5.0
    assert drain(hb, 3.0, traffic=1) == [(PING, PING.value)]
    assert drain(hb, 4.0, traffic=1) == [(PING, PING.value)]
    assert drain(hb, 5.0, traffic=1) == [(TIMED_OUT, NO_TRAFFIC)]


def test_late_poll_reports_everything_due() -> None:
    hb = pinging(ivl_ms=1000, timeout_ms=5000)
    hb.ping_received(10, now=0.0, traffic=1)
    # at 1.5 the TTL (1.0) has expired, but chunk 2 disarmed it; the PING is late
    assert drain(hb, 1.5, traffic=2) == [(PING, PING.value)]
    assert hb.deadline() == 2.5  # the cadence restarts from when it was sent


@pytest.mark.parametrize(
    ("context", "kept"),
    [
        (b"", b""),
        (b"LOL", b"LOL"),
        (bytes(range(58)), bytes(range(58))),
        (bytes(range(125)), bytes(range(125))),
        (bytes(range(200)), bytes(range(125))),
    ],
)
def test_pong_context_keeps_what_a_websocket_pong_echoes(context: bytes, kept: bytes) -> None:
    """An owed PONG keeps up to a WebSocket pong's 125 octets (a ws ping's whole
    payload); a ZMTP PONG command cuts that to 16 when it is encoded."""
    assert MAX_WS_PONG_PAYLOAD == 125 and MAX_PONG_CONTEXT == 16
    assert pong_context(context) == kept
    pong = zmtp.pong_body(pong_context(context))
    assert pong == b"\x04PONG" + context[:MAX_PONG_CONTEXT]


steps_st = st.lists(
    st.tuples(
        st.floats(0, 3, allow_nan=False),  # time passing
        st.one_of(st.none(), st.integers(0, 700)),  # None: poll, else a peer PING's TTL
        st.booleans(),  # reading blocked at that poll
    ),
    max_size=40,
)


@given(
    ivl_ms=st.integers(0, 3000),
    timeout_ms=st.integers(-1, 3000),
    ttl_ms=st.integers(0, 100_000),
    steps=steps_st,
)
def test_never_times_out_while_traffic_keeps_coming(
    ivl_ms: int, timeout_ms: int, ttl_ms: int, steps: list[tuple[float, int | None, bool]]
) -> None:
    hb = HeartbeatState(ivl_ms=ivl_ms, timeout_ms=timeout_ms, ttl_ms=ttl_ms, now=0.0)
    now, traffic = 0.0, 0
    for dt, peer_ttl, blocked in steps:
        now += dt
        traffic += 1  # a chunk arrived since the last event (a PING's own chunk too)
        if peer_ttl is None:
            due = drain(hb, now, traffic, blocked)
            assert all(action is PING for action, _ in due), due
            assert hb.deadline() > now  # nothing overdue is left behind
        else:
            hb.ping_received(peer_ttl, now, traffic)
        assert hb.active == (hb.deadline() < math.inf)
        assert hb.active or ivl_ms == 0


@given(ivl_ms=st.integers(1, 3000), timeout_ms=st.integers(1, 10_000))
def test_silent_peer_times_out_at_first_ping_plus_timeout(ivl_ms: int, timeout_ms: int) -> None:
    hb = HeartbeatState(ivl_ms=ivl_ms, timeout_ms=timeout_ms, ttl_ms=0, now=0.0)
    for _ in range(timeout_ms // ivl_ms + 3):
        now = hb.deadline()
        due = drain(hb, now)
        if due and due[-1][0] is TIMED_OUT:
            assert due[-1] == (TIMED_OUT, NO_TRAFFIC)
            assert now == pytest.approx((ivl_ms + timeout_ms) / 1000)
            return
    raise AssertionError("never timed out")


def test_module_does_no_io() -> None:
    path = pathlib.Path(_heartbeat.__file__)
    source = path.read_text()
    assert "import trio" not in source
    assert "from trinq" not in source
    assert "from ." not in source
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('hb', {str(path)!r})\n"
        "mod = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(mod)\n"
        "print(','.join(m for m in ('trio', 'socket', 'trinq') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30
    )
    assert out.stdout.strip() == ""
