"""The ``trinq`` command line (also ``python -m trinq``); docs/cli.md describes it.

::

    trinq demo
    trinq send TYPE (--bind|--connect) ENDPOINT [FRAME ...]    no FRAME: one message per stdin line
    trinq recv TYPE (--bind|--connect) ENDPOINT [--count N] [--subscribe TOPIC]
    trinq proxy (pubsub|reqrep|pipeline) FRONTEND BACKEND
    trinq monitor TYPE (--bind|--connect) ENDPOINT
    trinq bench (thr|lat|pubsub) [--size B] [--count N] [--transport tcp|ipc|inproc]
    trinq version

Exit status: 0 success; 1 a runtime failure (a bind failed, a socket error, the proxy
is missing); 2 a bad command line (unknown socket type, unparseable endpoint, port out
of range, unknown scheme, a bad escape); 124 ``--timeout`` expired; 130 Ctrl-C. Every
failure is one line on stderr (``trinq: error: ...``), never a traceback.
"""

from __future__ import annotations

import argparse
import base64
import functools
import importlib
import importlib.metadata
import json
import math
import os
import platform
import re
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

import trio
from trio.lowlevel import enable_ki_protection

import trinq
from trinq._patterns import PATTERNS

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup


async def _demo_pipeline(ctx: trinq.Context) -> None:
    async with ctx.socket(trinq.PULL) as pull, ctx.socket(trinq.PUSH) as push:
        events = pull.monitor()
        endpoint = await pull.bind("tcp://127.0.0.1:*")
        print(f"PULL bound to {endpoint}")
        push.connect(endpoint)
        for i in range(3):
            await push.send_multipart([b"task", str(i).encode()])
        for _ in range(3):
            print(f"  PULL received {await pull.recv_multipart()}")
        while True:
            try:
                ev = events.receive_nowait()
            except trio.WouldBlock:
                break
            print(f"  monitor: {ev.event.name} {ev.endpoint}")
        print(f"  {push.statistics().messages_out} messages written by PUSH")


async def _demo_reqrep(ctx: trinq.Context) -> None:
    async with ctx.socket(trinq.REP) as rep, ctx.socket(trinq.REQ) as req:
        endpoint = await rep.bind("tcp://127.0.0.1:*")
        req.connect(endpoint)
        await req.send(b"Hello")
        request = await rep.recv()
        await rep.send(b"World")
        reply = await req.recv()
        print(f"REQ/REP over {endpoint}: {request!r} -> {reply!r}")


def _libzmq_peer(endpoint: str, count: int) -> list[list[bytes]]:
    import zmq

    zctx = zmq.Context()
    try:
        s = zctx.socket(zmq.PULL)
        s.linger = 0
        s.rcvtimeo = 5000
        s.connect(endpoint)
        return [s.recv_multipart() for _ in range(count)]
    finally:
        zctx.destroy(linger=0)


async def _demo_libzmq(ctx: trinq.Context) -> None:
    try:
        import zmq
    except ImportError:
        print("pyzmq is not installed: skipping the libzmq interop part of the demo")
        print("  (python3 -m pip install pyzmq, then run the demo again)")
        return
    async with ctx.socket(trinq.PUSH) as push:
        endpoint = await push.bind("tcp://127.0.0.1:*")
        got: list[list[bytes]] = []

        async def peer() -> None:
            got.extend(await trio.to_thread.run_sync(_libzmq_peer, endpoint, 3))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(peer)
            # PUSH waits (RFC 30) until the libzmq peer has connected.
            for i in range(3):
                await push.send_multipart([b"from-trinq", str(i).encode()])
        print(f"libzmq {zmq.zmq_version()} PULL (via pyzmq) received from trinq PUSH:")
        for msg in got:
            print(f"  {msg}")


async def demo() -> None:
    """Run trinq sockets against each other and, when pyzmq is present, libzmq."""
    print(f"trinq {trinq.__version__} on trio {trio.__version__}")
    with trio.fail_after(30):
        async with trinq.Context() as ctx:
            await _demo_pipeline(ctx)
            if "REQ" in PATTERNS:
                await _demo_reqrep(ctx)
            await _demo_libzmq(ctx)
    print("demo done")


# --- exit status and errors -----------------------------------------------------------

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_TIMEOUT = 124  # as coreutils timeout(1)
EXIT_INTERRUPTED = 130  # 128 + SIGINT: how a shell reports a Ctrl-C'd program


