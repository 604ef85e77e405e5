"""zlmdb.codec.KeyCodec: round trips, order preservation (sorted by value ==
sorted by encoded bytes), composite keys, prefixes, null_as_zero and errors."""
import datetime
import struct
import uuid

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from zlmdb.codec import KeyCodec

try:
    import numpy
except ImportError:  # numpy is optional
    numpy = None

UTC = datetime.timezone.utc
GENERATED = [0]


def FAST(n):
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


# component name -> (strategy of values, natural sort key)
COMPONENTS = {
    "uint8": (st.integers(0, 2**8 - 1), None),
    "uint16": (st.integers(0, 2**16 - 1), None),
    "uint32": (st.integers(0, 2**32 - 1), None),
    "uint64": (st.integers(0, 2**64 - 1), None),
    "oid": (st.integers(0, 2**53), None),
    "uuid": (st.uuids(), None),
    "timestamp": (st.integers(0, 2**63 - 1), None),
    "bytes16": (st.binary(min_size=16, max_size=16), None),
    "bytes20": (st.binary(min_size=20, max_size=20), None),
    "bytes32": (st.binary(min_size=32, max_size=32), None),
    "string": (st.text(), None),
}


def codec(*names):
    return KeyCodec(names, timestamp="int")


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_round_trip_and_order_per_type(name):
    strat = COMPONENTS[name][0]
    kc = codec(name)

    @FAST(60)
    @given(st.lists(strat, min_size=20, max_size=20))
    def check(vals):
        encs = [kc.encode(v) for v in vals]
        for v, e in zip(vals, encs):
            assert kc.decode(e) == v
            if kc.fixed_size is not None:
                assert len(e) == kc.fixed_size
        assert sorted(vals) == [kc.decode(e) for e in sorted(encs)]
        GENERATED[0] += len(vals)

    check()


@FAST(300)
@given(st.lists(st.tuples(st.uuids(), st.integers(0, 2**63 - 1), st.text(max_size=6)),
                min_size=20, max_size=20))
def test_composite_uuid_timestamp_string_order(keys):
    kc = codec("uuid", "timestamp", "string")
    encs = [kc.encode(k) for k in keys]
    assert [kc.decode(e) for e in encs] == keys
    assert sorted(keys) == [kc.decode(e) for e in sorted(encs)]
    for k, e in zip(keys, encs):
        assert e.startswith(kc.encode_prefix(k[:1]))
        assert e.startswith(kc.encode_prefix(k[:2]))
        assert kc.encode_prefix(k) == e
    GENERATED[0] += len(keys)


@FAST(100)
@given(st.lists(st.tuples(st.integers(0, 2**16 - 1), st.integers(0, 2**53),
                          st.binary(min_size=20, max_size=20), st.integers(0, 255)),
                min_size=20, max_size=20))
def test_composite_fixed_width_order(keys):
    kc = codec("uint16", "oid", "bytes20", "uint8")
    encs = [kc.encode(k) for k in keys]
    assert all(len(e) == 2 + 8 + 20 + 1 == kc.fixed_size for e in encs)
    assert sorted(keys) == [kc.decode(e) for e in sorted(encs)]
    GENERATED[0] += len(keys)


def test_enough_values_were_generated():
    assert GENERATED[0] >= 10_000 or GENERATED[0] == 0


# ------------------------------------------------------------------ layouts

def test_known_bytes():
    u = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert codec("uuid").encode(u) == u.bytes
    assert codec("oid").encode(5) == struct.pack(">Q", 5)
    assert codec("uint16le").encode(0x0102) == b"\x02\x01"
    assert codec("timestamp").encode(1) == struct.pack(">q", 1)
    assert codec("uuid", "string").encode((u, "é")) == u.bytes + "é".encode()
    assert codec("string", "string").encode(("a", "b")) == b"a\x00b"
    assert codec("string", "string", "string").decode(b"a\x00b\x00") == ("a", "b", "")


def test_string_then_fixed_decodes_from_the_tail():
    kc = codec("string", "oid")
    e = kc.encode(("hello world, longer than 8", 7))
    assert kc.decode(e) == ("hello world, longer than 8", 7)


