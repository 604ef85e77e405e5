"""``zlmdb export`` / ``zlmdb import``: one table per stream, as JSON lines
or as a CBOR sequence (RFC 8742), in constant memory.

A stream is a header followed by one item per record::

    {"zlmdb_export": 1, "slot": 1, "registry": {...}, "map": "MapOidCbor",
     "key": ["oid"], "value": "cbor", "compress": null, "source": "schema", ...}
    {"key": 1, "value": {"name": "Ada"}}
    {"key": 2, "raw_value": "gqFh..."}

``key``/``value`` hold the decoded forms (see zlmdb._cli_layout), and
``raw_key``/``raw_value`` the stored bytes (base64 in JSON, a byte string in
CBOR).  Export writes a decoded form only after checking that importing it
gives back the stored bytes exactly; otherwise it writes the raw bytes.  So
export -> import -> export reproduces the database byte for byte whatever
the layout is known to be.

A named LMDB database travels the same way, its header naming it instead of
a slot (``"slot": null, "db": "users", "flags": {"dupsort": true, ...}``)
and its records always as raw bytes (every value of a dupsort key is one
record).
"""
import json
import os
import re
import struct
import sys
import time

from zlmdb import codec as _codec
from zlmdb import lmdb
from zlmdb._database import Database
from zlmdb._cli_layout import (CATALOG_KEY, COMPRESSION, DB_FLAGS, VALUE_CODECS, CliError,
                               Layout, b64, dumps_line, from_json, name_form, name_from_form, name_text,
                               prefix_end, to_json, unb64, zlmdb_version)

FORMAT_VERSION = 1
_MAX_MAP = 1 << 44          # import stops growing the map here (16 TiB)


# -------------------------------------------------------------------- progress

class Progress:
    """A one-line progress bar on stderr, redrawn at most ten times a second;
    silent unless enabled (the caller enables it when stderr is a terminal)."""

    def __init__(self, label, total, unit, enabled, stream=None):
        self.label = label
        self.total = total
        self.unit = unit
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.done = 0
        self._last = 0.0
        self._drawn = False

    def update(self, done, force=False):
        self.done = done
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.1:
            return
        self._last = now
        if self.total:
            frac = min(1.0, done / self.total)
            bar = "#" * int(frac * 30)
            text = "\r%s %3d%% [%-30s] %s/%s %s" % (self.label, int(frac * 100), bar,
                                                   _human(done, self.unit),
                                                   _human(self.total, self.unit), self.unit)
        else:
            text = "\r%s %s %s" % (self.label, _human(done, self.unit), self.unit)
        self.stream.write(text)
        self.stream.flush()
        self._drawn = True

    def close(self):
        if self.enabled:
            self.update(self.done, force=True)
            if self._drawn:
                self.stream.write("\n")
                self.stream.flush()


def _human(n, unit):
    if unit != "bytes" or n < 10 * 1024:
        return str(n)
    for suffix in ("KiB", "MiB", "GiB", "TiB"):
        n /= 1024.0
        if n < 1024:
            break
    return "%.1f%s" % (n, suffix)


# ---------------------------------------------------------------------- export

def _part(layout, raw, is_key, binary):
    """(field name, encoded field value) for a key or a value: the decoded
    form when it provably re-encodes to ``raw``, else the raw bytes."""
    try:
        if is_key:
            if layout.key is None:
                raise ValueError("raw")
            form = layout.key_form(layout.decode_key(raw), binary)
        else:
            if not layout.has_value_form() or not layout.can_decode_values:
                raise ValueError("raw")
            form = layout.value_form(layout.decode_value(raw), binary)
        if binary:
            enc = _codec.cbor_dumps(form)
            back = _codec.cbor_loads(enc)
        else:
            enc = dumps_line(form).encode("utf-8")
            back = json.loads(enc)
        again = (layout.encode_key(layout.key_from_form(back)) if is_key else
                 layout.encode_value(layout.value_from_form(back, binary)))
        if again == raw:
            return ("key" if is_key else "value"), enc
    except Exception:        # any failure means: export the bytes as they are
        pass
    name = "raw_key" if is_key else "raw_value"
    if binary:
        return name, _codec.cbor_dumps(bytes(raw))
    return name, dumps_line(b64(raw)).encode("ascii")


