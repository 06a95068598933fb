"""Security mechanisms as message-level state machines (NULL here; PLAIN and CURVE
in ``_plain.py`` and ``_curve.py``).

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
   holds the peer's metadata and the handshake is over.  When it becomes
   ``ERROR`` without an exception from ``process_handshake_command`` (a ZAP
   refusal, below), :attr:`Mechanism.error` says why and the connection fails
   with that error once it has taken the last command (an ERROR, or nothing).
5. After the handshake every frame goes through :meth:`Mechanism.encode` /
   :meth:`Mechanism.decode`.  Mechanisms that do not transform frames set
   :attr:`transparent` so the connection uses its fast path and never calls
   them.  Writers go through :meth:`Mechanism.encode_messages` (whole messages
   to wire octets, framing included), which a mechanism may override with a
   batched implementation (CURVE does).

A mechanism waiting on something external (a ZAP reply, say) returns
``None`` from ``next_handshake_command`` and keeps status ``HANDSHAKING``; the
driver calls :meth:`Connection.data_to_send` again once it has the answer.

ZAP (RFC 27)
------------
Server-side mechanisms ask a ZAP handler about the peer: a PLAIN server after
HELLO, a CURVE server after INITIATE, NULL (either role) right after the
greeting when a ZAP domain is set.  The driver's part, in order:

1. Before the handshake (before the first ``receive_data``), call
   :meth:`Mechanism.configure_zap` with the socket's ZAP domain, the peer's IP
   address (no port) and, if it differs from the connection's ``identity``,
   the socket's routing id.  Without it the domain and address are empty.
2. After every ``events()`` / ``data_to_send()`` during the handshake, call
   :meth:`Mechanism.zap_request`.  It returns the request's frames exactly once
   (REQ form, no delimiter frame; ``None`` otherwise).
3. Send it to the handler bound on ``inproc://zeromq.zap.01`` and pass the
   reply's frames to :meth:`Mechanism.zap_reply`; if no handler is bound, call
   :meth:`Mechanism.zap_unavailable` instead (PLAIN fails; CURVE accepts any
   client key; NULL accepts, as libzmq).  Neither raises for a bad reply: the
   failure is recorded in :attr:`Mechanism.error`.
4. Call :meth:`Connection.data_to_send` and write what it returns (WELCOME or
   READY, or an ERROR whose reason is the bare status code for 400/500,
   nothing for 300), then ``events()`` for the :class:`HandshakeComplete`.  If
   :attr:`Connection.state` is now ``ERROR``, close after writing: the next
   ``events()`` raises :class:`AuthenticationFailure` (status 300/400/500),
   :class:`ZapUnavailable`, or a :class:`RemoteProtocolError` with a ``ZAP_*``
   code for a malformed reply; :meth:`Connection.refusal` returns ``b""`` for
   all of these (libzmq sends nothing more).

After a 200, :attr:`Mechanism.user_id` and :attr:`Mechanism.zap_properties`
(``User-Id`` and the reply's metadata) hold what libzmq attaches to every
received message as properties.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ._commands import decode_metadata, error_body, ready_body
from ._errors import (
    LocalProtocolError,
    ProtocolErrorCode,
    RemoteProtocolError,
)
from ._frames import MORE, BytesLike, encode_frame
from ._sockettypes import IDENTITY_SENDERS
from ._zap import (
    AuthenticationFailure,
    ZapUnavailable,
    build_zap_request,
    parse_zap_reply,
)

__all__ = ["Mechanism", "MechanismStatus", "NullMechanism"]


#: shared by every mechanism configured without metadata (never mutated)
_NO_METADATA: dict[str, bytes] = {}


class MechanismStatus(enum.Enum):
    """Where a mechanism's handshake stands."""

    HANDSHAKING = "handshaking"
    READY = "ready"
    ERROR = "error"


class _Zap(enum.Enum):
    """Where a mechanism's ZAP exchange stands."""

    IDLE = "idle"  # not asked (yet)
    QUEUED = "queued"  # request built, not yet taken by the driver
    WAITING = "waiting"  # request taken, waiting for zap_reply / zap_unavailable
    DONE = "done"  # answered