class CommandError(Exception):
    """A failure reported as one ``trinq: error: ...`` line and exit status ``code``."""

    def __init__(self, message: str, code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.code = code


class UsageError(CommandError):
    """The command line asks for something that cannot work (exit status 2)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_USAGE)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (no usage block)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _error_line(message: str) -> None:
    one_line = " ".join(str(message).split("\n")).strip() or "failed"
    sys.stderr.write(f"trinq: error: {one_line}\n")
    sys.stderr.flush()


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for sub in exc.exceptions for leaf in _leaves(sub)]
    return [exc]


#: errnos that mean the command line named something impossible (exit status 2)
_USAGE_ERRNOS = frozenset({trinq.EINVAL, trinq.EPROTONOSUPPORT})


def _report(exc: BaseException, status: _Status) -> int | None:
    """Print one line for ``exc`` and return the exit status; ``None``: not ours
    (a bug in trinq: let the traceback out)."""
    leaves = _leaves(exc)
    if any(isinstance(e, KeyboardInterrupt) for e in leaves):
        return EXIT_INTERRUPTED
    for e in leaves:
        if isinstance(e, CommandError):
            _error_line(str(e))
            return e.code
    for e in leaves:
        if isinstance(e, trio.TooSlowError):
            _error_line(f"timed out after {status.timeout:g} s (--timeout) {status.doing}")
            return EXIT_TIMEOUT
    for e in leaves:
        if isinstance(e, BrokenPipeError):  # e.g. ``trinq recv ... | head -1``
            _silence_stdout()
            return EXIT_FAILURE
    for e in leaves:
        if isinstance(e, trinq.ZMQError):
            _error_line(str(e))
            return EXIT_USAGE if e.errno in _USAGE_ERRNOS else EXIT_FAILURE
        if isinstance(e, (trinq.ZMQBaseError, ValueError, OSError)):
            _error_line(str(e) or type(e).__name__)
            return EXIT_FAILURE
    return None


def _silence_stdout() -> None:
    """After EPIPE on stdout: point it at devnull so the exit-time flush is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


class _Status:
    """What a command is doing now: the ``--timeout`` message says it."""

    def __init__(self, timeout: float | None = None) -> None:
        self.timeout = timeout if timeout is not None else math.inf
        self.doing = ""

    def set(self, doing: str) -> None:
        self.doing = doing


# --- frames: escaping, formats, input --------------------------------------------------

FORMATS = ("text", "raw", "json")

_PLAIN = re.compile(rb"[\x20-\x5b\x5d-\x7e]*")  # printable ASCII except backslash


def _escape_table() -> tuple[str, ...]:
    table: list[str] = []
    for b in range(256):
        if b == 0x5C:
            table.append("\\\\")
        elif b == 0x09:
            table.append("\\t")
        elif b == 0x0A:
            table.append("\\n")
        elif b == 0x0D:
            table.append("\\r")
        elif 0x20 <= b <= 0x7E:
            table.append(chr(b))
        else:
            table.append(f"\\x{b:02x}")
    return tuple(table)


_ESCAPES = _escape_table()


def escape(frame: bytes) -> str:
    """One frame as printable ASCII: Python bytes-literal escapes without the ``b''``.

    Bytes 0x20-0x7E stand for themselves (space included), except the backslash,
    which is ``\\\\``; tab, newline and carriage return are ``\\t``, ``\\n``, ``\\r``;
    every other byte is ``\\xhh`` (two lowercase hex digits). Quotes are not escaped.
    """
    if _PLAIN.fullmatch(frame):
        return frame.decode("ascii")
    return "".join([_ESCAPES[b] for b in frame])


_UNESCAPE = re.compile(rb"\\(x[0-9a-fA-F]{2}|.|$)", re.DOTALL)
_SIMPLE_ESCAPES = {b"\\": b"\\", b"t": b"\t", b"n": b"\n", b"r": b"\r"}


def unescape(text: bytes) -> bytes:
    """The inverse of :func:`escape`: ``\\\\``, ``\\t``, ``\\n``, ``\\r`` and ``\\xhh``
    (either case); any other backslash sequence is a :class:`UsageError`."""
    if b"\\" not in text:
        return text

    def one(match: re.Match[bytes]) -> bytes:
        seq = match.group(1)
        if len(seq) == 3:
            return bytes([int(seq[1:], 16)])
        try:
            return _SIMPLE_ESCAPES[seq]
        except KeyError:
            what = f'invalid escape "\\{seq.decode("utf-8", "replace")}"' if seq else "a lone \\"
            raise UsageError(
                f'{what} in "{text.decode("utf-8", "replace")}" '
                "(write \\\\ for a backslash, \\xhh for a byte, or use --format raw)"
            ) from None

    return _UNESCAPE.sub(one, text)


def _json_frame(frame: bytes) -> str | dict[str, str]:
    try:
        return frame.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(frame).decode("ascii")}


def _frame_from_json(item: object) -> bytes:
    if isinstance(item, str):
        return item.encode("utf-8")
    if isinstance(item, dict) and set(item) == {"base64"} and isinstance(item["base64"], str):
        return base64.b64decode(item["base64"], validate=True)
    raise ValueError('a frame is a string or {"base64": "..."}')


def format_message(frames: Sequence[bytes], fmt: str) -> bytes:
    """One received message as one output line (without the newline).

    text: the frames :func:`escape`\\ d, separated by one space; raw: the frames as
    they are, separated by one space; json: a JSON array with one string per frame
    (a frame that is not UTF-8 is ``{"base64": "..."}``).
    """
    if fmt == "raw":
        return b" ".join(frames)
    if fmt == "json":
        return json.dumps([_json_frame(f) for f in frames], ensure_ascii=False).encode()
    return " ".join([escape(f) for f in frames]).encode("ascii")


def parse_line(line: bytes, fmt: str) -> list[bytes]:
    """One input line (no newline) as one message.

    text: one frame, escapes decoded; raw: one frame, exactly the line's bytes;
    json: a JSON array of frames (strings, or ``{"base64": ...}``), or one string.
    """
    if fmt == "raw":
        return [line]
    if fmt == "json":
        try:
            value = json.loads(line)
            items = [value] if isinstance(value, str) else value
            if not isinstance(items, list) or not items:
                raise ValueError("expected a non-empty JSON array of frames")
            return [_frame_from_json(item) for item in items]
        except ValueError as exc:
            raise UsageError(f"bad JSON message {line[:60]!r}: {exc}") from None
    return [unescape(line)]


def parse_argument(arg: str, fmt: str) -> bytes:
    """A FRAME (or TOPIC, ...) argument: UTF-8, escapes decoded in the text format."""
    data = os.fsencode(arg)
    return unescape(data) if fmt == "text" else data


class _Output:
    """Writes received messages to stdout, one line each, flushed at once."""

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        self._binary = getattr(sys.stdout, "buffer", None)

    def message(self, frames: Sequence[bytes]) -> None:
        self.line(format_message(frames, self.fmt))

    def line(self, data: bytes) -> None:
        if self._binary is not None:
            sys.stdout.flush()
            self._binary.write(data + b"\n")
            self._binary.flush()
        else:
            sys.stdout.write(data.decode("utf-8", "surrogateescape") + "\n")
            sys.stdout.flush()


class _StdinLines:
    """stdin line by line, read in a worker thread that Ctrl-C can abandon.

    ``os.read`` on fd 0 rather than ``sys.stdin``: an abandoned thread must not hold
    the buffered reader's lock when the interpreter exits. Works for terminals, pipes
    and regular files alike.
    """

    def __init__(self, fmt: str) -> None:
        self._strip_cr = fmt != "raw"
        self._buffer = b""
        self._eof = False
        self.number = 0

    async def next(self) -> bytes | None:
        """The next line without its line ending, or None at the end of input."""
        while b"\n" not in self._buffer:
            if self._eof:
                if not self._buffer:
                    return None
                line, self._buffer = self._buffer, b""
                self.number += 1
                return line
            chunk = await trio.to_thread.run_sync(os.read, 0, 65536, abandon_on_cancel=True)
            if not chunk:
                self._eof = True
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        if self._strip_cr and line.endswith(b"\r"):
            line = line[:-1]
        self.number += 1
        return line


