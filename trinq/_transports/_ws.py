"""ws:// and wss:// transports: ZWS 2.0 (RFC 45) over WebSocket (RFC 6455).

Endpoints are ``ws://HOST:PORT/PATH`` (``wss://`` with TLS); the path defaults to
``/``; a bind takes ``*`` for every interface and port ``0`` or ``*`` for an
ephemeral one (the resolved endpoint names it).

Theory of operation
-------------------
**Several paths on one port.** Binds of one :class:`~trinq.Context` share a
listener per (scheme, address, port): the first bind on a port opens it, a later
bind of another path on that port (from the same or another socket of the context)
joins it, the same path twice is ``EADDRINUSE``. The registry of ports lives on the
context (``context._ws_ports``, as inproc names do). A port's accept loop runs as a
context task (:class:`_Port`), since it outlives any one of its sockets; it closes
the listener when its last path is unbound.

**Server upgrade.** Each accepted connection gets its own task in the port (a slow
client never holds up the accept loop): TLS first for wss, then the HTTP request
head is read (at most 16 KiB, under the smallest ``handshake_ivl`` of the port's
sockets). Its request path picks the binding; the connection then moves into that
binding's own nursery (:meth:`WsBinding._serve_one`), where wsproto validates the
upgrade, the subprotocol is chosen (``ZWS2.0/NULL`` or the bare ``ZWS2.0``, the
client's first that fits, as libzmq) and ``101 Switching Protocols`` goes out;
then an :class:`~trinq._engine.Engine` runs with the ZWS codec
(:class:`trinq.zmtp._zws.ZwsConnection`). Monitor events: a request that is not
HTTP, not for a bound path, or not a WebSocket upgrade is ``ACCEPT_FAILED`` (on
every socket bound on the port when no path matched); an upgrade is ``ACCEPTED``;
an upgrade offering no ZWS subprotocol is then ``HANDSHAKE_FAILED_PROTOCOL``; the
rest comes from the engine (a text, fragmented or oversized message is
``DISCONNECTED`` with the reason).

**Client upgrade.** :meth:`WsTransport.open_stream` connects, runs TLS for wss,
sends the upgrade request (offering ``ZWS2.0/NULL, ZWS2.0``, as libzmq) and reads
the response under ``handshake_ivl``; any failure is an ``OSError``, so the dial
loop reports ``CONNECT_DELAYED`` (with the reason) and retries.

Octets that arrived past the HTTP head reach the codec (``Upgrade.received``). A
ws connection's stream is a :class:`~trinq._io.LeanSocketStream` (direct writes and
read lending work over it); a wss one wraps trio's ``SSLStream``.

Pipes of ws connections never share PUB's pre-encoded ZMTP bytes
(``_shared_encoder`` is None): every ws connection frames (and a client masks) each
message itself.

wsproto (the ``ws`` extra) is imported on first use; without it, bind/connect raise
``ZMQError(EPROTONOSUPPORT)`` naming ``pip install 'trinq[ws]'``.
"""

from __future__ import annotations

import errno
import math
import os
import socket as _stdlib_socket
import ssl
import tempfile
from typing import Any

import trio
from trio.lowlevel import enable_ki_protection

from .._constants import EADDRINUSE, EINVAL, ENOTSUP, EPROTONOSUPPORT
from .._core import SocketCore
from .._engine import Engine
from .._errors import ZMQError
from .._io import LeanSocketStream
from .._monitor import Event
from .._options import Options
from ..zmtp import ProtocolErrorCode
from ..zmtp._zws import ZwsConnection, offered_subprotocols, select_subprotocol
from ._streams import DialingTransport, StreamDialing
from ._tcp import _apply_keepalive, parse_tcp_address

__all__ = ["Upgrade", "WsBinding", "WsTransport", "WssTransport", "parse_ws_address"]

#: Most octets of an HTTP request or response head we read.
MAX_HEAD_BYTES = 16 * 1024
#: How long (seconds) we try to tell a refused client why, before closing.
REFUSAL_TIMEOUT = 1.0
#: The mechanisms a ws connection can carry today.
_MECHANISM = "NULL"
_PIP_HINT = "pip install 'trinq[ws]'"
_CAPACITY_ERRNOS = {errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS}


