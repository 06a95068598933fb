"""Synchronous routing building blocks over pipes (they never await).

Each piece mirrors one libzmq primitive and is composed by ``trinq._patterns``:

* ``LoadBalancer`` -- ``src/lb.cpp``; sending side of PUSH, DEALER, REQ, CLIENT, SCATTER.
* ``FairQueue`` -- ``src/fq.cpp``; receiving side of PULL, DEALER, ROUTER, REP, SUB, ...
* ``Distributor`` -- ``src/dist.cpp``; sending side of PUB, XPUB, XSUB, RADIO.
* ``SubscriptionTrie`` -- ``src/generic_mtrie.hpp``; PUB/XPUB prefix -> subscribed pipes.
* ``PrefixFilter`` -- ``src/trie.hpp``; SUB/XSUB refcounted filter and replay.
* ``RoutingTable`` -- ``routing_socket_base_t``; ROUTER, SERVER, PEER id -> pipe.

All of them talk to peers through :class:`PipeLike` only and report back-pressure as
:class:`trio.WouldBlock`; waiting is the caller's business.
"""

from .dist import Distributor
from .fq import FairQueue
from .lb import LoadBalancer
from .mtrie import SubscriptionTrie
from .pipe_like import RECV_TERMINATED, SEND_TERMINATED, PipeLike
from .table import RoutingId, RoutingTable
from .trie import PrefixFilter

__all__ = [
    "RECV_TERMINATED",
    "SEND_TERMINATED",
    "Distributor",
    "FairQueue",
    "LoadBalancer",
    "PipeLike",
    "PrefixFilter",
    "RoutingId",
    "RoutingTable",
    "SubscriptionTrie",
]
