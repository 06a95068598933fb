"""Numeric constants shared by every layer: socket types, flags, option ids, errnos.

Every number here is libzmq's (``zmq.h`` of libzmq 4.3.5), so that code written for
pyzmq keeps working: ``trinq.SNDHWM == zmq.SNDHWM``, ``trinq.EFSM == zmq.EFSM``. The
values were read from pyzmq 27.3 (``zmq.SocketType``, ``zmq.SocketOption``, ``zmq.Errno``)
at development time and are hard-coded; trinq never imports pyzmq. The test suite checks
them against pyzmq again whenever pyzmq is installed.

This module imports nothing from trinq, so every other module may import it.
"""

from __future__ import annotations

import enum
import errno as _errno

# The public names, re-exported by ``trinq/__init__.py`` with ``from ._constants import *``:
# a constant added here must be added to this list too (tests/test_exports.py checks).
__all__ = [
    "AFFINITY",
    "BACKLOG",
    "BUSY_POLL",
    "CHANNEL",
    "CLIENT",
    "CONFLATE",
    "CONNECT_RID",
    "CONNECT_ROUTING_ID",
    "CONNECT_TIMEOUT",
    "CURVE",
    "CURVE_PUBLICKEY",
    "CURVE_SECRETKEY",
    "CURVE_SERVER",
    "CURVE_SERVERKEY",
    "DEALER",
    "DELAY_ATTACH_ON_CONNECT",
    "DGRAM",
    "DISH",
    "DONTWAIT",
    "EADDRINUSE",
    "EADDRNOTAVAIL",
    "EAGAIN",
    "ECONNREFUSED",
    "EFAULT",
    "EFSM",
    "EHOSTUNREACH",
    "EINVAL",
    "EMSGSIZE",
    "EMTHREAD",
    "ENOCOMPATPROTO",
    "ENOENT",
    "ENOTSOCK",
    "ENOTSUP",
    "EPROTONOSUPPORT",
    "ETERM",
    "EVENTS",
    "FAIL_UNROUTABLE",
    "GATHER",
    "GSSAPI",
    "HANDSHAKE_IVL",
    "HEARTBEAT_IVL",
    "HEARTBEAT_TIMEOUT",
    "HEARTBEAT_TTL",
    "IDENTITY",
    "IMMEDIATE",
    "INVERT_MATCHING",
    "IPV6",
    "LAST_ENDPOINT",
    "LINGER",
    "MAXMSGSIZE",
    "MECHANISM",
    "MULTICAST_HOPS",
    "MULTICAST_LOOP",
    "NOBLOCK",
    "NOTIFY_CONNECT",
    "NOTIFY_DISCONNECT",
    "NULL",
    "ONLY_FIRST_SUBSCRIBE",
    "PAIR",
    "PEER",
    "PLAIN",
    "PLAIN_PASSWORD",
    "PLAIN_SERVER",
    "PLAIN_USERNAME",
    "POLLERR",
    "POLLIN",
    "POLLOUT",
    "PROBE_ROUTER",
    "PUB",
    "PULL",
    "PUSH",
    "RADIO",
    "RCVBUF",
    "RCVHWM",
    "RCVMORE",
    "RCVTIMEO",
    "RECONNECT_IVL",
    "RECONNECT_IVL_MAX",
    "REP",
    "REQ",
    "REQ_CORRELATE",
    "REQ_RELAXED",
    "ROUTER",
    "ROUTER_BEHAVIOR",
    "ROUTER_HANDOVER",
    "ROUTER_MANDATORY",
    "ROUTER_NOTIFY",
    "ROUTING_ID",
    "SCATTER",
    "SERVER",
    "SNDBUF",
    "SNDHWM",
    "SNDMORE",
    "SNDTIMEO",
    "STREAM",
    "SUB",
    "SUBSCRIBE",
    "TCP_KEEPALIVE",
    "TCP_KEEPALIVE_CNT",
    "TCP_KEEPALIVE_IDLE",
    "TCP_KEEPALIVE_INTVL",
    "TCP_MAXRT",
    "TOS",
    "TYPE",
    "UNSUBSCRIBE",
    "WSS_CERT_PEM",
    "WSS_HOSTNAME",
    "WSS_KEY_PEM",
    "WSS_SSL_CONTEXT",
    "WSS_TRUST_PEM",
    "WSS_TRUST_SYSTEM",
    "XPUB",
    "XPUB_MANUAL",
    "XPUB_NODROP",
    "XPUB_VERBOSE",
    "XPUB_VERBOSER",
    "XPUB_WELCOME_MSG",
    "XSUB",
    "XSUB_VERBOSE_UNSUBSCRIBE",
    "ZAP_DOMAIN",
    "SocketType",
]

# ---------------------------------------------------------------------------
# Socket types
# ---------------------------------------------------------------------------


class SocketType(enum.IntEnum):
    """The ZeroMQ socket types, with libzmq's numeric values.

    The numbers are also the socket-type byte of ZMTP 2.0 (RFC 15); ZMTP 3.x sends the
    name (``"REQ"``) in the READY command's ``Socket-Type`` property instead.
    Values 12 and above are libzmq "draft" socket types.
    """

    PAIR = 0
    PUB = 1
    SUB = 2
    REQ = 3
    REP = 4
    DEALER = 5
    ROUTER = 6
    PULL = 7
    PUSH = 8
    XPUB = 9
    XSUB = 10
    STREAM = 11
    SERVER = 12
    CLIENT = 13
    RADIO = 14
    DISH = 15
    GATHER = 16
    SCATTER = 17
    DGRAM = 18
    PEER = 19
    CHANNEL = 20


