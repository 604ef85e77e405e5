"""The ``zlmdb`` command, end to end in subprocesses (``python -m zlmdb`` and
the ``zlmdb`` console script).

The database comes from cli_data/make_db.py (ORM tables of several map
types, two indexes, composite keys, an unregistered slot); the schema the
commands get with ``--schema`` is cli_data/cli_schema.py.  Every command is
run for its text and --json output; errors must be one ``zlmdb: error:``
line with status 1 and no traceback.
"""
import base64
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

import pytest

import zlmdb.lmdb as zl

DATA = pathlib.Path(__file__).resolve().parent / "cli_data"
SCHEMA = ["--schema", "%s:Schema" % (DATA / "cli_schema.py")]
SCRIPT = pathlib.Path(sys.executable).parent / "zlmdb"


def run(*args, script=False, stdin=None, timeout=120, cwd=None):
    cmd = [str(SCRIPT)] if script else [sys.executable, "-m", "zlmdb"]
    return subprocess.run(cmd + [str(a) for a in args], capture_output=True, input=stdin,
                          timeout=timeout, cwd=cwd)


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
    assert res.returncode == 0 and res.stdout.decode().startswith("zlmdb 0.")
    assert ok("tables", db, script=True) == ok("tables", db)
    assert "usage: zlmdb" in ok("--help")
    for command in ("info", "tables", "count", "get", "scan", "export", "import",
                    "backup", "check", "grow"):
        assert command in ok("--help")
        assert "usage: zlmdb %s" % command in ok(command, "--help")


def test_usage_errors_exit_2():
    res = run()
    assert res.returncode == 2 and b"command is required" in res.stderr
    res = run("frobnicate", "x")
    assert res.returncode == 2 and b"invalid choice" in res.stderr
    res = run("grow", "x", "lots")
    assert res.returncode == 2 and b"bad size" in res.stderr


def test_build_parser_is_the_reference():
    from zlmdb._cli import build_parser, main
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == {"info", "tables", "count", "get", "scan", "export",
                                "import", "backup", "check", "grow"}
    assert main(["--version"]) == 0


# -- info -----------------------------------------------------------------------------

def test_info_text_and_json(db):
    before = file_state(db)
    info = ok_json("info", db)
    assert info["map_size"] == 32 << 20
    assert info["lmdb_version"].startswith("0.9.")
    assert info["page_size"] == 4096
    assert info["entries"] == len(raw_dump(db))
    assert info["pages_used"] * info["page_size"] == info["used_bytes"]
    assert info["used_bytes"] <= info["file_size"] < info["map_size"]
    assert info["file_preallocated"] is False
    assert info["pages_in_tree"] == info["branch_pages"] + info["leaf_pages"] + \
        info["overflow_pages"]
    assert info["readers"] == []
    text = ok("info", db)
    assert "map size        33554432 (32.0 MiB)" in text
    assert "entries         %d" % info["entries"] in text
    assert file_state(db) == before, "info must not write"


def test_info_under_writemap_counts_pages_not_the_file(tmp_path):
    path = build(tmp_path / "wm", "--writemap")
    info = ok_json("info", path)
    # With writemap LMDB sizes the file to the whole map: the file size says
    # nothing about usage, the last page does.
    assert info["file_size"] == info["map_size"] == 32 << 20
    assert info["file_preallocated"] is True
    assert info["used_bytes"] == info["pages_used"] * 4096 < info["file_size"] // 100
    assert info["used_percent"] < 1
    assert "preallocated to the map size (writemap)" in ok("info", path)


def test_info_lists_an_active_reader(db):
    env = zl.open(db, readonly=True)
    txn = env.begin()
    try:
        readers = ok_json("info", db)["readers"]
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
    assert rows[0]["records"] == 11 and rows[0]["type"] == "(registry)"
    assert rows[40]["registered"] is False and rows[40]["name"] is None
    assert all(r["registered"] for s, r in rows.items() if s != 40)
    assert sum(r["records"] for r in rows.values()) == len(raw_dump(db))
    # bytes: leaf space of the records, at least their payload
    for r in rows.values():
        assert r["bytes"] >= r["payload_bytes"] > 0
    # no schema: layouts are guessed, and say so
    assert rows[1]["layout"]["source"] == "guess" and rows[1]["type"].endswith("(guessed)")
    assert rows[1]["layout"]["value"] == "cbor"
    text = ok("tables", db)
    assert "(unregistered)" in text and "Users" in text and "(guessed)" in text


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
    assert ok("count", db, "0").strip() == "11"


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


