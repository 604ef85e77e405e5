"""close() while this thread holds a write txn and another thread is blocked
in begin(write=True) waiting for it.  zlmdb ends its own writer first and
completes; py-lmdb 2.3.0 deadlocks (close waits for the blocked begin, which
waits for the write lock close has not released yet).

    python stress_close_vs_blocked_writer.py [zlmdb|pylmdb]   -> "done"
"""
import faulthandler
import importlib
import sys
import tempfile
import threading
import time

lmdb = importlib.import_module("lmdb" if sys.argv[1:2] == ["pylmdb"] else "zlmdb.lmdb")
faulthandler.dump_traceback_later(20, exit=True)
env = lmdb.open(tempfile.mkdtemp() + "/e", map_size=4 << 20)
main_txn = env.begin(write=True)


def writer():
    try:
        with env.begin(write=True) as t:   # blocks, GIL released
            t.put(b"k", b"v")
    except lmdb.Error:
        pass


t = threading.Thread(target=writer, daemon=True)
t.start()
time.sleep(0.5)
env.close()
t.join(10)
print("done" if not t.is_alive() else "writer still blocked")
