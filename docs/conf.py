"""Sphinx configuration for trinq's documentation site.

Build it from the repository root (tests/test_docs.py runs the same build)::

    python3 -m pip install -e '.[docs]'
    python3 -m sphinx -W --keep-going -b html docs docs/_build/html

The pages are Markdown (MyST), the API reference is reStructuredText (``api/*.rst``,
autodoc driven by each module's ``__all__``). Nothing is fetched from the network:
intersphinx links to trio's and Python's docs only when ``TRINQ_DOCS_INTERSPHINX=1``
(it downloads their inventories); otherwise those names render as plain code.

Code blocks: the convention that keeps the docs from drifting
------------------------------------------------------------
tests/test_docs.py reads every Markdown page under docs/ (except the pages listed in
its ``NOT_RUN``) and treats each fenced code block by its language and by the HTML
comment on the line before it (invisible in Sphinx and on GitHub alike):

* ```` ```python ```` with no comment before it: **executed**. A block with top-level
  ``await`` / ``async with`` / ``async for`` runs as the body of an async function
  under ``trio.run``, with ``trio`` and ``trinq`` imported; any other block runs as a
  script (``__name__ == "__main__"``), and its own ``trio.run`` is bounded. Either
  way it must finish within ``BLOCK_TIMEOUT`` seconds and must not need the network
  (bind ``tcp://127.0.0.1:*``) or another process.
* ``<!-- continue -->`` before a ```` ```python ```` block: executed in the namespace
  the previous executed block of the same page left (a program told in steps).
* ``<!-- fragment -->`` before a ```` ```python ```` block: shown, and compiled (so a
  syntax error fails the test), but not run: a piece of a larger program, or code that
  needs a peer in another process or runs forever. Say in the prose what it belongs to.
* Other languages (``sh``, ``text``, ``console``, none) are not run.
* Programs that live in ``examples/`` are shown with ``literalinclude`` (MyST:
  ```` ```{literalinclude} ../../examples/hwserver.py ````): tests/test_examples_*.py
  run them.

Links: relative Markdown links work both on GitHub and here. A link to a repository
file outside docs/ (README.md, CHANGELOG.md, examples/README.md, bench/README.md) is
turned into a link to the page of the site that shows it (``REPO_PAGES``); a link to
any other repository file (an example script) becomes a download of that file.
"""

from __future__ import annotations

import enum
import importlib
import importlib.util
import inspect
import logging as pylogging
import os
import pkgutil
import sys
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive
from docutils.statemachine import StringList
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))  # autodoc imports trinq from this checkout

import trinq  # noqa: E402

# -- Project --------------------------------------------------------------------------

project = "trinq"
author = "The trinq developers"
copyright = "the trinq developers (MPL-2.0)"
release = trinq.__version__
version = release

# -- General --------------------------------------------------------------------------

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.intersphinx",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "**/__pycache__", "Thumbs.db", ".DS_Store"]
templates_path: list[str] = []
#: Pages that may not exist yet (others are writing them): index.md lists them in its
#: toctrees by glob, and a glob among these that matches nothing is not an error.
OPTIONAL_PAGES = ("transports*", "security*", "reliability*", "testing*")

# MyST: GitHub-style anchors for headings, so "page.md#some-heading" links work here
# as they do on GitHub.
myst_heading_anchors = 4

# -- autodoc / napoleon ---------------------------------------------------------------

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"show-inheritance": True}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
napoleon_attr_annotations = True
# "Attributes:" sections as field lists: autodoc also documents the (attrs) fields
napoleon_use_ivar = True

# -- intersphinx: off unless asked (CI has no network) ----------------------------------

if os.environ.get("TRINQ_DOCS_INTERSPHINX") == "1":
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "trio": ("https://trio.readthedocs.io/en/stable", None),
    }
else:
    intersphinx_mapping = {}

# -- HTML -----------------------------------------------------------------------------

html_theme = "furo"
html_title = f"trinq {release}"
html_static_path = ["_static"]
html_css_files = ["trinq.css"]
html_show_sourcelink = True

# -- Links to repository files outside docs/ --------------------------------------------

#: repository file (relative to the root) -> the docname of the page that shows it
REPO_PAGES = {
    "README.md": "index",
    "CHANGELOG.md": "changelog",
    "examples/README.md": "examples",
    "bench/README.md": "bench",
}


