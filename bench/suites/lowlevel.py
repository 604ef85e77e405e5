"""The lowlevel suite: zlmdb.lmdb against py-lmdb and raw LMDB in C, on the
LMDB 0.9 engine (suites/lowlevel10.py runs the same on the 1.0 engine).

Each public function named like a workload is that workload's Python side:
``fn(lmdb, params) -> {"ops", "seconds", "extra"}``, where ``lmdb`` is the
module under test (py-lmdb's ``lmdb`` or ``zlmdb.lmdb``).  Setup (data
generation, pre-population) is untimed; only the operation loop is timed,
with the cyclic GC off, as timeit does.  Write workloads time the loop and
report the final commit separately in ``extra.commit_seconds``.

bench/raw_lmdb.c implements the same workloads for the C peer.
"""

import json
import subprocess
import time

import datagen
from harness import Clock, ExecSystem, PythonSystem, Suite, Target, Workload

MAP_SIZE = 2 << 30

WORKLOADS = [
    Workload("put_seq", "sequential put",
             "txn.put() of every record in sorted key order, one write txn"),
    Workload("put_rand", "random put",
             "txn.put() of every record in shuffled order, one write txn"),
    Workload("putmulti", "putmulti",
             "one cursor.putmulti() of all (key, value) pairs, sorted, one write txn"),
    Workload("get_rand", "random get",
             "txn.get() of every key in shuffled order, one read txn"),
    Workload("get_seq", "in-order get",
             "txn.get() of every key in sorted order, one read txn"),
    Workload("getmulti", "getmulti",
             "cursor.getmulti() over batches of `batch` shuffled keys, one read txn"),
    Workload("scan_items", "scan items",
             "for key, value in txn.cursor(): full scan"),
    Workload("scan_keys", "scan keys",
             "cursor.iternext(values=False): full scan of keys only"),
    Workload("scan_buffers", "scan buffers",
             "full item scan in a begin(buffers=True) txn (memoryviews, no copies)"),
    Workload("get_txn", "get per txn",
             "`lookups` shuffled keys, each in its own `with env.begin(): txn.get()`"),
    Workload("small_txns", "small write txns",
             "`txns` write txns of one put + commit each, default (synchronous) durability"),
]

def raw_c_system(engine):
    """raw C on one engine: bench/raw_lmdb.c built against that engine's LMDB."""
    exe = "bench_raw_lmdb_" + engine
    return ExecSystem("raw-c", "raw C", env_var="ZLMDB_BENCH_RAW_LMDB",
                      candidates=["build/bench/bench/" + exe, "build/*/bench/" + exe],
                      how_to_build="build it with: make bench-c",
                      description="LMDB's C API directly (bench/raw_lmdb.c, %s): the floor"
                                  % exe)


SYSTEMS = [
    PythonSystem("py-lmdb", "py-lmdb", module="lmdb",
                 python_env="ZLMDB_BENCH_PYLMDB_PYTHON",
                 description="py-lmdb (the `lmdb` package) in the runner's interpreter"),
    PythonSystem("zlmdb.lmdb", "zlmdb.lmdb", module="zlmdb.lmdb",
                 python_env="ZLMDB_BENCH_ZLMDB_PYTHON",
                 description="ours: `import zlmdb.lmdb as lmdb`"),
    # The same py-lmdb under another name: `--systems py-lmdb,py-lmdb-aa --ours
    # py-lmdb-aa` measures how far apart two identical systems land (noise).
    PythonSystem("py-lmdb-aa", "py-lmdb (A/A)", module="lmdb", default=False,
                 description="py-lmdb again, for an A/A noise check"),
    raw_c_system("v09"),
]

# Every workload: at least py-lmdb's speed (default_targets below).  The
# writes and batched or per-transaction reads: 1.3x py-lmdb, or within 1.15x
# of raw C on the same engine where C itself leaves no such margin.
TARGETS = []
for _w in ("put_seq", "putmulti", "getmulti", "get_txn"):
    TARGETS.append(Target(_w, "py-lmdb", 1.3, ">=1.3x py-lmdb", group="fast"))
    TARGETS.append(Target(_w, "raw-c", 1 / 1.15, "or within 1.15x of C", group="fast"))


