"""The ORM's C core: the transaction type, the maps as MutableMappings, the
iterator's garbage collection, the growth log, and the per-record loops
(count_range, truncate, rebuild_index, per-slot counts) that run in C."""
import collections.abc
import gc
import threading
import weakref

import pytest

import zlmdb
from zlmdb._core import native as _native

from test_orm_formats import User


def _users(slot=1):
    return zlmdb.MapOidCbor(slot, marshal=User.marshal, unmarshal=User.parse)


def _indexed(db_slot_base=1):
    users = _users(db_slot_base)
    by_name = zlmdb.MapStringOid(db_slot_base + 1)
    by_email = zlmdb.MapStringOid(db_slot_base + 2)
    users.attach_index("by_name", by_name, lambda u: u.name)
    users.attach_index("by_email", by_email, lambda u: u.email, nullable=True)
    return users, by_name, by_email


# ------------------------------------------------------------ the txn type

def test_the_orm_transaction_is_a_low_level_transaction(tmp_path):
    db = zlmdb.Database(str(tmp_path / "db"))
    users = _users()
    txn = db.begin(write=True)
    assert isinstance(txn, zlmdb.lmdb.Transaction)
    assert type(txn) is zlmdb.Transaction and not txn.is_open
    with txn:
        assert txn.is_open and txn._txn is txn
        users[txn, 1] = User(1, "ann")
        # the low-level methods work on it
        cur = txn.cursor()
        assert cur.set_range(b"\x00\x01") and cur.key() == b"\x00\x01" + (1).to_bytes(8, "big")
        assert txn.stat()["entries"] == 1
    assert not txn.is_open and txn._txn is None
    with pytest.raises(RuntimeError, match="not open"):
        txn.id()
    with txn:                                      # entered again: a new LMDB txn
        assert users[txn, 1].name == "ann"
    db.close()


def test_transaction_made_the_upstream_way_is_db_begin(tmp_path):
    db = zlmdb.Database(str(tmp_path / "db"))
    users = _users()
    stats = zlmdb.TransactionStats()
    with zlmdb.Transaction(db, write=True, stats=stats) as txn:
        assert type(txn) is zlmdb.Transaction and txn.write and txn.stats is stats
        users[txn, 1] = User(1, "ann")
    assert stats.puts == 1
    with zlmdb.Transaction(db=db) as txn:
        assert not txn.write and users[txn, 1].name == "ann"
    with pytest.raises(TypeError, match="pass them to zlmdb.Database"):
        zlmdb.Transaction(db, write=True, maxsize=1 << 20)
    with pytest.raises(TypeError, match="db must be a zlmdb.Database, not int"):
        zlmdb.Transaction(1)
    db.close()
    ro = zlmdb.Database(str(tmp_path / "db"), readonly=True)
    with pytest.raises(Exception, match="read-only"):
        zlmdb.Transaction(ro, write=True)       # the Database's own check applies
    ro.close()


def test_transaction_stats_is_a_c_type_with_upstreams_api():
    stats = zlmdb.TransactionStats()
    assert type(stats) is _native.TransactionStats
    assert stats.puts == 0 and stats.dels == 0 and stats.started > 0
    stats.puts = 5
    assert stats.duration >= 0
    stats.reset()
    assert stats.puts == 0
    with pytest.raises(TypeError):
        zlmdb.TransactionStats(1)


def test_a_closed_database_refuses_to_begin(tmp_path):
    db = zlmdb.Database(str(tmp_path / "db"))
    txn = db.begin()
    db.close()
    with pytest.raises(RuntimeError, match="database is closed"):
        txn.__enter__()


def test_maps_take_only_orm_transactions(tmp_path):
    db = zlmdb.Database(str(tmp_path / "db"))
    users = _users()
    with db._env.begin(write=True) as ltxn:
        with pytest.raises(TypeError, match="zlmdb.Transaction"):
            users[ltxn, 1] = User(1, "x")
    db.close()


# --------------------------------------------------------- mapping protocol

def test_a_map_is_a_mutable_mapping_that_needs_a_transaction():
    users = _users()
    assert isinstance(users, collections.abc.MutableMapping)
    assert issubclass(zlmdb.MapOidCbor, collections.abc.MutableMapping)
    with pytest.raises(NotImplementedError):
        len(users)
    with pytest.raises(NotImplementedError):
        iter(users)
    # still hashable, and equal only to itself
    assert {users: 1}[users] == 1
    assert users == users and users != _users()


