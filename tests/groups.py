"""RADIO/DISH test helper: wait until a DISH's join has reached the RADIO.

A join travels asynchronously and a RADIO drops what nobody joined, so the only way to
know is to send until one arrives (tests/spec/test_spec_radiodish.py, tests/test_udp.py).
"""

from __future__ import annotations

import trinq


async def joined(radio: trinq.Socket, dish: trinq.Socket, group: str) -> None:
    """Send to ``group`` until ``dish`` receives one, then drain those probes (a marker
    tells where they end)."""
    while True:
        await radio.send(b"probe", group=group)
        try:
            msg = await dish.recv_message(trinq.DONTWAIT)
        except trinq.Again:
            await dish.poll(10)
            continue
        assert msg.data == b"probe"
        break
    await radio.send(b"marker", group=group)
    while (await dish.recv()) != b"marker":
        pass
