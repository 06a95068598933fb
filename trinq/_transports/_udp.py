"""udp://: RADIO (connect) and DISH (bind) over datagrams, unicast and multicast.

No handshake, no greeting, no connection: one message is one datagram, laid out as
libzmq's ``udp_engine.cpp`` lays it out -- one octet the group's length, the group,
the body. Only a RADIO connects and only a DISH binds (anything else:
``ZMQError(ENOCOMPATPROTO)``, as libzmq).

* **DISH** ``bind("udp://HOST:PORT")``: one datagram socket, bound now (so
  EADDRINUSE, EADDRNOTAVAIL, ENODEV reach ``bind()``). ``HOST`` is ``*``, an address
  or a name; port 0 (or ``*``) picks one and the returned endpoint names it (libzmq
  does not resolve it). A multicast group (``udp://239.1.2.3:5556``, or
  ``udp://IFACE;239.1.2.3:5556`` to join on one interface, IFACE an address, an
  interface name or ``*``) is joined at bind, on a socket bound to the group with
  ``SO_REUSEADDR``/``SO_REUSEPORT`` (several DISHes on one host share it). The
  binding's reader turns every datagram into one ``[group, body]`` message for the
  DISH's one pipe for this endpoint (attached with ``connect_peer``), which filters by
  its joined groups itself: Join and Leave go nowhere (:class:`_DishCarrier`). At
  RCVHWM the reader stops reading and the kernel drops, as libzmq's does. A malformed
  datagram (empty, or a group longer than the datagram) is dropped, counted in
  :attr:`UdpBinding.malformed` and reported as ``ACCEPT_FAILED`` with ``EPROTO``.
* **RADIO** ``connect("udp://HOST:PORT")`` (or ``udp://IFACE;GROUP:PORT``, which sends
  multicast out of that interface): a pipe that takes every group (``all_groups``, as
  libzmq's ``radio_t::_udp_pipes``) exists at once; a task resolves the address, opens
  the socket (``multicast_hops``, ``multicast_loop``), emits ``CONNECTED`` and then
  writes what was queued. From then on a send goes out as one non-blocking
  ``sendto`` on the sender's stack whenever nothing is queued before it; only when the
  kernel says EAGAIN is the message queued for the writer task, which waits until the
  socket is writable. A message whose datagram would exceed :data:`MAX_DATAGRAM`
  raises ``ZMQError(EMSGSIZE)`` from ``send()`` (libzmq drops it silently). A failed
  ``sendto`` (no route, ...) drops that datagram, counts it in
  :attr:`_RadioPipe.send_errors`, and the first failure of a run is reported as
  ``CONNECT_DELAYED`` with the errno.

Linger: a RADIO's datagrams already handed to the kernel are gone; what the writer
still holds (queued before the address was resolved, or after an EAGAIN) is written
within ``linger``. Security mechanisms cannot be carried: with PLAIN or CURVE set,
``bind``/``connect`` raise ``ZMQError(ENOTSUP)``.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket as _socket
import struct
import sys
from typing import Any

import trio
from trio.lowlevel import enable_ki_protection, wait_readable, wait_writable

from .._constants import EINVAL, EMSGSIZE, ENOCOMPATPROTO, ENOTSUP, NULL
from .._core import PeerInfo, SocketCore
from .._errors import ZMQError
from .._monitor import Event
from .._options import Options
from .._pipe import Msg, Pipe

__all__ = ["MAX_DATAGRAM", "UdpBinding", "UdpDialing", "UdpTransport", "parse_udp_address"]

#: The largest datagram sent (1 + group + body): IPv4's UDP payload limit, for IPv6 too
#: (one limit for every udp pipe keeps a RADIO's send all-or-nothing across them).
#: (libzmq's udp engine has 8192-byte buffers, ``MAX_UDP_MSG``: its DISH truncates
#: longer datagrams to that, silently.)
MAX_DATAGRAM = 65507
_RECV_SIZE = 65536
#: datagrams read (or written) before the task yields to the others
_BATCH = 256
_HEADER = tuple(bytes((n,)) for n in range(256))
_LINUX = sys.platform.startswith("linux")
_WINDOWS = os.name == "nt"
_INADDR_ANY = b"\0\0\0\0"
_CLOSED_ERRNOS = {errno.EBADF, errno.ENOTSOCK}
_ENODEV = errno.ENODEV
_EPROTO = getattr(errno, "EPROTO", errno.EINVAL)


# --- addresses -------------------------------------------------------------------------


class UdpAddress:
    """A parsed ``[IFACE;]HOST:PORT`` (not resolved yet: HOST may be a name)."""

    __slots__ = ("host", "if_index", "iface", "literal", "port")

    def __init__(
        self,
        host: str,
        port: int,
        iface: str | None,
        literal: ipaddress.IPv4Address | ipaddress.IPv6Address | None,
        if_index: int | None,
    ) -> None:
        #: ``*``, an address literal (no brackets) or a host name
        self.host = host
        self.port = port
        #: what came before ``;``: ``*``, an interface address or name; None: absent
        self.iface = iface
        #: ``host`` as an address, when it is one
        self.literal = literal
        #: the interface's index when ``iface`` names one
        self.if_index = if_index

    def endpoint(self, port: int) -> str:
        """``udp://[IFACE;]HOST:PORT`` as given, with ``port`` filled in."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        prefix = f"{self.iface};" if self.iface is not None else ""
        return f"udp://{prefix}{host}:{port}"


