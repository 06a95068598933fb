"""The type checkers run as part of the suite: mypy --strict and pyright (standard) are
clean on trinq/ (their settings are in pyproject.toml). Both are test dependencies, so
in CI these never skip."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(tool: str) -> subprocess.CompletedProcess[str]:
    if not os.environ.get("CI"):
        pytest.importorskip(tool)
    return subprocess.run(
        [sys.executable, "-m", tool],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.mark.timeout(300)
def test_mypy_strict_is_clean() -> None:
    res = _run("mypy")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Success" in res.stdout


@pytest.mark.timeout(300)
def test_pyright_is_clean() -> None:
    res = _run("pyright")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 errors" in res.stdout
