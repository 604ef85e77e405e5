"""zlmdb.codec.KeyCodec: what the PyPy binding (python/zlmdb/_cffi/codec_key.py
over src/cffi/codec_key.c) must keep identical to the CPython extension
(src/ext/pyconv_key.c), checked word for word on both interpreters: error
messages, the messages of wrong calls, signatures; and what only a binding
with a pool of C buffers can get wrong: nested and concurrent use, keys
larger than the buffer kept, arbitrary input."""
import datetime
import inspect
import platform
import sys
import threading
import uuid

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from zlmdb.codec import KeyCodec

IS_PYPY = platform.python_implementation() == "PyPy"
U = uuid.UUID("12345678-1234-5678-1234-567812345678")


class IntSub(int):
    def __repr__(self):
        return "IntSub(%d)" % int(self)


class NegativeUUID(uuid.UUID):
    @property
    def int(self):
        return -1


class HugeUUID(uuid.UUID):
    @property
    def int(self):
        return 2 ** 128


class TextUUID(uuid.UUID):
    @property
    def int(self):
        return "x"


def _raises(fn):
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - the type is what is compared
        return type(exc), str(exc)
    raise AssertionError("no exception")


# (components, call, exception, exact message)
MESSAGES = [
    ("uint8", lambda kc: kc.encode(256), ValueError, "key component 0 (uint8): 256 is above 255"),
    ("uint8", lambda kc: kc.encode(256, value=True), ValueError, "value (uint8): 256 is above 255"),
    ("uint8", lambda kc: kc.encode(-1), ValueError, "key component 0 (uint8) out of range: -1"),
    ("uint8", lambda kc: kc.encode(IntSub(-3)), ValueError,
     "key component 0 (uint8) out of range: IntSub(-3)"),
    ("uint8", lambda kc: kc.encode(-1, value=True), ValueError, "value (uint8) out of range: -1"),
    ("uint64", lambda kc: kc.encode(2 ** 64), ValueError,
     "key component 0 (uint64) out of range: 18446744073709551616"),
    ("oid", lambda kc: kc.encode(2 ** 53 + 1), ValueError,
     "key component 0 (oid): 9007199254740993 is above 9007199254740992"),
    ("oid", lambda kc: kc.encode(None), ValueError, "key component 0 (oid) is null"),
    ("oid", lambda kc: kc.encode(None, value=True), ValueError, "value (oid) is null"),
    ("oid", lambda kc: kc.encode(1.5), TypeError,
     "key component 0 (oid) must be an int >= 0, not float"),
    ("oid", lambda kc: kc.encode(datetime.datetime(2020, 1, 1)), TypeError,
     "key component 0 (oid) must be an int >= 0, not datetime.datetime"),
    ("string", lambda kc: kc.encode(5, value=True), TypeError,
     "value must be a str (string), not int"),
    ("uuid", lambda kc: kc.encode(U.bytes), TypeError,
     "key component 0 (uuid) must be a uuid.UUID, not bytes"),
    ("uuid", lambda kc: kc.encode(object.__new__(NegativeUUID)), OverflowError,
     "can't convert negative int to unsigned"),
    ("uuid", lambda kc: kc.encode(object.__new__(HugeUUID)), OverflowError,
     "int too big to convert"),
    ("uuid", lambda kc: kc.encode(object.__new__(TextUUID)), TypeError, "UUID.int is not an int"),
    ("bytes16", lambda kc: kc.encode(b"x" * 15), ValueError,
     "key component 0 (bytes16) must be 16 bytes, got 15"),
    ("bytes20", lambda kc: kc.encode("x" * 20), TypeError,
     "key component 0 (bytes20) must be 20 bytes, not str"),
    ("bytes16", lambda kc: kc.encode(memoryview(bytes(32))[::2]), BufferError,
     "memoryview: underlying buffer is not C-contiguous"),
    ("timestamp", lambda kc: kc.encode(-1), ValueError,
     "key component 0 (timestamp): -1 ns is before 1970, which would not sort in time order"),
    ("timestamp", lambda kc: kc.encode(2 ** 63), ValueError,
     "timestamp out of range of int64 nanoseconds"),
    ("timestamp", lambda kc: kc.encode(datetime.datetime(9999, 1, 1)), ValueError,
     "timestamp out of range of int64 nanoseconds"),
    ("timestamp", lambda kc: kc.encode("2020"), TypeError,
     "key component 0 (timestamp) must be an int (nanoseconds), a datetime or a "
     "numpy.datetime64, not str"),
    (("uuid", "oid"), lambda kc: kc.encode(U), TypeError,
     "key must be a tuple of 2 components, not UUID"),
    (("uuid", "oid"), lambda kc: kc.encode((U,)), ValueError,
     "key must have 2 components ('uuid', 'oid'), not 1"),
    (("uuid", "oid"), lambda kc: kc.encode_prefix((U, 1, 2)), ValueError,
     "key must have at most 2 components ('uuid', 'oid'), not 3"),
    (("uuid", "oid"), lambda kc: kc.encode((U, "x")), TypeError,
     "key component 1 (oid) must be an int >= 0, not str"),
    (("uuid", "oid"), lambda kc: kc.encode((U, "x"), value=True), TypeError,
     "key component 1 (oid) must be an int >= 0, not str"),
    (("string", "oid"), lambda kc: kc.encode_prefix(("a",)), ValueError,
     "a key prefix cannot end with a string that fixed-width components follow"),
    (("string", "string"), lambda kc: kc.encode(("a\x00", "b")), ValueError,
     "key component 0 (string) contains NUL, which separates the strings of this key"),
    ("oid", lambda kc: kc.decode(b"\x00" * 7), ValueError, "key has 7 bytes, layout needs 8"),
    ("oid", lambda kc: kc.decode(b"\x00" * 9), ValueError,
     "key has 9 bytes, layout needs 8 (1 trailing)"),
    ("string", lambda kc: kc.decode(b"a\xff"), ValueError, "key: string is not UTF-8 at byte 1"),
    (("string", "string"), lambda kc: kc.decode(b"ab"), ValueError,
     "key: separator after string 0 missing"),
    ("oid", lambda kc: kc.decode("12345678"), TypeError,
     "decode: a bytes-like object is required, not 'str'"),
    ("oid", lambda kc: kc.decode(None), TypeError,
     "decode: a bytes-like object is required, not 'NoneType'"),
    # wrong calls
    ("oid", lambda kc: kc.encode(), TypeError,
     "encode() takes exactly 1 positional argument (0 given)"),
    ("oid", lambda kc: kc.encode(key=1), TypeError,
     "encode() takes exactly 1 positional argument (0 given)"),
    ("oid", lambda kc: kc.encode(1, 2), TypeError,
     "encode() takes exactly 1 positional argument (2 given)"),
    ("oid", lambda kc: kc.encode(1, nope=True), TypeError,
     "encode() got an unexpected keyword argument 'nope'"),
    ("oid", lambda kc: kc.encode_prefix((1,), nope=True), TypeError,
     "encode_prefix() got an unexpected keyword argument 'nope'"),
    ("oid", lambda kc: kc.decode(), TypeError, "KeyCodec.decode() takes exactly one argument (0 given)"),
    ("oid", lambda kc: kc.decode(b"", b""), TypeError,
     "KeyCodec.decode() takes exactly one argument (2 given)"),
    ("oid", lambda kc: kc.decode(data=b""), TypeError, "KeyCodec.decode() takes no keyword arguments"),
]


