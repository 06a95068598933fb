"""The socket-option table: names, libzmq ids, types, defaults, units and validation.

One :class:`OptionSpec` per option, in :data:`OPTIONS` (by lowercase libzmq name) and
:data:`BY_ID` (by libzmq number). :class:`Options` is the mutable per-socket holder: a
``__slots__`` object with one attribute per option, so hot paths read ``opts.sndhwm``
as a plain attribute, while every write goes through :meth:`Options.set`, which
validates exactly once.

Rules (libzmq 4.3.5 semantics unless a spec's ``doc`` says otherwise):

* Every invalid value raises ``ZMQError(EINVAL, "invalid value for option 'NAME':
  VALUE (reason)")``; an unknown name or id raises ``ZMQError(EINVAL, "unknown socket
  option ...")``.
* int options accept ``int`` (and anything with ``__index__``, including ``bool``, as
  pyzmq does); floats and strings are refused.
* bool options accept ``True``/``False``/``0``/``1`` and store a ``bool``.
* bytes options accept ``bytes``/``bytearray``/``memoryview`` and ``str`` (UTF-8).
* CURVE keys accept 32 raw bytes or 40 Z85 characters (str or bytes); 32 raw bytes are
  stored.
* Read-only options (``type``, ``mechanism``, ``rcvmore``, ``events``,
  ``last_endpoint``) refuse :meth:`Options.set`; the socket updates them by plain
  attribute assignment. Write-only options (``subscribe``, ``unsubscribe``,
  ``connect_routing_id``) refuse :meth:`Options.get`.
* As in libzmq, setting a PLAIN or CURVE option selects the security mechanism and
  role: see :meth:`Options.set`.
"""

from __future__ import annotations

import difflib
import operator
import ssl
from collections.abc import Callable
from typing import Any

import attrs

from . import _constants as C
from . import _z85
from ._errors import ZMQError

__all__ = [
    "BY_ID",
    "MECHANISM_OPTIONS",
    "OPTIONS",
    "TYPE_DEFAULTS",
    "OptionSpec",
    "Options",
    "lookup",
]


def _invalid(name: str, value: Any, reason: str) -> ZMQError:
    """Build the EINVAL error every validator raises."""
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return ZMQError(C.EINVAL, f"invalid value for option {name!r}: {shown} ({reason})")


# ---------------------------------------------------------------------------
# Validators: callables (name, coerced value) -> value to store; str() describes them.
# ---------------------------------------------------------------------------


@attrs.frozen
class IntRange:
    """Accept ``min <= value <= max`` (either bound may be ``None``)."""

    min: int | None = None
    max: int | None = None

    def __call__(self, name: str, value: int) -> int:
        if self.min is not None and value < self.min:
            raise _invalid(name, value, f"must be >= {self.min}")
        if self.max is not None and value > self.max:
            raise _invalid(name, value, f"must be <= {self.max}")
        return value

    def __str__(self) -> str:
        if self.min is not None and self.max is not None:
            return f"{self.min} ≤ value ≤ {self.max}"
        if self.min is not None:
            return f"≥ {self.min}"
        if self.max is not None:
            return f"≤ {self.max}"
        return "any integer"


@attrs.frozen
class OneOf:
    """Accept one of a fixed set of integers."""

    values: tuple[int, ...]

    def __call__(self, name: str, value: int) -> int:
        if value not in self.values:
            choices = ", ".join(map(str, self.values))
            raise _invalid(name, value, f"must be one of {choices}")
        return value

    def __str__(self) -> str:
        return "one of " + ", ".join(map(str, self.values))


@attrs.frozen
class BytesLength:
    """Accept byte strings with ``min <= len(value) <= max``."""

    min: int = 0
    max: int | None = None

    def __call__(self, name: str, value: bytes) -> bytes:
        if len(value) < self.min:
            raise _invalid(name, value, f"length must be >= {self.min}")
        if self.max is not None and len(value) > self.max:
            raise _invalid(name, value, f"length must be <= {self.max}")
        return value

    def __str__(self) -> str:
        if self.max is None:
            return "any length" if self.min == 0 else f"length ≥ {self.min}"
        return f"length {self.min}..{self.max}"


