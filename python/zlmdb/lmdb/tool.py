"""Command-line tool for LMDB environments: ``python -m zlmdb.lmdb``.

The commands, options and the dump file format are those of py-lmdb's
``python -m lmdb``; see docs/lowlevel-tools.md for the differences.

Dump files use the ``cdbmake`` text format: one record per key/value pair,
``+<len(key)>,<len(value)>:<key>-><value>`` followed by a newline, and one
empty line after the last record.  Lengths are decimal byte counts; keys and
values are raw bytes.
"""
import code
import csv
import optparse
import os
import pprint
import sys
import time

import zlmdb.lmdb as lmdb

PROG = "python -m zlmdb.lmdb"
_NAME = "zlmdb.lmdb.tool"
MAIN_DB = ":main:"

USAGE = """%prog [options] <command> [arguments]

Inspect and maintain an LMDB environment (-e/--env PATH is needed; verify
also takes the path as its argument).
Named databases are chosen with -d/--db; the main database is the default.

Commands:
  copy TARGET          hot backup of the environment into directory TARGET
                       (--compact drops free pages)
  copyfd               the same, written to a file descriptor (--out-fd)
  drop DB [DB ...]     delete named databases
  dump [DB=FILE ...]   write databases as cdbmake text (no arguments: the
                       main database to main.cdbmake)
  edit                 change records: --set k=v, --set-file k=path,
                       --add k=v (only if absent), --add-file k=path,
                       --delete k (each option may repeat)
  get [KEY ...]        print the values of keys (-x: as a hex dump)
  readers              list reader slots (-c: clear the stale ones)
  restore DB=FILE ...  load cdbmake text (":main:" names the main database)
  rewrite [DB ...]     copy databases into a fresh environment (-E TARGET),
                       appending in key order
  shell                interactive Python with ENV/env, DB/db and lmdb bound
  stat                 environment and database statistics
  verify [PATH]        check a data file offline, from its bytes, without
                       opening it (PATH or -e; -s for a single file)
  warm                 read the data file once so its pages are cached
  watch                live statistics (--csv, --interval S, --window N,
                       --count N)
"""


class UserError(Exception):
    """A problem with the command line or its inputs: reported in one line."""


# -- helpers ---------------------------------------------------------------------

def _b(text):
    """Command-line text to bytes (the file-system encoding, like argv)."""
    return os.fsencode(text)


def _split_pair(spec, what):
    if "=" not in spec:
        raise UserError('%s missing "=": %r' % (what, spec))
    left, right = spec.split("=", 1)
    return left, right


def _is_printable(byte):
    return 0x20 <= byte < 0x7F


def xxd(data):
    """Hex dump in the layout of the reference tool's ``-x`` output."""
    lines = []
    for offset in range(0, len(data), 16):
        chunk = data[offset:offset + 16]
        groups = [chunk[i:i + 2].hex() for i in range(0, len(chunk), 2)]
        line = "%07x: %s" % (offset, " ".join(groups))
        if len(chunk) > 1:
            text = "".join(chr(c) if _is_printable(c) else "." for c in chunk)
            line = "%-49s %s" % (line, text)
        lines.append(line)
    return "\n".join(lines)


def _out(text=""):
    sys.stdout.write(text + "\n")


# -- opening environments and databases ----------------------------------------------

def _truthy(value):
    if value is None:
        return False
    return str(value).strip().lower() not in ("", "0", "no", "false", "off", "n")


_OPENED = []     # environments opened by the running command, closed by main()


def open_env(opts, path=None, create=False, readonly=None):
    path = opts.env if path is None else path
    if readonly is None:
        readonly = _truthy(opts.read)
    try:
        env = lmdb.open(path, map_size=int(opts.map_size * 1048576),
                        subdir=not opts.use_single_file, readonly=readonly,
                        max_dbs=opts.max_dbs, create=create)
        _OPENED.append(env)
        return env
    except lmdb.Error as exc:
        detail = str(exc)
        if detail.startswith(path + ": "):
            detail = detail[len(path) + 2:]
        raise UserError("cannot open environment %r: %s" % (path, detail))


