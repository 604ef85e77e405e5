"""asyncio front end for :mod:`zlmdb.lmdb`.

``wrap(env)`` turns an open :class:`zlmdb.lmdb.Environment` into an
:class:`AsyncEnvironment`.  Every call that may block (disk I/O, page
faults, waiting for the writer lock) is handed to an executor through
:meth:`asyncio.loop.run_in_executor`; the event loop never blocks on LMDB.

Example::

    import zlmdb.lmdb as lmdb
    import zlmdb.lmdb.aio

    aenv = zlmdb.lmdb.aio.wrap(lmdb.open('/tmp/db'))
    async with aenv.begin(write=True) as txn:
        await txn.put(b'key', b'value')
    async with aenv.begin() as txn:
        async with txn.cursor() as cur:
            async for key, value in cur.iternext():
                ...

Rules the wrappers follow:

* Calls on one transaction, and on every cursor opened from it, are
  serialized by one :class:`asyncio.Lock`, so ``asyncio.gather()`` over the
  same transaction is safe.
* LMDB write transactions belong to the OS thread that began them.  Each
  write transaction therefore gets a private single-thread executor: its
  ``begin``, every later call, and its ``commit``/``abort`` all run on that one
  thread, whatever executor was given to :func:`wrap`.  The thread is
  released when the transaction commits or aborts.  A nested write
  transaction (``parent=`` an :class:`AsyncTransaction`) runs on its parent's
  thread.  Read transactions use the executor given to :func:`wrap` (the
  loop's default one when ``None``).
* ``begin()`` and ``cursor()`` return objects that can be awaited or used
  with ``async with``.  A transaction used with ``async with`` commits when
  the block ends normally and aborts when it raises; nothing happens if the
  block already committed or aborted it.
* After ``commit()``/``abort()`` any further call on the transaction or its
  cursors raises :class:`zlmdb.lmdb.Error`; ``abort()`` again is a no-op.
* Cursor iteration methods (``iternext()``, ``iterprev()``, ...) return an
  object that can be awaited, which gives the whole result as a list, or
  consumed with ``async for``, which fetches it in batches.
"""
import asyncio
import functools
import itertools
from concurrent.futures import ThreadPoolExecutor

from zlmdb.lmdb import Cursor, Environment, Error, Transaction  # noqa: F401

__all__ = ["wrap", "AsyncEnvironment", "AsyncTransaction", "AsyncCursor"]

#: number of records an ``async for`` over a cursor iterator fetches per
#: executor round trip.
ITER_BATCH = 256

_CLOSED_MSG = "Attempt to operate on closed/deleted/dropped object."


def wrap(env, executor=None):
    """Return an :class:`AsyncEnvironment` for the open environment *env*.

    *executor* is handed to :meth:`asyncio.loop.run_in_executor`; ``None``
    selects the running loop's default executor.  Write transactions never
    use it (see the module documentation).
    """
    return AsyncEnvironment(env, executor)


def _loop():
    return asyncio.get_running_loop()


def _new_writer_executor():
    return ThreadPoolExecutor(max_workers=1,
                              thread_name_prefix="zlmdb-aio-writer")


class _Pending:
    """A coroutine that may be awaited or entered with ``async with``."""

    __slots__ = ("_coro", "_result")

    def __init__(self, coro):
        self._coro = coro
        self._result = None

    def __await__(self):
        return self._coro.__await__()

    async def __aenter__(self):
        self._result = await self._coro
        return await self._result.__aenter__()

    async def __aexit__(self, exc_type, exc, tb):
        return await self._result.__aexit__(exc_type, exc, tb)


# -- method factories ---------------------------------------------------------
# Each public method is a thin forwarder built from a name; the attribute that
# holds the wrapped object is given by the class' _WRAPS, its type by _TYPE.
# _install() makes each forwarder a real class attribute that looks like the
# method it wraps (__wrapped__, __doc__, __name__), so dir(), inspect,
# help() and stubtest see the API of the wrapped type.

def _direct(name):
    def method(self, *args, **kwargs):
        return getattr(getattr(self, self._WRAPS), name)(*args, **kwargs)
    return method


def _in_executor(name):
    async def method(self, *args, **kwargs):
        target = getattr(getattr(self, self._WRAPS), name)
        call = functools.partial(target, *args, **kwargs)
        return await _loop().run_in_executor(self._executor, call)
    return method


def _serialized(name):
    async def method(self, *args, **kwargs):
        return await self._call(name, args, kwargs)
    return method


def _forward_getattr(self, name):
    """Look attributes the wrapper lacks up on the wrapped object."""
    try:
        wrapped = object.__getattribute__(self, self._WRAPS)
    except AttributeError:          # not initialised: no recursion
        raise AttributeError(name) from None
    return getattr(wrapped, name)


