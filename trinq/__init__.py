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

from . import zmtp as zmtp
from ._constants import AFFINITY as AFFINITY
from ._constants import BACKLOG as BACKLOG
from ._constants import CHANNEL as CHANNEL
from ._constants import CLIENT as CLIENT
from ._constants import CONFLATE as CONFLATE
from ._constants import CONNECT_RID as CONNECT_RID
from ._constants import CONNECT_ROUTING_ID as CONNECT_ROUTING_ID
from ._constants import CONNECT_TIMEOUT as CONNECT_TIMEOUT
from ._constants import CURVE as CURVE
from ._constants import CURVE_PUBLICKEY as CURVE_PUBLICKEY
from ._constants import CURVE_SECRETKEY as CURVE_SECRETKEY
from ._constants import CURVE_SERVER as CURVE_SERVER
from ._constants import CURVE_SERVERKEY as CURVE_SERVERKEY
from ._constants import DEALER as DEALER
from ._constants import DELAY_ATTACH_ON_CONNECT as DELAY_ATTACH_ON_CONNECT
from ._constants import DGRAM as DGRAM
from ._constants import DISH as DISH
from ._constants import DONTWAIT as DONTWAIT
from ._constants import EADDRINUSE as EADDRINUSE
from ._constants import EADDRNOTAVAIL as EADDRNOTAVAIL
from ._constants import EAGAIN as EAGAIN
from ._constants import ECONNREFUSED as ECONNREFUSED
from ._constants import EFSM as EFSM
from ._constants import EHOSTUNREACH as EHOSTUNREACH
from ._constants import EINVAL as EINVAL
from ._constants import EMSGSIZE as EMSGSIZE
from ._constants import EMTHREAD as EMTHREAD
from ._constants import ENOCOMPATPROTO as ENOCOMPATPROTO
from ._constants import ENOENT as ENOENT
from ._constants import ENOTSOCK as ENOTSOCK
from ._constants import ENOTSUP as ENOTSUP
from ._constants import EPROTONOSUPPORT as EPROTONOSUPPORT
from ._constants import ETERM as ETERM
from ._constants import EVENTS as EVENTS
from ._constants import FAIL_UNROUTABLE as FAIL_UNROUTABLE
from ._constants import GATHER as GATHER
from ._constants import GSSAPI as GSSAPI
from ._constants import HANDSHAKE_IVL as HANDSHAKE_IVL
from ._constants import HEARTBEAT_IVL as HEARTBEAT_IVL
from ._constants import HEARTBEAT_TIMEOUT as HEARTBEAT_TIMEOUT
from ._constants import HEARTBEAT_TTL as HEARTBEAT_TTL
from ._constants import IDENTITY as IDENTITY
from ._constants import IMMEDIATE as IMMEDIATE
from ._constants import INVERT_MATCHING as INVERT_MATCHING
from ._constants import IPV6 as IPV6
from ._constants import LAST_ENDPOINT as LAST_ENDPOINT
from ._constants import LINGER as LINGER
from ._constants import MAXMSGSIZE as MAXMSGSIZE
from ._constants import MECHANISM as MECHANISM
from ._constants import NOBLOCK as NOBLOCK
from ._constants import NOTIFY_CONNECT as NOTIFY_CONNECT
from ._constants import NOTIFY_DISCONNECT as NOTIFY_DISCONNECT
from ._constants import NULL as NULL
from ._constants import ONLY_FIRST_SUBSCRIBE as ONLY_FIRST_SUBSCRIBE
from ._constants import PAIR as PAIR
from ._constants import PEER as PEER
from ._constants import PLAIN as PLAIN
from ._constants import PLAIN_PASSWORD as PLAIN_PASSWORD
from ._constants import PLAIN_SERVER as PLAIN_SERVER
from ._constants import PLAIN_USERNAME as PLAIN_USERNAME
from ._constants import POLLERR as POLLERR
from ._constants import POLLIN as POLLIN
from ._constants import POLLOUT as POLLOUT
from ._constants import PROBE_ROUTER as PROBE_ROUTER
from ._constants import PUB as PUB
from ._constants import PULL as PULL
from ._constants import PUSH as PUSH
from ._constants import RADIO as RADIO
from ._constants import RCVBUF as RCVBUF
from ._constants import RCVHWM as RCVHWM
from ._constants import RCVMORE as RCVMORE
from ._constants import RCVTIMEO as RCVTIMEO
from ._constants import RECONNECT_IVL as RECONNECT_IVL
from ._constants import RECONNECT_IVL_MAX as RECONNECT_IVL_MAX
from ._constants import REP as REP
from ._constants import REQ as REQ
from ._constants import REQ_CORRELATE as REQ_CORRELATE
from ._constants import REQ_RELAXED as REQ_RELAXED
from ._constants import ROUTER as ROUTER
from ._constants import ROUTER_BEHAVIOR as ROUTER_BEHAVIOR
from ._constants import ROUTER_HANDOVER as ROUTER_HANDOVER
from ._constants import ROUTER_MANDATORY as ROUTER_MANDATORY
from ._constants import ROUTER_NOTIFY as ROUTER_NOTIFY
from ._constants import ROUTING_ID as ROUTING_ID
from ._constants import SCATTER as SCATTER
from ._constants import SERVER as SERVER
from ._constants import SNDBUF as SNDBUF
from ._constants import SNDHWM as SNDHWM
from ._constants import SNDMORE as SNDMORE
from ._constants import SNDTIMEO as SNDTIMEO
from ._constants import STREAM as STREAM
from ._constants import SUB as SUB
from ._constants import SUBSCRIBE as SUBSCRIBE
from ._constants import TCP_KEEPALIVE as TCP_KEEPALIVE
from ._constants import TCP_KEEPALIVE_CNT as TCP_KEEPALIVE_CNT
from ._constants import TCP_KEEPALIVE_IDLE as TCP_KEEPALIVE_IDLE
from ._constants import TCP_KEEPALIVE_INTVL as TCP_KEEPALIVE_INTVL
from ._constants import TCP_MAXRT as TCP_MAXRT
from ._constants import TOS as TOS
from ._constants import TYPE as TYPE
from ._constants import UNSUBSCRIBE as UNSUBSCRIBE
from ._constants import XPUB as XPUB
from ._constants import XPUB_MANUAL as XPUB_MANUAL
from ._constants import XPUB_NODROP as XPUB_NODROP
from ._constants import XPUB_VERBOSE as XPUB_VERBOSE
from ._constants import XPUB_VERBOSER as XPUB_VERBOSER
from ._constants import XPUB_WELCOME_MSG as XPUB_WELCOME_MSG
from ._constants import XSUB as XSUB
from ._constants import XSUB_VERBOSE_UNSUBSCRIBE as XSUB_VERBOSE_UNSUBSCRIBE
from ._constants import ZAP_DOMAIN as ZAP_DOMAIN
from ._constants import SocketType as SocketType
from ._context import Context as Context
from ._errors import Again as Again
from ._errors import ContextTerminated as ContextTerminated
from ._errors import ZMQBaseError as ZMQBaseError
from ._errors import ZMQBindError as ZMQBindError
from ._errors import ZMQError as ZMQError
from ._monitor import Event as Event
from ._monitor import Monitor as Monitor
from ._monitor import MonitorEvent as MonitorEvent
from ._monitor import ProtocolErrorCode as ProtocolErrorCode
from ._pipe import PipeStatistics as PipeStatistics
from ._socket import Socket as Socket
from ._socket import SocketStatistics as SocketStatistics
from ._version import __version__ as __version__

__all__ = [
    "AFFINITY",
    "BACKLOG",
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
    "XPUB",
    "XPUB_MANUAL",
    "XPUB_NODROP",
    "XPUB_VERBOSE",
    "XPUB_VERBOSER",
    "XPUB_WELCOME_MSG",
    "XSUB",
    "XSUB_VERBOSE_UNSUBSCRIBE",
    "ZAP_DOMAIN",
    "Again",
    "Context",
    "ContextTerminated",
    "Event",
    "Monitor",
    "MonitorEvent",
    "PipeStatistics",
    "ProtocolErrorCode",
    "Socket",
    "SocketStatistics",
    "SocketType",
    "ZMQBaseError",
    "ZMQBindError",
    "ZMQError",
    "__version__",
    "zmtp",
]

# Make reprs and docs say trinq.X rather than trinq._socket.X (as trio does).
for _obj in (
    Context,
    Socket,
    SocketStatistics,
    PipeStatistics,
    ZMQError,
    ZMQBaseError,
    Again,
    ContextTerminated,
    ZMQBindError,
    Event,
    Monitor,
    MonitorEvent,
    SocketType,
    ProtocolErrorCode,
):
    _obj.__module__ = "trinq"
del _obj
