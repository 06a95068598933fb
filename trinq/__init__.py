"""trinq: ZeroMQ for trio, in pure Python.

Brokerless messaging sockets (PAIR, PUSH/PULL, ...) that speak the real ZMTP 3.1
wire protocol, so they talk to libzmq, pyzmq, JeroMQ and NetMQ peers. Everything
runs inside your trio task tree::

    async with trinq.Context() as ctx:
        async with ctx.socket(trinq.PULL) as sock:
            await sock.bind("tcp://127.0.0.1:*")
            msg = await sock.recv()

This module holds the public surface only; the implementation lives in private
modules, and :mod:`trinq.zmtp` is the sans-I/O wire core.
"""

from . import _constants
from . import auth as auth
from . import z85 as z85
from . import zmtp as zmtp
from ._certs import curve_keypair as curve_keypair
from ._certs import curve_public as curve_public
from ._constants import *  # noqa: F403  (socket types, flags, option ids, errnos)
from ._context import Context as Context
from ._errors import Again as Again
from ._errors import ContextTerminated as ContextTerminated
from ._errors import ZMQBaseError as ZMQBaseError
from ._errors import ZMQBindError as ZMQBindError
from ._errors import ZMQError as ZMQError
from ._message import Message as Message
from ._monitor import Event as Event
from ._monitor import Monitor as Monitor
from ._monitor import MonitorEvent as MonitorEvent
from ._monitor import ProtocolErrorCode as ProtocolErrorCode
from ._pipe import PipeStatistics as PipeStatistics
from ._poller import Poller as Poller
from ._proxy import proxy as proxy
from ._proxy import proxy_steerable as proxy_steerable
from ._socket import Socket as Socket
from ._socket import SocketStatistics as SocketStatistics
from ._version import __version__ as __version__

# Classes, functions and modules are listed here; the constants (and SocketType) come
# from _constants.__all__, the one list to extend when a constant is added. pyright reads
# ``__all__ += module.__all__`` (a form the typing spec lists); mypy reads only the literal
# list, which matters to it for ``from trinq import *`` alone (``trinq.PUB`` and
# ``from trinq import PUB`` type-check either way, the star import re-exporting them).
__all__: list[str] = [
    "Again",
    "Context",
    "ContextTerminated",
    "Event",
    "Message",
    "Monitor",
    "MonitorEvent",
    "PipeStatistics",
    "Poller",
    "ProtocolErrorCode",
    "Socket",
    "SocketStatistics",
    "ZMQBaseError",
    "ZMQBindError",
    "ZMQError",
    "__version__",
    "auth",
    "curve_keypair",
    "curve_public",
    "proxy",
    "proxy_steerable",
    "z85",
    "zmtp",
]
__all__ += _constants.__all__


def _fixup_module_metadata(names: list[str], namespace: dict[str, object]) -> None:
    """Make reprs, pickles and docs say ``trinq.X`` rather than ``trinq._socket.X``.

    Like trio's ``fixup_module_metadata``: every class or function exported here whose
    ``__module__`` is private (has a ``_``-prefixed part) gets ``__module__ = "trinq"``.
    Public subpackages (:mod:`trinq.zmtp`) keep their own names.
    """
    from types import FunctionType

    for name in names:
        obj = namespace[name]
        if isinstance(obj, (type, FunctionType)) and any(
            part.startswith("_") for part in obj.__module__.split(".")
        ):
            obj.__module__ = "trinq"


_fixup_module_metadata(__all__, globals())
del _fixup_module_metadata
