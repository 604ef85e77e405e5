"""``zlmdb migrate``: LMDB 0.9 <-> LMDB 1.0, end to end.

Each direction is checked on a low-level environment with named databases
of every flag, and on the ORM database the CLI tests use (indexes, composite
keys, every codec), read back with the ORM.  Failures are simulated inside
the command (a write that raises, a write that changes a value, an
interruption, SIGTERM in a subprocess): each must leave no DST and no
temporary directory behind.
"""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

import zlmdb.lmdb as zl
from zlmdb import _cli_migrate
from test_cli import (DATA, SCHEMA, _run_on_a_terminal, build, build_named,
                      copies_while_a_writer_runs, file_state, named_dump, ok, ok_json, raw_dump,
                      run, usage_error, user_error)

FORMATS = {0: "0.9", 1: "1.0"}
OTHER = {0: 1, 1: 0}
FLAGS = {b"plain": {}, b"tags": {"dupsort": True}, b"fixed": {"dupfixed": True},
         b"ids": {"integerkey": True}, b"idup": {"dupsort": True, "integerdup": True},
         b"rev": {"reverse_key": True}, b"empty": {}}


def build_flags(path, lib_version, records=200):
    """A low-level environment in the format of ``lib_version`` with main
    records and a named database of each kind of flags."""
    env = zl.open(str(path), map_size=16 << 20, max_dbs=len(FLAGS), lib_version=lib_version)
    handles = {name: env.open_db(name, **flags) for name, flags in FLAGS.items()}
    with env.begin(write=True) as txn:
        for i in range(records):
            txn.put(b"main:%05d" % i, b"m" * (i % 50 + 1))
            txn.put(b"key:%05d" % i, os.urandom(i % 300 + 1), db=handles[b"plain"])
        txn.put(b"big", os.urandom(20000), db=handles[b"plain"])       # overflow pages
        for key in (b"apple", b"sky"):
            for value in (b"red", b"blue", b"green"):
                txn.put(key, value, db=handles[b"tags"])
                txn.put(key, value[:1], db=handles[b"fixed"])         # 1-byte dupfixed
        for i in (3, 1, 300, 1 << 40):
            txn.put(i.to_bytes(8, sys.byteorder), b"id-%d" % i, db=handles[b"ids"])
            txn.put(b"n", i.to_bytes(8, sys.byteorder), db=handles[b"idup"])
        txn.put(b"abc", b"1", db=handles[b"rev"])
        txn.put(b"cba", b"2", db=handles[b"rev"])
    env.close()
    return str(path)


def dump_all(path):
    """The format, and every database's flags and records."""
    env = zl.open(str(path), readonly=True, lock=False, max_dbs=len(FLAGS))
    try:
        out = {}
        with env.begin() as txn:
            names = [n.rstrip(b"\0") for n in env.dbs(txn=txn)]
            for name in [None] + names:
                db = env.open_db(name, txn=txn, create=False)
                out[name] = (db.flags(txn), [(bytes(k), bytes(v)) for k, v in
                                             txn.cursor(db=db)
                                             if name is not None or k.rstrip(b"\0")
                                             not in names])
        return env.lib_version()[:2], out
    finally:
        env.close()


def lib_version_of(path):
    env = zl.open(str(path), readonly=True, lock=False)
    try:
        return FORMATS[env.lib_version()[0]]
    finally:
        env.close()


def no_leftovers(parent):
    return [n for n in os.listdir(parent) if ".migrate-" in n] == []


# -- both directions ------------------------------------------------------------------

