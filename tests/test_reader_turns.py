"""The reader yields after each read's worth while its pipe holds messages not yet taken.

Against a peer that keeps the kernel full, a reader that only yielded when it had to
wait (for the kernel or for room under RCVHWM) would read and decode until the pipe
held RCVHWM messages before the application took any: 64 MiB of 64 KiB messages
buffered, and the heap growing and shrinking by that much (docs/design.md,
"A turn per read's worth"). It lets the receiver run once it has read
``READER_LEAD`` octets since it last yielded, so the queue stays near one read.

The peer is a plain socket written from a thread, so the kernel is refilled while the
trio thread decodes.
"""

from __future__ import annotations

import socket
import threading

import trio
from rawpeer import greeting, message, ready

import trinq

BODY = b"q" * 4096
COUNT = 3000  # three times RCVHWM; a 256 KiB read holds 64 of them


def _blast(port: int, payload: bytes, done: threading.Event) -> None:
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(greeting() + ready("PUSH"))
        got = b""
        while len(got) < 66 or len(got) < 66 + got[65]:  # trinq's greeting and READY
            chunk = s.recv(4096)
            if not chunk:
                return
            got += chunk
        s.sendall(payload)
        done.wait(30)  # (closing with unread input would reset the stream)


async def test_the_queue_stays_near_one_read_against_a_fast_peer() -> None:
    with trio.fail_after(30):
        async with trinq.Context() as ctx:
            pull = ctx.socket(trinq.PULL)
            assert pull.rcvhwm == 1000
            ep = await pull.bind("tcp://127.0.0.1:0")
            port = int(ep.rsplit(":", 1)[1])
            done = threading.Event()
            thread = threading.Thread(
                target=_blast, args=(port, message(BODY) * COUNT, done), daemon=True
            )
            thread.start()
            try:
                most = 0
                for _ in range(COUNT):
                    assert await pull.recv() == BODY
                    (pipe,) = pull.statistics().pipes
                    most = max(most, pipe.inbound_queued)
            finally:
                done.set()
            # Without the turn per read this reached RCVHWM (999 after the first recv).
            assert 0 < most <= 300, most
            pull.close(linger=0)
        await trio.to_thread.run_sync(thread.join, 10)
