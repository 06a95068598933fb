"""Batched outbound pipes (issue 13): many sends, one channel item.

A connection's pipe queues outbound messages in :class:`trinq._pipe.Batch` items: the
newest batch stays open and later sends append to it until the writer takes it. These
tests drive a pipe by hand, as the engine's writer does, and then whole sockets: SNDHWM
still counts messages, order is kept, and closing refuses new messages.
"""

from __future__ import annotations

import types
from typing import Any

import pytest
import trio
from rawpeer import wait_until

import trinq
from trinq._engine import Engine
from trinq._pipe import BATCH_MESSAGES, Batch, Encoded, Pipe
from trinq.zmtp._frames import encode_bodies, encode_message, encode_messages


def take_all(pipe: Pipe) -> list[Any]:
    """What the writer would write now, in order (it marks batches as taken)."""
    out: list[Any] = []
    while True:
        try:
            item = pipe._out_recv.receive_nowait()
        except (trio.WouldBlock, trio.EndOfChannel):
            return out
        if type(item) is Batch:
            pipe.taken(item)
            out.extend(item)
        else:
            out.append(item)


def queued_batches(pipe: Pipe) -> list[Batch]:
    """The channel items queued for the writer, without taking them (as batches)."""
    items: list[Batch] = []
    while True:
        try:
            items.append(pipe._out_recv.receive_nowait())  # type: ignore[arg-type]
        except trio.WouldBlock:
            return items


def test_sends_share_one_channel_item_until_the_writer_takes_it() -> None:
    pipe = Pipe(1000, 1000, batched=True)
    for i in range(10):
        pipe.send_nowait([b"%d" % i])
    assert pipe._out_recv.statistics().current_buffer_used == 1  # one batch
    assert pipe.outbound_queued() == 10 and pipe.outbound_pending()
    assert take_all(pipe) == [[b"%d" % i] for i in range(10)]
    assert pipe.outbound_queued() == 0
    pipe.send_nowait([b"after"])  # the taken batch is closed: a new one starts
    assert pipe._out_recv.statistics().current_buffer_used == 1
    assert take_all(pipe) == [[b"after"]]


def test_a_batch_holds_at_most_batch_messages() -> None:
    pipe = Pipe(0, 0, batched=True)  # (no SNDHWM)
    n = 3 * BATCH_MESSAGES + 1
    for i in range(n):
        pipe.send_nowait([b"%d" % i])
    assert pipe._out_recv.statistics().current_buffer_used == 4
    assert take_all(pipe) == [[b"%d" % i] for i in range(n)]


@pytest.mark.parametrize("hwm", [1, 5, BATCH_MESSAGES, BATCH_MESSAGES + 3])
def test_sndhwm_counts_messages_not_batches(hwm: int) -> None:
    pipe = Pipe(hwm, 1000, batched=True)
    for i in range(hwm):
        assert pipe.writable()
        pipe.send_nowait([b"%d" % i])
    assert not pipe.writable()
    with pytest.raises(trio.WouldBlock):
        pipe.send_nowait([b"over"])
    assert pipe.outbound_queued() == hwm
    assert take_all(pipe) == [[b"%d" % i] for i in range(hwm)]
    assert pipe.writable()  # the writer took them: room again
    pipe.send_nowait([b"next"])
    assert take_all(pipe) == [[b"next"]]


def test_order_is_kept_with_encoded_items_and_wakes_between() -> None:
    pipe = Pipe(1000, 1000, batched=True)
    pipe.send_nowait([b"a"])
    pipe.send_nowait(Encoded(b"\x00\x01b"))  # type: ignore[arg-type]
    pipe._out_send.send_nowait(trinq._pipe.WAKE)  # a command's wake-up (not data)
    pipe.send_nowait([b"c"])
    got = take_all(pipe)
    data = [x for x in got if x is not trinq._pipe.WAKE]
    assert [bytes(x) if type(x) is Encoded else x for x in data] == [[b"a"], b"\x00\x01b", [b"c"]]


