"""Fuzz targets: one per decoder, shared by the test suites here and ``bench/fuzz.py``.

Each :class:`Target` is a function of raw bytes (libFuzzer style: the first octets
choose the parameters, the rest is the input), so the same target runs under
hypothesis (``st.binary()`` or the target's structured ``inputs`` strategy) and under
atheris. A target raises :class:`AssertionError` -- and only that -- when it finds a
bug: an exception other than the decoder's documented error, a buffer over its
bound, or two decoding paths that disagree. Every loop is bounded by the input's
length, so a target cannot hang unless the code under test does.

Documented errors (from the code):

* ``trinq.zmtp``: :class:`~trinq.zmtp.RemoteProtocolError` for anything the peer
  sends; ``detect_greeting`` returns ``None`` until it has 64 octets.
* ``trinq._z85``: ``ValueError`` (``TypeError`` for an argument that is not text or
  bytes).
* ``Options.set`` / ``lookup``: ``ZMQError`` (EINVAL) only.
* ``split_endpoint``: ``ZMQError`` (EINVAL); ``TypeError`` for a non-``str``
  endpoint; ``check_connect_address`` and ``parse_tcp_address``: ``ZMQError``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import trio
from hypothesis import strategies as st

from trinq import zmtp
from trinq._errors import ZMQError
from trinq._options import BY_ID, OPTIONS, Options, lookup
from trinq._transports import split_endpoint, transport_for
from trinq._transports._tcp import parse_tcp_address
from trinq._z85 import ALPHABET as Z85_ALPHABET
from trinq._z85 import decode as z85_decode
from trinq._z85 import encode as z85_encode

__all__ = ["TARGETS", "Reader", "Target"]

#: the largest frame header: flags + 8 size octets
HEADER = 9
MAXMSGSIZES = (-1, 0, 1, 2, 255, 256, 1000, 70000)
#: (a READY is ~50 octets: small limits end most connections in the handshake)
CONNECTION_MAXMSGSIZES = (-1, -1, 0, 100, 255, 256, 1000, 70000)
SOCKET_TYPES = sorted(zmtp.SOCKET_TYPES)


class Reader:
    """Consume fuzz input octet by octet (atheris' FuzzedDataProvider, minimal)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            return 0
        b = self.data[self.pos]
        self.pos += 1
        return b

    def pick(self, seq: Any) -> Any:
        return seq[self.byte() % len(seq)]

    def rest(self) -> bytes:
        out = self.data[self.pos :]
        self.pos = len(self.data)
        return out

    def cuts(self, n: int, total: int) -> list[int]:
        """Up to ``n`` chunk boundaries inside ``total`` octets (sorted, distinct)."""
        if total <= 1:
            return []
        return sorted({self.byte() * 257 % total for _ in range(n)})


def chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    out = []
    prev = 0
    for cut in [*cuts, len(data)]:
        if cut > prev:
            out.append(data[prev:cut])
            prev = cut
    return out


def _raises_only(exc_types: tuple[type[BaseException], ...], fn: Callable[[], Any]) -> Any:
    """``fn()``, with any exception but ``exc_types`` turned into an AssertionError."""
    try:
        return fn()
    except (*exc_types, AssertionError):
        raise
    except Exception as exc:  # the bug this fuzzing looks for
        raise AssertionError(f"undocumented {type(exc).__name__}: {exc!r}") from exc


# --- greeting --------------------------------------------------------------------------


def greeting_target(data: bytes) -> None:
    """``detect_greeting`` on every prefix: None below 64 octets, a Greeting from 64
    on, RemoteProtocolError otherwise -- and once a prefix is refused, every longer
    one is too (legacy peers are detected as early as the octets allow)."""
    data = data[:80]
    refused = False
    for n in range(len(data) + 1):
        prefix = data[:n]
        try:
            result = _raises_only(
                (zmtp.RemoteProtocolError,), lambda p=prefix: zmtp.detect_greeting(p)
            )
        except zmtp.RemoteProtocolError:
            refused = True
            continue
        assert not refused, f"prefix of {n} accepted after a shorter one was refused"
        if n < zmtp.GREETING_SIZE:
            assert result is None
        else:
            assert isinstance(result, zmtp.Greeting)
            assert result.major >= 2
    if len(data) >= zmtp.GREETING_SIZE and not refused:
        g = zmtp.Greeting.decode(data[: zmtp.GREETING_SIZE])
        assert zmtp.detect_greeting(g.encode()) == g or len(g.mechanism) > 20


def _greetings() -> st.SearchStrategy[bytes]:
    base = zmtp.Greeting().encode()
    return st.one_of(
        st.binary(max_size=80),
        st.builds(
            lambda i, b: base[:i] + bytes([b]) + base[i + 1 :],
            st.integers(0, 63),
            st.integers(0, 255),
        ),
        st.builds(
            lambda major, minor: base[:10] + bytes([major, minor]) + base[12:],
            st.integers(0, 255),
            st.integers(0, 255),
        ),
    )


# --- frames ----------------------------------------------------------------------------


def _frames_next(decoder: zmtp.FrameDecoder, pieces: list[bytes]) -> tuple[list[Any], bool]:
    out: list[Any] = []
    try:
        for piece in pieces:
            decoder.feed(piece)
            while (frame := decoder.next_frame()) is not None:
                out.append(frame)
            _check_buffer(decoder)
    except zmtp.RemoteProtocolError:
        return out, True
    return out, False


def _check_buffer(decoder: zmtp.FrameDecoder) -> None:
    """After a drain, the decoder holds at most one incomplete frame."""
    if decoder.maxmsgsize >= 0:
        assert decoder.buffered < HEADER + decoder.maxmsgsize + 1, (
            decoder.buffered,
            decoder.maxmsgsize,
        )


def _frames_read(
    decoder: zmtp.FrameDecoder, pieces: list[bytes], stall_every: int
) -> tuple[list[Any], bool]:
    """read_messages, with an ``append`` that refuses every ``stall_every``-th call (the
    refused message is taken from ``stalled``, as the engine does)."""
    out: list[Any] = []
    calls = 0

    def append(msg: Any) -> None:
        nonlocal calls
        calls += 1
        if stall_every and calls % stall_every == 0:
            raise trio.WouldBlock
        out.append(("msg", list(msg)))

    def drain(data: bytes | None) -> None:
        while True:
            try:
                cmd = decoder.read_messages(append, None, data)
            except trio.WouldBlock:
                msg = decoder.stalled
                decoder.stalled = None
                assert msg is not None
                out.append(("msg", list(msg)))
                data = None
                continue
            data = None
            if cmd is None:
                return
            out.append(("cmd", cmd[1]))

    try:
        for piece in pieces:
            drain(piece)
            _check_buffer(decoder)
    except zmtp.RemoteProtocolError:
        return out, True
    return out, False


def _flatten(frames: list[tuple[int, bytes]], in_message: bool) -> list[Any]:
    """next_frame's frames grouped as read_messages reports them."""
    out: list[Any] = []
    parts: list[bytes] = []
    for flags, body in frames:
        if flags & zmtp.COMMAND:
            out.append(("cmd", body))
        elif flags & zmtp.MORE:
            parts.append(body)
        else:
            out.append(("msg", [*parts, body]))
            parts = []
    return out


def _message_limit(
    frames: list[tuple[int, bytes]], err: bool, maxmsgsize: int
) -> tuple[list[tuple[int, bytes]], bool]:
    """next_frame checks each frame against maxmsgsize; read_messages also bounds a
    whole multipart message (its data frames' total): cut ``frames`` where that
    refuses, as read_messages would."""
    if maxmsgsize < 0:
        return frames, err
    total = 0
    for i, (flags, body) in enumerate(frames):
        if flags & zmtp.COMMAND:
            continue
        total += len(body)
        if total > maxmsgsize:
            return frames[:i], True
        if not flags & zmtp.MORE:
            total = 0
    return frames, err


def frames_target(data: bytes) -> None:
    """FrameDecoder, by ``next_frame`` and by ``read_messages`` (with refusals), fed in
    chunks: only RemoteProtocolError, never more than one incomplete frame buffered
    (one header plus maxmsgsize), and both paths decode the same frames."""
    r = Reader(data)
    maxmsgsize = r.pick(MAXMSGSIZES)
    max_parts = r.byte() % 4
    stall_every = r.byte() % 5
    cuts_n = r.byte() % 8
    stream = r.rest()
    pieces = chunks(stream, r.cuts(cuts_n, len(stream)) if stream else [])
    if not pieces:
        pieces = [stream] if stream else []
    a = zmtp.FrameDecoder(maxmsgsize)
    frames, a_err = _raises_only((zmtp.RemoteProtocolError,), lambda: _frames_next(a, pieces))
    frames, a_err = _message_limit(frames, a_err, maxmsgsize)
    b = zmtp.FrameDecoder(maxmsgsize)
    got, b_err = _raises_only(
        (zmtp.RemoteProtocolError,), lambda: _frames_read(b, pieces, stall_every)
    )
    assert a_err == b_err, (a_err, b_err)
    assert got == _flatten(frames, False)
    # max_parts only ever refuses more
    c = zmtp.FrameDecoder(maxmsgsize, max_parts)
    limited, c_err = _raises_only(
        (zmtp.RemoteProtocolError,), lambda: _frames_read(c, pieces, stall_every)
    )
    assert limited == got[: len(limited)]
    if max_parts:
        assert all(len(m[1]) <= max_parts for m in limited if m[0] == "msg")
    if not c_err:
        assert limited == got and not b_err


def _frame_streams() -> st.SearchStrategy[bytes]:
    frame = st.builds(
        lambda flags, body: zmtp.encode_frame(flags, body),
        st.sampled_from([0, zmtp.MORE, zmtp.COMMAND, zmtp.MORE | zmtp.COMMAND]),
        st.binary(max_size=300),
    )
    header = st.binary(min_size=4, max_size=4)
    valid = st.builds(lambda h, fs: h + b"".join(fs), header, st.lists(frame, max_size=8))
    return st.one_of(st.binary(max_size=600), valid, valid.flatmap(_mutated))


# --- commands and metadata -----------------------------------------------------------------


def commands_target(data: bytes) -> None:
    """Every command parser in ``zmtp._commands``: only RemoteProtocolError, and what
    parses re-encodes to what was parsed."""
    only = (zmtp.RemoteProtocolError,)
    try:
        name, rest = _raises_only(only, lambda: zmtp.parse_command(data))
    except zmtp.RemoteProtocolError:
        pass
    else:
        assert zmtp.command_body(name, rest) == data
    try:
        ttl, context = _raises_only(only, lambda: zmtp.parse_ping(data))
    except zmtp.RemoteProtocolError:
        pass
    else:
        assert 0 <= ttl <= 0xFFFF
        assert zmtp.ping_body(ttl, context) == zmtp.command_body(b"PING", data)
    try:
        reason = _raises_only(only, lambda: zmtp.parse_error(data))
    except zmtp.RemoteProtocolError:
        pass
    else:
        assert zmtp.parse_error(zmtp.error_body(reason)[6:]) == reason


def metadata_target(data: bytes) -> None:
    """``decode_metadata``: only RemoteProtocolError (with the code asked for); a
    decoded dict encodes and decodes to itself."""
    try:
        props = _raises_only(
            (zmtp.RemoteProtocolError,),
            lambda: zmtp.decode_metadata(data, zmtp_code=zmtp.ProtocolErrorCode.INVALID_METADATA),
        )
    except zmtp.RemoteProtocolError as exc:
        assert exc.zmtp_code == zmtp.ProtocolErrorCode.INVALID_METADATA
        return
    assert all(0 < len(k) < 256 and k.isascii() for k in props)
    assert zmtp.decode_metadata(zmtp.encode_metadata(props)) == props


def _metadata() -> st.SearchStrategy[bytes]:
    props = st.dictionaries(
        st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=20),
        st.binary(max_size=40),
        max_size=5,
    )
    valid = props.map(zmtp.encode_metadata)
    return st.one_of(st.binary(max_size=200), valid, valid.flatmap(_mutated))