@pytest.mark.parametrize("src_major", [0, 1], ids=["0.9-to-1.0", "1.0-to-0.9"])
def test_migrate_converts_every_database_and_its_flags(tmp_path, src_major):
    src = build_flags(tmp_path / "src", src_major)
    fmt = FORMATS[OTHER[src_major]]
    before = file_state(src)
    res = ok_json("migrate", src, tmp_path / "dst", "--lib-version", fmt)
    assert file_state(src) == before
    assert lib_version_of(tmp_path / "dst") == fmt
    assert os.listdir(tmp_path / "dst") == ["data.mdb"]
    src_format, src_dbs = dump_all(src)
    dst_format, dst_dbs = dump_all(tmp_path / "dst")
    assert src_format != dst_format and dst_dbs == src_dbs
    assert sorted(d for d in dst_dbs if d is not None) == sorted(FLAGS)
    assert dst_dbs[b"fixed"][0]["dupfixed"] and dst_dbs[b"idup"][0]["integerdup"]
    # the report
    assert (res["source_lib_version"], res["lib_version"]) == (FORMATS[src_major], fmt)
    assert res["lmdb_version"].startswith(fmt + ".") and res["same_format"] is False
    assert res["verified"] is True
    by_name = {d["name"]: d for d in res["databases"]}
    assert by_name[None]["records"] == 200 and by_name["tags"]["records"] == 6
    assert by_name["empty"]["records"] == 0
    assert by_name["ids"]["flags"]["integerkey"] is True
    assert res["records"] == sum(len(recs) for _f, recs in src_dbs.values())
    assert res["bytes"] == os.path.getsize(tmp_path / "dst" / "data.mdb")
    # and back: the same records, digests included
    back = ok_json("migrate", tmp_path / "dst", tmp_path / "back", "--lib-version",
                   FORMATS[src_major])
    assert dump_all(tmp_path / "back") == (src_format, src_dbs)
    assert [d["sha256"] for d in back["databases"]] == [d["sha256"] for d in res["databases"]]


def test_migrate_text_output(tmp_path):
    src = build_named(tmp_path / "src", lib_version=0)
    text = ok("migrate", src, tmp_path / "dst", "--lib-version", "1.0").splitlines()
    assert text[0] == ("migrated %s to %s: LMDB 0.9 format (data format v1) -> LMDB 1.0 "
                       "format (data format v3)" % (src, tmp_path / "dst"))
    assert text[1].split() == ["database", "records", "flags", "sha256"]
    rows = {line.split()[0]: line.split()[1:] for line in text[2:8]}
    assert rows["(main)"][:2] == ["0", "-"]
    assert rows["users"][:2] == ["1000", "-"] and rows["tags"][:2] == ["4", "dupsort"]
    assert len(rows["users"][2]) == 64
    assert text[8].startswith("verified: %s opens with LMDB 1.0." % (tmp_path / "dst"))
    assert named_dump(tmp_path / "dst") == named_dump(src)


