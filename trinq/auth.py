"""ZAP authentication (RFC 27) for trinq sockets: :class:`Authenticator`.

A server socket with the PLAIN or CURVE mechanism (or NULL with a ``zap_domain``) asks
the ZAP handler bound at ``inproc://zeromq.zap.01`` *in the same Context* whether to
let each peer in, as libzmq does. :class:`Authenticator` is such a handler, the trio
counterpart of pyzmq's ``zmq.auth`` authenticators (which run a thread, and serve only
libzmq sockets)::

    async with trinq.Context() as ctx, trinq.auth.Authenticator(ctx) as auth:
        auth.allow("127.0.0.1")
        auth.configure_plain(passwords={"admin": "secret"})
        server = ctx.socket(trinq.REP, plain_server=True)
        ...

It runs as a task in the Context's task tree, bound on a ROUTER socket, and answers
each request in a task of its own, so a slow credentials callback never holds up the
other handshakes. The rules, as pyzmq's:

* **Addresses.** With an allow list, only those IP addresses pass (others get 400
  "Address not allowed"); with a deny list, those are refused (400 "Address
  denied"). Use one or the other. Address checks come first, for every mechanism.
* **NULL**: any address not refused passes (user id ``"anonymous"``).
* **PLAIN**: the username and password must match the domain's password table
  (``"*"`` is the table for every domain without its own, and for the empty one).
* **CURVE**: the client's public key must be among the domain's keys (given, or read
  from a directory of certificate files), or accepted by the domain's callback, or any
  key passes with ``allow_any``; the user id is the key in Z85 (:meth:`curve_user_id`).

Changes (``allow``, ``configure_*``) take effect for the next request.

Certificate files in pyzmq's format (``zmq.auth.create_certificates``): a public
``NAME.key`` and a ``NAME.key_secret`` readable by its owner only, made here with
:func:`create_certificates` or ``trinq keygen --directory DIR NAME``, and read with
:func:`load_certificate` / :func:`load_certificates`.
"""

from ._auth import CURVE_ALLOW_ANY as CURVE_ALLOW_ANY
from ._auth import ZAP_ENDPOINT as ZAP_ENDPOINT
from ._auth import Authenticator as Authenticator
from ._certs import create_certificates as create_certificates
from ._certs import load_certificate as load_certificate
from ._certs import load_certificates as load_certificates

__all__ = [
    "CURVE_ALLOW_ANY",
    "ZAP_ENDPOINT",
    "Authenticator",
    "create_certificates",
    "load_certificate",
    "load_certificates",
]

# Reprs, pickles and docs say trinq.auth.X (as trinq/__init__.py does for trinq.X).
for _obj in (Authenticator, create_certificates, load_certificate, load_certificates):
    _obj.__module__ = __name__
del _obj
