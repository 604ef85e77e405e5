"""``zlmdb check``: walk every record of a database and report what does not
hold together.

Checked, for every slot:
* the LMDB tree can be walked (a damaged page stops the walk with a problem);
* slot 0 holds only well-formed registry records (one per slot, unique oids)
  and a well-formed catalog that agrees with the registry;
* keys decode in the slot's key layout and values in its value codec, when
  the layout is known (the database's catalog, ``--schema``, ``--map``);
* for indexes known from ``--schema`` (``attach_index`` in the
  application's schema), both directions: every index entry points at an
  existing record whose index key is that entry's key, and every record
  with a non-null index key has its entry;
* for indexes known only from the catalog (the application's key function
  is not stored), what the structure implies: every entry points at an
  existing, decodable record, no record has two entries, and every record
  has an entry in an index that is not nullable.

What cannot be checked (a guessed layout, index keys without the key
function, records of a nullable index without an entry) is reported as
unverified: "no problems" is said only of what was verified.

Named LMDB databases (low-level ``env.open_db``) are no slots: their records
in the main database are skipped, and each one's tree is walked to the end
(its keys and values have no layout to check).

Memory stays constant: records are visited with cursors and looked up one
at a time.
"""
import struct

from zlmdb import lmdb
from zlmdb._cli_layout import CATALOG_KEY, REGISTRY_SLOT, b64, form_text, name_form, name_text

_NULL = object()


class Report:
    """Problems and notes found by a check, capped for printing."""

    def __init__(self, max_problems):
        self.max_problems = max_problems
        self.problems = []
        self.problem_count = 0
        self.notes = []
        self.records = 0
        self.on_record = None     # progress(records checked so far), or None
        self.slots = []
        self.named = []           # {"name", "entries"} of each named database
        self.unverified = []      # what could not be checked, one sentence each
        self.bad = set()          # physical keys already reported as undecodable

    def problem(self, slot, key, text):
        self.problem_count += 1
        if len(self.problems) < self.max_problems:
            self.problems.append({"slot": slot, "key": key, "problem": text})

    def note(self, text):
        self.notes.append(text)

    def unverifiable(self, text):
        self.unverified.append(text)

    @property
    def ok(self):
        return self.problem_count == 0


def _key_text(layout, raw):
    """A key for a report: its decoded form when possible, else
    ``{"$bytes": base64}`` (as scan shows keys)."""
    if layout.key is not None:
        try:
            return layout.key_form(layout.decode_key(raw))
        except Exception:
            pass
    return _raw(raw)


def _raw(data):
    return {"$bytes": b64(data)}


def _null(ik):
    if ik is None:
        return True
    return isinstance(ik, (tuple, list)) and any(k is None for k in ik)


def check(catalog, txn, max_problems=100, progress=None):
    """Run every check in one read transaction; returns a Report.
    ``progress(n)``, when given, is told the number of records checked so
    far, as the check goes."""
    rep = Report(max_problems)
    rep.on_record = progress
    for key, text in catalog.registry_problems + catalog.catalog_problems:
        rep.problem(REGISTRY_SLOT, _raw(key), text)
    seen = {}
    for slot, rec in sorted(catalog.registry.items()):
        if rec["oid"] in seen:
            rep.problem(REGISTRY_SLOT, slot, "oid %s is registered twice (slots %d and %d)"
                        % (rec["oid"], seen[rec["oid"]], slot))
        seen.setdefault(rec["oid"], slot)
    _check_catalog(catalog, rep)
    try:
        _check_tree(txn, rep, catalog.named)
        _check_named(catalog, txn, rep)
        slots = catalog.slots()
        for slot in slots:
            _check_slot(catalog, txn, slot, rep)
        for slot in slots:
            layout = catalog.layout(slot)
            for spec in layout.indexes:
                if spec.fkey is not None:
                    _check_index(catalog, txn, layout, spec, rep)
                else:
                    _check_index_structure(catalog, txn, layout, spec, rep)
    except lmdb.Error as exc:
        rep.problem(None, None, "the LMDB tree cannot be read: %s" % exc)
    return rep


