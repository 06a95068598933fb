"""The public surface: what ``trinq`` (and its public subpackages) export, after trio's
``src/trio/_tests/test_exports.py``.

* every name in ``__all__`` exists, once;
* every public name of ``dir(module)`` is in ``__all__`` (nothing leaks: no ``trinq.trio``,
  no ``trinq.enum``; public subpackages are listed in :data:`PUBLIC_MODULES`);
* exported classes and functions say ``trinq.X`` (``__module__``), or are listed in
  :data:`MODULE_EXCEPTIONS` with the reason, and pickle by reference;
* the names of the design contract (DESIGN.md section 1) are exported;
* the constants come from ``trinq._constants.__all__`` and that list is complete;
* a static checker (pyright ``--verifytypes``) sees every exported name.
"""

from __future__ import annotations  # isort: split

import __future__

import json
import os
import pickle
import subprocess
import sys
import types
from typing import Any

import pytest

import trinq
import trinq._constants
import trinq.testing
import trinq.z85
import trinq.zmtp

#: The public modules, each with its own ``__all__``. A new public subpackage (e.g.
#: ``trinq.auth``) is added here.
PUBLIC_MODULES: list[types.ModuleType] = [trinq, trinq.zmtp, trinq.testing, trinq.z85, trinq.auth]
PUBLIC_MODULE_NAMES = [m.__name__ for m in PUBLIC_MODULES]

#: Exported classes/functions whose ``__module__`` is not the module exporting them, as
#: ``(module, name) -> why``.
MODULE_EXCEPTIONS: dict[tuple[str, str], str] = {
    ("trinq", "ProtocolErrorCode"): "defined by the sans-I/O layer: trinq.zmtp",
}

#: DESIGN.md section 1 ("public contract"): names that tests, examples and users rely on.
DESIGN_CONTRACT = [
    "Context",
    "Socket",
    "ZMQError",
    "Again",
    "ContextTerminated",
    "SocketType",
    *(
        "PAIR PUB SUB REQ REP DEALER ROUTER PULL PUSH XPUB XSUB STREAM "
        "SERVER CLIENT RADIO DISH GATHER SCATTER DGRAM PEER CHANNEL"
    ).split(),
    "SNDMORE",
    "DONTWAIT",
    "NOBLOCK",
    "POLLIN",
    "POLLOUT",
    "Event",
    "MonitorEvent",
]

#: DESIGN.md section 1b: names still to be built. Once one exists it must be exported.
DESIGN_CONTRACT_TO_COME = [
    "Message",
    "Poller",
    "proxy",
    "proxy_steerable",
    "curve_keypair",
    "curve_public",
    "auth",
]

#: Known leaks, ``module -> what and how to fix``, run as xfail(strict=True) until the
#: owner fixes them (then the entry must go). Empty today.
KNOWN_LEAKS: dict[str, str] = {}


def _public(names: Any) -> set[str]:
    return {name for name in names if not name.startswith("_")}


def _public_dir(module: types.ModuleType) -> set[str]:
    """Public names of ``dir(module)``, without ``__future__`` features (``annotations``
    from ``from __future__ import annotations``), as trio's test ignores them."""
    names = _public(dir(module))
    return {
        name
        for name in names
        if not (
            name in __future__.all_feature_names
            and getattr(module, name) is getattr(__future__, name)
        )
    }


def _by_name(modname: str) -> types.ModuleType:
    return PUBLIC_MODULES[PUBLIC_MODULE_NAMES.index(modname)]


def _leak_xfail(modname: str) -> Any:
    if modname in KNOWN_LEAKS:
        return pytest.param(
            modname, marks=pytest.mark.xfail(strict=True, reason=KNOWN_LEAKS[modname])
        )
    return modname


@pytest.mark.parametrize("modname", PUBLIC_MODULE_NAMES)
def test_all_names_exist_once(modname: str) -> None:
    module = _by_name(modname)
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert not missing, f"in {modname}.__all__ but not defined: {missing}"
    dups = sorted({name for name in module.__all__ if module.__all__.count(name) > 1})
    assert not dups, f"listed twice in {modname}.__all__: {dups}"
    assert all(type(name) is str for name in module.__all__)


@pytest.mark.parametrize("modname", [_leak_xfail(name) for name in PUBLIC_MODULE_NAMES])
def test_dir_public_names_are_in_all(modname: str) -> None:
    """Nothing public leaks: a stray ``import enum`` would make ``trinq.enum`` public."""
    module = _by_name(modname)
    extra = _public_dir(module) - set(module.__all__)
    # Public subpackages appear as attributes once imported (trinq.testing is imported
    # on demand, so it is not in trinq.__all__).
    extra -= {
        name
        for name in extra
        if getattr(module, name) in PUBLIC_MODULES
        and getattr(module, name).__name__ == f"{modname}.{name}"
    }
    assert not extra, f"public in dir({modname}) but not in its __all__: {sorted(extra)}"


@pytest.mark.parametrize("modname", PUBLIC_MODULE_NAMES)
def test_no_foreign_modules_exported(modname: str) -> None:
    module = _by_name(modname)
    bad = {
        name: value.__name__
        for name in module.__all__
        if isinstance(value := getattr(module, name), types.ModuleType)
        and value not in PUBLIC_MODULES
    }
    assert not bad, f"{modname}.__all__ exports modules that are not public trinq ones: {bad}"


