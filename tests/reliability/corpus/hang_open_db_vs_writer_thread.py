"""DEADLOCK (found by the hostile.py state machine, seed 1000; py-lmdb 2.3.0 hangs too):
env.open_db() without txn= on one thread while ANOTHER thread holds a write
transaction and needs the GIL to finish it.  open_db's temporary write txn
blocks on LMDB's writer mutex *with the GIL held*, so the writer thread can
never run again to commit.  py-lmdb 2.3.0 deadlocks identically (its open_db
also begins the temporary txn with the GIL held); zlmdb merely hit it first.

    python hang_open_db_vs_writer_thread.py [zlmdb|pylmdb]   (use a timeout)
"""
import importlib
import sys
import tempfile
import threading
import time

lmdb = importlib.import_module("lmdb" if sys.argv[1:] == ["pylmdb"] else "zlmdb.lmdb")
env = lmdb.open(tempfile.mkdtemp() + "/e", map_size=4 << 20, max_dbs=4)
started = threading.Event()


def writer():
    with env.begin(write=True) as txn:
        started.set()
        time.sleep(0.5)          # Python code inside the write txn needs the GIL
        txn.put(b"k", b"v")


t = threading.Thread(target=writer)
t.start()
started.wait()
env.open_db(b"named")            # py-lmdb blocks forever holding the GIL; zlmdb waits
                                 # for the writer with the GIL released
t.join()
print("done")
