"""Draw the documentation's diagrams as SVG files in docs/_static/.

Pure Python: it writes SVG text, with no dependency and no external tool, so the
pictures are made the same way everywhere and their source is reviewable. Run it from
the repository root after changing a picture, and commit the SVGs::

    python3 docs/diagrams.py            # writes docs/_static/*.svg
    python3 docs/diagrams.py --check    # exit 1 if a committed SVG is out of date

Pictures:

* ``task-tree.svg``: the trio tasks trinq runs for one socket (docs/design.md, "Task
  tree");
* ``message-path.svg``: one message from a REQ to a REP over tcp (docs/design.md, "One
  message's path");
* one topology per pattern: ``reqrep.svg``, ``pubsub.svg``, ``pipeline.svg``,
  ``pair.svg``, ``broker.svg`` (ROUTER/DEALER), ``clientserver.svg``,
  ``radiodish.svg``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

STATIC = Path(__file__).resolve().parent / "_static"

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
MONO = "ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace"
INK = "#1f2328"
MUTED = "#59636e"

#: fill and stroke per kind of box
STYLES = {
    "socket": ("#dbeafe", "#1d4ed8"),  # a trinq socket
    "bind": ("#dcfce7", "#15803d"),  # a socket that binds
    "task": ("#fef3c7", "#b45309"),  # a trio task or nursery
    "user": ("#f3e8ff", "#7e22ce"),  # the application's own code
    "kernel": ("#e5e7eb", "#4b5563"),  # the OS, the wire
    "queue": ("#ffe4e6", "#be123c"),  # a queue of messages
    "note": ("#ffffff", "#9ca3af"),
}


def text_width(text: str, size: float, mono: bool) -> float:
    """A generous estimate of the rendered width (no font metrics at hand)."""
    return len(text) * size * (0.62 if mono else 0.56)


@dataclass
class Drawing:
    """An SVG picture being drawn: shapes are appended as SVG elements."""

    width: float
    height: float
    title: str
    parts: list[str] = field(default_factory=list)

    def box(
        self,
        x: float,
        y: float,
        w: float,
        h: float,
        lines: Sequence[str],
        kind: str = "socket",
        *,
        mono: Sequence[bool] | None = None,
        size: float = 13,
        dashed: bool = False,
    ) -> tuple[float, float, float, float]:
        """A rounded box with centred lines of text; returns (x, y, w, h)."""
        fill, stroke = STYLES[kind]
        dash = ' stroke-dasharray="5 4"' if dashed else ""
        self.parts.append(
            f'<rect x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}" rx="7" '
            f'fill="{fill}" stroke="{stroke}" stroke-width="1.5"{dash}/>'
        )
        mono = mono if mono is not None else [False] * len(lines)
        step = size * 1.3
        top = y + h / 2 - step * (len(lines) - 1) / 2
        for i, line in enumerate(lines):
            weight = "600" if i == 0 else "400"
            line_size = size if i == 0 else size - 1.5
            self.text(x + w / 2, top + i * step, line, size=line_size, weight=weight, mono=mono[i])
        return x, y, w, h

    def text(
        self,
        x: float,
        y: float,
        text: str,
        *,
        size: float = 12,
        weight: str = "400",
        mono: bool = False,
        anchor: str = "middle",
        color: str = INK,
        italic: bool = False,
    ) -> None:
        family = MONO if mono else FONT
        style = ' font-style="italic"' if italic else ""
        self.parts.append(
            f'<text x="{x:g}" y="{y:g}" font-family="{family}" font-size="{size:g}" '
            f'font-weight="{weight}" fill="{color}" text-anchor="{anchor}" '
            f'dominant-baseline="central"{style}>{escape(text)}</text>'
        )

    def line(
        self,
        points: Sequence[tuple[float, float]],
        *,
        arrow: bool = True,
        both: bool = False,
        dashed: bool = False,
        color: str = INK,
        label: str | None = None,
        label_at: float = 0.5,
        label_dy: float = -9,
        label_dx: float = 0,
        label_mono: bool = False,
        label_anchor: str = "middle",
    ) -> None:
        """A polyline, with an arrowhead at its end (and start, with ``both``)."""
        path = " ".join(f"{x:g},{y:g}" for x, y in points)
        marker_end = ' marker-end="url(#arrow)"' if arrow else ""
        marker_start = ' marker-start="url(#arrow-start)"' if both else ""
        dash = ' stroke-dasharray="5 4"' if dashed else ""
        self.parts.append(
            f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="1.5"'
            f"{dash}{marker_start}{marker_end}/>"
        )
        if label:
            (x1, y1), (x2, y2) = points[0], points[-1]
            lx, ly = x1 + (x2 - x1) * label_at, y1 + (y2 - y1) * label_at
            self.text(
                lx + label_dx,
                ly + label_dy,
                label,
                size=11.5,
                color=MUTED,
                mono=label_mono,
                anchor=label_anchor,
            )

    def svg(self) -> str:
        head = (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {self.width:g} '
            f'{self.height:g}" width="{self.width:g}" height="{self.height:g}" '
            f'role="img" aria-label="{escape(self.title)}">\n'
            f"<title>{escape(self.title)}</title>\n"
            "<defs>\n"
            '<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
            'markerHeight="7" orient="auto-start-reverse">'
            f'<path d="M0,0 L10,5 L0,10 z" fill="{INK}"/></marker>\n'
            '<marker id="arrow-start" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
            'markerHeight="7" orient="auto-start-reverse">'
            f'<path d="M0,0 L10,5 L0,10 z" fill="{INK}"/></marker>\n'
            "</defs>\n"
            f'<rect x="0" y="0" width="{self.width:g}" height="{self.height:g}" rx="10" '
            'fill="#ffffff"/>\n'
        )
        return head + "\n".join(self.parts) + "\n</svg>\n"


def centre(b: tuple[float, float, float, float]) -> tuple[float, float]:
    x, y, w, h = b
    return x + w / 2, y + h / 2


def left(b: tuple[float, float, float, float]) -> tuple[float, float]:
    x, y, _w, h = b
    return x, y + h / 2


def right(b: tuple[float, float, float, float]) -> tuple[float, float]:
    x, y, w, h = b
    return x + w, y + h / 2


def top(b: tuple[float, float, float, float]) -> tuple[float, float]:
    x, y, w, _h = b
    return x + w / 2, y


def bottom(b: tuple[float, float, float, float]) -> tuple[float, float]:
    x, y, w, h = b
    return x + w / 2, y + h


def legend(d: Drawing, x: float, y: float, items: Sequence[tuple[str, str]]) -> None:
    """Small coloured squares with a word each, left to right."""
    for kind, label in items:
        fill, stroke = STYLES[kind]
        d.parts.append(
            f'<rect x="{x:g}" y="{y - 6:g}" width="12" height="12" rx="3" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="1.2"/>'
        )
        d.text(x + 18, y, label, size=11.5, anchor="start", color=MUTED)
        x += 18 + text_width(label, 11.5, False) + 22


# --- the task tree ------------------------------------------------------------------


@dataclass
class Node:
    label: str
    note: str
    kind: str
    children: list[Node] = field(default_factory=list)


TASK_TREE = Node(
    "async with trinq.Context() as ctx:",
    "your task; the body runs your code",
    "user",
    [
        Node(
            "Context nursery",
            "every socket's tasks live here",
            "task",
            [
                Node(
                    "Socket._run: the socket's nursery",
                    "one per socket; cancelled after linger",
                    "task",
                    [
                        Node(
                            "Socket._serve → StreamBinding.serve",
                            "one per tcp/ipc bind()",
                            "task",
                            [
                                Node(
                                    "StreamBinding._accept_loop",
                                    "one per listener: accept → ACCEPTED",
                                    "task",
                                ),
                                Node(
                                    "StreamTransport._serve_one",
                                    "one per accepted connection",
                                    "task",
                                    [
                                        Node(
                                            "Engine nursery",
                                            "handshake, then reader | writer | heartbeat",
                                            "task",
                                        )
                                    ],
                                ),
                            ],
                        ),
                        Node(
                            "StreamTransport._dial",
                            "one per tcp/ipc connect(): dial, run, wait, redial",
                            "task",
                            [
                                Node(
                                    "Engine nursery",
                                    "handshake, then reader | writer | heartbeat",
                                    "task",
                                )
                            ],
                        ),
                        Node(
                            "Socket._serve → InprocBinding.serve",
                            "one per inproc bind(): no task per peer",
                            "task",
                        ),
                    ],
                ),
                Node(
                    "Socket._finish_close",
                    "the linger of a sync close()",
                    "task",
                ),
            ],
        )
    ],
)


def task_tree() -> Drawing:
    rows: list[tuple[int, Node, int | None]] = []  # (depth, node, parent row)

    def walk(node: Node, depth: int, parent: int | None) -> None:
        row = len(rows)
        rows.append((depth, node, parent))
        for child in node.children:
            walk(child, depth + 1, row)

    walk(TASK_TREE, 0, None)
    indent, row_h, box_h, x0, y0 = 34, 50, 38, 20, 76
    width = 800
    d = Drawing(width, y0 + len(rows) * row_h + 20, "trinq's task tree for one socket")
    d.text(
        20,
        24,
        "The task tree: everything trinq runs is a trio task under your Context",
        size=15,
        weight="600",
        anchor="start",
    )
    legend(d, 20, 50, [("user", "your code"), ("task", "trinq's tasks")])
    boxes: list[tuple[float, float, float, float]] = []
    for i, (depth, node, parent) in enumerate(rows):
        x = x0 + depth * indent
        y = y0 + i * row_h
        w = max(text_width(node.label, 13, True), 200) + 24
        b = d.box(x, y, w, box_h, [node.label], node.kind, mono=[True])
        boxes.append(b)
        d.text(x + w + 12, y + box_h / 2, node.note, size=12, anchor="start", color=MUTED)
        if parent is not None:
            px, py, _pw, ph = boxes[parent]
            sx = px + 14
            d.line(
                [(sx, py + ph), (sx, y + box_h / 2), (x, y + box_h / 2)], arrow=False, color=MUTED
            )
    return d


# --- one message's path ------------------------------------------------------------


def message_path() -> Drawing:
    d = Drawing(880, 600, "One message's path from a REQ to a REP over tcp")
    d.text(
        20,
        24,
        'One message\'s path: await req.send(b"hi") → tcp → await rep.recv()',
        size=15,
        weight="600",
        anchor="start",
    )
    legend(
        d,
        20,
        50,
        [
            ("user", "your task"),
            ("socket", "the socket (your task's stack)"),
            ("queue", "a queue"),
            ("task", "an engine task"),
            ("kernel", "the kernel"),
        ],
    )
    w, h = 340, 56
    lx, rx = 30, 510
    d.text(lx + w / 2, 86, "REQ side", size=13, weight="600", color=MUTED)
    d.text(rx + w / 2, 86, "REP side", size=13, weight="600", color=MUTED)
    mono = [True, False]
    s1 = d.box(
        lx, 104, w, h, ['await req.send(b"hi")', "1. checks for cancellation"], "user", mono=mono
    )
    s2 = d.box(
        lx,
        190,
        w,
        h,
        ["Req.send_nowait → LoadBalancer", 'adds the delimiter: [b"", b"hi"]'],
        "socket",
        mono=mono,
    )
    s3 = d.box(
        lx,
        276,
        w,
        h,
        ["Pipe.send_nowait", "2. writer idle: one send() right here"],
        "queue",
        mono=mono,
    )
    s4 = d.box(
        lx, 362, w, h, ["Engine._writer", "3. else: batch, encode, one send_all"], "task", mono=mono
    )
    k = d.box(
        250,
        470,
        380,
        50,
        ["kernel: TCP over 127.0.0.1", "bytes, not messages"],
        "kernel",
        mono=[False, False],
    )
    r4 = d.box(
        rx, 362, w, h, ["Engine._reader", "4. read 64 KiB, decode_into the pipe"], "task", mono=mono
    )
    r3 = d.box(
        rx,
        276,
        w,
        h,
        ["pipe's inbound queue", "rcvhwm messages; full: stop reading"],
        "queue",
        mono=mono,
    )
    r2 = d.box(
        rx,
        190,
        w,
        h,
        ["Rep.recv_nowait → FairQueue", "6. strips the envelope, keeps it"],
        "socket",
        mono=mono,
    )
    r1 = d.box(
        rx,
        104,
        w,
        h,
        ['await rep.recv() → b"hi"', "7. send() goes back the same way"],
        "user",
        mono=mono,
    )
    d.line([bottom(s1), top(s2)])
    d.line([bottom(s2), top(s3)])
    d.line(
        [bottom(s3), top(s4)], label="else: queued", label_dy=0, label_dx=8, label_anchor="start"
    )
    sx, sy = bottom(s4)
    d.line([(sx, sy), (sx, 495), (250, 495)])
    x3, y3 = left(s3)
    d.line([(x3, y3), (14, y3), (14, 505), (250, 505)], dashed=True)
    d.text(22, 440, "direct", size=11.5, color=MUTED, anchor="start")
    d.text(22, 456, "write", size=11.5, color=MUTED, anchor="start")
    kx, _ky = right(k)
    r4x, r4y = bottom(r4)
    d.line([(kx, 495), (r4x, 495), (r4x, r4y)])
    d.line([top(r4), bottom(r3)])
    d.line([top(r3), bottom(r2)])
    d.line([top(r2), bottom(r1)])
    rxr = rx + w
    d.line([(kx, 505), (rxr + 16, 505), (rxr + 16, 132), (rxr, 132)], dashed=True)
    d.text(
        rxr - 6,
        548,
        "5. one connection and recv() waiting: the connection is lent,",
        size=11.5,
        color=MUTED,
        anchor="end",
    )
    d.text(
        rxr - 6,
        566,
        "and the receiver reads and decodes it on its own stack",
        size=11.5,
        color=MUTED,
        anchor="end",
    )
    d.text(
        lx,
        548,
        "A send that finds room never waits; one that does not",
        size=11.5,
        color=MUTED,
        anchor="start",
    )
    d.text(
        lx,
        566,
        "parks until a pipe has room. Either way it is atomic.",
        size=11.5,
        color=MUTED,
        anchor="start",
    )
    return d


# --- pattern topologies -----------------------------------------------------------


def sock_box(
    d: Drawing, x: float, y: float, name: str, role: str, binds: bool, w: float = 150
) -> tuple[float, float, float, float]:
    return d.box(x, y, w, 50, [name, role], "bind" if binds else "socket", mono=[False, False])


def topology_legend(d: Drawing, y: float) -> None:
    legend(d, 20, y, [("bind", "binds"), ("socket", "connects")])


def reqrep() -> Drawing:
    d = Drawing(560, 190, "REQ and REP: request and reply in lock-step")
    d.text(20, 24, "Request-reply", size=15, weight="600", anchor="start")
    topology_legend(d, 170)
    c = sock_box(d, 30, 70, "REQ", "client: hwclient.py", False, 170)
    s = sock_box(d, 360, 70, "REP", "server: hwserver.py", True, 170)
    d.line([(right(c)[0], 85), (left(s)[0], 85)], label='send(b"Hello")', label_mono=True)
    d.line(
        [(left(s)[0], 110), (right(c)[0], 110)],
        label='send(b"World")',
        label_dy=12,
        label_mono=True,
    )
    d.text(
        280, 150, "each side must send, then receive, in turn (else EFSM)", size=11.5, color=MUTED
    )
    return d


def pubsub() -> Drawing:
    d = Drawing(640, 320, "PUB and SUB: one publisher, subscribers filtering by prefix")
    d.text(20, 24, "Publish-subscribe", size=15, weight="600", anchor="start")
    topology_legend(d, 300)
    p = sock_box(d, 225, 50, "PUB", "wuserver.py", True, 190)
    subs = [('"10001 "', 30), ('"10002 "', 235), ('"" (all)', 440)]
    for topic, x in subs:
        s = d.box(x, 170, 170, 56, ["SUB", f"subscribe({topic})"], "socket", mono=[False, True])
        d.line([bottom(p), top(s)])
    d.text(
        320,
        250,
        '"10001 21 43", "10002 -4 17", …: each update goes only to the matching',
        size=11.5,
        color=MUTED,
    )
    d.text(
        320,
        266,
        "subscribers; subscriptions travel upstream, and the PUB filters",
        size=11.5,
        color=MUTED,
    )
    return d


def pipeline() -> Drawing:
    d = Drawing(700, 380, "PUSH and PULL: a ventilator, workers and a sink")
    d.text(20, 24, "Pipeline: divide and conquer", size=15, weight="600", anchor="start")
    topology_legend(d, 360)
    v = d.box(30, 130, 150, 56, ["ventilator", "PUSH: taskvent.py"], "bind")
    sink = d.box(520, 130, 150, 56, ["sink", "PULL: tasksink.py"], "bind")
    for i, y in enumerate((50, 130, 210)):
        wk = d.box(275, y, 150, 56, [f"worker {i + 1}", "PULL → PUSH"], "socket")
        d.line([right(v), left(wk)])
        d.line([right(wk), left(sink)])
    d.text(228, 282, "tasks: round robin", size=11.5, color=MUTED)
    d.text(472, 282, "results: fair queue", size=11.5, color=MUTED)
    d.line([(60, 186), (60, 306), (640, 306), (640, 186)], dashed=True, color=MUTED)
    d.text(350, 322, '"0": the batch starts (taskvent.py → tasksink.py)', size=11.5, color=MUTED)
    return d


def pair() -> Drawing:
    d = Drawing(520, 170, "PAIR: exactly two sockets, both ways")
    d.text(20, 24, "Exclusive pair", size=15, weight="600", anchor="start")
    topology_legend(d, 150)
    a = sock_box(d, 30, 60, "PAIR", "binds", True, 120)
    b = sock_box(d, 370, 60, "PAIR", "connects", False, 120)
    d.line([right(a), left(b)], both=True, label="either way, in order")
    d.text(
        260, 126, "a second peer is refused while the first is connected", size=11.5, color=MUTED
    )
    return d


def broker() -> Drawing:
    d = Drawing(820, 300, "ROUTER and DEALER: a request-reply broker")
    d.text(
        20, 24, "A broker: ROUTER in front, DEALER behind", size=15, weight="600", anchor="start"
    )
    topology_legend(d, 280)
    fe = d.box(270, 112, 120, 56, ["ROUTER", "frontend"], "bind")
    be = d.box(430, 112, 120, 56, ["DEALER", "backend"], "bind")
    d.line([right(fe), left(be)], both=True, label="rrbroker.py, msgqueue.py", label_dy=-40)
    d.text(410, 188, "trinq.proxy(frontend, backend)", size=11.5, color=MUTED, mono=True)
    for i, y in enumerate((50, 120, 190)):
        c = d.box(30, y, 130, 44, ["REQ", f"client {i + 1}"], "socket")
        d.line([right(c), left(fe)], both=True)
        wk = d.box(660, y, 130, 44, ["REP", f"worker {i + 1}"], "socket")
        d.line([right(be), left(wk)], both=True)
    d.text(215, 252, '[client id, b"", request]', size=11.5, color=MUTED, mono=True)
    d.text(605, 252, "round robin; replies find their way back", size=11.5, color=MUTED)
    return d


def clientserver() -> Drawing:
    d = Drawing(640, 300, "CLIENT and SERVER: replies addressed by routing id")
    d.text(20, 24, "Client-server", size=15, weight="600", anchor="start")
    topology_legend(d, 282)
    s = d.box(
        380, 120, 230, 56, ["SERVER", "send(data, routing_id=rid)"], "bind", mono=[False, True]
    )
    for i, y in enumerate((70, 148, 226)):
        c = d.box(30, y - 22, 150, 46, ["CLIENT", f"its routing_id: {7301 + i}"], "socket")
        d.line([right(c), left(s)], both=True)
    d.text(495, 206, "recv_message().routing_id: who sent it", size=11.5, color=MUTED)
    d.text(495, 222, "single-part messages, no lock-step", size=11.5, color=MUTED)
    return d


def radiodish() -> Drawing:
    d = Drawing(640, 330, "RADIO and DISH: groups by exact name")
    d.text(20, 24, "Radio-dish", size=15, weight="600", anchor="start")
    topology_legend(d, 310)
    r = d.box(
        205,
        50,
        230,
        56,
        ["RADIO: rdradio.py", 'send(data, group="paris")'],
        "bind",
        mono=[False, True],
    )
    for groups, x in ((["paris"], 30), (["oslo"], 235), (["paris", "oslo"], 440)):
        lines = ["DISH", *(f'join("{g}")' for g in groups)]
        dish = d.box(x, 170, 170, 74, lines, "socket", mono=[False, True, True])
        d.line([bottom(r), top(dish)])
    d.text(
        320, 268, "a message reaches only the dishes that joined its group;", size=11.5, color=MUTED
    )
    d.text(
        320, 284, "groups are exact names (no prefixes), at most 255 bytes", size=11.5, color=MUTED
    )
    return d


PICTURES: dict[str, Callable[[], Drawing]] = {
    "task-tree.svg": task_tree,
    "message-path.svg": message_path,
    "reqrep.svg": reqrep,
    "pubsub.svg": pubsub,
    "pipeline.svg": pipeline,
    "pair.svg": pair,
    "broker.svg": broker,
    "clientserver.svg": clientserver,
    "radiodish.svg": radiodish,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare, write nothing")
    parser.add_argument("--out", type=Path, default=STATIC, help="directory for the SVGs")
    args = parser.parse_args(argv)
    stale = []
    for name, draw in PICTURES.items():
        path = args.out / name
        svg = draw().svg()
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != svg:
                stale.append(name)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(svg, encoding="utf-8")
            print(f"wrote {path}")
    if stale:
        print("out of date (run python3 docs/diagrams.py):", ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
