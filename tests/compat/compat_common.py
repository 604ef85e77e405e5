"""Shared, implementation-neutral helpers for the zlmdb compatibility fixtures.

This module imports **neither** upstream zlmdb nor ours: only the standard
library and numpy.  It is imported by

* ``upstream_writer.py`` / ``upstream_reader.py`` (run in the upstream venv),
* ``test_upstream_fixtures.py`` (run in the project venv), and
* later, our ORM's own compat tests (writer/reader on our side).

It holds:

* ``LAYOUTS``: the 83 ``Map*`` classes in the order of the spec table
  (``shared/spec/zlmdb-orm.md`` §2.7) with their key components and value
  kind, and the fixture slot of each (``MAP_SLOT_BASE + table number``);
* deterministic record generation (``make_key`` / ``make_value``);
* the canonical JSON form used in manifests and reader output
  (``canon`` / ``decanon``);
* an independent pure-Python encoder of upstream's on-disk key/value bytes
  (``encode_key`` / ``encode_value``) checked against upstream's dump;
* the FlatBuffers ``Item`` table layout (builder via any ``flatbuffers``
  module exposing ``Builder``; parser in pure Python);
* ``KNOWN_BROKEN`` plus ``expected_upstream_read``: what upstream's reader
  returns for a record, including its documented bugs.
"""

from __future__ import annotations

import hashlib
import struct
import uuid

import numpy as np

MANIFEST_FORMAT = 1

#: Fixture slots of the 83 Map* classes: 100 + number in the spec table, so
#: 101..183.  Slots 1..N are left for tables registered with
#: ``@zlmdb.table`` + ``attach_table`` (upstream allocates those as
#: max(registered)+1 starting at 1 and knows nothing of unregistered slots, so
#: registered and hand-numbered slots must not share a range).
MAP_SLOT_BASE = 100
RECORDS_PER_MAP = 3

#: The LMDB formats the fixtures are written in, as (the ``lib_version``
#: the writer passes, the format that must result): upstream's default
#: (nothing passed; 26.10.1 creates LMDB 1.0 files) and an explicit 0.9.
WRITE_FORMATS = [(None, "1.0"), ("0.9", "0.9")]
WRITE_FORMAT_IDS = ["default-1.0", "0.9"]
#: LMDB's data format version in the meta page, by format
DATA_VERSION = {"0.9": 1, "1.0": 3}
#: the ``lib_version=`` of the low-level ``lmdb.open()`` that gives a format
FORMAT_MAJOR = {"0.9": 0, "1.0": 1}
LMDB_MAGIC = 0xBEEFC0DE


def lmdb_data_version(data_path) -> int | None:
    """The data format version in a data.mdb's first meta page (1: LMDB
    0.9, 3: LMDB 1.0), read from the bytes: it follows the magic, which
    sits at offset 16 (0.9) or 24 (1.0) on 64-bit."""
    with open(data_path, "rb") as f:
        head = f.read(64)
    for off in range(0, len(head) - 7, 4):
        if struct.unpack("<I", head[off:off + 4])[0] == LMDB_MAGIC:
            return struct.unpack("<I", head[off + 4:off + 8])[0]
    return None

