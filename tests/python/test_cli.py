"""The ``zlmdb`` command, end to end.

Most commands run in this process through click's CliRunner; the entry
points (``python -m zlmdb``, the ``zlmdb`` console script), the progress
bar on a terminal and a reader held by another process run in
subprocesses.  The database comes from cli_data/make_db.py (ORM tables of
several map types, two indexes, composite keys, an unregistered slot); the
schema the commands get with ``--schema`` is cli_data/cli_schema.py.  Every
command is run for its text and --json output; errors must be one
``zlmdb: error:`` line with status 1 and no traceback.
"""
import base64
import collections
import json
import os
import pathlib
import pty
import select
import shutil
import struct
import subprocess
import sys
import time

import click
import pytest
from click.testing import CliRunner

import zlmdb
import zlmdb.lmdb as zl
from zlmdb.cli import main
CATALOG_KEY = b"\x00\x00\x01"      # the catalog record in slot 0 (docs/orm.md)

DATA = pathlib.Path(__file__).resolve().parent / "cli_data"
SCHEMA = ["--schema", "%s:Schema" % (DATA / "cli_schema.py")]
SCRIPT = pathlib.Path(sys.executable).parent / "zlmdb"
COMMANDS = {"info", "env", "tables", "count", "get", "scan", "export", "import", "backup",
            "check", "grow", "migrate"}

Ran = collections.namedtuple("Ran", "returncode stdout stderr")


def _runner():
    try:
        return CliRunner(mix_stderr=False)      # click 8.1 mixes stderr in by default
    except TypeError:                           # click 8.2 and later keep it apart
        return CliRunner()


def run(*args, proc=False, script=False, stdin=None, timeout=120):
    """Run a command line; returns its status, stdout and stderr (bytes).
    In this process through CliRunner, where an exception that escapes the
    command (a crash, which would print a traceback) is raised; with
    ``proc`` as ``python -m zlmdb``, with ``script`` as the console script."""
    args = [str(a) for a in args]
    if proc or script:
        cmd = [str(SCRIPT)] if script else [sys.executable, "-m", "zlmdb"]
        res = subprocess.run(cmd + args, capture_output=True, input=stdin, timeout=timeout)
        return Ran(res.returncode, res.stdout, res.stderr)
    res = _runner().invoke(main, args, input=stdin, prog_name="zlmdb")
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    return Ran(res.exit_code, res.stdout_bytes, res.stderr_bytes)


def ok(*args, **kw):
    res = run(*args, **kw)
    assert res.returncode == 0, (res.returncode, res.stderr.decode())
    assert b"Traceback" not in res.stderr
    return res.stdout.decode()


def ok_json(*args, **kw):
    return json.loads(ok(*args, "--json", **kw))


def json_lines(text):
    return [json.loads(line) for line in text.splitlines()]


def user_error(*args, **kw):
    """Run a failing command; return its one error line."""
    res = run(*args, **kw)
    err = res.stderr.decode()
    assert res.returncode == 1, (res.returncode, err, res.stdout)
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("zlmdb: error: "), err
    return lines[0][len("zlmdb: error: "):]


def build(path, *flags):
    subprocess.run([sys.executable, str(DATA / "make_db.py"), str(path), *flags],
                   check=True, cwd=str(DATA), timeout=120)
    return str(path)


def raw_dump(path):
    """Every (key, value) of the main database, as bytes."""
    env = zl.open(str(path), readonly=True, lock=False)
    try:
        with env.begin() as txn:
            return [(bytes(k), bytes(v)) for k, v in txn.cursor()]
    finally:
        env.close()


def file_state(path):
    st = os.stat(os.path.join(path, "data.mdb"))
    return st.st_size, st.st_mtime_ns, pathlib.Path(path, "data.mdb").read_bytes()


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return build(tmp_path_factory.mktemp("cli") / "db")


@pytest.fixture
def db_copy(db, tmp_path):
    dest = tmp_path / "copy"
    shutil.copytree(db, dest)
    return str(dest)


# -- entry points ---------------------------------------------------------------------

def test_console_script_and_module_agree(db):
    assert SCRIPT.exists(), "pip install -e . must install the zlmdb console script"
    res = run("--version", script=True)
    assert res.returncode == 0 and \
        res.stdout.decode().startswith("zlmdb %s " % zlmdb.__version__)
    assert ok("tables", db, script=True) == ok("tables", db, proc=True) == ok("tables", db)
    assert "num_slots: 11\n" in ok("info", db, script=True)
    text = ok("--help", proc=True)
    assert text.startswith("Usage: zlmdb [OPTIONS] COMMAND [ARGS]...")
    for command in COMMANDS:
        assert "\n  %s " % command in text
        assert ok(command, "--help").startswith("Usage: zlmdb %s [OPTIONS]" % command)
    assert ok("scan", "-h") == ok("scan", "--help")


def test_main_is_a_click_group():
    assert isinstance(main, click.Group)
    assert set(main.commands) == COMMANDS
    # From Python, without exiting: the status of the command line.
    assert main.main(["--version"], standalone_mode=False) == 0


def usage_error(*args, **kw):
    """Run a command line that misuses the command; return click's error
    line (status 2, the usage above it)."""
    res = run(*args, **kw)
    err = res.stderr.decode()
    assert res.returncode == 2, (res.returncode, err, res.stdout)
    assert "Traceback" not in err and err.startswith("Usage: zlmdb")
    return err.strip().splitlines()[-1]


def test_usage_errors_exit_2(db, tmp_path):
    # click's own wording changes between its releases: each message must
    # name the option or argument, the bad value and what is expected.
    def says(line, *parts):
        assert line.startswith("Error: ") and all(p in line for p in parts), line

    says(usage_error(proc=True), "Missing command")
    says(usage_error("frobnicate", "x"), "No such command", "frobnicate")
    assert usage_error("grow", "x", "lots") == \
        "Error: Invalid value for 'SIZE': bad size 'lots' (e.g. 1073741824, 512MiB, 2G, +1G)"
    assert usage_error("import", tmp_path / "t", "x.jsonl", "--map-size", "+1G") == \
        "Error: Invalid value for '--map-size': an absolute size is expected, not '+1G'"
    says(usage_error("scan", db, "1", "--limit", "many"), "'--limit'", "'many'",
         "not a valid integer")
    says(usage_error("export", db, "1", "--format", "xml"), "'--format'", "'xml'",
         "'jsonl', 'cbor'")
    says(usage_error("count", db), "Missing argument", "SLOT")
    says(usage_error("get", db, "1"), "Missing argument", "KEY...")
    says(usage_error("scan", db, "1", "--bogus"), "No such option", "--bogus")
    assert usage_error("count", db, "1", "--from", "--json") == \
        "Error: Option '--from' requires one or more key components, one word each."


def test_key_options_and_words_that_start_with_a_dash(db, tmp_path):
    # --from/--to/--prefix take every word up to the next option; a later
    # occurrence replaces an earlier one, as for any option with a value.
    assert ok("count", db, "1", *SCHEMA, "--from", "5", "--from", "2", "--to", "5").strip() \
        == "3"
    assert ok("count", db, "UsersByRealm", "--to=1", "--from", "0", "4", *SCHEMA).strip() \
        == "2"
    # --from=WORD is that one word
    assert usage_error("count", db, "UsersByRealm", "--from=0", "4").endswith(
        "unexpected extra argument (4)")
    # A negative word is a value (int nanoseconds before 1970), for an option
    # and for a positional alike; "--" ends the options.
    event = "00000000-0000-0000-0000-00000000e001"
    # (-1 ns is stored as a big-endian int64, 0xff...ff: after every record
    # of the event, where 0 is before them.)
    assert ok("count", db, "Events", *SCHEMA, "--from", event, "-1").strip() == "0"
    assert ok("count", db, "Events", *SCHEMA, "--from", event, "0").strip() == "2"
    assert user_error("get", db, "Events", event, "-5", *SCHEMA) == \
        "no record in slot 4 with key %s -5" % event
    assert user_error("get", db, "UsersByName", *SCHEMA, "--", "-x") == \
        "no record in slot 2 with key -x"
    # a short option and its value in one word
    ok("export", db, "Users", "-o%s" % (tmp_path / "u.jsonl"))
    assert len((tmp_path / "u.jsonl").read_text().splitlines()) == 7


def test_shell_completion(db):
    def complete(*words):
        env = dict(os.environ, _ZLMDB_COMPLETE="bash_complete",
                   COMP_WORDS=" ".join(("zlmdb",) + words), COMP_CWORD=str(len(words)))
        res = subprocess.run([str(SCRIPT)], env=env, capture_output=True, timeout=60)
        assert res.returncode == 0 and res.stderr == b"", res
        return [line.split(",", 1)[1] for line in res.stdout.decode().splitlines() if line]

    assert complete("sc") == ["scan"]
    assert complete("export", db, "--for") == ["--format"]
    assert complete("export", db, "--format", "") == ["jsonl", "cbor"]
    # in the middle of a key option's words
    assert complete("count", db, "1", "--from", "") == []
    assert complete("count", db, "1", "--from", "2", "--js") == ["--json"]
    res = subprocess.run([str(SCRIPT)], env=dict(os.environ, _ZLMDB_COMPLETE="bash_source"),
                         capture_output=True, timeout=60)
    assert res.returncode == 0 and b"_zlmdb_completion()" in res.stdout


# -- info: upstream zlmdb's command ----------------------------------------------------

