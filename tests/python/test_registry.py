"""The slot registry and the catalog: attaching tables from several
processes at once, the records upstream zlmdb reads, and what the catalog
records about each slot."""
import multiprocessing
import struct
import uuid

import pytest

import zlmdb
from zlmdb._core import native as _native
from zlmdb import codec


@zlmdb.table("2e3b9d0a-54c1-4a6e-8f0e-6a1c0b9d7e11", marshal=lambda o: o, parse=lambda o: o)
class Alpha(zlmdb.MapUuidCbor):
    """Table alpha."""


@zlmdb.table("2e3b9d0a-54c1-4a6e-8f0e-6a1c0b9d7e12")
class Beta(zlmdb.MapOidOid):
    pass


@zlmdb.table("2e3b9d0a-54c1-4a6e-8f0e-6a1c0b9d7e13", compress=zlmdb.MapUuidCbor.COMPRESS_ZLIB)
class ByName(zlmdb.MapStringUuid):
    pass


def _attach_at_barrier(path, klass, barrier, out):
    try:
        with zlmdb.Database(path, maxsize=1 << 24) as db:
            barrier.wait(timeout=30)
            out.put((klass.__name__, db.attach_table(klass)._slot))
    except BaseException as exc:      # reported to the parent, which fails
        out.put((klass.__name__, repr(exc)))


def test_concurrent_attaches_from_two_processes_get_distinct_slots(tmp_path):
    ctx = multiprocessing.get_context("fork")
    for rnd in range(25):
        path = str(tmp_path / ("r%d" % rnd))
        zlmdb.Database(path).close()            # both open an existing database
        barrier, out = ctx.Barrier(2), ctx.Queue()
        procs = [ctx.Process(target=_attach_at_barrier, args=(path, k, barrier, out))
                 for k in (Alpha, Beta)]
        for p in procs:
            p.start()
        got = dict(out.get(timeout=60) for _ in procs)
        for p in procs:
            p.join(60)
            assert p.exitcode == 0
        assert sorted(got.values()) == [1, 2], "round %d: %r" % (rnd, got)
        with zlmdb.Database(path) as db:
            slots = db.stats(include_slots=True)["slots"]
        assert sorted((s["slot"], s["name"]) for s in slots) == sorted(
            [(got["Alpha"], "Alpha"), (got["Beta"], "Beta")])


def _raw_slot0(db):
    with db.begin() as txn:
        cur = txn.cursor()
        out = {}
        found = cur.set_range(b"\x00\x00")
        while found and cur.key()[:2] == b"\x00\x00":
            out[cur.key()] = cur.value()
            found = cur.next()
        return out


def test_registry_record_is_upstreams_and_the_catalog_key_is_three_bytes(tmp_path):
    with zlmdb.Database(str(tmp_path / "db")) as db:
        db.attach_table(Alpha)
        raw = _raw_slot0(db)
    assert sorted(raw) == [b"\x00\x00\x00\x01", b"\x00\x00\x01"]
    # cbor2.dumps(Slot(...).marshal()) of upstream, key order included
    assert raw[b"\x00\x00\x00\x01"] == codec.cbor_dumps({
        "oid": "2e3b9d0a-54c1-4a6e-8f0e-6a1c0b9d7e11", "name": "Alpha",
        "description": "Table alpha.", "creator": "unknown", "slot": 1})


def test_catalog_records_map_type_codec_and_indexes(tmp_path):
    with zlmdb.Database(str(tmp_path / "db")) as db:
        alpha = db.attach_table(Alpha)
        by_name = db.attach_table(ByName)
        alpha.attach_index("by_name", by_name, lambda rec: rec["name"], nullable=True)
        with db.begin() as txn:
            catalog = codec.cbor_loads(_native.catalog_read(txn))
    assert catalog[1] == {
        "oid": "2e3b9d0a-54c1-4a6e-8f0e-6a1c0b9d7e11", "map": "MapUuidCbor",
        "key": ["uuid"], "value": "cbor", "compress": None,
        "indexes": [{"name": "by_name", "slot": 2, "unique": True, "nullable": True}]}
    assert catalog[2] == {
        "oid": "2e3b9d0a-54c1-4a6e-8f0e-6a1c0b9d7e13", "map": "MapStringUuid",
        "key": ["string"], "value": "uuid", "compress": "zlib", "indexes": [],
        "index_of": {"slot": 1, "name": "by_name"}}


def test_index_attached_inside_a_write_transaction_is_recorded_later(tmp_path):
    with zlmdb.Database(str(tmp_path / "db")) as db:
        alpha = db.attach_table(Alpha)
        by_name = db.attach_table(ByName)
        with db.begin(write=True):
            alpha.attach_index("by_name", by_name, lambda rec: rec["name"])
        with db.begin() as txn:
            assert codec.cbor_loads(_native.catalog_read(txn))[1]["indexes"] == []
        db.attach_table(Beta)
        with db.begin() as txn:
            catalog = codec.cbor_loads(_native.catalog_read(txn))
    assert [i["name"] for i in catalog[1]["indexes"]] == ["by_name"]
    assert sorted(catalog) == [1, 2, 3]


def test_read_only_database_finds_but_never_registers(tmp_path):
    path = str(tmp_path / "db")
    with zlmdb.Database(path) as db:
        assert db.attach_table(Beta)._slot == 1
    with zlmdb.Database(path, readonly=True) as db:
        assert db.attach_table(Beta)._slot == 1
        with pytest.raises(RuntimeError, match=r'no slot in database for table <.*>: "Alpha"'):
            db.attach_table(Alpha)


def test_slot_count_and_clear_bindings(tmp_path):
    with zlmdb.Database(str(tmp_path / "db")) as db:
        beta = db.attach_table(Beta)
        with db.begin(write=True) as txn:
            for i in range(1, 6):
                beta[txn, i] = i
            assert _native.slot_count(txn, 1) == 5
            assert _native.slot_clear(txn, 1) == 5
            assert _native.slot_count(txn, 1) == 0
            assert _native.slot_count(txn, 0) == 2      # registry + catalog
            with pytest.raises(ValueError, match="out of range"):
                _native.slot_count(txn, 70000)
            with pytest.raises(TypeError, match="Transaction"):
                _native.slot_count(object(), 1)
        with pytest.raises(zlmdb.lmdb.Error):
            _native.slot_count(txn, 1)                       # ended
