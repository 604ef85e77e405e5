"""compare_orm.py DB1 DB2: open both databases with the ORM and the CLI
tests' schema, and compare every slot's records as the ORM reads them.
Prints {"slots": n, "records": n} and exits 0 when they are equal;
prints the first difference and exits 1 otherwise."""
import json
import sys

import numpy as np

import zlmdb
import cli_schema as cs


def plain(obj):
    """A form of a decoded value that compares by content (NaN included)."""
    if isinstance(obj, np.ndarray):
        return ("ndarray", obj.dtype.str, obj.shape, obj.tobytes())
    if isinstance(obj, np.datetime64):
        return ("datetime64", int(obj.astype("datetime64[ns]").astype("int64")))
    if isinstance(obj, cs.Score):
        return ("flatbuffers", obj._buf)
    if isinstance(obj, (tuple, list)):
        return tuple(plain(x) for x in obj)
    if isinstance(obj, dict):
        return tuple((repr(k), plain(v)) for k, v in obj.items())
    if isinstance(obj, (set, frozenset)):
        return ("set", tuple(sorted(repr(x) for x in obj)))
    return repr(obj)


def read(path):
    db = zlmdb.Database(path, readonly=True, create=False, maxsize=64 << 20)
    try:
        s = cs.Schema.attach(db)
        maps = {name: pmap for name, pmap in sorted(vars(s).items())}
        out = {}
        with db.begin() as txn:
            for name, pmap in maps.items():
                out[name] = [(plain(k), plain(v)) for k, v in pmap.select(txn)]
            # Every user reached through both indexes.
            for oid, user in s.users.select(txn):
                assert s.by_name[txn, user["name"]] == oid, user
                assert s.by_realm[txn, (user["realm"], oid)] == oid, user
        return out
    finally:
        db.close()


a, b = read(sys.argv[1]), read(sys.argv[2])
for name in a:
    if a[name] != b[name]:
        print("slot %s differs:\n%r\n%r" % (name, a[name], b[name]))
        sys.exit(1)
print(json.dumps({"slots": len(a), "records": sum(len(v) for v in a.values())}))
