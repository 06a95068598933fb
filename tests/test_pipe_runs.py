"""Inbound runs (issue 13): the reader queues many messages as one channel item.

A connection's pipe queues inbound messages in runs (lists): the reader appends to the
newest run until the socket side takes it, and the ZMTP decoder appends runs of short
single-frame messages to it without a call per message (``Pipe.open_run``). RCVHWM
still counts messages: a run being taken counts whole until its last message is
taken, so never more than RCVHWM messages are queued. These tests drive a pipe by
hand, the decoder's lane, and then whole sockets: order, HWM, fairness between peers,
termination.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import trio

import trinq
from trinq._pipe import (
    BODY_MAX,
    MAX_RUN_MESSAGES,
    RUN_MESSAGES,
    Pipe,
    low_water_mark,
    run_length,
)
from trinq.zmtp import encode_message
from trinq.zmtp._frames import FrameDecoder


def drain(pipe: Pipe) -> list[Any]:
    out: list[Any] = []
    while True:
        try:
            out.append(pipe.recv_nowait())
        except (trio.WouldBlock, trio.EndOfChannel):
            return out


def test_puts_share_one_run_until_it_is_taken() -> None:
    pipe = Pipe(1000, 1000, batched=True)
    for i in range(10):
        pipe.put((b"%d" % i,))
    assert pipe._in_recv.statistics().current_buffer_used == 1  # one run
    assert pipe.inbound_queued() == 10
    assert pipe.recv_nowait() == (b"0",)
    assert pipe.inbound_queued() == 9
    pipe.put((b"late",))  # the run being taken is closed: a new one starts
    assert pipe._in_recv.statistics().current_buffer_used == 1
    assert drain(pipe) == [(b"%d" % i,) for i in range(1, 10)] + [(b"late",)]
    assert pipe.inbound_queued() == 0


@pytest.mark.parametrize("hwm", [1, 2, 7])
def test_rcvhwm_counts_messages_and_a_run_counts_until_its_last_is_taken(hwm: int) -> None:
    pipe = Pipe(1000, hwm, batched=True)
    for i in range(hwm):
        pipe.put((b"%d" % i,))
    with pytest.raises(trio.WouldBlock):
        pipe.put((b"over",))
    assert pipe.in_room() == 0
    if hwm > 1:
        pipe.recv_nowait()  # the run is being taken: it still counts whole
        with pytest.raises(trio.WouldBlock):
            pipe.put((b"over",))
    drain(pipe)
    assert pipe.in_room() == hwm and pipe.inbound_queued() == 0
    pipe.put((b"again",))
    assert drain(pipe) == [(b"again",)]


def test_open_run_takes_appends_directly_and_empty_runs_are_skipped() -> None:
    pipe = Pipe(1000, 1000, batched=True)
    run = pipe.open_run()
    pipe.close_run(0)  # nothing appended: an empty run sits in the channel
    pipe.put((b"a",))  # ... and a put appends to that same open run
    run2 = pipe.open_run()
    assert run2 is run
    run2.extend([(b"b",), (b"c",)])
    pipe.close_run(2)
    assert pipe.inbound_queued() == 3
    assert drain(pipe) == [(b"a",), (b"b",), (b"c",)]
    pipe.open_run()
    pipe.close_run(0)
    with pytest.raises(trio.WouldBlock):  # an empty run is no message
        pipe.recv_nowait()


async def test_put_wait_waits_for_the_run_to_be_taken_and_ends_with_the_pipe() -> None:
    pipe = Pipe(1000, 3, batched=True)
    for i in range(3):
        pipe.put((b"%d" % i,))
    done = trio.Event()

    async def reader() -> None:
        await pipe.put_wait((b"3",))
        done.set()

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(reader)
            await trio.testing.wait_all_tasks_blocked()
            assert not done.is_set()
            assert pipe.recv_nowait() == (b"0",)
            assert pipe.recv_nowait() == (b"1",)
            await trio.testing.wait_all_tasks_blocked()
            assert not done.is_set()  # the run still counts whole
            assert pipe.recv_nowait() == (b"2",)
            await done.wait()
        assert drain(pipe) == [(b"3",)]

        # A reader waiting for room when the pipe ends gets ClosedResourceError.
        for i in range(3):
            pipe.put((b"%d" % i,))
        failed: list[BaseException] = []

        async def stuck() -> None:
            try:
                await pipe.put_wait((b"never",))
            except trio.ClosedResourceError as exc:
                failed.append(exc)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(stuck)
            await trio.testing.wait_all_tasks_blocked()
            pipe.terminate()
        assert len(failed) == 1
        # What arrived before the end is still received, then EndOfChannel.
        assert drain(pipe) == [(b"%d" % i,) for i in range(3)]
        with pytest.raises(trio.EndOfChannel):
            pipe.recv_nowait()


async def test_put_wait_cancelled_leaves_nothing_queued() -> None:
    pipe = Pipe(1000, 1, batched=True)
    pipe.put((b"0",))
    with trio.move_on_after(0.01) as scope:
        await pipe.put_wait((b"1",))
    assert scope.cancelled_caught
    assert drain(pipe) == [(b"0",)]


def test_terminated_pipe_refuses_puts_after_draining_state() -> None:
    pipe = Pipe(1000, 1000, batched=True)
    pipe.put((b"a",))
    pipe.terminate()
    with pytest.raises(trio.ClosedResourceError):
        pipe.put((b"b",))
    with pytest.raises(trio.ClosedResourceError):
        pipe.open_run()
    assert drain(pipe) == [(b"a",)]


# --- the decoder's lane -------------------------------------------------------------


def wire(messages: list[list[bytes]]) -> bytes:
    return b"".join(encode_message(m) for m in messages)


def _decode_all(chunks: list[bytes], pipe: Pipe, dec: FrameDecoder | None = None) -> list[Any]:
    """Feed ``chunks`` to a decoder whose lane fills ``pipe``, draining the pipe
    whenever it stalls; return every message and command, in order."""
    if dec is None:
        dec = FrameDecoder()
    got: list[Any] = []
    for chunk in chunks:
        data: bytes | None = chunk
        while True:
            try:
                cmd = dec.read_messages(pipe.put, None, data, pipe)
            except trio.WouldBlock:
                stalled = dec.stalled
                dec.stalled = None
                got.extend(drain(pipe))
                pipe.put(stalled)
                data = None
                continue
            data = None
            got.extend(drain(pipe))
            if cmd is None:
                break
            got.append(("command", cmd))
    return got


@pytest.mark.parametrize("room", [0, 1, 3, 50, 1000])
def test_decoder_lane_fills_the_room_and_append_gets_the_rest_in_order(room: int) -> None:
    """Short single-frame messages go into the open run up to the room; multipart and
    large ones, and everything after the room is gone, go to ``append`` (the pipe's
    put), which refuses at the HWM; the refused one is kept as ``stalled``."""
    msgs = [[b"s%d" % i] for i in range(20)] + [[b"a", b"b"], [b"x" * 300]]
    msgs += [[b"t%d" % i] for i in range(20)]
    pipe = Pipe(1000, room, batched=True) if room else Pipe(1000, 1, batched=True)
    if not room:
        pipe.put((b"filler",))  # no room at all
    dec = FrameDecoder()
    expected = [tuple(m) for m in msgs]
    got = _decode_all([wire(msgs)], pipe, dec)
    assert not [g for g in got if g[0] == "command"]  # (no command in this stream)
    if not room:
        assert got[0] == (b"filler",)
        got = got[1:]
    assert got == expected
    assert dec.decoded == len(msgs)


async def test_decoder_lane_with_the_hwm_end_to_end() -> None:
    """A PULL with a small RCVHWM and a peer that sends much more: the pipe never holds
    more than RCVHWM messages while the reader is stopped, and every message arrives
    once, in order."""
    with trio.fail_after(20):
        async with trinq.Context() as ctx:
            pull = ctx.socket(trinq.PULL, rcvhwm=10)
            push = ctx.socket(trinq.PUSH)
            push.connect(await pull.bind("tcp://127.0.0.1:*"))
            n = 3000
            for i in range(n):
                await push.send(b"%d" % i)
            assert await pull.recv() == b"0"
            (pipe,) = pull._core.pipes
            while pipe.inbound_queued() < 9:
                await trio.sleep(0)  # the reader decodes what the kernel holds
            await trio.testing.wait_all_tasks_blocked()
            assert pipe.inbound_queued() <= 10
            got = [b"0"] + [await pull.recv() for _ in range(n - 1)]
            assert got == [b"%d" % i for i in range(n)]


async def test_fair_queueing_between_peers_is_per_message_with_runs() -> None:
    """Two peers with deep backlogs: the PULL alternates between them message by
    message, although each peer's messages arrive in runs."""
    with trio.fail_after(20):
        async with trinq.Context() as ctx:
            pull = ctx.socket(trinq.PULL)
            ep = await pull.bind("tcp://127.0.0.1:*")
            a, b = ctx.socket(trinq.PUSH), ctx.socket(trinq.PUSH)
            a.connect(ep)
            b.connect(ep)
            while len(pull._core.pipes) < 2:
                await trio.sleep(0.001)
            for i in range(200):
                await a.send(b"a%d" % i)
                await b.send(b"b%d" % i)
            pipes = list(pull._core.pipes)
            while sum(p.inbound_queued() for p in pipes) < 400:
                await trio.sleep(0.001)
            got = [await pull.recv() for _ in range(400)]
            assert sorted(got) == sorted(
                [b"a%d" % i for i in range(200)] + [b"b%d" % i for i in range(200)]
            )
            # strictly alternating peers
            assert all(got[i][:1] != got[i + 1][:1] for i in range(399))
            assert [m for m in got if m[:1] == b"a"] == [b"a%d" % i for i in range(200)]