def _install(cls, factory, names):
    for name in names:
        target = getattr(cls._TYPE, name)
        method = factory(name)
        method.__name__ = name
        method.__qualname__ = "%s.%s" % (cls.__name__, name)
        method.__doc__ = target.__doc__
        method.__wrapped__ = target
        setattr(cls, name, method)


# -- environment ----------------------------------------------------------------

class AsyncEnvironment:
    """Async view of a :class:`zlmdb.lmdb.Environment` (made by :func:`wrap`).

    ``path()``, ``lib_version()``, ``max_key_size()``, ``max_readers()`` and
    ``flags()`` are cheap and called directly; every other method runs in the executor.
    ``async with aenv:`` closes the environment on exit.  Attributes not
    defined here are looked up on the wrapped environment.
    """

    __slots__ = ("_env", "_executor")
    _WRAPS = "_env"
    _TYPE = Environment

    def __init__(self, env, executor=None):
        self._env = env
        self._executor = executor

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc_info):
        await self.close()

    def begin(self, db=None, parent=None, write=False, buffers=False):
        """Start a transaction; await the result or use ``async with``.

        Takes the arguments of :meth:`Environment.begin`; *parent* may be an
        :class:`AsyncTransaction` or a plain transaction.
        """
        return _Pending(self._begin(db, parent, write, buffers))

    async def _begin(self, db, parent, write, buffers):
        parent_txn = parent
        executor = self._executor
        owns = False
        if isinstance(parent, AsyncTransaction):
            parent._check_open()
            parent_txn = parent._txn
            if parent._owns_executor or parent._parent_executor:
                executor = parent._executor
        if write and executor is self._executor:
            executor = _new_writer_executor()
            owns = True
        call = functools.partial(self._env.begin, db=db, parent=parent_txn,
                                 write=write, buffers=buffers)
        try:
            txn = await _loop().run_in_executor(executor, call)
        except BaseException:
            if owns:
                executor.shutdown(wait=False)
            raise
        result = AsyncTransaction(txn, executor, owns)
        result._parent_executor = (not owns) and executor is not self._executor
        return result

    __getattr__ = _forward_getattr

    def __repr__(self):
        return "<AsyncEnvironment %r>" % (self._env,)


_install(AsyncEnvironment, _direct,
         ("path", "lib_version", "max_key_size", "max_readers", "flags"))
_install(AsyncEnvironment, _in_executor, (
    "stat", "info", "close", "copy", "copyfd", "sync", "readers",
    "reader_check", "set_mapsize", "open_db", "dbs"))


# -- transaction ------------------------------------------------------------------

class AsyncTransaction:
    """Async view of a :class:`zlmdb.lmdb.Transaction`.

    Made by :meth:`AsyncEnvironment.begin`.  ``id()`` is called directly;
    all other methods run in the executor while holding the transaction's
    :class:`asyncio.Lock` (shared with its cursors).  A write transaction
    owns a single-thread executor, shut down by ``commit()``/``abort()``.
    """

    __slots__ = ("_txn", "_executor", "_lock", "_owns_executor", "_done",
                 "_parent_executor", "__weakref__")
    _WRAPS = "_txn"
    _TYPE = Transaction

    def __init__(self, txn, executor=None, owns_executor=False):
        self._txn = txn
        self._executor = executor
        self._owns_executor = owns_executor
        self._parent_executor = False
        self._lock = asyncio.Lock()
        self._done = False

    def _check_open(self):
        if self._done:
            raise Error(_CLOSED_MSG)

    async def _call(self, name, args, kwargs):
        self._check_open()
        async with self._lock:
            self._check_open()
            call = functools.partial(getattr(self._txn, name), *args, **kwargs)
            return await _loop().run_in_executor(self._executor, call)

    async def _run_locked(self, func):
        self._check_open()
        async with self._lock:
            self._check_open()
            return await _loop().run_in_executor(self._executor, func)

    def _release_executor(self):
        if self._owns_executor and self._executor is not None:
            self._executor.shutdown(wait=False)
        self._owns_executor = False     # it holds no thread any more

    async def _finish(self, name):
        async with self._lock:
            if self._done:
                return False
            try:
                await _loop().run_in_executor(self._executor,
                                              getattr(self._txn, name))
            finally:
                self._done = True
                self._release_executor()
            return True

    async def commit(self):
        """Commit; afterwards the transaction and its cursors are unusable."""
        self._check_open()
        if not await self._finish("commit"):
            raise Error(_CLOSED_MSG)

    async def abort(self):
        """Abort; a no-op when the transaction is already finished."""
        if not self._done:
            await self._finish("abort")

    def cursor(self, db=None):
        """Open a cursor; await the result or use ``async with``."""
        return _Pending(self._cursor(db))

    async def _cursor(self, db):
        cur = await self._run_locked(functools.partial(self._txn.cursor, db=db))
        return AsyncCursor(cur, self._executor, self._lock, self)

    def id(self):
        """Return the LMDB transaction id (called directly)."""
        self._check_open()
        return self._txn.id()

    async def __aenter__(self):
        self._check_open()
        return self

    async def __aexit__(self, exc_type, exc, tb):
        if self._done:
            return
        if exc_type is None:
            await self.commit()
        else:
            await self.abort()

    __getattr__ = _forward_getattr

    def __del__(self):
        # A write transaction dropped without commit/abort: abort it on its
        # own thread (LMDB requires that), then let the thread go.
        try:
            if not self._done and self._owns_executor:
                self._done = True
                self._executor.submit(self._txn.abort)
                self._executor.shutdown(wait=False)
        except Exception:
            pass

    def __repr__(self):
        state = "finished" if self._done else "active"
        return "<AsyncTransaction %s %r>" % (state, self._txn)