# Key component kinds:
#   u16be   struct '>H'                  u16ne  struct 'H' (native, LE on x86)
#   uuid    UUID.bytes (16)             u64/oid struct '>Q'
#   u8      struct 'B'                   str    utf-8, no terminator
#   ts      datetime64[ns], int64 big-endian two's complement
#   tsne    datetime64[ns], native-endian int64 (OidTimestamp* mixins)
#   b16/b20/b32 raw fixed-size bytes
# Value kinds: uuid str oid b16 b20 b32 ts b20ts cbor json pickle fb uuidset oidset
LAYOUTS = [
    ("MapSlotUuidUuid", ("u16be", "uuid"), "uuid"),
    ("MapUuidString", ("uuid",), "str"),
    ("MapUuidOid", ("uuid",), "oid"),
    ("MapUuidUuid", ("uuid",), "uuid"),
    ("MapUuidUuidCbor", ("uuid", "uuid"), "cbor"),
    ("MapUuidTimestampBytes32", ("uuid", "ts"), "b32"),
    ("MapUint64TimestampUuid", ("u64", "ts"), "uuid"),
    ("MapUuidUuidUuid", ("uuid", "uuid"), "uuid"),
    ("MapUuidTimestampUuid", ("uuid", "ts"), "uuid"),
    ("MapUuidStringUuid", ("uuid", "str"), "uuid"),
    ("MapUuidUuidStringUuid", ("uuid", "uuid", "str"), "uuid"),
    ("MapUuidUuidUuidStringUuid", ("uuid", "uuid", "uuid", "str"), "uuid"),
    ("MapUuidUuidUuidUuid", ("uuid", "uuid", "uuid"), "uuid"),
    ("MapUuidUuidUuidUuidUuid", ("uuid", "uuid", "uuid", "uuid"), "uuid"),
    ("MapUuidStringOid", ("uuid", "str"), "oid"),
    ("MapUuidUuidSet", ("uuid",), "uuidset"),
    ("MapUuidJson", ("uuid",), "json"),
    ("MapUuidCbor", ("uuid",), "cbor"),
    ("MapUuidPickle", ("uuid",), "pickle"),
    ("MapUuidFlatBuffers", ("uuid",), "fb"),
    ("MapUuidTimestampFlatBuffers", ("uuid", "ts"), "fb"),
    ("MapTimestampFlatBuffers", ("ts",), "fb"),
    ("MapTimestampUuidFlatBuffers", ("ts", "uuid"), "fb"),
    ("MapUuidTimestampUuidFlatBuffers", ("uuid", "ts", "uuid"), "fb"),
    ("MapUint16UuidTimestampFlatBuffers", ("u16ne", "uuid", "ts"), "fb"),
    ("MapUuidBytes20Uint8FlatBuffers", ("uuid", "b20", "u8"), "fb"),
    ("MapUuidBytes20Uint8UuidFlatBuffers", ("uuid", "b20", "u8", "uuid"), "fb"),
    ("MapUuidBytes20Bytes20Uint8UuidFlatBuffers", ("uuid", "b20", "b20", "u8", "uuid"), "fb"),
    ("MapTimestampUuidStringFlatBuffers", ("ts", "uuid", "str"), "fb"),
    ("MapTimestampBytes32FlatBuffers", ("ts", "b32"), "fb"),
    ("MapTimestampStringFlatBuffers", ("ts", "str"), "fb"),
    ("MapUuidTimestampCbor", ("uuid", "ts"), "cbor"),
    ("MapTimestampUuidCbor", ("ts", "uuid"), "cbor"),
    ("MapStringTimestampCbor", ("str", "ts"), "cbor"),
    ("MapTimestampStringCbor", ("ts", "str"), "cbor"),
    ("MapStringString", ("str",), "str"),
    ("MapStringOid", ("str",), "oid"),
    ("MapStringOidOid", ("str", "oid"), "oid"),
    ("MapStringUuid", ("str",), "uuid"),
    ("MapStringStringUuid", ("str", "str"), "uuid"),
    ("MapStringStringStringUuid", ("str", "str", "str"), "uuid"),
    ("MapStringJson", ("str",), "json"),
    ("MapStringCbor", ("str",), "cbor"),
    ("MapStringPickle", ("str",), "pickle"),
    ("MapStringFlatBuffers", ("str",), "fb"),
    ("MapOidString", ("oid",), "str"),
    ("MapOidOid", ("oid",), "oid"),
    ("MapOidUuid", ("oid",), "uuid"),
    ("MapOidJson", ("oid",), "json"),
    ("MapOidCbor", ("oid",), "cbor"),
    ("MapOidPickle", ("oid",), "pickle"),
    ("MapOidFlatBuffers", ("oid",), "fb"),
    ("MapOidOidFlatBuffers", ("oid", "oid"), "fb"),
    ("MapOid3FlatBuffers", ("oid", "oid", "oid"), "fb"),
    ("MapOidOidSet", ("oid",), "oidset"),
    ("MapOidStringOid", ("oid", "str"), "oid"),
    ("MapOidOidOid", ("oid", "oid"), "oid"),
    ("MapOidTimestampOid", ("oid", "tsne"), "oid"),
    ("MapOidTimestampFlatBuffers", ("oid", "tsne"), "fb"),
    ("MapOidTimestampStringOid", ("oid", "tsne", "str"), "oid"),
    ("MapBytes32Uuid", ("b32",), "uuid"),
    ("MapBytes32Timestamp", ("b32",), "ts"),
    ("MapBytes32Bytes32", ("b32",), "b32"),
    ("MapBytes32FlatBuffers", ("b32",), "fb"),
    ("MapBytes32UuidFlatBuffers", ("b32", "uuid"), "fb"),
    ("MapUuidBytes32FlatBuffers", ("uuid", "b32"), "fb"),
    ("MapUuidUuidStringFlatBuffers", ("uuid", "uuid", "str"), "fb"),
    ("MapUuidUuidFlatBuffers", ("uuid", "uuid"), "fb"),
    ("MapUuidStringFlatBuffers", ("uuid", "str"), "fb"),
    ("MapBytes32Bytes32FlatBuffers", ("b32", "b32"), "fb"),
    ("MapBytes32StringFlatBuffers", ("b32", "str"), "fb"),
    ("MapBytes20Bytes20", ("b20",), "b20"),
    ("MapBytes20Bytes20Timestamp", ("b20",), "b20ts"),
    ("MapBytes20TimestampBytes20", ("b20", "ts"), "b20"),
    ("MapBytes20TimestampUuid", ("b20", "ts"), "uuid"),
    ("MapBytes20Uuid", ("b20",), "uuid"),
    ("MapBytes20Bytes16", ("b20",), "b16"),
    ("MapBytes20FlatBuffers", ("b20",), "fb"),
    ("MapBytes16FlatBuffers", ("b16",), "fb"),
    ("MapBytes16TimestampUuid", ("b16", "ts"), "uuid"),
    ("MapBytes16TimestampUuidFlatBuffers", ("b16", "ts", "uuid"), "fb"),
    ("MapBytes20Bytes20FlatBuffers", ("b20", "b20"), "fb"),
    ("MapBytes20StringFlatBuffers", ("b20", "str"), "fb"),
]
assert len(LAYOUTS) == 83 and len({c for c, _, _ in LAYOUTS}) == 83
LAYOUT_BY_CLASS = {c: (k, v) for c, k, v in LAYOUTS}