def info_lines(*args):
    res = run("info", *args)
    assert res.returncode == 0 and res.stderr == b"", res
    lines = res.stdout.decode().splitlines()
    pairs = [line.split(": ", 1) for line in lines]
    assert all(len(p) == 2 for p in pairs), lines
    return pairs


def test_info_prints_the_sorted_stats(db):
    before = file_state(db)
    pairs = info_lines(db)
    keys = [k for k, _v in pairs]
    assert keys == sorted(keys)
    with zlmdb.Database(db, readonly=True, create=False) as opened:
        stats = opened.stats()
    assert set(keys) == set(stats)
    got = dict(pairs)
    for key in ("num_slots", "entries", "page_size", "psize", "depth", "last_txnid",
                "current_size", "pages", "used", "read_only"):
        assert got[key] == str(stats[key]), key
    assert got["num_slots"] == "11" and got["read_only"] == "True"
    assert file_state(db) == before, "info must not write"


def test_info_on_a_low_level_environment(tmp_path):
    env = zl.open(str(tmp_path / "plain"))
    with env.begin(write=True) as txn:
        txn.put(b"key", b"value")
    env.close()
    got = dict(info_lines(tmp_path / "plain"))
    assert got["num_slots"] == "0" and got["entries"] == "1"


def test_info_without_a_database_exits_1_and_creates_nothing(tmp_path):
    missing = tmp_path / "nope"
    res = run("info", missing)
    assert (res.returncode, res.stdout) == (1, b"")
    assert res.stderr.decode() == 'error: no database at "%s"\n' % missing
    assert not missing.exists()
    (tmp_path / "empty").mkdir()
    res = run("info", tmp_path / "empty", proc=True)
    assert res.returncode == 1 and res.stderr.decode() == \
        'error: no database at "%s"\n' % (tmp_path / "empty")
    assert os.listdir(tmp_path / "empty") == []


def test_info_reports_what_does_not_open_in_one_line(tmp_path):
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "data.mdb").write_bytes(os.urandom(3 * 4096))
    res = run("info", tmp_path / "junk", proc=True)
    err = res.stderr.decode()
    assert res.returncode == 1 and res.stdout == b"", err
    assert err.startswith("error: ") and len(err.splitlines()) == 1, err
    assert "Traceback" not in err


def test_info_usage_errors_exit_2(db, tmp_path):
    line = usage_error("info", db, "--lib-version", "2.0")
    assert "Invalid value for '--lib-version'" in line and "'1.0', '0.9'" in line, line
    line = usage_error("info")
    assert "Missing argument" in line and "DBPATH" in line, line
    afile = tmp_path / "afile"
    afile.write_text("x")
    line = usage_error("info", afile)
    assert "Invalid value for 'DBPATH'" in line and "is a file" in line, line


# -- env: the environment's facts ----------------------------------------------------

def test_env_text_and_json(db):
    before = file_state(db)
    info = ok_json("env", db)
    assert info["map_size"] == 32 << 20
    # the engine of the file's format, whichever the ORM created it in
    env = zl.open(db, readonly=True, lock=False)
    assert info["lmdb_version"] == "%d.%d.%d" % env.lib_version()[:3]
    assert info["lib_version"] == "%d.%d" % env.lib_version()[:2]
    env.close()
    assert info["page_size"] == 4096
    assert info["entries"] == len(raw_dump(db))
    assert info["pages_used"] * info["page_size"] == info["used_bytes"]
    assert info["used_bytes"] <= info["file_size"] < info["map_size"]
    assert info["file_preallocated"] is False
    assert info["pages_in_tree"] == info["branch_pages"] + info["leaf_pages"] + \
        info["overflow_pages"]
    assert info["readers"] == []
    text = ok("env", db)
    assert "map size        33554432 (32.0 MiB)" in text
    assert "entries         %d" % info["entries"] in text
    assert file_state(db) == before, "env must not write"


def test_env_under_writemap_counts_pages_not_the_file(tmp_path):
    path = build(tmp_path / "wm", "--writemap")
    info = ok_json("env", path)
    # With writemap LMDB sizes the file to the whole map: the file size says
    # nothing about usage, the last page does.
    assert info["file_size"] == info["map_size"] == 32 << 20
    assert info["file_preallocated"] is True
    assert info["used_bytes"] == info["pages_used"] * 4096 < info["file_size"] // 100
    assert info["used_percent"] < 1
    assert "preallocated to the map size (writemap)" in ok("env", path)


def test_env_lists_an_active_reader(db):
    # The reader is this process, so the command runs in another one.
    env = zl.open(db, readonly=True)
    txn = env.begin()
    try:
        readers = ok_json("env", db, proc=True)["readers"]
        assert [r["pid"] for r in readers] == [os.getpid()]
        assert readers[0]["txnid"] == txn.id()
    finally:
        txn.abort()
        env.close()


# -- tables ---------------------------------------------------------------------------

def test_tables_lists_registry_and_unregistered_slots(db):
    rows = {r["slot"]: r for r in ok_json("tables", db)["tables"]}
    assert sorted(rows) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 40]
    assert rows[1]["name"] == "Users" and rows[1]["oid"].endswith("c1101")
    assert rows[1]["description"] == "Users by oid."
    assert rows[1]["records"] == 6 and rows[2]["records"] == 6 and rows[4]["records"] == 2
    # 11 registry records and the catalog
    assert rows[0]["records"] == 12 and rows[0]["type"] == "(registry)"
    assert rows[40]["registered"] is False and rows[40]["name"] is None
    assert all(r["registered"] for s, r in rows.items() if s != 40)
    assert sum(r["records"] for r in rows.values()) == len(raw_dump(db))
    # bytes: leaf space of the records, at least their payload
    for r in rows.values():
        assert r["bytes"] >= r["payload_bytes"] > 0
    # no schema: the catalog the ORM wrote gives the layouts and indexes; the
    # unregistered slot 40 has no entry, so its layout is guessed
    assert rows[1]["layout"]["source"] == "catalog" and rows[1]["type"] == "MapOidCbor"
    assert rows[1]["indexes"] == [
        {"name": "by_name", "slot": 2, "unique": True, "nullable": False},
        {"name": "by_realm", "slot": 3, "unique": False, "nullable": False}]
    assert rows[40]["layout"]["source"] == "guess"
    text = ok("tables", db)
    assert "(unregistered)" in text and "Users" in text and "(guessed)" in text


def drop_catalog(path):
    """Make ``path`` look like a database upstream zlmdb wrote: no catalog."""
    _corrupt(path, deletes=[CATALOG_KEY])


def test_tables_without_a_catalog_guesses_and_says_so(db_copy):
    drop_catalog(db_copy)
    rows = {r["slot"]: r for r in ok_json("tables", db_copy)["tables"]}
    assert rows[1]["layout"]["source"] == "guess" and rows[1]["type"].endswith("(guessed)")
    assert rows[1]["layout"]["value"] == "cbor" and rows[1]["indexes"] == []
    res = run("tables", db_copy)
    assert b"the database has no catalog" in res.stderr


def test_tables_with_schema_knows_types_and_indexes(db):
    rows = {r["slot"]: r for r in ok_json("tables", db, *SCHEMA)["tables"]}
    assert rows[1]["type"] == "MapOidCbor (schema)"
    assert rows[1]["layout"] == {"map": "MapOidCbor", "key": ["oid"], "value": "cbor",
                                 "compress": None, "source": "schema"}
    assert {i["name"]: (i["slot"], i["unique"]) for i in rows[1]["indexes"]} == \
        {"by_name": (2, True), "by_realm": (3, False)}
    assert rows[11]["type"] == "MapOidCbor+zlib (schema)"
    assert rows[40]["type"] == "MapUuidUuid (schema)" and rows[40]["name"] == "(MapUuidUuid)"
    # --map wins over the schema
    rows = {r["slot"]: r for r in ok_json("tables", db, *SCHEMA, "--map", "3=MapUuidOid")[
        "tables"]}
    assert rows[3]["type"] == "MapUuidOid (map)"


# -- count / get / scan ---------------------------------------------------------------------

def test_count(db):
    assert ok("count", db, "Users").strip() == "6"
    assert ok("count", db, "1").strip() == "6"
    assert ok_json("count", db, "UsersByRealm", *SCHEMA, "--prefix", "1") == \
        {"slot": 3, "count": 3}
    assert ok("count", db, "1", *SCHEMA, "--from", "2", "--to", "5").strip() == "3"
    assert ok("count", db, "1", *SCHEMA, "--from", "5").strip() == "2"
    assert ok("count", db, "Events", *SCHEMA, "--prefix",
              "00000000-0000-0000-0000-00000000e001").strip() == "2"
    assert ok("count", db, "40").strip() == "1"
    assert ok("count", db, "0").strip() == "12"          # 11 registry records, the catalog


