"""What the ``zlmdb`` command knows about each slot, and how it turns the
stored bytes into text and back.

The database records little about its tables: the slot-0 registry holds, per
registered table, ``{oid, name, description?, creator, slot}`` (upstream's
format, which we keep byte for byte).  Neither the ``Map*`` class (so the key
layout and value codec) nor the indexes are stored anywhere.  The layout of a
slot therefore comes from, in this order:

1. ``--map SLOT=MapClass`` on the command line;
2. ``--schema MODULE[:ATTR]``: the application's own ``@zlmdb.table``
   classes and persistent maps (with their indexes and user callables);
3. slot 0 itself, which is always the registry (uint16 keys, CBOR values);
4. a guess from a sample of the slot's records (marked as such everywhere).

A :class:`Layout` converts keys and values between their stored bytes and
*forms*: JSON-able values (or CBOR-able ones with ``binary=True``) used by
``scan``, ``get`` and ``export``/``import``.  Exactness is never assumed:
export checks every record's forms re-encode to the stored bytes, and falls
back to the raw bytes where they do not.

The main database may also hold LMDB *named databases* (``env.open_db(b"name")``
of the low-level API): each is one main-database record whose key is the
name.  :class:`NamedDatabases` finds them, so that their records are not
taken for slots.
"""
import base64
import binascii
import datetime
import importlib
import importlib.util
import inspect
import json
import math
import os
import pickletools
import re
import struct
import sys
import typing
import uuid
import zlib

import zlmdb
from zlmdb import lmdb
from zlmdb import codec as _codec
from zlmdb._valuecodecs import DOCUMENT_CODECS, VALUE_CODECS as _VALUE_CODECS

MAP_CLASSES = zlmdb.MAP_CLASSES
PersistentMap = zlmdb.PersistentMap

REGISTRY_SLOT = 0
#: the catalog's key in slot 0: 3 bytes, so upstream zlmdb (which reads the
#: keys of 4 or more bytes) never sees it (docs/orm.md, "The catalog")
CATALOG_KEY = b"\x00\x00\x01"
_SAMPLE = 200          # records read to guess a slot's layout

_INT_COMPONENTS = ("uint8", "uint16", "uint16le", "uint32", "uint64", "oid")
_BYTES_COMPONENTS = {"bytes16": 16, "bytes20": 20, "bytes32": 32}
#: value codecs that store one key-like component: the key component their
#: printed form is that of
_SCALAR_VALUES = {"uuid": "uuid", "string": "string", "oid": "uint64",
                  "timestamp": "timestamp", "bytes16": "bytes16", "bytes20": "bytes20",
                  "bytes32": "bytes32"}
#: value codecs whose records are exported as raw bytes only (never decoded
#: by the command: a pickle is checked by its opcodes, never loaded)
RAW_ONLY_VALUES = ("pickle", "flatbuffers", "numpy")
#: every value codec name the command knows: the maps' own table
#: (zlmdb._valuecodecs), the documents, and the raw-only ones
VALUE_CODECS = tuple(sorted(set(_VALUE_CODECS) | set(DOCUMENT_CODECS) | set(RAW_ONLY_VALUES)))


def _value_codec(kind):
    """(encode, decode) of a value codec the command decodes, from the one
    table the maps use."""
    return DOCUMENT_CODECS.get(kind) or _VALUE_CODECS[kind]


def _as_ns(value):
    """A decoded timestamp as int nanoseconds (the maps give numpy.datetime64
    when NumPy is installed)."""
    if isinstance(value, int):
        return value
    return int(value.astype("datetime64[ns]").astype("int64"))
COMPRESSION = {1: "zlib", 2: "snappy"}


class CliError(Exception):
    """An expected failure: printed as one ``zlmdb: error: ...`` line."""


# --------------------------------------------------------------- scalar forms

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_ISO = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d{1,9}))?)?"
                  r"(Z|[+-]\d{2}:?\d{2})?$")


def ns_to_iso(ns):
    """Nanoseconds since 1970 as ``YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`` (exact)."""
    sec, frac = divmod(ns, 1000000000)
    when = _EPOCH + datetime.timedelta(seconds=sec)
    return "%s.%09dZ" % (when.strftime("%Y-%m-%dT%H:%M:%S"), frac)


