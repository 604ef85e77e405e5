"""Database, transactions, the slot registry and the @table decorator."""
import errno
import inspect
import os
import shutil
import sys
import tempfile
import time
import uuid
import weakref

from zlmdb._core import native as _native
from zlmdb import codec as _codec
from zlmdb import lmdb
from zlmdb._pmap import PersistentMap

__all__ = ("Database", "Transaction", "TransactionStats", "table", "TABLES_BY_UUID")

#: tables declared with @table, by their oid
TABLES_BY_UUID = {}

# Databases open in this process, by path: LMDB's locks are per process, so
# one path must be opened once (the low-level layer refuses it too).
_OPEN = {}

_REGISTRY_SLOT = 0

#: The LMDB formats a database can have, by the names ``Database(lib_version=)``
#: takes, with the low-level engine that reads and writes each
#: (``zlmdb.lmdb.open(lib_version=)``): LMDB 0.9 writes data format v1, LMDB
#: 1.0 data format v3, and neither reads the other's files.
_LIB_VERSION_TO_MAJOR = {"0.9": 0, "1.0": 1}
_MAJOR_TO_LIB_VERSION = {major: name for name, major in _LIB_VERSION_TO_MAJOR.items()}

#: The format of a new database opened without ``lib_version`` (upstream
#: zlmdb's default since 26.10).  Read when a database opens, so a test run
#: can set it for every database it creates.
DEFAULT_LIB_VERSION = "1.0"


def table(oid, marshal=None, parse=None, build=None, cast=None, compress=None, record=None):
    """Declare a Map* subclass as a database table with a stable ``oid``
    (a ``uuid.UUID`` or its string); ``db.attach_table(cls)`` then finds or
    allocates its slot.  Give marshal+parse or a declared ``record`` type
    (CBOR/JSON maps), build+cast (FlatBuffers maps), or neither."""
    if isinstance(oid, str):
        oid = uuid.UUID(oid)
    if not isinstance(oid, uuid.UUID):
        raise TypeError("oid must be a uuid.UUID or str, not %s" % type(oid).__name__)
    if (marshal or parse) and (build or cast):
        raise TypeError("@zlmdb.table takes marshal= and parse= (CBOR/JSON maps) or build= "
                        "and cast= (FlatBuffers maps), not both")
    if bool(marshal) != bool(parse):
        raise TypeError("@zlmdb.table: marshal= and parse= go together (parse is handed to "
                        "the map as its unmarshal=): give both, or neither to store plain "
                        "dicts, lists and scalars in a CBOR/JSON map")
    if bool(build) != bool(cast):
        raise TypeError("@zlmdb.table: build= and cast= go together (FlatBuffers maps need "
                        "both)")
    if record is not None and (marshal or build):
        raise TypeError("@zlmdb.table: give record= (a declared record type) or "
                        "marshal=/parse= (build=/cast=), not both")

    def decorate(klass):
        if not (inspect.isclass(klass) and issubclass(klass, PersistentMap)):
            raise TypeError("@table decorates subclasses of zlmdb.PersistentMap")
        known = TABLES_BY_UUID.get(oid)
        if known is not None and (known.__module__, known.__qualname__) != \
                (klass.__module__, klass.__qualname__):
            # Upstream returns None here, silently binding the class name to
            # None; a clear error serves everyone better.  The same class
            # declared again (a reloaded module) simply replaces itself.
            raise RuntimeError("table oid %s is already used by %s"
                               % (oid, TABLES_BY_UUID[oid].__name__))
        klass._zlmdb_oid = oid
        klass._zlmdb_marshal = marshal
        klass._zlmdb_parse = parse
        klass._zlmdb_build = build
        klass._zlmdb_cast = cast
        klass._zlmdb_compress = compress
        klass._zlmdb_record = record
        TABLES_BY_UUID[oid] = klass
        return klass
    return decorate


#: Counts of puts and deletes, and the duration, of transactions begun with
#: ``stats=`` (a C type: the write path counts into it directly).
TransactionStats = _native.TransactionStats


