"""Helpers for testing code that uses trinq (and for trinq's own tests).

* :data:`TRANSPORTS` and :func:`endpoint` give a bindable endpoint per transport
  (127.0.0.1 with an ephemeral port; ipc paths inside a directory you own).
* :func:`wait_for_event` waits on a socket monitor instead of sleeping.
"""

from __future__ import annotations

import os as _os
import uuid as _uuid

import trio as _trio

from .._monitor import Event as _Event
from .._monitor import Monitor as _Monitor
from .._monitor import MonitorEvent as _MonitorEvent
from ._fault import FaultProxy as FaultProxy

__all__ = ["TRANSPORTS", "WIRE_TRANSPORTS", "FaultProxy", "endpoint", "wait_for_event"]

#: The transports every pattern test runs over.
TRANSPORTS = ("tcp", "ipc", "inproc", "ws")
#: The ones that carry ZMTP on a wire (tests of the wire, the engine, or a libzmq peer).
WIRE_TRANSPORTS = ("tcp", "ipc")

_counter = 0


def endpoint(transport: str, directory: str | _os.PathLike[str]) -> str:
    """A fresh endpoint to ``bind`` for ``transport`` ("tcp", "ipc", "inproc", "ws").

    tcp gets ``tcp://127.0.0.1:*`` (bind returns the port); ipc gets a new socket
    path inside ``directory`` (use pytest's ``tmp_path``); inproc a fresh name; ws
    ``ws://127.0.0.1:0/<fresh path>`` (bind returns the port).
    """
    global _counter
    if transport == "tcp":
        return "tcp://127.0.0.1:*"
    if transport == "ws":
        return f"ws://127.0.0.1:0/test-{_uuid.uuid4().hex[:12]}"
    if transport == "ipc":
        _counter += 1
        return f"ipc://{_os.fspath(directory)}/s{_counter}.ipc"
    if transport == "inproc":
        return f"inproc://test-{_uuid.uuid4().hex[:12]}"
    raise ValueError(f"unknown transport {transport!r}")


async def wait_for_event(
    monitor: _Monitor, event: _Event, count: int = 1, *, timeout: float = 10
) -> list[_MonitorEvent]:
    """Receive from ``monitor`` until ``count`` events of kind ``event`` arrived.

    Returns every event received meanwhile. Raises :class:`trio.TooSlowError`
    after ``timeout`` seconds.
    """
    seen: list[_MonitorEvent] = []
    n = 0
    with _trio.fail_after(timeout):
        while n < count:
            ev = await monitor.receive()
            seen.append(ev)
            if ev.event == event:
                n += 1
    return seen