def _check_catalog(catalog, rep):
    """The catalog agrees with the registry: each entry's table is the one
    registered on its slot, and each index map's owner lists it."""
    stored = catalog.stored
    if stored is None:          # Catalog says so in its notes
        return
    for slot, entry in sorted(stored.items()):
        oid = entry.get("oid")
        rec = catalog.registry.get(slot)
        if oid is not None and (rec is None or rec.get("oid") != oid):
            rep.problem(REGISTRY_SLOT, slot, "the catalog says slot %d holds table <%s>, "
                        "the registry %s" % (slot, oid, "has no entry for it" if rec is None
                                             else "says <%s>" % rec.get("oid")))
        owner = entry.get("index_of")
        if isinstance(owner, dict):
            names = [(ix["name"], ix["slot"])
                     for ix in stored.get(owner.get("slot"), {}).get("indexes", [])]
            if (owner.get("name"), slot) not in names:
                rep.problem(REGISTRY_SLOT, slot, "the catalog says slot %d is index %r of "
                            "slot %r, which does not list it" % (slot, owner.get("name"),
                                                                  owner.get("slot")))


def _check_tree(ltxn, rep, named):
    """One-byte keys cannot belong to any table (a named database may have
    a 1-byte name).  Each sorts just before the slots it would prefix, so
    256 seeks find them all."""
    cur = ltxn.cursor()
    for b in range(256):
        k = bytes((b,))
        if cur.set_range(k) and cur.key() == k and not named.is_named(k, cur.value()):
            rep.problem(None, _raw(k), "key of 1 byte has no 2-byte slot prefix")


def _check_named(catalog, ltxn, rep):
    """Walk each named database's tree: a damaged page stops the walk with
    an lmdb error, a count that disagrees with LMDB's is a problem."""
    dbs = catalog.named.all()
    for ndb in dbs:
        n = 0
        cur = ltxn.cursor(db=ndb.handle)
        if cur.first():
            for _ in cur.iternext(values=False):
                n += 1
        rep.named.append({"name": name_form(ndb.name), "entries": n})
        if n != ndb.stat["entries"]:
            rep.problem(None, None, "named database %s: its tree holds %d entries, LMDB "
                        "counts %d" % (name_text(ndb.name), n, ndb.stat["entries"]))
    if dbs:
        names = ", ".join(name_text(n.name) for n in dbs[:10])
        if len(dbs) > 10:
            names += " and %d more" % (len(dbs) - 10)
        rep.note("named database%s %s: tree%s walked; keys and values are raw bytes, "
                 "not checked" % ("" if len(dbs) == 1 else "s", names,
                                  "" if len(dbs) == 1 else "s"))


def _check_slot(catalog, ltxn, slot, rep):
    layout = catalog.layout(slot, ltxn)
    rep.slots.append(slot)
    check_keys = layout.key is not None and not layout.guessed
    check_values = layout.can_decode_values and not layout.guessed
    if layout.guessed or (layout.key is None and layout.value is None):
        rep.unverifiable("slot %d (%s): layout not recorded in the catalog nor declared "
                         "(--schema, --map): keys and values not checked"
                         % (slot, catalog.name(slot) or "unregistered"))
    elif layout.value is not None and not layout.can_decode_values:
        rep.unverifiable("slot %d: values are compressed with a codec that is not "
                         "installed: not checked" % slot)
    if slot != REGISTRY_SLOT and slot not in catalog.registry and layout.source != "schema":
        rep.note("slot %d holds records but has no registry entry" % slot)
    named = catalog.named
    cur = ltxn.cursor()
    if not cur.set_range(layout.prefix):
        return
    for k, v in cur.iternext():
        if k[:2] != layout.prefix:
            break
        if named.is_named(k, v):
            continue
        rep.records += 1
        if rep.on_record is not None:
            rep.on_record(rep.records)
        if bytes(k) == CATALOG_KEY:     # checked with the registry
            continue
        raw = k[2:]
        if check_keys:
            try:
                key = layout.decode_key(raw)
                if layout.encode_key(key) != raw:
                    rep.problem(slot, _raw(raw), "key does not re-encode to its bytes")
                    _bad(rep, k)
            except (ValueError, TypeError) as exc:
                rep.problem(slot, _raw(raw), "key does not decode: %s" % exc)
                _bad(rep, k)
        if check_values and v:
            try:
                layout.decode_value(v)
            except Exception as exc:      # decoders of every kind
                rep.problem(slot, _key_text(layout, raw), "value does not decode (%s): %s"
                            % (layout.value, exc))
                _bad(rep, k)


