"""Write the compatibility fixture database with **upstream** zlmdb.

Run with the upstream venv's python (see upstream_env.run_upstream)::

    upstream_writer.py OUTDIR [LIB_VERSION]

creates ``OUTDIR/db`` (a zlmdb Database: data.mdb + lock.mdb) and
``OUTDIR/manifest.json`` (format in README.md).  With LIB_VERSION (1.0 or
0.9) the database is created with ``Database(lib_version=LIB_VERSION)``,
without it in upstream's default format.  Everything is deterministic: the
same upstream version writes the same logical content and the same key/value
bytes, in either format.
"""

import json
import os
import struct
import sys
import traceback

import numpy as np

import zlmdb

import compat_common as cc
import upstream_schema as us

MAXSIZE = 64 * 1024 * 1024


def _users():
    """Final logical state of the Users table, after the update below."""
    users = []
    for i in range(6):
        users.append({
            "oid": 5000 + (6 - i) * 3,           # not insertion-ordered
            "name": "user-%d" % i,
            "realm_oid": 700 + (i % 2),
            "email": ("u%d@example.com" % i) if i % 3 else None,
            "created": cc.TS_BASE_NS + i,       # plain int inside CBOR
        })
    return users


def write_registered(db, pmaps):
    users = _users()
    first = [dict(u) for u in users]
    # initial version of two users, then update them so that upstream's index
    # maintenance has to delete/replace index entries
    first[1]["name"] = "user-1-old"
    first[2]["email"] = "old2@example.com"
    with db.begin(write=True) as txn:
        for u in first:
            pmaps["Users"][txn, u["oid"]] = us.Doc(u)
    with db.begin(write=True) as txn:
        for u in (users[1], users[2]):
            pmaps["Users"][txn, u["oid"]] = us.Doc(u)

    log = []
    for i in range(4):
        key = (np.datetime64(cc.TS_BASE_NS + 10**9 * i, "ns"),
               cc.make_component("uuid", 5, i, 1))
        log.append((key, cc.make_fb_item(5, i)))
    with db.begin(write=True) as txn:
        for key, item in log:
            pmaps["EventLog"][txn, key] = item
    return users, log


def registered_records(users, log):
    """{class name: [(key, value)]} logical content of the registered slots."""
    recs = {
        "Users": [(u["oid"], u) for u in users],
        "IndexUsersByName": [(u["name"], u["oid"]) for u in users],
        "IndexUsersByRealm": [((u["realm_oid"], u["oid"]), u["oid"]) for u in users],
        "IndexUsersByEmail": [(u["email"], u["oid"]) for u in users if u["email"] is not None],
        "EventLog": log,
    }
    return recs


def write_maps(db):
    """Write RECORDS_PER_MAP records into every Map* class; return slot entries."""
    entries = []
    for cls_name, key_kinds, value_kind in cc.LAYOUTS:
        slot = cc.map_slot(cls_name)
        codec = cc.codec_of(value_kind)
        klass = getattr(zlmdb, cls_name)
        pmap = klass(slot, **us.ctor_kwargs(codec))
        recs = [(cc.make_key(key_kinds, slot, i), cc.make_value(value_kind, slot, i))
                for i in range(cc.RECORDS_PER_MAP)]
        write_error = None
        try:
            with db.begin(write=True) as txn:
                for k, v in recs:
                    pmap[txn, k] = us.Doc(v) if codec in ("cbor", "json") else v
        except Exception as e:  # documented upstream bug(s)
            write_error = "%s: %s" % (type(e).__name__, e)
        entries.append({"slot": slot, "class": cls_name, "codec": codec,
                        "key_kinds": list(key_kinds), "value_kind": value_kind,
                        "write_error": write_error, "_recs": recs, "_pmap": pmap})
    return entries


