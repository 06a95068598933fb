"""Synchronous routing building blocks over pipes (they never await).

Each piece mirrors one libzmq primitive and is composed by ``trinq._patterns``:

* ``LoadBalancer`` -- ``src/lb.cpp``; sending side of PUSH, DEALER, REQ, CLIENT, SCATTER.
* ``FairQueue`` -- ``src/fq.cpp``; receiving side of PULL, DEALER, ROUTER, REP, SUB, ...
* ``Distributor`` -- ``src/dist.cpp``; sending side of PUB, XPUB, XSUB, RADIO.
* ``SubscriptionTrie`` -- ``src/generic_mtrie.hpp``; PUB/XPUB prefix -> subscribed pipes.
* ``PrefixFilter`` -- ``src/trie.hpp``; SUB/XSUB refcounted filter and replay.
* ``RoutingTable`` -- ``routing_socket_base_t``; ROUTER, SERVER, PEER id -> pipe.

All of them talk to peers through :class:`PipeLike` only and report back-pressure as
:class:`trio.WouldBlock`; waiting is the caller's business. Each is generic in the pipe
class it holds (``FairQueue[Pipe]``, default ``PipeLike``), so the pipes it hands back
keep their concrete type for the type checkers.
"""

from .dist import Distributor
from .fq import FairQueue
from .lb import LoadBalancer
from .mtrie import SubscriptionTrie
from .pipe_like import (
    RECV_TERMINATED,
    SEND_TERMINATED,
    PipeLike,
    PipeT,
    RecvNowait,
    SendNowait,
)
from .table import RoutingId, RoutingTable
from .trie import PrefixFilter

__all__ = [
    "RECV_TERMINATED",
    "SEND_TERMINATED",
    "Distributor",
    "FairQueue",
    "LoadBalancer",
    "PipeLike",
    "PipeT",
    "PrefixFilter",
    "RecvNowait",
    "RoutingId",
    "RoutingTable",
    "SendNowait",
    "SubscriptionTrie",
]
