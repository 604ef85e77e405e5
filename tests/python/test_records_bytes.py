"""Declared records write exactly the marshal path's bytes: for random
record types and values, RecordCodec.encode(obj) equals cbor_dumps and
cbor2.dumps (json.dumps for JSON) of the dict {field: value} in declaration
order, and decode gives back an object that encodes to the same bytes."""
import dataclasses
import datetime
import json
import struct
import typing
import uuid

import cbor2
import pytest
from hypothesis import given, settings, strategies as st

from zlmdb import codec
from zlmdb._records import record_codec

_text = st.text(max_size=12)
_json_any = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=6)

SCALARS = {
    "int": (int, st.integers()),
    "float": (float, st.floats()),
    "str": (str, st.text()),
    "bool": (bool, st.booleans()),
    "any": (typing.Any, _json_any),
}
CBOR_ONLY = {
    "bytes": (bytes, st.binary(max_size=40)),
    "uuid": (uuid.UUID, st.uuids()),
    "datetime": (datetime.datetime, st.datetimes(timezones=st.sampled_from(
        [datetime.timezone.utc, datetime.timezone(datetime.timedelta(hours=-5, minutes=-30))]))),
    "date": (datetime.date, st.dates()),
}


def type_and_values(json_only, depth=0):
    """A strategy of (annotation, value strategy) pairs."""
    base = dict(SCALARS, **({} if json_only else CBOR_ONLY))
    leaves = st.sampled_from(sorted(base)).map(lambda k: base[k])
    if depth >= 2:
        return leaves

    def wrap(pair, how):
        ann, vals = pair
        if how == "list":
            return list[ann], st.lists(vals, max_size=4)
        if how == "dict":
            return dict[str, ann], st.dictionaries(_text, vals, max_size=4)
        return typing.Optional[ann], st.none() | vals

    return st.tuples(type_and_values(json_only, depth + 1),
                     st.sampled_from(["list", "dict", "optional"])).map(
        lambda t: wrap(*t)) | leaves


@st.composite
def records(draw, json_only):
    pairs = draw(st.lists(type_and_values(json_only), min_size=1, max_size=7))
    names = ["f%d" % i for i in range(len(pairs))]
    slots = draw(st.booleans())
    cls = dataclasses.make_dataclass("R", [(n, ann) for n, (ann, _v) in zip(names, pairs)],
                                     slots=slots)
    values = [draw(v) for _ann, v in pairs]
    return cls, cls(*values), dict(zip(names, values))


@settings(max_examples=300, deadline=None)
@given(records(json_only=False))
def test_records_bytes__cbor_equals_marshal_path_and_cbor2(rec):
    cls, obj, as_dict = rec
    c = record_codec(cls, "cbor")
    data = c.encode(obj)
    assert data == codec.cbor_dumps(as_dict)
    assert data == cbor2.dumps(as_dict)
    back = c.decode(data)
    assert type(back) is cls
    assert c.encode(back) == data


@settings(max_examples=300, deadline=None)
@given(records(json_only=True))
def test_records_bytes__json_equals_json_dumps(rec):
    cls, obj, as_dict = rec
    c = record_codec(cls, "json")
    data = c.encode(obj)
    assert data == json.dumps(as_dict, separators=(",", ":"), ensure_ascii=False).encode()
    assert data == codec.json_dumpb(as_dict)
    back = c.decode(data)
    assert type(back) is cls
    assert c.encode(back) == data


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=60))
def test_records_bytes__random_input_never_crashes(data):
    @dataclasses.dataclass
    class R:
        a: int
        b: list[str]
        c: dict[str, float] | None = None
    for fmt in ("cbor", "json"):
        try:
            r = record_codec(R, fmt).decode(data)
        except ValueError:      # RecordDecodeError
            continue
        assert type(r) is R


@dataclasses.dataclass
class _Fuzzed:
    a: int
    b: list[str]
    u: uuid.UUID
    when: datetime.datetime
    rest: dict[str, typing.Any]
    c: dict[str, float] | None = None


_FUZZ_SEED = _Fuzzed(5, ["x", "yz"], uuid.UUID(int=7),
                     datetime.datetime(2020, 1, 2, tzinfo=datetime.timezone.utc),
                     {"k": [1, None, "s", b"b"]}, {"f": 1.5})


