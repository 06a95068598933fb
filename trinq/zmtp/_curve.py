"""The CURVE mechanism (RFC 25 / CurveZMQ RFC 26), as libzmq speaks it, on PyNaCl.

Theory of operation
-------------------
Four key pairs: the long-term C (client) and S (server), and the per-connection
transient C' and S'.  ``Box[X](A->B)`` is NaCl's ``crypto_box`` from A's secret to
B's public key.  Command data (after the length-prefixed name)::

    HELLO     1 0 | 72 zero | C' | nonce8 | Box[64 zero](C'->S)              (200 with name)
    WELCOME   nonce16 | Box[S' | cookie](S->C')                              (168)
      cookie = nonce16 | SecretBox[C' | s'](K)      K: cookie key, fresh per connection
    INITIATE  cookie | nonce8 | Box[C | vouch | metadata](C'->S')             (257+)
      vouch  = nonce16 | Box[C' | S](C->S')
    READY     nonce8 | Box[metadata](S'->C')                                 (30+)
    MESSAGE   nonce8 | Box[flags | payload](C'<->S')                         (33+)

Nonce prefixes: ``CurveZMQHELLO---``, ``WELCOME-``, ``COOKIE--``, ``CurveZMQINITIATE``,
``VOUCH---``, ``CurveZMQREADY---``, ``CurveZMQMESSAGEC`` (client to server) and
``CurveZMQMESSAGES``.  The 8-octet *short* nonces count per direction: the client's
start at 1 (HELLO 1, INITIATE 2, first MESSAGE 3), the server's READY is 1 and its
MESSAGEs start at 2.  A receiver accepts any strictly increasing short nonce (gaps
allowed) and refuses a repeated or smaller one (``INVALID_SEQUENCE``).

After the handshake every ZMTP frame is one MESSAGE, sent as a plain data frame
(flags 0: libzmq neither sets nor reads the outer MORE/COMMAND bits).  Inside the
box, flags bit 0 is MORE and bit 1 is COMMAND: PING, PONG, SUBSCRIBE... travel
encrypted as MESSAGEs with the COMMAND bit (docs/interop.md §6).  Everything after
WELCOME uses the shared key precomputed once (``crypto_box_beforenm``).

The server keeps s' and the cookie key only until INITIATE; the cookie key is
random per connection (libzmq draws one per WELCOME) and dropped once INITIATE is
verified.  After INITIATE the server asks ZAP (credentials: C, 32 octets);
:meth:`~trinq.zmtp.Mechanism.zap_unavailable` accepts any client key ("Stonehouse",
as libzmq) unless the domain is enforced.  :attr:`CurveServerMechanism.client_key`
holds C once INITIATE is verified.

Errors follow libzmq's monitor codes: an unexpected command is
``UNEXPECTED_COMMAND``; wrong sizes/versions are ``MALFORMED_COMMAND_HELLO`` /
``_WELCOME`` / ``_INITIATE`` / ``_READY`` / ``_MESSAGE``; a box that does not open,
or a cookie that does not match, ``CRYPTOGRAPHIC``; a vouch naming other keys
``KEY_EXCHANGE``; bad metadata ``INVALID_METADATA``.

Speed: the MESSAGE path calls libsodium's ``crypto_box_easy_afternm`` /
``crypto_box_open_easy_afternm`` through PyNaCl's cffi ``lib`` directly when it is
there (checked against ``nacl.bindings`` once, at load), which halves the Python
cost of opening a box; otherwise through ``nacl.bindings``.  On the direct path
:meth:`CurveMechanism.encode_messages` seals a whole batch into one buffer (headers
and boxes written in place: no per-frame allocation, no join), and once the
handshake is done ``decode`` becomes a closure that opens boxes into a buffer it
keeps (frames up to 64 KiB) and hands anything it does not accept to the checking
method, which raises the precise error.

PyNaCl is imported on first use: constructing a CURVE mechanism without it raises
:class:`ImportError` naming ``pip install 'trinq[curve]'``.
"""

from __future__ import annotations

import enum
import functools
import importlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

from ._commands import command_body, decode_metadata, encode_metadata
from ._errors import LocalProtocolError, ProtocolErrorCode, RemoteProtocolError
from ._frames import BytesLike
from ._mechanism import Mechanism, MechanismStatus

__all__ = ["CurveClientMechanism", "CurveMechanism", "CurveServerMechanism"]

