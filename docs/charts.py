"""Draw the performance page's charts from docs/_static/perf-results.json.

matplotlib is not a dependency of trinq; install it for yourself, then run this from
the repository root and commit the SVGs it writes::

    python3 -m pip install matplotlib
    python3 docs/charts.py
    # refresh the "other Python options" block from a harness run first:
    python3 docs/charts.py --import-anchors ../shared/bench/results/anchors/summary.json

The JSON holds the numbers docs/performance.md reports (keep the two in step when a new
run is published): ``trinq_vs_pyzmq`` and ``inproc`` are the tables of that page;
``python_options`` is a run of the shared harness with pyzmq's asyncio API, zmq-anyio
under trio and azmq beside pyzmq. Two charts come out of it, in docs/_static/:

* ``perf-trinq-vs-pyzmq.svg``: trinq's speed relative to pyzmq per workload;
* ``perf-python-options.svg``: the Python options for async ZeroMQ relative to pyzmq
  (log scale), trinq's bars from ``trinq_vs_pyzmq``.

"Relative speed" is the harness's ratio for throughput (trinq / pyzmq: above 1 is
faster) and its inverse for latency (pyzmq's latency / trinq's), so that longer bars
always mean faster.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

STATIC = Path(__file__).resolve().parent / "_static"
#: the multiplication sign of the ratios, as an escape (ruff RUF001)
X = "\u00d7"
RESULTS = STATIC / "perf-results.json"

FASTER = "#15803d"
SLOWER = "#c2410c"
IMPL_COLOURS = {
    "trinq": "#1d4ed8",
    "pyzmq-asyncio": "#7e22ce",
    "zmq-anyio-trio": "#b45309",
    "azmq": "#6b7280",
}
#: which anchor rows go into ``python_options``: (harness workload, size, label)
ANCHOR_ROWS = [
    ("thr-tcp", 16, "thr 16 B"),
    ("thr-tcp", 4096, "thr 4 KiB"),
    ("thr-tcp", 65536, "thr 64 KiB"),
    ("lat", 16, "lat p50 16 B"),
    ("pubsub", 16, "pubsub 16 B"),
    ("pubsub", 4096, "pubsub 4 KiB"),
]
ANCHOR_IMPLS = ["pyzmq", "pyzmq-asyncio", "zmq-anyio-trio", "azmq"]


def relative_speed(row: dict[str, Any], ratio: float) -> float:
    return ratio if row["higher_is_better"] else 1 / ratio


def import_anchors(results: dict[str, Any], summary_path: Path) -> None:
    """Replace ``python_options`` with the rows of a harness ``summary.json``."""
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    found = {(r["workload"], r["impl"], r["size"]): r for r in summary["rows"]}
    rows = []
    for workload, size, label in ANCHOR_ROWS:
        base = found[(workload, "pyzmq", size)]
        values, ratios = {}, {}
        for impl in ANCHOR_IMPLS:
            r = found.get((workload, impl, size))
            if r is None or r.get("median") is None:
                continue
            values[impl] = r["median"]
            ratios[impl] = r["ratio_to_baseline"]
        rows.append(
            {
                "label": label,
                "workload": workload,
                "size": size,
                "metric": base["metric"],
                "higher_is_better": base["metric"] != "lat_p50_us",
                "values": values,
                "ratio": ratios,
            }
        )
    env = summary.get("env", {})
    block = results.setdefault("python_options", {})
    block["rows"] = rows
    block["machine"] = (
        f"{env.get('nproc', '?')}-core {env.get('cpu', '?')}, Python {env.get('python', '?')}, "
        f"pyzmq {env.get('pyzmq', '?')} (libzmq {env.get('libzmq', '?')}), "
        f"trio {env.get('trio', '?')}"
    )
    block["rounds"] = summary.get("rounds")


def trinq_ratio_for(results: dict[str, Any], label: str) -> float | None:
    """trinq's ratio for a ``python_options`` label, from ``trinq_vs_pyzmq``."""
    for row in results["trinq_vs_pyzmq"]["rows"]:
        if row.get("chart_label") == label:
            return float(row["ratio"])
    return None