def _require_wsproto() -> Any:
    """Import wsproto (the ``ws`` extra) or raise a clear error."""
    try:
        import wsproto.handshake
    except ImportError as exc:
        raise ZMQError(
            EPROTONOSUPPORT,
            f"the ws:// and wss:// transports need the wsproto package: {_PIP_HINT}",
        ) from exc
    return wsproto


# --- addresses -----------------------------------------------------------------------


def parse_ws_address(address: str, *, bind: bool, scheme: str = "ws") -> tuple[str, int, str]:
    """Parse ``host:port/path`` into (host, port, path); the path defaults to ``/``."""
    if address.startswith("["):
        close = address.find("]")
        slash = address.find("/", close + 1) if close >= 0 else -1
    else:
        slash = address.find("/")
    hostport, path = (address, "/") if slash < 0 else (address[:slash], address[slash:])
    if not path.isascii() or any(c <= " " or c == "\x7f" for c in path) or "#" in path:
        raise ZMQError(EINVAL, f"invalid {scheme} path in {address!r}")
    try:
        host, port = parse_tcp_address(hostport, bind=bind)
    except ZMQError as exc:
        raise ZMQError(EINVAL, f"invalid {scheme} address {address!r}: {exc}") from None
    return host, port, path


def _route(target: str) -> str:
    """The path a request target is dispatched on (its query string dropped)."""
    return target.split("?", 1)[0] or "/"


def _host_text(host: str) -> str:
    return f"[{host}]" if ":" in host else host


# --- streams that carry what the upgrade learnt -----------------------------------------


class Upgrade:
    """What the HTTP upgrade of one connection settled."""

    __slots__ = ("client", "received", "subprotocol")

    def __init__(self, client: bool, subprotocol: str, received: bytes) -> None:
        self.client = client
        self.subprotocol = subprotocol
        #: octets that came after the HTTP head (the start of the ZWS traffic)
        self.received = received


class WsLeanStream(LeanSocketStream):
    """A ws connection: a lean socket stream that knows its upgrade."""

    upgrade: Upgrade | None = None


class WsTlsStream(trio.abc.Stream):
    """A wss connection: trio's ``SSLStream`` (which cannot be subclassed), plus the
    upgrade."""

    def __init__(self, inner: trio.SSLStream[trio.abc.Stream]) -> None:
        self.inner = inner
        self.upgrade: Upgrade | None = None

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self.inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        return bytes(await self.inner.receive_some(max_bytes))

    async def aclose(self) -> None:
        await self.inner.aclose()

    def socket(self) -> Any:
        return getattr(self.inner.transport_stream, "socket", None)


def _lean(stream: trio.abc.Stream) -> WsLeanStream:
    """A ``trio.SocketStream``'s socket as a :class:`WsLeanStream`."""
    assert isinstance(stream, trio.SocketStream)
    tsock = stream.socket
    family, type_, proto = tsock.family, tsock.type, tsock.proto
    fd = tsock.detach()
    return WsLeanStream(_stdlib_socket.socket(family, type_, proto, fileno=fd))


def _kernel_socket(stream: trio.abc.Stream) -> Any:
    if isinstance(stream, LeanSocketStream):
        return stream.socket
    if isinstance(stream, WsTlsStream):
        return stream.socket()
    return getattr(stream, "socket", None)


def _peer_of(stream: trio.abc.Stream) -> str:
    sock = _kernel_socket(stream)
    try:
        return str(sock.getpeername()[0])
    except (AttributeError, OSError, IndexError, TypeError):
        return ""


