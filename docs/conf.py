"""Sphinx configuration of zlmdb's documentation site.

Build it with `make docs` (HTML in build/docs/html; warnings are errors).
The pages are the Markdown files of this directory (MyST); the Python API
reference comes from the installed package (autodoc), the C API reference
from include/zlmdb.h (doxygen XML, rendered by breathe).  _ext/zlmdb_docs.py
runs doxygen and checks that every public name has its entry.
"""
import pathlib
import re
import sys

DOCS = pathlib.Path(__file__).resolve().parent
ROOT = DOCS.parent
BUILD = ROOT / "build" / "docs"
sys.path.insert(0, str(DOCS / "_ext"))

project = "zlmdb"
author = "zlmdb developers"
copyright = "zlmdb developers"
# The site is the Python package's: its version (libzlmdb, the C library,
# has its own, in include/zlmdb.h, which the C API pages state).
release = re.search(r'^__version__ = "([^"]+)"',
                    (ROOT / "python" / "zlmdb" / "__init__.py").read_text(), re.M).group(1)
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "breathe",
    "zlmdb_docs",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_ext", "Doxyfile"]
# Headings get anchors, so pages can link to a section (page.md#section).
myst_heading_anchors = 3
# Navigation lists pages and their sections, not every API entry.
toc_object_entries = False
# Blocks without a language are plain text; Python is never guessed.
highlight_language = "text"

# autodoc: signatures come from the code (for the C extension, from the
# __text_signature__ line of each docstring); members in source order.
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True}
autoclass_content = "class"

# breathe: the doxygen XML that _ext/zlmdb_docs.py generates.
breathe_projects = {"zlmdb": str(BUILD / "doxygen" / "xml")}
breathe_default_project = "zlmdb"
breathe_domain_by_extension = {"h": "c"}
breathe_show_include = False
breathe_show_define_initializer = True

html_theme = "alabaster"
html_title = "zlmdb %s" % release
html_theme_options = {
    "description": "Transactional embedded database over LMDB with a C core",
    "fixed_sidebar": True,
    "show_relbars": True,
    "page_width": "1160px",
}
html_sidebars = {"**": ["about.html", "navigation.html", "searchbox.html"]}
html_static_path = []
