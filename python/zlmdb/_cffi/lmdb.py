"""``zlmdb.lmdb`` on PyPy: py-lmdb's API over libzlmdb through CFFI.

The classes here are the PyPy counterparts of the CPython extension's types
(src/ext/env.c, txn.c, db.c, cursor.c): the same names, arguments,
defaults, results and exceptions, and the same lifetime tree: Environment >
{Transaction, _Database}, Transaction > {Cursor, child Transaction}.  Ending
a parent marks every descendant invalid first, waits for calls in flight on
them (CFFI releases the GIL around every C call, so another thread may be
inside one), then frees their LMDB handles; from then on each method of a
descendant raises the "closed/deleted/dropped" error from the one guard at
its top.  Parents hold their children weakly, so a transaction or cursor
dropped without being ended is released by the garbage collector.

LMDB itself is reached through libzlmdb's engine tables: each Environment
holds the ``zlmdb_engine`` of its file's format (LMDB 0.9 or 1.0) and its
transactions and cursors copy it.  The hot paths (get, put, cursor moves)
are one C call each into ``zlmdb._lmdb_cffi`` (src/cffi/lmdb_cffi_build.py)
with the key and value passed as they are, and results read from a
``zl_val`` allocated once per transaction or cursor.
"""
import errno
import gc
import mmap
import os
import stat as _stat
import sys
import threading
import time
import weakref

from zlmdb._lmdb_cffi import ffi, lib
from zlmdb._cffi import errors as _errors
from zlmdb._cffi._args import INT_MAX, SIZE_MAX, api, buf, flag, unsigned
from zlmdb._cffi.errors import Error, error, invalid, lib_error

_CLASSES = _errors.CLASSES
ReadonlyError = _CLASSES["ReadonlyError"]
InvalidError = _CLASSES["InvalidError"]
VersionMismatchError = _CLASSES["VersionMismatchError"]

_NOTFOUND = lib.MDB_NOTFOUND
_KEYEXIST = lib.MDB_KEYEXIST
_EINVAL = errno.EINVAL
_GET_CURRENT = lib.MDB_GET_CURRENT
_NULL = ffi.NULL
_ffi_unpack = ffi.unpack


def _unpack(p, n):
    # An empty value may come with a NULL pointer, which unpack() refuses.
    return _ffi_unpack(p, n) if n else b""
_get_ident = threading.get_ident

# ------------------------------------------------------------ fork safety

# The process that made a handle; a forked child never touches LMDB handles
# it inherited (their reader slots and locks are the parent's).
_pid = os.getpid()


def _after_fork():
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_after_fork)


def _wait_zero(obj, attr):
    """Wait (the GIL released) until calls in flight on ``obj`` are done."""
    delay = 0.0001
    while getattr(obj, attr):
        time.sleep(delay)
        delay = min(delay * 2, 0.01)


def _final(cls):
    """Like the extension's types, these classes are no base types, except
    for zlmdb's own subclasses (the ORM's transaction, phase 2 of PyPy)."""
    name = cls.__name__

    def __init_subclass__(sub, **kwargs):
        if not sub.__module__.startswith("zlmdb."):
            raise TypeError("type '%s' is not an acceptable base type" % name)
        super(cls, sub).__init_subclass__(**kwargs)
    cls.__init_subclass__ = classmethod(__init_subclass__)
    # Not 'builtins', which the extension's types report as py-lmdb's C
    # extension does: code (py-lmdb's own tests among it) reads 'builtins' as
    # "the C extension, with its reference-counted, immediate deallocation",
    # which a PyPy binding does not have.  py-lmdb's cffi backend says
    # 'lmdb.cffi'; this is where the classes are public.
    cls.__module__ = "zlmdb.lmdb"
    return cls


def _kid_add(parent, kid):
    kids = parent._kids
    if len(kids) > 64:
        # dict.copy() is one step for the GIL: other threads may add meanwhile
        for key, r in kids.copy().items():
            if r() is None:
                kids.pop(key, None)
    kids[id(kid)] = weakref.ref(kid)


def _kids_alive(parent):
    return [k for k in (r() for r in parent._kids.copy().values()) if k is not None]


def _mark_children(node):
    for kid in _kids_alive(node):
        kid._valid = False
        _mark_children(kid)


def _release_children(node):
    for kid in _kids_alive(node):
        kid._release()
    node._kids.clear()


# --------------------------------------------------------------- engines

def _engine_get(lib_version):
    """The engine for lib_version= (None: the default of new
    environments), or py-lmdb's Error naming the engines there are."""
    if lib_version is None or lib_version < 0:
        return _default_engine
    out = ffi.new("const zlmdb_engine **")
    rc = lib.zlmdb_engine_get(lib_version, out)
    if rc:
        raise lib_error(Error, rc, None, ".")
    return out[0]


def _init_default_engine():
    out = ffi.new("const zlmdb_engine **")
    rc = lib.zlmdb_engine_get(lib.ZLMDB_LIB_VERSION_AUTO, out)
    if rc:
        raise lib_error(ImportError, rc)
    want = os.environ.get("LMDB_DEFAULT_LIB_VERSION")
    if not want:
        return out[0]
    try:
        v = int(want, 10)
    except ValueError:
        v = -1
    if v in (0, 1) and lib.zlmdb_engine_get(v, out) == 0:
        return out[0]
    sys.stderr.write("lmdb: ignoring LMDB_DEFAULT_LIB_VERSION=%.100s: "
                     "no such engine in this build\n" % want)
    return out[0]


_default_engine = _init_default_engine()
LMDB_PATCHED = _default_engine.patched


def version(*args, **kwargs):
    """version(subpatch=False, lib_version=None)

    The version of an LMDB engine compiled in, as (major, minor, patch): the
    engine new environments get by default, or with lib_version=0 or 1 the
    LMDB 0.9 or 1.0 engine.  With subpatch=True a fourth item follows: 1 when
    that LMDB carries the hardening patches of the default build
    (Environment.copy(txn=...) needs them), else 0."""
    subpatch, lib_version = _version_call(*args, **kwargs)
    eng = _engine_get(unsigned(lib_version, -1, INT_MAX))
    if flag(subpatch, False):
        return (eng.major, eng.minor, eng.patch, 1 if eng.patched else 0)
    return (eng.major, eng.minor, eng.patch)


@api
def _version_args(_unused, subpatch=None, lib_version=None):
    return subpatch, lib_version


def _version_call(*args, **kwargs):
    return _version_args(None, *args, **kwargs)


def enable_drop_gil():
    """enable_drop_gil()

    Does nothing; kept because py-lmdb keeps it."""


def engine_detect(path):
    """The LMDB release line whose format the environment directory `path`
    has: 0 (LMDB 0.9, data format v1), 1 (LMDB 1.0, data format v3), or None
    when it holds no data yet."""
    found = ffi.new("int *")
    rc = lib.zlmdb_engine_detect(os.fsencode(path), 0, found)
    if rc == lib.ZLMDB_BAD_FORMAT:
        raise lib_error(InvalidError, rc)
    if rc:
        raise lib_error(OSError if rc > 0 else ValueError, rc)
    if found[0] == lib.ZLMDB_LIB_VERSION_AUTO:
        return None
    return found[0]


# ------------------------------------------------------------ environment

#: identities of the data and lock files of every open environment
_open_files = set()
_open_lock = threading.Lock()


def _file_keys(cpath, subdir):
    """(st_dev, st_ino) of the environment's data and lock files that exist
    (the resolved path where the filesystem has no inode numbers)."""
    suffixes = (b"/data.mdb", b"/lock.mdb") if subdir else (b"", b"-lock")
    keys = []
    for suffix in suffixes:
        name = cpath + suffix
        try:
            sb = os.stat(name)
        except OSError:
            continue
        keys.append((sb.st_dev, sb.st_ino) if sb.st_ino else os.path.realpath(name))
    return tuple(keys)


def _stat_dict(s):
    return {"psize": s.ms_psize, "depth": s.ms_depth, "branch_pages": s.ms_branch_pages,
            "leaf_pages": s.ms_leaf_pages, "overflow_pages": s.ms_overflow_pages,
            "entries": s.ms_entries}


def _path_bytes(path):
    if path.__class__ is bytes:
        return path
    if path.__class__ is str:
        return os.fsencode(path)
    raise TypeError("Filesystem path must be Unicode or bytes.")


