"""SubscriptionTrie (libzmq mtrie, PUB/XPUB) and PrefixFilter (libzmq trie, SUB/XSUB).

RFC 29 PUB/XPUB: "SHALL perform a binary comparison of the subscription against the
start of the first frame of the message."
"""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from trinq._routing import PrefixFilter, SubscriptionTrie

from ._fakes import FakePipe

# --- SubscriptionTrie ------------------------------------------------------------------


def test_match_is_prefix_comparison():
    trie = SubscriptionTrie()
    a, b, c = FakePipe("a"), FakePipe("b"), FakePipe("c")
    trie.add(b"weather", a)
    trie.add(b"weather.uk", b)
    trie.add(b"news", c)
    assert trie.match(b"weather.uk.london") == {a, b}
    assert trie.match(b"weather.fr") == {a}
    assert trie.match(b"weathe") == set()
    assert trie.match(b"news") == {c}
    assert trie.match(b"") == set()


def test_empty_prefix_matches_everything():
    trie = SubscriptionTrie()
    a = FakePipe("a")
    trie.add(b"", a)
    assert trie.match(b"") == {a}
    assert trie.match(b"anything") == {a}


def test_match_returns_a_fresh_set():
    trie = SubscriptionTrie()
    a = FakePipe("a")
    trie.add(b"x", a)
    trie.match(b"x").clear()
    assert trie.match(b"x") == {a}


# RFC 29 XPUB: "SHALL deliver these commands to its calling application." -- libzmq
# forwards only the first subscription to a prefix and the last unsubscription.
def test_match_shared_is_the_tries_own_set_for_one_prefix_length():
    """PUB's fan-out iterates it once per message: no copy where one length is
    subscribed (everything, or topics of one length), a fresh set otherwise."""
    trie = SubscriptionTrie()
    a, b = FakePipe("a"), FakePipe("b")
    assert trie.match_shared(b"x") == set()  # nothing subscribed
    trie.add(b"", a)
    trie.add(b"", b)
    first = trie.match_shared(b"anything")
    assert first == {a, b}
    assert trie.match_shared(b"other") is first  # the same set, no copy
    assert trie.match(b"other") is not first  # match() still copies
    trie.remove(b"", a)
    trie.remove(b"", b)
    trie.add(b"ab", a)
    assert trie.match_shared(b"a") == set()  # shorter than the one length
    assert trie.match_shared(b"xyz") == set()  # that length, another topic
    assert trie.match_shared(b"abc") == {a}
    trie.add(b"abc", b)  # two lengths: match()'s fresh union
    shared = trie.match_shared(b"abcd")
    assert shared == {a, b}
    assert shared is not trie.match_shared(b"abcd")


def test_add_reports_first_subscription_only():
    trie = SubscriptionTrie()
    a, b = FakePipe("a"), FakePipe("b")
    assert trie.add(b"t", a) is True
    assert trie.add(b"t", a) is False  # duplicate pair: no-op
    assert trie.add(b"t", b) is False
    assert len(trie) == 1


def test_remove_reports_last_unsubscription_only():
    trie = SubscriptionTrie()
    a, b = FakePipe("a"), FakePipe("b")
    trie.add(b"t", a)
    trie.add(b"t", b)
    assert trie.remove(b"t", a) is False
    assert trie.remove(b"t", a) is False  # no longer there
    assert trie.remove(b"t", b) is True
    assert trie.remove(b"t", b) is False
    assert trie.remove(b"never", a) is False
    assert len(trie) == 0
    assert trie.match(b"t") == set()


def test_duplicate_add_then_single_remove_unsubscribes():
    trie = SubscriptionTrie()
    a = FakePipe("a")
    trie.add(b"t", a)
    trie.add(b"t", a)
    assert trie.remove(b"t", a) is True
    assert trie.match(b"t") == set()


# RFC 29 XPUB: "SHALL, if the subscriber peer disconnects prematurely, generate a
# suitable unsubscribe request for the calling application."
def test_remove_pipe_returns_orphaned_prefixes():
    trie = SubscriptionTrie()
    a, b = FakePipe("a"), FakePipe("b")
    for prefix in (b"x", b"y", b"zz"):
        trie.add(prefix, a)
    trie.add(b"y", b)
    assert trie.remove_pipe(a) == [b"x", b"zz"]
    assert trie.remove_pipe(a) == []
    assert sorted(trie.prefixes()) == [b"y"]
    assert trie.match(b"yes") == {b}
    assert not trie.has_pipe(a)
    assert trie.has_pipe(b)


def test_match_inverted():
    trie = SubscriptionTrie()
    a, b, c = FakePipe("a"), FakePipe("b"), FakePipe("c")
    trie.add(b"A", a)
    trie.add(b"B", b)
    trie.add(b"C", c)
    trie.add(b"A", c)
    assert trie.match_inverted(b"Apple") == {b}
    assert trie.match_inverted(b"Zebra") == {a, b, c}
    unsubscribed = FakePipe("none")  # never in the trie: not a candidate
    assert unsubscribed not in trie.match_inverted(b"Zebra")


def test_prefixes_snapshot_allows_mutation():
    trie = SubscriptionTrie()
    a = FakePipe("a")
    for prefix in (b"1", b"2", b"3"):
        trie.add(prefix, a)
    for prefix in trie.prefixes():
        trie.remove(prefix, a)
    assert len(trie) == 0