#: A database transaction, made by ``Database.begin()``; use it as ``with
#: db.begin(write=True) as txn:``.  A C type, and a subtype of
#: ``zlmdb.lmdb.Transaction``: besides upstream's ``get``/``put``/``delete``/
#: ``id``, the low-level methods (``cursor()``, ``stat()``, ...) work on it.
#: The LMDB transaction begins when the block is entered and is committed
#: when the block ends normally, aborted when it raises.  On a database
#: opened with ``growth``, a write that finds the map full grows the map and
#: redoes the transaction's writes (logged in C) in a new LMDB transaction,
#: so the block goes on as if nothing happened; that is refused
#: (``MapFullError``) when another writer committed in between, since the
#: block's earlier reads could then be stale.
Transaction = _native.OrmTransaction


class Database:
    """A zlmdb database: one LMDB environment (a directory holding
    ``data.mdb`` and ``lock.mdb``), tables in slots of its main database::

        db = zlmdb.Database("./mydb", maxsize=1 << 30)
        users = db.attach_table(Users)          # a @zlmdb.table class
        with db.begin(write=True) as txn:
            users[txn, 1] = {"name": "ada"}

    ``dbpath``: the database directory, created when missing (see
    ``create``); None uses a temporary directory, removed on close.

    ``maxsize``: the size of the memory map in bytes, which bounds the data
    file (default 10 MiB).  A write that needs more raises
    ``zlmdb.lmdb.MapFullError``; with ``growth``, it is the ceiling instead.

    ``readonly``: open for reading only; ``begin(write=True)`` then raises
    ``zlmdb.lmdb.ReadonlyError``.

    ``lock``: use LMDB's lock file (default).  ``lock=False`` is only safe
    when no process writes the database meanwhile.

    ``sync``: flush every commit to disk (default).  ``sync=False`` is
    faster; a system crash may then lose the last commits (never the
    database), and ``sync()`` flushes by hand.

    ``create``: create the directory and files when missing (default);
    ``create=False`` raises when there is no database at ``dbpath``.

    ``open_now``: open at once (default); else on ``with db:`` (or
    ``__enter__()``).

    ``writemap``: LMDB writes through a writable memory map: faster writes,
    the data file has the map's size from the start, and a stray write of
    the process into the map can damage the database.

    ``context``: any object, kept as ``db.context`` for the application.

    ``log``: a logger object, kept as ``db.log`` for code written for
    upstream zlmdb (zlmdb itself does not log).

    ``growth`` (a factor > 1, off by default) turns ``maxsize`` into a
    ceiling: the map starts at ``initial_size`` (default: the smaller of
    ``maxsize`` and 16 MiB, or the existing data if larger) and a write
    transaction that fills it grows it by that factor and carries on (see
    Transaction).  Growing remaps the environment, which ends every other
    open transaction of this process; other processes see
    ``MapResizedError`` once and must reopen.

    ``initial_size``: with ``growth``, the map's first size (at most
    ``maxsize``).

    ``lib_version`` is the LMDB format: ``"1.0"`` (LMDB 1.0, data format
    v3) or ``"0.9"`` (LMDB 0.9, data format v1).  Without it an existing
    database opens in its own format and a new one is created in
    ``DEFAULT_LIB_VERSION`` (``"1.0"``); with it, an existing database of
    the other format raises ``ValueError`` and nothing is opened or created.

    ``max_dbs``: how many named LMDB databases the environment can open
    (default 0: the ORM keeps its tables in the main database).  Tools that
    look at named databases written with the low-level API beside the
    tables (the ``zlmdb`` command) raise it.
    """

    def __init__(self, dbpath=None, maxsize=10485760, readonly=False, lock=True, sync=True,
                 create=True, open_now=True, writemap=False, context=None, log=None,
                 growth=None, initial_size=None, lib_version=None, max_dbs=0):
        if lib_version is not None and (not isinstance(lib_version, str)
                                        or lib_version not in _LIB_VERSION_TO_MAJOR):
            raise ValueError('lib_version must be "1.0" (LMDB 1.0, data format v3), "0.9" '
                             "(LMDB 0.9, data format v1) or None (an existing database's own "
                             'format, "%s" for a new one), not %r'
                             % (DEFAULT_LIB_VERSION, lib_version))
        if dbpath is not None and not isinstance(dbpath, str):
            raise TypeError("dbpath must be a str or None")
        if not isinstance(maxsize, int) or maxsize < 1:
            raise ValueError("maxsize must be a positive int")
        if growth is not None and not (isinstance(growth, (int, float)) and growth > 1):
            raise ValueError("growth must be a number greater than 1")
        if initial_size is not None and (growth is None or not isinstance(initial_size, int)
                                         or not 0 < initial_size <= maxsize):
            raise ValueError("initial_size needs growth and 0 < initial_size <= maxsize")
        if not isinstance(max_dbs, int) or max_dbs < 0:
            raise ValueError("max_dbs must be an int >= 0, not %r" % (max_dbs,))
        self._max_dbs = max_dbs
        self._growth = float(growth) if growth is not None and not readonly else None
        self._initial_size = initial_size
        self._tempdir = None
        if dbpath is None:
            self._tempdir = tempfile.TemporaryDirectory()
            dbpath = self._tempdir.name
        self._dbpath = os.path.abspath(dbpath)
        self._maxsize = maxsize
        self._readonly = readonly
        self._catalog_pending = []     # maps whose indexes the catalog lacks
        self._lock = lock
        self._sync = sync
        self._create = create
        self._open_now = open_now
        self._writemap = writemap
        self._context = context
        self._lib_version = lib_version
        self.log = log
        self._env = None
        if open_now:
            self.__enter__()

    # -- opening ----------------------------------------------------------------

    @staticmethod
    def open(dbpath=None, **kwargs):
        """The database already open at ``dbpath`` in this process, or a new
        one."""
        if dbpath is not None:
            known = _OPEN.get(os.path.abspath(dbpath))
            if known is not None:
                return known
        return Database(dbpath, **kwargs)

    def __enter__(self):
        if self._env is not None:
            return self
        other = _OPEN.get(self._dbpath)
        if other is not None and other is not self:
            raise RuntimeError(
                'tried to open same dbpath "%s" twice within same process '
                "(PID %d): it is already open in %r" % (self._dbpath, os.getpid(), other))
        major = self._engine_to_open()
        delays = (0.0, 0.01, 0.02)
        for attempt, delay in enumerate(delays):
            try:
                self._env = lmdb.open(self._dbpath, map_size=self._map_size_at_open(),
                                      create=self._create, readonly=self._readonly,
                                      sync=self._sync, subdir=True, lock=self._lock,
                                      writemap=self._writemap, max_dbs=self._max_dbs,
                                      lib_version=major)
                break
            except lmdb.LockError as exc:
                if attempt == len(delays) - 1:
                    if _reader_slot_taken(self._dbpath):
                        raise RuntimeError(
                            'cannot open LMDB environment "%s": another process with the '
                            "same PID (%d) has it open, which happens when processes in "
                            "different PID namespaces (containers, say) share a database. "
                            "LMDB tells its readers apart by PID, so processes that share "
                            "a zlmdb database must share a PID namespace (e.g. docker run "
                            "--pid=host, or one pod with shareProcessNamespace)"
                            % (self._dbpath, os.getpid())) from exc
                    raise RuntimeError("cannot open LMDB environment %s (giving up after %d "
                                       "tries): %s" % (self._dbpath, len(delays), exc)) from exc
                time.sleep(delay)
        self._lib_version = _MAJOR_TO_LIB_VERSION[1 if self._env.lib_version()[0] >= 1 else 0]
        _OPEN[self._dbpath] = self
        return self

    def _engine_to_open(self):
        """The ``lib_version=`` for zlmdb.lmdb.open(): None for an existing
        database (its file decides), else the format asked for or the
        default.  Raises ValueError, before anything is created, when an
        existing database has another format than ``lib_version``."""
        found = _native.engine_detect(self._dbpath)    # InvalidError: neither format
        if found is None:
            return _LIB_VERSION_TO_MAJOR[self._lib_version or DEFAULT_LIB_VERSION]
        existing = _MAJOR_TO_LIB_VERSION[found]
        if self._lib_version is not None and self._lib_version != existing:
            raise ValueError(
                'database "%s" has LMDB format %s, but lib_version="%s" was requested: '
                "omit lib_version to open it in its own format, or convert it to %s "
                "(dump and load, e.g. with `zlmdb migrate`)"
                % (self._dbpath, existing, self._lib_version, self._lib_version))
        return None

    def __exit__(self, exc_type, exc_value, tb):
        self.close()
        return False

    def _map_size_at_open(self):
        if self._growth is None:
            return self._maxsize
        size = self._initial_size or min(self._maxsize, 16 << 20)
        try:
            size = max(size, os.path.getsize(os.path.join(self._dbpath, "data.mdb")))
        except OSError:
            pass
        return min(size, self._maxsize)

    def close(self):
        """Close the environment (and remove a temporary directory)."""
        if self._env is not None:
            self._env.close()
            self._env = None
        if _OPEN.get(self._dbpath) is self:
            del _OPEN[self._dbpath]
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None

    # -- properties ---------------------------------------------------------------

    @property
    def context(self):
        """The ``context`` object given to the constructor."""
        return self._context

    @property
    def lib_version(self):
        """The LMDB format of the database, ``"1.0"`` or ``"0.9"``; before it
        was first opened, the ``lib_version`` asked for (maybe None)."""
        return self._lib_version

    @property
    def dbpath(self):
        """The absolute path of the database directory."""
        return self._dbpath

    @property
    def maxsize(self):
        """The largest size of the map in bytes (with ``growth``: the ceiling)."""
        return self._maxsize

    @property
    def is_sync(self):
        """True when commits are flushed to disk (``sync=True``)."""
        return self._sync

    @property
    def is_readonly(self):
        """True when the database was opened read-only."""
        return self._readonly

    @property
    def is_writemap(self):
        """True when LMDB writes through a writable memory map."""
        return self._writemap

    @property
    def is_open(self):
        """True until :meth:`close`."""
        return self._env is not None

    @property
    def env(self):
        """The :class:`zlmdb.lmdb.Environment` under the database, for what
        the ORM does not cover (named databases, ``copy``, ``info``); None
        once closed.  It is closed with the database."""
        return self._env

    # -- transactions and maintenance -------------------------------------------

    def begin(self, write=False, buffers=False, stats=None):
        """A new :class:`Transaction` on this database, to use as a ``with``
        block::

            with db.begin(write=True) as txn:
                users[txn, oid] = user

        The LMDB transaction begins when the block is entered; a write
        transaction commits when the block ends normally and aborts when it
        raises, and a read-only one (the default) just ends.

        ``write``: a transaction that may write (one at a time per
        database; a second waits).  Refused with
        :class:`zlmdb.lmdb.ReadonlyError` on a database opened with
        ``readonly=True``.

        ``buffers``: reads return read-only ``memoryview`` (NumPy values:
        arrays) over the database's memory instead of copies; they are
        valid until the transaction ends.

        ``stats``: a :class:`TransactionStats` that counts the
        transaction's puts and deletes, and its duration."""
        if self._env is None:
            raise RuntimeError("the database %s is closed: open it again with "
                               "zlmdb.Database(dbpath) before beginning a transaction"
                               % self._dbpath)
        if write and self._readonly:
            raise lmdb.ReadonlyError(
                "cannot begin a write transaction: the database %s is read-only (opened "
                "with readonly=True); open it with readonly=False to write" % self._dbpath)
        return Transaction(self._env, write=write, buffers=buffers, stats=stats,
                           growth=self._growth or 0.0, maxsize=self._maxsize)

    def sync(self, force=False):
        """Flush to disk (needed with sync=False)."""
        self._env.sync(force)

    @staticmethod
    def count_keys(txn, prefix):
        """The number of keys of the main database, in the transaction
        ``txn``, that start with the bytes ``prefix`` (not empty): all of a
        slot's keys start with its number as 2 big-endian bytes
        (``struct.pack(">H", slot)``).  For tools that see raw keys; a map
        counts its own records with ``pmap.count(txn)``."""
        if not len(prefix):
            raise ValueError("count_keys needs a prefix of at least one byte "
                             "(a slot's: struct.pack('>H', slot))")
        return _native.prefix_count(txn, prefix)

    def config(self):
        """The options the database was created with."""
        return {
            "is_temp": self._tempdir is not None,
            "dbpath": self._dbpath,
            "maxsize": self._maxsize,
            "readonly": self._readonly,
            "lock": self._lock,
            "sync": self._sync,
            "create": self._create,
            "open_now": self._open_now,
            "writemap": self._writemap,
            "context": str(self._context) if self._context else None,
            "growth": self._growth,
        }

    @staticmethod
    def scratch(dbpath):
        """Delete the database directory ``dbpath`` and everything in it."""
        if os.path.exists(dbpath):
            if not os.path.isdir(dbpath):
                raise RuntimeError("%s is not a database directory" % dbpath)
            shutil.rmtree(dbpath)

    def stats(self, include_slots=False):
        """Size, usage and LMDB statistics; with ``include_slots``, one entry
        per registered table with its record count."""
        if self._env is None:
            raise RuntimeError("database is closed")
        st = self._env.stat()
        info = self._env.info()
        pages = st["leaf_pages"] + st["overflow_pages"] + st["branch_pages"]
        used = st["psize"] * pages
        res = {
            "num_slots": len(self._read_slots()),
            "current_size": os.path.getsize(os.path.join(self._dbpath, "data.mdb")),
            "max_size": self._maxsize,
            "page_size": st["psize"],
            "pages": pages,
            "used": used,
            # With writemap the file is the map's size from the start, so
            # usage comes from the pages in the tree, never the file size.
            "free": 1.0 - float(used) / float(self._maxsize),
            "read_only": self._readonly,
            "sync_enabled": self._sync,
            # the database's format, and the LMDB release that serves it
            "lib_version": self._lib_version,
            "lmdb_version": "%d.%d.%d" % self._env.lib_version(),
        }
        res.update(st)
        res.update(info)
        if include_slots:
            res["slots"] = []
            with self.begin() as txn:
                for slot, rec in sorted(self._read_slots().items()):
                    res["slots"].append({
                        "oid": rec.get("oid"), "slot": slot, "name": rec.get("name"),
                        "description": rec.get("description"),
                        "records": _native.slot_count(txn, slot),
                    })
        return res

    # -- the slot registry ------------------------------------------------------

    def _read_slots(self):
        """{slot: registry record} from slot 0."""
        with self._env.begin() as txn:
            return {slot: _codec.cbor_loads(rec)
                    for slot, rec in _native.registry_read(txn).items()}

    def attach_table(self, klass):
        """An instance of the @table-decorated ``klass`` on its slot, found in
        the registry by the class's oid or allocated (highest slot + 1).

        Finding and allocating happen in one write transaction, so processes
        attaching tables at the same time never share a slot; the same
        transaction records the map's type in the catalog."""
        if not inspect.isclass(klass) or not issubclass(klass, PersistentMap):
            raise TypeError("cannot attach %r as a table: a subclass of "
                            "zlmdb.PersistentMap is required" % (klass,))
        oid = getattr(klass, "_zlmdb_oid", None)
        if not oid:
            raise TypeError("%s is not decorated with @zlmdb.table" % klass.__name__)
        if self._env is None:
            raise RuntimeError("database is closed")
        desc = klass.__doc__.strip() if klass.__doc__ else None
        args = (str(oid), _qualname(klass), desc, "unknown")
        kwargs = {"compress": klass._zlmdb_compress}
        if klass._zlmdb_marshal:
            kwargs.update(marshal=klass._zlmdb_marshal, unmarshal=klass._zlmdb_parse)
        elif klass._zlmdb_build:
            kwargs.update(build=klass._zlmdb_build, cast=klass._zlmdb_cast)
        elif getattr(klass, "_zlmdb_record", None) is not None:
            kwargs.update(record=klass._zlmdb_record)
        if self._readonly:
            with self._env.begin() as ltxn:
                found = _native.registry_attach(ltxn, *args, True)
            if found is None:
                raise RuntimeError('no slot in database for table <%s>: "%s"'
                                   % (oid, klass.__name__))
            pmap = klass(found[0], **kwargs)
        else:
            with self._env.begin(write=True) as ltxn:
                slot = _native.registry_attach(ltxn, *args, False)[0]
                pmap = klass(slot, **kwargs)
                _catalog_write(ltxn, pmap)
                self._catalog_flush(ltxn)
            # Indexes are declared later (pmap.attach_index), with no
            # database at hand: the map calls back when one is attached.
            ref = weakref.ref(self)

            def on_index(owner):
                db = ref()
                if db is not None:
                    db._catalog_index_attached(owner)
            pmap._on_index = on_index
        return pmap

    def _catalog_index_attached(self, pmap):
        """Record ``pmap``'s indexes (and each index map's owner) in the
        catalog, in a write transaction of its own; when this thread holds
        a write transaction already, at the next attach_table."""
        self._catalog_pending.append(pmap)
        if self._env is None:
            return
        try:
            ltxn = self._env.begin(write=True)
        except lmdb.Error:          # this thread's own write transaction is open
            return
        with ltxn:
            self._catalog_flush(ltxn)

    def _catalog_flush(self, ltxn):
        for pmap in self._catalog_pending:
            _catalog_write(ltxn, pmap)
            for ipmap, _fkey, _nullable, _unique in pmap._indexes.values():
                if ipmap._slot:
                    _catalog_write(ltxn, ipmap)
        del self._catalog_pending[:]


