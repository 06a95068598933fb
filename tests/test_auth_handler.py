"""trinq.auth.Authenticator as a ZAP handler (RFC 27), driven by a plain REQ over
inproc with hand-made requests: the policy, independent of the mechanisms."""

from __future__ import annotations

import os

import pytest
import trio

import trinq
from trinq import _z85 as z85
from trinq.auth import ZAP_ENDPOINT, Authenticator

KEY = os.urandom(32)
OTHER = os.urandom(32)


def request(
    mechanism: bytes,
    *credentials: bytes,
    address: bytes = b"127.0.0.1",
    domain: bytes = b"",
    version: bytes = b"1.0",
) -> list[bytes]:
    return [version, b"7", domain, address, b"", mechanism, *credentials]


async def ask(ctx: trinq.Context, frames: list[bytes]) -> list[bytes]:
    req = ctx.socket(trinq.REQ, linger=0)
    try:
        req.connect(ZAP_ENDPOINT)
        await req.send_multipart(frames)
        return await req.recv_multipart()
    finally:
        req.close()


async def status(ctx: trinq.Context, frames: list[bytes]) -> tuple[bytes, bytes, bytes]:
    reply = await ask(ctx, frames)
    assert reply[0] == b"1.0" and reply[1] == b"7" and len(reply) == 6
    return reply[2], reply[3], reply[4]


async def test_null_passes_unless_the_address_is_refused(ctx):
    with trio.fail_after(10):
        async with Authenticator(ctx) as auth:
            assert await status(ctx, request(b"NULL")) == (b"200", b"OK", b"anonymous")
            auth.deny("10.0.0.1")
            assert (await status(ctx, request(b"NULL", address=b"10.0.0.1")))[:2] == (
                b"400",
                b"Address denied",
            )
            assert (await status(ctx, request(b"NULL")))[0] == b"200"


async def test_allow_list_refuses_other_addresses_for_every_mechanism(ctx):
    with trio.fail_after(10):
        async with Authenticator(ctx) as auth:
            auth.allow("127.0.0.1")
            auth.configure_plain(passwords={"admin": "secret"})
            assert (await status(ctx, request(b"NULL", address=b"10.1.1.1")))[:2] == (
                b"400",
                b"Address not allowed",
            )
            ok = request(b"PLAIN", b"admin", b"secret", address=b"10.1.1.1")
            assert (await status(ctx, ok))[0] == b"400"
            ok = request(b"PLAIN", b"admin", b"secret")
            assert await status(ctx, ok) == (b"200", b"OK", b"admin")
            with pytest.raises(ValueError):
                auth.deny("1.2.3.4")


async def test_plain_checks_username_and_password(ctx):
    with trio.fail_after(10):
        async with Authenticator(ctx) as auth:
            assert (await status(ctx, request(b"PLAIN", b"a", b"b")))[:2] == (
                b"400",
                b"No passwords defined",
            )
            auth.configure_plain(passwords={"admin": "secret"})
            auth.configure_plain("special", {"root": "toor"})
            assert (await status(ctx, request(b"PLAIN", b"admin", b"nope")))[1] == (
                b"Invalid password"
            )
            assert (await status(ctx, request(b"PLAIN", b"eve", b"x")))[1] == b"Invalid username"
            assert (await status(ctx, request(b"PLAIN", b"root", b"toor", domain=b"special")))[
                0
            ] == b"200"
            # a domain without its own table uses "*"
            assert (await status(ctx, request(b"PLAIN", b"admin", b"secret", domain=b"x")))[
                0
            ] == b"200"
            assert (await status(ctx, request(b"PLAIN", b"admin")))[1] == b"Invalid credentials"


async def test_curve_by_keys_callback_or_any(ctx):
    with trio.fail_after(10):
        async with Authenticator(ctx) as auth:
            assert (await status(ctx, request(b"CURVE", KEY)))[1] == b"Unknown domain"
            auth.configure_curve(keys={z85.encode(KEY).decode()})
            assert await status(ctx, request(b"CURVE", KEY)) == (
                b"200",
                b"OK",
                z85.encode(KEY),
            )
            assert (await status(ctx, request(b"CURVE", OTHER)))[:2] == (b"400", b"Unknown key")
            seen = []

            async def callback(domain: str, key: bytes) -> bool:
                seen.append((domain, key))
                await trio.lowlevel.checkpoint()
                return key == z85.encode(OTHER)

            auth.configure_curve("cb", callback=callback)
            assert (await status(ctx, request(b"CURVE", OTHER, domain=b"cb")))[0] == b"200"
            assert (await status(ctx, request(b"CURVE", KEY, domain=b"cb")))[0] == b"400"
            assert seen == [("cb", z85.encode(OTHER)), ("cb", z85.encode(KEY))]
            auth.configure_curve("any", allow_any=True)
            assert (await status(ctx, request(b"CURVE", OTHER, domain=b"any")))[0] == b"200"
            assert (await status(ctx, request(b"CURVE", b"short")))[1] == b"Invalid credentials"


async def test_broken_requests(ctx):
    with trio.fail_after(10):
        async with Authenticator(ctx):
            assert (await status(ctx, request(b"NULL", version=b"2.0")))[:2] == (
                b"400",
                b"Invalid version",
            )
            reply = await ask(ctx, [b"1.0", b"7", b"x"])
            assert reply[2:4] == [b"400", b"Not enough frames"]
            assert (await status(ctx, request(b"GSSAPI")))[1] == b"Unsupported mechanism"


async def test_one_handler_per_context_and_stop_unbinds(ctx):
    with trio.fail_after(10):
        auth = Authenticator(ctx)
        await auth.start()
        with pytest.raises(trinq.ZMQError) as info:
            await Authenticator(ctx).start()
        assert info.value.errno == trinq.EADDRINUSE
        await auth.stop()
        async with Authenticator(ctx):  # the endpoint is free again
            assert (await status(ctx, request(b"NULL")))[0] == b"200"


async def test_a_slow_callback_does_not_hold_up_other_requests(ctx):
    with trio.fail_after(10):
        release = trio.Event()

        async def slow(domain: str, key: bytes) -> bool:
            await release.wait()
            return True

        async with Authenticator(ctx) as auth:
            auth.configure_curve("slow", callback=slow)
            async with trio.open_nursery() as nursery:
                done = trio.Event()

                async def slow_request() -> None:
                    assert (await status(ctx, request(b"CURVE", KEY, domain=b"slow")))[0] == (
                        b"200"
                    )
                    done.set()

                nursery.start_soon(slow_request)
                assert (await status(ctx, request(b"NULL")))[0] == b"200"
                assert not done.is_set()
                release.set()