class _HeadError(Exception):
    """The peer's HTTP head is unusable: ``status`` (0: answer nothing), reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


async def _read_head(stream: trio.abc.Stream, *, request: bool) -> tuple[bytes, bytes]:
    """Read an HTTP head (through the blank line); return (head, what followed).

    A request must start like one (an upper-case method), so a ZMTP or TLS client on
    a ws port is refused at its first octet instead of at the timeout."""
    buf = b""
    start = 0
    while True:
        end = buf.find(b"\r\n\r\n", start)
        if 0 <= end <= MAX_HEAD_BYTES - 4:
            return buf[: end + 4], buf[end + 4 :]
        if end >= 0 or len(buf) > MAX_HEAD_BYTES:
            raise _HeadError(431, f"HTTP head over {MAX_HEAD_BYTES} octets")
        start = max(0, len(buf) - 3)
        data = await stream.receive_some(4096)
        if not data:
            what = "request" if request else "response"
            raise _HeadError(0, f"the peer closed the connection before a whole HTTP {what}")
        buf += data
        if request and not (65 <= buf[0] <= 90):
            raise _HeadError(0, f"not an HTTP request (first octets {buf[:8]!r})")


def _http_response(status: int, phrase: str, text: str) -> bytes:
    body = (text + "\n").encode()
    return (
        f"HTTP/1.1 {status} {phrase}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + body


async def _refuse(stream: trio.abc.Stream, response: bytes) -> None:
    """Best effort: send ``response`` (if any), then close."""
    try:
        if response:
            with trio.move_on_after(REFUSAL_TIMEOUT):
                await stream.send_all(response)
    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
        pass
    finally:
        await trio.aclose_forcefully(stream)


# --- TLS -------------------------------------------------------------------------------


def _server_ssl_context(options: Options) -> ssl.SSLContext:
    if options.wss_ssl_context is not None:
        return options.wss_ssl_context
    if not options.wss_cert_pem or not options.wss_key_pem:
        raise ZMQError(
            EINVAL,
            "a wss bind needs the wss_cert_pem and wss_key_pem options (or wss_ssl_context)",
        )
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    # ssl loads a certificate chain from files only: a private directory, gone at once
    with tempfile.TemporaryDirectory(prefix="trinq-wss-") as tmp:
        cert = os.path.join(tmp, "cert.pem")
        key = os.path.join(tmp, "key.pem")
        for path, data in ((cert, options.wss_cert_pem), (key, options.wss_key_pem)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        try:
            ctx.load_cert_chain(cert, key)
        except (ssl.SSLError, OSError) as exc:
            raise ZMQError(EINVAL, f"wss_cert_pem/wss_key_pem: {exc}") from None
    return ctx


def _client_ssl_context(options: Options) -> ssl.SSLContext:
    if options.wss_ssl_context is not None:
        return options.wss_ssl_context
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies the chain and the name
    if options.wss_trust_system:
        ctx.load_default_certs()
    if options.wss_trust_pem:
        try:
            ctx.load_verify_locations(cadata=options.wss_trust_pem.decode("ascii"))
        except (ssl.SSLError, ValueError) as exc:
            raise ZMQError(EINVAL, f"wss_trust_pem: {exc}") from None
    return ctx


def _tls_error(exc: BaseException) -> OSError:
    cause = exc.__cause__ or exc.__context__
    reason = str(cause or exc) or type(exc).__name__
    if isinstance(cause, ssl.SSLCertVerificationError):
        reason += " (wss: set wss_trust_pem or wss_trust_system, and wss_hostname)"
    return OSError(errno.EPROTO, f"wss: TLS handshake failed: {reason}")


# --- the transports ---------------------------------------------------------------------


class WsTransport(DialingTransport):
    """``ws://``; see the module docstring."""

    scheme = "ws"
    tls = False

    def check_connect_address(self, address: str) -> None:
        _require_wsproto()
        host, _, _ = parse_ws_address(address, bind=False, scheme=self.scheme)
        try:
            host.encode("idna")  # (the Host header, and the name to resolve)
        except UnicodeError:
            raise ZMQError(EINVAL, f"invalid {self.scheme} host in {address!r}") from None

    def _check_socket(self, core: SocketCore) -> None:
        _require_wsproto()
        if core.pattern.raw:
            raise ZMQError(ENOTSUP, f"{core.socket_type} sockets work over tcp only, not ws")
        if core.options.mechanism != 0:
            raise ZMQError(
                ENOTSUP,
                f"{self.scheme}: only the NULL security mechanism is available over ws "
                "(a socket never falls back to NULL)",
            )

    # --- serving ---------------------------------------------------------------------

    async def bind(self, core: SocketCore, address: str) -> WsBinding:
        self._check_socket(core)
        host, port_no, path = parse_ws_address(address, bind=True, scheme=self.scheme)
        opts = core.options
        if host == "*":
            host = "::" if opts.ipv6 else "0.0.0.0"
        ports = _ports(core.context)
        port: _Port | None = None
        if port_no:
            try:
                key = await _bind_key(self.scheme, host, port_no)
            except OSError:
                key = None  # open_tcp_listeners reports it below
            port = ports.get(key) if key is not None else None
        if port is None:
            # (a bind that joins an open port uses that port's TLS settings)
            ssl_context = _server_ssl_context(opts) if self.tls else None
            try:
                listeners = await trio.open_tcp_listeners(port_no, host=host, backlog=opts.backlog)
            except _stdlib_socket.gaierror as exc:
                raise ZMQError(
                    errno.ENODEV, f"cannot bind to {self.scheme}://{address}: {exc}"
                ) from exc
            except OSError as exc:
                raise ZMQError(
                    exc.errno or EINVAL, f"cannot bind to {self.scheme}://{address}: {exc}"
                ) from exc
            port = _Port(self, ports, list(listeners), ssl_context)
            try:
                core.context._spawn_system(port.run)
            except BaseException:
                for listener in listeners:
                    listener.socket.close()
                raise
            ports[port.key] = port
        endpoint = f"{self.scheme}://{port.host_port}{path}"
        binding = WsBinding(self, core, port, _route(path), endpoint)
        port.add(binding)
        return binding

    # --- dialing -----------------------------------------------------------------------

    def connect(
        self, core: SocketCore, endpoint: str, address: str, routing_id: bytes
    ) -> StreamDialing:
        self._check_socket(core)
        if self.tls:
            _client_ssl_context(core.options)  # a bad wss_trust_pem: EINVAL here, now
        return super().connect(core, endpoint, address, routing_id)

    async def open_stream(self, address: str, options: Options) -> trio.abc.Stream:
        wsproto = _require_wsproto()
        from wsproto.events import AcceptConnection, RejectConnection, Request

        host, port, path = parse_ws_address(address, bind=False, scheme=self.scheme)
        tcp = await trio.open_tcp_stream(host, port)
        owned: trio.abc.Stream = tcp
        stream: WsLeanStream | WsTlsStream
        ivl = options.handshake_ivl
        try:
            _apply_keepalive(tcp.socket, options)
            with trio.fail_after(ivl / 1000 if ivl > 0 else math.inf):
                if self.tls:
                    ctx = _client_ssl_context(options)
                    name = options.wss_hostname or host
                    stream = WsTlsStream(
                        trio.SSLStream(tcp, ctx, server_hostname=name, https_compatible=True)
                    )
                    owned = stream
                    try:
                        await stream.inner.do_handshake()
                    except trio.BrokenResourceError as exc:
                        raise _tls_error(exc) from None
                else:
                    stream = _lean(tcp)
                    owned = stream
                handshake = wsproto.handshake.H11Handshake(wsproto.ConnectionType.CLIENT)
                offered = offered_subprotocols(_MECHANISM)
                request = Request(
                    host=f"{_host_text(host)}:{port}", target=path, subprotocols=offered
                )
                await stream.send_all(handshake.send(request))
                head, rest = await _read_head(stream, request=False)
                try:
                    handshake.receive_data(head)
                    events = list(handshake.events())
                except wsproto.utilities.RemoteProtocolError as exc:
                    raise OSError(errno.EPROTO, f"ws: bad upgrade response: {exc}") from None
                for ev in events:
                    if isinstance(ev, RejectConnection):
                        text = rest[:200].decode("utf-8", "replace").strip()
                        raise OSError(
                            errno.EPROTO,
                            f"ws: the server refused the upgrade: HTTP {ev.status_code}"
                            + (f": {text}" if text else ""),
                        )
                    if isinstance(ev, AcceptConnection):
                        chosen = ev.subprotocol
                        if chosen is None or select_subprotocol([chosen], _MECHANISM) is None:
                            raise OSError(
                                errno.EPROTO,
                                f"ws: the server chose no ZWS 2.0 subprotocol ({chosen!r})",
                            )
                        stream.upgrade = Upgrade(True, chosen, rest)
                        return stream
                raise OSError(errno.EPROTO, "ws: no upgrade response")
        except _HeadError as exc:
            await trio.aclose_forcefully(owned)
            raise OSError(errno.EPROTO, f"ws: {exc}") from None
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            await trio.aclose_forcefully(owned)
            raise OSError(errno.ECONNRESET, f"ws: upgrade failed: {exc}") from None
        except (ZMQError, ValueError) as exc:  # (a bad name or TLS setting: no crash)
            await trio.aclose_forcefully(owned)
            raise OSError(errno.EINVAL, f"{self.scheme}: {exc}") from None
        except BaseException:
            await trio.aclose_forcefully(owned)
            raise

    # --- engines ---------------------------------------------------------------------

    def _shared_encoder(self, core: SocketCore) -> Any:
        return None  # each ws connection frames (and a client masks) every message itself

    def peer_address(self, stream: trio.abc.Stream) -> str:
        return _peer_of(stream)

    def codec(self, core: SocketCore, stream: trio.abc.Stream) -> Any:
        """A ZWS connection, continuing what the upgrade read past its head."""
        upgrade: Upgrade | None = getattr(stream, "upgrade", None)
        assert upgrade is not None, "a ws stream comes from an upgrade"
        opts = core.options
        codec = ZwsConnection(
            core.socket_type,
            client=upgrade.client,
            subprotocol=upgrade.subprotocol,
            identity=opts.routing_id,
            maxmsgsize=opts.maxmsgsize,
            received=upgrade.received,
        )
        upgrade.received = b""
        return codec


