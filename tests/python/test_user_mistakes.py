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
    monkeypatch.setattr(zlmdb, "_built_version", lambda: "26.7.1.3")
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


# -- 2. errors that say what went wrong and what to do -------------------------
# Each case asserts the class (what code catches) and that the message names
# the cause and the way out.


@pytest.fixture
def db(tmp_path):
    d = zlmdb.Database(str(tmp_path / "db"))
    yield d
    d.close()


def _raises(klass, func):
    with pytest.raises(klass) as info:
        func()
    return str(info.value)


def test_a_value_of_the_wrong_type_is_reported_as_a_value(db):
    m = zlmdb.MapStringString(1)

    def put():
        with db.begin(write=True) as txn:
            m[txn, "k"] = 42
    msg = _raises(TypeError, put)
    assert "MapStringString" in msg and "value" in msg       # which map, what part
    assert "key" not in msg                                   # not a key error
    assert "a str" in msg and "int" in msg                    # what it takes, what it got
    # the same for a value codec of fixed size, and for a number out of range
    msg = _raises(ValueError, lambda: _put(db, zlmdb.MapBytes32Bytes32(2), b"k" * 32, b"x"))
    assert msg.startswith("MapBytes32Bytes32: value") and "key component" not in msg
    msg = _raises(ValueError, lambda: _put(db, zlmdb.MapStringOid(3), "k", -1))
    assert "MapStringOid" in msg and "value" in msg and "key component" not in msg


def _put(db, m, key, value):
    with db.begin(write=True) as txn:
        m[txn, key] = value


def test_a_write_in_a_read_only_transaction_says_how_to_get_a_write_one(db):
    m = zlmdb.MapStringString(1)

    def put():
        with db.begin() as txn:
            m[txn, "k"] = "v"
    msg = _raises(zlmdb.lmdb.ReadonlyError, put)
    assert "read-only transaction" in msg and "db.begin(write=True)" in msg

    def raw_put():                 # upstream's txn.put(), on the ORM transaction
        with db.begin() as txn:
            txn.put(b"\x00\x01k", b"v")
    msg = _raises(zlmdb.lmdb.ReadonlyError, raw_put)
    assert "read-only transaction" in msg and "db.begin(write=True)" in msg


def test_the_low_level_read_only_error_keeps_py_lmdb_words(tmp_path):
    env = zlmdb.lmdb.open(str(tmp_path / "e"))
    try:
        with env.begin() as txn:
            with pytest.raises(zlmdb.lmdb.ReadonlyError) as info:
                txn.put(b"k", b"v")
        assert "db.begin" not in str(info.value) and str(info.value).startswith("mdb_put: ")
    finally:
        env.close()


def test_writing_to_a_read_only_database_raises_a_readonly_error(tmp_path):
    path = str(tmp_path / "db")
    zlmdb.Database(path).close()
    db = zlmdb.Database(path, readonly=True)
    try:
        msg = _raises(zlmdb.lmdb.ReadonlyError, lambda: db.begin(write=True))
        assert issubclass(zlmdb.lmdb.ReadonlyError, Exception)   # except Exception still works
        assert "readonly=True" in msg and "readonly=False" in msg
    finally:
        db.close()


def test_swapped_key_and_transaction_names_the_order(db):
    m = zlmdb.MapOidCbor(1)
    with db.begin(write=True) as txn:
        for op in (lambda: m[1, txn], lambda: m.__setitem__((1, txn), {}),
                   lambda: m.__delitem__((1, txn)), lambda: (1, txn) in m):
            msg = _raises(TypeError, op)
            assert "MapOidCbor" in msg and "pmap[txn, key]" in msg and "first" in msg


def _fill_until_full(db, records):
    m = zlmdb.MapOidPickle(1)

    def fill():
        with db.begin(write=True) as txn:
            for i in range(records):
                m[txn, i] = b"x" * 100
    try:
        return _raises(zlmdb.lmdb.MapFullError, fill)
    finally:
        db.close()


def test_a_full_map_names_the_ways_out_in_the_orm(tmp_path):
    msg = _fill_until_full(zlmdb.Database(str(tmp_path / "db"), maxsize=1 << 16), 10000)
    assert "MDB_MAP_FULL" in msg                                   # the cause
    for way in ("maxsize=", "growth=", "zlmdb grow"):             # the ways out
        assert way in msg


def test_a_full_map_at_the_growth_ceiling_names_the_ways_out(tmp_path):
    db = zlmdb.Database(str(tmp_path / "db"), maxsize=1 << 20, growth=2,
                        initial_size=1 << 16)
    msg = _fill_until_full(db, 100000)
    assert "ceiling" in msg and "maxsize=" in msg and "zlmdb grow" in msg


def test_a_full_map_names_the_ways_out_in_the_low_level_api(tmp_path):
    env = zlmdb.lmdb.open(str(tmp_path / "e"), map_size=1 << 16)
    try:
        with pytest.raises(zlmdb.lmdb.MapFullError) as info:
            with env.begin(write=True) as txn:
                for i in range(10000):
                    txn.put(b"%d" % i, b"x" * 100)
    finally:
        env.close()
    e = info.value
    # py-lmdb 3.0's message, which its own suite compares word for word ...
    assert str(e) == "mdb_put: %s (Please use a larger Environment(map_size=) parameter)" \
        % e.reason
    # ... and the ways out in a note, shown with the traceback
    note = " ".join(e.__notes__)
    for way in ("map_size=", "set_mapsize", "maxsize=", "growth=", "zlmdb grow"):
        assert way in note


