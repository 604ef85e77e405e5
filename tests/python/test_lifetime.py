"""Lifetime rules: invalidation by commit/abort/close/set_mapsize, weak
references and garbage collection, threads, fork.  Deterministic parts are
compared with py-lmdb; where py-lmdb itself crashes (use-after-free) only
ours is checked, for "raises lmdb.Error, never crashes"."""
import gc
import os
import threading
import weakref

import pytest

import zlmdb.lmdb as zl
from conftest import run_python
from difftools import assert_same

JOIN = 20  # seconds: only a bound for a hang, never a timing assumption


def fill(env, n=5, db=None):
    with env.begin(write=True, db=db) as txn:
        for i in range(n):
            txn.put(b"k%d" % i, b"v%d" % i)


# ------------------------------------------------------------ set_mapsize

def test_set_mapsize_semantics(tmp_path):
    def action(mod, env, rec):
        db = env.open_db(b"sub")
        fill(env, db=db)
        rtxn = env.begin(db=db)
        cur = rtxn.cursor()
        cur.first()
        it = cur.iternext()
        rec(lambda: next(it))
        wtxn = env.begin(write=True)
        rec(lambda: env.set_mapsize(1 << 23))
        rec(lambda: env.info()["map_size"])
        wtxn.abort()
        rec(lambda: env.set_mapsize(1 << 23))
        rec(lambda: env.info()["map_size"])
        for call in (lambda: rtxn.get(b"k1"), rtxn.id, cur.key, cur.first,
                     lambda: next(it), lambda: rtxn.cursor(), rtxn.commit):
            rec(call)
        rec(rtxn.abort)
        rec(lambda: env.begin(db=db).get(b"k1"))           # handle still valid
        rec(lambda: env.begin().get(b"k1", db=db))
        with env.begin(write=True) as txn:
            rec(lambda: txn.put(b"new", b"1", db=db))
        rec(lambda: env.begin(db=db).get(b"new"))
        rec(lambda: env.set_mapsize(map_size=1 << 24))
        rec(lambda: env.set_mapsize())
        rec(lambda: env.set_mapsize(-1))
        rec(lambda: env.set_mapsize("big"))
        rec(lambda: env.set_mapsize(1 << 22, 1))
        rec(lambda: env.info()["map_size"])
        rec(lambda: env.set_mapsize(0))                     # keep the current size
        rec(lambda: env.info()["map_size"])
        rec(lambda: env.readers())
    assert_same(tmp_path, action)


def test_set_mapsize_releases_spare_txn(tmp_path):
    def action(mod, env, rec):
        t = env.begin()
        t.abort()
        del t
        rec(lambda: len(env.readers().splitlines()))
        rec(lambda: env.set_mapsize(1 << 23))
        rec(lambda: len(env.readers().splitlines()))
        rec(lambda: env.begin().id())
    assert_same(tmp_path, action, {"max_spare_txns": 1})


def test_set_mapsize_allows_more_data(path):
    env = zl.open(path, map_size=256 << 10)
    txn = env.begin(write=True)
    with pytest.raises(zl.MapFullError):
        for i in range(10000):
            txn.put(b"%06d" % i, b"x" * 200)
    txn.abort()
    env.set_mapsize(16 << 20)
    with env.begin(write=True) as txn:
        for i in range(10000):
            txn.put(b"%06d" % i, b"x" * 200)
    assert env.stat()["entries"] == 10000
    assert env.info()["map_size"] == 16 << 20
    env.close()


# ------------------------------------------------------------ invalidation

def test_iterators_and_cursors_after_end(tmp_path):
    def action(mod, env, rec):
        fill(env)
        for end in ("commit", "abort", "close_cursor", "write_commit", "write_abort"):
            write = end.startswith("write")
            txn = env.begin(write=write)
            cur = txn.cursor()
            its = [cur.iternext(), cur.iterprev(), cur.iternext_nodup(), iter(cur)]
            rec(lambda: [next(i) for i in its])
            if end == "close_cursor":
                cur.close()
            else:
                getattr(txn, end.split("_")[-1])()
            for i in its:
                rec(lambda: next(i))
                rec(lambda: next(i))
            for call in (cur.key, cur.value, cur.item, cur.next, cur.count,
                         lambda: cur.put(b"a", b"b"), lambda: cur.getmulti([b"a"]),
                         lambda: cur.iternext(), cur.close):
                rec(call)
            txn.abort()
    assert_same(tmp_path, action)


@pytest.mark.cpython_only
def test_iterator_keeps_cursor_and_txn_alive(env):
    fill(env)
    txn = env.begin()
    tref = weakref.ref(txn)
    it = txn.cursor().iternext(values=False)
    del txn
    gc.collect()
    assert tref() is not None
    assert list(it) == [b"k%d" % i for i in range(5)]
    del it
    gc.collect()
    assert tref() is None


