"""ZAP (RFC 27) messages, sans-I/O: building requests, parsing replies.

Theory of operation
-------------------
A server-side mechanism (PLAIN server, CURVE server, NULL with a ZAP domain) asks
a ZAP handler, bound on :data:`ZAP_ENDPOINT` in the same process, whether to accept
the peer.  The exchange is one REQ/REP round trip; this module only builds and
checks the frames, the driver moves them (see :class:`~trinq.zmtp.Mechanism`,
"ZAP", for the order of calls).

A request, as libzmq builds it (``src/zap_client.cpp``)::

    "1.0"  "1"  domain  address  identity  mechanism  *credentials

* the request id is always ``"1"`` (one request per connection);
* *address* is the peer's IP address without the port;
* *identity* is the **server socket's own** routing id (not the peer's);
* credentials: PLAIN sends username and password, CURVE the client's 32-octet
  long-term public key, NULL nothing.

The reply::

    "1.0"  "1"  status-code  status-text  user-id  metadata

Frames are given as a REQ socket sends and receives them: **without** the empty
delimiter frame (a DEALER driver adds/strips it; :func:`parse_zap_reply` takes
``with_delimiter=True`` for the 7-frame form, and :func:`parse_zap_request` accepts
a handler's DEALER/ROUTER form too).  A reply libzmq would refuse is a
:class:`RemoteProtocolError` carrying the ``ZAP_*`` :class:`ProtocolErrorCode`
libzmq reports (``HANDSHAKE_FAILED_PROTOCOL``): wrong frame count
(``ZAP_MALFORMED_REPLY``), version (``ZAP_BAD_VERSION``), request id
(``ZAP_BAD_REQUEST_ID``), a status other than exactly 200/300/400/500
(``ZAP_INVALID_STATUS_CODE``), bad metadata (``ZAP_INVALID_METADATA``).

Outcomes of an authentication are exceptions the connection raises (both are
:class:`RemoteProtocolError`, so existing drivers keep working):

* :class:`AuthenticationFailure` -- status 300/400/500 from our handler, or an
  ERROR command carrying a bare ZAP status code from the peer.  Monitor event
  ``HANDSHAKE_FAILED_AUTH`` with :attr:`AuthenticationFailure.status_code`.
* :class:`ZapUnavailable` -- a ZAP handler is required (PLAIN server, or
  ``enforce_domain``) but none is bound.  libzmq reports
  ``HANDSHAKE_FAILED_NO_DETAIL`` with ``EFAULT`` and closes silently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from ._commands import decode_metadata, encode_metadata
from ._errors import ProtocolErrorCode, RemoteProtocolError

__all__ = [
    "ZAP_ENDPOINT",
    "ZAP_VERSION",
    "AuthenticationFailure",
    "ZapReply",
    "ZapRequest",
    "ZapUnavailable",
    "build_zap_reply",
    "build_zap_request",
    "parse_zap_reply",
    "parse_zap_request",
]

#: Where a ZAP handler binds (RFC 27).
ZAP_ENDPOINT = "inproc://zeromq.zap.01"
#: The version frame of every ZAP request and reply.
ZAP_VERSION = b"1.0"
#: The request id libzmq always uses.
_REQUEST_ID = b"1"
_STATUS_CODES = {b"200": 200, b"300": 300, b"400": 400, b"500": 500}


class AuthenticationFailure(RemoteProtocolError):
    """The handshake was refused for authentication reasons (``HANDSHAKE_FAILED_AUTH``).

    Raised by the server-side connection when its ZAP handler answered 300, 400 or
    500 (400/500 have sent an ERROR command whose reason is the bare status code;
    300 closes silently), and by the client side when it receives such an ERROR.

    Attributes:
        status_code: 300, 400 or 500 (the monitor event's value).
        status_text: the handler's status text (``b""`` when received as ERROR).
    """

    status_code: int
    status_text: bytes

    def __init__(
        self,
        reason: str,
        *,
        status_code: int,
        status_text: bytes = b"",
        peer_error: bytes | None = None,
    ) -> None:
        super().__init__(reason, peer_error=peer_error, is_auth_failure=True)
        self.status_code = status_code
        self.status_text = status_text


class ZapUnavailable(RemoteProtocolError):
    """No ZAP handler is bound but this mechanism needs one (libzmq: EFAULT).

    A PLAIN server always needs one; NULL and CURVE servers only with
    ``enforce_domain`` (libzmq's ``ZMQ_ZAP_ENFORCE_DOMAIN``).  libzmq reports
    ``HANDSHAKE_FAILED_NO_DETAIL`` with errno ``EFAULT`` and closes silently.
    """


def _as_bytes(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)


@attrs.frozen
class ZapRequest:
    """A decoded ZAP request (what a handler receives).

    Attributes:
        domain: the server socket's ZAP domain.
        address: the peer's IP address (no port).
        identity: the server socket's own routing id.
        mechanism: ``b"NULL"``, ``b"PLAIN"`` or ``b"CURVE"``.
        credentials: PLAIN: (username, password); CURVE: (32-octet public key,);
            NULL: ().
        request_id: echoed in the reply (libzmq sends ``b"1"``).
        version: ``b"1.0"``.
    """

    domain: bytes
    address: bytes
    identity: bytes
    mechanism: bytes
    credentials: tuple[bytes, ...] = ()
    request_id: bytes = _REQUEST_ID
    version: bytes = ZAP_VERSION

    def frames(self) -> list[bytes]:
        """The request's frames (REQ form: no delimiter)."""
        return [
            self.version,
            self.request_id,
            self.domain,
            self.address,
            self.identity,
            self.mechanism,
            *self.credentials,
        ]


@attrs.frozen
class ZapReply:
    """A decoded ZAP reply.

    Attributes:
        status_code: 200 (accept), 300 (temporary failure), 400 (refused), 500
            (handler error).
        status_text: free text.
        user_id: the authenticated user (libzmq exposes it as the ``User-Id``
            message property).
        metadata: extra message properties granted by the handler.
        request_id: as echoed by the handler.
    """

    status_code: int
    status_text: bytes = b""
    user_id: bytes = b""
    metadata: dict[str, bytes] = attrs.field(factory=dict, hash=False)
    request_id: bytes = _REQUEST_ID

    @property
    def accepted(self) -> bool:
        """True for status 200."""
        return self.status_code == 200

    def properties(self) -> dict[str, bytes]:
        """Message properties as libzmq derives them: ``User-Id`` first, then the
        metadata (a ``User-Id`` in the metadata does not override the user id)."""
        props = {"User-Id": self.user_id}
        for name, value in self.metadata.items():
            props.setdefault(name, value)
        return props

    def frames(self) -> list[bytes]:
        """The reply's frames (REP form: no delimiter)."""
        return build_zap_reply(
            self.status_code, self.status_text, self.user_id, self.metadata, self.request_id
        )


def build_zap_request(
    domain: str | bytes,
    address: str | bytes,
    identity: bytes,
    mechanism: bytes,
    credentials: Sequence[bytes] = (),
) -> list[bytes]:
    """The frames of a ZAP request, as libzmq builds them (no delimiter frame).

    A driver sending on a DEALER socket puts ``b""`` in front.
    """
    return [
        ZAP_VERSION,
        _REQUEST_ID,
        _as_bytes(domain),
        _as_bytes(address),
        bytes(identity),
        bytes(mechanism),
        *(bytes(c) for c in credentials),
    ]


def parse_zap_request(frames: Sequence[bytes]) -> ZapRequest:
    """Decode a ZAP request (handler side; REQ form, or DEALER/ROUTER with ``b""`` first).

    Raises:
        ValueError: fewer than 6 frames, or a version other than ``1.0``.
    """
    frames = [bytes(f) for f in frames]
    if len(frames) >= 7 and frames[0] == b"" and frames[1] == ZAP_VERSION:
        frames = frames[1:]
    if len(frames) < 6:
        raise ValueError(f"a ZAP request has at least 6 frames, got {len(frames)}")
    version, request_id, domain, address, identity, mechanism, *credentials = frames
    if version != ZAP_VERSION:
        raise ValueError(f"unsupported ZAP version {version!r}")
    return ZapRequest(
        domain=domain,
        address=address,
        identity=identity,
        mechanism=mechanism,
        credentials=tuple(credentials),
        request_id=request_id,
        version=version,
    )


def build_zap_reply(
    status_code: int | str | bytes,
    status_text: str | bytes = b"",
    user_id: str | bytes = b"",
    metadata: Mapping[str, bytes] | None = None,
    request_id: bytes = _REQUEST_ID,
) -> list[bytes]:
    """The frames of a ZAP reply (REP form: no delimiter frame)."""
    code = str(status_code).encode() if isinstance(status_code, int) else _as_bytes(status_code)
    return [
        ZAP_VERSION,
        bytes(request_id),
        code,
        _as_bytes(status_text),
        _as_bytes(user_id),
        encode_metadata(metadata or {}),
    ]


def _bad_reply(reason: str, code: ProtocolErrorCode) -> RemoteProtocolError:
    return RemoteProtocolError(f"invalid ZAP reply: {reason}", zmtp_code=code)


def parse_zap_reply(
    frames: Sequence[bytes], request_id: bytes = _REQUEST_ID, *, with_delimiter: bool = False
) -> ZapReply:
    """Decode and check a ZAP reply as libzmq does (``zap_client_t``).

    *frames*: the 6 frames a REQ socket receives, or with ``with_delimiter=True`` the 7
    a DEALER receives (the empty delimiter first).

    Raises:
        RemoteProtocolError: with ``zmtp_code`` ``ZAP_MALFORMED_REPLY`` (frame
            count), ``ZAP_UNSPECIFIED`` (non-empty delimiter), ``ZAP_BAD_VERSION``,
            ``ZAP_BAD_REQUEST_ID``, ``ZAP_INVALID_STATUS_CODE`` or
            ``ZAP_INVALID_METADATA``.
    """
    frames = [bytes(f) for f in frames]
    expected = 7 if with_delimiter else 6
    if len(frames) != expected:
        raise _bad_reply(
            f"{len(frames)} frames instead of {expected}", ProtocolErrorCode.ZAP_MALFORMED_REPLY
        )
    if with_delimiter:
        if frames[0]:
            raise _bad_reply("non-empty delimiter frame", ProtocolErrorCode.ZAP_UNSPECIFIED)
        frames = frames[1:]
    version, rid, status, text, user_id, metadata = frames
    if version != ZAP_VERSION:
        raise _bad_reply(f"version {version[:16]!r}", ProtocolErrorCode.ZAP_BAD_VERSION)
    if rid != request_id:
        raise _bad_reply(f"request id {rid[:16]!r}", ProtocolErrorCode.ZAP_BAD_REQUEST_ID)
    code = _STATUS_CODES.get(status)
    if code is None:
        raise _bad_reply(f"status code {status[:16]!r}", ProtocolErrorCode.ZAP_INVALID_STATUS_CODE)
    props = decode_metadata(metadata, zmtp_code=ProtocolErrorCode.ZAP_INVALID_METADATA)
    return ZapReply(
        status_code=code, status_text=text, user_id=user_id, metadata=props, request_id=rid
    )
