"""The PLAIN mechanism (RFC 24), as libzmq encodes it.

Theory of operation
-------------------
::

    C: HELLO  username password      S: (ZAP)  WELCOME
    C: INITIATE metadata             S: READY metadata      (or S: ERROR "400")

* Command names are ZMTP 3 length-prefixed (``\\x05HELLO``), not the RFC's
  space-padded 8-character form (docs/interop.md §5).
* HELLO's body is two length-prefixed strings and **nothing after them**; WELCOME
  is empty; INITIATE and READY carry metadata exactly as NULL's READY.
* Roles come from the constructors: libzmq always sends as-server = 0 and never
  reads the peer's, so neither do we.  Two clients fail with "unexpected
  command"; two servers wait forever (until the handshake timeout).
* The server asks ZAP after HELLO (credentials: username, password) and needs a
  handler: :meth:`~trinq.zmtp.Mechanism.zap_unavailable` fails the handshake
  (:class:`ZapUnavailable`), as libzmq does.
* **libzmq's garbled ERROR.** Since 4.3.0 libzmq spells PLAIN's ERROR prefix as the C
  literal ``"\x05ERROR"``, which C reads as the one octet ``0x5E`` (the hex escape
  swallows the ``E``) followed by ``RROR``: its PLAIN server sends
  ``^RROR`` + reason (``\x04\x09^RROR\x03400``), a command whose name length (94) runs
  past its end, and its PLAIN client recognises *only* that form (a well-formed ERROR
  is an "unexpected command" to it).  NULL and CURVE are not affected ("\5ERROR").
  So: our client accepts both forms; our server sends libzmq's form by default, so
  libzmq 4.3+ clients report ``HANDSHAKE_FAILED_AUTH`` with the status code, and the
  well-formed one with ``PlainServerMechanism(libzmq_error=False)`` (libzmq <= 4.2).

Error codes follow libzmq's ``plain_client.cpp`` / ``plain_server.cpp``: a command
other than the one expected is ``UNEXPECTED_COMMAND`` (``UNSPECIFIED`` when the
server expects nothing at all, waiting for ZAP or after READY); a bad HELLO is
``MALFORMED_COMMAND_HELLO``, a non-empty WELCOME ``MALFORMED_COMMAND_WELCOME``,
bad metadata ``INVALID_METADATA``.
"""

from __future__ import annotations

import enum

from ._commands import command_body, decode_metadata, encode_metadata
from ._errors import ProtocolErrorCode, RemoteProtocolError
from ._mechanism import Mechanism, MechanismStatus
from ._zap import ZapUnavailable

__all__ = ["PlainClientMechanism", "PlainServerMechanism"]

_E = ProtocolErrorCode


def _check_credential(what: str, value: bytes) -> bytes:
    value = bytes(value)
    if len(value) > 255:
        raise ValueError(f"a PLAIN {what} is at most 255 octets, got {len(value)}")
    return value


#: ERROR as libzmq >= 4.3.0's PLAIN sends and expects it (see the module docstring).
_LIBZMQ_ERROR = b"^RROR"


class _Client(enum.Enum):
    SEND_HELLO = 1
    WAIT_WELCOME = 2
    SEND_INITIATE = 3
    WAIT_READY = 4
    READY = 5


class PlainClientMechanism(Mechanism):
    """PLAIN, client side: sends *username* and *password* (each at most 255 octets).

    Raises:
        ValueError: a credential longer than 255 octets.
    """

    name = b"PLAIN"
    #: After the handshake PLAIN frames travel as they are (the NULL fast path).
    transparent = True

    def __init__(self, username: bytes, password: bytes) -> None:
        super().__init__()
        self.username: bytes = _check_credential("username", username)
        self.password: bytes = _check_credential("password", password)
        self._state = _Client.SEND_HELLO

    def next_handshake_command(self) -> bytes | None:
        """HELLO first, INITIATE after WELCOME, else ``None``."""
        state = self._state
        if state is _Client.SEND_HELLO:
            self._state = _Client.WAIT_WELCOME
            user, password = self.username, self.password
            data = bytes((len(user),)) + user + bytes((len(password),)) + password
            return command_body(b"HELLO", data)
        if state is _Client.SEND_INITIATE:
            self._state = _Client.WAIT_READY
            return command_body(b"INITIATE", encode_metadata(self.basic_properties()))
        return None

    def normalize_command(self, body: bytes) -> bytes:
        """Read libzmq 4.3's garbled PLAIN ERROR (``^RROR`` + reason) as an ERROR."""
        if body[:5] == _LIBZMQ_ERROR and len(body) < 95:  # (a 94-octet name cannot fit)
            return b"\x05ERROR" + body[5:]
        return body

    def process_handshake_command(self, name: bytes, body: bytes) -> None:
        """Accept WELCOME (empty) then READY (metadata)."""
        state = self._state
        if name == b"WELCOME" and state is _Client.WAIT_WELCOME:
            if body:
                raise self._protocol_error(
                    "PLAIN WELCOME carries data", _E.MALFORMED_COMMAND_WELCOME
                )
            self._state = _Client.SEND_INITIATE
        elif name == b"READY" and state is _Client.WAIT_READY:
            try:
                props = decode_metadata(body, zmtp_code=_E.INVALID_METADATA)
            except RemoteProtocolError as exc:
                raise self._fail(exc) from None
            self.peer_properties = props
            self._state = _Client.READY
            self._status = MechanismStatus.READY
        else:
            raise self._protocol_error(
                f"unexpected command {name[:32]!r} during the PLAIN handshake",
                _E.UNEXPECTED_COMMAND,
            )


