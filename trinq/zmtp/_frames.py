"""ZMTP 3.x framing: encoding frames and incremental, size-limited decoding.

Theory of operation
-------------------
RFC 37 ("Framing")::

    frame = flags size body
    flags = %x00-07     ; bit 0 MORE, bit 1 LONG, bit 2 COMMAND
    size  = OCTET / 8OCTET   ; 8 octets (network order) when LONG is set

libzmq's leniency is mirrored on input (docs/interop.md §8): reserved flag bits
3-7 are ignored, a LONG frame may carry fewer than 256 octets and a MORE bit
on a command frame is tolerated.  On output the short form is always used for
bodies of 255 octets or less.

This module is the hot path of the library, so it trades elegance for speed:

* Encoding uses precomputed 2-octet headers for every short size (MORE and
  last-frame variants) and joins a whole batch of messages exactly once
  (:func:`encode_messages`), so a PUB socket can encode once for all peers.
* :class:`FrameDecoder` buffers incoming chunks in a list and only
  concatenates them once enough octets have arrived to make progress, so a
  large frame arriving in many chunks costs O(n).  Its
  :meth:`FrameDecoder.read_messages` parses *every* complete frame in the
  buffer in one tight local-variable loop, assembling multipart messages and
  stopping only at a command frame, which is rare.
* ``maxmsgsize`` is checked against the *declared* size as soon as a frame
  header is complete, before any of the body is buffered, so the decoder
  never holds more than one header plus ``maxmsgsize`` octets of an
  incomplete frame (docs/interop.md §10).
"""

from __future__ import annotations

import operator
import struct
from collections.abc import Callable, Iterable, Sequence
from itertools import chain
from typing import Any, Protocol, TypeAlias

from ._errors import ProtocolErrorCode, RemoteProtocolError

__all__ = [
    "COMMAND",
    "LONG",
    "MORE",
    "BytesLike",
    "FrameDecoder",
    "encode_frame",
    "encode_message",
    "encode_messages",
]

MORE = 0x01
LONG = 0x02
COMMAND = 0x04

#: Anything whose buffer can be written to the wire.  ``memoryview`` objects
#: must have a byte format (``len()`` is used as the size).
BytesLike: TypeAlias = "bytes | bytearray | memoryview"

_LAST_HEADERS: tuple[bytes, ...] = tuple(bytes((0, n)) for n in range(256))
_MORE_HEADERS: tuple[bytes, ...] = tuple(bytes((MORE, n)) for n in range(256))
_NO_LIMIT = 1 << 64

# read_messages' stretches of same-sized frames: the fewest short ones worth checking,
# the most taken at once, and for each short size the struct that takes a frame's body
# out as a 1-tuple (a message); long sizes use struct's own cache of formats
_MIN_STRETCH = 4
_STRETCH_MAX = 1024
_BODIES: tuple[struct.Struct, ...] = tuple(struct.Struct(f"2x{n}s") for n in range(256))
_FIRST = operator.itemgetter(0)  # (struct's 1-tuple -> the body alone, for an Inbox)
#: :data:`_BODIES` for eight frames at once: one tuple of eight bodies per eight frames
#: (chain.from_iterable flattens them) instead of a 1-tuple and an itemgetter call per
#: frame: 66 -> 37 ns a 16-byte frame (docs/design.md, "Scheduling").
_GROUP = 8
_chain = chain.from_iterable
_BODIES8: tuple[struct.Struct, ...] = tuple(struct.Struct(f"2x{n}s" * _GROUP) for n in range(256))
# A frame of at least this many body octets that a read leaves incomplete is *held*:
# the decoder keeps views of the reads that carry it and copies its body once, when
# its last octet arrives (read_messages), instead of copying what it has so far and
# then joining that with the whole next read (about five copies of a 64 KiB message).
_HOLD_MIN = 256


