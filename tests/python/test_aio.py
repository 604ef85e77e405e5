"""zlmdb.lmdb.aio: the asyncio wrappers (compared with py-lmdb's lmdb.aio)."""
import asyncio
import inspect
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import zlmdb.lmdb as zl
import zlmdb.lmdb.aio as zaio


def arun(coro):
    return asyncio.run(coro)


@pytest.fixture
def aenv(env):
    return zaio.wrap(env)


# -- interface ------------------------------------------------------------------------------

def _public(obj):
    return {n for n in dir(obj) if not n.startswith("_")}


def test_same_public_names_as_py_lmdb():
    import lmdb.aio as ref      # py-lmdb 2.3.0, a test dependency
    assert _public(ref) <= _public(zaio)
    assert zaio.Environment is zl.Environment and zaio.Cursor is zl.Cursor
    for name in ("AsyncEnvironment", "AsyncTransaction", "AsyncCursor"):
        ours, theirs = getattr(zaio, name), getattr(ref, name)
        assert _public(theirs) <= _public(ours), name
        for meth in _public(theirs):
            if inspect.iscoroutinefunction(getattr(theirs, meth)) and \
                    not meth.startswith("iter"):
                assert inspect.iscoroutinefunction(getattr(ours, meth)), meth
    assert list(inspect.signature(zaio.wrap).parameters) == ["env", "executor"]


@pytest.mark.parametrize("sync, wrapper", [
    (zl.Environment, zaio.AsyncEnvironment),
    (zl.Transaction, zaio.AsyncTransaction),
    (zl.Cursor, zaio.AsyncCursor),
])
def test_every_sync_method_is_proxied(sync, wrapper):
    assert _public(sync) <= _public(wrapper)


# -- environment -------------------------------------------------------------------------------

def test_environment_methods(aenv, env, tmp_path):
    async def main():
        assert aenv.path() == env.path()
        assert aenv.max_key_size() == env.max_key_size() == (511, 1978)[env.lib_version()[0]]
        assert aenv.flags() == env.flags()
        assert aenv.max_readers() == env.max_readers()
        assert await aenv.readers() == "(no active readers)\n"
        db = await aenv.open_db(b"named")
        assert type(db) is zl._Database
        assert await aenv.dbs() == [b"named"]
        assert (await aenv.stat())["entries"] == 1
        assert set(await aenv.info()) >= {"map_size", "last_txnid"}
        assert await aenv.reader_check() == 0
        await aenv.sync(True)
        (tmp_path / "copy").mkdir()
        await aenv.copy(str(tmp_path / "copy"))
        with pytest.raises(AttributeError):
            aenv.no_such_method
    arun(main())
    copy = zl.open(str(tmp_path / "copy"), max_dbs=2)
    assert copy.dbs() == [b"named"]
    copy.close()


def test_async_with_environment_closes(env):
    async def main():
        async with zaio.wrap(env) as aenv:
            await aenv.stat()
        with pytest.raises(zl.Error):
            await aenv.stat()
        with pytest.raises(zl.Error):
            await aenv.begin()
    arun(main())


# -- transactions --------------------------------------------------------------------------------

def test_put_get_commit(aenv, env):
    async def main():
        txn = await aenv.begin(write=True)
        assert await txn.put(b"a", b"1") is True
        assert await txn.put(b"a", b"2", overwrite=False) is False
        assert await txn.get(b"a") == b"1"
        assert await txn.replace(b"a", b"3") == b"1"
        assert await txn.put(b"b", b"x") and await txn.pop(b"b") == b"x"
        assert await txn.get(b"missing", b"dflt") == b"dflt"
        assert txn.id() == 1
        await txn.commit()
        async with aenv.begin() as rtxn:
            assert await rtxn.get(b"a") == b"3"
            assert (await rtxn.stat())["entries"] == 1
    arun(main())
    with env.begin() as txn:
        assert txn.get(b"a") == b"3"


def test_async_with_commits_or_aborts(aenv, env):
    async def main():
        async with aenv.begin(write=True) as txn:
            await txn.put(b"kept", b"1")
        with pytest.raises(KeyError):
            async with aenv.begin(write=True) as txn:
                await txn.put(b"lost", b"1")
                raise KeyError("boom")
        async with aenv.begin(write=True) as txn:   # explicit commit inside
            await txn.put(b"early", b"1")
            await txn.commit()
        txn = await aenv.begin(write=True)
        await txn.put(b"aborted", b"1")
        await txn.abort()
    arun(main())
    with env.begin() as txn:
        assert [k for k, _ in txn.cursor()] == [b"early", b"kept"]


def test_errors_propagate(aenv):
    async def main():
        async with aenv.begin(write=True) as txn:
            with pytest.raises(TypeError):
                await txn.put("str key", b"v")
            with pytest.raises(zl.BadValsizeError):
                await txn.put(b"", b"v")
            assert await txn.put(b"ok", b"v")
        async with aenv.begin() as txn:
            with pytest.raises(zl.ReadonlyError):
                await txn.put(b"k", b"v")
            assert await txn.get(b"ok") == b"v"
    arun(main())


