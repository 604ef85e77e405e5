"""Write LMDB environments for the verifier tests.

    python make_files.py OUTDIR [SCENARIO ...]          # py-lmdb 3.0
    python make_files.py --zlmdb OUTDIR [SCENARIO ...]  # zlmdb.lmdb

With py-lmdb 3.0 (run by tests/python/pylmdb3_env.py) each scenario is written twice, by LMDB 0.9.36
and by LMDB 1.0.2, as OUTDIR/<scenario>-0.9/ and OUTDIR/<scenario>-1.0/;
with --zlmdb once, by zlmdb.lmdb's LMDB, as OUTDIR/<scenario>-zlmdb/.  They
are directory environments, except "single", a file OUTDIR/single-<v>.mdb.
Prints the paths written, one per line.
"""
import os
import struct
import sys

if sys.argv[1:2] == ["--zlmdb"]:
    import zlmdb.lmdb as lmdb
    ENGINES = {"zlmdb": {}}
    del sys.argv[1]
else:
    import lmdb
    ENGINES = {"0.9": {"lib_version": 0}, "1.0": {"lib_version": 1}}


def plain(env):
    with env.begin(write=True) as t:
        for i in range(300):
            t.put(b"key%05d" % i, b"value-%d" % i)


def deletions(env):
    with env.begin(write=True) as t:
        for i in range(3000):
            t.put(b"k%06d" % i, b"v" * 25)
    with env.begin(write=True) as t:
        for i in range(0, 3000, 2):
            t.delete(b"k%06d" % i)


def overflow(env):
    with env.begin(write=True) as t:
        for i in range(30):
            t.put(b"big%03d" % i, b"x" * (5000 + 300 * i))
        t.put(b"small", b"s")


def dupsort(env):
    db = env.open_db(b"dups", dupsort=True)
    with env.begin(write=True) as t:
        for i in range(40):
            for j in range(20 if i % 4 else 400):       # inline and promoted sets
                t.put(b"k%03d" % i, b"dupvalue-%06d" % j, db=db)


def dupfixed(env):
    db = env.open_db(b"fixed", dupsort=True, dupfixed=True)
    idb = env.open_db(b"intdup", dupsort=True, dupfixed=True, integerdup=True)
    with env.begin(write=True) as t:
        for i in range(12):
            for j in range(30 if i % 3 else 900):
                t.put(b"k%03d" % i, struct.pack("<Q", j * 5), db=db)
                t.put(b"k%03d" % i, struct.pack("<I", j * 3), db=idb)


def keys(env):
    ints = env.open_db(b"ints", integerkey=True)
    rev = env.open_db(b"rev", reverse_key=True)
    both = env.open_db(b"both", reverse_key=True, integerkey=True)
    with env.begin(write=True) as t:
        for i in range(1500):
            t.put(struct.pack("<Q", (i * 7919) % 100003), b"v", db=ints)
            t.put(b"r%06d" % i, b"v", db=rev)
            t.put(struct.pack("<Q", (i * 11) % 5000), b"v", db=both)


def named(env):
    env.open_db(b"created_but_empty")
    for n in range(6):
        db = env.open_db(b"n%d" % n, dupsort=bool(n % 2))
        with env.begin(write=True) as t:
            for i in range(200):
                for j in range(3 if n % 2 else 1):
                    t.put(b"k%04d" % i, b"v%d-%d" % (i, j), db=db)


def freelist_overflow(env):
    with env.begin(write=True) as t:
        for i in range(1200):
            t.put(b"k%06d" % i, b"x" * 5000)
    with env.begin(write=True) as t:
        for i in range(1200):
            t.delete(b"k%06d" % i)


def writemap(env):
    dupsort(env)
    deletions(env)


SCENARIOS = {
    "empty": lambda env: None, "plain": plain, "deletions": deletions,
    "overflow": overflow, "dupsort": dupsort, "dupfixed": dupfixed, "keys": keys,
    "named": named, "freelist_overflow": freelist_overflow, "writemap": writemap,
    "single": plain,
}


def main(out, names):
    for name in names or SCENARIOS:
        for tag, engine in ENGINES.items():
            if name == "single":
                path = os.path.join(out, "single-%s.mdb" % tag)
            else:
                path = os.path.join(out, "%s-%s" % (name, tag))
            env = lmdb.open(path, subdir=name != "single", max_dbs=16,
                            map_size=64 << 20, writemap=name == "writemap", **engine)
            try:
                SCENARIOS[name](env)
                env.sync(True)
            finally:
                env.close()
            print(path)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