def _commands() -> st.SearchStrategy[bytes]:
    names = st.sampled_from([b"PING", b"PONG", b"ERROR", b"READY", b"SUBSCRIBE", b"JOIN", b"X"])
    valid = st.builds(zmtp.command_body, names, st.binary(max_size=60))
    return st.one_of(st.binary(max_size=100), valid, valid.flatmap(_mutated))


# --- the whole Connection --------------------------------------------------------------


def _ready(socket_type: str, identity: bytes = b"") -> bytes:
    props = {"Socket-Type": socket_type.encode(), "Identity": identity}
    return zmtp.encode_frame(zmtp.COMMAND, zmtp.ready_body(props))


STATES = ("greeting", "handshake", "ready")


def _normalise(ev: Any) -> Any:
    if type(ev) is tuple:
        return ("msg", list(ev))
    if type(ev) is zmtp.Message:
        return ("msg", list(ev.frames))
    return ev


def _drive(conn: zmtp.Connection, pieces: list[bytes], mode: int, stall_every: int) -> list[Any]:
    """Feed ``pieces`` and then EOF, the way ``mode`` says (0: events, 1: next_event,
    2: events_into with refusals, as the engine's reader does); check the bounds;
    return the normalised events, ending with the error if there was one."""
    out: list[Any] = []
    calls = 0

    def put(msg: Any) -> None:
        nonlocal calls
        calls += 1
        if stall_every and calls % stall_every == 0:
            raise trio.WouldBlock
        out.append(_normalise(msg))

    def step(data: bytes | None) -> None:
        if mode == 0:
            if data is not None:
                conn.receive_data(data)
            while evs := conn.events():
                out.extend(map(_normalise, evs))
                if type(evs[-1]) is zmtp.ConnectionClosed:
                    return
        elif mode == 1:
            if data is not None:
                conn.receive_data(data)
            while (ev := conn.next_event()) is not zmtp.NEED_DATA:
                out.append(_normalise(ev))
                if type(ev) is zmtp.ConnectionClosed:
                    return
        else:
            while True:
                try:
                    evs = conn.events_into(put, data)
                except trio.WouldBlock:
                    out.append(_normalise(conn.take_stalled()))
                    data = None
                    continue
                data = None
                if not evs:
                    return
                out.extend(map(_normalise, evs))
                if type(evs[-1]) is zmtp.ConnectionClosed:
                    return

    try:
        for piece in pieces:
            step(piece)
            _check_connection(conn)
        conn.receive_data(b"")
        if mode == 2:
            mode = 0  # (events_into takes no EOF)
        step(None)
    except zmtp.RemoteProtocolError as exc:
        assert conn.state is zmtp.ConnectionState.ERROR
        for again in (conn.events, conn.next_event):
            try:
                again()
            except zmtp.RemoteProtocolError as exc2:
                assert exc2 is exc
            else:
                raise AssertionError("an errored connection stopped raising")
        out.append(("error", exc.reason))
    return out


