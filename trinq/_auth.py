"""The ZAP handler behind :mod:`trinq.auth` (see there)."""

from __future__ import annotations

import inspect
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping
from types import TracebackType
from typing import Any

import trio
from trio.lowlevel import enable_ki_protection

from . import _constants as C
from . import _z85 as z85
from ._errors import ZMQError

__all__ = ["CURVE_ALLOW_ANY", "ZAP_ENDPOINT", "Authenticator"]

#: Where a ZAP handler binds (RFC 27), in the Context of the sockets it serves.
ZAP_ENDPOINT = "inproc://zeromq.zap.01"
#: ``configure_curve(location=CURVE_ALLOW_ANY)``: accept every client key (pyzmq's name).
CURVE_ALLOW_ANY = "*"

_VERSION = b"1.0"

#: ``callback(domain, z85_public_key) -> bool`` (or an awaitable of one)
CurveCallback = Callable[[str, bytes], "bool | Awaitable[bool]"]


class Authenticator:
    """A ZAP handler for the sockets of ``context``; see the module docstring.

    Use it as an async context manager (or :meth:`start` / :meth:`stop`). Only one
    handler can be bound per Context: a second one's start raises
    ``ZMQError(EADDRINUSE)``.
    """

    def __init__(self, context: Any, *, encoding: str = "utf-8") -> None:
        self.context = context
        self.encoding = encoding
        self._allowed: set[str] = set()
        self._denied: set[str] = set()
        self.passwords: dict[str, dict[str, str]] = {}
        self.curve_keys: dict[str, set[bytes]] = {}
        self.curve_callbacks: dict[str, CurveCallback] = {}
        self.curve_allow_any: set[str] = set()
        self._socket: Any = None
        self._scope: trio.CancelScope | None = None
        self._done = trio.Event()
        #: requests answered, by status code (for tests and monitoring)
        self.replies: dict[bytes, int] = {}

    # --- configuration ---------------------------------------------------------------

    def allow(self, *addresses: str) -> None:
        """Let only these IP addresses in (for every mechanism; PLAIN and CURVE
        peers must still authenticate). Not with :meth:`deny`."""
        if self._denied:
            raise ValueError("use allow() or deny(), not both")
        self._allowed.update(addresses)

    def deny(self, *addresses: str) -> None:
        """Refuse these IP addresses; others go on to authenticate. Not with
        :meth:`allow`."""
        if self._allowed:
            raise ValueError("use allow() or deny(), not both")
        self._denied.update(addresses)

    def configure_plain(
        self, domain: str = "*", passwords: Mapping[str, str] | None = None
    ) -> None:
        """PLAIN: the ``{username: password}`` table for ``domain`` (``"*"``: any)."""
        self.passwords[domain] = dict(passwords or {})

    def configure_curve(
        self,
        domain: str = "*",
        location: str | os.PathLike[str] | None = None,
        *,
        keys: Iterable[str | bytes] | None = None,
        callback: CurveCallback | None = None,
        allow_any: bool = False,
    ) -> None:
        """CURVE: which client keys ``domain`` (``"*"``: any) accepts.

        ``keys``: public keys (Z85 text or 32 raw bytes); ``location``: a directory of
        certificate files (``trinq.auth``/pyzmq ``create_certificates`` format), read
        now (call again after adding files), or :data:`CURVE_ALLOW_ANY`;
        ``callback(domain, z85_key)`` returning a bool or an awaitable of one;
        ``allow_any``: every key. Each call replaces the domain's earlier settings.
        """
        self.curve_keys.pop(domain, None)
        self.curve_callbacks.pop(domain, None)
        self.curve_allow_any.discard(domain)
        if allow_any or (location is not None and os.fspath(location) == CURVE_ALLOW_ANY):
            self.curve_allow_any.add(domain)
            return
        accepted: set[bytes] = set()
        if keys is not None:
            accepted.update(_z85_key(k) for k in keys)
        if location is not None:
            from ._certs import load_certificates

            accepted.update(_z85_key(k) for k in load_certificates(location))
        if callback is not None:
            self.curve_callbacks[domain] = callback
        if keys is not None or location is not None or callback is None:
            self.curve_keys[domain] = accepted

    def configure_curve_callback(self, domain: str = "*", credentials_provider: Any = None) -> None:
        """pyzmq's form: ``credentials_provider.callback(domain, z85_key)``."""
        if credentials_provider is None:
            raise ValueError("configure_curve_callback() needs a credentials_provider")
        self.configure_curve(domain, callback=credentials_provider.callback)

    def curve_user_id(self, client_public_key: bytes) -> str:
        """The User-Id of a CURVE client (its public key in Z85); override to map keys
        to names. Called only for accepted keys."""
        return z85.encode(client_public_key).decode("ascii")

    # --- running ---------------------------------------------------------------------

    async def start(self) -> None:
        """Bind the handler at :data:`ZAP_ENDPOINT` and start answering, in a task of
        the Context's. Cancellation: nothing stays bound."""
        if self._socket is not None:
            raise RuntimeError("the Authenticator is already running")
        sock = self.context.socket(C.ROUTER, linger=0)
        try:
            await sock.bind(ZAP_ENDPOINT)
        except BaseException:
            sock.close(linger=0)
            raise
        self._socket = sock
        self._scope = trio.CancelScope()
        self._done = trio.Event()
        self.context._spawn_system(self._serve, sock, self._scope, self._done)

    async def stop(self) -> None:
        """Stop answering and unbind. Requests in flight get no answer (their
        handshakes fail as if no handler were bound). Cancellation: stopped anyway;
        only the wait for the task to end is skipped."""
        sock, self._socket = self._socket, None
        if sock is None:
            return
        assert self._scope is not None
        self._scope.cancel()
        sock.close(linger=0)
        await self._done.wait()

    async def __aenter__(self) -> Authenticator:
        """:meth:`start`; cancellation: as there."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """:meth:`stop`."""
        await self.stop()

    @enable_ki_protection
    async def _serve(self, sock: Any, scope: trio.CancelScope, done: trio.Event) -> None:
        try:
            with scope:
                async with trio.open_nursery() as nursery:
                    while True:
                        try:
                            msg = await sock.recv_multipart()
                        except ZMQError:  # the socket was closed
                            break
                        nursery.start_soon(self._answer, sock, msg)
                    nursery.cancel_scope.cancel()
        finally:
            done.set()

    async def _answer(self, sock: Any, msg: list[bytes]) -> None:
        try:
            end = msg.index(b"")  # [peer id, ..., b"", request frames...]
        except ValueError:
            return  # not a REQ-framed request: nothing we can answer
        envelope, request = msg[: end + 1], msg[end + 1 :]
        reply = await self.handle(request)
        if reply is None:
            return
        self.replies[reply[2]] = self.replies.get(reply[2], 0) + 1
        try:
            await sock.send_multipart([*envelope, *reply])
        except ZMQError:
            pass  # closed meanwhile

    async def handle(self, request: list[bytes]) -> list[bytes] | None:
        """Answer one ZAP request (the frames after the envelope): the reply frames
        (version, request id, status code, status text, user id, metadata), or None
        when the request is too broken to answer. Override for custom policies."""
        if len(request) < 6:
            if len(request) < 2:
                return None
            return _reply(request[1], b"400", b"Not enough frames")
        version, request_id, domain_b, address_b, _identity, mechanism = request[:6]
        credentials = request[6:]
        if version != _VERSION:
            return _reply(request_id, b"400", b"Invalid version")
        domain = domain_b.decode(self.encoding, "replace")
        address = address_b.decode(self.encoding, "replace")
        if self._allowed and address not in self._allowed:
            return _reply(request_id, b"400", b"Address not allowed")
        if address in self._denied:
            return _reply(request_id, b"400", b"Address denied")
        user = "anonymous"
        if mechanism == b"NULL":
            return _reply(request_id, b"200", b"OK", user)
        if mechanism == b"PLAIN":
            if len(credentials) != 2:
                return _reply(request_id, b"400", b"Invalid credentials")
            username, password = (c.decode(self.encoding, "replace") for c in credentials)
            ok, reason = self._plain(domain, username, password)
            if not ok:
                return _reply(request_id, b"400", reason)
            return _reply(request_id, b"200", b"OK", username)
        if mechanism == b"CURVE":
            if len(credentials) != 1 or len(credentials[0]) != 32:
                return _reply(request_id, b"400", b"Invalid credentials")
            key = credentials[0]
            ok, reason = await self._curve(domain, key)
            if not ok:
                return _reply(request_id, b"400", reason)
            return _reply(request_id, b"200", b"OK", self.curve_user_id(key))
        return _reply(request_id, b"400", b"Unsupported mechanism")

    def _plain(self, domain: str, username: str, password: str) -> tuple[bool, bytes]:
        table = self.passwords.get(domain or "*")
        if table is None:
            table = self.passwords.get("*")
        if table is None:
            return False, b"No passwords defined" if not self.passwords else b"Invalid domain"
        if username not in table:
            return False, b"Invalid username"
        if table[username] != password:
            return False, b"Invalid password"
        return True, b"OK"

    async def _curve(self, domain: str, key: bytes) -> tuple[bool, bytes]:
        domain = domain or "*"
        chosen = domain if self._curve_configured(domain) else "*"
        if not self._curve_configured(chosen):
            return False, b"Unknown domain"
        if chosen in self.curve_allow_any:
            return True, b"OK"
        z85_key = z85.encode(key)
        if z85_key in self.curve_keys.get(chosen, ()):
            return True, b"OK"
        callback = self.curve_callbacks.get(chosen)
        if callback is not None:
            verdict = callback(domain, z85_key)
            if inspect.isawaitable(verdict):
                verdict = await verdict
            if verdict:
                return True, b"OK"
        return False, b"Unknown key"

    def _curve_configured(self, domain: str) -> bool:
        return (
            domain in self.curve_allow_any
            or domain in self.curve_keys
            or domain in self.curve_callbacks
        )


def _reply(request_id: bytes, status: bytes, text: bytes, user: str = "") -> list[bytes]:
    return [_VERSION, request_id, status, text, user.encode("utf-8"), b""]


def _z85_key(key: str | bytes) -> bytes:
    """A public key as 40 Z85 characters (from Z85 text/bytes or 32 raw bytes)."""
    raw = key.encode("ascii") if isinstance(key, str) else bytes(key)
    if len(raw) == 32:
        return z85.encode(raw)
    if len(raw) == 40:
        z85.decode(raw)  # ValueError if it is not Z85
        return raw
    raise ValueError(f"a CURVE public key is 40 Z85 characters or 32 bytes, not {len(raw)}")
