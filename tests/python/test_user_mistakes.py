"""What a new user trips on in the first hour, one case per finding that is
fixed (the findings of the "first hour of a new user" review): reading a
zero-copy value after close, the demo, which package pip installs, how to
install, the quick start's build options.

A reproduction that used to kill the process runs in a child interpreter,
so that a regression shows as a failed test, not a dead test run.
"""
import os
import pathlib
import subprocess
import sys
import textwrap
import time

import pytest

import zlmdb

from conftest import run_python

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _child(code, *args):
    res = run_python(textwrap.dedent(code), *args)
    assert res.returncode == 0, "child died (%d): %s%s" % (res.returncode, res.stdout,
                                                          res.stderr)
    return res.stdout.split()


# -- 1. zero-copy reads after close never crash --------------------------------


def test_buffers_view_read_after_env_close(tmp_path):
    out = _child("""
        import sys, zlmdb.lmdb as lmdb
        env = lmdb.open(sys.argv[1])
        with env.begin(write=True) as t:
            t.put(b"k", b"x" * 100000)
        t = env.begin(buffers=True)
        mv = t.get(b"k")
        env.close()
        print(len(mv), bytes(mv[-3:]).decode(), sum(mv))
        """, str(tmp_path / "e"))
    assert out == ["100000", "xxx", str(120 * 100000)]


def test_orm_numpy_array_read_after_db_close(tmp_path):
    pytest.importorskip("numpy")
    # A temporary Database even removes its directory at close.
    out = _child("""
        import numpy, zlmdb
        db = zlmdb.Database()
        grids = zlmdb.MapStringNumpy(1)
        with db.begin(write=True) as txn:
            grids[txn, "g"] = numpy.ones((300, 300))
        with db.begin(buffers=True) as txn:
            g = grids[txn, "g"]
        db.close()
        print(int(g.sum()), g.shape[0], g.flags.writeable)
        """)
    assert out == ["90000", "300", "False"]


# -- 4. the demo shows the product, and counts right -------------------------


def _demo(db):
    started = time.monotonic()
    res = subprocess.run([sys.executable, str(ROOT / "examples" / "demo.py")],
                         capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, ZLMDB_DEMO_DB=str(db)))
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout, time.monotonic() - started


def test_demo_run_twice_shows_both_apis_and_counts_overwrites(tmp_path):
    # The command's own output is not compared (test_cli.py owns it).
    db = tmp_path / "demo-db"
    first, seconds = _demo(db)
    assert seconds < 60
    for section in ("1. zlmdb.lmdb", "2. zlmdb: the ORM", "3. zlmdb.codec",
                    "4. the zlmdb command"):
        assert section in first
    assert "run 1: wrote 1000 user records in one transaction: 1000 new, 0 overwritten" \
        in first
    assert "index entries in one transaction: 1000 new, 0 overwritten" in first
    assert "index lookup: by_email['user0042@example.org'] -> oid 42" in first
    assert "count: 1000 users, 1000 index entries" in first
    for command in ("tables", "count", "get", "info"):
        assert "$ zlmdb %s " % command in first
    assert "(exit status" not in first              # every command succeeded
    assert "'entries'" not in first and "{'psize'" not in first   # no raw stat dict
    assert (db / "kv" / "data.mdb").exists() and (db / "orm" / "data.mdb").exists()

    second, _ = _demo(db)
    assert "run 2: wrote 1000 user records in one transaction: 0 new, 1000 overwritten" \
        in second
    assert "index entries in one transaction: 0 new, 1000 overwritten" in second
    assert "1000 new" not in second
    assert "(run 2)" in second and "runs so far: 2" in second


# -- 7. pip install -U zlmdb does not swap in upstream -------------------------


def test_upgrade_against_upstream_on_an_index_keeps_this_package():
    # Ours is <upstream release>.<our release>: newer than upstream zlmdb
    # 26.10.1, which it matches, older than upstream's next release; ordered
    # as pip orders them (packaging, which pytest depends on).
    from importlib import metadata

    from packaging.specifiers import SpecifierSet
    from packaging.version import Version
    ours = Version(zlmdb.__version__)
    assert len(ours.release) == 4 and ours.release[3] >= 1 and not ours.is_prerelease
    assert Version("26.10.1") < ours < Version("26.10.2") < Version("26.11.1")
    assert metadata.version("zlmdb") == zlmdb.__version__
    # The pin the README gives keeps ours and refuses upstream's 26.10.1.
    pin = SpecifierSet(">26.10.1,<26.10.2")
    assert ours in pin and Version("26.10.1") not in pin
    readme = (ROOT / "README.md").read_text()
    assert zlmdb.__version__ in readme and '"zlmdb>26.10.1,<26.10.2"' in readme


def test_a_core_built_for_another_version_says_reinstall(monkeypatch):
    monkeypatch.setattr(zlmdb._native, "package_version", "26.7.1.3")
    with pytest.raises(ImportError) as info:
        zlmdb._check_native_version()
    msg = str(info.value)
    assert zlmdb.__version__ in msg and "26.7.1.3" in msg        # the cause
    assert "pip install --force-reinstall ." in msg              # the way out


# -- 6. install docs -------------------------------------------------------------


def test_readme_tells_a_python_user_how_to_install_before_anything_else():
    readme = (ROOT / "README.md").read_text()
    install = readme.index("\n## Install\n")
    assert install < readme.index("\n## Set-up for development")
    assert install < readme.index("\n## What is in the box")
    section = readme[install:readme.index("\n## ", install + 1)]
    assert "python3 -m pip install ." in section


def test_quickstart_build_options_are_markdown_not_a_directive():
    page = (ROOT / "docs" / "quickstart.md").read_text()
    options = page[page.index("\n## Build options\n"):]
    assert "{include}" not in page
    for name in ("ZLMDB_LMDB_SOURCE", "ZLMDB_SYSTEM_LMDB", "ZLMDB_SANITIZE",
                 "ZLMDB_DEPS_CACHE"):
        assert "| `%s" % name in options