_E = ProtocolErrorCode
_KEY = 32
_HELLO_DATA = 194  # HELLO is 200 octets with its 6-octet name
_WELCOME_DATA = 160
_INITIATE_MIN_DATA = 248
_READY_MIN_DATA = 24
_MESSAGE = b"\x07MESSAGE"
_MESSAGE_MIN = 33  # name 8 + nonce 8 + MAC 16 + flags 1
_ZERO64 = bytes(64)

#: wire header (ZMTP short frame header + MESSAGE name) by body size < 256
_SHORT_HEADERS: tuple[bytes, ...] = tuple(bytes((0, n)) + _MESSAGE for n in range(256))
#: MESSAGE flags octet -> ZMTP frame flags (bit 0 MORE -> 0x01, bit 1 COMMAND -> 0x04)
_RX_FLAGS: tuple[int, ...] = (0, 1, 4, 5)
#: ZMTP frame flags (MORE 0x01, COMMAND 0x04) -> MESSAGE flags octet prefix
_TX_FLAGS: tuple[bytes, ...] = tuple(bytes(((f & 1) | ((f & 4) >> 1),)) for f in range(8))

_INSTALL_HINT = "the CURVE mechanism needs PyNaCl: pip install 'trinq[curve]'"

#: ``seal(plaintext, nonce, key)`` -> MAC + ciphertext, with a precomputed key
_Seal = Callable[[bytes, bytes, bytes], bytes]
#: ``open_split(box, nonce, key)`` -> (first plaintext octet, the rest), None if forged
_OpenSplit = Callable[[bytes, bytes, bytes], "tuple[int, bytes] | None"]


class _Sodium:
    """The PyNaCl primitives CURVE uses, bound once (see :func:`_sodium`)."""

    def __init__(self) -> None:
        try:
            from nacl import bindings, exceptions, utils
        except ImportError as exc:
            raise ImportError(_INSTALL_HINT) from exc
        self.crypto_error: type[Exception] = exceptions.CryptoError
        self.box: Callable[[bytes, bytes, bytes, bytes], bytes] = bindings.crypto_box
        self.box_open: Callable[[bytes, bytes, bytes, bytes], bytes] = bindings.crypto_box_open
        self.beforenm: Callable[[bytes, bytes], bytes] = bindings.crypto_box_beforenm
        self.secretbox: Callable[[bytes, bytes, bytes], bytes] = bindings.crypto_secretbox
        self.secretbox_open: Callable[[bytes, bytes, bytes], bytes] = bindings.crypto_secretbox_open
        self.keypair: Callable[[], tuple[bytes, bytes]] = bindings.crypto_box_keypair
        self.scalarmult_base: Callable[[bytes], bytes] = bindings.crypto_scalarmult_base
        self.random: Callable[[int], bytes] = utils.random
        open_easy: Callable[[bytes, bytes, bytes], bytes] = bindings.crypto_box_open_easy_afternm
        crypto_error = self.crypto_error

        def open_afternm(box: bytes, nonce: bytes, key: bytes) -> bytes | None:
            try:
                return open_easy(box, nonce, key)
            except crypto_error:
                return None

        #: ``open_afternm(box, nonce, key)`` -> the plaintext, or None (handshake)
        self.open_afternm: Callable[[bytes, bytes, bytes], bytes | None] = open_afternm
        seal, open_split = self._bindings_afternm(bindings)
        #: libsodium through cffi, when it agrees with PyNaCl's bindings (else None)
        self.direct: _Direct | None = None
        parts = self._direct_parts()
        if parts is not None:
            direct = self._direct_afternm(parts)
            if self._agrees(direct, (seal, open_split)) and self._batch_agrees(parts, seal):
                seal, open_split = direct
                self.direct = parts
        self.seal: _Seal = seal
        self.open_split: _OpenSplit = open_split

    def _bindings_afternm(self, bindings: Any) -> tuple[_Seal, _OpenSplit]:
        seal: _Seal = bindings.crypto_box_easy_afternm
        open_easy: Callable[[bytes, bytes, bytes], bytes] = bindings.crypto_box_open_easy_afternm
        crypto_error = self.crypto_error

        def open_split(box: bytes, nonce: bytes, key: bytes) -> tuple[int, bytes] | None:
            try:
                plain = open_easy(box, nonce, key)
            except crypto_error:
                return None
            if not plain:
                return None
            return plain[0], plain[1:]

        return seal, open_split

    @staticmethod
    def _direct_parts() -> _Direct | None:
        """PyNaCl's cffi allocator (no zero fill), ``ffi.buffer`` and libsodium's
        easy_afternm functions, or None when PyNaCl does not expose them."""
        try:
            sodium: Any = importlib.import_module("nacl._sodium")
            ffi: Any = sodium.ffi
            lib: Any = sodium.lib
            return _Direct(
                ffi.new_allocator(should_clear_after_alloc=False),
                ffi.buffer,
                lib.crypto_box_easy_afternm,
                lib.crypto_box_open_easy_afternm,
            )
        except Exception:
            return None

    @staticmethod
    def _direct_afternm(parts: _Direct) -> tuple[_Seal, _OpenSplit]:
        """libsodium's easy_afternm functions called through cffi directly (no argument
        re-checks, no zero-filled buffers): the hot path of every CURVE message."""
        alloc, buffer, c_seal, c_open = parts

        def seal(plain: bytes, nonce: bytes, key: bytes) -> bytes:
            n = len(plain)
            out = alloc("unsigned char[]", n + 16)
            if c_seal(out, plain, n, nonce, key):
                raise RuntimeError("crypto_box_easy_afternm failed")
            return buffer(out, n + 16)[:]  # type: ignore[no-any-return]

        def open_split(box: bytes, nonce: bytes, key: bytes) -> tuple[int, bytes] | None:
            n = len(box) - 16
            if n < 1:
                return None
            out = alloc("unsigned char[]", n)
            if c_open(out, box, n + 16, nonce, key):
                return None
            return out[0], buffer(out, n)[1:]

        return seal, open_split

    @staticmethod
    def _batch_agrees(parts: _Direct, seal: _Seal) -> bool:
        """The batch encoder gives what sealing one box at a time through PyNaCl's
        bindings gives, short and long frames alike (checked once, throwaway key)."""
        try:
            from nacl import bindings

            public, secret = bindings.crypto_box_keypair()
            key = bindings.crypto_box_beforenm(public, secret)
            prefix = b"CurveZMQMESSAGEC"
            batch = [[b"a", b""], [bytes(range(256)) * 2], [b"z" * 222], [b"y" * 223]]
            expected, end = _encode_each(seal, batch, 5, prefix, key)
            got, got_end = _batch_encoder(parts)(batch, 5, prefix, key)
            return bool(got == expected and got_end == end == 10)
        except Exception:
            return False

    def _agrees(
        self, direct: tuple[_Seal, _OpenSplit], reference: tuple[_Seal, _OpenSplit]
    ) -> bool:
        """The direct path gives the same boxes as PyNaCl's bindings and refuses forgeries."""
        try:
            public, secret = self.keypair()
            key = self.beforenm(public, secret)
            nonce = bytes(range(24))
            plain = b"\x02trinq self-test"
            box = reference[0](plain, nonce, key)
            return (
                direct[0](plain, nonce, key) == box
                and direct[1](box, nonce, key) == (plain[0], plain[1:])
                and direct[1](box[:-1] + bytes((box[-1] ^ 1,)), nonce, key) is None
            )
        except Exception:
            return False