def _stretch(buf: Any, pos: int, n: int, stride: int, room: float, header: int) -> int:
    """How many frames of ``stride`` octets from ``pos`` carry the same first ``header``
    octets as the one at ``pos`` (so the same flags and size), at most ``room`` and
    :data:`_STRETCH_MAX`: all of them, checked with one strided slice per header octet,
    or 0 if any differs (the caller then goes frame by frame)."""
    m = (n - pos) // stride
    if m > room:
        m = int(room)
    if m > _STRETCH_MAX:
        m = _STRETCH_MAX
    last = pos + m * stride
    for j in range(header):
        if buf[pos + j : last : stride] != buf[pos + j : pos + j + 1] * m:
            return 0
    return m


def encode_frame(flags: int, body: BytesLike) -> bytes:
    """Encode one frame with the given MORE/COMMAND *flags*.

    The LONG bit is chosen here from the body size; pass only MORE and
    COMMAND.
    """
    size = len(body)
    if size < 256:
        return bytes((flags & ~LONG, size)) + body
    return bytes((flags | LONG,)) + size.to_bytes(8, "big") + body


def _append_frames(out: list[Any], frames: Sequence[BytesLike]) -> None:
    last = len(frames) - 1
    for i, frame in enumerate(frames):
        size = len(frame)
        if size < 256:
            out.append(_MORE_HEADERS[size] if i < last else _LAST_HEADERS[size])
        else:
            out.append(bytes((LONG | MORE if i < last else LONG,)) + size.to_bytes(8, "big"))
        out.append(frame)


class Inbox(Protocol):
    """Where :meth:`FrameDecoder.read_messages` may put runs of messages directly
    (a driver's batched queue; trinq's ``Pipe``)."""

    def in_room(self) -> float:
        """How many more messages may be queued now."""
        ...

    def open_run(self) -> list[Any]:
        """The list to append up to :meth:`in_room` messages to, in order. A
        single-frame message goes in as its body alone (``bytes``, which the garbage
        collector does not track, where a 1-tuple per message set off collections on
        busy receivers); any other as its tuple of frames."""
        ...

    def close_run(self, n: int) -> None:
        """``n`` messages were appended to the list :meth:`open_run` returned."""
        ...


def encode_message(frames: Sequence[BytesLike]) -> bytes:
    """Encode one multipart message (data frames, NULL framing) to bytes."""
    if len(frames) == 1:
        frame = frames[0]
        size = len(frame)
        if size < 256:
            return _LAST_HEADERS[size] + frame
    elif not frames:
        raise ValueError("a ZMTP message has at least one frame")
    out: list[Any] = []
    _append_frames(out, frames)
    return b"".join(out)


def _as_frames(bodies: Iterable[bytes]) -> list[tuple[bytes]]:
    """Single-frame messages given as their bodies alone, as frame tuples (for
    encoders that take frame sequences only: the mechanisms', ws, raw)."""
    return [(b,) for b in bodies]


def encode_bodies(bodies: Sequence[BytesLike]) -> bytes:
    """Encode single-frame messages given as their bodies alone (a batched pipe's
    batch for ``Socket.send``), as :func:`encode_messages` would encode them as
    1-tuples; a batch of one size is one ``join``."""
    if not bodies:
        return b""
    sizes = set(map(len, bodies))
    if len(sizes) == 1:
        size = sizes.pop()
        header = _LAST_HEADERS[size] if size < 256 else b"\x02" + size.to_bytes(8, "big")
        return header.join([b"", *bodies])  # (one join, one copy: no ``header + ...``)
    out: list[Any] = []
    append = out.append
    last_headers = _LAST_HEADERS
    for body in bodies:
        size = len(body)
        append(last_headers[size] if size < 256 else b"\x02" + size.to_bytes(8, "big"))
        append(body)
    return b"".join(out)