PAIR = SocketType.PAIR
PUB = SocketType.PUB
SUB = SocketType.SUB
REQ = SocketType.REQ
REP = SocketType.REP
DEALER = SocketType.DEALER
ROUTER = SocketType.ROUTER
PULL = SocketType.PULL
PUSH = SocketType.PUSH
XPUB = SocketType.XPUB
XSUB = SocketType.XSUB
STREAM = SocketType.STREAM
SERVER = SocketType.SERVER
CLIENT = SocketType.CLIENT
RADIO = SocketType.RADIO
DISH = SocketType.DISH
GATHER = SocketType.GATHER
SCATTER = SocketType.SCATTER
DGRAM = SocketType.DGRAM
PEER = SocketType.PEER
CHANNEL = SocketType.CHANNEL

# ---------------------------------------------------------------------------
# send/recv flags (plain ints, as in libzmq)
# ---------------------------------------------------------------------------

#: Do not wait: raise :class:`trinq.Again` instead of blocking.
DONTWAIT = 1
#: Old libzmq name for :data:`DONTWAIT`.
NOBLOCK = DONTWAIT
#: More frames of this message follow.
SNDMORE = 2

# Bits of the read-only ``events`` option.
POLLIN = 1
POLLOUT = 2
POLLERR = 4

# Values of the read-only ``mechanism`` option.
NULL = 0
PLAIN = 1
CURVE = 2
GSSAPI = 3

# Bits of the (draft) ``router_notify`` option.
NOTIFY_CONNECT = 1
NOTIFY_DISCONNECT = 2

# ---------------------------------------------------------------------------
# Socket option ids (libzmq's ZMQ_* numbers; names as in pyzmq)
# ---------------------------------------------------------------------------

AFFINITY = 4
ROUTING_ID = 5
IDENTITY = ROUTING_ID
SUBSCRIBE = 6
UNSUBSCRIBE = 7
SNDBUF = 11
RCVBUF = 12
RCVMORE = 13
EVENTS = 15
TYPE = 16
LINGER = 17
RECONNECT_IVL = 18
BACKLOG = 19
RECONNECT_IVL_MAX = 21
MAXMSGSIZE = 22
SNDHWM = 23
RCVHWM = 24
MULTICAST_HOPS = 25
RCVTIMEO = 27
SNDTIMEO = 28
LAST_ENDPOINT = 32
ROUTER_MANDATORY = 33
ROUTER_BEHAVIOR = ROUTER_MANDATORY
FAIL_UNROUTABLE = ROUTER_MANDATORY
TCP_KEEPALIVE = 34
TCP_KEEPALIVE_CNT = 35
TCP_KEEPALIVE_IDLE = 36
TCP_KEEPALIVE_INTVL = 37
IMMEDIATE = 39
DELAY_ATTACH_ON_CONNECT = IMMEDIATE
XPUB_VERBOSE = 40
IPV6 = 42
MECHANISM = 43
PLAIN_SERVER = 44
PLAIN_USERNAME = 45
PLAIN_PASSWORD = 46
CURVE_SERVER = 47
CURVE_PUBLICKEY = 48
CURVE_SECRETKEY = 49
CURVE_SERVERKEY = 50
PROBE_ROUTER = 51
REQ_CORRELATE = 52
REQ_RELAXED = 53
CONFLATE = 54
ZAP_DOMAIN = 55
ROUTER_HANDOVER = 56
TOS = 57
CONNECT_ROUTING_ID = 61
CONNECT_RID = CONNECT_ROUTING_ID
HANDSHAKE_IVL = 66
XPUB_NODROP = 69
XPUB_MANUAL = 71
XPUB_WELCOME_MSG = 72
INVERT_MATCHING = 74
HEARTBEAT_IVL = 75
HEARTBEAT_TTL = 76
HEARTBEAT_TIMEOUT = 77
XPUB_VERBOSER = 78
CONNECT_TIMEOUT = 79
TCP_MAXRT = 80
# libzmq draft options
ROUTER_NOTIFY = 97
ONLY_FIRST_SUBSCRIBE = 108
BUSY_POLL = 113
XSUB_VERBOSE_UNSUBSCRIBE = 115
MULTICAST_LOOP = 96
WSS_KEY_PEM = 103
WSS_CERT_PEM = 104
WSS_TRUST_PEM = 105
WSS_HOSTNAME = 106
WSS_TRUST_SYSTEM = 107

# trinq's own options (no libzmq number): from 10000 on
WSS_SSL_CONTEXT = 10001

# ---------------------------------------------------------------------------
# errno values
# ---------------------------------------------------------------------------

EAGAIN = _errno.EAGAIN
EINVAL = _errno.EINVAL
EHOSTUNREACH = _errno.EHOSTUNREACH
ENOTSUP = _errno.ENOTSUP
EMSGSIZE = _errno.EMSGSIZE
EADDRINUSE = _errno.EADDRINUSE
EADDRNOTAVAIL = _errno.EADDRNOTAVAIL
ECONNREFUSED = _errno.ECONNREFUSED
ENOTSOCK = _errno.ENOTSOCK
EPROTONOSUPPORT = _errno.EPROTONOSUPPORT
ENOENT = _errno.ENOENT
EFAULT = _errno.EFAULT

# libzmq's own error numbers (ZMQ_HAUSNUMERO = 156384712, plus 51..54).
#: Operation cannot be accomplished in current state (e.g. REQ send twice).
EFSM = 156384763
#: The protocol is not compatible with the socket type.
ENOCOMPATPROTO = 156384764
#: Context was terminated.
ETERM = 156384765
#: No I/O thread available (never raised by trinq; kept for pyzmq parity).
EMTHREAD = 156384766