class _Direct(NamedTuple):
    """What the direct (cffi) paths call."""

    alloc: Any
    buffer: Any
    c_seal: Any
    c_open: Any


#: the decoder keeps an output buffer this large at most (bigger frames get their own)
_RX_KEEP = 65536


def _encode_each(
    seal: _Seal,
    messages: Iterable[Sequence[BytesLike]],
    nonce: int,
    prefix: bytes,
    key: bytes,
) -> tuple[bytes, int]:
    """Wire octets of *messages* as MESSAGE frames, one ``seal`` per frame, with short
    nonces from *nonce*; returns them and the next nonce."""
    headers = _SHORT_HEADERS
    out: list[bytes] = []
    append = out.append
    for frames in messages:
        last = len(frames) - 1
        if last < 0:
            raise ValueError("a ZMTP message has at least one frame")
        for i, frame in enumerate(frames):
            short = nonce.to_bytes(8, "big")
            nonce += 1
            box = seal((b"\x01" if i < last else b"\x00") + frame, prefix + short, key)
            size = 16 + len(box)
            if size < 256:
                append(headers[size])
            else:
                append(b"\x02" + size.to_bytes(8, "big") + _MESSAGE)
            append(short)
            append(box)
    return b"".join(out), nonce


#: ``encode_batch(messages, first nonce, nonce prefix, key)`` -> (wire octets, next nonce)
_BatchEncoder = Callable[[Iterable[Sequence[BytesLike]], int, bytes, bytes], tuple[bytes, int]]