def _link_path(env: object, node: nodes.Element) -> tuple[Path, str] | None:
    """The repository file a MyST link node points to, and its anchor; None if the
    link is not to a local file, or already resolved to one of the site's pages."""
    srcdir = Path(env.srcdir)  # type: ignore[attr-defined]
    docname: str = env.docname  # type: ignore[attr-defined]
    target: str = node.get("reftarget", "")
    if isinstance(node, addnodes.pending_xref) and node.get("refdomain") == "doc":
        if target in env.found_docs:  # type: ignore[attr-defined]
            return None
        # MyST made a docname of a Markdown file outside docs/: put the suffix back
        base = Path(target) if Path(target).is_absolute() else srcdir / target
        for suffix in (".md", ".rst"):
            if Path(str(base) + suffix).is_file():
                return Path(str(base) + suffix).resolve(), node.get("reftargetid") or ""
        return None
    path_part, _, anchor = target.partition("#")
    if not path_part or "://" in path_part or path_part.startswith("mailto:"):
        return None
    # relative to the file the text came from (an {include}d file), as on GitHub
    source = Path(node.source) if node.source else srcdir / docname
    return (source.parent / path_part).resolve(), anchor


def _repo_links(app: Sphinx, doctree: nodes.document) -> None:
    """Point links to repository files at the site's pages (see ``REPO_PAGES``).

    MyST resolves a relative link against the page that contains it, also for text
    pulled in with ``{include}``, and makes a download of a file outside docs/. This
    resolves it against the file the text came from (``node.source``), as GitHub does,
    and sends links to the files in ``REPO_PAGES`` to their pages.
    """
    env = app.env
    srcdir = Path(env.srcdir)
    nodes_to_check = [
        *doctree.findall(addnodes.download_reference),
        *doctree.findall(addnodes.pending_xref),
    ]
    for node in nodes_to_check:
        if node.get("reftype") != "myst":
            continue
        if isinstance(node, addnodes.pending_xref) and node.get("refdomain") not in (
            None,
            "",
            "doc",
        ):
            continue
        found = _link_path(env, node)
        if found is None:
            continue
        path, anchor = found
        if path.is_relative_to(srcdir):
            docname = env.path2doc(str(path))
        elif path.is_relative_to(ROOT):
            docname = REPO_PAGES.get(path.relative_to(ROOT).as_posix())
        else:
            docname = None
        if docname is not None:
            new: nodes.Element = addnodes.pending_xref(
                "",
                *node.children,
                refdomain="doc",
                reftarget=docname,
                reftargetid=anchor or None,
                refdoc=env.docname,
                reftype="myst",
                refexplicit=node.get("refexplicit"),
            )
        elif path.is_file() and not isinstance(node, addnodes.download_reference):
            # a repository file with no page of its own (an example script): download it
            new = addnodes.download_reference(
                "",
                "",
                *node.children,
                refdomain=None,
                reftype="myst",
                reftarget=os.path.relpath(path, (srcdir / env.docname).parent),
                refdoc=env.docname,
                refexplicit=node.get("refexplicit"),
            )
        else:
            continue  # left for Sphinx to report
        new.source, new.line = node.source, node.line
        node.replace_self(new)


# -- The constants table ----------------------------------------------------------------


def _constant_groups() -> dict[str, list[tuple[str, str, str]]]:
    """``trinq``'s constants by kind: (name, value, note), from ``_constants.__all__``."""
    from trinq import _constants as C
    from trinq._options import OPTIONS

    by_id: dict[int, str] = {}
    for spec in OPTIONS.values():
        if isinstance(spec.id, int):
            by_id.setdefault(spec.id, spec.name)
    groups: dict[str, list[tuple[str, str, str]]] = {
        "Socket types": [],
        "Flags": [],
        "Security mechanisms": [],
        "Socket options": [],
        "Error numbers": [],
        "Other": [],
    }
    for name in C.__all__:
        value = getattr(C, name)
        if isinstance(value, type):
            continue  # SocketType: documented as a class
        if isinstance(value, C.SocketType):
            groups["Socket types"].append((name, str(int(value)), f"``SocketType.{value.name}``"))
        elif name in ("DONTWAIT", "NOBLOCK", "SNDMORE", "POLLIN", "POLLOUT", "POLLERR"):
            groups["Flags"].append((name, str(value), ""))
        elif name in ("NULL", "PLAIN", "CURVE", "GSSAPI"):
            groups["Security mechanisms"].append((name, str(value), "values of ``mechanism``"))
        elif name.startswith("E") and name[1:].isupper() and name not in ("EVENTS",):
            note = "libzmq's own" if value > 150_000_000 else "``errno``"
            groups["Error numbers"].append((name, str(value), note))
        elif isinstance(value, int) and value in by_id:
            option = by_id[value]
            note = f"``{option}``" if option.upper() == name else f"``{option}`` (alias)"
            groups["Socket options"].append((name, str(value), note))
        else:
            value_text = str(int(value)) if isinstance(value, enum.Enum) else repr(value)
            groups["Other"].append((name, value_text, ""))
    return {title: rows for title, rows in groups.items() if rows}


