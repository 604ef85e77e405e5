"""Known hang (found by the random driver, hostile.py seed 18): open_db()
without txn= while the SAME thread holds a write transaction deadlocks forever
(the temporary write txn waits for the writer mutex this thread holds).
py-lmdb 2.3.0 hangs identically.  begin(write=True) raises EBUSY in this
situation instead; open_db's temporary txn has no such guard.
Usage: python this.py [zlmdb|pylmdb]  -> py-lmdb hangs (use timeout); zlmdb raises lmdb.Error (EBUSY).
"""
import importlib
import sys
import tempfile

lmdb = importlib.import_module("lmdb" if sys.argv[1:] == ["pylmdb"] else "zlmdb.lmdb")
env = lmdb.open(tempfile.mkdtemp() + "/e", map_size=1 << 20, max_dbs=4)
txn = env.begin(write=True)
try:
    env.open_db(b"a")  # py-lmdb: never returns
    print("returned")
except lmdb.Error as exc:  # zlmdb refuses it (pass txn=)
    print("refused:", exc)