@attrs.frozen
class CurveKey:
    """Accept a CURVE key as 32 raw bytes or 40 Z85 characters; store 32 raw bytes."""

    def __call__(self, name: str, value: bytes) -> bytes:
        if len(value) == 32:
            return value
        if len(value) == 40:
            try:
                return _z85.decode(value)
            except ValueError as exc:
                raise _invalid(name, value, str(exc)) from None
        raise _invalid(name, value, "a CURVE key is 32 raw bytes or 40 Z85 characters")

    def __str__(self) -> str:
        return "32 raw bytes or 40 Z85 chars"


@attrs.frozen
class DecisecondTruncate:
    """Accept ``0..max`` ms and truncate to whole deciseconds, as libzmq stores it."""

    max: int

    def __call__(self, name: str, value: int) -> int:
        if not 0 <= value <= self.max:
            raise _invalid(name, value, f"must be between 0 and {self.max}")
        return value - value % 100

    def __str__(self) -> str:
        return f"0 ≤ value ≤ {self.max}; truncated to a multiple of 100"


@attrs.frozen
class NoCheck:
    """Accept any value of the option's kind."""

    def __call__(self, name: str, value: Any) -> Any:
        return value

    def __str__(self) -> str:
        return "—"


@attrs.frozen
class SSLContextOrNone:
    """Accept an ``ssl.SSLContext`` or None (the ``wss_ssl_context`` option)."""

    def __call__(self, name: str, value: Any) -> Any:
        if value is not None and not isinstance(value, ssl.SSLContext):
            raise _invalid(name, value, "expected an ssl.SSLContext or None")
        return value

    def __str__(self) -> str:
        return "an ssl.SSLContext or None"


Validator = Callable[[str, Any], Any]


# ---------------------------------------------------------------------------
# Coercion by kind
# ---------------------------------------------------------------------------


def _coerce_int(name: str, value: Any) -> int:
    if isinstance(value, (str, bytes, bytearray, memoryview)):
        raise _invalid(name, value, "expected an int")
    try:
        return operator.index(value)
    except TypeError:
        raise _invalid(name, value, "expected an int") from None


def _coerce_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise _invalid(name, value, "expected a bool or 0/1")