def map_slot(class_name: str) -> int:
    return MAP_SLOT_BASE + 1 + [c for c, _, _ in LAYOUTS].index(class_name)


def codec_of(value_kind: str) -> str:
    if value_kind in ("cbor", "json", "pickle"):
        return value_kind
    if value_kind == "fb":
        return "flatbuffers"
    if value_kind in ("uuidset", "oidset"):
        return "set"
    return "plain"


# ---------------------------------------------------------------------------
# Known upstream 26.10.1 bugs (spec §3).  status:
#   "write_broken"  - a put raises; nothing is stored upstream
#   "read_broken"   - stored bytes are right, upstream decodes them wrongly
#   "select_broken" - get/count work, select() raises (key decoder broken)
#   "read_quirk"    - upstream decodes keys in a documented odd shape
KNOWN_BROKEN = {
    "MapUuidUuidSet": ("read_broken",
                       "_UuidSetValuesMixin decodes with range(0, cnt, 16): only "
                       "the element(s) at byte offsets < cnt come back"),
    "MapOidOidSet": ("read_broken",
                     "_OidSetValuesMixin decodes with range(0, cnt, 8): only "
                     "the element(s) at byte offsets < cnt come back"),
    "MapUuidBytes32FlatBuffers": ("write_broken",
                                  "_UuidBytes32KeysMixin._serialize_key does "
                                  "key2.bytes + key1 -> AttributeError"),
    "MapOidTimestampOid": ("select_broken",
                           "ts stored native-endian; key decoder uses struct "
                           "format '>Q>Q' -> struct.error in select()"),
    "MapOidTimestampFlatBuffers": ("select_broken", "as MapOidTimestampOid"),
    "MapOidTimestampStringOid": ("select_broken", "as MapOidTimestampOid"),
    # not in the spec (found by these fixtures, 26.10.1): the key decoder
    # asserts len(data) == 32 for a 40-byte (UUID, ts, UUID) key, and would
    # slice the second UUID as data[24:32] even without the assert.
    "MapUuidTimestampUuidFlatBuffers": ("select_broken",
                                        "_UuidTimestampUuidKeysMixin._deserialize_key "
                                        "asserts len == 32 (key is 40 bytes) -> "
                                        "AssertionError in select()"),
    "MapStringOidOid": ("read_quirk",
                        "_StringOidKeysMixin decodes the string as data[0:8] "
                        "(truncated to 8 bytes)"),
    "MapStringStringUuid": ("read_quirk", "NUL-separated strings decode to bytes"),
    "MapStringStringStringUuid": ("read_quirk", "NUL-separated strings decode to bytes"),
    "MapUint16UuidTimestampFlatBuffers": ("read_quirk",
                                          "u16 stored native-endian ('H'); "
                                          "decodes as a 1-tuple (n,)"),
    "MapUuidBytes20Uint8FlatBuffers": ("read_quirk", "u8 decodes as a 1-tuple (n,)"),
    "MapUuidBytes20Uint8UuidFlatBuffers": ("read_quirk", "u8 decodes as a 1-tuple (n,)"),
    "MapUuidBytes20Bytes20Uint8UuidFlatBuffers": ("read_quirk",
                                                  "u8 decodes as a 1-tuple (n,)"),
}