def preflight(system, params):
    """Refuse a native peer whose data generator disagrees with datagen.py."""
    if not isinstance(system, ExecSystem):
        return None
    n, seed = 1000, params["seed"]
    try:
        proc = subprocess.run([system.path, "--digest", "--records", str(n), "--seed", str(seed)],
                              capture_output=True, text=True, timeout=60)
        theirs = json.loads(proc.stdout.strip().splitlines()[-1])
    except Exception as exc:
        return "data check failed: %s" % exc
    ours = datagen.digest(n, seed)
    if theirs != ours:
        return "data generator differs from bench/datagen.py (%s vs %s)" % (theirs, ours)
    return None


SUITE = Suite(
    name="lowlevel",
    title="Low-level layer: zlmdb.lmdb vs py-lmdb vs raw LMDB",
    systems=SYSTEMS,
    workloads=WORKLOADS,
    ours="zlmdb.lmdb",
    modes={
        "full": {"records": 10**6, "repeat": 3, "seed": 42, "lookups": 10**5,
                 "txns": 10**4, "batch": 1000, "lib_version": 0},
        # Durable commits run at the disk's fsync rate (200-5,000/s seen on the
        # dev VM), so the smoke test keeps small_txns short.
        "quick": {"records": 10**4, "repeat": 1, "seed": 42, "lookups": 10**4,
                  "txns": 200, "batch": 1000, "lib_version": 0},
    },
    targets=TARGETS,
    default_targets=[("py-lmdb", 1.0, ">=1.0x py-lmdb")],
    settings={
        "key_size": datagen.KEY_SIZE,
        "value_size": datagen.VALUE_SIZE,
        "environment": "lmdb.open(dir, map_size=2 GiB, lib_version=0: LMDB 0.9.36), every "
                       "other option at its py-lmdb "
                       "default: subdir, sync and metasync on (durable commits), "
                       "writemap off, readahead on, lock on, max_readers=126, main DB "
                       "only; raw C opens with the same flags (MDB_NOTLS, as py-lmdb does)",
        "timing": "only the operation loop (perf_counter / CLOCK_MONOTONIC), cyclic GC "
                  "off in Python; data generation, pre-population and the final commit "
                  "of the write workloads are not timed (the commit is in "
                  "extra.commit_seconds)",
        "data": "bench/datagen.py: key(i) = be64(i) + be64(splitmix64-mix(i ^ salt)), "
                "value(i) = key(i) + 84 seed-derived bytes; shuffles are Fisher-Yates "
                "driven by splitmix64(seed+1) for writes, splitmix64(seed+2) for reads",
    },
    preflight=preflight,
)


# ---------------------------------------------------------------- helpers

def _data(p, order_seed_offset=None):
    ks = datagen.keys(p["records"], p["seed"])
    vs = datagen.values(ks, p["seed"])
    if order_seed_offset is None:
        return ks, vs
    order = datagen.permutation(p["records"], p["seed"] + order_seed_offset)
    return [ks[i] for i in order], [vs[i] for i in order]


def _open(lmdb, p):
    return lmdb.open(p["dir"], map_size=MAP_SIZE, lib_version=p["lib_version"])


def _populate(env, ks, vs):
    with env.begin(write=True) as txn:
        put = txn.put
        for k, v in zip(ks, vs):
            put(k, v)


def _verify(env, ks, vs, step=97):
    """Untimed read-back of a sample, so a fast-but-wrong system cannot win."""
    with env.begin() as txn:
        for i in range(0, len(ks), step):
            got = txn.get(ks[i])
            if got is None or bytes(got) != vs[i]:
                raise AssertionError("record %d reads back wrong: %r" % (i, got))


def _write_one_txn(lmdb, p, order_offset):
    ks, vs = _data(p, order_offset)
    t_setup = time.perf_counter()
    env = _open(lmdb, p)
    txn = env.begin(write=True)
    put = txn.put
    with Clock() as clock:
        for k, v in zip(ks, vs):
            put(k, v)
    t = time.perf_counter()
    txn.commit()
    commit = time.perf_counter() - t
    _verify(env, ks, vs)
    env.close()
    return {"ops": len(ks), "seconds": clock.seconds,
            "extra": {"commit_seconds": commit, "setup_seconds": t - t_setup - clock.seconds}}


def _populated(lmdb, p):
    t0 = time.perf_counter()
    ks, vs = _data(p)
    env = _open(lmdb, p)
    _populate(env, ks, vs)
    return env, ks, vs, time.perf_counter() - t0


# ---------------------------------------------------------------- workloads

def put_seq(lmdb, p):
    return _write_one_txn(lmdb, p, None)


def put_rand(lmdb, p):
    return _write_one_txn(lmdb, p, 1)