class Mechanism(abc.ABC):
    """Abstract security mechanism (libzmq ``mechanism_t``).

    Subclasses set :attr:`name` (``b"NULL"``, ``b"PLAIN"``, ``b"CURVE"``) and
    :attr:`as_server`, and implement the two handshake verbs.  Server-side
    subclasses call :meth:`_request_zap` when they need a ZAP answer and
    implement :meth:`_zap_accepted` (and maybe :meth:`_zap_no_handler`).
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
        self.metadata: dict[str, bytes] = _NO_METADATA
        self.peer_properties: dict[str, bytes] = {}
        #: ZAP configuration (see :meth:`configure_zap`).
        self.zap_domain: bytes = b""
        self.peer_address: bytes = b""
        self.zap_identity: bytes | None = None
        self.zap_enforce_domain: bool = False
        #: After a ZAP 200: the user id and the message properties it grants
        #: (``User-Id`` first, then the reply's metadata).
        self.user_id: bytes = b""
        self.zap_properties: dict[str, bytes] = {}
        #: The ZAP reply's status code once one was accepted as well-formed.
        self.zap_status: int | None = None
        #: Why the handshake failed, once :attr:`status` is ``ERROR``.
        self.error: RemoteProtocolError | None = None
        self._status = MechanismStatus.HANDSHAKING
        self._zap = _Zap.IDLE
        self._zap_frames: list[bytes] | None = None
        self._error_body: bytes | None = None

    def configure(self, socket_type: str, identity: bytes, metadata: Mapping[str, bytes]) -> None:
        """Receive our socket type, identity and extra READY metadata."""
        self.socket_type = socket_type
        self.identity = bytes(identity)
        self.metadata = dict(metadata) if metadata else _NO_METADATA

    def configure_zap(
        self,
        domain: str | bytes = b"",
        address: str | bytes = b"",
        *,
        identity: bytes | None = None,
        enforce_domain: bool = False,
    ) -> None:
        """Set what a ZAP request carries (call before the handshake starts).

        Args:
            domain: the socket's ``zap_domain``; for NULL a non-empty domain is
                what turns ZAP on.
            address: the peer's IP address, without the port.
            identity: the socket's own routing id (default: the connection's
                ``identity``).
            enforce_domain: libzmq's ``ZMQ_ZAP_ENFORCE_DOMAIN``: a missing
                handler fails NULL and CURVE too, and a CURVE server with an
                empty domain skips ZAP.
        """
        self.zap_domain = domain.encode() if isinstance(domain, str) else bytes(domain)
        self.peer_address = address.encode() if isinstance(address, str) else bytes(address)
        self.zap_identity = None if identity is None else bytes(identity)
        self.zap_enforce_domain = enforce_domain

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

    def normalize_command(self, body: bytes) -> bytes:
        """Rewrite a received handshake ``command-body`` before it is parsed (default:
        as is).  PLAIN uses it to read libzmq 4.3's garbled ERROR command."""
        return body

    # ------------------------------------------------------------------
    # Post-handshake framing

    def encode(self, flags: int, body: bytes) -> tuple[int, bytes]:
        """Transform one outgoing post-handshake frame (default: identity)."""
        return flags, body

    def decode(self, flags: int, body: bytes) -> tuple[int, bytes]:
        """Transform one incoming post-handshake frame (default: identity)."""
        return flags, body

    #: Optional, set once READY by a mechanism that can decode many frames in one
    #: call (CURVE): ``decode_run(wire, put, assembling, max_more) -> (taken, puts,
    #: exc, msg, assembling)`` decodes ``wire[0]``, ``wire[1]``, ... (each a tuple of
    #: the wire frames of one outer message) while each is one data frame, assembles
    #: multipart messages (continuing ``assembling``, the parts so far, and refusing
    #: to go past ``max_more`` of them: -1 is no limit), hands each whole message (a
    #: tuple) to ``put``, and stops at the first frame it cannot take (left for
    #: :meth:`decode`, which also raises its errors). ``taken`` counts the wire
    #: entries consumed, ``puts`` the messages handed to ``put``; if ``put`` raised,
    #: ``exc`` is what it raised and ``msg`` the message it refused (counted in
    #: ``puts``); the returned ``assembling`` holds the parts of a message not whole
    #: yet.
    decode_run: (
        Callable[[list[Any], Callable[[Any], object], list[bytes], int], tuple[Any, ...]] | None
    ) = None

    def encode_message(self, frames: Sequence[BytesLike]) -> bytes:
        """Wire octets (framing included) for one data message, via :meth:`encode`."""
        if not frames:
            raise ValueError("a ZMTP message has at least one frame")
        encode = self.encode
        last = len(frames) - 1
        return b"".join(
            [
                encode_frame(*encode(MORE if i < last else 0, bytes(frame)))
                for i, frame in enumerate(frames)
            ]
        )

    def encode_messages(self, messages: Iterable[Sequence[BytesLike]]) -> bytes:
        """Wire octets for many data messages, joined once (the writer's batch)."""
        encode_message = self.encode_message
        return b"".join([encode_message(frames) for frames in messages])

    # ------------------------------------------------------------------
    # ZAP: the driver's side

    def zap_request(self) -> list[bytes] | None:
        """The ZAP request to send, exactly once, when the handshake needs it.

        Frames in REQ form (no delimiter).  ``None`` if no request is due.
        """
        if self._zap is not _Zap.QUEUED:
            return None
        self._zap = _Zap.WAITING
        frames = self._zap_frames
        self._zap_frames = None
        return frames

    @property
    def zap_pending(self) -> bool:
        """True from the moment a request is due until it is answered."""
        return self._zap is _Zap.QUEUED or self._zap is _Zap.WAITING

    def zap_reply(self, frames: Sequence[bytes]) -> None:
        """Hand over the handler's reply, as a REQ socket receives it (6 frames).

        A malformed reply or a refusal does not raise here: :attr:`status`
        becomes (or, for 400/500, becomes once the ERROR command is taken)
        ``ERROR`` and :attr:`error` says why.  Then call
        :meth:`Connection.data_to_send`.

        Raises:
            LocalProtocolError: no ZAP request is pending.
        """
        self._zap_answered()
        try:
            reply = parse_zap_reply(frames)
        except RemoteProtocolError as bad:
            self._fail(bad)
            return
        self.zap_status = reply.status_code
        if reply.status_code == 200:
            self.user_id = reply.user_id
            self.zap_properties = reply.properties()
            self._zap_accepted()
            return
        exc = AuthenticationFailure(
            f"ZAP handler refused the peer: {reply.status_code} "
            f"{reply.status_text.decode(errors='replace')}".rstrip(),
            status_code=reply.status_code,
            status_text=reply.status_text,
        )
        if reply.status_code == 300:
            # A temporary failure closes silently (CurveZMQ RFC; libzmq).
            self._fail(exc)
        else:
            self.error = exc
            self._error_body = error_body(str(reply.status_code).encode())

    def zap_unavailable(self) -> None:
        """No ZAP handler is bound: continue as libzmq does for this mechanism.

        Raises:
            LocalProtocolError: no ZAP request is pending.
        """
        self._zap_answered()
        self._zap_no_handler()

    def _zap_answered(self) -> None:
        if not self.zap_pending:
            raise LocalProtocolError("no ZAP request is pending")
        self._zap = _Zap.DONE
        self._zap_frames = None

    # ------------------------------------------------------------------
    # ZAP: the subclasses' side

    def _request_zap(self, credentials: Sequence[bytes] = ()) -> None:
        """Queue the ZAP request for :meth:`zap_request` (once per connection)."""
        identity = self.identity if self.zap_identity is None else self.zap_identity
        self._zap_frames = build_zap_request(
            self.zap_domain, self.peer_address, identity, self.name, credentials
        )
        self._zap = _Zap.QUEUED

    def _zap_accepted(self) -> None:  # noqa: B027 (an optional hook, not abstract)
        """The handler said 200, or no handler is needed: go on with the handshake.

        A hook for the mechanisms that ask ZAP (they override it to move to their next
        state); it is only ever called after :meth:`_request_zap`, so a mechanism that
        never asks (the clients) has nothing to do here."""

    def _zap_no_handler(self) -> None:
        """No handler is bound (default, NULL and CURVE: accept unless enforced)."""
        if self.zap_enforce_domain:
            self._fail(
                ZapUnavailable(
                    "no ZAP handler is bound on inproc://zeromq.zap.01 "
                    "and the ZAP domain is enforced"
                )
            )
        else:
            self._zap_accepted()

    def _take_error_body(self) -> bytes | None:
        """The ERROR command due after a ZAP 400/500, once; the status is ERROR after."""
        body = self._error_body
        if body is not None:
            self._error_body = None
            self._status = MechanismStatus.ERROR
        return body

    def _fail(self, exc: RemoteProtocolError) -> RemoteProtocolError:
        """Record *exc* and move to ``ERROR``; returns *exc* (``raise self._fail(...)``)."""
        self.error = exc
        self._status = MechanismStatus.ERROR
        return exc

    def _protocol_error(self, reason: str, code: ProtocolErrorCode) -> RemoteProtocolError:
        """Fail with a :class:`RemoteProtocolError` carrying libzmq's *code*."""
        return self._fail(RemoteProtocolError(reason, zmtp_code=code))


