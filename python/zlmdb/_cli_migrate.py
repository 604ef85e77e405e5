"""``zlmdb migrate``: an LMDB environment copied into the LMDB data format
asked for, then proven equal to its source.

LMDB 0.9 (data format v1) and LMDB 1.0 (data format v3) cannot open each
other's files, and LMDB has no in-place upgrade: the way from one to the
other is to read every record and write it again.  This works on any LMDB
environment, a zlmdb ORM database or not: the main database's records are
copied, and every named database is created with its flags (dupsort,
dupfixed, integerkey, integerdup, reverse_key) and copied, so every slot,
index and registry record of the ORM comes along.

The source is read in one read-only transaction (one consistent snapshot,
even while other processes write).  The copy is written in batched write
transactions into a new directory beside DST, then checked: the database
names and flags, and each database's record count and SHA-256 digest (see
:class:`Digest`) must equal the source's, and the file must have the format
asked for.  Only then is it renamed to DST.  On any failure, an interruption
included, the new directory is removed: DST is either the whole verified
copy or not there.
"""
import hashlib
import os
import shutil
import signal
import struct
import threading

from zlmdb import lmdb
from zlmdb._cli_layout import (DB_FLAGS, FORMATS, MAX_NAMED_DBS, CliError, NamedDatabases,
                               describe_format, format_of, name_form, name_text)
from zlmdb._cli_transfer import grow_map

BATCH_BYTES = 64 << 20        # a write transaction also ends after this many bytes


class Digest:
    """The record count and SHA-256 of one database: every record in the
    database's own order, each as its key's and its value's length (8 bytes
    big-endian each), then the key, then the value."""

    def __init__(self):
        self.count = 0
        self._sha = hashlib.sha256()

    def add(self, key, value):
        self.count += 1
        self._sha.update(struct.pack(">QQ", len(key), len(value)))
        self._sha.update(key)
        self._sha.update(value)

    def hexdigest(self):
        return self._sha.hexdigest()


class _Db:
    """One database of an environment: None for the main one, or a named
    one's name; its flags and handle (valid in the transaction listing it)."""

    def __init__(self, name, flags, handle):
        self.name = name
        self.flags = flags
        self.handle = handle

    @property
    def label(self):
        return "main database" if self.name is None else \
            "named database %s" % name_text(self.name)


def _databases(env, txn):
    """(main and named databases, NamedDatabases) of a read transaction."""
    main = env.open_db(None, txn=txn, create=False)
    flags = {f: bool(v) for f, v in main.flags(txn).items() if f in DB_FLAGS}
    if any(flags.values()):
        # The Python API opens the main database without flags only.
        raise CliError("the main database has the flags %s, which zlmdb.lmdb cannot give a "
                       "new environment's main database: it cannot be migrated"
                       % ",".join(f for f, on in flags.items() if on))
    named = NamedDatabases(env, txn)
    dbs = [_Db(None, flags, main)]
    dbs += [_Db(n.name, dict(n.flags), n.handle) for n in named.all()]
    return dbs, named


def _records(txn, db, named):
    """The records of ``db`` in its order; in the main database, not the
    named databases' own records (LMDB writes those when it creates them)."""
    for k, v in txn.cursor(db=db.handle).iternext():
        if db.name is not None or not named.is_named(k, v):
            yield k, v


def _digests(txn, dbs, named):
    """{name: Digest} of every database, read back independently of the copy."""
    out = {}
    for db in dbs:
        digest = out[db.name] = Digest()
        for k, v in _records(txn, db, named):
            digest.add(k, v)
    return out


class _Writer:
    """Copies records into the new environment in batched write
    transactions, with the map growing when a batch finds it full."""

    def __init__(self, env, batch_size, progress):
        self.env = env
        self.batch_size = batch_size
        self.progress = progress
        self.done = 0

    def copy(self, src_txn, src, named, dst_handle, digest):
        """Every record of ``src`` (a _Db of the source, whose named
        databases are ``named``) into ``dst_handle``, adding each to
        ``digest``."""
        batch, size = [], 0
        for k, v in _records(src_txn, src, named):
            digest.add(k, v)
            batch.append((k, v))
            size += len(k) + len(v)
            if len(batch) >= self.batch_size or size >= BATCH_BYTES:
                self.put(src, dst_handle, batch)
                batch, size = [], 0
        if batch:
            self.put(src, dst_handle, batch)

    def write(self, work, db=None):
        """``work(txn)`` in one write transaction (whose default database is
        ``db``), done again after the map grows when it finds it full; the
        result of ``work``."""
        while True:
            try:
                with self.env.begin(write=True, db=db) as txn:
                    return work(txn)
            except lmdb.MapFullError:
                grow_map(self.env)

    def create(self, src):
        """The new environment's handle of the named database ``src``."""
        return self.write(lambda txn: self.env.open_db(src.name, txn=txn, create=True,
                                                       **src.flags))

    def put(self, src, handle, items):
        """One batch, in one write transaction.  The records come in the
        database's own order, so LMDB appends them (MDB_APPEND, or
        MDB_APPENDDUP in a dupsort database) and fills every page."""
        try:
            _consumed, added = self.write(
                lambda txn: txn.cursor(db=handle).putmulti(items, append=True), db=handle)
        except lmdb.BadValsizeError:
            raise CliError(_too_large(self.env, src, items)) from None
        if added != len(items):
            raise CliError("%s: %d of %d records of a batch were written"
                           % (src.label, added, len(items)))
        self.done += len(items)
        self.progress.update(self.done)


