"""System 5: leak checks.

rss:      a child repeats open / put / get / cursor scan / getmulti / close of
          one environment N times and samples its RSS (/proc/self/statm) at
          checkpoints; growth after the warm-up must stay under a bound.
objects:  weakref/refcount checks that Environment, Transaction, Cursor and
          Iterator objects are freed, with and without close()/abort().

Usage as a child:  leak.py rss ENVDIR ITERATIONS
"""
import gc
import os
import sys
import weakref

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness as H  # noqa: E402


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def rss_loop(path, iterations):
    lmdb = H.import_impl("zlmdb")
    samples = []
    every = max(1, iterations // 20)
    for i in range(iterations):
        # sync=False: this measures memory, not durability (no fsync per loop)
        env = lmdb.open(path, map_size=8 << 20, max_dbs=2, sync=False, metasync=False)
        db = env.open_db(b"named")
        with env.begin(write=True) as txn:
            txn.put(b"k%d" % (i % 100), b"v" * (i % 300))
            txn.put(b"n", b"x" * 100, db=db)
            txn.replace(b"r", b"y")
            txn.pop(b"r")
        with env.begin(buffers=(i % 2 == 0)) as txn:
            txn.get(b"k%d" % (i % 100))
            cur = txn.cursor()
            for _ in cur.iternext():
                pass
            cur.getmulti([b"k1", b"k2", b"nope"])
            cur.set_range(b"k5")
            cur.item()
            cur.close()
            txn.stat(db)
        try:
            env.begin(write=True).put(b"", b"")  # an error path
        except lmdb.Error:
            pass
        env.info()
        env.readers()
        env.close()
        if i % every == 0 or i == iterations - 1:
            gc.collect()
            samples.append((i, rss_bytes()))
    H.emit({"samples": samples})


def rss_check(workdir, iterations, warmup_fraction=0.2, bound=8 << 20, timeout=600):
    extra = {}
    if H.under_asan():
        # ASan's quarantine holds freed memory back (256 MiB by default),
        # which would read as growth; turn it off for this child.
        extra["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=0"
    res = H.run_script("leak.py", ["rss", os.path.join(workdir, "leak"), iterations],
                       timeout=timeout, env_extra=extra)
    info = res.json()
    out = {"iterations": iterations, "failures": [], "bound": bound}
    if res.crash or res.returncode or info is None:
        out["failures"].append(res.crash or res.describe())
        return out
    samples = info["samples"]
    base = [r for i, r in samples if i >= iterations * warmup_fraction]
    out["rss_after_warmup"] = base[0]
    out["rss_final"] = samples[-1][1]
    out["rss_max"] = max(base)
    out["growth"] = max(base) - base[0]
    out["samples"] = samples
    if out["growth"] >= bound:
        out["failures"].append("RSS grew by %d bytes after warm-up (bound %d): %r" % (
            out["growth"], bound, samples))
    return out


def objects_freed(path):
    """Returns a list of problems (empty = all freed)."""
    lmdb = H.import_impl("zlmdb")
    problems = []
    for close in (True, False):
        env = lmdb.open(path, map_size=4 << 20, max_dbs=2)
        env_ref = weakref.ref(env)
        db = env.open_db(b"d")
        txn = env.begin(write=True)
        txn_ref = weakref.ref(txn)
        txn.put(b"a", b"1", db=db)
        rc_txn = sys.getrefcount(txn)
        cur = txn.cursor(db=db)
        it = cur.iternext()
        next(it)
        del it
        cur.close()
        del cur
        if sys.getrefcount(txn) != rc_txn:
            problems.append("cursor/iterator kept a txn reference (close=%s)" % close)
        if close:
            txn.commit()
        del txn
        gc.collect()
        if txn_ref() is not None:
            problems.append("Transaction not freed (close=%s)" % close)
        rtxn = env.begin()
        rref = weakref.ref(rtxn)
        c2 = rtxn.cursor()
        list(c2)
        del c2, rtxn
        if close:
            env.close()
        del env, db
        gc.collect()
        if env_ref() is not None or rref() is not None:
            problems.append("Environment/read Transaction not freed (close=%s)" % close)
    return problems


if __name__ == "__main__":
    a = sys.argv[1:]
    if a[0] == "rss":
        rss_loop(a[1], int(a[2]))