#: compression kinds by the names the catalog records
_COMPRESS_NAMES = {1: "zlib", 2: "snappy"}


def _catalog_entry(pmap):
    from zlmdb import _maps     # it imports this module
    """What the catalog records about the map ``pmap`` (a CBOR-able dict):
    its Map* class, key components, value codec and compression, its
    indexes, and the map it indexes, when it is an index."""
    klass = type(pmap)
    map_name = next((b.__name__ for b in klass.__mro__
                     if _maps.MAP_CLASSES.get(b.__name__) is b), None)
    oid = getattr(klass, "_zlmdb_oid", None)
    entry = {
        "oid": str(oid) if oid else None,
        "map": map_name,
        "key": list(klass.KEY),
        "value": klass.VALUE,
        "compress": _COMPRESS_NAMES.get(pmap._compress_kind),
        "indexes": [{"name": name, "slot": ipmap._slot, "unique": unique,
                     "nullable": nullable}
                    for name, (ipmap, _fkey, nullable, unique)
                    in sorted(pmap._indexes.items())],
    }
    if pmap._index_of is not None:
        owner, name = pmap._index_of
        entry["index_of"] = {"slot": owner._slot, "name": name}
    return entry


def _catalog_write(ltxn, pmap):
    _native.catalog_put(ltxn, pmap._slot, _codec.cbor_dumps(_catalog_entry(pmap)))


def _reader_slot_taken(dbpath):
    """Whether another process holds the lock by which LMDB marks this
    process as a live reader: an fcntl lock on the byte of ``lock.mdb`` at
    offset = our PID.  A process with the same PID in another PID namespace
    holds it while it has the database open, and LMDB cannot tell the two
    apart.

    Closing a descriptor drops every fcntl lock this process holds on the
    file, so this is only safe while the process has no environment open on
    ``dbpath``: true here, since the open just failed and ``_OPEN`` and
    zlmdb.lmdb each refuse a second environment on one path."""
    try:
        import fcntl
    except ImportError:         # not POSIX: LMDB locks readers otherwise
        return False
    try:
        fd = os.open(os.path.join(dbpath, "lock.mdb"), os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, os.getpid())
    except OSError as exc:
        return exc.errno in (errno.EACCES, errno.EAGAIN)
    else:
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, os.getpid())
        return False
    finally:
        os.close(fd)


def _qualname(klass):
    # Upstream names tables with Twisted's qual() when Twisted is importable,
    # else with the bare class name; follow the same rule.
    if "twisted" in sys.modules:
        return "%s.%s" % (klass.__module__, klass.__qualname__)
    return klass.__name__
