"""zlmdb.codec CBOR: the cases where the PyPy binding (python/zlmdb/_cffi/
codec_cbor.py over src/cffi/codec_cbor.c) works differently inside from the
CPython extension: the decode tape and its growth, the order in which errors
are found, the encoder's explicit stack and pooled buffers, and the
datetime/decimal parsers whose PyPy versions accept more than CPython's.
Each test states behaviour both must have, so it runs on both."""
import datetime
import decimal
import random
import threading

import pytest

from zlmdb.codec import (MAX_DEPTH, CBORDecodeError, CBORTag, cbor_dumps, cbor_loads,
                         undefined)

UTC = datetime.timezone.utc


def text(s):
    b = s.encode()
    assert len(b) < 24
    return bytes([0x60 + len(b)]) + b


@pytest.mark.parametrize("n", [0, 1, 255, 256, 5000, 70000])
def test_documents_of_every_tape_size(n):
    value = [{"k": i, "s": "x%d" % i, "f": i / 3} for i in range(n)]
    assert cbor_loads(cbor_dumps(value)) == value
    flat = list(range(n))
    assert cbor_loads(cbor_dumps(flat)) == flat


@pytest.mark.parametrize("n", [10, 300, 70000])
def test_error_after_many_items_has_its_offset(n):
    data = b"\x9f" + b"\x01" * n + b"\x1c"
    with pytest.raises(CBORDecodeError) as ei:
        cbor_loads(data)
    assert ei.value.pos == n + 1
    data = b"\x82" + b"\x81\x01" * 1 + b"\x00" + b"\x00" * n  # trailing bytes
    with pytest.raises(CBORDecodeError) as ei:
        cbor_loads(data)
    assert ei.value.pos == 4


def test_a_bad_tagged_value_before_a_syntax_error_is_reported():
    bad_dt = b"\xc0" + text("2024-13-02T03:04:05Z")
    with pytest.raises(CBORDecodeError, match="string-form datetime") as ei:
        cbor_loads(b"\x83" + bad_dt + b"\x1c")
    assert ei.value.pos == 2
    with pytest.raises(CBORDecodeError, match="UUID"):
        cbor_loads(b"\x82\xd8\x25\x41\x00\xff")
    with pytest.raises(CBORDecodeError, match="unhashable map key"):
        cbor_loads(b"\x82\xa1\xa0\x01\x1c")
    # ...and trailing bytes after a bad value
    with pytest.raises(CBORDecodeError, match="string-form date"):
        cbor_loads(b"\xd9\x03\xec" + text("2024-02-30") + b"\x00")
    # a syntax error before a bad tagged value wins
    with pytest.raises(CBORDecodeError) as ei:
        cbor_loads(b"\x82\x1c" + bad_dt)
    assert "datetime" not in str(ei.value) and ei.value.pos == 1


@pytest.mark.parametrize("s", [
    "2020-01-\r1T00:00:00Z", "2020-+1-01T00:00:00Z", "2020-01-0\uff11T00:00:00Z",
    "2020-01-01T00:00:0 Z", "2020-01-01T00:00:00+01:0 ", "2020-01-01T", "2020-01-01T00:_1Z",
])
def test_string_datetimes_cpython_refuses_are_refused(s):
    with pytest.raises(CBORDecodeError, match="string-form datetime"):
        cbor_loads(cbor_dumps(CBORTag(0, s)))


@pytest.mark.parametrize("s,expected", [
    ("2020-01-01 00:00:00+00:00", datetime.datetime(2020, 1, 1, tzinfo=UTC)),
    ("20200101T000000Z", datetime.datetime(2020, 1, 1, tzinfo=UTC)),
    ("2020-01-01T00:00:00.1+01:00", datetime.datetime(
        2020, 1, 1, 0, 0, 0, 100000, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))),
    ("2020-01-01T00:00:00,123456789-01:30:15", datetime.datetime(
        2020, 1, 1, 0, 0, 0, 123456,
        tzinfo=datetime.timezone(-datetime.timedelta(hours=1, minutes=30, seconds=15)))),
])
def test_other_string_datetimes_go_to_fromisoformat(s, expected):
    got = cbor_loads(cbor_dumps(CBORTag(0, s)))
    assert got == expected and got.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize("s", ["2020-01-\r1", "2020-+1-01", "2020-0\uff11-01", " 2020-01-01"])
def test_string_dates_cpython_refuses_are_refused(s):
    with pytest.raises(CBORDecodeError, match="string-form date"):
        cbor_loads(cbor_dumps(CBORTag(1004, s)))