def test_a_put_starts_a_run_at_run_messages() -> None:
    """A run counts whole until its last message is taken, so runs are bounded (the
    HWM's grain): puts (long messages, multipart, other mechanisms) start a new run
    at RUN_MESSAGES, whatever the RCVHWM."""
    pipe = Pipe(1000, 0, batched=True)  # (no RCVHWM)
    n = 2 * RUN_MESSAGES + 5
    for i in range(n):
        pipe.put((b"%d" % i,))
    assert pipe._in_recv.statistics().current_buffer_used == 3
    assert drain(pipe) == [(b"%d" % i,) for i in range(n)]


@pytest.mark.parametrize(
    ("hwm", "length"), [(0, MAX_RUN_MESSAGES), (1000, 250), (100, RUN_MESSAGES)]
)
def test_the_lanes_runs_hold_at_most_run_length_messages(hwm: int, length: int) -> None:
    """The decoder's lane of short messages appends up to run_length(RCVHWM) to one
    run: half the gap between the marks, and long runs without RCVHWM, where there is
    no grain to keep."""
    assert run_length(hwm or math.inf) == length
    pipe = Pipe(1000, hwm, batched=True)
    room = min(length, hwm) if hwm else length
    assert pipe.in_room() == room
    run = pipe.open_run()
    run.extend(b"%d" % i for i in range(room))
    pipe.close_run(room)
    left = hwm - room if hwm else math.inf
    assert pipe.in_room() == min(length, left)  # the next run is a new one
    if left:
        assert pipe.open_run() is not run
        pipe.close_run(0)
    assert pipe._in_recv.statistics().current_buffer_used == (2 if left else 1)
    assert drain(pipe) == [(b"%d" % i,) for i in range(room)]