def test_get_decodes_by_key_type(db):
    user = json.loads(ok("get", db, "Users", "3", *SCHEMA))
    assert user == {"oid": 3, "name": "user3", "realm": 1,
                    "avatar": {"$bytes": base64.b64encode(bytes([3, 0, 255])).decode()},
                    "score": 4.5}
    assert ok("get", db, "UsersByName", "user2", *SCHEMA).strip() == "2"
    rec = ok_json("get", db, "Events", "00000000-0000-0000-0000-00000000e001",
                  "2023-11-14T22:13:20.123456789Z", *SCHEMA)
    assert rec == {"slot": 4, "key": ["00000000-0000-0000-0000-00000000e001",
                                      "2023-11-14T22:13:20.123456789Z"],
                   "value": {"what": "login", "n": [1, 2]}}
    # a timestamp component may also be given in int nanoseconds
    assert json.loads(ok("get", db, "4", "00000000-0000-0000-0000-00000000e001",
                         "1700000000123456789", *SCHEMA)) == {"what": "login", "n": [1, 2]}
    assert ok("get", db, "Pairs", "left", "right", *SCHEMA).strip() == \
        '"00000000-0000-0000-0000-000000000007"'
    assert json.loads(ok("get", db, "Docs", "grüße", *SCHEMA)) == \
        {"text": "ünïcode ✓", "n": 1e300}
    # hex: gives the key bytes themselves, whatever the layout
    assert ok("get", db, "UsersByName", "hex:" + b"user2".hex()).strip() == "2"


def test_get_raw_and_guessed(db_copy):
    db = db_copy
    res = run("get", db, "Scores", "2", "--raw")
    assert res.returncode == 0 and len(res.stdout) == 32 and res.stderr == b""
    stored = dict(raw_dump(db))[struct.pack(">HQ", 6, 2)]
    assert res.stdout == stored
    rec = json.loads(ok("get", db, "Users", "1", "--json"))     # from the catalog
    assert "guessed" not in rec and rec["value"]["name"] == "user1"
    drop_catalog(db)
    res = run("get", db, "Users", "1", "--json")
    rec = json.loads(res.stdout)
    assert rec["guessed"] is True and rec["value"]["name"] == "user1"
    assert b"zlmdb: note: slot 1 (Users): its layout is not recorded" in res.stderr


def test_scan_text_and_json(db):
    lines = ok("scan", db, "Users", *SCHEMA).splitlines()
    assert len(lines) == 6
    key, value = lines[0].split("\t")
    assert key == "1" and json.loads(value)["name"] == "user1"
    recs = json_lines(ok("scan", db, "Users", *SCHEMA, "--json", "--limit", "2", "--reverse"))
    assert [r["key"] for r in recs] == [6, 5]
    assert "guessed" not in recs[0]
    recs = json_lines(ok("scan", db, "UsersByRealm", *SCHEMA, "--json", "--from", "0", "4",
                         "--to", "1"))
    assert [(r["key"], r["value"]) for r in recs] == [([0, 4], 4), ([0, 6], 6)]
    assert ok("scan", db, "UsersByName", *SCHEMA, "--keys-only", "--prefix", "user").split() \
        == ['"user%d"' % i for i in range(1, 7)]
    recs = json_lines(ok("scan", db, "Events", *SCHEMA, "--json"))
    assert recs[1]["value"] == {"$map": [["what", "logout"], ["ratio", {"$float": "nan"}],
                                         [3, "int key"], ["when", None]]}
    docs = json_lines(ok("scan", db, "Docs", *SCHEMA, "--json"))
    assert docs[0]["key"] == "grüße"
    assert docs[1]["value"] == {"$map": [["$ref", "#/x"], ["title", "Hello"],
                                         ["tags", ["a", "b"]]]}


def test_scan_summaries_and_unknown_values(db):
    # FlatBuffers: the application's object marshals itself with the schema,
    # a structural summary without it.
    assert ok("scan", db, "Scores", *SCHEMA).splitlines()[0] == '1\t{"fb_bytes":32}'
    line = ok("scan", db, "Scores", "--map", "6=MapOidFlatBuffers").splitlines()[0]
    assert line == "1\t<flatbuffers: 32 bytes, 2 of 2 fields set>"
    rec = json_lines(ok("scan", db, "Arrays", *SCHEMA, "--json"))[0]
    assert rec == {"key": "m", "value": {"$summary": "numpy", "dtype": "<f8",
                                         "shape": [2, 3], "bytes": 74}}
    assert ok("scan", db, "Pickles", *SCHEMA) == "1\t<pickle: protocol 2, 62 bytes>\n"
    assert ok("scan", db, "Friends", *SCHEMA) == "1\t[2,3,5]\n"
    assert json.loads(ok("scan", db, "Packed", *SCHEMA).split("\t")[1]) == \
        {"payload": "x" * 200}
    # the catalog knows the layout: the set comes back as the map gives it
    assert ok("scan", db, "Friends") == "1\t[2,3,5]\n"


def test_scan_shows_bytes_when_no_layout_is_known(db_copy):
    db = db_copy
    drop_catalog(db)
    # a layout nobody declared and no guess fits: hex in text, base64 in JSON
    res = run("scan", db, "Friends")
    assert res.stdout.decode() == "1\thex:%s\n" % struct.pack(">QQQ", 2, 3, 5).hex()
    assert b"layout" in res.stderr
    rec = json_lines(ok("scan", db, "Friends", "--json"))[0]
    assert base64.b64decode(rec["value"]["$bytes"]) == struct.pack(">QQQ", 2, 3, 5)


def test_scan_reports_values_that_do_not_decode(db):
    out = ok("scan", db, "Scores", "--map", "6=MapOidCbor")
    assert out.count("value does not decode as cbor") == 3
    rec = json_lines(ok("scan", db, "Scores", "--map", "6=MapOidCbor", "--json"))[0]
    assert "error" in rec and "$bytes" in rec["value"]


def test_read_commands_do_not_write_or_create(db, tmp_path):
    before = file_state(db)
    for args in (("tables", db), ("scan", db, "1"), ("count", db, "1"), ("get", db, "1", "1"),
                 ("check", db, *SCHEMA), ("export", db, "1")):
        ok(*args)
    assert file_state(db) == before
    missing = tmp_path / "nothing-here"
    user_error("tables", missing)
    assert not missing.exists()


# -- errors ---------------------------------------------------------------------------

def test_expected_errors_are_one_line(db, tmp_path):
    assert user_error("env", tmp_path / "nope") == "no such database directory: %s" % (
        tmp_path / "nope")
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert user_error("tables", afile).startswith("not a database directory")
    (tmp_path / "empty").mkdir()
    assert "holds no data.mdb" in user_error("scan", tmp_path / "empty", "1")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "data.mdb").write_bytes(os.urandom(3 * 4096))
    assert "is not an LMDB file" in user_error("count", tmp_path / "junk", "1")
    assert user_error("get", db, "99", "1") == \
        "unknown slot 99: not in the registry and holds no records"
    assert user_error("scan", db, "Nobody") == \
        "unknown table 'Nobody': no registry entry has that name or oid; for a named " \
        "database (written with the low-level API) use --db NAME"
    assert "bad key abc for slot 1 (oid)" in user_error("get", db, "Users", "abc", *SCHEMA)
    assert "keys have 2 component(s)" in user_error("get", db, "4", "x", *SCHEMA)
    assert user_error("get", db, "Users", "77", *SCHEMA) == \
        "no record in slot 1 with key 77"
    assert "unknown map class 'MapNope'" in user_error("scan", db, "1", "--map", "1=MapNope")
    assert user_error("scan", db, "1", "--schema", str(afile) + ".py") == \
        "schema file not found: %s.py" % afile
    assert user_error("scan", db, "1", "--schema", "no_such_module_zz") == \
        "cannot load schema no_such_module_zz: ModuleNotFoundError: " \
        "No module named 'no_such_module_zz'"
    bad = tmp_path / "bad_schema.py"
    bad.write_text("raise ValueError('broken on purpose')\n")
    assert "broken on purpose" in user_error("tables", db, "--schema", bad)
    assert "--prefix cannot be combined" in user_error("count", db, "1", "--prefix", "1",
                                                       "--from", "1", *SCHEMA)


def test_not_a_zlmdb_database(tmp_path):
    # An LMDB environment whose slot-0 range holds something that is not a
    # registry record.
    env = zl.open(str(tmp_path / "plain"))
    with env.begin(write=True) as txn:
        txn.put(b"\x00\x00hello", b"world")
    env.close()
    msg = user_error("tables", tmp_path / "plain")
    assert msg.startswith("not a zlmdb database (or a damaged registry)")
    res = run("check", tmp_path / "plain", "--json")
    assert res.returncode == 3
    assert json.loads(res.stdout)["problems"][0]["problem"] == \
        "registry key has 7 bytes, expected 4"


# -- export / import ---------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["jsonl", "cbor"])
@pytest.mark.parametrize("with_schema", [True, False], ids=["schema", "guessed"])
def test_export_import_round_trip_is_exact(db, tmp_path, fmt, with_schema):
    types = SCHEMA if with_schema else []
    first, second = tmp_path / "first", tmp_path / "second"
    ok("export", db, "--all", "-o", first, "--format", fmt, *types)
    assert sorted(os.listdir(first)) == ["slot-%05d.%s" % (s, fmt)
                                         for s in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 40)]
    out = ok("import", tmp_path / "fresh", first)
    assert "imported 6 records from %s into slot 1" % (first / ("slot-00001." + fmt)) in out
    ok("export", tmp_path / "fresh", "--all", "-o", second, "--format", fmt, *types)
    for name in os.listdir(first):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert raw_dump(tmp_path / "fresh") == raw_dump(db)