def test_closed_pipe_refuses_sends_and_keeps_what_was_queued() -> None:
    pipe = Pipe(1000, 1000, batched=True)
    pipe.send_nowait([b"queued"])
    pipe.close_outbound()
    with pytest.raises(trio.ClosedResourceError):
        pipe.send_nowait([b"late"])  # not appended to the open batch either
    assert take_all(pipe) == [[b"queued"]]
    pipe.terminate()
    with pytest.raises(trio.ClosedResourceError):
        pipe.send_nowait([b"later"])


async def test_sockets_over_batched_pipes_keep_order_and_hwm() -> None:
    """End to end: a tight send loop (batches) is received whole and in order, and a
    PUSH whose peer does not read stops at SNDHWM messages in its own pipe (DONTWAIT
    raises Again) -- the batches do not let it queue more."""
    with trio.fail_after(20):
        async with trinq.Context() as ctx:
            pull = ctx.socket(trinq.PULL, rcvhwm=5)
            push = ctx.socket(trinq.PUSH, sndhwm=7)
            push.connect(await pull.bind("tcp://127.0.0.1:*"))
            await push.send(b"first")
            assert await pull.recv() == b"first"
            n = 5000
            async with trio.open_nursery() as nursery:

                async def sender() -> None:
                    for i in range(n):
                        await push.send(b"%d" % i)

                nursery.start_soon(sender)
                assert [await pull.recv() for _ in range(n)] == [b"%d" % i for i in range(n)]
            # Now fill everything: the PULL's RCVHWM, the kernel buffers, and the pipe.
            sent = 0
            with pytest.raises(trinq.Again):
                while True:
                    await push.send(b"x" * 65536, trinq.DONTWAIT)
                    sent += 1
            (pipe,) = push._core.pipes
            assert pipe.outbound_queued() <= 7
            assert not pipe.writable()
            got = 0
            while got < sent:
                await pull.recv()
                got += 1
            assert got == sent


async def test_a_socket_with_one_peer_sends_to_its_pipe_directly() -> None:
    """PUSH and DEALER with one peer queue to that pipe without the load balancer
    (``Pattern.send_pipe``); with two peers they round-robin again; a peer that left
    takes its pipe out of the rotation and the next send goes to the one that is left.
    REQ never does (its sends go through the envelope and the lock-step)."""
    with trio.fail_after(20):
        async with trinq.Context() as ctx:
            push = ctx.socket(trinq.PUSH)
            ep = await push.bind("tcp://127.0.0.1:*")
            assert push._pattern.send_pipe is None
            a = ctx.socket(trinq.PULL)
            a.connect(ep)
            await push.send(b"one")
            assert await a.recv() == b"one"
            (pipe_a,) = push._core.pipes
            assert push._pattern.send_pipe is pipe_a
            b = ctx.socket(trinq.PULL)
            b.connect(ep)
            while len(push._core.pipes) < 2:
                await trio.sleep(0.01)
            assert push._pattern.send_pipe is None
            for i in range(4):
                await push.send(b"%d" % i)
            got = {await a.recv(), await a.recv(), await b.recv(), await b.recv()}
            assert got == {b"0", b"1", b"2", b"3"}
            await a.aclose()
            while len(push._core.pipes) > 1:
                await trio.sleep(0.01)
            (pipe_b,) = push._core.pipes
            assert push._pattern.send_pipe is pipe_b
            await push.send(b"to b")
            assert await b.recv() == b"to b"

            dealer = ctx.socket(trinq.DEALER)
            router = ctx.socket(trinq.ROUTER)
            dealer.connect(await router.bind("tcp://127.0.0.1:*"))
            await dealer.send(b"hi")
            assert (await router.recv_multipart())[1:] == [b"hi"]
            assert dealer._pattern.send_pipe is not None
            req = ctx.socket(trinq.REQ)
            rep = ctx.socket(trinq.REP)
            req.connect(await rep.bind("tcp://127.0.0.1:*"))
            await req.send(b"q")
            assert await rep.recv() == b"q"
            assert req._pattern.send_pipe is None