def test_migrate_an_orm_database_with_its_indexes(tmp_path):
    src = build(tmp_path / "orm")
    # to the format the ORM did not create it in, and back
    fmt = lib_version_of(src)
    other = {"0.9": "1.0", "1.0": "0.9"}[fmt]
    ok("migrate", src, tmp_path / "other", "--lib-version", other)
    assert lib_version_of(tmp_path / "other") == other
    assert raw_dump(tmp_path / "other") == raw_dump(src)
    # The ORM reads every slot as in the source, through both indexes.
    res = subprocess.run([sys.executable, str(DATA / "compare_orm.py"), src,
                          str(tmp_path / "other")], capture_output=True, text=True,
                         cwd=str(DATA), timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert json.loads(res.stdout) == {"slots": 12, "records": 31}
    # and the registry, the records and both indexes check out
    report = json.loads(run("check", tmp_path / "other", *SCHEMA, "--json").stdout)
    # (43 records: 31 in the tables, 11 registry records and the catalog)
    assert report["ok"] and report["verified"] and report["indexes"] == 2 \
        and report["records"] == 43
    assert ok("tables", tmp_path / "other") == ok("tables", src)
    ok("migrate", tmp_path / "other", tmp_path / "back", "--lib-version", fmt)
    assert raw_dump(tmp_path / "back") == raw_dump(src)
    assert lib_version_of(tmp_path / "back") == fmt


@pytest.mark.parametrize("major", [0, 1])
def test_migrate_to_the_format_it_has_is_a_compacted_copy(tmp_path, major):
    path = str(tmp_path / "src")
    env = zl.open(path, map_size=64 << 20, lib_version=major)
    with env.begin(write=True) as txn:
        for i in range(20000):
            txn.put(b"%08d" % i, b"x" * 100)
    with env.begin(write=True) as txn:
        for i in range(0, 20000, 2):
            txn.delete(b"%08d" % i)
    env.close()
    fmt = FORMATS[major]
    text = ok("migrate", path, tmp_path / "dst", "--lib-version", fmt)
    assert text.startswith("copied %s to %s in the LMDB %s format (data format v%d) it "
                           "already has: a compacted copy\n"
                           % (path, tmp_path / "dst", fmt, 3 if major else 1))
    assert raw_dump(tmp_path / "dst") == raw_dump(path)
    src_size = os.path.getsize(os.path.join(path, "data.mdb"))
    assert os.path.getsize(tmp_path / "dst" / "data.mdb") < src_size * 0.7
    res = ok_json("migrate", path, tmp_path / "dst2", "--lib-version", fmt)
    assert res["same_format"] is True and res["lib_version"] == fmt
    # the map size is the source's
    assert res["map_size"] == 64 << 20


@pytest.mark.parametrize("major", [0, 1])
def test_migrate_an_empty_environment(tmp_path, major):
    path = str(tmp_path / "empty")
    zl.open(path, lib_version=major).close()
    res = ok_json("migrate", path, tmp_path / "dst", "--lib-version", FORMATS[OTHER[major]])
    assert res["records"] == 0 and [d["name"] for d in res["databases"]] == [None]
    assert lib_version_of(tmp_path / "dst") == FORMATS[OTHER[major]]
    assert raw_dump(tmp_path / "dst") == []


def test_migrate_grows_the_map_when_the_copy_needs_more(tmp_path, monkeypatch):
    src = build_flags(tmp_path / "src", 0, records=3000)
    monkeypatch.setattr(_cli_migrate, "_map_size", lambda env: 64 << 10)
    res = ok_json("migrate", src, tmp_path / "dst", "--lib-version", "1.0",
                  "--batch-size", "100")
    assert res["map_size"] > 64 << 10
    assert dump_all(tmp_path / "dst")[1] == dump_all(src)[1]


def test_the_source_is_only_read(tmp_path):
    src = build_flags(tmp_path / "src", 1)
    data = os.path.join(src, "data.mdb")
    os.chmod(data, 0o444)
    try:
        before = file_state(src)
        time.sleep(0.01)        # a write would show as a later mtime
        ok("migrate", src, tmp_path / "dst", "--lib-version", "0.9")
        ok("migrate", src, tmp_path / "same", "--lib-version", "1.0")
        assert file_state(src) == before
    finally:
        os.chmod(data, 0o644)


def test_migrate_while_a_writer_runs_copies_one_snapshot(tmp_path):
    src = build(tmp_path / "orm")
    other = {"0.9": "1.0", "1.0": "0.9"}[lib_version_of(src)]
    copies_while_a_writer_runs(src, tmp_path, lambda dest: (
        "migrate", src, dest, "--lib-version", other, "--batch-size", "7"), 3)
    assert lib_version_of(tmp_path / "copy0") == other


# -- what it refuses ------------------------------------------------------------------

def test_migrate_refuses_an_existing_destination(tmp_path):
    src = build_flags(tmp_path / "src", 0, records=10)
    full = tmp_path / "full"
    full.mkdir()
    (full / "notes.txt").write_text("mine")
    assert user_error("migrate", src, full, "--lib-version", "1.0") == \
        "%s exists and is not empty: migrate writes a new database; give a new or empty " \
        "directory" % full
    assert os.listdir(full) == ["notes.txt"]
    assert "exists and is not empty" in user_error("migrate", src, src, "--lib-version", "1.0")
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert user_error("migrate", src, afile, "--lib-version", "1.0") == \
        "%s exists and is not a directory: give a new or empty directory" % afile
    assert afile.read_text() == "x"
    assert "does not exist" in user_error("migrate", src, tmp_path / "no" / "dst",
                                          "--lib-version", "1.0")
    assert not (tmp_path / "no").exists()
    # an empty directory is filled
    (tmp_path / "empty").mkdir()
    ok("migrate", src, tmp_path / "empty", "--lib-version", "1.0")
    assert os.listdir(tmp_path / "empty") == ["data.mdb"]
    assert no_leftovers(tmp_path)


def test_migrate_refuses_what_is_not_an_lmdb_environment(tmp_path):
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "data.mdb").write_bytes(os.urandom(3 * 4096))
    assert user_error("migrate", junk, tmp_path / "dst", "--lib-version", "1.0") == \
        "not an LMDB file: %s has the data format of neither LMDB 0.9 nor LMDB 1.0" % (
            junk / "data.mdb")
    assert os.listdir(junk) == ["data.mdb"], "no lock file is left in it"
    (junk / "data.mdb").write_bytes(b"")
    assert user_error("migrate", junk, tmp_path / "dst", "--lib-version", "0.9") == \
        "not an LMDB file: %s is empty" % (junk / "data.mdb")
    (junk / "data.mdb").unlink()
    assert user_error("migrate", junk, tmp_path / "dst", "--lib-version", "0.9") == \
        "not an LMDB environment: %s holds no data.mdb" % junk
    assert user_error("migrate", tmp_path / "nope", tmp_path / "dst", "--lib-version",
                      "0.9") == "no such database directory: %s" % (tmp_path / "nope")
    assert not (tmp_path / "dst").exists() and no_leftovers(tmp_path)