def _invalid(address: str, why: str) -> ZMQError:
    return ZMQError(EINVAL, f"invalid udp address {address!r}: {why}")


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def parse_udp_address(address: str, *, bind: bool) -> UdpAddress:
    """Parse ``[IFACE;]HOST:PORT`` (``[v6]:PORT``); raise ``ZMQError(EINVAL)`` when
    malformed, ``ZMQError(ENODEV)`` for an unknown interface name. Port 0 or ``*``
    only for a bind; ``*`` as HOST only for a bind without IFACE."""
    iface: str | None = None
    rest = address
    if ";" in address:
        iface, _, rest = address.rpartition(";")
        if not iface:
            raise _invalid(address, "empty interface before ';'")
    if rest.startswith("["):
        host, sep, tail = rest[1:].partition("]")
        if not sep or not tail.startswith(":") or not host:
            raise _invalid(address, "expected [ADDRESS]:PORT")
        port_s = tail[1:]
    else:
        host, sep, port_s = rest.rpartition(":")
        if not sep or not host:
            raise _invalid(address, "expected HOST:PORT")
        if ":" in host:
            raise _invalid(address, "an IPv6 address goes in brackets: [ADDRESS]:PORT")
    if port_s in ("*", "0"):
        if not bind:
            raise _invalid(address, "connect needs a port")
        port = 0
    else:
        if not port_s.isdigit():
            raise _invalid(address, f"bad port {port_s!r}")
        port = int(port_s)
        if not 0 < port <= 65535:
            raise _invalid(address, f"port {port} out of range")
    literal = _ip(host)
    if host == "*":
        if not bind:
            raise _invalid(address, "cannot connect to '*'")
        if iface is not None:
            raise _invalid(address, "an interface goes with a multicast group, not '*'")
    elif literal is None and (not host or any(c in host for c in " /;[]")):
        raise _invalid(address, f"bad host {host!r}")
    if literal is not None and iface is not None and not literal.is_multicast:
        raise _invalid(address, "an interface is given only with a multicast group")
    if_index: int | None = None
    if iface is not None and iface != "*":
        if_ip = _ip(iface)
        if if_ip is None:
            try:
                if_index = _socket.if_nametoindex(iface)
            except OSError:
                raise ZMQError(
                    _ENODEV, f"udp address {address!r}: no interface {iface!r}"
                ) from None
        elif if_ip.is_multicast:
            raise _invalid(address, "the interface cannot be a multicast address")
        elif literal is not None and if_ip.version != literal.version:
            raise _invalid(address, "the interface and the group are of different IP versions")
    return UdpAddress(host, port, iface, literal, if_index)


