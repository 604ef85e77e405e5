"""System 5 at the ORM level: faults in the middle of indexed writes.

alloc:  every ORM operation of orm_common's schema (insert, update that
        moves both index keys, update to a NULL index key, delete, a put
        refused by a unique index, reads) runs with the k-th memory allocation
        failing, for k = 1, 2, ... until the operation has succeeded
        SUCCESS_RUN times in a row.  CPython's allocation hooks
        (_testcapi.set_nomemory) cover the interpreter, the extension and
        libzlmdb, whose allocator the extension routes through PyMem_Raw.
        After each attempt the transaction is committed anyway: the database
        must then be exactly the state before the operation (it failed) or
        after it (it succeeded), with the indexes in agreement.  The whole
        sweep runs three times under tracemalloc; traced memory must not grow
        from the second sweep to the third (a leak on an error path would).
mapfull: indexed puts into a database with a small fixed map (and one with
        growth that reaches its ceiling) until MapFullError; a put that fails
        with MapFullError inside a with block that swallows the error; then
        the database, reread in this process and in a fresh one, holds every
        committed transaction and nothing else, indexes in agreement.
diskfull: the same against RLIMIT_FSIZE (the file cannot grow: EFBIG, as a
        full disk gives ENOSPC), with SIGXFSZ ignored.

Usage as a child:  orm_faults.py alloc GROWTH
                   orm_faults.py mapfull PATH GROWTH
                   orm_faults.py diskfull PATH
                   orm_faults.py check PATH COUNT   (fresh-process reread)
"""
import gc
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness as H  # noqa: E402

SUCCESS_RUN = 25
MAX_K = 3000
BASE = 8  # accounts 1..BASE exist before each operation


def _account(C, oid, tag=0):
    return C.Account(oid, "a%d.%d@example.org" % (oid, tag), "h%d.%d" % (oid, tag), oid * 100, tag)


def _operations(C, h):
    """name -> (callable(txn), expected exception type or None)."""
    def insert(txn):
        h.accounts[txn, 100] = _account(C, 100)

    def move_keys(txn):
        h.accounts[txn, 1] = _account(C, 1, 7)

    def null_key(txn):
        a = _account(C, 2, 3)
        a.email = None
        h.accounts[txn, 2] = a

    def delete(txn):
        del h.accounts[txn, 3]

    def unique_clash(txn):
        a = _account(C, 4, 9)
        a.handle = "h5.0"  # account 5's
        h.accounts[txn, 4] = a

    def reads(txn):
        assert h.accounts[txn, 1].email == "a1.0@example.org"
        assert h.by_email[txn, "a6.0@example.org"] == 6
        assert len(list(h.accounts.select(txn, from_key=2, limit=4))) == 4
        assert h.accounts.count(txn) == BASE and h.by_handle.count(txn) == BASE

    return {"insert": (insert, None), "move_keys": (move_keys, None),
            "null_key": (null_key, None), "delete": (delete, None),
            "unique_clash": (unique_clash, KeyError), "reads": (reads, None)}


def _reset(C, h):
    with h.db.begin(write=True) as txn:
        h.accounts.truncate(txn)
        for oid in range(1, BASE + 1):
            h.accounts[txn, oid] = _account(C, oid)


