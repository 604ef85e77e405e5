"""The command-line tool: ``python -m zlmdb.lmdb`` (zlmdb.lmdb.tool).

Every command runs in a subprocess, once on its happy path and once with a
user error (which must give one line on stderr, no traceback, exit 1).
The dump format is checked against py-lmdb's own tool in both directions.
"""
import ast
import csv
import io
import os
import subprocess
import sys

import pytest

import zlmdb.lmdb as zl

COMMANDS = ("copy", "copyfd", "drop", "dump", "edit", "get", "readers",
            "restore", "rewrite", "shell", "stat", "warm", "watch")


def run(*args, cwd=None, stdin=None, module="zlmdb.lmdb", **kw):
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd,
                          input=stdin, capture_output=True, timeout=60, **kw)


def ok(*args, **kw):
    res = run(*args, **kw)
    assert res.returncode == 0, res.stderr.decode()
    return res.stdout.decode("utf-8", "replace")


def user_error(*args, **kw):
    """Run a failing command; return its one-line error message."""
    res = run(*args, **kw)
    err = res.stderr.decode()
    assert res.returncode == 1, (res.returncode, err)
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("zlmdb.lmdb.tool: ")
    return lines[0][len("zlmdb.lmdb.tool: "):]


def read_all(path, name=None, subdir=True):
    env = zl.open(path, max_dbs=8, subdir=subdir, readonly=False, create=False)
    try:
        db = env.open_db(name, create=False) if name else None
        with env.begin(db=db) as txn:
            return list(txn.cursor())
    finally:
        env.close()


@pytest.fixture
def src(tmp_path):
    """An environment with a main db, a plain 'sub' db and a dupsort 'dups' db."""
    path = str(tmp_path / "src")
    env = zl.open(path, max_dbs=8)
    sub = env.open_db(b"sub")
    dups = env.open_db(b"dups", dupsort=True)
    with env.begin(write=True) as txn:
        txn.put(b"a", b"1")
        txn.put(b"bin\n", bytes(range(40)))
        txn.put(b"empty", b"")
        txn.put(b"k", b"v", db=sub)
        # One value per key: a second duplicate makes LMDB build a sub-page
        # whose unaligned access aborts the UBSan build (make sanitize).
        for key, value in ((b"xx", b"1"), (b"yy", b"2")):
            txn.put(key, value, db=dups)
    env.close()
    return path


MAIN_RECORDS = [(b"a", b"1"), (b"bin\n", bytes(range(40))), (b"empty", b"")]
DUP_RECORDS = [(b"xx", b"1"), (b"yy", b"2")]
# The main database's record naming 'dups' (LMDB 1.0 adds a trailing NUL).
DUPS_KEYS = (b"dups", b"dups\0")


# -- global behaviour ---------------------------------------------------------------------

def test_help_lists_every_command_and_option():
    out = ok("--help")
    listed = [line.split()[0] for line in out.splitlines() if line.startswith("  ")
              and not line.lstrip().startswith("-")]
    for cmd in COMMANDS:
        assert cmd in listed, cmd
    for opt in ("--env", "--db", "--read", "--map_size", "--use-single-file",
                "--target_env", "--xxd", "--max-dbs", "--out-fd", "--compact",
                "--set", "--set-file", "--add", "--add-file", "--delete",
                "--clean", "--csv", "--interval", "--window", "--count"):
        assert opt in out


def test_usage_errors(tmp_path, src):
    assert user_error() == "Please specify a command (see --help)"
    assert user_error("-e", src, "frob") == "No such command: 'frob'"
    assert user_error("stat") == "Please specify environment (--env)"
    res = run("-e", src, "--bogus", "stat")
    assert res.returncode == 2 and b"no such option: --bogus" in res.stderr


def test_missing_environment_is_not_created(tmp_path):
    missing = str(tmp_path / "nope")
    msg = user_error("-e", missing, "stat")
    assert msg == "cannot open environment %r: No such file or directory" % missing
    assert not os.path.exists(missing)