def test_single_component_takes_bare_value_and_tuple_descriptor_forms():
    assert KeyCodec("oid").encode(1) == KeyCodec(("oid",)).encode(1)
    assert KeyCodec(["oid"]).decode(b"\x00" * 7 + b"\x01") == 1
    assert KeyCodec(("uuid", "oid")).components == ("uuid", "oid")
    assert KeyCodec("string").fixed_size is None
    assert "KeyCodec" in repr(KeyCodec("oid"))


def test_prefixes():
    kc = codec("string", "string")
    assert kc.encode_prefix(("a",)) == b"a\x00"
    assert not kc.encode(("ab", "c")).startswith(kc.encode_prefix(("a",)))
    assert codec("uuid", "oid").encode_prefix(()) == b""
    with pytest.raises(ValueError):
        codec("string", "oid").encode_prefix(("a",))
    with pytest.raises(ValueError):
        codec("uuid").encode_prefix((uuid.uuid4(), 1))


def test_null_as_zero():
    u = uuid.UUID(int=7)
    kc = codec("uuid", "timestamp")
    assert kc.encode((u, None), null_as_zero=True) == kc.encode((u, 0))
    assert kc.encode((None, None), null_as_zero=True) == b"\x00" * 24
    assert codec("string").encode(None, null_as_zero=True) == b""
    with pytest.raises(ValueError):
        kc.encode((u, None))


# --------------------------------------------------------------- timestamps

def test_timestamp_inputs():
    kc = codec("timestamp")
    ns = 1_700_000_000_123_456_000
    aware = datetime.datetime.fromtimestamp(ns / 1e9, UTC).replace(microsecond=123456)
    assert kc.encode(aware) == kc.encode(ns)
    other_tz = aware.astimezone(datetime.timezone(datetime.timedelta(hours=5, minutes=30)))
    assert kc.encode(other_tz) == kc.encode(ns)
    assert kc.encode(aware.replace(tzinfo=None)) == kc.encode(ns)  # naive = UTC
    assert kc.encode(datetime.datetime(1970, 1, 1)) == bytes(8)
    with pytest.raises(ValueError):
        kc.encode(-1)
    assert kc.encode(-1, lenient=True) == b"\xff" * 8
    assert kc.decode(b"\xff" * 8) == -1
    with pytest.raises(ValueError):
        kc.encode(datetime.datetime(1969, 12, 31, tzinfo=UTC))
    with pytest.raises(ValueError):
        kc.encode(2**63)
    with pytest.raises(TypeError, match="timestamp"):
        kc.encode(1.5)


def test_timestamp_decode_modes():
    ns = 1_700_000_000_123_456_789
    data = KeyCodec("timestamp").encode(ns)
    assert KeyCodec("timestamp", timestamp="int").decode(data) == ns
    dt = KeyCodec("timestamp", timestamp="datetime").decode(data)
    assert dt == datetime.datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=UTC)
    auto = KeyCodec("timestamp").decode(data)
    if numpy is None:
        assert auto == ns
    else:
        assert auto == numpy.datetime64(ns, "ns")
    with pytest.raises(ValueError):
        KeyCodec("timestamp", timestamp="nope")