def _open_db(env, name, create, txn=None):
    """The named database, or the main one for None/':main:'.

    With *create*, a missing database is created (inside *txn* when given,
    so that aborting *txn* undoes the creation)."""
    if name is None or name == MAIN_DB:
        return env.open_db()
    key = _b(name)
    try:
        if not create:
            return env.open_db(key, create=False)
        if txn is not None:
            return env.open_db(key, txn=txn)
        with env.begin() as rtxn:
            exists = rtxn.get(key) is not None
        if exists:
            return env.open_db(key, create=False)
        return env.open_db(key)
    except lmdb.NotFoundError:
        raise UserError("no such database: %r" % name)
    except lmdb.IncompatibleError:
        raise UserError("%r is a key of the main database, not a database"
                        % name)
    except lmdb.ReadonlyError:
        raise UserError("cannot create database %r: environment is read-only"
                        % name)
    except lmdb.DbsFullError:
        raise UserError("cannot open database %r: too many databases "
                        "(raise --max-dbs)" % name)


def _named_dbs(env):
    return set(env.dbs())


# -- dump and restore -----------------------------------------------------------------

def dump_cursor(cursor, fp):
    """Write every record under *cursor* to *fp*; return the record count."""
    count = 0
    write = fp.write
    for key, value in cursor.iternext():
        write(b"+%d,%d:" % (len(key), len(value)))
        write(key)
        write(b"->")
        write(value)
        write(b"\n")
        count += 1
    write(b"\n")
    return count


def _read_number(fp, stop):
    digits = bytearray()
    while True:
        ch = fp.read(1)
        if ch == stop:
            break
        if len(ch) != 1 or not ch.isdigit() or len(digits) > 20:
            return None
        digits += ch
    if not digits:
        return None
    return int(digits)


def read_records(fp):
    """Yield the ``(key, value)`` records of a cdbmake stream.

    Raises :class:`UserError` naming the 1-based record number on bad input;
    the stream must end with the empty terminating line.
    """
    record = 0
    while True:
        record += 1
        lead = fp.read(1)
        if lead == b"\n":
            return
        if lead != b"+":
            raise UserError("bad or missing plus, line/record #%d" % record)
        klen = _read_number(fp, b",")
        vlen = _read_number(fp, b":") if klen is not None else None
        if vlen is None:
            raise UserError("bad or missing length, line/record #%d" % record)
        key = fp.read(klen)
        if len(key) != klen or fp.read(2) != b"->":
            raise UserError("bad or missing separator, line/record #%d" % record)
        value = fp.read(vlen)
        if len(value) != vlen or fp.read(1) != b"\n":
            raise UserError("bad line ending, line/record #%d" % record)
        yield key, value


def _db_file_pairs(args):
    pairs = []
    for spec in args:
        name, path = _split_pair(spec, "DB specification")
        if not name or not path:
            raise UserError("bad DB specification: %r" % spec)
        pairs.append((name, path))
    return pairs


# -- commands ----------------------------------------------------------------------------

def cmd_copy(opts, args):
    if len(args) != 1:
        raise UserError("Please specify output directory (see --help)")
    target = args[0]
    if os.path.exists(target):
        raise UserError("Output directory %r already exists." % target)
    env = open_env(opts)
    if not opts.use_single_file:
        os.makedirs(target)
    _out("Running copy to %r...." % target)
    sys.stdout.flush()
    env.copy(target, compact=opts.compact)


def cmd_copyfd(opts, args):
    if args:
        raise UserError("copyfd takes no arguments (use --out-fd)")
    fd = opts.out_fd
    try:
        os.fstat(fd)
    except OSError as exc:
        raise UserError("Bad --out-fd %d: %s" % (fd, exc))
    env = open_env(opts)
    sys.stdout.flush()
    env.copyfd(fd, compact=opts.compact)


def cmd_drop(opts, args):
    if not args:
        raise UserError("Must specify at least one sub-database (see --help)")
    env = open_env(opts)
    dbs = [(name, _open_db(env, name, create=False)) for name in args]
    for name, db in dbs:
        _out("Dropping DB %r..." % name)
        with env.begin(write=True) as txn:
            txn.drop(db)