def test_export_jsonl_content(db, tmp_path):
    lines = json_lines(ok("export", db, "Users", *SCHEMA))
    head = lines[0]
    assert head["zlmdb_export"] == 1 and head["slot"] == 1 and head["records"] == 6
    assert head["map"] == "MapOidCbor" and head["key"] == ["oid"] and head["value"] == "cbor"
    assert head["registry"]["oid"].endswith("c1101") and head["registry"]["slot"] == 1
    assert lines[1] == {"key": 1, "value": {"oid": 1, "name": "user1", "realm": 1,
                                            "avatar": {"$bytes": "AQD/"}, "score": 1.5}}
    assert len(lines) == 7
    # FlatBuffers, NumPy and pickle values travel as their bytes
    lines = json_lines(ok("export", db, "Pickles", *SCHEMA))
    assert lines[1]["key"] == 1 and "raw_value" in lines[1]
    stored = dict(raw_dump(db))[struct.pack(">HQ", 8, 1)]
    assert base64.b64decode(lines[1]["raw_value"]) == stored
    lines = json_lines(ok("export", db, "Events", *SCHEMA))
    assert lines[1]["key"] == ["00000000-0000-0000-0000-00000000e001",
                               "2023-11-14T22:13:20.123456789Z"]


def test_export_falls_back_to_raw_bytes_for_non_canonical_values(db_copy, tmp_path):
    # 0x18 0x05 is a valid but non-shortest CBOR encoding of 5: decoding and
    # re-encoding would give 0x05, so export must keep the bytes.
    env = zl.open(db_copy)
    with env.begin(write=True) as txn:
        txn.put(struct.pack(">HQ", 1, 100), b"\x18\x05")
        txn.put(struct.pack(">H", 1) + b"odd", b"\xa0")      # key of the wrong size
    env.close()
    lines = json_lines(ok("export", db_copy, "Users", *SCHEMA))
    odd = [r for r in lines[1:] if "raw_value" in r or "raw_key" in r]
    assert {"key": 100, "raw_value": base64.b64encode(b"\x18\x05").decode()} in odd
    assert {"raw_key": base64.b64encode(b"odd").decode(), "value": {}} in odd
    ok("export", db_copy, "Users", *SCHEMA, "-o", tmp_path / "u.jsonl")
    ok("import", tmp_path / "fresh", tmp_path / "u.jsonl")
    slot1 = [kv for kv in raw_dump(db_copy) if kv[0][:2] == b"\x00\x01"]
    assert [kv for kv in raw_dump(tmp_path / "fresh") if kv[0][:2] == b"\x00\x01"] == slot1


def test_lone_surrogates_stay_valid_json_and_exact(db_copy, tmp_path):
    # JSON text may escape a lone surrogate, which has no UTF-8 form.
    _corrupt(db_copy, (b"\x00\x05odd", b'{"s":"\\ud800x"}'))
    recs = json_lines(ok("scan", db_copy, "Docs", *SCHEMA, "--json"))
    assert {"key": "odd", "value": {"s": "\ud800x"}} in recs
    lines = json_lines(ok("export", db_copy, "Docs", *SCHEMA))
    assert {"key": "odd", "raw_value": base64.b64encode(b'{"s":"\\ud800x"}').decode()} in lines
    ok("export", db_copy, "Docs", *SCHEMA, "-o", tmp_path / "d.jsonl")
    ok("import", tmp_path / "fresh", tmp_path / "d.jsonl")
    assert [kv for kv in raw_dump(tmp_path / "fresh") if kv[0][:2] == b"\x00\x05"] == \
        [kv for kv in raw_dump(db_copy) if kv[0][:2] == b"\x00\x05"]


def test_export_summary_and_output_checks(db, tmp_path):
    out = ok_json("export", db, "--all", "-o", tmp_path / "all", *SCHEMA)["exported"]
    assert [e["slot"] for e in out] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 40]
    assert out[0] == {"slot": 1, "file": str(tmp_path / "all" / "slot-00001.jsonl"),
                      "records": 6, "raw_keys": 0, "raw_values": 0}
    assert next(e for e in out if e["slot"] == 6)["raw_values"] == 3   # FlatBuffers
    assert user_error("export", db, "--all", "-o", tmp_path / "all") == \
        "--all needs a new or empty directory; %s is not" % (tmp_path / "all")
    assert user_error("export", db, "1", "--json") == \
        "--json prints a summary, so the export needs -o"
    assert user_error("export", db) == "give a SLOT or --all (not both)"


def test_import_into_another_slot_and_registry_conflicts(db, tmp_path):
    exp = tmp_path / "users.cbor"
    ok("export", db, "Users", "--format", "cbor", "-o", exp)
    target = tmp_path / "target"
    res = ok_json("import", target, exp, "--slot", "7")
    assert res == {"imported": [{"file": str(exp), "slot": 7, "records": 6}]}
    rows = {r["slot"]: r for r in ok_json("tables", target)["tables"]}
    assert rows[7]["name"] == "Users" and rows[7]["records"] == 6
    # the same table cannot land in a second slot, nor a slot another owns
    assert "is registered at slot 7 of the target; import it with --slot 7" in \
        user_error("import", target, exp)
    ok("export", db, "Docs", "-o", tmp_path / "docs.jsonl")
    assert "slot 7 of the target is registered to Users" in \
        user_error("import", target, tmp_path / "docs.jsonl", "--slot", "7")
    # re-importing into its own slot overwrites in place
    ok("import", target, exp, "--slot", "7")
    assert ok("count", target, "7").strip() == "6"


def test_import_rejects_bad_input_with_its_position(tmp_path, db):
    exp = tmp_path / "docs.jsonl"
    ok("export", db, "Docs", *SCHEMA, "-o", exp)
    lines = exp.read_text().splitlines()
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines[:2] + ["{not json"]) + "\n")
    # the JSON parser's own words (the interpreter's json module) after the position
    with pytest.raises(ValueError) as parsed:
        json.loads("{not json")
    assert user_error("import", tmp_path / "t1", bad) == \
        "%s: line 3: not JSON: %s" % (bad, parsed.value)
    assert "line 1 column 2 (char 1)" in str(parsed.value)
    bad.write_text("\n".join(lines[:2] + ['{"key": 5, "value": {}}']) + "\n")
    assert "line 3: string component must be a string" in user_error("import",
                                                                       tmp_path / "t2", bad)
    bad.write_text('{"hello": 1}\n')
    assert "not a zlmdb export" in user_error("import", tmp_path / "t3", bad)
    bad.write_bytes(b"\x00\x01")
    assert "neither JSON lines nor a CBOR sequence" in user_error("import", tmp_path / "t4",
                                                                    bad)
    cbor = tmp_path / "docs.cbor"
    ok("export", db, "Docs", *SCHEMA, "--format", "cbor", "-o", cbor)
    data = cbor.read_bytes()
    cbor.write_bytes(data[:-3])
    assert "bad CBOR at byte" in user_error("import", tmp_path / "t5", cbor)
    assert user_error("import", tmp_path / "t6", tmp_path / "missing.jsonl") == \
        "no such file: %s" % (tmp_path / "missing.jsonl")


def test_import_from_stdin_in_small_batches_grows_the_map(tmp_path):
    # 3000 records of 1 KiB each do not fit the 1 MiB map import starts with.
    src = tmp_path / "src"
    env = zl.open(str(src), map_size=64 << 20)
    with env.begin(write=True) as txn:
        for i in range(3000):
            txn.put(struct.pack(">HQ", 5, i), bytes([i % 251]) * 1024)
    env.close()
    data = run("export", src, "5").stdout
    res = run("import", tmp_path / "dst", "-", "--batch-size", "100", "--map-size", "1MiB",
              stdin=data)
    assert res.returncode == 0, res.stderr
    assert res.stdout.decode() == "imported 3000 records from stdin into slot 5\n"
    assert raw_dump(tmp_path / "dst") == raw_dump(src)
    assert ok_json("env", tmp_path / "dst")["map_size"] > 1 << 20


