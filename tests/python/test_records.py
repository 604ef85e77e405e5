"""Declared records: Map*Cbor/Map*Json(slot, record=User) and @table(oid,
record=User).  Round trips through a database, the bytes against the
marshal path, the errors for bad stored data and bad declarations, the
index on a field name, and reference counts."""
import dataclasses
import datetime
import gc
import sys
import tracemalloc
import typing
import uuid

import pytest

import zlmdb
from zlmdb import codec
from zlmdb._records import record_codec


@dataclasses.dataclass
class Address:
    city: str
    zip: str | None = None


@dataclasses.dataclass
class User:
    oid: int
    name: str
    email: str
    score: float
    active: bool
    tags: list[str]
    attrs: dict[str, int]
    uid: uuid.UUID
    avatar: bytes
    created: datetime.datetime
    born: datetime.date
    home: Address
    nick: str | None = None
    extra: typing.Any = None
    friends: list[int] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(slots=True)
class SlotUser:
    oid: int
    name: str
    email: str
    age: int
    score: float
    active: bool
    tags: list[str]


class PlainSlots:
    __slots__ = ("oid", "name", "email")
    oid: int
    name: str
    email: str | None

    def __init__(self, oid, name, email):
        self.oid, self.name, self.email = oid, name, email

    def __eq__(self, other):
        return (type(other) is PlainSlots and
                (self.oid, self.name, self.email) == (other.oid, other.name, other.email))


@dataclasses.dataclass(frozen=True)
class Frozen:
    oid: int
    values: dict[str, list[float]]


@dataclasses.dataclass
class JsonUser:
    oid: int
    name: str
    score: float
    active: bool
    tags: list[str]
    meta: dict[str, typing.Any]
    home: Address | None = None


def a_user(i=1):
    return User(i, "alice%d" % i, "alice%d@example.com" % i, 1.5 * i, i % 2 == 0, ["a", "é"],
                {"x": i, "y": -2 ** 40}, uuid.UUID(int=i), b"\x00\xff" * i,
                datetime.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=datetime.timezone.utc),
                datetime.date(1990, 5, 17), Address("Berlin", None if i % 2 else "10115"),
                None if i % 3 else "ali", {"k": [1, 2.5, None, "s", b"b"]}, [i, i + 1])