def encode_messages(messages: Iterable[Sequence[BytesLike]]) -> bytes:
    """Encode many messages into one bytes object (writer batching).

    Equal to ``b"".join(map(encode_message, messages))``, but joins once. A list
    of single-frame messages of one size (a run of same-sized records, the common
    case) is encoded without a Python step per message: the frames are joined with
    their shared header in one ``join``.
    """
    if isinstance(messages, list) and len(messages) > 1:
        try:
            bodies = [frame for (frame,) in messages]  # ValueError: a multipart one
        except ValueError:
            pass
        else:
            return encode_bodies(bodies)  # (all single-frame)
    out: list[Any] = []
    append = out.append
    last_headers = _LAST_HEADERS
    for frames in messages:
        if len(frames) == 1:
            frame = frames[0]
            size = len(frame)
            if size < 256:
                append(last_headers[size])
                append(frame)
                continue
        elif not frames:
            raise ValueError("a ZMTP message has at least one frame")
        _append_frames(out, frames)
    return b"".join(out)


def _too_big(size: int, limit: int, *, message: bool = False) -> RemoteProtocolError:
    what = "multipart message" if message else "frame"
    return RemoteProtocolError(f"{what} of {size} octets exceeds maxmsgsize {limit}", emsgsize=True)


def _too_many_parts(limit: int) -> RemoteProtocolError:
    what = "single-part" if limit == 1 else f"at most {limit}-part"
    return RemoteProtocolError(
        f"a multipart message on a connection that carries {what} messages",
        zmtp_code=ProtocolErrorCode.UNSPECIFIED,
    )


