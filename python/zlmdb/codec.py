"""zlmdb.codec: the value and key codecs of zlmdb, implemented in C.

* CBOR: :func:`cbor_dumps` writes the bytes ``cbor2.dumps`` writes with its
  default options; :func:`cbor_loads` returns what ``cbor2.loads`` returns.
* JSON: :func:`json_dumps` returns what
  ``json.dumps(obj, separators=(",", ":"), ensure_ascii=False)`` returns,
  :func:`json_dumpb` the same as UTF-8 bytes, and :func:`json_loads` parses
  what ``json.loads`` parses.
* Keys: :class:`KeyCodec` encodes and decodes zlmdb's order-preserving
  (composite) keys.

Neither cbor2 nor json is used at run time (json only to raise
``json.JSONDecodeError`` and for one rare input, see :func:`json_loads`).
The mappings, and where they differ from cbor2/json, are in docs/codecs.md
("Python API").
"""
from zlmdb._cffi import ACTIVE as _ON_CFFI

__all__ = (
    "cbor_dumps", "cbor_loads", "json_dumps", "json_dumpb", "json_loads",
    "KeyCodec", "CBORTag", "CBORSimpleValue", "CBORDecodeError", "undefined",
    "MAX_DEPTH",
)

#: The most containers (arrays, maps, tags, default-hook results) the
#: encoders and decoders accept nested in one another.
MAX_DEPTH = 1000


class CBORTag:
    """A CBOR tagged item whose tag has no Python type (like ``cbor2.CBORTag``).

    ``cbor_loads`` returns one for every tag it does not interpret;
    ``cbor_dumps`` writes one as the tag followed by the value.
    """

    __slots__ = ("tag", "value")

    def __init__(self, tag, value):
        if not isinstance(tag, int) or isinstance(tag, bool) or not 0 <= tag < 2**64:
            raise TypeError("CBORTag.tag must be an int in 0 .. 2**64-1")
        self.tag = tag
        self.value = value

    def __eq__(self, other):
        if isinstance(other, CBORTag):
            return (self.tag, self.value) == (other.tag, other.value)
        return NotImplemented

    def __hash__(self):
        return hash((self.tag, self.value))

    def __repr__(self):
        return "CBORTag(%d, %r)" % (self.tag, self.value)


class CBORSimpleValue:
    """An unassigned CBOR simple value (0..19, 32..255), like cbor2's."""

    __slots__ = ("value",)

    def __init__(self, value):
        if not isinstance(value, int) or not (0 <= value < 20 or 32 <= value < 256):
            raise ValueError("simple value must be in 0..19 or 32..255")
        self.value = value

    def __eq__(self, other):
        if isinstance(other, CBORSimpleValue):
            return self.value == other.value
        if isinstance(other, int) and not isinstance(other, bool):
            return self.value == other
        return NotImplemented

    def __hash__(self):
        return hash(self.value)

    def __repr__(self):
        return "CBORSimpleValue(%d)" % self.value


class _Undefined:
    """The CBOR ``undefined`` value (0xf7); the singleton is :data:`undefined`."""

    __slots__ = ()
    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = object.__new__(cls)
        return cls._instance

    def __repr__(self):
        return "undefined"

    def __bool__(self):
        return False

    def __reduce__(self):
        return "undefined"


undefined = _Undefined()


class CBORDecodeError(ValueError):
    """Malformed CBOR (or a tagged value that cannot be built).

    ``pos`` is the byte offset where the problem was found.
    """

    def __init__(self, msg, pos=None):
        super().__init__(msg)
        self.msg = msg
        self.pos = pos


if _ON_CFFI:
    # PyPy: the CFFI binding of the same libzlmdb readers and writers
    # (python/zlmdb/_cffi/codec_*.py, docs/codecs.md "On PyPy").
    from zlmdb._cffi import codec_cbor as _cbor
    from zlmdb._cffi import codec_json as _json
    from zlmdb._cffi import codec_key as _key

    _cbor.setup(CBORTag, CBORSimpleValue, undefined, CBORDecodeError)
    cbor_dumps = _cbor.cbor_dumps
    cbor_loads = _cbor.cbor_loads
    json_dumps = _json.json_dumps
    json_dumpb = _json.json_dumpb
    json_loads = _json.json_loads
    KeyCodec = _key.KeyCodec
else:
    from zlmdb import _native

    _native._codec_setup(CBORTag, CBORSimpleValue, undefined, CBORDecodeError)

    # The functions are the C functions themselves (no Python call layer);
    # their docstrings live in src/ext/pyconv.c.
    cbor_dumps = _native.cbor_dumps
    cbor_loads = _native.cbor_loads
    json_dumps = _native.json_dumps
    json_dumpb = _native.json_dumpb
    json_loads = _native.json_loads
    KeyCodec = _native.KeyCodec