@pytest.mark.parametrize(
    ("hwm", "lwm"),
    [(1, 1), (2, 1), (3, 2), (1000, 500), (2048, 1024), (2049, 1025), (5000, 3976)],
)
def test_low_water_mark_is_libzmqs(hwm: int, lwm: int) -> None:
    """Half the HWM, or MAX_WM_DELTA (1024) below a large one: pipe_t::compute_lwm."""
    assert low_water_mark(hwm) == lwm
    assert low_water_mark(math.inf) == math.inf


@pytest.mark.parametrize(
    ("hwm", "size"), [(1, 16), (3, 16), (256, 16), (1000, 16), (1000, 1023), (1000, 1024)]
)
async def test_a_reader_stopped_at_rcvhwm_goes_on_at_the_low_water_mark(
    hwm: int, size: int
) -> None:
    """As libzmq's pipe: a reader stopped by a full RCVHWM is not woken run by run
    while the application takes messages (a refill of one run each time), but once
    the queue is down to the low-water mark; then it refills in one go. A reader
    stopped by a long message (BODY_MAX octets or more) goes on at the first
    finished run: refills of hundreds of long messages made the heap swing."""
    pipe = Pipe(1000, hwm, batched=True)
    for i in range(hwm):
        pipe.put((b"%d" % i,))
    short = size < BODY_MAX
    lwm = low_water_mark(hwm) if short else hwm - 1
    woke = trio.Event()

    async def reader() -> None:
        await pipe.put_wait((b"n" * size,))
        woke.set()

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(reader)
            await trio.testing.wait_all_tasks_blocked()
            ends = [*range(RUN_MESSAGES, hwm, RUN_MESSAGES), hwm]  # where each run ends
            taken = 0
            while True:
                pipe.recv_nowait()
                taken += 1
                await trio.testing.wait_all_tasks_blocked()
                # (a run counts whole until its last message is taken)
                queued = hwm - max([end for end in ends if end <= taken], default=0)
                if queued <= lwm:
                    break
                assert not woke.is_set(), (taken, queued)
            await woke.wait()  # at the low-water mark, at the end of a run
            assert taken in ends
            assert pipe.inbound_queued() == hwm - taken + 1
    got = drain(pipe)
    assert got[-1] == (b"n" * size,) and len(got) == hwm - taken + 1


