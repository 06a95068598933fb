"""The reader's read size (trinq._loan.next_read_size): RECEIVE_SIZE, BUSY_RECEIVE_SIZE while the
reads come back full, and back once a read is not even half full.

Asking the kernel for more than one read's worth costs nothing when it has more; when
it has little, a request above malloc's mmap threshold costs a mmap, mremap and munmap
(docs/design.md, "Larger reads for a busy stream"), so only a full read makes the next
one larger. The sizes asked are recorded by wrapping ``trinq._engine.recv_or_none``.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio
from rawpeer import RawPeer, message, wait_until

import trinq
import trinq._engine as engine
from trinq._loan import BUSY_RECEIVE_SIZE, RECEIVE_SIZE


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """(size asked, octets got) of every read a reader makes from now on."""
    calls: list[tuple[int, int]] = []
    real = engine.recv_or_none

    def spy(sock: Any, size: int) -> Any:
        data = real(sock, size)
        if data is not None:
            calls.append((size, len(data)))
        return data

    monkeypatch.setattr(engine, "recv_or_none", spy)
    return calls


async def test_reads_grow_while_full_and_shrink_back(asked: list[tuple[int, int]]) -> None:
    with trio.fail_after(20):
        async with trinq.Context() as ctx:
            pull = ctx.socket(trinq.PULL, rcvhwm=0)
            ep = await pull.bind("tcp://127.0.0.1:*")
            peer = await RawPeer.connect_tcp(ep)
            await peer.handshake("PUSH")
            body = b"m" * 4000
            burst = message(body) * 600  # about 2.4 MB in the kernel before a read
            count = 600
            assert BUSY_RECEIVE_SIZE > RECEIVE_SIZE
            await peer.send(burst)  # (the reader reads while send_all waits for room)
            got = 0
            while got < count:
                assert await pull.recv() == body
                got += 1
            await peer.send(message(b"small"))
            assert await pull.recv() == b"small"
            await peer.send(message(b"after"))
            assert await pull.recv() == b"after"
            await wait_until(lambda: len(asked) >= 3)
            sizes = [size for size, _ in asked]
            # a full read of RECEIVE_SIZE made the next read larger ...
            full = [i for i, (size, n) in enumerate(asked) if n == size == RECEIVE_SIZE]
            assert full, asked
            assert sizes[full[0] + 1] == BUSY_RECEIVE_SIZE, asked
            # ... and the small messages' reads are back at RECEIVE_SIZE
            assert sizes[-1] == RECEIVE_SIZE, asked
            assert all(size in (RECEIVE_SIZE, BUSY_RECEIVE_SIZE) for size in sizes), asked
            await peer.aclose()


async def test_an_idle_stream_reads_at_receive_size(asked: list[tuple[int, int]]) -> None:
    """A stream whose reads are never full never asks for more."""
    with trio.fail_after(20):
        async with trinq.Context() as ctx:
            pull = ctx.socket(trinq.PULL)
            push = ctx.socket(trinq.PUSH)
            push.connect(await pull.bind("tcp://127.0.0.1:*"))
            for i in range(50):
                await push.send(b"%d" % i)
                assert await pull.recv() == b"%d" % i
            assert asked and {size for size, _ in asked} == {RECEIVE_SIZE}, asked


async def test_a_lending_receiver_reads_larger_while_full_too() -> None:
    """The receiver that reads a lent connection itself (trinq._loan) sizes its reads
    as the reader does."""
    from test_lending import lent_pair, loan_of

    with trio.fail_after(20):
        async with trinq.Context() as ctx:
            a, b = await lent_pair(ctx, "tcp://127.0.0.1:*", rcvhwm=0)
            loan = loan_of(a)
            assert loan.read_size == RECEIVE_SIZE
            body = b"m" * 4000
            seen = set()
            async with trio.open_nursery() as nursery:

                async def burst() -> None:
                    for _ in range(600):
                        await b.send(body)

                nursery.start_soon(burst)
                for _ in range(600):
                    assert await a.recv() == body
                    seen.add(loan.read_size)
            assert BUSY_RECEIVE_SIZE in seen, seen
            for i in range(5):  # small messages: back to RECEIVE_SIZE
                await b.send(b"%d" % i)
                assert await a.recv() == b"%d" % i
            assert loan.read_size == RECEIVE_SIZE
            assert loan.calls > 0