@pytest.mark.parametrize("names,call,exc,msg", MESSAGES)
def test_messages_are_the_extensions(names, call, exc, msg):
    assert _raises(lambda: call(KeyCodec(names, timestamp="int"))) == (exc, msg)


@pytest.mark.parametrize("call,exc,msg", [
    (lambda: KeyCodec(), TypeError, "KeyCodec() missing required argument 'components' (pos 1)"),
    (lambda: KeyCodec("oid", "int"), TypeError,
     "KeyCodec() takes at most 1 positional argument (2 given)"),
    (lambda: KeyCodec("oid", timestamp="int", nope=1), TypeError,
     "KeyCodec() takes at most 2 arguments (3 given)"),
    # CPython's argument parser words this one itself, and 3.13 changed it
    (lambda: KeyCodec("oid", nope=1), TypeError,
     "KeyCodec() got an unexpected keyword argument 'nope'"
     if not IS_PYPY and sys.version_info >= (3, 13)
     else "'nope' is an invalid keyword argument for KeyCodec()"),
    (lambda: KeyCodec("oid", components="oid"), TypeError,
     "argument for KeyCodec() given by name ('components') and position (1)"),
    (lambda: KeyCodec("oid", timestamp=1), TypeError, "KeyCodec() argument 2 must be str, not int"),
    (lambda: KeyCodec("oid", timestamp=None), TypeError,
     "KeyCodec() argument 2 must be str, not None"),
    (lambda: KeyCodec("oid", timestamp="in\x00t"), ValueError, "embedded null character"),
    (lambda: KeyCodec("oid", timestamp="nope"), ValueError,
     "timestamp must be 'auto', 'int', 'numpy' or 'datetime', not 'nope'"),
    (lambda: KeyCodec(()), ValueError, "a key has 1 to 8 components, not 0"),
    (lambda: KeyCodec(("oid",) * 9), ValueError, "a key has 1 to 8 components, not 9"),
    (lambda: KeyCodec(("oid", 1)), TypeError, "key component names must be str"),
    (lambda: KeyCodec("OID"), ValueError, "unknown key component type 'OID'"),
    (lambda: KeyCodec(5), TypeError, "'int' object is not iterable"),
    (lambda: KeyCodec(("string", "uuid", "string")), ValueError,
     "key descriptor has 2 strings; only one, or 2-3 strings alone"),
])
def test_constructor_messages_are_the_extensions(call, exc, msg):
    assert _raises(call) == (exc, msg)


