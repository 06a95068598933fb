"""Fail closed and behave like pyzmq where users rely on it (issue 10).

One section per item: security options that would do nothing, option attribute names,
exceptions out of ``Context``/``Socket`` exits, ``ContextTerminated``, socket-type
mismatches (trinq on both sides; the libzmq sides are in
tests/interop/test_fail_closed_interop.py), and the small ones.
"""

from __future__ import annotations

import errno
import subprocess
import sys

import pytest
import trio
from rawpeer import drain, greeting, ready, wait_until

import trinq
from trinq.testing import TRANSPORTS, endpoint, wait_for_event

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup, ExceptionGroup

E = trinq.Event

SECURITY = [
    ("plain_server", True, trinq.PLAIN),
    ("plain_username", b"admin", trinq.PLAIN),
    ("plain_password", "secret", trinq.PLAIN),
    ("curve_server", 1, trinq.CURVE),
    ("curve_publickey", b"p" * 32, trinq.CURVE),
    ("curve_secretkey", b"s" * 32, trinq.CURVE),
    ("curve_serverkey", b"k" * 32, trinq.CURVE),
]


# --- 1. security options never fall back to NULL ---------------------------------


@pytest.mark.parametrize(("name", "value", "mechanism"), SECURITY)
async def test_security_option_selects_its_mechanism_every_way(ctx, name, value, mechanism) -> None:
    """As in libzmq, a PLAIN or CURVE option selects that mechanism, whether given to
    ctx.socket(), setsockopt or as an attribute."""
    assert ctx.socket(trinq.REP, **{name: value}).mechanism == mechanism
    sock = ctx.socket(trinq.REP)
    sock.setsockopt(name, value)
    assert sock.mechanism == mechanism
    sock = ctx.socket(trinq.REP)
    setattr(sock, name, value)
    assert sock.mechanism == mechanism


@pytest.mark.parametrize(
    ("options", "missing"),
    [
        ({"curve_serverkey": b"k" * 32}, "curve_publickey, curve_secretkey"),
        ({"curve_publickey": b"p" * 32, "curve_secretkey": b"s" * 32}, "curve_serverkey"),
        ({"curve_server": True}, "curve_secretkey"),
    ],
)
async def test_incomplete_curve_options_fail_at_bind_and_connect(ctx, options, missing) -> None:
    """A CURVE socket without its keys cannot bind or connect (EINVAL naming them):
    it never runs unencrypted."""
    sock = ctx.socket(trinq.DEALER, **options)
    with pytest.raises(trinq.ZMQError) as info:
        sock.connect("tcp://127.0.0.1:5555")
    assert info.value.errno == errno.EINVAL
    assert missing in str(info.value)
    with pytest.raises(trinq.ZMQError) as info:
        await sock.bind("tcp://127.0.0.1:*")
    assert info.value.errno == errno.EINVAL
    assert sock.statistics().endpoints == ()


async def test_mismatched_curve_keys_fail_at_connect(ctx) -> None:
    public, _ = trinq.curve_keypair()
    _, other_secret = trinq.curve_keypair()
    server, _ = trinq.curve_keypair()
    sock = ctx.socket(
        trinq.DEALER, curve_publickey=public, curve_secretkey=other_secret, curve_serverkey=server
    )
    with pytest.raises(trinq.ZMQError) as info:
        sock.connect("tcp://127.0.0.1:5555")
    assert info.value.errno == errno.EINVAL


@pytest.mark.parametrize(("name", "value", "mechanism"), SECURITY[:2])
async def test_security_over_inproc_is_refused(ctx, name, value, mechanism) -> None:
    """inproc has no handshake to run a mechanism in: ENOTSUP, not a socket without
    security."""
    sock = ctx.socket(trinq.REP, **{name: value})
    with pytest.raises(trinq.ZMQError) as info:
        await sock.bind("inproc://secure")
    assert info.value.errno == errno.ENOTSUP
    with pytest.raises(trinq.ZMQError) as info:
        sock.connect("inproc://secure")
    assert info.value.errno == errno.ENOTSUP


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
async def test_null_peer_of_a_plain_server_is_refused(ctx, transport, tmp_path) -> None:
    """A NULL client never reaches a PLAIN server: mechanism mismatch on both sides,
    nothing delivered."""
    with trio.fail_after(10):
        server = ctx.socket(trinq.PULL, plain_server=True)
        smon = server.monitor()
        ep = await server.bind(endpoint(transport, tmp_path))
        client = ctx.socket(trinq.PUSH)
        cmon = client.monitor()
        client.connect(ep)
        await client.send(b"in plaintext?")
        seen = await wait_for_event(cmon, E.HANDSHAKE_FAILED_PROTOCOL)
        assert seen[-1].value == trinq.ProtocolErrorCode.ZMTP_MECHANISM_MISMATCH
        await wait_for_event(smon, E.HANDSHAKE_FAILED_PROTOCOL)
        with pytest.raises(trinq.Again):
            server.recv_nowait()