@pytest.mark.parametrize("room", [1, 5, 64, 0])
@pytest.mark.parametrize("split", [1, 7, 18, 1000, 100_000])
def test_stretches_of_same_sized_frames_decode_as_frame_by_frame(room: int, split: int) -> None:
    """The lane cuts stretches of same-sized short frames with struct at C speed; the
    result is the same as frame by frame, whatever breaks a stretch (another size, a
    multipart message, a command, a long frame, the end of a read) and whatever the
    room; every body is a bytes object."""
    msgs: list[Any] = [[b"a" * 16] for _ in range(150)]
    msgs += [[b"b" * 15]] + [[b"c" * 16] for _ in range(10)] + [[b"", b"x"]]
    msgs += [[b""] for _ in range(9)] + [[b"d" * 255] for _ in range(8)] + [[b"e" * 300]]
    msgs += [[b"f" * 300] for _ in range(6)] + [[b"g" * 301], [b"f" * 300, b"h" * 300]]
    msgs += [[b"i" * 4096] for _ in range(5)] + [[b"j" * 256]]
    msgs += [("command",)] + [[b"%03d" % i] for i in range(100)]
    parts = []
    for m in msgs:
        parts.append(b"\x04\x04PING" if m == ("command",) else encode_message(m))
    stream = b"".join(parts)
    chunks = [stream[i : i + split] for i in range(0, len(stream), split)]
    got = _decode_all(chunks, Pipe(1000, room if room else 1_000_000, batched=True))
    want: list[Any] = []
    for m in msgs:
        want.append(("command", (4, b"PING")) if m == ("command",) else tuple(m))
    assert got == want
    assert all(type(f) is bytes for g in got if g[0] != "command" for f in g)


@pytest.mark.parametrize("size", [0, 16, 255])
def test_stretches_of_every_length_keep_every_body_in_order(size: int) -> None:
    """A stretch is cut eight frames per struct unpack and the rest one by one: every
    length (a multiple of eight or not, under and over the room) gives the bodies in
    order."""
    for n in range(1, 42):
        msgs = [[bytes([i]) * size] if size else [b""] for i in range(n)]
        stream = b"".join(encode_message(m) for m in msgs)
        for room in (n, max(1, n - 3), 1_000_000):
            got = _decode_all([stream], Pipe(1000, room, batched=True))
            assert got == [tuple(m) for m in msgs], (n, room)


def test_a_stretch_is_checked_octet_by_octet() -> None:
    """A stretch whose strided flags or size octets differ anywhere is not cut as one:
    a MORE flag or another size in the middle (in any octet of a long frame's size) is
    decoded as what it is."""
    for size in (16, 300, 70_000):
        base = [[b"q" * size] for _ in range(40)]
        odds = ([b"r" * size, b"s" * 14], [b"t" * (size + 1)], [b"u" * (size - 1)])
        odds += ([b"v" * (size + 256)], [b"w" * (size + 65536)])
        for i in (0, 1, 17, 38, 39):
            for odd in odds:
                msgs = [*base[:i], odd, *base[i + 1 :]]
                pipe = Pipe(1000, 1_000_000, batched=True)
                assert _decode_all([wire(msgs)], pipe) == [tuple(m) for m in msgs]


@pytest.mark.parametrize(
    "messages",
    [
        [[b"x" * 16] for _ in range(70)],
        [[b""], [b""], [b""]],
        [[b"y" * 255]] * 5,
        [[b"y" * 256]] * 5,
        [[bytearray(b"ab")], [memoryview(b"cd")], [b"ef"]],
        [[b"ab"], [b"abc"], [b"ab"]],
        [[b"ab"], [b"a", b"b"], [b"ab"]],
        [[b"solo"]],
    ],
)
def test_encode_messages_is_the_join_of_encode_message(messages: list[list[Any]]) -> None:
    """The writer's batch encode (one shared header joined between same-sized short
    frames, or frame by frame) gives the same octets as one message at a time, for
    plain lists and for the pipe's batches."""
    from trinq._pipe import Batch
    from trinq.zmtp import encode_messages

    want = b"".join(encode_message(m) for m in messages)
    assert encode_messages(messages) == want
    batch = Batch(messages[0])
    batch.extend(messages[1:])
    assert encode_messages(batch) == want
    assert encode_messages(iter(messages)) == want


