"""The documentation site's own Sphinx extension.

* Runs doxygen on include/zlmdb.h before reading the pages (breathe renders
  its XML on capi-reference.md); doxygen's warnings (an undocumented macro,
  a parameter without @param, a broken #link) become Sphinx warnings, so
  `make docs` fails on them.
* ``zlmdb-map-table``: a table of every ``zlmdb.Map*`` class, made from the
  same rows (zlmdb._maps.MAPS) the classes are made from.
* After reading, checks that every public name has an entry: each function,
  type, enumerator and macro of include/zlmdb.h in the C domain, and each
  name of zlmdb.lmdb, zlmdb.lmdb.verify, zlmdb.codec and zlmdb (with the
  methods of their classes) in the Python domain.  A name added to the API
  without an entry fails the build.
"""
import importlib
import inspect
import pathlib
import re
import shutil
import subprocess
import textwrap

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

DOCS = pathlib.Path(__file__).resolve().parents[1]
ROOT = DOCS.parent
HEADER = ROOT / "include" / "zlmdb.h"


# ------------------------------------------------------------------ doxygen

def run_doxygen(app):
    doxygen = shutil.which("doxygen")
    if doxygen is None:
        raise ExtensionError("doxygen is needed for the C API reference: `make docs` "
                             "installs it (Debian package doxygen)")
    xml_dir = pathlib.Path(app.config.breathe_projects["zlmdb"])
    out = xml_dir.parent
    if out.exists():
        shutil.rmtree(out)      # no stale XML of a symbol that was removed
    out.mkdir(parents=True)
    config = (DOCS / "Doxyfile").read_text() + "\nOUTPUT_DIRECTORY = %s\n" % out
    proc = subprocess.run([doxygen, "-"], input=config, cwd=ROOT, text=True,
                          capture_output=True)
    if proc.returncode != 0:
        raise ExtensionError("doxygen failed:\n" + proc.stderr)
    # Multi-line warnings continue on indented lines: keep them together.
    message = []
    for line in proc.stderr.splitlines() + [""]:
        if line.startswith(" ") and message:
            message.append(line.strip())
            continue
        if message:
            logger.warning("doxygen: %s", " ".join(message))
        message = [line] if line.strip() else []


# ---------------------------------------------------------------- map table

class MapTable(Directive):
    """A table of the Map* classes: name, key, value, constructor."""

    has_content = False

    def run(self):
        from zlmdb._maps import MAPS, _OBJECT_CODECS

        table = nodes.table(classes=["zlmdb-maps"])
        group = nodes.tgroup(cols=4)
        table += group
        for width in (34, 30, 14, 22):
            group += nodes.colspec(colwidth=width)

        def row(cells, header=False):
            r = nodes.row()
            for cell in cells:
                entry = nodes.entry()
                para = nodes.paragraph()
                para += cell if isinstance(cell, nodes.Node) else nodes.Text(cell)
                entry += para
                r += entry
            return r

        head = nodes.thead()
        head += row(["class", "key components", "value", "extra arguments"])
        group += head
        body = nodes.tbody()
        for name, key, value in MAPS:
            extra = _OBJECT_CODECS.get(value)
            body += row([nodes.literal(text=name), " + ".join(key), value,
                         ", ".join(extra) if extra else "-"])
        group += body
        return [table]


# ------------------------------------------------------ C API reference page

CAPI_PAGE = "capi-reference"

# A declaration of include/zlmdb.h and the breathe directive rendering it.
_DECLARATIONS = [
    (re.compile(r"^[ \t]*#[ \t]*define[ \t]+(\w+)", re.M), "doxygendefine"),
    (re.compile(r"ZLMDB_EXTERN\([^)]*\)\s*(zlmdb_\w+)\s*\("), "doxygenfunction"),
    (re.compile(r"typedef\s+struct\s+(\w+)\s*\{"), "doxygenstruct"),
    (re.compile(r"typedef\s+struct\s+(\w+)\s+\1\s*;"), "doxygentypedef"),
    (re.compile(r"typedef\s+enum\s+(\w+)\s*\{"), "doxygenenum"),
]
_GROUP_START = re.compile(r"/\*\*\s*@name\s+([^\n]*)\n(.*?)@\{\s*\*/", re.S)
_GROUP_END = re.compile(r"/\*\*\s*@\}\s*\*/")


def _public_text():
    """The header with its internal blocks and plain comments blanked out
    (same length, so positions still match)."""
    text = HEADER.read_text()

    def blank(m):
        return re.sub(r"[^\n]", " ", m.group(0))
    text = re.sub(r"/\*\*\s*@cond internal\s*\*/.*?/\*\*\s*@endcond\s*\*/", blank, text,
                  flags=re.S)
    return re.sub(r"/\*(?!\*).*?\*/", blank, text, flags=re.S)


def _doxygen_text_to_markdown(text):
    """A Doxygen comment body as Markdown: the comment's "*" margin goes,
    lines and list items stay, #name links become code."""
    lines = [re.sub(r"^\s*\*? ?", "", line).rstrip() for line in text.splitlines()]
    body = textwrap.dedent("\n".join(
        line for line in lines if not re.match(r"\s*@(file|brief)\b", line))).strip()
    return re.sub(r"#(\w+)", r"`\1`", body)


