"""Compatibility fixtures against upstream zlmdb (its own cached venv).

Upstream writes a database + manifest (upstream_writer.py), in each LMDB
format (its default, LMDB 1.0, and lib_version="0.9"), upstream reads it
back (upstream_reader.py), and these tests check, for each format:

* the reader's output equals the manifest for every slot, with upstream's
  documented bugs applied (compat_common.KNOWN_BROKEN), and that those bugs
  ARE still there (so the fixtures notice an upstream change);
* the raw LMDB dump: 2-byte big-endian slot prefixes, one entry per manifest
  record and nothing else, key bytes equal to an independent encoder of the
  spec, value bytes decodable with plain cbor2/json/pickle/FlatBuffers here;
* the slot-0 registry records (CBOR dicts with the fields of spec §2.1);
* that the format changes the file, never the records.

Only upstream is needed; our ORM is not imported.  First run creates
build/upstream-venv (cached, ~10 s to minutes); afterwards the module runs in
a few seconds.
"""

import ast
import json
import pickle
import struct
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import compat_common as cc  # noqa: E402
import upstream_env  # noqa: E402

REGISTERED = ["Users", "IndexUsersByName", "IndexUsersByRealm", "IndexUsersByEmail",
              "EventLog"]
REGISTERED_CLASS = {"Users": "MapOidCbor", "IndexUsersByName": "MapStringOid",
                    "IndexUsersByRealm": "MapOidOidOid", "IndexUsersByEmail": "MapStringOid",
                    "EventLog": "MapTimestampUuidFlatBuffers"}