async def test_a_socket_served_by_one_pipe_takes_from_its_run_buffer() -> None:
    """With one peer, PULL (and SUB subscribed to everything) pops messages from the
    pipe's run buffer itself: order and RCVHWM hold, and when a second peer arrives,
    or SUB starts filtering, it receives the long way again."""
    with trio.fail_after(20):
        async with trinq.Context() as ctx:
            pull = ctx.socket(trinq.PULL, rcvhwm=5)
            push = ctx.socket(trinq.PUSH)
            ep = await pull.bind("tcp://127.0.0.1:*")
            push.connect(ep)
            for i in range(200):
                await push.send(b"%d" % i)
            assert await pull.recv() == b"0"
            (pipe,) = pull._core.pipes
            assert pull._pattern.run_buffer is pipe.run_buffer is not None
            await trio.testing.wait_all_tasks_blocked()
            assert pipe.inbound_queued() <= 5
            got = [b"0"] + [await pull.recv() for _ in range(199)]
            assert got == [b"%d" % i for i in range(200)]
            push2 = ctx.socket(trinq.PUSH)
            push2.connect(ep)
            await push2.send(b"second")
            assert await pull.recv() == b"second"
            assert pull._pattern.run_buffer is None

            pub = ctx.socket(trinq.PUB)
            sub = ctx.socket(trinq.SUB)
            sub.subscribe(b"")
            sub.connect(await pub.bind("tcp://127.0.0.1:*"))
            while True:
                await pub.send(b"hello")
                with trio.move_on_after(0.05):
                    assert await sub.recv() == b"hello"
                    break
            assert sub._pattern.run_buffer is not None
            for topic in (b"a1", b"b1", b"a2", b"b2", b"a3"):
                await pub.send(topic)
            while (m := await sub.recv()) == b"hello":
                pass
            assert m == b"a1"
            await trio.testing.wait_all_tasks_blocked()  # b1 .. a3 in the run buffer
            sub.subscribe(b"a")
            sub.unsubscribe(b"")
            assert sub._pattern.run_buffer is None
            assert [await sub.recv(), await sub.recv()] == [b"a2", b"a3"]


def test_the_lane_queues_bodies_alone_and_takers_get_frames() -> None:
    """The decoder's lane puts a single-frame message in the run as its body (bytes,
    which the garbage collector does not track: a 1-tuple per message set off
    collections on busy receivers); the pipe's takers still get frame tuples, and
    multipart messages travel as tuples throughout."""
    import gc

    msgs: list[Any] = [[b"a" * 16] for _ in range(40)] + [[b"m", b"p"]] + [[b"z" * 300]] * 3
    msgs += [[b"%d" % i] for i in range(7)]
    pipe = Pipe(1000, 1000, batched=True)
    FrameDecoder().read_messages(pipe.put, None, wire(msgs), pipe)
    queued = [m for run in pipe._in_recv._state.data for m in run]  # type: ignore[union-attr]
    assert len(queued) == len(msgs)
    assert all(type(m) is bytes for m, want in zip(queued, msgs, strict=True) if len(want) == 1)
    assert not any(gc.is_tracked(m) for m in queued if type(m) is bytes)
    assert queued[40] == (b"m", b"p")
    assert drain(pipe) == [tuple(m) for m in msgs]


async def test_single_and_multipart_messages_from_runs_through_every_receive() -> None:
    """recv, recv_nowait, recv_multipart and recv_message see the same messages
    whether the run held a body alone or a frame tuple."""
    with trio.fail_after(20):
        async with trinq.Context() as ctx:
            pull = ctx.socket(trinq.PULL)
            push = ctx.socket(trinq.PUSH)
            push.connect(await pull.bind("tcp://127.0.0.1:*"))
            await push.send(b"first")
            assert await pull.recv() == b"first"
            for i in range(60):
                if i % 10 == 9:
                    await push.send_multipart([b"m%d" % i, b"tail"])
                else:
                    await push.send(b"s%d" % i)
            await push.send(b"last")
            got: list[Any] = []
            while len(got) < 61:
                k = len(got) % 4
                if k == 0:
                    first = await pull.recv()
                    got.append([first] + ([await pull.recv()] if pull.rcvmore else []))
                elif k == 1:
                    try:
                        first = pull.recv_nowait()
                    except trinq.Again:
                        first = await pull.recv()
                    got.append([first] + ([await pull.recv()] if pull.rcvmore else []))
                elif k == 2:
                    got.append(await pull.recv_multipart())
                else:
                    got.append(list((await pull.recv_message()).frames))
            want = [[b"m%d" % i, b"tail"] if i % 10 == 9 else [b"s%d" % i] for i in range(60)]
            assert got == [*want, [b"last"]]