def header(catalog, layout, records):
    reg = catalog.registry.get(layout.slot)
    return {"zlmdb_export": FORMAT_VERSION, "zlmdb": zlmdb_version(), "slot": layout.slot,
            "name": catalog.name(layout.slot), "registry": reg, "records": records,
            "map": layout.map_name, "key": list(layout.key) if layout.key else None,
            "value": layout.value,
            "compress": COMPRESSION.get(layout.compress) if layout.compress else None,
            "source": layout.source,
            "catalog": (catalog.stored or {}).get(layout.slot)}


def export_slot(catalog, txn, layout, out, binary, progress):
    """Write one slot to the binary stream ``out``; returns
    (records, raw keys, raw values)."""
    ltxn = txn
    prefix = layout.prefix
    named = catalog.named
    total = _count(txn, prefix) - len(named.in_range(prefix, prefix_end(prefix)))
    head = header(catalog, layout, total)
    if binary:
        out.write(_codec.cbor_dumps(head))
    else:
        jhead = dict(head, registry=to_json(head["registry"]) if head["registry"] else None)
        out.write(dumps_line(jhead).encode("utf-8") + b"\n")
    progress.total = total
    names = {n: _codec.cbor_dumps(n) for n in ("key", "raw_key", "value", "raw_value")}
    n = raw_keys = raw_values = 0
    cur = ltxn.cursor()
    if cur.set_range(prefix):
        for k, v in cur.iternext():
            if k[:2] != prefix:
                break
            if named.is_named(k, v):
                continue
            kname, kenc = _part(layout, k[2:], True, binary)
            vname, venc = _part(layout, v, False, binary)
            raw_keys += kname == "raw_key"
            raw_values += vname == "raw_value"
            if binary:
                out.write(b"\xa2" + names[kname] + kenc + names[vname] + venc)
            else:
                out.write(b'{"%s":%s,"%s":%s}\n' % (kname.encode(), kenc, vname.encode(), venc))
            n += 1
            progress.update(n)
    progress.close()
    return n, raw_keys, raw_values


def named_file(name, fmt):
    """The file name ``export --all`` gives a named database: db-NAME for
    names that are safe as file names everywhere, db-hex-HEX otherwise."""
    if re.fullmatch(rb"[a-z0-9_-]{1,100}", name) and not name.startswith(b"hex-"):
        return "db-%s.%s" % (name.decode("ascii"), fmt)
    return "db-hex-%s.%s" % (name.hex(), fmt)


def export_named(ndb, ltxn, out, binary, progress):
    """Write one named database (raw keys and values) to ``out``; returns
    (records, raw keys, raw values)."""
    total = ndb.stat["entries"]
    head = {"zlmdb_export": FORMAT_VERSION, "zlmdb": zlmdb_version(), "slot": None,
            "db": name_form(ndb.name), "flags": dict(ndb.flags), "records": total}
    if binary:
        if not isinstance(head["db"], str):
            head["db"] = ndb.name
        out.write(_codec.cbor_dumps(head))
    else:
        out.write(dumps_line(head).encode("utf-8") + b"\n")
    progress.total = total
    n = 0
    cur = ltxn.cursor(db=ndb.handle)
    if cur.first():
        for k, v in cur.iternext():
            if binary:
                out.write(b"\xa2" + _codec.cbor_dumps("raw_key") + _codec.cbor_dumps(bytes(k))
                          + _codec.cbor_dumps("raw_value") + _codec.cbor_dumps(bytes(v)))
            else:
                out.write(b'{"raw_key":"%s","raw_value":"%s"}\n'
                          % (b64(k).encode("ascii"), b64(v).encode("ascii")))
            n += 1
            progress.update(n)
    progress.close()
    return n, n, n


def _count(txn, prefix):
    return Database.count_keys(txn, prefix)


# ------------------------------------------------------------- reading streams