def chart_trinq_vs_pyzmq(results: dict[str, Any], out: Path) -> None:
    import matplotlib.pyplot as plt

    rows = [*results["trinq_vs_pyzmq"]["rows"], *results["inproc"]["rows"]]
    labels = [f"{r['label']}, {r['size_label']}" for r in rows]
    speeds = [relative_speed(r, r["ratio"]) for r in rows]
    fig, ax = plt.subplots(figsize=(8.2, 0.42 * len(rows) + 1.4))
    ys = list(range(len(rows)))[::-1]
    colours = [FASTER if s >= 1 else SLOWER for s in speeds]
    ax.barh(ys, speeds, color=colours, height=0.62)
    ax.axvline(1, color="#1f2328", linewidth=1.2)
    ax.set_yticks(ys, labels)
    ax.set_xscale("log")
    ax.set_xlim(0.25, 20)
    ticks = [0.25, 0.5, 1, 2, 4, 10]
    ax.set_xticks(ticks, [f"{X}{t:g}" for t in ticks])
    ax.minorticks_off()
    for y, s, r in zip(ys, speeds, rows, strict=True):
        text = f"{X}{s:.2f}".rstrip("0").rstrip(".")
        if not r["higher_is_better"]:
            text += f" (latency ratio {X}{r['ratio']:g})"
        ax.text(s * 1.06, y, text, va="center", fontsize=9)
    ax.set_xlabel(f"trinq's speed relative to pyzmq (pyzmq = {X}1; right of the line is faster)")
    ax.set_title("trinq vs pyzmq, two processes on a 2-core machine", fontsize=11)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    save(fig, out)


def chart_python_options(results: dict[str, Any], out: Path) -> None:
    import matplotlib.pyplot as plt

    block = results["python_options"]
    rows = block["rows"]
    impls = ["trinq", "pyzmq-asyncio", "zmq-anyio-trio", "azmq"]
    names = results["python_options"]["impl_names"]
    fig, ax = plt.subplots(figsize=(8.2, 4.9))
    width = 0.2
    for i, impl in enumerate(impls):
        xs, heights = [], []
        for j, row in enumerate(rows):
            if impl == "trinq":
                ratio = trinq_ratio_for(results, row["label"])
            else:
                ratio = row["ratio"].get(impl)
            if ratio is None:
                continue
            xs.append(j + (i - 1.5) * width)
            heights.append(relative_speed(row, ratio))
        ax.bar(xs, heights, width=width, color=IMPL_COLOURS[impl], label=names[impl])
    ax.axhline(1, color="#1f2328", linewidth=1.2)
    ax.text(len(rows) - 0.5, 0.9, f"pyzmq (blocking) = {X}1", fontsize=8.5, ha="right", va="top")
    ax.set_yscale("log")
    ax.set_ylim(0.002, 4)
    ticks = [0.003, 0.01, 0.03, 0.1, 0.3, 1, 3]
    ax.set_yticks(ticks, [f"{X}{t:g}" for t in ticks])
    ax.minorticks_off()
    ax.set_xticks(range(len(rows)), [r["label"] for r in rows], fontsize=9)
    ax.set_ylabel("speed relative to pyzmq (log scale)")
    ax.set_title("Async ZeroMQ from Python: speed relative to pyzmq's blocking API", fontsize=11)
    ax.legend(fontsize=8.5, ncols=4, loc="upper center", bbox_to_anchor=(0.5, -0.08), frameon=False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    save(fig, out)


def save(fig: Any, out: Path) -> None:
    import matplotlib.pyplot as plt

    fig.savefig(out, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    print(f"wrote {out}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS, help="the results JSON")
    parser.add_argument("--out", type=Path, default=STATIC, help="directory for the SVGs")
    parser.add_argument(
        "--import-anchors",
        type=Path,
        metavar="SUMMARY_JSON",
        help="first replace python_options with this harness summary.json's rows",
    )
    args = parser.parse_args(argv)
    try:
        import matplotlib
    except ImportError:
        print("charts.py needs matplotlib: python3 -m pip install matplotlib", file=sys.stderr)
        return 2
    matplotlib.use("Agg")
    matplotlib.rcParams.update(
        {"svg.hashsalt": "trinq-docs", "svg.fonttype": "none", "font.size": 9.5}
    )
    results = json.loads(args.results.read_text(encoding="utf-8"))
    if args.import_anchors:
        import_anchors(results, args.import_anchors)
        args.results.write_text(
            json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        print(f"updated {args.results}")
    args.out.mkdir(parents=True, exist_ok=True)
    chart_trinq_vs_pyzmq(results, args.out / "perf-trinq-vs-pyzmq.svg")
    chart_python_options(results, args.out / "perf-python-options.svg")
    return 0


if __name__ == "__main__":
    sys.exit(main())