def _bad(rep, key):
    # Index checks skip records already reported (bounded: past the cap they
    # are reported again, which costs output, not memory).
    if len(rep.bad) < 100000:
        rep.bad.add(bytes(key))


def _user_value(pmap, data):
    """The record as the application sees it (its unmarshal/cast run)."""
    return pmap.decode_value(data)


def _check_index(catalog, txn, layout, spec, rep):
    """Both directions of one index, with the ORM's own key and value
    encoders and the application's fkey."""
    name, islot, ipmap, fkey, nullable, unique = spec
    ltxn = txn
    owner = layout.pmap
    label = "index %s (slot %d) of slot %d" % (name, islot, layout.slot)
    ilayout = catalog.layout(islot, ltxn)

    def index_key_of(raw_value):
        try:
            ik = fkey(_user_value(owner, raw_value))
        except Exception as exc:     # the application's fkey/unmarshal
            return RuntimeError("%s: %s" % (type(exc).__name__, exc))
        if _null(ik):
            return _NULL
        try:
            return ipmap.physical_key(ik)
        except Exception as exc:
            return exc

    # Every record has its entry.
    cur = ltxn.cursor()
    if cur.set_range(layout.prefix):
        for k, v in cur.iternext():
            if k[:2] != layout.prefix:
                break
            if not v or k in rep.bad or catalog.named.is_named(k, v):
                continue
            ktext = _key_text(layout, k[2:])
            ipk = index_key_of(v)
            if ipk is _NULL:
                if not nullable:
                    rep.problem(layout.slot, ktext, "%s: the record's index key is null, "
                                "and the index is not nullable" % label)
                continue
            if isinstance(ipk, Exception):
                rep.problem(layout.slot, ktext, "%s: cannot compute the index key: %s"
                            % (label, ipk))
                continue
            try:
                want = ipmap.encode_value(owner.decode_key(k[2:]))
            except Exception as exc:
                rep.problem(layout.slot, ktext, "%s: cannot encode the record key for the "
                            "index: %s" % (label, exc))
                continue
            got = ltxn.get(ipk)
            itext = _key_text(ilayout, ipk[2:])
            if got is None:
                rep.problem(layout.slot, ktext, "%s has no entry %s for this record"
                            % (label, form_text(itext)))
            elif bytes(got) != want:
                rep.problem(layout.slot, ktext, "%s entry %s points at another record (%s)%s"
                            % (label, form_text(itext), form_text(_key_text(layout, bytes(got))),
                               " (duplicate key in a unique index)" if unique else ""))
    # Every entry points at a record that has this entry's key.
    cur = ltxn.cursor()
    prefix = struct.pack(">H", islot)
    if cur.set_range(prefix):
        for k, v in cur.iternext():
            if k[:2] != prefix:
                break
            if catalog.named.is_named(k, v):
                continue
            itext = _key_text(ilayout, k[2:])
            try:
                pk = ipmap.decode_value(v)
                rkey = owner.physical_key(pk)
            except Exception as exc:
                rep.problem(islot, itext, "%s entry's value does not decode to a record key: "
                            "%s" % (label, exc))
                continue
            raw = ltxn.get(rkey)
            rtext = _key_text(layout, rkey[2:])
            if raw is None:
                rep.problem(islot, itext, "%s entry points at a missing record %s"
                            % (label, form_text(rtext)))
                continue
            ipk = index_key_of(bytes(raw))
            if isinstance(ipk, Exception) or ipk is _NULL or ipk != k:
                if isinstance(ipk, Exception):
                    why = "its index key cannot be computed: %s" % ipk
                elif ipk is _NULL:
                    why = "its index key is null"
                else:
                    why = "its index key is %s" % form_text(_key_text(ilayout, ipk[2:]))
                rep.problem(islot, itext, "%s entry is stale: record %s exists but %s"
                            % (label, form_text(rtext), why))


