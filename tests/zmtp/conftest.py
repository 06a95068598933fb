"""Fixtures of the sans-I/O tests' libzmq checks."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from wire_driver import TIMEOUT


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(4)
    lsock.settimeout(TIMEOUT)
    yield lsock
    lsock.close()
