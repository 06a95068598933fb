"""The documentation site (docs/): it builds with no warning, its code runs, its links
resolve, its pictures are up to date, and the API reference covers every public name.

The code-block convention is described in docs/conf.py: a ```python block runs unless an
``<!-- fragment -->`` comment stands before it (then it is only compiled);
``<!-- continue -->`` runs it in the namespace of the page's previous block. Examples
shown with ``literalinclude`` are run by tests/test_examples_*.py, or here.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trio
from procs import ANY_PORT, ENV, LineReader, running, sigint_inherited_as_default

import trinq

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"

#: Pages whose code blocks this test does not run: pages maintained by others, which
#: follow their own conventions (their links are still checked, and Sphinx builds them).
NOT_RUN = {
    "design.md",
    "options.md",
}
#: Seconds one code block may take.
BLOCK_TIMEOUT = 10
#: The Sphinx build's limit (it takes a few seconds; CI has 2 cores).
BUILD_TIMEOUT = 120
#: The HTML comments that may stand before a ```python block.
MARKERS = {"fragment", "continue"}
#: Markdown files outside docs/ whose relative links are checked too.
OTHER_MARKDOWN = [ROOT / "README.md", ROOT / "CHANGELOG.md", EXAMPLES / "README.md"]
OTHER_MARKDOWN += [ROOT / "bench" / "README.md"]


# --- reading Markdown ---------------------------------------------------------------


@dataclass
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    info: str  # the fence's info string ("python", "{literalinclude} ../x.py", ...)
    code: str
    marker: str | None  # the HTML comment before the fence, if any

    @property
    def language(self) -> str:
        return self.info.split()[0] if self.info.split() else ""

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(DOCS).as_posix()}:{self.line}"


FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
COMMENT = re.compile(r"^\s*<!--\s*(?P<text>.*?)\s*-->\s*$")


def fenced_blocks(path: Path) -> list[Block]:
    """The top-level fenced code blocks of a Markdown file, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, info = m["fence"], m["info"].strip()
        j = i - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        comment = COMMENT.match(lines[j]) if j >= 0 else None
        marker = comment["text"] if comment else None
        body: list[str] = []
        k = i + 1
        while k < len(lines):
            close = FENCE.match(lines[k])
            if (
                close
                and close["fence"][0] == fence[0]
                and len(close["fence"]) >= len(fence)
                and not close["info"].strip()
            ):
                break
            body.append(lines[k])
            k += 1
        blocks.append(Block(path, i + 1, info, "\n".join(body) + "\n", marker))
        i = k + 1
    return blocks


def markdown_pages() -> list[Path]:
    return sorted(p for p in DOCS.rglob("*.md") if "_build" not in p.parts)


def python_blocks() -> list[Block]:
    return [
        block
        for page in markdown_pages()
        if page.relative_to(DOCS).as_posix() not in NOT_RUN
        for block in fenced_blocks(page)
        if block.language in ("python", "py", "python3")
    ]


BLOCKS = python_blocks()


def test_every_page_has_been_read():
    """The collector finds the tutorial's and the guides' blocks (a guard against a
    parser that silently finds nothing)."""
    pages = {b.path.relative_to(DOCS).as_posix() for b in BLOCKS}
    assert {"tutorial/cleanup.md", "tutorial/tasks.md", "pyzmq.md", "monitoring.md"} <= pages
    assert len(BLOCKS) > 30


def test_markers_are_known():
    for block in BLOCKS:
        if block.marker is not None and block.marker.split()[0] in MARKERS:
            continue
        assert block.marker is None or not block.marker.startswith(("frag", "cont")), (
            f"{block.id}: unknown marker <!-- {block.marker} -->; use one of {sorted(MARKERS)}"
        )


# --- running the blocks -------------------------------------------------------------


def compile_block(block: Block) -> Any:
    source = textwrap.dedent(block.code)
    return compile(
        source,
        f"{block.path}:{block.line}",
        "exec",
        flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
        dont_inherit=True,
    )