# -- stat / get / readers ----------------------------------------------------------------------

def _dicts(out):
    first, second = out.split("}\n{")
    return ast.literal_eval(first + "}"), ast.literal_eval("{" + second)


def test_stat(src):
    stat, info = _dicts(ok("-e", src, "stat"))
    assert stat["entries"] == 5          # 3 records + 2 sub-database records
    assert set(info) == {"map_addr", "map_size", "last_pgno", "last_txnid",
                         "max_readers", "num_readers"}
    assert info["map_size"] == 10 << 20
    stat, info = _dicts(ok("-e", src, "-d", "dups", "-S", "20", "stat"))
    assert stat["entries"] == 2 and info["map_size"] == 20 << 20


def test_stat_bad_db(src):
    assert user_error("-e", src, "-d", "nosuch", "stat") == "no such database: 'nosuch'"
    assert user_error("-e", src, "-d", "a", "stat") == \
        "'a' is a key of the main database, not a database"


def test_get(src):
    assert ok("-e", src, "get", "a") == "b'1'\n"
    assert ok("-e", src, "get", "zz") == "'zz': missing\n"
    assert ok("-e", src, "get", "a", "zz", "empty") == \
        "'a':\nb'1'\n'zz': missing\n'empty':\nb''\n"
    assert ok("-e", src, "-d", "sub", "get", "k") == "b'v'\n"
    assert ok("-e", src, "-d", "dups", "get", "xx") == "b'1'\n"
    assert ok("-e", src, "get") == ""


def test_get_xxd(src):
    out = ok("-e", src, "-x", "get", "bin\n", "a")
    assert out == (
        "'bin\\n':\n"
        "0000000: 0001 0203 0405 0607 0809 0a0b 0c0d 0e0f  ................\n"
        "0000010: 1011 1213 1415 1617 1819 1a1b 1c1d 1e1f  ................\n"
        "0000020: 2021 2223 2425 2627                       !\"#$%&'\n"
        "\n"
        "'a':\n"
        "0000000: 31\n"
        "\n")


def test_get_xxd_matches_reference(src):
    args = ("-e", src, "-x", "get", "bin\n", "a", "empty", "zz")
    assert ok(*args) == ok(*args, module="lmdb")


def test_get_bad_db_does_not_create_it(src):
    assert user_error("-e", src, "-d", "nosuch", "get", "k") == "no such database: 'nosuch'"
    env = zl.open(src, max_dbs=8)
    try:
        assert b"nosuch" not in env.dbs()
    finally:
        env.close()


def test_readers(src):
    assert ok("-e", src, "readers") == "(no active readers)\n\n"
    assert ok("-e", src, "readers", "-c") == \
        "Cleaned 0 stale entries.\n(no active readers)\n\n"


def test_readers_error(src):
    assert user_error("-e", src, "readers", "extra") == "readers takes no arguments"


# -- dump / restore ---------------------------------------------------------------------------

def test_dump_default_main(src, tmp_path):
    out = ok("-e", src, "dump", cwd=str(tmp_path))
    assert out == "Dumping to 'main.cdbmake'...\n"
    data = (tmp_path / "main.cdbmake").read_bytes()
    assert data.startswith(b"+1,1:a->1\n+4,40:bin\n->" + bytes(range(40)) + b"\n")
    assert b"\n+5,0:empty->\n" in data and data.endswith(b"\n\n")
    # The main database also holds the sub-database records; py-lmdb's tool
    # writes exactly the same bytes.
    ref = tmp_path / "ref"
    ref.mkdir()
    ok("-e", src, "dump", cwd=str(ref), module="lmdb")
    assert (ref / "main.cdbmake").read_bytes() == data


