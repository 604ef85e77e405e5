"""Environment: constructor options, copy/copyfd, sync, dbs, readers,
reader_check and friends, compared with py-lmdb where the outcome is
deterministic."""
import os
import stat as stat_mod

import lmdb as pylmdb
import pytest

import zlmdb.lmdb as zl
from difftools import IS_PYPY, MODULES, PYPY_SKIP, assert_same, norm, outcome

ENV_ARGS = ["path", "map_size", "subdir", "readonly", "metasync", "sync", "map_async",
            "mode", "create", "readahead", "writemap", "meminit", "max_readers",
            "max_dbs", "max_spare_txns", "lock"]


def describe(env):
    info = env.info()
    info.pop("map_addr")
    return {"flags": env.flags(), "info": info, "max_readers": env.max_readers(),
            "max_key_size": env.max_key_size(), "stat": env.stat()}


def each(tmp_path, fn):
    """fn(mod, path) for both modules, on separate paths; returns the two
    normalised outcomes."""
    out = {}
    for name, mod in MODULES:
        p = str(tmp_path / name)
        out[name] = outcome(lambda: fn(mod, p), (p,))
    if IS_PYPY:
        pytest.skip(PYPY_SKIP)
    return out["ours"], out["theirs"]


@pytest.mark.parametrize("values", [
    # map_size subdir ro metasync sync map_async mode create readahead writemap
    # meminit max_readers max_dbs max_spare lock
    (1 << 21, True, False, False, False, True, 0o700, True, False, True, False, 50, 3, 1,
     True),
    (1 << 20, True, False, True, True, False, 0o755, True, True, False, True, 7, 0, 0,
     False),
])
def test_all_sixteen_arguments_positionally(tmp_path, values):
    def fn(mod, p):
        env = mod.Environment(p, *values)
        try:
            return describe(env)
        finally:
            env.close()
    ours, theirs = each(tmp_path, fn)
    assert ours == theirs and ours[0] == "ok"


@pytest.mark.pylmdb_cext
def test_all_arguments_by_keyword_and_too_many(tmp_path):
    kw = dict(map_size=1 << 21, subdir=True, readonly=False, metasync=False, sync=False,
              map_async=True, mode=0o700, create=True, readahead=False, writemap=True,
              meminit=False, max_readers=9, max_dbs=2, max_spare_txns=1, lock=True)

    def fn(mod, p):
        env = mod.Environment(path=p, **kw)
        try:
            return describe(env)
        finally:
            env.close()
    ours, theirs = each(tmp_path, fn)
    assert ours == theirs and ours[0] == "ok"
    ours, theirs = each(tmp_path, lambda mod, p: mod.Environment(p, *([None] * 17)))
    assert ours == theirs and ours[0] == "raise"
    ours, theirs = each(tmp_path, lambda mod, p: mod.Environment(p, nosuch=1))
    assert ours == theirs == ("raise", "TypeError", "unrecognized keyword argument")
    ours, theirs = each(tmp_path, lambda mod, p: mod.Environment(p, path=p))
    assert ours == theirs == ("raise", "TypeError", "duplicate argument: path")
    ours, theirs = each(tmp_path, lambda mod, p: mod.Environment())
    assert ours == theirs and ours[0] == "raise"


@pytest.mark.parametrize("kwargs", [
    {"max_readers": -1}, {"max_dbs": 2 ** 31}, {"map_size": -5}, {"mode": "x"},
    {"map_size": 2 ** 64}, {"max_readers": 0},
])
@pytest.mark.pylmdb_cext
def test_bad_integer_arguments(tmp_path, kwargs):
    def fn(mod, p):
        mod.open(p, **kwargs).close()
        return "opened"
    ours, theirs = each(tmp_path, fn)
    assert ours == theirs


def test_subdir_false_creates_file_and_lock_file(tmp_path):
    def fn(mod, p):
        os.mkdir(p)
        env = mod.open(os.path.join(p, "db"), subdir=False)
        with env.begin(write=True) as txn:
            txn.put(b"k", b"v")
        res = (sorted(os.listdir(p)), env.flags()["subdir"], env.path().endswith("db"))
        env.close()
        return res
    ours, theirs = each(tmp_path, fn)
    assert ours == theirs
    assert ours == ("ok", ("tuple", ["list", ("str", "db"), ("str", "db-lock")], False,
                           True))