@_final
class Environment:
    """Environment(path, map_size=10485760, subdir=True, readonly=False, metasync=True, sync=True, map_async=False, mode=0o755, create=True, readahead=True, writemap=False, meminit=True, max_readers=126, max_dbs=0, max_spare_txns=0, lock=True, lib_version=None)

    An LMDB environment: one memory-mapped data file and its lock file.

    path (str or bytes) names a directory holding data.mdb and lock.mdb, or
    with subdir=False the data file itself.  map_size is the largest size the
    data file may reach, in bytes; max_dbs is how many named databases
    open_db() may open.  A path can be open once per process.  lmdb.open is
    this type.

    An existing file opens with the LMDB engine its format needs (0.9 for data
    format v1, 1.0 for v3); lib_version=0 or 1 requires that format and picks
    the engine of a new environment, which otherwise gets LMDB 0.9 (or the one
    LMDB_DEFAULT_LIB_VERSION names)."""

    __slots__ = ("_eng", "_env", "_valid", "_main_db", "_readonly", "_max_spare",
                 "_spare", "_spare_hidden", "_have_writer", "_write_tid", "_resizing",
                 "_ops", "_lock", "_orphans", "_pid", "_keys", "_keeper", "_kids", "_dbs",
                 "__weakref__")

    def __new__(cls, *args, **kwargs):
        self = object.__new__(cls)
        self._env = None
        self._valid = False
        self._keys = ()
        self._kids = {}
        self._dbs = {}
        self._spare = None
        self._main_db = None
        self._keeper = None
        self._ops = []
        self._lock = threading.Lock()
        self._orphans = []
        self._have_writer = False
        self._write_tid = 0
        self._resizing = False
        self._pid = _pid
        return self

    @api
    def __init__(self, path=None, map_size=None, subdir=None, readonly=None, metasync=None,
                 sync=None, map_async=None, mode=None, create=None, readahead=None,
                 writemap=None, meminit=None, max_readers=None, max_dbs=None,
                 max_spare_txns=None, lock=None, lib_version=None):
        if self._env is not None:
            raise TypeError("Environment is already initialised")
        map_size = unsigned(map_size, 10485760, SIZE_MAX)
        subdir = flag(subdir, True)
        readonly = flag(readonly, False)
        metasync = flag(metasync, True)
        sync = flag(sync, True)
        map_async = flag(map_async, False)
        mode = unsigned(mode, 0o755, INT_MAX)
        create = flag(create, True)
        readahead = flag(readahead, True)
        writemap = flag(writemap, False)
        meminit = flag(meminit, True)
        max_readers = unsigned(max_readers, 126, INT_MAX)
        max_dbs = unsigned(max_dbs, 0, INT_MAX)
        max_spare_txns = unsigned(max_spare_txns, 0, INT_MAX)
        lock = flag(lock, True)
        lib_version = unsigned(lib_version, -1, INT_MAX)
        if path is None:
            raise TypeError("'path' argument required")
        cpath = _path_bytes(path)
        if b"\0" in cpath:
            raise ValueError("embedded null byte")
        what = cpath.decode("utf-8", "replace")
        self._readonly = readonly
        self._max_spare = 1 if max_spare_txns else 0
        self._spare_hidden = False

        eng = self._eng = self._choose_engine(cpath, subdir, lib_version)
        out = ffi.new("MDB_env **")
        rc = eng.env_create(out)
        if rc:
            raise error("mdb_env_create", rc)
        self._env = out[0]
        locked = False
        try:
            rc = eng.env_set_mapsize(self._env, map_size)
            if rc:
                raise error("mdb_env_set_mapsize", rc)
            rc = eng.env_set_maxreaders(self._env, max_readers)
            if rc:
                raise error("mdb_env_set_maxreaders", rc)
            rc = eng.env_set_maxdbs(self._env, max_dbs)
            if rc:
                raise error("mdb_env_set_maxdbs", rc)
            if create and subdir and not readonly:
                try:
                    os.mkdir(cpath, mode)
                except FileExistsError:
                    pass
                except OSError as exc:
                    raise OSError(exc.errno, exc.strerror, os.fsdecode(cpath)) from None
            # One open handle per file per process: LMDB's locks are fcntl()
            # locks, owned per (process, file) (py-lmdb #230, #491).  Opens
            # are serialised from here until the keys are recorded, since
            # LMDB's open below runs without the GIL and another thread's
            # open of the same files could pass this check meanwhile (the
            # extension's zpy_open_lock).
            _open_lock.acquire()
            locked = True
            for key in _file_keys(cpath, subdir):
                if key in _open_files:
                    raise error("The environment '%s' is already open in this process."
                                % what, 0)
            flags = lib.MDB_NOTLS
            if not subdir:
                flags |= lib.MDB_NOSUBDIR
            if readonly:
                flags |= lib.MDB_RDONLY
            if not metasync:
                flags |= lib.MDB_NOMETASYNC
            if not sync:
                flags |= lib.MDB_NOSYNC
            if map_async:
                flags |= lib.MDB_MAPASYNC
            if not readahead:
                flags |= lib.MDB_NORDAHEAD
            if writemap:
                flags |= lib.MDB_WRITEMAP
            if not meminit:
                flags |= lib.MDB_NOMEMINIT
            if not lock:
                flags |= lib.MDB_NOLOCK
            rc = eng.env_open(self._env, cpath, flags, mode & ~0o111)
            if rc:
                raise error(what, rc)
            self._check_file_length(cpath, subdir, what)
            txn = ffi.new("MDB_txn **")
            rc = eng.txn_begin(self._env, _NULL, lib.MDB_RDONLY, txn)
            if rc:
                raise error("mdb_txn_begin", rc)
            self._valid = True
            try:
                self._main_db = _Database._open(self, txn[0], None, 0)
            finally:
                eng.txn_abort(txn[0])
            # Taken again now that the files exist: a new environment had none.
            self._keys = _file_keys(cpath, subdir)
            _open_files.update(self._keys)
        except BaseException:
            self._valid = False
            self._main_db = None
            eng.env_close(self._env)
            self._env = None
            raise
        finally:
            if locked:
                _open_lock.release()

    @staticmethod
    def _choose_engine(cpath, subdir, lib_version):
        """The engine of this environment, chosen before LMDB sees the file."""
        flags = 0 if subdir else lib.MDB_NOSUBDIR
        out = ffi.new("const zlmdb_engine **")
        if lib_version >= 0:
            _engine_get(lib_version)
            rc = lib.zlmdb_engine_for_path(cpath, flags, lib_version, out)
        else:
            found = ffi.new("int *")
            rc = lib.zlmdb_engine_detect(cpath, flags, found)
            if rc == 0 and found[0] != lib.ZLMDB_LIB_VERSION_AUTO:
                rc = lib.zlmdb_engine_get(found[0], out)
            elif rc != lib.ZLMDB_BAD_FORMAT:
                return _default_engine   # new, or unreadable: LMDB says which
        if rc == 0:
            return out[0]
        raise lib_error(VersionMismatchError if rc == lib.ZLMDB_FORMAT_MISMATCH
                        else InvalidError, rc)

    def _check_file_length(self, cpath, subdir, what):
        """A data file shorter than its meta page claims would fault (SIGBUS)
        on the first read of a missing page: refuse it now."""
        eng = self._eng
        info = ffi.new("MDB_envinfo *")
        est = ffi.new("MDB_stat *")
        if eng.env_info(self._env, info) or eng.env_stat(self._env, est):
            return
        try:
            sb = os.stat(cpath + b"/data.mdb" if subdir else cpath)
        except OSError:
            return
        if _stat.S_ISREG(sb.st_mode) and \
                sb.st_size < (info.me_last_pgno + 1) * est.ms_psize:
            raise error(what, lib.MDB_CORRUPTED)

    # ---------------------------------------------------------- lifetime

    # The operation bracket.  CFFI releases the GIL around every C call, so
    # anything that calls LMDB on this env other than through a live
    # transaction's own bracket (begin, the end of a transaction, stat, ...)
    # is counted in _ops; close() and set_mapsize() raise their flag, then
    # wait for _ops to drain before they free or remap anything.  The count
    # is a list: append() and pop() are single steps for PyPy's GIL, where
    # ``n += 1`` is a load and a store another thread can come between (a
    # lost update is a bracket that never drains, or one that drains early).
    # The guard comes after the increment: a close() or set_mapsize() that
    # raised its flag before it is seen here, one that raises it after it
    # waits for us (the extension's order: the flag, then the wait).
    def _op_enter(self):
        self._ops.append(None)
        if not self._valid or self._resizing:
            self._ops.pop()
            if not self._valid:
                raise invalid()
            raise error("mdb_txn_begin", _EINVAL)

    def _op_try(self):
        """_op_enter() that answers False instead of raising."""
        self._ops.append(None)
        if not self._valid or self._resizing:
            self._ops.pop()
            return False
        return True

    def _drain_orphans(self):
        """Free the handles that transactions finalized while this env was
        closing or remapping could not free themselves (see _park)."""
        while self._orphans:
            txn = self._orphans.pop()
            if self._pid == _pid and self._env is not None:
                self._eng.txn_abort(txn)

    def _release_own_writer(self):
        if not self._have_writer or self._write_tid != _get_ident():
            return
        for kid in _kids_alive(self):
            if isinstance(kid, Transaction) and kid._top_writer:
                kid._release()
                return

    def _close(self):
        if self._env is None:
            return
        self._valid = False
        _mark_children(self)
        self._release_own_writer()
        _wait_zero(self, "_ops")
        me = _get_ident()
        while self._have_writer and self._write_tid != me:
            time.sleep(0.001)
        # Every transaction begun before the flag was raised is among the
        # children now (begin links it inside its bracket).
        _mark_children(self)
        _release_children(self)
        self._drain_orphans()
        for db in self._dbs.values():
            db._release()
        self._dbs = {}
        self._main_db = None
        self._keeper = None
        if self._spare is not None:
            if _pid == self._pid:
                self._eng.txn_abort(self._spare)
            self._spare = None
        env, self._env = self._env, None
        self._eng.env_close(env)
        _open_files.difference_update(self._keys)
        self._keys = ()

    def __del__(self):
        if self._env is not None:
            # Transactions hold references to us, so none is alive here.
            self._close()

    def _release(self):
        self._close()

    # ------------------------------------------------------------ methods

    def __enter__(self):
        """Return the environment."""
        return self

    def __exit__(self, *exc_info):
        """Close the environment."""
        self._close()

    def close(self):
        """close()

        Close the environment after ending its transactions, cursors and
        database handles.  Closing a closed environment does nothing."""
        self._close()

    @api
    def begin(self, db=None, parent=None, write=None, buffers=None):
        """begin(db=None, parent=None, write=False, buffers=False)

        Begin a transaction: the same as Transaction(self, db, parent, write,
        buffers)."""
        if not self._valid:
            raise invalid()
        return Transaction._new(self, _db_arg(db), _txn_arg(parent), flag(write, False),
                                flag(buffers, False))

    @api
    def open_db(self, key=None, txn=None, reverse_key=None, dupsort=None, create=None,
                integerkey=None, integerdup=None, dupfixed=None):
        """open_db(key=None, txn=None, reverse_key=False, dupsort=False, create=True, integerkey=False, integerdup=False, dupfixed=False)

        Return a handle for the named database key (bytes), creating it when
        create is true; key=None is the main database.  Without txn a
        transaction of its own is used and committed."""
        if not self._valid:
            raise invalid()
        txn = _txn_arg(txn)
        reverse_key = flag(reverse_key, False)
        dupsort = flag(dupsort, False)
        create = flag(create, True)
        integerkey = flag(integerkey, False)
        integerdup = flag(integerdup, False)
        dupfixed = flag(dupfixed, False)
        if key is None and (reverse_key or dupsort or integerkey or integerdup or dupfixed):
            raise ValueError("May not set flags on the main database")
        name = None
        if key is not None:
            name = bytes(ffi.buffer(buf(key))) if key.__class__ is not bytes else key
        flags = 0
        if reverse_key:
            flags |= lib.MDB_REVERSEKEY
        if dupsort:
            flags |= lib.MDB_DUPSORT
        if create:
            flags |= lib.MDB_CREATE
        if integerkey:
            flags |= lib.MDB_INTEGERKEY
        if integerdup:
            flags |= lib.MDB_DUPSORT | lib.MDB_DUPFIXED | lib.MDB_INTEGERDUP
        if dupfixed:
            flags |= lib.MDB_DUPSORT | lib.MDB_DUPFIXED
        if txn is not None:
            if not txn._valid:
                raise invalid()
            txn._ops.append(None)
            try:
                if not txn._valid:
                    raise invalid()
                return _Database._open(self, txn._txn, name, flags)
            finally:
                txn._ops.pop()
        eng = self._eng
        rdonly = name is None or self._readonly
        if self._resizing:
            raise error("mdb_txn_begin", _EINVAL)
        if not rdonly and self._have_writer and self._write_tid == _get_ident():
            raise error("Attempt to open a database without txn= while a write transaction "
                        "is active on the same thread. This would deadlock; pass txn=.",
                        errno.EBUSY)
        out = ffi.new("MDB_txn **")
        # Its own transaction, begin to commit, is one operation on the env.
        self._op_enter()
        try:
            rc = eng.txn_begin(self._env, _NULL, lib.MDB_RDONLY if rdonly else 0, out)
            if rc:
                raise error("mdb_txn_begin", rc)
            txn = out[0]
            try:
                db = _Database._open(self, txn, name, flags)
            except BaseException:
                eng.txn_abort(txn)
                raise
            rc = eng.txn_commit(txn)
        finally:
            self._ops.pop()
        if rc:
            raise error("mdb_txn_commit", rc)
        return db

    def _borrow_read_txn(self):
        eng = self._eng
        with self._lock:
            if self._spare is not None and self._pid != _pid:
                self._spare = None
            txn, self._spare = self._spare, None
        if txn is not None:
            rc = eng.txn_renew(txn)
            if rc:
                eng.txn_abort(txn)
                raise error("mdb_txn_renew", rc)
            return txn
        out = ffi.new("MDB_txn **")
        rc = eng.txn_begin(self._env, _NULL, lib.MDB_RDONLY, out)
        if rc:
            raise error("mdb_txn_begin", rc)
        return out[0]

    def _return_read_txn(self, txn):
        self._eng.txn_reset(txn)
        with self._lock:
            if self._spare is None and self._env is not None:
                self._spare, txn = txn, None
                self._spare_hidden = False
        if txn is not None:
            self._eng.txn_abort(txn)

    @api
    def dbs(self, txn=None):
        """dbs(txn=None)

        The names of the named databases, as a list of bytes."""
        if not self._valid:
            raise invalid()
        txn = _txn_arg(txn)
        # The names are copied out of LMDB's memory inside the brackets: the
        # env's (close() and set_mapsize() wait for it) and the txn's.
        self._op_enter()
        try:
            if txn is None:
                return self._dbs_in(None)
            txn._ops.append(None)
            try:
                if not txn._valid:
                    raise invalid()
                return self._dbs_in(txn._txn)
            finally:
                txn._ops.pop()
        finally:
            self._ops.pop()

    def _dbs_in(self, mtxn):
        own = mtxn is None
        if own:
            mtxn = self._borrow_read_txn()
        eng = self._eng
        names = []
        try:
            out = ffi.new("MDB_cursor **")
            rc = eng.cursor_open(mtxn, self._main_db._dbi, out)
            if rc:
                raise error("mdb_cursor_open", rc)
            curs = out[0]
            key = ffi.new("zl_val *")
            val = ffi.new("zl_val *")
            dbi = ffi.new("MDB_dbi *")
            try:
                while True:
                    rc = lib.zl_cursor_get(eng, curs, key, val, lib.MDB_NEXT, 0)
                    if rc:
                        break
                    name = _unpack(key.data, key.size)
                    if eng.dbi_open(mtxn, name, 0, dbi) == 0:
                        # LMDB 1.0 stores a name with its NUL: strip it, so
                        # both engines list the same names (py-lmdb 3.0).
                        if eng.major >= 1 and name.endswith(b"\0"):
                            name = name[:-1]
                        names.append(name)
                if rc != _NOTFOUND:
                    raise error("mdb_cursor_get", rc)
            finally:
                eng.cursor_close(curs)
        finally:
            if own:
                self._return_read_txn(mtxn)
        return names

    def stat(self):
        """stat()

        Statistics of the main database: psize, depth, branch_pages,
        leaf_pages, overflow_pages and entries."""
        self._op_enter()
        try:
            s = ffi.new("MDB_stat *")
            rc = self._eng.env_stat(self._env, s)
        finally:
            self._ops.pop()
        if rc:
            raise error("mdb_env_stat", rc)
        return _stat_dict(s)

    def info(self):
        """info()

        A dict with map_addr, map_size, last_pgno, last_txnid, max_readers and
        num_readers."""
        self._op_enter()
        try:
            i = ffi.new("MDB_envinfo *")
            rc = self._eng.env_info(self._env, i)
        finally:
            self._ops.pop()
        if rc:
            raise error("mdb_env_info", rc)
        return {"map_addr": int(ffi.cast("uintptr_t", i.me_mapaddr)),
                "map_size": i.me_mapsize, "last_pgno": i.me_last_pgno,
                "last_txnid": i.me_last_txnid, "max_readers": i.me_maxreaders,
                "num_readers": i.me_numreaders}

    def flags(self):
        """flags()

        The options the environment was opened with, as a dict of bools:
        subdir, readonly, metasync, sync, map_async, readahead, writemap,
        meminit, lock."""
        if not self._valid:
            raise invalid()
        out = ffi.new("unsigned int *")
        rc = self._eng.env_get_flags(self._env, out)
        if rc:
            raise error("mdb_env_get_flags", rc)
        f = out[0]
        return {"subdir": not f & lib.MDB_NOSUBDIR, "readonly": bool(f & lib.MDB_RDONLY),
                "metasync": not f & lib.MDB_NOMETASYNC, "sync": not f & lib.MDB_NOSYNC,
                "map_async": bool(f & lib.MDB_MAPASYNC),
                "readahead": not f & lib.MDB_NORDAHEAD,
                "writemap": bool(f & lib.MDB_WRITEMAP),
                "meminit": not f & lib.MDB_NOMEMINIT, "lock": not f & lib.MDB_NOLOCK}

    def _copy(self, cpath, fd, compact, txn, kind):
        eng = self._eng
        flags = lib.MDB_CP_COMPACT if compact else 0
        mtxn = _NULL
        if txn is not None:
            if not compact:
                raise TypeError("txn argument only compatible with compact=True")
            if eng.env_copy3 == _NULL:
                raise TypeError("Non-patched LMDB doesn't support transaction with env.%s"
                                % kind)
            if not txn._valid:
                raise invalid()
            mtxn = txn._txn
        if not compact and self._have_writer and self._write_tid == _get_ident():
            raise error("Attempt to copy the environment while a write transaction is "
                        "active on the same thread. This would deadlock.", errno.EBUSY)
        self._op_enter()
        try:
            if eng.env_copy3 != _NULL and cpath is not None:
                what, rc = "mdb_env_copy3", eng.env_copy3(self._env, cpath, flags, mtxn)
            elif eng.env_copyfd3 != _NULL:
                what, rc = "mdb_env_copyfd3", eng.env_copyfd3(self._env, fd, flags, mtxn)
            elif cpath is not None:
                what, rc = "mdb_env_copy2", eng.env_copy2(self._env, cpath, flags)
            else:
                what, rc = "mdb_env_copyfd2", eng.env_copyfd2(self._env, fd, flags)
        finally:
            self._ops.pop()
        if rc:
            raise error(what, rc)

    @api
    def copy(self, path=None, compact=None, txn=None):
        """copy(path, compact=False, txn=None)

        Write a consistent copy of the environment, which stays in use, into
        path: an existing directory without a data.mdb.  compact=True leaves
        out free pages.  txn (with compact=True, on the patched LMDB: see
        version()) copies the state that transaction sees."""
        if not self._valid:
            raise invalid()
        compact = flag(compact, False)
        txn = _txn_arg(txn)
        if path is None:
            raise TypeError("path argument required")
        self._copy(_path_bytes(path), -1, compact, txn, "copy")

    @api
    def copyfd(self, fd=None, compact=None, txn=None):
        """copyfd(fd, compact=False, txn=None)

        Like copy(), but write the data file to the open file descriptor fd."""
        if not self._valid:
            raise invalid()
        fd = unsigned(fd, -1, INT_MAX)
        compact = flag(compact, False)
        txn = _txn_arg(txn)
        if fd == -1:
            raise TypeError("fd argument required")
        self._copy(None, fd, compact, txn, "copyfd")

    @api
    def sync(self, force=None):
        """sync(force=False)

        Flush written data to disk.  With sync=False or map_async=True commits
        do not flush; force=True flushes synchronously in those modes too."""
        if not self._valid:
            raise invalid()
        force = flag(force, False)
        self._op_enter()
        try:
            rc = self._eng.env_sync(self._env, force)
        finally:
            self._ops.pop()
        if rc:
            raise error("mdb_env_sync", rc)

    def path(self):
        """path()

        The path the environment was opened with, as a str."""
        if not self._valid:
            raise invalid()
        out = ffi.new("const char **")
        rc = self._eng.env_get_path(self._env, out)
        if rc:
            raise error("mdb_env_get_path", rc)
        return ffi.string(out[0]).decode("utf-8")

    def lib_version(self):
        """lib_version()

        The version of the LMDB engine behind this environment, as (major,
        minor, patch): (0, 9, x) for a data format v1 file, (1, 0, x) for
        format v3."""
        eng = self._eng
        return (eng.major, eng.minor, eng.patch)

    def max_key_size(self):
        """max_key_size()

        The longest key LMDB accepts, in bytes."""
        if not self._valid:
            raise invalid()
        return self._eng.env_get_maxkeysize(self._env)

    def max_readers(self):
        """max_readers()

        The number of slots in the reader lock table."""
        if not self._valid:
            raise invalid()
        out = ffi.new("unsigned int *")
        rc = self._eng.env_get_maxreaders(self._env, out)
        if rc:
            raise error("mdb_env_get_maxreaders", rc)
        return out[0]

    def readers(self):
        """readers()

        The reader lock table as text, one line per slot in use."""
        if not self._valid:
            raise invalid()
        self._op_enter()
        try:
            spare = None
            with self._lock:
                if self._spare is not None and self._spare_hidden and self._pid == _pid:
                    # The spare kept for speed alone is not shown: give its
                    # slot back.
                    spare, self._spare = self._spare, None
            if spare is not None:
                self._eng.txn_abort(spare)
            rc = ffi.new("int *")
            p = lib.zl_readers(self._eng, self._env, rc)
        finally:
            self._ops.pop()
        if p == _NULL:
            raise MemoryError()
        try:
            return ffi.string(p).decode("utf-8", "replace")
        finally:
            lib.zl_free(p)

    def reader_check(self):
        """reader_check()

        Free the reader slots of processes that died; return how many were
        freed."""
        if not self._valid:
            raise invalid()
        dead = ffi.new("int *")
        self._op_enter()
        try:
            rc = self._eng.reader_check(self._env, dead)
        finally:
            self._ops.pop()
        if rc:
            raise error("mdb_reader_check", rc)
        return dead[0]

    @api
    def set_mapsize(self, map_size=None):
        """set_mapsize(map_size)

        Change the map size.  Not allowed while a write transaction is open;
        the environment's other transactions and cursors end, database
        handles stay."""
        if not self._valid:
            raise invalid()
        self._set_mapsize(unsigned(map_size, 0, SIZE_MAX))

    def _mark_txns(self):
        txns = [k for k in _kids_alive(self) if isinstance(k, Transaction)]
        for t in txns:
            t._valid = False
            _mark_children(t)
        return txns

    def _set_mapsize(self, map_size):
        if not self._valid:
            raise invalid()
        # Under the lock a write begin registers its writer with: either it
        # sees the flag (and gives its lock back) or we see its writer.
        with self._lock:
            if self._have_writer:
                raise Error("Cannot set_mapsize while a write transaction is active")
            if self._resizing:
                raise Error("Cannot set_mapsize: another set_mapsize is in progress")
            self._resizing = True
        try:
            self._mark_txns()
            _wait_zero(self, "_ops")
            # The brackets are drained: a begin that was in one has linked
            # its transaction (mark it too); no new one can start.
            while True:
                txns = self._mark_txns()
                if not txns:
                    break
                for t in txns:
                    t._release()
                    self._kids.pop(id(t), None)
            self._drain_orphans()
            if self._spare is not None:
                if self._pid == _pid:
                    self._eng.txn_abort(self._spare)
                self._spare = None
            if not self._valid or self._env is None:
                raise invalid()
            self._keeper = None
            rc = self._eng.env_set_mapsize(self._env, map_size)
        finally:
            self._resizing = False
        if rc:
            # A failed remap can leave nothing mapped: only close() is safe.
            self._valid = False
            raise error("mdb_env_set_mapsize", rc)

    # ------------------------------------------------- zero-copy values

    def _view(self, txn, v):
        """A read-only memoryview of the value ``v`` (a zl_val) that never
        faults: a slice of a second, read-only map of the data file, which
        the view keeps alive (src/ext/mapview.c explains why).  Values
        outside the file's map (pages a write transaction dirtied) are
        copied."""
        n = v.size
        k = self._keeper
        if k is not None:
            off = int(ffi.cast("uintptr_t", v.data)) - k[1]
            if 0 <= off and off + n <= k[2]:
                return k[0][off:off + n]
        if n == 0:
            return memoryview(b"")
        if txn._rdonly and (k is None or int(ffi.cast("uintptr_t", v.data)) >= k[1]):
            # The first view, or the file grew since the keeper was made.
            k = self._make_keeper(v)
            if k is not None:
                self._keeper = k
                off = int(ffi.cast("uintptr_t", v.data)) - k[1]
                if 0 <= off and off + n <= k[2]:
                    return k[0][off:off + n]
        return memoryview(_unpack(v.data, n))

    def _make_keeper(self, v):
        eng = self._eng
        fd = ffi.new("int *")
        if eng.env_get_fd(self._env, fd):
            return None
        try:
            sb = os.fstat(fd[0])
        except OSError:
            return None
        base = lib.zl_map_base(v.data, sb.st_ino)
        if not base:
            return None
        off = int(ffi.cast("uintptr_t", v.data)) - base
        size = sb.st_size
        if off < 0 or off + v.size > size or size == 0:
            return None
        try:
            mm = mmap.mmap(fd[0], size, mmap.MAP_SHARED, mmap.PROT_READ)
        except (OSError, ValueError):
            return None
        mv = memoryview(mm)
        if mv[off:off + v.size] != ffi.buffer(v.data, v.size):
            return None
        return (mv, base, size)