@settings(max_examples=500, deadline=None)
@given(st.data())
def test_records_bytes__mutated_records_never_crash(data):
    """Valid records with bytes changed, cut or inserted: a record or a
    ValueError (RecordDecodeError, or the generic decoders' errors for the
    Any field), never a crash or another exception."""
    c = record_codec(_Fuzzed, "cbor")
    buf = bytearray(c.encode(_FUZZ_SEED))
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        pos = data.draw(st.integers(0, len(buf)))
        if op == "flip" and pos < len(buf):
            buf[pos] = data.draw(st.integers(0, 255))
        elif op == "cut":
            del buf[pos:pos + data.draw(st.integers(1, 8))]
        else:
            buf[pos:pos] = data.draw(st.binary(min_size=1, max_size=4))
    try:
        r = c.decode(bytes(buf))
    except ValueError:
        return
    assert type(r) is _Fuzzed


@settings(max_examples=2000, deadline=None)
@given(st.floats(allow_nan=False) |
       st.tuples(st.integers(-10**20, 10**20), st.integers(0, 25)).map(
           lambda t: "%s.%s" % (t[0], str(abs(t[1]) * 7 ** t[1])[:t[1] + 1])))
def test_records_bytes__json_floats_read_as_float_reads_them(x):
    """The exact fast path for short decimals, the general one beyond."""
    @dataclasses.dataclass
    class F:
        x: float
    text = x if isinstance(x, str) else repr(x)      # "12.345..." or "1e-05", "inf"
    data = b'{"x":' + text.replace("inf", "Infinity").encode() + b"}"
    got = record_codec(F, "json").decode(data).x
    assert repr(got) == repr(json.loads(data)["x"])


def _outcome(codec_, decode, data):
    """What decoding gives: ("ok", the record encoded again, its fields) or
    the error's type and message."""
    try:
        r = decode(data)
    except Exception as e:          # noqa: BLE001  (compared, not hidden)
        return type(e), str(e), None
    return "ok", codec_.encode(r), dataclasses.asdict(r)