def _batch_encoder(parts: _Direct) -> _BatchEncoder:
    """:func:`_encode_each` on the direct path: the plaintexts (flags octet + frame)
    first, to size one buffer; then each header is copied in and each box sealed in
    place behind it; the buffer is the result."""
    alloc, buffer, c_seal, _ = parts
    headers = _SHORT_HEADERS

    def encode_batch(
        messages: Iterable[Sequence[BytesLike]], nonce: int, prefix: bytes, key: bytes
    ) -> tuple[bytes, int]:
        plains: list[bytes] = []
        append = plains.append
        total = 0
        for frames in messages:
            last = len(frames) - 1
            if last < 0:
                raise ValueError("a ZMTP message has at least one frame")
            for i in range(last):
                plain = b"\x01" + frames[i]
                append(plain)
                size = len(plain) + 32
                total += size + (2 if size < 256 else 9)
            plain = b"\x00" + frames[last]
            append(plain)
            size = len(plain) + 32
            total += size + (2 if size < 256 else 9)
        out = alloc("unsigned char[]", total)
        buf = buffer(out)
        pos = 0
        for plain in plains:
            m = len(plain)
            size = m + 32
            short = nonce.to_bytes(8, "big")
            nonce += 1
            if size < 256:
                head = headers[size] + short
            else:
                head = b"\x02" + size.to_bytes(8, "big") + _MESSAGE + short
            end = pos + len(head)
            buf[pos:end] = head
            if c_seal(out + end, plain, m, prefix + short, key):
                raise RuntimeError("crypto_box_easy_afternm failed")
            pos = end + 16 + m
        assert pos == total
        return buf[:], nonce

    return encode_batch


def _message_decoder(
    parts: _Direct, mech: CurveMechanism
) -> Callable[[int, bytes], tuple[int, bytes]]:
    """``mech.decode`` once READY, on the direct path: the common case (a MESSAGE with a
    fresh nonce whose box opens) inline, into an output buffer kept between calls;
    everything else goes to :meth:`CurveMechanism.decode`, which raises the error."""
    alloc, buffer, _, c_open = parts
    key = mech._live_key
    prefix = mech._rx_prefix
    checking: Callable[[int, bytes], tuple[int, bytes]] = functools.partial(
        CurveMechanism.decode, mech
    )
    from_bytes = int.from_bytes
    rx_flags = _RX_FLAGS
    message = _MESSAGE
    kept: Any = None
    kept_buf: Any = None
    kept_size = 0

    def decode(flags: int, body: bytes) -> tuple[int, bytes]:
        nonlocal kept, kept_buf, kept_size
        n = len(body) - 32  # flags octet + frame
        short = body[8:16]
        nonce = from_bytes(short, "big")
        if n < 1 or body[:8] != message or nonce <= mech._rx_nonce:
            return checking(flags, body)
        if n <= kept_size:
            out, out_buf = kept, kept_buf
        else:
            out = alloc("unsigned char[]", n)
            out_buf = buffer(out)
            if n <= _RX_KEEP:
                kept, kept_buf, kept_size = out, out_buf, n
        if c_open(out, body[16:], n + 16, prefix + short, key):
            return checking(flags, body)  # CRYPTOGRAPHIC
        mech._rx_nonce = nonce
        frame: bytes = out_buf[1:n]
        return rx_flags[out[0] & 3], frame

    return decode


def _message_run_decoder(
    parts: _Direct, mech: CurveMechanism
) -> Callable[[list[Any], Callable[[Any], object], list[bytes], int], tuple[Any, ...]]:
    """``mech.decode_run`` once READY (see :attr:`Mechanism.decode_run`): the receive
    side of a run of data frames in one loop, each MESSAGE's box opened into a buffer
    kept between calls, multipart messages assembled, each whole message put as a
    tuple. It stops, leaving the frame to :meth:`CurveMechanism.decode`, at anything
    else -- a command, a replayed nonce, a box that does not open, a part past
    ``max_more`` -- so errors are raised there, by the one checking path. (Per message
    this saves the calls and tuples of decoding frame by frame: a fifth of a 16-byte
    message's receive cost.)"""
    alloc, buffer, _, c_open = parts
    key = mech._live_key
    prefix = mech._rx_prefix
    from_bytes = int.from_bytes
    message = _MESSAGE
    kept: Any = None
    kept_buf: Any = None
    kept_size = 0

    def decode_run(
        wire: list[Any], put: Callable[[Any], object], assembling: list[bytes], max_more: int
    ) -> tuple[Any, ...]:
        nonlocal kept, kept_buf, kept_size
        rx_nonce = mech._rx_nonce
        taken = puts = 0
        msg: Any = None
        try:
            for outer in wire:
                if len(outer) != 1:
                    break
                body = outer[0]
                n = len(body) - 32  # flags octet + frame
                short = body[8:16]
                nonce = from_bytes(short, "big")
                if n < 1 or nonce <= rx_nonce or body[:8] != message:
                    break
                if n <= kept_size:
                    out, out_buf = kept, kept_buf
                else:
                    out = alloc("unsigned char[]", n)
                    out_buf = buffer(out)
                    if n <= _RX_KEEP:
                        kept, kept_buf, kept_size = out, out_buf, n
                if c_open(out, body[16:], n + 16, prefix + short, key):
                    break
                flags = out[0] & 3
                if flags:
                    if flags != 1 or 0 <= max_more <= len(assembling):
                        break  # a COMMAND, or one part too many: the checking path
                    rx_nonce = nonce
                    taken += 1
                    assembling.append(out_buf[1:n])
                    continue
                rx_nonce = nonce
                taken += 1
                if assembling:
                    assembling.append(out_buf[1:n])
                    msg = tuple(assembling)
                    assembling = []
                else:
                    msg = (out_buf[1:n],)
                puts += 1
                put(msg)
        except BaseException as exc:  # raised by put: msg is decoded, counted, refused
            mech._rx_nonce = rx_nonce
            return taken, puts, exc, msg, assembling
        mech._rx_nonce = rx_nonce
        return taken, puts, None, None, assembling

    return decode_run