class CborSequence:
    """Items of a CBOR sequence read from a binary stream in chunks, so
    memory stays bounded by the largest item (plus one chunk)."""

    def __init__(self, stream, chunk=1 << 16):
        self.stream = stream
        self.chunk = chunk
        self.buf = bytearray()
        self.pos = 0
        self.base = 0            # stream offset of buf[0]
        self.eof = False

    @property
    def offset(self):
        return self.base + self.pos

    def _more(self, want):
        data = self.stream.read(max(self.chunk, want))
        if not data:
            self.eof = True
            return
        if self.pos > len(self.buf) // 2:
            del self.buf[:self.pos]
            self.base += self.pos
            self.pos = 0
        self.buf += data

    def __iter__(self):
        want = self.chunk
        while True:
            if self.pos >= len(self.buf):
                if self.eof:
                    return
                self._more(want)
                continue
            with memoryview(self.buf) as mv:
                try:
                    item = _codec.cbor_loads(mv[self.pos:])
                    end = len(self.buf)
                except _codec.CBORDecodeError as exc:
                    msg = str(exc)
                    if "trailing bytes" in msg and exc.pos:
                        end = self.pos + exc.pos
                        item = _codec.cbor_loads(mv[self.pos:end])
                    elif ("input ends" in msg or "rest of the input" in msg) and not self.eof:
                        item = end = None
                    else:
                        raise ValueError("bad CBOR at byte %d: %s"
                                         % (self.offset + (exc.pos or 0), exc.msg)) from None
            if end is None:
                # An item longer than what is buffered: read more, doubling
                # so that a huge item costs O(n) re-parsing overall.
                want = max(want * 2, len(self.buf) - self.pos)
                self._more(want)
                continue
            want = self.chunk
            self.pos = end
            yield item


def _detect_format(stream):
    first = stream.peek(1)[:1] if hasattr(stream, "peek") else b""
    if first == b"{":
        return "jsonl"
    if first and 0xA0 <= first[0] <= 0xBF:
        return "cbor"
    if not first:
        raise CliError("empty input")
    raise CliError("neither JSON lines nor a CBOR sequence (first byte 0x%02x)" % first[0])


def _items(stream, fmt, where):
    """(position text, item) pairs of a stream."""
    if fmt == "jsonl":
        for lineno, line in enumerate(stream, 1):
            where[0] += len(line)
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except (ValueError, RecursionError) as exc:
                raise CliError("line %d: not JSON: %s" % (lineno, exc)) from None
            yield "line %d" % lineno, item
    else:
        seq = CborSequence(stream)
        n = 0
        try:
            for item in seq:
                n += 1
                where[0] = seq.offset
                yield "item %d" % n, item
        except ValueError as exc:
            raise CliError(str(exc)) from None


# ---------------------------------------------------------------------- import

def _layout_from_header(head, slot):
    key, value, comp = head.get("key"), head.get("value"), head.get("compress")
    if key is not None and (not isinstance(key, list) or not all(isinstance(c, str)
                                                               for c in key)):
        raise CliError("header: key must be a list of component names")
    if value is not None and value not in VALUE_CODECS:
        raise CliError("header: unknown value codec %r" % (value,))
    compress = {None: None, "zlib": 1, "snappy": 2}.get(comp, -1)
    if compress == -1:
        raise CliError("header: unknown compression %r" % (comp,))
    try:
        return Layout(slot, key=key, value=value, compress=compress)
    except (ValueError, TypeError) as exc:
        raise CliError("header: bad key layout %r: %s" % (key, exc)) from None


def _record_bytes(layout, rec, binary):
    if not isinstance(rec, dict):
        raise ValueError("a record is a map with key/raw_key and value/raw_value")
    if "key" in rec:
        if layout.key is None:
            raise ValueError("\"key\" given but the header has no key layout")
        key = layout.encode_key(layout.key_from_form(rec["key"]))
    elif "raw_key" in rec:
        key = _raw(rec["raw_key"], binary)
    else:
        raise ValueError("record without key or raw_key")
    if "value" in rec:
        if not layout.has_value_form():
            raise ValueError("\"value\" given but the header's value codec has no decoded form")
        value = layout.encode_value(layout.value_from_form(rec["value"], binary))
    elif "raw_value" in rec:
        value = _raw(rec["raw_value"], binary)
    else:
        raise ValueError("record without value or raw_value")
    return key, value