def alloc(growth):
    import tracemalloc
    import _testcapi
    import orm_common as C
    from zlmdb import lmdb
    tmp = tempfile.mkdtemp(prefix="zl-ormfault-")
    h = C.open_db(os.path.join(tmp, "db"), sync=False, growth=growth)
    ops = _operations(C, h)
    _reset(C, h)
    with h.db.begin() as txn:
        base = C.snapshot(h, txn)
    after = {}
    for name, (fn, expect) in ops.items():  # the state each op leads to
        _reset(C, h)
        try:
            with h.db.begin(write=True) as txn:
                fn(txn)
        except Exception as e:
            if expect is None or not isinstance(e, expect):
                raise
        with h.db.begin() as txn:
            after[name] = C.snapshot(h, txn)
    _reset(C, h)

    stats = {"attempts": 0, "failed_ops": 0, "refused_commits": 0, "exceptions": {},
             "problems": [], "system_errors": [],
             "max_k": {}, "traced": []}
    tracemalloc.start()
    for sweep in range(3):
        for name, (fn, expect) in ops.items():
            streak, k = 0, 0
            while streak < SUCCESS_RUN and k < MAX_K:
                k += 1
                if k % 200 == 0:
                    H.watchdog()
                stats["attempts"] += 1
                outcome = None
                try:
                    with h.db.begin(write=True) as txn:
                        _testcapi.set_nomemory(k, k + 1)
                        try:
                            fn(txn)
                        except BaseException as e:  # MemoryError or the expected refusal
                            outcome = e
                        finally:
                            _testcapi.remove_mem_hooks()
                        # committed whatever the outcome...
                except lmdb.BadTxnError:
                    # ...unless the failure left part of the write behind
                    stats["refused_commits"] += 1
                    if outcome is None:
                        stats["problems"].append("%s k=%d: commit refused after a "
                                                 "success" % (name, k))
                if outcome is None or (expect and type(outcome) is expect):
                    streak += 1
                    want = after[name]
                else:
                    streak = 0
                    stats["failed_ops"] += 1
                    tn = type(outcome).__name__
                    stats["exceptions"][tn] = stats["exceptions"].get(tn, 0) + 1
                    if isinstance(outcome, SystemError):
                        # an exception lost on the way (it once was, in the
                        # Python write path of a growing database): a bug
                        stats["system_errors"].append("%s k=%d: %s" % (name, k, outcome))
                    if not isinstance(outcome, MemoryError):
                        import traceback
                        stats["problems"].append("%s k=%d: %s" % (name, k, "".join(
                            traceback.format_exception(outcome))[-1500:]))
                    want = base
                with h.db.begin() as txn:
                    got = C.snapshot(h, txn)
                    bad = C.index_problems(h, txn)
                if got != want and not (outcome is not None and got == after[name]
                                        and type(outcome) is MemoryError):
                    stats["problems"].append("%s k=%d (%s): state is neither before nor "
                                             "after" % (name, k, type(outcome).__name__))
                if bad:
                    stats["problems"].append("%s k=%d: %s" % (name, k, bad))
                if got != base:
                    _reset(C, h)
            stats["max_k"][name] = max(stats["max_k"].get(name, 0), k)
            if k >= MAX_K:
                stats["problems"].append("%s: still failing at k=%d" % (name, k))
        gc.collect()
        stats["traced"].append(tracemalloc.get_traced_memory()[0])
    tracemalloc.stop()
    h.db.close()
    shutil.rmtree(tmp, ignore_errors=True)
    H.emit(stats)


def _fill(C, h, per_txn, stats, big=False, txns=None):
    """Commit txns of `per_txn` indexed puts until the map or file is full
    (or, with `txns`, that many)."""
    from zlmdb import lmdb
    oid = stats["committed"]
    while True:
        try:
            with h.db.begin(write=True) as txn:
                for i in range(per_txn):
                    a = _account(C, oid + i + 1)
                    if big:
                        a.handle = a.handle + "/" + "p" * 400
                    h.accounts[txn, oid + i + 1] = a
        except lmdb.Error as e:
            stats["errors"].append("%s: %s" % (type(e).__name__, str(e)[:120]))
            return
        oid += per_txn
        stats["committed"] = oid
        if txns is not None:
            txns -= 1
            if txns == 0:
                return
        if oid > 10 ** 6:
            raise AssertionError("never full")


def _check(C, h, count):
    problems = []
    with h.db.begin() as txn:
        problems += C.index_problems(h, txn)
        n = h.accounts.count(txn)
        if n != count:
            problems.append("%d accounts, %d committed" % (n, count))
        if sorted(k for k, _ in h.accounts.select(txn)) != list(range(1, count + 1)):
            problems.append("the account keys are not 1..%d" % count)
    return problems


