"""The declared records fuzz_record_decode decodes into, and its seed corpus.

fuzz/record_decode_fuzz.c imports this module (with the package from the
source tree) and decodes every input through ``MAPS[input[0] & 1]``: a
MapUuidCbor and a MapUuidJson whose records, between them, hold every field
kind a declared record may have.  Run as a script, it writes the seed corpus
(fuzz/corpus/record_decode): valid records of both maps, and damaged ones.

    PYTHONPATH=python .venv/bin/python fuzz/record_decode_setup.py fuzz/corpus/record_decode
"""

import dataclasses
import datetime
import math
import os
import sys
import typing
import uuid

import zlmdb
from zlmdb import _native


@dataclasses.dataclass
class Inner:
    a: int
    b: str | None = None


@dataclasses.dataclass(slots=True)
class CborRecord:
    i: int
    f: float
    s: str
    raw: bytes
    flag: bool
    u: uuid.UUID
    when: datetime.datetime
    day: datetime.date
    ints: list[int]
    scores: dict[str, float]
    nick: str | None
    anything: typing.Any
    inner: Inner
    inners: list[Inner]
    extra: int = 7


class JsonRecord:
    __slots__ = ("i", "f", "s", "flag", "tags", "doc", "maybe", "inner", "rest")
    i: int
    f: float
    s: str
    flag: bool
    tags: list[str]
    doc: dict[str, typing.Any]
    maybe: int | None
    inner: Inner
    rest: list[Inner]


MAPS = (zlmdb.MapUuidCbor(1, record=CborRecord), zlmdb.MapUuidJson(2, record=JsonRecord))
#: what decoding may raise; anything else is a finding
ALLOWED = (ValueError, RecursionError, MemoryError)


def _outcome(codec, decode, value):
    try:
        rec = decode(value)
    except ALLOWED as e:
        return "raises", type(e), str(e)
    try:
        return "decodes", codec.encode(rec)
    except (TypeError, ValueError, RecursionError) as e:    # what an Any field may hold
        return "decodes to what does not encode", type(e), str(e)


def pull_agrees(which, value):
    """Whether MAPS[which]'s decode() (with record.c's fast path) and the
    pull reader alone (_decode_pull) give the same record or the same error,
    and whether cbor_loads (json_loads for the JSON map) and its pull reader
    alone agree on the same bytes."""
    pmap = MAPS[which]
    if pmap._record_codec is None:          # the map makes its codec on first use
        try:
            pmap.decode_value(value)
        except ALLOWED:
            pass
    codec = pmap._record_codec
    if _outcome(codec, codec.decode, value) != _outcome(codec, codec._decode_pull, value):
        return False
    # the generic decoder's own fast path against its pull reader, on the
    # same bytes
    if which == 0:
        return _loads_outcome(zlmdb.codec.cbor_loads, value) == \
            _loads_outcome(_native._cbor_loads_pull, value)
    return _loads_outcome(zlmdb.codec.json_loads, value) == \
        _loads_outcome(_native._json_loads_pull, value)


def _loads_outcome(loads, value):
    try:
        return "decodes", repr(loads(value))
    except ALLOWED as e:
        return "raises", type(e), str(e), getattr(e, "pos", None)


def seeds():
    """(name, bytes) pairs: the map selector byte, then a stored value."""
    utc = datetime.timezone.utc
    cbor = [
        CborRecord(1, 0.5, "ada", b"\x00\xff", True, uuid.UUID(int=1),
                   datetime.datetime(2026, 12, 7, 12, 0, tzinfo=utc), datetime.date(2026, 1, 2),
                   [1, -2, 2**63], {"x": 1.5, "ünï": -0.0}, None, {"k": [1, "v", None]},
                   Inner(3, "c"), [Inner(1), Inner(2, "b")]),
        CborRecord(-(2**64), math.inf, "", b"", False, uuid.UUID(int=2**128 - 1),
                   datetime.datetime(1, 1, 1, tzinfo=datetime.timezone(datetime.timedelta(hours=-5))),
                   datetime.date(9999, 12, 31), [], {}, "nick", 3.25, Inner(0), [], extra=-1),
    ]
    json = [
        _json_record(1, 0.1, "ada", True, ["a", "é"], {"n": [1, 2.5, None, True]}, None,
                     Inner(4, "d"), [Inner(5)]),
        _json_record(-(2**70), 1e300, "\u2028\"\\", False, [], {}, 42, Inner(-1, None), []),
    ]
    out = []
    for n, rec in enumerate(cbor):
        data = MAPS[0].encode_value(rec)
        out += [("cbor_%d" % n, b"\x00" + data), ("cbor_%d_cut" % n, b"\x00" + data[:-3])]
    for n, rec in enumerate(json):
        data = MAPS[1].encode_value(rec)
        out += [("json_%d" % n, b"\x01" + data), ("json_%d_cut" % n, b"\x01" + data[:-3])]
    out += [("cbor_unknown_key", b"\x00" + zlmdb.codec.cbor_dumps({"zz": 1})),
            ("json_wrong_type", b"\x01" + b'{"i":"1"}'),
            ("json_missing", b"\x01" + b'{"i":1}')]
    return out


if __name__ == "__main__":
    target = sys.argv[1]
    os.makedirs(target, exist_ok=True)
    for name, data in seeds():
        with open(os.path.join(target, name), "wb") as f:
            f.write(data)