@pytest.mark.parametrize(("name", "value"), [("plain_server", False), ("curve_server", 0)])
async def test_security_option_default_values_are_accepted(ctx, name, value) -> None:
    sock = ctx.socket(trinq.REP, **{name: value})
    sock.setsockopt("zap_domain", b"")
    assert sock.mechanism == trinq.NULL


async def test_bad_security_value_is_still_einval(ctx) -> None:
    with pytest.raises(trinq.ZMQError) as info:
        ctx.socket(trinq.REQ, curve_serverkey=b"short")
    assert info.value.errno == errno.EINVAL


# --- 2. option attributes ---------------------------------------------------------


async def test_upper_case_option_attributes_are_options(ctx, autojump_clock) -> None:
    sock = ctx.socket(trinq.PULL)
    sock.RCVTIMEO = 500
    sock.LINGER = 0
    assert sock.rcvtimeo == 500 and sock.RCVTIMEO == 500
    assert sock.linger == 0
    with trio.fail_after(5):
        with pytest.raises(trinq.Again):
            await sock.recv()  # honoured: it times out instead of waiting forever
    assert trio.current_time() == pytest.approx(0.5, abs=0.01)


async def test_upper_case_subscribe_sets_the_option_and_keeps_the_method(ctx) -> None:
    """pyzmq's ``sub.SUBSCRIBE = topic``: the option, not a new instance attribute that
    hides the subscribe() method (what the upper-case lookup did once)."""
    sub = ctx.socket(trinq.SUB)
    sub.SUBSCRIBE = b"a"
    assert callable(sub.subscribe) and "subscribe" not in vars(sub)
    assert b"a" in sub._pattern._filter
    sub.UNSUBSCRIBE = b"a"
    assert b"a" not in sub._pattern._filter
    sub.subscribe(b"b")
    assert b"b" in sub._pattern._filter


@pytest.mark.parametrize(("typo", "hint"), [("sndhmw", "sndhwm"), ("rcvtimeout", "rcvtimeo")])
async def test_unknown_attribute_is_an_error_with_a_hint(ctx, typo, hint) -> None:
    sock = ctx.socket(trinq.PUSH)
    with pytest.raises(AttributeError, match=f"did you mean '{hint}'"):
        setattr(sock, typo, 10)
    # Reading one is Python's own AttributeError (a __getattr__ hook would slow every
    # attribute read of a Socket on 3.11), for which Python names the option itself.
    with pytest.raises(AttributeError) as read:
        getattr(sock, typo)
    assert read.value.name == typo and read.value.obj is sock
    with pytest.raises(AttributeError):
        sock.SNDHMW = 10
    with pytest.raises(trinq.ZMQError, match=f"did you mean '{hint}'") as info:
        ctx.socket(trinq.PUSH, **{typo: 10})
    assert info.value.errno == errno.EINVAL
    with pytest.raises(trinq.ZMQError, match=f"did you mean '{hint}'"):
        sock.setsockopt(typo, 10)
    assert sock.sndhwm == 1000  # unchanged