def iso_to_ns(text):
    """The inverse of :func:`ns_to_iso`; also takes an int or a decimal
    string of nanoseconds, dates, and other UTC offsets."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    if not isinstance(text, str):
        raise ValueError("a timestamp is an ISO-8601 string or int nanoseconds, not %r"
                         % (text,))
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    m = _ISO.match(text)
    if not m:
        raise ValueError("not an ISO-8601 timestamp: %r" % text)
    day, clock, frac, zone = m.groups()
    stamp = day + "T" + (clock or "00:00")
    if zone and zone != "Z":
        stamp += zone
    when = datetime.datetime.fromisoformat(stamp)
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    delta = when - _EPOCH
    ns = (delta.days * 86400 + delta.seconds) * 1000000000 + delta.microseconds * 1000
    return ns + (int(frac.ljust(9, "0")) if frac else 0)


def b64(data):
    return base64.b64encode(bytes(data)).decode("ascii")


def unb64(text):
    if not isinstance(text, str):
        raise ValueError("base64 data must be a string")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("bad base64: %s" % exc) from None


def _component_form(comp, value, binary):
    if comp in _INT_COMPONENTS:
        return value
    if comp == "uuid":
        return str(value)
    if comp == "timestamp":
        return ns_to_iso(value)
    if comp == "string":
        return value
    return bytes(value) if binary else bytes(value).hex()


def _component_from_form(comp, form):
    if comp in _INT_COMPONENTS:
        if isinstance(form, bool) or not isinstance(form, int):
            raise ValueError("%s component must be an int, not %r" % (comp, form))
        return form
    if comp == "uuid":
        if not isinstance(form, str):
            raise ValueError("uuid component must be a string, not %r" % (form,))
        return uuid.UUID(form)
    if comp == "timestamp":
        return iso_to_ns(form)
    if comp == "string":
        if not isinstance(form, str):
            raise ValueError("string component must be a string, not %r" % (form,))
        return form
    if isinstance(form, (bytes, bytearray)):
        return bytes(form)
    if not isinstance(form, str):
        raise ValueError("%s component must be hex, not %r" % (comp, form))
    return bytes.fromhex(form)


def _component_from_arg(comp, text):
    """A key component typed on the command line."""
    if comp in _INT_COMPONENTS:
        return int(text, 16) if text.lower().startswith("0x") else int(text)
    if comp == "uuid":
        return uuid.UUID(text)
    if comp == "timestamp":
        return iso_to_ns(text)
    if comp == "string":
        return text
    return bytes.fromhex(text)


# ------------------------------------------------------- tagged JSON for docs

def to_json(obj):
    """A decoded CBOR/JSON document as plain JSON: bytes, non-finite floats,
    maps with non-string (or ``$``-prefixed) keys and every other CBOR type
    become one-key ``{"$...": ...}`` objects that :func:`from_json` reverses."""
    t = type(obj)
    if obj is None or t is bool or t is str or t is int:
        return obj
    if t is float:
        return obj if math.isfinite(obj) else {"$float": repr(obj)}
    if t is bytes or t is bytearray:
        return {"$bytes": b64(obj)}
    if t is list or t is tuple:
        return [to_json(x) for x in obj]
    if t is dict:
        if all(type(k) is str and not k.startswith("$") for k in obj):
            return {k: to_json(v) for k, v in obj.items()}
        return {"$map": [[to_json(k), to_json(v)] for k, v in obj.items()]}
    return {"$cbor": b64(_codec.cbor_dumps(obj))}


def _hashable(obj):
    if isinstance(obj, list):
        return tuple(_hashable(x) for x in obj)
    return obj


def from_json(j):
    """The inverse of :func:`to_json`."""
    if isinstance(j, list):
        return [from_json(x) for x in j]
    if isinstance(j, dict):
        if len(j) == 1:
            tag, val = next(iter(j.items()))
            if tag.startswith("$"):
                if tag == "$bytes":
                    return unb64(val)
                if tag == "$float":
                    if val not in ("nan", "inf", "-inf"):
                        raise ValueError("$float must be nan, inf or -inf")
                    return float(val)
                if tag == "$map":
                    if not isinstance(val, list) or not all(
                            isinstance(p, list) and len(p) == 2 for p in val):
                        raise ValueError("$map must be a list of [key, value] pairs")
                    return {_hashable(from_json(k)): from_json(v) for k, v in val}
                if tag == "$cbor":
                    return _codec.cbor_loads(unb64(val))
                raise ValueError("unknown tagged value %r" % tag)
        return {k: from_json(v) for k, v in j.items()}
    return j


# ------------------------------------------------------------------- summaries

def flatbuffers_summary(data):
    """Root-table facts of a FlatBuffers buffer, read without its schema;
    ValueError when the offsets do not hold together."""
    n = len(data)
    if n < 8:
        raise ValueError("FlatBuffers buffer of %d bytes is too short" % n)
    root = struct.unpack_from("<I", data, 0)[0]
    if root + 4 > n:
        raise ValueError("FlatBuffers root offset %d is outside the %d-byte buffer" % (root, n))
    vtable = root - struct.unpack_from("<i", data, root)[0]
    if vtable < 0 or vtable + 4 > n:
        raise ValueError("FlatBuffers vtable offset %d is outside the buffer" % vtable)
    vtsize, tsize = struct.unpack_from("<HH", data, vtable)
    if vtsize < 4 or vtsize % 2 or vtable + vtsize > n or root + tsize > n or tsize < 4:
        raise ValueError("FlatBuffers vtable (size %d, table size %d) does not fit" %
                         (vtsize, tsize))
    offsets = struct.unpack_from("<%dH" % ((vtsize - 4) // 2), data, vtable + 4)
    if any(o >= tsize for o in offsets):
        raise ValueError("FlatBuffers field offset beyond its table")
    return {"$summary": "flatbuffers", "bytes": n, "fields": len(offsets),
            "present": sum(1 for o in offsets if o)}


def numpy_summary(data):
    """dtype and shape from a stored NumPy array's header (zlmdb._numpymaps),
    without importing NumPy."""
    mv = bytes(data[:6 + 255 + 1 + 8 * 255])
    if len(mv) < 7 or mv[:4] != b"ZNPY" or mv[4] != 1:
        raise ValueError("not a zlmdb NumPy array (bad magic or version)")
    dlen = mv[5]
    pos = 6 + dlen
    if len(mv) < pos + 1:
        raise ValueError("truncated NumPy array header")
    dtype = mv[6:pos].decode("ascii", "replace")
    ndim = mv[pos]
    pos += 1
    if len(mv) < pos + 8 * ndim:
        raise ValueError("truncated NumPy array header")
    shape = list(struct.unpack_from(">%dQ" % ndim, mv, pos))
    itemsize = re.search(r"(\d+)$", dtype)
    count = 1
    for d in shape:
        count *= d
    data_bytes = len(data) - pos - 8 * ndim
    if itemsize and count * int(itemsize.group(1)) != data_bytes:
        raise ValueError("NumPy array has %d data bytes, its header says %d"
                         % (data_bytes, count * int(itemsize.group(1))))
    return {"$summary": "numpy", "dtype": dtype, "shape": shape, "bytes": len(data)}


def pickle_summary(data):
    """Checks a pickle's opcodes (without running it: pickles are never
    loaded by this tool) and sums it up."""
    data = bytes(data)
    last = None
    try:
        for op, _arg, pos in pickletools.genops(data):
            last = (op.name, pos)
    except Exception as exc:     # pickletools raises ValueError and others
        raise ValueError("bad pickle: %s" % exc) from None
    if last is None or last[0] != "STOP" or last[1] != len(data) - 1:
        raise ValueError("bad pickle: bytes after STOP")
    proto = data[1] if len(data) > 1 and data[0] == 0x80 else 0
    return {"$summary": "pickle", "protocol": proto, "bytes": len(data)}


_SUMMARIES = {"flatbuffers": flatbuffers_summary, "numpy": numpy_summary,
              "pickle": pickle_summary}


# --------------------------------------------------------------------- layout

class Layout:
    """How one slot's keys and values are stored.

    ``key`` is a tuple of zlmdb.codec.KeyCodec component names (None: raw
    bytes), ``value`` a value codec name (None: raw bytes), ``compress`` 1
    (zlib), 2 (snappy) or None.  ``source`` says where the layout came from:
    "map", "schema", "catalog" (recorded by the ORM in the database),
    "registry", "guess" or None (nothing known).
    """

    def __init__(self, slot, key=None, value=None, compress=None, source=None,
                 map_name=None, pmap=None):
        self.slot = slot
        self.key = tuple(key) if key else None
        self.value = value
        self.compress = compress
        self.source = source
        self.map_name = map_name
        self.pmap = pmap                # a PersistentMap with the user's callables
        self.indexes = []               # (name, index pmap, fkey, nullable, unique)
        self.registry = None            # the slot's registry record, if any
        self.prefix = struct.pack(">H", slot)
        self._kc = _codec.KeyCodec(self.key, timestamp="int") if self.key else None
        self._decompress = self._compress = None
        if compress:
            if compress == 1:
                self._compress, self._decompress = zlib.compress, zlib.decompress
            elif compress == 2:
                try:   # optional, as for the maps themselves
                    snappy = importlib.import_module("snappy")
                except ImportError:
                    snappy = None
                if snappy is not None:
                    self._compress, self._decompress = snappy.compress, snappy.decompress

    @property
    def guessed(self):
        return self.source == "guess"

    @property
    def can_decode_values(self):
        return self.value is not None and (not self.compress or self._decompress is not None)

    def describe(self, source=True):
        """A short text: 'MapOidCbor', 'oid -> cbor (guessed)', 'unknown'."""
        if self.key is None and self.value is None:
            return "unknown"
        text = self.map_name or "%s -> %s" % (
            ", ".join(self.key) if self.key else "bytes", self.value or "bytes")
        if self.compress:
            text += "+" + COMPRESSION.get(self.compress, str(self.compress))
        if source and self.source in ("guess", "schema", "map"):
            text += " (%s)" % ("guessed" if self.source == "guess" else self.source)
        return text

    def as_dict(self):
        return {"map": self.map_name, "key": list(self.key) if self.key else None,
                "value": self.value,
                "compress": COMPRESSION.get(self.compress) if self.compress else None,
                "source": self.source}

    # -- keys -------------------------------------------------------------------

    def decode_key(self, data):
        """Stored key bytes (after the slot prefix) -> key value (ints for
        timestamps); ValueError when they do not decode."""
        if self._kc is None:
            raise ValueError("key layout unknown")
        return self._kc.decode(bytes(data))

    def encode_key(self, key, prefix=False):
        if self._kc is None:
            raise ValueError("key layout unknown")
        if prefix:
            return self._kc.encode_prefix(key if isinstance(key, tuple) else (key,))
        return self._kc.encode(key, lenient=True)

    def key_form(self, key, binary=False):
        if len(self.key) == 1:
            return _component_form(self.key[0], key, binary)
        return [_component_form(c, v, binary) for c, v in zip(self.key, key)]

    def key_from_form(self, form):
        if len(self.key) == 1:
            return _component_from_form(self.key[0], form)
        if not isinstance(form, list) or len(form) != len(self.key):
            raise ValueError("key must be a list of %d components" % len(self.key))
        return tuple(_component_from_form(c, f) for c, f in zip(self.key, form))

    def key_from_args(self, args, partial=False):
        """Key bytes (after the slot prefix) from command-line words: one per
        component, or one ``hex:...`` word giving the bytes themselves.  With
        ``partial``, fewer components give a prefix."""
        if len(args) == 1 and args[0].startswith("hex:"):
            try:
                return bytes.fromhex(args[0][4:])
            except ValueError:
                raise CliError("bad hex key: %r" % args[0]) from None
        if self.key is None:
            raise CliError("slot %d has no known key layout: give the key as hex:... "
                           "(or tell its type with --map/--schema)" % self.slot)
        n = len(self.key)
        if len(args) > n or (len(args) < n and not partial):
            raise CliError("slot %d keys have %d component(s) (%s), got %d: %s"
                           % (self.slot, n, ", ".join(self.key), len(args), " ".join(args)))
        try:
            vals = tuple(_component_from_arg(c, a) for c, a in zip(self.key, args))
        except ValueError as exc:
            raise CliError("bad key %s for slot %d (%s): %s"
                           % (" ".join(args), self.slot, ", ".join(self.key), exc)) from None
        try:
            if len(vals) < n:
                return self._kc.encode_prefix(vals)
            return self._kc.encode(vals[0] if n == 1 else vals, lenient=True)
        except (ValueError, TypeError) as exc:
            raise CliError("bad key %s for slot %d: %s" % (" ".join(args), self.slot, exc)) \
                from None

    # -- values -----------------------------------------------------------------

    def _plain(self, data):
        data = bytes(data)
        if self.compress:
            if self._decompress is None:
                raise ValueError("values are %s-compressed and the module for it is missing"
                                 % COMPRESSION.get(self.compress))
            data = self._decompress(data)
        return data

    def decode_value(self, data):
        """Stored value bytes -> value, decoded by the maps' own codec table
        (the document for CBOR/JSON, a set for uuidset/oidset, int
        nanoseconds for timestamps, raw bytes for raw-only codecs);
        ValueError on failure."""
        kind = self.value
        if kind is None:
            raise ValueError("value codec unknown")
        data = self._plain(data)
        try:
            if kind in RAW_ONLY_VALUES:
                _SUMMARIES[kind](data)      # validate, keep the bytes
                return data
            value = _value_codec(kind)[1](data)
        except ValueError:
            raise
        except (TypeError, RecursionError, OverflowError, struct.error) as exc:
            raise ValueError(str(exc)) from None
        if kind == "timestamp":
            return _as_ns(value)
        if kind == "bytes20timestamp":
            return (value[0], _as_ns(value[1]))
        return value

    def encode_value(self, value):
        kind = self.value
        if kind in RAW_ONLY_VALUES or kind is None:
            data = bytes(value)
        else:
            data = _value_codec(kind)[0](value)
        if self.compress:
            if self._compress is None:
                raise ValueError("cannot compress: the %s module is missing"
                                 % COMPRESSION.get(self.compress))
            data = self._compress(data)
        return data

    def has_value_form(self):
        return self.value is not None and self.value not in RAW_ONLY_VALUES

    def value_form(self, value, binary=False):
        kind = self.value
        if kind in ("cbor", "json"):
            return value if binary else to_json(value)
        if kind in _SCALAR_VALUES:
            return _component_form(_SCALAR_VALUES[kind], value, binary)
        if kind == "bytes20timestamp":
            return [_component_form("bytes20", value[0], binary), ns_to_iso(value[1])]
        if kind == "uuidset":               # a set: printed sorted
            return [str(u) for u in sorted(value)]
        if kind == "oidset":
            return sorted(value)
        raise ValueError("no value form for %s" % kind)

    def value_from_form(self, form, binary=False):
        kind = self.value
        if kind in ("cbor", "json"):
            return form if binary else from_json(form)
        if kind in _SCALAR_VALUES:
            return _component_from_form(_SCALAR_VALUES[kind], form)
        if not isinstance(form, list):
            raise ValueError("%s value must be a list" % kind)
        if kind == "bytes20timestamp":
            if len(form) != 2:
                raise ValueError("bytes20timestamp value is [bytes20, timestamp]")
            return (_component_from_form("bytes20", form[0]), iso_to_ns(form[1]))
        if kind == "uuidset":
            return {_component_from_form("uuid", f) for f in form}
        return {_component_from_form("uint64", f) for f in form}

    def display_value(self, data):
        """A value for people and scripts: the document or scalar as JSON,
        a summary for FlatBuffers/NumPy/pickle, ``{"$bytes": ...}`` when
        unknown.  Raises ValueError when a known codec cannot decode it."""
        if self.value is None or (self.compress and self._decompress is None):
            return {"$bytes": b64(data)}
        if self.value == "flatbuffers" and self.pmap is not None:
            shown = self._user_flatbuffers(data)
            if shown is not None:
                return shown
        value = self.decode_value(data)
        if self.value in _SUMMARIES:
            return _SUMMARIES[self.value](value)
        return self.value_form(value)

    def _user_flatbuffers(self, data):
        # With the application's schema, a FlatBuffers object that can
        # marshal itself (the usual pattern) is shown as that dict.
        try:
            obj = self.pmap.decode_value(bytes(data))
            marshal = getattr(obj, "marshal", None)
            if callable(marshal):
                return to_json(marshal())
        except Exception:          # user code: fall back to the summary
            return None
        return None


def registry_layout():
    layout = Layout(REGISTRY_SLOT, key=("uint16",), value="cbor", source="registry",
                    map_name="(registry)")
    return layout


def layout_for_map(slot, map_name, source, compress=None, pmap=None):
    klass = MAP_CLASSES.get(map_name)
    if klass is None:
        raise CliError("unknown map class %r (see zlmdb.MAPS)" % map_name)
    return Layout(slot, key=klass.KEY, value=klass.VALUE, compress=compress, source=source,
                  map_name=map_name, pmap=pmap)


def _map_name_of(klass):
    for base in inspect.getmro(klass):
        if base.__name__ in MAP_CLASSES and MAP_CLASSES[base.__name__] is base:
            return base.__name__
    return None


# ------------------------------------------------------------------ guessing

def _printable(data):
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return text.isprintable()


def _is_container_doc(data, loads):
    try:
        return isinstance(loads(bytes(data)), (dict, list))
    except Exception:
        return False


def guess_layout(ltxn, slot, named=None):
    """A layout guessed from the slot's first records (not counting
    ``named`` databases), or one with nothing known when no guess fits
    every sampled record."""
    prefix = struct.pack(">H", slot)
    keys, values = [], []
    cur = ltxn.cursor()
    if cur.set_range(prefix):
        for k, v in cur.iternext():
            if k[:2] != prefix or len(keys) >= _SAMPLE:
                break
            if named is not None and named.is_named(k, v):
                continue
            keys.append(k[2:])
            values.append(v)
    if not keys:
        return Layout(slot)
    if all(k and _printable(k) for k in keys):
        key = ("string",)
    elif all(len(k) == 16 for k in keys):
        key = ("uuid",)
    elif all(len(k) == 8 for k in keys):
        key = ("uint64",)
    else:
        key = None
    nonempty = [bytes(v) for v in values if v]
    compress = None
    if nonempty and all(v[:1] == b"\x78" for v in nonempty):
        try:
            nonempty = [zlib.decompress(v) for v in nonempty]
            compress = 1
        except zlib.error:
            pass
    value = _guess_value(nonempty)
    if key is None and value is None:
        return Layout(slot)
    return Layout(slot, key=key, value=value, compress=compress if value else None,
                  source="guess")


def _passes(check, data):
    try:
        check(data)
        return True
    except ValueError:
        return False


def _guess_value(values):
    if not values:
        return None
    if all(v[:4] == b"ZNPY" for v in values):
        return "numpy"
    if all(v[:1] in (b"{", b"[") and _is_container_doc(v, _codec.json_loads) for v in values):
        return "json"
    if all(_is_container_doc(v, _codec.cbor_loads) for v in values):
        return "cbor"
    if all(v[:1] == b"\x80" and v[-1:] == b"." and _passes(pickle_summary, v)
           for v in values):
        return "pickle"
    if all(len(v) >= 12 and _passes(flatbuffers_summary, v) for v in values):
        return "flatbuffers"
    if all(len(v) == 16 for v in values):
        return "uuid"
    if all(len(v) == 8 for v in values):
        return "oid"
    if all(_printable(v) for v in values):
        return "string"
    return None


# ------------------------------------------------------------------ registry

def read_registry(ltxn):
    """(records, problems): {slot: record dict} from slot 0, and a list of
    (key bytes, message) for entries that are not registry records."""
    records, problems = {}, []
    prefix = struct.pack(">H", REGISTRY_SLOT)
    cur = ltxn.cursor()
    if not cur.set_range(prefix):
        return records, problems
    for k, v in cur.iternext():
        if k[:2] != prefix:
            break
        if len(k) != 4:
            if bytes(k) != CATALOG_KEY:
                problems.append((k, "registry key has %d bytes, expected 4" % len(k)))
            continue
        slot = struct.unpack(">H", k[2:])[0]
        try:
            rec = _codec.cbor_loads(v)
        except ValueError as exc:
            problems.append((k, "registry record is not CBOR: %s" % exc))
            continue
        if not isinstance(rec, dict) or not isinstance(rec.get("oid"), str):
            problems.append((k, "registry record is not a map with an 'oid' string"))
            continue
        try:
            uuid.UUID(rec["oid"])
        except ValueError:
            problems.append((k, "registry record's oid %r is not a UUID" % rec["oid"]))
            continue
        if slot == REGISTRY_SLOT:
            problems.append((k, "registry record for slot 0, which holds the registry"))
            continue
        if "slot" in rec and rec["slot"] != slot:
            problems.append((k, "registry record says slot %r, its key says %d"
                             % (rec["slot"], slot)))
        records[slot] = rec
    return records, problems


_COMPRESS_BY_NAME = {None: None, "zlib": 1, "snappy": 2}


def read_catalog(ltxn):
    """(entries, problems): {slot: catalog entry} from the catalog record,
    None when the database has none (written by upstream zlmdb, or by a
    zlmdb older than the catalog); problems as for read_registry.  An
    entry that does not describe a layout the command knows is a problem,
    and left out."""
    raw = ltxn.get(CATALOG_KEY)
    if raw is None:
        return None, []
    try:
        doc = _codec.cbor_loads(bytes(raw))
    except ValueError as exc:
        return {}, [(CATALOG_KEY, "the catalog is not CBOR: %s" % exc)]
    if not isinstance(doc, dict):
        return {}, [(CATALOG_KEY, "the catalog is not a CBOR map")]
    entries, problems = {}, []
    for slot, entry in sorted(doc.items(), key=lambda kv: repr(kv[0])):
        why = _catalog_entry_problem(slot, entry)
        if why:
            problems.append((CATALOG_KEY, "catalog entry %r: %s" % (slot, why)))
        else:
            entries[slot] = entry
    return entries, problems


def _catalog_entry_problem(slot, entry):
    if not isinstance(slot, int) or isinstance(slot, bool) or not 0 < slot <= 0xFFFF:
        return "not a slot number"
    if not isinstance(entry, dict):
        return "not a map"
    key, value, map_name = entry.get("key"), entry.get("value"), entry.get("map")
    if not isinstance(key, list) or not key:
        return "no key components"
    try:
        _codec.KeyCodec(tuple(key))
    except (ValueError, TypeError) as exc:
        return "bad key components %r: %s" % (key, exc)
    if value not in VALUE_CODECS:
        return "unknown value codec %r" % (value,)
    if entry.get("compress") not in _COMPRESS_BY_NAME:
        return "unknown compression %r" % (entry.get("compress"),)
    if map_name is not None:
        klass = MAP_CLASSES.get(map_name)
        if klass is None:
            return "unknown map class %r" % (map_name,)
        if list(klass.KEY) != key or klass.VALUE != value:
            return "map class %s has keys %s and values %s, the entry says %s and %s" % (
                map_name, list(klass.KEY), klass.VALUE, key, value)
    indexes = entry.get("indexes", [])
    if not isinstance(indexes, list):
        return "indexes is not a list"
    for ix in indexes:
        if not (isinstance(ix, dict) and isinstance(ix.get("name"), str)
                and isinstance(ix.get("slot"), int) and 0 < ix["slot"] <= 0xFFFF
                and ix["slot"] != slot and isinstance(ix.get("unique"), bool)
                and isinstance(ix.get("nullable"), bool)):
            return "bad index declaration %r" % (ix,)
    return None


def layout_from_catalog(slot, entry):
    layout = Layout(slot, key=entry["key"], value=entry["value"],
                    compress=_COMPRESS_BY_NAME[entry.get("compress")], source="catalog",
                    map_name=entry.get("map"))
    layout.indexes = [zlmdb.IndexSpec(ix["name"], ix["slot"], None, None, ix["nullable"],
                                ix["unique"]) for ix in entry.get("indexes", [])]
    return layout


def data_slots(ltxn, named=None):
    """The slots that hold at least one record, found by jumping from slot
    to slot (one cursor seek each).  Records that are ``named`` databases
    are stepped over: they belong to no slot."""
    slots = []
    cur = ltxn.cursor()
    found = cur.first()
    while found:
        k = cur.key()
        if len(k) < 2 or (named is not None and named.is_named(k, cur.value())):
            found = cur.next()
            continue
        slot = struct.unpack(">H", k[:2])[0]
        slots.append(slot)
        if slot == 0xFFFF:
            break
        found = cur.set_range(struct.pack(">H", slot + 1))
    return slots


# ----------------------------------------------------------- named databases

#: sizeof(MDB_db): the record LMDB keeps in the main database for each named
#: database (flags, depth, page counts, entries, root page).
DB_RECORD_SIZE = 8 + 5 * struct.calcsize("N")
#: named databases the command can open at once (LMDB's max_dbs); each costs
#: about 50 bytes per transaction.
MAX_NAMED_DBS = 4096
DB_FLAGS = ("reverse_key", "dupsort", "integerkey", "integerdup", "dupfixed")

#: LMDB's two data formats, by the LMDB version that names them: (engine
#: major for ``lmdb.open(lib_version=)``, LMDB's data format version)
FORMATS = {"0.9": (0, 1), "1.0": (1, 3)}


def format_of(env):
    """The data format of an open environment's file: "0.9" or "1.0"."""
    return "%d.%d" % tuple(env.lib_version()[:2])