#: Exception class name upstream raises in select() for "select_broken" maps
#: (struct.error's class is literally named "error").
SELECT_ERROR = {
    "MapOidTimestampOid": "error",
    "MapOidTimestampFlatBuffers": "error",
    "MapOidTimestampStringOid": "error",
    "MapUuidTimestampUuidFlatBuffers": "AssertionError",
}


# ---------------------------------------------------------------------------
# Deterministic data

TS_BASE_NS = 1_700_000_000_000_000_000  # 2023-11-14T22:13:20Z, >= 1970 as required


def _h(*parts) -> bytes:
    return hashlib.sha256("/".join(str(p) for p in parts).encode()).digest()


def make_component(kind: str, slot: int, i: int, c: int):
    """Component ``c`` of record ``i``'s key in ``slot``."""
    if kind == "uuid":
        return uuid.UUID(bytes=_h("uuid", slot, i, c)[:16])
    if kind in ("ts", "tsne"):
        return np.datetime64(TS_BASE_NS + slot * 1_000_000_000 + i * 1_000_003 + c, "ns")
    if kind in ("u64", "oid"):
        return slot * 1000 + (RECORDS_PER_MAP - i) * 10 + c  # not insertion-ordered
    if kind == "u16be":
        return slot * 10 + i
    if kind == "u16ne":
        return (1, 256, 2, 513)[i]  # LE order differs from numeric order
    if kind == "u8":
        return (7, 200, 1, 99)[i]
    if kind == "str":
        return "k%03d-%d-%d-\u00fc\u00df" % (slot, i, c)  # non-ASCII, >= 8 bytes
    if kind in ("b16", "b20", "b32"):
        return _h(kind, slot, i, c)[: int(kind[1:])]
    raise ValueError(kind)


def make_key(key_kinds, slot: int, i: int):
    parts = tuple(make_component(k, slot, i, c) for c, k in enumerate(key_kinds))
    return parts[0] if len(parts) == 1 else parts


def make_fb_item(slot: int, i: int) -> dict:
    return {"oid": slot * 1000 + i, "name": "item-%d-%d-\u00e9" % (slot, i), "score": -7 * i - 1}