def test_no_dependency_leaks() -> None:
    for name in ("trio", "attrs", "outcome", "enum", "errno", "socket", "os", "sys"):
        assert not hasattr(trinq, name), f"trinq.{name} leaks"
    for name in ("trio", "socket", "attrs", "enum", "struct"):
        assert not hasattr(trinq.zmtp, name), f"trinq.zmtp.{name} leaks"


@pytest.mark.parametrize("modname", PUBLIC_MODULE_NAMES)
def test_exported_classes_name_their_public_module(modname: str) -> None:
    """``repr(trinq.Socket)`` says ``trinq.Socket``, not ``trinq._socket.Socket``."""
    module = _by_name(modname)
    wrong = {}
    for name in module.__all__:
        obj = getattr(module, name)
        if not isinstance(obj, (type, types.FunctionType)):
            continue
        if obj.__module__ != modname and (modname, name) not in MODULE_EXCEPTIONS:
            wrong[name] = obj.__module__
    assert not wrong, f"{modname} exports these with a private __module__: {wrong}"


@pytest.mark.parametrize("modname", PUBLIC_MODULE_NAMES)
def test_exported_classes_pickle_by_reference(modname: str) -> None:
    """The ``__module__`` rewrite keeps classes (and enum members) picklable."""
    module = _by_name(modname)
    for name in module.__all__:
        obj = getattr(module, name)
        if isinstance(obj, (type, types.FunctionType)):
            assert pickle.loads(pickle.dumps(obj)) is obj, name
    assert pickle.loads(pickle.dumps(trinq.PUB)) is trinq.PUB
    assert pickle.loads(pickle.dumps(trinq.Event.CONNECTED)) is trinq.Event.CONNECTED


def test_one_protocol_error_code() -> None:
    assert trinq.ProtocolErrorCode is trinq.zmtp.ProtocolErrorCode
    assert trinq.ProtocolErrorCode.ZMTP_UNSPECIFIED is trinq.zmtp.ProtocolErrorCode.UNSPECIFIED


def test_design_contract_names_are_exported() -> None:
    missing = [name for name in DESIGN_CONTRACT if name not in trinq.__all__]
    assert not missing, f"DESIGN.md section 1 names not in trinq.__all__: {missing}"
    for name in "PAIR PUB SUB REQ REP DEALER ROUTER PULL PUSH XPUB XSUB STREAM".split():
        assert getattr(trinq, name) is trinq.SocketType[name]
    assert trinq.NOBLOCK == trinq.DONTWAIT
    assert issubclass(trinq.Again, trinq.ZMQError)
    assert issubclass(trinq.ContextTerminated, trinq.ZMQError)


def test_design_contract_names_to_come_are_exported_once_built() -> None:
    built = [name for name in DESIGN_CONTRACT_TO_COME if hasattr(trinq, name)]
    missing = [name for name in built if name not in trinq.__all__]
    assert not missing, f"DESIGN.md section 1b names built but not exported: {missing}"


def test_constants_all_is_complete() -> None:
    """``_constants.__all__`` is the one list of constants; it must name every one."""
    consts = trinq._constants
    defined = _public(vars(consts))
    defined -= {name for name in defined if isinstance(getattr(consts, name), types.ModuleType)}
    defined -= {
        name
        for name in __future__.all_feature_names
        if getattr(consts, name, None) is getattr(__future__, name)
    }
    assert defined == set(consts.__all__), (
        f"not in _constants.__all__: {sorted(defined - set(consts.__all__))}; "
        f"listed but not defined: {sorted(set(consts.__all__) - defined)}"
    )


def test_constants_are_reexported_as_is() -> None:
    consts = trinq._constants
    for name in consts.__all__:
        assert name in trinq.__all__, name
        assert getattr(trinq, name) is getattr(consts, name), name


def _pyright_verifytypes() -> dict[str, Any]:
    if not os.environ.get("CI"):  # in CI pyright is a test dependency: never skip there
        pytest.importorskip("pyright")
    try:
        res = subprocess.run(
            [sys.executable, "-m", "pyright", "--verifytypes", "trinq", "--outputjson"],
            capture_output=True,
            text=True,
            timeout=45,
        )
        result: dict[str, Any] = json.loads(res.stdout)
    except (OSError, subprocess.TimeoutExpired, ValueError) as exc:  # no node, no network
        if os.environ.get("CI"):
            raise
        pytest.skip(f"pyright could not run: {exc!r}")
    return result


@pytest.fixture(scope="module")
def pyright_symbols() -> set[str]:
    result = _pyright_verifytypes()
    return {sym["name"] for sym in result["typeCompleteness"]["symbols"]}


@pytest.mark.parametrize("modname", PUBLIC_MODULE_NAMES)
def test_static_tool_sees_all_exports(modname: str, pyright_symbols: set[str]) -> None:
    """pyright sees every name in ``__all__`` (catches an ``__all__`` form it cannot read,
    or a re-export it does not count as one)."""
    module = _by_name(modname)
    missing = {
        name for name in _public(module.__all__) if f"{modname}.{name}" not in pyright_symbols
    }
    assert not missing, f"pyright --verifytypes does not see {modname}.{sorted(missing)}"