def _too_large(env, src, items):
    """Why LMDB refused a batch with MDB_BAD_VALSIZE, naming the record."""
    fmt = format_of(env)
    most = env.max_key_size()
    dupsort = src.flags.get("dupsort")
    for k, v in items:
        if len(k) > most:
            return ("%s: a key of %d bytes is longer than the %s allows (%d bytes): keep this "
                    "database in its format" % (src.label, len(k), describe_format(fmt), most))
        if dupsort and not 0 < len(v) <= most:
            return ("%s is dupsort, and holds a value of %d bytes, which the %s refuses in a "
                    "dupsort database (1 to %d bytes): keep this database in its format"
                    % (src.label, len(v), describe_format(fmt), most))
    return "%s: LMDB %s refused a record's size (MDB_BAD_VALSIZE)" % (src.label, fmt)


def _open_source(src):
    if not os.path.exists(src):
        raise CliError("no such database directory: %s" % src)
    if not os.path.isdir(src):
        raise CliError("not a database directory: %s (an LMDB environment is a directory "
                       "holding data.mdb)" % src)
    data = os.path.join(src, "data.mdb")
    if not os.path.isfile(data):
        raise CliError("not an LMDB environment: %s holds no data.mdb" % src)
    if os.path.getsize(data) == 0:
        raise CliError("not an LMDB file: %s is empty" % data)
    try:
        # First without the lock file, which LMDB would create: a directory
        # that holds no LMDB file is left as it was.  map_size=0 maps the
        # size the file records, so the map is never shrunk.
        lmdb.open(src, readonly=True, lock=False, create=False, map_size=0).close()
        return lmdb.open(src, readonly=True, create=False, map_size=0,
                         max_dbs=MAX_NAMED_DBS)
    except lmdb.InvalidError:
        raise CliError("not an LMDB file: %s has the data format of neither LMDB 0.9 nor "
                       "LMDB 1.0" % data) from None
    except lmdb.Error as exc:
        raise CliError("cannot open %s: %s" % (src, exc)) from None


def _check_destination(dst):
    """Whether DST exists (as an empty directory); refuses anything else."""
    if os.path.isdir(dst):
        if os.listdir(dst):
            raise CliError("%s exists and is not empty: migrate writes a new database; "
                           "give a new or empty directory" % dst)
        return True
    if os.path.lexists(dst):
        raise CliError("%s exists and is not a directory: give a new or empty directory"
                       % dst)
    parent = os.path.dirname(os.path.abspath(dst))
    if not os.path.isdir(parent):
        raise CliError("the directory %s, where %s would be created, does not exist"
                       % (parent, os.path.basename(dst)))
    return False


class _TerminateAsInterrupt:
    """SIGTERM raises KeyboardInterrupt while a migration runs, so that it
    cleans up as it does on Ctrl-C (only the main thread gets signals)."""

    def __enter__(self):
        self.old = None
        if threading.current_thread() is threading.main_thread():
            self.old = signal.signal(signal.SIGTERM, self._raise)
        return self

    @staticmethod
    def _raise(signum, frame):
        raise KeyboardInterrupt("terminated")

    def __exit__(self, *exc):
        if self.old is not None:
            signal.signal(signal.SIGTERM, self.old)
        return False


def migrate(src, dst, fmt, batch_size, progress_for):
    """Copy the environment ``src`` into a new one at ``dst`` in format
    ``fmt`` ("0.9" or "1.0") and verify it; return the report (a dict).
    ``progress_for(total)`` gives the progress bar for ``total`` records.
    Raises CliError (or an lmdb error) and leaves no ``dst`` behind."""
    dst_existed = _check_destination(dst)
    env = _open_source(src)
    try:
        with env.begin() as txn, _TerminateAsInterrupt():
            return _migrate(env, txn, src, dst, dst_existed, fmt, batch_size, progress_for)
    finally:
        env.close()