def test_a_map_without_a_slot_says_how_to_get_one(db):
    m = zlmdb.MapOidCbor()
    with db.begin() as txn:
        for op in (lambda: m[txn, 1], lambda: m.count(txn), lambda: m.select(txn),
                   lambda: m.physical_key(1)):
            msg = _raises(RuntimeError, op)
            assert "MapOidCbor has no slot" in msg
            assert "MapOidCbor(slot)" in msg and "db.attach_table" in msg


def test_a_transaction_used_after_its_block_says_to_begin_a_new_one(db):
    m = zlmdb.MapOidCbor(1)
    with db.begin(write=True) as txn:
        m[txn, 1] = {}
    for op in (lambda: m[txn, 1], lambda: m.__setitem__((txn, 2), {}),
               lambda: m.count(txn)):
        msg = _raises(RuntimeError, op)
        assert "not open" in msg and "with db.begin() as txn:" in msg and "new one" in msg


def test_a_composite_key_of_the_wrong_arity_names_its_components(db):
    import uuid
    m = zlmdb.MapUuidUuidCbor(1)
    with db.begin(write=True) as txn:
        msg = _raises(TypeError, lambda: m.__setitem__((txn, uuid.uuid4()), {}))
        assert "MapUuidUuidCbor keys are tuples of 2 components" in msg
        assert "('uuid', 'uuid')" in msg and "UUID" in msg
        msg = _raises(ValueError, lambda: m.__setitem__((txn, (uuid.uuid4(),)), {}))
        assert "2 components ('uuid', 'uuid'), not 1" in msg


def test_a_missing_index_names_the_indexes_there_are(db):
    users = zlmdb.MapOidCbor(1)
    by_name = zlmdb.MapStringOid(2)
    users.attach_index("by_name", by_name, lambda u: u["name"])
    with db.begin(write=True) as txn:
        for op in (lambda: users.rebuild_index(txn, "by_email"),
                   lambda: users.detach_index("by_email")):
            msg = _raises(KeyError, op)
            assert "no index 'by_email'" in msg and "'by_name'" in msg
            assert "attach_index" in msg


def test_a_closed_database_says_to_open_it_again(tmp_path):
    db = zlmdb.Database(str(tmp_path / "db"))
    db.close()
    msg = _raises(RuntimeError, db.begin)
    assert "is closed" in msg and "zlmdb.Database(" in msg


def test_a_low_level_transaction_given_to_a_map_names_the_right_one(db):
    m = zlmdb.MapOidCbor(1)
    with db.env.begin() as ltxn:
        msg = _raises(TypeError, lambda: m[ltxn, 1])
    assert "zlmdb.lmdb.Transaction" in msg and "Database.begin()" in msg


def test_a_cbor_map_given_only_marshal_says_they_go_together():
    msg = _raises(TypeError, lambda: zlmdb.MapStringCbor(1, marshal=dict))
    assert "marshal= and unmarshal= go together" in msg and "parse=" in msg
    assert "neither" in msg
    msg = _raises(TypeError, lambda: zlmdb.table("6f3b2c1e-0000-4000-8000-000000000001",
                                                 marshal=dict))
    assert "marshal= and parse= go together" in msg and "neither" in msg


# -- 3. CBOR and JSON maps store plain documents without functions ------------


def test_cbor_and_json_maps_without_marshal_store_plain_documents(db):
    import json

    from zlmdb import codec
    doc = {"name": "ada", "tags": ["x", "y"], "n": 3, "ok": True, "none": None,
           "nested": {"f": 1.5}}
    cb, js = zlmdb.MapStringCbor(1), zlmdb.MapOidJson(2)
    with db.begin(write=True) as txn:
        cb[txn, "a"] = doc
        js[txn, 7] = doc
        cb[txn, "list"] = [1, "two", None]
        js[txn, 8] = "scalar"
    with db.begin() as txn:
        assert cb[txn, "a"] == doc and js[txn, 7] == doc
        assert cb[txn, "list"] == [1, "two", None] and js[txn, 8] == "scalar"
        # the bytes upstream writes for the same dict: cbor2.dumps, and
        # json.dumps(separators=(",", ":"), ensure_ascii=False) as UTF-8
        assert txn.get(b"\x00\x01a") == codec.cbor_dumps(doc)
        cbor2 = pytest.importorskip("cbor2")
        assert txn.get(b"\x00\x01a") == cbor2.dumps(doc)
        assert txn.get(b"\x00\x02" + (7).to_bytes(8, "big")) == json.dumps(
            doc, separators=(",", ":"), ensure_ascii=False).encode()


def test_a_table_on_a_cbor_map_without_functions_stores_plain_documents(db):
    @zlmdb.table("6f3b2c1e-0000-4000-8000-0000000000aa")
    class Docs(zlmdb.MapOidCbor):
        """Plain documents."""
    docs = db.attach_table(Docs)
    with db.begin(write=True) as txn:
        docs[txn, 1] = {"a": [1, 2]}
    with db.begin() as txn:
        assert docs[txn, 1] == {"a": [1, 2]}


def test_a_table_with_marshal_and_parse_runs_them(db):
    class User:
        def __init__(self, name):
            self.name = name

    @zlmdb.table("6f3b2c1e-0000-4000-8000-0000000000ab", marshal=lambda u: {"name": u.name},
                 parse=lambda d: User(d["name"]))
    class Users(zlmdb.MapOidCbor):
        pass
    users = db.attach_table(Users)
    with db.begin(write=True) as txn:
        users[txn, 1] = User("ada")
    with db.begin() as txn:
        got = users[txn, 1]
        assert isinstance(got, User) and got.name == "ada"
        assert txn.get(b"\x00" + bytes([users.slot]) + (1).to_bytes(8, "big")) == \
            zlmdb.codec.cbor_dumps({"name": "ada"})