_loaded: _Sodium | None = None


def _sodium() -> _Sodium:
    """PyNaCl, imported on first use (:class:`ImportError` naming the extra if absent)."""
    global _loaded
    if _loaded is None:
        _loaded = _Sodium()
    return _loaded


def _check_key(what: str, key: bytes) -> bytes:
    key = bytes(key)
    if len(key) != _KEY:
        raise ValueError(f"CURVE {what} must be 32 raw bytes, got {len(key)}")
    return key


def _check_pair(sodium: _Sodium, public_key: bytes | None, secret_key: bytes) -> bytes:
    """The public key of *secret_key*; *public_key*, if given, must be it."""
    secret_key = _check_key("secret key", secret_key)
    try:
        derived = sodium.scalarmult_base(secret_key)
    except sodium.crypto_error:
        raise ValueError("invalid CURVE secret key") from None
    if public_key is not None and _check_key("public key", public_key) != derived:
        raise ValueError("the CURVE public key does not belong to the secret key")
    return derived


class CurveMechanism(Mechanism):
    """What both CURVE roles share: MESSAGE boxing with short nonces.

    Not instantiated directly: see :class:`CurveClientMechanism` and
    :class:`CurveServerMechanism`.
    """

    name = b"CURVE"
    transparent = False
    _tx_prefix: bytes
    _rx_prefix: bytes

    def __init__(self) -> None:
        super().__init__()
        sodium = self._sodium = _sodium()
        self._seal = sodium.seal
        self._open_split = sodium.open_split
        self._encode_batch: _BatchEncoder | None = (
            None if sodium.direct is None else _batch_encoder(sodium.direct)
        )
        #: The precomputed C'/S' shared key (after WELCOME), and the same once the
        #: handshake is READY (MESSAGE boxing checks only this one).
        self._key: bytes | None = None
        self._live_key: bytes | None = None
        #: Our next short nonce, and the last one the peer used.
        self._tx_nonce = 1
        self._rx_nonce = 0

    def _next_nonce(self) -> bytes:
        nonce = self._tx_nonce
        self._tx_nonce = nonce + 1
        return nonce.to_bytes(8, "big")

    def _shared_key(self, public: bytes, secret: bytes) -> bytes:
        try:
            return self._sodium.beforenm(public, secret)
        except self._sodium.crypto_error:
            raise self._protocol_error(
                "CURVE key exchange failed (invalid transient key)", _E.CRYPTOGRAPHIC
            ) from None

    def _ready(self) -> None:
        """The handshake is complete: MESSAGEs may flow."""
        self._status = MechanismStatus.READY
        self._live_key = self._key
        direct = self._sodium.direct
        if direct is not None and self._key is not None:
            self.decode = _message_decoder(direct, self)  # type: ignore[method-assign,assignment]
            self.decode_run = _message_run_decoder(direct, self)

    def _ready_key(self) -> bytes:
        key = self._live_key
        if key is None:
            raise LocalProtocolError("the CURVE handshake is not complete")
        return key

    # ------------------------------------------------------------------
    # MESSAGE

    def encode(self, flags: int, body: bytes) -> tuple[int, bytes]:
        """One frame (ZMTP *flags*: MORE, COMMAND) as a MESSAGE body (outer flags 0)."""
        key = self._ready_key()
        nonce = self._tx_nonce
        self._tx_nonce = nonce + 1
        short = nonce.to_bytes(8, "big")
        box = self._seal(_TX_FLAGS[flags & 7] + body, self._tx_prefix + short, key)
        return 0, _MESSAGE + short + box

    def decode(self, flags: int, body: bytes) -> tuple[int, bytes]:
        """One received frame (a MESSAGE) -> (ZMTP flags, plaintext frame)."""
        if body[:8] != _MESSAGE:
            raise self._protocol_error(
                f"expected a CURVE MESSAGE, got {body[:16]!r}", _E.UNEXPECTED_COMMAND
            )
        if len(body) < _MESSAGE_MIN:
            raise self._protocol_error(
                f"CURVE MESSAGE of {len(body)} octets", _E.MALFORMED_COMMAND_MESSAGE
            )
        key = self._live_key
        if key is None:
            raise LocalProtocolError("the CURVE handshake is not complete")
        short = body[8:16]
        nonce = int.from_bytes(short, "big")
        if nonce <= self._rx_nonce:
            raise self._protocol_error(
                f"CURVE MESSAGE nonce {nonce} after {self._rx_nonce} (replayed?)",
                _E.INVALID_SEQUENCE,
            )
        opened = self._open_split(body[16:], self._rx_prefix + short, key)
        if opened is None:
            raise self._protocol_error("CURVE MESSAGE box does not open", _E.CRYPTOGRAPHIC)
        self._rx_nonce = nonce
        return _RX_FLAGS[opened[0] & 3], opened[1]

    def encode_message(self, frames: Sequence[BytesLike]) -> bytes:
        """Wire octets for one data message (one MESSAGE frame per frame)."""
        return self.encode_messages((frames,))

    def encode_messages(self, messages: Iterable[Sequence[BytesLike]]) -> bytes:
        """Wire octets for many data messages: one loop, one buffer (or one join)."""
        key = self._ready_key()
        batch = self._encode_batch
        if batch is not None:
            data, self._tx_nonce = batch(messages, self._tx_nonce, self._tx_prefix, key)
        else:
            data, self._tx_nonce = _encode_each(
                self._seal, messages, self._tx_nonce, self._tx_prefix, key
            )
        return data