class FrameDecoder:
    """Incremental ZMTP frame decoder with a per-frame size limit.

    Feed raw octets with :meth:`feed`; pull frames with :meth:`next_frame`
    (one at a time) or :meth:`read_messages` (every complete message at once,
    stopping at a command frame).  A partially received multipart message is
    kept inside the decoder between calls.

    Args:
        maxmsgsize: largest accepted frame body in octets, and largest multipart
            message (the sum of its frames); negative means unlimited.  A larger
            declared frame size, or a message that grows past it, raises
            :class:`RemoteProtocolError` with ``emsgsize=True``.  (libzmq checks
            frames only, so a message that never ends grows there without bound.)
        max_parts: most frames a data message may have (0: any number).  The
            draft socket types carry single-part messages (1; a DISH's are a group
            frame and a body, 2): a longer message raises
            :class:`RemoteProtocolError` once its extra frame is decoded.
    """

    __slots__ = (
        "_buf",
        "_held",
        "_held_flags",
        "_held_head",
        "_held_left",
        "_held_size",
        "_limit",
        "_need",
        "_parts",
        "_parts_size",
        "_pending",
        "_pending_len",
        "decoded",
        "max_parts",
        "maxmsgsize",
        "stalled",
    )

    def __init__(self, maxmsgsize: int = -1, max_parts: int = 0) -> None:
        self.maxmsgsize: int = maxmsgsize
        self.max_parts: int = max_parts
        self._limit = _NO_LIMIT if maxmsgsize < 0 else maxmsgsize
        self._buf = b""
        self._pending: list[bytes] = []
        self._pending_len = 0
        # Octets that must be buffered before parsing can make progress.
        self._need = 1
        self._parts: list[bytes] = []
        #: octets of the frames in ``_parts`` (counted only with a maxmsgsize)
        self._parts_size = 0
        #: Data messages :meth:`read_messages` has handed out so far.
        self.decoded: int = 0
        # A held frame (see _HOLD_MIN): views of its octets so far, header first (or
        # None), its flags, header length, octets still missing, and body size.
        self._held: list[Any] | None = None
        self._held_flags = 0
        self._held_head = 0
        self._held_left = 0
        self._held_size = 0
        #: The message whose ``append`` raised in :meth:`read_messages` (see there).
        self.stalled: Any = None

    @property
    def buffered(self) -> int:
        """Octets received but not yet decoded into frames."""
        held = self._held
        have = sum(map(len, held)) if held is not None else 0
        return have + len(self._buf) + self._pending_len

    @property
    def wanted(self) -> int:
        """Octets still missing before the next frame can be decoded (0 if unknown).

        A driver may use it to size its next read: for a large frame it is the
        rest of the body, so one read can fetch it whole.
        """
        if self._held is not None:
            return max(0, self._held_left - self._pending_len)
        return max(0, self._need - len(self._buf) - self._pending_len)

    @property
    def in_message(self) -> bool:
        """True while a multipart message has been started but not finished."""
        return bool(self._parts)

    def feed(self, data: BytesLike) -> None:
        """Buffer *data* (copied if it is mutable)."""
        if data:
            if type(data) is not bytes:
                data = bytes(data)
            self._pending.append(data)
            self._pending_len += len(data)

    def _unhold(self) -> None:
        """Turn a held frame back into buffered octets (for the frame-by-frame and
        greeting methods; :meth:`read_messages` completes it without this copy)."""
        held = self._held
        if held is not None:
            self._held = None
            self._buf = b"".join(held)
            self._need = self._held_head + self._held_size

    def _take(self) -> bytes | None:
        if self._held is not None:
            self._unhold()
        pending = self._pending
        if pending:
            buf = self._buf
            if len(buf) + self._pending_len < self._need:
                return None
            if buf:
                pending.insert(0, buf)
            buf = pending[0] if len(pending) == 1 else b"".join(pending)
            self._buf = buf
            self._pending = []
            self._pending_len = 0
            return buf
        buf = self._buf
        if len(buf) < self._need:
            return None
        return buf

    def peek(self) -> bytes:
        """Return every buffered octet without consuming it (greeting parsing)."""
        if self._held is not None:
            self._unhold()
        pending = self._pending
        if pending:
            self._buf = self._buf + b"".join(pending)
            self._pending = []
            self._pending_len = 0
        return self._buf

    def skip(self, n: int) -> None:
        """Discard the first *n* buffered octets (after :meth:`peek`)."""
        self.peek()
        self._buf = self._buf[n:]
        self._need = 1

    def next_frame(self) -> tuple[int, bytes] | None:
        """Decode one frame; return ``(flags, body)`` or ``None`` for more data."""
        buf = self._take()
        if buf is None:
            return None
        n = len(buf)
        if n < 2:
            self._need = 2
            return None
        flags = buf[0]
        if flags & LONG:
            if n < 9:
                self._need = 9
                return None
            size = int.from_bytes(buf[1:9], "big")
            start = 9
        else:
            size = buf[1]
            start = 2
        if size > self._limit:
            raise _too_big(size, self.maxmsgsize)
        end = start + size
        if end > n:
            self._need = end
            return None
        self._buf = buf[end:]
        self._need = 1
        return flags, buf[start:end]

    def read_messages(
        self,
        append: Callable[[Any], object],
        factory: Callable[[list[bytes]], Any] | None,
        data: bytes | None = None,
        inbox: Inbox | None = None,
    ) -> tuple[int, bytes] | None:
        """Decode every complete data message in the buffer.

        For each complete multipart message, ``append(factory(frames))`` (or, when
        *factory* is None, ``append`` of the frames as a tuple) is called, and
        :attr:`decoded` counts it.  Decoding stops at the first command frame, which
        is consumed and returned as ``(flags, body)``; ``None`` means the buffer
        holds no further complete frame.  On an oversized frame the messages
        decoded so far have been appended when the error is raised.

        *append* may raise (a full queue, say): the message it was given is then
        consumed from the buffer and kept in :attr:`stalled`, for the caller to
        take, and the exception propagates.  Nothing is lost or decoded twice.

        *data*, if given, is fed first (as :meth:`feed`); when nothing else is
        buffered it is decoded in place, without a copy.

        *inbox*, if given (with no *factory*), takes runs of short single-frame
        messages without a call per message: up to ``inbox.in_room()`` of them are
        appended to the list ``inbox.open_run()`` returns, and ``inbox.close_run(n)``
        says how many, as often as there is room; ``append`` gets the rest (and raises
        when the room is gone).
        """
        pos = 0
        carried: bytes | None = None  # a held frame's body, completed here
        held = self._held
        if held is not None:
            # Only the octets the held frame lacks are copied (with the rest of it);
            # decoding goes on in place in the read that completed it.
            pending = self._pending
            if pending:
                if data is not None:
                    self.feed(data)
                buf = pending[0] if len(pending) == 1 else b"".join(pending)
                self._pending = []
                self._pending_len = 0
            elif not data:
                return None
            else:
                buf = data if type(data) is bytes else bytes(data)
            left = self._held_left
            if len(buf) < left:
                held.append(buf)
                self._held_left = left - len(buf)
                return None
            self._held = None
            held[0] = held[0][self._held_head :]
            held.append(memoryview(buf)[:left])
            carried = b"".join(held)
            pos = left
        elif data is not None and not self._buf and not self._pending and type(data) is bytes:
            buf = data
        else:
            if data is not None:
                self.feed(data)
            buf = self._take()  # type: ignore[assignment]
            if buf is None:
                return None
        n = len(buf)
        hold = 0  # where the body of an incomplete frame to hold starts
        parts = self._parts
        limit = self._limit
        max_more = self.max_parts - 1  # (-1: no limit)
        need = 1
        count = 0
        flags = size = 0  # (of the frame a break leaves behind: kept when it is held)
        msg: Any = None
        try:
            while True:
                if carried is None:
                    if factory is None and not parts and limit >= 255:
                        # Fast lane for the common case: runs of short single-frame data
                        # messages (flags byte 0). Anything else drops to the general loop.
                        while (
                            inbox is not None
                            and pos + 2 <= n
                            and not buf[pos]
                            and pos + 2 + buf[pos + 1] <= n
                        ):
                            room = inbox.in_room()
                            if room < 1:
                                break
                            msg = None  # (nothing of this lane is ever "stalled")
                            run = inbox.open_run()
                            k = 0
                            # A stretch of same-sized frames (one size octet apart) is
                            # checked and cut up at C speed: strided slices hold every
                            # frame's flags and size octets, struct unpacks the bodies.
                            size = buf[pos + 1]
                            stride = size + 2
                            if (n - pos) // stride >= _MIN_STRETCH and room >= _MIN_STRETCH:
                                m = _stretch(buf, pos, n, stride, room, 2)
                                if m:
                                    end = pos + m * stride
                                    grouped = pos + (m - m % _GROUP) * stride
                                    if grouped > pos:
                                        run.extend(
                                            _chain(_BODIES8[size].iter_unpack(buf[pos:grouped]))
                                        )
                                    if grouped < end:
                                        run.extend(
                                            map(_FIRST, _BODIES[size].iter_unpack(buf[grouped:end]))
                                        )
                                    pos = end
                                    k = m
                            add = run.append
                            while k < room and pos + 2 <= n and not buf[pos]:
                                end = pos + 2 + buf[pos + 1]
                                if end > n:
                                    break
                                add(buf[pos + 2 : end])  # (an Inbox takes bodies alone)
                                pos = end
                                k += 1
                            count += k
                            inbox.close_run(k)
                        while pos + 2 <= n and not buf[pos]:
                            end = pos + 2 + buf[pos + 1]
                            if end > n:
                                break
                            msg = (buf[pos + 2 : end],)
                            pos = end
                            count += 1
                            append(msg)
                    avail = n - pos
                    if avail < 2:
                        need = 2
                        break
                    flags = buf[pos]
                    if flags & 2:
                        if avail < 9:
                            need = 9
                            break
                        size = int.from_bytes(buf[pos + 1 : pos + 9], "big")
                        start = pos + 9
                    else:
                        size = buf[pos + 1]
                        start = pos + 2
                    if size > limit:
                        self._buf = buf[pos:]
                        self._parts = parts
                        self.decoded += count
                        raise _too_big(size, self.maxmsgsize)
                    end = start + size
                    if end > n:
                        need = end - pos
                        if size >= _HOLD_MIN:
                            hold = start
                        break
                    if flags == LONG and inbox is not None and factory is None and not parts:
                        # a stretch of same-sized long single-frame messages, as the short
                        # lane's: all nine header octets checked strided, bodies by struct
                        stride = end - pos
                        if (n - pos) // stride >= 2:
                            room = inbox.in_room()
                            m = _stretch(buf, pos, n, stride, room, 9) if room >= 2 else 0
                            if m:
                                msg = None
                                last = pos + m * stride
                                bodies = memoryview(buf)[pos:last]
                                inbox.open_run().extend(
                                    map(_FIRST, struct.iter_unpack(f"9x{size}s", bodies))
                                )
                                inbox.close_run(m)
                                count += m
                                pos = last
                                continue
                    body = buf[start:end]
                    pos = end
                else:  # the held frame, complete: on as if just cut out of buf
                    body = carried
                    carried = None
                    flags = self._held_flags
                    size = len(body)
                if flags & 4:
                    self._buf = buf[pos:]
                    self._parts = parts
                    self._need = 1
                    self.decoded += count
                    return flags, body
                if flags & 1:
                    if max_more >= 0 and len(parts) >= max_more:
                        self._buf = buf[pos:]
                        self._parts = []
                        self._parts_size = 0
                        self.decoded += count
                        raise _too_many_parts(max_more + 1)
                    parts.append(body)
                    if limit != _NO_LIMIT:
                        self._parts_size += size
                        if self._parts_size > limit:  # maxmsgsize bounds the message
                            self._buf = buf[pos:]
                            self._parts = []
                            self.decoded += count
                            total, self._parts_size = self._parts_size, 0
                            raise _too_big(total, self.maxmsgsize, message=True)
                    continue
                if parts:
                    if limit != _NO_LIMIT:
                        total = self._parts_size + size
                        self._parts_size = 0
                        if total > limit:
                            self._buf = buf[pos:]
                            self._parts = []
                            self.decoded += count
                            raise _too_big(total, self.maxmsgsize, message=True)
                    parts.append(body)
                    msg = factory(parts) if factory else tuple(parts)
                    parts = []
                else:
                    msg = factory([body]) if factory else (body,)
                count += 1
                append(msg)
        except BaseException as exc:
            if not isinstance(exc, RemoteProtocolError):
                # raised by append(msg): msg is consumed; keep it for the caller
                self.stalled = msg
                self._buf = buf[pos:]
                self._parts = parts
                self._need = 1
                self.decoded += count
            raise
        if hold:  # the frame at pos is held: nothing copied until it is complete
            self._held = [memoryview(buf)[pos:]]
            self._held_flags = flags
            self._held_head = hold - pos
            self._held_left = need - (n - pos)
            self._held_size = size
            self._buf = b""
        else:
            self._buf = buf[pos:] if pos else buf  # (buf may be data, not yet kept)
        self._parts = parts
        self._need = need
        self.decoded += count
        return None

    def add_frame(self, flags: int, body: bytes) -> list[bytes] | None:
        """Feed one already-decoded data frame into message assembly.

        Used for non-transparent mechanisms, whose ``decode`` produces the
        plaintext frames.  Returns the completed message, if any.
        """
        if flags & MORE:
            if self.max_parts and len(self._parts) >= self.max_parts - 1:
                self._parts = []
                self._parts_size = 0
                raise _too_many_parts(self.max_parts)
        total = self._parts_size + len(body)
        if total > self._limit:
            self._parts = []
            self._parts_size = 0
            raise _too_big(total, self.maxmsgsize, message=True)
        self._parts.append(body)
        if flags & MORE:
            self._parts_size = total
            return None
        parts = self._parts
        self._parts = []
        self._parts_size = 0
        return parts
