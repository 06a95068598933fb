"""Security mechanisms as message-level state machines (NULL here).

Theory of operation
-------------------
Modelled on libzmq's ``mechanism.hpp``.  A mechanism never sees raw octets:
the :class:`~trinq.zmtp.Connection` decodes frames and hands it whole
commands, and asks it for whole commands to send.  Protocol:

1. The connection calls :meth:`Mechanism.configure` once, from its
   constructor, with our socket type, identity and extra metadata; the
   mechanism builds its READY/INITIATE properties from them
   (:meth:`Mechanism.basic_properties`).
2. After the peer's greeting is accepted, and after every handshake command
   is processed, the connection calls :meth:`Mechanism.next_handshake_command`
   until it returns ``None`` and sends each returned ``command-body``.
3. Every handshake command received (except ERROR, which the connection
   handles itself) goes to :meth:`Mechanism.process_handshake_command`, which
   raises :class:`RemoteProtocolError` for anything unexpected.
4. When :attr:`Mechanism.status` becomes ``READY``, :attr:`peer_properties`
   holds the peer's metadata and the handshake is over.
5. After the handshake every frame goes through :meth:`Mechanism.encode` /
   :meth:`Mechanism.decode`.  Mechanisms that do not transform frames set
   :attr:`transparent` so the connection uses its fast path and never calls
   them.

A mechanism waiting on something external (a ZAP reply, say) returns
``None`` from ``next_handshake_command`` and keeps status ``HANDSHAKING``; the
driver calls :meth:`Connection.data_to_send` again once it has the answer.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Mapping

from ._commands import decode_metadata, ready_body
from ._errors import (
    ProtocolErrorCode,
    RemoteProtocolError,
)
from ._sockettypes import IDENTITY_SENDERS

__all__ = ["Mechanism", "MechanismStatus", "NullMechanism"]


class MechanismStatus(enum.Enum):
    """Where a mechanism's handshake stands."""

    HANDSHAKING = "handshaking"
    READY = "ready"
    ERROR = "error"


class Mechanism(abc.ABC):
    """Abstract security mechanism (libzmq ``mechanism_t``).

    Subclasses set :attr:`name` (``b"NULL"``, ``b"PLAIN"``, ``b"CURVE"``) and
    :attr:`as_server`, and implement the two handshake verbs.
    """

    #: Mechanism name as it appears in the greeting (at most 20 octets).
    name: bytes = b""
    #: The greeting's as-server octet (libzmq ignores the peer's).
    as_server: bool = False
    #: True when encode/decode are the identity (enables the fast path).
    transparent: bool = False

    def __init__(self) -> None:
        self.socket_type: str = ""
        self.identity: bytes = b""
        self.metadata: dict[str, bytes] = {}
        self.peer_properties: dict[str, bytes] = {}
        self._status = MechanismStatus.HANDSHAKING

    def configure(self, socket_type: str, identity: bytes, metadata: Mapping[str, bytes]) -> None:
        """Receive our socket type, identity and extra READY metadata."""
        self.socket_type = socket_type
        self.identity = bytes(identity)
        self.metadata = dict(metadata)

    def basic_properties(self) -> list[tuple[str, bytes]]:
        """Our READY/INITIATE properties, in libzmq order.

        ``Socket-Type``, then ``Identity`` (REQ/DEALER/ROUTER only, possibly
        empty), then the extra metadata.
        """
        props = [("Socket-Type", self.socket_type.encode("ascii"))]
        if self.socket_type in IDENTITY_SENDERS:
            props.append(("Identity", self.identity))
        props.extend((k, bytes(v)) for k, v in self.metadata.items())
        return props

    @property
    def status(self) -> MechanismStatus:
        """Current handshake status."""
        return self._status

    @abc.abstractmethod
    def next_handshake_command(self) -> bytes | None:
        """Return the next ``command-body`` to send, or ``None`` for now."""

    @abc.abstractmethod
    def process_handshake_command(self, name: bytes, body: bytes) -> None:
        """Consume a handshake command (*body* is the command data)."""

    def encode(self, flags: int, body: bytes) -> tuple[int, bytes]:
        """Transform one outgoing post-handshake frame (default: identity)."""
        return flags, body

    def decode(self, flags: int, body: bytes) -> tuple[int, bytes]:
        """Transform one incoming post-handshake frame (default: identity)."""
        return flags, body


class NullMechanism(Mechanism):
    """The NULL mechanism: both sides send READY at once (RFC 23/37).

    libzmq's NULL handshake is symmetric (docs/interop.md §3): READY is sent
    immediately in both roles, and the handshake ends when both READYs are
    exchanged.
    """

    name = b"NULL"
    as_server = False
    peer_properties: dict[str, bytes]  # (assigned below; declared for the type checkers)
    transparent = True

    def __init__(self) -> None:
        super().__init__()
        self._ready_sent = False
        self._ready_received = False

    def next_handshake_command(self) -> bytes | None:
        """Our READY body the first time, then ``None``."""
        if self._ready_sent:
            return None
        self._ready_sent = True
        self._update()
        return ready_body(self.basic_properties())

    def process_handshake_command(self, name: bytes, body: bytes) -> None:
        """Accept the peer's one READY; any other command is a protocol error."""
        if name != b"READY" or self._ready_received:
            self._status = MechanismStatus.ERROR
            raise RemoteProtocolError(
                f"unexpected command {name!r} during the NULL handshake",
                zmtp_code=ProtocolErrorCode.UNEXPECTED_COMMAND,
            )
        try:
            self.peer_properties = decode_metadata(
                body, zmtp_code=ProtocolErrorCode.MALFORMED_COMMAND_READY
            )
        except RemoteProtocolError:
            self._status = MechanismStatus.ERROR
            raise
        self._ready_received = True
        self._update()

    def _update(self) -> None:
        if self._ready_sent and self._ready_received:
            self._status = MechanismStatus.READY