def test_use_after_finish(aenv):
    async def main():
        txn = await aenv.begin(write=True)
        cur = await txn.cursor()
        await txn.put(b"k", b"v")
        await txn.commit()
        for call in (txn.get(b"k"), txn.put(b"k", b"w"), txn.commit(),
                     cur.first(), cur.iternext()):
            with pytest.raises(zl.Error, match="closed/deleted/dropped"):
                await call
        with pytest.raises(zl.Error):
            txn.id()
        with pytest.raises(zl.Error):
            cur.key()
        await txn.abort()              # like Transaction.abort(): a no-op
        await cur.close()
        rtxn = await aenv.begin()
        await rtxn.abort()
        with pytest.raises(zl.Error):
            await rtxn.get(b"k")
    arun(main())


def test_gather_on_one_transaction(aenv):
    async def main():
        async with aenv.begin(write=True) as txn:
            res = await asyncio.gather(*(txn.put(b"k%03d" % i, b"v%d" % i)
                                         for i in range(100)))
            assert res == [True] * 100
            cur = await txn.cursor()
            first, got, keys = await asyncio.gather(
                cur.first(), txn.get(b"k050"), cur.iternext(values=False))
            assert first and got == b"v50" and len(keys) == 100
        async with aenv.begin() as txn:
            assert (await txn.stat())["entries"] == 100
    arun(main())


def test_nested_transaction(aenv, env):
    async def main():
        parent = await aenv.begin(write=True)
        await parent.put(b"p", b"1")
        child = await aenv.begin(write=True, parent=parent)
        await child.put(b"c", b"1")
        await child.abort()
        child = await aenv.begin(write=True, parent=parent)
        await child.put(b"d", b"1")
        await child.commit()
        await parent.commit()
    arun(main())
    with env.begin() as txn:
        assert [k for k, _ in txn.cursor()] == [b"d", b"p"]


# -- cursors ------------------------------------------------------------------------------------------

def _fill(env, n, db=None):
    with env.begin(write=True, db=db) as txn:
        for i in range(n):
            txn.put(b"k%03d" % i, b"v%d" % i)


def test_cursor_positioning_and_data(aenv, env):
    _fill(env, 10)

    async def main():
        async with aenv.begin(write=True) as txn:
            async with txn.cursor() as cur:
                assert await cur.first()
                assert cur.key() == b"k000" and cur.item() == (b"k000", b"v0")
                assert await cur.next() and cur.value() == b"v1"
                assert await cur.set_range(b"k0055")
                assert cur.key() == b"k006"
                assert await cur.set_key(b"k003") and not await cur.set_key(b"zz")
                assert await cur.last() and cur.key() == b"k009"
                assert await cur.get(b"k002") == b"v2"
                assert await cur.getmulti([b"k001", b"k004"]) == \
                    [(b"k001", b"v1"), (b"k004", b"v4")]
                assert await cur.putmulti([(b"m1", b"1"), (b"m2", b"2")]) == (2, 2)
                assert await cur.put(b"m3", b"3")
                assert await cur.replace(b"m3", b"33") == b"3"
                assert await cur.pop(b"m3") == b"33"
                assert await cur.set_key(b"m2") and await cur.delete()
                assert await txn.delete(b"m1")
    arun(main())
    with env.begin() as txn:
        assert txn.stat()["entries"] == 10


def test_dupsort_cursor(aenv, env):
    # One value per key: duplicates make LMDB build sub-pages whose unaligned
    # access aborts the UBSan build (make sanitize).
    dups = env.open_db(b"dups", dupsort=True)
    with env.begin(write=True, db=dups) as txn:
        txn.put(b"aa", b"1")
        txn.put(b"bb", b"9")

    async def main():
        async with aenv.begin(db=dups) as txn:
            cur = await txn.cursor()
            assert await cur.set_key(b"aa") and await cur.count() == 1
            assert await cur.iternext_dup() == [b"1"]
            assert await cur.iternext_nodup() == [b"aa", b"bb"]
            assert await cur.set_key_dup(b"bb", b"9")
            assert not await cur.next_dup()
            assert await cur.iterprev_nodup() == [b"bb", b"aa"]
    arun(main())


def test_iteration_await_and_async_for(aenv, env, monkeypatch):
    data = env.open_db(b"data")
    empty = env.open_db(b"empty")
    _fill(env, 25, data)
    monkeypatch.setattr(zaio, "ITER_BATCH", 4)    # several executor batches
    expected = [(b"k%03d" % i, b"v%d" % i) for i in range(25)]

    async def main():
        async with aenv.begin(db=data) as txn:
            cur = await txn.cursor()
            assert await cur.iternext() == expected
            assert await cur.iterprev(values=False) == [k for k, _ in reversed(expected)]
            got = [item async for item in cur.iternext()]
            assert got == expected
            got = [k async for k in cur.iterprev(values=False)]
            assert got == [k for k, _ in reversed(expected)]
            assert [kv async for kv in cur] == expected
            assert await cur.set_key(b"k020")
            assert [k async for k in cur.iternext(values=False)] == \
                [b"k%03d" % i for i in range(20, 25)]
            ecur = await txn.cursor(db=empty)
            assert [kv async for kv in ecur.iternext()] == []
            assert await ecur.iternext() == []
    arun(main())