def _check_connection(conn: zmtp.Connection) -> None:
    decoder = conn._decoder
    if conn.state is zmtp.ConnectionState.GREETING:
        assert decoder.buffered < zmtp.GREETING_SIZE
    elif conn.maxmsgsize >= 0 and conn.state in (
        zmtp.ConnectionState.HANDSHAKING,
        zmtp.ConnectionState.READY,
    ):
        _check_buffer(decoder)


def connection_target(data: bytes) -> None:
    """A whole ``zmtp.Connection`` fed a peer's bytes in a chosen state (greeting:
    random bytes; handshake: a good greeting, then random; ready: greeting and READY,
    then random), in chunks, by each of its three receive APIs: only
    RemoteProtocolError, no more than one incomplete frame buffered, the
    HandshakeComplete once and first, and all three APIs see the same events."""
    r = Reader(data)
    state = r.pick(STATES)
    ours = r.pick(SOCKET_TYPES)
    choice = r.byte()
    peers = [t for t in SOCKET_TYPES if zmtp.is_compatible(ours, t)] if choice & 1 else []
    peer = (peers or SOCKET_TYPES)[(choice >> 1) % len(peers or SOCKET_TYPES)]
    maxmsgsize = r.pick(CONNECTION_MAXMSGSIZES)
    stall_every = r.byte() % 4
    cuts_n = r.byte() % 6
    body = r.rest()
    head = b""
    if state != "greeting":
        head = zmtp.Greeting().encode()
    if state == "ready":
        head += _ready(peer, b"id")
    stream = head + body
    pieces = chunks(stream, r.cuts(cuts_n, len(stream)))
    results = []
    for mode in (0, 1, 2):
        conn = zmtp.Connection(ours, maxmsgsize=maxmsgsize, raw_messages=mode == 2)
        conn.initiate()
        res = _raises_only(
            (zmtp.RemoteProtocolError,), lambda c=conn, m=mode: _drive(c, pieces, m, stall_every)
        )
        hs = [i for i, ev in enumerate(res) if type(ev) is zmtp.HandshakeComplete]
        assert len(hs) <= 1
        if any(isinstance(ev, tuple) and ev[0] == "msg" for ev in res):
            assert hs and all(not (isinstance(ev, tuple) and ev[0] == "msg") for ev in res[: hs[0]])
        results.append(res)
    assert results[0] == results[1], "events() and next_event() disagree"
    ok = [ev for ev in results[0] if not (isinstance(ev, tuple) and ev[0] == "error")]
    got = [ev for ev in results[2] if not (isinstance(ev, tuple) and ev[0] == "error")]
    assert got[: len(ok)] == ok[: len(got)], "events_into() disagrees"


