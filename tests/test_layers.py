"""Lower layers never import upper ones (DESIGN.md section 2; docs/design.md).

Every ``trinq/**/*.py`` is parsed with :mod:`ast` (nothing is imported) and each of its
imports -- at module level, inside functions, and inside ``if TYPE_CHECKING:`` blocks,
which count too: a type-only cycle is still a cycle in the design -- is checked against
:data:`LAYERS`.

:data:`LAYERS` is the single place to update when a module is added, moved or removed.
It is a list of layers, lowest first; each layer is a set of units, and a unit is a
module or a package (a package covers its submodules, which may import each other
freely). A module may import only from its own layer or lower ones.

The lower layers (the first :data:`N_LOWER`) are the sans-I/O and synchronous ones; the
upper ones are the connection layer (docs/design.md, "Layers").
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parent.parent / "trinq"

LAYERS: list[set[str]] = [
    # ---- lower layers: settled, checked strictly ------------------------------------
    # Leaves: numbers, the exception hierarchy, Z85, the version string.
    {"trinq._constants", "trinq._errors", "trinq._z85", "trinq._version"},
    # The public Z85 module, CURVE keys and certificate files.
    {"trinq.z85", "trinq._certs"},
    # The sans-I/O ZMTP core: imports neither trio nor socket (checked below).
    {"trinq.zmtp"},
    # Synchronous routing pieces over PipeLike (never await).
    {"trinq._routing"},
    # Socket options, monitor events.
    {"trinq._options", "trinq._monitor"},
    # ---- upper layers: the connection layer ----------------------------------------
    # Leaves of the connection layer: per-peer queues, the wait queue, the heartbeat
    # timers (sans-I/O), the lean stdlib-socket stream, the message codecs, the
    # received-message value (trinq.Message).
    {
        "trinq._pipe",
        "trinq._wait",
        "trinq._cancel",
        "trinq._heartbeat",
        "trinq._io",
        "trinq._codec",
        "trinq._message",
        "trinq._groups",
    },
    # One strategy per socket type, composed from _routing.
    {"trinq._patterns"},
    # The SocketCore contract between socket, patterns, engines and transports.
    {"trinq._core"},
    # Read lending (a reader hands its stream to recv).
    {"trinq._loan"},
    # One connection: driver + codec.
    {"trinq._engine"},
    # Transports: serve and dial (tcp, ipc, inproc).
    {"trinq._transports"},
    {"trinq._socket"},
    # What is built on sockets: waiting on several, forwarding between two.
    {"trinq._poller", "trinq._proxy"},
    {"trinq._context"},
    # The public surface and what sits on it.
    {"trinq", "trinq.testing", "trinq.__main__", "trinq.auth", "trinq._auth"},
]

#: How many of the first LAYERS are the settled lower part.
N_LOWER = 4

#: Top-level modules ``trinq.zmtp`` must never import.
ZMTP_FORBIDDEN = {"trio", "socket"}


class Import(NamedTuple):
    importer: str
    target: str
    line: int
    type_checking: bool

    def __str__(self) -> str:
        where = " (under TYPE_CHECKING)" if self.type_checking else ""
        return f"{self.importer} -> {self.target} (line {self.line}){where}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


FILES = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}
MODULES = set(FILES)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _Collector(ast.NodeVisitor):
    def __init__(self, modname: str, is_package: bool) -> None:
        self.modname = modname
        self.package = modname if is_package else modname.rpartition(".")[0]
        self.type_checking = 0
        self.found: list[Import] = []

    def _add(self, target: str, node: ast.stmt) -> None:
        self.found.append(Import(self.modname, target, node.lineno, self.type_checking > 0))

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            self.type_checking += 1
            for stmt in node.body:
                self.visit(stmt)
            self.type_checking -= 1
            for stmt in node.orelse:
                self.visit(stmt)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.package.split(".")
            base = base[: len(base) - (node.level - 1)]
            module = ".".join(base + ([node.module] if node.module else []))
        else:
            module = node.module or ""
        for alias in node.names:
            # ``from . import zmtp`` imports the submodule trinq.zmtp.
            sub = f"{module}.{alias.name}"
            self._add(sub if sub in MODULES else module, node)


def _collect(modname: str, source: str, is_package: bool = False) -> list[Import]:
    collector = _Collector(modname, is_package)
    collector.visit(ast.parse(source))
    return collector.found


def _imports(modname: str) -> list[Import]:
    path = FILES[modname]
    return _collect(modname, path.read_text(encoding="utf-8"), path.name == "__init__.py")


ALL_IMPORTS = {name: _imports(name) for name in sorted(MODULES)}


def _unit(modname: str) -> str | None:
    """The LAYERS entry covering *modname* (the longest match), or None."""
    best = None
    for layer in LAYERS:
        for unit in layer:
            # The root package "trinq" covers only its __init__, not every module.
            covers = modname == unit or (unit != "trinq" and modname.startswith(unit + "."))
            if covers and (best is None or len(unit) > len(best)):
                best = unit
    return best


def _layer(modname: str) -> int | None:
    unit = _unit(modname)
    if unit is None:
        return None
    return next(i for i, layer in enumerate(LAYERS) if unit in layer)


def _violations(importer: str) -> list[str]:
    """Why *importer*'s trinq imports break the table (empty if they do not)."""
    level = _layer(importer)
    if level is None:
        return [f"{importer} is not in LAYERS (add it to the table in tests/test_layers.py)"]
    out = []
    for imp in ALL_IMPORTS[importer]:
        if imp.target != "trinq" and not imp.target.startswith("trinq."):
            continue
        if _unit(imp.target) == _unit(importer):
            continue
        target_level = _layer(imp.target)
        if target_level is None:
            out.append(f"{imp}: {imp.target} is not in LAYERS")
        elif target_level > level:
            out.append(f"{imp}: layer {level} imports layer {target_level}")
    return out