def test_dump_named_dbs(src, tmp_path):
    sub, dups = str(tmp_path / "sub.cdb"), str(tmp_path / "dups.cdb")
    out = ok("-e", src, "dump", "sub=" + sub, "dups=" + dups)
    assert out == "Dumping to %r...\nDumping to %r...\n" % (sub, dups)
    assert open(sub, "rb").read() == b"+1,1:k->v\n\n"
    assert open(dups, "rb").read() == b"".join(
        b"+2,1:%s->%s\n" % kv for kv in DUP_RECORDS) + b"\n"


def test_dump_errors(src, tmp_path):
    assert user_error("-e", src, "dump", "sub") == 'DB specification missing "=": \'sub\''
    assert user_error("-e", src, "dump", "nosuch=" + str(tmp_path / "f")) == \
        "no such database: 'nosuch'"


def test_dump_all(src, tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    ok("-e", src, "dump", "--all", cwd=str(out_dir))
    assert sorted(p.name for p in out_dir.iterdir()) == \
        ["dups.cdbmake", "main.cdbmake", "sub.cdbmake"]
    assert (out_dir / "sub.cdbmake").read_bytes() == b"+1,1:k->v\n\n"
    assert user_error("-e", src, "dump", "--all", "sub=x") == \
        "--all cannot be combined with a list of databases"
    assert user_error("-e", src, "dump", "sub=a", "sub=b") == "DB specified twice: 'sub=b'"


def test_restore(src, tmp_path):
    dump = tmp_path / "d.cdb"
    dump.write_bytes(b"+1,1:k->v\n+3,0:abc->\n+2,5:\n\n->a\nb\xff\x00\n\n")
    target = str(tmp_path / "target")
    zl.open(target).close()
    out = ok("-e", target, "restore", "new=%s" % dump, ":main:=%s" % dump)
    assert out == ("Restoring from %r...\nLoaded 3 keys from %r\n" % (str(dump), str(dump))) * 2
    expected = sorted([(b"k", b"v"), (b"abc", b""), (b"\n\n", b"a\nb\xff\x00")])
    assert read_all(target, b"new") == expected
    # the main database also holds the record naming "new" (with LMDB 1.0's
    # trailing NUL on that engine)
    assert [kv for kv in read_all(target) if kv[0] not in (b"new", b"new\0")] == expected


def test_restore_into_existing_dupsort_db(src, tmp_path):
    dump = tmp_path / "d.cdb"
    dump.write_bytes(b"+2,1:ww->9\n+2,1:zz->8\n\n")
    ok("-e", src, "restore", "dups=%s" % dump)
    assert read_all(src, b"dups") == sorted(DUP_RECORDS + [(b"ww", b"9"), (b"zz", b"8")])
    env = zl.open(src, max_dbs=8)
    try:
        assert env.open_db(b"dups", create=False).flags()["dupsort"]
    finally:
        env.close()


@pytest.mark.parametrize("content, message", [
    (b"", "bad or missing plus, line/record #1"),
    (b"+1,1:a->b\n", "bad or missing plus, line/record #2"),
    (b"+x,1:a->b\n\n", "bad or missing length, line/record #1"),
    (b"+1,1:a-b\n\n", "bad or missing separator, line/record #1"),
    (b"+1,1:a->bX\n", "bad line ending, line/record #1"),
])
def test_restore_bad_file_rolls_back(src, tmp_path, content, message):
    bad = tmp_path / "bad.cdb"
    bad.write_bytes(content)
    assert user_error("-e", src, "restore", "fresh=%s" % bad) == message
    env = zl.open(src, max_dbs=8)
    try:
        assert b"fresh" not in env.dbs()
    finally:
        env.close()


def test_restore_errors(src, tmp_path):
    assert user_error("-e", src, "restore") == \
        "Must specify at least one db=file pair (see --help)"
    missing = str(tmp_path / "nofile")
    assert user_error("-e", src, "restore", "x=" + missing) == \
        "cannot read %r: No such file or directory" % missing


def _populate_with_reference(path):
    code = (
        "import lmdb, sys\n"
        "e = lmdb.open(sys.argv[1], max_dbs=4)\n"
        "d = e.open_db(b'sub')\n"
        "with e.begin(write=True) as t:\n"
        "    for i in range(50):\n"
        "        t.put(b'key%03d' % i, bytes(range(i % 256)) + b'->\\n+', db=d)\n"
        "    t.put(b'\\n+', b'', db=d)\n"
        "e.close()\n")
    subprocess.run([sys.executable, "-c", code, path], check=True, timeout=60)


def test_reference_dump_restores_with_ours_and_back(tmp_path):
    """py-lmdb's tool and ours read and write the same files."""
    origin = str(tmp_path / "origin")
    _populate_with_reference(origin)
    ref_dump, our_dump = str(tmp_path / "ref.cdb"), str(tmp_path / "our.cdb")
    ok("-e", origin, "dump", "sub=" + ref_dump, module="lmdb")
    ok("-e", origin, "dump", "sub=" + our_dump)
    assert open(ref_dump, "rb").read() == open(our_dump, "rb").read()

    ours = str(tmp_path / "ours")            # py-lmdb dump -> our restore
    zl.open(ours).close()
    ok("-e", ours, "restore", "sub=" + ref_dump)
    theirs = str(tmp_path / "theirs")        # our dump -> py-lmdb restore
    zl.open(theirs).close()
    ok("-e", theirs, "restore", "sub=" + our_dump, module="lmdb")

    expected = read_all(origin, b"sub")
    assert len(expected) == 51
    assert read_all(ours, b"sub") == expected
    assert read_all(theirs, b"sub") == expected


# -- edit / drop -----------------------------------------------------------------------------------

def test_edit(src, tmp_path):
    blob = tmp_path / "blob"
    blob.write_bytes(b"\x00file\n")
    ok("-e", src, "edit", "--set", "a=2", "--set", "n=x=y",
       "--add", "a=lost", "--add", "new=1", "--set-file", "f1=%s" % blob,
       "--add-file", "f2=%s" % blob, "--delete", "empty", "--delete", "zz")
    got = dict(read_all(src))
    assert got[b"a"] == b"2"              # --add never overwrites
    assert got[b"n"] == b"x=y" and got[b"new"] == b"1"
    assert got[b"f1"] == got[b"f2"] == b"\x00file\n"
    assert b"empty" not in got
    ok("-e", src, "-d", "sub", "edit", "--set", "s=1", "--delete", "k")
    assert read_all(src, b"sub") == [(b"s", b"1")]
    ok("-e", src, "-d", "newdb", "edit", "--set", "q=1")
    assert read_all(src, b"newdb") == [(b"q", b"1")]


def test_edit_errors(src, tmp_path):
    assert user_error("-e", src, "edit", "--set", "novalue") == \
        '--set missing "=": \'novalue\''
    missing = str(tmp_path / "nofile")
    assert user_error("-e", src, "edit", "--set", "a=9", "--set-file",
                      "b=" + missing) == \
        "cannot read %r: No such file or directory" % missing
    assert user_error("-e", src, "-r", "1", "edit", "--set", "a=9") == \
        "cannot edit: environment opened read-only (--read)"
    assert dict(read_all(src))[b"a"] == b"1"      # nothing was applied


def test_drop(src):
    out = ok("-e", src, "drop", "sub", "dups")
    assert out == "Dropping DB 'sub'...\nDropping DB 'dups'...\n"
    env = zl.open(src, max_dbs=8)
    try:
        assert env.dbs() == []
    finally:
        env.close()


def test_read_is_a_flag_and_the_older_spelling_works(src):
    readonly = "cannot edit: environment opened read-only (--read)"
    for flag in (["-r"], ["--read"], ["-r", "READ"], ["-r", "1"]):
        assert user_error("-e", src, *flag, "edit", "--set", "a=9") == readonly
    ok("-e", src, "-r", "0", "edit", "--set", "a=9")     # the old "writable" value
    assert dict(read_all(src))[b"a"] == b"9"


def test_drop_main_is_refused(src):
    assert user_error("-e", src, "drop", ":main:") == "Cannot drop main DB"
    assert read_all(src)[0] == (b"a", b"1")


def test_in_process_names(src, tmp_path, capsys):
    """The module-level API py-lmdb's tool has: ENV/DB after main(), die()
    and the helpers a program may call."""
    from zlmdb.lmdb import tool
    try:
        assert tool.main(["-e", src, "-r", "-d", "sub", "get", "k"]) == 0
        assert tool.ENV.flags()["readonly"] and tool.DB is not None
    finally:
        tool.ENV.close()
        tool.ENV = tool.DB = None
    assert capsys.readouterr().out == "b'v'\n"
    with pytest.raises(SystemExit) as exc:
        tool.main(["stat"])
    assert exc.value.code == 1
    assert "Please specify environment" in capsys.readouterr().err
    assert tool.xxd(b"") == "\n" and tool.xxd(b"AB").endswith("AB\n")
    assert tool.delta([1, 3, 6]) == [2, 3] and tool.delta([4]) == []
    assert tool.isprint("~") and not tool.isprint("\t")
    assert tool._to_bytes(42) == b"42" and tool._to_bytes("\u00e9") == b"\xc3\xa9"
    env = zl.open(str(tmp_path / "e"))
    try:
        with env.begin(write=True) as txn:
            stream = io.BytesIO(b"+1,1:k->v\n+1,0:e->\n\n")
            assert tool.restore_cursor_from_fp(txn, stream, None) == 3
            with pytest.raises(SystemExit):
                tool.restore_cursor_from_fp(txn, io.BytesIO(b"+1,1:k=>v\n\n"), None)
        out = io.BytesIO()
        with env.begin() as txn:
            assert tool.dump_cursor_to_fp(txn.cursor(), out) == 2
        assert out.getvalue() == b"+1,0:e->\n+1,1:k->v\n\n"
        tool.ENV = env
        assert tool.db_map_from_args([])[":main:"][1] == "main.cdbmake"
        with pytest.raises(SystemExit):
            tool.db_map_from_args(["nosep"])
    finally:
        tool.ENV = None
        env.close()


def test_drop_errors(src):
    assert user_error("-e", src, "drop") == \
        "Must specify at least one sub-database (see --help)"
    assert user_error("-e", src, "drop", "sub", "nosuch") == "no such database: 'nosuch'"
    assert read_all(src, b"sub") == [(b"k", b"v")]     # nothing dropped


# -- copy / copyfd / rewrite / warm ------------------------------------------------------------

def test_copy(src, tmp_path):
    target = str(tmp_path / "copy")
    assert ok("-e", src, "copy", target) == "Running copy to %r....\n" % target
    assert read_all(target) == read_all(src)
    compact = str(tmp_path / "compact")
    ok("-e", src, "copy", "--compact", compact)
    assert read_all(compact, b"dups") == DUP_RECORDS


def test_copy_errors(src, tmp_path):
    assert user_error("-e", src, "copy") == "Please specify output directory (see --help)"
    assert user_error("-e", src, "copy", str(tmp_path)) == \
        "Output directory %r already exists." % str(tmp_path)


def test_copyfd(src, tmp_path):
    out = tmp_path / "stdout.mdb"
    with open(out, "wb") as fp:
        res = subprocess.run([sys.executable, "-m", "zlmdb.lmdb", "-e", src,
                              "copyfd"], stdout=fp, stderr=subprocess.PIPE,
                             timeout=60)
    assert res.returncode == 0, res.stderr
    assert read_all(str(out), subdir=False) == read_all(src)
    other = tmp_path / "fd.mdb"
    fd = os.open(str(other), os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        res = subprocess.run([sys.executable, "-m", "zlmdb.lmdb", "-e", src,
                              "copyfd", "--compact", "--out-fd=%d" % fd],
                             pass_fds=(fd,), capture_output=True, timeout=60)
    finally:
        os.close(fd)
    assert res.returncode == 0 and res.stdout == b""
    assert read_all(str(other), b"sub", subdir=False) == [(b"k", b"v")]


def test_copyfd_error(src):
    assert user_error("-e", src, "copyfd", "--out-fd=987") == \
        "Bad --out-fd 987: [Errno 9] Bad file descriptor"


def test_rewrite(src, tmp_path):
    target = str(tmp_path / "rewritten")
    out = ok("-e", src, "-E", target, "rewrite", "dups", ":main:")
    assert out == "Writing ':main:'...\nWriting 'dups'...\nSyncing..\n"
    env = zl.open(target, max_dbs=8)
    try:
        assert env.dbs() == [b"dups"]          # 'sub' was not asked for
        assert env.open_db(b"dups").flags()["dupsort"]
    finally:
        env.close()
    assert read_all(target, b"dups") == DUP_RECORDS
    assert [kv for kv in read_all(target) if kv[0] not in DUPS_KEYS] == MAIN_RECORDS
    # a second run into the non-empty target keeps everything
    ok("-e", src, "-E", target, "rewrite")
    assert [kv for kv in read_all(target) if kv[0] not in DUPS_KEYS] == MAIN_RECORDS


def test_rewrite_errors(src, tmp_path):
    assert user_error("-e", src, "rewrite") == "Must specify target environment path with -E"
    target = str(tmp_path / "t")
    assert user_error("-e", src, "-E", target, "rewrite", "nosuch") == \
        "no such database: 'nosuch'"


def test_warm(src, tmp_path):
    out = ok("-e", src, "warm")
    assert out.startswith("Warmed ") and out.endswith("ms\n")
    size_mb = float(out.split()[1][:-2])
    assert size_mb == round(os.path.getsize(os.path.join(src, "data.mdb")) / 1048576.0, 2)
    single = str(tmp_path / "single.mdb")
    zl.open(single, subdir=False).close()
    assert ok("-e", single, "-s", "warm").startswith("Warmed ")


def test_warm_error(src):
    msg = user_error("-e", src, "-s", "warm")
    assert msg.startswith("cannot open environment %r" % src)


# -- shell / watch ------------------------------------------------------------------------------------

def test_shell(src):
    script = (b"print('entries', ENV.stat()['entries'], env is ENV)\n"
              b"print('module', lmdb.__name__, DB)\n"
              b"with env.begin() as t:\n"
              b"    print('value', t.get(b'a'))\n"
              b"\n")
    res = run("-e", src, "shell", stdin=script)
    out = res.stdout.decode()
    assert res.returncode == 0, res.stderr
    assert "entries 5 True" in out
    assert "module zlmdb.lmdb None" in out
    assert "value b'1'" in out
    res = run("-e", src, "-d", "dups", "shell", stdin=b"print(DB.flags()['dupsort'])\n")
    assert "True" in res.stdout.decode()


def test_shell_error(tmp_path):
    user_error("-e", str(tmp_path / "nope"), "shell", stdin=b"print(1)\n")


def test_watch(src):
    out = ok("-e", src, "watch", "--count", "3", "--interval", "0")
    lines = out.splitlines()
    assert len(lines) == 4
    assert lines[0].split() == ["time", "txnid", "txn/s", "readers", "last_pgno",
                                "used_mb", "map_mb", "used%", "entries", "depth",
                                "rd_kb/s", "wr_kb/s"]
    assert all(line.split()[8] == "5" for line in lines[1:])
    # disk throughput: a rate where /sys/block knows the device, else "-"
    for line in lines[1:]:
        for field in line.split()[10:]:
            assert field == "-" or float(field) >= 0
    rows = list(csv.reader(io.StringIO(ok("-e", src, "watch", "--csv",
                                          "--count=2", "--interval=0"))))
    assert len(rows) == 3 and rows[0][1] == "txnid"
    assert rows[1][6] == "10.00"          # map_mb


def test_watch_error(src):
    assert user_error("-e", src, "watch", "--count", "-1") == \
        "--interval must be >= 0, --window >= 1, --count >= 0"
