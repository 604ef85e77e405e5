"""Both LMDB engines in zlmdb.lmdb: which one an environment gets, what a
file of the other format or of no format does, and that each engine keeps
its files in its own format (checked against py-lmdb 3.0.0, which reads
both)."""
import os
import struct

import lmdb as pylmdb
import pytest

import zlmdb.lmdb as zl
from conftest import DEFAULT_LIB_VERSION, run_python

VERSIONS = {0: (0, 9, 36), 1: (1, 0, 2)}
FORMAT = {0: 1, 1: 3}          # lib_version -> data format version


def data_format(path, subdir=True):
    """The format version in the first meta page: (header size, version)."""
    with open(os.path.join(path, "data.mdb") if subdir else path, "rb") as f:
        head = f.read(64)
    for hdr in (16, 24):
        magic, version = struct.unpack_from("<II", head, hdr)
        if magic == 0xBEEFC0DE:
            return hdr, version
    raise AssertionError("no meta page")


def make(path, lib_version, items=((b"k", b"v"),), **kw):
    env = zl.open(str(path), lib_version=lib_version, **kw)
    with env.begin(write=True) as txn:
        for k, v in items:
            txn.put(k, v)
    env.close()


@pytest.mark.parametrize("lib_version", [0, 1])
def test_a_new_environment_gets_the_engine_asked_for(tmp_path, lib_version):
    env = zl.open(str(tmp_path / "db"), lib_version=lib_version)
    assert env.lib_version() == VERSIONS[lib_version]
    with env.begin(write=True) as txn:
        txn.put(b"k", b"v")
    env.close()
    # The file is in that engine's format: 0.9's page header is 16 bytes,
    # 1.0's is 24 (it adds mp_txnid).
    assert data_format(str(tmp_path / "db")) == ({0: 16, 1: 24}[lib_version],
                                                FORMAT[lib_version])
    # lib_version() answers on a closed environment too.
    assert env.lib_version() == VERSIONS[lib_version]


def test_a_new_environment_without_lib_version_gets_the_default(tmp_path):
    env = zl.open(str(tmp_path / "db"))
    assert env.lib_version() == zl.version() == VERSIONS[DEFAULT_LIB_VERSION]
    env.close()


@pytest.mark.parametrize("lib_version", [0, 1])
@pytest.mark.parametrize("subdir", [True, False])
def test_an_existing_file_opens_with_its_own_engine(tmp_path, lib_version, subdir):
    path = str(tmp_path / ("db" if subdir else "db.mdb"))
    make(path, lib_version, subdir=subdir)
    for kw in ({}, {"lib_version": lib_version}, {"readonly": True}):
        env = zl.open(path, subdir=subdir, **kw)
        assert env.lib_version() == VERSIONS[lib_version]
        with env.begin() as txn:
            assert txn.get(b"k") == b"v"
        env.close()


@pytest.mark.parametrize("lib_version", [0, 1])
def test_the_other_format_is_refused_naming_both_and_changing_nothing(tmp_path, lib_version):
    path = tmp_path / "db"
    make(path, lib_version)
    before = {p.name: p.read_bytes() for p in path.iterdir()}
    other = 1 - lib_version
    with pytest.raises(zl.VersionMismatchError) as exc:
        zl.open(str(path), lib_version=other)
    msg = str(exc.value)
    assert str(path) in msg
    assert "written by LMDB %s (data format v%d)" % ("1.0" if lib_version else "0.9",
                                                       FORMAT[lib_version]) in msg
    assert "lib_version=%d asks for LMDB %s (data format v%d)" % (
        other, "1.0" if other else "0.9", FORMAT[other]) in msg
    assert {p.name: p.read_bytes() for p in path.iterdir()} == before
    # py-lmdb refuses it too (with LMDB's own error).
    with pytest.raises((pylmdb.VersionMismatchError, pylmdb.InvalidError)):
        pylmdb.open(str(path), lib_version=other)


def test_a_missing_engine_creates_nothing(tmp_path):
    path = tmp_path / "new"
    with pytest.raises(zl.Error, match=r"lib_version=5: this build has no LMDB 5\.x engine"):
        zl.open(str(path), lib_version=5)
    assert not path.exists()
    with pytest.raises(OverflowError):
        zl.open(str(path), lib_version=-1)
    assert not path.exists()
    with pytest.raises(TypeError):
        zl.open(str(path), lib_version="1.0")
    assert not path.exists()


@pytest.mark.parametrize("content, fragment", [
    (b"not a database at all" * 200, "not an LMDB data file (no LMDB meta page: it begins "
                                     "6e 6f 74 20 61 20 64 61)"),
    (b"abc", "3 bytes, too short for an LMDB meta page"),
    (bytes(16) + struct.pack("<II", 0xBEEFC0DE, 2) + bytes(4000), "LMDB data format v2"),
    (bytes(16) + struct.pack("<II", 0xBEEFC0DE, 9) + bytes(4000), "LMDB data format v9"),
    (bytes(16) + struct.pack(">II", 0xBEEFC0DE, 1) + bytes(4000), "other byte order"),
])
@pytest.mark.parametrize("lib_version", [None, 0, 1])
def test_a_file_of_no_known_format_says_what_it_is(tmp_path, content, fragment, lib_version):
    path = tmp_path / "db.mdb"
    path.write_bytes(content)
    with pytest.raises(zl.InvalidError) as exc:
        zl.open(str(path), subdir=False, lib_version=lib_version)
    assert str(path) in str(exc.value) and fragment in str(exc.value)
    assert path.read_bytes() == content
    assert not (tmp_path / "db.mdb-lock").exists()


