"""PUB, SUB, XPUB, XSUB (RFC 29).

Theory of operation
-------------------
Publishers (PUB, XPUB) are libzmq's ``xpub_t``: a :class:`Distributor` over every
attached pipe plus a :class:`SubscriptionTrie` (prefix -> subscribed pipes), filled
by the Subscribe/Cancel events the engine hands to :meth:`on_command` (the ZMTP
layer turns both wire forms -- 3.1 SUBSCRIBE/CANCEL commands and ``\\x01``/``\\x00``
messages -- into those events). A send matches the first frame against the trie,
encodes the message *once* and queues the same wire bytes on every matching pipe
(when every attached pipe's connection encodes that way: ``Pipe.shared_encoder``);
a pipe at its SNDHWM misses the message (RFC 29: "SHALL silently drop the message
if the queue for a subscriber is full"). With ``xpub_nodrop`` the send waits
instead while any matching pipe is full.

XPUB also hands (un)subscriptions to the application as ``\\x01topic`` /
``\\x00topic`` messages: the first subscription to a prefix and the last
unsubscription (every one with ``xpub_verbose`` / ``xpub_verboser``), and an
unsubscription for each prefix a departing subscriber leaves behind. With
``xpub_manual`` nothing enters the trie by itself: the application reads the
request and calls :meth:`XPub.subscribe` for the pipe it came from.

Subscribers (SUB, XSUB) are libzmq's ``xsub_t``: a :class:`FairQueue` over the
pipes, a :class:`Distributor` upstream and a refcounted :class:`PrefixFilter`.
Subscriptions go to every connected publisher as commands (the connection picks
the legacy message form toward a ZMTP 3.0 peer) and are replayed on every new
connection, so a subscriber resubscribes after a reconnect. SUB filters again on
receipt, because a publisher may send more than asked for (a message in flight
while an unsubscription travels); XSUB does not, as in libzmq.

Subscription commands go through ``Pipe.send_command``, which hands them to the
pipe's current connection (outside the HWM) and drops them while it has none --
the replay on the next connection makes up for that.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

import trio

from .. import zmtp
from .._constants import EINVAL, ENOTSUP
from .._errors import ZMQError
from .._pipe import Encoded
from .._routing import Distributor, FairQueue, PrefixFilter, SubscriptionTrie
from ._base import FairQueueReceiver, Pattern, register_pattern

if TYPE_CHECKING:
    from .._options import Options
    from .._pipe import Pipe

__all__ = ["Pub", "Sub", "XPub", "XSub"]

Msg = list[bytes]

_Subscribe = zmtp.Subscribe
_Cancel = zmtp.Cancel
_encode_message = zmtp.encode_message


class _Publisher(Pattern):
    """PUB and XPUB: publisher-side filtering over a subscription trie."""

    #: XPUB hands (un)subscriptions to the application; PUB does not.
    reports: bool = False

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self._dist: Distributor[Pipe] = Distributor()
        self._trie = SubscriptionTrie()
        #: pipe -> the prefixes its peer asked for (verboser / manual reporting)
        self._asked: dict[Pipe, set[bytes]] = {}
        #: attached pipes that cannot take the shared encoding (inproc, CURVE, ...)
        self._unshared = 0

    # --- pipes -------------------------------------------------------------------

    def attach(self, pipe: Pipe) -> None:
        self._dist.attach(pipe)
        self._asked[pipe] = set()
        if pipe.shared_encoder is not _encode_message:
            self._unshared += 1
        welcome = self.options.xpub_welcome_msg
        if welcome:
            try:
                pipe.send_nowait([welcome])
            except (trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError):
                pass

    def detach(self, pipe: Pipe) -> None:
        self._dist.detach(pipe)
        asked = self._asked.pop(pipe, None)
        if asked is not None and pipe.shared_encoder is not _encode_message:
            self._unshared -= 1
        emptied = self._trie.remove_pipe(pipe)
        if not self.reports or asked is None:
            return
        opts = self.options
        if opts.xpub_manual or opts.xpub_verboser:
            gone = sorted(asked)
        else:
            gone = emptied
        for topic in gone:
            self._notify(b"\x00" + topic, None)

    # --- subscriptions from peers ------------------------------------------------

    def on_command(self, pipe: Pipe, command: Any) -> None:
        t = type(command)
        if t is _Subscribe:
            self._subscription(pipe, bytes(command.topic), True)
        elif t is _Cancel:
            self._subscription(pipe, bytes(command.topic), False)

    def _subscription(self, pipe: Pipe, topic: bytes, subscribe: bool) -> None:
        asked = self._asked.get(pipe)
        if asked is None:
            return  # the pipe is already gone
        opts = self.options
        if subscribe:
            asked.add(topic)
        else:
            asked.discard(topic)
        if self.reports and opts.xpub_manual:
            self._notify((b"\x01" if subscribe else b"\x00") + topic, pipe)
            return
        if subscribe:
            notify = self._trie.add(topic, pipe) or opts.xpub_verbose or opts.xpub_verboser
        else:
            notify = self._trie.remove(topic, pipe) or opts.xpub_verboser
        if notify and self.reports:
            self._notify((b"\x01" if subscribe else b"\x00") + topic, pipe)

    def _notify(self, data: bytes, pipe: Pipe | None) -> None:
        """Queue a subscription message for the application (XPUB only)."""

    # --- sending -----------------------------------------------------------------

    def send_nowait(self, msg: Msg) -> None:
        opts = self.options
        if opts.invert_matching:
            # libzmq dist_t::reverse_match: every attached pipe that did NOT match,
            # including pipes without any subscription.
            targets: set[Pipe] = set(self._dist.pipes)
            targets -= self._trie.match(msg[0])
        else:
            # (the trie's own set where it can: only iterated, below)
            targets = self._trie.match_shared(msg[0])  # type: ignore[assignment]
        if not targets:
            return
        if opts.xpub_nodrop and not self._dist.all_writable(targets):
            raise trio.WouldBlock
        if len(targets) == 1 or self._unshared:
            item: Any = msg
        else:
            # Encode once; the same wire bytes go to every matching peer (each of
            # them says it encodes so: Pipe.shared_encoder).
            item = Encoded(_encode_message(msg))
            # Where a pipe's open batch takes it (Pipe.enc_room), appended here,
            # without a call; the other pipes get it the usual way.
            rest: list[Pipe] | None = None
            for pipe in targets:
                room = pipe.enc_room
                if room:
                    pipe.enc_room = room - 1
                    pipe.enc_batch.append(item)  # type: ignore[union-attr]
                    pipe._out_count += 1
                elif rest is None:
                    rest = [pipe]
                else:
                    rest.append(pipe)
            if rest is None:
                return
            targets = rest  # type: ignore[assignment]
        self._dist.send_to_pipes(item, targets)


@register_pattern
class Pub(_Publisher):
    """PUB: send to matching subscribers, drop where full, never receive (RFC 29)."""

    socket_type = "PUB"
    accepts_inbound = False


@register_pattern
class XPub(_Publisher):
    """XPUB: PUB that also delivers subscriptions (and peers' messages) to the app."""

    socket_type = "XPUB"
    reports = True

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self._fq: FairQueue[Pipe] = FairQueue()
        self._pending: deque[tuple[bytes, Pipe | None]] = deque()
        self._last_pipe: Pipe | None = None

    def attach(self, pipe: Pipe) -> None:
        super().attach(pipe)
        self._fq.attach(pipe)

    def detach(self, pipe: Pipe) -> None:
        super().detach(pipe)
        if self._last_pipe is pipe:
            self._last_pipe = None

    def _notify(self, data: bytes, pipe: Pipe | None) -> None:
        self._pending.append((data, pipe))

    def poll_state(self) -> tuple[bool | None, bool | None]:
        # (un)subscriptions waiting for the application are readable too
        return (True if self._pending else None), None

    def recv_nowait(self) -> Msg:
        if self._pending:
            data, pipe = self._pending.popleft()
            if self.options.xpub_manual:
                self._last_pipe = pipe
            return [data]
        return self._fq.recv_nowait()

    # --- xpub_manual ---------------------------------------------------------------

    def _manual_pipe(self, op: str) -> Pipe | None:
        if not self.options.xpub_manual:
            raise ZMQError(EINVAL, f"XPUB {op}() needs xpub_manual=True")
        pipe = self._last_pipe
        if pipe is not None and pipe not in self._dist:
            return None
        return pipe

    def subscribe(self, topic: bytes) -> None:
        """xpub_manual: subscribe the peer whose request was received last."""
        pipe = self._manual_pipe("subscribe")
        if pipe is not None:
            self._trie.add(topic, pipe)

    def unsubscribe(self, topic: bytes) -> None:
        """xpub_manual: unsubscribe the peer whose request was received last."""
        pipe = self._manual_pipe("unsubscribe")
        if pipe is not None:
            self._trie.remove(topic, pipe)


class _Subscriber(FairQueueReceiver):
    """SUB and XSUB: fair-queued receive, subscriptions sent upstream and replayed."""

    def __init__(self, options: Options) -> None:
        self._dist: Distributor[Pipe] = Distributor()
        self._filter = PrefixFilter()
        super().__init__(options)  # sets up the fair queue, then _fq_changed()

    def attach(self, pipe: Pipe) -> None:
        self._fq.attach(pipe)
        self._dist.attach(pipe)

    def detach(self, pipe: Pipe) -> None:
        self._dist.detach(pipe)

    def pipe_connected(self, pipe: Pipe) -> None:
        # libzmq xsub_t::xattach_pipe / xhiccuped: replay every subscription.
        for topic in self._filter:
            pipe.send_command(_Subscribe(topic))

    def subscribe(self, topic: bytes) -> None:
        """Add one reference to *topic* and tell every connected publisher."""
        self._filter.add(topic)
        # Like libzmq's xsub_t::xsend, every subscribe goes upstream (duplicates
        # included: XPUB's verbose mode relies on it through proxies).
        command = _Subscribe(topic)
        for pipe in self._dist.pipes:
            pipe.send_command(command)

    def unsubscribe(self, topic: bytes) -> None:
        """Drop one reference to *topic*; the last one is cancelled upstream."""
        if self._filter.remove(topic):
            command = _Cancel(topic)
            for pipe in self._dist.pipes:
                pipe.send_command(command)


@register_pattern
class Sub(_Subscriber):
    """SUB: receive the messages matching its subscriptions (RFC 29)."""

    socket_type = "SUB"
    sends = False

    def send_nowait(self, msg: Msg) -> None:
        raise ZMQError(ENOTSUP, "SUB sockets cannot send; use subscribe()/unsubscribe()")

    def _choose_recv(self) -> None:
        # Subscribed to everything (and not inverted): every message matches, so the
        # fair queue's own recv_nowait serves directly -- no filter call per message.
        if b"" in self._filter and not self.options.invert_matching:
            self._serve_from_fq()
        else:
            self.recv_nowait = self._filtered_recv  # type: ignore[method-assign]
            self.run_buffer = self.run_pipe = None

    _fq_changed = _choose_recv

    def subscribe(self, topic: bytes) -> None:
        super().subscribe(topic)
        self._choose_recv()

    def unsubscribe(self, topic: bytes) -> None:
        super().unsubscribe(topic)
        self._choose_recv()

    def option_changed(self, name: str, value: object) -> None:
        super().option_changed(name, value)
        if name == "invert_matching":
            self._choose_recv()

    def _filtered_recv(self) -> Msg:
        recv = self._fq.recv_nowait
        check = self._filter.check
        while True:
            msg = recv()
            if check(msg[0]) != self.options.invert_matching:
                return msg

    recv_nowait = _filtered_recv


@register_pattern
class XSub(_Subscriber):
    """XSUB: SUB whose application sends ``\\x01``/``\\x00`` subscription messages."""

    socket_type = "XSUB"

    def send_nowait(self, msg: Msg) -> None:
        if len(msg) == 1:
            frame = msg[0]
            if frame[:1] == b"\x01":
                self.subscribe(frame[1:])
                return
            if frame[:1] == b"\x00":
                self.unsubscribe(frame[1:])
                return
        # Any other message goes upstream to every publisher, dropped where full.
        self._dist.send_to_all(msg)