class _Target:
    """A resolved address: what to bind, join or send to."""

    __slots__ = ("family", "if_addr", "if_index", "ip", "multicast", "port")

    def __init__(self, family: int, ip: str, port: int, multicast: bool) -> None:
        self.family = family
        self.ip = ip
        self.port = port
        self.multicast = multicast
        #: IPv4: the interface address to join or send on (None: the kernel's choice)
        self.if_addr: str | None = None
        #: the interface index (IPv6 always, 0 = the kernel's choice; IPv4 by name)
        self.if_index = 0

    def sockaddr(self) -> tuple[Any, ...]:
        return (self.ip, self.port)

    def peer(self) -> str:
        return (
            f"[{self.ip}]:{self.port}"
            if self.family == _socket.AF_INET6
            else f"{self.ip}:{self.port}"
        )


async def _resolve(address: str, addr: UdpAddress, options: Options) -> _Target:
    """Resolve ``addr`` (a name through getaddrinfo; ``socket.gaierror`` when it
    does not resolve) and check what needs the resolved address."""
    if addr.host == "*":
        if options.ipv6:
            return _Target(_socket.AF_INET6, "::", addr.port, False)
        return _Target(_socket.AF_INET, "0.0.0.0", addr.port, False)
    ip = addr.literal
    if ip is None:
        family = _socket.AF_UNSPEC if options.ipv6 else _socket.AF_INET
        infos = await trio.socket.getaddrinfo(
            addr.host, addr.port, family=family, type=_socket.SOCK_DGRAM
        )
        if not infos:
            raise _socket.gaierror(f"{addr.host!r} has no address")
        ip = ipaddress.ip_address(str(infos[0][4][0]))
    family = _socket.AF_INET6 if ip.version == 6 else _socket.AF_INET
    target = _Target(family, str(ip), addr.port, ip.is_multicast)
    iface = addr.iface
    if iface is not None and not target.multicast:
        raise _invalid(address, "an interface is given only with a multicast group")
    if_ip = _ip(iface) if iface is not None and iface != "*" else None
    if if_ip is not None and if_ip.version != ip.version:
        raise _invalid(address, "the interface and the group are of different IP versions")
    if addr.if_index is not None:
        target.if_index = addr.if_index
        if family == _socket.AF_INET and not _LINUX:
            raise ZMQError(
                _ENODEV,
                f"udp address {address!r}: an IPv4 interface by name works on Linux only; "
                "give the interface's address",
            )
    elif if_ip is not None:
        if family == _socket.AF_INET6:
            # As libzmq: IPv6 joins by interface index, which an address does not give.
            raise ZMQError(_ENODEV, f"udp address {address!r}: name the IPv6 interface")
        target.if_addr = str(if_ip)
    return target


def _mreq(target: _Target) -> bytes:
    """The IPv4 ``ip_mreq`` (or Linux ``ip_mreqn`` for an interface by index)."""
    group = _socket.inet_aton(target.ip)
    if target.if_index:
        return struct.pack("=4s4si", group, _INADDR_ANY, target.if_index)
    if_addr = _socket.inet_aton(target.if_addr) if target.if_addr else _INADDR_ANY
    return group + if_addr


def _set_buffers(sock: _socket.socket, options: Options) -> None:
    if options.sndbuf >= 0:
        sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_SNDBUF, options.sndbuf)
    if options.rcvbuf >= 0:
        sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_RCVBUF, options.rcvbuf)


