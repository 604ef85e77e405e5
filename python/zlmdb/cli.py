"""The ``zlmdb`` command (also ``python -m zlmdb``): inspect, check, export,
import, back up, grow and migrate zlmdb databases.

:data:`main` is a click group with one command per subcommand; the console
script and ``python -m zlmdb`` run it.  ``info`` is upstream zlmdb's
command: the database's ``stats()``.  Every other command takes the
database directory first.  Commands that only read open it read-only (and
never create it); ``import`` and ``grow`` write, and ``migrate`` writes a
new database from one it reads.  Named LMDB databases
(low-level ``env.open_db``) that share the environment are listed apart
from the slots, and ``--db`` addresses one.
Expected failures (a missing directory, something that is not a zlmdb
database, an unknown slot, a bad key) print one ``zlmdb: error: ...`` line
and exit with status 1; usage errors exit with 2 (click prints the usage);
``check`` exits with 3 when it finds problems.  docs/cli.md is the
reference.
"""
import contextlib
import io
import os
import re
import struct
import sys
import threading
import types

import click

import zlmdb
from zlmdb import lmdb
from zlmdb._cli_layout import (MAX_NAMED_DBS, REGISTRY_SLOT, Catalog, CliError,
                               NamedDatabases, b64, describe_format, dumps_line, form_text,
                               format_of, name_form, name_from_form, name_from_text,
                               name_text, prefix_end, zlmdb_version)

PROG = "zlmdb"
EXIT_OK, EXIT_ERROR, EXIT_PROBLEMS = 0, 1, 3     # usage errors: click exits with 2
EXIT_UNVERIFIED = 4     # check: no problem found, but not everything could be checked
EXIT_SIGPIPE = 128 + 13   # the reader of stdout went away (zlmdb scan ... | head)
_CREATE_SIZE = 64 << 20        # map size of a database that import creates

_OPEN: "list[zlmdb.Database]" = []   # databases the running command opened


# ------------------------------------------------------------------- opening

def _lmdb_detail(exc, path):
    text = str(exc)
    return text[len(path) + 2:] if text.startswith(path + ": ") else text


def open_database(path, write=False, create=False, map_size=None):
    """A zlmdb.Database on ``path``, read-only unless ``write``.  Its map
    size is the one the file records (never less: opening LMDB with a
    smaller size would shrink the map for this process), or ``map_size``
    when that is larger."""
    if not os.path.exists(path):
        if not create:
            raise CliError("no such database directory: %s" % path)
        os.makedirs(path)
    elif not os.path.isdir(path):
        raise CliError("not a database directory: %s (a zlmdb database is a directory "
                       "holding data.mdb)" % path)
    data = os.path.join(path, "data.mdb")
    recorded = 0
    if os.path.exists(data):
        try:
            probe = lmdb.open(path, map_size=0, readonly=True, lock=False, create=False)
        except lmdb.InvalidError:
            raise CliError("not a zlmdb database: %s is not an LMDB file" % data) from None
        except lmdb.Error as exc:
            raise CliError("cannot open %s: %s" % (path, _lmdb_detail(exc, path))) from None
        try:
            recorded = probe.info()["map_size"]
        finally:
            probe.close()
    elif not create:
        raise CliError("not a zlmdb database: %s holds no data.mdb" % path)
    size = max(recorded, map_size or 0) or _CREATE_SIZE
    try:
        # Low-level code may keep named databases beside the ORM's slots.
        db = zlmdb.Database(path, maxsize=size, readonly=not write, create=create,
                            max_dbs=MAX_NAMED_DBS)
    except lmdb.Error as exc:
        raise CliError("cannot open %s: %s" % (path, _lmdb_detail(exc, path))) from None
    _OPEN.append(db)
    return db


def _catalog(db, txn, args, strict=True):
    catalog = Catalog(db, txn, schemas=getattr(args, "schema", None) or (),
                      maps=getattr(args, "map", None) or ())
    if strict and catalog.registry_problems:
        key, text = catalog.registry_problems[0]
        raise CliError("not a zlmdb database (or a damaged registry): slot 0 key %s: %s "
                       "(zlmdb check reports every problem)" % (bytes(key).hex(), text))
    for note in catalog.notes:
        _note(note)
    return catalog


# -------------------------------------------------------------------- output

def _out(text=""):
    try:
        sys.stdout.write(text + "\n")
    except UnicodeEncodeError:
        # A JSON document may hold lone surrogates (json.loads makes them
        # from "\\ud800"); written as backslash escapes they stay valid JSON.
        enc = sys.stdout.encoding or "utf-8"
        sys.stdout.write((text + "\n").encode(enc, "backslashreplace").decode(enc))


def _note(text):
    click.echo("zlmdb: note: %s" % text, err=True)


def _json_out(obj):
    _out(dumps_line(obj))


def _progress_enabled(args):
    return not getattr(args, "no_progress", False) and sys.stderr.isatty()


def _size_text(n):
    if n < 1024:
        return "%d B" % n
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB"):
        n /= 1024.0
        if n < 1024 or unit == "PiB":
            return "%.1f %s" % (n, unit)


def _table(rows, headers, align_right=()):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    lines = []
    for row in [headers] + rows:
        cells = []
        for i, cell in enumerate(row):
            cell = "" if cell is None else str(cell)
            cells.append(cell.rjust(widths[i]) if i in align_right else cell.ljust(widths[i]))
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _key_display(layout, raw):
    """(form, error): a key's decoded form, or {"$bytes": ...} with the
    reason it did not decode."""
    if layout.key is None:
        return {"$bytes": b64(raw)}, None
    try:
        return layout.key_form(layout.decode_key(raw)), None
    except (ValueError, TypeError) as exc:
        return {"$bytes": b64(raw)}, "key does not decode as %s: %s" % (
            ", ".join(layout.key), exc)


def _value_display(layout, raw):
    try:
        return layout.display_value(raw), None
    except Exception as exc:      # decoders of every kind, user cast/marshal
        return {"$bytes": b64(raw)}, "value does not decode as %s: %s" % (layout.value, exc)


def _say_guessed(catalog, layout):
    if layout.guessed:
        _note("slot %d (%s): its layout is not recorded in the database; decoding as "
              "guessed: %s (use --schema or --map for exact decoding)"
              % (layout.slot, catalog.name(layout.slot) or "unregistered",
                 layout.describe(source=False)))
    elif layout.key is None and layout.value is None:
        _note("slot %d (%s): layout unknown; keys and values are shown as bytes "
              "(use --schema or --map)" % (layout.slot,
                                            catalog.name(layout.slot) or "unregistered"))


# ---------------------------------------------------------------- key ranges