def putmulti(lmdb, p):
    ks, vs = _data(p)
    items = list(zip(ks, vs))
    env = _open(lmdb, p)
    txn = env.begin(write=True)
    with Clock() as clock:
        consumed, added = txn.cursor().putmulti(items)
    t = time.perf_counter()
    txn.commit()
    commit = time.perf_counter() - t
    if (consumed, added) != (len(items), len(items)):
        raise AssertionError("putmulti returned %r for %d items" % ((consumed, added), len(items)))
    _verify(env, ks, vs)
    env.close()
    return {"ops": len(items), "seconds": clock.seconds, "extra": {"commit_seconds": commit}}


def _get(lmdb, p, order_offset):
    env, ks, vs, setup = _populated(lmdb, p)
    if order_offset is None:
        look = ks
    else:
        look = [ks[i] for i in datagen.permutation(len(ks), p["seed"] + order_offset)]
    txn = env.begin()
    get = txn.get
    with Clock() as clock:
        for k in look:
            get(k)
    txn.abort()
    _verify(env, ks, vs)
    env.close()
    return {"ops": len(look), "seconds": clock.seconds, "extra": {"setup_seconds": setup}}


def get_rand(lmdb, p):
    return _get(lmdb, p, 2)


def get_seq(lmdb, p):
    return _get(lmdb, p, None)


def getmulti(lmdb, p):
    env, ks, vs, setup = _populated(lmdb, p)
    order = datagen.permutation(len(ks), p["seed"] + 2)
    look = [ks[i] for i in order]
    b = p["batch"]
    batches = [look[i:i + b] for i in range(0, len(look), b)]
    txn = env.begin()
    cur = txn.cursor()
    getm = cur.getmulti
    found = 0
    with Clock() as clock:
        for batch in batches:
            found += len(getm(batch))
    first = getm(batches[0]) if batches else []
    txn.abort()
    if found != len(look):
        raise AssertionError("getmulti found %d of %d keys" % (found, len(look)))
    for (k, v), i in zip(first, order):
        if bytes(k) != ks[i] or bytes(v) != vs[i]:
            raise AssertionError("getmulti returned a wrong pair for record %d" % i)
    env.close()
    return {"ops": len(look), "seconds": clock.seconds, "extra": {"setup_seconds": setup}}


def _scan(lmdb, p, mode):
    env, ks, vs, setup = _populated(lmdb, p)
    txn = env.begin(buffers=(mode == "buffers"))
    n = 0
    if mode == "keys":
        it = txn.cursor().iternext(values=False)
        with Clock() as clock:
            for k in it:
                n += 1
        first_ok = not ks or bytes(next(txn.cursor().iternext(values=False))) == ks[0]
    else:
        cur = txn.cursor()
        with Clock() as clock:
            for k, v in cur:
                n += 1
        first_ok = True
        if ks:
            c = txn.cursor()
            c.first()
            first_ok = bytes(c.key()) == ks[0] and bytes(c.value()) == vs[0]
    txn.abort()
    env.close()
    if n != len(ks) or not first_ok:
        raise AssertionError("scan saw %d of %d items (first item ok: %s)" % (n, len(ks), first_ok))
    return {"ops": n, "seconds": clock.seconds, "extra": {"setup_seconds": setup}}


def scan_items(lmdb, p):
    return _scan(lmdb, p, "items")


def scan_keys(lmdb, p):
    return _scan(lmdb, p, "keys")


def scan_buffers(lmdb, p):
    return _scan(lmdb, p, "buffers")


def get_txn(lmdb, p):
    env, ks, vs, setup = _populated(lmdb, p)
    order = datagen.permutation(len(ks), p["seed"] + 2)
    look = [ks[i] for i in order[:min(p["lookups"], len(ks))]]
    begin = env.begin
    with Clock() as clock:
        for k in look:
            with begin() as txn:
                txn.get(k)
    _verify(env, ks, vs)
    env.close()
    return {"ops": len(look), "seconds": clock.seconds, "extra": {"setup_seconds": setup}}


def small_txns(lmdb, p):
    ks, vs = _data(p)
    n = min(p["txns"], len(ks))
    ks, vs = ks[:n], vs[:n]
    env = _open(lmdb, p)
    begin = env.begin
    with Clock() as clock:
        for k, v in zip(ks, vs):
            with begin(write=True) as txn:
                txn.put(k, v)
    _verify(env, ks, vs)
    env.close()
    return {"ops": n, "seconds": clock.seconds, "extra": {}}
