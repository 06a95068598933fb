"""Z85 (ZeroMQ RFC 32): the printable encoding of CURVE keys.

4 binary octets ↔ 5 printable characters, so a 32-byte key is 40 characters. As
pyzmq's ``zmq.utils.z85``: :func:`encode` takes bytes (length a multiple of 4) and
returns bytes; :func:`decode` takes ``str`` or bytes (length a multiple of 5).
Anything else is a :class:`ValueError` saying what is wrong::

    >>> trinq.z85.encode(bytes([0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B]))
    b'HelloWorld'
"""

from ._z85 import decode as decode
from ._z85 import encode as encode

__all__ = ["decode", "encode"]

# Reprs, pickles and docs say trinq.z85.encode (as trinq/__init__.py does for trinq.X).
encode.__module__ = decode.__module__ = __name__
