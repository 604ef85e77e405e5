"""Environment and Transaction basics: data round-trips, transactions keep
their promises, and misuse raises the py-lmdb exception, never crashes."""
import os

import lmdb as pylmdb
import pytest

import zlmdb.lmdb as zl
from conftest import IS_PYPY, run_python
from difftools import PYPY_SKIP


def outcome(fn):
    """What a call does: ('ok', result) or ('raise', class name, message)."""
    try:
        return ("ok", fn())
    except Exception as exc:  # noqa: BLE001 - we compare whatever is raised
        return ("raise", type(exc).__name__, str(exc))


def both(tmp_path, action, **env_kwargs):
    """Run `action(module, env)` against zlmdb.lmdb and py-lmdb."""
    if IS_PYPY:
        pytest.skip(PYPY_SKIP)
    results = []
    for name, mod in (("ours", zl), ("theirs", pylmdb)):
        e = mod.open(str(tmp_path / name), map_size=1 << 22, max_dbs=4, **env_kwargs)
        try:
            results.append(outcome(lambda: action(mod, e)))
        finally:
            e.close()
    return results


def test_values_round_trip(env):
    values = {b"k%d" % i: os.urandom(i * 37 % 2000) for i in range(200)}
    with env.begin(write=True) as txn:
        for k, v in values.items():
            assert txn.put(k, v) is True
    with env.begin() as txn:
        for k, v in values.items():
            got = txn.get(k)
            assert type(got) is bytes and got == v
        assert txn.get(b"missing") is None
        assert txn.get(b"missing", b"dflt") == b"dflt"


def test_buffer_protocol_keys_and_values(env):
    with env.begin(write=True) as txn:
        assert txn.put(bytearray(b"ba"), memoryview(b"mv"))
        assert txn.get(memoryview(b"ba")) == b"mv"


def test_buffers_true_returns_readonly_memoryviews(env):
    with env.begin(write=True) as txn:
        txn.put(b"k", b"value")
    with env.begin(buffers=True) as txn:
        got = txn.get(b"k")
        assert type(got) is memoryview and got.readonly
        assert bytes(got) == b"value"


def test_put_flags(env):
    with env.begin(write=True) as txn:
        assert txn.put(b"a", b"1")
        assert txn.put(b"a", b"2", overwrite=False) is False
        assert txn.get(b"a") == b"1"
        assert txn.put(b"z", b"3", append=True)
        # Appending out of order is refused with MDB_KEYEXIST, i.e. False.
        assert txn.put(b"b", b"4", append=True) is False
        assert txn.get(b"b") is None


def test_delete(env):
    with env.begin(write=True) as txn:
        txn.put(b"a", b"1")
        assert txn.delete(b"a") is True
        assert txn.delete(b"a") is False
        assert txn.get(b"a") is None


def test_abort_discards(env):
    with env.begin(write=True) as txn:
        txn.put(b"keep", b"1")
    txn = env.begin(write=True)
    txn.put(b"gone", b"2")
    txn.delete(b"keep")
    txn.abort()
    with env.begin() as txn:
        assert txn.get(b"gone") is None
        assert txn.get(b"keep") == b"1"


def test_exception_in_with_block_aborts(env):
    with pytest.raises(RuntimeError):
        with env.begin(write=True) as txn:
            txn.put(b"x", b"1")
            raise RuntimeError("boom")
    with env.begin() as txn:
        assert txn.get(b"x") is None


