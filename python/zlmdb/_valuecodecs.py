"""The value codecs of the persistent maps, by name: one table, used by the
maps (zlmdb._pmap) and by the ``zlmdb`` command alike, so both read a
stored value the same way.

``VALUE_CODECS[name] = (encode(value) -> bytes, decode(bytes) -> value)``
for the codecs that need nothing from the map's declaration.  The object
codecs (cbor, json with the map's marshal/unmarshal, flatbuffers, numpy)
are built per map; ``DOCUMENT_CODECS`` holds cbor and json for plain
documents (no marshal), as the command shows them.
"""
import functools
import pickle
import struct
import uuid

from zlmdb import codec as _codec

__all__ = ("VALUE_CODECS", "DOCUMENT_CODECS")


def _numpy():
    import numpy
    return numpy


def _ts_to_bytes(value):
    """A timestamp (datetime64, or int nanoseconds) as big-endian int64."""
    if isinstance(value, int):
        ns = value
    else:
        np = _numpy()
        ns = int(np.datetime64(value, "ns").astype("int64"))
    return struct.pack(">q", ns)


def _ts_from_bytes(data):
    ns = struct.unpack(">q", data)[0]
    try:
        np = _numpy()
    except ImportError:
        return ns
    return np.datetime64(ns, "ns")


def _fixed(n):
    def enc(value):
        if value is None:
            return b"\x00" * n
        if not isinstance(value, (bytes, bytearray)) or len(value) != n:
            raise ValueError("value must be %d bytes, not %r" % (n, type(value).__name__))
        return bytes(value)

    def dec(data):
        if len(data) != n:
            raise ValueError("stored value has %d bytes, expected %d" % (len(data), n))
        return bytes(data)
    return enc, dec


def _uuid_enc(value):
    if value is None:
        return b"\x00" * 16
    if not isinstance(value, uuid.UUID):
        raise TypeError("value must be a uuid.UUID, not %s" % type(value).__name__)
    return value.bytes


def _uuid_dec(data):
    return uuid.UUID(bytes=bytes(data))


def _oid_enc(value):
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 2 ** 64 - 1:
        raise ValueError("value must be an unsigned 64-bit int, not %r" % (value,))
    return struct.pack(">Q", value)


def _set_codec(width, enc_one, dec_one):
    def enc(values):
        return b"".join(enc_one(v) for v in values)

    def dec(data):
        if len(data) % width:
            raise ValueError("stored set has %d bytes, not a multiple of %d"
                             % (len(data), width))
        # Every element (upstream read back only the first one).
        return {dec_one(bytes(data[i:i + width])) for i in range(0, len(data), width)}
    return enc, dec


def _b20ts_enc(value):
    b20, ts = value
    return _fixed(20)[0](b20) + _ts_to_bytes(ts if ts is not None else 0)


def _b20ts_dec(data):
    if len(data) != 28:
        raise ValueError("stored value has %d bytes, expected 28" % len(data))
    return bytes(data[:20]), _ts_from_bytes(bytes(data[20:]))


def _scalar(component):
    """A plain value stored exactly as a one-component key of that type
    (UUID: 16 bytes, oid: big-endian uint64, string: UTF-8, ...), so the
    C key codec serves as the value codec.  None stores the zero value, as
    upstream does."""
    kc = _codec.KeyCodec(component)
    return (functools.partial(kc.encode, null_as_zero=True, lenient=True, value=True),
            kc.decode)


VALUE_CODECS = {
    # name: (encode(value) -> bytes, decode(bytes) -> value); the object
    # codecs (cbor, json, pickle, flatbuffers, numpy) are built per map.
    "uuid": _scalar("uuid"),
    "string": _scalar("string"),
    "oid": _scalar("uint64"),
    "timestamp": _scalar("timestamp"),
    "bytes16": _scalar("bytes16"),
    "bytes20": _scalar("bytes20"),
    "bytes32": _scalar("bytes32"),
    "bytes20timestamp": (_b20ts_enc, _b20ts_dec),
    "uuidset": _set_codec(16, _uuid_enc, _uuid_dec),
    "oidset": _set_codec(8, _oid_enc, lambda d: struct.unpack(">Q", d)[0]),
    "pickle": (lambda v: pickle.dumps(v, protocol=2), lambda d: pickle.loads(d)),
}

#: cbor and json values as plain documents (the maps add marshal/unmarshal)
DOCUMENT_CODECS = {
    "cbor": (_codec.cbor_dumps, _codec.cbor_loads),
    "json": (_codec.json_dumpb, _codec.json_loads),
}
