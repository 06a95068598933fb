"""trinq.zmtp must import neither trio nor socket, not even indirectly."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import trinq.zmtp

FORBIDDEN = ("trio", "socket", "selectors", "asyncio")


def test_fresh_import_has_no_io_modules() -> None:
    # trinq/__init__.py (the public socket API) legitimately imports trio, so
    # install a bare stand-in for the parent package and import only the
    # trinq.zmtp subtree: its own import closure must be free of I/O modules.
    pkg = str(pathlib.Path(trinq.zmtp.__file__).parent.parent)
    code = (
        "import sys, types\n"
        "parent = types.ModuleType('trinq')\n"
        f"parent.__path__ = [{pkg!r}]\n"
        "sys.modules['trinq'] = parent\n"
        # attrs is zmtp's one dependency; what it imports on some Pythons (3.10's
        # attrs pulls in subprocess -> selectors) is not zmtp's doing.
        "import attrs\n"
        "before = set(sys.modules)\n"
        "import trinq.zmtp\n"
        "assert trinq.zmtp.Connection\n"
        f"bad = [m for m in {FORBIDDEN!r} if m in sys.modules and m not in before]\n"
        "bad += [m for m in ('trio', 'socket') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30
    )
    assert out.stdout.strip() == ""


def test_sources_do_not_import_io() -> None:
    root = pathlib.Path(trinq.zmtp.__file__).parent
    pattern = re.compile(r"^\s*(import|from)\s+(trio|socket|asyncio|selectors)\b", re.M)
    for path in root.rglob("*.py"):
        assert not pattern.search(path.read_text()), path