open = Environment


# --------------------------------------------------------------- _Database

@_final
class _Database:
    """The handle of one database of an Environment, as returned by
    Environment.open_db(); it cannot be created directly."""

    __slots__ = ("_env", "_dbi", "_flags", "_valid", "_kids")

    def __new__(cls, *args, **kwargs):
        raise TypeError("cannot create '_Database' instances")

    @staticmethod
    def _open(env, txn, name, flags):
        eng = env._eng
        dbi = ffi.new("MDB_dbi *")
        got = ffi.new("unsigned int *")
        env._op_enter()
        try:
            rc = eng.dbi_open(txn, name if name is not None else _NULL, flags, dbi)
            if rc:
                raise error("mdb_dbi_open", rc)
            rc = eng.dbi_flags(txn, dbi[0], got)
        finally:
            env._ops.pop()
        if rc:
            raise error("mdb_dbi_flags", rc)
        db = object.__new__(_Database)
        db._env = env
        db._dbi = dbi[0]
        db._flags = got[0]
        db._valid = True
        db._kids = {}
        # Held strongly (the extension's type has no weakrefs either): a
        # handle owns no LMDB resource, and close() must reach it.
        env._dbs[id(db)] = db
        return db

    def _release(self):
        # The dbi itself is never closed: LMDB reuses handles by name.
        self._valid = False
        self._env = None

    def flags(self, *args, **kwargs):
        """flags(*args, **kwargs)

        The database's flags as a dict of bools: reverse_key, dupsort,
        integerkey, integerdup, dupfixed.  Like py-lmdb it takes, and ignores,
        at most one positional argument and any keywords."""
        if len(args) > 1:
            raise TypeError("too many positional arguments.")
        f = self._flags
        return {"reverse_key": bool(f & lib.MDB_REVERSEKEY),
                "dupsort": bool(f & lib.MDB_DUPSORT),
                "integerkey": bool(f & lib.MDB_INTEGERKEY),
                "integerdup": bool(f & lib.MDB_INTEGERDUP),
                "dupfixed": bool(f & lib.MDB_DUPFIXED)}