def _file_comment():
    m = re.match(r"\s*/\*\*(.*?)\*/", HEADER.read_text(), flags=re.S)
    return _doxygen_text_to_markdown(m.group(1)) if m else ""


def capi_reference_markdown():
    """MyST text for every public declaration of include/zlmdb.h, in the
    header's order, one section per @name group (declarations between
    groups stay with the group before them)."""
    text = _public_text()
    events = []
    for m in _GROUP_START.finditer(text):
        events.append((m.start(), "group", m.group(1).strip(), m.group(2)))
    for m in _GROUP_END.finditer(text):
        events.append((m.start(), "end", None, None))
    seen = set()
    for pattern, directive in _DECLARATIONS:
        for m in pattern.finditer(text):
            name = m.group(1)
            # ZLMDB_EXTERN has one definition per platform; the include
            # guard and zlmdb__ names are not API.
            if name in seen or name == "ZLMDB_H" or name.lower().startswith("zlmdb__"):
                continue
            seen.add(name)
            events.append((m.start(), directive, name, None))
    out = ["## Overview", "", _file_comment(), "", "## Linkage", ""]
    for _pos, kind, name, body in sorted(events, key=lambda e: e[0]):
        if kind == "group":
            out += ["## " + name, "", _doxygen_text_to_markdown(body), ""]
        elif kind != "end":
            options = [":members:"] if kind == "doxygenstruct" else []
            out += ["```{%s} %s" % (kind, name)] + options + ["```", ""]
    return "\n".join(out)


def add_capi_reference(app, docname, source):
    if docname == CAPI_PAGE:
        source[0] += "\n\n" + capi_reference_markdown()


# ----------------------------------------------------------------- coverage

def header_names():
    """Public names of include/zlmdb.h: (functions, types, enumerators, macros)."""
    text = HEADER.read_text()
    text = re.sub(r"/\*\*\s*@cond internal\s*\*/.*?/\*\*\s*@endcond\s*\*/", "", text,
                  flags=re.S)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    functions = set(re.findall(r"ZLMDB_EXTERN\([^)]*\)\s*(zlmdb_\w+)\s*\(", text))
    types = set(re.findall(r"typedef\s+(?:struct|enum)\s+\w+(?:\s*\{.*?\})?\s*(\w+)\s*;",
                           text, flags=re.S))
    enumerators = set()
    for body in re.findall(r"typedef\s+enum\s+\w+\s*\{(.*?)\}", text, flags=re.S):
        enumerators.update(re.findall(r"^\s*(\w+)", body, flags=re.M))
    macros = set(re.findall(r"^\s*#\s*define\s+(\w+)", text, flags=re.M)) - {"ZLMDB_H"}
    return functions, types, enumerators, macros


def python_names():
    """Fully qualified public names the Python API reference must cover."""
    wanted = set()
    lmdb = importlib.import_module("zlmdb.lmdb")
    verify = importlib.import_module("zlmdb.lmdb.verify")
    codec = importlib.import_module("zlmdb.codec")
    zlmdb = importlib.import_module("zlmdb")
    maps = set(importlib.import_module("zlmdb._maps").MAP_CLASSES)
    # Modules and the lazily imported FlatBuffers runtime are not entries;
    # the Map* classes are rows of zlmdb-map-table.
    skip = {"__version__", "flatbuffers", "codec", "lmdb"} | maps
    for module, names in ((lmdb, list(lmdb.__all__) + ["open"]), (codec, codec.__all__),
                          (zlmdb, zlmdb.__all__),
                          (verify, ["verify", "resolve_data_path", "VerifyError"])):
        for name in names:
            if module is zlmdb and name in skip:
                continue
            full = "%s.%s" % (module.__name__, name)
            wanted.add(full)
            obj = getattr(module, name)
            if name == "open":
                continue        # Environment under a second name
            if inspect.isclass(obj) and not issubclass(obj, BaseException):
                for attr, value in vars(obj).items():
                    if attr.startswith("_") or not (callable(value) or
                                                    isinstance(value, property)):
                        continue
                    wanted.add("%s.%s" % (full, attr))
    return wanted


def check_coverage(app, env):
    c_names = set()
    for name, _disp, _kind, _doc, _anchor, _prio in env.get_domain("c").get_objects():
        c_names.add(name)
        c_names.add(name.rsplit(".", 1)[-1])
    functions, types, enumerators, macros = header_names()
    for kind, names in (("function", functions), ("type", types),
                        ("enumerator", enumerators), ("macro", macros)):
        for name in sorted(names - c_names):
            logger.warning("C API reference: %s %s of include/zlmdb.h has no entry",
                           kind, name)
    py_names = set(env.get_domain("py").objects)
    for name in sorted(python_names() - py_names):
        logger.warning("Python API reference: %s has no entry", name)


def setup(app):
    app.connect("builder-inited", run_doxygen)
    app.connect("source-read", add_capi_reference)
    app.connect("env-check-consistency", check_coverage)
    app.add_directive("zlmdb-map-table", MapTable)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
