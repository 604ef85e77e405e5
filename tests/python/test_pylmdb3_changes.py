"""Behaviour py-lmdb 3.0 changed (its ChangeLog), which zlmdb.lmdb follows.

py-lmdb's own suite checks these too (make compat); these tests keep them
in `make test`, on both engines where the engine matters.
"""
import os
import threading

import pytest

import zlmdb.lmdb as zl

ENGINES = [0, 1]


@pytest.fixture(params=ENGINES, ids=["lmdb0.9", "lmdb1.0"])
def lib_version(request):
    return request.param


def test_open_twice_is_judged_by_files_not_paths(tmp_path, lib_version):
    """An environment deleted and re-created at the path of one still open
    shares nothing with it and opens; the same files through a hard link are
    the same environment and are refused (py-lmdb #491)."""
    path = str(tmp_path / "env")
    old = zl.open(path, lib_version=lib_version)
    try:
        with pytest.raises(zl.Error, match="already open in this process") as info:
            zl.open(path, lib_version=lib_version)
        assert info.value.code == 0
        for name in ("data.mdb", "lock.mdb"):
            os.unlink(os.path.join(path, name))
        new = zl.open(path, lib_version=lib_version)
        with new.begin(write=True) as txn:
            txn.put(b"k", b"new")
        with old.begin() as txn:
            assert txn.get(b"k") is None
        new.close()
    finally:
        old.close()

    single = str(tmp_path / "single.mdb")
    env = zl.open(single, subdir=False, lib_version=lib_version)
    try:
        os.link(single, single + ".link")
        os.link(single + "-lock", single + ".link-lock")
        with pytest.raises(zl.Error, match="already open in this process"):
            zl.open(single + ".link", subdir=False)
    finally:
        env.close()
    zl.open(single + ".link", subdir=False).close()     # closed: open again