@settings(max_examples=1500, deadline=None)
@given(st.data())
def test_records_bytes__fast_path_agrees_with_the_pull_reader(data):
    """The CBOR fast path (definite lengths, the declared kinds) gives up on
    anything else and the pull reader reads the value again: for valid and
    mutated records, decode() gives what the pull reader alone gives, the
    same record or the same error and message."""
    c = record_codec(_Fuzzed, "cbor")
    buf = bytearray(c.encode(_FUZZ_SEED))
    for _ in range(data.draw(st.integers(0, 3))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        pos = data.draw(st.integers(0, len(buf)))
        if op == "flip" and pos < len(buf):
            buf[pos] = data.draw(st.integers(0, 255))
        elif op == "cut":
            del buf[pos:pos + data.draw(st.integers(1, 8))]
        else:
            buf[pos:pos] = data.draw(st.binary(min_size=1, max_size=4))
    assert _outcome(c, c.decode, bytes(buf))[:2] == _outcome(c, c._decode_pull, bytes(buf))[:2]


@settings(max_examples=300, deadline=None)
@given(records(json_only=False))
def test_records_bytes__fast_path_reads_what_the_encoder_writes(rec):
    cls, obj, _fields = rec
    c = record_codec(cls, "cbor")
    data = c.encode(obj)
    assert _outcome(c, c.decode, data)[:2] == _outcome(c, c._decode_pull, data)[:2] == \
        ("ok", data)


def _cbor_text_indefinite(s):
    return b"\x7f" + cbor2.dumps(s[:2]) + cbor2.dumps(s[2:]) + b"\xff"


@dataclasses.dataclass
class _Forms:
    i: int
    f: float
    s: str
    tags: list[str]
    when: datetime.datetime
    o: typing.Optional[int] = None


@pytest.mark.parametrize("fields, expect", [
    # forms the encoders never write, which only the pull reader reads
    ({"i": 1, "f": cbor2.CBORTag(55799, 1.5)}, ValueError),
    ({"i": 1, "f": 2.0}, 2.0),                                       # as float16 on disk
    ({"i": 1, "f": 100000.5}, 100000.5),                             # as float32 on disk
    ({"i": 1, "f": 7}, 7),                                           # an int for a float
    ({"i": -2**63, "f": 1.0}, None),                                 # the widest negative
    ({"i": -2**64, "f": 1.0}, None),                                 # NEGINT beyond int64
    ({"i": 2**70, "f": 1.0}, None),                                  # a bignum (tag 2)
    ({"i": 1, "f": 1.0, "when": "2020-01-02T03:04:05.123+00:00"}, None),   # fromisoformat
    ({"i": 1, "f": 1.0, "when": "2020-02-30T03:04:05Z"}, ValueError),      # out of range
    ({"i": 1, "f": 1.0, "o": None}, None),
    ({"i": True, "f": 1.0}, ValueError),
])
def test_records_bytes__fast_path_hands_over_other_forms(fields, expect):
    c = record_codec(_Forms, "cbor")
    full = {"i": 0, "f": 0.0, "s": "abc", "tags": ["x"],
            "when": datetime.datetime(2020, 1, 2, tzinfo=datetime.timezone.utc)}
    full.update(fields)
    if isinstance(full["when"], str):
        full["when"] = cbor2.CBORTag(0, full["when"])
    data = cbor2.dumps(full)
    if fields.get("f") in (2.0, 100000.5):     # cbor2 writes doubles: shorten by hand
        double = b"\xfb" + struct.pack(">d", full["f"])
        short = (b"\xf9\x40\x00" if full["f"] == 2.0 else b"\xfa" + struct.pack(">f", full["f"]))
        assert data.count(double) == 1
        data = data.replace(double, short)
    got = _outcome(c, c.decode, data)
    assert got[:2] == _outcome(c, c._decode_pull, data)[:2]
    if expect is ValueError:
        assert got[0] is not "ok" and issubclass(got[0], ValueError)
    else:
        assert got[0] == "ok"
        if expect is not None:
            assert got[2]["f"] == expect


def test_records_bytes__indefinite_lengths_are_read_by_the_pull_reader():
    c = record_codec(_Forms, "cbor")
    when = cbor2.dumps(datetime.datetime(2020, 1, 2, tzinfo=datetime.timezone.utc))
    data = (b"\xbf" + cbor2.dumps("i") + cbor2.dumps(3) + cbor2.dumps("f") + cbor2.dumps(0.5)
            + cbor2.dumps("s") + _cbor_text_indefinite("hello") + cbor2.dumps("tags")
            + b"\x9f" + cbor2.dumps("a") + cbor2.dumps("b") + b"\xff"
            + cbor2.dumps("when") + when + b"\xff")
    r = c.decode(data)
    assert (r.i, r.f, r.s, r.tags, r.o) == (3, 0.5, "hello", ["a", "b"], None)
    assert _outcome(c, c.decode, data)[:2] == _outcome(c, c._decode_pull, data)[:2]


@dataclasses.dataclass
class _JsonFuzzed:
    a: int
    f: float
    b: list[str]
    rest: dict[str, typing.Any]
    inner: typing.Optional[dict[str, list[int]]] = None


_JSON_SEED = _JsonFuzzed(-5, 2.5, ["x", "y\\z\"", "\u00e9\u2028"],
                         {"k": [1, None, "s", 1e300, {"q": True}]}, {"n": [1, 2]})


@settings(max_examples=1500, deadline=None)
@given(st.data())
def test_records_bytes__json_fast_path_agrees_with_the_pull_reader(data):
    """The same for JSON: valid and mutated records (with whitespace put
    between tokens, too) decode to the same record or the same error."""
    c = record_codec(_JsonFuzzed, "json")
    buf = bytearray(c.encode(_JSON_SEED))
    for _ in range(data.draw(st.integers(0, 3))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert", "space"]))
        pos = data.draw(st.integers(0, len(buf)))
        if op == "flip" and pos < len(buf):
            buf[pos] = data.draw(st.sampled_from(b'{}[]",:0-1eE.ntfuIN\\ \t\x00\xc3'))
        elif op == "cut":
            del buf[pos:pos + data.draw(st.integers(1, 8))]
        elif op == "space":
            buf[pos:pos] = data.draw(st.sampled_from([b" ", b"\n\t", b"\r"]))
        else:
            buf[pos:pos] = data.draw(st.binary(min_size=1, max_size=4))
    assert _outcome(c, c.decode, bytes(buf))[:2] == _outcome(c, c._decode_pull, bytes(buf))[:2]


@settings(max_examples=300, deadline=None)
@given(records(json_only=True))
def test_records_bytes__json_fast_path_reads_what_the_encoder_writes(rec):
    cls, obj, _fields = rec
    c = record_codec(cls, "json")
    data = c.encode(obj)
    assert _outcome(c, c.decode, data)[:2] == _outcome(c, c._decode_pull, data)[:2] == \
        ("ok", data)
    spaced = json.dumps(json.loads(data), indent=1, ensure_ascii=True).encode()
    assert _outcome(c, c.decode, spaced)[:2] == _outcome(c, c._decode_pull, spaced)[:2] == \
        ("ok", data)
