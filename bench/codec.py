"""Micro-benchmark of the ZMTP codec hot path; prints one JSON line.

Decode: a completed NULL handshake, then 64 KiB chunks of single-frame
messages fed through ``Connection.receive_data`` + ``Connection.events()``
(and, separately, through the raw ``FrameDecoder.read_messages``).
Encode: ``Connection.send_messages`` over batches of 256 messages, and
one ``Connection.send_message`` call per message (``encode_single_*``).
"""

from __future__ import annotations

import json
import platform
import time
from typing import Any

from trinq import zmtp

CHUNK = 64 * 1024
TARGET_SECONDS = 0.6


def ready_pair() -> tuple[zmtp.Connection, zmtp.Connection]:
    a, b = zmtp.Connection("PUSH"), zmtp.Connection("PULL")
    a.receive_data(b.initiate())
    b.receive_data(a.initiate())
    a.events()
    b.events()
    a.receive_data(b.data_to_send())
    b.receive_data(a.data_to_send())
    assert a.events() and b.events()
    return a, b


def chunks_for(size: int, total_bytes: int) -> tuple[list[bytes], int]:
    frame = zmtp.encode_message([b"m" * size])
    stream = frame * (total_bytes // len(frame))
    chunks = [stream[i : i + CHUNK] for i in range(0, len(stream), CHUNK)]
    return chunks, total_bytes // len(frame)


def best_rate(run: Any, count: int, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return count / best


def bench_decode(size: int) -> tuple[float, float]:
    total = 8 * 1024 * 1024 if size < 1024 else 64 * 1024 * 1024
    chunks, count = chunks_for(size, total)

    def via_connection() -> None:
        _, pull = ready_pair()
        receive, events = pull.receive_data, pull.events
        n = 0
        for chunk in chunks:
            receive(chunk)
            n += len(events())
        assert n == count, (n, count)

    def via_decoder() -> None:
        dec = zmtp.FrameDecoder()
        feed, read = dec.feed, dec.read_messages
        message = zmtp.Message
        n = 0
        for chunk in chunks:
            out: list[Any] = []
            feed(chunk)
            read(out.append, message)
            n += len(out)
        assert n == count

    return best_rate(via_connection, count), best_rate(via_decoder, count)


def bench_encode(size: int) -> float:
    push, _ = ready_pair()
    batch = [[b"m" * size]] * 256
    rounds = 800 if size < 1024 else 100
    send_messages = push.send_messages

    def run() -> None:
        for _ in range(rounds):
            send_messages(batch)

    return best_rate(run, rounds * len(batch))


def bench_encode_single(size: int) -> float:
    push, _ = ready_pair()
    frames = [b"m" * size]
    count = 200_000
    send_message = push.send_message

    def run() -> None:
        for _ in range(count):
            send_message(frames)

    return best_rate(run, count)


def main() -> None:
    result: dict[str, Any] = {"bench": "codec"}
    for size in (16, 4096):
        decode, raw = bench_decode(size)
        result[f"decode_{size}_msgs_per_s"] = round(decode)
        result[f"decode_raw_{size}_msgs_per_s"] = round(raw)
        result[f"encode_{size}_msgs_per_s"] = round(bench_encode(size))
        result[f"encode_single_{size}_msgs_per_s"] = round(bench_encode_single(size))
    result["python"] = platform.python_version()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