def test_migrate_usage_errors_exit_2(tmp_path):
    res = run("migrate", tmp_path / "a", tmp_path / "b")
    assert res.returncode == 2 and b"Missing option '--lib-version'" in res.stderr
    line = usage_error("migrate", tmp_path / "a", tmp_path / "b", "--lib-version", "1")
    assert "Invalid value for '--lib-version'" in line and "'1.0', '0.9'" in line, line
    assert "Missing argument" in usage_error("migrate", tmp_path / "a", "--lib-version", "1.0")
    src = build_flags(tmp_path / "src", 0, records=1)
    assert user_error("migrate", src, tmp_path / "b", "--lib-version", "1.0",
                      "--batch-size", "0") == "--batch-size must be at least 1"


def test_a_key_too_long_for_lmdb_0_9_stops_the_migration(tmp_path):
    path = str(tmp_path / "v1")
    env = zl.open(path, max_dbs=2, lib_version=1)
    tags = env.open_db(b"tags", dupsort=True)
    with env.begin(write=True) as txn:
        txn.put(b"k" * 600, b"v")
    env.close()
    assert user_error("migrate", path, tmp_path / "dst", "--lib-version", "0.9") == \
        "main database: a key of 600 bytes is longer than the LMDB 0.9 format (data " \
        "format v1) allows (511 bytes): keep this database in its format"
    env = zl.open(path, max_dbs=2)
    tags = env.open_db(b"tags", dupsort=True)
    with env.begin(write=True) as txn:
        txn.delete(b"k" * 600)
        txn.put(b"k", b"v" * 600, db=tags)
    env.close()
    assert user_error("migrate", path, tmp_path / "dst", "--lib-version", "0.9") == \
        "named database tags is dupsort, and holds a value of 600 bytes, which the LMDB " \
        "0.9 format (data format v1) refuses in a dupsort database (1 to 511 bytes): " \
        "keep this database in its format"
    assert not (tmp_path / "dst").exists() and no_leftovers(tmp_path)
    ok("migrate", path, tmp_path / "dst", "--lib-version", "1.0")


# -- failures leave nothing -----------------------------------------------------------

def _failing_put(monkeypatch, failure, after=1):
    """Make the ``after``-th batch of the copy (and those after it) call
    ``failure(items)`` instead of, or before, writing."""
    real = _cli_migrate._Writer.put
    calls = []

    def put(self, src, handle, items):
        calls.append(len(items))
        if len(calls) > after:
            items = failure(items)
        return real(self, src, handle, items)

    monkeypatch.setattr(_cli_migrate._Writer, "put", put)
    return calls