async def test_a_terminated_single_pipe_sends_the_long_way() -> None:
    """``Socket.send``'s direct path meets a pipe that ended: the message is not lost
    and not queued on the dead pipe -- the load balancer drops the pipe and the send
    waits for the next peer, as it always did."""
    with trio.fail_after(20):
        async with trinq.Context() as ctx:
            push = ctx.socket(trinq.PUSH)
            ep = await push.bind("tcp://127.0.0.1:*")
            a = ctx.socket(trinq.PULL)
            a.connect(ep)
            await push.send(b"one")
            assert await a.recv() == b"one"
            (pipe,) = push._core.pipes
            pipe.terminate()  # as the engine does when the peer goes, and its writer
            pipe.disable_direct()  # stops writing on the caller's stack when it sees it
            assert push._pattern.send_pipe is pipe  # (the rotation has not seen it yet)
            b = ctx.socket(trinq.PULL)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(push.send, b"two")
                while pipe in push._pattern._lb.pipes:
                    await trio.sleep(0.01)
                assert push._pattern.send_pipe is None
                b.connect(ep)
            assert await b.recv() == b"two"


def test_bodies_and_frame_sequences_never_share_a_batch() -> None:
    """Socket.send queues a single-frame message as its body alone (send_body); a
    batch holds either bodies or frame sequences, so the writer encodes each whole,
    and order across them is kept. SNDHWM counts both."""
    pipe = Pipe(6, 1000, batched=True)
    assert pipe.send_body is not None
    pipe.send_body(b"a")
    pipe.send_body(b"b")
    pipe.send_nowait([b"m", b"p"])
    pipe.send_body(b"c")
    pipe.send_nowait([b"d"])
    pipe.send_body(b"e")
    with pytest.raises(trio.WouldBlock):
        pipe.send_body(b"over")
    batches = queued_batches(pipe)
    assert [(b.bodies, list(b)) for b in batches] == [
        (True, [b"a", b"b"]),
        (False, [[b"m", b"p"]]),
        (True, [b"c"]),
        (False, [[b"d"]]),
        (True, [b"e"]),
    ]
    from trinq import zmtp

    conn = zmtp.Connection("PUSH")
    conn._can_send = conn._transparent = True  # (as after a NULL handshake)
    wire = b"".join(conn.send_bodies(b) if b.bodies else conn.send_messages(b) for b in batches)
    assert wire == zmtp.encode_messages([[b"a"], [b"b"], [b"m", b"p"], [b"c"], [b"d"], [b"e"]])
    assert zmtp.encode_bodies([b"x" * 300, b"y", b""]) == zmtp.encode_messages(
        [[b"x" * 300], [b"y"], [b""]]
    )


def test_a_body_that_misses_its_direct_write_is_queued_as_a_body() -> None:
    pipe = Pipe(1000, 1000, batched=True)
    pipe.enable_direct()
    assert pipe.send_body is not None
    pipe.send_body(b"a")  # no connection to write to: queued, and direct writes end
    pipe.send_body(b"b")
    assert pipe.send_nowait == pipe._send_batched
    assert [(b.bodies, list(b)) for b in queued_batches(pipe)] == [(True, [b"a", b"b"])]
    assert Pipe(1000, 1000).send_body is None  # (unbatched: frames only)
    assert Pipe(1000, 1000, batched=True, conflate=True).send_body is None


@pytest.mark.parametrize("security", ["null", "curve", "ws"])
async def test_single_and_multipart_sends_interleaved_arrive_in_order(security: str) -> None:
    with trio.fail_after(30):
        async with trinq.Context() as ctx:
            opts: dict[str, Any] = {}
            srv: dict[str, Any] = {}
            if security == "curve":
                spub, ssec = trinq.curve_keypair()
                cpub, csec = trinq.curve_keypair()
                srv = {"curve_server": True, "curve_secretkey": ssec}
                opts = {"curve_serverkey": spub, "curve_publickey": cpub, "curve_secretkey": csec}
            ws = security == "ws"  # (DEALER to DEALER there: a PULL over ws works too)
            pull = ctx.socket(trinq.DEALER if ws else trinq.PULL, **srv)
            push = ctx.socket(trinq.DEALER if ws else trinq.PUSH, **opts)
            ep = "ws://127.0.0.1:*/t" if ws else "tcp://127.0.0.1:*"
            push.connect(await pull.bind(ep))
            want: list[list[bytes]] = []
            for i in range(300):
                msg = [b"%d" % i] if i % 7 else [b"%d" % i, b"x" * (i % 300)]
                want.append(msg)
                if len(msg) == 1:
                    await push.send(msg[0])
                else:
                    await push.send_multipart(msg)
            got = [await pull.recv_multipart() for _ in range(300)]
            assert got == want