def test_signatures_are_the_extensions():
    assert str(inspect.signature(KeyCodec)) == "(components, *, timestamp='auto')"
    assert str(inspect.signature(KeyCodec.encode)) == \
        "(self, key, /, *, null_as_zero=False, lenient=False, value=False)"
    assert str(inspect.signature(KeyCodec("oid").encode_prefix)) == \
        "(values, /, *, null_as_zero=False, lenient=False)"
    assert str(inspect.signature(KeyCodec.decode)) == "(self, data, /)"


def test_the_type_is_final_unpicklable_and_compares_by_identity():
    import copy
    import pickle
    kc = KeyCodec(("uuid", "oid"))
    with pytest.raises(TypeError, match="not an acceptable base type"):
        type("Sub", (KeyCodec,), {})
    with pytest.raises(TypeError, match="cannot pickle"):
        pickle.dumps(kc)
    with pytest.raises(TypeError, match="cannot pickle"):
        copy.copy(kc)
    with pytest.raises(AttributeError):
        kc.x = 1
    with pytest.raises(AttributeError):
        kc.components = ("oid",)
    assert kc != KeyCodec(("uuid", "oid")) and kc == kc
    assert repr(kc) == "KeyCodec(('uuid', 'oid'))"


def test_encode_prefix_accepts_value_as_the_extension_does():
    kc = KeyCodec(("uuid", "oid"))
    assert kc.encode_prefix((U,), value=True) == U.bytes


class _EncodingTZ(datetime.tzinfo):
    """A time zone whose utcoffset() encodes a key with the same codec:
    the outer encode is in the middle of converting its components."""

    def __init__(self, kc):
        self.kc = kc
        self.inner = None

    def utcoffset(self, dt):
        self.inner = self.kc.encode((uuid.UUID(int=7), 1, "inner"))
        return datetime.timedelta(hours=1)

    def dst(self, dt):
        return None


def test_nested_use_from_a_conversion():
    kc = KeyCodec(("uuid", "timestamp", "string"), timestamp="int")
    tz = _EncodingTZ(kc)
    outer = kc.encode((U, datetime.datetime(2020, 1, 1, 1, tzinfo=tz), "outer"))
    assert kc.decode(outer) == (U, 1577836800 * 10 ** 9, "outer")
    assert kc.decode(tz.inner) == (uuid.UUID(int=7), 1, "inner")