def test_use_after_close_from_every_object(tmp_path):
    def action(mod, env, rec):
        fill(env)
        db = env.open_db(None)
        txn = env.begin(buffers=True)
        cur = txn.cursor()
        cur.first()
        it = cur.iternext()
        env.close()
        for call in (txn.id, lambda: txn.get(b"k1"), cur.first, cur.item,
                     lambda: next(it), lambda: env.begin(), lambda: txn.cursor(),
                     lambda: mod.Cursor(db, txn), env.readers, env.close, txn.abort,
                     cur.close, lambda: env.open_db(b"x")):
            rec(call)
    assert_same(tmp_path, action)


# ------------------------------------------------------------ gc / weakrefs

@pytest.mark.parametrize("close", [False, True])
@pytest.mark.cpython_only
def test_env_weakref_callback_fires_once(path, close):
    fired = []
    env = zl.open(path)
    fill(env)
    txn = env.begin()
    cur = txn.cursor()
    ref = weakref.ref(env, lambda r: fired.append(r))
    if close:
        env.close()
    del env, txn, cur
    gc.collect()
    assert ref() is None
    assert len(fired) == 1
    gc.collect()
    assert len(fired) == 1
    zl.open(path).close()   # the path is free again


@pytest.mark.cpython_only
def test_txn_weakref_and_cursor_reference(env):
    txn = env.begin()
    cur = txn.cursor()
    fired = []
    ref = weakref.ref(txn, fired.append)
    del txn
    gc.collect()
    assert ref() is not None        # the cursor holds its txn
    del cur
    gc.collect()
    assert ref() is None and len(fired) == 1


@pytest.mark.cpython_only
def test_many_txns_and_cursors_are_released(env):
    fill(env)
    before = env.info()["num_readers"]
    for _ in range(300):
        txn = env.begin()
        c = txn.cursor()
        c.first()
        list(c.iternext())
    del txn, c
    gc.collect()
    assert env.readers() == "(no active readers)\n"
    assert env.info()["num_readers"] >= before


@pytest.mark.cpython_only
def test_database_handle_has_no_weakref_and_survives_env_close(path):
    env = zl.open(path, max_dbs=2)
    db = env.open_db(b"x")
    with pytest.raises(TypeError):
        weakref.ref(db)
    env.close()
    del env
    gc.collect()
    with pytest.raises(zl.Error):
        zl.open(path, max_dbs=2).begin(db=db)


# ------------------------------------------------------ nesting lifetimes
# py-lmdb crashes (SIGBUS/SIGSEGV, use-after-free) in these: only ours.

NESTED_CODE = r"""
import sys, gc, zlmdb.lmdb as lmdb
env = lmdb.open(sys.argv[1], max_dbs=2)
def expect_error(fn):
    try:
        fn()
    except lmdb.Error:
        return
    raise AssertionError("no lmdb.Error from %r" % fn)

# 1. parent aborted / committed while its child is alive
for end in ("abort", "commit"):
    p = env.begin(write=True)
    p.put(b"p", b"1")
    c = env.begin(write=True, parent=p)
    c.put(b"c", b"1")
    cur = c.cursor()
    getattr(p, end)()
    for fn in (lambda: c.put(b"x", b"1"), lambda: c.get(b"c"), c.commit, cur.first):
        expect_error(fn)
    c.abort(); c.abort()
    del c, cur, p
    gc.collect()
with env.begin() as t:
    assert t.get(b"p") == b"1" and t.get(b"c") is None, list(t.cursor())

# 2. an intermediate txn only referenced by its child stays alive
p = env.begin(write=True)
g = env.begin(write=True, parent=env.begin(write=True, parent=p))
assert g.put(b"g", b"1")
g.commit()
p.commit()
# the middle txn was never committed: g's write is discarded with it
with env.begin() as t:
    assert t.get(b"g") is None

# 3. txn arguments that are finished
w = env.begin(write=True); w.commit()
r = env.begin(); r.abort()
for t in (w, r):
    expect_error(lambda: env.open_db(b"x", txn=t))
    expect_error(lambda: env.dbs(t))
    expect_error(lambda: env.copy(sys.argv[1] + "-c", compact=True, txn=t))

# 4. a parent from another environment
other = lmdb.open(sys.argv[1] + "-other")
op = other.begin(write=True)
expect_error(lambda: env.begin(write=True, parent=op))
expect_error(lambda: env.begin(parent=op))
op.abort()
other.close()
env.close()
print("ok")
"""


def test_nested_lifetimes_never_crash(tmp_path):
    os.mkdir(tmp_path / "x-c")
    res = run_python(NESTED_CODE, str(tmp_path / "x"))
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "ok"


# ----------------------------------------------------------------- threads

