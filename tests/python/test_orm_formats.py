"""The ORM on both LMDB formats: Database(lib_version=), db.lib_version,
stats(), what an existing file decides, the errors for a mismatch or a file
of neither format, the PID-namespace diagnosis, and TransactionStats counts.

Nothing here assumes which format this run gives new databases
(ZLMDB_TEST_LIB_VERSION, see conftest.py), nor an engine's version numbers.
"""
import errno
import os
import shutil
import subprocess
import sys

import pytest

import zlmdb
import zlmdb._database
import zlmdb.lmdb as zl
from conftest import run_python

FORMATS = [(0, "0.9"), (1, "1.0")]
OTHER = {"0.9": "1.0", "1.0": "0.9"}


def lowlevel(path, major):
    """A database written by zlmdb.lmdb with the engine `major`, not by the
    Database code under test."""
    env = zl.open(path, lib_version=major)
    with env.begin(write=True) as txn:
        txn.put(b"\x00\x01key", b"value")
    env.close()


def files(path):
    return {n: open(os.path.join(path, n), "rb").read() for n in sorted(os.listdir(path))}


def engine_version(major):
    return "%d.%d.%d" % zl.version(lib_version=major)


# ---------------------------------------------------------------- defaults

def test_new_databases_are_lmdb_1_0_by_default():
    # In a fresh interpreter: this run's conftest may have moved the default.
    r = run_python("import zlmdb, zlmdb._database as d\n"
                   "db = zlmdb.Database()\n"
                   "print(d.DEFAULT_LIB_VERSION, db.lib_version, d._LIB_VERSION_TO_MAJOR)\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split(None, 2) == ["1.0", "1.0", "{'0.9': 0, '1.0': 1}\n"]


def test_the_default_is_read_when_a_database_is_created(tmp_path, monkeypatch):
    for name in ("0.9", "1.0"):
        monkeypatch.setattr(zlmdb._database, "DEFAULT_LIB_VERSION", name)
        with zlmdb.Database(str(tmp_path / name)) as db:
            assert db.lib_version == name


def test_this_run_creates_databases_in_the_format_it_was_asked_for(tmp_path):
    want = os.environ.get("ZLMDB_TEST_LIB_VERSION") or "1.0"
    with zlmdb.Database(str(tmp_path / "db")) as db:
        assert db.lib_version == want
        assert db.stats()["lib_version"] == want
    # the low-level default is another matter: LMDB_DEFAULT_LIB_VERSION's
    env = zl.open(str(tmp_path / "ll"))
    assert env.lib_version() == zl.version()
    env.close()


# ---------------------------------------------------- explicit and existing

@pytest.mark.parametrize("major, name", FORMATS)
def test_explicit_format_and_reopening(tmp_path, major, name):
    path = str(tmp_path / "db")
    users = zlmdb.MapOidCbor(1, marshal=dict, unmarshal=dict)
    db = zlmdb.Database(path, lib_version=name)
    assert db.lib_version == name
    with db.begin(write=True) as txn:
        users[txn, 7] = {"name": "ada"}
    db.close()
    assert zlmdb._core.native.engine_detect(path) == major
    for asked in (None, name):                   # its own format, found or named
        with zlmdb.Database(path, lib_version=asked) as db:
            assert db.lib_version == name
            assert db._env.lib_version() == zl.version(lib_version=major)
            with db.begin() as txn:
                assert users[txn, 7] == {"name": "ada"}
    db = zlmdb.Database.open(path, lib_version=name)
    assert db.lib_version == name
    db.close()


@pytest.mark.parametrize("major, name", FORMATS)
def test_a_database_made_by_the_low_level_opens_in_its_format(tmp_path, major, name):
    path = str(tmp_path / "db")
    lowlevel(path, major)
    db = zlmdb.Database(path, open_now=False)
    assert db.lib_version is None                    # not known before it opens
    with db:
        assert db.lib_version == name
        with db.begin() as txn:
            assert txn.get(b"\x00\x01key") == b"value"


@pytest.mark.parametrize("major, name", FORMATS)
def test_stats_report_the_format_and_the_lmdb_serving_it(tmp_path, major, name):
    path = str(tmp_path / "db")
    lowlevel(path, major)
    with zlmdb.Database(path) as db:
        st = db.stats(include_slots=True)
        assert st["lib_version"] == name == db.lib_version
        assert st["lmdb_version"] == engine_version(major)
        assert st["lmdb_version"].startswith(name + ".")
        assert st["lmdb_version"] == "%d.%d.%d" % db._env.lib_version()


# ------------------------------------------------------------------ errors

@pytest.mark.parametrize("major, name", FORMATS)
def test_a_mismatch_names_path_and_both_formats_and_changes_nothing(tmp_path, major, name):
    path = str(tmp_path / "db")
    lowlevel(path, major)
    os.remove(os.path.join(path, "lock.mdb"))       # so that a new one would show
    before = files(path)
    with pytest.raises(ValueError) as info:
        zlmdb.Database(path, lib_version=OTHER[name])
    msg = str(info.value)
    assert path in msg
    assert "has LMDB format %s" % name in msg
    assert 'lib_version="%s"' % OTHER[name] in msg
    assert "omit lib_version" in msg                 # and the way out
    assert files(path) == before                     # no lock file, data untouched
    with zlmdb.Database(path) as db:                 # not left registered as open
        assert db.lib_version == name


def test_a_mismatch_through_open_later_raises_at_enter(tmp_path):
    path = str(tmp_path / "db")
    lowlevel(path, 0)
    db = zlmdb.Database(path, lib_version="1.0", open_now=False)
    with pytest.raises(ValueError, match="has LMDB format 0.9"):
        db.__enter__()
    assert not db.is_open


@pytest.mark.parametrize("bad", ["2.0", "1", "0", "", "1.0.2", 0, 1, 1.0, True, b"1.0"])
def test_a_bad_lib_version_is_refused_before_anything_is_created(tmp_path, bad):
    path = str(tmp_path / "new")
    with pytest.raises(ValueError) as info:
        zlmdb.Database(path, lib_version=bad)
    assert repr(bad) in str(info.value) and '"1.0"' in str(info.value)
    assert not os.path.exists(path)


@pytest.mark.parametrize("content, why", [
    (b"\x00" * 8192, "not an LMDB data file"),
    (b"nope", "too short for an LMDB meta page"),
])
def test_a_file_of_neither_format_is_refused(tmp_path, content, why):
    path = str(tmp_path / "db")
    os.mkdir(path)
    with open(os.path.join(path, "data.mdb"), "wb") as f:
        f.write(content)
    for asked in (None, "0.9", "1.0"):
        with pytest.raises(zl.InvalidError) as info:
            zlmdb.Database(path, lib_version=asked)
        assert os.path.join(path, "data.mdb") in str(info.value)
        assert why in str(info.value)
        assert os.listdir(path) == ["data.mdb"]     # no lock file was made


def test_engine_detect_reports_new_existing_and_unreadable(tmp_path):
    assert zlmdb._core.native.engine_detect(str(tmp_path / "none")) is None
    open(tmp_path / "data.mdb", "wb").close()
    assert zlmdb._core.native.engine_detect(str(tmp_path)) is None       # empty: new
    with pytest.raises(TypeError):
        zlmdb._core.native.engine_detect(3)
    if os.geteuid() != 0:   # root reads any file
        os.chmod(tmp_path / "data.mdb", 0)
        with pytest.raises(PermissionError):
            zlmdb._core.native.engine_detect(str(tmp_path))
    # a data.mdb that cannot be read as a file (even by root): the errno's
    # OSError subclass, with errno and the path's detail
    other = tmp_path / "dir"
    (other / "data.mdb").mkdir(parents=True)
    with pytest.raises(IsADirectoryError) as info:
        zlmdb._core.native.engine_detect(str(other))
    assert info.value.errno == errno.EISDIR and "data.mdb" in str(info.value)


# ------------------------------------------------------------ PID namespaces

HOLD_READER_LOCK = """
import fcntl, os, sys
fd = os.open(os.path.join(sys.argv[1], "lock.mdb"), os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX, 1, int(sys.argv[2]))
print("ready", flush=True)
sys.stdin.readline()
"""


def test_a_reader_lock_taken_under_our_pid_is_explained(tmp_path):
    """What a process with our PID in another PID namespace does: hold the
    byte of lock.mdb at offset = our PID.  Database names that cause and the
    remedy instead of a bare LockError; once it is gone, the open works."""
    path = str(tmp_path / "db")
    zlmdb.Database(path).close()
    holder = subprocess.Popen([sys.executable, "-c", HOLD_READER_LOCK, path, str(os.getpid())],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(RuntimeError) as info:
            zlmdb.Database(path)
        msg = str(info.value)
        assert path in msg and "same PID (%d)" % os.getpid() in msg
        assert "PID namespace" in msg and "--pid=host" in msg
        assert isinstance(info.value.__cause__, zl.LockError)
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    with zlmdb.Database(path) as db:
        assert db.is_open


OPEN_AND_HOLD = """
import sys, zlmdb
db = zlmdb.Database(sys.argv[1], lib_version=sys.argv[2])
txn = db.begin().__enter__()
print("ready", flush=True)
sys.stdin.readline()
"""

OPEN_AND_SAY = """
import sys, zlmdb
try:
    zlmdb.Database(sys.argv[1]).close()
    print("OK")
except Exception as e:
    print("%s: %s" % (type(e).__name__, e))
"""


def _unshare_works():
    return shutil.which("unshare") is not None and \
        subprocess.run(["unshare", "-Urpf", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _unshare_works(), reason="needs user and PID namespaces (unshare -Urpf)")
@pytest.mark.parametrize("name", ["0.9", "1.0"])
def test_two_pid_namespaces_on_one_database_are_explained(tmp_path, name):
    """Both processes are PID 1, each in its own PID namespace."""
    path = str(tmp_path)
    ns = ["unshare", "-Urpf"]
    holder = subprocess.Popen(ns + [sys.executable, "-c", OPEN_AND_HOLD, path, name],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        r = subprocess.run(ns + [sys.executable, "-c", OPEN_AND_SAY, path],
                           capture_output=True, text=True, timeout=60)
        assert r.stdout.startswith("RuntimeError: "), r.stdout + r.stderr
        assert "same PID (1)" in r.stdout and "PID namespace" in r.stdout
        # the control: the same two programs without namespaces
        r = subprocess.run([sys.executable, "-c", OPEN_AND_SAY, path],
                           capture_output=True, text=True, timeout=60)
        assert r.stdout.strip() == "OK", r.stdout + r.stderr
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)


# --------------------------------------------------------- TransactionStats

class User:
    def __init__(self, oid, name, email=None):
        self.oid, self.name, self.email = oid, name, email

    def marshal(self):
        return {"oid": self.oid, "name": self.name, "email": self.email}

    @staticmethod
    def parse(d):
        return User(d["oid"], d["name"], d["email"])


def _indexed(db):
    users = zlmdb.MapOidCbor(1, marshal=User.marshal, unmarshal=User.parse)
    by_name, by_email = zlmdb.MapStringOid(2), zlmdb.MapStringOid(3)
    users.attach_index("by_name", by_name, lambda u: u.name)
    users.attach_index("by_email", by_email, lambda u: u.email, nullable=True)
    return users


@pytest.mark.parametrize("growth", [None, 2])     # the C path, the logging path
def test_stats_count_index_writes_as_upstream(tmp_path, growth):
    db = zlmdb.Database(str(tmp_path / "db"), maxsize=32 << 20, growth=growth)
    users = _indexed(db)
    stats = zlmdb.TransactionStats()

    def step(fn):
        stats.reset()
        with db.begin(write=True, stats=stats) as txn:
            fn(txn)
        return stats.puts, stats.dels

    def put(oid, name, email=None):
        return lambda txn: users.__setitem__((txn, oid), User(oid, name, email))

    # a record and each non-null index entry is a put
    assert step(put(1, "ada", "ada@example.org")) == (3, 0)
    assert step(put(2, "bob")) == (2, 0)
    # a rename: the stale entry is deleted, every entry is put again
    assert step(put(1, "ada lovelace", "ada@example.org")) == (3, 1)
    # deleting: each index entry, then the record; a missing key counts nothing
    assert step(lambda txn: users.__delitem__((txn, 2))) == (0, 2)
    assert step(lambda txn: users.__delitem__((txn, 2))) == (0, 0)
    # rebuilding: the entries removed, then those put
    assert step(lambda txn: users.rebuild_index(txn, "by_name")) == (1, 1)
    # truncate: the records and their index entries, all of them counted
    assert step(put(3, "cy", "cy@example.org")) == (3, 0)
    counted = []
    assert step(lambda txn: counted.append(users.truncate(txn))) == (0, 2 + 2 + 2)
    assert counted == [6]
    db.close()


def test_upstream_codec_names(tmp_path):
    """_serialize_key/_value and their inverses, as upstream's maps have
    them: no slot prefix, no compression."""
    tab = zlmdb.MapStringCbor(5, marshal=dict, unmarshal=dict,
                              compress=zlmdb.PersistentMap.COMPRESS_ZLIB)
    assert tab._serialize_key("k") == b"k" and tab._deserialize_key(b"k") == "k"
    data = tab._serialize_value({"a": 1})
    assert data == zlmdb.codec.cbor_dumps({"a": 1})
    assert tab._deserialize_value(data) == {"a": 1}
    pair = zlmdb.MapStringOidOid(6)
    assert pair._serialize_key(("a", 1)) == b"a" + (1).to_bytes(8, "big")
