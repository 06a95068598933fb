"""Z85 (RFC 32): 4 binary octets ↔ 5 printable characters.

Used for printable CURVE keys (32 raw bytes ↔ 40 characters). The API mirrors pyzmq's
``zmq.utils.z85``: :func:`encode` returns ``bytes``, :func:`decode` accepts ``str`` or
``bytes``. Inputs whose length is not a multiple of 4 (encode) or 5 (decode) are
refused, as the RFC requires; padding is the application's job. Every refusal is a
:class:`ValueError` (or :class:`TypeError` for an argument that is not text or bytes)
saying what is wrong and where. The public face of this module is :mod:`trinq.z85`.
"""

from __future__ import annotations

import struct

__all__ = ["decode", "encode"]

ALPHABET = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"

_DECODE: dict[int, int] = {char: index for index, char in enumerate(ALPHABET)}
_MAX_WORD = 0xFFFFFFFF


def encode(data: bytes | bytearray | memoryview) -> bytes:
    """Encode binary ``data`` (length divisible by 4) as Z85 text.

    Raises:
      ValueError: if ``len(data)`` is not a multiple of 4.
      TypeError: if ``data`` is not bytes-like (a ``str``, say).
    """
    if isinstance(data, str):
        raise TypeError("Z85 encode: takes bytes, not str (encode the text first)")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"Z85 encode: takes bytes, not {type(data).__name__}")
    raw = bytes(data)
    if len(raw) % 4:
        raise ValueError(f"Z85 encode: length must be a multiple of 4, got {len(raw)}")
    out = bytearray()
    for (word,) in struct.iter_unpack(">I", raw):
        chunk = bytearray(5)
        for position in range(4, -1, -1):
            word, digit = divmod(word, 85)
            chunk[position] = ALPHABET[digit]
        out += chunk
    return bytes(out)


def decode(text: str | bytes | bytearray | memoryview) -> bytes:
    """Decode Z85 ``text`` (length divisible by 5) to binary.

    Raises:
      ValueError: if the length is not a multiple of 5, a character is outside the
        Z85 alphabet, or a 5-character group exceeds 2**32 - 1.
      TypeError: if ``text`` is neither ``str`` nor bytes-like.
    """
    if isinstance(text, str):
        try:
            encoded = text.encode("ascii")
        except UnicodeEncodeError as exc:
            raise ValueError(
                f"Z85 decode: text contains non-ASCII characters (at offset {exc.start})"
            ) from None
    elif isinstance(text, (bytes, bytearray, memoryview)):
        encoded = bytes(text)
    else:
        raise TypeError(f"Z85 decode: takes str or bytes, not {type(text).__name__}")
    if len(encoded) % 5:
        raise ValueError(f"Z85 decode: length must be a multiple of 5, got {len(encoded)}")
    out = bytearray()
    for start in range(0, len(encoded), 5):
        word = 0
        for offset, char in enumerate(encoded[start : start + 5], start):
            try:
                word = word * 85 + _DECODE[char]
            except KeyError:
                raise ValueError(
                    f"Z85 decode: invalid character {chr(char)!r} at offset {offset}"
                ) from None
        if word > _MAX_WORD:
            raise ValueError(f"Z85 decode: group at offset {start} overflows 32 bits")
        out += struct.pack(">I", word)
    return bytes(out)