def mapfull(path, growth):
    import orm_common as C
    from zlmdb import lmdb
    kw = dict(growth=True, maxsize=2 << 20) if growth else dict(maxsize=1 << 20)
    h = C.open_db(path, sync=False, **kw)
    stats = {"committed": 0, "errors": [], "problems": []}
    _fill(C, h, 25, stats, big=True)
    before = stats["committed"]
    # a put that fails inside a block that swallows the error: the commit
    # must fail too, and write nothing
    swallowed = None
    try:
        with h.db.begin(write=True) as txn:
            for i in range(1, 5000):
                try:
                    h.accounts[txn, before + i] = _account(C, before + i)
                except lmdb.MapFullError:
                    swallowed = i
                    break
    except lmdb.Error as e:
        stats["errors"].append("commit after swallowed MapFullError: %s" % type(e).__name__)
    stats["swallowed_at"] = swallowed
    # single-put transactions still fail cleanly at the edge
    _fill(C, h, 1, stats)
    stats["problems"] += _check(C, h, stats["committed"])
    h.db.close()
    H.emit(stats)


def diskfull(path):
    import resource
    import signal
    import orm_common as C
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    h = C.open_db(path, sync=True, maxsize=256 << 20)
    stats = {"committed": 0, "errors": [], "problems": []}
    _fill(C, h, 50, stats, txns=4)  # the file exists, with some records
    limit = os.path.getsize(os.path.join(path, "data.mdb")) + (256 << 10)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    stats["limit"] = limit
    stats["errors"] = []
    _fill(C, h, 50, stats)
    stats["problems"] += _check(C, h, stats["committed"])
    h.db.close()
    H.emit(stats)


def check(path, count):
    import orm_common as C
    h = C.open_db(path, sync=False, maxsize=256 << 20)
    H.emit({"problems": _check(C, h, count)})
    h.db.close()


def campaign(workdir):
    """Every fault system once, each in its own child; failures as strings."""
    out = {"failures": [], "alloc_failed_ops": 0, "alloc_refused_commits": 0,
           "alloc_system_errors": 0, "alloc_attempts": 0, "mapfull_committed": [],
           "diskfull_committed": 0}

    def child(args, timeout=900):
        res = H.run_script("orm_faults.py", args, timeout=timeout)
        info = res.json()
        why = res.failure()
        if why:
            out["failures"].append("%s: %s" % (args[0], why))
            return None
        if info["problems"]:
            out["failures"].append("%s: %s" % (args[:2], info["problems"][:3]))
        return info

    for growth in (0, 1):
        info = child(["alloc", growth])
        if info:
            out["alloc_attempts"] += info["attempts"]
            out["alloc_failed_ops"] += info["failed_ops"]
            out["alloc_refused_commits"] += info["refused_commits"]
            out["alloc_system_errors"] += len(info["system_errors"])
            if info["traced"][2] - info["traced"][1] >= 2048:
                out["failures"].append("alloc %d: traced memory grew %r" % (growth,
                                                                            info["traced"]))
    for growth in (0, 1):
        path = os.path.join(workdir, "mapfull%d" % growth)
        info = child(["mapfull", path, growth])
        if info:
            out["mapfull_committed"].append(info["committed"])
            child(["check", path, info["committed"]])
    path = os.path.join(workdir, "diskfull")
    info = child(["diskfull", path])
    if info:
        out["diskfull_committed"] = info["committed"]
        child(["check", path, info["committed"]])
    return out


if __name__ == "__main__":
    a = sys.argv[1:]
    H.watchdog()
    if a[0] == "alloc":
        alloc(a[1] == "1")
    elif a[0] == "mapfull":
        mapfull(a[1], a[2] == "1")
    elif a[0] == "diskfull":
        diskfull(a[1])
    elif a[0] == "check":
        check(a[1], int(a[2]))