def test_threads_each_get_their_own_keys():
    kc = KeyCodec(("uuid", "timestamp", "string"), timestamp="int")
    errors = []

    def work(seed):
        try:
            for i in range(3000):
                key = (uuid.UUID(int=seed * 1000003 + i), seed * 10 ** 9 + i, "t%d-%d" % (seed, i))
                enc = kc.encode(key)
                assert kc.decode(enc) == key
                assert kc.encode_prefix(key[:2]) == enc[:24]
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_large_keys_then_small_ones():
    kc = KeyCodec(("oid", "string"))
    for n in (10, 1 << 20, 5, 1 << 17, 0):
        key = (n, "é" * n)
        enc = kc.encode(key)
        assert len(enc) == 8 + 2 * n
        assert kc.decode(enc) == key
        assert kc.decode(memoryview(enc)) == key
        assert kc.decode(bytearray(enc)) == key


_LAYOUTS = [("oid",), ("uint8", "uint16le"), ("uuid", "timestamp", "string"), ("string", "oid"),
            ("string", "string"), ("string", "string", "string"), ("bytes16", "bytes32"),
            ("uint8", "uint16", "uint32", "uint64", "oid", "timestamp", "bytes20", "uuid")]
_ANY = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(), st.binary(),
                 st.uuids(), st.datetimes(), st.tuples(st.integers()), st.lists(st.text()))
_EXPECTED = (TypeError, ValueError, UnicodeEncodeError, OverflowError, BufferError)


@settings(max_examples=400, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(st.sampled_from(_LAYOUTS), st.lists(_ANY, max_size=9), st.binary(max_size=80),
       st.booleans(), st.booleans())
def test_arbitrary_input_raises_or_round_trips(names, values, data, null_as_zero, lenient):
    kc = KeyCodec(names, timestamp="int")
    for key in (tuple(values), values, values[0] if values else None):
        for fn in (kc.encode, kc.encode_prefix):
            try:
                enc = fn(key, null_as_zero=null_as_zero, lenient=lenient)
            except _EXPECTED:
                continue
            assert isinstance(enc, bytes)
    try:
        dec = kc.decode(data)
    except ValueError:
        return
    assert kc.encode(dec, lenient=True) == data


@pytest.mark.skipif(not IS_PYPY, reason="the CFFI binding is PyPy's")
def test_pypy_uses_the_cffi_binding():
    from zlmdb._cffi import codec_key
    assert KeyCodec is codec_key.KeyCodec
    assert KeyCodec.__module__ == "zlmdb.codec"


_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


@settings(max_examples=2000, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(st.one_of(st.integers(-2 ** 63, 2 ** 63 - 1),
                 st.sampled_from([0, -1, 999, -1000, -1001, 2 ** 63 - 1, -2 ** 63,
                                  951782400 * 10 ** 9, 951868800 * 10 ** 9 - 1])))
def test_timestamp_to_datetime_is_epoch_plus_timedelta(ns):
    got = KeyCodec("timestamp", timestamp="datetime").decode(ns.to_bytes(8, "big", signed=True))
    want = _EPOCH + datetime.timedelta(microseconds=ns // 1000)
    assert got == want and type(got) is datetime.datetime
    assert got.tzinfo is datetime.timezone.utc and got.fold == 0


_TZS = [None, datetime.timezone.utc, datetime.timezone(datetime.timedelta(hours=-5, minutes=-30)),
        datetime.timezone(datetime.timedelta(hours=13, seconds=7, microseconds=9))]


@settings(max_examples=2000, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(st.datetimes(min_value=datetime.datetime(1678, 1, 1),
                    max_value=datetime.datetime(2262, 1, 1)), st.sampled_from(_TZS))
def test_datetime_to_timestamp(dt, tz):
    dt = dt.replace(tzinfo=tz)
    off = dt.utcoffset() or datetime.timedelta(0)
    # the offset's days and seconds count, not its microseconds (pyconv_key.c)
    secs = ((dt.replace(tzinfo=None) - datetime.datetime(1970, 1, 1)) // datetime.timedelta(seconds=1)
            - off.days * 86400 - off.seconds)
    ns = secs * 10 ** 9 + dt.microsecond * 1000
    assert KeyCodec("timestamp").encode(dt, lenient=True) == ns.to_bytes(8, "big", signed=True)


class _OffsetDatetime(datetime.datetime):
    def utcoffset(self):
        return datetime.timedelta(hours=2)


def test_a_datetime_subclass_gives_its_own_utcoffset():
    dt = _OffsetDatetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
    assert KeyCodec("timestamp", timestamp="int").decode(KeyCodec("timestamp").encode(dt)) == \
        (1577836800 - 7200) * 10 ** 9