def test_a_failed_write_leaves_no_destination(tmp_path, monkeypatch):
    src = build_flags(tmp_path / "src", 0)
    before = file_state(src)

    def fail(items):
        raise zl.DiskError("mdb_put: No space left on device")

    calls = _failing_put(monkeypatch, fail)
    line = user_error("migrate", src, tmp_path / "dst", "--lib-version", "1.0",
                      "--batch-size", "50")
    assert line == "LMDB: mdb_put: No space left on device", line
    assert len(calls) == 2
    assert not (tmp_path / "dst").exists() and no_leftovers(tmp_path)
    assert file_state(src) == before
    # into an empty directory: it stays empty
    (tmp_path / "empty").mkdir()
    user_error("migrate", src, tmp_path / "empty", "--lib-version", "1.0",
               "--batch-size", "50")
    assert os.listdir(tmp_path / "empty") == [] and no_leftovers(tmp_path)


def test_an_interrupted_migration_leaves_no_destination(tmp_path, monkeypatch):
    src = build_flags(tmp_path / "src", 1)

    def interrupt(items):
        raise KeyboardInterrupt

    _failing_put(monkeypatch, interrupt, after=2)
    res = run("migrate", src, tmp_path / "dst", "--lib-version", "0.9", "--batch-size", "50")
    assert res.returncode == 130 and res.stdout == b""
    assert not (tmp_path / "dst").exists() and no_leftovers(tmp_path)


def test_a_copy_that_differs_from_its_source_is_refused(tmp_path, monkeypatch):
    src = build_flags(tmp_path / "src", 0)

    def change_one_value(items):
        (k, v), rest = items[0], items[1:]
        return [(k, v + b"!")] + rest

    _failing_put(monkeypatch, change_one_value, after=0)
    line = user_error("migrate", src, tmp_path / "dst", "--lib-version", "1.0")
    assert line.startswith("verification failed: main database has 200 records with "
                           "SHA-256 "), line
    assert "200 records with SHA-256 %s in the source" % _digest_of(src) in line
    assert not (tmp_path / "dst").exists() and no_leftovers(tmp_path)


def _digest_of(path):
    digest = _cli_migrate.Digest()
    env = zl.open(str(path), readonly=True, lock=False, max_dbs=len(FLAGS))
    with env.begin() as txn:
        names = set(env.dbs(txn=txn))
        for k, v in txn.cursor():
            if k not in names:
                digest.add(k, v)
    env.close()
    return digest.hexdigest()


def test_sigterm_leaves_no_destination(tmp_path):
    src = build_flags(tmp_path / "src", 0)
    started = tmp_path / "started"
    code = """
import sys, time
from zlmdb import _cli_migrate
from zlmdb.cli import main
real = _cli_migrate._Writer.put
def put(self, *args):
    real(self, *args)
    open(sys.argv[1], "w").close()
    time.sleep(60)
_cli_migrate._Writer.put = put
main(sys.argv[2:])
"""
    proc = subprocess.Popen([sys.executable, "-c", code, str(started), "migrate", src,
                             str(tmp_path / "dst"), "--lib-version", "1.0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while not started.exists():
        assert proc.poll() is None, proc.stderr.read()
        assert time.time() < deadline
        time.sleep(0.01)
    assert [n for n in os.listdir(tmp_path) if ".migrate-" in n], "the copy is under way"
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert out == b"" and b"Traceback" not in err
    assert not (tmp_path / "dst").exists() and no_leftovers(tmp_path)


def test_progress_bar_only_on_a_terminal(tmp_path):
    src = build_flags(tmp_path / "src", 0)
    total = sum(len(recs) for _f, recs in dump_all(src)[1].values())
    status, err = _run_on_a_terminal(["migrate", src, tmp_path / "a", "--lib-version", "1.0"])
    assert status == 0 and "migrate %s 100%% [" % src in err, err
    assert "%d/%d records" % (total, total) in err, err
    res = run("migrate", src, tmp_path / "b", "--lib-version", "1.0", proc=True)
    assert res.returncode == 0 and res.stderr == b""
    status, err = _run_on_a_terminal(["migrate", src, tmp_path / "c", "--lib-version", "1.0",
                                      "--no-progress"])
    assert status == 0 and err == ""
