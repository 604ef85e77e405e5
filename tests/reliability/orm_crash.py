"""System 1 at the ORM level: kill -9 during indexed writes.

A writer child commits numbered ORM transactions n = 1, 2, ... through
`zlmdb.Database` (orm_common's schema).  Transaction n:
  - updates WIDTH accounts (oid from n), changing their indexed `email`
    (None for one in five: the nullable index drops its entry) and `handle`;
  - every 4th n deletes one more account (its index entries go with it);
  - appends journal[n] (sometimes several pages long) and deletes
    journal[n - KEEP];
  - sets meta["marker"] = n.
5% of transactions raise inside the `with` block after writing everything
(they must leave no trace).  After the block commits, the writer prints n.
The parent (crash_kill.campaign) SIGKILLs it at a random moment; a fresh
verifier opens the database and requires the whole ORM-visible state,
both indexes included, to be exactly the state after some transaction
m >= the last acknowledged one, and the indexes to agree with the table.

Modes: SYNC (1: durable commits; 0: Database(sync=False), which only
promises a consistent prefix) and GROWTH (1: growth=2.0 from a 256 KiB map,
so kills also land while the map is being grown and the log replayed).

Usage as a child:  orm_crash.py writer PATH SYNC GROWTH SEED
                   orm_crash.py verify PATH SYNC GROWTH LAST_ACKED STRONG
"""
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness as H  # noqa: E402

ACCOUNTS = 64
WIDTH = 3
KEEP = 40


class Abort(Exception):
    pass


def txn_plan(n):
    """The writes of transaction n: (puts, deleted account, journal record)."""
    puts = []
    for j in range(WIDTH):
        oid = (n * 7 + j * 13) % ACCOUNTS + 1
        email = None if (n + j) % 5 == 0 else "u%d.%d@example.org" % (oid, n)
        puts.append((oid, email, "h%d.%d" % (oid, n % 4), n * 10 + j, n))
    victim = (n * 11) % ACCOUNTS + 1 if n % 4 == 0 else None
    if victim in {p[0] for p in puts}:
        victim = None
    size = (n * 37) % 3000 + (20000 if n % 10 == 0 else 0)
    journal = {"n": n, "pad": "x" * size}
    return puts, victim, journal


def expected_state(m):
    """orm_common.snapshot() of the database after transaction m."""
    accounts, journal = {}, {}
    for n in range(1, m + 1):
        puts, victim, rec = txn_plan(n)
        for p in puts:
            accounts[p[0]] = p
        if victim is not None:
            accounts.pop(victim, None)
        journal[n] = rec
        journal.pop(n - KEEP, None)
    return {
        "accounts": accounts,
        "by_email": {a[1]: oid for oid, a in accounts.items() if a[1] is not None},
        "by_handle": {a[2]: oid for oid, a in accounts.items()},
        "journal": journal,
        "meta": {"marker": m} if m else {},
    }


def writer(path, sync, growth, seed):
    import orm_common as C
    rnd = random.Random(seed)
    h = C.open_db(path, sync=sync, growth=growth)
    with h.db.begin() as txn:
        n = h.meta[txn, "marker"] or 0
    os.write(1, b"R %d\n" % n)
    while True:
        n += 1
        puts, victim, rec = txn_plan(n)
        try:
            with h.db.begin(write=True) as txn:
                for oid, email, handle, balance, nn in puts:
                    h.accounts[txn, oid] = C.Account(oid, email, handle, balance, nn)
                if victim is not None:
                    del h.accounts[txn, victim]
                h.journal[txn, n] = rec
                if n > KEEP:
                    del h.journal[txn, n - KEEP]
                h.meta[txn, "marker"] = n
                if rnd.random() < 0.05:
                    raise Abort()
        except Abort:
            n -= 1
            continue
        os.write(1, b"%d\n" % n)  # acknowledged


def verify(path, sync, growth, last_acked, strong):
    import orm_common as C
    h = C.open_db(path, sync=sync, growth=growth)
    problems = []
    with h.db.begin() as txn:
        m = h.meta[txn, "marker"] or 0
        problems += C.index_problems(h, txn)
        seen = C.snapshot(h, txn)
        exp = expected_state(m)
        for part in exp:
            if seen[part] != exp[part]:
                problems.append("%s is not its state after txn %d: %s"
                                % (part, m, H.dict_difference(seen[part], exp[part])))
        records = sum(len(v) for v in seen.values())
        # Below the ORM: every LMDB record belongs to the registry (slot 0) or
        # to one of the schema's slots, with as many records as the ORM saw.
        per_slot = {}
        for k in txn.cursor().iternext(values=False):
            slot = int.from_bytes(bytes(k[:2]), "big")
            per_slot[slot] = per_slot.get(slot, 0) + 1
        want = {h.accounts._slot: len(seen["accounts"]), h.journal._slot: len(seen["journal"]),
                h.meta._slot: len(seen["meta"]), C.EMAIL_SLOT: len(seen["by_email"]),
                C.HANDLE_SLOT: len(seen["by_handle"])}
        per_slot.pop(0, None)
        if {s: c for s, c in per_slot.items() if c} != {s: c for s, c in want.items() if c}:
            problems.append("raw records per slot %r != ORM view %r" % (per_slot, want))
    if strong and m < last_acked:
        problems.append("lost acknowledged commits: marker %d < acked %d" % (m, last_acked))
    h.db.close()
    H.emit({"marker": m, "problems": problems, "records": records})


if __name__ == "__main__":
    a = sys.argv[1:]
    if a[0] == "writer":
        writer(a[1], a[2] == "1", a[3] == "1", int(a[4]))
    elif a[0] == "verify":
        verify(a[1], a[2] == "1", a[3] == "1", int(a[4]), a[5] == "1")