async def test_large_messages_in_mixed_batches_are_written_whole_and_counted() -> None:
    """A writer batch of a few large parts (bodies, frame sequences) is written part
    by part instead of joined; every byte arrives in order, and the counters see it."""
    with trio.fail_after(30):
        async with trinq.Context() as ctx:
            pull = ctx.socket(trinq.PULL)
            push = ctx.socket(trinq.PUSH, sndhwm=0)
            push.connect(await pull.bind("tcp://127.0.0.1:*"))
            await push.send(b"hello")
            assert await pull.recv() == b"hello"
            want: list[list[bytes]] = []
            for i in range(40):
                body = bytes([i]) * (70_000 + i)
                msg = [body] if i % 3 else [b"head%d" % i, body]
                want.append(msg)
                if len(msg) == 1:
                    await push.send(body)
                else:
                    await push.send_multipart(msg)
            got = [await pull.recv_multipart() for _ in range(40)]
            assert got == want
            from trinq import zmtp

            wire = sum(len(zmtp.encode_message(m)) for m in [[b"hello"], *want])
            assert push.statistics().bytes_out == wire


def test_large_bodies_go_as_frame_lists() -> None:
    from trinq._pipe import BODY_MAX

    pipe = Pipe(1000, 1000, batched=True)
    assert pipe.send_body is not None
    pipe.send_body(b"s")
    pipe.send_body(b"L" * BODY_MAX)
    pipe.send_body(b"t")
    batches = queued_batches(pipe)
    assert [(b.bodies, list(b)) for b in batches] == [
        (True, [b"s"]),
        (False, [[b"L" * BODY_MAX]]),
        (True, [b"t"]),
    ]
    assert pipe.outbound_queued() == 3


@pytest.mark.parametrize("hwm", [0, 3, BATCH_MESSAGES + 5])
def test_body_room_is_what_the_open_bodies_batch_and_sndhwm_still_allow(hwm: int) -> None:
    """``Pipe.body_room``, which lets ``Socket.send`` append a body with no call and no
    check, counts exactly the appends that ``send_body`` would have made to the same
    batch: never past BATCH_MESSAGES, never past SNDHWM."""
    pipe = Pipe(hwm, 1000, batched=True)
    assert pipe.body_room == 0 and pipe.send_body is not None
    pipe.send_body(b"first")
    cap = hwm if hwm else 10**9
    want = min(BATCH_MESSAGES - 1, cap - 1)
    assert pipe.body_room == want
    assert pipe.body_batch is pipe._open
    sent = 1
    while pipe.body_room:  # as Socket.send's fast path does
        pipe.body_room -= 1
        pipe.body_batch.append(b"%d" % sent)  # type: ignore[union-attr]
        pipe._out_count += 1
        sent += 1
    assert sent == min(BATCH_MESSAGES, cap)
    if sent == cap:
        with pytest.raises(trio.WouldBlock):
            pipe.send_body(b"over")
    else:
        pipe.send_body(b"next batch")  # the batch is full: a new one
        assert len(queued_batches(pipe)) == 2


def test_body_room_ends_with_whatever_ends_the_batch() -> None:
    """Taken by the writer, followed by a frame sequence, a closed or terminated pipe,
    an idle writer's direct mode: each leaves no room, so the next body takes the
    checked path (and, after a frame sequence, a new batch: the order is kept)."""
    cases: dict[str, Any] = {
        "taken": lambda p: take_all(p),
        "frames": lambda p: p.send_nowait([b"a", b"b"]),
        "close_outbound": lambda p: p.close_outbound(),
        "terminate": lambda p: p.terminate(),
        "enable_direct": lambda p: p.enable_direct(),
    }
    for name, end in cases.items():
        pipe = Pipe(1000, 1000, batched=True)
        assert pipe.send_body is not None
        pipe.send_body(b"x")
        assert pipe.body_room > 0
        end(pipe)
        assert pipe.body_room == 0, name
    pipe = Pipe(1000, 1000, batched=True)
    assert pipe.send_body is not None
    pipe.send_body(b"1")
    pipe.send_nowait([b"2", b"3"])
    pipe.send_body(b"4")
    assert take_all(pipe) == [b"1", [b"2", b"3"], b"4"]