def _raw(field, binary):
    if binary:
        if not isinstance(field, (bytes, bytearray)):
            raise ValueError("raw fields are byte strings in CBOR")
        return bytes(field)
    return unb64(field)


def _write_batch(db, batch, named=None):
    """Put the batch in one write transaction, into the main database or
    the ``named`` (name, flags) one, growing the map when it is full."""
    env = db.env
    while True:
        try:
            with env.begin(write=True) as txn:
                # Opened in every transaction: an aborted one closes the
                # handles it opened.
                handle = _open_named(env, txn, *named) if named else None
                for k, v in batch:
                    if k is _CATALOG_ENTRY:
                        _catalog_merge(txn, *v)
                    else:
                        txn.put(k, v, db=handle)
            return
        except lmdb.MapFullError:
            grow_map(env)


#: a batch item (_CATALOG_ENTRY, (slot, entry)): set slot's catalog entry
_CATALOG_ENTRY = object()


def _catalog_merge(txn, slot, entry):
    """Set ``slot``'s entry in the catalog record (a CBOR map from slot to
    entry, in slot order; docs/orm.md), keeping the others."""
    raw = txn.get(CATALOG_KEY)
    cat = _codec.cbor_loads(bytes(raw)) if raw is not None else {}
    if not isinstance(cat, dict):
        raise CliError("the target's catalog is not a CBOR map: run zlmdb check on it")
    cat[slot] = entry
    txn.put(CATALOG_KEY, _codec.cbor_dumps(dict(sorted(cat.items(), key=lambda kv: kv[0]))))


def grow_map(env):
    """Double the map of ``env``, which a write found full (no transaction
    of this process may be open); re-raises the MapFullError at 16 TiB."""
    size = env.info()["map_size"]
    if size >= _MAX_MAP:
        raise
    env.set_mapsize(min(_MAX_MAP, size * 2))


def _named_header(head, slot):
    """(name, flags to open it with) from a named database's header."""
    if slot is not None:
        raise CliError("this export holds a named database, not a table: --slot does "
                       "not apply")
    try:
        name = name_from_form(head["db"])
    except ValueError as exc:
        raise CliError("header: bad db name: %s" % exc) from None
    if not name or b"\0" in name:
        raise CliError("header: a database name is neither empty nor holds a NUL byte")
    flags = head.get("flags") or {}
    if not isinstance(flags, dict) or any(f not in DB_FLAGS or not isinstance(v, bool)
                                          for f, v in flags.items()):
        raise CliError("header: flags must map some of %s to true or false"
                       % ", ".join(DB_FLAGS))
    return name, {f: True for f, v in flags.items() if v}


def _open_named(env, txn, name, flags):
    """The named database's handle in write transaction ``txn``, created
    with ``flags`` when missing; refuses one that exists with other flags."""
    try:
        handle = env.open_db(name, txn=txn, create=True, **flags)
    except lmdb.IncompatibleError:
        raise CliError("key %s of the target's main database is an ordinary record, not a "
                       "named database" % name_text(name)) from None
    have = {f for f, v in handle.flags(txn).items() if v and f in DB_FLAGS}
    if have != set(flags):
        raise CliError("named database %s of the target has flags %s, the export %s"
                       % (name_text(name), ",".join(sorted(have)) or "none",
                          ",".join(sorted(flags)) or "none"))
    return handle