def _run_on_a_terminal(args):
    """Run the CLI with stderr on a pseudo-terminal; return (status, stderr)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "zlmdb", *map(str, args)],
                            stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            data = os.read(master, 4096)
        except OSError:          # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=60), b"".join(chunks).decode()


def test_progress_bar_only_on_a_terminal(db, tmp_path):
    status, err = _run_on_a_terminal(["export", db, "Users", "-o", tmp_path / "u.jsonl"])
    assert status == 0
    assert "export slot 1 (Users) 100% [" in err and "6/6 records" in err
    status, err = _run_on_a_terminal(["import", tmp_path / "fresh", tmp_path / "u.jsonl"])
    assert status == 0 and "import %s 100%% [" % (tmp_path / "u.jsonl") in err
    status, err = _run_on_a_terminal(["export", db, "Users", "-o", tmp_path / "v.jsonl",
                                      "--no-progress"])
    assert status == 0 and err == ""
    # piped: no bar, nothing on stderr at all
    res = run("export", db, "Users", "-o", tmp_path / "w.jsonl", proc=True)
    assert res.returncode == 0 and res.stderr == b""
    res = run("import", tmp_path / "fresh2", tmp_path / "w.jsonl", proc=True)
    assert res.returncode == 0 and res.stderr == b""


def test_check_shows_a_progress_bar_by_records_on_a_terminal(db):
    status, err = _run_on_a_terminal(["check", db, *SCHEMA])
    assert status == 0
    assert "check 100% [" in err and " records" in err
    res = run("check", db, *SCHEMA, proc=True)            # piped: no bar
    assert res.returncode == 0 and res.stderr == b""


def test_grow_says_once_that_it_waits_for_the_write_lock(db_copy):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time, zlmdb.lmdb as l\n"
         "env = l.open(sys.argv[1])\n"
         "txn = env.begin(write=True)\n"
         "print('held', flush=True)\n"
         "time.sleep(2)\n"
         "txn.abort()\n", db_copy], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline() == b"held\n"
        res = run("grow", db_copy, "+1MiB", proc=True)
    finally:
        holder.wait(timeout=60)
    err = res.stderr.decode()
    assert res.returncode == 0, err
    assert err.count("waiting for the write lock") == 1 and "another process" in err
    assert "map size of" in res.stdout.decode()
    # no word when nobody holds it
    res = run("grow", db_copy, "+1MiB", proc=True)
    assert res.returncode == 0 and res.stderr == b""


def test_each_json_help_describes_its_own_command():
    helps = {}
    for name, cmd in main.commands.items():
        for param in cmd.params:
            if param.name == "json":
                helps[name] = param.help
    assert len(helps) >= 11
    assert len(set(helps.values())) == len(helps), helps     # no shared text
    for name, text in helps.items():
        assert name == "export" or "export" not in text, (name, text)
        assert ("-o" in text) == (name == "export"), (name, text)


def _first_line_then_close(*args):
    """`zlmdb ARGS | head -1`: the first line, the status, stderr."""
    proc = subprocess.Popen([sys.executable, "-m", "zlmdb", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    return first, proc.wait(timeout=60), err


def test_a_reader_that_goes_away_ends_the_output_quietly(tmp_path):
    import zlmdb
    big = str(tmp_path / "big")
    with zlmdb.Database(big, maxsize=64 << 20) as bdb:
        docs = zlmdb.MapOidCbor(1)
        with bdb.begin(write=True) as txn:
            for i in range(20000):          # far more than a pipe buffer holds
                docs[txn, i] = {"n": i, "text": "x" * 40}
    for args in (("export", big, "1"), ("scan", big, "1"), ("scan", big, "1", "--json")):
        first, status, err = _first_line_then_close(*args)
        assert first.strip(), args                    # the first line came out
        assert status == 141, (args, status, err)     # as a process ended by SIGPIPE
        # and no error is reported (a note on the guessed layout may come)
        assert b"rror" not in err and b"Traceback" not in err, (args, err)


def test_export_and_import_print_their_summary_alike(db, tmp_path):
    # to a file: the summary on stdout, piped or not, as import prints its own
    path = tmp_path / "u.jsonl"
    res = run("export", db, "Users", "-o", path, proc=True)
    assert res.returncode == 0 and res.stderr == b""
    assert res.stdout.decode() == "exported 6 records of slot 1 to %s\n" % path
    res = run("import", tmp_path / "fresh", path, proc=True)
    assert res.returncode == 0 and res.stderr == b""
    assert res.stdout.decode() == "imported 6 records from %s into slot 1\n" % path
    # to stdout: the records there, the summary on stderr
    res = run("export", db, "Users", proc=True)
    assert res.returncode == 0 and len(res.stdout.splitlines()) == 7      # header + 6
    assert res.stderr.decode() == "exported 6 records of slot 1 to stdout\n"


# -- backup ---------------------------------------------------------------------------

def test_backup_is_compact_and_complete(db, tmp_path):
    out = ok_json("backup", db, tmp_path / "b1")
    assert out["compact"] is True and out["bytes"] == os.path.getsize(
        tmp_path / "b1" / "data.mdb")
    assert raw_dump(tmp_path / "b1") == raw_dump(db)
    assert "backed up" in ok("backup", db, tmp_path / "b2", "--no-compact")
    assert raw_dump(tmp_path / "b2") == raw_dump(db)
    assert "exists and is not an empty directory" in user_error("backup", db, tmp_path / "b1")


def copies_while_a_writer_runs(db, tmp_path, command, copies):
    """Run ``command(dest)`` (a copying command line) ``copies`` times while
    cli_data/writer.py adds users to ``db``, and check that each copy is one
    committed state: whole transactions of 10 users, every index entry in
    step with its record.  Returns the number of users the writer added."""
    stop = tmp_path / "stop"
    writer = subprocess.Popen([sys.executable, str(DATA / "writer.py"), db, str(stop)],
                              cwd=str(DATA), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    dests = [tmp_path / ("copy%d" % i) for i in range(copies)]
    try:
        deadline = time.time() + 60
        while not os.path.exists(str(stop) + ".ready"):
            assert writer.poll() is None, writer.stderr.read()
            assert time.time() < deadline
            time.sleep(0.01)
        counts = []
        for dest in dests:
            ok(*command(dest))
            counts.append(int(ok("count", dest, "Users").strip()))
            time.sleep(0.05)
    finally:
        stop.write_text("")
        out, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    written = int(out)
    assert written >= 10
    assert all((c - 6) % 10 == 0 for c in counts), counts
    assert counts == sorted(counts) and counts[-1] > 6
    for dest in dests:
        res = run("check", dest, *SCHEMA, "--json")
        assert res.returncode == 0, res.stdout
        report = json.loads(res.stdout)
        assert report["ok"] and report["indexes"] == 2
    return written


def test_backup_while_a_writer_runs_is_consistent(db_copy, tmp_path):
    written = copies_while_a_writer_runs(db_copy, tmp_path,
                                         lambda dest: ("backup", db_copy, dest), 4)
    assert int(ok("count", db_copy, "Users").strip()) == 6 + written


# -- check ----------------------------------------------------------------------------

def test_check_clean_database(db):
    res = run("check", db, *SCHEMA)
    assert res.returncode == 0, res.stdout
    text = res.stdout.decode()
    assert text.startswith("checked the data file and 13 slots, 43 records, 2 indexes: no problems")
    report = ok_json("check", db, *SCHEMA)
    assert report["ok"] and report["problem_count"] == 0 and report["problems"] == []
    assert report["verified"] and report["unverified"] == []
    assert report["records"] == len(raw_dump(db))


def test_check_without_schema_says_what_it_could_not_verify(db):
    # The catalog gives every registered slot's layout and the indexes; the
    # index keys cannot be recomputed without the application's key
    # function, and slot 40 is in no catalog: unverified, status 4.
    res = run("check", db, "--json")
    assert res.returncode == 4, res.stderr
    report = json.loads(res.stdout)
    assert report["ok"] and not report["verified"] and report["indexes"] == 2
    assert sorted(report["unverified"]) == [
        "index by_name (slot 2) of slot 1: entry keys not recomputed (the database does not "
        "store the application's key function; check with --schema)",
        "index by_realm (slot 3) of slot 1: entry keys not recomputed (the database does not "
        "store the application's key function; check with --schema)",
        "slot 40 (unregistered): layout not recorded in the catalog nor declared (--schema, "
        "--map): keys and values not checked"]
    text = run("check", db).stdout.decode()
    assert text.startswith("checked the data file and 13 slots, 43 records, 2 indexes: "
                           "no problems in what was verified; 3 part(s) unverified")
    assert "\nunverified: slot 40 (unregistered)" in text


def test_check_without_schema_finds_what_the_schema_finds(db_copy):
    # A database written by the ORM, then damaged: one value that is not
    # CBOR, one record without its index entry, one entry without a record.
    _corrupt(db_copy, (struct.pack(">HQ", 1, 4), b"\xff\xfe"),
             (b"\x00\x02ghost", struct.pack(">Q", 99)),
             deletes=[b"\x00\x02user2"])
    with_schema = _problems(db_copy)
    res = run("check", db_copy, "--json")
    assert res.returncode == 3, res.stderr
    without = json.loads(res.stdout)
    where = {(p["slot"], key_text(p["key"])) for p in without["problems"]}
    assert {(p["slot"], key_text(p["key"])) for p in with_schema["problems"]} <= where
    assert where >= {(1, "4"), (1, "2"), (2, '"ghost"')}
    texts = {p["problem"] for p in without["problems"]}
    assert "index by_name (slot 2) of slot 1 has no entry for this record" in texts
    assert "index by_name (slot 2) of slot 1 entry points at a missing record 99" in texts


def test_check_without_catalog_or_schema_is_unverified(db_copy):
    drop_catalog(db_copy)
    res = run("check", db_copy, "--json")
    assert res.returncode == 4, res.stderr
    report = json.loads(res.stdout)
    assert report["indexes"] == 0 and len(report["unverified"]) == 12
    assert b"the database has no catalog" in res.stderr


def test_check_finds_a_catalog_that_disagrees_with_the_registry(db_copy):
    raw = dict(raw_dump(db_copy))[CATALOG_KEY]
    cat = zlmdb.codec.cbor_loads(raw)
    cat[4]["oid"] = "7c1e0f5a-2b1d-4c3e-8f00-0000000c11ff"
    cat[5]["value"] = "nonsense"
    _corrupt(db_copy, (CATALOG_KEY, zlmdb.codec.cbor_dumps(cat)))
    rep = _problems(db_copy)
    assert sorted(p["problem"] for p in rep["problems"]) == [
        "catalog entry 5: unknown value codec 'nonsense'",
        "the catalog says slot 4 holds table <7c1e0f5a-2b1d-4c3e-8f00-0000000c11ff>, the "
        "registry says <7c1e0f5a-2b1d-4c3e-8f00-0000000c1104>"]


def key_text(key):
    """A key of a check report as the text output shows it."""
    if isinstance(key, dict):
        return "hex:" + base64.b64decode(key["$bytes"]).hex()
    return json.dumps(key, separators=(",", ":"), ensure_ascii=False)


def _corrupt(path, *puts, deletes=()):
    env = zl.open(path)
    with env.begin(write=True) as txn:
        for k in deletes:
            assert txn.delete(k)
        for k, v in puts:
            txn.put(k, v)
    env.close()


def _problems(path, *extra):
    res = run("check", path, *SCHEMA, "--json", *extra)
    assert res.returncode == 3, (res.returncode, res.stderr)
    return json.loads(res.stdout)


def _forge_a_counter(path):
    """Raise the main database's entry count in both meta pages (a forged
    file LMDB would trust); returns the data file's bytes before."""
    data = os.path.join(path, "data.mdb")
    with open(data, "rb") as f:
        raw = bytearray(f.read())
    before = bytes(raw)
    fmt = zl.open(path, readonly=True, lock=False)
    hdr = 16 if fmt.lib_version()[0] == 0 else 24
    psize = fmt.stat()["psize"]
    fmt.close()
    # MDB_meta: magic, version, address, mapsize, then the free and main
    # DB records (48 bytes each); md_entries is at offset 32 of a record.
    for page in (0, 1):
        off = page * psize + hdr + 4 + 4 + 8 + 8 + 48 + 32
        (n,) = struct.unpack_from("<Q", raw, off)
        struct.pack_into("<Q", raw, off, n + 5)
    with open(data, "wb") as f:
        f.write(raw)
    return before