@pytest.mark.skipif(numpy is None, reason="numpy not installed")
def test_numpy_datetime64():
    kc = KeyCodec("timestamp", timestamp="numpy")
    ns = 1_700_000_000_123_456_789
    for v in [numpy.datetime64(ns, "ns"), numpy.datetime64(ns // 1000, "us")]:
        e = kc.encode(v)
        assert kc.decode(e) == v.astype("datetime64[ns]")
    assert kc.encode(numpy.datetime64("2020-01-01")) == kc.encode(1577836800 * 10**9)
    with pytest.raises(ValueError):
        kc.encode(numpy.datetime64("NaT"))
    with pytest.raises(ValueError):
        kc.encode(numpy.datetime64("1960-01-01"))



@pytest.mark.skipif(numpy is None, reason="numpy not installed")
@pytest.mark.parametrize("count,unit", [
    (1_700_000_000_123_456_789, "ns"), (1_700_000_000_123_456, "us"), (1_700_000_000_123, "ms"),
    (1_700_000_000, "s"), (28_333_333, "m"), (472_222, "h"), (19_675, "D"), (2_810, "W"),
    (3, "10s"), (7, "25ms"), (54, "M"), (53, "Y"), (12_345_678, "ps"), (0, "ns")])
def test_numpy_datetime64_every_unit_encodes_as_numpy_converts_it(count, unit):
    # Units from weeks to nanoseconds are read from the scalar in place; the
    # others go through numpy.  Both must give numpy's own nanoseconds.
    kc = KeyCodec("timestamp", timestamp="numpy")
    v = numpy.datetime64(count, unit)
    want = int(numpy.datetime64(v, "ns").astype("int64"))
    assert kc.encode(v) == kc.encode(want) == want.to_bytes(8, "big")


@pytest.mark.skipif(numpy is None, reason="numpy not installed")
def test_numpy_datetime64_out_of_range_is_refused_like_before():
    kc = KeyCodec("timestamp", timestamp="numpy")
    for v in [numpy.datetime64(-1, "s"), numpy.datetime64("NaT", "ns")]:
        with pytest.raises(ValueError, match="before 1970"):
            kc.encode(v)


# ------------------------------------------------------------------ errors

@pytest.mark.parametrize("names,key,exc,match", [
    (("uint8",), 256, ValueError, "above 255"),
    (("uint8",), -1, ValueError, "range"),
    (("uint64",), 2**64, ValueError, "range"),
    (("oid",), 2**53 + 1, ValueError, None),
    (("uint8",), "1", TypeError, "uint8"),
    (("uint8",), 1.0, TypeError, "uint8"),
    (("uuid",), "not a uuid", TypeError, "uuid"),
    (("uuid",), b"\x00" * 16, TypeError, "uuid"),
    (("bytes16",), b"\x00" * 15, ValueError, None),
    (("bytes32",), "x" * 32, TypeError, "bytes32"),
    (("string",), b"abc", TypeError, "string"),
    (("string",), "\ud800", UnicodeEncodeError, None),
    (("uuid", "oid"), (uuid.UUID(int=1),), ValueError, "2 components"),
    (("uuid", "oid"), uuid.UUID(int=1), TypeError, "tuple"),
    (("string", "string"), ("a\x00", "b"), ValueError, None),
    (("oid",), None, ValueError, None),
])
def test_encode_errors(names, key, exc, match):
    with pytest.raises(exc, match=match):
        KeyCodec(names).encode(key)


def test_lenient_oid():
    assert KeyCodec("oid").encode(2**53 + 1, lenient=True) == struct.pack(">Q", 2**53 + 1)
    assert KeyCodec("oid").decode(struct.pack(">Q", 2**64 - 1)) == 2**64 - 1


def test_bytes_components_accept_buffers():
    kc = KeyCodec("bytes16")
    assert kc.encode(bytearray(16)) == bytes(16)
    assert kc.encode(memoryview(bytes(range(16)))) == bytes(range(16))


@pytest.mark.parametrize("names,data", [
    (("oid",), b"\x00" * 7),
    (("oid",), b"\x00" * 9),
    (("uuid", "oid"), b"\x00" * 23),
    (("string",), b"\xff"),
    (("string", "string"), b"ab"),
    (("string", "string"), b"a\x00b\x00c"),
])
def test_decode_errors(names, data):
    with pytest.raises(ValueError):
        KeyCodec(names).decode(data)


def test_decode_argument_type():
    with pytest.raises(TypeError):
        KeyCodec("oid").decode("12345678")


@pytest.mark.parametrize("names", [
    (), ("nope",), ("string", "uuid", "string"), ("uuid",) * 9, (1,),
])
def test_bad_descriptors(names):
    with pytest.raises((ValueError, TypeError)):
        KeyCodec(names)


def test_keyword_errors():
    with pytest.raises(TypeError):
        KeyCodec("oid").encode(1, nope=True)
    with pytest.raises(TypeError):
        KeyCodec("oid").encode()