#: records whose index entries are counted at most, per index (the count
#: takes memory; past it the rest is reported as unverified)
_MAX_TRACKED = 2000000


def _check_index_structure(catalog, txn, layout, spec, rep):
    """What an index declared in the catalog implies without its key
    function: every entry's value is the key of an existing record that
    decodes, no record has two entries, and each record has one when the
    index is not nullable."""
    label = "index %s (slot %d) of slot %d" % (spec.name, spec.slot, layout.slot)
    ilayout = catalog.layout(spec.slot, txn)
    if layout.guessed or ilayout.guessed or layout.key is None \
            or not ilayout.can_decode_values:
        rep.unverifiable("%s: the layout of %s is not known: not checked"
                         % (label, "the index" if layout.key is not None else "its table"))
        return
    named = catalog.named
    pointed = {}
    entries = 0
    cur = txn.cursor()
    if cur.set_range(ilayout.prefix):
        for k, v in cur.iternext():
            if k[:2] != ilayout.prefix:
                break
            if named.is_named(k, v) or bytes(k) in rep.bad:
                continue
            entries += 1
            itext = _key_text(ilayout, k[2:])
            try:
                rkey = layout.prefix + layout.encode_key(ilayout.decode_value(v))
            except Exception as exc:      # decoders and encoders of every kind
                rep.problem(spec.slot, itext, "%s entry's value does not decode to a "
                            "record key: %s" % (label, exc))
                continue
            rtext = _key_text(layout, rkey[2:])
            if txn.get(rkey) is None:
                rep.problem(spec.slot, itext, "%s entry points at a missing record %s"
                            % (label, form_text(rtext)))
            elif rkey in rep.bad:
                rep.problem(spec.slot, itext, "%s entry points at record %s, which does not "
                            "decode" % (label, form_text(rtext)))
            elif len(pointed) < _MAX_TRACKED or rkey in pointed:
                pointed[rkey] = pointed.get(rkey, 0) + 1
    missing = untracked = 0
    cur = txn.cursor()
    if cur.set_range(layout.prefix):
        for k, v in cur.iternext():
            if k[:2] != layout.prefix:
                break
            k = bytes(k)
            if named.is_named(k, v) or k in rep.bad:
                continue
            n = pointed.get(k, 0)
            if n == 0 and len(pointed) >= _MAX_TRACKED:
                untracked += 1
            elif n == 0 and spec.nullable:
                missing += 1
            elif n == 0:
                rep.problem(layout.slot, _key_text(layout, k[2:]), "%s has no entry for "
                            "this record" % label)
            elif n > 1:
                rep.problem(layout.slot, _key_text(layout, k[2:]), "%d entries of %s point "
                            "at this record; one index key per record can be current"
                            % (n, label))
    if entries:
        rep.unverifiable("%s: entry keys not recomputed (the database does not store the "
                         "application's key function; check with --schema)" % label)
    if missing:
        rep.unverifiable("%s: %d record%s no entry; the index is nullable, so their keys "
                         "may be null: not verified (check with --schema)"
                         % (label, missing, " has" if missing == 1 else "s have"))
    if untracked:
        rep.unverifiable("%s: more than %d records; %d were not matched with entries"
                         % (label, _MAX_TRACKED, untracked))