class WssTransport(WsTransport):
    """``wss://``: ws over TLS (``trio.SSLStream``)."""

    scheme = "wss"
    tls = True


# --- the shared listeners ---------------------------------------------------------------


def _ports(context: Any) -> dict[Any, _Port]:
    ports: dict[Any, _Port] | None = getattr(context, "_ws_ports", None)
    if ports is None:
        ports = {}
        context._ws_ports = ports
    return ports


async def _bind_key(scheme: str, host: str, port: int) -> Any:
    """What a listener on ``host:port`` would be known by: its socket addresses."""
    infos = await trio.socket.getaddrinfo(
        host, port, type=_stdlib_socket.SOCK_STREAM, flags=_stdlib_socket.AI_PASSIVE
    )
    return (scheme, frozenset((info[0], info[4][0], info[4][1]) for info in infos))


class _Port:
    """One listening port and the bindings (one per path) it dispatches to."""

    def __init__(
        self,
        transport: WsTransport,
        registry: dict[Any, _Port],
        listeners: list[trio.SocketListener],
        ssl_context: ssl.SSLContext | None,
    ) -> None:
        self.transport = transport
        self.registry = registry
        self.listeners = listeners
        self.ssl_context = ssl_context
        names = [listener.socket.getsockname() for listener in listeners]
        self.key = (
            transport.scheme,
            frozenset(
                (listener.socket.family, name[0], name[1])
                for listener, name in zip(listeners, names, strict=True)
            ),
        )
        self.host_port = f"{_host_text(names[0][0])}:{names[0][1]}"
        self.paths: dict[str, WsBinding] = {}
        self.scope = trio.CancelScope()
        self.closed = trio.Event()

    def add(self, binding: WsBinding) -> None:
        if binding.path in self.paths:
            raise ZMQError(EADDRINUSE, f"{binding.endpoint} is already bound")
        self.paths[binding.path] = binding

    def remove(self, binding: WsBinding) -> None:
        if self.paths.get(binding.path) is binding:
            del self.paths[binding.path]
            if not self.paths:
                if self.registry.get(self.key) is self:
                    del self.registry[self.key]
                self.scope.cancel()

    def _emit_all(self, event: Event, value: int, reason: str, peer: str) -> None:
        for binding in list(self.paths.values()):
            binding.core.emit(event, value, binding.endpoint, reason, peer or None)

    def _request_timeout(self) -> float:
        ivls = [b.core.options.handshake_ivl for b in self.paths.values()]
        ivls = [ivl for ivl in ivls if ivl > 0]
        return min(ivls) / 1000 if ivls else math.inf

    @enable_ki_protection
    async def run(self) -> None:
        """Accept until the last binding leaves; then close the listeners."""
        try:
            with self.scope:
                async with trio.open_nursery() as nursery:
                    for listener in self.listeners:
                        nursery.start_soon(self._accept_loop, listener, nursery)
        finally:
            with trio.CancelScope(shield=True):
                for listener in self.listeners:
                    await trio.aclose_forcefully(listener)
            self.closed.set()

    @enable_ki_protection
    async def _accept_loop(self, listener: trio.SocketListener, nursery: trio.Nursery) -> None:
        while True:
            try:
                stream = await listener.accept()
            except OSError as exc:
                self._emit_all(Event.ACCEPT_FAILED, exc.errno or 0, str(exc), "")
                if exc.errno in _CAPACITY_ERRNOS:
                    await trio.sleep(0.1)
                    continue
                return  # this listener is broken; the port's others go on
            nursery.start_soon(self._upgrade, stream)

    @enable_ki_protection
    async def _upgrade(self, tcp: trio.SocketStream) -> None:
        """Read one request head and hand the connection to the binding of its path."""
        peer = _peer_of(tcp)
        stream: trio.abc.Stream
        if self.ssl_context is not None:
            stream = WsTlsStream(
                trio.SSLStream(tcp, self.ssl_context, server_side=True, https_compatible=True)
            )
        else:
            stream = _lean(tcp)
        handed = False
        try:
            try:
                with trio.fail_after(self._request_timeout()):
                    if isinstance(stream, WsTlsStream):
                        try:
                            await stream.inner.do_handshake()
                        except trio.BrokenResourceError as exc:
                            raise _tls_error(exc) from None
                    head, rest = await _read_head(stream, request=True)
                    target = _request_target(head)
                    binding = self.paths.get(_route(target))
                    if binding is None:
                        where = f"{self.transport.scheme}://{self.host_port}{target}"
                        reason = f"no socket is bound at {where}"
                        self._emit_all(Event.ACCEPT_FAILED, errno.ENOENT, reason, peer)
                        await _refuse(stream, _http_response(404, "Not Found", reason))
                        return
                    await binding.serving.wait()
            except trio.TooSlowError:
                reason = "no whole WebSocket upgrade request within handshake_ivl"
                self._emit_all(Event.ACCEPT_FAILED, errno.ETIMEDOUT, reason, peer)
                return
            except _HeadError as exc:
                self._emit_all(Event.ACCEPT_FAILED, errno.EPROTO, f"ws: {exc}", peer)
                if exc.status:
                    phrase = (
                        "Request Header Fields Too Large" if exc.status == 431 else "Bad Request"
                    )
                    await _refuse(stream, _http_response(exc.status, phrase, str(exc)))
                return
            except (OSError, trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                self._emit_all(Event.ACCEPT_FAILED, _errno(exc), str(exc), peer)
                return
            handed = binding.take(stream, head, rest, peer)
            if not handed:
                reason = f"{binding.endpoint} is closing"
                await _refuse(stream, _http_response(503, "Service Unavailable", reason))
        finally:
            if not handed:
                await trio.aclose_forcefully(stream)


def _request_target(head: bytes) -> str:
    line = head.split(b"\r\n", 1)[0]
    parts = line.split(b" ")
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/") or not parts[1].startswith(b"/"):
        raise _HeadError(400, f"malformed HTTP request line {line[:80]!r}")
    try:
        return parts[1].decode("ascii")
    except UnicodeDecodeError:
        raise _HeadError(400, "non-ASCII request target") from None


def _errno(exc: BaseException) -> int:
    if isinstance(exc, OSError) and exc.errno:
        return exc.errno
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, OSError) and cause.errno:
        return cause.errno
    return errno.ECONNRESET


