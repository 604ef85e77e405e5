"""CRASH (found by hostile.py random seed 4, minimised by minimize.py):
a set_mapsize() whose remap fails leaves the Environment usable, and the
next begin() dereferences the unmapped map -> SIGSEGV.

    python crash_set_mapsize_failed_remap.py [zlmdb|pylmdb] [writemap]
"""
import importlib
import os
import sys
import tempfile

impl = sys.argv[1] if len(sys.argv) > 1 else "zlmdb"
lmdb = importlib.import_module("lmdb" if impl == "pylmdb" else "zlmdb.lmdb")
writemap = "writemap" in sys.argv[2:]
env = lmdb.open(os.path.join(tempfile.mkdtemp(), "e"), map_size=16 << 20, writemap=writemap)
try:
    env.set_mapsize(2 ** 63 - 1)
except lmdb.Error as e:
    print("set_mapsize raised:", type(e).__name__, e)
try:
    txn = env.begin()
    print("begin() ok; get ->", txn.get(b"a"))
except lmdb.Error as e:
    print("begin raised (the safe outcome):", type(e).__name__, e)