@pytest.mark.parametrize("exp,mant,ok", [
    (999999999999999999, 1, True), (10**18, 1, False), (999999999999999998, 12, True),
    (999999999999999999, 12, False), (-1999999999999999997, -5, True),
    (-1999999999999999998, 1, False), (10**18, 0, False), (2**63 - 1, 1, False),
])
def test_decimal_exponents_as_cpython(exp, mant, ok):
    data = cbor_dumps(CBORTag(4, [exp, mant]))
    if ok:
        assert cbor_loads(data) == decimal.Decimal("%dE%d" % (mant, exp))
    else:
        with pytest.raises(CBORDecodeError, match="decimal fraction"):
            cbor_loads(data)


def test_nested_tags_need_no_recursion():
    assert cbor_loads(b"\xd9\xd9\xf7" * 100000 + b"\x01") == 1
    v = cbor_loads(b"\xc6" * 5000 + b"\x01")
    for _ in range(5000):
        assert type(v) is CBORTag and v.tag == 6
        v = v.value
    assert v == 1


def test_encoder_depth_counts_tags_and_default_results():
    v = 0
    for _ in range(MAX_DEPTH):
        v = CBORTag(7, v)
    assert cbor_loads(cbor_dumps(v)).tag == 7
    with pytest.raises(RecursionError):
        cbor_dumps([v])

    class P:
        pass

    with pytest.raises(RecursionError):
        cbor_dumps(P(), default=lambda o: P())
    deep = 0
    for _ in range(MAX_DEPTH - 1):
        deep = [deep]
    data = cbor_dumps({"a": deep})
    assert cbor_dumps(cbor_loads(data)) == data  # (== on the values would recurse)
    with pytest.raises(RecursionError):
        cbor_dumps({"a": [deep]})


def test_encoder_mutation_checks():
    d = {"a": object(), "b": 1}

    def grow(o):
        d["c"] = 2
        return 0

    with pytest.raises(RuntimeError, match="dictionary changed size"):
        cbor_dumps(d, default=grow)
    lst = [object(), 1]

    def append(o):
        lst.append(2)
        return 0

    with pytest.raises(RuntimeError, match="list changed size"):
        cbor_dumps(lst, default=append)


def test_nested_use_from_a_default_hook():
    class P:
        def __init__(self, x):
            self.x = x

    def hook(o):
        inner = cbor_dumps({"x": [o.x] * 3})
        assert cbor_loads(inner) == {"x": [o.x] * 3}
        return inner

    got = cbor_dumps([P(1), P("y"), {"k": P(2.5)}], default=hook)
    assert cbor_loads(got) == [cbor_dumps({"x": [1] * 3}), cbor_dumps({"x": ["y"] * 3}),
                               {"k": cbor_dumps({"x": [2.5] * 3})}]


def test_large_values_then_small_ones():
    big = {"b": b"\x00" * (3 << 20), "t": "\u00e9" * (1 << 20)}
    assert cbor_loads(cbor_dumps(big)) == big
    assert cbor_dumps([1, "a"]) == b"\x82\x01\x61a"


def test_threads_get_their_own_buffers():
    values = [{"i": i, "s": "v%d" % i, "l": list(range(i % 50)), "u": undefined,
               "t": datetime.datetime(2020, 1, 1 + i % 28, tzinfo=UTC)} for i in range(200)]
    expected = [cbor_dumps(v) for v in values]
    errors = []

    def work():
        try:
            for _ in range(20):
                for v, e in zip(values, expected):
                    assert cbor_dumps(v) == e
                    assert cbor_loads(e) == v
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


@pytest.mark.parametrize("bad", [None, 5, 1.5, "abc", ["a"], object()])
def test_loads_refuses_what_is_not_bytes_like(bad):
    with pytest.raises(TypeError, match="bytes-like object is required"):
        cbor_loads(bad)


def test_loads_takes_contiguous_buffers():
    import array
    assert cbor_loads(array.array("B", [0x82, 1, 2])) == [1, 2]
    assert cbor_loads(memoryview(b"\x01").cast("c")) == 1
    with pytest.raises(BufferError):
        cbor_loads(memoryview(b"\x83\x01\x02\x03\x04\x05")[::2])


def test_random_garbage_never_crashes():
    rnd = random.Random(20261207)
    for _ in range(20000):
        data = rnd.randbytes(rnd.randrange(1, 40))
        try:
            cbor_loads(data)
        except CBORDecodeError as e:
            assert e.pos is not None and 0 <= e.pos <= len(data)
        except (ValueError, OverflowError):
            pass