def _db_arg(db):
    if db is None or db.__class__ is _Database:
        return db
    raise TypeError("invalid type")


def _txn_arg(txn):
    if txn is None or isinstance(txn, Transaction):
        return txn
    raise TypeError("invalid type")


def _owner_check(db, env):
    if db._env is not env or not db._valid:
        # py-lmdb's generic "<what>: <strerror(0)>" form, kept as it is.
        raise error("Database handle belongs to another environment.", 0)


# ------------------------------------------------------------ transaction

@_final
class Transaction:
    """Transaction(env, db=None, parent=None, write=False, buffers=False)

    A read transaction, or with write=True a write transaction, in env.

    db is the database the methods use when they are given none (default:
    the main database).  parent, a write transaction, makes this a nested
    transaction.  With buffers=True reads return read-only memoryviews into
    the map instead of bytes; they are valid until the next write in this
    transaction or its end.  As a context manager the transaction commits at
    the end of the block, or aborts when the block raises."""

    __slots__ = ("_env", "_eng", "_txn", "_db", "_dbi", "_parent", "_valid", "_rdonly",
                 "_buffers", "_reset", "_top_writer", "_owner_tid", "_mutations",
                 "_ops", "_pid", "_val", "_kids", "__weakref__")

    def __new__(cls, env=None, db=None, parent=None, write=None, buffers=None):
        self = object.__new__(cls)
        self._txn = None
        self._valid = False
        self._kids = {}
        self._top_writer = False
        self._env = None
        return self

    @api
    def __init__(self, env=None, db=None, parent=None, write=None, buffers=None):
        if self._txn is not None:
            return
        if env is None:
            raise TypeError("'env' argument required")
        if env.__class__ is not Environment:
            raise TypeError("invalid type")
        self._begin(env, _db_arg(db), _txn_arg(parent), flag(write, False),
                    flag(buffers, False))

    @classmethod
    def _new(cls, env, db, parent, write, buffers):
        self = cls.__new__(cls)
        self._begin(env, db, parent, write, buffers)
        return self

    def _begin(self, env, db, parent, write, buffers):
        """The checks and the LMDB begin (the extension's begin_handle)."""
        if not env._valid:
            raise invalid()
        if db is not None:
            _owner_check(db, env)
        eng = env._eng
        ptxn = _NULL
        if parent is not None:
            if parent._rdonly:
                raise error("Read-only transactions cannot be nested.", _EINVAL)
            if not parent._valid:
                raise invalid()
            if parent._env is not env:
                raise error("Transaction belongs to another environment.", _EINVAL)
            if not write and eng.major < 1:
                raise error("Read-only child transactions require the LMDB 1.0 engine.",
                            _EINVAL)
            ptxn = parent._txn
        if write and env._readonly:
            raise error("Cannot start write transaction with read-only environment.",
                        errno.EACCES)
        if env._resizing:
            raise error("mdb_txn_begin", _EINVAL)
        me = _get_ident()
        if write and parent is None and env._have_writer and env._write_tid == me:
            # A write transaction of this thread that nothing refers to any
            # more is only waiting for the collector (PyPy has no reference
            # counting): let it go first.
            gc.collect()
            if env._have_writer and env._write_tid == me:
                raise error("Attempt to start a write transaction while another write "
                            "transaction is active on the same thread. This would "
                            "deadlock.", errno.EBUSY)
        # The whole begin is one operation on the env, as the extension's is
        # (there it holds the GIL, which CFFI's calls release): a close() or
        # set_mapsize() on another thread waits for it, and then finds the
        # new transaction among the env's children.
        env._op_enter()
        if parent is not None:
            # The child begins inside its parent's LMDB transaction.
            parent._ops.append(None)
        try:
            if parent is not None and not parent._valid:
                raise invalid()
            top_writer = False
            txn = None
            if not write and parent is None:
                with env._lock:
                    if env._spare is not None and env._pid != _pid:
                        env._spare = None
                    txn, env._spare = env._spare, None
            if txn is not None:
                rc = eng.txn_renew(txn)
                if rc:
                    eng.txn_abort(txn)
                    raise error("mdb_txn_renew", rc)
            else:
                out = ffi.new("MDB_txn **")
                rc = eng.txn_begin(env._env, ptxn, 0 if write else lib.MDB_RDONLY, out)
                if rc == lib.MDB_READERS_FULL and not write:
                    # Read transactions dropped without being ended hold their
                    # slots until PyPy's collector finalizes them: once.
                    gc.collect()
                    rc = eng.txn_begin(env._env, ptxn, lib.MDB_RDONLY, out)
                if rc:
                    raise error("mdb_txn_begin", rc)
                txn = out[0]
                if write and parent is None:
                    # Closed, or being remapped, while we waited for LMDB's
                    # writer lock: give it back at once, from this (the
                    # owning) thread; close()/set_mapsize() could not.  Under
                    # the lock set_mapsize() checks for a writer with.
                    with env._lock:
                        if env._valid and not env._resizing:
                            env._have_writer = True
                            env._write_tid = me
                            top_writer = True
                    if not top_writer:
                        eng.txn_abort(txn)
                        raise error("mdb_txn_begin", _EINVAL) if env._valid else invalid()
            self._env = env
            self._eng = eng
            self._txn = txn
            self._db = db if db is not None else env._main_db
            self._dbi = self._db._dbi
            self._parent = parent
            self._rdonly = not write
            self._buffers = buffers
            self._reset = False
            self._top_writer = top_writer
            self._owner_tid = me
            self._mutations = 0
            self._ops = []
            self._pid = _pid
            self._val = ffi.new("zl_val *")
            self._valid = True
            _kid_add(parent if parent is not None else env, self)
        finally:
            if parent is not None:
                parent._ops.pop()
            env._ops.pop()

    # ---------------------------------------------------------- lifetime

    def _clear_writer(self):
        if not self._top_writer:
            return
        self._top_writer = False
        env = self._env
        # Only our own registration: once LMDB's writer lock is released,
        # another thread may have begun its write transaction and registered.
        with env._lock:
            if env._have_writer and env._write_tid == self._owner_tid:
                env._have_writer = False
                env._write_tid = 0

    def _drop_handle(self):
        txn = self._txn
        if txn is None:
            return
        self._txn = None
        if _pid != self._pid or self._env._env is None:
            # A forked child's copy, or the env is gone: never touch it.
            self._top_writer = False
            return
        parent = self._parent
        if parent is not None and not self._rdonly:
            # Counted on the parent, whose LMDB transaction the abort works
            # on; once the parent's handle is gone, LMDB has freed ours with
            # it (a child the collector finalizes after its parent ended).
            parent._ops.append(None)
            try:
                if parent._txn is not None:
                    self._eng.txn_abort(txn)
            finally:
                parent._ops.pop()
        else:
            self._eng.txn_abort(txn)
        self._clear_writer()

    def _release(self):
        """Called when an ancestor ends: children first, then the handle."""
        self._valid = False
        _mark_children(self)
        _wait_zero(self, "_ops")
        _release_children(self)
        self._drop_handle()

    def _park(self):
        """Give up the LMDB handle of an ended (or abandoned) transaction: a
        read handle becomes the env's spare, else it is freed."""
        env = self._env
        txn = self._txn
        if txn is None or env is None:
            return
        if not env._op_try():
            # The env is closing or remapping on another thread, which frees
            # its transactions' handles once its wait is over: it may not
            # find this one among its children (a collected transaction has
            # none), so it gets it from the orphans.  Never a writer: close()
            # and set_mapsize() leave those to their owning thread.
            if not self._top_writer and _pid == self._pid:
                self._txn = None
                env._orphans.append(txn)
            return
        try:
            if self._txn is None:
                return
            if self._rdonly and self._parent is None and _pid == self._pid and \
                    env._env is not None and env._spare is None:
                # Renewing a reset transaction takes no lock; with
                # max_spare_txns=0 the spare is hidden: readers() frees it
                # first.
                if not self._reset:
                    self._eng.txn_reset(txn)
                self._txn = None
                with env._lock:
                    if env._spare is None:
                        env._spare = txn
                        env._spare_hidden = not env._max_spare
                        txn = None
                if txn is not None:
                    self._eng.txn_abort(txn)
            else:
                self._drop_handle()
        finally:
            env._ops.pop()

    def __del__(self):
        if self._txn is not None:
            if self._valid:
                self._valid = False
                _mark_children(self)
                _release_children(self)
            self._park()

    def _give_back_writer(self):
        """A write transaction invalidated by close() on another thread still
        holds LMDB's writer lock, which only this (the owning) thread can
        release; close() waits for that."""
        if self._txn is not None and self._top_writer and \
                self._env._write_tid == _get_ident():
            _wait_zero(self, "_ops")
            self._drop_handle()

    def _end_prepare(self):
        self._valid = False
        _mark_children(self)
        _wait_zero(self, "_ops")
        _release_children(self)

    # ------------------------------------------------------------ helpers

    @api
    def _get_api(self, key=None, default=None, db=None):
        return self._get(key, default, db)

    def _pick(self, db):
        if db.__class__ is not _Database:
            raise TypeError("invalid type")
        _owner_check(db, self._env)
        return db

    def _value(self, v):
        if self._buffers:
            return self._env._view(self, v)
        return _unpack(v.data, v.size)

    # ------------------------------------------------------------ methods

    def __enter__(self):
        """Return the transaction."""
        if not self._valid:
            raise invalid()
        return self

    def __exit__(self, exc_type=None, exc_value=None, traceback=None):
        """Commit when exc_type is None, else abort."""
        if not self._valid:
            return self.abort()
        if exc_type is None:
            return self.commit()
        return self.abort()

    def id(self):
        """id()

        The transaction's LMDB id."""
        if not self._valid:
            raise invalid()
        return self._eng.txn_id(self._txn)

    def _get(self, key=None, default=None, db=None):
        """get(key, default=None, db=None)

        The value stored under key, or default when key is missing."""
        if not self._valid:
            raise invalid()
        dbi = self._dbi if db is None else self._pick(db)._dbi
        if key.__class__ is not bytes:
            if key is None:
                raise TypeError("key must be given.")
            key = buf(key)
        v = self._val
        # The copy out of LMDB's memory is inside the bracket too: an end of
        # this txn (or a close) on another thread waits for both.  The guard
        # is repeated inside it: an end that began before our increment has
        # marked us, one that begins after it waits for us.
        self._ops.append(None)
        try:
            if not self._valid:
                raise invalid()
            rc = lib.zl_get(self._eng, self._txn, dbi, key, len(key), v)
            if rc == 0:
                if self._buffers:
                    return self._env._view(self, v)
                n = v.size
                return _ffi_unpack(v.data, n) if n else b""
        finally:
            self._ops.pop()
        if rc == _NOTFOUND:
            return default
        raise error("mdb_get", rc)

    # The hot path is the plain function (its Python errors for a wrong call);
    # get(...) with keywords goes through api() for the extension's messages.
    def get(self, *args, **kwargs):
        """get(key, default=None, db=None)

        The value stored under key, or default when key is missing."""
        if not kwargs and len(args) == 1:
            return self._get(args[0])
        return self._get_api(*args, **kwargs)

    def put(self, *args, **kwargs):
        """put(key, value, dupdata=True, overwrite=True, append=False, db=None)

        Store value under key; return True, or False when nothing was written
        because overwrite=False and key exists, or dupdata=False and the same
        (key, value) pair exists in a dupsort database."""
        if not kwargs and len(args) == 2:
            return self._put(args[0], args[1])
        return self._put_api(*args, **kwargs)

    @api
    def _put_api(self, key=None, value=None, dupdata=None, overwrite=None, append=None,
                 db=None):
        return self._put(key, value, dupdata, overwrite, append, db)

    def _put(self, key=None, value=None, dupdata=None, overwrite=None, append=None, db=None):
        """put(key, value, dupdata=True, overwrite=True, append=False, db=None)

        Store value under key; return True, or False when nothing was written
        because overwrite=False and key exists, or dupdata=False and the same
        (key, value) pair exists in a dupsort database.  append=True adds at
        the end of the database (LMDB's MDB_APPEND; MDB_APPENDDUP in a dupsort
        database), for loading keys in sorted order."""
        if not self._valid:
            raise invalid()
        db = self._db if db is None else self._pick(db)
        flags = 0
        if dupdata is not None and not dupdata:
            flags |= lib.MDB_NODUPDATA
        if overwrite is not None and not overwrite:
            flags |= lib.MDB_NOOVERWRITE
        if append:
            flags |= lib.MDB_APPENDDUP if db._flags & lib.MDB_DUPSORT else lib.MDB_APPEND
        if key.__class__ is not bytes:
            key = b"" if key is None else buf(key)
        if value.__class__ is not bytes:
            value = b"" if value is None else buf(value)
        self._ops.append(None)
        try:
            if not self._valid:
                raise invalid()
            rc = lib.zl_put(self._eng, self._txn, db._dbi, key, len(key), value, len(value),
                            flags)
        finally:
            self._ops.pop()
        self._mutations += 1
        if rc:
            if rc == _KEYEXIST:
                return False
            raise error("mdb_put", rc)
        return True

    @api
    def delete(self, key=None, value=None, db=None):
        """delete(key, value=b'', db=None)

        Delete key and return True, or False when it is missing.  In a dupsort
        database a non-empty value deletes only that (key, value) pair; an
        empty one deletes every value of key."""
        if not self._valid:
            raise invalid()
        dbi = self._dbi if db is None else self._pick(db)._dbi
        key = b"" if key is None else buf(key)
        value = b"" if value is None else buf(value)
        self._ops.append(None)
        try:
            if not self._valid:
                raise invalid()
            rc = lib.zl_del(self._eng, self._txn, dbi, key, len(key), value, len(value))
        finally:
            self._ops.pop()
        self._mutations += 1
        if rc:
            if rc == _NOTFOUND:
                return False
            raise error("mdb_del", rc)
        return True

    @api
    def replace(self, key=None, value=None, db=None):
        """replace(key, value, db=None)

        Store value under key and return the value it replaced, or None.  In a
        dupsort database every value of key is replaced (the first is
        returned)."""
        if not self._valid:
            raise invalid()
        db = self._db if db is None else self._pick(db)
        key = b"" if key is None else buf(key)
        value = b"" if value is None else buf(value)
        curs = Cursor._new(db, self)
        try:
            return curs._replace(key, value)
        finally:
            curs._close()

    @api
    def pop(self, key=None, db=None):
        """pop(key, db=None)

        Delete key and return the value it had, or None when it is missing."""
        if not self._valid:
            raise invalid()
        db = self._db if db is None else self._pick(db)
        key = b"" if key is None else buf(key)
        curs = Cursor._new(db, self)
        try:
            return curs._pop(key)
        finally:
            curs._close()

    @api
    def cursor(self, db=None):
        """cursor(db=None)

        A new Cursor on db (default: the transaction's database)."""
        if not self._valid:
            raise invalid()
        return Cursor._new(self._db if db is None else _db_arg(db), self)

    @api
    def stat(self, db=None):
        """stat(db=None)

        Statistics of db (default: the transaction's database), as for
        Environment.stat()."""
        if not self._valid:
            raise invalid()
        dbi = self._dbi if db is None else self._pick(db)._dbi
        s = ffi.new("MDB_stat *")
        self._ops.append(None)
        try:
            rc = self._eng.stat(self._txn, dbi, s)
        finally:
            self._ops.pop()
        if rc:
            raise error("mdb_stat", rc)
        return _stat_dict(s)

    @api
    def drop(self, db=None, delete=None):
        """drop(db, delete=True)

        Delete every record of db; with delete=True also the database itself,
        whose handle may not be used afterwards."""
        if not self._valid:
            raise invalid()
        delete = flag(delete, True)
        if db is None:
            raise TypeError("'db' argument required.")
        db = self._pick(db)
        if delete:
            self._close_db_cursors(db._dbi)
        self._mutations += 1
        self._ops.append(None)
        try:
            rc = self._eng.drop(self._txn, db._dbi, 1 if delete else 0)
        finally:
            self._ops.pop()
        if rc:
            raise error("mdb_drop", rc)

    def _close_db_cursors(self, dbi):
        """Close this txn's cursors on a database about to be deleted (py-lmdb
        3.0, its issue #503)."""
        doomed = [k for k in _kids_alive(self)
                  if isinstance(k, Cursor) and k._valid and k._curs is not None
                  and self._eng.cursor_dbi(k._curs) == dbi]
        if not doomed:
            return
        for c in doomed:
            c._valid = False
        _wait_zero(self, "_ops")
        for c in doomed:
            c._release()

    def commit(self):
        """commit()

        End the transaction, writing its changes (a read transaction just
        ends)."""
        if not self._valid:
            raise invalid()
        env = self._env
        # An operation on the env: close() and set_mapsize() wait for it
        # (they free or remap what the commit works on).
        if not env._op_try():
            self._valid = False
            self._give_back_writer()
            raise invalid() if not env._valid else error("mdb_txn_commit", _EINVAL)
        # A child's commit works on its parent's LMDB transaction: counted on
        # the parent before the guard, so the parent's end on another thread
        # either has marked us already or waits for us.
        parent = self._parent
        if parent is not None:
            parent._ops.append(None)
        try:
            if not self._valid:
                raise invalid()
            self._end_prepare()
            if self._rdonly:
                # Nothing to write: the handle becomes the env's spare (or is
                # freed at once, a read-only child being no snapshot to keep).
                if self._parent is None:
                    self._eng.txn_reset(self._txn)
                    self._reset = True
                self._park()
                return
            txn, self._txn = self._txn, None
            rc = self._eng.txn_commit(txn)   # frees txn whatever the outcome
            self._clear_writer()
        finally:
            if parent is not None:
                parent._ops.pop()
            env._ops.pop()
        if rc:
            raise error("mdb_txn_commit", rc)

    def abort(self):
        """abort()

        End the transaction and discard its writes.  Aborting an ended
        transaction does nothing."""
        if not self._valid:
            self._give_back_writer()
            return
        env = self._env
        if not env._op_try():
            # close() or set_mapsize() on another thread ends us (they have
            # marked us, or will before they wait for the env's brackets).
            self._valid = False
            self._give_back_writer()
            return
        parent = self._parent
        if parent is not None:
            parent._ops.append(None)   # as in commit()
        try:
            if not self._valid:
                return
            self._end_prepare()
            if self._rdonly and parent is None:
                self._eng.txn_reset(self._txn)
                self._reset = True
                self._park()
                return
            self._drop_handle()
        finally:
            if parent is not None:
                parent._ops.pop()
            env._ops.pop()


