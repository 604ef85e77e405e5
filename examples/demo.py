#!/usr/bin/env python3
"""zlmdb demo: what is in the box, on an embedded database in ./demo-db/.

Run with `make demo` (or `python examples/demo.py`; ZLMDB_DEMO_DB chooses
another directory).  It shows, in order:

1. `zlmdb.lmdb`, used exactly as py-lmdb: named databases, a transaction,
   a cursor, an aborted write (in demo-db/kv/);
2. the ORM: a `@table` class with CBOR values, a unique index and a lookup
   through it, count and select (in demo-db/orm/);
3. the codecs: CBOR, JSON and order-preserving keys;
4. the `zlmdb` command on the ORM database the demo made.

Run it twice: the second run finds the first run's data and overwrites it,
and says so.
"""
import os
import subprocess
import sys
import time
import uuid
from typing import Any

import zlmdb
import zlmdb.codec as codec
import zlmdb.lmdb as lmdb

DB_PATH = os.environ.get("ZLMDB_DEMO_DB", os.path.join(os.getcwd(), "demo-db"))
USERS = 1000
CITIES = ["Berlin", "Lagos", "Lima", "Osaka", "Oslo", "Pune", "Quito", "Tunis"]


def heading(text: str) -> None:
    print("\n" + text)
    print("-" * len(text))


# ----------------------------------------------------------------- 1. kv


def lowlevel_demo(path: str) -> int:
    heading("1. zlmdb.lmdb: the py-lmdb API, in C")
    env = lmdb.open(path, map_size=64 << 20, max_dbs=4)
    users = env.open_db(b"users")
    runs = env.open_db(b"runs")
    print("opened %s: LMDB %s engine, named databases 'users' and 'runs'" % (
        os.path.relpath(path), ".".join(map(str, env.lib_version()))))

    with env.begin(write=True) as txn:
        run_no = int(txn.get(b"count", b"0", db=runs)) + 1
        txn.put(b"count", str(run_no).encode(), db=runs)
        txn.put(b"run-%06d" % run_no, time.strftime("%Y-%m-%d %H:%M:%S").encode(), db=runs)
        before = txn.stat(users)["entries"]
        consumed, _ = txn.cursor(db=users).putmulti(
            [(b"user:%04d" % i, b"name-%d;run-%d" % (i, run_no)) for i in range(USERS)])
        # putmulti's second count is of successful puts, overwrites included
        # (as py-lmdb's): the new records are what the database gained.
        new = txn.stat(users)["entries"] - before
    print("run %d: wrote %d user records in one transaction: %d new, %d overwritten" % (
        run_no, consumed, new, consumed - new))

    with env.begin(db=users) as txn:
        cursor = txn.cursor()
        cursor.first()
        first = cursor.item()
        cursor.set_range(b"user:0500")
        middle = cursor.item()
        count = txn.stat(users)["entries"]
    print("read back: %d users; first %s = %s; set_range(user:0500) -> %s = %s" % (
        count, first[0].decode(), first[1].decode(), middle[0].decode(), middle[1].decode()))

    txn = env.begin(write=True, db=users)
    txn.delete(b"user:0000")
    txn.abort()
    with env.begin(db=users) as txn:
        kept = txn.get(b"user:0000") is not None
    print("a delete that was aborted left user:0000 in place: %s" % kept)

    with env.begin(db=runs) as txn:
        history = [v.decode() for k, v in txn.cursor() if k != b"count"]
    print("runs so far: %d (the last at %s)" % (len(history), history[-1]))
    info = env.info()
    print("file: %d KiB used of a %d MiB map; %d records in 'users', %d in 'runs'" % (
        (info["last_pgno"] + 1) * env.stat()["psize"] // 1024, info["map_size"] >> 20,
        count, len(history) + 1))
    env.close()
    return run_no


# ---------------------------------------------------------------- 2. ORM


class User:
    """An application object; the ORM stores it as CBOR."""

    def __init__(self, oid: int, name: str, email: str, city: str, run: int) -> None:
        self.oid, self.name, self.email, self.city, self.run = oid, name, email, city, run

    def marshal(self) -> dict[str, Any]:
        return {"oid": self.oid, "name": self.name, "email": self.email,
                "city": self.city, "run": self.run}

    @staticmethod
    def parse(d: dict[str, Any]) -> "User":
        return User(d["oid"], d["name"], d["email"], d["city"], d["run"])


@zlmdb.table("5d1e3c9a-6b0f-4e8d-a2c4-7f3b9e1d0a65", marshal=User.marshal, parse=User.parse)
class Users(zlmdb.MapOidCbor[User]):
    """The demo's users, by oid."""


