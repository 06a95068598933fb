"""Suite-wide pytest configuration."""

from __future__ import annotations

import os

import pytest


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
