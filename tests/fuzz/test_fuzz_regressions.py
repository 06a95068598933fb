"""Regression tests for inputs the fuzz targets found breaking a documented contract
(docs/reliability.md, "Found by fuzzing"): a str with a lone surrogate for a bytes
option, bytes that are not UTF-8 for a str option, a tcp host the idna codec refuses.
"""

from __future__ import annotations

import errno

import pytest
import trio

import trinq
from trinq._options import OPTIONS, Options
from trinq.testing import wait_for_event


@pytest.mark.parametrize("name", ["routing_id", "subscribe", "curve_serverkey"])
def test_bytes_option_with_a_lone_surrogate_is_einval(name: str) -> None:
    with pytest.raises(trinq.ZMQError) as info:
        Options().set(name, "\ud800" * 40)
    assert info.value.errno == errno.EINVAL


#: writable str options (the wss ones, as they are added)
STR_OPTIONS = sorted(n for n, spec in OPTIONS.items() if spec.kind is str and spec.writable)


@pytest.mark.parametrize("name", STR_OPTIONS or [pytest.param("-", marks=pytest.mark.skip)])
def test_str_option_with_bytes_that_are_not_utf8_is_einval(name: str) -> None:
    with pytest.raises(trinq.ZMQError) as info:
        Options().set(name, b"\x80")
    assert info.value.errno == errno.EINVAL


async def test_tcp_host_with_a_too_long_label_is_refused_or_retried() -> None:
    with trio.fail_after(10):
        async with trinq.Context() as ctx:
            sock = ctx.socket(trinq.PUSH, linger=0, reconnect_ivl=-1)
            mon = sock.monitor()
            try:
                sock.connect("tcp://" + "a" * 64 + ":5555")
            except trinq.ZMQError as exc:
                assert exc.errno == errno.EINVAL
                return
            await wait_for_event(mon, trinq.Event.CONNECT_DELAYED)