def test_an_empty_data_file_is_a_new_environment(tmp_path):
    path = tmp_path / "db"
    path.mkdir()
    (path / "data.mdb").write_bytes(b"")
    env = zl.open(str(path), lib_version=1)
    assert env.lib_version() == VERSIONS[1]
    env.close()
    assert data_format(str(path))[1] == 3


def test_both_engines_in_one_process_at_once(tmp_path):
    envs = [zl.open(str(tmp_path / str(v)), lib_version=v, max_dbs=2) for v in (0, 1)]
    dbs = [e.open_db(b"named", dupsort=True) for e in envs]
    txns = [e.begin(write=True) for e in envs]
    for v, (txn, db) in enumerate(zip(txns, dbs)):
        for i in range(300):
            txn.put(b"%05d" % i, b"engine %d" % v)
            txn.put(b"dup", b"%03d" % i, db=db)
    for txn in txns:
        txn.commit()
    for v, (env, db) in enumerate(zip(envs, dbs)):
        with env.begin() as txn:
            assert txn.get(b"00007") == b"engine %d" % v
            cur = txn.cursor(db=db)
            assert cur.set_key(b"dup") and cur.count() == 300
        assert env.stat()["entries"] == 301      # 300 records + the named db
        env.close()


@pytest.mark.parametrize("lib_version", [0, 1])
def test_py_lmdb_and_zlmdb_read_each_others_files(tmp_path, lib_version):
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    items = [(b"%04d" % i, os.urandom(i % 700)) for i in range(500)]
    make(ours, lib_version, items)
    env = pylmdb.open(str(theirs), lib_version=lib_version)
    with env.begin(write=True) as txn:
        for k, v in items:
            txn.put(k, v)
    env.close()
    for path in (ours, theirs):
        for mod in (zl, pylmdb):
            env = mod.open(str(path), readonly=True)
            assert env.lib_version() == VERSIONS[lib_version]
            with env.begin() as txn:
                assert list(txn.cursor()) == sorted(items)
            env.close()


def test_each_engine_reports_its_own_limits(tmp_path):
    for v in (0, 1):
        env = zl.open(str(tmp_path / str(v)), lib_version=v)
        ref = pylmdb.open(str(tmp_path / ("p%d" % v)), lib_version=v)
        assert env.max_key_size() == ref.max_key_size()
        assert env.flags() == ref.flags()
        assert env.info()["map_size"] == ref.info()["map_size"]
        env.close()
        ref.close()


def test_copy_keeps_the_format(tmp_path):
    for v in (0, 1):
        make(tmp_path / str(v), v, [(b"a", b"1"), (b"b", b"2")])
        env = zl.open(str(tmp_path / str(v)))
        for compact in (False, True):
            dest = tmp_path / ("copy%d%d" % (v, compact))
            dest.mkdir()
            env.copy(str(dest), compact=compact)
            assert data_format(str(dest))[1] == FORMAT[v]
            copy = zl.open(str(dest), readonly=True)
            assert copy.lib_version() == VERSIONS[v]
            with copy.begin() as txn:
                assert list(txn.cursor()) == [(b"a", b"1"), (b"b", b"2")]
            copy.close()
        env.close()


def test_the_default_for_new_environments_is_read_once_at_import(tmp_path):
    code = ("import sys, zlmdb.lmdb as l\n"
            "e = l.open(sys.argv[1]); print(e.lib_version()[0]); e.close()")
    for value, want in (("1", "1"), ("0", "0"), ("", "0")):
        path = str(tmp_path / ("db" + value))
        res = run_python(code, path, env={"LMDB_DEFAULT_LIB_VERSION": value})
        assert res.returncode == 0 and res.stdout.strip() == want, res.stderr
    # An existing file keeps its format whatever the default says.
    res = run_python(code, str(tmp_path / "db1"), env={"LMDB_DEFAULT_LIB_VERSION": "0"})
    assert res.stdout.strip() == "1"


@pytest.mark.parametrize("lib_version", [0, 1])
@pytest.mark.parametrize("size", [1, 2, 3])
def test_dupfixed_values_of_one_to_three_bytes_past_the_first_sub_page(tmp_path, lib_version,
                                                                      size):
    # py-lmdb 2.3.0's hardening patch refused the 5th 1-byte duplicate with
    # MDB_CORRUPTED (its issue #481); the 3.0.0 series fixes it on both engines.
    env = zl.open(str(tmp_path / "db"), lib_version=lib_version, max_dbs=2)
    db = env.open_db(b"fixed", dupsort=True, dupfixed=True)
    values = [bytes([i]) * size for i in range(200)]
    with env.begin(write=True, db=db) as txn:
        for v in values:
            assert txn.put(b"key", v)
    with env.begin(db=db) as txn:
        cur = txn.cursor()
        assert cur.set_key(b"key") and cur.count() == 200
        assert list(cur.iternext_dup()) == sorted(values)
    env.close()
