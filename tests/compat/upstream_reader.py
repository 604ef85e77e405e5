"""Read a zlmdb database with **upstream** zlmdb, guided by a manifest.

Run with the upstream venv's python (see upstream_env.run_upstream)::

    upstream_reader.py DBDIR MANIFEST [--out FILE]

DBDIR may have been written by upstream (upstream_writer.py) or by our ORM;
MANIFEST lists the slots (class, slot number, records) in the format of
README.md.  For every slot the reader uses upstream's own Map* class and
prints (JSON, to stdout or FILE) what upstream returns:

    {"zlmdb_version": ..., "lib_version": "1.0"|"0.9", "registry": {...}, "queries": [...],
     "slots": {"<slot>": {"class", "count", "get", "contains", "select",
                          "select_reverse", "select_keys", "select_values",
                          "select_range"}}}

Each operation's result is canonical JSON (compat_common.canon) or
``{"error": "<exception class name>", "message": "..."}`` if upstream raised.
The reader never writes to the database (it opens it read-only).
"""

import json
import struct
import sys
import traceback

import cbor2

import zlmdb

import compat_common as cc
import upstream_schema as us


def _err(e):
    return {"error": type(e).__name__, "message": str(e)[:300]}


def _try(fn):
    try:
        return fn()
    except Exception as e:
        return _err(e)


def read_slot(db, entry, pmap):
    codec = entry["codec"]

    def kv(pair):
        k, v = pair
        return [cc.canon(k), us.to_canon(codec, v)]

    keys = [cc.decanon_key(r["key"]) for r in entry["records"]]
    res = {"class": entry["class"]}
    with db.begin() as txn:
        res["count"] = _try(lambda: pmap.count(txn))
        res["get"] = [_try(lambda k=k: us.to_canon(codec, pmap[txn, k])) for k in keys]
        res["contains"] = [_try(lambda k=k: (txn, k) in pmap) for k in keys]
        res["select"] = _try(lambda: [kv(p) for p in pmap.select(txn)])
        res["select_reverse"] = _try(
            lambda: [kv(p) for p in pmap.select(txn, reverse=True, limit=2)])
        res["select_keys"] = _try(
            lambda: [cc.canon(k) for k in pmap.select(txn, return_values=False)])
        res["select_values"] = _try(
            lambda: [us.to_canon(codec, v) for v in pmap.select(txn, return_keys=False)])
        rq = cc.range_query_keys(entry)
        if rq is None:
            res["select_range"] = []
        else:
            fk, tk = cc.decanon_key(rq[0]), cc.decanon_key(rq[1])
            res["select_range"] = _try(
                lambda: [kv(p) for p in pmap.select(txn, from_key=fk, to_key=tk)])
    return res


def run_queries(db, pmaps_by_slot, manifest):
    """Index queries over the registered tables (if the manifest has them)."""
    out = []
    idx = {e["index"]["name"]: e for e in manifest["slots"] if e.get("index")}
    if not idx:
        return out
    table_slot = next(iter(idx.values()))["index"]["of_slot"]
    table = pmaps_by_slot[table_slot]
    with db.begin() as txn:
        if "idx_realm" in idx:
            e = idx["idx_realm"]
            realms = sorted({r["key"][0] for r in e["records"]})
            for realm in realms:
                rows = _try(lambda: [
                    [cc.canon(k), v] for k, v in pmaps_by_slot[e["slot"]].select(
                        txn, from_key=(realm, 0), to_key=(realm + 1, 0))])
                cnt = _try(lambda: pmaps_by_slot[e["slot"]].count_range(
                    txn, (realm, 0), (realm + 1, 0)))
                users = _try(lambda: [us.to_canon("cbor", table[txn, r[1]]) for r in rows])
                out.append({"query": "realm", "realm": realm, "index_rows": rows,
                            "count_range": cnt, "users": users})
        for name in ("idx_name", "idx_email"):
            if name not in idx:
                continue
            e = idx[name]
            for r in e["records"]:
                pk = _try(lambda: pmaps_by_slot[e["slot"]][txn, r["key"]])
                user = _try(lambda: us.to_canon("cbor", table[txn, pk]))
                out.append({"query": name, "key": r["key"], "pk": pk, "user": user})
    return out


def read_registry(db):
    raw = []
    with db.begin() as txn:
        cur = txn._txn.cursor()
        if cur.set_range(b"\x00\x00"):
            for k, v in cur:
                if bytes(k[:2]) != b"\x00\x00":
                    break
                raw.append({"slot": struct.unpack(">H", bytes(k[2:4]))[0],
                            "record": _try(lambda: cbor2.loads(bytes(v)))})
    return raw


def main(argv):
    args = list(argv[1:])
    outfile = None
    if "--out" in args:
        i = args.index("--out")
        outfile = args[i + 1]
        del args[i:i + 2]
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    dbdir, manifest_path = args
    with open(manifest_path) as f:
        manifest = json.load(f)

    # read-only open: no write txn, so upstream's attach_table cannot allocate
    db = zlmdb.Database(dbpath=dbdir, maxsize=manifest.get("maxsize", 64 * 2**20),
                        readonly=True, create=False)
    # the format upstream found the file in (it opens a file in its own)
    result = {"zlmdb_version": zlmdb.__version__, "lib_version": db.lib_version}

    # registered tables: let upstream resolve oid -> slot from the slot-0 registry
    attached = {}
    pmaps_by_slot = {}
    reg_classes = {k.__name__: k for k, _c, _i in us.REGISTERED}
    for e in manifest["slots"]:
        reg = e.get("registered")
        if reg and reg["table_class"] in reg_classes:
            klass = reg_classes[reg["table_class"]]
            pm = _try(lambda: db.attach_table(klass))
            if isinstance(pm, dict):
                attached[reg["table_class"]] = pm
            else:
                attached[reg["table_class"]] = pm._slot
                pmaps_by_slot[e["slot"]] = pm
    users_slot = next((e["slot"] for e in manifest["slots"]
                       if (e.get("registered") or {}).get("table_class") == "Users"), None)
    for e in manifest["slots"]:
        idx = e.get("index")
        if idx and e["slot"] in pmaps_by_slot and users_slot in pmaps_by_slot:
            pmaps_by_slot[users_slot].attach_index(
                idx["name"], pmaps_by_slot[e["slot"]], us.FKEYS[idx["fkey"]],
                nullable=idx["nullable"], unique=idx["unique"])
    result["registry"] = {"raw": read_registry(db), "attached_slots": attached}

    slots = {}
    for e in manifest["slots"]:
        pmap = pmaps_by_slot.get(e["slot"])
        if pmap is None:
            klass = getattr(zlmdb, e["class"])
            pmap = klass(e["slot"], **us.ctor_kwargs(e["codec"]))
        slots[str(e["slot"])] = read_slot(db, e, pmap)
    result["slots"] = slots
    result["queries"] = run_queries(db, pmaps_by_slot, manifest)

    text = json.dumps(result, indent=1, ensure_ascii=False, default=str)
    if outfile:
        with open(outfile, "w") as f:
            f.write(text + "\n")
    else:
        sys.stdout.write(text + "\n")
    db.__exit__(None, None, None)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except SystemExit:
        raise
    except BaseException:
        traceback.print_exc()
        sys.exit(1)