_install(AsyncTransaction, _serialized, (
    "stat", "drop", "get", "put", "replace", "pop", "delete"))


# -- cursor --------------------------------------------------------------------------

class _IterResult:
    """Result of a cursor iteration method.

    ``await`` it to get every item as a list (computed in one executor
    call), or use ``async for`` to fetch the items in batches of
    :data:`ITER_BATCH`.  The transaction lock is held during each executor
    call and released between batches.
    """

    __slots__ = ("_acur", "_name", "_args", "_kwargs", "_it", "_buf",
                 "_batch", "_exhausted")

    def __init__(self, acur, name, args, kwargs, batch=None):
        self._acur = acur
        self._name = name
        self._args = args
        self._kwargs = kwargs
        self._it = None
        self._buf = []
        self._batch = batch or ITER_BATCH
        self._exhausted = False

    def _start(self):
        return getattr(self._acur._cursor, self._name)(*self._args, **self._kwargs)

    async def _all(self):
        start = self._start
        return await self._acur._run_locked(lambda: list(start()))

    def __await__(self):
        return self._all().__await__()

    def __aiter__(self):
        return self

    async def __anext__(self):
        if not self._buf:
            if self._exhausted:
                raise StopAsyncIteration
            batch = self._batch

            def fetch():
                if self._it is None:
                    self._it = self._start()
                return list(itertools.islice(self._it, batch))

            self._buf = await self._acur._run_locked(fetch)
            self._buf.reverse()
            if len(self._buf) < batch:
                self._exhausted = True
            if not self._buf:
                raise StopAsyncIteration
        return self._buf.pop()


def _iter_method(name):
    def method(self, *args, **kwargs):
        return _IterResult(self, name, args, kwargs)
    return method


class AsyncCursor:
    """Async view of a :class:`zlmdb.lmdb.Cursor`.

    Made by :meth:`AsyncTransaction.cursor`.  ``key()``, ``value()`` and
    ``item()`` are called directly; the other methods run in the executor
    under the transaction lock.  ``async for item in acur`` is the same as
    ``async for item in acur.iternext()``.  ``async with`` closes the cursor.
    """

    __slots__ = ("_cursor", "_executor", "_lock", "_txn")
    _WRAPS = "_cursor"
    _TYPE = Cursor

    def __init__(self, cursor, executor=None, lock=None, txn=None):
        self._cursor = cursor
        self._executor = executor
        self._lock = lock if lock is not None else asyncio.Lock()
        self._txn = txn

    def _check_open(self):
        if self._txn is not None:
            self._txn._check_open()

    async def _run_locked(self, func):
        self._check_open()
        async with self._lock:
            self._check_open()
            return await _loop().run_in_executor(self._executor, func)

    async def _call(self, name, args, kwargs):
        target = getattr(self._cursor, name)
        return await self._run_locked(functools.partial(target, *args, **kwargs))

    async def close(self):
        """Close the cursor (a no-op once its transaction has finished)."""
        if self._txn is not None and self._txn._done:
            return
        await self._call("close", (), {})

    def key(self):
        self._check_open()
        return self._cursor.key()

    def value(self):
        self._check_open()
        return self._cursor.value()

    def item(self):
        self._check_open()
        return self._cursor.item()

    def __aiter__(self):
        return _IterResult(self, "iternext", (), {})

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc_info):
        await self.close()

    __getattr__ = _forward_getattr

    def __repr__(self):
        return "<AsyncCursor %r>" % (self._cursor,)


_install(AsyncCursor, _serialized, (
    "first", "first_dup", "last", "last_dup", "prev", "prev_dup",
    "prev_nodup", "next", "next_dup", "next_nodup", "set_key", "set_key_dup",
    "set_range", "set_range_dup", "delete", "count", "put", "putmulti",
    "replace", "pop", "get", "getmulti"))
_install(AsyncCursor, _iter_method, (
    "iternext", "iternext_dup", "iternext_nodup", "iterprev", "iterprev_dup",
    "iterprev_nodup"))