def _mutated(data: bytes) -> st.SearchStrategy[bytes]:
    """``data`` with a few octets flipped, dropped or inserted."""
    if not data:
        return st.just(data)
    edit = st.tuples(st.integers(0, len(data) - 1), st.integers(0, 255), st.integers(0, 2))

    def apply(edits: list[tuple[int, int, int]]) -> bytes:
        buf = bytearray(data)
        for i, b, kind in edits:
            i = min(i, len(buf) - 1) if buf else 0
            if kind == 0 and buf:
                buf[i] = b
            elif kind == 1 and buf:
                del buf[i]
            else:
                buf.insert(i, b)
        return bytes(buf)

    return st.lists(edit, min_size=1, max_size=4).map(apply)


def _connections() -> st.SearchStrategy[bytes]:
    params = st.binary(min_size=6, max_size=6)
    frames = st.lists(
        st.one_of(
            st.builds(
                zmtp.encode_message, st.lists(st.binary(max_size=300), min_size=1, max_size=3)
            ),
            st.builds(
                lambda c: zmtp.encode_frame(zmtp.COMMAND, c),
                st.one_of(
                    st.builds(zmtp.ping_body, st.integers(0, 0xFFFF), st.binary(max_size=20)),
                    st.builds(
                        zmtp.command_body,
                        st.sampled_from(
                            [
                                b"PONG",
                                b"SUBSCRIBE",
                                b"CANCEL",
                                b"JOIN",
                                b"LEAVE",
                                b"ERROR",
                                b"READY",
                            ]
                        ),
                        st.binary(max_size=20),
                    ),
                ),
            ),
            st.sampled_from([b"\x00\x05\x01topic", b"\x00\x01\x00"]),
        ),
        max_size=8,
    ).map(b"".join)

    @st.composite
    def valid(draw: Any) -> bytes:
        state = draw(st.integers(0, 2))
        ours = draw(st.integers(0, len(SOCKET_TYPES) - 1))
        peers = [t for t in SOCKET_TYPES if zmtp.is_compatible(SOCKET_TYPES[ours], t)]
        choice = draw(st.integers(0, max(len(peers) - 1, 0)))
        peer = (peers or SOCKET_TYPES)[choice % len(peers or SOCKET_TYPES)]
        rest = draw(st.binary(min_size=3, max_size=3))
        # (each state's prefix is the part of a valid stream that the target adds)
        body = draw(frames)
        if state < 2:
            body = _ready(peer, b"id") + body
        if state < 1:
            body = zmtp.Greeting().encode() + body
        return bytes([state, ours, choice * 2 + 1, *rest]) + body

    good = valid()
    return st.one_of(st.builds(lambda p, f: p + f, params, frames), good, good.flatmap(_mutated))