# -- threads ------------------------------------------------------------------------------------------

class _Recorder:
    """Duck-typed stand-in that records the thread of every call it forwards."""

    def __init__(self, obj, log, tag):
        self._obj, self._log, self._tag = obj, log, tag

    def __getattr__(self, name):
        attr = getattr(self._obj, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            self._log.append((self._tag, name, threading.get_ident()))
            kwargs = {k: (v._obj if isinstance(v, _Recorder) else v)
                      for k, v in kwargs.items()}
            result = attr(*args, **kwargs)
            if isinstance(result, zl.Transaction):
                tag = "write" if kwargs.get("write") else "read"
                return _Recorder(result, self._log, tag)
            if isinstance(result, zl.Cursor):
                return _Recorder(result, self._log, self._tag)
            return result
        return call


def test_write_transaction_runs_on_one_thread(env):
    log = []
    pool = ThreadPoolExecutor(max_workers=8)
    aenv = zaio.wrap(_Recorder(env, log, "env"), pool)

    async def reader():
        async with aenv.begin() as txn:
            for _ in range(5):
                await txn.get(b"k000")

    async def main():
        loop_thread = threading.get_ident()
        txn = await aenv.begin(write=True)
        for i in range(20):
            # concurrent readers keep the shared pool's threads busy
            await asyncio.gather(txn.put(b"k%03d" % i, b"v"), reader())
        cur = await txn.cursor()
        assert len(await cur.iternext()) == 20
        assert [k async for k, _ in cur.iterprev()][0] == b"k019"
        await txn.get(b"k005")
        await txn.commit()
        return loop_thread

    try:
        loop_thread = arun(main())
    finally:
        pool.shutdown()
    writes = [entry for entry in log if entry[0] == "write"]
    calls = {name for _, name, _ in writes}
    assert {"put", "cursor", "iternext", "iterprev", "get", "commit"} <= calls
    begin_thread = [t for tag, name, t in log
                    if tag == "env" and name == "begin"][0]
    write_threads = {t for _, _, t in writes}
    assert write_threads == {begin_thread}
    assert loop_thread not in write_threads
    # read transactions used the pool given to wrap(), not the writer thread
    read_threads = {t for tag, _, t in log if tag == "read"}
    assert read_threads and begin_thread not in read_threads

    with env.begin() as txn:
        assert txn.stat()["entries"] == 20


def test_each_write_transaction_gets_its_own_thread_and_releases_it(aenv):
    async def main():
        idents = []
        for _ in range(3):
            async with aenv.begin(write=True) as txn:
                await txn.put(b"k", b"v")
                assert txn._owns_executor
                idents.append(txn._executor)
            assert not txn._owns_executor     # released with the transaction
        assert len({id(e) for e in idents}) == 3
        return idents

    executors = arun(main())
    for executor in executors:            # shut down at commit
        with pytest.raises(RuntimeError):
            executor.submit(int)


def test_nested_write_runs_on_parent_thread(env):
    log = []
    aenv = zaio.wrap(_Recorder(env, log, "env"))

    async def main():
        async with aenv.begin(write=True) as parent:
            await parent.put(b"a", b"1")
            async with aenv.begin(write=True, parent=parent) as child:
                await child.put(b"b", b"2")
            await parent.get(b"b")
    arun(main())
    threads = {t for tag, _, t in log if tag == "write"}
    begins = {t for tag, name, t in log if tag == "env" and name == "begin"}
    assert len(threads) == 1 and begins == threads
    with env.begin() as txn:
        assert txn.get(b"b") == b"2"


def test_forwarders_look_like_the_methods_they_wrap():
    """Every public method of the wrapped types is a real class attribute of
    its wrapper, carrying the wrapped method's name, doc and __wrapped__, so
    that dir(), inspect and help() describe the async API."""
    for wrapped, wrapper in ((zl.Environment, zaio.AsyncEnvironment),
                             (zl.Transaction, zaio.AsyncTransaction),
                             (zl.Cursor, zaio.AsyncCursor)):
        public = {n for n in dir(wrapped) if not n.startswith("_")
                  and callable(getattr(wrapped, n))}
        assert public <= set(vars(wrapper)), sorted(public - set(vars(wrapper)))
    get = vars(zaio.AsyncTransaction)["get"]
    assert inspect.iscoroutinefunction(get)
    assert get.__wrapped__ is zl.Transaction.get
    assert get.__doc__ == zl.Transaction.get.__doc__
    assert get.__qualname__ == "AsyncTransaction.get"
    path = vars(zaio.AsyncEnvironment)["path"]
    assert not inspect.iscoroutinefunction(path)
    assert path.__wrapped__ is zl.Environment.path
    iternext = vars(zaio.AsyncCursor)["iternext"]
    assert iternext.__wrapped__ is zl.Cursor.iternext
