"""json_loads' fast path (src/ext/pyconv_json.c, gj_value) against the pull
loop alone (zlmdb._native._json_loads_pull): the same value, of the same
types, or the same error with the same message and position, for what
json_dumps writes, for indented and escaped text, for every form the fast
path hands over, and for damaged input, as bytes and as str."""
import json

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from zlmdb import _native
from zlmdb.codec import json_dumpb, json_loads

from test_codec_cbor_fast import outcome
from test_codec_json import values

pytestmark = pytest.mark.cpython_only


def agree(data):
    got = outcome(json_loads, data)
    assert got == outcome(_native._json_loads_pull, data)
    return got


SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))


@SETTINGS
@given(values)
def test_fast_path_reads_what_json_dumps_writes(v):
    data = json_dumpb(v)
    assert agree(data)[0] == "ok"
    assert agree(data.decode("utf-8", "surrogatepass") if b"\xed" not in data
                 else data)[0] == "ok"
    spaced = json.dumps(v, indent=2, ensure_ascii=True)
    assert agree(spaced)[0] == "ok"


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(values, st.data())
def test_fast_path_agrees_on_damaged_input(v, data):
    buf = bytearray(json.dumps(v, ensure_ascii=data.draw(st.booleans())).encode())
    for _ in range(data.draw(st.integers(1, 3))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        pos = data.draw(st.integers(0, len(buf)))
        if op == "flip" and pos < len(buf):
            buf[pos] = data.draw(st.sampled_from(b'{}[]",:0-1eE.ntfuIN\\ \t\n\x00\xc3\x80'))
        elif op == "cut":
            del buf[pos:pos + data.draw(st.integers(1, 8))]
        else:
            buf[pos:pos] = data.draw(st.binary(min_size=1, max_size=4))
    agree(bytes(buf))
    try:
        text = bytes(buf).decode("utf-8")
    except UnicodeDecodeError:
        return
    agree(text)


@pytest.mark.parametrize("data", [
    b"[1,]", b'{"a":1,}', b"[1 2]", b'{"a" 1}', b'{"a":}', b"{,}", b"[,1]", b"", b"   ",
    b"[1] x", b"[1]]", b'"abc', b'"\\u12"', b'"\\ud800"', b'{"\\ud800":1}', b"NaN",
    b"-Infinity", b"[Infinity, -Infinity, NaN]", b"-", b"01", b"1.", b"1e", b"-0",
    b"1e400", b"123456789012345678901234567890", b"1" * 5000, b"[" * 70 + b"]" * 70,
    b"[" * 1001 + b"]" * 1001, b'\xef\xbb\xbf{"bom":1}', b'{"a":1,"a":2,"b":3}',
    b'{"\xc3\xa9":"\xe2\x82\xac"}', b'"\xff"', b'"\x01"', b"tru", b"nul", b" [ 1 , { } ] ",
])
def test_fast_path_hands_over_what_it_does_not_take(data):
    agree(data)
    try:
        agree(data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