def test_readonly_env(tmp_path):
    def fn(mod, p):
        env = mod.open(p, max_dbs=3)
        env.open_db(b"sub")
        with env.begin(write=True) as txn:
            txn.put(b"k", b"v")
        env.close()
        env = mod.open(p, readonly=True, max_dbs=3)
        res = [outcome(lambda: env.flags()["readonly"]),
               outcome(lambda: env.begin().get(b"k")),
               outcome(lambda: env.open_db(b"sub") is not None),
               outcome(lambda: env.open_db(b"new")),
               outcome(lambda: env.open_db(b"new", create=False)),
               outcome(lambda: env.begin().put(b"a", b"b")),
               outcome(env.dbs),
               outcome(lambda: env.copy(p + "-copy")),
               outcome(lambda: env.sync(True))]
        env.close()
        return res
    ours, theirs = each(tmp_path, fn)
    assert ours == theirs and ours[0] == "ok"


@pytest.mark.pylmdb_cext
def test_readonly_or_no_create_with_missing_dir_does_not_mkdir(tmp_path):
    for kw in ({"readonly": True}, {"create": False}):
        def fn(mod, p):
            try:
                mod.open(p, **kw)
            finally:
                assert not os.path.exists(p)
        ours, theirs = each(tmp_path, fn)
        assert ours == theirs and ours[0] == "raise"


def test_open_junk_file_raises_invalid_error_naming_the_path(tmp_path):
    def fn(mod, p):
        with open(p, "wb") as f:
            f.write(b"junk" * 2000)
        mod.open(p, subdir=False)
    ours, theirs = each(tmp_path, fn)
    assert ours[:2] == theirs[:2] == ("raise", "InvalidError")
    # A deliberate departure: py-lmdb hands the file to LMDB, whose message
    # is "MDB_INVALID: File is not an LMDB file"; ours says what was found,
    # before LMDB sees the file.
    assert ours[2] == ("<PATH>: not an LMDB data file (no LMDB meta page: it begins "
                       "6a 75 6e 6b 6a 75 6e 6b)")


def test_file_mode(tmp_path):
    def fn(mod, p):
        env = mod.open(p, mode=0o751)
        env.close()
        return (stat_mod.S_IMODE(os.stat(p).st_mode),
                stat_mod.S_IMODE(os.stat(os.path.join(p, "data.mdb")).st_mode))
    old = os.umask(0)
    try:
        ours, theirs = each(tmp_path, fn)
    finally:
        os.umask(old)
    assert ours == theirs == ("ok", ("tuple", 0o751, 0o640))


def test_bytes_path_and_path_method(tmp_path):
    def fn(mod, p):
        env = mod.open(p.encode())
        try:
            return env.path() == p, type(env.path()).__name__
        finally:
            env.close()
    ours, theirs = each(tmp_path, fn)
    assert ours == theirs == ("ok", ("tuple", True, ("str", "str")))


@pytest.mark.pylmdb_cext
def test_same_path_twice_via_bytes_and_symlink(tmp_path):
    def fn(mod, p):
        env = mod.open(p)
        os.symlink(p, p + "-link")
        try:
            return [outcome(lambda: mod.open(p.encode()), (p,)),
                    outcome(lambda: mod.open(p + "-link"), (p,))]
        finally:
            env.close()
    ours, theirs = each(tmp_path, fn)
    assert ours == theirs


def test_lock_false(tmp_path):
    def action(mod, env, rec):
        rec(lambda: env.flags()["lock"])
        rec(env.readers)
        with env.begin(write=True) as txn:
            txn.put(b"a", b"b")
        t = env.begin()
        rec(lambda: t.get(b"a"))
        rec(lambda: env.info()["num_readers"])
    assert_same(tmp_path, action, {"lock": False})


def test_max_readers_full(tmp_path):
    def action(mod, env, rec):
        rec(env.max_readers)
        txns = []
        for _ in range(3):
            rec(lambda: txns.append(env.begin()))
        rec(lambda: len(env.readers().splitlines()))
        del txns[:]
        rec(lambda: env.begin().id())
    assert_same(tmp_path, action, {"max_readers": 2})


def test_max_dbs_full(tmp_path):
    def action(mod, env, rec):
        for name in (b"a", b"b", b"c"):
            rec(lambda: env.open_db(name))
        rec(env.dbs)
    assert_same(tmp_path, action, {"max_dbs": 2})


