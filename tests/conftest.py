"""Suite-wide pytest configuration."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

import trinq


def pytest_sessionstart(session: pytest.Session) -> None:
    """In CI, pyzmq must be importable, so interop tests can never silently skip."""
    if not os.environ.get("CI"):
        return
    try:
        import zmq  # noqa: F401
    except ImportError as exc:
        pytest.exit(
            f"CI is set but pyzmq cannot be imported ({exc}); the interop tests would be "
            "skipped. Install the test extra: python3 -m pip install -e '.[test]'",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )


@pytest.fixture
async def ctx() -> AsyncIterator[trinq.Context]:
    """A trinq Context for the test; every socket in it is closed at the end."""
    async with trinq.Context() as c:
        yield c
        # A failed test may leave undeliverable messages behind; with libzmq's default
        # linger (-1) closing would wait for them forever, so bound the teardown.
        for sock in list(c._sockets):
            if not sock.closed and sock.linger < 0:
                sock.linger = 5000


@pytest.fixture
def zctx() -> Iterator[Any]:
    """A pyzmq (libzmq) context, destroyed with linger 0 at the end."""
    import zmq

    c = zmq.Context()
    try:
        yield c
    finally:
        c.destroy(linger=0)