def test_committed_data_survives_reopen_in_new_process(path):
    e = zl.open(path)
    with e.begin(write=True) as txn:
        for i in range(100):
            txn.put(b"%03d" % i, b"v%d" % i)
    e.close()
    code = (
        "import sys, zlmdb.lmdb as lmdb\n"
        "env = lmdb.open(sys.argv[1], readonly=True)\n"
        "with env.begin() as t:\n"
        "    items = list(t.cursor())\n"
        "assert len(items) == 100, len(items)\n"
        "assert items[7] == (b'007', b'v7')\n"
        "print('ok', len(items))\n")
    res = run_python(code, path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "ok 100"


def test_readable_by_py_lmdb_and_back(tmp_path):
    p = str(tmp_path / "x")
    e = zl.open(p)
    with e.begin(write=True) as txn:
        txn.put(b"from", b"zlmdb")
    e.close()
    e = pylmdb.open(p)
    with e.begin(write=True) as txn:
        assert txn.get(b"from") == b"zlmdb"
        txn.put(b"back", b"py-lmdb")
    e.close()
    e = zl.open(p)
    with e.begin() as txn:
        assert txn.get(b"back") == b"py-lmdb"
    e.close()


def test_txn_id_counts_write_transactions(env):
    with env.begin() as txn:
        first = txn.id()
    with env.begin(write=True) as txn:
        assert txn.id() == first + 1
        txn.put(b"a", b"b")
    with env.begin() as txn:
        assert txn.id() == first + 1


@pytest.mark.parametrize("action", [
    lambda m, e: e.begin().get(None),
    lambda m, e: e.begin().get("str-key"),
    lambda m, e: e.begin().get(b""),
    lambda m, e: e.begin().get(123),
    lambda m, e: e.begin(write=True).put(b"", b"v"),
    lambda m, e: e.begin(write=True).put(b"x" * 512, b"v"),
    lambda m, e: e.begin(write=True).put(b"k", "str-value"),
    lambda m, e: e.begin().put(b"k", b"v"),
    lambda m, e: e.begin(write=True).get(b"k", nosuch=1),
    lambda m, e: e.begin().get(b"k", None, None, None),
    lambda m, e: e.begin().get(b"k", key=b"k"),
    lambda m, e: e.begin(db="main"),
    lambda m, e: e.begin(parent=e.begin()),
    lambda m, e: m.Transaction(None),
    lambda m, e: m.Transaction(),
    lambda m, e: e.begin(write=True).delete(b""),
    lambda m, e: e.begin(write=True).drop(),
    lambda m, e: e.open_db(None, dupsort=True),
    lambda m, e: e.open_db("str"),
    lambda m, e: e.open_db(b"nope", create=False),
    lambda m, e: e.copyfd(),
    lambda m, e: e.copy(None),
    lambda m, e: e.set_mapsize(-1),
    lambda m, e: m.open(e.path()),
], ids=lambda f: None)
def test_bad_arguments_raise_what_py_lmdb_raises(tmp_path, action):
    ours, theirs = both(tmp_path, action)
    if theirs[0] == "raise" and "already open" in theirs[2]:
        theirs = theirs[:2] + (theirs[2].replace("theirs", "ours"),)
    assert ours == theirs


def test_write_txn_on_readonly_env(path):
    zl.open(path).close()
    e = zl.open(path, readonly=True)
    with pytest.raises(zl.ReadonlyError,
                       match="Cannot start write transaction with read-only environment"):
        e.begin(write=True)
    e.close()


def test_same_thread_second_write_txn_raises_instead_of_deadlock(env):
    t = env.begin(write=True)
    with pytest.raises(zl.Error, match="would deadlock") as info:
        env.begin(write=True)
    assert type(info.value) is zl.Error
    t.abort()
    env.begin(write=True).abort()   # the lock was released


def test_missing_directory_with_create_false(tmp_path):
    p = str(tmp_path / "nope")
    with pytest.raises(zl.Error):
        zl.open(p, create=False)
    assert not os.path.exists(p)


def test_pathlib_path_is_refused_like_py_lmdb(tmp_path):
    with pytest.raises(TypeError, match="Filesystem path must be Unicode or bytes."):
        zl.open(tmp_path / "p")


def test_same_path_twice_is_refused_until_closed(path):
    e = zl.open(path)
    with pytest.raises(zl.Error, match="already open in this process"):
        zl.open(path)
    e.close()
    zl.open(path).close()


def test_env_context_manager_closes(path):
    with zl.open(path) as e:
        with e.begin(write=True) as txn:
            txn.put(b"a", b"b")
    with pytest.raises(zl.Error, match="closed/deleted/dropped"):
        e.stat()


def test_commit_then_use_raises(env):
    txn = env.begin(write=True)
    txn.commit()
    for op in (lambda: txn.get(b"a"), lambda: txn.put(b"a", b"b"), txn.commit,
               lambda: txn.delete(b"a"), txn.id, txn.cursor):
        with pytest.raises(zl.Error, match="closed/deleted/dropped"):
            op()
    txn.abort()  # always allowed


@pytest.mark.parametrize("finish", ["commit", "abort"])
def test_finishing_inside_with_makes_the_exit_a_no_op(path, finish):
    """py-lmdb 3.0 (issue #497): commit() or abort() inside the block ends
    the transaction, leaving the block does nothing more, and an exception
    from the block still propagates."""
    e = zl.open(path)
    try:
        with e.begin(write=True) as txn:
            txn.put(b"k", b"v")
            getattr(txn, finish)()
        with e.begin() as txn:
            assert txn.get(b"k") == (b"v" if finish == "commit" else None)
        with pytest.raises(ValueError, match="from the block"):
            with e.begin(write=True) as txn:
                txn.put(b"k", b"w")
                getattr(txn, finish)()
                raise ValueError("from the block")
        with e.begin(write=True) as txn:       # the write lock was released
            assert txn.get(b"k") == (b"w" if finish == "commit" else None)
    finally:
        e.close()


def test_use_after_env_close_raises_and_never_crashes(path):
    e = zl.open(path, max_dbs=2)
    db = e.open_db(b"sub")
    txn = e.begin(write=True)
    txn.put(b"a", b"b")
    rtxn = e.begin(buffers=True)
    cur = rtxn.cursor()
    e.close()
    e.close()  # idempotent
    calls = [
        e.stat, e.info, e.flags, e.path, e.begin, e.dbs, e.max_key_size, e.max_readers,
        e.readers, e.reader_check, lambda: e.sync(True), lambda: e.open_db(b"x"),
        lambda: e.set_mapsize(1 << 20), lambda: e.copy("/tmp/nowhere"),
        lambda: txn.get(b"a"), lambda: txn.put(b"a", b"b"), txn.commit, txn.id,
        lambda: rtxn.get(b"a"), cur.first, cur.key, lambda: list(cur),
        lambda: zl.Transaction(e),
    ]
    for call in calls:
        with pytest.raises(zl.Error):
            call()
    txn.abort()
    rtxn.abort()
    # As py-lmdb: a handle still reports its flags, and __enter__ does not
    # check (the with-block body's calls raise instead).
    assert db.flags()["dupsort"] is False
    assert e.__enter__() is e


def test_env_garbage_collected_without_close(path):
    import gc
    import weakref
    e = zl.open(path)
    txn = e.begin()
    ref = weakref.ref(e)
    tref = weakref.ref(txn)
    del e, txn
    for _ in range(3):      # PyPy finalizes an object the collection after it died
        gc.collect()
    assert ref() is None and tref() is None
    zl.open(path).close()  # and the path was released


def test_stat_info_flags_shapes(env):
    st = env.stat()
    assert set(st) == {"psize", "depth", "branch_pages", "leaf_pages", "overflow_pages",
                       "entries"}
    info = env.info()
    assert set(info) == {"map_addr", "map_size", "last_pgno", "last_txnid", "max_readers",
                         "num_readers"}
    assert info["map_size"] == 64 << 20
    assert env.flags() == {"subdir": True, "readonly": False, "metasync": True, "sync": True,
                           "map_async": False, "readahead": True, "writemap": False,
                           "meminit": True, "lock": True}
    assert env.max_key_size() == (511, 1978)[env.lib_version()[0]]   # LMDB 0.9, 1.0
    assert env.readers() == "(no active readers)\n"


def test_map_full_raises_and_keeps_committed_data(path):
    e = zl.open(path, map_size=256 << 10)
    with e.begin(write=True) as txn:
        txn.put(b"safe", b"1")
    txn = e.begin(write=True)
    with pytest.raises(zl.MapFullError, match="mdb_put: MDB_MAP_FULL"):
        for i in range(100000):
            txn.put(b"%08d" % i, b"x" * 100)
    txn.abort()
    with e.begin() as txn:
        assert txn.get(b"safe") == b"1"
        assert txn.get(b"00000000") is None
    e.close()