def make_doc(slot: int, i: int) -> dict:
    """Marshalled form of a CBOR/JSON record (what ``marshal`` returns)."""
    return {
        "oid": slot * 1000 + i,
        "name": "rec-%d-%d-\u00e4\u00f6\u20ac" % (slot, i),
        "tags": ["a", "b%d" % i],
        "ratio": 0.5 + i,
        "active": bool(i % 2),
        "parent": None,
        "nested": {"depth": i, "list": [1, 2, i]},
    }


def make_pickle_obj(slot: int, i: int):
    return {
        "oid": slot * 1000 + i,
        "name": "pkl-%d-%d" % (slot, i),
        "pair": (i, "two"),
        "blob": bytes([i, 0, 255]),
        "floats": [1.5, -0.25],
        "none": None,
    }


def make_value(value_kind: str, slot: int, i: int):
    if value_kind == "uuid":
        return uuid.UUID(bytes=_h("vuuid", slot, i)[:16])
    if value_kind == "str":
        return "value-%d-%d-\u00e5" % (slot, i)
    if value_kind == "oid":
        return slot * 100000 + i
    if value_kind in ("b16", "b20", "b32"):
        return _h("v" + value_kind, slot, i)[: int(value_kind[1:])]
    if value_kind == "ts":
        return np.datetime64(TS_BASE_NS + 77 * slot + i, "ns")
    if value_kind == "b20ts":
        return (_h("vb20ts", slot, i)[:20], np.datetime64(TS_BASE_NS + 99 * slot + i, "ns"))
    if value_kind in ("cbor", "json"):
        return make_doc(slot, i)
    if value_kind == "pickle":
        return make_pickle_obj(slot, i)
    if value_kind == "fb":
        return make_fb_item(slot, i)
    if value_kind == "uuidset":
        return {uuid.UUID(bytes=_h("vset", slot, i, n)[:16]) for n in range(5)}
    if value_kind == "oidset":
        return {slot * 100 + i * 10 + n for n in range(5)}
    raise ValueError(value_kind)


# ---------------------------------------------------------------------------
# Canonical JSON forms