def _in_lower(modname: str) -> bool:
    level = _layer(modname)
    return level is not None and level < N_LOWER


LOWER = sorted(name for name in MODULES if _in_lower(name))
UPPER = sorted(name for name in MODULES if not _in_lower(name))


def test_table_is_well_formed() -> None:
    units = [unit for layer in LAYERS for unit in layer]
    assert len(units) == len(set(units)), "a unit is listed in two layers"
    for unit in units[: sum(len(layer) for layer in LAYERS[:N_LOWER])]:
        assert unit in MODULES, f"lower-layer unit {unit} does not exist"


def test_the_collector_sees_every_kind_of_import() -> None:
    """Guard for the collector itself, on a made-up module trinq._patterns._x."""
    source = """
import trio
from typing import TYPE_CHECKING
from .. import zmtp, _constants as C
from .._routing import FairQueue
from ._base import Pattern
if TYPE_CHECKING:
    from .._socket import Socket
else:
    import socket
def f():
    from trinq._engine import Engine
"""
    found = {(imp.target, imp.type_checking) for imp in _collect("trinq._patterns._x", source)}
    assert found == {
        ("trio", False),
        ("typing", False),
        ("trinq.zmtp", False),
        ("trinq._constants", False),
        ("trinq._routing", False),
        ("trinq._patterns._base", False),
        ("trinq._socket", True),
        ("socket", False),
        ("trinq._engine", False),
    }
    # In a package's __init__, "." is the package itself.
    pkg = _collect("trinq._routing", "from .fq import FairQueue", is_package=True)
    assert [imp.target for imp in pkg] == ["trinq._routing.fq"]


@pytest.mark.parametrize("modname", LOWER)
def test_lower_layers_import_only_downwards(modname: str) -> None:
    violations = _violations(modname)
    assert not violations, "lower layer imports upward:\n  " + "\n  ".join(violations)


def test_zmtp_imports_neither_trio_nor_socket() -> None:
    bad = [
        str(imp)
        for name, imps in ALL_IMPORTS.items()
        if name == "trinq.zmtp" or name.startswith("trinq.zmtp.")
        for imp in imps
        if imp.target.split(".")[0] in ZMTP_FORBIDDEN
    ]
    assert not bad, "trinq.zmtp is sans-I/O but imports:\n  " + "\n  ".join(bad)


@pytest.mark.parametrize("package", ["trinq.zmtp", "trinq._routing"])
def test_sans_io_layers_never_await(package: str) -> None:
    """zmtp and _routing are synchronous: no ``async def``, ``await``, ``async for/with``."""
    async_nodes = (ast.AsyncFunctionDef, ast.Await, ast.AsyncFor, ast.AsyncWith)
    bad = [
        f"{name} line {node.lineno}: {type(node).__name__}"
        for name, path in FILES.items()
        if name == package or name.startswith(package + ".")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, async_nodes)
    ]
    assert not bad, f"{package} must stay synchronous:\n  " + "\n  ".join(bad)


def test_upper_layers_import_only_downwards() -> None:
    """Today's upper layers against the table (see the module docstring)."""
    violations = [v for name in UPPER for v in _violations(name)]
    listed = [unit for layer in LAYERS[N_LOWER:] for unit in layer]
    violations += [
        f"{unit} is in LAYERS but does not exist" for unit in listed if unit not in MODULES
    ]
    assert not violations, (
        "upper layers break the table in tests/test_layers.py (fix the import, or update "
        "the table if the layout changed):\n  " + "\n  ".join(violations)
    )