def _range(layout, args):
    """(lo, hi) physical key bounds, lo inclusive, hi exclusive or None."""
    prefix = getattr(args, "prefix", None)
    lo_args, hi_args = getattr(args, "from_key", None), getattr(args, "to_key", None)
    if prefix and (lo_args or hi_args):
        raise CliError("--prefix cannot be combined with --from/--to")
    slot_end = struct.pack(">H", layout.slot + 1) if layout.slot < 0xFFFF else None
    if prefix:
        lo = layout.prefix + layout.key_from_args(prefix, partial=True)
        return lo, prefix_end(lo)
    lo = layout.prefix + (layout.key_from_args(lo_args, partial=True) if lo_args else b"")
    hi = layout.prefix + layout.key_from_args(hi_args, partial=True) if hi_args else slot_end
    return lo, hi


def _walk(ltxn, lo, hi, reverse=False, db=None):
    cur = ltxn.cursor(db=db) if db is not None else ltxn.cursor()
    if not reverse:
        if not cur.set_range(lo):
            return
        for k, v in cur.iternext():
            if hi is not None and k >= hi:
                return
            yield k, v
        return
    if hi is not None and cur.set_range(hi):
        found = cur.prev()
    else:
        found = cur.last()
    if not found:
        return
    for k, v in cur.iterprev():
        if k < lo:
            return
        yield k, v


# ----------------------------------------------------------- named databases

def _named_target(catalog, args):
    """The NamedDb that SLOT names with ``--db``, or None without it."""
    if not args.named_db:
        return None
    name = args.slot
    ndb = catalog.named.get(name_from_text(name))
    if ndb is None:
        known = [name_text(n.name) for n in catalog.named.all()]
        listed = ", ".join(known[:10]) + (" and %d more" % (len(known) - 10)
                                          if len(known) > 10 else "")
        raise CliError("no named database %s in %s (%s)"
                       % (name_text(name_from_text(name)), args.db,
                          "it has: " + listed if known else "it has none"))
    return ndb


def _raw_key(ndb, ltxn, words):
    """A named database's key from the command line: one word, its UTF-8
    text or hex:... bytes."""
    if len(words) != 1:
        raise CliError("keys of named database %s are raw bytes: give one word (the key's "
                       "text, or hex:...), not %d" % (name_text(ndb.name), len(words)))
    word = words[0]
    if word.startswith("hex:"):
        try:
            key = bytes.fromhex(word[4:])
        except ValueError:
            raise CliError("bad hex key: %r" % word) from None
    else:
        key = os.fsencode(word)
    if not key:
        raise CliError("LMDB keys are never empty")
    if ndb.flags.get("integerkey"):
        # LMDB compares integer keys as the stored key's size: a key of
        # another size would be read past its end.
        cur = ltxn.cursor(db=ndb.handle)
        if cur.first() and len(cur.key()) != len(key):
            raise CliError("keys of named database %s are %d-byte integers in native byte "
                           "order: give hex: and %d bytes"
                           % (name_text(ndb.name), len(cur.key()), len(cur.key())))
    return key


def _named_range(ndb, ltxn, args):
    """(lo, hi) key bounds in a named database, as _range does for slots."""
    prefix = getattr(args, "prefix", None)
    lo_args, hi_args = getattr(args, "from_key", None), getattr(args, "to_key", None)
    if prefix and (lo_args or hi_args):
        raise CliError("--prefix cannot be combined with --from/--to")
    if (prefix or lo_args or hi_args) and not ndb.bytewise:
        raise CliError("keys of named database %s do not sort as bytes (%s): --prefix, "
                       "--from and --to do not apply" % (name_text(ndb.name), ndb.flags_text()))
    if prefix:
        lo = _raw_key(ndb, ltxn, prefix)
        return lo, prefix_end(lo)
    return (_raw_key(ndb, ltxn, lo_args) if lo_args else b"",
            _raw_key(ndb, ltxn, hi_args) if hi_args else None)


def _bytes_form(data):
    return {"$bytes": b64(data)}


def _bytes_text(data):
    """Raw bytes (of a named database) for people: a JSON string when they
    are printable UTF-8 text (b"2" -> "2"), else ``hex:...``."""
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and text.isprintable():
        return dumps_line(text)
    return "hex:" + bytes(data).hex()


# ------------------------------------------------------------------ commands

