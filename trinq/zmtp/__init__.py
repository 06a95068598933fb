"""trinq.zmtp: a sans-I/O implementation of ZMTP 3.1 (RFC 37, with 3.0 peers).

This package contains no networking code at all: it imports neither trio nor
:mod:`socket`.  A :class:`Connection` turns received bytes into events and
events/messages into bytes to send; a driver moves the bytes.  See
``_connection.py`` for the theory of operation.

Everything in the private modules' ``__all__`` that is public API is
re-exported here.
"""

from ._commands import command_body as command_body
from ._commands import decode_metadata as decode_metadata
from ._commands import encode_command as encode_command
from ._commands import encode_metadata as encode_metadata
from ._commands import error_body as error_body
from ._commands import parse_command as parse_command
from ._commands import parse_error as parse_error
from ._commands import parse_ping as parse_ping
from ._commands import ping_body as ping_body
from ._commands import pong_body as pong_body
from ._commands import ready_body as ready_body
from ._connection import NEED_DATA as NEED_DATA
from ._connection import Command as Command
from ._connection import Connection as Connection
from ._connection import ConnectionState as ConnectionState
from ._curve import CurveClientMechanism as CurveClientMechanism
from ._curve import CurveMechanism as CurveMechanism
from ._curve import CurveServerMechanism as CurveServerMechanism
from ._errors import LocalProtocolError as LocalProtocolError
from ._errors import ProtocolError as ProtocolError
from ._errors import ProtocolErrorCode as ProtocolErrorCode
from ._errors import RemoteProtocolError as RemoteProtocolError
from ._events import Cancel as Cancel
from ._events import ConnectionClosed as ConnectionClosed
from ._events import Error as Error
from ._events import Event as Event
from ._events import HandshakeComplete as HandshakeComplete
from ._events import Join as Join
from ._events import Leave as Leave
from ._events import Message as Message
from ._events import Ping as Ping
from ._events import Pong as Pong
from ._events import Subscribe as Subscribe
from ._frames import COMMAND as COMMAND
from ._frames import LONG as LONG
from ._frames import MORE as MORE
from ._frames import FrameDecoder as FrameDecoder
from ._frames import encode_bodies as encode_bodies
from ._frames import encode_frame as encode_frame
from ._frames import encode_message as encode_message
from ._frames import encode_messages as encode_messages
from ._greeting import GREETING_SIZE as GREETING_SIZE
from ._greeting import Greeting as Greeting
from ._greeting import detect_greeting as detect_greeting
from ._mechanism import Mechanism as Mechanism
from ._mechanism import MechanismStatus as MechanismStatus
from ._mechanism import NullMechanism as NullMechanism
from ._plain import PlainClientMechanism as PlainClientMechanism
from ._plain import PlainServerMechanism as PlainServerMechanism
from ._sockettypes import IDENTITY_SENDERS as IDENTITY_SENDERS
from ._sockettypes import MAX_PARTS as MAX_PARTS
from ._sockettypes import SOCKET_TYPES as SOCKET_TYPES
from ._sockettypes import is_compatible as is_compatible
from ._zap import ZAP_ENDPOINT as ZAP_ENDPOINT
from ._zap import ZAP_VERSION as ZAP_VERSION
from ._zap import AuthenticationFailure as AuthenticationFailure
from ._zap import ZapReply as ZapReply
from ._zap import ZapRequest as ZapRequest
from ._zap import ZapUnavailable as ZapUnavailable
from ._zap import build_zap_reply as build_zap_reply
from ._zap import build_zap_request as build_zap_request
from ._zap import parse_zap_reply as parse_zap_reply
from ._zap import parse_zap_request as parse_zap_request

__all__ = [
    "COMMAND",
    "GREETING_SIZE",
    "IDENTITY_SENDERS",
    "LONG",
    "MAX_PARTS",
    "MORE",
    "NEED_DATA",
    "SOCKET_TYPES",
    "ZAP_ENDPOINT",
    "ZAP_VERSION",
    "AuthenticationFailure",
    "Cancel",
    "Command",
    "Connection",
    "ConnectionClosed",
    "ConnectionState",
    "CurveClientMechanism",
    "CurveMechanism",
    "CurveServerMechanism",
    "Error",
    "Event",
    "FrameDecoder",
    "Greeting",
    "HandshakeComplete",
    "Join",
    "Leave",
    "LocalProtocolError",
    "Mechanism",
    "MechanismStatus",
    "Message",
    "NullMechanism",
    "Ping",
    "PlainClientMechanism",
    "PlainServerMechanism",
    "Pong",
    "ProtocolError",
    "ProtocolErrorCode",
    "RemoteProtocolError",
    "Subscribe",
    "ZapReply",
    "ZapRequest",
    "ZapUnavailable",
    "build_zap_reply",
    "build_zap_request",
    "command_body",
    "decode_metadata",
    "detect_greeting",
    "encode_bodies",
    "encode_command",
    "encode_frame",
    "encode_message",
    "encode_messages",
    "encode_metadata",
    "error_body",
    "is_compatible",
    "parse_command",
    "parse_error",
    "parse_ping",
    "parse_zap_reply",
    "parse_zap_request",
    "ping_body",
    "pong_body",
    "ready_body",
]


def _fixup_module_metadata(names: list[str], namespace: dict[str, object]) -> None:
    """Make reprs, pickles and docs say ``trinq.zmtp.X`` rather than ``trinq.zmtp._x.X``
    (as ``trinq/__init__.py`` does for ``trinq.X``, after trio)."""
    from types import FunctionType

    for name in names:
        obj = namespace[name]
        if isinstance(obj, (type, FunctionType)) and obj.__module__.startswith(__name__ + "._"):
            obj.__module__ = __name__


_fixup_module_metadata(__all__, globals())
del _fixup_module_metadata