def test_check_verifies_the_file_first_and_reads_no_record_of_a_bad_one(db_copy):
    _forge_a_counter(db_copy)
    res = run("check", db_copy, *SCHEMA)
    assert res.returncode == 3, res.stderr
    lines = res.stdout.decode().splitlines()
    assert lines[0] == "checked the data file: 1 problem(s); no record was read"
    assert lines[1].startswith("problem: file: main DB: walked ") and \
        "entries, record says" in lines[1]
    rep = _problems(db_copy)
    assert rep["ok"] is False and rep["file_ok"] is False and rep["records"] == 0
    assert rep["problem_count"] == 1 and rep["problems"][0]["problem"].startswith("file: ")
    assert "no record was read" in rep["notes"][0]


def test_check_says_when_the_path_is_no_database(tmp_path):
    assert user_error("check", tmp_path / "none").startswith("no such database directory")
    (tmp_path / "empty").mkdir()
    assert "has no data.mdb" in user_error("check", tmp_path / "empty")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "data.mdb").write_bytes(b"junk" * 2000)
    assert user_error("check", tmp_path / "junk").startswith("not a zlmdb database: ")


def test_check_finds_a_record_without_its_index_entry(db_copy):
    _corrupt(db_copy, deletes=[b"\x00\x02user2"])
    rep = _problems(db_copy)
    assert rep["problem_count"] == 1
    assert rep["problems"] == [{"slot": 1, "key": 2, "problem":
                                "index by_name (slot 2) of slot 1 has no entry \"user2\" "
                                "for this record"}]
    res = run("check", db_copy, *SCHEMA)
    assert b"1 problem(s)" in res.stdout and res.returncode == 3


def test_check_finds_dangling_stale_and_misdirected_index_entries(db_copy):
    _corrupt(db_copy,
             (b"\x00\x02ghost", struct.pack(">Q", 99)),                  # no record 99
             (b"\x00\x02user3", struct.pack(">Q", 4)),                   # record 4 is user4
             (b"\x00\x03" + struct.pack(">QQ", 0, 3), struct.pack(">Q", 3)))  # 3 is realm 1
    rep = _problems(db_copy)
    got = {(p["slot"], key_text(p["key"]), p["problem"]) for p in rep["problems"]}
    assert got == {
        (2, '"ghost"', "index by_name (slot 2) of slot 1 entry points at a missing record 99"),
        (2, '"user3"', 'index by_name (slot 2) of slot 1 entry is stale: record 4 exists '
                       'but its index key is "user4"'),
        (1, "3", 'index by_name (slot 2) of slot 1 entry "user3" points at another record '
                 '(4) (duplicate key in a unique index)'),
        (3, "[0,3]", "index by_realm (slot 3) of slot 1 entry is stale: record 3 exists "
                     "but its index key is [1,3]"),
    }


def test_check_finds_undecodable_keys_and_values(db_copy):
    _corrupt(db_copy,
             (struct.pack(">HQ", 1, 7), b"\xff\xfe"),        # not CBOR
             (b"\x00\x01abc", b"\xa0"),                      # 3-byte key in an oid table
             (b"\x00\x05" + b"\xff\xfe", b"{}"),             # string key, not UTF-8
             (struct.pack(">HQ", 8, 2), b"\x80\x02garbage"),  # not a pickle
             (b"\x07", b"x"))                                # no slot prefix
    rep = _problems(db_copy)
    got = {(p["slot"], key_text(p["key"]), p["problem"].split(":")[0])
           for p in rep["problems"]}
    assert got == {
        (None, "hex:07", "key of 1 byte has no 2-byte slot prefix"),
        (1, "7", "value does not decode (cbor)"),
        (1, "hex:616263", "key does not decode"),
        (5, "hex:fffe", "key does not decode"),
        (8, "2", "value does not decode (pickle)"),
    }
    # the list is capped, the count is not
    rep = _problems(db_copy, "--max-problems", "2")
    assert rep["problem_count"] == 5 and len(rep["problems"]) == 2


def test_check_registry_problems(db_copy):
    _corrupt(db_copy, (struct.pack(">HH", 0, 12), b"\xa1\x63oid\x63abc"),      # oid not a UUID
             (struct.pack(">HH", 0, 13), open_registry_record(db_copy, 1)))     # duplicate oid
    rep = _problems(db_copy)
    assert sorted(p["problem"] for p in rep["problems"]) == [
        "oid 7c1e0f5a-2b1d-4c3e-8f00-0000000c1101 is registered twice (slots 1 and 13)",
        "registry record says slot 1, its key says 13",
        "registry record's oid 'abc' is not a UUID"]


def open_registry_record(path, slot):
    return dict(raw_dump(path))[struct.pack(">HH", 0, slot)]


# -- grow -----------------------------------------------------------------------------

def test_grow_raises_the_map_size_for_good(db_copy):
    records = raw_dump(db_copy)
    assert ok_json("grow", db_copy, "64MiB") == {"path": os.path.abspath(db_copy),
                                                 "old_map_size": 32 << 20,
                                                 "map_size": 64 << 20}
    assert ok_json("env", db_copy)["map_size"] == 64 << 20
    out = ok("grow", db_copy, "+1G")
    assert "raised from 67108864 (64.0 MiB) to 1140850688 (1.1 GiB)" in out
    env = zl.open(db_copy, map_size=0, readonly=True, lock=False)
    assert env.info()["map_size"] == (64 << 20) + (1 << 30)
    env.close()
    assert raw_dump(db_copy) == records
    assert user_error("grow", db_copy, "32MiB").startswith("the map is already 1140850688")
    res = run("check", db_copy, *SCHEMA)
    assert res.returncode == 0


# -- named databases ------------------------------------------------------------------
#
# Low-level code keeps LMDB named databases (env.open_db(b"users")) in the
# same environment; each is one main-database record whose key is its name.
# They are listed and addressed (--db) apart from the ORM's slots, whose
# record counts must not include them.

ROOT = DATA.parents[2]
NAMED = [b"ids", b"q", b"runs", b"tags", b"users"]


def build_named(path, orm=False, lib_version=None):
    """A database like examples/demo.py's (named databases users and runs)
    plus tags (dupsort), ids (integerkey) and q (a 1-byte name).  With
    ``orm``, ORM tables share it: slot 1, and slot 30067 whose keys start
    with b"us", like the named database users.  ``lib_version`` (0 or 1)
    chooses the format of a low-level one."""
    path = str(path)
    fmt = {} if lib_version is None else {"lib_version": lib_version}
    if orm:
        import zlmdb
        db = zlmdb.Database(path, maxsize=32 << 20)
        oids = zlmdb.MapOidCbor(1, marshal=dict, unmarshal=dict)
        near = zlmdb.MapStringCbor(30067, marshal=dict, unmarshal=dict)
        with db.begin(write=True) as txn:
            oids[txn, 1] = {"x": 1}
            near[txn, "abc"] = {"a": 1}
            near[txn, "zzz"] = {"z": 2}
        db.close()
    env = zl.open(path, map_size=32 << 20, max_dbs=8, **fmt)
    users, runs = env.open_db(b"users"), env.open_db(b"runs")
    tags = env.open_db(b"tags", dupsort=True)
    ids = env.open_db(b"ids", integerkey=True)
    q = env.open_db(b"q")
    with env.begin(write=True) as txn:
        txn.put(b"count", b"1", db=runs)
        txn.put(b"run-000001", b"2024-01-01T00:00:00", db=runs)
        txn.cursor(db=users).putmulti([(b"user:%04d" % i, b"name-%d;run-1" % i)
                                       for i in range(1000)])
        for v in (b"red", b"blue", b"green"):
            txn.put(b"apple", v, db=tags)
        txn.put(b"sky", b"blue", db=tags)
        for i in (3, 1, 300):
            txn.put(i.to_bytes(8, sys.byteorder), b"id-%d" % i, db=ids)
        txn.put(b"x", b"y", db=q)
    env.close()
    return path