class WsBinding:
    """One ``bind()`` of a ws endpoint: a path on a shared :class:`_Port`."""

    def __init__(
        self, transport: WsTransport, core: SocketCore, port: _Port, path: str, endpoint: str
    ) -> None:
        self.transport = transport
        self.core = core
        self.port = port
        self.path = path
        self.endpoint = endpoint
        #: set once connections can be handed to this binding
        self.serving = trio.Event()
        self._connections: trio.Nursery | None = None
        self._stop = trio.Event()

    def take(self, stream: trio.abc.Stream, head: bytes, rest: bytes, peer: str) -> bool:
        """Run an accepted connection (its request head read) in this binding."""
        if self._connections is None or self._stop.is_set():
            return False
        self._connections.start_soon(self._serve_one, stream, head, rest, peer)
        return True

    async def discard(self) -> None:
        """Leave the port (closing it if this was its last path)."""
        self._stop.set()
        self.serving.set()  # (an upgrade waiting for this binding: it is not coming)
        port = self.port
        port.remove(self)
        if not port.paths:
            await port.closed.wait()

    def stop_accepting(self) -> None:
        """Take no new peers; the ones already there keep going (linger)."""
        self._stop.set()
        self.port.remove(self)

    @enable_ki_protection
    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        core = self.core
        try:
            async with trio.open_nursery() as connections:
                self._connections = connections
                connections.start_soon(self._listen)
                core.emit(Event.LISTENING, 0, self.endpoint)
                self.serving.set()
                task_status.started()
        finally:
            self._connections = None
            with trio.CancelScope(shield=True):
                await self.discard()

    @enable_ki_protection
    async def _listen(self) -> None:
        try:
            await self._stop.wait()
        finally:
            self.stop_accepting()
            self.core.emit(Event.CLOSED, 0, self.endpoint)

    @enable_ki_protection
    async def _serve_one(self, stream: Any, head: bytes, rest: bytes, peer: str) -> None:
        """Finish one server-side upgrade, then run the engine (which owns the stream
        from then on; until then, whatever happens, the stream is closed here)."""
        engine: Engine | None = None
        try:
            engine = await self._finish_upgrade(stream, head, rest, peer)
        finally:
            if engine is None:
                await trio.aclose_forcefully(stream)
        if engine is not None:
            await engine.run()

    async def _finish_upgrade(
        self, stream: Any, head: bytes, rest: bytes, peer: str
    ) -> Engine | None:
        """Validate the upgrade request, choose the subprotocol, send 101: the engine to
        run, or None (the client was refused)."""
        wsproto = _require_wsproto()
        from wsproto.events import AcceptConnection, RejectConnection, RejectData

        core = self.core
        endpoint = self.endpoint
        opts = core.options
        handshake = wsproto.handshake.H11Handshake(wsproto.ConnectionType.SERVER)
        try:
            handshake.receive_data(head)
            events = list(handshake.events())
        except (wsproto.utilities.RemoteProtocolError, ValueError) as exc:
            # (wsproto decodes some headers itself: a Host that is not IDNA, or a
            # Connection/Sec-WebSocket-* value that is not ASCII, is a UnicodeError)
            reason = f"not a WebSocket upgrade request: {exc}"
            core.emit(Event.ACCEPT_FAILED, errno.EPROTO, endpoint, reason, peer or None)
            hint = getattr(exc, "event_hint", None)
            response = _http_response(400, "Bad Request", reason)
            if isinstance(hint, RejectConnection) and hint.status_code == 426:
                response = handshake.send(hint)
            await _refuse(stream, response)
            return None
        if not events:  # (a whole head always makes an event; be safe)
            core.emit(Event.ACCEPT_FAILED, errno.EPROTO, endpoint, "incomplete request", peer)
            await _refuse(stream, b"")
            return None
        request = events[0]
        sock = _kernel_socket(stream)
        if sock is not None:
            try:
                _apply_keepalive(sock, opts)
            except OSError:
                pass
        core.emit(Event.ACCEPTED, core.next_connection_id(), endpoint, None, peer or None)
        chosen = select_subprotocol(request.subprotocols, _MECHANISM)
        if chosen is None:
            offered = ", ".join(request.subprotocols) or "none"
            ours = ", ".join(offered_subprotocols(_MECHANISM))
            reason = f"no ZWS 2.0 subprotocol in common (offered: {offered}; ours: {ours})"
            core.emit(
                Event.HANDSHAKE_FAILED_PROTOCOL,
                ProtocolErrorCode.WS_UNSPECIFIED,
                endpoint,
                reason,
                peer or None,
            )
            body = (reason + "\n").encode()
            response = handshake.send(
                RejectConnection(
                    status_code=400,
                    headers=[
                        (b"content-type", b"text/plain; charset=utf-8"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                    has_body=True,
                )
            ) + handshake.send(RejectData(data=body, body_finished=True))
            await _refuse(stream, response)
            return None
        ivl = opts.handshake_ivl
        try:
            with trio.fail_after(ivl / 1000 if ivl > 0 else math.inf):
                await stream.send_all(handshake.send(AcceptConnection(subprotocol=chosen)))
        except (trio.TooSlowError, trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            core.emit(
                Event.HANDSHAKE_FAILED_NO_DETAIL,
                errno.ETIMEDOUT if isinstance(exc, trio.TooSlowError) else _errno(exc),
                endpoint,
                f"ws: could not send the upgrade response: {exc or type(exc).__name__}",
                peer or None,
            )
            return None
        stream.upgrade = Upgrade(False, chosen, rest)
        return self.transport.engine(core, stream, endpoint, None)
