"""System 4: corrupt and hostile files.

build():  a valid environment (named dbs: plain, dupsort, integerkey; main db
          deep enough for branch pages; overflow values), built with the
          implementation under test.
damage:   every kind below makes a damaged copy of data.mdb (fresh lock file)
          from a seeded Random; the layout constants are LMDB 0.9's (64-bit):
          page header 16 bytes, meta at offset 16 of pages 0 and 1.
probe():  in a child process: open the env, list dbs(), open every named db
          (create=False), scan each forwards and backwards, get() every key,
          iterate dups, stat().  Outcome "ok" or "lmdb:<ExceptionClass>" is
          acceptable; "other:<class>" (a non-lmdb Python exception) is wrong
          behaviour; a signal death / sanitizer report / hang is a crash.

Usage as a child:  corrupt.py probe IMPL ENVDIR
"""
import hashlib
import os
import random
import shutil
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness as H  # noqa: E402

PSIZE = 4096
META = 16                      # meta struct offset within page 0 / 1
OFF_MAGIC, OFF_VERSION, OFF_MAPSIZE = META + 0, META + 4, META + 16
OFF_FREE_DB, OFF_MAIN_DB = META + 24, META + 24 + 48
OFF_LAST_PG, OFF_TXNID = META + 120, META + 128
DB_DEPTH, DB_ENTRIES, DB_ROOT = 6, 32, 40  # within an MDB_db


def build(path, impl="zlmdb"):
    lmdb = H.import_impl(impl)
    env = lmdb.open(path, map_size=32 << 20, max_dbs=8)
    plain = env.open_db(b"plain")
    dup = env.open_db(b"dups", dupsort=True)
    ints = env.open_db(b"ints", integerkey=True)
    with env.begin(write=True) as txn:
        for i in range(3000):
            txn.put(b"main/%06d" % i, hashlib.sha1(b"%d" % i).digest() * (1 + i % 5))
        for i in range(200):
            txn.put(b"k%04d" % i, b"v" * (i * 37 % 9000), db=plain)
        for i in range(100):
            for j in range(i % 20 + 1):
                txn.put(b"d%03d" % i, b"dup%04d" % j, db=dup)
        for i in range(500):
            txn.put(struct.pack("=Q", i * 7919), b"i%d" % i, db=ints)
    # a second txn so both meta pages are in use, and a freelist
    with env.begin(write=True) as txn:
        for i in range(0, 3000, 7):
            txn.delete(b"main/%06d" % i)
        txn.put(b"main/last", b"x" * 20000)
    env.close()


def _rw(path, off, data):
    with open(path, "r+b") as f:
        f.seek(off)
        f.write(data)


def _pages(path):
    return os.path.getsize(path) // PSIZE