def bounded_run(original: Callable[..., Any]) -> Callable[..., Any]:
    """``trio.run`` with the block's deadline around the function it runs."""

    def run(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        async def bounded() -> Any:
            with trio.fail_after(BLOCK_TIMEOUT):
                return await fn(*args)

        return original(bounded, **kwargs)

    return run


def run_block(code: Any, namespace: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    if code.co_flags & inspect.CO_COROUTINE:

        async def body() -> None:
            with trio.fail_after(BLOCK_TIMEOUT):
                await eval(code, namespace)

        trio.run(body)
    else:
        with monkeypatch.context() as patch:
            patch.setattr(trio, "run", bounded_run(trio.run))
            exec(code, namespace)


_namespaces: dict[Path, dict[str, Any]] = {}


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_code_block(block: Block, monkeypatch: pytest.MonkeyPatch) -> None:
    code = compile_block(block)  # fragments too: a syntax error fails
    marker = block.marker.split()[0] if block.marker else None
    if marker == "fragment":
        return
    if marker == "continue":
        namespace = _namespaces.get(block.path)
        assert namespace is not None, (
            f"{block.id}: <!-- continue --> needs an executed block before it on the page"
        )
    else:
        namespace = {"__name__": "__main__", "trio": trio, "trinq": trinq}
    _namespaces[block.path] = namespace
    run_block(code, namespace, monkeypatch)


# --- included examples --------------------------------------------------------------

#: Examples the docs include that no tests/test_examples_*.py runs: run here.
RUN_HERE = {"syncpub.py", "syncsub.py"}


def included_examples() -> set[str]:
    names = set()
    for page in markdown_pages():
        for block in fenced_blocks(page):
            if block.language == "{literalinclude}":
                target = (page.parent / block.info.split()[1]).resolve()
                assert target.is_file(), f"{block.id}: {target} does not exist"
                if target.parent == EXAMPLES:
                    names.add(target.name)
    return names


def test_included_examples_are_run_by_a_test():
    tests = "".join(p.read_text(encoding="utf-8") for p in ROOT.glob("tests/test_examples_*.py"))
    included = included_examples()
    assert {"hwserver.py", "wuserver.py", "taskvent.py"} <= included
    missing = {name for name in included - RUN_HERE if f'"{name}"' not in tests}
    assert not missing, f"examples shown in the docs that no test runs: {sorted(missing)}"


async def test_syncpub_syncsub():
    """syncpub.py waits for two syncsub.py subscribers; each receives every update."""

    async def start(procs: list[LineReader], script: str, *args: str) -> LineReader:
        with sigint_inherited_as_default():
            process = await trio.lowlevel.open_process(
                [sys.executable, "-u", str(EXAMPLES / script), *args],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=ENV,
            )
        procs.append(LineReader(process))
        return procs[-1]

    with trio.fail_after(30):
        async with running() as procs:
            pub = await start(
                procs, "syncpub.py", "--publish", ANY_PORT, "--sync", ANY_PORT,
                "--subscribers", "2", "--count", "1000",
            )  # fmt: skip
            publish = await pub.endpoint("publishing on ")
            sync = await pub.endpoint("sync service on ")
            subs = [
                await start(procs, "syncsub.py", "--publish", publish, "--sync", sync)
                for _ in range(2)
            ]
            for sub in subs:
                assert await sub.read_all() == ["Received 1000 updates"]
                assert await sub.process.wait() == 0
            lines = await pub.read_all()
            assert await pub.process.wait() == 0, lines
            assert lines[-2:] == ["Waiting for 2 subscribers", "Broadcasting 1000 updates"]


# --- links --------------------------------------------------------------------------

LINK = re.compile(
    r"(?<!!)\[(?:[^\]\[]|\[[^\]]*\])*\]\((?P<target><[^>]*>|[^)\s]+)(?:\s+\"[^\"]*\")?\)"
)
IMAGE = re.compile(r"!\[[^\]]*\]\((?P<target>[^)\s]+)\)")
REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*(?P<target>\S+)", re.MULTILINE)
INLINE_CODE = re.compile(r"(`+).+?\1")


def prose(path: Path) -> str:
    """The file's text without fenced code blocks and inline code."""
    out: list[str] = []
    fence: str | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        m = FENCE.match(line)
        if fence is None and m:
            fence = m["fence"]
            continue
        if fence is not None:
            if m and m["fence"][0] == fence[0] and len(m["fence"]) >= len(fence):
                if not m["info"].strip():
                    fence = None
            continue
        out.append(INLINE_CODE.sub("", line))
    return "\n".join(out)


_SLUG_DROP = re.compile(r"[^\w\u4e00-\u9fff\- ]")


def github_slugify(title: str) -> str:
    """GitHub's heading anchor (as MyST's ``github_slugify``, which older myst-parser
    releases, the ones Python 3.10 gets, do not have): lowercase, drop what is not a
    word character, a CJK ideograph, a hyphen or a space, then spaces become hyphens."""
    return _SLUG_DROP.sub("", title.lower()).replace(" ", "-")


def slugs(path: Path) -> set[str]:
    """The GitHub-style anchors of a Markdown file's headings (what MyST makes too)."""

    seen: dict[str, int] = {}
    found = set()
    for line in prose_with_code_spans(path).splitlines():
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", m[1])  # links: their text
        title = title.replace("`", "")
        slug = github_slugify(title)
        if slug in seen:
            seen[slug] += 1
            slug = f"{slug}-{seen[slug]}"
        else:
            seen[slug] = 0
        found.add(slug)
    return found


def prose_with_code_spans(path: Path) -> str:
    """The file's text without fenced code blocks (headings keep their code spans)."""
    out: list[str] = []
    fence: str | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        m = FENCE.match(line)
        if fence is None and m:
            fence = m["fence"]
            continue
        if fence is not None:
            if m and m["fence"][0] == fence[0] and len(m["fence"]) >= len(fence):
                if not m["info"].strip():
                    fence = None
            continue
        out.append(line)
    return "\n".join(out)


def relative_links(path: Path) -> Iterator[str]:
    text = prose(path)
    for pattern in (LINK, IMAGE, REF_DEF):
        for m in pattern.finditer(text):
            target = m["target"].strip("<>")
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
                continue  # https:, mailto:, ...
            yield target


LINKED_FILES = [*markdown_pages(), *OTHER_MARKDOWN]


@pytest.mark.parametrize(
    "path", LINKED_FILES, ids=[p.relative_to(ROOT).as_posix() for p in LINKED_FILES]
)
def test_relative_links_resolve(path: Path) -> None:
    broken = []
    for target in relative_links(path):
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path
        if not dest.exists():
            broken.append(f"{target}: no such file")
            continue
        if anchor and dest.suffix == ".md" and anchor not in slugs(dest):
            broken.append(f"{target}: no heading with anchor #{anchor} in {dest.name}")
    assert not broken, f"{path.relative_to(ROOT)}: broken links:\n" + "\n".join(broken)


def test_link_checker_catches_a_broken_link(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# A title\n\n[x](#a-title) [y](#nope) [z](missing.md) `[no](x.md)`\n")
    assert list(relative_links(page)) == ["#a-title", "#nope", "missing.md"]
    assert slugs(page) == {"a-title"}


# --- pictures -----------------------------------------------------------------------


def test_diagrams_are_up_to_date():
    """docs/_static/*.svg are what docs/diagrams.py draws (run it after a change)."""
    result = subprocess.run(
        [sys.executable, str(DOCS / "diagrams.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_charts_exist_and_match_the_performance_page():
    """The charts' numbers are the page's: every ratio in perf-results.json's tables
    appears on docs/performance.md."""
    results = json.loads((DOCS / "_static" / "perf-results.json").read_text(encoding="utf-8"))
    page = (DOCS / "performance.md").read_text(encoding="utf-8")
    for name in ("perf-trinq-vs-pyzmq.svg", "perf-python-options.svg"):
        assert (DOCS / "_static" / name).is_file()
        assert f"_static/{name}" in page
    for table in ("trinq_vs_pyzmq", "inproc"):
        for row in results[table]["rows"]:
            ratio = row["ratio"]
            forms = {f"\u00d7{ratio:.2f}", f"\u00d7{ratio:.1f}", f"\u00d7{ratio:g}"}  # x1.40
            assert any(form in page for form in forms), (table, row["label"], row["size"])


# --- the build ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("docs-html")
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html"]
    command += ["-d", str(out / ".doctrees"), str(DOCS), str(out)]
    start = time.monotonic()
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=BUILD_TIMEOUT, cwd=ROOT
    )
    elapsed = time.monotonic() - start
    print(f"\nsphinx-build -W: {elapsed:.1f} s")
    assert result.returncode == 0, f"the docs build failed:\n{result.stderr}{result.stdout}"
    assert not result.stderr.strip(), result.stderr  # -q: only warnings would show
    return out


@pytest.mark.timeout(BUILD_TIMEOUT + 30)  # the first test to use the site builds it
def test_docs_build_without_warnings(built_site: Path) -> None:
    assert (built_site / "index.html").is_file()
    for page in ("tutorial/index", "pyzmq", "api/trinq", "performance", "monitoring"):
        assert (built_site / f"{page}.html").is_file(), page


#: Public modules and their reference pages; every name of their ``__all__`` must be
#: documented there.
API_PAGES = {
    "trinq": "api/trinq.html",
    "trinq.zmtp": "api/zmtp.html",
    "trinq.auth": "api/auth.html",
    "trinq.testing": "api/testing.html",
    "trinq.z85": "api/trinq.html",
}


@pytest.mark.timeout(BUILD_TIMEOUT + 30)
@pytest.mark.parametrize("module_name", sorted(API_PAGES))
def test_api_reference_covers_all(module_name: str, built_site: Path) -> None:
    module = importlib.import_module(module_name)
    html = (built_site / API_PAGES[module_name]).read_text(encoding="utf-8")
    constants = (built_site / "api" / "constants.html").read_text(encoding="utf-8")
    missing = []
    for name in module.__all__:
        value = getattr(module, name)
        anchor = f"module-{module_name}.{name}" if inspect.ismodule(value) else None
        if anchor and anchor.removeprefix("module-") in API_PAGES:
            continue  # a module with its own section
        if f'id="{module_name}.{name}"' in html:
            continue
        if module_name == "trinq" and f">trinq.{name}<" in constants:
            continue
        missing.append(name)
    assert not missing, f"{module_name}: not in the API reference: {missing}"


@pytest.mark.timeout(BUILD_TIMEOUT + 30)
def test_cancellation_semantics_render(built_site: Path) -> None:
    """The docstrings' "Cancellation:" paragraphs reach the reference."""
    html = (built_site / "api" / "trinq.html").read_text(encoding="utf-8")
    text = " ".join(re.sub(r"<[^>]+>", "", html).split())
    assert text.count("Cancellation") >= 10
    assert "if Cancelled is raised the message was not queued" in text