def _map_size(env):
    """The copy's first map size: the source's, so that the copy opens as
    the source did, or more when the source is nearly full.  A batch that
    finds the map full grows it."""
    info = env.info()
    psize = env.stat()["psize"]
    used = (info["last_pgno"] + 1) * psize
    size = max(info["map_size"], used + used // 4 + (1 << 20))
    return (size + psize - 1) // psize * psize


def _migrate(env, txn, src, dst, dst_existed, fmt, batch_size, progress_for):
    src_fmt = format_of(env)
    dbs, named = _databases(env, txn)
    main_records = txn.stat(dbs[0].handle)["entries"] - (len(dbs) - 1)
    total = main_records + sum(txn.stat(d.handle)["entries"] for d in dbs[1:])
    map_size = _map_size(env)

    work = os.path.join(os.path.dirname(os.path.abspath(dst)),
                        ".%s.migrate-%d" % (os.path.basename(os.path.abspath(dst)),
                                            os.getpid()))
    os.mkdir(work)
    out = None
    progress = progress_for(total)
    try:
        out = lmdb.open(work, map_size=map_size, max_dbs=max(1, len(dbs) - 1),
                        lib_version=FORMATS[fmt][0], sync=False)
        writer = _Writer(out, batch_size, progress)
        copied = {}
        # The main database first: its records are appended, which needs
        # them to come before the named databases' records join it.
        for db in dbs:
            handle = out.open_db(None) if db.name is None else writer.create(db)
            copied[db.name] = Digest()
            writer.copy(txn, db, named, handle, copied[db.name])
        progress.close()
        progress = None
        out.sync(True)
        out.close()
        out = None
        checked = _verify(work, fmt, dbs, copied)
        os.unlink(os.path.join(work, "lock.mdb"))
        if dst_existed:
            # Over an empty directory: the data file moves in, in one step.
            os.rename(os.path.join(work, "data.mdb"), os.path.join(dst, "data.mdb"))
            os.rmdir(work)
        else:
            os.rename(work, dst)
    except BaseException:
        if progress is not None:
            progress.close()
        if out is not None:
            out.close()
        shutil.rmtree(work, ignore_errors=True)
        raise
    return {
        "source": os.path.abspath(src),
        "destination": os.path.abspath(dst),
        "source_lib_version": src_fmt,
        "lib_version": fmt,
        "lmdb_version": checked["lmdb_version"],
        "same_format": src_fmt == fmt,
        "databases": [{"name": None if db.name is None else name_form(db.name),
                       "flags": db.flags, "records": copied[db.name].count,
                       "sha256": copied[db.name].hexdigest()} for db in dbs],
        "records": sum(d.count for d in copied.values()),
        "map_size": checked["map_size"],
        "bytes": os.path.getsize(os.path.join(dst, "data.mdb")),
        "source_bytes": os.path.getsize(os.path.join(src, "data.mdb")),
        "verified": True,
    }


def _verify(path, fmt, dbs, copied):
    """Open the copy afresh and compare it with what was read from the
    source; raises CliError naming the first difference."""
    env = lmdb.open(path, readonly=True, lock=False, create=False, map_size=0,
                    max_dbs=max(1, len(dbs) - 1))
    try:
        got_fmt = format_of(env)
        if got_fmt != fmt:
            raise CliError("verification failed: the copy has %s, not %s"
                           % (describe_format(got_fmt), describe_format(fmt)))
        with env.begin() as txn:
            got_dbs, named = _databases(env, txn)
            want = [(d.name, d.flags) for d in dbs]
            have = [(d.name, d.flags) for d in got_dbs]
            if have != want:
                raise CliError("verification failed: the copy's databases (%s) differ from "
                               "the source's (%s)" % (_list(have), _list(want)))
            digests = _digests(txn, got_dbs, named)
            for db in got_dbs:
                a, b = copied[db.name], digests[db.name]
                if a.count != b.count or a.hexdigest() != b.hexdigest():
                    raise CliError("verification failed: %s has %d records with SHA-256 %s "
                                   "in the copy, %d records with SHA-256 %s in the source"
                                   % (db.label, b.count, b.hexdigest(), a.count,
                                      a.hexdigest()))
        return {"lmdb_version": "%d.%d.%d" % tuple(env.lib_version()[:3]),
                "map_size": env.info()["map_size"]}
    finally:
        env.close()


def _list(dbs):
    return ", ".join("main" if n is None else name_text(n) +
                     "".join(" " + f for f, on in flags.items() if on) for n, flags in dbs)