def describe_format(fmt):
    return "LMDB %s format (data format v%d)" % (fmt, FORMATS[fmt][1])


def name_form(name):
    """A named database's name in JSON: the text, or ``{"$bytes": ...}``
    when it is not UTF-8."""
    try:
        return bytes(name).decode("utf-8")
    except UnicodeDecodeError:
        return {"$bytes": b64(name)}


def name_from_form(form):
    """The inverse of :func:`name_form` (CBOR may also give bytes)."""
    if isinstance(form, str):
        return form.encode("utf-8", "surrogatepass")
    if isinstance(form, (bytes, bytearray)):
        return bytes(form)
    if isinstance(form, dict) and len(form) == 1 and "$bytes" in form:
        return unb64(form["$bytes"])
    raise ValueError("a database name is a string or {\"$bytes\": base64}, not %r" % (form,))


def name_text(name):
    """A name for people: the text when printable, else ``hex:...``."""
    try:
        text = bytes(name).decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text and text.isprintable() and not text.startswith("hex:"):
        return text
    return "hex:" + bytes(name).hex()


def name_from_text(text):
    """The inverse of :func:`name_text`: ``hex:...`` or UTF-8 text."""
    if text.startswith("hex:"):
        try:
            return bytes.fromhex(text[4:])
        except ValueError:
            raise CliError("bad hex name: %r" % text) from None
    return os.fsencode(text)