# ----------------------------------------------------------------- cursor

@_final
class Cursor:
    """Cursor(db, txn)

    A position in database db, inside transaction txn; txn.cursor() makes one.

    A new cursor is unpositioned: key() and value() return empty bytes and
    item() a pair of them until a positioning method succeeds, and again
    after one fails.  Iterating over a cursor is iterating over
    cursor.iternext().  The cursor ends with its transaction."""

    __slots__ = ("_txn", "_eng", "_curs", "_dbi_flags", "_positioned", "_key", "_val",
                 "_last_mutation", "_valid", "_kids", "__weakref__")

    def __new__(cls, db=None, txn=None):
        self = object.__new__(cls)
        self._curs = None
        self._valid = False
        self._txn = None
        return self

    @api
    def __init__(self, db=None, txn=None):
        if self._curs is not None:
            return
        db = _db_arg(db)
        txn = _txn_arg(txn)
        if db is None or txn is None:
            raise TypeError("db and transaction parameters required.")
        self._open(db, txn)

    @classmethod
    def _new(cls, db, txn):
        self = cls.__new__(cls)
        self._open(db, txn)
        return self

    def _open(self, db, txn):
        if not txn._valid:
            raise invalid()
        _owner_check(db, txn._env)
        eng = txn._eng
        out = ffi.new("MDB_cursor **")
        txn._ops.append(None)
        try:
            if not txn._valid:
                raise invalid()
            rc = eng.cursor_open(txn._txn, db._dbi, out)
        finally:
            txn._ops.pop()
        if rc:
            raise error("mdb_cursor_open", rc)
        self._txn = txn
        self._eng = eng
        self._curs = out[0]
        self._dbi_flags = db._flags
        self._positioned = False
        self._key = ffi.new("zl_val *")
        self._val = ffi.new("zl_val *")
        self._last_mutation = txn._mutations
        self._kids = {}
        self._valid = True
        _kid_add(txn, self)

    # ---------------------------------------------------------- lifetime

    def _close_handle(self):
        curs, self._curs = self._curs, None
        self._positioned = False
        txn = self._txn
        if curs is not None and txn is not None and _pid == txn._pid and \
                txn._env._env is not None and txn._txn is not None:
            self._eng.cursor_close(curs)

    def _release(self):
        self._valid = False
        self._close_handle()

    def _close(self):
        if self._valid:
            t = self._txn
            # In the txn's bracket: its end on another thread waits for us.
            t._ops.append(None)
            try:
                if t._valid:
                    self._valid = False
                    self._close_handle()
                    t._kids.pop(id(self), None)
            finally:
                t._ops.pop()

    def __del__(self):
        if self._curs is not None:
            self._close_handle()

    def close(self):
        """close()

        Close the cursor.  Closing a closed cursor does nothing."""
        self._close()

    def __enter__(self):
        """Return the cursor."""
        return self

    def __exit__(self, *exc_info):
        """Close the cursor."""
        self._close()

    # --------------------------------------------------------- core moves

    def _move(self, op, preload):
        """Move with ``op`` (self._key/_val hold its input where it takes
        one); a miss leaves the cursor unpositioned, other errors raise."""
        t = self._txn
        t._ops.append(None)
        try:
            if not self._valid:
                raise invalid()
            rc = lib.zl_cursor_get(self._eng, self._curs, self._key, self._val, op, preload)
        finally:
            t._ops.pop()
        self._last_mutation = t._mutations
        if rc:
            self._positioned = False
            self._key.size = 0
            self._val.size = 0
            if rc != _NOTFOUND and not (rc == _EINVAL and op == _GET_CURRENT):
                raise error("mdb_cursor_get", rc)
            return False
        self._positioned = True
        return True

    def _seek(self, op, k, v, preload):
        """A move that takes a key (and a value): the caller's bytes are
        read during the call only."""
        t = self._txn
        t._ops.append(None)
        try:
            if not self._valid:
                raise invalid()
            rc = lib.zl_cursor_seek(self._eng, self._curs, k, len(k), v, len(v), self._key,
                                    self._val, op, preload)
        finally:
            t._ops.pop()
        self._last_mutation = t._mutations
        if rc:
            self._positioned = False
            self._key.size = 0
            self._val.size = 0
            if rc != _NOTFOUND:
                raise error("mdb_cursor_get", rc)
            return False
        self._positioned = True
        return True

    def _refresh(self):
        # After a write through this txn the cached key/value may point at
        # moved pages: read the current position again.
        if self._last_mutation != self._txn._mutations:
            self._move(_GET_CURRENT, 0)

    def _preload_value(self):
        if self._val.size and not self._txn._env._resizing:
            lib.zl_preload(self._val)

    # The getters copy out of LMDB's memory inside the txn's bracket, so an
    # end of the txn on another thread waits until they are done.

    def _get_key(self):
        t = self._txn
        if self._last_mutation != t._mutations:
            self._move(_GET_CURRENT, 0)
        t._ops.append(None)
        try:
            if not self._valid:
                raise invalid()
            return t._value(self._key)
        finally:
            t._ops.pop()

    def _get_value(self, preloaded):
        t = self._txn
        if self._last_mutation != t._mutations:
            self._move(_GET_CURRENT, 0)
        t._ops.append(None)
        try:
            if not self._valid:
                raise invalid()
            if not preloaded:
                self._preload_value()
            return t._value(self._val)
        finally:
            t._ops.pop()

    def _get_item(self, preloaded):
        t = self._txn
        if self._last_mutation != t._mutations:
            self._move(_GET_CURRENT, 0)
        t._ops.append(None)
        try:
            if not self._valid:
                raise invalid()
            if not preloaded:
                self._preload_value()
            if t._buffers:
                env = t._env
                return (env._view(t, self._key), env._view(t, self._val))
            k = self._key
            v = self._val
            n = k.size
            m = v.size
            return (_ffi_unpack(k.data, n) if n else b"", _ffi_unpack(v.data, m) if m else b"")
        finally:
            t._ops.pop()

    def _bool_move(self, op):
        if not self._valid:
            raise invalid()
        return self._move(op, 0)

    # ------------------------------------------------------------ moves

    def first(self):
        """first()

        Move to the first record; return False when the database is empty."""
        return self._bool_move(lib.MDB_FIRST)

    def last(self):
        """last()

        Move to the last record; return False when the database is empty."""
        return self._bool_move(lib.MDB_LAST)

    def next(self):
        """next()

        Move to the next record; return False past the last one."""
        return self._bool_move(lib.MDB_NEXT)

    def prev(self):
        """prev()

        Move to the previous record; return False before the first one."""
        return self._bool_move(lib.MDB_PREV)

    def first_dup(self):
        """first_dup()

        Move to the first value of the current key."""
        return self._bool_move(lib.MDB_FIRST_DUP)

    def last_dup(self):
        """last_dup()

        Move to the last value of the current key."""
        return self._bool_move(lib.MDB_LAST_DUP)

    def next_dup(self):
        """next_dup()

        Move to the next value of the current key; False after its last."""
        return self._bool_move(lib.MDB_NEXT_DUP)

    def prev_dup(self):
        """prev_dup()

        Move to the previous value of the current key."""
        return self._bool_move(lib.MDB_PREV_DUP)

    def next_nodup(self):
        """next_nodup()

        Move to the first value of the next key."""
        return self._bool_move(lib.MDB_NEXT_NODUP)

    def prev_nodup(self):
        """prev_nodup()

        Move to the last value of the previous key."""
        return self._bool_move(lib.MDB_PREV_NODUP)

    def key(self):
        """key()

        The current key."""
        if not self._valid:
            raise invalid()
        return self._get_key()

    def value(self):
        """value()

        The current value."""
        if not self._valid:
            raise invalid()
        return self._get_value(False)

    def item(self):
        """item()

        The current (key, value) pair."""
        if not self._valid:
            raise invalid()
        return self._get_item(False)

    def count(self):
        """count()

        The number of values of the current key (dupsort databases)."""
        if not self._valid:
            raise invalid()
        out = ffi.new("size_t *")
        t = self._txn
        t._ops.append(None)
        try:
            rc = lib.zl_cursor_count(self._eng, self._curs, out)
        finally:
            t._ops.pop()
        if rc:
            raise error("mdb_cursor_count", rc)
        return out[0]

    def set_key(self, key):
        """set_key(key, /)

        Move to key; return False when it is missing."""
        if not self._valid:
            raise invalid()
        key = buf(key)
        return self._seek(lib.MDB_SET_KEY, key, b"", 0)

    def set_range(self, key):
        """set_range(key, /)

        Move to the first key >= key (an empty key: the first record); return
        False when there is none."""
        if not self._valid:
            raise invalid()
        key = buf(key)
        if len(key) == 0:
            return self._move(lib.MDB_FIRST, 0)
        return self._seek(lib.MDB_SET_RANGE, key, b"", 0)

    def _set_dup(self, key, value, op):
        if not self._valid:
            raise invalid()
        key = b"" if key is None else buf(key)
        value = b"" if value is None else buf(value)
        found = self._seek(op, key, value, 0)
        # GET_BOTH(_RANGE) leave key (and value) pointing at the caller's
        # buffers: read the position again so they point into the map.
        if found:
            self._move(_GET_CURRENT, 0)
        return found

    @api
    def set_key_dup(self, key=None, value=None):
        """set_key_dup(key, value)

        Move to the (key, value) pair; return False when it is missing."""
        return self._set_dup(key, value, lib.MDB_GET_BOTH)

    @api
    def set_range_dup(self, key=None, value=None):
        """set_range_dup(key, value)

        Move to the first value >= value of key; return False when there is
        none."""
        return self._set_dup(key, value, lib.MDB_GET_BOTH_RANGE)

    @api
    def get(self, key=None, default=None):
        """get(key, default=None)

        Move to key and return its value, or default when key is missing."""
        if not self._valid:
            raise invalid()
        if key is None:
            raise TypeError("key must be given.")
        if not self._seek(lib.MDB_SET_KEY, buf(key), b"", 1):
            return default
        t = self._txn
        t._ops.append(None)
        try:
            return t._value(self._val)
        finally:
            t._ops.pop()

    # ------------------------------------------------------------ writes

    def _put_flags(self, dupdata, overwrite, append):
        flags = 0
        if dupdata is not None and not dupdata:
            flags |= lib.MDB_NODUPDATA
        if overwrite is not None and not overwrite:
            flags |= lib.MDB_NOOVERWRITE
        if append:
            # The cursor's database's flags (py-lmdb 3.0, its issue #504).
            flags |= lib.MDB_APPENDDUP if self._dbi_flags & lib.MDB_DUPSORT \
                else lib.MDB_APPEND
        return flags

    def _put_raw(self, k, v, flags, count, old=_NULL):
        t = self._txn
        t._ops.append(None)
        try:
            rc = lib.zl_cursor_put(self._eng, self._curs, k, len(k), v, len(v), flags, old)
        finally:
            t._ops.pop()
        if count:
            t._mutations += 1
        return rc

    def _del_raw(self, flags):
        t = self._txn
        t._ops.append(None)
        try:
            rc = lib.zl_cursor_del(self._eng, self._curs, flags)
        finally:
            t._ops.pop()
        t._mutations += 1
        return rc

    @api
    def put(self, key=None, value=None, dupdata=None, overwrite=None, append=None):
        """put(key, value, dupdata=True, overwrite=True, append=False)

        Store a record, with the arguments and result of Transaction.put().
        append=True uses MDB_APPENDDUP when the cursor's database is a dupsort
        one, else MDB_APPEND."""
        if not self._valid:
            raise invalid()
        flags = self._put_flags(dupdata, overwrite, append)
        if key.__class__ is not bytes:
            key = b"" if key is None else buf(key)
        if value.__class__ is not bytes:
            value = b"" if value is None else buf(value)
        rc = self._put_raw(key, value, flags, True)
        if rc:
            if rc == _KEYEXIST:
                return False
            raise error("mdb_put", rc)
        return True

    @api
    def putmulti(self, items=None, dupdata=None, overwrite=None, append=None):
        """putmulti(items, dupdata=True, overwrite=True, append=False)

        Store every (key, value) 2-tuple of the iterable items, as put() would;
        return (consumed, added): the pairs read, and those written."""
        if not self._valid:
            raise invalid()
        flags = self._put_flags(dupdata, overwrite, append)
        consumed = added = 0
        eng = self._eng
        t = self._txn
        try:
            for item in iter(items):
                if item.__class__ is not tuple or len(item) != 2:
                    raise TypeError("putmulti() elements must be 2-tuples")
                k, v = item
                if k.__class__ is not bytes:
                    k = buf(k)
                if v.__class__ is not bytes:
                    v = buf(v)
                # Gathering ran Python code, which may have ended the txn.
                if not self._valid:
                    raise invalid()
                t._ops.append(None)
                try:
                    rc = lib.zl_cursor_put(eng, self._curs, k, len(k), v, len(v), flags,
                                           _NULL)
                finally:
                    t._ops.pop()
                if rc and rc != _KEYEXIST:
                    raise error("mdb_cursor_put() element #%d" % consumed, rc)
                if rc == 0:
                    added += 1
                consumed += 1
        finally:
            t._mutations += 1
        return (consumed, added)

    @api
    def delete(self, dupdata=None):
        """delete(dupdata=False)

        Delete the current record, or with dupdata=True every value of the
        current key, and move to the record after it.  Return False when
        unpositioned."""
        if not self._valid:
            raise invalid()
        if not self._positioned:
            return False
        rc = self._del_raw(lib.MDB_NODUPDATA if flag(dupdata, False) else 0)
        if rc:
            raise error("mdb_cursor_del", rc)
        # LMDB leaves the cursor on the following record.
        self._move(_GET_CURRENT, 0)
        return True

    def _copy_value(self, v):
        # The old value as bytes, never a buffer: the record is about to change.
        if v.size and not self._txn._env._resizing:
            lib.zl_preload(v)
        return _unpack(v.data, v.size)

    def _replace(self, key, value):
        # The old value is copied out of LMDB's memory inside the txn's
        # bracket (an end of the txn on another thread waits for it).
        t = self._txn
        t._ops.append(None)
        try:
            if not self._valid:
                raise invalid()
            return self._replace_in(key, value)
        finally:
            t._ops.pop()

    def _replace_in(self, key, value):
        if self._dbi_flags & lib.MDB_DUPSORT:
            # Replace means "drop every duplicate, then put the one value".
            if self._seek(lib.MDB_SET_KEY, key, b"", 0):
                old = self._copy_value(self._val)
                rc = self._del_raw(lib.MDB_NODUPDATA)
                if rc:
                    raise error("mdb_cursor_del", rc)
            else:
                old = None
        else:
            got = ffi.new("zl_val *")
            rc = self._put_raw(key, value, lib.MDB_NOOVERWRITE, True, got)
            if rc == 0:
                return None
            if rc != _KEYEXIST:
                raise error("mdb_put", rc)
            old = _unpack(got.data, got.size)
        rc = self._put_raw(key, value, 0, False)
        if rc:
            raise error("mdb_put", rc)
        return old

    def _pop(self, key):
        t = self._txn
        t._ops.append(None)
        try:
            if not self._valid:
                raise invalid()
            return self._pop_in(key)
        finally:
            t._ops.pop()

    def _pop_in(self, key):
        if not self._seek(lib.MDB_SET_KEY, key, b"", 0):
            return None
        old = self._copy_value(self._val)
        rc = self._del_raw(0)
        if rc:
            raise error("mdb_cursor_del", rc)
        return old

    @api
    def replace(self, key=None, value=None):
        """replace(key, value)

        Store value under key and return the value it replaced, or None, as
        Transaction.replace()."""
        if not self._valid:
            raise invalid()
        key = b"" if key is None else buf(key)
        value = b"" if value is None else buf(value)
        return self._replace(key, value)

    @api
    def pop(self, key=None):
        """pop(key)

        Delete key (in a dupsort database its first value) and return the
        value, or None when key is missing."""
        if not self._valid:
            raise invalid()
        return self._pop(b"" if key is None else buf(key))

    # ---------------------------------------------------------- getmulti

    @api
    def getmulti(self, keys=None, dupdata=None, dupfixed_bytes=None, keyfixed=None,
                 values=None):
        """getmulti(keys, dupdata=False, dupfixed_bytes=0, keyfixed=False, values=True)

        Look up every key of the iterable keys and return a list of (key,
        value) pairs for those found, or of keys with values=False.
        dupdata=True returns every value of each key; dupfixed_bytes, the value
        size of a dupfixed database, reads them a page at a time;
        keyfixed=True (with dupfixed_bytes) returns one memoryview of packed
        key + value records instead of a list."""
        if not self._valid:
            raise invalid()
        dupdata = flag(dupdata, False)
        vsz = unsigned(dupfixed_bytes, 0, SIZE_MAX)
        keyfixed = flag(keyfixed, False)
        values = flag(values, True)
        if (vsz > 0 or keyfixed) and not dupdata:
            raise TypeError("dupdata is required for dupfixed_bytes/keyfixed.")
        if keyfixed and not vsz:
            raise TypeError("dupfixed_bytes is required for keyfixed.")
        if not values and dupdata:
            raise TypeError("values=False is incompatible with dupdata.")
        # The keys first: no code of the caller (a generator that ends this
        # txn, say) may run inside the bracket, whose end it would wait for.
        it = [buf(k) for k in keys]
        t = self._txn
        # Every value is copied out of LMDB's memory inside the txn's bracket
        # (an end of the txn on another thread waits for it); the moves
        # repeat the guard inside it.
        t._ops.append(None)
        try:
            if not self._valid:
                raise invalid()
            return self._getmulti_in(t, it, dupdata, vsz, keyfixed, values)
        finally:
            t._ops.pop()

    def _getmulti_in(self, t, it, dupdata, vsz, keyfixed, values):
        out = []
        if not dupdata:
            for k in it:
                if not self._valid:
                    raise invalid()
                if self._seek(lib.MDB_SET_KEY, k, b"", 1 if values else 0):
                    if values:
                        out.append((t._value(self._key), t._value(self._val)))
                    else:
                        out.append(t._value(self._key))
            return out
        get_op = lib.MDB_GET_MULTIPLE if vsz else _GET_CURRENT
        next_op = lib.MDB_NEXT_MULTIPLE if vsz else lib.MDB_NEXT_DUP
        packed = []
        key_size = None
        for k in it:
            self._seek(lib.MDB_SET_KEY, k, b"", 0)
            while self._positioned:
                if not self._move(get_op, 1):
                    break
                if not vsz:
                    out.append((t._value(self._key), t._value(self._val)))
                else:
                    kv, vv = self._key, self._val
                    if key_size is None:
                        key_size = kv.size
                    kb = _unpack(kv.data, kv.size)
                    data = _unpack(vv.data, vv.size)
                    for i in range(vv.size // vsz):
                        chunk = data[i * vsz:(i + 1) * vsz]
                        if keyfixed:
                            if kv.size != key_size:
                                raise ValueError("keyfixed=True needs keys of one size")
                            packed.append(kb)
                            packed.append(chunk)
                        elif t._buffers:
                            out.append((t._value(kv), memoryview(chunk)))
                        else:
                            out.append((kb, chunk))
                self._move(next_op, 0)
        if keyfixed:
            return memoryview(b"".join(packed))
        return out

    # --------------------------------------------------------- iterators

    def _iter(self, args, kwargs, pos_op, move, keys, values):
        if not self._valid:
            raise invalid()
        keys, values = _iter_args(args, kwargs, keys, values)
        if pos_op >= 0 and not self._positioned:
            self._move(pos_op, 1 if values else 0)
        return _Iterator._new(self, keys, values, move)

    def iternext(self, *args, **kwargs):
        """iternext(keys=True, values=True)

        An iterator forwards from the current record (from the first one when
        unpositioned), yielding (key, value) pairs, or only keys or values."""
        return self._iter(args, kwargs, lib.MDB_FIRST, lib.MDB_NEXT, True, True)

    def iternext_dup(self, *args, **kwargs):
        """iternext_dup(keys=False, values=True)

        An iterator forwards over the values of the current key."""
        return self._iter(args, kwargs, -1, lib.MDB_NEXT_DUP, False, True)

    def iternext_nodup(self, *args, **kwargs):
        """iternext_nodup(keys=True, values=False)

        An iterator forwards over the keys (one step per key, not per value),
        from the current record or the first one."""
        return self._iter(args, kwargs, lib.MDB_FIRST, lib.MDB_NEXT_NODUP, True, False)

    def iterprev(self, *args, **kwargs):
        """iterprev(keys=True, values=True)

        Like iternext(), backwards (from the last record when unpositioned)."""
        return self._iter(args, kwargs, lib.MDB_LAST, lib.MDB_PREV, True, True)

    def iterprev_dup(self, *args, **kwargs):
        """iterprev_dup(keys=False, values=True)

        An iterator backwards over the values of the current key."""
        return self._iter(args, kwargs, -1, lib.MDB_PREV_DUP, False, True)

    def iterprev_nodup(self, *args, **kwargs):
        """iterprev_nodup(keys=True, values=False)

        Like iternext_nodup(), backwards (from the last record when
        unpositioned)."""
        return self._iter(args, kwargs, lib.MDB_LAST, lib.MDB_PREV_NODUP, True, False)

    def __iter__(self):
        return self._iter((), {}, lib.MDB_FIRST, lib.MDB_NEXT, True, True)

    def _iter_from(self, key, reverse):
        """_iter_from(key, reverse, /)

        An iterator over (key, value) pairs from the first key >= key,
        backwards when reverse is true (a private helper that py-lmdb has
        too)."""
        if not self._valid:
            raise invalid()
        key = b"" if key is None else buf(key)
        reverse = flag(reverse, False)
        if len(key) == 0 and not reverse:
            self._move(lib.MDB_FIRST, 1)
        else:
            self._seek(lib.MDB_SET_RANGE, key, b"", 1)
        if reverse and not self._positioned:
            self._move(lib.MDB_LAST, 1)
        return _Iterator._new(self, True, True, lib.MDB_PREV if reverse else lib.MDB_NEXT)


def _iter_args(args, kwargs, keys, values):
    """(keys, values) of an iter*() call, parsed as the extension does."""
    if len(args) > 2:
        raise TypeError("too many positional arguments.")
    given = [keys, values]
    for i, a in enumerate(args):
        if a is not None:
            given[i] = bool(a)
    for name, a in kwargs.items():
        if name == "keys":
            idx = 0
        elif name == "values":
            idx = 1
        else:
            raise TypeError("unrecognized keyword argument")
        if idx < len(args):
            raise TypeError("duplicate argument: %s" % name)
        if a is not None:
            given[idx] = bool(a)
    return given[0], given[1]


@_final
class _Iterator:
    """The iterator of Cursor.iternext() and its variants: the first step
    yields the cursor's current record, each later one moves the cursor
    first."""

    __slots__ = ("_curs", "_op", "_started", "_keys", "_values")

    def __new__(cls, *args, **kwargs):
        raise TypeError("cannot create '_Iterator' instances")

    @staticmethod
    def _new(curs, keys, values, op):
        it = object.__new__(_Iterator)
        it._curs = curs
        it._op = op
        it._started = False
        it._keys = keys
        it._values = values
        return it

    def __iter__(self):
        return self

    def __next__(self):
        c = self._curs
        if not c._valid:
            raise invalid()
        # An unpositioned cursor ends the iteration before any move.
        if not c._positioned:
            raise StopIteration
        preloaded = False
        if self._started:
            if not c._move(self._op, 1 if self._values else 0):
                raise StopIteration
            preloaded = self._values
        self._started = True
        if not self._values:
            return c._get_key()
        if not self._keys:
            return c._get_value(preloaded)
        return c._get_item(preloaded)


__all__ = [
    "Cursor", "Environment", "Transaction", "_Database", "enable_drop_gil", "version",
    "Error", "KeyExistsError", "NotFoundError", "PageNotFoundError", "CorruptedError",
    "PanicError", "VersionMismatchError", "InvalidError", "MapFullError", "DbsFullError",
    "ReadersFullError", "TlsFullError", "TxnFullError", "CursorFullError", "PageFullError",
    "MapResizedError", "IncompatibleError", "BadRslotError", "BadDbiError", "BadTxnError",
    "BadValsizeError", "ReadonlyError", "InvalidParameterError", "LockError",
    "MemoryError", "DiskError",
    "ProblemError", "BadChecksumError", "CryptoFailError", "EnvEncryptionError",
]

globals().update(_CLASSES)
