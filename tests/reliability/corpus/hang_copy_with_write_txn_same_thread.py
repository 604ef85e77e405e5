"""Known hang (found by the random driver, hostile.py seed 2): a non-compact
env.copy()/env.copyfd() while the SAME thread holds a write transaction
deadlocks forever (LMDB's mdb_env_copyfd0 locks the writer mutex this thread
already holds).  py-lmdb 2.3.0 hangs identically; compact=True does not hang.
begin(write=True) has a same-thread guard that raises EBUSY instead; copy and
copyfd have none.  Usage: python this.py [zlmdb|pylmdb]  -> py-lmdb hangs (use timeout); zlmdb raises lmdb.Error (EBUSY).
"""
import importlib
import os
import sys
import tempfile

lmdb = importlib.import_module("lmdb" if sys.argv[1:] == ["pylmdb"] else "zlmdb.lmdb")
d = tempfile.mkdtemp()
env = lmdb.open(os.path.join(d, "e"), map_size=1 << 20)
txn = env.begin(write=True)
fd = os.open(os.devnull, os.O_WRONLY)
try:
    env.copyfd(fd)  # py-lmdb: never returns
    print("returned")
except lmdb.Error as exc:  # zlmdb refuses it, as begin(write=True) does
    print("refused:", exc)