@pytest.mark.parametrize(("typo", "hint"), [("sndhmw", "sndhwm"), ("RCVTIMEOUT", "RCVTIMEO")])
def test_reading_a_misspelt_option_prints_pythons_hint(typo: str, hint: str) -> None:
    """What a user sees when a typo is read and nothing catches it: Python's own
    "Did you mean" (it looks among the class's attributes, where the options are)."""
    code = (
        "import trio, trinq\n"
        "async def main():\n"
        "    async with trinq.Context() as ctx:\n"
        "        async with ctx.socket(trinq.PUSH) as s:\n"
        f"            s.{typo}\n"
        "trio.run(main)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert f"Did you mean: '{hint}'?" in done.stderr, done.stderr


async def test_unrelated_name_is_an_error_without_a_hint(ctx) -> None:
    sock = ctx.socket(trinq.PUSH)
    with pytest.raises(AttributeError) as info:
        sock.xyzzy = 1
    assert "did you mean" not in str(info.value)


async def test_hwm_sets_both_queues_as_pyzmq(ctx) -> None:
    sock = ctx.socket(trinq.DEALER)
    sock.hwm = 3
    assert (sock.sndhwm, sock.rcvhwm, sock.hwm) == (3, 3, 3)
    sock.HWM = 7
    assert (sock.sndhwm, sock.rcvhwm) == (7, 7)
    with pytest.raises(trinq.ZMQError):
        sock.hwm = -5
    assert (sock.sndhwm, sock.rcvhwm) == (7, 7)


# --- 3. exits never add a group layer; interruptions come out unwrapped ------------


async def test_body_exception_comes_out_unwrapped() -> None:
    with pytest.raises(ValueError, match="mine"):
        async with trinq.Context() as ctx:
            ctx.socket(trinq.PUSH)
            raise ValueError("mine")


async def test_users_own_group_is_not_wrapped_again() -> None:
    async def fail() -> None:
        raise ValueError("in a task")

    with pytest.raises(ExceptionGroup) as info:
        async with trinq.Context() as ctx:
            ctx.socket(trinq.PUSH)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(fail)
    group = info.value
    assert len(group.exceptions) == 1
    assert isinstance(group.exceptions[0], ValueError)  # one layer: the user's own


async def _lingering_socket(ctx: trinq.Context) -> trinq.Socket:
    """A PUSH with a message queued for a peer that never comes, lingering forever."""
    push = ctx.socket(trinq.PUSH, linger=-1)
    push.connect("tcp://127.0.0.1:9")  # discard port: nothing listens there
    await push.send(b"never delivered")
    return push


class _Interrupt:
    """An Event whose wait() raises ``exc``: an interruption while a socket lingers."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def set(self) -> None:
        pass

    async def wait(self) -> None:
        await trio.lowlevel.checkpoint()
        raise self.exc


@pytest.mark.parametrize("exc_type", [KeyboardInterrupt, SystemExit])
async def test_interruption_while_lingering_comes_out_unwrapped(exc_type) -> None:
    with trio.fail_after(10):
        with pytest.raises(exc_type) as info:
            async with trinq.Context() as ctx:
                push = await _lingering_socket(ctx)
                push._core.drained = _Interrupt(exc_type())
        assert not isinstance(info.value, BaseExceptionGroup)
        assert push.closed


async def test_interruption_in_term_comes_out_unwrapped() -> None:
    with trio.fail_after(10):
        async with trinq.Context() as ctx:
            push = await _lingering_socket(ctx)
            push._core.drained = _Interrupt(KeyboardInterrupt())
            with pytest.raises(KeyboardInterrupt):
                await ctx.term()


async def test_cancelled_while_lingering_is_a_plain_cancellation() -> None:
    with trio.fail_after(10):
        with trio.move_on_after(0.05) as scope:
            async with trinq.Context() as ctx:
                await _lingering_socket(ctx)
        assert scope.cancelled_caught  # trio saw its own Cancelled, not a group


async def test_socket_exit_reraises_a_lone_interruption(ctx) -> None:
    with trio.fail_after(10):
        push = await _lingering_socket(ctx)
        with pytest.raises(KeyboardInterrupt):
            async with push:
                push._core.drained = _Interrupt(KeyboardInterrupt())
        assert push.closed


# --- 4. ctx.term() -> ContextTerminated -------------------------------------------


async def test_term_wakes_a_blocked_recv_with_context_terminated() -> None:
    with trio.fail_after(10):
        async with trinq.Context() as ctx:
            pull = ctx.socket(trinq.PULL)
            await pull.bind("tcp://127.0.0.1:*")
            got: list[BaseException] = []

            async def receiver() -> None:
                try:
                    await pull.recv()
                except trinq.ContextTerminated as exc:
                    got.append(exc)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(receiver)
                await trio.testing.wait_all_tasks_blocked()
                await ctx.term()
            assert len(got) == 1 and got[0].errno == trinq.ETERM
            with pytest.raises(trinq.ContextTerminated):
                await pull.recv()
            with pytest.raises(trinq.ContextTerminated):
                pull.recv_nowait()
            with pytest.raises(trinq.ContextTerminated):
                pull.connect("tcp://127.0.0.1:5555")
            with pytest.raises(trinq.ContextTerminated):
                ctx.socket(trinq.PUSH)


async def test_term_wakes_a_blocked_send_with_context_terminated() -> None:
    with trio.fail_after(10):
        async with trinq.Context() as ctx:
            push = ctx.socket(trinq.PUSH, linger=0)  # no peer: send blocks
            got: list[BaseException] = []

            async def sender() -> None:
                try:
                    await push.send(b"x")
                except trinq.ContextTerminated as exc:
                    got.append(exc)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(sender)
                await trio.testing.wait_all_tasks_blocked()
                await ctx.term()
            assert len(got) == 1
            with pytest.raises(trinq.ContextTerminated):
                await push.send(b"y")


async def test_async_for_ends_at_term() -> None:
    with trio.fail_after(10):
        async with trinq.Context() as ctx:
            pull = ctx.socket(trinq.PULL)
            seen = []

            async def loop() -> None:
                async for msg in pull:
                    seen.append(msg)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(loop)
                await trio.testing.wait_all_tasks_blocked()
                await ctx.term()
            assert seen == []


async def test_close_without_term_is_still_enotsock(ctx) -> None:
    sock = ctx.socket(trinq.PULL)
    await sock.aclose()
    with pytest.raises(trinq.ZMQError) as info:
        await sock.recv()
    assert info.value.errno == errno.ENOTSOCK
    assert not isinstance(info.value, trinq.ContextTerminated)


# --- 5. a socket-type mismatch stops the connecting side ---------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_mismatch_stops_the_connecting_side(ctx, transport, tmp_path) -> None:
    """A REQ connecting to a PUB fails once with HANDSHAKE_FAILED_PROTOCOL and a reason,
    and its dialer stops: no CONNECT_RETRIED, however short reconnect_ivl is."""
    with trio.fail_after(10):
        pub = ctx.socket(trinq.PUB)
        pub_mon = pub.monitor()
        ep = await pub.bind(endpoint(transport, tmp_path))
        req = ctx.socket(trinq.REQ, reconnect_ivl=1)
        mon = req.monitor()
        req.connect(ep)
        seen = await wait_for_event(mon, E.HANDSHAKE_FAILED_PROTOCOL)
        assert [e.event for e in seen].count(E.CONNECTED) == 1
        assert "incompatible socket types" in (seen[-1].reason or "")
        await wait_until(lambda: ep not in req.statistics().endpoints)
        await wait_for_event(pub_mon, E.HANDSHAKE_FAILED_PROTOCOL)
        later = drain(mon)
        assert not [e for e in later if e.event in (E.CONNECT_RETRIED, E.CONNECTED)], later
        assert req.statistics().endpoints == ()


async def test_bind_side_says_why_with_an_error_command(ctx) -> None:
    """A raw peer that claims to be REQ gets an ERROR command naming the mismatch."""
    from rawpeer import RawPeer

    with trio.fail_after(10):
        pub = ctx.socket(trinq.PUB)
        ep = await pub.bind("tcp://127.0.0.1:*")
        peer = await RawPeer.connect_tcp(ep)
        await peer.send(greeting() + ready("REQ"))
        assert (await peer.read_exactly(64))[10] == 3
        name, data = await peer.read_command()
        if name == b"READY":  # sent before it saw ours
            name, data = await peer.read_command()
        assert name == b"ERROR"
        assert b"incompatible socket types" in data
        await peer.wait_closed()
        await peer.aclose()


# --- 6. the small ones -------------------------------------------------------------


async def test_rcvmore_reads_back_a_bool(ctx) -> None:
    with trio.fail_after(10):
        push, pull = ctx.socket(trinq.PUSH), ctx.socket(trinq.PULL)
        pull.connect(await push.bind("tcp://127.0.0.1:*"))
        assert pull.rcvmore is False
        await push.send_multipart([b"a", b"b"])
        assert await pull.recv() == b"a"
        assert pull.rcvmore is True
        assert pull.getsockopt(trinq.RCVMORE) is True
        assert await pull.recv() == b"b"
        assert pull.rcvmore is False


@pytest.mark.parametrize("bad", [999, -1, 12345])
async def test_unknown_socket_type_is_einval(ctx, bad) -> None:
    with pytest.raises(trinq.ZMQError) as info:
        ctx.socket(bad)
    assert info.value.errno == errno.EINVAL


async def test_bind_to_unresolvable_host_is_enodev(ctx) -> None:
    sock = ctx.socket(trinq.PULL)
    with trio.fail_after(30):
        with pytest.raises(trinq.ZMQError) as info:
            await sock.bind("tcp://nohost.invalid:5555")
    assert info.value.errno == errno.ENODEV