def cmd_dump(opts, args):
    pairs = _db_file_pairs(args) if args else [(MAIN_DB, "main.cdbmake")]
    env = open_env(opts)
    dbs = [(_open_db(env, name, create=False), path) for name, path in pairs]
    with env.begin(buffers=True) as txn:
        for db, path in dbs:
            _out("Dumping to %r..." % path)
            with open(path, "wb") as fp:
                dump_cursor(txn.cursor(db), fp)


def _edit_value(path):
    try:
        with open(path, "rb") as fp:
            return fp.read()
    except OSError as exc:
        raise UserError("cannot read %r: %s" % (path, exc.strerror or exc))


def cmd_edit(opts, args):
    if args:
        raise UserError("edit takes only options, got %r" % (args[0],))
    ops = []
    for spec in opts.set:
        key, value = _split_pair(spec, "--set")
        ops.append(("put", _b(key), _b(value), True))
    for spec in opts.set_file:
        key, path = _split_pair(spec, "--set-file")
        ops.append(("put", _b(key), _edit_value(path), True))
    for spec in opts.add:
        key, value = _split_pair(spec, "--add")
        ops.append(("put", _b(key), _b(value), False))
    for spec in opts.add_file:
        key, path = _split_pair(spec, "--add-file")
        ops.append(("put", _b(key), _edit_value(path), False))
    for key in opts.delete:
        ops.append(("delete", _b(key), None, None))
    if any(not op[1] for op in ops):
        raise UserError("keys must not be empty")
    env = open_env(opts)
    db = _open_db(env, opts.db, create=True)
    if _truthy(opts.read) and ops:
        raise UserError("cannot edit: environment opened read-only (--read)")
    with env.begin(write=True, db=db) as txn:
        for kind, key, value, overwrite in ops:
            if kind == "put":
                txn.put(key, value, overwrite=overwrite)
            else:
                txn.delete(key)


def cmd_get(opts, args):
    env = open_env(opts)
    db = _open_db(env, opts.db, create=False)
    with env.begin(db=db) as txn:
        for arg in args:
            value = txn.get(_b(arg))
            if value is None:
                _out("%r: missing" % (arg,))
                continue
            if len(args) > 1:
                _out("%r:" % (arg,))
            if opts.xxd:
                _out(xxd(value))
                _out()
            else:
                _out(repr(value))


def cmd_readers(opts, args):
    if args:
        raise UserError("readers takes no arguments")
    env = open_env(opts)
    if opts.clean:
        _out("Cleaned %d stale entries." % env.reader_check())
    _out(env.readers())


def cmd_restore(opts, args):
    if not args:
        raise UserError("Must specify at least one db=file pair (see --help)")
    pairs = _db_file_pairs(args)
    env = open_env(opts)
    if _truthy(opts.read):
        raise UserError("cannot restore: environment opened read-only (--read)")
    for name, path in pairs:
        _out("Restoring from %r..." % path)
        sys.stdout.flush()
        try:
            fp = open(path, "rb")
        except OSError as exc:
            raise UserError("cannot read %r: %s" % (path, exc.strerror or exc))
        with fp, env.begin(write=True) as txn:
            db = _open_db(env, name, create=True, txn=txn)
            count = 0
            for key, value in read_records(fp):
                txn.put(key, value, db=db)
                count += 1
        _out("Loaded %d keys from %r" % (count, path))


def cmd_rewrite(opts, args):
    if not opts.target_env:
        raise UserError("Must specify target environment path with -E")
    # The main database goes first: creating the sub-databases in the
    # target adds records to its main database.
    names = list(dict.fromkeys(args)) or [MAIN_DB]
    if MAIN_DB in names:
        names.remove(MAIN_DB)
        names.insert(0, MAIN_DB)
    src = open_env(opts, readonly=True if _truthy(opts.read) else None)
    dst = open_env(opts, path=opts.target_env, create=True, readonly=False)
    sources = [(name, _open_db(src, name, create=False)) for name in names]
    subdbs = _named_dbs(src)
    for name, sdb in sources:
        _out("Writing %r..." % name)
        sys.stdout.flush()
        if name == MAIN_DB:
            ddb = dst.open_db()
        else:
            ddb = dst.open_db(_b(name), **sdb.flags())
        with src.begin(db=sdb) as stxn, \
                dst.begin(write=True, db=ddb) as dtxn:
            records = stxn.cursor().iternext()
            if name == MAIN_DB and subdbs:
                # Records naming sub-databases point at pages of the source
                # file: never copy them as plain values.
                records = (kv for kv in records if kv[0] not in subdbs)
            # MDB_APPEND only into an empty database: appending after
            # existing keys would silently skip records.
            append = dtxn.stat(ddb)["entries"] == 0
            dtxn.cursor().putmulti(records, append=append)
    _out("Syncing..")
    dst.sync(True)