def _registry_write(registry, head, target, binary):
    """The registry record to write for the imported table, or None; refuses
    to mix two tables in one slot."""
    rec = head.get("registry")
    if not rec or target == 0:
        return None
    if not binary:
        rec = from_json(rec)
    if not isinstance(rec, dict) or not isinstance(rec.get("oid"), str):
        raise CliError("header: registry record without an oid")
    here = registry.get(target)
    if here is not None:
        if here.get("oid") != rec["oid"]:
            raise CliError("slot %d of the target is registered to %s (%s), not %s (%s); "
                           "choose another slot with --slot"
                           % (target, here.get("name"), here.get("oid"), rec.get("name"),
                              rec["oid"]))
        return None
    elsewhere = [s for s, r in registry.items() if r.get("oid") == rec["oid"]]
    if elsewhere:
        raise CliError("table %s (%s) is registered at slot %d of the target; "
                       "import it with --slot %d" % (rec.get("name"), rec["oid"],
                                                   elsewhere[0], elsewhere[0]))
    rec = dict(rec)
    if "slot" in rec or target != head.get("slot"):
        rec["slot"] = target
    return struct.pack(">HH", 0, target), _codec.cbor_dumps(rec)


def import_stream(db, registry, stream, name, fmt, slot, batch_size, use_registry,
                  progress):
    """Load one export stream; returns (slot, records), or (name, records)
    for a named database.  Errors name the stream and the line or item."""
    try:
        return _import(db, registry, stream, name, fmt, slot, batch_size, use_registry,
                       progress)
    except CliError as exc:
        raise CliError("%s: %s" % (name, exc)) from None


def _import(db, registry, stream, name, fmt, slot, batch_size, use_registry, progress):
    if fmt == "auto":
        fmt = _detect_format(stream)
    binary = fmt == "cbor"
    where = [0]
    items = _items(stream, fmt, where)
    try:
        pos, head = next(items)
    except StopIteration:
        raise CliError("empty input") from None
    if not isinstance(head, dict) or head.get("zlmdb_export") != FORMAT_VERSION:
        raise CliError("not a zlmdb export (its first item has no \"zlmdb_export\": %d)"
                       % FORMAT_VERSION)
    if head.get("db") is not None:
        return _import_named(db, head, items, where, binary, slot, batch_size, progress)
    if slot is None:
        slot = head.get("slot")
        if isinstance(slot, bool) or not isinstance(slot, int) or not 0 <= slot <= 0xFFFF:
            raise CliError("header: bad slot number %r" % (slot,))
    layout = _layout_from_header(head, slot)
    batch = []
    if use_registry:
        reg = _registry_write(registry, head, slot, binary)
        if reg is not None:
            batch.append(reg)
            entry = head.get("catalog")
            if isinstance(entry, dict) and slot:
                batch.append((_CATALOG_ENTRY, (slot, entry)))
    n = _load(db, items, where, layout, layout.prefix, binary, batch, batch_size, progress,
              pos)
    return slot, n


def _import_named(db, head, items, where, binary, slot, batch_size, progress):
    named = _named_header(head, slot)
    pos = "the header"
    _flush(db, [], pos, named)  # creates it (an export may be empty), checks its flags
    # no key or value layout (raw_key/raw_value only) and no slot prefix
    n = _load(db, items, where, Layout(0), b"", binary, [], batch_size, progress, pos,
              named)
    return named[0], n


def _load(db, items, where, layout, prefix, binary, batch, batch_size, progress, pos,
          named=None):
    """Write the records of `items` after those already in `batch`, in
    transactions of `batch_size`; returns how many records there were."""
    n = 0
    for pos, rec in items:
        try:
            k, v = _record_bytes(layout, rec, binary)
        except (ValueError, TypeError, OverflowError, RecursionError) as exc:
            raise CliError("%s: %s" % (pos, exc)) from None
        batch.append((prefix + k, v))
        n += 1
        if len(batch) >= batch_size:
            _flush(db, batch, pos, named)
            batch = []
            progress.update(where[0])
    if batch:
        _flush(db, batch, pos, named)
    progress.update(where[0])
    progress.close()
    return n


def _flush(db, batch, pos, named=None):
    try:
        _write_batch(db, batch, named)
    except lmdb.Error as exc:
        raise CliError("writing the records up to %s: %s" % (pos, exc)) from None


def stream_size(stream):
    try:
        st = os.fstat(stream.fileno())
    except (OSError, AttributeError, ValueError):
        return None
    import stat as _stat
    return st.st_size if _stat.S_ISREG(st.st_mode) else None
