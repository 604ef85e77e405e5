#!/usr/bin/env python3
"""zlmdb demo: an embedded database in ./demo-db/, driven through the
py-lmdb compatible API (`import zlmdb.lmdb as lmdb`).

Run with `make demo`.  It prints every step and what it found, so a second
run shows the data the first run left behind.
"""
import os
import sys
import time

import zlmdb
import zlmdb.lmdb as lmdb

DB_PATH = os.environ.get("ZLMDB_DEMO_DB", os.path.join(os.getcwd(), "demo-db"))


def main() -> int:
    print("zlmdb %s, LMDB %s (hardening patches: %s)" % (
        zlmdb.__version__, ".".join(map(str, lmdb.version())),
        "yes" if lmdb.version(subpatch=True)[3] else "no"))
    env = lmdb.open(DB_PATH, map_size=64 << 20, max_dbs=4)
    print("opened %s" % env.path())
    users = env.open_db(b"users")
    runs = env.open_db(b"runs")

    with env.begin(write=True) as txn:
        run_no = int(txn.get(b"count", b"0", db=runs)) + 1
        txn.put(b"count", str(run_no).encode(), db=runs)
        txn.put(b"run-%06d" % run_no, time.strftime("%Y-%m-%dT%H:%M:%S").encode(), db=runs)
        cursor = txn.cursor(db=users)
        consumed, added = cursor.putmulti(
            [(b"user:%04d" % i, b"name-%d;run-%d" % (i, run_no)) for i in range(1000)])
    print("run %d: wrote %d user records in one transaction (%d new)" % (
        run_no, consumed, added))

    with env.begin(db=users) as txn:
        cursor = txn.cursor()
        first = cursor.first() and cursor.item()
        cursor.set_range(b"user:0500")
        middle = cursor.item()
        count = sum(1 for _ in txn.cursor().iternext(values=False))
    print("read back: %d users; first %r; from user:0500 -> %r" % (count, first, middle))

    txn = env.begin(write=True, db=users)
    txn.delete(b"user:0000")
    txn.abort()
    with env.begin(db=users) as txn:
        assert txn.get(b"user:0000") is not None
    print("a delete that was aborted left user:0000 in place")

    with env.begin(db=runs) as txn:
        history = [(k.decode(), v.decode()) for k, v in txn.cursor() if k != b"count"]
    print("runs so far: %s" % ", ".join("%s at %s" % kv for kv in history[-5:]))
    print("environment stat: %s" % env.stat())
    env.close()
    print("closed; the data stays in %s" % DB_PATH)
    return 0


if __name__ == "__main__":
    sys.exit(main())
