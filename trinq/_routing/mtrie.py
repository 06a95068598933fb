"""Subscription trie: prefix -> set of subscribed pipes (libzmq ``src/generic_mtrie.hpp``).

The PUB/XPUB side of RFC 29:

    SHALL perform a binary comparison of the subscription against the start of the first
    frame of the message.

libzmq walks a byte trie. In Python a dict lookup of a slice is far cheaper than a
per-byte walk, so the structure here is "a trie flattened by length":

* ``_subs``: prefix -> set of pipes subscribed to exactly that prefix;
* ``_by_pipe``: pipe -> set of its prefixes (so dropping a peer is O(its subscriptions));
* ``_lengths``: the sorted distinct prefix lengths, with ``_length_count`` refcounting
  how many distinct prefixes have each length.

:meth:`SubscriptionTrie.match` looks up ``data[:L]`` for each distinct length
``L <= len(data)``: O(distinct lengths) dict lookups, independent of the number of
subscriptions or subscribers. Thousands of topics typically share a handful of lengths.

Return values follow libzmq's ``add`` ("first subscription of this prefix" -- what XPUB
reports upstream) and ``rm`` (``last_value_removed``).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from typing import Generic

import attrs

from .pipe_like import PipeT

__all__ = ["SubscriptionTrie"]


@attrs.define(eq=False)
class SubscriptionTrie(Generic[PipeT]):
    """Maps subscription prefixes to the pipes subscribed to them."""

    _subs: dict[bytes, set[PipeT]] = attrs.field(factory=dict, init=False)
    _by_pipe: dict[PipeT, set[bytes]] = attrs.field(factory=dict, init=False)
    _lengths: list[int] = attrs.field(factory=list, init=False)
    _length_count: dict[int, int] = attrs.field(factory=dict, init=False)

    def __len__(self) -> int:
        """Number of distinct prefixes with at least one subscriber."""
        return len(self._subs)

    def prefixes(self) -> Iterator[bytes]:
        """Iterate over the distinct prefixes (a snapshot; safe to mutate meanwhile)."""
        return iter(tuple(self._subs))

    def _new_prefix(self, length: int) -> None:
        count = self._length_count.get(length, 0)
        self._length_count[length] = count + 1
        if not count:
            bisect.insort(self._lengths, length)

    def _gone_prefix(self, length: int) -> None:
        count = self._length_count[length] - 1
        if count:
            self._length_count[length] = count
        else:
            del self._length_count[length]
            self._lengths.remove(length)

    def add(self, prefix: bytes, pipe: PipeT) -> bool:
        """Subscribe *pipe* to *prefix*.

        Returns True iff no pipe was subscribed to *prefix* before. Adding a pair that
        is already present changes nothing and returns False.
        """
        prefix = bytes(prefix)
        pipes = self._subs.get(prefix)
        if pipes is not None and pipe in pipes:
            return False
        mine = self._by_pipe.get(pipe)
        if mine is None:
            self._by_pipe[pipe] = {prefix}
        else:
            mine.add(prefix)
        if pipes is None:
            self._subs[prefix] = {pipe}
            self._new_prefix(len(prefix))
            return True
        pipes.add(pipe)
        return False

    def remove(self, prefix: bytes, pipe: PipeT) -> bool:
        """Unsubscribe *pipe* from *prefix*.

        Returns True iff that removed the last subscriber of *prefix*; removing a pair
        that is not present returns False.
        """
        pipes = self._subs.get(prefix)
        if pipes is None or pipe not in pipes:
            return False
        pipes.remove(pipe)
        mine = self._by_pipe[pipe]
        mine.discard(prefix)
        if not mine:
            del self._by_pipe[pipe]
        if pipes:
            return False
        del self._subs[prefix]
        self._gone_prefix(len(prefix))
        return True

    def remove_pipe(self, pipe: PipeT) -> list[bytes]:
        """Drop every subscription of *pipe* (it went away).

        Returns the prefixes that lost their last subscriber, sorted (XPUB reports an
        unsubscribe upstream for each, RFC 29 "SHALL, if the subscriber peer disconnects
        prematurely, generate a suitable unsubscribe request").
        """
        mine = self._by_pipe.pop(pipe, None)
        if not mine:
            return []
        emptied = []
        for prefix in mine:
            pipes = self._subs[prefix]
            pipes.discard(pipe)
            if not pipes:
                del self._subs[prefix]
                self._gone_prefix(len(prefix))
                emptied.append(prefix)
        emptied.sort()
        return emptied

    def has_pipe(self, pipe: PipeT) -> bool:
        """True if *pipe* has at least one subscription."""
        return pipe in self._by_pipe

    def match(self, data: bytes) -> set[PipeT]:
        """Every pipe with at least one prefix that is a prefix of *data*.

        The empty prefix matches everything. The result is a fresh set.
        """
        subs = self._subs
        size = len(data)
        result: set[PipeT] = set()
        for length in self._lengths:
            if length > size:
                break
            pipes = subs.get(data[:length])
            if pipes is not None:
                result |= pipes
        return result

    def match_shared(self, data: bytes) -> AbstractSet[PipeT]:
        """As :meth:`match`, but where one prefix length is subscribed (everything, or
        topics of one length: the common case) the trie's own set of that prefix is
        returned, without a copy. For iterating at once only: the caller must neither
        change it nor keep it (PUB's fan-out, once per message)."""
        lengths = self._lengths
        if len(lengths) == 1:
            length = lengths[0]
            if length <= len(data):
                pipes = self._subs.get(data[:length])
                if pipes is not None:
                    return pipes
            return frozenset()
        return self.match(data)

    def match_inverted(self, data: bytes) -> set[PipeT]:
        """Pipes in the trie none of whose prefixes match *data* (``ZMQ_INVERT_MATCHING``).

        Only pipes holding at least one subscription are candidates. libzmq's XPUB
        instead inverts over *every* attached pipe (``dist_t::reverse_match``), so a
        subscriber with no subscriptions at all would receive everything there; a
        pattern wanting that exactly can use ``attached - match(data)``.
        """
        return self._by_pipe.keys() - self.match(data)