# --- socket types, endpoints -------------------------------------------------------------

_CANNOT_SEND = frozenset({"SUB", "PULL", "DISH", "GATHER"})
_CANNOT_RECV = frozenset({"PUB", "PUSH", "RADIO", "SCATTER"})


def _socket_type(name: str) -> trinq.SocketType:
    try:
        return trinq.SocketType[name.upper()]
    except KeyError:
        known = ", ".join(t.name for t in trinq.SocketType)
        raise argparse.ArgumentTypeError(
            f"unknown socket type {name!r} (one of {known}; any case)"
        ) from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: must be at least 1")
    return value


def _size(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of bytes") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: a size cannot be negative")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value >= 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"{text!r}: must be a finite number >= 0")
    return value


def _positive_seconds(text: str) -> float:
    value = _seconds(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be more than 0")
    return value


def _linger(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of ms") from None
    if value < -1:
        raise argparse.ArgumentTypeError(f"{text!r}: -1 (forever), 0 or more ms")
    return value


def _event_name(name: str) -> trinq.Event:
    try:
        return trinq.Event[name.upper()]
    except KeyError:
        known = ", ".join(e.name for e in trinq.Event if e.name and not e.name.startswith("ALL"))
        raise argparse.ArgumentTypeError(
            f"unknown monitor event {name!r} (one of {known})"
        ) from None


def _announce(requested: str, resolved: str) -> None:
    """``bound ENDPOINT`` on stderr when the endpoint had a wildcard (``*``, port 0)."""
    if resolved != requested:
        print(f"bound {resolved}", file=sys.stderr, flush=True)


async def _bind(sock: trinq.Socket, endpoint: str, what: str = "--bind") -> str:
    try:
        resolved = await sock.bind(endpoint)
    except trinq.ZMQError as exc:
        raise _endpoint_error(what, endpoint, exc) from None
    _announce(endpoint, resolved)
    return resolved


def _connect(sock: trinq.Socket, endpoint: str) -> None:
    try:
        sock.connect(endpoint)
    except trinq.ZMQError as exc:
        raise _endpoint_error("--connect", endpoint, exc) from None


def _endpoint_error(what: str, endpoint: str, exc: trinq.ZMQError) -> CommandError:
    message = str(exc) if endpoint in str(exc) else f"{what} {endpoint}: {exc}"
    if exc.errno in _USAGE_ERRNOS:
        return UsageError(message)
    return CommandError(message)


async def _attach(sock: trinq.Socket, args: argparse.Namespace) -> None:
    for endpoint in args.bind or ():
        await _bind(sock, endpoint)
    for endpoint in args.connect or ():
        _connect(sock, endpoint)


def _check_endpoints(args: argparse.Namespace) -> None:
    if not args.bind and not args.connect:
        args.parser.error("give --bind ENDPOINT or --connect ENDPOINT (or several)")


def _new_socket(ctx: trinq.Context, stype: trinq.SocketType, **options: Any) -> trinq.Socket:
    try:
        return ctx.socket(stype, **options)
    except trinq.ZMQError as exc:
        if exc.errno in _USAGE_ERRNOS:
            raise UsageError(str(exc)) from None
        raise


@enable_ki_protection  # a Ctrl-C waits for a checkpoint: never mid-way into the nursery
async def _close_patiently(sock: trinq.Socket, status: _Status) -> None:
    """Close, letting queued messages go out (linger); say so if it takes a while."""
    status.set("while delivering the queued messages")

    async def notice() -> None:
        await trio.sleep(1)
        print(
            "trinq: waiting for a peer to take the queued messages (Ctrl-C drops them)",
            file=sys.stderr,
            flush=True,
        )

    async with trio.open_nursery() as nursery:
        nursery.start_soon(notice)
        await sock.aclose()
        nursery.cancel_scope.cancel()


# --- send / recv ---------------------------------------------------------------------


async def _send(args: argparse.Namespace, status: _Status) -> None:
    stype: trinq.SocketType = args.type
    name = stype.name
    if name in _CANNOT_SEND:
        raise UsageError(f"a {name} socket cannot send: use 'trinq recv {name} ...'")
    if stype == trinq.REP:
        raise UsageError("a REP socket receives first: use 'trinq recv REP ...' (it replies)")
    fmt = args.format
    out = _Output(fmt)
    fixed = [parse_argument(a, fmt) for a in args.frames] if args.frames else None
    stdin = None if fixed is not None else _StdinLines(fmt)
    if stdin is not None and sys.stdin is not None and sys.stdin.isatty():
        print("trinq: one message per line; Ctrl-D ends", file=sys.stderr, flush=True)
    count = args.count if args.count is not None else (1 if fixed is not None else math.inf)
    options = {} if args.linger is None else {"linger": args.linger}
    async with trinq.Context() as ctx:
        sock = _new_socket(ctx, stype, **options)
        async with sock:
            await _attach(sock, args)
            if args.delay:
                status.set("during --delay")
                await trio.sleep(args.delay)
            sent = 0
            while sent < count:
                if stdin is None:
                    assert fixed is not None
                    frames = fixed
                else:
                    status.set("while reading stdin")
                    line = await stdin.next()
                    if line is None:
                        break
                    if fmt == "json" and not line.strip():
                        continue  # blank lines between JSON messages
                    frames = parse_line(line, fmt)
                status.set(f"while sending message {sent + 1}")
                await sock.send_multipart(frames)
                sent += 1
                if stype == trinq.REQ:
                    status.set(f"waiting for the reply to message {sent}")
                    out.message(await sock.recv_multipart())
            await _close_patiently(sock, status)


async def _recv(args: argparse.Namespace, status: _Status) -> None:
    stype: trinq.SocketType = args.type
    name = stype.name
    if name in _CANNOT_RECV:
        raise UsageError(f"a {name} socket cannot receive: use 'trinq send {name} ...'")
    if stype == trinq.REQ:
        raise UsageError("a REQ socket sends first: use 'trinq send REQ ...' (it prints replies)")
    subscribing = stype in (trinq.SUB, trinq.XSUB)
    if args.subscribe and not subscribing:
        raise UsageError(f"--subscribe is for SUB and XSUB sockets, not {name}")
    if args.reply is not None and stype != trinq.REP:
        raise UsageError(f"--reply is for REP sockets, not {name}")
    fmt = args.format
    out = _Output(fmt)
    reply = [parse_argument(a, fmt) for a in args.reply] if args.reply is not None else None
    count = args.count if args.count is not None else math.inf
    async with trinq.Context() as ctx:
        sock = _new_socket(ctx, stype)
        async with sock:
            if subscribing:
                for topic in args.subscribe or [""]:
                    sock.subscribe(parse_argument(topic, fmt))
            await _attach(sock, args)
            received = 0
            while received < count:
                of = f" of {count}" if args.count is not None else ""
                status.set(f"waiting for message {received + 1}{of}")
                frames = await sock.recv_multipart()
                out.message(frames)
                received += 1
                if stype == trinq.REP:
                    await sock.send_multipart(reply if reply is not None else frames)
            await _close_patiently(sock, status)


# --- proxy ---------------------------------------------------------------------------

#: kind -> (frontend type, backend type)
PROXIES: dict[str, tuple[trinq.SocketType, trinq.SocketType]] = {
    "pubsub": (trinq.XSUB, trinq.XPUB),
    "reqrep": (trinq.ROUTER, trinq.DEALER),
    "pipeline": (trinq.PULL, trinq.PUSH),
}


async def _proxy(args: argparse.Namespace, status: _Status) -> None:
    run_proxy = trinq.proxy
    front_type, back_type = PROXIES[args.kind]
    async with trinq.Context() as ctx:
        front = _new_socket(ctx, front_type, linger=0)
        back = _new_socket(ctx, back_type, linger=0)
        capture = _new_socket(ctx, trinq.PUB, linger=0) if args.capture else None
        f = await _bind(front, args.frontend, "frontend")
        b = await _bind(back, args.backend, "backend")
        line = f"proxying {args.kind}: {front_type.name} {f} -> {back_type.name} {b}"
        if capture is not None:
            line += f" (capture: PUB {await _bind(capture, args.capture, '--capture')})"
        print(line, file=sys.stderr, flush=True)
        status.set("while proxying")
        await run_proxy(front, back, capture)


# --- monitor -------------------------------------------------------------------------


def format_event(ev: trinq.MonitorEvent, fmt: str) -> bytes:
    """One monitor event as one line.

    text: ``NAME ENDPOINT value=N`` then ``peer=ADDRESS`` and ``reason="..."`` (a JSON
    string) when known; json: an object with ``event``, ``value``, ``endpoint``,
    ``reason`` and ``peer_address``.
    """
    name = ev.event.name or str(int(ev.event))
    if fmt == "json":
        return json.dumps(
            {
                "event": name,
                "value": int(ev.value),
                "endpoint": ev.endpoint,
                "reason": ev.reason,
                "peer_address": ev.peer_address,
            }
        ).encode()
    parts = [name, ev.endpoint or "-", f"value={int(ev.value)}"]
    if ev.peer_address:
        parts.append(f"peer={ev.peer_address}")
    if ev.reason:
        parts.append(f"reason={json.dumps(ev.reason)}")
    return " ".join(parts).encode()


async def _monitor(args: argparse.Namespace, status: _Status) -> None:
    stype: trinq.SocketType = args.type
    mask = trinq.Event.ALL
    if args.event:
        mask = trinq.Event(0)
        for ev in args.event:
            mask |= ev
    out = _Output(args.format)
    count = args.count if args.count is not None else math.inf
    async with trinq.Context() as ctx:
        sock = _new_socket(ctx, stype, linger=0)
        async with sock, sock.monitor(mask) as events:
            await _attach(sock, args)
            seen = 0
            status.set("waiting for monitor events")
            async for ev in events:
                out.line(format_event(ev, args.format))
                seen += 1
                if seen >= count:
                    break


# --- bench ---------------------------------------------------------------------------

#: default --count per workload: a run of a second or two for each implementation
BENCH_COUNTS = {"thr": 500_000, "lat": 20_000, "pubsub": 100_000}
_HELLO = b"\x01"  # pubsub: "are you there" before the data (defeats the slow joiner)
_PAYLOAD_BYTE = b"\xa5"  # never _HELLO: a data message of any size is told apart
_PYZMQ_TIMEOUT_MS = 10_000


class _Progress:
    """A progress indicator on stderr, shown only for runs that last.

    On a terminal one line is rewritten in place (after 0.5 s, five times a second);
    otherwise a line every 2 s after the first 2 s. Callers call :meth:`update` every
    ``step`` messages, so the hot loops pay nothing per message.
    """

    def __init__(self, label: str, total: int) -> None:
        self.label = label
        self.total = max(total, 1)
        self.step = max(1, total // 100)
        self.tty = sys.stderr.isatty()
        self.start = self.last = time.monotonic()
        self.first_after, self.every = (0.5, 0.2) if self.tty else (2.0, 2.0)
        self.shown = False

    def update(self, done: int) -> None:
        now = time.monotonic()
        if now - self.start < self.first_after or now - self.last < self.every:
            return
        self.last = now
        text = f"{self.label}: {100 * done // self.total:3d}% ({done:,} of {self.total:,})"
        if self.tty:
            sys.stderr.write(f"\r{text}\x1b[K")
            self.shown = True
        else:
            sys.stderr.write(text + "\n")
        sys.stderr.flush()

    def done(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def _chunks(total: int, step: int) -> Iterator[int]:
    """Sizes of consecutive chunks of ``total`` items, ``step`` at a time."""
    while total > 0:
        n = min(step, total)
        yield n
        total -= n


def _thr_metrics(count: int, size: int, t0: float, t1: float) -> dict[str, float]:
    """Throughput from the first to the last message received (``count - 1`` gaps)."""
    rate = (count - 1) / max(t1 - t0, 1e-9)
    return {"msgs_per_s": rate, "mb_per_s": rate * size / 1e6, "elapsed_s": t1 - t0}


def _lat_metrics(rtts_ns: list[int]) -> dict[str, float]:
    """One-way latency = round trip / 2, in microseconds (as libzmq's perf tools)."""
    s = sorted(rtts_ns)
    n = len(s)

    def pct(p: float) -> float:
        return s[min(n - 1, int(p / 100 * n))] / 2000

    return {
        "lat_p50_us": pct(50),
        "lat_p99_us": pct(99),
        "lat_mean_us": statistics.fmean(s) / 2000,
    }


def _pubsub_metrics(count: int, subs: int, size: int, t0: float, t1: float) -> dict[str, float]:
    """From the first data message sent to the last one received by every SUB."""
    el = max(t1 - t0, 1e-9)
    return {
        "msgs_per_s": count / el,
        "deliveries_per_s": count * subs / el,
        "mb_per_s": count * subs * size / el / 1e6,
        "elapsed_s": el,
    }


def _warmup(count: int) -> int:
    return max(1, min(1000, count // 10))


class _BenchSpec:
    def __init__(self, args: argparse.Namespace, directory: str) -> None:
        self.workload: str = args.workload
        self.size: int = args.size
        self.count: int = args.count if args.count is not None else BENCH_COUNTS[self.workload]
        self.transport: str = args.transport
        self.subs: int = args.subscribers
        self.directory = directory

    def endpoint(self, impl: str) -> str:
        if self.transport == "tcp":
            return "tcp://127.0.0.1:*"
        if self.transport == "ipc":
            return f"ipc://{self.directory}/{impl}-{self.workload}.ipc"
        return f"inproc://{impl}-bench-{self.workload}"


async def _trinq_thr(spec: _BenchSpec) -> dict[str, float]:
    count, msg = spec.count, _PAYLOAD_BYTE * spec.size
    progress = _Progress("trinq thr", count)
    async with trinq.Context() as ctx:
        pull = ctx.socket(trinq.PULL, linger=0)
        push = ctx.socket(trinq.PUSH, linger=0)
        push.connect(await pull.bind(spec.endpoint("trinq")))

        async def sender() -> None:
            send = push.send
            for _ in range(count):
                await send(msg)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(sender)
            recv = pull.recv
            await recv()
            t0 = time.perf_counter()
            done = 1
            for n in _chunks(count - 1, progress.step):
                for _ in range(n):
                    await recv()
                done += n
                progress.update(done)
            t1 = time.perf_counter()
        progress.done()
        pull.close()
        push.close()
    return _thr_metrics(count, spec.size, t0, t1)


async def _trinq_lat(spec: _BenchSpec) -> dict[str, float]:
    count, msg, warmup = spec.count, _PAYLOAD_BYTE * spec.size, _warmup(spec.count)
    progress = _Progress("trinq lat", count)
    rtts = [0] * count
    async with trinq.Context() as ctx:
        rep = ctx.socket(trinq.REP, linger=0)
        req = ctx.socket(trinq.REQ, linger=0)
        req.connect(await rep.bind(spec.endpoint("trinq")))

        async def echo() -> None:
            send, recv = rep.send, rep.recv
            for _ in range(count + warmup):
                await send(await recv())

        async with trio.open_nursery() as nursery:
            nursery.start_soon(echo)
            send, recv, clock = req.send, req.recv, time.perf_counter_ns
            for _ in range(warmup):
                await send(msg)
                await recv()
            i = 0
            for n in _chunks(count, progress.step):
                for _ in range(n):
                    a = clock()
                    await send(msg)
                    await recv()
                    rtts[i] = clock() - a
                    i += 1
                progress.update(i)
        progress.done()
        rep.close()
        req.close()
    return _lat_metrics(rtts)


async def _trinq_pubsub(spec: _BenchSpec) -> dict[str, float]:
    count, subs, data = spec.count, spec.subs, _PAYLOAD_BYTE * spec.size
    progress = _Progress(f"trinq pubsub (1 PUB, {subs} SUB)", count)
    lasts = [0.0] * subs
    t0 = 0.0
    async with trinq.Context() as ctx:
        pub = ctx.socket(trinq.PUB, sndhwm=0, linger=0)  # lossless for the benchmark
        endpoint = await pub.bind(spec.endpoint("trinq"))
        socks = [ctx.socket(trinq.SUB, rcvhwm=0, linger=0) for _ in range(subs)]
        for s in socks:
            s.subscribe(b"")
            s.connect(endpoint)
        ready = [0]
        all_ready = trio.Event()

        async def subscriber(i: int, s: trinq.Socket) -> None:
            recv = s.recv
            await recv()  # a hello: subscribed
            ready[0] += 1
            if ready[0] == subs:
                all_ready.set()
            while (await recv())[:1] == _HELLO:
                pass  # the hellos still in flight; then the first data message
            done = 1
            for n in _chunks(count - 1, progress.step):
                for _ in range(n):
                    await recv()
                done += n
                if i == 0:
                    progress.update(done)
            lasts[i] = time.perf_counter()

        async with trio.open_nursery() as nursery:
            for i, s in enumerate(socks):
                nursery.start_soon(subscriber, i, s)
            while not all_ready.is_set():
                await pub.send(_HELLO)
                with trio.move_on_after(0.005):
                    await all_ready.wait()
            send = pub.send
            t0 = time.perf_counter()
            for _ in range(count):
                await send(data)
        progress.done()
        for s in [pub, *socks]:
            s.close()
    return _pubsub_metrics(count, subs, spec.size, t0, max(lasts))


_TRINQ_BENCH: dict[str, Callable[[_BenchSpec], Awaitable[dict[str, float]]]] = {
    "thr": _trinq_thr,
    "lat": _trinq_lat,
    "pubsub": _trinq_pubsub,
}


def _pyzmq_bind(sock: Any, endpoint: str) -> str:
    sock.bind(endpoint)
    resolved: str = sock.getsockopt_string(_zmq().LAST_ENDPOINT)
    return resolved


def _zmq() -> Any:
    import zmq

    return zmq


class _Worker:
    """A daemon thread whose exception is re-raised by :meth:`join`."""

    def __init__(self, target: Callable[[], None]) -> None:
        self.error: BaseException | None = None

        def run() -> None:
            try:
                target()
            except BaseException as exc:
                self.error = exc

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def join(self) -> None:
        self.thread.join(_PYZMQ_TIMEOUT_MS / 1000)
        if self.error is not None:
            raise self.error


def _pyzmq_thr(spec: _BenchSpec) -> dict[str, float]:
    zmq = _zmq()
    count, msg = spec.count, _PAYLOAD_BYTE * spec.size
    progress = _Progress("pyzmq thr", count)
    zctx = zmq.Context()
    try:
        pull = zctx.socket(zmq.PULL)
        pull.linger = 0
        pull.rcvtimeo = _PYZMQ_TIMEOUT_MS
        endpoint = _pyzmq_bind(pull, spec.endpoint("pyzmq"))
        push = zctx.socket(zmq.PUSH)
        push.linger = 0
        push.sndtimeo = _PYZMQ_TIMEOUT_MS
        push.connect(endpoint)

        def sender() -> None:
            send = push.send
            for _ in range(count):
                send(msg)

        worker = _Worker(sender)  # the socket is handed over to the thread
        recv = pull.recv
        recv()
        t0 = time.perf_counter()
        done = 1
        for n in _chunks(count - 1, progress.step):
            for _ in range(n):
                recv()
            done += n
            progress.update(done)
        t1 = time.perf_counter()
        worker.join()
        progress.done()
    finally:
        zctx.destroy(linger=0)
    return _thr_metrics(count, spec.size, t0, t1)


def _pyzmq_lat(spec: _BenchSpec) -> dict[str, float]:
    zmq = _zmq()
    count, msg, warmup = spec.count, _PAYLOAD_BYTE * spec.size, _warmup(spec.count)
    progress = _Progress("pyzmq lat", count)
    rtts = [0] * count
    zctx = zmq.Context()
    try:
        rep = zctx.socket(zmq.REP)
        rep.linger = 0
        rep.rcvtimeo = _PYZMQ_TIMEOUT_MS
        endpoint = _pyzmq_bind(rep, spec.endpoint("pyzmq"))
        req = zctx.socket(zmq.REQ)
        req.linger = 0
        req.rcvtimeo = _PYZMQ_TIMEOUT_MS
        req.connect(endpoint)

        def echo() -> None:
            send, recv = rep.send, rep.recv
            for _ in range(count + warmup):
                send(recv())

        worker = _Worker(echo)
        send, recv, clock = req.send, req.recv, time.perf_counter_ns
        for _ in range(warmup):
            send(msg)
            recv()
        i = 0
        for n in _chunks(count, progress.step):
            for _ in range(n):
                a = clock()
                send(msg)
                recv()
                rtts[i] = clock() - a
                i += 1
            progress.update(i)
        worker.join()
        progress.done()
    finally:
        zctx.destroy(linger=0)
    return _lat_metrics(rtts)


def _pyzmq_pubsub(spec: _BenchSpec) -> dict[str, float]:
    zmq = _zmq()
    count, subs, data = spec.count, spec.subs, _PAYLOAD_BYTE * spec.size
    progress = _Progress(f"pyzmq pubsub (1 PUB, {subs} SUB)", count)
    lasts = [0.0] * subs
    zctx = zmq.Context()
    try:
        pub = zctx.socket(zmq.PUB)
        pub.linger = 0
        pub.sndhwm = 0
        endpoint = _pyzmq_bind(pub, spec.endpoint("pyzmq"))
        socks = []
        for _ in range(subs):
            s = zctx.socket(zmq.SUB)
            s.linger = 0
            s.rcvhwm = 0
            s.rcvtimeo = _PYZMQ_TIMEOUT_MS
            s.subscribe(b"")
            s.connect(endpoint)
            socks.append(s)
        ready = threading.Semaphore(0)

        def subscriber(i: int) -> None:
            recv = socks[i].recv
            recv()  # a hello: subscribed
            ready.release()
            while recv()[:1] == _HELLO:
                pass
            done = 1
            for n in _chunks(count - 1, progress.step):
                for _ in range(n):
                    recv()
                done += n
                if i == 0:
                    progress.update(done)
            lasts[i] = time.perf_counter()

        workers = [_Worker(functools.partial(subscriber, i)) for i in range(subs)]
        deadline = time.monotonic() + _PYZMQ_TIMEOUT_MS / 1000
        waiting = subs
        while waiting:
            pub.send(_HELLO)
            while waiting and ready.acquire(timeout=0.005):
                waiting -= 1
            if time.monotonic() > deadline:
                raise CommandError("pyzmq pubsub: the subscribers never connected")
        send = pub.send
        t0 = time.perf_counter()
        for _ in range(count):
            send(data)
        for w in workers:
            w.join()
        progress.done()
    finally:
        zctx.destroy(linger=0)
    return _pubsub_metrics(count, subs, spec.size, t0, max(lasts))


_PYZMQ_BENCH: dict[str, Callable[[_BenchSpec], dict[str, float]]] = {
    "thr": _pyzmq_thr,
    "lat": _pyzmq_lat,
    "pubsub": _pyzmq_pubsub,
}


def _micro() -> str:
    try:
        "µ".encode(sys.stdout.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return "us"
    return "µs"


def _columns(workload: str) -> list[tuple[str, str, str]]:
    """(heading, metric, number format) per table column."""
    if workload == "lat":
        us = _micro()
        return [(f"p50 {us}", "lat_p50_us", ",.1f"), (f"p99 {us}", "lat_p99_us", ",.1f")]
    cols = [("msgs/s", "msgs_per_s", ",.0f"), ("MB/s", "mb_per_s", ",.2f")]
    if workload == "pubsub":
        cols.insert(1, ("deliveries/s", "deliveries_per_s", ",.0f"))
    return cols


def _bench_table(spec: _BenchSpec, results: dict[str, dict[str, float]]) -> list[str]:
    w = spec.workload
    what = {
        "thr": "PUSH -> PULL throughput",
        "lat": "REQ <-> REP latency (one way = round trip / 2)",
        "pubsub": f"PUB -> {spec.subs} SUB fan-out",
    }[w]
    unit = "round trips" if w == "lat" else "messages"
    head = f"trinq bench {w}: {what}, {spec.count:,} {unit} of {spec.size} B"
    lines = [f"{head} over {spec.transport}"]
    cols = _columns(w)
    rows: list[list[str]] = [["", *(h for h, _, _ in cols)]]
    for impl, metrics in results.items():
        rows.append([impl, *(format(metrics[m], f) for _, m, f in cols)])
    if "trinq" in results and "pyzmq" in results:
        ratio = ["trinq/pyzmq"]
        for _, m, _ in cols:
            base = results["pyzmq"][m]
            ratio.append(f"x{results['trinq'][m] / base:.2f}" if base else "-")
        rows.append(ratio)
    widths = [max(len(row[i]) for row in rows) for i in range(len(cols) + 1)]
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [c.rjust(widths[i + 1]) for i, c in enumerate(row[1:])]
        lines.append("  ".join(cells).rstrip())
    if "pyzmq" not in results:
        lines.append("(pyzmq is not installed or --no-pyzmq: nothing to compare with)")
    elif w == "lat":
        lines.append("(for latency a ratio below x1 means trinq is faster)")
    else:
        lines.append("(a ratio above x1 means trinq is faster)")
    return lines


def _cmd_bench(args: argparse.Namespace) -> int:
    if args.workload == "thr" and args.count is not None and args.count < 2:
        args.parser.error("thr needs --count 2 or more (it times the gaps between messages)")
    with tempfile.TemporaryDirectory(prefix="trinq-bench-") as directory:
        spec = _BenchSpec(args, directory)
        status = _Status(args.timeout)
        status.set(f"running trinq bench {spec.workload}")
        results: dict[str, dict[str, float]] = {}

        async def run_trinq() -> None:
            with trio.fail_after(status.timeout):
                results["trinq"] = await _TRINQ_BENCH[spec.workload](spec)

        _run_trio(run_trinq, status)
        if not args.no_pyzmq:
            try:
                _zmq()
            except ImportError:
                pass
            else:
                try:
                    results["pyzmq"] = _PYZMQ_BENCH[spec.workload](spec)
                except CommandError:
                    raise
                except Exception as exc:  # zmq.ZMQError, zmq.Again: not trinq's
                    raise CommandError(f"pyzmq {spec.workload}: {exc}") from None
    if args.format == "json":
        ratio = {}
        if "pyzmq" in results:
            for metric, value in results["trinq"].items():
                base = results["pyzmq"].get(metric)
                if base:
                    ratio[metric] = value / base
        record = {
            "workload": spec.workload,
            "size": spec.size,
            "count": spec.count,
            "transport": spec.transport,
            **({"subscribers": spec.subs} if spec.workload == "pubsub" else {}),
            "results": results,
            "ratio_trinq_to_pyzmq": ratio,
        }
        print(json.dumps(record, sort_keys=True), flush=True)
    else:
        print("\n".join(_bench_table(spec, results)), flush=True)
    return EXIT_OK


# --- version -------------------------------------------------------------------------


def version_lines() -> list[str]:
    """trinq's version, the ZMTP version it speaks, trio, Python, and libzmq (pyzmq)."""
    version = getattr(trinq, "__version__", None)
    if not version:
        try:
            version = importlib.metadata.version("trinq")
        except importlib.metadata.PackageNotFoundError:
            version = "unknown"
    greeting = trinq.zmtp.Greeting()
    lines = [
        f"trinq {version}",
        f"ZMTP {greeting.major}.{greeting.minor}",
        f"trio {trio.__version__}",
        f"Python {platform.python_version()}",
    ]
    try:
        import zmq
    except ImportError:
        lines.append("libzmq: none (pyzmq is not installed)")
    else:
        lines.append(f"libzmq {zmq.zmq_version()} (pyzmq {zmq.__version__})")
    return lines


def _cmd_keygen(args: argparse.Namespace) -> int:
    """A CURVE keypair: printed, or written as pyzmq-compatible certificate files."""
    from ._certs import create_certificates

    if args.directory is None:
        public, secret = trinq.curve_keypair()
        print(f"public-key = {public.decode()}")
        print(f"secret-key = {secret.decode()}", flush=True)
        return EXIT_OK
    directory = Path(args.directory)
    directory.mkdir(parents=True, exist_ok=True)
    secret_file = directory / f"{args.name}.key_secret"
    if (secret_file.exists() or (directory / f"{args.name}.key").exists()) and not args.force:
        raise CommandError(
            f"{directory / args.name}.key or .key_secret exists; --force replaces the keys"
        )
    public_file, secret_path = create_certificates(directory, args.name)
    print(public_file)
    print(secret_path, flush=True)
    return EXIT_OK


def _cmd_version(args: argparse.Namespace) -> int:
    print("\n".join(version_lines()), flush=True)
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    trio.run(demo)
    return EXIT_OK


# --- running -------------------------------------------------------------------------


def _run_trio(fn: Callable[[], Awaitable[None]], status: _Status) -> None:
    try:
        trio.run(fn)
    except BaseException as exc:
        raise _Finished(exc, status) from exc


class _Finished(Exception):
    """Carries a command's exception and its status up to :func:`main`."""

    def __init__(self, error: BaseException, status: _Status) -> None:
        super().__init__(str(error))
        self.error = error
        self.status = status


_Command = Callable[[argparse.Namespace, _Status], Awaitable[None]]


def _async_command(command: _Command) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        if hasattr(args, "connect"):
            _check_endpoints(args)
        status = _Status(args.timeout)

        async def run() -> None:
            with trio.fail_after(status.timeout):
                await command(args, status)

        _run_trio(run, status)
        return EXIT_OK

    return handler


def _build_parser() -> _Parser:
    parser = _Parser(
        prog="trinq",
        description="ZeroMQ for trio: send, receive, proxy, monitor and benchmark "
        "from the command line (docs/cli.md).",
    )
    parser.add_argument("--version", action="version", version=trinq.__version__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands: dict[str, _Parser] = {}
    parser.set_defaults(commands=commands)

    def command(name: str, help: str, handler: Callable[[argparse.Namespace], int]) -> _Parser:
        p: _Parser = sub.add_parser(name, help=help, description=help)
        p.set_defaults(handler=handler, parser=p, command=name)
        commands[name] = p
        return p

    def endpoints(p: _Parser) -> None:
        p.add_argument(
            "type", metavar="TYPE", type=_socket_type, help="socket type (PUSH, sub, REQ, ...)"
        )
        p.add_argument("--bind", action="append", metavar="ENDPOINT", help="bind here (repeatable)")
        p.add_argument(
            "--connect", action="append", metavar="ENDPOINT", help="connect here (repeatable)"
        )

    def timeout(p: _Parser) -> None:
        p.add_argument(
            "--timeout",
            type=_positive_seconds,
            metavar="SECONDS",
            help=f"give up after SECONDS (exit status {EXIT_TIMEOUT})",
        )

    def fmt(p: _Parser, formats: Sequence[str] = FORMATS) -> None:
        p.add_argument(
            "--format",
            choices=formats,
            default="text",
            help="text: escaped bytes (default); raw: bytes as they are; json: JSON arrays",
        )

    command("demo", "run a short self-contained demonstration", _cmd_demo)

    p = command("send", "send messages (arguments, or one per stdin line)", _async_command(_send))
    endpoints(p)
    p.add_argument("frames", nargs="*", metavar="FRAME", help="the frames of one message")
    p.add_argument(
        "--count",
        type=_positive_int,
        metavar="N",
        help="FRAME given: send the message N times (default 1); else at most N lines",
    )
    p.add_argument(
        "--delay",
        type=_seconds,
        default=0.0,
        metavar="SECONDS",
        help="wait after binding/connecting before sending (lets PUB subscribers join)",
    )
    p.add_argument(
        "--linger",
        type=_linger,
        metavar="MS",
        help="at the end, wait at most MS ms for queued messages to go out "
        "(default -1: until they do; 0: drop them)",
    )
    fmt(p)
    timeout(p)

    p = command("recv", "receive messages and print one line per message", _async_command(_recv))
    endpoints(p)
    p.add_argument("--count", type=_positive_int, metavar="N", help="stop after N messages")
    p.add_argument(
        "--subscribe",
        action="append",
        metavar="TOPIC",
        help="SUB/XSUB: a topic prefix (repeatable; default: everything)",
    )
    p.add_argument(
        "--reply",
        action="append",
        metavar="FRAME",
        help="REP: reply with these frames (repeatable) instead of echoing the request",
    )
    fmt(p)
    timeout(p)

    p = command(
        "proxy",
        "forward between a bound frontend and a bound backend (trinq.proxy)",
        _async_command(_proxy),
    )
    p.add_argument(
        "kind",
        choices=sorted(PROXIES),
        help="pubsub: XSUB/XPUB; reqrep: ROUTER/DEALER; pipeline: PULL/PUSH",
    )
    p.add_argument("frontend", metavar="FRONTEND", help="endpoint bound for the frontend")
    p.add_argument("backend", metavar="BACKEND", help="endpoint bound for the backend")
    p.add_argument(
        "--capture", metavar="ENDPOINT", help="bind a PUB here that gets a copy of every message"
    )
    timeout(p)

    p = command("monitor", "print a socket's monitor events live", _async_command(_monitor))
    endpoints(p)
    p.add_argument("--count", type=_positive_int, metavar="N", help="stop after N events")
    p.add_argument(
        "--event",
        action="append",
        type=_event_name,
        metavar="NAME",
        help="only these events (repeatable, e.g. CONNECTED)",
    )
    fmt(p, ("text", "json"))
    timeout(p)

    p = command("bench", "measure trinq (and pyzmq beside it, when installed)", _cmd_bench)
    p.add_argument(
        "workload",
        choices=("thr", "lat", "pubsub"),
        help="thr: PUSH->PULL throughput; lat: REQ<->REP latency; pubsub: PUB->SUB fan-out",
    )
    p.add_argument("--size", type=_size, default=16, metavar="B", help="message size (16)")
    p.add_argument(
        "--count",
        type=_positive_int,
        metavar="N",
        help="messages (round trips for lat); default "
        + ", ".join(f"{w} {n:,}" for w, n in BENCH_COUNTS.items()),
    )
    p.add_argument("--transport", choices=("tcp", "ipc", "inproc"), default="tcp")
    p.add_argument(
        "--subscribers", type=_positive_int, default=4, metavar="K", help="pubsub: SUB sockets (4)"
    )
    p.add_argument("--no-pyzmq", action="store_true", help="do not run pyzmq beside trinq")
    fmt(p, ("text", "json"))
    timeout(p)

    p = command(
        "keygen",
        "make a CURVE keypair: print it, or write NAME.key and NAME.key_secret "
        "(pyzmq's certificate format; the secret file is readable by you only)",
        _cmd_keygen,
    )
    p.add_argument("name", nargs="?", default="trinq", metavar="NAME", help="file name")
    p.add_argument("--directory", metavar="DIR", help="write certificate files here")
    p.add_argument("--force", action="store_true", help="replace existing files")

    command("version", "print the versions of trinq, ZMTP, trio, Python and libzmq", _cmd_version)
    return parser


def _parse(argv: list[str]) -> argparse.Namespace:
    """Parse ``argv``; options and FRAME arguments may come in any order."""
    parser = _build_parser()
    commands: dict[str, _Parser] = parser.get_default("commands")
    if argv and argv[0] in commands:
        # argparse alone would give FRAME ... only the words before the first option
        return commands[argv[0]].parse_intermixed_args(argv[1:])
    return parser.parse_args(argv)  # --help, --version, and the usage errors


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``trinq`` command line; return the exit status."""
    status = _Status()
    try:
        args = _parse(list(sys.argv[1:] if argv is None else argv))
        handler: Callable[[argparse.Namespace], int] = args.handler
        return handler(args)
    except _Finished as finished:
        code = _report(finished.error, finished.status)
        if code is None:
            raise finished.error from None
        return code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except (CommandError, trinq.ZMQBaseError, ValueError, OSError) as exc:
        code = _report(exc, status)
        if code is None:
            raise
        return code


if __name__ == "__main__":
    sys.exit(main())