def canon(obj):
    """Canonical JSON-able form: UUID->{"uuid"}, bytes->{"hex"},
    datetime64->{"ns"} (int nanoseconds), tuple->list, set->{"set": sorted}."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj)
    if isinstance(obj, uuid.UUID):
        return {"uuid": str(obj)}
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return {"hex": bytes(obj).hex()}
    if isinstance(obj, np.datetime64):
        return {"ns": int(obj.astype("datetime64[ns]").astype(np.int64))}
    if isinstance(obj, (list, tuple)):
        return [canon(x) for x in obj]
    if isinstance(obj, (set, frozenset)):
        items = [canon(x) for x in obj]
        return {"set": sorted(items, key=lambda x: repr(x))}
    if isinstance(obj, dict):
        return {str(k): canon(v) for k, v in obj.items()}
    raise TypeError("cannot canonicalize %r" % type(obj))


def decanon(obj, top_tuple: bool = False):
    """Inverse of canon (lists stay lists unless ``top_tuple`` for keys)."""
    if isinstance(obj, dict):
        if set(obj) == {"uuid"}:
            return uuid.UUID(obj["uuid"])
        if set(obj) == {"hex"}:
            return bytes.fromhex(obj["hex"])
        if set(obj) == {"ns"}:
            return np.datetime64(obj["ns"], "ns")
        if set(obj) == {"set"}:
            return {decanon(x) for x in obj["set"]}
        return {k: decanon(v) for k, v in obj.items()}
    if isinstance(obj, list):
        items = [decanon(x) for x in obj]
        return tuple(items) if top_tuple else items
    return obj


def decanon_key(obj):
    return decanon(obj, top_tuple=True)


# ---------------------------------------------------------------------------
# Independent encoder of upstream's bytes (spec §3), used to check the dump

def _ts_ns(v) -> int:
    return int(np.datetime64(v, "ns").astype(np.int64))


def encode_component(kind: str, v) -> bytes:
    if kind == "uuid":
        return v.bytes
    if kind == "ts":
        return struct.pack(">q", _ts_ns(v))
    if kind == "tsne":
        return struct.pack("=q", _ts_ns(v))
    if kind in ("u64", "oid"):
        return struct.pack(">Q", v)
    if kind == "u16be":
        return struct.pack(">H", v)
    if kind == "u16ne":
        return struct.pack("=H", v)
    if kind == "u8":
        return struct.pack("B", v)
    if kind == "str":
        return v.encode("utf8")
    if kind in ("b16", "b20", "b32"):
        assert len(v) == int(kind[1:])
        return bytes(v)
    raise ValueError(kind)


def encode_key(key_kinds, key) -> bytes:
    parts = key if len(key_kinds) > 1 else (key,)
    if key_kinds in (("str", "str"), ("str", "str", "str")):
        return b"\x00".join(p.encode("utf8") for p in parts)
    return b"".join(encode_component(k, p) for k, p in zip(key_kinds, parts))


def physical_key(slot: int, key_kinds, key) -> bytes:
    return struct.pack(">H", slot) + encode_key(key_kinds, key)


def encode_value(value_kind: str, value):
    """Bytes for plain value kinds; None for codec-defined kinds
    (cbor/json/pickle/fb/sets), which the tests compare decoded instead."""
    if value_kind == "uuid":
        return value.bytes
    if value_kind == "str":
        return value.encode("utf8")
    if value_kind == "oid":
        return struct.pack(">Q", value)
    if value_kind in ("b16", "b20", "b32"):
        return bytes(value)
    if value_kind == "ts":
        return struct.pack(">q", _ts_ns(value))
    if value_kind == "b20ts":
        return value[0] + struct.pack(">q", _ts_ns(value[1]))
    return None


# ---------------------------------------------------------------------------
# FlatBuffers "Item" table used by every *FlatBuffers map in the fixtures.
#
#   table Item {            // no file_identifier, root table
#     oid:   ulong;   // field 0, vtable slot 0, default 0
#     name:  string;  // field 1, vtable slot 1
#     score: int;     // field 2, vtable slot 2, default 0
#   }
#
# Built with the FlatBuffers Python Builder as upstream does it:
# ``builder = Builder(0); off = build(value, builder); builder.Finish(off);
# bytes(builder.Output())`` -- so the stored bytes are exactly what the
# FlatBuffers runtime's Builder emits for the calls in ``fb_item_build``
# (CreateString(name); StartObject(3); PrependUint64Slot(0, oid, 0);
# PrependUOffsetTRelativeSlot(1, name, 0); PrependInt32Slot(2, score, 0);
# EndObject()).  Default-valued scalars are omitted by the Builder.

FB_ITEM_SCHEMA = "table Item { oid: ulong; name: string; score: int; } root_type Item;"


def fb_item_build(obj: dict, builder) -> int:
    """``build`` callback: (value dict, flatbuffers.Builder) -> table offset."""
    name = builder.CreateString(obj["name"])
    builder.StartObject(3)
    builder.PrependUint64Slot(0, obj["oid"], 0)
    builder.PrependUOffsetTRelativeSlot(1, name, 0)
    builder.PrependInt32Slot(2, obj["score"], 0)
    return builder.EndObject()


def fb_item_parse(buf) -> dict:
    """``cast`` callback / decoder, pure Python: FlatBuffers bytes -> dict."""
    buf = bytes(buf)
    root = struct.unpack_from("<I", buf, 0)[0]
    vt = root - struct.unpack_from("<i", buf, root)[0]
    vt_len = struct.unpack_from("<H", buf, vt)[0]

    def field_off(n):
        o = 4 + 2 * n
        if o >= vt_len:
            return 0
        return struct.unpack_from("<H", buf, vt + o)[0]

    out = {"oid": 0, "name": None, "score": 0}
    o = field_off(0)
    if o:
        out["oid"] = struct.unpack_from("<Q", buf, root + o)[0]
    o = field_off(1)
    if o:
        p = root + o
        s = p + struct.unpack_from("<I", buf, p)[0]
        n = struct.unpack_from("<I", buf, s)[0]
        out["name"] = buf[s + 4:s + 4 + n].decode("utf8")
    o = field_off(2)
    if o:
        out["score"] = struct.unpack_from("<i", buf, root + o)[0]
    return out


# ---------------------------------------------------------------------------
# What upstream's reader is expected to print for a manifest record

def _quirk_key(class_name: str, key_canon, raw_key: bytes):
    """Canonical key as upstream's _deserialize_key returns it."""
    if class_name == "MapUint16UuidTimestampFlatBuffers":
        return [[key_canon[0]]] + key_canon[1:]
    if class_name in ("MapUuidBytes20Uint8FlatBuffers", "MapUuidBytes20Uint8UuidFlatBuffers",
                      "MapUuidBytes20Bytes20Uint8UuidFlatBuffers"):
        kinds = LAYOUT_BY_CLASS[class_name][0]
        return [[v] if k == "u8" else v for k, v in zip(kinds, key_canon)]
    if class_name in ("MapStringStringUuid", "MapStringStringStringUuid"):
        return [{"hex": s.encode("utf8").hex()} for s in key_canon]
    if class_name == "MapStringOidOid":
        head = raw_key[2:][0:8]
        try:
            return [head.decode("utf8"), key_canon[1]]
        except UnicodeDecodeError:
            return {"error": "UnicodeDecodeError"}
    return key_canon


