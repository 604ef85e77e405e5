"""Persistent maps: typed key/value tables in one slot of the database.

A map class is declared by two facts: the layout of its keys (a tuple of
key component names, encoded by :class:`zlmdb.codec.KeyCodec` in C) and the
codec of its values (one of :data:`VALUE_CODECS`).  Every physical key is
the 2-byte big-endian slot number followed by the encoded key, as in
upstream zlmdb, so databases are exchangeable.

Fixed here, compared with upstream zlmdb: ``truncate`` touches only its own
slot; set values keep every element; unique indexes are enforced; a put that
fails (null index key, duplicate unique key, a value that cannot be encoded)
changes nothing; negative timestamps are refused as keys instead of sorting
after every later one.
"""
import collections.abc
import operator
import struct
import types
import typing
import zlib

from zlmdb._core import native as _native
from zlmdb import codec as _codec
from zlmdb._valuecodecs import VALUE_CODECS

__all__ = ("PersistentMap", "PersistentMapIterator", "NullValueConstraint", "IndexSpec")

#: what select() returns: a C iterator over the map's key range
PersistentMapIterator = _native.PersistentMapIterator

_MAX_LIMIT = 10000000


class NullValueConstraint(RuntimeError):
    """A non-nullable index was given a null (``None``) key."""


class IndexSpec(typing.NamedTuple):
    """An index of a map, as :meth:`PersistentMap.index_specs` lists it: its
    name, the index map's slot, the index map, the key function, and whether
    it is nullable and unique.  (The ``zlmdb`` command also builds them from
    a database's catalog, where the map and the function are None.)"""
    name: str
    slot: typing.Optional[int]
    pmap: typing.Any
    fkey: typing.Any
    nullable: bool
    unique: bool


# ----------------------------------------------------------------- values
# (VALUE_CODECS: zlmdb._valuecodecs)

#: the scalar value codecs whose bytes are those of a one-component key
#: of these types
_KEY_AS_VALUE = {
    "uuid": ("uuid",),
    "string": ("string",),
    "oid": ("oid", "uint64"),
    "timestamp": ("timestamp",),
    "bytes16": ("bytes16",),
    "bytes20": ("bytes20",),
    "bytes32": ("bytes32",),
}

COMPRESS_ZLIB = 1
COMPRESS_SNAPPY = 2


def _compressor(kind):
    if not kind:
        return None, None
    if kind == COMPRESS_ZLIB:
        return zlib.compress, zlib.decompress
    if kind == COMPRESS_SNAPPY:
        try:
            import snappy
        except ImportError as exc:
            raise RuntimeError("COMPRESS_SNAPPY needs the python-snappy package") from exc
        return snappy.compress, snappy.decompress
    raise ValueError("unknown compression %r" % (kind,))


# ------------------------------------------------------------------ map