async def test_a_tight_send_loop_takes_the_fast_path_and_keeps_count() -> None:
    """A PUSH with one peer and a busy writer appends bodies through ``body_room``; what
    arrives is every message in order, and SNDHWM still stops the sender exactly."""
    with trio.fail_after(20):
        async with trinq.Context() as ctx:
            push = ctx.socket(trinq.PUSH, sndhwm=10, linger=0)
            pull = ctx.socket(trinq.PULL)
            pull.connect(await push.bind("tcp://127.0.0.1:*"))
            await push.send(b"hello")
            assert await pull.recv() == b"hello"
            (pipe,) = push._core.pipes
            pipe.disable_direct()  # as when the writer is busy
            await push.send(b"0")  # the checked path: opens a batch of bodies
            sent = 1
            while pipe.body_room:
                await push.send(b"%d" % sent)  # appended by Socket.send itself
                sent += 1
            assert sent == 10 == pipe.outbound_queued()  # SNDHWM ended the room
            with pytest.raises(trinq.Again):
                await push.send(b"over", trinq.DONTWAIT)
            got = [await pull.recv() for _ in range(sent)]
            assert got == [b"%d" % i for i in range(sent)]


@pytest.mark.parametrize("hwm", [0, 3, BATCH_MESSAGES + 5])
def test_enc_room_is_what_the_open_encoded_batch_and_sndhwm_still_allow(hwm: int) -> None:
    """``Pipe.enc_room``, which lets PUB's fan-out append an Encoded item with no call,
    counts exactly the appends ``send_nowait`` would have made to the same batch."""
    pipe = Pipe(hwm, 1000, batched=True)
    assert pipe.enc_room == 0
    pipe.send_nowait(Encoded(b"\x00\x05first"))  # type: ignore[arg-type]
    cap = hwm if hwm else 10**9
    assert pipe.enc_room == min(BATCH_MESSAGES - 1, cap - 1)
    assert pipe.enc_batch is pipe._open
    sent = 1
    while pipe.enc_room:  # as the fan-out does (trinq._patterns._pubsub)
        pipe.enc_room -= 1
        pipe.enc_batch.append(Encoded(b"\x00\x01%d" % (sent % 10)))  # type: ignore[union-attr]
        pipe._out_count += 1
        sent += 1
    assert sent == min(BATCH_MESSAGES, cap) == pipe.outbound_queued()
    if sent == cap:
        with pytest.raises(trio.WouldBlock):
            pipe.send_nowait(Encoded(b"\x00\x04over"))  # type: ignore[arg-type]
    else:
        pipe.send_nowait(Encoded(b"\x00\x04next"))  # type: ignore[arg-type]
        assert len(queued_batches(pipe)) == 2


def test_enc_room_ends_with_whatever_ends_the_batch() -> None:
    """A frame-sequence batch that holds no Encoded item grants none; taken, followed
    by a batch of bodies, closed, terminated or in direct mode, the room is 0 again, so
    the next fan-out takes the checked path (and the order is kept)."""
    pipe = Pipe(1000, 1000, batched=True)
    pipe.send_nowait([b"plain"])
    assert pipe.enc_room == 0
    cases: dict[str, Any] = {
        "taken": lambda p: take_all(p),
        "bodies": lambda p: p.send_body(b"body"),
        "close_outbound": lambda p: p.close_outbound(),
        "terminate": lambda p: p.terminate(),
        "enable_direct": lambda p: p.enable_direct(),
    }
    for name, end in cases.items():
        pipe = Pipe(1000, 1000, batched=True)
        pipe.send_nowait(Encoded(b"\x00\x01x"))  # type: ignore[arg-type]
        assert pipe.enc_room > 0
        end(pipe)
        assert pipe.enc_room == 0 and pipe.enc_batch is None, name
    pipe = Pipe(1000, 1000, batched=True)
    one, three = Encoded(b"\x00\x011"), Encoded(b"\x00\x013")
    pipe.send_nowait(one)  # type: ignore[arg-type]
    assert pipe.send_body is not None
    pipe.send_body(b"2")
    pipe.send_nowait(three)  # type: ignore[arg-type]
    assert take_all(pipe) == [one, b"2", three]