# --- Z85 -----------------------------------------------------------------------------------


def z85_target(data: bytes) -> None:
    """Z85 decode (of bytes and of text) and encode: only ValueError (TypeError for
    other types); what decodes re-encodes to itself, and what encodes decodes back."""
    for text in (data, data.decode("latin-1")):
        try:
            raw = _raises_only((ValueError,), lambda t=text: z85_decode(t))
        except ValueError:
            continue
        assert len(raw) == len(data) // 5 * 4
        assert z85_encode(raw) == data
    try:
        encoded = _raises_only((ValueError,), lambda: z85_encode(data))
    except ValueError:
        assert len(data) % 4
    else:
        assert z85_decode(encoded) == data
    # neither text nor bytes: a TypeError (documented), never anything else
    for junk in (len(data), None, list(data[:3])):
        for fn in (z85_encode, z85_decode):
            try:
                _raises_only((TypeError, ValueError), lambda f=fn, j=junk: f(j))
            except (TypeError, ValueError):
                pass


def _z85() -> st.SearchStrategy[bytes]:
    alphabet = st.sampled_from(list(Z85_ALPHABET))
    text = st.lists(alphabet, max_size=50).map(bytes)
    return st.one_of(st.binary(max_size=60), text)


# --- options -----------------------------------------------------------------------------