class PersistentMap(_native.PersistentMapBase, collections.abc.MutableMapping):
    """The base of every ``Map*`` class: records of one slot.

    Every access takes the transaction: ``pmap[txn, key]`` (``None`` when
    missing), ``pmap[txn, key] = value``, ``del pmap[txn, key]``,
    ``(txn, key) in pmap``.  A ``collections.abc.MutableMapping`` as
    upstream's, whose ``len()`` and iteration raise NotImplementedError
    (they need a transaction: use ``count(txn)`` and ``select(txn)``).
    """

    # Mapping would compare (and so refuse to hash) maps by their items,
    # which need a transaction: a map is equal only to itself.
    __eq__ = object.__eq__
    __ne__ = object.__ne__
    __hash__ = object.__hash__

    #: key component names (see zlmdb.codec.KeyCodec), set by each subclass
    KEY = ()
    #: value codec name (VALUE_CODECS, or cbor/json/pickle/flatbuffers/numpy)
    VALUE = None

    COMPRESS_ZLIB = COMPRESS_ZLIB
    COMPRESS_SNAPPY = COMPRESS_SNAPPY

    # The stubs make the maps generic (zlmdb/_pmap.pyi): this lets
    # `class Users(zlmdb.MapOidCbor[User])` and `MapOidPickle[User](1)` run too.
    __class_getitem__ = classmethod(types.GenericAlias)

    def __init__(self, slot=None, compress=None, marshal=None, unmarshal=None, build=None,
                 cast=None, record=None):
        if slot is not None and (not isinstance(slot, int) or not 0 < slot < 65536):
            raise ValueError("slot must be an int from 1 to 65535, not %r" % (slot,))
        self._slot = slot
        self._compress_kind = compress
        self._compress, self._decompress = _compressor(compress)
        self._keycodec = _codec.KeyCodec(self.KEY)
        self._single_key = len(self.KEY) == 1
        self._marshal = marshal
        self._unmarshal = unmarshal
        self._build = build
        self._cast = cast
        self._record = record
        self._record_codec = None
        enc, dec = self._value_stages()
        self._value_encode = _compose(enc)
        self._value_decode = _compose(dec)
        if self._compress:
            enc, dec = enc + (self._compress,), (self._decompress,) + dec
        self._indexes = {}
        self._index_of = None   # (owner map, name) when this map is an index
        if slot is not None:
            # Reads, plain writes and scans run in C (zlmdb._native).
            self._c_setup(slot, self._keycodec, self._single_key, enc, dec)

    # -- declaration helpers ------------------------------------------------

    def _value_stages(self):
        """The value codec as chains of callables: (encode, decode)."""
        kind = self.VALUE
        if self._record is not None:
            return self._record_stages(kind)
        if kind in VALUE_CODECS:
            return (VALUE_CODECS[kind][0],), (VALUE_CODECS[kind][1],)
        if kind in ("cbor", "json"):
            if (self._marshal is None) != (self._unmarshal is None):
                raise TypeError(
                    "%s: marshal= and unmarshal= go together (with @zlmdb.table: marshal= "
                    "and parse=): give both, to store objects as what marshal returns, or "
                    "neither, to store plain dicts, lists and scalars as they are"
                    % type(self).__name__)
            if kind == "cbor":
                dumps, loads = _codec.cbor_dumps, _codec.cbor_loads
            else:
                dumps, loads = _codec.json_dumpb, _codec.json_loads
            if self._marshal is None:       # plain documents, as the codec takes them
                return (dumps,), (loads,)
            return (self._marshal, dumps), (loads, self._unmarshal)
        if kind == "flatbuffers":
            if self._build is None or self._cast is None:
                raise TypeError("%s needs build= and cast=" % type(self).__name__)
            return (_flatbuffers_encoder(self._build),), (self._cast,)
        if kind == "numpy":
            from zlmdb import _numpymaps
            return (_numpymaps.encode,), (_numpymaps.decode,)
        raise TypeError("%s has no value codec" % type(self).__name__)

    def _record_stages(self, kind):
        """A declared record (zlmdb._records): one C codec each way."""
        name = type(self).__name__
        if kind not in ("cbor", "json"):
            raise TypeError("%s: record= is for CBOR and JSON maps (its values are %s)"
                            % (name, kind))
        if self._marshal is not None or self._unmarshal is not None:
            raise TypeError("%s: give record= or marshal=/unmarshal=, not both" % name)
        from zlmdb import _records
        label = "%s(slot %s) record %s" % (name, self._slot,
                                          getattr(self._record, "__qualname__", self._record))
        self._record_codec = _records.record_codec(self._record, kind, label)
        return (self._record_codec.encode,), (self._record_codec.decode,)

    # -- encoding -----------------------------------------------------------

    # The public codec of the map, for tools (the ``zlmdb`` command) that
    # read and check stored records themselves.

    @property
    def slot(self):
        """The map's slot (1 to 65535), or None for a map made without one."""
        return self._slot

    @property
    def compress(self):
        """The compression of stored values: ``COMPRESS_ZLIB``,
        ``COMPRESS_SNAPPY``, or None."""
        return self._compress_kind

    def encode_key(self, key):
        """The bytes of ``key`` as the map orders it, without the slot
        prefix."""
        if key is None:
            raise TypeError("key must not be None")
        if not self._single_key and not isinstance(key, tuple):
            raise TypeError("%s keys are tuples of %d components %r, not %s"
                            % (type(self).__name__, len(self.KEY), self.KEY,
                               type(key).__name__))
        return self._keycodec.encode(key)

    def physical_key(self, key):
        """The LMDB key the record of ``key`` is stored under: the slot
        (2 bytes, big-endian), then :meth:`encode_key`."""
        if self._slot is None:
            _no_slot(self)
        data = self.encode_key(key)
        return struct.pack(">H", self._slot) + data

    def decode_key(self, data):
        """The key whose :meth:`encode_key` bytes are ``data``."""
        return self._keycodec.decode(bytes(data))

    def encode_value(self, value):
        """The bytes stored for ``value``: the value codec (and marshal),
        then compression."""
        data = self._value_encode(value)
        if self._compress:
            data = self._compress(data)
        return data

    def decode_value(self, data):
        """The value stored as ``data`` (decompressed, decoded, unmarshalled);
        empty bytes read as None, as upstream reads them."""
        if not data:
            return None
        if self._decompress:
            data = self._decompress(bytes(data))
        return self._value_decode(data)

    def index_specs(self):
        """The indexes attached to this map, sorted by name, as
        :class:`IndexSpec` (name, slot, pmap, fkey, nullable, unique)."""
        return [IndexSpec(name, ipmap._slot, ipmap, fkey, nullable, unique)
                for name, (ipmap, fkey, nullable, unique) in sorted(self._indexes.items())]

    def _encode_bound(self, key):
        # A bound is not stored, so any 64-bit oid serves: upstream's own
        # idiom ends a range at MAX_OID + 1 (2**53 + 1).
        if not self._single_key:
            key = tuple(key)
        return self._keycodec.encode(key, null_as_zero=True, lenient=True)

    # Upstream's names for the codecs, without slot prefix or compression
    # (code written for upstream, its test suite included, calls them).
    def _serialize_key(self, key):
        return self._keycodec.encode(key)

    def _deserialize_key(self, data):
        return self.decode_key(data)

    def _serialize_value(self, value):
        return self._value_encode(value)

    def _deserialize_value(self, data):
        return self._value_decode(data)

    # -- mapping protocol -----------------------------------------------------
    # pmap[txn, key], assignment, del and ``in`` are the C base's: every
    # write, index upkeep included, runs there (zlmdb._native).

    def __len__(self):
        """Not supported: the number of records depends on the transaction,
        so ask ``pmap.count(txn)``."""
        raise NotImplementedError("len(pmap) needs a transaction: use pmap.count(txn)")

    def __iter__(self):
        """Not supported: iterating needs a transaction, so use
        ``pmap.select(txn)``."""
        raise NotImplementedError("iterating a map needs a transaction: use pmap.select(txn)")

    # -- queries --------------------------------------------------------------

    def select(self, txn, from_key=None, to_key=None, return_keys=True, return_values=True,
               reverse=False, limit=None):
        """Records with ``from_key <= key < to_key`` (in reverse: from the last
        one below ``to_key`` down to ``from_key``), as ``(key, value)``,
        ``key`` or ``value``; ``limit`` caps how many."""
        if type(return_keys) is not bool or type(return_values) is not bool \
                or type(reverse) is not bool:
            raise TypeError("return_keys, return_values and reverse must be bool")
        if limit is not None and not (type(limit) is int and 0 < limit < _MAX_LIMIT):
            raise ValueError("limit must be an int with 0 < limit < %d" % _MAX_LIMIT)
        if not self._slot:
            _no_slot(self)
        slot = struct.pack(">H", self._slot)
        # Falsy keys (0, "", b"") mean "unbounded", as upstream.
        lo = slot + self._encode_bound(from_key) if from_key else slot
        if to_key:
            hi = slot + self._encode_bound(to_key)
        else:
            hi = struct.pack(">H", self._slot + 1) if self._slot < 65535 else None
        return self._c_select(txn, lo, hi, return_keys, return_values, reverse, limit or 0)

    def count(self, txn, prefix=None):
        """Number of records; with ``prefix``, of those whose key starts with
        it (a full key, or a tuple of its first components)."""
        if not self._slot:
            _no_slot(self)
        start = struct.pack(">H", self._slot)
        if prefix is not None and prefix != () and prefix != "":
            if self._single_key:
                start += self._keycodec.encode(prefix)
            else:
                start += self._keycodec.encode_prefix(
                    prefix if isinstance(prefix, tuple) else (prefix,))
        return self._c_count(txn, start)

    def count_range(self, txn, from_key, to_key):
        """Number of records with ``from_key <= key < to_key`` (falsy keys:
        unbounded, as in select)."""
        if not self._slot:
            _no_slot(self)
        lo = self._encode_bound(from_key) if from_key else None
        hi = self._encode_bound(to_key) if to_key else None
        return self._c_count_range(txn, lo, hi)

    def truncate(self, txn, rebuild_indexes=True):
        """Delete every record of this map (only this slot) and, with
        ``rebuild_indexes``, every entry of its indexes; returns the number
        of keys deleted, index entries included (as upstream counts)."""
        slots = [self._slot]
        if rebuild_indexes:
            slots += [ipmap._slot for ipmap, _f, _n, _u in self._indexes.values()]
        return self._c_truncate(txn, slots)

    # -- indexes --------------------------------------------------------------

    def attach_index(self, name, pmap, fkey, nullable=False, unique=True):
        """Maintain ``pmap`` as an index of this map: its key is
        ``fkey(value)``, its value this map's key.  ``fkey`` may be a field
        name (a str), or a tuple of them for a composite key: the record's
        attributes on a declared-record map, the marshalled dict's keys on
        another CBOR/JSON map."""
        if self._index_of is not None:
            raise RuntimeError("cannot attach an index to an index")
        if pmap._index_of is not None:
            raise RuntimeError("%s is already an index" % type(pmap).__name__)
        if name in self._indexes:
            raise RuntimeError("index '%s' already attached" % name)
        if pmap._slot == self._slot:
            raise RuntimeError("an index needs a slot of its own")
        if isinstance(fkey, str) or (isinstance(fkey, tuple) and fkey and
                                     all(isinstance(f, str) for f in fkey)):
            fkey = self._field_key(fkey)
        self._indexes[name] = (pmap, fkey, bool(nullable), bool(unique))
        pmap._index_of = (self, name)
        self._sync_indexes()
        if getattr(self, "_on_index", None) is not None:   # the catalog (_database.py)
            self._on_index(self)

    def _field_key(self, fields):
        """The index key function for an index on a named field (or a tuple
        of fields, for a composite index key): the record's attributes
        (``operator.attrgetter``, read in C) for a declared-record map, the
        keys of the dict that ``marshal`` returns for another CBOR/JSON map."""
        names = (fields,) if isinstance(fields, str) else fields
        if self._record_codec is not None:
            for field in names:
                if field not in self._record_codec.fields:
                    raise ValueError("%s: record %s has no field %r (fields: %s)"
                                     % (type(self).__name__, self._record.__qualname__, field,
                                        ", ".join(self._record_codec.fields)))
            return operator.attrgetter(*names)
        if self.VALUE not in ("cbor", "json"):
            raise TypeError("%s: an index on a field name needs a CBOR or JSON map; give a "
                            "key function" % type(self).__name__)
        marshal = self._marshal
        if marshal is None:         # plain documents: the dict's own keys
            if isinstance(fields, str):
                return operator.methodcaller("get", fields)     # C, no Python frame
            return lambda value: tuple(map(value.get, names))
        if isinstance(fields, str):
            return lambda value: marshal(value).get(fields)
        return lambda value: tuple(map(marshal(value).get, names))

    def detach_index(self, name):
        """Stop maintaining the index ``name`` (its records stay)."""
        self._index_named(name)
        pmap = self._indexes.pop(name)[0]
        pmap._index_of = None
        self._sync_indexes()

    def _sync_indexes(self):
        # The C base keeps the index specs; its table engine keeps the
        # indexes in step on every write.
        self._c_set_indexes(tuple((ipmap, fkey, nullable, unique, name,
                                   self._key_is_index_value(ipmap))
                                  for name, (ipmap, fkey, nullable, unique)
                                  in self._indexes.items()), NullValueConstraint)

    def _key_is_index_value(self, ipmap):
        """Whether the index map ``ipmap`` stores this map's key as the bytes
        of the encoded key (an oid as 8 bytes, a UUID as 16, ...), so the
        engine can write the encoded key without the value encoder."""
        same = _KEY_AS_VALUE.get(ipmap.VALUE)
        return (same is not None and not ipmap._compress and len(self.KEY) == 1
                and self.KEY[0] in same)

    def _index_named(self, name):
        """The index ``name``, or KeyError naming the indexes there are."""
        try:
            return self._indexes[name]
        except KeyError:
            raise KeyError("%s has no index %r (attached: %s); attach it first with "
                           "attach_index(name, index_map, fkey)"
                           % (type(self).__name__, name,
                              ", ".join(map(repr, sorted(self._indexes))) or "none")) \
                from None

    def indexes(self):
        """Names of the attached indexes, sorted."""
        return sorted(self._indexes)

    def is_index(self):
        """True when this map is attached as an index of another map."""
        return self._index_of is not None

    def rebuild_index(self, txn, name):
        """Empty the index and fill it from every record: (deleted, inserted).
        A failure part way leaves the index partial, so the transaction
        then refuses to commit."""
        self._index_named(name)
        return self._c_rebuild_index(txn, name)

    def rebuild_indexes(self, txn):
        """Rebuild every index: (deleted, inserted) totals."""
        d = i = 0
        for name in self._indexes:
            dd, ii = self.rebuild_index(txn, name)
            d += dd
            i += ii
        return d, i


def _no_slot(pmap):
    name = type(pmap).__name__
    raise RuntimeError("%s has no slot: make it with one (%s(slot), slot 1 to 65535), or "
                       "declare a subclass with @zlmdb.table(oid) and get the map from "
                       "db.attach_table(cls)" % (name, name))


def _compose(stages):
    if len(stages) == 1:
        return stages[0]

    def run(value):
        for f in stages:
            value = f(value)
        return value
    return run


def _flatbuffers_encoder(build):
    from zlmdb._flatbuffers import load_flatbuffers
    flatbuffers = load_flatbuffers()

    def enc(value):
        builder = flatbuffers.Builder(0)
        builder.Finish(build(value, builder))
        return bytes(builder.Output())
    return enc
