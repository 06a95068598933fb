"""Micro-benchmark of ZMTP framing for runs of messages, in one process; one JSON line.

Decodes one 64 KiB read of same-sized single-frame messages into a batched pipe (the
reader's path: ``FrameDecoder.read_messages`` with the pipe as its inbox) and encodes
the same messages as one writer batch (``encode_messages``), in ns per message, best
of seven::

    python bench/frame_path.py             # 16 B and 4 KiB
    python bench/frame_path.py 16 300      # other sizes

Run it from two checkouts (``PYTHONPATH=<checkout>``) to compare a change.
"""

from __future__ import annotations

import json
import sys
import timeit

from trinq._pipe import Pipe
from trinq.zmtp._frames import FrameDecoder, encode_message, encode_messages

READ = 65536


def measure(size: int) -> dict[str, float]:
    header = 2 if size < 256 else 9
    k = max(1, READ // (size + header))
    messages = [[b"x" * size] for _ in range(k)]
    data = b"".join(encode_message(m) for m in messages)

    def decode() -> None:
        pipe = Pipe(1 << 20, 1 << 20, batched=True)
        FrameDecoder().read_messages(pipe.put, None, data, pipe)

    def encode() -> None:
        encode_messages(messages)

    out = {}
    for name, fn in (("decode_ns", decode), ("encode_ns", encode)):
        best = min(timeit.repeat(fn, number=200, repeat=7))
        out[name] = round(best / 200 / k * 1e9, 1)
    return out


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [16, 4096]
    result = {f"{size}B": measure(size) for size in sizes}
    print(json.dumps({"bench": "frame_path", "python": sys.version.split()[0], **result}))


if __name__ == "__main__":
    main()