def named_dump(path):
    """{name: (flags, [(key, value), ...])} of the named databases."""
    env = zl.open(str(path), readonly=True, lock=False, max_dbs=16)
    out = {}
    try:
        with env.begin() as txn:
            for name in NAMED:
                handle = env.open_db(name, txn=txn, create=False)
                out[name] = (handle.flags(txn),
                             [(bytes(k), bytes(v)) for k, v in txn.cursor(db=handle)])
    finally:
        env.close()
    return out


@pytest.fixture(scope="module")
def named_db(tmp_path_factory):
    return build_named(tmp_path_factory.mktemp("named") / "db")


@pytest.fixture(scope="module")
def mixed_db(tmp_path_factory):
    return build_named(tmp_path_factory.mktemp("mixed") / "db", orm=True)


def test_the_demo_database_has_named_databases_not_slots(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "examples" / "demo.py")], check=True,
                   capture_output=True, timeout=120,
                   env=dict(os.environ, ZLMDB_DEMO_DB=str(tmp_path / "demo-db")))
    path = tmp_path / "demo-db" / "kv"             # the low-level part of the demo
    # Its records "runs" and "users" were listed as slots 29301 and 30067.
    assert ok("tables", path).splitlines() == [
        "named database  entries  depth  pages  bytes  flags",
        "runs                  2      1      1   4096  -",
        "users              1000      2     10  40960  -"]
    listing = ok_json("tables", path)
    assert listing["tables"] == []
    assert [(d["name"], d["entries"]) for d in listing["named_databases"]] == \
        [("runs", 2), ("users", 1000)]
    assert ok("check", path).splitlines()[0] == (
        "checked the data file and 0 slots, 0 records, 0 indexes, 2 named databases (1002 "
        "entries): no problems")
    assert ok("count", path, "--db", "users").strip() == "1000"
    assert user_error("scan", path, "30067") == \
        "unknown slot 30067: not in the registry and holds no records; its key range " \
        "holds the named database users (use --db NAME)"


def test_named_databases_in_tables_and_env(named_db):
    before = file_state(named_db)
    listing = ok_json("tables", named_db)
    assert listing["tables"] == []
    dbs = {d["name"]: d for d in listing["named_databases"]}
    assert sorted(dbs) == [n.decode() for n in NAMED]
    assert dbs["users"]["entries"] == 1000 and dbs["users"]["depth"] == 2
    assert dbs["users"]["bytes"] == 4096 * (dbs["users"]["branch_pages"] +
                                            dbs["users"]["leaf_pages"])
    assert dbs["tags"]["entries"] == 4          # every value of a dupsort key
    assert dbs["tags"]["flags"] == {"reverse_key": False, "dupsort": True,
                                    "integerkey": False, "integerdup": False,
                                    "dupfixed": False}
    assert dbs["ids"]["flags"]["integerkey"] and not dbs["users"]["flags"]["dupsort"]
    text = ok("tables", named_db).splitlines()
    assert text[0].split() == ["named", "database", "entries", "depth", "pages", "bytes",
                               "flags"]
    assert text[4].split() == ["tags", "4", "1", "1", "4096", "dupsort"]
    assert "slot" not in "\n".join(text)
    info = ok_json("env", named_db)
    assert info["named_databases"] == listing["named_databases"]
    assert info["entries"] == 5
    text = ok("env", named_db)
    assert "entries          5 (main database; 5 of them named databases)" in text
    assert "named databases  5\n" in text
    assert "  tags           4 entries, depth 1, 1 page, dupsort\n" in text
    assert "  users          1000 entries, depth 2, 10 pages\n" in text
    assert file_state(named_db) == before, "reading named databases must not write"


def test_count_scan_get_in_a_named_database(named_db):
    assert ok("count", named_db, "--db", "users").strip() == "1000"
    assert ok_json("count", named_db, "--db", "tags") == {"db": "tags", "count": 4}
    assert ok("count", named_db, "--db", "users", "--prefix", "user:09").strip() == "100"
    assert ok("count", named_db, "--db", "users", "--from", "user:0100",
              "--to", "hex:" + b"user:0200".hex()).strip() == "100"
    # options may stand between DB and the name, as between DB and SLOT
    assert ok("scan", named_db, "--json", "runs", "--db") == \
        '{"key":{"$bytes":"Y291bnQ="},"value":{"$bytes":"MQ=="}}\n' \
        '{"key":{"$bytes":"cnVuLTAwMDAwMQ=="},"value":{"$bytes":"MjAyNC0wMS0wMVQwMDowMDowMA=="}}\n'
    # bytes that are printable text show as a JSON string, others as hex:
    assert ok("scan", named_db, "--db", "runs", "--keys-only").splitlines() == \
        ['"count"', '"run-000001"']
    assert ok("scan", named_db, "--db", "runs").splitlines()[0] == '"count"\t"1"'
    # a dupsort database: every value of a key is a record
    lines = ok("scan", named_db, "--db", "tags").splitlines()
    assert lines == ['"%s"\t"%s"' % (k, v) for k, v in
                     [("apple", "blue"), ("apple", "green"), ("apple", "red"),
                      ("sky", "blue")]]
    assert [base64.b64decode(r["value"]["$bytes"]) for r in json_lines(
        ok("scan", named_db, "--db", "tags", "--reverse", "--limit", "2", "--json"))] == \
        [b"blue", b"red"]
    assert ok("get", named_db, "--db", "users", "user:0007").strip() == '"name-7;run-1"'
    assert ok("get", named_db, "--db", "runs", "count").strip() == '"1"'   # not hex:31
    assert ok_json("get", named_db, "--db", "hex:" + b"users".hex(), "user:0007") == {
        "db": "users", "key": {"$bytes": base64.b64encode(b"user:0007").decode()},
        "value": {"$bytes": base64.b64encode(b"name-7;run-1").decode()}}
    res = run("get", named_db, "--db", "users", "user:0007", "--raw")
    assert res.returncode == 0 and res.stdout == b"name-7;run-1" and res.stderr == b""
    assert ok("get", named_db, "--db", "tags", "apple").splitlines() == \
        ['"blue"', '"green"', '"red"']
    rec = ok_json("get", named_db, "--db", "tags", "sky")
    assert rec["value"] == {"$bytes": base64.b64encode(b"blue").decode()}
    assert rec["values"] == [rec["value"]]
    one = (1).to_bytes(8, sys.byteorder)
    assert ok("get", named_db, "--db", "ids", "hex:" + one.hex()).strip() == '"id-1"'
    # bytes that are no text stay hex
    assert ok("scan", named_db, "--db", "ids", "--keys-only").splitlines()[0] == \
        "hex:" + one.hex()
    # in LMDB's order: integers, not bytes
    assert [base64.b64decode(r["key"]["$bytes"]) for r in json_lines(
        ok("scan", named_db, "--db", "ids", "--json"))] == \
        [i.to_bytes(8, sys.byteorder) for i in (1, 3, 300)]


def test_a_named_database_given_as_a_table_points_at_db(named_db):
    assert user_error("count", named_db, "runs") == \
        "unknown table 'runs': no registry entry has that name or oid; 'runs' is a named " \
        "database: use --db runs"


def test_env_counts_the_pages_of_named_databases_as_used_not_free(named_db):
    info = ok_json("env", named_db)
    named = sum(d["branch_pages"] + d["leaf_pages"] + d["overflow_pages"]
                for d in info["named_databases"])
    assert named >= 10 and info["pages_in_named_databases"] == named
    # every page below the last used one is a meta page, the main tree's,
    # a named database's, or free (the free list's own and those it lists)
    assert info["pages_used"] == 2 + info["pages_in_tree"] + named + \
        info["pages_free_in_file"]
    assert "  named dbs      %d (the trees of the named databases)" % named \
        in ok("env", named_db)


def test_info_counts_the_pages_of_named_databases_as_used(named_db):
    env = ok_json("env", named_db)
    named = env["pages_in_named_databases"]
    stats = dict(line.split(": ", 1) for line in ok("info", named_db).splitlines())
    assert int(stats["named_db_pages"]) == named
    assert int(stats["pages"]) == env["pages_in_tree"] + named
    assert int(stats["used"]) == 4096 * int(stats["pages"])
    assert float(stats["free"]) == 1.0 - int(stats["used"]) / int(stats["max_size"])


def test_named_database_errors_are_one_line(named_db):
    assert user_error("scan", named_db, "--db", "nope") == \
        "no named database nope in %s (it has: ids, q, runs, tags, users)" % named_db
    assert user_error("get", named_db, "--db", "users", "user:9999") == \
        "no record in named database users with key user:9999"
    assert "give one word" in user_error("get", named_db, "--db", "users", "a", "b")
    assert user_error("get", named_db, "--db", "tags", "apple", "--raw") == \
        "key apple has 3 values in dupsort database tags; --raw writes one " \
        "(scan --db shows them all)"
    assert user_error("count", named_db, "--db", "ids", "--from", "hex:01") == \
        "keys of named database ids do not sort as bytes (integerkey): --prefix, --from " \
        "and --to do not apply"
    assert user_error("get", named_db, "--db", "ids", "hex:01") == \
        "keys of named database ids are 8-byte integers in native byte order: give hex: " \
        "and 8 bytes"
    assert user_error("export", named_db, "--all", "--db", "-o", "x") == \
        "--db names one database; --all exports every named database too"
    # a record of the main database is no named database
    assert user_error("count", named_db, "--db", "nothing\u00e9") == \
        "no named database nothing\u00e9 in %s (it has: ids, q, runs, tags, users)" % named_db