class _Server(enum.Enum):
    WAIT_HELLO = 1
    WAIT_ZAP = 2
    SEND_WELCOME = 3
    WAIT_INITIATE = 4
    SEND_READY = 5
    READY = 6


class PlainServerMechanism(Mechanism):
    """PLAIN, server side: checks the client's credentials with ZAP.

    After HELLO, :attr:`username` and :attr:`password` hold what the client sent.

    Args:
        libzmq_error: send a ZAP refusal (400/500) as libzmq >= 4.3 does,
            ``^RROR`` + reason, which is what libzmq 4.3+ PLAIN clients recognise;
            ``False`` sends the well-formed ERROR command (libzmq <= 4.2, RFC 37).
    """

    name = b"PLAIN"
    transparent = True

    def __init__(self, *, libzmq_error: bool = True) -> None:
        super().__init__()
        self.libzmq_error: bool = libzmq_error
        self.username: bytes | None = None
        self.password: bytes | None = None
        self._state = _Server.WAIT_HELLO

    def next_handshake_command(self) -> bytes | None:
        """WELCOME after ZAP's 200, READY after INITIATE, ERROR after a 400/500."""
        error = self._take_error_body()
        if error is not None:
            # error is b"\x05ERROR" + reason; libzmq 4.3+ garbles the name (see above)
            return _LIBZMQ_ERROR + error[6:] if self.libzmq_error else error
        state = self._state
        if state is _Server.SEND_WELCOME:
            self._state = _Server.WAIT_INITIATE
            return command_body(b"WELCOME")
        if state is _Server.SEND_READY:
            self._state = _Server.READY
            self._status = MechanismStatus.READY
            return command_body(b"READY", encode_metadata(self.basic_properties()))
        return None

    def process_handshake_command(self, name: bytes, body: bytes) -> None:
        """Accept HELLO (then ask ZAP) and INITIATE."""
        state = self._state
        if state is _Server.WAIT_HELLO:
            if name != b"HELLO":
                raise self._protocol_error(
                    f"expected HELLO, got {name[:32]!r}", _E.UNEXPECTED_COMMAND
                )
            self._process_hello(body)
        elif state is _Server.WAIT_INITIATE:
            if name != b"INITIATE":
                raise self._protocol_error(
                    f"expected INITIATE, got {name[:32]!r}", _E.UNEXPECTED_COMMAND
                )
            try:
                props = decode_metadata(body, zmtp_code=_E.INVALID_METADATA)
            except RemoteProtocolError as exc:
                raise self._fail(exc) from None
            self.peer_properties = props
            self._state = _Server.SEND_READY
        else:
            raise self._protocol_error(
                f"unexpected command {name[:32]!r} during the PLAIN handshake", _E.UNSPECIFIED
            )

    def _process_hello(self, body: bytes) -> None:
        n = len(body)
        if n < 1 or n < 1 + body[0]:
            raise self._protocol_error(
                "PLAIN HELLO: missing or truncated username", _E.MALFORMED_COMMAND_HELLO
            )
        end = 1 + body[0]
        if n < end + 1:
            raise self._protocol_error("PLAIN HELLO: missing password", _E.MALFORMED_COMMAND_HELLO)
        if n != end + 1 + body[end]:
            raise self._protocol_error(
                "PLAIN HELLO: truncated password or data after it", _E.MALFORMED_COMMAND_HELLO
            )
        self.username = body[1:end]
        self.password = body[end + 1 :]
        self._state = _Server.WAIT_ZAP
        self._request_zap([self.username, self.password])

    def _zap_accepted(self) -> None:
        self._state = _Server.SEND_WELCOME

    def _zap_no_handler(self) -> None:
        self._fail(
            ZapUnavailable(
                "a PLAIN server needs a ZAP handler on inproc://zeromq.zap.01; none is bound"
            )
        )
