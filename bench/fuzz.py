"""Fuzz one of trinq's decoders for a time budget (docs/reliability.md, "How to fuzz for hours").

The targets are the ones the test suite runs briefly (tests/fuzz/fuzz_targets.py): one
per decoder -- greeting, frames, commands, metadata, connection, z85, options,
endpoint. Each is a function of raw bytes that raises AssertionError when it finds a
bug (an undocumented exception, a buffer over its bound, two decoding paths that
disagree).

Engines:

* ``hypothesis`` (default): rounds of ``--round`` examples until ``--seconds`` are
  spent, new random seeds each round; inputs from the target's structured strategy
  (valid streams, mutated), or raw bytes with ``--raw``. ``--db DIR`` keeps the
  examples hypothesis found interesting (and any failure) across runs.
* ``atheris`` (if installed: ``pip install atheris``): coverage-guided libFuzzer on the
  raw-bytes form of the target, with the instrumented trinq; ``--corpus DIR`` is
  libFuzzer's corpus directory.

Prints one JSON line per round (hypothesis) and a summary line; exits 1 on a failure,
with the failing input in the summary (hex).

Examples::

    python bench/fuzz.py --list
    python bench/fuzz.py connection --seconds 3600 --db .fuzz-db
    python bench/fuzz.py all --seconds 60
    python bench/fuzz.py frames --engine atheris --seconds 3600 --corpus corpus/frames
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "fuzz"))
sys.path.insert(0, str(HERE.parent))

#: an input slower than this is reported (a hang would be a bug too)
SLOW_SECONDS = 1.0


def emit(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


def run_hypothesis(name: str, seconds: float, round_size: int, raw: bool, db: str | None) -> int:
    from fuzz_targets import TARGETS
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from hypothesis.database import DirectoryBasedExampleDatabase

    target = TARGETS[name]
    inputs = st.binary(max_size=4096) if raw else target.inputs
    database = DirectoryBasedExampleDatabase(os.path.join(db, name)) if db else None
    stats = {"examples": 0, "slowest": 0.0, "slowest_input": b""}
    last: list[bytes] = []

    @settings(
        max_examples=round_size,
        deadline=None,
        database=database,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )
    @given(inputs)
    def one(data: bytes) -> None:
        last[:] = [data]
        t0 = time.perf_counter()
        target.run(data)
        took = time.perf_counter() - t0
        stats["examples"] += 1  # type: ignore[operator]
        if took > stats["slowest"]:  # type: ignore[operator]
            stats["slowest"] = took
            stats["slowest_input"] = data

    start = time.monotonic()
    rounds = 0
    while time.monotonic() - start < seconds:
        rounds += 1
        try:
            one()
        except Exception as exc:  # hypothesis re-raises the shrunk failure
            emit(
                target=name,
                engine="hypothesis",
                result="FAILED",
                error=f"{type(exc).__name__}: {exc}"[:2000],
                input_hex=last[0].hex() if last else None,
                examples=stats["examples"],
                seconds=round(time.monotonic() - start, 1),
            )
            return 1
        emit(
            target=name,
            engine="hypothesis",
            round=rounds,
            examples=stats["examples"],
            seconds=round(time.monotonic() - start, 1),
            slowest_ms=round(stats["slowest"] * 1000, 2),  # type: ignore[operator]
        )
    slow = stats["slowest"] > SLOW_SECONDS  # type: ignore[operator]
    emit(
        target=name,
        engine="hypothesis",
        result="SLOW" if slow else "ok",
        examples=stats["examples"],
        rounds=rounds,
        seconds=round(time.monotonic() - start, 1),
        slowest_ms=round(stats["slowest"] * 1000, 2),  # type: ignore[operator]
        slowest_input_hex=stats["slowest_input"].hex()[:400] if slow else None,  # type: ignore[union-attr]
    )
    return 2 if slow else 0


def run_atheris(name: str, seconds: float, corpus: str | None) -> int:
    import atheris  # type: ignore[import-not-found]

    with atheris.instrument_imports():  # (fuzz_targets imports trinq: instrumented)
        from fuzz_targets import TARGETS
    target = TARGETS[name]
    args = [sys.argv[0], f"-max_total_time={int(seconds)}", "-timeout=10", "-rss_limit_mb=2048"]
    if corpus:
        Path(corpus).mkdir(parents=True, exist_ok=True)
        args.append(corpus)
    atheris.Setup(args, target.run)
    atheris.Fuzz()  # exits the process: non-zero on a crash, with the input saved
    return 0


def main() -> int:
    from fuzz_targets import TARGETS

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", nargs="?", help="a target name, or 'all'")
    parser.add_argument("--list", action="store_true", help="list the targets and exit")
    parser.add_argument("--seconds", type=float, default=60.0, help="time budget per target")
    parser.add_argument("--engine", choices=["hypothesis", "atheris"], default="hypothesis")
    parser.add_argument("--raw", action="store_true", help="hypothesis: raw bytes only")
    parser.add_argument("--round", type=int, default=2000, help="hypothesis examples per round")
    parser.add_argument("--db", help="hypothesis: example database directory (kept)")
    parser.add_argument("--corpus", help="atheris: corpus directory")
    args = parser.parse_args()
    if args.list or not args.target:
        for name, target in sorted(TARGETS.items()):
            print(f"{name:12} {' '.join(target.doc.split())}")
        return 0
    names = sorted(TARGETS) if args.target == "all" else [args.target]
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        parser.error(f"unknown target {unknown[0]!r}; --list shows them")
    if args.engine == "atheris":
        if len(names) != 1:
            parser.error("atheris runs one target per process")
        return run_atheris(names[0], args.seconds, args.corpus)
    status = 0
    for name in names:
        status = max(status, run_hypothesis(name, args.seconds, args.round, args.raw, args.db))
    return status


if __name__ == "__main__":
    sys.exit(main())
