"""put/get/scan of small records on PyPy: zlmdb.lmdb (our CFFI binding)
against py-lmdb 3.0.0's cffi backend (the binding upstream zlmdb vendors),
in the same interpreter, each in its own subprocess.

    pypy3 bench/pypy_lowlevel.py [--n 100000] [--repeat 5]

Prints ops/s per workload (best of --repeat, after one warm-up round for the
JIT) and our ratio to py-lmdb.  Needs `lmdb==3.0.0` installed (on PyPy it
builds its cffi backend from the sdist).
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time

CHILD = r"""
import json, sys, tempfile, time
which, n, repeat = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if which == "zlmdb":
    import zlmdb.lmdb as lmdb
else:
    import lmdb
keys = [b"%016d" % i for i in range(n)]
val = b"v" * 32
best = {}
for rnd in range(repeat + 1):
    env = lmdb.open(tempfile.mkdtemp(), map_size=1 << 30, sync=False, metasync=False)
    t0 = time.perf_counter()
    with env.begin(write=True) as txn:
        put = txn.put
        for k in keys:
            put(k, val)
    t1 = time.perf_counter()
    with env.begin() as txn:
        get = txn.get
        for k in keys:
            get(k)
    t2 = time.perf_counter()
    with env.begin() as txn:
        cnt = 0
        for k, v in txn.cursor():
            cnt += 1
    t3 = time.perf_counter()
    assert cnt == n
    env.close()
    if rnd == 0:
        continue      # the JIT's warm-up
    for name, dt in (("put", t1 - t0), ("get", t2 - t1), ("scan", t3 - t2)):
        best[name] = max(best.get(name, 0), n / dt)
print(json.dumps(best))
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100000)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    res = {}
    for which in ("zlmdb", "py-lmdb"):
        out = subprocess.run([sys.executable, "-c", CHILD, which, str(a.n), str(a.repeat)],
                             capture_output=True, text=True, check=True, cwd=tempfile.gettempdir())
        res[which] = json.loads(out.stdout)
    print("%-6s %14s %14s %7s" % ("op", "zlmdb ops/s", "py-lmdb ops/s", "ratio"))
    for op in ("put", "get", "scan"):
        z, p = res["zlmdb"][op], res["py-lmdb"][op]
        print("%-6s %14.0f %14.0f %6.2fx" % (op, z, p, z / p))


if __name__ == "__main__":
    main()