def _strip_messages(x):
    if isinstance(x, dict):
        if "error" in x and set(x) <= {"error", "message"}:
            return {"error": x["error"]}
        return {k: _strip_messages(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_strip_messages(v) for v in x]
    return x


def write_upstream(out, lib_version):
    """Run the upstream writer into ``out``; the manifest."""
    proc = upstream_env.run_upstream(HERE / "upstream_writer.py", out,
                                     *([lib_version] if lib_version else []), timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads((out / "manifest.json").read_text())


@pytest.fixture(scope="module", params=cc.WRITE_FORMATS, ids=cc.WRITE_FORMAT_IDS)
def written(request, tmp_path_factory):
    """(directory, manifest, format): upstream's database in one format."""
    upstream_env.ensure_upstream_venv()
    lib_version, fmt = request.param
    out = tmp_path_factory.mktemp("upstream-fixture")
    return out, write_upstream(out, lib_version), fmt


@pytest.fixture(scope="module")
def manifest(written):
    return written[1]


@pytest.fixture(scope="module")
def read_back(written):
    out = written[0]
    proc = upstream_env.run_upstream(HERE / "upstream_reader.py", out / "db",
                                     out / "manifest.json", timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _entry(manifest, slot):
    return next(e for e in manifest["slots"] if e["slot"] == slot)


def _slot_of(manifest, name):
    for e in manifest["slots"]:
        if (e.get("registered") or {}).get("table_class") == name:
            return e["slot"]
    return cc.map_slot(name)


# ---------------------------------------------------------------- environment

def test_upstream_venv_is_pinned_and_isolated():
    upstream_env.ensure_upstream_venv()
    info = upstream_env.venv_info()
    assert info["zlmdb_version"] == upstream_env.UPSTREAM_VERSION
    venv = upstream_env.venv_dir().resolve()
    assert venv in Path(info["zlmdb_file"]).resolve().parents
    # upstream must never leak into the interpreter running the tests
    import importlib.util
    spec = importlib.util.find_spec("zlmdb")
    if spec is not None and spec.origin:
        assert venv not in Path(spec.origin).resolve().parents


def test_writer_identifies_upstream(written):
    _out, manifest, fmt = written
    w = manifest["writer"]
    assert w["impl"] == "upstream-zlmdb"
    assert w["zlmdb_version"] == upstream_env.UPSTREAM_VERSION
    assert manifest["format"] == cc.MANIFEST_FORMAT
    # the format asked for (or upstream's default, LMDB 1.0), in the file's bytes
    assert manifest["lib_version"] == fmt
    assert manifest["lmdb_data_version"] == cc.DATA_VERSION[fmt]
    assert manifest["lmdb_version"].startswith(fmt + ".")


# ---------------------------------------------------------------- manifest / dump

def test_manifest_covers_every_map_class(manifest):
    by_slot = {e["slot"]: e for e in manifest["slots"]}
    assert sorted(by_slot) == [1, 2, 3, 4, 5] + list(range(101, 184))
    for cls, _k, _v in cc.LAYOUTS:
        e = by_slot[cc.map_slot(cls)]
        assert e["class"] == cls
        if cls == "MapUuidBytes32FlatBuffers":
            assert e["write_error"].startswith("AttributeError")
            assert "'bytes' object has no attribute 'bytes'" in e["write_error"]
            assert e["records"] == []
        else:
            assert e["write_error"] is None, (cls, e["write_error"])
            assert len(e["records"]) == cc.RECORDS_PER_MAP
    for name in REGISTERED:
        e = by_slot[_slot_of(manifest, name)]
        assert e["class"] == REGISTERED_CLASS[name]


def test_raw_dump_slot_prefixes_and_records(manifest):
    dump = [(bytes.fromhex(k), bytes.fromhex(v)) for k, v in manifest["raw_dump"]]
    keys = [k for k, _ in dump]
    assert keys == sorted(keys)  # LMDB default byte-wise order
    slots = {e["slot"] for e in manifest["slots"]}
    per_slot = {}
    for k, _v in dump:
        assert len(k) >= 2
        s = struct.unpack(">H", k[:2])[0]
        assert s == 0 or s in slots, s
        per_slot[s] = per_slot.get(s, 0) + 1
    dump_map = dict(dump)
    for e in manifest["slots"]:
        assert per_slot.get(e["slot"], 0) == len(e["records"]), e["class"]
        for r in e["records"]:
            rk = bytes.fromhex(r["raw_key"])
            assert rk[:2] == struct.pack(">H", e["slot"])
            assert r["raw_value"] is not None and dump_map[rk] == bytes.fromhex(r["raw_value"])
        assert [r["raw_key"] for r in e["records"]] == sorted(r["raw_key"] for r in e["records"])


def test_raw_bytes_match_independent_encoder(manifest):
    """Key bytes (and plain value bytes) equal the spec's encoding, computed here."""
    for e in manifest["slots"]:
        kinds = tuple(e["key_kinds"])
        for r in e["records"]:
            key = cc.decanon_key(r["key"])
            assert cc.physical_key(e["slot"], kinds, key).hex() == r["raw_key"], \
                (e["class"], r["key"])
            want = cc.encode_value(e["value_kind"], cc.decanon(r["value"]) if
                                   e["value_kind"] != "b20ts" else cc.decanon_key(r["value"]))
            if want is not None:
                assert want.hex() == r["raw_value"], (e["class"], r["key"])


def test_timestamp_keys_are_big_endian_and_oidts_native(manifest):
    e = _entry(manifest, cc.map_slot("MapTimestampFlatBuffers"))
    for r in e["records"]:
        assert bytes.fromhex(r["raw_key"])[2:] == struct.pack(">q", r["key"]["ns"])
    e = _entry(manifest, cc.map_slot("MapOidTimestampOid"))
    for r in e["records"]:
        assert bytes.fromhex(r["raw_key"])[10:] == struct.pack("<q", r["key"][1]["ns"])
    e = _entry(manifest, cc.map_slot("MapUint16UuidTimestampFlatBuffers"))
    for r in e["records"]:
        assert bytes.fromhex(r["raw_key"])[2:4] == struct.pack("<H", r["key"][0])


def test_codec_values_decode_without_upstream(manifest):
    """CBOR/JSON/Pickle/FlatBuffers/set value bytes decode with plain libraries."""
    import cbor2

    seen = set()
    for e in manifest["slots"]:
        for r in e["records"]:
            raw = bytes.fromhex(r["raw_value"])
            if e["codec"] == "cbor":
                assert cc.canon(cbor2.loads(raw)) == r["value"]
            elif e["codec"] == "json":
                assert json.loads(raw.decode("utf8")) == r["value"]
                # upstream: separators=(",", ":"), ensure_ascii=False, insertion order
                assert raw == json.dumps(r["value"], separators=(",", ":"),
                                         ensure_ascii=False).encode("utf8")
            elif e["codec"] == "pickle":
                obj = ast.literal_eval(r["py"])
                assert pickle.loads(raw) == obj
                assert raw == pickle.dumps(obj, protocol=2)
                assert cc.canon(obj) == r["value"]
            elif e["codec"] == "flatbuffers":
                assert cc.fb_item_parse(raw) == r["value"]
            elif e["codec"] == "set":
                vlen = 16 if e["value_kind"] == "uuidset" else 8
                assert len(raw) % vlen == 0 and len(raw) // vlen == len(r["value"]["set"])
                elems = {raw[i:i + vlen] for i in range(0, len(raw), vlen)}
                if vlen == 16:
                    import uuid
                    got = cc.canon({uuid.UUID(bytes=x) for x in elems})
                else:
                    got = cc.canon({struct.unpack(">Q", x)[0] for x in elems})
                assert got == r["value"]  # the write side stores every element
            seen.add(e["codec"])
    assert seen == {"cbor", "json", "pickle", "flatbuffers", "set", "plain"}


def test_registry_records(manifest):
    dump = dict((bytes.fromhex(k), bytes.fromhex(v)) for k, v in manifest["raw_dump"])
    import cbor2

    reg = {k: v for k, v in dump.items() if k[:2] == b"\x00\x00"}
    assert sorted(reg) == [b"\x00\x00" + struct.pack(">H", s) for s in range(1, 6)]
    names = {}
    for k, v in reg.items():
        rec = cbor2.loads(v)
        assert isinstance(rec, dict)
        slot = struct.unpack(">H", k[2:4])[0]
        # exact field order as upstream writes it (ConfigurationElement + Slot)
        expect_fields = ["oid", "name", "description", "creator", "slot"]
        if rec["name"] == "EventLog":  # class without docstring -> no description
            expect_fields.remove("description")
        assert list(rec) == expect_fields, rec
        assert rec["slot"] == slot and rec["creator"] == "unknown"
        assert isinstance(rec["oid"], str) and len(rec["oid"]) == 36
        e = _entry(manifest, slot)
        assert e["registered"]["table_class"] == rec["name"]
        assert e["registered"]["oid"] == rec["oid"]
        assert e["registered"]["description"] == rec.get("description")
        names[rec["name"]] = slot
    assert names == {n: i + 1 for i, n in enumerate(REGISTERED)}
    assert [r["record"] for r in manifest["registry"]] == [cbor2.loads(reg[k]) for k in sorted(reg)]


# ---------------------------------------------------------------- upstream reads back

ALL_NAMES = REGISTERED + [c for c, _k, _v in cc.LAYOUTS]


@pytest.mark.parametrize("name", ALL_NAMES)
def test_upstream_reads_back(manifest, read_back, name):
    slot = _slot_of(manifest, name)
    e = _entry(manifest, slot)
    got = _strip_messages(read_back["slots"][str(slot)])
    assert got.pop("class") == e["class"]
    assert got == cc.expected_upstream_read(e)
    if cc.KNOWN_BROKEN.get(e["class"], ("ok",))[0] == "ok":
        # a working map reads back exactly the logical records of the manifest
        assert got["select"] == [[r["key"], r["value"]] for r in e["records"]]


def test_registry_read_by_upstream(read_back, manifest):
    assert read_back["lib_version"] == manifest["lib_version"]
    assert read_back["registry"]["attached_slots"] == {n: i + 1 for i, n in enumerate(REGISTERED)}
    assert [r["record"] for r in read_back["registry"]["raw"]] == \
        [r["record"] for r in manifest["registry"]]


def test_index_queries(manifest, read_back):
    users = {r["key"]: r["value"] for r in _entry(manifest, 1)["records"]}
    qs = read_back["queries"]
    realm = [q for q in qs if q["query"] == "realm"]
    assert [q["realm"] for q in realm] == [700, 701]
    for q in realm:
        want = sorted(u["oid"] for u in users.values() if u["realm_oid"] == q["realm"])
        assert [row[1] for row in q["index_rows"]] == want
        assert [row[0] for row in q["index_rows"]] == [[q["realm"], o] for o in want]
        assert q["count_range"] == len(want)
        assert q["users"] == [users[o] for o in want]
    by_name = [q for q in qs if q["query"] == "idx_name"]
    assert len(by_name) == len(users)
    for q in by_name:
        assert q["user"]["name"] == q["key"] and q["pk"] == q["user"]["oid"]
    by_email = [q for q in qs if q["query"] == "idx_email"]
    assert sorted(q["key"] for q in by_email) == sorted(
        u["email"] for u in users.values() if u["email"] is not None)
    for q in by_email:
        assert q["user"]["email"] == q["key"]
    # index maintenance on update removed the superseded entries
    dump_keys = {bytes.fromhex(k) for k, _ in manifest["raw_dump"]}
    assert struct.pack(">H", 2) + b"user-1-old" not in dump_keys
    assert struct.pack(">H", 4) + b"old2@example.com" not in dump_keys


# ---------------------------------------------------------------- known upstream bugs

def test_known_broken_are_still_broken(manifest, read_back):
    rs = read_back["slots"]

    # set-valued maps: all 5 elements stored, only the first one read back
    for cls in ("MapUuidUuidSet", "MapOidOidSet"):
        e = _entry(manifest, cc.map_slot(cls))
        got = rs[str(e["slot"])]
        for r, v in zip(e["records"], got["get"]):
            assert len(r["value"]["set"]) == 5
            assert len(v["set"]) == 1 and v["set"][0] in r["value"]["set"]

    # OidTimestamp*: get works, select raises struct.error
    for cls in ("MapOidTimestampOid", "MapOidTimestampFlatBuffers", "MapOidTimestampStringOid"):
        e = _entry(manifest, cc.map_slot(cls))
        got = rs[str(e["slot"])]
        assert got["get"] == [r["value"] for r in e["records"]]
        assert got["select"]["error"] == "error"
        assert "bad char in struct format" in got["select"]["message"]

    # MapUuidTimestampUuidFlatBuffers (not in the spec): select asserts on key length
    e = _entry(manifest, cc.map_slot("MapUuidTimestampUuidFlatBuffers"))
    got = rs[str(e["slot"])]
    assert got["get"] == [r["value"] for r in e["records"]]
    assert got["select"]["error"] == "AssertionError"

    # MapStringOidOid: string truncated to its first 8 bytes
    e = _entry(manifest, cc.map_slot("MapStringOidOid"))
    got = rs[str(e["slot"])]
    for r, (k, _v) in zip(e["records"], got["select"]):
        assert len(r["key"][0].encode()) > 8
        assert k == [r["key"][0].encode()[:8].decode(), r["key"][1]]

    # (str, str[, str]) keys decode to bytes
    for cls in ("MapStringStringUuid", "MapStringStringStringUuid"):
        e = _entry(manifest, cc.map_slot(cls))
        for r, k in zip(e["records"], rs[str(e["slot"])]["select_keys"]):
            assert k == [{"hex": s.encode().hex()} for s in r["key"]]

    # u16 native-endian, decoded as a 1-tuple; select order is byte order, not numeric
    e = _entry(manifest, cc.map_slot("MapUint16UuidTimestampFlatBuffers"))
    ks = rs[str(e["slot"])]["select_keys"]
    assert [k[0] for k in ks] == [[256], [1], [2]]

    # MapUuidBytes32FlatBuffers cannot store anything upstream
    e = _entry(manifest, cc.map_slot("MapUuidBytes32FlatBuffers"))
    assert e["write_error"] and rs[str(e["slot"])]["count"] == 0


def test_the_format_changes_the_file_not_the_records(written, tmp_path):
    # Written again in the other format: the same records, byte for byte
    # (so the writer is deterministic too), in another file format.
    _out, manifest, fmt = written
    other = next((arg, f) for arg, f in cc.WRITE_FORMATS if f != fmt)
    # (Upstream's default is written again as an explicit lib_version="1.0".)
    again = write_upstream(tmp_path / "again", other[0] or "1.0")
    assert again["lib_version"] == other[1]
    assert again["lmdb_data_version"] != manifest["lmdb_data_version"]
    assert again["raw_dump"] == manifest["raw_dump"]
    assert again["slots"] == manifest["slots"]
    assert again["registry"] == manifest["registry"]


# ---------------------------------------------------------------- our low-level layer, both ways
# These need only this project's own LMDB binding (zlmdb.lmdb), not the ORM:
# they prove the byte-level plumbing of the two directions the ORM tests use.

def _our_lmdb():
    mod = pytest.importorskip("zlmdb.lmdb")
    venv = upstream_env.venv_dir().resolve()
    assert venv not in Path(mod.__file__).resolve().parents, "test venv imports upstream!"
    return mod


def test_our_lowlevel_reads_upstream_db(written):
    lmdb = _our_lmdb()
    out, manifest, fmt = written
    env = lmdb.open(str(out / "db"), readonly=True, subdir=True)
    try:
        # the file's format chose the engine
        assert "%d.%d" % env.lib_version()[:2] == fmt
        with env.begin() as txn:
            got = [[bytes(k).hex(), bytes(v).hex()] for k, v in txn.cursor()]
    finally:
        env.close()
    assert got == manifest["raw_dump"]


def test_upstream_reads_db_written_by_our_lowlevel(written, read_back, tmp_path):
    lmdb = _our_lmdb()
    out, manifest, fmt = written
    env = lmdb.open(str(tmp_path / "db"), map_size=manifest["maxsize"], subdir=True,
                    lib_version=cc.FORMAT_MAJOR[fmt])
    try:
        with env.begin(write=True) as txn:
            for k, v in reversed(manifest["raw_dump"]):  # insertion order must not matter
                txn.put(bytes.fromhex(k), bytes.fromhex(v))
    finally:
        env.close()
    assert cc.lmdb_data_version(tmp_path / "db" / "data.mdb") == cc.DATA_VERSION[fmt]
    proc = upstream_env.run_upstream(HERE / "upstream_reader.py", tmp_path / "db",
                                     out / "manifest.json", timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == read_back      # its lib_version included