def test_get_raw_and_guessed(db):
    res = run("get", db, "Scores", "2", "--raw")
    assert res.returncode == 0 and len(res.stdout) == 32 and res.stderr == b""
    stored = dict(raw_dump(db))[struct.pack(">HQ", 6, 2)]
    assert res.stdout == stored
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
    assert user_error("info", tmp_path / "nope") == "no such database directory: %s" % (
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
        "unknown table 'Nobody': no registry entry has that name or oid"
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
    assert user_error("import", tmp_path / "t1", bad) == \
        "%s: line 3: not JSON: Expecting property name enclosed in double quotes: " \
        "line 1 column 2 (char 1)" % bad
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
    assert ok_json("info", tmp_path / "dst")["map_size"] > 1 << 20


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
    assert "exported 6 records of slot 1 to" in err
    status, err = _run_on_a_terminal(["import", tmp_path / "fresh", tmp_path / "u.jsonl"])
    assert status == 0 and "import %s 100%% [" % (tmp_path / "u.jsonl") in err
    status, err = _run_on_a_terminal(["export", db, "Users", "-o", tmp_path / "v.jsonl",
                                      "--no-progress"])
    assert status == 0 and err == ""
    # piped: no bar, nothing on stderr at all
    res = run("export", db, "Users", "-o", tmp_path / "w.jsonl")
    assert res.returncode == 0 and res.stderr == b"" and res.stdout == b""
    res = run("import", tmp_path / "fresh2", tmp_path / "w.jsonl")
    assert res.returncode == 0 and res.stderr == b""


# -- backup ---------------------------------------------------------------------------

def test_backup_is_compact_and_complete(db, tmp_path):
    out = ok_json("backup", db, tmp_path / "b1")
    assert out["compact"] is True and out["bytes"] == os.path.getsize(
        tmp_path / "b1" / "data.mdb")
    assert raw_dump(tmp_path / "b1") == raw_dump(db)
    assert "backed up" in ok("backup", db, tmp_path / "b2", "--no-compact")
    assert raw_dump(tmp_path / "b2") == raw_dump(db)
    assert "exists and is not an empty directory" in user_error("backup", db, tmp_path / "b1")


def test_backup_while_a_writer_runs_is_consistent(db_copy, tmp_path):
    stop = tmp_path / "stop"
    writer = subprocess.Popen([sys.executable, str(DATA / "writer.py"), db_copy, str(stop)],
                              cwd=str(DATA), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 60
        while not os.path.exists(str(stop) + ".ready"):
            assert writer.poll() is None, writer.stderr.read()
            assert time.time() < deadline
            time.sleep(0.01)
        counts = []
        for i in range(4):
            dest = tmp_path / ("backup%d" % i)
            ok("backup", db_copy, dest)
            counts.append(int(ok("count", dest, "Users").strip()))
            time.sleep(0.05)
    finally:
        stop.write_text("")
        out, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    written = int(out)
    assert written >= 10
    # Each copy is one committed state: whole transactions of 10 users, and
    # every index entry in step with its record.
    assert all((c - 6) % 10 == 0 for c in counts), counts
    assert counts == sorted(counts) and counts[-1] > 6
    for i in range(4):
        res = run("check", tmp_path / ("backup%d" % i), *SCHEMA, "--json")
        assert res.returncode == 0, res.stdout
        report = json.loads(res.stdout)
        assert report["ok"] and report["indexes"] == 2
    assert int(ok("count", db_copy, "Users").strip()) == 6 + written


# -- check ----------------------------------------------------------------------------

def test_check_clean_database(db):
    res = run("check", db, *SCHEMA)
    assert res.returncode == 0, res.stdout
    text = res.stdout.decode()
    assert text.startswith("checked 13 slots, 42 records, 2 indexes: no problems")
    report = ok_json("check", db, *SCHEMA)
    assert report["ok"] and report["problem_count"] == 0 and report["problems"] == []
    assert report["records"] == len(raw_dump(db))
    # without a schema nothing declares layouts: the check says what it skipped
    report = ok_json("check", db)
    assert report["ok"] and report["indexes"] == 0
    assert any("slot 1 (Users): layout not declared" in n for n in report["notes"])


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
    assert ok_json("info", db_copy)["map_size"] == 64 << 20
    out = ok("grow", db_copy, "+1G")
    assert "raised from 67108864 (64.0 MiB) to 1140850688 (1.1 GiB)" in out
    env = zl.open(db_copy, map_size=0, readonly=True, lock=False)
    assert env.info()["map_size"] == (64 << 20) + (1 << 30)
    env.close()
    assert raw_dump(db_copy) == records
    assert user_error("grow", db_copy, "32MiB").startswith("the map is already 1140850688")
    res = run("check", db_copy, *SCHEMA)
    assert res.returncode == 0