@pytest.mark.parametrize("spare", [0, 1, 5])
def test_spare_txn_reader_slots(tmp_path, spare):
    """With max_spare_txns=1 an ended read txn keeps its reader slot (listed
    by readers()); with 0 it is freed."""
    def action(mod, env, rec):
        lines = lambda: len(env.readers().splitlines())  # noqa: E731
        rec(lines)
        t = env.begin()
        rec(lines)
        t.abort()
        rec(lines)
        del t
        rec(lines)
        rec(env.readers().startswith)
        t = env.begin()
        rec(lines)
        t.commit()
        del t
        rec(lines)
        a, b = env.begin(), env.begin()
        rec(lines)
        del a, b
        rec(lines)
        rec(lambda: env.info()["num_readers"])
    res = assert_same(tmp_path, action, {"max_spare_txns": spare})
    counts = [r[1] for r in res if r[0] == "ok" and isinstance(r[1], int)]
    if spare:
        assert counts[:4] == [1, 2, 2, 2]
    else:
        assert counts[:4] == [1, 2, 2, 1]


@pytest.mark.cpython_only
def test_readers_and_reader_check(env):
    assert env.readers() == "(no active readers)\n"
    assert env.reader_check() == 0
    t = env.begin()
    lines = env.readers().splitlines()
    assert lines[0].split() == ["pid", "thread", "txnid"]
    assert len(lines) == 2 and lines[1].split()[0] == str(os.getpid())
    assert lines[1].split()[2] == str(t.id())
    t.abort()
    assert env.readers().splitlines()[1].split()[2] == "-"
    assert env.reader_check() == 0
    del t
    assert env.readers() == "(no active readers)\n"


def test_flags_variants(tmp_path):
    for kw in ({"writemap": True, "map_async": True}, {"meminit": False, "readahead": False},
               {"sync": False, "metasync": False}):
        d = tmp_path / "_".join(sorted(kw))
        d.mkdir()
        res = assert_same(d, lambda mod, env, rec: rec(env.flags), kw)
        assert res[1][0] == "ok"


def test_writemap_round_trip(tmp_path):
    def action(mod, env, rec):
        with env.begin(write=True) as txn:
            for i in range(300):
                txn.put(b"%04d" % i, b"x" * (i % 50))
        with env.begin() as txn:
            rec(lambda: list(txn.cursor())[::37])
        rec(lambda: env.stat()["entries"])
    assert_same(tmp_path, action, {"writemap": True})


def _sample(env):
    db = env.open_db(b"sub", dupsort=True)
    with env.begin(write=True) as txn:
        for i in range(200):
            txn.put(b"%03d" % i, b"v" * 300)
            txn.put(b"k", b"%03d" % i, db=db)
    with env.begin(write=True) as txn:
        for i in range(0, 200, 2):
            txn.delete(b"%03d" % i)
    return db


def _content(mod, p, max_dbs=4):
    env = mod.open(p, max_dbs=max_dbs, readonly=True)
    try:
        db = env.open_db(b"sub", create=False)
        with env.begin() as txn:
            return list(txn.cursor()), list(txn.cursor(db)), env.stat()["entries"]
    finally:
        env.close()


def test_copy_and_compact_copy(tmp_path):
    def action(mod, env, rec):
        _sample(env)
        base = env.path()
        os.mkdir(base + "-plain")
        os.mkdir(base + "-compact")
        rec(lambda: env.copy(base + "-plain"))
        rec(lambda: _content(mod, base + "-plain"))
        rec(lambda: env.copy((base + "-compact").encode(), compact=True))
        rec(lambda: _content(mod, base + "-compact"))
        size = lambda d: os.path.getsize(os.path.join(d, "data.mdb"))  # noqa: E731
        rec(lambda: size(base + "-compact") < size(base + "-plain"))
        rec(lambda: env.copy(base + "-plain"))          # exists and not empty
        rec(lambda: env.copy(base + "-missing/sub"))    # no such dir
        rec(lambda: env.copy())
        rec(lambda: env.copy(123))
        rec(lambda: env.copy(base + "-x", nosuch=1))
    assert_same(tmp_path, action)


