"""Helpers for testing code that uses trinq (and for trinq's own tests).

* :data:`TRANSPORTS` and :func:`endpoint` give a bindable endpoint per transport
  (127.0.0.1 with an ephemeral port; ipc paths inside a directory you own).
* :func:`wait_for_event` waits on a socket monitor instead of sleeping.
"""

from __future__ import annotations

import os

import trio

from .._monitor import Event, Monitor, MonitorEvent

__all__ = ["TRANSPORTS", "endpoint", "wait_for_event"]

#: The stream transports every pattern test should run over.
TRANSPORTS = ("tcp", "ipc")

_counter = 0


def endpoint(transport: str, directory: str | os.PathLike[str]) -> str:
    """A fresh endpoint to ``bind`` for ``transport`` ("tcp" or "ipc").

    tcp gets ``tcp://127.0.0.1:*`` (bind returns the port); ipc gets a new socket
    path inside ``directory`` (use pytest's ``tmp_path``).
    """
    global _counter
    if transport == "tcp":
        return "tcp://127.0.0.1:*"
    if transport == "ipc":
        _counter += 1
        return f"ipc://{os.fspath(directory)}/s{_counter}.ipc"
    raise ValueError(f"unknown transport {transport!r}")


async def wait_for_event(
    monitor: Monitor, event: Event, count: int = 1, *, timeout: float = 10
) -> list[MonitorEvent]:
    """Receive from ``monitor`` until ``count`` events of kind ``event`` arrived.

    Returns every event received meanwhile. Raises :class:`trio.TooSlowError`
    after ``timeout`` seconds.
    """
    seen: list[MonitorEvent] = []
    n = 0
    with trio.fail_after(timeout):
        while n < count:
            ev = await monitor.receive()
            seen.append(ev)
            if ev.event == event:
                n += 1
    return seen