def test_an_iterator_kept_on_its_map_is_collected(tmp_path):
    db = zlmdb.Database(str(tmp_path / "db"))
    users = _users()
    with db.begin(write=True) as txn:
        users[txn, 1] = User(1, "ann")
    with db.begin() as txn:
        users.last = users.select(txn)       # map -> dict -> iterator -> map
        assert next(users.last)[0] == 1
    ref = weakref.ref(users)
    del users
    gc.collect()
    assert ref() is None
    db.close()


# ---------------------------------------------------------------- growth

def test_growth_redoes_the_bytes_that_were_written(tmp_path):
    """The log keeps what was stored: a value object changed after its put
    is redone as it was put, and its index entries follow the stored
    bytes."""
    db = zlmdb.Database(str(tmp_path / "g"), maxsize=64 << 20, growth=2,
                        initial_size=256 << 10)
    users, by_name, by_email = _indexed()
    blobs = zlmdb.MapOidPickle(9)
    u = User(1, "first", "f@example.org")
    with db.begin(write=True) as txn:
        users[txn, 1] = u
        u.name = "changed"                  # after the put: not stored
        for i in range(400):                # forces several growths
            blobs[txn, i] = b"x" * 4000
        assert txn._growths > 0
        assert users[txn, 1].name == "first"
    with db.begin() as txn:
        assert by_name[txn, "first"] == 1 and by_name[txn, "changed"] is None
        assert by_email[txn, "f@example.org"] == 1
        assert blobs.count(txn) == 400
    db.close()


def test_growth_redoes_truncate_and_rebuild_index(tmp_path):
    db = zlmdb.Database(str(tmp_path / "g"), maxsize=64 << 20, growth=2,
                        initial_size=256 << 10)
    users, by_name, _e = _indexed()
    blobs = zlmdb.MapOidPickle(9)
    with db.begin(write=True) as txn:
        for i in range(1, 6):
            users[txn, i] = User(i, "u%d" % i)
    with db.begin(write=True) as txn:
        assert users.truncate(txn, rebuild_indexes=False) == 5   # index left stale
        users[txn, 7] = User(7, "seven")
        assert users.rebuild_index(txn, "by_name") == (6, 1)   # 5 stale + "seven"
        for i in range(400):
            blobs[txn, i] = b"y" * 4000
        assert txn._growths > 0
    with db.begin() as txn:
        assert dict(by_name.select(txn)) == {"seven": 7}
        assert users.count(txn) == 1
    db.close()


@pytest.mark.parametrize("growth", [None, 2])
@pytest.mark.cpython_only
def test_a_refused_unique_put_under_allocation_faults_raises_no_system_error(
        tmp_path, growth):
    """Regression: in the growing database's allocation-fault sweep, a put
    refused by the unique index raised SystemError ("... without setting an
    exception").  The exception was lost by CPython itself while it
    unwound through the Python write path's nested frames (creating a frame
    object for the traceback failed); the writes now run in C, with no
    Python frame between the caller and the refusal."""
    import _testcapi
    db = zlmdb.Database(str(tmp_path / "db"), maxsize=32 << 20, growth=growth)
    users, by_name, _e = _indexed()
    with db.begin(write=True) as txn:
        users[txn, 1] = User(1, "taken")
        users[txn, 2] = User(2, "other")
    outcomes = set()
    value = User(2, "taken")
    for k in range(1, 400):
        with db.begin(write=True) as txn:
            try:
                _testcapi.set_nomemory(k, k + 1)
                try:
                    users[txn, 2] = value
                finally:
                    _testcapi.remove_mem_hooks()
            except BaseException as e:     # noqa: B902 - every outcome is checked
                outcomes.add(type(e).__name__)
    assert outcomes <= {"KeyError", "MemoryError"}, outcomes
    assert "KeyError" in outcomes
    with db.begin() as txn:
        assert users[txn, 2].name == "other" and by_name[txn, "taken"] == 1
    db.close()


# ----------------------------------------------------- loops that run in C

