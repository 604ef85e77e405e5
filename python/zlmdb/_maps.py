"""The Map* classes, declared as data.

Each row is (class name, key components, value codec).  Key components are
zlmdb.codec.KeyCodec names; value codecs are the names in
zlmdb._pmap.VALUE_CODECS plus "cbor", "json" (take marshal/unmarshal, or a
declared record=),
"flatbuffers" (take build/cast) and "numpy".  A new layout is one row.

Where upstream zlmdb stored a layout wrongly, the row says what we store
(see docs/orm.md, "Differences from upstream").
"""
from zlmdb._pmap import PersistentMap

MAPS = (
    ("MapSlotUuidUuid", ("uint16", "uuid"), "uuid"),
    ("MapUuidString", ("uuid",), "string"),
    ("MapUuidOid", ("uuid",), "oid"),
    ("MapUuidUuid", ("uuid",), "uuid"),
    ("MapUuidUuidCbor", ("uuid", "uuid"), "cbor"),
    ("MapUuidTimestampBytes32", ("uuid", "timestamp"), "bytes32"),
    ("MapUint64TimestampUuid", ("uint64", "timestamp"), "uuid"),
    ("MapUuidUuidUuid", ("uuid", "uuid"), "uuid"),
    ("MapUuidTimestampUuid", ("uuid", "timestamp"), "uuid"),
    ("MapUuidStringUuid", ("uuid", "string"), "uuid"),
    ("MapUuidUuidStringUuid", ("uuid", "uuid", "string"), "uuid"),
    ("MapUuidUuidUuidStringUuid", ("uuid", "uuid", "uuid", "string"), "uuid"),
    ("MapUuidUuidUuidUuid", ("uuid", "uuid", "uuid"), "uuid"),
    ("MapUuidUuidUuidUuidUuid", ("uuid", "uuid", "uuid", "uuid"), "uuid"),
    ("MapUuidStringOid", ("uuid", "string"), "oid"),
    ("MapUuidUuidSet", ("uuid",), "uuidset"),
    ("MapUuidJson", ("uuid",), "json"),
    ("MapUuidCbor", ("uuid",), "cbor"),
    ("MapUuidPickle", ("uuid",), "pickle"),
    ("MapUuidFlatBuffers", ("uuid",), "flatbuffers"),
    ("MapUuidTimestampFlatBuffers", ("uuid", "timestamp"), "flatbuffers"),
    ("MapTimestampFlatBuffers", ("timestamp",), "flatbuffers"),
    ("MapTimestampUuidFlatBuffers", ("timestamp", "uuid"), "flatbuffers"),
    ("MapUuidTimestampUuidFlatBuffers", ("uuid", "timestamp", "uuid"), "flatbuffers"),
    # upstream stores the uint16 little-endian: kept for file compatibility
    ("MapUint16UuidTimestampFlatBuffers", ("uint16le", "uuid", "timestamp"), "flatbuffers"),
    ("MapUuidBytes20Uint8FlatBuffers", ("uuid", "bytes20", "uint8"), "flatbuffers"),
    ("MapUuidBytes20Uint8UuidFlatBuffers", ("uuid", "bytes20", "uint8", "uuid"),
     "flatbuffers"),
    ("MapUuidBytes20Bytes20Uint8UuidFlatBuffers",
     ("uuid", "bytes20", "bytes20", "uint8", "uuid"), "flatbuffers"),
    ("MapTimestampUuidStringFlatBuffers", ("timestamp", "uuid", "string"), "flatbuffers"),
    ("MapTimestampBytes32FlatBuffers", ("timestamp", "bytes32"), "flatbuffers"),
    ("MapTimestampStringFlatBuffers", ("timestamp", "string"), "flatbuffers"),
    ("MapUuidTimestampCbor", ("uuid", "timestamp"), "cbor"),
    ("MapTimestampUuidCbor", ("timestamp", "uuid"), "cbor"),
    ("MapStringTimestampCbor", ("string", "timestamp"), "cbor"),
    ("MapTimestampStringCbor", ("timestamp", "string"), "cbor"),
    ("MapStringString", ("string",), "string"),
    ("MapStringOid", ("string",), "oid"),
    ("MapStringOidOid", ("string", "oid"), "oid"),
    ("MapStringUuid", ("string",), "uuid"),
    ("MapStringStringUuid", ("string", "string"), "uuid"),
    ("MapStringStringStringUuid", ("string", "string", "string"), "uuid"),
    ("MapStringJson", ("string",), "json"),
    ("MapStringCbor", ("string",), "cbor"),
    ("MapStringPickle", ("string",), "pickle"),
    ("MapStringFlatBuffers", ("string",), "flatbuffers"),
    ("MapOidString", ("oid",), "string"),
    ("MapOidOid", ("oid",), "oid"),
    ("MapOidUuid", ("oid",), "uuid"),
    ("MapOidJson", ("oid",), "json"),
    ("MapOidCbor", ("oid",), "cbor"),
    ("MapOidPickle", ("oid",), "pickle"),
    ("MapOidFlatBuffers", ("oid",), "flatbuffers"),
    ("MapOidOidFlatBuffers", ("oid", "oid"), "flatbuffers"),
    ("MapOid3FlatBuffers", ("oid", "oid", "oid"), "flatbuffers"),
    ("MapOidOidSet", ("oid",), "oidset"),
    ("MapOidStringOid", ("oid", "string"), "oid"),
    ("MapOidOidOid", ("oid", "oid"), "oid"),
    # upstream wrote these timestamps native-endian (unordered, undecodable)
    ("MapOidTimestampOid", ("oid", "timestamp"), "oid"),
    ("MapOidTimestampFlatBuffers", ("oid", "timestamp"), "flatbuffers"),
    ("MapOidTimestampStringOid", ("oid", "timestamp", "string"), "oid"),
    ("MapBytes32Uuid", ("bytes32",), "uuid"),
    ("MapBytes32Timestamp", ("bytes32",), "timestamp"),
    ("MapBytes32Bytes32", ("bytes32",), "bytes32"),
    ("MapBytes32FlatBuffers", ("bytes32",), "flatbuffers"),
    ("MapBytes32UuidFlatBuffers", ("bytes32", "uuid"), "flatbuffers"),
    ("MapUuidBytes32FlatBuffers", ("uuid", "bytes32"), "flatbuffers"),
    ("MapUuidUuidStringFlatBuffers", ("uuid", "uuid", "string"), "flatbuffers"),
    ("MapUuidUuidFlatBuffers", ("uuid", "uuid"), "flatbuffers"),
    ("MapUuidStringFlatBuffers", ("uuid", "string"), "flatbuffers"),
    ("MapBytes32Bytes32FlatBuffers", ("bytes32", "bytes32"), "flatbuffers"),
    ("MapBytes32StringFlatBuffers", ("bytes32", "string"), "flatbuffers"),
    ("MapBytes20Bytes20", ("bytes20",), "bytes20"),
    ("MapBytes20Bytes20Timestamp", ("bytes20",), "bytes20timestamp"),
    ("MapBytes20TimestampBytes20", ("bytes20", "timestamp"), "bytes20"),
    ("MapBytes20TimestampUuid", ("bytes20", "timestamp"), "uuid"),
    ("MapBytes20Uuid", ("bytes20",), "uuid"),
    ("MapBytes20Bytes16", ("bytes20",), "bytes16"),
    ("MapBytes20FlatBuffers", ("bytes20",), "flatbuffers"),
    ("MapBytes16FlatBuffers", ("bytes16",), "flatbuffers"),
    ("MapBytes16TimestampUuid", ("bytes16", "timestamp"), "uuid"),
    ("MapBytes16TimestampUuidFlatBuffers", ("bytes16", "timestamp", "uuid"), "flatbuffers"),
    ("MapBytes20Bytes20FlatBuffers", ("bytes20", "bytes20"), "flatbuffers"),
    ("MapBytes20StringFlatBuffers", ("bytes20", "string"), "flatbuffers"),
    # NumPy array values (documented by upstream, never shipped there)
    ("MapBytes20Numpy", ("bytes20",), "numpy"),
    ("MapUuidNumpy", ("uuid",), "numpy"),
    ("MapStringNumpy", ("string",), "numpy"),
    ("MapOidNumpy", ("oid",), "numpy"),
    ("MapTimestampNumpy", ("timestamp",), "numpy"),
)