def test_threads_opening_the_same_files_at_once_get_one_handle(tmp_path, lib_version):
    """The "already open" check and the recording of the new handle's files
    are one step for other threads, although LMDB's open between them runs
    without the GIL: of threads that open one path at the same moment,
    exactly one gets a handle and the rest the "already open" error."""
    for round_ in range(10):
        path = str(tmp_path / ("env%d" % round_))
        if round_ % 2:
            zl.open(path, lib_version=lib_version).close()    # files exist beforehand
        start = threading.Barrier(6)
        opened, refused, other = [], [], []

        def worker():
            start.wait()
            try:
                opened.append(zl.open(path, lib_version=lib_version))
            except zl.Error as exc:
                (refused if "already open in this process" in str(exc) else other).append(exc)

        threads = [threading.Thread(target=worker) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        try:
            assert other == []
            assert (len(opened), len(refused)) == (1, 5)
        finally:
            for env in opened:
                env.close()


def test_a_new_data_file_beside_an_open_lock_file_is_refused(tmp_path):
    path = str(tmp_path / "env")
    env = zl.open(path)
    try:
        os.unlink(os.path.join(path, "data.mdb"))
        with pytest.raises(zl.Error, match="already open in this process"):
            zl.open(path)
    finally:
        env.close()


def test_sync_takes_force_by_keyword(tmp_path):
    env = zl.open(str(tmp_path), sync=False)
    try:
        env.sync(force=True)
        env.sync(True)
        env.sync()
        with pytest.raises(TypeError):
            env.sync(nosuch=True)
    finally:
        env.close()


def test_set_range_dup_miss_leaves_the_cursor_unpositioned(tmp_path, lib_version):
    env = zl.open(str(tmp_path), max_dbs=1, lib_version=lib_version)
    db = env.open_db(b"d", dupsort=True)
    with env.begin(write=True, db=db) as txn:
        cur = txn.cursor()
        for key, value in ((b"a", b"1"), (b"a", b"3"), (b"z", b"9")):
            cur.put(key, value)
        assert cur.set_range_dup(b"a", b"2") and cur.item() == (b"a", b"3")
        assert not cur.set_range_dup(b"m", b"0")
        assert cur.item() == (b"", b"")
        assert cur.set_range_dup(b"a", b"1") and cur.item() == (b"a", b"1")
        assert not cur.set_range_dup(b"a", b"4")
        assert cur.item() == (b"", b"") and cur.key() == b"" and cur.value() == b""
    env.close()


def test_append_uses_the_flags_of_the_database_written(tmp_path, lib_version):
    env = zl.open(str(tmp_path), max_dbs=2, lib_version=lib_version)
    dup = env.open_db(b"dup", dupsort=True)
    plain = env.open_db(b"plain")
    with env.begin(write=True) as txn:          # its default: main, not dupsort
        assert txn.put(b"k", b"1", db=dup)
        assert txn.put(b"k", b"2", append=True, db=dup)
        assert txn.cursor(dup).put(b"k", b"3", append=True)
        assert txn.cursor(dup).putmulti([(b"k", b"4")], append=True) == (1, 1)
        assert not txn.cursor(dup).put(b"k", b"0", append=True)    # out of order
        assert [v for _, v in txn.cursor(dup)] == [b"1", b"2", b"3", b"4"]
    with env.begin(write=True, db=dup) as txn:  # its default: dupsort
        assert txn.put(b"m", b"1", append=True, db=plain)
        assert not txn.put(b"a", b"1", append=True, db=plain)
        assert txn.cursor(plain).put(b"n", b"1", append=True)
    env.close()


def test_parent_abort_waits_for_a_child_commit_on_another_thread(tmp_path):
    """The child's commit runs inside its parent's LMDB transaction with the
    GIL released; aborting the parent meanwhile must wait, not free it."""
    env = zl.open(str(tmp_path), map_size=1 << 24)
    try:
        for _ in range(50):
            parent = env.begin(write=True)
            child = env.begin(write=True, parent=parent)
            for j in range(50):
                child.put(j.to_bytes(8, "big"), b"x" * 200)
            errors = []

            def commit(child=child, errors=errors):
                try:
                    child.commit()
                except zl.Error as exc:     # ended by the parent first
                    errors.append(exc)
            worker = threading.Thread(target=commit)
            worker.start()
            parent.abort()
            worker.join()
            with pytest.raises(zl.Error, match="closed/deleted/dropped"):
                child.get(b"k")
        with env.begin() as txn:
            assert txn.stat()["entries"] == 0     # nothing was committed
    finally:
        env.close()


def test_dbs_lists_the_same_names_on_both_engines(tmp_path, lib_version):
    """LMDB 1.0 stores a name with its trailing NUL; dbs() leaves it out."""
    env = zl.open(str(tmp_path), max_dbs=3, lib_version=lib_version)
    try:
        for name in (b"b", b"a"):
            env.open_db(name)
        with env.begin(write=True) as txn:
            txn.put(b"plain", b"record")            # not a database
        assert env.dbs() == [b"a", b"b"]
        with env.begin() as txn:
            assert env.dbs(txn=txn) == [b"a", b"b"]
        assert env.open_db(env.dbs()[0], create=False).flags()["dupsort"] is False
    finally:
        env.close()


def test_read_only_child_transactions(tmp_path, lib_version):
    """LMDB 1.0 has read-only children of a write transaction; on 0.9 asking
    for one raises InvalidParameterError.  A finished child is never kept as
    the spare snapshot of later read transactions."""
    env = zl.open(str(tmp_path), lib_version=lib_version, max_spare_txns=1)
    try:
        parent = env.begin(write=True)
        parent.put(b"k", b"v")
        if lib_version == 0:
            with pytest.raises(zl.InvalidParameterError, match="require the LMDB 1.0"):
                env.begin(parent=parent)
            parent.abort()
            return
        children = [env.begin(parent=parent) for _ in range(2)]
        assert [c.get(b"k") for c in children] == [b"v", b"v"]
        children[0].abort()
        children[1].commit()
        del children
        with env.begin() as txn:
            assert txn.get(b"k") is None        # a snapshot, not the child
        parent.commit()
        with env.begin() as txn:
            assert txn.get(b"k") == b"v"
    finally:
        env.close()


def test_children_end_with_their_parent(tmp_path):
    env = zl.open(str(tmp_path))
    try:
        for finish in ("abort", "commit"):
            parent = env.begin(write=True)
            child = env.begin(write=True, parent=parent)
            child.put(b"k", b"v")
            getattr(parent, finish)()
            with pytest.raises(zl.Error, match="closed/deleted/dropped"):
                child.get(b"k")
            child.abort()                       # allowed, does nothing
    finally:
        env.close()


def test_drop_with_delete_closes_that_databases_cursors(tmp_path, lib_version):
    env = zl.open(str(tmp_path), max_dbs=2, lib_version=lib_version)
    try:
        db = env.open_db(b"d")
        with env.begin(write=True) as txn:
            txn.put(b"k", b"v", db=db)
            txn.put(b"m", b"main")
            emptied, deleted, main = txn.cursor(db), txn.cursor(db), txn.cursor()
            it = deleted.iternext()
            assert emptied.first() and deleted.first()
            txn.drop(db, delete=False)              # emptied: cursors stay usable
            assert emptied.key() == b"" and not emptied.first()
            assert emptied.put(b"n", b"1")
            txn.drop(db, delete=True)
            for call in (deleted.first, emptied.first, lambda: next(it)):
                with pytest.raises(zl.Error, match="closed/deleted/dropped") as info:
                    call()
                assert type(info.value) is zl.Error
            assert main.first() and main.item() == (b"m", b"main")   # untouched
    finally:
        env.close()


def test_zero_length_dupsort_value_is_refused(tmp_path, lib_version):
    """LMDB 0.9.36 (ITS#10522) refuses it as 1.0 does; other databases keep
    taking empty values."""
    env = zl.open(str(tmp_path), max_dbs=1, lib_version=lib_version)
    try:
        dup = env.open_db(b"dup", dupsort=True)
        with env.begin(write=True) as txn:
            with pytest.raises(zl.BadValsizeError):
                txn.put(b"k", b"", db=dup)
            assert txn.put(b"k", b"")
            assert txn.get(b"k") == b""
    finally:
        env.close()


def test_abort_does_not_wait_for_a_writer_waiting_on_it(tmp_path, lib_version):
    """abort() of a write transaction while another thread waits in
    begin(write=True) for it (py-lmdb #495 hung there)."""
    env = zl.open(str(tmp_path), lib_version=lib_version)
    try:
        for leave in ("abort", "raise"):
            began = []
            first = env.begin(write=True)
            waiter = threading.Thread(target=lambda: began.append(env.begin(write=True)))
            waiter.start()
            waiter.join(0.2)
            assert waiter.is_alive()                # it waits for `first`
            if leave == "abort":
                first.abort()
            else:
                with pytest.raises(ValueError):
                    with first:
                        raise ValueError("leave the block")
            waiter.join(30)
            assert not waiter.is_alive() and len(began) == 1
            began[0].abort()
    finally:
        env.close()