def cmd_shell(opts, args):
    env = open_env(opts)
    db = _open_db(env, opts.db, create=False) if opts.db else None
    names = {"ENV": env, "env": env, "DB": db, "db": db, "lmdb": lmdb}
    banner = ("zlmdb.lmdb shell: ENV/env is the open environment, DB/db the "
              "selected database, lmdb the module.")
    code.interact(banner=banner, local=names, exitmsg="")


def cmd_stat(opts, args):
    if args:
        raise UserError("stat takes no arguments")
    env = open_env(opts)
    if opts.db:
        db = _open_db(env, opts.db, create=False)
        with env.begin() as txn:
            pprint.pprint(txn.stat(db))
    else:
        pprint.pprint(env.stat())
    pprint.pprint(env.info())


def _data_file(opts):
    if opts.use_single_file:
        return opts.env
    return os.path.join(opts.env, "data.mdb")


def cmd_warm(opts, args):
    if args:
        raise UserError("warm takes no arguments")
    open_env(opts)          # fails clearly unless it is an environment
    started = time.monotonic()
    total = 0
    with open(_data_file(opts), "rb", buffering=0) as fp:
        buf = bytearray(1 << 20)
        while True:
            n = fp.readinto(buf)
            if not n:
                break
            total += n
    took = time.monotonic() - started
    _out("Warmed %.2fmb in %dms" % (total / 1048576.0, int(took * 1000)))


WATCH_FIELDS = ("time", "txnid", "txn/s", "readers", "last_pgno", "used_mb",
                "map_mb", "used%", "entries", "depth")


def _watch_sample(env):
    info = env.info()
    stat = env.stat()
    used = (info["last_pgno"] + 1) * stat["psize"]
    return info, stat, used


def cmd_watch(opts, args):
    if args:
        raise UserError("watch takes no arguments")
    if opts.interval < 0 or opts.window < 1 or opts.count < 0:
        raise UserError("--interval must be >= 0, --window >= 1, --count >= 0")
    env = open_env(opts)
    history = []            # (monotonic time, txnid) for the rate window
    writer = csv.writer(sys.stdout) if opts.csv else None
    row_format = "%-8s %10s %8s %7s %10s %9s %9s %6s %10s %5s"
    if writer:
        writer.writerow(WATCH_FIELDS)
    else:
        _out(row_format % WATCH_FIELDS)
    done = 0
    try:
        while True:
            info, stat, used = _watch_sample(env)
            now = time.monotonic()
            history.append((now, info["last_txnid"]))
            del history[:-(opts.window + 1)]
            elapsed = now - history[0][0]
            rate = (history[-1][1] - history[0][1]) / elapsed if elapsed else 0.0
            row = (time.strftime("%H:%M:%S"), info["last_txnid"],
                   "%.1f" % rate, info["num_readers"], info["last_pgno"],
                   "%.2f" % (used / 1048576.0),
                   "%.2f" % (info["map_size"] / 1048576.0),
                   "%.1f" % (100.0 * used / info["map_size"]),
                   stat["entries"], stat["depth"])
            if writer:
                writer.writerow(row)
            else:
                _out(row_format % row)
            sys.stdout.flush()
            done += 1
            if opts.count and done >= opts.count:
                return
            time.sleep(opts.interval)
    except KeyboardInterrupt:
        return