def test_copy_with_txn_snapshot(tmp_path):
    def action(mod, env, rec):
        with env.begin(write=True) as txn:
            txn.put(b"before", b"1")
        snap = env.begin()
        with env.begin(write=True) as txn:
            txn.put(b"after", b"2")
        base = env.path()
        os.mkdir(base + "-snap")
        rec(lambda: env.copy(base + "-snap", compact=True, txn=snap))

        def content():
            e2 = mod.open(base + "-snap", readonly=True)
            try:
                with e2.begin() as t:
                    return list(t.cursor())
            finally:
                e2.close()
        rec(content)
        rec(lambda: env.copy(base + "-nocompact", txn=snap))
        rec(lambda: env.copy(base + "-badtxn", compact=True, txn="txn"))
        rec(lambda: mod.version(subpatch=True)[3])
    res = assert_same(tmp_path, action)
    assert res[1] == ("ok", ["list", ("tuple", ("bytes", b"before"), ("bytes", b"1"))])


def test_copyfd(tmp_path):
    def action(mod, env, rec):
        _sample(env)
        base = env.path()
        for compact in (False, True):
            os.mkdir(base + "-fd%d" % compact)
            path = os.path.join(base + "-fd%d" % compact, "data.mdb")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
            try:
                rec(lambda: env.copyfd(fd, compact=compact))
            finally:
                os.close(fd)
            rec(lambda: _content(mod, base + "-fd%d" % compact))
        snap = env.begin()
        fd = os.open(base + "-snapfile", os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            rec(lambda: env.copyfd(fd, True, snap))
            rec(lambda: env.copyfd(fd, txn=snap))
        finally:
            os.close(fd)
        rec(lambda: env.copyfd())
        rec(lambda: env.copyfd(-1))
        rec(lambda: env.copyfd(None))
        rec(lambda: env.copyfd("3"))
        rec(lambda: env.copyfd(2 ** 40))
        rec(lambda: env.copyfd(987))    # not an open fd
    assert_same(tmp_path, action)


def test_sync_is_positional_only(tmp_path):
    def action(mod, env, rec):
        rec(env.sync)
        rec(lambda: env.sync(True))
        rec(lambda: env.sync(False))
        rec(lambda: env.sync(force=True))
        rec(lambda: env.sync(True, True))
    assert_same(tmp_path, action, {"sync": False})


def test_dbs_lists_only_named_databases(tmp_path):
    def action(mod, env, rec):
        rec(env.dbs)
        env.open_db(b"zeta")
        env.open_db(b"alpha", dupsort=True)
        with env.begin(write=True) as txn:
            txn.put(b"plainkey", b"value")
            rec(lambda: env.dbs(txn))
            rec(lambda: env.dbs(txn=txn))
        rec(env.dbs)
        rec(lambda: env.dbs("txn"))
        rec(lambda: env.dbs(None))
        rec(lambda: env.dbs(nosuch=1))
        t = env.begin()
        rec(lambda: env.dbs(t))
        rec(lambda: type(env.dbs()[0]).__name__)
    assert_same(tmp_path, action)


def test_open_db_argument_handling(tmp_path):
    def action(mod, env, rec):
        rec(lambda: env.open_db(b"a", None, False, True))
        rec(lambda: env.open_db(b"a").flags())
        rec(lambda: env.open_db(b"a", dupsort=False).flags())
        rec(lambda: env.open_db(bytearray(b"b"), integerkey=True).flags())
        rec(lambda: env.open_db(memoryview(b"c"), integerdup=True).flags())
        rec(lambda: env.open_db(b"d", dupfixed=True).flags())
        rec(lambda: env.open_db(b"e", reverse_key=True).flags())
        rec(lambda: env.open_db(b"nope", create=False))
        rec(lambda: env.open_db(None, reverse_key=True))
        rec(lambda: env.open_db().flags())
        rec(lambda: env.open_db(key=None).flags())
        rec(lambda: env.open_db(b"x", txn="t"))
        rec(lambda: env.open_db(b"x", bogus=1))
        rec(lambda: env.open_db(b"", create=True).flags())
        t = env.begin()
        rec(lambda: env.open_db(b"f", txn=t))
        rec(lambda: env.open_db(b"a", txn=t).flags())
        t.abort()
        w = env.begin(write=True)
        rec(lambda: env.open_db(b"g", txn=w).flags())
        w.abort()
        rec(lambda: env.open_db(b"g", create=False))
        rec(env.dbs)
        rec(lambda: env.info()["last_txnid"])
    assert_same(tmp_path, action)


def test_open_db_in_write_txn_visible_after_commit(tmp_path):
    def action(mod, env, rec):
        w = env.begin(write=True)
        db = env.open_db(b"n", txn=w)
        rec(lambda: w.put(b"k", b"v", db=db))
        rec(lambda: env.begin().get(b"k", db=db))   # not yet visible
        w.commit()
        rec(lambda: env.begin().get(b"k", db=db))
        rec(lambda: env.open_db(b"n").flags())
    assert_same(tmp_path, action)


def test_stat_info_after_writes(tmp_path):
    def action(mod, env, rec):
        with env.begin(write=True) as txn:
            for i in range(500):
                txn.put(b"%05d" % i, b"x" * 100)
        rec(env.stat)
        rec(env.info)
        with env.begin(write=True) as txn:
            txn.put(b"big", b"y" * 20000)
        rec(env.stat)
        rec(env.info)
    res = assert_same(tmp_path, action)
    assert res[0][1]["entries"] == 500


def test_env_context_manager_and_double_close(tmp_path):
    def action(mod, env, rec):
        rec(lambda: env.__enter__() is env)
        rec(lambda: env.__exit__(None, None, None))
        rec(env.close)
        rec(env.stat)
        rec(lambda: env.__enter__())
        rec(lambda: env.__exit__(None, None, None))
    assert_same(tmp_path, action)


def test_env_weakref_and_no_attributes(path):
    import weakref
    e = zl.open(path)
    ref = weakref.ref(e)
    assert ref() is e
    with pytest.raises(AttributeError):
        e.readonly  # noqa: B018 - the cffi attribute is absent in cpython
    with pytest.raises(AttributeError):
        e.foo = 1
    public = sorted(n for n in dir(zl.Environment) if not n.startswith("_"))
    assert public == sorted(n for n in dir(pylmdb.Environment) if not n.startswith("_"))
    e.close()


def test_norm_helper_keeps_bytes_and_memoryview_apart():
    assert norm(b"a") != norm(memoryview(b"a"))
    assert norm({"map_addr": 1, "x": 2}) == {"x": 2}


def test_spare_txn_sees_later_commits(tmp_path):
    def action(mod, env, rec):
        with env.begin(write=True) as txn:
            txn.put(b"a", b"1")
        t = env.begin()
        rec(lambda: t.get(b"a"))
        rec(t.id)
        t.commit()
        del t
        with env.begin(write=True) as txn:
            txn.put(b"a", b"2")
        t = env.begin()                     # the renewed spare
        rec(lambda: t.get(b"a"))
        rec(t.id)
        rec(lambda: env.begin(buffers=True).get(b"a"))
        rec(lambda: len(env.readers().splitlines()))
    assert_same(tmp_path, action, {"max_spare_txns": 1})


def test_reopen_with_smaller_map_size_keeps_file_size(tmp_path):
    def fn(mod, p):
        env = mod.open(p, map_size=4 << 20)
        with env.begin(write=True) as txn:
            txn.put(b"a", b"x" * 100000)
        env.close()
        env = mod.open(p, map_size=1 << 16)
        try:
            return env.info()["map_size"], env.begin().get(b"a") == b"x" * 100000
        finally:
            env.close()
    ours, theirs = each(tmp_path, fn)
    assert ours == theirs and ours[0] == "ok"


def test_objects_are_not_picklable_and_compare_by_identity(tmp_path):
    import pickle

    def action(mod, env, rec):
        db1, db2 = env.open_db(b"x"), env.open_db(b"x")
        rec(lambda: db1 == db2)
        rec(lambda: db1 == db1)
        rec(lambda: db1.flags() == db2.flags())
        txn = env.begin()
        for obj in (env, txn, txn.cursor(), db1):
            rec(lambda: pickle.dumps(obj))
        rec(lambda: hash(db1) == hash(db1))
    assert_same(tmp_path, action)


@pytest.mark.pylmdb_cext
def test_public_method_names_match_py_lmdb():
    for name in ("Environment", "Transaction", "Cursor", "_Database"):
        ours = sorted(n for n in dir(getattr(zl, name)) if not n.startswith("__"))
        theirs = sorted(n for n in dir(getattr(pylmdb, name)) if not n.startswith("__"))
        assert ours == theirs, name
