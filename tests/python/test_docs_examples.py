"""The Python examples in README.md and docs/*.md run as written (in a
temporary working directory; README's /tmp path is redirected there)."""
import contextlib
import io
import os
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
BLOCKS = [(doc, i, code) for doc in DOCS
          for i, code in enumerate(re.findall(r"```python\n(.*?)```", doc.read_text(), re.S))]


def test_there_are_examples():
    assert any(doc.name == "README.md" for doc, _, _ in BLOCKS)
    assert any(doc.name == "orm.md" for doc, _, _ in BLOCKS)


@pytest.mark.parametrize("doc,index,code", BLOCKS,
                         ids=["%s-%d" % (d.name, i) for d, i, _ in BLOCKS])
def test_example_runs(tmp_path, monkeypatch, doc, index, code):
    monkeypatch.chdir(tmp_path)
    code = code.replace("/tmp/example-db", str(tmp_path / "example-db"))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "%s[%d]" % (doc, index), "exec"), {"__name__": "__example__"})
    if doc.name == "README.md" and index == 0:
        assert "b'admin'" in out.getvalue()