_OBJECT_CODECS = {"cbor": ("marshal", "unmarshal"), "json": ("marshal", "unmarshal"),
                  "flatbuffers": ("build", "cast")}


_DOC_COMMON = """

    ``slot``: the map's slot, 1 to 65535 (a @zlmdb.table subclass gets its
    slot from ``db.attach_table(cls)``).  ``compress``: ``COMPRESS_ZLIB`` or
    ``COMPRESS_SNAPPY`` to compress stored values, or None."""

_DOC_MARSHAL = """

    ``marshal`` and ``unmarshal`` (optional, together): functions that turn
    an application object into what the %s codec stores (dicts, lists,
    str, numbers, ...) and back.  Without them the map stores plain
    documents as they are.  With @zlmdb.table, they are its ``marshal=``
    and ``parse=``.  For example::

        users = zlmdb.%s(%s)
        with db.begin(write=True) as txn:
            users[txn, %s] = {"name": "ada", "langs": ["c"]}

        objects = zlmdb.%s(%s, marshal=User.marshal, unmarshal=User.parse)

    ``record`` (instead of ``marshal``/``unmarshal``): a declared record
    type -- a dataclass, or a class with ``__slots__`` and annotations.  C
    then writes its attributes as the document and builds the object from
    the stored bytes, with no Python call per record; the bytes are those
    the marshal path writes (docs/orm.md, "Declared records")."""