def _quirk_value(class_name: str, value_canon, raw_value: bytes):
    if class_name in ("MapUuidUuidSet", "MapOidOidSet"):
        vlen = 16 if class_name == "MapUuidUuidSet" else 8
        cnt = len(raw_value) // vlen
        elems = [raw_value[i:i + vlen] for i in range(0, cnt, vlen)]
        if vlen == 16:
            return canon({uuid.UUID(bytes=e) for e in elems})
        return canon({struct.unpack(">Q", e)[0] for e in elems})
    return value_canon


def expected_upstream_read(slot_entry: dict) -> dict:
    """Expected reader output for one manifest slot (see upstream_reader.py).

    Records are in raw-key order (the manifest keeps them so).  Error
    expectations are given as ``{"error": "<ExceptionClassName>"}``.
    """
    cls = slot_entry["class"]
    status = KNOWN_BROKEN.get(cls, ("ok", ""))[0]
    recs = [] if slot_entry.get("write_error") else slot_entry["records"]
    gets, pairs = [], []
    for r in recs:
        rk, rv = bytes.fromhex(r["raw_key"]), bytes.fromhex(r["raw_value"])
        v = _quirk_value(cls, r["value"], rv)
        gets.append(v)
        pairs.append([_quirk_key(cls, r["key"], rk), v])
    out = {"count": len(recs), "get": gets, "contains": [True] * len(recs)}
    if status == "write_broken":
        # records present only when *our* ORM wrote them: upstream cannot even
        # serialize the key for a point lookup, but select() decodes fine.
        out["get"] = [{"error": "AttributeError"}] * len(recs)
        out["contains"] = [{"error": "AttributeError"}] * len(recs)
    if status == "select_broken" and recs:
        err = {"error": SELECT_ERROR[cls]}
        for op in ("select", "select_reverse", "select_keys", "select_values", "select_range"):
            out[op] = err
        return out
    out["select"] = pairs
    out["select_reverse"] = pairs[::-1][:2]
    out["select_keys"] = [p[0] for p in pairs]
    out["select_values"] = [p[1] for p in pairs]
    # range [records[1].key, records[2].key) forward: exactly records[1]
    out["select_range"] = pairs[1:2] if len(pairs) >= 3 else []
    return out


def range_query_keys(slot_entry: dict):
    """(from_key, to_key) canonical keys of the generic range query, or None."""
    recs = slot_entry["records"]
    if slot_entry.get("write_error") or len(recs) < 3:
        return None
    return recs[1]["key"], recs[2]["key"]
