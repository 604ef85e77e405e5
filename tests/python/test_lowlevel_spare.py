"""The reader slot of a finished read transaction is kept, reset, and
renewed by the next read begin() even with max_spare_txns=0; readers()
hides it, so the process sees what py-lmdb shows."""
import os
import subprocess
import sys

import zlmdb.lmdb as lmdb

NO_READERS = "(no active readers)\n"


def _other_process_readers(path):
    code = ("import sys, zlmdb.lmdb as l; e = l.open(sys.argv[1], readonly=True, lock=True); "
            "sys.stdout.write(e.readers())")
    return subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True,
                          check=True).stdout


def test_a_finished_read_txn_leaves_a_reset_slot_that_readers_hides(tmp_path):
    path = str(tmp_path / "env")
    env = lmdb.open(path)
    with env.begin(write=True) as txn:
        txn.put(b"k", b"v")
    with env.begin() as txn:
        assert txn.get(b"k") == b"v"
    del txn                     # as in py-lmdb, the slot is kept while the object lives
    # Kept for reuse, pinning no snapshot: another process sees this
    # process's slot with no transaction id.
    lines = _other_process_readers(path).splitlines()
    mine = [ln for ln in lines[1:] if ln.split()[0] == str(os.getpid())]
    assert len(mine) == 1 and mine[0].split()[2] == "-"
    # This process's own view is py-lmdb's: no reader left behind; and the
    # slot has been given back for everyone.
    assert env.readers() == NO_READERS
    assert _other_process_readers(path).count("%d " % os.getpid()) == 0
    env.close()


def test_reuse_keeps_snapshots_right_and_writers_free(tmp_path):
    env = lmdb.open(str(tmp_path / "env"), map_size=1 << 22)
    for i in range(2000):
        with env.begin(write=True) as txn:
            txn.put(b"k", b"%d" % i + b"x" * 500)
        with env.begin() as txn:                 # a renewed slot sees the new commit
            assert txn.get(b"k").startswith(b"%d" % i)
    # The reset slot pins nothing: 2000 overwrites reuse their pages.
    assert env.info()["last_pgno"] < 64
    env.close()


def test_max_spare_txns_1_keeps_the_slot_visible(tmp_path):
    env = lmdb.open(str(tmp_path / "env"), max_spare_txns=1)
    with env.begin() as txn:
        txn.get(b"k")
    del txn
    assert env.readers() != NO_READERS
    env.close()


def test_a_forked_child_does_not_touch_the_parents_kept_slot(tmp_path):
    env = lmdb.open(str(tmp_path / "env"))
    with env.begin(write=True) as txn:
        txn.put(b"k", b"v")
    with env.begin() as txn:
        txn.get(b"k")
    pid = os.fork()
    if pid == 0:
        try:
            with env.begin() as txn:
                ok = txn.get(b"k") == b"v"
            os._exit(0 if ok else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    with env.begin() as txn:                       # ours is still good
        assert txn.get(b"k") == b"v"
    env.close()