OPTION_NAMES = sorted(OPTIONS)


def _value(r: Reader) -> Any:
    kind = r.byte() % 10
    raw = r.rest()
    if kind == 0:
        return int.from_bytes(raw[:9], "big", signed=True)
    if kind == 1:
        return bool(raw[:1] and raw[0] & 1)
    if kind == 2:
        return raw
    if kind == 3:
        return raw.decode("utf-8", "replace")  # (no lone surrogates: a known bug)
    if kind == 4:
        return bytearray(raw)
    if kind == 5:
        return memoryview(raw)
    if kind == 6:
        return float(int.from_bytes(raw[:4], "big")) / 7
    if kind == 7:
        return None
    if kind == 8:
        return list(raw[:4])
    return raw.decode("latin-1")


def options_target(data: bytes) -> None:
    """``Options.set`` with any value for any option (by name, alias-cased, id, or junk):
    only ZMQError; a value that is taken reads back as stored (readable options)."""
    r = Reader(data)
    how = r.byte() % 4
    if how == 0:
        key: Any = r.pick(OPTION_NAMES)
    elif how == 1:
        key = r.pick(OPTION_NAMES).upper()
    elif how == 2:
        key = r.byte() * 256 + r.byte() if r.byte() & 1 else r.pick(sorted(BY_ID))
    else:
        key = bytes(r.data[r.pos : r.pos + 6]).decode("latin-1")
    value = _value(r)
    opts = Options()
    try:
        stored = _raises_only((ZMQError,), lambda: opts.set(key, value))
    except ZMQError as exc:
        assert exc.errno == 22, exc
        return
    spec = lookup(key)
    if spec.readable:
        assert opts.get(key) == stored


# --- endpoints -----------------------------------------------------------------------------


def endpoint_target(data: bytes) -> None:
    """Endpoint strings: ``split_endpoint``, the scheme's ``check_connect_address``, and
    ``parse_tcp_address`` both ways -- only ZMQError, and a parsed port is a port."""
    text = data.decode("utf-8", "replace")
    try:
        scheme, address = _raises_only((ZMQError,), lambda: split_endpoint(text))
    except ZMQError:
        return
    assert f"{scheme}://{address}" == text
    try:
        transport = transport_for(scheme)
    except ZMQError:
        transport = None
    if transport is not None:
        try:
            _raises_only((ZMQError,), lambda: transport.check_connect_address(address))
        except ZMQError:
            pass
    for bind in (True, False):
        try:
            host, port = _raises_only(
                (ZMQError,), lambda b=bind: parse_tcp_address(address, bind=b)
            )
        except ZMQError:
            continue
        assert 0 <= port <= 65535 and (port or bind)
        assert isinstance(host, str)


def _endpoints() -> st.SearchStrategy[bytes]:
    scheme = st.sampled_from(["tcp", "ipc", "inproc", "ws", "udp", "", "TCP"])
    host = st.one_of(
        st.sampled_from(["127.0.0.1", "*", "[::1]", "[::1", "localhost", "", "a;b", "a:b"]),
        st.text(max_size=20),
    )
    port = st.one_of(
        st.sampled_from(["*", "0", "65535", "65536", "-1", "+80", " 80", ""]),
        st.integers(-5, 70000).map(str),
        st.text(max_size=6),
    )
    ep = st.builds(
        lambda s, h, p, sep: f"{s}{sep}{h}:{p}",
        scheme,
        host,
        port,
        st.sampled_from(["://", ":/", "//", "://://"]),
    )
    return st.one_of(st.binary(max_size=60), ep.map(lambda s: s.encode("utf-8", "replace")))


# --- the table ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One fuzz target: ``run(data)`` checks one input; ``inputs`` generates likely ones."""

    name: str
    run: Callable[[bytes], None]
    inputs: st.SearchStrategy[bytes]

    @property
    def doc(self) -> str:
        return (self.run.__doc__ or "").strip().split("\n\n")[0]


TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("greeting", greeting_target, _greetings()),
        Target("frames", frames_target, _frame_streams()),
        Target("commands", commands_target, _commands()),
        Target("metadata", metadata_target, _metadata()),
        Target("connection", connection_target, _connections()),
        Target("z85", z85_target, _z85()),
        Target("options", options_target, st.binary(max_size=40)),
        Target("endpoint", endpoint_target, _endpoints()),
    )
}