class ConstantsDirective(Directive):
    """``.. trinq-constants::``: tables of every constant in ``trinq._constants.__all__``."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        lines: list[str] = []
        for title, rows in _constant_groups().items():
            lines += [f".. rubric:: {title}", "", ".. list-table::", "   :header-rows: 1", ""]
            lines += ["   * - name", "     - value", "     - notes"]
            for name, value, note in rows:
                lines += [f"   * - ``trinq.{name}``", f"     - ``{value}``", f"     - {note}"]
            lines.append("")
        container = nodes.section()
        container.document = self.state.document
        self.state.nested_parse(StringList(lines, source="trinq-constants"), 0, container)
        return list(container.children)


# -- Module data that automodule cannot see ---------------------------------------------


def _attr_docs(modname: str) -> dict[str, list[str]]:
    """The ``#:`` doc comments of a module's top-level names (Sphinx's analyzer)."""
    from sphinx.errors import PycodeError
    from sphinx.pycode import ModuleAnalyzer

    try:
        analyzer = ModuleAnalyzer.for_module(modname)
        docs = analyzer.find_attr_docs()
    except PycodeError:
        return {}
    return {name: list(lines) for (scope, name), lines in docs.items() if scope == ""}


class ModuleDataDirective(SphinxDirective):
    """``.. trinq-module-data:: MODULE``: the data (constants, sentinels, type aliases) in
    MODULE's ``__all__`` that ``automodule`` leaves out.

    ``automodule`` documents a module-level value only when the module itself has a
    ``#:`` comment for it; a module that re-exports constants from private modules
    (``trinq.zmtp``) would lose them. This documents each such name, with the ``#:``
    comment of the private module that defines it when there is one.
    """

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        modname = self.arguments[0]
        module = importlib.import_module(modname)
        own = _attr_docs(modname)
        # where the values may be defined: a package's private modules, or the private
        # twin of a module (trinq.auth re-exporting trinq._auth)
        parent, _, last = modname.rpartition(".")
        candidates = [
            f"{modname}.{info.name}"
            for info in pkgutil.iter_modules(getattr(module, "__path__", []))
        ]
        if parent and importlib.util.find_spec(f"{parent}._{last}") is not None:
            candidates.append(f"{parent}._{last}")
        sources = [_attr_docs(name) for name in candidates]
        lines: list[str] = []
        for name in getattr(module, "__all__", []):
            value = getattr(module, name)
            if inspect.ismodule(value) or inspect.isclass(value) or inspect.isroutine(value):
                continue
            if name in own:
                continue  # automodule documents it
            doc = next((docs[name] for docs in sources if name in docs), [])
            text = repr(value)
            lines.append(f".. py:data:: {name}")
            lines.append(f"   :module: {modname}")
            if len(text) <= 80 and "\n" not in text:
                lines.append(f"   :value: {text}")
            lines.append("")
            lines += [f"   {line}" for line in doc]
            lines.append("")
        container = nodes.section()
        container.document = self.state.document
        self.state.nested_parse(
            StringList(lines, source=f"trinq-module-data {modname}"), 0, container
        )
        return list(container.children)


def _optional_page_filter(record: pylogging.LogRecord) -> bool:
    """Drop "toctree glob pattern ... didn't match" for :data:`OPTIONAL_PAGES` only
    (that warning has no type, so ``suppress_warnings`` cannot name it)."""
    return not (
        getattr(record, "subtype", None) == "empty_glob"
        and isinstance(record.args, tuple)
        and record.args[:1] in [(pattern,) for pattern in OPTIONAL_PAGES]
    )


def setup(app: Sphinx) -> dict[str, object]:
    pylogging.getLogger("sphinx.sphinx.directives.other").addFilter(_optional_page_filter)
    app.connect("doctree-read", _repo_links)
    app.add_directive("trinq-constants", ConstantsDirective)
    app.add_directive("trinq-module-data", ModuleDataDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