@zlmdb.table("a3f0c2e1-9d4b-4a7e-8c61-2b5d0e9f4c17")
class UsersByEmail(zlmdb.MapStringOid):
    """Index: e-mail -> user oid (unique)."""


def orm_demo(path: str, run_no: int) -> User:
    heading("2. zlmdb: the ORM (tables, CBOR values, indexes)")
    db = zlmdb.Database(path, maxsize=64 << 20)
    users = db.attach_table(Users)
    by_email = db.attach_table(UsersByEmail)
    users.attach_index("by_email", by_email, lambda u: u.email)
    print("opened %s: LMDB %s format; @table Users (MapOidCbor) with a unique index "
          "by_email (MapStringOid)" % (os.path.relpath(path), db.lib_version))

    with db.begin() as txn:
        before = users.count(txn)
    with db.begin(write=True) as txn:
        for i in range(USERS):
            users[txn, i] = User(i, "user %d" % i, "user%04d@example.org" % i,
                                 CITIES[i % len(CITIES)], run_no)
    print("wrote %d users and their index entries in one transaction: %d new, "
          "%d overwritten" % (USERS, USERS - before, before))

    with db.begin() as txn:
        email = "user0042@example.org"
        oid = by_email[txn, email]              # None when there is no such key
        assert oid is not None
        user = users[txn, oid]
        assert user is not None
        print("index lookup: by_email[%r] -> oid %d -> %s from %s (run %d)" % (
            email, oid, user.name, user.city, user.run))
        print("count: %d users, %d index entries" % (users.count(txn), by_email.count(txn)))
        some = list(users.select(txn, from_key=10, to_key=13))
        print("select(from_key=10, to_key=13): %s" % ", ".join(
            "%d=%s" % (k, u.name) for k, u in some))
        oslo = sum(1 for u in users.select(txn, return_keys=False) if u.city == "Oslo")
        print("a scan of all records: %d users live in Oslo" % oslo)
    db.close()
    return user


# -------------------------------------------------------------- 3. codecs


def codec_demo(user: User) -> None:
    heading("3. zlmdb.codec: CBOR, JSON and keys in C")
    raw = codec.cbor_dumps(user.marshal())
    print("cbor_dumps(user.marshal()): %d bytes, the record as the table stores it" % len(raw))
    print("cbor_loads(those bytes) -> %s" % codec.cbor_loads(raw))
    print("json_dumps(the same) -> %s" % codec.json_dumps(user.marshal()))
    keys = codec.KeyCodec(("string", "timestamp"))
    a = keys.encode(("oslo", 1_700_000_000_000_000_000))
    b = keys.encode(("oslo", 1_800_000_000_000_000_000))
    c = keys.encode(("osloa", 0))
    print("KeyCodec(string, timestamp): encoded keys sort as their values do: %s" % (
        a < b < c))
    u = uuid.UUID("5d1e3c9a-6b0f-4e8d-a2c4-7f3b9e1d0a65")
    print("KeyCodec(uuid).encode(uuid) is the UUID's 16 bytes: %s" % (
        codec.KeyCodec("uuid").encode(u) == u.bytes))


# ----------------------------------------------------------------- 4. CLI


def cli_demo(path: str) -> None:
    heading("4. the zlmdb command on %s" % os.path.relpath(path))
    for args in (["tables", path], ["count", path, "1"], ["get", path, "1", "42"],
                 ["info", path]):
        shown = ["zlmdb"] + [os.path.relpath(a) if a == path else a for a in args]
        print("$ " + " ".join(shown))
        res = subprocess.run([sys.executable, "-m", "zlmdb"] + args, capture_output=True,
                             text=True, timeout=60)
        lines = (res.stdout or res.stderr).rstrip().splitlines()
        for line in lines[:12]:
            print("    " + line)
        if len(lines) > 12:
            print("    ... (%d more lines)" % (len(lines) - 12))
        if res.returncode:
            print("    (exit status %d)" % res.returncode)


def main() -> int:
    started = time.perf_counter()
    print("zlmdb %s, LMDB %s, hardening patches: %s" % (
        zlmdb.__version__,
        " and ".join(".".join(map(str, lmdb.version(lib_version=v))) for v in (0, 1)),
        "yes" if lmdb.version(subpatch=True)[3] else "no"))
    print("database directory: %s" % DB_PATH)
    os.makedirs(DB_PATH, exist_ok=True)
    run_no = lowlevel_demo(os.path.join(DB_PATH, "kv"))
    user = orm_demo(os.path.join(DB_PATH, "orm"), run_no)
    codec_demo(user)
    cli_demo(os.path.join(DB_PATH, "orm"))
    print("\ndone in %.1f s; the data stays in %s (run again to see it found)" % (
        time.perf_counter() - started, DB_PATH))
    return 0


if __name__ == "__main__":
    sys.exit(main())