async def test_pub_fan_out_through_enc_room_keeps_order_and_drops_at_sndhwm() -> None:
    """PUB to three SUBs, the writers busy: every subscriber gets the same messages in
    order, and with a small SNDHWM each pipe holds exactly SNDHWM of them (the rest are
    dropped, as RFC 29 says), however many the fan-out appended by itself."""
    with trio.fail_after(20):
        async with trinq.Context() as ctx:
            pub = ctx.socket(trinq.PUB, sndhwm=100, linger=0)
            ep = await pub.bind("tcp://127.0.0.1:*")
            subs = []
            for _ in range(3):
                sub = ctx.socket(trinq.SUB, rcvhwm=0)
                sub.subscribe(b"")
                sub.connect(ep)
                subs.append(sub)
            while True:  # every subscription has arrived
                await pub.send(b"hello")
                await trio.sleep(0.01)
                if all(s.statistics().messages_in for s in subs):
                    break
            for s in subs:
                while True:
                    try:
                        s.recv_nowait()
                    except trinq.Again:
                        break
            pipes = list(pub._core.pipes)
            assert len(pipes) == 3
            for pipe in pipes:
                pipe.disable_direct()  # as when the writers are busy
            for i in range(250):  # no await lets the writers run: HWM 100 per pipe
                pub._pattern.send_nowait([b"%d" % i])
            assert [p.outbound_queued() for p in pipes] == [100, 100, 100]
            assert [p.enc_room for p in pipes] == [0, 0, 0]  # (SNDHWM ended it)
            await wait_until(lambda: not any(p.outbound_queued() for p in pipes))
            await pub.send(b"end")
            for s in subs:
                got = []
                while (m := await s.recv()) != b"end":
                    got.append(m)
                assert got == [b"%d" % i for i in range(100)]


class _Codec:
    """The two encoders the writer's batch taking uses (NULL mechanism's framing)."""

    send_messages = staticmethod(encode_messages)
    send_bodies = staticmethod(encode_bodies)


def _writer_takes(pipe: Pipe) -> tuple[bytes, int]:
    """What ``Engine._take_batch`` makes of everything queued: the wire bytes (joined,
    if it gave parts), and how many messages they hold."""
    engine = types.SimpleNamespace(pipe=pipe, commands=[])
    out = pipe._out_recv
    ended, data, n = Engine._take_batch(engine, out.receive_nowait(), out, _Codec())  # type: ignore[arg-type]
    assert not ended and data is not None
    return (data if isinstance(data, bytes) else b"".join(data)), n


@pytest.mark.parametrize(
    "kind", ["short encoded", "long encoded", "encoded then frames", "frames then encoded"]
)
def test_the_writer_takes_an_encoded_batch_whole_in_order(kind: str) -> None:
    """PUB's fan-out batches (Encoded items, joined in one pass when short, kept as
    parts when long) and batches where Encoded items and frame sequences meet (item by
    item): the same bytes, in the order they were queued, and the right count."""
    size = 5000 if kind == "long encoded" else 16
    msgs = [[bytes([i]) * size] for i in range(6)]
    pipe = Pipe(1000, 0, batched=True)
    for i, msg in enumerate(msgs):
        frames_here = (kind == "encoded then frames" and i >= 3) or (
            kind == "frames then encoded" and i < 3
        )
        pipe.send_nowait(msg if frames_here else Encoded(encode_message(msg)))  # type: ignore[arg-type]
    assert pipe._out_recv.statistics().current_buffer_used == 1  # one batch
    assert _writer_takes(pipe) == (b"".join(encode_message(m) for m in msgs), len(msgs))
