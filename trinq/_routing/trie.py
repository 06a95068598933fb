"""Prefix filter: refcounted subscriptions on the SUB/XSUB side (libzmq ``src/trie.hpp``).

RFC 29 (SUB): "MAY, depending on the transport, filter messages according to
subscriptions, using a prefix match algorithm." libzmq's SUB always filters on receipt,
because a publisher may send more than asked for (a message in flight while an
unsubscribe travels upstream, or a transport with no subscription forwarding).

Theory of operation: a dict prefix -> reference count, so subscribing twice and
unsubscribing once keeps the subscription (``add``/``remove`` report the 0->1 and 1->0
transitions; only those are sent upstream). :meth:`PrefixFilter.check` uses the same
length-bucket trick as :mod:`trinq._routing.mtrie`: one dict lookup of ``data[:L]`` per
distinct prefix length. Iterating yields every distinct prefix, which is how a SUB
replays its subscriptions to a newly attached or reconnected pipe (libzmq
``trie_t::apply`` from ``xsub_t::xattach_pipe`` / ``xhiccuped``).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator

import attrs

__all__ = ["PrefixFilter"]


@attrs.define(eq=False)
class PrefixFilter:
    """A refcounted set of byte prefixes with a fast "does anything match" test."""

    _counts: dict[bytes, int] = attrs.field(factory=dict, init=False)
    _lengths: list[int] = attrs.field(factory=list, init=False)
    _length_count: dict[int, int] = attrs.field(factory=dict, init=False)

    def __len__(self) -> int:
        """Number of distinct prefixes."""
        return len(self._counts)

    def __contains__(self, prefix: object) -> bool:
        return prefix in self._counts

    def __iter__(self) -> Iterator[bytes]:
        """Iterate over the distinct prefixes (a snapshot; safe to mutate meanwhile)."""
        return iter(tuple(self._counts))

    def add(self, prefix: bytes) -> bool:
        """Count one more subscription to *prefix*; True iff it is new."""
        prefix = bytes(prefix)
        count = self._counts.get(prefix, 0)
        self._counts[prefix] = count + 1
        if count:
            return False
        length = len(prefix)
        lcount = self._length_count.get(length, 0)
        self._length_count[length] = lcount + 1
        if not lcount:
            bisect.insort(self._lengths, length)
        return True

    def remove(self, prefix: bytes) -> bool:
        """Count one subscription to *prefix* less; True iff that was the last one.

        Removing an absent prefix returns False.
        """
        count = self._counts.get(prefix, 0)
        if count > 1:
            self._counts[prefix] = count - 1
            return False
        if not count:
            return False
        del self._counts[prefix]
        length = len(prefix)
        lcount = self._length_count[length] - 1
        if lcount:
            self._length_count[length] = lcount
        else:
            del self._length_count[length]
            self._lengths.remove(length)
        return True

    def check(self, data: bytes) -> bool:
        """True if some prefix is a prefix of *data* (the empty prefix matches all)."""
        counts = self._counts
        size = len(data)
        for length in self._lengths:
            if length > size:
                return False
            if data[:length] in counts:
                return True
        return False