@pytest.mark.parametrize("fmt", ["jsonl", "cbor"])
def test_named_databases_export_and_import_exactly(named_db, tmp_path, fmt):
    out = ok_json("export", named_db, "--all", "-o", tmp_path / "e1", "--format", fmt)
    assert sorted(os.listdir(tmp_path / "e1")) == \
        ["db-%s.%s" % (n.decode(), fmt) for n in NAMED]
    assert {e["db"]: e["records"] for e in out["exported"]} == \
        {"ids": 3, "q": 1, "runs": 2, "tags": 4, "users": 1000}
    assert all(e["slot"] is None for e in out["exported"])
    res = ok_json("import", tmp_path / "copy", tmp_path / "e1")
    assert {r["db"]: r["records"] for r in res["imported"]} == \
        {"ids": 3, "q": 1, "runs": 2, "tags": 4, "users": 1000}
    assert named_dump(tmp_path / "copy") == named_dump(named_db)
    assert raw_dump(tmp_path / "copy") != [], "named databases are main-database records"
    ok("export", tmp_path / "copy", "--all", "-o", tmp_path / "e2", "--format", fmt)
    for name in os.listdir(tmp_path / "e1"):
        assert (tmp_path / "e1" / name).read_bytes() == (tmp_path / "e2" / name).read_bytes()
    # importing twice changes nothing, dupsort values included
    ok("import", tmp_path / "copy", tmp_path / "e1")
    assert named_dump(tmp_path / "copy") == named_dump(named_db)


def test_named_database_export_format_and_import_checks(named_db, tmp_path):
    text = ok("export", named_db, "--db", "tags").splitlines()
    assert json.loads(text[0]) == {
        "zlmdb_export": 1, "zlmdb": json.loads(text[0])["zlmdb"], "slot": None, "db": "tags",
        "flags": {"reverse_key": False, "dupsort": True, "integerkey": False,
                  "integerdup": False, "dupfixed": False}, "records": 4}
    assert json.loads(text[1]) == {"raw_key": base64.b64encode(b"apple").decode(),
                                   "raw_value": base64.b64encode(b"blue").decode()}
    tags = tmp_path / "tags.jsonl"
    tags.write_text("\n".join(text) + "\n")
    assert user_error("import", tmp_path / "t1", tags, "--slot", "3") == \
        "%s: this export holds a named database, not a table: --slot does not apply" % tags
    # an existing database with other flags is not mixed into
    env = zl.open(str(tmp_path / "t2"), max_dbs=2)
    env.open_db(b"tags")
    env.close()
    assert user_error("import", tmp_path / "t2", tags) == \
        "%s: named database tags of the target has flags none, the export dupsort" % tags
    # nor is an ordinary record of the same name (LMDB 0.9: its name is the
    # key b"tags"; LMDB 1.0 stores b"tags\0", so a record b"tags" is no clash)
    for lib_version in (0, 1):
        target = tmp_path / ("t3-%d" % lib_version)
        env = zl.open(str(target), lib_version=lib_version)
        with env.begin(write=True) as txn:
            txn.put(b"tags", b"x")
        env.close()
        if lib_version == 0:
            assert user_error("import", target, tags) == \
                "%s: key tags of the target's main database is an ordinary record, " \
                "not a named database" % tags
        else:
            assert ok("import", target, tags).startswith("imported 4 records")
            assert ok("scan", target, "--db", "tags") == ok("scan", named_db, "--db", "tags")
    decoded = tmp_path / "decoded.jsonl"
    decoded.write_text(text[0] + '\n{"key": "apple", "raw_value": "eA=="}\n')
    assert "line 2: \"key\" given but the header has no key layout" in \
        user_error("import", tmp_path / "t4", decoded)


def test_orm_tables_beside_named_databases(mixed_db, tmp_path):
    rows = {r["slot"]: r for r in ok_json("tables", mixed_db)["tables"]}
    assert sorted(rows) == [1, 30067]
    # b"users" lies in slot 30067's key range, but is no record of it
    assert rows[30067]["records"] == 2 and rows[1]["records"] == 1
    named = ok_json("tables", mixed_db)["named_databases"]
    assert sum(r["records"] for r in rows.values()) + len(named) == len(raw_dump(mixed_db))
    text = ok("tables", mixed_db)
    assert "\n\nnamed database  entries" in text and "(unregistered)" in text
    assert ok("count", mixed_db, "30067").strip() == "2"
    assert ok("count", mixed_db, "30067", "--from", "a").strip() == "2"
    assert [r["key"] for r in json_lines(ok("scan", mixed_db, "30067", "--json"))] == \
        ["abc", "zzz"]
    assert user_error("get", mixed_db, "30067", "ers") == \
        "no record in slot 30067 with key ers"
    # check: no undecodable 48-byte value in slot 30067, no 1-byte key q
    res = run("check", mixed_db, "--map", "30067=MapStringCbor", "--map", "1=MapOidCbor",
              "--json")
    assert res.returncode == 0, res.stdout
    rep = json.loads(res.stdout)
    assert rep["ok"] and rep["records"] == 3 and rep["slots"] == 2
    assert rep["named_databases"] == [{"name": n.decode(), "entries": e} for n, e in
                                      zip(NAMED, (3, 1, 2, 4, 1000))]
    out = ok_json("export", mixed_db, "--all", "-o", tmp_path / "e")
    assert sorted(os.listdir(tmp_path / "e")) == \
        ["db-%s.jsonl" % n.decode() for n in NAMED] + ["slot-00001.jsonl", "slot-30067.jsonl"]
    assert {e["slot"]: e["records"] for e in out["exported"] if e["slot"]} == \
        {1: 1, 30067: 2}
    ok("import", tmp_path / "copy", tmp_path / "e")

    def orm_records(path):      # named databases' records hold their page numbers
        # (LMDB 1.0 stores a name with its NUL)
        return [(k, v) for k, v in raw_dump(path) if k.rstrip(b"\0") not in NAMED]
    assert orm_records(tmp_path / "copy") == orm_records(mixed_db)
    assert named_dump(tmp_path / "copy") == named_dump(mixed_db)


def test_orm_database_has_no_named_databases(db):
    assert ok_json("tables", db)["named_databases"] == []
    assert ok_json("env", db)["named_databases"] == []
    assert "named" not in ok("env", db) + ok("tables", db)
    rep = ok_json("check", db, *SCHEMA)
    assert rep["named_databases"] == [] and rep["ok"]
    assert user_error("scan", db, "--db", "users") == \
        "no named database users in %s (it has none)" % db


def test_backup_and_grow_keep_named_databases(named_db, tmp_path):
    ok("backup", named_db, tmp_path / "b")
    assert named_dump(tmp_path / "b") == named_dump(named_db)
    copy = tmp_path / "copy"
    shutil.copytree(named_db, copy)
    assert ok_json("grow", copy, "+1MiB")["map_size"] == (33 << 20)
    assert named_dump(copy) == named_dump(named_db)
    assert run("check", copy).returncode == 0


def test_a_key_with_a_nul_byte_is_never_a_named_database(tmp_path):
    from zlmdb._cli_layout import DB_RECORD_SIZE
    # LMDB takes names as C strings: open_db(b"users\0x") would open
    # "users".  So this ordinary record of slot 30067, with a value the
    # size of a named database's, must stay a record.
    path = str(tmp_path / "nul")
    env = zl.open(path, max_dbs=1)
    env.open_db(b"users")
    with env.begin(write=True) as txn:
        txn.put(b"users\0x", bytes(DB_RECORD_SIZE))
    env.close()
    listing = ok_json("tables", path)
    assert [d["name"] for d in listing["named_databases"]] == ["users"]
    assert [(r["slot"], r["records"]) for r in listing["tables"]] == [(30067, 1)]
    assert ok("count", path, "30067").strip() == "1"


def test_named_databases_of_an_lmdb_1_0_file(named_db, tmp_path):
    from zlmdb._cli_layout import DB_RECORD_SIZE
    # LMDB 1.0 stores a named database's name with its NUL: b"users\0".
    path = build_named(tmp_path / "v1", lib_version=1)
    env = zl.open(path, readonly=True, lock=False, max_dbs=8)
    with env.begin() as txn:
        assert b"users\0" in [bytes(k) for k, _v in txn.cursor()]
    env.close()
    assert named_dump(path) == named_dump(named_db)
    listing = ok_json("tables", path)
    assert listing == ok_json("tables", named_db)
    info = ok_json("env", path)
    assert info["lib_version"] == "1.0" and info["lmdb_version"].startswith("1.0.")
    assert "format           LMDB 1.0 format (data format v3)\n" in ok("env", path)
    assert ok_json("env", build_named(tmp_path / "v0", lib_version=0))["lib_version"] == "0.9"
    assert ok("count", path, "--db", "users", "--prefix", "user:09").strip() == "100"
    assert ok("scan", path, "--db", "tags") == ok("scan", named_db, "--db", "tags")
    assert run("check", path).returncode == 0
    # A key that ends with a NUL is a record unless it names a database.
    env = zl.open(path, max_dbs=8)
    with env.begin(write=True) as txn:
        txn.put(b"zz\0", bytes(DB_RECORD_SIZE))
        txn.put(b"users\0x", bytes(DB_RECORD_SIZE))
    env.close()
    listing = ok_json("tables", path)
    assert [d["name"] for d in listing["named_databases"]] == [n.decode() for n in NAMED]
    assert [(r["slot"], r["records"]) for r in listing["tables"]] == [(30067, 1), (31354, 1)]
