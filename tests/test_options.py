"""The option table: ids and defaults against pyzmq/libzmq, validation, Options holder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from trinq import _constants as C
from trinq._errors import ZMQError
from trinq._options import BY_ID, OPTIONS, Options, OptionSpec, lookup
from trinq._z85 import encode as z85_encode

ROOT = Path(__file__).resolve().parent.parent

# Options that pyzmq/libzmq 4.3.5 only reads back on a socket of a particular type
# (write-only there, or socket-type specific), or that trinq defines differently.
NOT_READABLE_ON_DEALER = {
    "connect_routing_id",  # write-only
    "subscribe",
    "unsubscribe",
    "router_mandatory",  # libzmq: write-only, ROUTER only
    "router_handover",
    "probe_router",
    "router_notify",  # draft
    "req_correlate",
    "req_relaxed",
    "xpub_verbose",
    "xpub_verboser",
    "xpub_manual",
    "xpub_nodrop",
    "xpub_welcome_msg",
    "only_first_subscribe",  # draft
    "xsub_verbose_unsubscribe",  # draft
    "curve_publickey",  # pyzmq reads keys as Z85 and fails on the unset key
    "curve_secretkey",
    "curve_serverkey",
    "type",  # -1 on a detached Options; checked separately
    "busy_poll",  # draft in libzmq (SO_BUSY_POLL, default 0); trinq polls itself, 50 us
    # pyzmq's libzmq has no ws transport
    "wss_key_pem",
    "wss_cert_pem",
    "wss_trust_pem",
    "wss_hostname",
    "wss_trust_system",
    "wss_ssl_context",
}

#: trinq's own options are numbered from here (libzmq has no such option)
TRINQ_OWN = 10000


@pytest.fixture(scope="module")
def zmq_dealer() -> Iterator[Any]:
    zmq = pytest.importorskip("zmq")
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    try:
        yield sock
    finally:
        sock.close(0)
        ctx.term()


def test_ids_match_pyzmq() -> None:
    zmq = pytest.importorskip("zmq")
    for spec in OPTIONS.values():
        # the module-level constant of the same name agrees
        assert getattr(C, spec.name.upper()) == spec.id
        if spec.id >= TRINQ_OWN:
            continue  # trinq's own: pyzmq has no such option
        assert int(zmq.SocketOption[spec.name.upper()]) == spec.id, spec.name
        for alias in spec.aliases:
            assert int(zmq.SocketOption[alias.upper()]) == spec.id, alias


def test_table_is_consistent() -> None:
    assert len(BY_ID) == len(OPTIONS)
    for name, spec in OPTIONS.items():
        assert spec.name == name == name.lower()
        assert BY_ID[spec.id] is spec
        assert spec.kind in (int, bool, bytes, str) or spec.name == "wss_ssl_context"
        assert isinstance(spec.default, spec.kind)
        assert spec.doc
        assert spec.writable or spec.readable
        if spec.writable and spec.name not in ("subscribe", "unsubscribe"):
            # the default is itself an acceptable value (except empty ids/keys,
            # which mean "not set" and cannot be set explicitly)
            if spec.default != b"":
                assert spec.coerce(spec.default) == spec.default


@pytest.mark.parametrize("name", sorted(set(OPTIONS) - NOT_READABLE_ON_DEALER))
def test_default_matches_libzmq(name: str, zmq_dealer: Any) -> None:
    import zmq

    spec = OPTIONS[name]
    theirs = zmq_dealer.getsockopt(zmq.SocketOption[name.upper()])
    if spec.kind is str:
        theirs = theirs.decode()
    assert spec.default == theirs
    assert type(spec.default) is spec.kind


CLASSIC_TYPES = [t for t in C.SocketType if t <= C.SocketType.STREAM]


@pytest.mark.parametrize("socket_type", CLASSIC_TYPES, ids=lambda t: t.name)
def test_per_type_defaults_match_libzmq(socket_type: C.SocketType) -> None:
    """libzmq gives SUB/XSUB linger 0; Options.for_socket_type must agree for every type."""
    zmq = pytest.importorskip("zmq")
    opts = Options.for_socket_type(socket_type, rcvhwm=7)
    assert opts.type == socket_type and opts.rcvhwm == 7
    ctx = zmq.Context()
    sock = ctx.socket(int(socket_type))
    try:
        assert sock.getsockopt(zmq.TYPE) == opts.type
        for name in ("sndhwm", "linger", "invert_matching", "mechanism", "reconnect_ivl"):
            assert sock.getsockopt(zmq.SocketOption[name.upper()]) == getattr(opts, name), name
    finally:
        sock.close(0)
        ctx.term()


def test_type_defaults_for_draft_types() -> None:
    assert Options.for_socket_type(C.DISH).linger == 0
    assert Options.for_socket_type(C.RADIO).linger == -1


def test_numbers_and_names_in_constants_match_pyzmq() -> None:
    zmq = pytest.importorskip("zmq")
    for member in C.SocketType:
        assert int(zmq.SocketType[member.name]) == member.value
        assert getattr(C, member.name) is member
    assert (C.DONTWAIT, C.NOBLOCK, C.SNDMORE) == (zmq.DONTWAIT, zmq.NOBLOCK, zmq.SNDMORE)
    assert (C.POLLIN, C.POLLOUT, C.POLLERR) == (zmq.POLLIN, zmq.POLLOUT, zmq.POLLERR)
    assert (C.NULL, C.PLAIN, C.CURVE, C.GSSAPI) == (zmq.NULL, zmq.PLAIN, zmq.CURVE, zmq.GSSAPI)
    assert (C.NOTIFY_CONNECT, C.NOTIFY_DISCONNECT) == (
        zmq.NOTIFY_CONNECT,
        zmq.NOTIFY_DISCONNECT,
    )
    for name in (
        "EAGAIN EINVAL EHOSTUNREACH ENOTSUP EMSGSIZE EADDRINUSE EADDRNOTAVAIL "
        "ECONNREFUSED ENOTSOCK EPROTONOSUPPORT EFSM ENOCOMPATPROTO ETERM EMTHREAD"
    ).split():
        assert getattr(C, name) == int(getattr(zmq, name)), name


def test_lookup() -> None:
    assert lookup("sndhwm") is lookup("SNDHWM") is lookup(23) is lookup(C.SNDHWM)
    assert lookup("identity") is lookup("routing_id") is lookup(5)
    assert lookup("CONNECT_RID") is lookup("connect_routing_id")
    assert lookup("delay_attach_on_connect") is lookup("immediate")
    assert lookup("router_behavior").name == "router_mandatory"
    for bad in ("nope", 9999, -1, 1.5):
        with pytest.raises(ZMQError) as info:
            lookup(bad)  # type: ignore[arg-type]
        assert info.value.errno == C.EINVAL
        assert "unknown socket option" in str(info.value)


def test_options_defaults_and_slots() -> None:
    opts = Options()
    for spec in OPTIONS.values():
        assert getattr(opts, spec.name) == spec.default
    assert set(Options.__slots__) - {"_as_server"} == set(OPTIONS)
    assert set(Options.__annotations__) == set(OPTIONS)
    with pytest.raises(AttributeError):
        opts.no_such_option = 1  # type: ignore[attr-defined]


def _assert_einval(opts: Options, name: str, value: Any) -> ZMQError:
    with pytest.raises(ZMQError) as info:
        opts.set(name, value)
    assert info.value.errno == C.EINVAL
    assert repr(name) in str(info.value)
    return info.value


@pytest.mark.parametrize(
    ("name", "bad", "good"),
    [
        ("sndhwm", -1, 0),
        ("rcvhwm", -1, 5),
        ("linger", -2, -1),
        ("reconnect_ivl", -2, -1),
        ("reconnect_ivl_max", -1, 0),
        ("heartbeat_ivl", -1, 0),
        ("heartbeat_ttl", 6553600, 6553500),
        ("heartbeat_ttl", -1, 0),
        ("heartbeat_timeout", -2, -1),
        ("handshake_ivl", -1, 0),
        ("connect_timeout", -1, 0),
        ("tcp_maxrt", -1, 0),
        ("maxmsgsize", -2, -1),
        ("sndtimeo", -2, -1),
        ("rcvtimeo", -2, 0),
        ("tcp_keepalive", 2, 1),
        ("tcp_keepalive_cnt", -2, 0),
        ("tcp_keepalive_idle", -2, 0),
        ("tcp_keepalive_intvl", -2, 0),
        ("backlog", -1, 0),
        ("sndbuf", -2, -1),
        ("rcvbuf", -2, 0),
        ("tos", -1, 0x28),
        ("router_notify", 4, 3),
        ("routing_id", b"", b"\x00abc"),
        ("routing_id", b"x" * 256, b"x" * 255),
        ("connect_routing_id", b"", b"peer"),
        ("zap_domain", b"x" * 256, b"global"),
        ("plain_username", b"x" * 256, b"admin"),
        ("plain_password", b"x" * 256, b"secret"),
        ("curve_publickey", b"x" * 31, b"x" * 32),
        ("curve_serverkey", b"x" * 41, b"x" * 32),
        ("immediate", 2, 1),
        ("conflate", -1, True),
        ("ipv6", 2, 0),
    ],
)
def test_validation_ranges(name: str, bad: Any, good: Any) -> None:
    """Ranges as libzmq 4.3.5 (see docs/options.md for the few deliberate differences)."""
    opts = Options()
    err = _assert_einval(opts, name, bad)
    assert str(err).startswith(f"invalid value for option {name!r}: ")
    opts.set(name, good)


@pytest.mark.parametrize(
    "name", sorted(n for n, s in OPTIONS.items() if s.kind is int and s.writable)
)
@pytest.mark.parametrize("bad", [1.0, "1", b"1", None, [1]])
def test_int_options_reject_non_int(name: str, bad: Any) -> None:
    _assert_einval(Options(), name, bad)


@pytest.mark.parametrize("name", sorted(n for n, s in OPTIONS.items() if s.kind is bool))
def test_bool_options(name: str) -> None:
    opts = Options()
    if not OPTIONS[name].writable:
        _assert_einval(opts, name, True)
        return
    for value, expected in ((1, True), (0, False), (True, True), (False, False)):
        assert opts.set(name, value) is expected
        assert getattr(opts, name) is expected
    for bad in (2, -1, "yes", 1.0, None):
        _assert_einval(opts, name, bad)


def test_int_options_accept_bool_and_index() -> None:
    opts = Options()
    assert opts.set("sndhwm", True) == 1
    assert type(opts.sndhwm) is int
    assert opts.set("linger", C.SocketType.REP) == 4
    assert type(opts.linger) is int


@pytest.mark.parametrize("name", ["routing_id", "zap_domain", "plain_username", "subscribe"])
def test_bytes_options_accept_buffers_and_str(name: str) -> None:
    opts = Options()
    assert opts.set(name, bytearray(b"ab")) == b"ab"
    assert opts.set(name, memoryview(b"cd")) == b"cd"
    assert opts.set(name, "é") == "é".encode()
    assert type(getattr(opts, name)) is bytes
    _assert_einval(opts, name, 12)


def test_curve_keys_accept_raw_and_z85() -> None:
    raw = bytes(range(32))
    text = z85_encode(raw)
    opts = Options()
    assert opts.set("curve_publickey", raw) == raw
    assert opts.set("curve_secretkey", text) == raw
    assert opts.set("curve_serverkey", text.decode()) == raw
    err = _assert_einval(opts, "curve_serverkey", "~" * 40)
    assert "invalid character" in str(err)


def test_heartbeat_ttl_truncated_to_deciseconds_like_libzmq() -> None:
    opts = Options()
    assert opts.set("heartbeat_ttl", 650) == 600
    assert opts.heartbeat_ttl == 600


def test_read_only_and_write_only() -> None:
    opts = Options()
    for name in ("type", "mechanism", "rcvmore", "events", "last_endpoint"):
        err = _assert_einval(opts, name, 0)
        assert "read-only" in str(err)
        assert opts.get(name) == OPTIONS[name].default
    for name in ("subscribe", "unsubscribe", "connect_routing_id"):
        opts.set(name, b"x")
        with pytest.raises(ZMQError) as info:
            opts.get(name)
        assert info.value.errno == C.EINVAL
        assert "write-only" in str(info.value)
    # the socket updates read-only state by plain assignment
    opts.last_endpoint = "tcp://127.0.0.1:5555"
    assert opts.get(C.LAST_ENDPOINT) == "tcp://127.0.0.1:5555"


def test_get_set_by_any_name() -> None:
    opts = Options(sndhwm=10, IDENTITY=b"me")
    assert opts.get("SNDHWM") == opts.get(23) == opts.sndhwm == 10
    assert opts.get("identity") == opts.routing_id == b"me"
    assert "sndhwm=10" in repr(opts)
    assert opts.changed() == {"sndhwm": 10, "routing_id": b"me"}


def test_copy_is_independent() -> None:
    opts = Options(rcvhwm=5, plain_server=True)
    dup = opts.copy()
    assert dup.rcvhwm == 5 and dup.mechanism == C.PLAIN and dup.plain_server
    dup.set("rcvhwm", 6)
    assert opts.rcvhwm == 5
    assert dup.changed() == {**opts.changed(), "rcvhwm": 6}


@pytest.mark.parametrize(
    ("steps", "mechanism", "plain_server", "curve_server"),
    [
        ([], C.NULL, False, False),
        ([("plain_server", 1)], C.PLAIN, True, False),
        ([("plain_server", 1), ("plain_server", 0)], C.NULL, False, False),
        ([("plain_username", b"u"), ("plain_password", b"p")], C.PLAIN, False, False),
        ([("plain_server", 1), ("plain_username", b"u")], C.PLAIN, False, False),
        ([("plain_username", b"u"), ("plain_username", b"")], C.NULL, False, False),
        ([("curve_server", 1), ("curve_secretkey", b"s" * 32)], C.CURVE, False, True),
        ([("curve_server", 1), ("curve_serverkey", b"s" * 32)], C.CURVE, False, False),
        ([("curve_publickey", b"p" * 32)], C.CURVE, False, False),
        ([("curve_server", 1), ("plain_server", 1)], C.PLAIN, True, False),
    ],
)
def test_security_options_select_mechanism(
    steps: list[tuple[str, Any]], mechanism: int, plain_server: bool, curve_server: bool
) -> None:
    opts = Options()
    for name, value in steps:
        opts.set(name, value)
    assert (opts.mechanism, opts.plain_server, opts.curve_server) == (
        mechanism,
        plain_server,
        curve_server,
    )


def test_security_mechanism_matches_libzmq() -> None:
    zmq = pytest.importorskip("zmq")
    steps = [
        ("plain_server", 1),
        ("plain_username", b"u"),
        ("curve_server", 1),
        ("curve_serverkey", b"s" * 32),
        ("plain_server", 0),
        ("curve_publickey", b"p" * 32),
        ("curve_server", 0),
    ]
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    opts = Options()
    try:
        for name, value in steps:
            sock.setsockopt(zmq.SocketOption[name.upper()], value)
            opts.set(name, value)
            assert opts.mechanism == sock.getsockopt(zmq.MECHANISM), name
            assert opts.plain_server == sock.getsockopt(zmq.PLAIN_SERVER), name
            assert opts.curve_server == sock.getsockopt(zmq.CURVE_SERVER), name
    finally:
        sock.close(0)
        ctx.term()


def test_spec_validation_text() -> None:
    assert OPTIONS["sndhwm"].validation == "≥ 0"
    assert OPTIONS["routing_id"].validation == "length 1..255"
    assert isinstance(OPTIONS["sndhwm"], OptionSpec)


def test_docs_options_table_lists_every_option() -> None:
    text = (ROOT / "docs" / "options.md").read_text(encoding="utf-8")
    for spec in OPTIONS.values():
        if spec.id >= TRINQ_OWN:
            assert f"| `{spec.name}` | — (trinq: {spec.id}) |" in text, spec.name
            continue
        assert f"| `{spec.name}` | `ZMQ_{spec.name.upper()}` = {spec.id} |" in text, spec.name
