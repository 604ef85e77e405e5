"""The code in README.md and on every documentation page (docs/, the
Sphinx site's sources) is checked here:

* every fenced block names its language, and none is Python under another
  name, so nothing that looks like Python escapes the next point;
* every Python block (Markdown ```python fences, and code-block/code
  directives of any .rst page) runs as written, in a temporary working
  directory (paths under /tmp are redirected there);
* every C block is an excerpt of a program in examples/c/, which the C
  tests build and run: its lines appear there in the same order (a line
  ``/* ... */`` marks lines left out), and every program there is a CTest
  test.
"""
import contextlib
import io
import pathlib
import platform
import re
import textwrap

import pytest

IS_PYPY = platform.python_implementation() == "PyPy"

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md"] + sorted(
    p for p in DOCS.rglob("*") if p.suffix in (".md", ".rst") and "_build" not in p.parts)
EXAMPLES_C = ROOT / "examples" / "c"

# Languages a fence may name.  Python is "python" and nothing else.
LANGUAGES = {"python", "c", "console", "sh", "text", "cmake"}
PYTHON_ALIASES = {"py", "py3", "python3", "pycon", "ipython", "ipython3", "pytb"}


def md_fences(text):
    """(info string, body, line number) of each fenced block of a Markdown
    page, nested fences (a longer fence around a shorter one) included."""
    lines = text.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)(`{3,}|~{3,})(.*)$", lines[i])
        if not m:
            i += 1
            continue
        fence, info, start = m.group(2), m.group(3).strip(), i
        body = []
        i += 1
        while i < len(lines) and not re.match(
                r"^\s*%s%s*\s*$" % (re.escape(fence), re.escape(fence[0])), lines[i]):
            body.append(lines[i])
            i += 1
        i += 1
        yield info, "".join(body), start + 1
        if info.startswith("{"):
            # A MyST directive: its body may hold fences of its own.
            for inner in md_fences("".join(body)):
                yield inner[0], inner[1], start + 1 + inner[2]


def rst_code_blocks(text):
    """(language, body, line number) of each code-block/code/sourcecode
    directive of a reStructuredText page."""
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        m = re.match(r"^(\s*)\.\.\s+(?:code-block|code|sourcecode)::\s*(\S*)", line)
        if not m:
            continue
        indent, body, j = len(m.group(1)), [], i + 1
        while j < len(lines) and (not lines[j].strip() or
                                  len(lines[j]) - len(lines[j].lstrip()) > indent):
            body.append(lines[j])
            j += 1
        # Directive options (":linenos:") come first, then the code.
        code = textwrap.dedent("".join(body))
        code = re.sub(r"\A(?:[ \t]*:[\w-]+:.*\n)*", "", code.lstrip("\n"))
        yield m.group(2), code, i + 1


def blocks(page):
    text = page.read_text()
    if page.suffix == ".rst":
        return list(rst_code_blocks(text))
    return list(md_fences(text))


BLOCKS = [(page, info, body, line) for page in PAGES for info, body, line in blocks(page)]
PYTHON = [b for b in BLOCKS if b[1] == "python"]
C_BLOCKS = [b for b in BLOCKS if b[1] == "c"]


def _id(block):
    return "%s:%d" % (block[0].relative_to(ROOT), block[3])


def test_there_are_examples():
    pages = {b[0].name for b in PYTHON}
    assert {"README.md", "orm.md", "quickstart.md"} <= pages
    assert C_BLOCKS


@pytest.mark.parametrize("block", BLOCKS, ids=[_id(b) for b in BLOCKS])
def test_every_block_names_its_language(block):
    page, info, _body, line = block
    if info.startswith("{"):
        return          # a MyST directive (toctree, eval-rst, ...)
    language = info.split()[0] if info else ""
    assert language, "%s:%d: a fence without a language" % (page, line)
    assert language not in PYTHON_ALIASES, (
        "%s:%d: write ```python, so the test runs it" % (page, line))
    assert language in LANGUAGES, "%s:%d: unknown language %r" % (page, line, language)


@pytest.mark.parametrize("block", PYTHON, ids=[_id(b) for b in PYTHON])
def test_python_example_runs(tmp_path, monkeypatch, block):
    page, _info, code, line = block
    if IS_PYPY and "record=" in code:
        pytest.skip("declared records (record=) are CPython-only so far (docs/orm.md)")
    monkeypatch.chdir(tmp_path)
    code = re.sub(r"([\"'])/tmp/", lambda m: m.group(1) + str(tmp_path) + "/", code)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "%s:%d" % (page, line), "exec"), {"__name__": "__example__"})
    if page.name == "README.md" and "b'admin'" in code:
        assert "b'admin'" in out.getvalue()


def _stripped_lines(text):
    return [line.strip() for line in text.splitlines() if line.strip()]


def _contains_in_order(haystack, segments):
    pos = 0
    for segment in segments:
        for start in range(pos, len(haystack) - len(segment) + 1):
            if haystack[start:start + len(segment)] == segment:
                pos = start + len(segment)
                break
        else:
            return False
    return True


@pytest.mark.parametrize("block", C_BLOCKS, ids=[_id(b) for b in C_BLOCKS])
def test_c_example_is_quoted_from_a_tested_program(block):
    page, _info, code, line = block
    segments, current = [], []
    for text in _stripped_lines(code):
        if text == "/* ... */":
            segments.append(current)
            current = []
        else:
            current.append(text)
    segments = [s for s in segments + [current] if s]
    sources = sorted(EXAMPLES_C.glob("*.c"))
    assert any(_contains_in_order(_stripped_lines(src.read_text()), segments)
               for src in sources), (
        "%s:%d: this C block is not an excerpt of any program in examples/c/" % (page, line))


def test_every_c_example_is_built_and_run_by_ctest():
    cmake = (ROOT / "tests" / "c" / "CMakeLists.txt").read_text()
    for src in sorted(EXAMPLES_C.glob("*.c")):
        target = re.search(r"add_executable\((\w+)\s+\S*examples/c/%s\"?\)"
                           % re.escape(src.name), cmake)
        assert target, "%s is not built by tests/c/CMakeLists.txt" % src.name
        assert re.search(r"add_test\(NAME \w+\s+COMMAND %s\b" % target.group(1), cmake), (
            "%s is built but not run as a test" % src.name)