class NullMechanism(Mechanism):
    """The NULL mechanism: both sides send READY at once (RFC 23/37).

    libzmq's NULL handshake is symmetric (docs/interop.md §3): READY is sent
    immediately in both roles, and the handshake ends when both READYs are
    exchanged.  With a ZAP domain set (:meth:`Mechanism.configure_zap`), our
    READY waits for the ZAP handler's 200 (an ERROR with the status code is sent
    instead for 400/500, nothing for 300).
    """

    name = b"NULL"
    as_server = False
    peer_properties: dict[str, bytes]  # (assigned below; declared for the type checkers)
    transparent = True

    def __init__(self) -> None:
        super().__init__()
        self._ready_sent = False
        self._ready_received = False
        self._zap_ok = False

    def next_handshake_command(self) -> bytes | None:
        """Our READY body the first time, then ``None``."""
        error = self._take_error_body()
        if error is not None:
            return error
        if self._ready_sent or self._status is MechanismStatus.ERROR:
            return None
        if self.zap_domain and not self._zap_ok:
            if self._zap is _Zap.IDLE:
                self._request_zap()
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

    def _zap_accepted(self) -> None:
        self._zap_ok = True

    def _update(self) -> None:
        if self._ready_sent and self._ready_received:
            self._status = MechanismStatus.READY