def _coerce_bytes(name: str, value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        try:
            return value.encode("utf-8")
        except UnicodeEncodeError:
            raise _invalid(name, value, "a str must be encodable as UTF-8") from None
    raise _invalid(name, value, "expected bytes or str")


def _coerce_str(name: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise _invalid(name, value, "bytes must be UTF-8") from None
    raise _invalid(name, value, "expected str")


_COERCE: dict[type, Callable[[str, Any], Any]] = {
    int: _coerce_int,
    bool: _coerce_bool,
    bytes: _coerce_bytes,
    str: _coerce_str,
    object: lambda name, value: value,  # the validator checks (wss_ssl_context)
}


@attrs.frozen
class OptionSpec:
    """Static description of one socket option.

    Attributes:
      name: lowercase libzmq name without ``ZMQ_`` (``"sndhwm"``).
      id: libzmq's option number (``ZMQ_SNDHWM == 23``).
      kind: ``int``, ``bool``, ``bytes`` or ``str`` (``object`` for ``wss_ssl_context``,
        whose validator checks it).
      default: value of a fresh socket (libzmq's, unless ``doc`` says otherwise).
      unit: ``"messages"``, ``"ms"``, ``"s"``, ``"bytes"``, … or ``""``.
      doc: one-paragraph meaning, including any difference from libzmq.
      validator: ``(name, coerced_value) -> value_to_store``; raises ``ZMQError(EINVAL)``.
      writable: ``False`` for read-only options.
      readable: ``False`` for write-only options.
      aliases: other accepted names (``identity`` for ``routing_id``).
      draft: ``True`` for options that libzmq only has in DRAFT builds.
    """

    name: str
    id: int
    kind: type
    default: Any
    unit: str
    doc: str
    validator: Validator = attrs.field(factory=NoCheck)
    writable: bool = True
    readable: bool = True
    aliases: tuple[str, ...] = ()
    draft: bool = False

    def coerce(self, value: Any) -> Any:
        """Return ``value`` converted and validated for this option (does not check
        ``writable``). Raises ``ZMQError(EINVAL)`` naming the option."""
        return self.validator(self.name, _COERCE[self.kind](self.name, value))

    @property
    def validation(self) -> str:
        """Human description of the accepted values (used by docs/options.md)."""
        if self.kind is bool:
            return "True/False or 0/1"
        return str(self.validator)


_NONNEG = IntRange(0)
_MINUS1 = IntRange(-1)
_ID = BytesLength(1, 255)
_SHORT = BytesLength(0, 255)
_KEY = CurveKey()

_SPECS: tuple[OptionSpec, ...] = (
    # --- queues and flow control -------------------------------------------------
    OptionSpec(
        "sndhwm",
        C.SNDHWM,
        int,
        1000,
        "messages",
        "Outgoing high-water mark per peer pipe, in whole messages. 0 = unbounded.",
        _NONNEG,
    ),
    OptionSpec(
        "rcvhwm",
        C.RCVHWM,
        int,
        1000,
        "messages",
        "Incoming high-water mark per peer pipe, in whole messages. 0 = unbounded.",
        _NONNEG,
    ),
    OptionSpec(
        "conflate",
        C.CONFLATE,
        bool,
        False,
        "",
        "Keep only the last message in each queue (PUB/SUB/PUSH/PULL/PAIR/DEALER); "
        "multipart messages are not supported.",
    ),
    OptionSpec(
        "maxmsgsize",
        C.MAXMSGSIZE,
        int,
        -1,
        "bytes",
        "Largest accepted inbound frame, and multipart message (its frames together); a "
        "peer that exceeds it is disconnected. -1 = no limit. libzmq checks frames only, "
        "and accepts any negative value as 'no limit'; trinq accepts only -1.",
        _MINUS1,
    ),
    OptionSpec(
        "sndtimeo",
        C.SNDTIMEO,
        int,
        -1,
        "ms",
        "How long send() waits before raising Again. -1 = forever, 0 = never wait.",
        _MINUS1,
    ),
    OptionSpec(
        "rcvtimeo",
        C.RCVTIMEO,
        int,
        -1,
        "ms",
        "How long recv() waits before raising Again. -1 = forever, 0 = never wait.",
        _MINUS1,
    ),
    OptionSpec(
        "linger",
        C.LINGER,
        int,
        -1,
        "ms",
        "How long close() keeps delivering queued outgoing messages. -1 = until delivered"
        " (libzmq 4.x default; SUB, XSUB and DISH start at 0), 0 = drop at once.",
        _MINUS1,
    ),
    OptionSpec(
        "immediate",
        C.IMMEDIATE,
        bool,
        False,
        "",
        "Queue messages only to completed connections (no pipe is created for a pending connect).",
        aliases=("delay_attach_on_connect",),
    ),
    OptionSpec(
        "busy_poll",
        C.BUSY_POLL,
        int,
        50,
        "µs",
        "How long a receive that finds nothing polls its connection before it sleeps, when"
        " no other task of the trio run is ready (REQ, REP, DEALER, ROUTER, PAIR with a"
        " single peer, whose receiver reads the connection itself). Adaptive: after polls"
        " that found nothing, up to 64 receives sleep at once. 0 = always sleep at once."
        " libzmq (draft) sets SO_BUSY_POLL instead, default 0: see docs/design.md.",
        _NONNEG,
        draft=True,
    ),
    # --- identity and routing ----------------------------------------------------
    OptionSpec(
        "routing_id",
        C.ROUTING_ID,
        bytes,
        b"",
        "",
        "This socket's routing id, sent to peers in READY (`Identity`). Empty = none. Set"
        " before bind/connect.",
        _ID,
        aliases=("identity",),
    ),
    OptionSpec(
        "connect_routing_id",
        C.CONNECT_ROUTING_ID,
        bytes,
        b"",
        "",
        "Routing id to assign to the peer of the next connect() (ROUTER, STREAM). "
        "Consumed by that connect.",
        _ID,
        readable=False,
        aliases=("connect_rid",),
    ),
    OptionSpec(
        "router_mandatory",
        C.ROUTER_MANDATORY,
        bool,
        False,
        "",
        "ROUTER: sending to an unknown routing id raises EHOSTUNREACH instead of "
        "dropping; a full peer makes send wait (or raise Again). libzmq treats any non-"
        "zero int as true; trinq accepts 0/1 only.",
        aliases=("router_behavior", "fail_unroutable"),
    ),
    OptionSpec(
        "router_handover",
        C.ROUTER_HANDOVER,
        bool,
        False,
        "",
        "ROUTER: a new peer with an already-used routing id takes it over (the old one is"
        " disconnected) instead of being refused.",
    ),
    OptionSpec(
        "probe_router",
        C.PROBE_ROUTER,
        bool,
        False,
        "",
        "ROUTER/DEALER/REQ: send an empty message to each peer on connect.",
    ),
    OptionSpec(
        "router_notify",
        C.ROUTER_NOTIFY,
        int,
        0,
        "",
        "ROUTER (libzmq draft): deliver an empty message with the peer's routing id on "
        "connect (1), disconnect (2) or both (3).",
        IntRange(0, 3),
        draft=True,
    ),
    OptionSpec(
        "req_correlate",
        C.REQ_CORRELATE,
        bool,
        False,
        "",
        "REQ: prefix requests with a request id and drop replies that do not match.",
    ),
    OptionSpec(
        "req_relaxed",
        C.REQ_RELAXED,
        bool,
        False,
        "",
        "REQ: allow a new request before the reply arrived (the old reply is discarded); "
        "usually with req_correlate.",
    ),
    # --- publish/subscribe -------------------------------------------------------
    OptionSpec(
        "subscribe",
        C.SUBSCRIBE,
        bytes,
        b"",
        "",
        "SUB/XSUB: add a topic prefix (write-only; b'' subscribes to everything).",
        readable=False,
    ),
    OptionSpec(
        "unsubscribe",
        C.UNSUBSCRIBE,
        bytes,
        b"",
        "",
        "SUB/XSUB: remove one earlier subscription to this prefix (write-only).",
        readable=False,
    ),
    OptionSpec(
        "xpub_verbose",
        C.XPUB_VERBOSE,
        bool,
        False,
        "",
        "XPUB: pass every subscribe message upstream, not only the first for a topic.",
    ),
    OptionSpec(
        "xpub_verboser",
        C.XPUB_VERBOSER,
        bool,
        False,
        "",
        "XPUB: pass every subscribe and unsubscribe message upstream.",
    ),
    OptionSpec(
        "xpub_manual",
        C.XPUB_MANUAL,
        bool,
        False,
        "",
        "XPUB: the application manages subscriptions by sending subscribe/unsubscribe "
        "through the socket.",
    ),
    OptionSpec(
        "xpub_nodrop",
        C.XPUB_NODROP,
        bool,
        False,
        "",
        "XPUB/PUB: a full peer makes send wait (or raise Again) instead of dropping.",
    ),
    OptionSpec(
        "xpub_welcome_msg",
        C.XPUB_WELCOME_MSG,
        bytes,
        b"",
        "",
        "XPUB: message sent to each new subscriber on connect. Empty = none.",
    ),
    OptionSpec(
        "invert_matching",
        C.INVERT_MATCHING,
        bool,
        False,
        "",
        "PUB/XPUB/SUB: deliver messages that do NOT match a subscription. Both ends must agree.",
    ),
    OptionSpec(
        "only_first_subscribe",
        C.ONLY_FIRST_SUBSCRIBE,
        bool,
        False,
        "",
        "XPUB/XSUB (libzmq draft): treat only the first frame of a multipart message as a"
        " (un)subscription.",
        draft=True,
    ),
    OptionSpec(
        "xsub_verbose_unsubscribe",
        C.XSUB_VERBOSE_UNSUBSCRIBE,
        bool,
        False,
        "",
        "XSUB (libzmq draft): forward every unsubscribe upstream, not only the last.",
        draft=True,
    ),
    # --- connection lifecycle ----------------------------------------------------
    OptionSpec(
        "reconnect_ivl",
        C.RECONNECT_IVL,
        int,
        100,
        "ms",
        "Delay before reconnecting a lost or refused connection. -1 = do not reconnect.",
        _MINUS1,
    ),
    OptionSpec(
        "reconnect_ivl_max",
        C.RECONNECT_IVL_MAX,
        int,
        0,
        "ms",
        "Upper bound for exponential reconnect backoff. 0 = no backoff: always wait reconnect_ivl.",
        _NONNEG,
    ),
    OptionSpec(
        "connect_timeout",
        C.CONNECT_TIMEOUT,
        int,
        0,
        "ms",
        "Give up a TCP connect attempt after this long (then reconnect as usual). 0 = OS default.",
        _NONNEG,
    ),
    OptionSpec(
        "handshake_ivl",
        C.HANDSHAKE_IVL,
        int,
        30000,
        "ms",
        "Maximum time for the ZMTP handshake (greeting, mechanism, READY). 0 = no limit.",
        _NONNEG,
    ),
    OptionSpec(
        "heartbeat_ivl",
        C.HEARTBEAT_IVL,
        int,
        0,
        "ms",
        "Send a ZMTP PING every this many ms once the handshake is done. 0 = off.",
        _NONNEG,
    ),
    OptionSpec(
        "heartbeat_ttl",
        C.HEARTBEAT_TTL,
        int,
        0,
        "ms",
        "TTL announced in our PINGs: the peer may drop us after this long without "
        "traffic. Stored truncated to deciseconds, as libzmq does. libzmq peers mishandle"
        " values above 65500 ms (16-bit wrap, libzmq#4226): accepted, but avoid them.",
        DecisecondTruncate(6553599),
    ),
    OptionSpec(
        "heartbeat_timeout",
        C.HEARTBEAT_TIMEOUT,
        int,
        -1,
        "ms",
        "Drop the connection if nothing arrives this long after a PING. -1 = use "
        "heartbeat_ivl. libzmq refuses setting -1 (but reads it as the default); trinq "
        "accepts it to restore the default.",
        _MINUS1,
    ),
    # --- transport ---------------------------------------------------------------
    OptionSpec(
        "backlog",
        C.BACKLOG,
        int,
        100,
        "connections",
        "listen() backlog for tcp/ipc binds.",
        _NONNEG,
    ),
    OptionSpec(
        "sndbuf",
        C.SNDBUF,
        int,
        -1,
        "bytes",
        "Kernel SO_SNDBUF. -1 = OS default.",
        _MINUS1,
    ),
    OptionSpec(
        "rcvbuf",
        C.RCVBUF,
        int,
        -1,
        "bytes",
        "Kernel SO_RCVBUF. -1 = OS default.",
        _MINUS1,
    ),
    OptionSpec(
        "tos",
        C.TOS,
        int,
        0,
        "",
        "IP type-of-service / DSCP byte for tcp connections.",
        _NONNEG,
    ),
    OptionSpec(
        "ipv6",
        C.IPV6,
        bool,
        False,
        "",
        "Allow IPv6 on tcp endpoints (and resolve names to IPv6).",
    ),
    OptionSpec(
        "tcp_keepalive",
        C.TCP_KEEPALIVE,
        int,
        -1,
        "",
        "SO_KEEPALIVE: 1 on, 0 off, -1 OS default.",
        OneOf((-1, 0, 1)),
    ),
    OptionSpec(
        "tcp_keepalive_cnt",
        C.TCP_KEEPALIVE_CNT,
        int,
        -1,
        "probes",
        "TCP_KEEPCNT. -1 = OS default.",
        _MINUS1,
    ),
    OptionSpec(
        "tcp_keepalive_idle",
        C.TCP_KEEPALIVE_IDLE,
        int,
        -1,
        "s",
        "TCP_KEEPIDLE. -1 = OS default.",
        _MINUS1,
    ),
    OptionSpec(
        "tcp_keepalive_intvl",
        C.TCP_KEEPALIVE_INTVL,
        int,
        -1,
        "s",
        "TCP_KEEPINTVL. -1 = OS default.",
        _MINUS1,
    ),
    OptionSpec(
        "tcp_maxrt",
        C.TCP_MAXRT,
        int,
        0,
        "ms",
        "TCP_USER_TIMEOUT (max retransmission time). 0 = OS default.",
        _NONNEG,
    ),
    OptionSpec(
        "multicast_hops",
        C.MULTICAST_HOPS,
        int,
        1,
        "hops",
        "udp multicast from a RADIO: the datagrams' TTL (IP_MULTICAST_TTL, "
        "IPV6_MULTICAST_HOPS). 1 = this subnet only. libzmq accepts any value > 0 (the "
        "kernel refuses those above 255); trinq accepts 1..255.",
        IntRange(1, 255),
    ),
    OptionSpec(
        "multicast_loop",
        C.MULTICAST_LOOP,
        bool,
        True,
        "",
        "udp multicast from a RADIO (libzmq draft): deliver the datagrams to DISHes on "
        "this host too (IP_MULTICAST_LOOP; what is sent out of the loopback interface "
        "comes back regardless). libzmq treats any non-zero int as true; trinq accepts 0/1"
        " only.",
        draft=True,
    ),
    OptionSpec(
        "affinity",
        C.AFFINITY,
        int,
        0,
        "",
        "libzmq I/O-thread affinity bitmask. Accepted and stored for compatibility; trinq"
        " has no I/O threads and ignores it.",
        IntRange(-(2**63), 2**64 - 1),
    ),
    # --- WebSocket: wss:// (libzmq draft numbers; trinq always has them) ----------
    OptionSpec(
        "wss_key_pem",
        C.WSS_KEY_PEM,
        bytes,
        b"",
        "",
        "wss bind: the server's private key, PEM text (str or bytes). Set with "
        "wss_cert_pem before bind(). libzmq makes the wss_* options write-only; trinq "
        "reads them back too.",
        draft=True,
    ),
    OptionSpec(
        "wss_cert_pem",
        C.WSS_CERT_PEM,
        bytes,
        b"",
        "",
        "wss bind: the server's certificate chain, PEM text (str or bytes).",
        draft=True,
    ),
    OptionSpec(
        "wss_trust_pem",
        C.WSS_TRUST_PEM,
        bytes,
        b"",
        "",
        "wss connect: the certificate authorities to trust, PEM text (str or bytes).",
        draft=True,
    ),
    OptionSpec(
        "wss_hostname",
        C.WSS_HOSTNAME,
        str,
        "",
        "",
        "wss connect: the name the server's certificate must carry (and the TLS SNI). "
        "Empty = the endpoint's host; libzmq checks no name when it is empty.",
        draft=True,
    ),
    OptionSpec(
        "wss_trust_system",
        C.WSS_TRUST_SYSTEM,
        bool,
        False,
        "",
        "wss connect: also trust the system's certificate authorities.",
        draft=True,
    ),
    OptionSpec(
        "wss_ssl_context",
        C.WSS_SSL_CONTEXT,  # trinq's own (no libzmq number)
        object,
        None,
        "",
        "trinq addition: an ssl.SSLContext for wss, used as is instead of the wss_*_pem "
        "options (a server-side context for bind(), a client-side one for connect()). "
        "None = build one from the wss_* options.",
        SSLContextOrNone(),
    ),
    # --- security ----------------------------------------------------------------
    OptionSpec(
        "plain_server",
        C.PLAIN_SERVER,
        bool,
        False,
        "",
        "Act as PLAIN server. True selects PLAIN; False selects NULL (as libzmq).",
    ),
    OptionSpec(
        "plain_username",
        C.PLAIN_USERNAME,
        bytes,
        b"",
        "",
        "PLAIN client username. Non-empty selects PLAIN as client; empty selects NULL.",
        _SHORT,
    ),
    OptionSpec(
        "plain_password",
        C.PLAIN_PASSWORD,
        bytes,
        b"",
        "",
        "PLAIN client password. Non-empty selects PLAIN as client; empty selects NULL.",
        _SHORT,
    ),
    OptionSpec(
        "curve_server",
        C.CURVE_SERVER,
        bool,
        False,
        "",
        "Act as CURVE server (needs curve_secretkey). True selects CURVE; False selects "
        "NULL (as libzmq).",
    ),
    OptionSpec(
        "curve_publickey",
        C.CURVE_PUBLICKEY,
        bytes,
        b"",
        "",
        "This socket's long-term CURVE public key; selects CURVE. Empty = not set (libzmq"
        " reads 32 zero bytes).",
        _KEY,
    ),
    OptionSpec(
        "curve_secretkey",
        C.CURVE_SECRETKEY,
        bytes,
        b"",
        "",
        "This socket's long-term CURVE secret key; selects CURVE. Empty = not set.",
        _KEY,
    ),
    OptionSpec(
        "curve_serverkey",
        C.CURVE_SERVERKEY,
        bytes,
        b"",
        "",
        "The server's public key; selects CURVE as client. Empty = not set.",
        _KEY,
    ),
    OptionSpec(
        "zap_domain",
        C.ZAP_DOMAIN,
        bytes,
        b"",
        "",
        "ZAP authentication domain sent with each request to the ZAP handler.",
        _SHORT,
    ),
    OptionSpec(
        "mechanism",
        C.MECHANISM,
        int,
        C.NULL,
        "",
        "Current security mechanism: 0 NULL, 1 PLAIN, 2 CURVE. Follows the "
        "plain_*/curve_* options.",
        writable=False,
    ),
    # --- read-only state ---------------------------------------------------------
    OptionSpec(
        "type",
        C.TYPE,
        int,
        -1,
        "",
        "The socket type (a trinq.SocketType value); -1 on an Options not attached to a socket.",
        writable=False,
    ),
    OptionSpec(
        "last_endpoint",
        C.LAST_ENDPOINT,
        str,
        "",
        "",
        "The last endpoint bound or connected, resolved (tcp://127.0.0.1:41234).",
        writable=False,
    ),
    OptionSpec(
        "rcvmore",
        C.RCVMORE,
        bool,
        False,
        "",
        "True while more frames of the current message can be received frame by frame.",
        writable=False,
    ),
    OptionSpec(
        "events",
        C.EVENTS,
        int,
        0,
        "",
        "POLLIN (1) | POLLOUT (2) readiness bits, computed by the socket.",
        writable=False,
    ),
)

#: Every option by its lowercase libzmq name (aliases are not keys; see :func:`lookup`).
OPTIONS: dict[str, OptionSpec] = {spec.name: spec for spec in _SPECS}
#: Every option by its libzmq number.
BY_ID: dict[int, OptionSpec] = {spec.id: spec for spec in _SPECS}
_BY_NAME: dict[str, OptionSpec] = {
    **{alias: spec for spec in _SPECS for alias in spec.aliases},
    **OPTIONS,
}


def lookup(name_or_id: str | int) -> OptionSpec:
    """Return the :class:`OptionSpec` for a name (any case, aliases too) or libzmq id.

    Raises:
      ZMQError: EINVAL for an unknown name or id.
    """
    if isinstance(name_or_id, str):
        spec = _BY_NAME.get(name_or_id.lower())
    else:
        try:
            spec = BY_ID.get(operator.index(name_or_id))
        except TypeError:
            spec = None
    if spec is None:
        hint = ""
        if isinstance(name_or_id, str):
            close = difflib.get_close_matches(name_or_id.lower(), list(_BY_NAME), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ZMQError(C.EINVAL, f"unknown socket option {name_or_id!r}{hint}")
    return spec


#: Defaults that libzmq changes per socket type (on top of each spec's ``default``).
#: SUB, XSUB and DISH start with ``linger=0`` so that pending (un)subscriptions never
#: hold up close (libzmq ``xsub.cpp``/``dish.cpp``).
TYPE_DEFAULTS: dict[int, dict[str, Any]] = {
    C.SUB: {"linger": 0},
    C.XSUB: {"linger": 0},
    C.DISH: {"linger": 0},
}

#: The options that select a security mechanism (and role), as in libzmq.
MECHANISM_OPTIONS = frozenset(
    {
        "plain_server",
        "plain_username",
        "plain_password",
        "curve_server",
        "curve_publickey",
        "curve_secretkey",
        "curve_serverkey",
    }
)


class Options:
    """Mutable per-socket option values, one plain attribute per option.

    ``Options(**values)`` starts from the defaults and applies ``values`` through
    :meth:`set`; sockets use :meth:`for_socket_type`, which also applies libzmq's
    per-type defaults (SUB/XSUB/DISH linger 0). Read options as attributes
    (``opts.sndhwm``) on hot paths; write them only through :meth:`set`, except that
    the socket assigns the read-only state options (``type``, ``last_endpoint``,
    ``rcvmore``, ``events``) directly.
    """

    # One annotation per option; __slots__ below is built from OPTIONS and a test
    # checks that the two lists agree.
    sndhwm: int
    rcvhwm: int
    conflate: bool
    maxmsgsize: int
    sndtimeo: int
    rcvtimeo: int
    linger: int
    immediate: bool
    busy_poll: int
    routing_id: bytes
    connect_routing_id: bytes
    router_mandatory: bool
    router_handover: bool
    probe_router: bool
    router_notify: int
    req_correlate: bool
    req_relaxed: bool
    subscribe: bytes
    unsubscribe: bytes
    xpub_verbose: bool
    xpub_verboser: bool
    xpub_manual: bool
    xpub_nodrop: bool
    xpub_welcome_msg: bytes
    invert_matching: bool
    only_first_subscribe: bool
    xsub_verbose_unsubscribe: bool
    reconnect_ivl: int
    reconnect_ivl_max: int
    connect_timeout: int
    handshake_ivl: int
    heartbeat_ivl: int
    heartbeat_ttl: int
    heartbeat_timeout: int
    backlog: int
    sndbuf: int
    rcvbuf: int
    tos: int
    ipv6: bool
    tcp_keepalive: int
    tcp_keepalive_cnt: int
    tcp_keepalive_idle: int
    tcp_keepalive_intvl: int
    tcp_maxrt: int
    multicast_hops: int
    multicast_loop: bool
    affinity: int
    wss_key_pem: bytes
    wss_cert_pem: bytes
    wss_trust_pem: bytes
    wss_hostname: str
    wss_trust_system: bool
    wss_ssl_context: ssl.SSLContext | None
    plain_server: bool
    plain_username: bytes
    plain_password: bytes
    curve_server: bool
    curve_publickey: bytes
    curve_secretkey: bytes
    curve_serverkey: bytes
    zap_domain: bytes
    mechanism: int
    type: int
    last_endpoint: str
    rcvmore: bool
    events: int

    __slots__ = (*OPTIONS, "_as_server")

    def __init__(self, **values: Any) -> None:
        for spec in _SPECS:
            setattr(self, spec.name, spec.default)
        self._as_server = False
        for name, value in values.items():
            self.set(name, value)

    @classmethod
    def for_socket_type(cls, socket_type: int, **values: Any) -> Options:
        """Return options for a new socket of ``socket_type``: libzmq's defaults for that
        type (see :data:`TYPE_DEFAULTS`), ``type`` set, then ``values`` applied."""
        opts = cls()
        opts.type = int(socket_type)
        for name, value in TYPE_DEFAULTS.get(socket_type, {}).items():
            setattr(opts, name, value)
        for name, value in values.items():
            opts.set(name, value)
        return opts

    def set(self, name_or_id: str | int, value: Any) -> Any:
        """Validate, convert and store ``value``; return what was stored.

        Security options also select the mechanism, exactly as libzmq does:
        ``plain_server=True`` → PLAIN server, ``plain_username``/``plain_password``
        non-empty → PLAIN client (empty → NULL); ``curve_server=True`` → CURVE server;
        ``curve_serverkey`` → CURVE client; ``curve_publickey``/``curve_secretkey`` →
        CURVE (role unchanged); ``plain_server=False``/``curve_server=False`` → NULL.

        Raises:
          ZMQError: EINVAL for an unknown or read-only option or an invalid value.
        """
        spec = lookup(name_or_id)
        if not spec.writable:
            raise ZMQError(C.EINVAL, f"option {spec.name!r} is read-only")
        stored = spec.coerce(value)
        setattr(self, spec.name, stored)
        if spec.name in MECHANISM_OPTIONS:
            self._select_mechanism(spec.name, stored)
        return stored

    def get(self, name_or_id: str | int) -> Any:
        """Return the current value of a readable option.

        Raises:
          ZMQError: EINVAL for an unknown or write-only option.
        """
        spec = lookup(name_or_id)
        if not spec.readable:
            raise ZMQError(C.EINVAL, f"option {spec.name!r} is write-only")
        return getattr(self, spec.name)

    def copy(self) -> Options:
        """Return an independent copy (values are immutable, so a shallow copy)."""
        new = Options.__new__(Options)
        for slot in Options.__slots__:
            setattr(new, slot, getattr(self, slot))
        return new

    def changed(self) -> dict[str, Any]:
        """Return ``{name: value}`` for every option that differs from its default."""
        return {
            spec.name: getattr(self, spec.name)
            for spec in _SPECS
            if getattr(self, spec.name) != spec.default
        }

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={value!r}" for name, value in self.changed().items())
        return f"Options({inner})"

    def _select_mechanism(self, name: str, value: Any) -> None:
        """Apply libzmq's ``options_t::setsockopt`` side effects on mechanism/role."""
        if name in ("plain_server", "curve_server"):
            self._as_server = bool(value)
            if value:
                self.mechanism = C.PLAIN if name == "plain_server" else C.CURVE
            else:
                self.mechanism = C.NULL
        elif name in ("plain_username", "plain_password"):
            if value:
                self._as_server = False
                self.mechanism = C.PLAIN
            else:
                self.mechanism = C.NULL
        else:  # curve keys
            if name == "curve_serverkey":
                self._as_server = False
            self.mechanism = C.CURVE
        self.plain_server = self._as_server and self.mechanism == C.PLAIN
        self.curve_server = self._as_server and self.mechanism == C.CURVE