class CountingBytes(bytes):
    """bytes that count how often they are sliced (one slice per dict lookup)."""

    slices = 0

    def __getitem__(self, key):  # type: ignore[override]
        CountingBytes.slices += 1
        return bytes.__getitem__(self, key)


def test_many_subscriptions_match_by_length_buckets():
    """Thousands of subscriptions: match does one lookup per distinct prefix length."""
    trie = SubscriptionTrie()
    subscribers = [FakePipe(f"s{i}") for i in range(100)]
    for i in range(5000):
        trie.add(b"topic.%05d" % i, subscribers[i % 100])
    for i in range(50):
        trie.add(b"t%d" % i, subscribers[i])  # lengths 2 and 3
    assert len(trie) == 5050
    data = CountingBytes(b"topic.01234 payload")
    CountingBytes.slices = 0
    assert trie.match(data) == {subscribers[34]}
    assert CountingBytes.slices == 3  # lengths 2, 3 and 11 -- not 5050 comparisons
    CountingBytes.slices = 0
    assert trie.match(CountingBytes(b"t")) == set()
    assert CountingBytes.slices == 0  # every length exceeds the data


def test_filter_check_by_length_buckets():
    f = PrefixFilter()
    for i in range(3000):
        f.add(b"sym.%04d" % i)
    CountingBytes.slices = 0
    assert not f.check(CountingBytes(b"sym.x"))
    assert CountingBytes.slices == 0
    assert f.check(CountingBytes(b"sym.2999 quote"))
    assert CountingBytes.slices == 1


prefix_st = st.binary(max_size=4).map(lambda b: bytes(x % 3 for x in b))  # small alphabet
data_st = st.binary(max_size=6).map(lambda b: bytes(x % 3 for x in b))


@given(
    ops=st.lists(
        st.tuples(st.booleans(), prefix_st, st.integers(0, 4)),
        max_size=60,
    ),
    drop=st.lists(st.integers(0, 4), max_size=2),
    probes=st.lists(data_st, min_size=1, max_size=10),
)
def test_property_trie_matches_naive_reference(ops, drop, probes):
    ps = [FakePipe(f"p{i}") for i in range(5)]
    trie = SubscriptionTrie()
    ref: set[tuple[bytes, int]] = set()
    for is_add, prefix, idx in ops:
        had_prefix = any(p == prefix for p, _ in ref)
        if is_add:
            assert trie.add(prefix, ps[idx]) == (not had_prefix)
            ref.add((prefix, idx))
        else:
            present = (prefix, idx) in ref
            ref.discard((prefix, idx))
            still = any(p == prefix for p, _ in ref)
            assert trie.remove(prefix, ps[idx]) == (present and not still)
    for idx in drop:
        before = {p for p, _ in ref}
        ref = {(p, i) for p, i in ref if i != idx}
        after = {p for p, _ in ref}
        assert trie.remove_pipe(ps[idx]) == sorted(before - after)
    assert len(trie) == len({p for p, _ in ref})
    assert set(trie.prefixes()) == {p for p, _ in ref}
    subscribed = {ps[i] for _, i in ref}
    for data in probes:
        expected = {ps[i] for p, i in ref if data.startswith(p)}
        assert trie.match(data) == expected
        assert trie.match_shared(data) == expected
        assert trie.match_inverted(data) == subscribed - expected


# --- PrefixFilter ----------------------------------------------------------------------


def test_filter_refcounts():
    f = PrefixFilter()
    assert f.add(b"a") is True
    assert f.add(b"a") is False
    assert f.remove(b"a") is False  # one subscription left
    assert f.check(b"abc")
    assert f.remove(b"a") is True
    assert not f.check(b"abc")
    assert f.remove(b"a") is False  # absent


def test_filter_check():
    f = PrefixFilter()
    assert not f.check(b"x")
    f.add(b"ab")
    f.add(b"xyz")
    assert f.check(b"ab")
    assert f.check(b"abc")
    assert not f.check(b"a")
    assert f.check(b"xyzzy")
    assert not f.check(b"xy")
    f.add(b"")
    assert f.check(b"") and f.check(b"anything")


# libzmq trie_t::apply, called from xsub_t::xattach_pipe: every subscription is replayed
# to a newly attached or reconnected publisher (docs/interop.md §11, "Reconnect").
def test_filter_iterates_distinct_prefixes_for_replay():
    f = PrefixFilter()
    for prefix in (b"a", b"b", b"a", b""):
        f.add(prefix)
    assert sorted(f) == [b"", b"a", b"b"]
    assert len(f) == 3
    assert b"a" in f
    assert b"c" not in f
    for prefix in f:  # snapshot: removing while replaying is safe
        f.remove(prefix)
    assert sorted(f) == [b"a"]


@given(
    ops=st.lists(st.tuples(st.booleans(), prefix_st), max_size=60),
    probes=st.lists(data_st, min_size=1, max_size=10),
)
def test_property_filter_matches_naive_reference(ops, probes):
    f = PrefixFilter()
    ref: Counter[bytes] = Counter()
    for is_add, prefix in ops:
        if is_add:
            assert f.add(prefix) == (ref[prefix] == 0)
            ref[prefix] += 1
        else:
            assert f.remove(prefix) == (ref[prefix] == 1)
            if ref[prefix]:
                ref[prefix] -= 1
    live = {p for p, n in ref.items() if n}
    assert set(f) == live
    assert len(f) == len(live)
    for data in probes:
        assert f.check(data) == any(data.startswith(p) for p in live)