def cmd_env(args):
    db = open_database(args.db)
    env = db.env
    with db.begin() as txn:
        named = NamedDatabases(env, txn).all()
    info, st = env.info(), env.stat()
    psize = st["psize"]
    pages_used = info["last_pgno"] + 1
    tree = st["branch_pages"] + st["leaf_pages"] + st["overflow_pages"]
    # The named databases' trees are pages in use too, not free ones.
    named_pages = sum(d["branch_pages"] + d["leaf_pages"] + d["overflow_pages"]
                      for d in (n.as_dict() for n in named))
    map_size = info["map_size"]
    file_size = os.path.getsize(os.path.join(args.db, "data.mdb"))
    used = pages_used * psize
    # The engine of this environment, which its file's format chose (not
    # the one a new environment would get).
    version = env.lib_version()
    fmt = format_of(env)
    res = {
        "path": os.path.abspath(args.db),
        "zlmdb_version": zlmdb_version(),
        "lmdb_version": "%d.%d.%d" % version[:3],
        "lmdb_patched": bool(lmdb.version(subpatch=True, lib_version=version[0])[3]),
        "lib_version": fmt,
        "map_size": map_size,
        "file_size": file_size,
        "page_size": psize,
        "map_pages": map_size // psize,
        "pages_used": pages_used,
        "pages_in_tree": tree,
        "pages_in_named_databases": named_pages,
        "pages_free_in_file": max(0, pages_used - 2 - tree - named_pages),
        "pages_free_in_map": max(0, map_size // psize - pages_used),
        "used_bytes": used,
        "free_bytes": max(0, map_size - used),
        "used_percent": round(100.0 * used / map_size, 2) if map_size else 0.0,
        "file_preallocated": file_size >= map_size > used,
        "entries": st["entries"],
        "named_databases": [n.as_dict() for n in named],
        "depth": st["depth"],
        "branch_pages": st["branch_pages"],
        "leaf_pages": st["leaf_pages"],
        "overflow_pages": st["overflow_pages"],
        "last_txnid": info["last_txnid"],
        "readers": _readers(env),
        "reader_slots_used": info["num_readers"],
        "max_readers": info["max_readers"],
    }
    if args.json:
        _json_out(res)
        return EXIT_OK
    rows = [
        ("path", res["path"]),
        ("zlmdb", res["zlmdb_version"]),
        ("LMDB", res["lmdb_version"] + (" (patched)" if res["lmdb_patched"] else "")),
        ("format", describe_format(fmt)),
        ("map size", "%d (%s)" % (map_size, _size_text(map_size))),
        ("file size", "%d (%s)%s" % (file_size, _size_text(file_size),
                                     ", preallocated to the map size (writemap)"
                                     if res["file_preallocated"] else "")),
        ("page size", psize),
        ("pages used", "%d of %d (%s%% of the map; last page + 1)"
         % (pages_used, res["map_pages"], res["used_percent"])),
        ("  in the tree", "%d (%d branch, %d leaf, %d overflow)"
         % (tree, st["branch_pages"], st["leaf_pages"], st["overflow_pages"])),
    ] + ([("  named dbs", "%d (the trees of the named databases)" % named_pages)]
         if named else []) + [
        ("  free in file", "%d (the free list's pages and those it lists, reused by "
         "later writes)" % res["pages_free_in_file"]),
        ("free in map", "%d pages (%s)" % (res["pages_free_in_map"],
                                            _size_text(res["free_bytes"]))),
        ("entries", "%d%s" % (st["entries"], " (main database; %d of them named databases)"
                                % len(named) if named else "")),
        ("tree depth", st["depth"]),
        ("last txn id", info["last_txnid"]),
        ("readers", "%d active%s (%d of %d reader slots ever used)"
         % (len(res["readers"]), "".join(
             ", pid %d txn %d" % (r["pid"], r["txnid"]) for r in res["readers"]),
            info["num_readers"], info["max_readers"])),
    ]
    if named:
        rows.append(("named databases", len(named)))
        for n in named:
            d = n.as_dict()
            pages = d["branch_pages"] + d["leaf_pages"] + d["overflow_pages"]
            rows.append(("  " + name_text(n.name), "%d entr%s, depth %d, %d page%s%s"
                         % (d["entries"], "y" if d["entries"] == 1 else "ies", d["depth"],
                            pages, "" if pages == 1 else "s",
                            ", " + n.flags_text() if n.flags_text() != "-" else "")))
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        _out("%s  %s" % (name.ljust(width), value))
    return EXIT_OK


def _readers(env):
    """The active readers from LMDB's reader table (this command has no
    transaction open while it asks)."""
    out = []
    for line in env.readers().splitlines()[1:]:
        parts = line.split()
        if len(parts) == 3 and parts[0].isdigit():
            out.append({"pid": int(parts[0]), "thread": parts[1],
                        "txnid": int(parts[2]) if parts[2].isdigit() else None})
    return out


def _node_bytes(klen, vlen, psize):
    """Bytes a record takes in LMDB's leaf pages: node header, key and value
    (or the overflow pages of a large value), plus its 2-byte slot pointer."""
    nodemax = (((psize - 16) // 2) & ~1) - 2
    size = 8 + klen + vlen
    if size > nodemax:
        return ((8 + klen + 8 + 1) & ~1) + 2 + ((16 - 1 + vlen) // psize + 1) * psize
    return ((size + 1) & ~1) + 2


def cmd_tables(args):
    db = open_database(args.db)
    with db.begin(buffers=True) as txn:
        catalog = _catalog(db, txn, args)
        psize = db.env.stat()["psize"]
        stats = {}
        named = catalog.named
        cur = txn.cursor()
        if cur.first():
            for k, v in cur.iternext():
                if len(k) < 2 or named.is_named(k, v):
                    continue
                slot = (k[0] << 8) | k[1]
                s = stats.get(slot)
                if s is None:
                    s = stats[slot] = [0, 0, 0]
                s[0] += 1
                s[1] += len(k) + len(v)
                s[2] += _node_bytes(len(k), len(v), psize)
        rows = []
        for slot in catalog.slots():
            layout = catalog.layout(slot)
            rec = catalog.registry.get(slot) or {}
            count, payload, space = stats.get(slot, (0, 0, 0))
            rows.append({"slot": slot, "oid": rec.get("oid"), "name": catalog.name(slot),
                         "registered": slot in catalog.registry or slot == REGISTRY_SLOT,
                         "description": rec.get("description"), "records": count,
                         "bytes": space, "payload_bytes": payload,
                         "type": layout.describe(), "layout": layout.as_dict(),
                         "indexes": [{"name": ix.name, "slot": ix.slot, "unique": ix.unique,
                                      "nullable": ix.nullable} for ix in layout.indexes]})
        dbs = [(name_text(n.name), n.as_dict()) for n in named.all()]
    if args.json:
        _json_out({"tables": rows, "named_databases": [d for _t, d in dbs]})
        return EXIT_OK
    if rows or not dbs:
        table = [[r["slot"], r["oid"] or "-", r["name"] or "(unregistered)", r["records"],
                  r["bytes"], r["type"]] for r in rows]
        _out(_table(table, ["slot", "oid", "name", "records", "bytes", "type"],
                    align_right=(0, 3, 4)))
    if dbs:
        if rows:
            _out()
        table = [[text, d["entries"], d["depth"],
                  d["branch_pages"] + d["leaf_pages"] + d["overflow_pages"], d["bytes"],
                  ",".join(f for f, on in d["flags"].items() if on) or "-"]
                 for text, d in dbs]
        _out(_table(table, ["named database", "entries", "depth", "pages", "bytes", "flags"],
                    align_right=(1, 2, 3, 4)))
    return EXIT_OK


def cmd_count(args):
    db = open_database(args.db)
    with db.begin() as txn:
        catalog = _catalog(db, txn, args)
        ndb = _named_target(catalog, args)
        if ndb is not None:
            lo, hi = _named_range(ndb, txn, args)
            if not lo and hi is None:
                n = ndb.stat["entries"]
            else:
                n = sum(1 for _ in _walk(txn, lo, hi, db=ndb.handle))
        else:
            slot = catalog.resolve_slot(args.slot)
            layout = catalog.layout(slot)
            lo, hi = _range(layout, args)
            named = catalog.named
            if hi == prefix_end(lo):
                from zlmdb._cli_transfer import _count
                n = _count(txn, lo) - len(named.in_range(lo, hi))
            else:
                n = sum(1 for k, v in _walk(txn, lo, hi) if not named.is_named(k, v))
    if args.json:
        _json_out({"db": name_form(ndb.name), "count": n} if ndb is not None
                  else {"slot": slot, "count": n})
    else:
        _out(str(n))
    return EXIT_OK


def cmd_get(args):
    db = open_database(args.db)
    with db.begin() as txn:
        catalog = _catalog(db, txn, args)
        ndb = _named_target(catalog, args)
        if ndb is not None:
            return _get_named(ndb, txn, args)
        slot = catalog.resolve_slot(args.slot)
        layout = catalog.layout(slot)
        key = layout.key_from_args(args.key)
        raw = txn.get(layout.prefix + key)
        if raw is not None and catalog.named.is_named(layout.prefix + key, raw):
            raw = None          # a named database's record, no slot's
        if raw is None:
            raise CliError("no record in slot %d with key %s" % (slot, " ".join(args.key)))
        if args.raw:
            sys.stdout.flush()
            sys.stdout.buffer.write(raw)
            return EXIT_OK
        _say_guessed(catalog, layout)
        value, err = _value_display(layout, raw)
        kform, _ = _key_display(layout, key)
    if args.json:
        rec = {"slot": slot, "key": kform, "value": value}
        if err:
            rec["error"] = err
        if layout.guessed:
            rec["guessed"] = True
        _json_out(rec)
    else:
        _out(form_text(value))
        if err:
            _note(err)
    return EXIT_OK


def _get_named(ndb, ltxn, args):
    key = _raw_key(ndb, ltxn, args.key)
    if ndb.dupsort:
        cur = ltxn.cursor(db=ndb.handle)
        values = [bytes(v) for v in cur.iternext_dup()] if cur.set_key(key) else []
    else:
        value = ltxn.get(key, db=ndb.handle)
        values = [] if value is None else [bytes(value)]
    if not values:
        raise CliError("no record in named database %s with key %s"
                       % (name_text(ndb.name), args.key[0]))
    if args.raw:
        if len(values) > 1:
            raise CliError("key %s has %d values in dupsort database %s; --raw writes one "
                           "(scan --db shows them all)"
                           % (args.key[0], len(values), name_text(ndb.name)))
        sys.stdout.flush()
        sys.stdout.buffer.write(values[0])
        return EXIT_OK
    if args.json:
        rec = {"db": name_form(ndb.name), "key": _bytes_form(key),
               "value": _bytes_form(values[0])}
        if ndb.dupsort:
            rec["values"] = [_bytes_form(v) for v in values]
        _json_out(rec)
    else:
        for value in values:
            _out(_bytes_text(value))
    return EXIT_OK


def cmd_scan(args):
    if args.limit is not None and args.limit < 1:
        raise CliError("--limit must be at least 1")
    db = open_database(args.db)
    with db.begin() as txn:
        catalog = _catalog(db, txn, args)
        ndb = _named_target(catalog, args)
        if ndb is not None:
            # A named database's keys and values are shown as bytes, as a
            # slot's of unknown layout: nothing records what they hold.
            layout = None
            lo, hi = _named_range(ndb, txn, args)
            records = _walk(txn, lo, hi, args.reverse, db=ndb.handle)
        else:
            slot = catalog.resolve_slot(args.slot)
            layout = catalog.layout(slot)
            lo, hi = _range(layout, args)
            _say_guessed(catalog, layout)
            records = ((k, v) for k, v in _walk(txn, lo, hi, args.reverse)
                       if not catalog.named.is_named(k, v))
        n = 0
        for k, v in records:
            if args.limit is not None and n >= args.limit:
                break
            n += 1
            if layout is None:
                kform, kerr = _bytes_form(k), None
            else:
                kform, kerr = _key_display(layout, k[2:])
            if args.keys_only:
                value = verr = None
            elif layout is None:
                value, verr = _bytes_form(v), None
            else:
                value, verr = _value_display(layout, v)
            err = "; ".join(e for e in (kerr, verr) if e)
            if args.json:
                rec = {"key": kform}
                if not args.keys_only:
                    rec["value"] = value
                if err:
                    rec["error"] = err
                if layout is not None and layout.guessed:
                    rec["guessed"] = True
                _json_out(rec)
            else:
                if layout is None:      # a named database: bytes, maybe text
                    line = "\t".join(_bytes_text(x) for x in ((k,) if args.keys_only
                                                             else (k, v)))
                elif args.keys_only:
                    line = form_text(kform)
                else:
                    line = "%s\t%s" % (form_text(kform), form_text(value))
                _out(line + ("\t# " + err if err else ""))
    return EXIT_OK


def cmd_export(args):
    from zlmdb._cli_transfer import Progress, export_named, export_slot, named_file
    if args.all == (args.slot is not None):
        raise CliError("give a SLOT or --all (not both)")
    if args.all and args.named_db:
        raise CliError("--db names one database; --all exports every named database too")
    if args.all and not args.output:
        raise CliError("--all writes one file per table: give a directory with -o")
    if args.json and args.output in (None, "-"):
        raise CliError("--json prints a summary, so the export needs -o")
    if args.all and os.path.exists(args.output) and (
            not os.path.isdir(args.output) or os.listdir(args.output)):
        # Files left from another export would be imported with this one.
        raise CliError("--all needs a new or empty directory; %s is not" % args.output)
    binary = args.format == "cbor"
    db = open_database(args.db)
    summary = []
    with db.begin() as txn:
        catalog = _catalog(db, txn, args)
        if args.all:
            slots = [s for s in catalog.slots() if s != REGISTRY_SLOT]
            os.makedirs(args.output, exist_ok=True)
            targets = [(s, os.path.join(args.output, "slot-%05d.%s" % (s, args.format)))
                       for s in slots]
            targets += [(n, os.path.join(args.output, named_file(n.name, args.format)))
                        for n in catalog.named.all()]
        elif args.named_db:
            targets = [(_named_target(catalog, args), args.output)]
        else:
            targets = [(catalog.resolve_slot(args.slot), args.output)]
        for target, path in targets:
            if isinstance(target, int):
                # A guessed layout needs no note here: the header records its
                # source, and the round-trip check keeps the export exact.
                layout = catalog.layout(target)
                what = "slot %d" % target
                label = what + (" (%s)" % catalog.name(target) if catalog.name(target) else "")

                def write(out, progress, layout=layout):
                    return export_slot(catalog, txn, layout, out, binary, progress)
            else:
                what = label = "named database %s" % name_text(target.name)

                def write(out, progress, ndb=target):
                    return export_named(ndb, txn, out, binary, progress)
            progress = Progress("export " + label, 0, "records", _progress_enabled(args))
            if path in (None, "-"):
                sys.stdout.flush()
                out = sys.stdout.buffer
                n, rk, rv = write(out, progress)
                out.flush()
            else:
                with open(path, "wb") as out:
                    n, rk, rv = write(out, progress)
            entry = ({"slot": target} if isinstance(target, int)
                     else {"slot": None, "db": name_form(target.name)})
            entry.update({"file": path, "records": n, "raw_keys": rk, "raw_values": rv})
            summary.append((what, entry))
    if args.json:
        _json_out({"exported": [entry for _w, entry in summary]})
        return EXIT_OK
    # As import: one summary line per table, on stdout, unless the records
    # themselves went there (then on stderr, out of the data's way).
    to_stdout = args.output not in (None, "-")
    for what, e in summary:
        line = "exported %d records of %s to %s%s" % (
            e["records"], what, e["file"] if to_stdout else "stdout",
            " (%d keys and %d values as raw bytes)" % (e["raw_keys"], e["raw_values"])
            if e["raw_keys"] or e["raw_values"] else "")
        if to_stdout:
            _out(line)
        else:
            click.echo(line, err=True)
    return EXIT_OK


def _import_files(paths):
    files = []
    for path in paths:
        if path != "-" and os.path.isdir(path):
            found = sorted(os.path.join(path, f) for f in os.listdir(path)
                           if f.endswith((".jsonl", ".cbor")))
            if not found:
                raise CliError("directory %s holds no .jsonl or .cbor files" % path)
            files.extend(found)
        else:
            files.append(path)
    return files


def cmd_import(args):
    from zlmdb._cli_transfer import Progress, import_stream, stream_size
    from zlmdb._cli_layout import read_registry
    if args.batch_size < 1:
        raise CliError("--batch-size must be at least 1")
    files = _import_files(args.file)
    if args.slot is not None and len(files) > 1:
        raise CliError("--slot needs exactly one input file (got %d)" % len(files))
    for path in files:
        if path != "-" and not os.path.isfile(path):
            raise CliError("no such file: %s" % path)
    db = open_database(args.db, write=True, create=True, map_size=args.map_size)
    slot = None
    if args.slot is not None:
        with db.begin() as txn:
            slot = Catalog(db, txn).resolve_slot(args.slot, must_exist=False)
    results = []
    for path in files:
        with db.begin() as txn:
            registry, problems = read_registry(txn)
        if problems:
            raise CliError("not a zlmdb database (or a damaged registry): slot 0 key %s: %s"
                           % (bytes(problems[0][0]).hex(), problems[0][1]))
        name = "stdin" if path == "-" else path
        stream = sys.stdin.buffer if path == "-" else open(path, "rb")
        if not hasattr(stream, "peek"):
            # The format is told from the first byte, which needs a stream
            # that can peek: a stdin that is an in-memory stream (click's
            # CliRunner gives one) cannot.
            stream = io.BufferedReader(stream)
        try:
            progress = Progress("import %s" % name, stream_size(stream), "bytes",
                                _progress_enabled(args))
            target, n = import_stream(db, registry, stream, name, args.format, slot,
                                      args.batch_size, not args.no_registry, progress)
        finally:
            if path != "-":
                stream.close()
        if isinstance(target, int):
            results.append({"file": name, "slot": target, "records": n})
        else:
            results.append({"file": name, "slot": None, "db": name_form(target),
                            "records": n})
    if args.json:
        _json_out({"imported": results})
    else:
        for r in results:
            _out("imported %d records from %s into %s"
                 % (r["records"], r["file"], "slot %d" % r["slot"] if r["slot"] is not None
                    else "named database %s" % name_text(name_from_form(r["db"]))))
    return EXIT_OK


def cmd_backup(args):
    dest = args.dest
    created = False
    if os.path.exists(dest):
        if not os.path.isdir(dest) or os.listdir(dest):
            raise CliError("backup target %s exists and is not an empty directory" % dest)
    db = open_database(args.db)
    if not os.path.exists(dest):
        os.makedirs(dest)
        created = True
    try:
        db.env.copy(dest, compact=not args.no_compact)
    except (lmdb.Error, OSError) as exc:
        for name in ("data.mdb", "lock.mdb"):
            try:
                os.unlink(os.path.join(dest, name))
            except OSError:
                pass
        if created:
            os.rmdir(dest)
        raise CliError("backup to %s failed: %s" % (dest, exc)) from None
    size = os.path.getsize(os.path.join(dest, "data.mdb"))
    src = os.path.getsize(os.path.join(args.db, "data.mdb"))
    res = {"source": os.path.abspath(args.db), "backup": os.path.abspath(dest),
           "compact": not args.no_compact, "bytes": size, "source_file_bytes": src}
    if args.json:
        _json_out(res)
    else:
        _out("backed up %s to %s: %d bytes (%s)%s"
             % (args.db, dest, size, _size_text(size),
                ", compacted" if res["compact"] else ""))
    return EXIT_OK


def cmd_migrate(args):
    from zlmdb._cli_migrate import migrate
    from zlmdb._cli_transfer import Progress
    if args.batch_size < 1:
        raise CliError("--batch-size must be at least 1")

    def progress_for(total):
        return Progress("migrate %s" % args.src, total, "records", _progress_enabled(args))

    res = migrate(args.src, args.dst, args.lib_version, args.batch_size, progress_for)
    if args.json:
        _json_out(res)
        return EXIT_OK
    src_fmt, fmt = res["source_lib_version"], res["lib_version"]
    if res["same_format"]:
        _out("copied %s to %s in the %s it already has: a compacted copy"
             % (args.src, args.dst, describe_format(fmt)))
    else:
        _out("migrated %s to %s: %s -> %s" % (args.src, args.dst, describe_format(src_fmt),
                                              describe_format(fmt)))
    rows = [["(main)" if d["name"] is None else name_text(name_from_form(d["name"])),
             d["records"], ",".join(f for f, on in d["flags"].items() if on) or "-",
             d["sha256"]] for d in res["databases"]]
    _out(_table(rows, ["database", "records", "flags", "sha256"], align_right=(1,)))
    _out("verified: %s opens with LMDB %s, and each database has the same records "
         "(count and SHA-256) as in %s" % (args.dst, res["lmdb_version"], args.src))
    _out("%s: %d bytes (%s); %s: %d bytes (%s)"
         % (args.dst, res["bytes"], _size_text(res["bytes"]), args.src, res["source_bytes"],
            _size_text(res["source_bytes"])))
    return EXIT_OK


def _verify_file(path):
    """The offline verifier over DB's data file, before LMDB opens it: its
    problems (sentences), or a CliError when it is no LMDB file."""
    from zlmdb.lmdb import verify as lmdb_verify
    data = os.path.join(path, "data.mdb")
    if not os.path.isdir(path):
        raise CliError("no such database directory: %s" % path)
    if not os.path.exists(data):
        raise CliError("no database at %s: it has no data.mdb" % path)
    try:
        return lmdb_verify.verify(data, subdir=False)
    except lmdb_verify.VerifyError as exc:
        raise CliError("not a zlmdb database: %s" % exc) from None
    except OSError as exc:
        raise CliError("cannot read %s: %s" % (data, exc.strerror or exc)) from None


def cmd_check(args):
    from zlmdb._cli_check import check
    from zlmdb._cli_transfer import Progress
    if args.max_problems < 1:
        raise CliError("--max-problems must be at least 1")
    # The file first, byte by byte and without LMDB: a damaged page must
    # not reach LMDB, and the record walk below would only see what LMDB
    # can read.  A file that fails is not opened at all.
    file_problems = _verify_file(args.db)
    if file_problems:
        shown = file_problems[:args.max_problems]
        if args.json:
            _json_out({"ok": False, "file_ok": False, "slots": 0, "records": 0,
                       "indexes": 0, "named_databases": [],
                       "problem_count": len(file_problems),
                       "problems": [{"slot": None, "key": None, "problem": "file: " + p}
                                    for p in shown],
                       "notes": ["the data file failed the offline verifier, so no "
                                 "record was read"]})
        else:
            _out("checked the data file: %d problem(s); no record was read"
                 % len(file_problems))
            for p in shown:
                _out("problem: file: %s" % p)
            if len(file_problems) > len(shown):
                _out("... and %d more problem(s) (--max-problems)"
                     % (len(file_problems) - len(shown)))
        return EXIT_PROBLEMS
    db = open_database(args.db)
    with db.begin() as txn:
        catalog = _catalog(db, txn, args, strict=False)
        # A bar by records (the main database's entries bound them), so that
        # one large table shows progress too.
        progress = Progress("check", db.env.stat()["entries"], "records",
                            _progress_enabled(args) and not args.json)
        rep = check(catalog, txn, args.max_problems,
                    progress=progress.update if progress.enabled else None)
        progress.close()
        indexes = sum(len(catalog.layout(s).indexes) for s in rep.slots)
    if args.json:
        _json_out({"ok": rep.ok, "verified": rep.ok and not rep.unverified, "file_ok": True,
                   "slots": len(rep.slots), "records": rep.records,
                   "indexes": indexes, "named_databases": rep.named,
                   "problem_count": rep.problem_count, "problems": rep.problems,
                   "unverified": rep.unverified, "notes": rep.notes})
    else:
        entries = sum(n["entries"] for n in rep.named)
        _out("checked the data file and %d slot%s, %d record%s, %d index%s%s: %s"
             % (len(rep.slots), "" if len(rep.slots) == 1 else "s", rep.records,
                "" if rep.records == 1 else "s", indexes, "" if indexes == 1 else "es",
                ", %d named database%s (%d entr%s)"
                % (len(rep.named), "" if len(rep.named) == 1 else "s", entries,
                   "y" if entries == 1 else "ies") if rep.named else "",
                "%d problem(s)" % rep.problem_count if not rep.ok
                else "no problems in what was verified; %d part(s) unverified"
                % len(rep.unverified) if rep.unverified else "no problems"))
        for p in rep.problems:
            where = "slot %s" % p["slot"] if p["slot"] is not None else "database"
            if p["key"] is not None:
                where += " key %s" % form_text(p["key"])
            _out("problem: %s: %s" % (where, p["problem"]))
        if rep.problem_count > len(rep.problems):
            _out("... and %d more problem(s) (--max-problems)"
                 % (rep.problem_count - len(rep.problems)))
        for text in rep.unverified:
            _out("unverified: %s" % text)
        for note in rep.notes:
            _out("note: %s" % note)
    if not rep.ok:
        return EXIT_PROBLEMS
    return EXIT_UNVERIFIED if rep.unverified else EXIT_OK


_SIZE = re.compile(r"^(\+)?(\d+(?:\.\d+)?)\s*(?:([kmgtp])(?:i?b)?|b)?$", re.I)


def parse_size(text):
    """(bytes, relative): '64MiB', '1G', '+512m', '1048576' (binary units).
    Raises ValueError for anything else."""
    m = _SIZE.match(text.strip())
    if not m:
        raise ValueError("bad size %r (e.g. 1073741824, 512MiB, 2G, +1G)" % text)
    rel, num, unit = m.groups()
    mult = 1024 ** ("kmgtp".index(unit.lower()) + 1) if unit else 1
    return int(float(num) * mult), bool(rel)


@contextlib.contextmanager
def _saying_when_waiting(text, after=0.5):
    """Say ``text`` (once, on stderr) when the block has not finished after
    ``after`` seconds: LMDB waits for the write lock without a word."""
    timer = threading.Timer(after, _note, (text,))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def cmd_grow(args):
    amount, relative = args.size
    db = open_database(args.db)
    before = db.env.info()["map_size"]
    psize = db.env.stat()["psize"]
    db.close()
    _OPEN.remove(db)
    new = before + amount if relative else amount
    new = (new + psize - 1) // psize * psize
    if new <= before:
        raise CliError("the map is already %d bytes (%s); grow only raises it"
                       % (before, _size_text(before)))
    db = open_database(args.db, write=True, map_size=new)
    env = db.env
    # LMDB records a larger map size in the meta page of the next commit
    # that changes something: put and delete a scratch key in slot 0.
    scratch = b"\x00\x00\xff\xffzlmdb-grow"
    with _saying_when_waiting("waiting for the write lock: another process has a write "
                              "transaction open on %s" % args.db):
        txn = env.begin(write=True)
    with txn:
        old = txn.get(scratch)
        txn.put(scratch, old if old is not None else b"")
        if old is None:
            txn.delete(scratch)
    after = env.info()["map_size"]
    res = {"path": os.path.abspath(args.db), "old_map_size": before, "map_size": after}
    if args.json:
        _json_out(res)
    else:
        _out("map size of %s raised from %d (%s) to %d (%s)"
             % (args.db, before, _size_text(before), after, _size_text(after)))
    return EXIT_OK


# -------------------------------------------------------------- command line
#
# Each command below is a click.Command whose callback hands its options, as
# a namespace of the same names, to one cmd_* function.  _Command.parse_args
# prepares the words for click with two things click does not do itself: an
# option followed by several key components (--from 0 4), and a positional
# word that starts with "-" (a negative timestamp key).

_NEGATIVE = re.compile(r"^-\d+$|^-\d*\.\d+$")


def _is_option(word):
    return word.startswith("-") and word != "-" and not _NEGATIVE.match(word)


class _KeyOption(click.Option):
    """An option followed by one or more key components, one word each; its
    value is the tuple of the words."""

    def __init__(self, decls, **attrs):
        super().__init__(decls, multiple=True, metavar="K...", **attrs)


class _Command(click.Command):
    def parse_args(self, ctx, args):
        return super().parse_args(ctx, self._arrange(ctx, list(args)))

    def _arrange(self, ctx, args):
        """``args`` as click can parse them: every word of a key option as
        one ``--opt=word`` (when an option is repeated, its last occurrence
        wins, as for any option with a value), then the other options, then
        ``--`` and the positional words, which may then start with "-"."""
        takes_value, key_opts = set(), {}
        for param in self.get_params(ctx):
            if not isinstance(param, click.Option):
                continue
            for opt in param.opts + param.secondary_opts:
                if isinstance(param, _KeyOption):
                    key_opts[opt] = param.name
                elif not param.is_flag and not param.count:
                    takes_value.add(opt)
        options, keys, words = [], {}, []
        i = 0
        while i < len(args):
            word = args[i]
            i += 1
            if word == "--":
                words.extend(args[i:])
                break
            if not _is_option(word):
                words.append(word)
                continue
            if word.startswith("--"):
                name, eq, value = word.partition("=")
            else:                           # -oFILE: a short option and its value
                name, value = word[:2], word[2:]
                eq = value
            if name in key_opts:
                values = [value] if eq else []
                while not eq and i < len(args) and args[i] != "--" and not _is_option(args[i]):
                    values.append(args[i])
                    i += 1
                if not values:
                    if ctx.resilient_parsing:       # shell completion: words to come
                        continue
                    raise click.BadOptionUsage(
                        name, "Option '%s' requires one or more key components, one word "
                        "each." % name, ctx=ctx)
                keys[key_opts[name]] = [name + "=" + v for v in values]
                continue
            options.append(word)
            if not eq and name in takes_value and i < len(args):
                options.append(args[i])
                i += 1
        for key_words in keys.values():
            options.extend(key_words)
        return options + (["--"] + words if words else [])


class _Size(click.ParamType):
    """A map size: bytes, or a number with a binary unit.  With ``relative``
    also +SIZE, and the value is (bytes, relative); else the value is bytes."""
    name = "size"

    def __init__(self, relative):
        self.relative = relative

    def convert(self, value, param, ctx):
        if isinstance(value, (tuple, int)):
            return value
        try:
            size, rel = parse_size(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        if rel and not self.relative:
            self.fail("an absolute size is expected, not %r" % value, param, ctx)
        return (size, rel) if self.relative else size


def _error(text):
    click.echo("%s: error: %s" % (PROG, text), err=True)


def _stdout_to_devnull():
    """Point stdout at /dev/null, so that the interpreter's last flush of
    what is left cannot fail again on a closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _run(func, params):
    """Run one cmd_* function; an expected failure becomes one error line
    and status 1.  Exits with the function's status unless it is 0."""
    ctx = click.get_current_context()
    status = EXIT_ERROR
    try:
        status = func(types.SimpleNamespace(**params))
    except CliError as exc:
        _error(str(exc))
    except BrokenPipeError:
        # The reader went away (zlmdb scan ... | head): stop quietly, with
        # the status of a process ended by SIGPIPE, as cat or yes end (the
        # shell's 141), so that `set -o pipefail` still sees a cut stream.
        _stdout_to_devnull()
        status = EXIT_SIGPIPE
    except lmdb.Error as exc:
        _error("LMDB: %s" % exc)
    except OSError as exc:
        _error(str(exc))
    except KeyboardInterrupt:
        status = 130
    finally:
        while _OPEN:
            _OPEN.pop().close()
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            _stdout_to_devnull()
            status = EXIT_SIGPIPE
        except (OSError, ValueError):
            pass
    if status != EXIT_OK:
        ctx.exit(status)
    return status


def _version():
    return "%s (LMDB %s)" % (zlmdb_version(), ".".join(str(v) for v in lmdb.version()))


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, no_args_is_help=False,
             epilog="Exit status: 0 success, 1 error, 2 usage error, 3 check found problems.")
@click.version_option(_version(), "--version", prog_name=PROG,
                      message="%(prog)s %(version)s")
def main():
    """Inspect, check, export, import, back up, grow and migrate zlmdb databases.

    DB is the database directory (it holds data.mdb and lock.mdb).  Commands
    that only read open it read-only.
    """


# ------------------------------------------------------------------ info

def _add_named_pages(db, stats):
    """Count the pages of named databases (written with the low-level API
    beside the tables) as used: Database.stats() sees the main tree only."""
    with db.env.begin() as ltxn:
        named = sum(d["branch_pages"] + d["leaf_pages"] + d["overflow_pages"]
                    for d in (n.as_dict() for n in NamedDatabases(db.env, ltxn).all()))
    if named:
        stats["named_db_pages"] = named
        stats["pages"] += named
        stats["used"] = stats["page_size"] * stats["pages"]
        stats["free"] = 1.0 - float(stats["used"]) / float(stats["max_size"])


@main.command("info", short_help="the database's statistics (Database.stats()), sorted")
@click.argument("dbpath", type=click.Path(file_okay=False))
@click.option("--lib-version", type=click.Choice(["1.0", "0.9"]), default=None,
              help="The LMDB format the database must have: exit with status 1 when it "
                   "has the other one.")
@click.pass_context
def info(ctx, dbpath, lib_version):
    """Print the statistics of the database in DBPATH (zlmdb.Database.stats()),
    one "key: value" line per statistic, sorted by key.

    The database is opened read-only, and nothing is created.  Exit status: 0
    when the database opened, 1 when DBPATH holds none or its format is not
    --lib-version (the reason on stderr), 2 on a usage error.
    """
    if not os.path.exists(os.path.join(dbpath, "data.mdb")):
        click.echo('error: no database at "%s"' % dbpath, err=True)
        ctx.exit(EXIT_ERROR)
    # lib_version= is passed only when asked for, so that a Database that
    # predates the option opens as before.
    format_kw = {} if lib_version is None else {"lib_version": lib_version}
    try:
        with zlmdb.Database(dbpath, readonly=True, create=False, max_dbs=MAX_NAMED_DBS,
                            **format_kw) as db:
            stats = db.stats()
            _add_named_pages(db, stats)
    # ValueError: the format differs from --lib-version (or the registry does
    # not decode); RuntimeError: the lock (already open here, PID clash).
    except (ValueError, RuntimeError, OSError, lmdb.Error) as exc:
        click.echo("error: %s" % exc, err=True)
        ctx.exit(EXIT_ERROR)
    for key in sorted(stats):
        click.echo("%s: %s" % (key, stats[key]))


# ------------------------------------------------------ the other commands

def _db():
    return [click.Argument(["db"], metavar="DB")]


def _json(what):
    """The --json option, whose help says what this command prints."""
    return [click.Option(["--json"], is_flag=True, help="Print " + what + ".")]


def _types():
    return [
        click.Option(["--schema"], multiple=True, metavar="MODULE[:ATTR]",
                     help="Import the application's schema to learn table layouts and "
                          "indexes: a module name or .py file; with :ATTR, ATTR.attach(db), "
                          "ATTR(db), ATTR() or ATTR itself gives the persistent maps "
                          "(repeatable)."),
        click.Option(["--map"], multiple=True, metavar="SLOT=MAP[:zlib|:snappy]",
                     help="Declare a slot's layout by its Map class, e.g. 1=MapOidCbor "
                          "(repeatable; wins over --schema)."),
    ]


def _slot(required=True):
    return [click.Argument(["slot"], metavar="SLOT", required=required)]


def _named():
    # A switch, not an option with a value, so that the name stays in SLOT's
    # place: "--db users" and "users --db" read the same.
    return [click.Option(["--db", "named_db"], is_flag=True,
                         help="SLOT names a named LMDB database (low-level env.open_db): "
                              "raw keys and values; write the name as text or hex:...")]


def _key_range():
    return [
        _KeyOption(["--prefix"], help="Only keys starting with these leading key "
                                      "components."),
        _KeyOption(["--from", "from_key"], help="First key (inclusive; leading components)."),
        _KeyOption(["--to", "to_key"], help="End key (exclusive; leading components)."),
    ]


def _progress():
    return [click.Option(["--no-progress"], is_flag=True,
                         help="No progress bar (it is shown only when stderr is a "
                              "terminal).")]


def _batch_size():
    return click.Option(["--batch-size"], type=int, default=10000, metavar="N",
                        help="Records per write transaction (default 10000).")


def _option(decls, help_text, **attrs):
    return click.Option(decls, help=help_text, **attrs)


def _flag(decls, help_text):
    return click.Option(decls, is_flag=True, help=help_text)


def _command(name, func, params, short_help, help_text=None):
    def callback(**params):
        return _run(func, params)
    main.add_command(_Command(name, callback=callback, params=params, short_help=short_help,
                              help=help_text or short_help[0].upper() + short_help[1:] + "."))


_KEY_WORDS = ("KEY... is the key: its components, one word each (uuid, int, string, "
              "ISO-8601 or int-ns timestamp, hex bytes), or one hex:... word with the "
              "key's bytes.")

_command("env", cmd_env, _db() + _json("the facts as one JSON object"),
         "the LMDB environment: versions, map and file size, pages used and free, "
         "entries, readers",
         "Print the LMDB environment's facts.  Usage comes from the last used page, not "
         "the file size: a database opened with writemap has its file preallocated to the "
         "map size.")
_command("tables", cmd_tables,
         _db() + _json('one JSON object: the slots ("tables") and the named databases')
         + _types(),
         "list the slots: registry entry, records, bytes, layout; and the named databases",
         "List every slot that is registered or holds records: its oid and name from the "
         "registry, its record count, the bytes its records take in leaf and overflow "
         "pages, and its layout (declared with --schema/--map, or guessed).  Then the "
         "named LMDB databases, if any: entries, depth, pages, bytes, flags.")
_command("count", cmd_count,
         _db() + _slot() + _named() + _key_range()
         + _json('one JSON object: the slot (or "db") and the "count"') + _types(),
         "count the records of a slot or named database, or of a key prefix or range")
_command("get", cmd_get,
         _db() + _slot() + [click.Argument(["key"], nargs=-1, required=True, metavar="KEY...")]
         + _named() + _json("one JSON object: the key and the value (JSON forms)") + _types()
         + [_flag(["--raw"], "Write the stored value bytes as they are to stdout.")],
         "print the value of one key",
         "Print the value stored under one key of a slot, decoded when the layout is "
         "known; with --db, under a key of a named database (every value of a dupsort "
         "database).  " + _KEY_WORDS)
_command("scan", cmd_scan,
         _db() + _slot() + _named() + _key_range()
         + _json('JSON lines, one {"key", "value"} object per record') + _types()
         + [_option(["--limit"], "At most N records.", type=int, metavar="N"),
            _flag(["--reverse"], "From the last key down."),
            _flag(["--keys-only"], "Print keys only.")],
         "print the records of a slot, a named database or a key range",
         "Print records, one per line: key and value (tab-separated JSON; hex:... for "
         "raw bytes; <...> summaries for FlatBuffers, NumPy and pickle).  With --json, "
         "JSON lines {\"key\", \"value\"}.")
_command("export", cmd_export,
         _db() + _slot(required=False) + _named()
         + _json("the summary as one JSON object on stdout (needs -o: the records go to "
                 "the file)") + _types() + _progress()
         + [_flag(["--all"], "Every table and named database, one file each (slot-NNNNN "
                             "and db-NAME .jsonl|.cbor) in the -o directory."),
            _option(["-o", "--output"], "Output file (default: stdout), or directory with "
                                        "--all.", metavar="PATH"),
            _option(["--format"], "JSON lines (default) or CBOR sequence (RFC 8742).",
                    type=click.Choice(["jsonl", "cbor"]), default="jsonl")],
         "write a table as JSON lines or a CBOR sequence",
         "Write one table or named database (or all of them, with --all) as a header "
         "and one item per record, in one read transaction.  Decoded keys and values are "
         "written where they provably re-import to the same bytes, raw bytes otherwise, "
         "so export/import round-trips exactly.")
_command("import", cmd_import,
         _db() + [click.Argument(["file"], nargs=-1, required=True, metavar="FILE...")]
         + _json("the summary of the load as one JSON object") + _progress()
         + [_option(["--slot"], "Load into this slot instead of the one in the file's "
                                "header.", metavar="SLOT"),
            _option(["--format"], "Input format (default: detected from the first byte).",
                    type=click.Choice(["auto", "jsonl", "cbor"]), default="auto"),
            _batch_size(),
            _option(["--map-size"], "Map size when creating the database, or at least this "
                                    "(e.g. 1GiB).", type=_Size(relative=False),
                    metavar="SIZE"),
            _flag(["--no-registry"], "Do not add registry entries from the file headers.")],
         "load files written by export (creates the database if needed)",
         "Load export files (or directories of them; - is stdin) into DB, creating it if "
         "needed, in write transactions of --batch-size records; the map grows when it is "
         "full.  Records are put as they are (existing keys are overwritten) and the "
         "table's registry entry is added when missing.  Indexes are tables of their own: "
         "import their exports too.  A named database's export creates it (with its "
         "flags) when missing.")
_command("backup", cmd_backup,
         _db() + [click.Argument(["dest"], metavar="DEST")]
         + _json("the summary of the copy as one JSON object")
         + [_flag(["--no-compact"], "Copy pages as they are (keeps free pages).")],
         "hot copy of the database, compacted",
         "Copy the database into the directory DEST (new or empty) while writers may keep "
         "writing: the copy is one consistent snapshot.  Compacted unless --no-compact.")
_command("check", cmd_check,
         _db() + _json("the report as one JSON object (problems, unverified parts, counts)")
         + _types() + _progress()
         + [_option(["--max-problems"], "Problems to list (all are counted; default 100).",
                    type=int, default=100, metavar="N")],
         "verify keys, values and indexes; exit status 3 on problems, 4 when unverified",
         "Walk every record: registry records and the catalog, keys and values in "
         "their recorded or declared layouts, and indexes: with --schema both "
         "directions (every entry points at a record with that index key; every "
         "record has its entry), from the catalog alone what the structure implies.  "
         "Exit status 3 when problems are found, 4 when none were found but part of "
         "the database could not be verified (listed as unverified).")
_command("migrate", cmd_migrate,
         [click.Argument(["src"], metavar="SRC"), click.Argument(["dst"], metavar="DST"),
          click.Option(["--lib-version"], type=click.Choice(["1.0", "0.9"]), required=True,
                       help="The LMDB data format of the copy: 1.0 (LMDB 1.0, data format "
                            "v3) or 0.9 (LMDB 0.9, data format v1).")]
         + _json("the summary of the migration as one JSON object") + _progress()
         + [_batch_size()],
         "copy a database into LMDB 1.0's or 0.9's data format, and verify the copy",
         "Copy the LMDB environment SRC (a zlmdb database or any other) into the new or "
         "empty directory DST in the data format --lib-version names: the main database "
         "and every named database with its flags, read in one read-only transaction and "
         "written in transactions of --batch-size records.  The copy is then verified "
         "(databases, flags, record counts and SHA-256 digests equal SRC's, and the "
         "format is the one asked for) before it becomes DST; on any failure nothing is "
         "left at DST.  Migrating to the format SRC has makes a compacted copy.")
_command("grow", cmd_grow,
         _db() + [click.Argument(["size"], type=_Size(relative=True), metavar="SIZE")]
         + _json("the old and the new map size as one JSON object"),
         "raise the map size (writes)",
         "Raise the map size recorded in the database to SIZE (e.g. 2GiB, 1073741824), or "
         "by SIZE with +SIZE.  Other processes that have it open see the new size at their "
         "next transaction.")
