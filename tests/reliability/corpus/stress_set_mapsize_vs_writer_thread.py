"""Race stress: set_mapsize() on the main thread just after it aborts a write
txn that another thread is blocked waiting for.  Written while chasing the
state-machine watchdog reports of the long run (docs/reliability.md, finding
6); zlmdb survives it (2000 rounds), py-lmdb 2.3.0 hangs within 300 rounds.
Prints "no hang", or stops with a faulthandler dump after 20 s without progress.

    python stress_set_mapsize_vs_writer_thread.py [zlmdb|pylmdb] [ROUNDS]
"""
import faulthandler
import importlib
import sys
import tempfile
import threading

lmdb = importlib.import_module("lmdb" if sys.argv[1:2] == ["pylmdb"] else "zlmdb.lmdb")
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 300
env = lmdb.open(tempfile.mkdtemp() + "/e", map_size=8 << 20)
sys.setswitchinterval(0.5)  # keep the GIL with the main thread as long as possible


def writer(ready):
    ready.set()
    try:
        with env.begin(write=True) as txn:  # blocks until main aborts its txn
            txn.put(b"k", b"v")
    except lmdb.Error:
        pass


for i in range(rounds):
    faulthandler.dump_traceback_later(20, exit=True)
    main_txn = env.begin(write=True)
    ready = threading.Event()
    t = threading.Thread(target=writer, args=(ready,))
    t.start()
    ready.wait()
    for _ in range(1000):  # let the writer block in mdb_txn_begin
        pass
    main_txn.abort()       # the writer now gets the mutex, then wants the GIL
    try:
        env.set_mapsize(8 << 20)
    except lmdb.Error:
        pass
    t.join()
faulthandler.cancel_dump_traceback_later()
print("no hang in %d rounds" % rounds)