class _Client(enum.Enum):
    SEND_HELLO = 1
    WAIT_WELCOME = 2
    SEND_INITIATE = 3
    WAIT_READY = 4
    READY = 5


class CurveClientMechanism(CurveMechanism):
    """CURVE, client side.

    Args:
        public_key: our long-term public key C (32 raw bytes).
        secret_key: our long-term secret key c (32 raw bytes).
        server_key: the server's long-term public key S (32 raw bytes).

    Raises:
        ValueError: a key is not 32 bytes, or *public_key* is not *secret_key*'s.
        ImportError: PyNaCl is not installed.
    """

    _tx_prefix = b"CurveZMQMESSAGEC"
    _rx_prefix = b"CurveZMQMESSAGES"

    def __init__(self, public_key: bytes, secret_key: bytes, server_key: bytes) -> None:
        super().__init__()
        sodium = self._sodium
        self.public_key: bytes = _check_pair(sodium, public_key, secret_key)
        self._secret_key = bytes(secret_key)
        self.server_key: bytes = _check_key("server key", server_key)
        self._cn_public, self._cn_secret = sodium.keypair()
        self._cn_server = b""
        self._cookie = b""
        self._state = _Client.SEND_HELLO

    def next_handshake_command(self) -> bytes | None:
        """HELLO first, INITIATE after WELCOME, else ``None``."""
        state = self._state
        if state is _Client.SEND_HELLO:
            self._state = _Client.WAIT_WELCOME
            short = self._next_nonce()
            box = self._sodium.box(
                _ZERO64, b"CurveZMQHELLO---" + short, self.server_key, self._cn_secret
            )
            return command_body(b"HELLO", b"\x01\x00" + bytes(72) + self._cn_public + short + box)
        if state is _Client.SEND_INITIATE:
            self._state = _Client.WAIT_READY
            return self._initiate()
        return None

    def _initiate(self) -> bytes:
        sodium = self._sodium
        vouch_nonce = sodium.random(16)
        vouch = sodium.box(
            self._cn_public + self.server_key,
            b"VOUCH---" + vouch_nonce,
            self._cn_server,
            self._secret_key,
        )
        plain = self.public_key + vouch_nonce + vouch + encode_metadata(self.basic_properties())
        assert self._key is not None
        short = self._next_nonce()
        box = self._seal(plain, b"CurveZMQINITIATE" + short, self._key)
        return command_body(b"INITIATE", self._cookie + short + box)

    def process_handshake_command(self, name: bytes, body: bytes) -> None:
        """Accept WELCOME then READY."""
        state = self._state
        if name == b"WELCOME" and state is _Client.WAIT_WELCOME:
            self._process_welcome(body)
        elif name == b"READY" and state is _Client.WAIT_READY:
            self._process_ready(body)
        else:
            raise self._protocol_error(
                f"unexpected command {name[:32]!r} during the CURVE handshake",
                _E.UNEXPECTED_COMMAND,
            )

    def _process_welcome(self, data: bytes) -> None:
        if len(data) != _WELCOME_DATA:
            raise self._protocol_error(
                f"CURVE WELCOME of {len(data) + 8} octets instead of 168",
                _E.MALFORMED_COMMAND_WELCOME,
            )
        sodium = self._sodium
        try:
            plain = sodium.box_open(
                data[16:], b"WELCOME-" + data[:16], self.server_key, self._cn_secret
            )
        except sodium.crypto_error:
            raise self._protocol_error(
                "CURVE WELCOME box does not open (wrong server key?)", _E.CRYPTOGRAPHIC
            ) from None
        self._cn_server = plain[:32]
        self._cookie = plain[32:128]
        self._key = self._shared_key(self._cn_server, self._cn_secret)
        self._state = _Client.SEND_INITIATE

    def _process_ready(self, data: bytes) -> None:
        if len(data) < _READY_MIN_DATA:
            raise self._protocol_error(
                f"CURVE READY of {len(data) + 6} octets", _E.MALFORMED_COMMAND_READY
            )
        short = data[:8]
        assert self._key is not None
        plain = self._sodium.open_afternm(data[8:], b"CurveZMQREADY---" + short, self._key)
        if plain is None:
            raise self._protocol_error("CURVE READY box does not open", _E.CRYPTOGRAPHIC)
        try:
            props = decode_metadata(plain, zmtp_code=_E.INVALID_METADATA)
        except RemoteProtocolError as exc:
            raise self._fail(exc) from None
        self.peer_properties = props
        self._rx_nonce = int.from_bytes(short, "big")
        self._state = _Client.READY
        self._ready()