_DOC_FLATBUFFERS = """

    ``build`` and ``cast`` (both needed): ``build(obj, builder)`` writes
    the object into a ``flatbuffers.Builder`` and returns its offset;
    ``cast(buf)`` reads one back (e.g. ``User.GetRootAs``).  With
    @zlmdb.table, its ``build=`` and ``cast=``."""

#: an example key of each key component type, for the docstrings
_EXAMPLE_KEY = {"uuid": "uuid.uuid4()", "string": '"ada"', "oid": "1", "uint64": "1",
                "timestamp": "time.time_ns()", "bytes16": "b'k' * 16",
                "bytes20": "b'k' * 20", "bytes32": "b'k' * 32", "uint16": "1",
                "uint16le": "1", "uint8": "1"}


def _doc(name, key, value, sig, extra):
    doc = "Persistent map: keys %s, values %s.  %s%s" % (" + ".join(key), value, name, sig)
    doc += _DOC_COMMON
    if extra is None:
        return doc
    if extra[0] == "build":
        return doc + _DOC_FLATBUFFERS
    example = _EXAMPLE_KEY[key[0]] if len(key) == 1 else \
        "(%s)" % ", ".join(_EXAMPLE_KEY[k] for k in key)
    return doc + _DOC_MARSHAL % (value.upper(), name, "1", example, name, "2")


def _make_class(name, key, value):
    extra = _OBJECT_CODECS.get(value)
    if extra is None:
        def __init__(self, slot=None, compress=None):
            PersistentMap.__init__(self, slot=slot, compress=compress)
        sig = "(slot=None, compress=None)"
    elif extra[0] == "marshal":
        def __init__(self, slot=None, compress=None, marshal=None, unmarshal=None,
                     record=None):
            PersistentMap.__init__(self, slot=slot, compress=compress, marshal=marshal,
                                   unmarshal=unmarshal, record=record)
        sig = "(slot=None, compress=None, marshal=None, unmarshal=None, record=None)"
    else:
        def __init__(self, slot=None, compress=None, build=None, cast=None):
            PersistentMap.__init__(self, slot=slot, compress=compress, build=build, cast=cast)
        sig = "(slot=None, compress=None, build=None, cast=None)"
    doc = _doc(name, key, value, sig, extra)
    return type(name, (PersistentMap,), {"KEY": key, "VALUE": value, "__init__": __init__,
                                         "__doc__": doc, "__module__": "zlmdb"})


MAP_CLASSES = {name: _make_class(name, key, value) for name, key, value in MAPS}
globals().update(MAP_CLASSES)
__all__ = tuple(MAP_CLASSES)