class NamedDb:
    """One named database: its name, handle (valid in the transaction it
    was found in), flags and LMDB statistics."""

    def __init__(self, name, handle, ltxn):
        self.name = name
        self.handle = handle
        self.flags = {f: bool(v) for f, v in handle.flags(ltxn).items() if f in DB_FLAGS}
        self.stat = ltxn.stat(handle)

    @property
    def dupsort(self):
        return self.flags.get("dupsort", False)

    @property
    def bytewise(self):
        """Whether its keys sort as byte strings (so key ranges mean something)."""
        return not (self.flags.get("integerkey") or self.flags.get("reverse_key"))

    def flags_text(self):
        return ",".join(f for f in DB_FLAGS if self.flags.get(f)) or "-"

    def as_dict(self):
        st = self.stat
        pages = st["branch_pages"] + st["leaf_pages"] + st["overflow_pages"]
        return {"name": name_form(self.name), "entries": st["entries"], "depth": st["depth"],
                "branch_pages": st["branch_pages"], "leaf_pages": st["leaf_pages"],
                "overflow_pages": st["overflow_pages"], "bytes": pages * st["psize"],
                "flags": dict(self.flags)}


class NamedDatabases:
    """The named databases of one read transaction's main database.

    A named database is a main-database record with LMDB's F_SUBDATA node
    flag, which the Python API does not show; ``open_db(key,
    create=False)`` is the test: it succeeds for such a key and raises
    IncompatibleError for an ordinary record.  It needs no flags: LMDB
    takes a named database's flags (dupsort, integerkey, ...) from its
    record, so opening with the default flags works for all of them.

    Two facts keep the test cheap: the record's value is always an MDB_db
    (DB_RECORD_SIZE bytes), and LMDB takes names as C strings, so a name
    never holds a NUL byte.  LMDB 0.9 stores the name as the key; LMDB 1.0
    stores it with its terminating NUL, so there the key ends with the one
    NUL it holds.  Every key of slots 0..256 holds a NUL byte that is not
    its last, so ORM databases cost one seek.
    """

    def __init__(self, env, ltxn):
        self.env = env
        self.ltxn = ltxn
        self._nul = env.lib_version()[0] >= 1     # names stored with their NUL
        self._handles = {}       # name -> handle, or None for an ordinary record
        self._all = None

    def name_of(self, key):
        """The name a main-database key holds if it is a named database's
        record, or None when it cannot be one."""
        key = bytes(key)
        if self._nul:
            if not key.endswith(b"\0"):
                return None
            key = key[:-1]
        if not key or b"\0" in key:
            return None
        return key

    def _handle(self, name):
        if name in self._handles:
            return self._handles[name]
        try:
            handle = self.env.open_db(name, txn=self.ltxn, create=False)
        except (lmdb.IncompatibleError, lmdb.NotFoundError):
            # An ordinary record, or no such key (NotFound also when the
            # main database is dupsort or integerkey: it has no named ones).
            handle = None
        except lmdb.DbsFullError:
            raise CliError("the database has more than %d named databases, the most the "
                           "zlmdb command opens" % MAX_NAMED_DBS) from None
        self._handles[name] = handle
        return handle

    def is_named(self, key, value):
        """Whether the main-database record (key, value) is a named database."""
        if len(value) != DB_RECORD_SIZE:
            return False
        name = self.name_of(key)
        return name is not None and self._handle(name) is not None

    def get(self, name):
        """The NamedDb called ``name`` (bytes), or None."""
        name = bytes(name)
        if not name or b"\0" in name:
            return None
        handle = self._handle(name)
        return NamedDb(name, handle, self.ltxn) if handle is not None else None

    def in_range(self, lo=b"", hi=None):
        """Names of the named databases whose records' keys lie in
        lo <= key < hi, ascending."""
        out = []
        cur = self.ltxn.cursor()
        found = cur.set_range(lo)
        while found:
            k = bytes(cur.key())
            if hi is not None and k >= hi:
                break
            nul = k.find(b"\0")
            if nul >= 0 and not (self._nul and nul == len(k) - 1):
                # Every later key that starts with k[:nul + 1] holds a NUL
                # before its last byte too.
                found = cur.set_range(k[:nul] + b"\x01")
                continue
            if self.is_named(k, cur.value()):
                out.append(self.name_of(k))
            found = cur.next()
        return out

    def all(self):
        """Every named database, by name."""
        if self._all is None:
            self._all = [self.get(name) for name in self.in_range()]
        return self._all


