"""Median per-round ratios to pyzmq for any metric in a harness ``runs.jsonl``.

The harness summary gives one metric per workload (p50 for ``lat``); this prints the
others the same way (ratio per round, then the median), e.g. the p99 latency bar::

    python bench/ratios.py bench-results/<timestamp>/runs.jsonl lat_p99_us

``bench-results/`` is where ``run_matrix.py`` writes when run from the repository
root (its ``--out`` default); git ignores it.
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict


def main() -> None:
    path, metrics = sys.argv[1], sys.argv[2:] or ["lat_p50_us", "lat_p99_us"]
    runs: dict[tuple[str, str], dict[int, dict[str, float]]] = defaultdict(dict)
    for line in open(path, encoding="utf-8"):
        run = json.loads(line)
        if not run.get("ok"):
            continue
        workload, impl, size = run["key"].split("|")
        runs[(workload, size)].setdefault(run["round"], {})[impl] = run["m"]
    for (workload, size), rounds in sorted(runs.items()):
        for metric in metrics:
            ratios = []
            for by_impl in rounds.values():
                base, ours = by_impl.get("pyzmq", {}), by_impl.get("trinq", {})
                if metric in base and metric in ours and base[metric]:
                    ratios.append(ours[metric] / base[metric])
            if ratios:
                median = statistics.median(ratios)
                each = ", ".join(f"{r:.2f}" for r in ratios)
                print(f"{workload:8} {size:>6} {metric:22} median ratio x{median:.2f}  ({each})")


if __name__ == "__main__":
    main()
