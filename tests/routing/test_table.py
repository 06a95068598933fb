"""RoutingTable -- ROUTER (RFC 28) and SERVER/PEER routing ids (docs/interop.md §13)."""

from __future__ import annotations

import pytest

from trinq._routing import RoutingTable

from ._fakes import FakePipe


# RFC 28 ROUTER: "SHALL identify each double queue using a unique 'identity' binary
# string."
def test_add_get_contains_len():
    table = RoutingTable()
    a, b = FakePipe("a"), FakePipe("b")
    table.add(b"alice", a)
    table.add(b"bob", b)
    assert table.get(b"alice") is a
    assert table.get(b"carol") is None
    assert b"bob" in table
    assert b"carol" not in table
    assert len(table) == 2
    assert table.id_of(b) == b"bob"
    assert sorted(table) == [b"alice", b"bob"]


def test_duplicate_id_is_rejected():
    table = RoutingTable()
    table.add(b"x", FakePipe("a"))
    with pytest.raises(ValueError, match="in use"):
        table.add(b"x", FakePipe("b"))


def test_same_pipe_twice_is_rejected():
    table = RoutingTable()
    a = FakePipe("a")
    table.add(b"x", a)
    with pytest.raises(ValueError):
        table.add(b"y", a)


def test_remove_and_remove_pipe():
    table = RoutingTable()
    a, b = FakePipe("a"), FakePipe("b")
    table.add(b"a", a)
    table.add(b"b", b)
    assert table.remove(b"a") is a
    assert table.remove(b"a") is None
    assert table.remove_pipe(b) == b"b"
    assert table.remove_pipe(b) is None
    assert len(table) == 0
    table.add(b"a", b)  # both id and pipe are free again
    assert table.get(b"a") is b


# docs/interop.md §13: "ROUTER makes a 5-octet id: 0x00 followed by a big-endian uint32
# counter. The counter starts at a random value and goes up by one per connection."
def test_generate_id_format_and_sequence():
    table = RoutingTable()
    first = table.generate_id()
    assert len(first) == 5
    assert first[0] == 0
    start = int.from_bytes(first[1:], "big")
    ids = [table.generate_id() for _ in range(3)]
    assert ids == [b"\x00" + ((start + k) & 0xFFFFFFFF).to_bytes(4, "big") for k in (1, 2, 3)]


def test_generate_id_random_start():
    starts = {RoutingTable().generate_id() for _ in range(20)}
    assert len(starts) > 1


def test_generate_id_wraps_and_skips_ids_in_use():
    table = RoutingTable()
    table._next_id = 0xFFFFFFFE
    table.add(b"\x00\xff\xff\xff\xff", FakePipe("taken"))
    assert table.generate_id() == b"\x00\xff\xff\xff\xfe"
    assert table.generate_id() == b"\x00\x00\x00\x00\x00"  # skipped ...ff, wrapped
    assert table.generate_id() == b"\x00\x00\x00\x00\x01"


# docs/interop.md §13: "SERVER and PEER. They use uint32 ids, never 0, starting at a
# random value."
def test_generate_uint32_id_sequence_skips_zero_and_in_use():
    table = RoutingTable()
    table._next_uint32 = 0xFFFFFFFF
    table.add(1, FakePipe("taken"))
    assert table.generate_uint32_id() == 0xFFFFFFFF
    assert table.generate_uint32_id() == 2  # 0 is never used, 1 is taken
    assert table.generate_uint32_id() == 3


def test_generate_uint32_id_range():
    table = RoutingTable()
    for _ in range(100):
        rid = table.generate_uint32_id()
        assert 0 < rid <= 0xFFFFFFFF
        table.add(rid, FakePipe())
    assert len(table) == 100


def test_uint32_and_router_counters_are_independent():
    table = RoutingTable()
    table._next_id = 10
    table._next_uint32 = 100
    assert table.generate_id() == b"\x00\x00\x00\x00\x0a"
    assert table.generate_uint32_id() == 100
    assert table.generate_id() == b"\x00\x00\x00\x00\x0b"