# -------------------------------------------------------------------- schema

def _import_schema_module(name):
    if name.endswith(".py") or os.sep in name:
        path = os.path.abspath(name)
        if not os.path.isfile(path):
            raise CliError("schema file not found: %s" % name)
        # The file's own name, so that modules beside it importing it by
        # name get this module, not a second copy declaring the same tables.
        modname = os.path.splitext(os.path.basename(path))[0]
        known = sys.modules.get(modname)
        if known is not None:
            if os.path.abspath(getattr(known, "__file__", "") or "") == path:
                return known
            modname = "_zlmdb_schema_" + re.sub(r"\W", "_", modname)
        directory = os.path.dirname(path)
        if directory not in sys.path:
            sys.path.insert(0, directory)
        spec = importlib.util.spec_from_file_location(modname, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[modname] = module
        spec.loader.exec_module(module)
        return module
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    return importlib.import_module(name)


def _collect_pmaps(obj, out, depth=0):
    if isinstance(obj, PersistentMap):
        if obj not in out:
            out.append(obj)
            for spec in obj.index_specs():
                _collect_pmaps(spec.pmap, out, depth)
        return
    if depth > 1:
        return
    if isinstance(obj, dict):
        items = list(obj.values())
    elif isinstance(obj, (list, tuple)):
        items = list(obj)
    elif hasattr(obj, "__dict__") and not inspect.ismodule(obj) and not inspect.isclass(obj):
        items = list(vars(obj).values())
    else:
        return
    for item in items:
        _collect_pmaps(item, out, depth + 1)


def load_schema(spec, db):
    """Persistent maps the application's schema declares: ``MODULE`` (its
    module-level maps) or ``MODULE:ATTR`` (ATTR, or what calling it returns:
    ``ATTR.attach(db)`` when it has ``attach``, else ``ATTR(db)`` or
    ``ATTR()``).  Importing the module also registers its @zlmdb.table
    classes in zlmdb.TABLES_BY_UUID."""
    modname, _, attr = spec.partition(":")
    try:
        module = _import_schema_module(modname)
        found = []
        if not attr:
            for value in list(vars(module).values()):
                if isinstance(value, PersistentMap):
                    _collect_pmaps(value, found)
            return found
        target = getattr(module, attr, None)
        if target is None:
            raise CliError("schema %s has no attribute %r" % (modname, attr))
        if callable(getattr(target, "attach", None)):
            result = target.attach(db)
        elif callable(target) and not isinstance(target, PersistentMap):
            try:
                params = inspect.signature(target).parameters
            except (TypeError, ValueError):
                params = {}
            required = [p for p in params.values() if p.default is p.empty and
                        p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
            result = target(db) if required else target()
        else:
            result = target
        _collect_pmaps(result, found)
        return found
    except CliError:
        raise
    except Exception as exc:      # the application's code: any error is possible
        raise CliError("cannot load schema %s: %s: %s" % (spec, type(exc).__name__, exc)) \
            from None


# ---------------------------------------------------------------- resolution

class Catalog:
    """Every slot's layout and registry record for one open database."""

    def __init__(self, db, ltxn, schemas=(), maps=()):
        self.db = db
        self.registry, self.registry_problems = read_registry(ltxn)
        self.layouts = {REGISTRY_SLOT: registry_layout()}
        self.notes = []
        self.stored, self.catalog_problems = read_catalog(ltxn)
        if self.stored is None and self.registry:
            self.notes.append("the database has no catalog (written by upstream zlmdb or an "
                              "older zlmdb): layouts not given by --schema or --map are "
                              "guessed")
        self._ltxn = ltxn
        self.named = NamedDatabases(db.env, ltxn)
        for spec in schemas:
            self._add_schema(spec)
        for spec in maps:
            self._add_map(spec)

    def _add_schema(self, spec):
        pmaps = load_schema(spec, self.db)
        # @table classes: the registry maps their oid to a slot.
        by_oid = {rec["oid"]: slot for slot, rec in self.registry.items()}
        for oid, klass in zlmdb.TABLES_BY_UUID.items():
            slot = by_oid.get(str(oid))
            if slot is None or slot in self.layouts:
                continue
            name = _map_name_of(klass)
            if name is None:
                continue
            self.layouts[slot] = layout_for_map(slot, name, "schema",
                                                compress=getattr(klass, "_zlmdb_compress", None))
        for pmap in pmaps:
            slot = pmap.slot
            if not slot:
                continue
            name = _map_name_of(type(pmap))
            if name is None:
                continue
            layout = layout_for_map(slot, name, "schema", compress=pmap.compress,
                                    pmap=pmap)
            known = self.layouts.get(slot)
            if known is not None and known.source == "schema" and known.map_name != name:
                self.notes.append("schema declares slot %d twice (%s and %s); using %s"
                                  % (slot, known.map_name, name, name))
            layout.indexes = pmap.index_specs()
            if known is not None and known.indexes and not layout.indexes:
                layout.indexes = known.indexes
            self.layouts[slot] = layout

    def _add_map(self, spec):
        left, sep, right = spec.partition("=")
        if not sep or not left or not right:
            raise CliError("--map wants SLOT=MapClass[:zlib|:snappy], not %r" % spec)
        name, _, comp = right.partition(":")
        compress = {"": None, "zlib": 1, "snappy": 2}.get(comp, -1)
        if compress == -1:
            raise CliError("unknown compression %r in --map %s (zlib or snappy)" % (comp, spec))
        slot = self.resolve_slot(left, must_exist=False)
        self.layouts[slot] = layout_for_map(slot, name, "map", compress=compress)

    def resolve_slot(self, text, must_exist=True):
        """A slot number from a number, a registered table name or oid."""
        text = str(text)
        if re.fullmatch(r"\d+", text):
            slot = int(text)
            if slot > 0xFFFF:
                raise CliError("slot %d is out of range (0..65535)" % slot)
        else:
            hits = [s for s, rec in self.registry.items()
                    if text in (rec.get("name"), rec.get("oid"))
                    or (isinstance(rec.get("name"), str)
                        and rec["name"].rsplit(".", 1)[-1] == text)]
            if not hits:
                named = self.named.get(os.fsencode(text)) is not None
                raise CliError("unknown table %r: no registry entry has that name or oid%s"
                               % (text, "; %r is a named database: use --db %s" % (text, text)
                                  if named else "; for a named database (written with "
                                  "the low-level API) use --db NAME"))
            if len(hits) > 1:
                raise CliError("table name %r is ambiguous: slots %s"
                               % (text, ", ".join(map(str, sorted(hits)))))
            slot = hits[0]
        if must_exist and slot not in self.registry and slot != REGISTRY_SLOT \
                and not self.holds_records(slot):
            prefix = struct.pack(">H", slot)
            names = self.named.in_range(prefix, prefix_end(prefix))
            raise CliError("unknown slot %d: not in the registry and holds no records%s"
                           % (slot, "; its key range holds the named database%s %s (use "
                              "--db NAME)" % ("" if len(names) == 1 else "s",
                                              ", ".join(map(name_text, names)))
                              if names else ""))
        return slot

    def holds_records(self, slot):
        """Whether the slot holds a record (named databases do not count)."""
        prefix = struct.pack(">H", slot)
        cur = self._ltxn.cursor()
        found = cur.set_range(prefix)
        while found and cur.key()[:2] == prefix:
            if not self.named.is_named(cur.key(), cur.value()):
                return True
            found = cur.next()
        return False

    def layout(self, slot, ltxn=None):
        """The slot's layout (guessed on first use when nothing declares it)."""
        layout = self.layouts.get(slot)
        if layout is None and self.stored and slot in self.stored:
            layout = self.layouts[slot] = layout_from_catalog(slot, self.stored[slot])
        if layout is None:
            layout = guess_layout(ltxn or self._ltxn, slot, self.named)
            self.layouts[slot] = layout
        if layout.registry is None:
            layout.registry = self.registry.get(slot)
        return layout

    def slots(self):
        """Every slot that is registered or holds data, ascending."""
        return sorted(set(self.registry) | set(data_slots(self._ltxn, self.named)))

    def name(self, slot):
        if slot == REGISTRY_SLOT:
            return "(registry)"
        rec = self.registry.get(slot)
        if rec is None:
            layout = self.layouts.get(slot)
            if layout is not None and layout.source == "schema" and layout.map_name:
                return "(%s)" % layout.map_name
            return None
        return rec.get("name")


def prefix_end(prefix):
    """The first key after every key that starts with ``prefix`` (None:
    there is none)."""
    p = bytearray(prefix)
    while p and p[-1] == 0xFF:
        p.pop()
    if not p:
        return None
    p[-1] += 1
    return bytes(p)


def zlmdb_version():
    return zlmdb.__version__


def form_text(form):
    """A form for people: JSON, except raw bytes as ``hex:...`` and
    summaries as ``<kind ...>``."""
    if isinstance(form, dict) and len(form) == 1 and "$bytes" in form:
        return "hex:" + base64.b64decode(form["$bytes"]).hex()
    if isinstance(form, dict) and "$summary" in form:
        kind = form["$summary"]
        if kind == "flatbuffers":
            return "<flatbuffers: %d bytes, %d of %d fields set>" % (
                form["bytes"], form["present"], form["fields"])
        if kind == "numpy":
            return "<numpy: dtype %s, shape %s, %d bytes>" % (
                form["dtype"], tuple(form["shape"]), form["bytes"])
        return "<pickle: protocol %d, %d bytes>" % (form["protocol"], form["bytes"])
    return dumps_line(form)


def dumps_line(obj):
    """One JSON line as the tool writes them (UTF-8, no NaN)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
