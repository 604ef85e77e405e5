"""cbor_loads' fast path (src/ext/pyconv.c, gf_value) against the pull
reader alone (zlmdb._native._cbor_loads_pull): the same value, of the same
types, or the same error with the same message and offset, for values
cbor_dumps writes, for every form the fast path hands over, and for damaged
input."""
import datetime
import math
import struct
import uuid

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from zlmdb import _native
from zlmdb.codec import CBORTag, cbor_dumps, cbor_loads

from test_codec_cbor import values

pytestmark = pytest.mark.cpython_only


def outcome(decode, data):
    """("ok", repr of the value with its types) or the error's type, message
    and offset."""
    try:
        v = decode(data)
    except Exception as e:          # noqa: BLE001  (compared, not hidden)
        return type(e), str(e), getattr(e, "pos", None)
    return "ok", typed_repr(v)


def typed_repr(v):
    if isinstance(v, float):
        return "float", "nan" if math.isnan(v) else repr(v)
    if isinstance(v, (list, tuple)):
        return type(v).__name__, [typed_repr(x) for x in v]
    if isinstance(v, dict):
        return "dict", [(typed_repr(k), typed_repr(x)) for k, x in v.items()]
    if isinstance(v, (set, frozenset)):
        return type(v).__name__, sorted(repr(typed_repr(x)) for x in v)
    return type(v).__name__, repr(v)


def agree(data):
    got = outcome(cbor_loads, data)
    assert got == outcome(_native._cbor_loads_pull, data)
    return got


SETTINGS = settings(max_examples=400, deadline=None,
                    suppress_health_check=list(HealthCheck))


@SETTINGS
@given(values)
def test_fast_path_reads_what_cbor_dumps_writes(v):
    assert agree(cbor_dumps(v))[0] == "ok"


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(values, st.data())
def test_fast_path_agrees_on_damaged_input(v, data):
    buf = bytearray(cbor_dumps(v))
    for _ in range(data.draw(st.integers(1, 3))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        pos = data.draw(st.integers(0, len(buf)))
        if op == "flip" and pos < len(buf):
            buf[pos] = data.draw(st.integers(0, 255))
        elif op == "cut":
            del buf[pos:pos + data.draw(st.integers(1, 8))]
        else:
            buf[pos:pos] = data.draw(st.binary(min_size=1, max_size=4))
    agree(bytes(buf))


@pytest.mark.parametrize("data", [
    bytes.fromhex("f93c00"),                    # float16 1.0
    b"\xfa" + struct.pack(">f", 1.5),           # float32
    bytes.fromhex("3bffffffffffffffff"),        # -2**64: beyond int64, pull path
    bytes.fromhex("c249010000000000000000"),    # bignum tag 2
    bytes.fromhex("9f0102ff"),                  # indefinite array
    bytes.fromhex("bf616101ff"),                # indefinite map
    bytes.fromhex("7f62616262636463ff"),        # indefinite text
    bytes.fromhex("a1820102f5"),                # an array as a map key: a tuple
    bytes.fromhex("a1a0f5"),                    # a map as a map key: an error
    bytes.fromhex("f0"),                        # simple value 16
    bytes.fromhex("f818"),                      # simple value 24 (two bytes): malformed
    bytes.fromhex("d9d9f701"),                  # self-describe tag
    bytes.fromhex("d82550" + "00" * 15),        # UUID over 15 bytes: an error
    cbor_dumps(CBORTag(0, "2020-01-02T03:04:05.5+01:00")),   # not cbor2's form
    cbor_dumps(CBORTag(0, "2020-02-30T03:04:05Z")),          # cbor2's form, no such day
    cbor_dumps(CBORTag(0, 5)),                               # tag 0 over an int
    cbor_dumps([1, 2]) + b"\x00",               # trailing bytes
    cbor_dumps({"a": [1, {"b": b"x"}]})[:-2],   # truncated
    b"\x81" * 70 + b"\x00",                     # nesting beyond the fast path's 64
    b"\x81" * 1001 + b"\x00",                   # beyond MAX_DEPTH
    bytes.fromhex("f7"),                        # undefined
    cbor_dumps(uuid.UUID(int=2**127 + 1)),
    cbor_dumps(datetime.datetime(2026, 12, 7, 1, 2, 3, 456, tzinfo=datetime.timezone.utc)),
    cbor_dumps({1: "a", -2: "b", b"k": 1.5, 2.5: None, None: True, "é": "ü"}),
    b"",
])
def test_fast_path_hands_over_what_it_does_not_take(data):
    agree(data)