# Each damage function gets (envdir, rnd) for a fresh copy and mutates it.
def d_truncate(d, rnd):
    f = os.path.join(d, "data.mdb")
    size = os.path.getsize(f)
    cut = rnd.choice([0, 1, 15, 100, PSIZE - 1, PSIZE, PSIZE + 1, 2 * PSIZE - 1, 2 * PSIZE,
                      3 * PSIZE, size // 2, size - PSIZE, size - 1, rnd.randrange(size)])
    os.truncate(f, cut)
    return "truncate to %d of %d" % (cut, size)


def d_meta_magic(d, rnd):
    f = os.path.join(d, "data.mdb")
    which = rnd.choice([[0], [1], [0, 1]])
    for m in which:
        _rw(f, m * PSIZE + rnd.choice([OFF_MAGIC, OFF_VERSION]), struct.pack("=I", rnd.getrandbits(32)))
    return "magic/version of meta %r" % which


def d_meta_field(d, rnd):
    """Huge or wrong declared sizes/pointers in a meta page."""
    f = os.path.join(d, "data.mdb")
    m = rnd.choice([0, 1])
    field, off = rnd.choice([("mapsize", OFF_MAPSIZE), ("last_pg", OFF_LAST_PG),
                             ("txnid", OFF_TXNID), ("main.root", OFF_MAIN_DB + DB_ROOT),
                             ("free.root", OFF_FREE_DB + DB_ROOT),
                             ("main.depth", OFF_MAIN_DB + DB_DEPTH),
                             ("main.entries", OFF_MAIN_DB + DB_ENTRIES)])
    val = rnd.choice([0, 1, 2, 3, 0xFFFF, 2 ** 31, 2 ** 32 + 1, 2 ** 63, 2 ** 64 - 1,
                      _pages(f), _pages(f) + 1])
    if field == "main.depth":
        _rw(f, m * PSIZE + off, struct.pack("=H", val & 0xFFFF))
    else:
        _rw(f, m * PSIZE + off, struct.pack("=Q", val))
    return "meta %d %s=%d" % (m, field, val)


def d_meta_flip(d, rnd):
    f = os.path.join(d, "data.mdb")
    flips = []
    for _ in range(rnd.randint(1, 4)):
        off = rnd.choice([0, PSIZE]) + rnd.randrange(0, META + 144)
        bit = 1 << rnd.randrange(8)
        with open(f, "r+b") as fh:
            fh.seek(off)
            b = fh.read(1)[0]
            fh.seek(off)
            fh.write(bytes([b ^ bit]))
        flips.append((off, bit))
    return "meta flips %r" % flips


def d_page_flip(d, rnd):
    f = os.path.join(d, "data.mdb")
    n = _pages(f)
    flips = []
    for _ in range(rnd.randint(1, 8)):
        pg = rnd.randrange(2, n)
        # header bytes and the node pointer area are the interesting part
        off = pg * PSIZE + (rnd.randrange(0, 64) if rnd.random() < 0.6 else rnd.randrange(PSIZE))
        bit = 1 << rnd.randrange(8)
        with open(f, "r+b") as fh:
            fh.seek(off)
            b = fh.read(1)[0]
            fh.seek(off)
            fh.write(bytes([b ^ bit]))
        flips.append((off, bit))
    return "page flips %r" % flips


def d_page_zero(d, rnd):
    f = os.path.join(d, "data.mdb")
    pg = rnd.randrange(2, _pages(f))
    _rw(f, pg * PSIZE, b"\0" * PSIZE)
    return "zero page %d" % pg


def d_page_garbage(d, rnd):
    f = os.path.join(d, "data.mdb")
    pg = rnd.randrange(2, _pages(f))
    _rw(f, pg * PSIZE, bytes(rnd.getrandbits(8) for _ in range(PSIZE)))
    return "garbage page %d" % pg


def d_page_header(d, rnd):
    """Plausible-looking but wrong page headers: flags, lower/upper bounds."""
    f = os.path.join(d, "data.mdb")
    pg = rnd.randrange(2, _pages(f))
    field, off, fmt = rnd.choice([("pgno", 0, "=Q"), ("pad", 8, "=H"), ("flags", 10, "=H"),
                                  ("lower", 12, "=H"), ("upper", 14, "=H"),
                                  ("overflow_pages", 12, "=I")])
    val = rnd.choice([0, 1, 2, 0x10, 0x7FFF, 0xFFFF, PSIZE, PSIZE + 16])
    _rw(f, pg * PSIZE + off, struct.pack(fmt, val & (0xFFFF if fmt == "=H" else 0xFFFFFFFF)))
    return "page %d %s=%d" % (pg, field, val)


def d_garbage_file(d, rnd):
    f = os.path.join(d, "data.mdb")
    size = rnd.choice([1, 100, PSIZE, 2 * PSIZE, 3 * PSIZE, 64 * 1024])
    with open(f, "wb") as fh:
        fh.write(bytes(rnd.getrandbits(8) for _ in range(size)))
    return "garbage data.mdb of %d bytes" % size


def d_lock_garbage(d, rnd):
    f = os.path.join(d, "lock.mdb")
    size = rnd.choice([0, 1, 100, PSIZE, 8192, 3 * PSIZE])
    with open(f, "wb") as fh:
        fh.write(bytes(rnd.getrandbits(8) for _ in range(size)))
    return "garbage lock.mdb of %d bytes" % size


def d_paths(d, rnd):
    """data.mdb / lock.mdb as directories, dangling and looping symlinks,
    a fifo, an empty file."""
    kind = rnd.choice(["data_dir", "lock_dir", "data_symlink_loop", "data_dangling",
                       "data_fifo", "data_empty", "env_is_file"])
    f = os.path.join(d, "data.mdb")
    if kind == "data_dir":
        os.remove(f)
        os.mkdir(f)
    elif kind == "lock_dir":
        lk = os.path.join(d, "lock.mdb")
        if os.path.exists(lk):
            os.remove(lk)
        os.mkdir(lk)
    elif kind == "data_symlink_loop":
        os.remove(f)
        os.symlink(f, f)
    elif kind == "data_dangling":
        os.remove(f)
        os.symlink(os.path.join(d, "nowhere"), f)
    elif kind == "data_fifo":
        os.remove(f)
        os.mkfifo(f)
    elif kind == "data_empty":
        open(f, "wb").close()
    elif kind == "env_is_file":
        shutil.rmtree(d)
        with open(d, "wb") as fh:
            fh.write(b"not a directory")
    return kind


KINDS = {
    "truncate": d_truncate, "meta_magic": d_meta_magic, "meta_field": d_meta_field,
    "meta_flip": d_meta_flip, "page_flip": d_page_flip, "page_zero": d_page_zero,
    "page_garbage": d_page_garbage, "page_header": d_page_header,
    "garbage_file": d_garbage_file, "lock_garbage": d_lock_garbage, "paths": d_paths,
}


def probe(impl, path):
    lmdb = H.import_impl(impl)
    stats = {"records": 0}
    try:
        env = lmdb.open(path, map_size=32 << 20, max_dbs=8, create=False)
        try:
            with env.begin() as txn:
                names = env.dbs(txn)
                dbs = [(None, False)]
                for n in names:
                    db = env.open_db(n, txn=txn, create=False)
                    dbs.append((db, db.flags()["dupsort"]))
                for db, dupsort in dbs:
                    txn.stat(db)
                    cur = txn.cursor(db)
                    keys = []
                    for k, v in cur:
                        keys.append(k)
                        stats["records"] += 1
                        if stats["records"] > 200000:
                            raise RuntimeError("scan does not terminate")
                    back = sum(1 for _ in txn.cursor(db).iterprev())
                    if back > 200000:
                        raise RuntimeError("scan does not terminate")
                    for k in keys[:5000]:
                        txn.get(k, db=db)
                        if dupsort:
                            c = txn.cursor(db)
                            if c.set_key(k):
                                c.count()
                                list(c.iternext_dup())
            env.stat()
            env.info()
        finally:
            env.close()
        outcome = "ok"
    except lmdb.Error as e:
        outcome = "lmdb:" + type(e).__name__
    except Exception as e:  # a non-lmdb exception is wrong behaviour, not a crash
        outcome = "other:%s:%s" % (type(e).__name__, str(e)[:80])
    H.emit({"outcome": outcome, "records": stats["records"]})


def campaign(workdir, per_kind, seed=1, impls=("zlmdb", "pylmdb"), kinds=None,
             corpus_dir=None, log=None, timeout=120):
    """Damage copies of one valid env; probe each with each impl."""
    base = os.path.join(workdir, "base")
    out = {"failures": [], "kinds": {}, "crashes": []}
    if not os.path.exists(os.path.join(base, "data.mdb")):
        res = H.run_script("corrupt.py", ["build", base], timeout=300)
        if res.crash or res.returncode:
            out["failures"].append("build: " + res.describe())
            return out
    for kind in (kinds or sorted(KINDS)):
        row = out["kinds"].setdefault(kind, {})
        for i in range(per_kind):
            what = None
            for impl in impls:
                r = row.setdefault(impl, {"tried": 0, "ok": 0, "lmdb_error": 0, "other": 0,
                                          "crash": 0, "outcomes": {}})
                # each impl gets a fresh, identically damaged copy (a probe
                # may create or modify lock.mdb)
                dd = os.path.join(workdir, "case-%s-%s" % (kind, impl))
                _rmtree(dd)
                os.mkdir(dd)
                shutil.copy(os.path.join(base, "data.mdb"), os.path.join(dd, "data.mdb"))
                what = KINDS[kind](dd, random.Random("%s/%s/%d" % (seed, kind, i)))
                res = H.run_script("corrupt.py", ["probe", impl, dd], timeout=timeout)
                info = res.json()
                r["tried"] += 1
                if res.crash or info is None:
                    r["crash"] += 1
                    why = res.crash or ("no result rc=%s" % res.returncode)
                    saved = None
                    if corpus_dir and impl == "zlmdb":
                        saved = os.path.join(corpus_dir, "crash-%s-%s-%d" % (kind, seed, i))
                        _copytree(dd, saved)
                    out["crashes"].append({"impl": impl, "kind": kind, "case": i,
                                           "damage": what, "why": why, "saved": saved,
                                           "stderr": res.stderr[-1500:]})
                    if impl == "zlmdb":
                        out["failures"].append("%s #%d (%s): %s" % (kind, i, what, why))
                else:
                    o = info["outcome"]
                    key = "ok" if o == "ok" else ("lmdb_error" if o.startswith("lmdb:") else "other")
                    r[key] += 1
                    short = o.split(":")[0] + ":" + o.split(":")[1] if ":" in o else o
                    r["outcomes"][short] = r["outcomes"].get(short, 0) + 1
                    if key == "other" and impl == "zlmdb":
                        out["failures"].append("%s #%d (%s): %s" % (kind, i, what, o))
                _rmtree(dd)
            if log:
                log("%s #%d: %s" % (kind, i, what))
    return out


def _copytree(src, dst):
    _rmtree(dst)
    if os.path.isdir(src) and not os.path.islink(src):
        shutil.copytree(src, dst, symlinks=True)
    else:
        shutil.copy(src, dst, follow_symlinks=False)


def _rmtree(p):
    if os.path.isdir(p) and not os.path.islink(p):
        shutil.rmtree(p)
    elif os.path.lexists(p):
        os.remove(p)


if __name__ == "__main__":
    a = sys.argv[1:]
    if a[0] == "build":
        build(a[1], a[2] if len(a) > 2 else "zlmdb")
    elif a[0] == "probe":
        probe(a[1], a[2])
    elif a[0] == "reproduce":
        # corrupt.py reproduce KIND SEED CASE OUTDIR: rebuild the base env and
        # apply the same damage as campaign() case (KIND, SEED, CASE).
        kind, seed, case, outdir = a[1], a[2], int(a[3]), a[4]
        build(outdir + ".base")
        os.makedirs(outdir)
        shutil.copy(os.path.join(outdir + ".base", "data.mdb"), os.path.join(outdir, "data.mdb"))
        shutil.rmtree(outdir + ".base")
        print(KINDS[kind](outdir, random.Random("%s/%s/%d" % (seed, kind, case))))