def cmd_verify(opts, args):
    """Check a data file from its bytes, never opening it through LMDB
    (zlmdb.lmdb.verify): prints each problem and fails, or "verify: OK"."""
    from zlmdb.lmdb import verify as _verify

    path = args[0] if args else opts.env
    if not path:
        raise UserError("verify: specify a path (positional or with --env)")
    try:
        problems = _verify.verify(path, subdir=False if opts.use_single_file else None)
    except (_verify.VerifyError, OSError) as exc:
        raise UserError("verify: %s" % exc)
    for line in problems:
        _out(line)
    if problems:
        raise UserError("verify: FAILED (%d problem%s)"
                        % (len(problems), "" if len(problems) == 1 else "s"))
    _out("verify: OK")


COMMANDS = {
    "copy": cmd_copy, "copyfd": cmd_copyfd, "drop": cmd_drop,
    "dump": cmd_dump, "edit": cmd_edit, "get": cmd_get,
    "readers": cmd_readers, "restore": cmd_restore, "rewrite": cmd_rewrite,
    "shell": cmd_shell, "stat": cmd_stat, "warm": cmd_warm,
    "watch": cmd_watch, "verify": cmd_verify,
}


def make_parser():
    parser = optparse.OptionParser(prog=PROG, usage=USAGE)
    add = parser.add_option
    add("-e", "--env", help="path of the environment (directory, or file with -s)")
    add("-d", "--db", help="named database to use (default: the main database)")
    add("-r", "--read", help="open read-only when given any value except 0/no/false")
    add("-S", "--map_size", type="float", default=10.0,
        help="map size in MiB when opening (default: 10)")
    add("-s", "--use-single-file", action="store_true", default=False,
        help="the environment is a single file, not a directory")
    add("-E", "--target_env",
        help='destination environment of "rewrite"')
    add("-x", "--xxd", action="store_true", default=False,
        help="show values as a hex dump in the style of xxd")
    add("-M", "--max-dbs", type="int", default=128,
        help="how many named databases may be opened (default: 128)")
    add("--out-fd", type="int", default=1,
        help='file descriptor "copyfd" writes to (default: 1, standard output)')

    group = parser.add_option_group('Options for "copy" command')
    group.add_option("--compact", action="store_true", default=False,
                     help="leave out free pages while copying")

    group = parser.add_option_group('Options for "edit" command')
    for flag, what in (("--set", "KEY=VALUE to store (repeatable)"),
                       ("--set-file", "KEY=PATH: store the contents of a file (repeatable)"),
                       ("--add", "KEY=VALUE to store only if KEY is absent (repeatable)"),
                       ("--add-file", "KEY=PATH, stored only if KEY is absent (repeatable)"),
                       ("--delete", "KEY to remove (repeatable)")):
        group.add_option(flag, action="append", default=[], help=what)

    group = parser.add_option_group('Options for "readers" command')
    group.add_option("-c", "--clean", action="store_true", default=False,
                     help="also clear slots of readers that died (default: off)")

    group = parser.add_option_group('Options for "watch" command')
    group.add_option("--csv", action="store_true", default=False,
                     help="print comma-separated values instead of a table")
    group.add_option("--interval", type="float", default=1.0,
                     help="seconds between samples (default: 1)")
    group.add_option("--window", type="int", default=10,
                     help="samples averaged for the rates (default: 10)")
    group.add_option("--count", type="int", default=0,
                     help="stop after this many samples (default: 0, never)")
    return parser


def _fail(message):
    sys.stderr.write("%s: %s\n" % (_NAME, message))
    return 1


def main(argv=None):
    """Run the tool; returns the process exit status."""
    parser = make_parser()
    opts, args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if not args:
        return _fail("Please specify a command (see --help)")
    func = COMMANDS.get(args[0])
    if func is None:
        return _fail("No such command: %r" % args[0])
    if not opts.env and func is not cmd_verify:   # verify takes a path instead
        return _fail("Please specify environment (--env)")
    try:
        func(opts, args[1:])
    except (UserError, lmdb.Error, OSError) as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130
    finally:
        while _OPENED:
            _OPENED.pop().close()
        try:
            sys.stdout.flush()
        except (OSError, ValueError):
            pass
    return 0
