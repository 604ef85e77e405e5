"""Zero-copy values (buffers=True) never fault: memoryviews and NumPy arrays
over them stay readable after their transaction ends, after the environment
or Database is closed, across a map resize, a reopen and a fork.

The two reproductions of the issue (a view, a NumPy array read after close,
each in a child interpreter) are in test_user_mistakes.py.
"""
import gc
import os

import pytest

import zlmdb
import zlmdb.lmdb as zl

BIG = bytes(range(256)) * 40          # 10 KiB: an overflow page of its own


def _fill(env):
    with env.begin(write=True) as txn:
        txn.put(b"big", BIG)
        txn.put(b"small", b"hello")
        txn.put(b"empty", b"")


def test_memoryview_reads_after_txn_end_and_env_close(env):
    _fill(env)
    txn = env.begin(buffers=True)
    big, small, empty = txn.get(b"big"), txn.get(b"small"), txn.get(b"empty")
    key = next(iter(txn.cursor()))[0]
    txn.abort()
    assert bytes(big) == BIG and bytes(small) == b"hello"
    env.close()
    assert bytes(big) == BIG and bytes(small) == b"hello" and bytes(empty) == b""
    assert bytes(key) == b"big" and big.readonly
    assert big.obj is None                  # as py-lmdb's raw memoryviews
    with pytest.raises(TypeError):
        big[0] = 1


def test_slices_and_released_views_keep_or_free_the_mapping(env):
    _fill(env)
    with env.begin(buffers=True) as txn:
        part = txn.get(b"big")[10:20]
        whole = txn.get(b"small")
    env.close()
    whole.release()
    with pytest.raises(ValueError):
        bytes(whole)
    assert bytes(part) == BIG[10:20]


def test_views_survive_set_mapsize(env):
    _fill(env)
    with env.begin(buffers=True) as txn:
        before = txn.get(b"big")
    env.set_mapsize(256 << 20)        # LMDB unmaps and maps again
    assert bytes(before) == BIG
    with env.begin(buffers=True) as txn:
        after = txn.get(b"big")
    env.set_mapsize(512 << 20)
    assert bytes(after) == BIG and bytes(before) == BIG


def test_views_kept_across_a_reopen_of_the_same_files(path):
    env = zl.open(path, map_size=64 << 20)
    _fill(env)
    with env.begin(buffers=True) as txn:
        old = txn.get(b"small")
    env.close()
    # The open-twice guard does not see the closed env: the files reopen.
    env2 = zl.open(path, map_size=64 << 20)
    with env2.begin(write=True) as txn:
        txn.put(b"other", b"x" * 5000)
    with env2.begin(buffers=True) as txn:
        new = txn.get(b"small")
    env2.close()
    assert bytes(old) == b"hello" and bytes(new) == b"hello"


def test_values_of_a_write_txn_are_safe_after_commit(env):
    # Pages a write transaction dirtied live in LMDB's heap until commit:
    # such values are copied, so reading them later is no use-after-free.
    _fill(env)
    txn = zl.Transaction(env, write=True, buffers=True)
    txn.put(b"fresh", b"y" * 3000)
    fresh, small = txn.get(b"fresh"), txn.get(b"small")
    txn.commit()
    env.close()
    assert bytes(fresh) == b"y" * 3000 and bytes(small) == b"hello"


def test_views_of_a_deleted_database_still_read(tmp_path):
    import shutil
    path = str(tmp_path / "gone")
    env = zl.open(path)
    _fill(env)
    with env.begin(buffers=True) as txn:
        mv = txn.get(b"big")
    env.close()
    shutil.rmtree(path)
    assert bytes(mv) == BIG


def test_views_read_in_a_forked_child(env):
    _fill(env)
    with env.begin(buffers=True) as txn:
        mv = txn.get(b"big")
        pid = os.fork()
        if pid == 0:                               # child: env is unusable,
            ok = bytes(mv) == BIG                  # the view still reads
            os._exit(0 if ok else 3)
        _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert bytes(mv) == BIG


def test_numpy_array_over_a_view_after_close(env):
    np = pytest.importorskip("numpy")
    _fill(env)
    with env.begin(buffers=True) as txn:
        arr = np.frombuffer(txn.get(b"big"), dtype=np.uint8)
    env.close()
    gc.collect()
    assert arr.sum() == sum(BIG) and not arr.flags.writeable


def _grid_db(path):
    np = pytest.importorskip("numpy")
    db = zlmdb.Database(path)
    grids = zlmdb.MapStringNumpy(1)
    with db.begin(write=True) as txn:
        grids[txn, "heat"] = np.arange(4096, dtype="float64").reshape(64, 64)
    return np, db, grids


def test_orm_numpy_view_after_txn_end_and_db_close(tmp_path):
    np, db, grids = _grid_db(str(tmp_path / "db"))
    with db.begin(buffers=True) as txn:
        heat = grids[txn, "heat"]
    total = float(heat.sum())
    db.close()
    assert float(heat.sum()) == total == float(np.arange(4096).sum())
    assert heat.shape == (64, 64) and not heat.flags.writeable


def test_orm_numpy_views_survive_growth(tmp_path):
    # growth= resizes the map in the middle of a write: arrays read before
    # keep reading.
    np = pytest.importorskip("numpy")
    db = zlmdb.Database(str(tmp_path / "g"), maxsize=64 << 20, growth=2)
    grids = zlmdb.MapOidNumpy(1)
    with db.begin(write=True) as txn:
        grids[txn, 0] = np.full(1000, 7.0)
    with db.begin(buffers=True) as txn:
        first = grids[txn, 0]
    size = db._env.info()["map_size"]
    with db.begin(write=True) as txn:
        for i in range(1, 40):
            grids[txn, i] = np.full(100000, float(i))
    assert db._env.info()["map_size"] > size       # it did grow
    db.close()
    assert float(first.sum()) == 7000.0
