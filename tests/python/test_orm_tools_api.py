"""The public codec and index API of the maps, and the Database arguments,
that tools such as the ``zlmdb`` command use instead of private attributes."""
import inspect
import pathlib
import re
import struct
import uuid

import pytest

import zlmdb

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_a_map_encodes_and_decodes_as_it_stores(tmp_path):
    db = zlmdb.Database(str(tmp_path / "db"))
    m = zlmdb.MapUuidTimestampCbor(7, compress=zlmdb.MapOidCbor.COMPRESS_ZLIB)
    key = (uuid.UUID(int=5), 1700000000000000000)
    with db.begin(write=True) as txn:
        m[txn, key] = {"a": 1}
    assert m.slot == 7 and m.compress == zlmdb.MapOidCbor.COMPRESS_ZLIB
    assert m.physical_key(key) == struct.pack(">H", 7) + m.encode_key(key)
    k, ts = m.decode_key(m.encode_key(key))
    assert k == key[0] and int(getattr(ts, "astype", lambda _t: ts)("int64")) == key[1]
    with db.begin() as txn:
        stored = txn.get(m.physical_key(key))
        assert stored == m.encode_value({"a": 1})
        assert m.decode_value(stored) == {"a": 1}
    assert m.decode_value(b"") is None
    db.close()


def test_index_specs_list_the_attached_indexes():
    users, by_name, by_mail = zlmdb.MapOidCbor(1), zlmdb.MapStringOid(2), zlmdb.MapStringOid(3)
    users.attach_index("by_name", by_name, lambda u: u["name"], nullable=True)
    users.attach_index("by_mail", by_mail, lambda u: u["mail"], unique=False)
    specs = users.index_specs()
    assert [s.name for s in specs] == ["by_mail", "by_name"]
    assert specs[1] == zlmdb.IndexSpec("by_name", 2, by_name, specs[1].fkey, True, True)
    assert (specs[0].slot, specs[0].pmap, specs[0].nullable, specs[0].unique) == \
        (3, by_mail, False, False)
    assert zlmdb.MapOidCbor(4).index_specs() == []


def test_max_dbs_opens_named_databases_beside_the_tables(tmp_path):
    db = zlmdb.Database(str(tmp_path / "db"), max_dbs=2)
    db.env.open_db(b"side")                 # refused with max_dbs=0
    db.close()
    db = zlmdb.Database(str(tmp_path / "db"))
    with pytest.raises(zlmdb.lmdb.DbsFullError):
        db.env.open_db(b"other")
    db.close()
    with pytest.raises(ValueError, match="max_dbs"):
        zlmdb.Database(str(tmp_path / "x"), max_dbs=-1)


def test_count_keys_counts_a_raw_prefix(tmp_path):
    db = zlmdb.Database(str(tmp_path / "db"))
    a, b = zlmdb.MapOidOid(1), zlmdb.MapOidOid(2)
    with db.begin(write=True) as txn:
        for i in range(5):
            a[txn, i] = i
        for i in range(3):
            b[txn, i] = i
    with db.begin() as txn:
        assert zlmdb.Database.count_keys(txn, struct.pack(">H", 1)) == 5
        assert db.count_keys(txn, struct.pack(">H", 2)) == 3
        assert db.count_keys(txn, a.physical_key(4)) == 1
        assert db.count_keys(txn, b"\x00") == 8
        with pytest.raises(ValueError, match="at least one byte"):
            db.count_keys(txn, b"")
    db.close()


def test_the_command_uses_no_private_attribute_of_another_object():
    found = []
    for path in sorted((ROOT / "python" / "zlmdb").glob("_cli*.py")) + \
            [ROOT / "python" / "zlmdb" / "cli.py"]:
        for n, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#")[0]
            code = re.sub(r"(\"[^\"]*\"|'[^']*')", "", code)     # strings
            for m in re.finditer(r"(\w+)\._[a-z]\w*", code):
                if m.group(1) not in ("self", "zlmdb"):
                    found.append("%s:%d: %s" % (path.name, n, line.strip()))
    assert found == []


# -- docstrings ---------------------------------------------------------------


def _params(func):
    return [p for p in inspect.signature(func).parameters if p != "self"]


def test_database_doc_explains_every_argument():
    doc = zlmdb.Database.__doc__
    for name in _params(zlmdb.Database.__init__):
        assert "``%s``" % name in doc, name


def test_begin_doc_says_what_it_returns_and_how_to_use_it():
    doc = zlmdb.Database.begin.__doc__
    for name in _params(zlmdb.Database.begin):
        assert "``%s``" % name in doc, name
    assert "Transaction" in doc and "with db.begin(write=True) as txn:" in doc


def test_map_classes_document_marshal_and_unmarshal_with_an_example():
    for name in ("MapOidCbor", "MapStringJson", "MapUuidUuidCbor"):
        klass = getattr(zlmdb, name)
        doc = klass.__doc__
        for param in _params(klass.__init__):
            assert "``%s``" % param in doc, (name, param)
        assert "optional" in doc and "plain" in doc and ">>>" not in doc
        assert "%s(" % name in doc                       # the example
    doc = zlmdb.MapOidFlatBuffers.__doc__
    for param in _params(zlmdb.MapOidFlatBuffers.__init__):
        assert "``%s``" % param in doc
    doc = zlmdb.MapStringString.__doc__
    for param in _params(zlmdb.MapStringString.__init__):
        assert "``%s``" % param in doc


def test_len_doc_is_a_sentence():
    doc = zlmdb.PersistentMap.__len__.__doc__
    assert doc and doc[0].isupper() and doc.rstrip().endswith(".") and "count(txn)" in doc