def test_write_txn_on_other_thread_waits_for_commit(env):
    first = env.begin(write=True)
    first.put(b"k", b"from-first")
    started, done = threading.Event(), threading.Event()
    seen = []

    def writer():
        started.set()
        with env.begin(write=True) as txn:   # blocks until `first` commits
            seen.append(txn.get(b"k"))
            txn.put(b"k", b"from-second")
        done.set()

    t = threading.Thread(target=writer)
    t.start()
    assert started.wait(JOIN)
    assert not done.wait(0.2)     # still blocked on the writer lock
    first.commit()
    t.join(JOIN)
    assert not t.is_alive()
    # The second writer began after the first committed: it saw its value.
    assert seen == [b"from-first"]
    with env.begin() as txn:
        assert txn.get(b"k") == b"from-second"


def test_read_txn_can_move_between_threads(env):
    fill(env)
    txn = env.begin()
    cur = txn.cursor()
    out = []
    t = threading.Thread(target=lambda: out.append(list(cur.iternext(values=False))))
    t.start()
    t.join(JOIN)
    assert out == [[b"k%d" % i for i in range(5)]]
    t2 = threading.Thread(target=txn.abort)
    t2.start()
    t2.join(JOIN)
    with pytest.raises(zl.Error):
        txn.get(b"k1")


def test_many_threads_reading_and_one_writing(env):
    fill(env, 50)
    errors = []

    def reader():
        try:
            for _ in range(30):
                with env.begin() as txn:
                    assert len(list(txn.cursor())) >= 50
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    def writer():
        try:
            for i in range(30):
                with env.begin(write=True) as txn:
                    txn.put(b"w%d" % i, b"x")
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
    ts = [threading.Thread(target=reader) for _ in range(4)] + [threading.Thread(target=writer)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(JOIN)
    assert not any(t.is_alive() for t in ts)
    assert errors == []
    assert env.stat()["entries"] == 80


def test_close_waits_for_write_txn_of_other_thread(path):
    env = zl.open(path)
    have_txn, go_commit = threading.Event(), threading.Event()
    results = []

    def owner():
        txn = env.begin(write=True)
        txn.put(b"a", b"b")
        have_txn.set()
        go_commit.wait(JOIN)
        try:
            txn.commit()
            results.append("committed")
        except zl.Error:
            results.append("error")
        txn.abort()     # releases the writer lock: close() may go on

    t = threading.Thread(target=owner)
    t.start()
    assert have_txn.wait(JOIN)
    closer = threading.Thread(target=env.close)
    closer.start()
    # close() first marks everything invalid, then waits for the writer.
    for _ in range(2000):
        try:
            env.max_key_size()
        except zl.Error:
            break
        threading.Event().wait(0.005)
    else:
        raise AssertionError("close() never started")
    assert closer.is_alive()
    go_commit.set()
    t.join(JOIN)
    closer.join(JOIN)
    assert not t.is_alive() and not closer.is_alive()
    assert results == ["error"]
    env = zl.open(path)
    with env.begin() as txn:
        assert txn.get(b"a") is None
    env.close()


# -------------------------------------------------------------------- fork

def _readers(env):
    return sorted(env.readers().splitlines())


@pytest.mark.parametrize("spare,abort_write", [(0, False), (1, False), (0, True)])
def test_fork_child_dropping_inherited_txns_does_not_disturb_parent(path, spare,
                                                                    abort_write):
    env = zl.open(path, max_spare_txns=spare, max_dbs=2)
    fill(env)
    if spare:
        t = env.begin()
        t.abort()
        del t          # cached as the spare
    rtxn = env.begin()
    rcur = rtxn.cursor()
    rcur.first()
    wtxn = env.begin(write=True)
    wtxn.put(b"parent", b"1")
    wcur = wtxn.cursor()
    before = _readers(env)
    pid = os.fork()
    if pid == 0:   # child: drop what it inherited, then leave at once
        code = 0
        try:
            # Only dropping references: an explicit rtxn.abort() here would
            # reset the parent's shared reader slot in py-lmdb too.
            del rcur, wcur
            if abort_write:
                wtxn.abort()
            del rtxn, wtxn
            gc.collect()
        except BaseException:  # noqa: BLE001
            code = 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert _readers(env) == before
    assert rcur.item() == (b"k0", b"v0")
    assert rtxn.get(b"k1") == b"v1"
    wcur.first()
    wtxn.put(b"after-fork", b"2")
    wtxn.commit()
    rtxn.abort()
    del rtxn, rcur
    with env.begin() as txn:
        assert txn.get(b"parent") == b"1" and txn.get(b"after-fork") == b"2"
    env.close()


def test_fork_child_can_open_env_and_write(path):
    env = zl.open(path)
    fill(env)
    rtxn = env.begin()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            del rtxn
            gc.collect()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    code = ("import sys, zlmdb.lmdb as lmdb\n"
            "e = lmdb.open(sys.argv[1])\n"
            "with e.begin(write=True) as t: t.put(b'child', b'1')\n"
            "e.close()\n")
    res = run_python(code, path)
    assert res.returncode == 0, res.stderr
    assert rtxn.get(b"child") is None      # snapshot isolation
    rtxn.abort()
    with env.begin() as txn:
        assert txn.get(b"child") == b"1"
    env.close()