def _open_dish_socket(target: _Target, options: Options) -> _socket.socket:
    """A non-blocking datagram socket bound to ``target`` (and joined to its group)."""
    sock = _socket.socket(target.family, _socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        _set_buffers(sock, options)
        v6 = target.family == _socket.AF_INET6
        host = target.ip
        if target.multicast:
            # several DISHes (processes) on one host may listen to one group
            sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
            reuse_port = getattr(_socket, "SO_REUSEPORT", None)
            if reuse_port is not None:
                try:
                    sock.setsockopt(_socket.SOL_SOCKET, reuse_port, 1)
                except OSError:
                    pass  # (some kernels refuse it; SO_REUSEADDR is enough there)
            # Bound to the group itself (not ANY, as libzmq): only its datagrams come
            # in, not those of every group any socket of the host joined on that port.
            if v6 or _WINDOWS:
                host = "::" if v6 else "0.0.0.0"
        elif v6 and host == "::":
            sock.setsockopt(_socket.IPPROTO_IPV6, _socket.IPV6_V6ONLY, 0)
        sock.bind((host, target.port))
        if target.multicast:
            if v6:
                mreq6 = _socket.inet_pton(_socket.AF_INET6, target.ip) + struct.pack(
                    "@I", target.if_index
                )
                sock.setsockopt(_socket.IPPROTO_IPV6, _socket.IPV6_JOIN_GROUP, mreq6)
            else:
                sock.setsockopt(_socket.IPPROTO_IP, _socket.IP_ADD_MEMBERSHIP, _mreq(target))
    except BaseException:
        sock.close()
        raise
    return sock


def _open_radio_socket(target: _Target, options: Options) -> _socket.socket:
    """A non-blocking datagram socket to send to ``target`` (multicast options set)."""
    sock = _socket.socket(target.family, _socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        _set_buffers(sock, options)
        if target.multicast:
            loop = 1 if options.multicast_loop else 0
            hops = options.multicast_hops
            if target.family == _socket.AF_INET6:
                level = _socket.IPPROTO_IPV6
                sock.setsockopt(level, _socket.IPV6_MULTICAST_LOOP, loop)
                sock.setsockopt(level, _socket.IPV6_MULTICAST_HOPS, hops)
                if target.if_index:
                    sock.setsockopt(level, _socket.IPV6_MULTICAST_IF, target.if_index)
            else:
                level = _socket.IPPROTO_IP
                sock.setsockopt(level, _socket.IP_MULTICAST_LOOP, loop)
                sock.setsockopt(level, _socket.IP_MULTICAST_TTL, hops)
                if target.if_index:
                    sock.setsockopt(level, _socket.IP_MULTICAST_IF, _mreq(target))
                elif target.if_addr:
                    sock.setsockopt(
                        level, _socket.IP_MULTICAST_IF, _socket.inet_aton(target.if_addr)
                    )
    except BaseException:
        sock.close()
        raise
    return sock


# --- the DISH side ---------------------------------------------------------------------


class _DishCarrier:
    """What the DISH's udp pipe calls: Join and Leave go nowhere (the DISH filters
    what arrives by its joined groups itself; the multicast group, if any, was
    joined at bind)."""

    __slots__ = ()
    shared_encoder = None

    def try_write_now(self, msg: Any) -> bool:
        return False

    def send_command(self, command: Any) -> None:
        pass


class UdpBinding:
    """A DISH's bound udp endpoint: its datagram socket and reader."""

    def __init__(self, core: SocketCore, sock: _socket.socket, endpoint: str) -> None:
        self.core = core
        self.sock: _socket.socket | None = sock
        self.endpoint = endpoint
        #: malformed datagrams dropped (each also an ACCEPT_FAILED event)
        self.malformed = 0
        self._scope = trio.CancelScope()
        self._listening = False

    def _close(self) -> None:
        sock, self.sock = self.sock, None
        if sock is None:
            return
        trio.lowlevel.notify_closing(sock)
        sock.close()
        if self._listening:
            self.core.emit(Event.CLOSED, 0, self.endpoint)

    @enable_ki_protection
    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        core = self.core
        pipe: Pipe | None = None
        carrier = _DishCarrier()
        try:
            pipe = core.connect_peer(None, self.endpoint, b"", PeerInfo("RADIO"), carrier)
            self._listening = True
            core.emit(Event.LISTENING, 0, self.endpoint)
            task_status.started()
            if pipe is not None:
                with self._scope:
                    await self._read(pipe)
        finally:
            self._close()
            if pipe is not None:
                core.disconnect_peer(pipe, carrier, end_pipe=True)

    def stop_accepting(self) -> None:
        """Closing: stop reading (a DISH has nothing to linger for)."""
        self._scope.cancel()

    async def discard(self) -> None:
        self._close()
        await trio.lowlevel.checkpoint()

    def _malformed(self, data: bytes, peer: Any) -> None:
        self.malformed += 1
        if not data:
            why = "an empty datagram"
        else:
            why = f"a group of {data[0]} bytes in a datagram of {len(data)}"
        self.core.emit(
            Event.ACCEPT_FAILED,
            _EPROTO,
            self.endpoint,
            f"malformed udp datagram dropped: {why}",
            _peer_text(peer),
        )

    async def _read(self, pipe: Pipe) -> None:
        """Datagrams -> ``(group, body)`` messages for ``pipe``, until cancelled."""
        core = self.core
        sock = self.sock
        assert sock is not None
        recvfrom = sock.recvfrom
        put = pipe.put
        counters = core.counters
        lot = core.receivers
        while True:
            n = nbytes = 0
            drained = False
            for _ in range(_BATCH):  # (malformed ones count too: a flood still yields)
                try:
                    data, peer = recvfrom(_RECV_SIZE)
                except BlockingIOError:
                    drained = True
                    break
                except OSError as exc:
                    if exc.errno in _CLOSED_ERRNOS:
                        return
                    core.emit(Event.ACCEPT_FAILED, exc.errno or 0, self.endpoint, str(exc))
                    await trio.sleep(0.1)
                    break
                size = len(data)
                if not size or data[0] >= size:
                    self._malformed(data, peer)
                    continue
                end = data[0] + 1
                msg: Any = (data[1:end], data[end:])
                n += 1
                nbytes += size
                try:
                    put(msg)
                except trio.WouldBlock:
                    # RCVHWM: stop reading (the kernel drops meanwhile), as libzmq
                    counters.messages_in += n
                    counters.bytes_in += nbytes
                    n = nbytes = 0
                    core.wake_receivers()
                    try:
                        await pipe.put_wait(msg)
                    except (trio.ClosedResourceError, trio.BrokenResourceError):
                        return
                except (trio.ClosedResourceError, trio.BrokenResourceError):
                    return  # the pipe was terminated (the socket closes)
            if n:
                counters.messages_in += n
                counters.bytes_in += nbytes
                if lot:
                    lot.unpark_all()
            if drained:
                await wait_readable(sock)
            else:
                await trio.lowlevel.checkpoint()


def _peer_text(peer: Any) -> str:
    try:
        host, port = peer[0], peer[1]
    except (TypeError, IndexError):
        return ""
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


# --- the RADIO side --------------------------------------------------------------------


def _refuse(msg: Msg) -> None:
    raise trio.ClosedResourceError("the pipe was terminated")


def _too_big(size: int) -> ZMQError:
    return ZMQError(
        EMSGSIZE,
        f"a udp datagram is at most {MAX_DATAGRAM} bytes (1 + group + body); this one "
        f"would be {size}",
    )


class _RadioCarrier:
    """What the RADIO's udp pipe calls: nothing comes back over udp."""

    __slots__ = ()
    shared_encoder = None

    def try_write_now(self, msg: Any) -> bool:
        return False  # (the pipe's own send_nowait writes directly; see _RadioPipe)

    def send_command(self, command: Any) -> None:
        pass


class _RadioPipe(Pipe):
    """A RADIO's pipe for one udp connect: takes every group, and once its socket is
    open sends each message as one datagram on the sender's stack while nothing is
    queued before it."""

    __slots__ = ("_core", "_queue", "failing", "idle", "send_errors")

    #: the RADIO offers it every message (libzmq's ``radio_t::_udp_pipes``)
    all_groups = True
    #: the largest ``1 + group + body`` it carries (the RADIO checks before sending)
    max_datagram = MAX_DATAGRAM

    def __init__(self, core: SocketCore, endpoint: str) -> None:
        opts = core.options
        super().__init__(opts.sndhwm, opts.rcvhwm, endpoint, conflate=opts.conflate)
        self._core = core
        #: queue for the writer task (the channel's send, or the conflating one)
        self._queue = self.send_nowait
        #: the writer is parked on an empty queue: a send may go out directly
        self.idle = False
        #: datagrams the kernel refused (no route, ...): dropped
        self.send_errors = 0
        #: the last send failed (the next failure is not reported again)
        self.failing = False
        self.send_nowait = self._send_queued

    def _send_queued(self, msg: Msg) -> None:
        size = 1 + len(msg[0]) + len(msg[1])
        if size > MAX_DATAGRAM:
            raise _too_big(size)
        self._queue(msg)

    def open(self, sock: _socket.socket, dest: tuple[Any, ...]) -> None:
        """The socket is open: from now on a send may be written directly."""
        sendto = sock.sendto
        queue = self._queue
        counters = self._core.counters
        header = _HEADER
        pipe = self

        def send_nowait(msg: Msg) -> None:
            group, body = msg
            size = 1 + len(group) + len(body)
            if size > MAX_DATAGRAM:
                raise _too_big(size)
            if not pipe.idle:
                queue(msg)
                return
            try:
                sendto(header[len(group)] + group + body, dest)
            except BlockingIOError:
                pipe.idle = False  # the writer takes this one, and what follows
                queue(msg)
                return
            except OSError as exc:
                pipe.send_failed(exc)
                return
            if pipe.failing:
                pipe.failing = False
            counters.messages_out += 1
            counters.bytes_out += size

        if not self.terminated:
            self.send_nowait = send_nowait

    def close_socket(self) -> None:
        """The socket is about to close: queue (or refuse) from now on."""
        self.idle = False
        if not self.terminated:
            self.send_nowait = self._send_queued

    def send_failed(self, exc: OSError) -> None:
        self.send_errors += 1
        if not self.failing:
            self.failing = True
            self._core.emit(
                Event.CONNECT_DELAYED,
                exc.errno or 0,
                self.endpoint,
                f"udp send failed: {exc} (datagrams are dropped until one goes out)",
            )

    def terminate(self) -> None:
        if self.terminated:
            return
        super().terminate()
        self.idle = False
        self.send_nowait = _refuse

    async def write(self, sock: _socket.socket, dest: tuple[Any, ...]) -> None:
        """Write what is queued, as datagrams, until the pipe is terminated."""
        core = self._core
        out = self._out_recv
        receive_nowait = out.receive_nowait
        sendto = sock.sendto
        counters = core.counters
        header = _HEADER
        budget = _BATCH
        while True:
            try:
                msg = receive_nowait()
            except trio.WouldBlock:
                budget = _BATCH
                self.idle = True
                try:
                    msg = await out.receive()
                except trio.EndOfChannel:
                    return
                finally:
                    self.idle = False
            except trio.EndOfChannel:
                return
            else:
                budget -= 1
                if budget <= 0:
                    budget = _BATCH
                    await trio.lowlevel.checkpoint()
            group, body = msg
            data = header[len(group)] + group + body
            while True:
                try:
                    sendto(data, dest)
                except BlockingIOError:
                    await wait_writable(sock)
                    continue
                except OSError as exc:
                    self.send_failed(exc)
                else:
                    self.failing = False
                    counters.messages_out += 1
                    counters.bytes_out += len(data)
                break
            if core.closing:
                core.check_drained()


class UdpDialing:
    """One RADIO ``connect()`` over udp: its writer task's scope and its pipe."""

    def __init__(self, pipe: _RadioPipe) -> None:
        self.scope = trio.CancelScope()
        self.pipe = pipe
        #: the writer ended (the address cannot be used, or stopped)
        self.ended = False
        #: the datagram socket, while it is open
        self.sock: _socket.socket | None = None

    def stop(self) -> None:
        self.scope.cancel()


# --- the transport ---------------------------------------------------------------------


def _require(core: SocketCore, socket_type: str, verb: str) -> None:
    if core.socket_type != socket_type:
        raise ZMQError(
            ENOCOMPATPROTO,
            f"udp:// does not work for a {core.socket_type} socket's {verb}(): "
            "a RADIO connects and a DISH binds",
        )
    if core.options.mechanism != NULL:
        raise ZMQError(ENOTSUP, "udp:// cannot carry a security mechanism (PLAIN, CURVE)")


class UdpTransport:
    """See the module docstring."""

    scheme = "udp"

    def check_connect_address(self, address: str) -> None:
        parse_udp_address(address, bind=False)

    async def bind(self, core: SocketCore, address: str) -> UdpBinding:
        _require(core, "DISH", "bind")
        addr = parse_udp_address(address, bind=True)
        await trio.lowlevel.checkpoint()
        try:
            target = await _resolve(address, addr, core.options)
        except _socket.gaierror as exc:
            raise ZMQError(_ENODEV, f"cannot bind to udp://{address}: {exc}") from exc
        try:
            sock = _open_dish_socket(target, core.options)
        except OSError as exc:
            raise ZMQError(exc.errno or EINVAL, f"cannot bind to udp://{address}: {exc}") from exc
        return UdpBinding(core, sock, addr.endpoint(sock.getsockname()[1]))

    def connect(
        self, core: SocketCore, endpoint: str, address: str, routing_id: bytes
    ) -> UdpDialing:
        _require(core, "RADIO", "connect")
        addr = parse_udp_address(address, bind=False)
        pipe = _RadioPipe(core, endpoint)
        core.add_connect_pipe(endpoint, pipe)
        dialing = UdpDialing(pipe)
        core.spawn(self._run, core, endpoint, address, addr, dialing)
        return dialing

    @enable_ki_protection
    async def _run(
        self, core: SocketCore, endpoint: str, address: str, addr: UdpAddress, dialing: UdpDialing
    ) -> None:
        """Resolve and open (retrying after ``reconnect_ivl`` when that fails), then
        write until the pipe ends or the dialing stops."""
        pipe = dialing.pipe
        opts = core.options
        carrier = _RadioCarrier()
        sock: _socket.socket | None = None
        try:
            with dialing.scope:
                while True:
                    try:
                        target = await _resolve(address, addr, opts)
                        sock = _open_radio_socket(target, opts)
                        break
                    except ZMQError as exc:  # the resolved address cannot work: give up
                        core.emit(Event.CONNECT_DELAYED, exc.errno, endpoint, str(exc))
                        return
                    except OSError as exc:
                        code = (
                            errno.EHOSTUNREACH if isinstance(exc, _socket.gaierror) else exc.errno
                        )
                        core.emit(Event.CONNECT_DELAYED, code or 0, endpoint, str(exc))
                    if opts.reconnect_ivl < 0:
                        return
                    core.emit(Event.CONNECT_RETRIED, opts.reconnect_ivl, endpoint)
                    await trio.sleep(opts.reconnect_ivl / 1000)
                dialing.sock = sock
                dest = target.sockaddr()
                core.emit(Event.CONNECTED, core.next_connection_id(), endpoint)
                core.connect_peer(
                    pipe, endpoint, b"", PeerInfo("DISH", address=target.peer()), carrier
                )
                pipe.open(sock, dest)
                await pipe.write(sock, dest)
        finally:
            dialing.ended = True
            dialing.sock = None
            pipe.close_socket()
            if sock is not None:
                trio.lowlevel.notify_closing(sock)
                sock.close()
            core.disconnect_peer(pipe, carrier, end_pipe=True)