def test_count_range_truncate_and_slot_counts(tmp_path):
    db = zlmdb.Database(str(tmp_path / "db"))
    users, by_name, by_email = _indexed()
    stats = zlmdb.TransactionStats()
    with db.begin(write=True) as txn:
        for i in range(1, 21):
            users[txn, i] = User(i, "u%02d" % i, "e%d@x" % i if i % 2 else None)
    with db.begin() as txn:
        for lo, hi in ((None, None), (5, 9), (5, None), (None, 3), (30, 40), (9, 5)):
            want = sum(1 for _ in users.select(txn, from_key=lo, to_key=hi,
                                               return_values=False))
            assert users.count_range(txn, lo, hi) == want
        assert by_name.count_range(txn, "u05", "u10") == 5
        counts = {slot: _native.slot_count(txn, slot) for slot in (1, 2, 3)}
        assert counts == {1: 20, 2: 20, 3: 10}
    with db.begin(write=True, stats=stats) as txn:
        assert users.truncate(txn) == 50
    assert stats.dels == 50
    with db.begin() as txn:
        assert [_native.slot_count(txn, slot) for slot in (1, 2, 3)] == [0, 0, 0]
    db.close()


def test_rebuild_index_reports_the_index_and_refuses_a_commit(tmp_path):
    db = zlmdb.Database(str(tmp_path / "db"))
    users, by_name, _e = _indexed()
    with db.begin(write=True) as txn:
        users[txn, 1] = User(1, "same")
        users.detach_index("by_name")
        users[txn, 2] = User(2, "same")             # not indexed: no clash yet
        users.attach_index("by_name", by_name, lambda u: u.name)
    with pytest.raises(zlmdb.lmdb.BadTxnError, match="halfway"):
        with db.begin(write=True) as txn:
            with pytest.raises(KeyError, match="by_name"):
                users.rebuild_index(txn, "by_name")
            assert txn.failed
    with pytest.raises(KeyError):
        with db.begin(write=True) as txn:
            users.rebuild_index(txn, "no_such_index")
    db.close()


def test_a_swallowed_map_full_at_the_ceiling_is_not_committed(tmp_path):
    db = zlmdb.Database(str(tmp_path / "g"), maxsize=2 << 20, growth=2,
                        initial_size=256 << 10)
    blobs = zlmdb.MapOidPickle(9)
    with db.begin(write=True) as txn:
        blobs[txn, 0] = "kept"
    with pytest.raises(zlmdb.lmdb.BadTxnError):
        with db.begin(write=True) as txn:
            for i in range(1, 5000):
                try:
                    blobs[txn, i] = b"z" * 4000
                except zlmdb.lmdb.MapFullError as e:
                    assert "ceiling" in str(e)
                    break
    with db.begin() as txn:
        assert blobs.count(txn) == 1
    db.close()


def test_database_env_is_the_low_level_environment_until_closed(tmp_path):
    db = zlmdb.Database(str(tmp_path / "db"))
    assert isinstance(db.env, zlmdb.lmdb.Environment)
    assert db.env.path() == str(tmp_path / "db")
    with db.begin() as txn:
        assert isinstance(txn, zlmdb.lmdb.Transaction)
        assert txn.stat()["entries"] == db.env.stat()["entries"]
    db.close()
    assert db.env is None


def test_one_indexed_map_written_in_two_databases_by_two_threads(tmp_path):
    """The map object holds the engine call its index callbacks belong to;
    two threads writing through it into two databases at once (on PyPy the
    binding releases the GIL inside the engine) each index their own
    records."""
    users, by_name, _by_email = _indexed()
    dbs = [zlmdb.Database(str(tmp_path / ("db%d" % i)), maxsize=64 << 20) for i in (0, 1)]
    errors = []

    def fill(db, tag):
        try:
            for start in range(0, 600, 100):
                with db.begin(write=True) as txn:
                    for i in range(start, start + 100):
                        users[txn, i] = User(i, "%s-%d" % (tag, i))
        except BaseException as exc:      # noqa: B902 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=fill, args=(db, tag)) for db, tag in zip(dbs, "ab")]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    for db, tag in zip(dbs, "ab"):
        with db.begin() as txn:
            assert dict(by_name.select(txn)) == {"%s-%d" % (tag, i): i for i in range(600)}
        db.close()