class _Server(enum.Enum):
    WAIT_HELLO = 1
    SEND_WELCOME = 2
    WAIT_INITIATE = 3
    WAIT_ZAP = 4
    SEND_READY = 5
    READY = 6


class CurveServerMechanism(CurveMechanism):
    """CURVE, server side.

    Args:
        public_key: our long-term public key S (32 raw bytes), or ``None`` to
            derive it from *secret_key* (libzmq's server only uses the secret key).
        secret_key: our long-term secret key s (32 raw bytes).

    Raises:
        ValueError: a key is not 32 bytes, or *public_key* is not *secret_key*'s.
        ImportError: PyNaCl is not installed.
    """

    _tx_prefix = b"CurveZMQMESSAGES"
    _rx_prefix = b"CurveZMQMESSAGEC"

    def __init__(self, public_key: bytes | None, secret_key: bytes) -> None:
        super().__init__()
        self.public_key: bytes = _check_pair(self._sodium, public_key, secret_key)
        self._secret_key = bytes(secret_key)
        #: The client's long-term public key C, once INITIATE is verified.
        self.client_key: bytes | None = None
        self._cn_client = b""
        self._cn_public = b""
        self._cn_secret = b""
        self._cookie_key: bytes | None = None
        self._state = _Server.WAIT_HELLO

    def next_handshake_command(self) -> bytes | None:
        """WELCOME after HELLO, READY after INITIATE (and ZAP), ERROR after a 400/500."""
        error = self._take_error_body()
        if error is not None:
            return error
        state = self._state
        if state is _Server.SEND_WELCOME:
            self._state = _Server.WAIT_INITIATE
            return self._welcome()
        if state is _Server.SEND_READY:
            assert self._key is not None
            short = self._next_nonce()
            box = self._seal(
                encode_metadata(self.basic_properties()), b"CurveZMQREADY---" + short, self._key
            )
            self._state = _Server.READY
            self._ready()
            return command_body(b"READY", short + box)
        return None

    def process_handshake_command(self, name: bytes, body: bytes) -> None:
        """Accept HELLO, then INITIATE (then ask ZAP)."""
        state = self._state
        if state is _Server.WAIT_HELLO:
            if name != b"HELLO":
                raise self._protocol_error(
                    f"expected HELLO, got {name[:32]!r}", _E.UNEXPECTED_COMMAND
                )
            self._process_hello(body)
        elif state is _Server.WAIT_INITIATE:
            if name != b"INITIATE":
                raise self._protocol_error(
                    f"expected INITIATE, got {name[:32]!r}", _E.UNEXPECTED_COMMAND
                )
            self._process_initiate(body)
        else:
            raise self._protocol_error(
                f"unexpected command {name[:32]!r} during the CURVE handshake", _E.UNSPECIFIED
            )

    def _process_hello(self, data: bytes) -> None:
        if len(data) != _HELLO_DATA:
            raise self._protocol_error(
                f"CURVE HELLO of {len(data) + 6} octets instead of 200",
                _E.MALFORMED_COMMAND_HELLO,
            )
        if data[:2] != b"\x01\x00":
            raise self._protocol_error(
                f"CURVE HELLO version {data[0]}.{data[1]} (not 1.0)", _E.MALFORMED_COMMAND_HELLO
            )
        cn_client = data[74:106]
        short = data[106:114]
        sodium = self._sodium
        try:
            plain = sodium.box_open(
                data[114:], b"CurveZMQHELLO---" + short, cn_client, self._secret_key
            )
        except sodium.crypto_error:
            plain = None
        if plain != _ZERO64:
            raise self._protocol_error(
                "CURVE HELLO box does not open (client uses another server key?)",
                _E.CRYPTOGRAPHIC,
            )
        self._cn_client = cn_client
        self._rx_nonce = int.from_bytes(short, "big")
        self._state = _Server.SEND_WELCOME

    def _welcome(self) -> bytes:
        sodium = self._sodium
        random = sodium.random
        self._cn_public, self._cn_secret = sodium.keypair()
        # A fresh cookie key for this connection, forgotten once INITIATE is verified.
        self._cookie_key = random(32)
        cookie_nonce = random(16)
        cookie = cookie_nonce + sodium.secretbox(
            self._cn_client + self._cn_secret, b"COOKIE--" + cookie_nonce, self._cookie_key
        )
        welcome_nonce = random(16)
        box = sodium.box(
            self._cn_public + cookie,
            b"WELCOME-" + welcome_nonce,
            self._cn_client,
            self._secret_key,
        )
        return command_body(b"WELCOME", welcome_nonce + box)

    def _process_initiate(self, data: bytes) -> None:
        if len(data) < _INITIATE_MIN_DATA:
            raise self._protocol_error(
                f"CURVE INITIATE of {len(data) + 9} octets (at least 257)",
                _E.MALFORMED_COMMAND_INITIATE,
            )
        sodium = self._sodium
        assert self._cookie_key is not None
        try:
            cookie = sodium.secretbox_open(data[16:96], b"COOKIE--" + data[:16], self._cookie_key)
        except sodium.crypto_error:
            cookie = None
        if cookie != self._cn_client + self._cn_secret:
            raise self._protocol_error("CURVE INITIATE cookie is not ours", _E.CRYPTOGRAPHIC)
        short = data[96:104]
        nonce = int.from_bytes(short, "big")
        if nonce <= self._rx_nonce:
            raise self._protocol_error(
                f"CURVE INITIATE nonce {nonce} after HELLO's {self._rx_nonce}",
                _E.INVALID_SEQUENCE,
            )
        key = self._shared_key(self._cn_client, self._cn_secret)
        plain = sodium.open_afternm(data[104:], b"CurveZMQINITIATE" + short, key)
        if plain is None:
            raise self._protocol_error("CURVE INITIATE box does not open", _E.CRYPTOGRAPHIC)
        client_key = plain[:32]
        try:
            vouch = sodium.box_open(
                plain[48:128], b"VOUCH---" + plain[32:48], client_key, self._cn_secret
            )
        except sodium.crypto_error:
            raise self._protocol_error(
                "CURVE INITIATE vouch does not open", _E.CRYPTOGRAPHIC
            ) from None
        if vouch != self._cn_client + self.public_key:
            raise self._protocol_error("CURVE INITIATE vouch names other keys", _E.KEY_EXCHANGE)
        try:
            props = decode_metadata(plain[128:], zmtp_code=_E.INVALID_METADATA)
        except RemoteProtocolError as exc:
            raise self._fail(exc) from None
        self.peer_properties = props
        self.client_key = client_key
        self._key = key
        self._rx_nonce = nonce
        self._cookie_key = None
        if self.zap_enforce_domain and not self.zap_domain:
            self._state = _Server.SEND_READY  # libzmq: no ZAP at all in this case
        else:
            self._state = _Server.WAIT_ZAP
            self._request_zap([client_key])

    def _zap_accepted(self) -> None:
        self._state = _Server.SEND_READY