def marshal_dict(obj):
    """What a hand-written ``marshal`` returns: the fields in order,
    nested records as dicts."""
    def conv(v):
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return marshal_dict(v)
        return v
    if dataclasses.is_dataclass(obj):
        return {f.name: conv(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    return {n: conv(getattr(obj, n)) for n in type(obj).__slots__}


@pytest.fixture
def db(tmp_path):
    d = zlmdb.Database(str(tmp_path / "db"), maxsize=64 << 20)
    yield d
    d.close()


# ------------------------------------------------------------ round trips

@pytest.mark.parametrize("cls,value,fmt", [
    (User, a_user(1), "cbor"),
    (User, a_user(2), "cbor"),
    (SlotUser, SlotUser(3, "bob", "b@x", 40, 2.0, True, []), "cbor"),
    (SlotUser, SlotUser(3, "bob", "b@x", 40, 2.0, True, ["x"]), "json"),
    (PlainSlots, PlainSlots(4, "carol", None), "cbor"),
    (PlainSlots, PlainSlots(4, "carol", "c@x"), "json"),
    (Frozen, Frozen(5, {"a": [1.0, float("inf")], "b": []}), "cbor"),
    (JsonUser, JsonUser(6, "dan", 0.1, False, ["t"], {"n": None, "l": [1, {"d": 2}]},
                        Address("Rome")), "json"),
])
def test_records__round_trip_through_a_map(db, cls, value, fmt):
    Map = zlmdb.MapOidCbor if fmt == "cbor" else zlmdb.MapOidJson
    m = Map(1, record=cls)
    with db.begin(write=True) as txn:
        m[txn, 7] = value
    with db.begin() as txn:
        got = m[txn, 7]
        assert type(got) is cls and got == value
        assert list(m.select(txn)) == [(7, value)]
        assert list(m.select(txn, return_keys=False)) == [value]
        raw = txn.get(b"\x00\x01" + (7).to_bytes(8, "big"))
    dumps = codec.cbor_dumps if fmt == "cbor" else codec.json_dumpb
    assert raw == dumps(marshal_dict(value))


def test_records__same_bytes_as_the_marshal_path_and_interchangeable(db):
    u = a_user(3)
    marsh = zlmdb.MapUuidCbor(1, marshal=marshal_dict,
                              unmarshal=lambda d: d)
    decl = zlmdb.MapUuidCbor(2, record=User)
    # the same slot read through both paths
    decl_on_1 = zlmdb.MapUuidCbor(1, record=User)
    marsh_on_2 = zlmdb.MapUuidCbor(2, marshal=marshal_dict, unmarshal=lambda d: d)
    with db.begin(write=True) as txn:
        marsh[txn, u.uid] = u
        decl[txn, u.uid] = u
    with db.begin() as txn:
        assert txn.get(b"\x00\x01" + u.uid.bytes) == txn.get(b"\x00\x02" + u.uid.bytes)
        assert decl_on_1[txn, u.uid] == u            # written by marshal, read declared
        assert marsh_on_2[txn, u.uid] == marshal_dict(u)   # written declared, read parsed


def test_records__json_bytes_equal_json_dumps(db):
    import json
    v = JsonUser(1, "ünï\n\"q\"", -0.0, True, ["\u2028", "\x00"], {"nan": float("nan"),
                                                              "big": 2 ** 70})
    c = record_codec(JsonUser, "json")
    expect = json.dumps(marshal_dict(v), separators=(",", ":"), ensure_ascii=False).encode()
    assert c.encode(v) == expect
    back = c.decode(expect)
    assert back.name == v.name and back.meta["big"] == 2 ** 70 and back.meta["nan"] != 0


def test_records__table_decorator_takes_a_record(tmp_path):
    @zlmdb.table("9b4e2c1a-5f0d-4a53-8c1e-3b7d9f2a6e11", record=SlotUser)
    class Users(zlmdb.MapOidCbor):
        pass

    db = zlmdb.Database(str(tmp_path / "db"), maxsize=32 << 20)
    try:
        users = db.attach_table(Users)
        u = SlotUser(1, "x", "x@y", 1, 1.0, True, [])
        with db.begin(write=True) as txn:
            users[txn, 1] = u
        with db.begin() as txn:
            assert users[txn, 1] == u
    finally:
        db.close()
    with pytest.raises(TypeError, match="not both"):
        zlmdb.table("9b4e2c1a-5f0d-4a53-8c1e-3b7d9f2a6e12", marshal=marshal_dict,
                    parse=dict, record=SlotUser)


def test_records__defaults_fill_missing_fields():
    c = record_codec(User, "cbor")
    d = marshal_dict(a_user(1))
    for name in ("nick", "extra", "friends"):
        del d[name]
    got = c.decode(codec.cbor_dumps(d))
    assert got.nick is None and got.extra is None and got.friends == []
    c2 = record_codec(PlainSlots, "cbor")   # Optional without a default: None
    assert c2.decode(codec.cbor_dumps({"oid": 1, "name": "n"})).email is None


def test_records__decode_does_not_call_init():
    calls = []

    @dataclasses.dataclass
    class Watched:
        a: int

        def __post_init__(self):
            calls.append(self.a)

    c = record_codec(Watched, "cbor")
    data = c.encode(Watched(1))
    assert calls == [1]
    got = c.decode(data)
    assert calls == [1]             # __init__ (and so __post_init__) did not run
    assert got.a == 1


# ------------------------------------------------------ bad stored data

@pytest.mark.parametrize("stored,match", [
    ({"oid": 1, "name": "n", "email": "e", "bogus": 1}, "unknown key 'bogus'"),
    ({"oid": 1, "email": "e"}, "field 'name' is missing"),
    ({"oid": "1", "name": "n", "email": "e"}, "field 'oid' expects int, found a text string"),
    ({"oid": 1, "name": None, "email": "e"}, "field 'name' expects str, found null"),
    ({"oid": 1.5, "name": "n", "email": "e"}, "field 'oid' expects int, found a float"),
    ([1, 2, 3], "expects a map of the record's fields, found an array"),
])
def test_records__bad_stored_values_name_the_field(db, stored, match):
    m = zlmdb.MapOidCbor(1, record=PlainSlots)
    with db.begin(write=True) as txn:
        txn.put(b"\x00\x01" + (1).to_bytes(8, "big"), codec.cbor_dumps(stored))
    with db.begin() as txn:
        with pytest.raises(zlmdb.RecordDecodeError, match=match) as info:
            m[txn, 1]
        assert "MapOidCbor(slot 1) record PlainSlots" in str(info.value)
        with pytest.raises(zlmdb.RecordDecodeError):
            list(m.select(txn))


@pytest.mark.parametrize("data", [b"", b"\xa1", b"\xa1\x63oid", b"\xff", b"\xa0\x00",
                                  b"\xa1\x63oid\x1b", b"\xbf\x63oid\x01"])
def test_records__malformed_cbor_raises_and_builds_nothing(data):
    c = record_codec(PlainSlots, "cbor")
    before = sys.getrefcount(PlainSlots)
    with pytest.raises(zlmdb.RecordDecodeError):
        c.decode(data)
    assert sys.getrefcount(PlainSlots) == before    # no half-built instance kept alive


def test_records__nested_errors_name_the_inner_field():
    c = record_codec(User, "cbor")
    d = marshal_dict(a_user(1))
    d["home"] = {"city": 3}
    with pytest.raises(zlmdb.RecordDecodeError, match="field 'home'.*field 'city' expects str"):
        c.decode(codec.cbor_dumps(d))
    d["home"] = {"city": "x"}
    d["tags"] = ["a", 1]
    with pytest.raises(zlmdb.RecordDecodeError, match="field 'tags' expects str, found an int"):
        c.decode(codec.cbor_dumps(d))
    d["tags"] = []
    d["uid"] = "not a uuid"
    with pytest.raises(zlmdb.RecordDecodeError, match="field 'uid' expects uuid.UUID"):
        c.decode(codec.cbor_dumps(d))
    d["uid"] = uuid.uuid4()
    d["created"] = "2020-01-01"
    with pytest.raises(zlmdb.RecordDecodeError, match="field 'created' expects datetime"):
        c.decode(codec.cbor_dumps(d))


def test_records__json_bad_values():
    c = record_codec(JsonUser, "json")
    good = {"oid": 1, "name": "n", "score": 1, "active": True, "tags": [], "meta": {}}
    assert c.decode(codec.json_dumpb(good)).score == 1
    for key, bad, match in [("oid", 1.5, "expects int, found a float"),
                            ("active", 1, "expects bool, found an integer"),
                            ("tags", {}, "expects list, found an object")]:
        with pytest.raises(zlmdb.RecordDecodeError, match=match):
            c.decode(codec.json_dumpb(dict(good, **{key: bad})))
    with pytest.raises(zlmdb.RecordDecodeError, match="not valid JSON"):
        c.decode(b'{"oid": 1')
    with pytest.raises(zlmdb.RecordDecodeError, match="not valid JSON"):
        c.decode(codec.json_dumpb(good) + b"x")


# ----------------------------------------------------------- bad writes

def test_records__wrong_types_on_put_change_nothing(db):
    m = zlmdb.MapOidCbor(1, record=SlotUser)
    good = SlotUser(1, "n", "e", 1, 1.0, True, [])
    with db.begin(write=True) as txn:
        m[txn, 1] = good
        with pytest.raises(TypeError, match="field 'age' expects int, got str"):
            m[txn, 1] = SlotUser(1, "n", "e", "old", 1.0, True, [])
        with pytest.raises(TypeError, match="field 'tags' expects str, got int"):
            m[txn, 1] = SlotUser(1, "n", "e", 1, 1.0, True, [1])
        with pytest.raises(TypeError, match="expects SlotUser, got dict"):
            m[txn, 1] = {"oid": 1}
        with pytest.raises(TypeError, match="expects bool, got int"):
            m[txn, 1] = SlotUser(1, "n", "e", 1, 1.0, 1, [])
    with db.begin() as txn:
        assert m[txn, 1] == good


def test_records__unset_slot_on_put():
    c = record_codec(PlainSlots, "cbor")
    p = PlainSlots.__new__(PlainSlots)
    p.oid = 1
    with pytest.raises(AttributeError, match="field 'name' is not set"):
        c.encode(p)


def test_records__subclass_instances_are_refused():
    class Admin(PlainSlots):
        __slots__ = ("level",)
    c = record_codec(PlainSlots, "cbor")
    with pytest.raises(TypeError, match="expects PlainSlots, got Admin"):
        c.encode(Admin(1, "a", None))


# ---------------------------------------------------- bad declarations

class NotARecord:
    x: int


@dataclasses.dataclass
class BadAnnotation:
    x: set[int]


@dataclasses.dataclass
class BadUnion:
    x: int | str


@dataclasses.dataclass
class BadDictKey:
    x: dict[int, str]


@dataclasses.dataclass
class HasUuid:
    u: uuid.UUID


@pytest.mark.parametrize("make,match", [
    (lambda: zlmdb.MapOidCbor(1, record=NotARecord), "dataclass or a class with __slots__"),
    (lambda: zlmdb.MapOidCbor(1, record=BadAnnotation), "field 'x': unsupported annotation"),
    (lambda: zlmdb.MapOidCbor(1, record=BadUnion), "only X | None unions"),
    (lambda: zlmdb.MapOidCbor(1, record=BadDictKey), "dict keys must be str"),
    (lambda: zlmdb.MapOidJson(1, record=HasUuid), "JSON has no form for uuid.UUID"),
    (lambda: zlmdb.MapOidCbor(1, record=SlotUser, marshal=marshal_dict, unmarshal=dict),
     "record= or marshal=/unmarshal=, not both"),
    (lambda: zlmdb.MapOidCbor(1, record=42), "takes a class"),
    (lambda: zlmdb.MapOidPickle(1, record=SlotUser), "unexpected keyword argument 'record'"),
])
def test_records__bad_declarations_fail_at_construction(make, match):
    with pytest.raises(TypeError, match=match):
        make()


def test_records__builtin_subclass_is_refused():
    class D(dict):
        __slots__ = ()
        x: int
    with pytest.raises(TypeError):
        record_codec(D, "cbor")


# ------------------------------------------------------------- indexes

def test_records__index_on_a_field_name_equals_the_lambda_index(db):
    m1 = zlmdb.MapOidCbor(1, record=SlotUser)
    i1 = zlmdb.MapStringOid(2)
    m1.attach_index("by_email", i1, "email")
    m2 = zlmdb.MapOidCbor(3, marshal=marshal_dict,
                          unmarshal=lambda d: SlotUser(**d))
    i2 = zlmdb.MapStringOid(4)
    m2.attach_index("by_email", i2, lambda u: u.email)
    users = [SlotUser(i, "n%d" % i, "u%d@x" % i, i, 0.5, True, []) for i in range(50)]
    with db.begin(write=True) as txn:
        for u in users:
            m1[txn, u.oid] = u
            m2[txn, u.oid] = u
        # an update moves the index entry; a delete removes it
        moved = SlotUser(3, "n3", "moved@x", 3, 0.5, True, [])
        m1[txn, 3] = moved
        m2[txn, 3] = moved
        del m1[txn, 4]
        del m2[txn, 4]
    with db.begin() as txn:
        assert i1[txn, "moved@x"] == 3 and i1[txn, "u3@x"] is None and i1[txn, "u4@x"] is None
        a = [(k[2:], v) for k, v in txn.cursor() if k[:2] == b"\x00\x02"]
        b = [(k[2:], v) for k, v in txn.cursor() if k[:2] == b"\x00\x04"]
        assert a == b and len(a) == 49
    with db.begin(write=True) as txn:
        assert m1.rebuild_index(txn, "by_email") == (49, 49)


def test_records__index_field_must_exist():
    m = zlmdb.MapOidCbor(1, record=SlotUser)
    with pytest.raises(ValueError, match="no field 'mail'"):
        m.attach_index("by_mail", zlmdb.MapStringOid(2), "mail")


def test_records__index_on_a_dict_key_of_a_marshal_map(db):
    m = zlmdb.MapOidCbor(1, marshal=lambda d: d, unmarshal=lambda d: d)
    idx = zlmdb.MapStringOid(2)
    m.attach_index("by_email", idx, "email", nullable=True)
    with db.begin(write=True) as txn:
        m[txn, 1] = {"email": "a@x"}
        m[txn, 2] = {"name": "no email"}
    with db.begin() as txn:
        assert idx[txn, "a@x"] == 1 and idx.count(txn) == 1


# ------------------------------------------------------- memory, refs

def test_records__gets_do_not_leak(db):
    m = zlmdb.MapOidCbor(1, record=User)
    with db.begin(write=True) as txn:
        for i in range(20):
            m[txn, i] = a_user(i + 1)
    with db.begin() as txn:
        for _ in range(3):
            [m[txn, i] for i in range(20)]
        gc.collect()
        refs = sys.getrefcount(User), sys.getrefcount(Address)
        tracemalloc.start()
        for _ in range(200):
            for i in range(20):
                m[txn, i]
            list(m.select(txn))
        gc.collect()
        snap1 = tracemalloc.take_snapshot()
        for _ in range(500):
            for i in range(20):
                m[txn, i]
            list(m.select(txn))
        gc.collect()
        snap2 = tracemalloc.take_snapshot()
        tracemalloc.stop()
        assert (sys.getrefcount(User), sys.getrefcount(Address)) == refs
    grown = sum(s.size_diff for s in snap2.compare_to(snap1, "filename"))
    assert grown < 64 * 1024, grown


def test_records__codec_is_collected_with_its_map():
    def codecs():
        gc.collect()
        return sum(1 for o in gc.get_objects() if type(o) is zlmdb._native.RecordCodec)
    before = codecs()
    maps = [zlmdb.MapOidCbor(1, record=User) for _ in range(5)]   # User nests Address
    assert codecs() == before + 10
    del maps
    assert codecs() == before


def test_records__composite_index_on_field_names(db):
    m = zlmdb.MapOidCbor(1, record=SlotUser)
    idx = zlmdb.MapStringOidOid(2)    # (name, oid) -> oid: non-unique names
    m.attach_index("by_name", idx, ("name", "oid"), unique=False)
    with pytest.raises(ValueError, match="no field 'nope'"):
        m.attach_index("bad", zlmdb.MapStringOidOid(3), ("name", "nope"))
    with db.begin(write=True) as txn:
        for i in range(5):
            m[txn, i] = SlotUser(i, "same" if i < 3 else "other", "e", i, 0.0, True, [])
    with db.begin() as txn:
        assert list(idx.select(txn, from_key=("same", 0), to_key=("same", 99),
                               return_keys=False)) == [0, 1, 2]


def test_records__datetime_tags():
    @dataclasses.dataclass
    class T:
        when: datetime.datetime
    c = record_codec(T, "cbor")
    aware = datetime.datetime(2021, 3, 4, 5, 6, 7, 890, tzinfo=datetime.timezone(
        datetime.timedelta(hours=5, minutes=30)))
    assert c.decode(c.encode(T(aware))).when == aware
    # tag 1 (epoch seconds) is read as cbor_loads reads it
    assert c.decode(b"\xa1\x64when\xc1\x1a\x5f\x5e\x10\x00").when == \
        codec.cbor_loads(b"\xc1\x1a\x5f\x5e\x10\x00")
    with pytest.raises(zlmdb.RecordDecodeError, match="field 'when' expects datetime"):
        c.decode(b"\xa1\x64when\xc0\x63abc")          # tag 0 over "abc"
    with pytest.raises(zlmdb.RecordDecodeError, match="field 'when' expects datetime"):
        c.decode(b"\xa1\x64when\xc0\x01")             # tag 0 over an int
    naive = codec.cbor_dumps({"when": "x"}).replace(b"\x61x", b"\xc0\x732021-03-04T05:06:07")
    with pytest.raises(zlmdb.RecordDecodeError, match="UTC offset"):
        c.decode(naive)


# ----------------------------------------- values decoded in LMDB's memory

_writes = {}


def _factory_that_writes():
    """A default_factory that writes to the map while a record is decoded:
    the map must not decode that record in place (its bytes may move)."""
    m, txn = _writes["map"], _writes["txn"]
    del m[txn, 1]                 # the record being decoded: its page changes
    for i in range(2, 40):
        m[txn, i] = Outer(Late(-i, []), chr(0x41 + i % 26) * (600 + i))
    _writes["calls"] = _writes.get("calls", 0) + 1
    return [7]


@dataclasses.dataclass
class Late:
    a: int
    b: list[int] = dataclasses.field(default_factory=_factory_that_writes)


@dataclasses.dataclass
class Outer:
    inner: Late
    tail: str


def test_records__a_factory_that_writes_mid_decode_reads_a_copy(db):
    m = zlmdb.MapOidCbor(1, record=Outer)
    with db.begin(write=True) as txn:
        # stored without "b": decoding calls the factory inside the inner
        # record, before "tail" is read
        for i in range(2, 40):
            m[txn, i] = Outer(Late(i, [i]), "y" * 50)
        txn.put(b"\x00\x01" + (1).to_bytes(8, "big"),
                codec.cbor_dumps({"inner": {"a": 5}, "tail": "t" * 500}))
        _writes.update(map=m, txn=txn)
        try:
            got = m[txn, 1]
        finally:
            _writes.clear()
        assert got == Outer(Late(5, [7]), "t" * 500)
        assert m[txn, 1] is None and m[txn, 2] == Outer(Late(-2, []), "C" * 602)


@pytest.mark.parametrize("fmt", ["cbor", "json"])
def test_records__in_place_and_copied_reads_agree(db, fmt, tmp_path):
    """Records with only built-in factories are read in place; with buffers=True
    and in plain transactions, gets and scans give the same records."""
    cls = User if fmt == "cbor" else JsonUser
    m = zlmdb.MapOidCbor(1, record=cls) if fmt == "cbor" else zlmdb.MapOidJson(1, record=cls)
    values = [a_user(i) if fmt == "cbor" else
              JsonUser(i, "n%d" % i, i / 3, i % 2 == 0, ["t"] * i, {"k": [i]}, Address("R"))
              for i in range(1, 30)]
    with db.begin(write=True) as txn:
        for v in values:
            m[txn, v.oid] = v
    for buffers in (False, True):
        with db.begin(buffers=buffers) as txn:
            assert [m[txn, v.oid] for v in values] == values
            assert list(m.select(txn, return_keys=False)) == values