def raw_dump(db):
    with db.begin() as txn:
        cur = txn._txn.cursor()
        return [(bytes(k), bytes(v)) for k, v in cur]


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    out = os.path.abspath(argv[1])
    dbdir = os.path.join(out, "db")
    os.makedirs(out, exist_ok=True)
    if os.path.exists(dbdir):
        raise SystemExit("refusing to overwrite existing %s" % dbdir)

    kw = {"lib_version": argv[2]} if len(argv) == 3 else {}
    db = zlmdb.Database(dbpath=dbdir, maxsize=MAXSIZE, **kw)
    pmaps = us.attach_all(db)
    users, log = write_registered(db, pmaps)
    map_entries = write_maps(db)

    dump = raw_dump(db)
    dump_map = dict(dump)

    slots = []
    reg_recs = registered_records(users, log)
    for klass, codec, idx in us.REGISTERED:
        pmap = pmaps[klass.__name__]
        cls_name = [c.__name__ for c in klass.__mro__ if c.__module__.startswith("zlmdb")][0]
        key_kinds, value_kind = cc.LAYOUT_BY_CLASS[cls_name]
        slots.append({
            "slot": pmap._slot, "class": cls_name, "codec": codec,
            "key_kinds": list(key_kinds), "value_kind": value_kind,
            "write_error": None, "_recs": reg_recs[klass.__name__], "_pmap": pmap,
            "registered": {"table_class": klass.__name__, "oid": str(klass._zlmdb_oid),
                           "description": (klass.__doc__ or "").strip() or None},
            "index": (None if idx is None else
                      {"of_slot": pmaps["Users"]._slot, "name": idx[0], "fkey": idx[1],
                       "unique": idx[2], "nullable": idx[3]}),
        })
    slots.extend(map_entries)

    for e in slots:
        pmap, recs = e.pop("_pmap"), e.pop("_recs")
        e.setdefault("registered", None)
        e.setdefault("index", None)
        e["status"], e["status_reason"] = cc.KNOWN_BROKEN.get(e["class"], ("ok", ""))
        rows = []
        if not e["write_error"]:
            for k, v in recs:
                rk = struct.pack(">H", e["slot"]) + pmap._serialize_key(k)
                rv = dump_map.get(rk)
                row = {"key": cc.canon(k), "value": cc.canon(v), "raw_key": rk.hex(),
                       "raw_value": None if rv is None else rv.hex()}
                if e["codec"] == "pickle":
                    row["py"] = repr(v)  # ast.literal_eval gives back the exact object
                rows.append(row)
        rows.sort(key=lambda r: r["raw_key"])
        e["records"] = rows

    registry = []
    for k, v in dump:
        if k[:2] == b"\x00\x00":
            import cbor2
            registry.append({"slot": struct.unpack(">H", k[2:4])[0], "record": cbor2.loads(v)})

    import importlib.metadata as md
    manifest = {
        "format": cc.MANIFEST_FORMAT,
        "writer": {"impl": "upstream-zlmdb", "zlmdb_version": zlmdb.__version__,
                   "numpy": np.__version__, "cbor2": md.version("cbor2"),
                   "flatbuffers": zlmdb.flatbuffers.__version__,
                   "python": sys.version.split()[0]},
        "maxsize": MAXSIZE,
        "database_kwargs": kw,
        "lib_version": db.lib_version,
        "lmdb_version": db.stats()["lmdb_version"],
        "lmdb_data_version": cc.lmdb_data_version(os.path.join(dbdir, "data.mdb")),
        "records_per_map": cc.RECORDS_PER_MAP,
        "fb_item_schema": cc.FB_ITEM_SCHEMA,
        "registry": registry,
        "slots": sorted(slots, key=lambda e: e["slot"]),
        "raw_dump": [[k.hex(), v.hex()] for k, v in dump],
    }
    db.__exit__(None, None, None)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(os.path.join(out, "manifest.json"))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except SystemExit:
        raise
    except BaseException:
        traceback.print_exc()
        sys.exit(1)
