"""zlmdb.codec JSON: json_dumps == json.dumps(obj, separators=(",", ":"),
ensure_ascii=False); json_loads == json.loads; targeted and error tests."""
import enum
import json
import math
import platform
import random
import struct
import sys
from collections import OrderedDict

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from zlmdb.codec import json_dumpb, json_dumps, json_loads


def ref_dumps(v, **kw):
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False, **kw)


def same(a, b):
    """Deep equality comparing types, NaN == NaN and the sign of zero."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (
            a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return a == b


def FAST(n):
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


GENERATED = [0]

keys = st.one_of(st.text(max_size=8), st.integers(-2**70, 2**70), st.floats(), st.booleans(),
                 st.none())
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-2**200, 2**200),
                    st.floats(), st.floats(-1e6, 1e6), st.text(),
                    st.text(alphabet=st.characters(max_codepoint=0x7f)))
values = st.recursive(scalars, lambda c: st.one_of(
    st.lists(c, max_size=6), st.tuples(c, c), st.dictionaries(keys, c, max_size=6)),
    max_leaves=10)


@FAST(700)
@given(st.lists(values, min_size=5, max_size=5))
def test_differential_dumps_and_loads(vs):
    for v in vs:
        text = ref_dumps(v)
        assert json_dumps(v) == text
        assert json_dumpb(v) == text.encode()
        assert same(json_loads(text), json.loads(text))
        assert same(json_loads(text.encode()), json.loads(text))
    GENERATED[0] += len(vs)


@FAST(400)
@given(st.lists(st.floats(), min_size=10, max_size=10))
def test_differential_floats(fs):
    for f in fs:
        assert json_dumps(f) == ref_dumps(f)
        assert same(json_loads(ref_dumps(f)), f)
        assert json_dumps({f: f}) == ref_dumps({f: f})
    GENERATED[0] += len(fs)


def random_double(rnd):
    # Shapes that exercise each branch of the fast float formatter: short
    # decimals, 17-digit values, tiny values (exponent form), values just
    # around powers of two and ten, and integers beyond 2**53.
    k = rnd.randrange(11)
    if k == 5:
        return rnd.random() * 1e-7
    if k == 6:
        return math.nextafter(2.0 ** rnd.randrange(-50, 54), rnd.choice([0, math.inf]))
    if k == 7:
        return math.nextafter(10.0 ** rnd.randrange(-15, 16), rnd.choice([0, math.inf]))
    if k == 8:
        return float(rnd.randrange(2**53, 2**54))
    if k == 9:
        return rnd.randrange(1, 10**17) / 10 ** rnd.randrange(0, 30)
    if k == 10:
        return rnd.random()
    if k == 0:
        return struct.unpack("<d", rnd.randbytes(8))[0]
    if k == 1:
        return rnd.randrange(-10**6, 10**6) / 10 ** rnd.randrange(0, 8)
    if k == 2:
        return rnd.random() * 10 ** rnd.randrange(-6, 18)
    if k == 3:
        return float(rnd.randrange(-2**60, 2**60)) * 2.0 ** rnd.randrange(-80, 20)
    return rnd.choice([0.1, 0.2, 0.3, 1e16, 9999999999999998.0, 1e-4, 0.0001, 9.999999999999999e-05,
                       5e-324, 1.7976931348623157e308, 2.0 ** 53, 2.0 ** 53 + 2, 1 / 3])


def test_float_text_matches_repr_random_volume():
    # The fast float paths (repr and parse) against CPython's, in bulk.
    rnd = random.Random(1124)
    for _ in range(60000):
        f = random_double(rnd)
        text = json_dumps(f)
        assert text == ref_dumps(f)
        g = json_loads(text)
        assert same(g, f) or (math.isnan(f) and math.isnan(g))
    for _ in range(20000):
        # decimal texts of every shape through the fast parse path
        digits = str(rnd.randrange(10 ** rnd.randrange(1, 19)))
        pt = rnd.randrange(len(digits) + 1)
        text = (rnd.choice(["", "-"]) + (digits[:pt] or "0") + "." + (digits[pt:] or "0")
                + rnd.choice(["", "e%d" % rnd.randrange(-30, 30), "E+%d" % rnd.randrange(30)]))
        assert same(json_loads(text), json.loads(text)), text
    GENERATED[0] += 1000  # counted conservatively


def random_value(rnd, depth=0):
    k = rnd.randrange(10 if depth < 4 else 6)
    if k == 0:
        return rnd.choice([None, True, False])
    if k == 1:
        return rnd.choice([rnd.randrange(-100, 100), rnd.randrange(-2**80, 2**80)])
    if k == 2:
        return random_double(rnd)
    if k in (3, 4, 5):
        return "".join(chr(rnd.choice([rnd.randrange(0, 127), rnd.randrange(0x80, 0xd800),
                                       rnd.randrange(0xe000, 0x110000)]))
                       for _ in range(rnd.randrange(10)))
    n = rnd.randrange(6)
    if k in (6, 7):
        return [random_value(rnd, depth + 1) for _ in range(n)]
    if k == 8:
        return tuple(random_value(rnd, depth + 1) for _ in range(n))
    return {rnd.choice([str(rnd.randrange(100)), rnd.randrange(-9, 9), None, True, 1.5]):
            random_value(rnd, depth + 1) for _ in range(n)}


def test_differential_random_volume():
    rnd = random.Random(4711)
    for _ in range(8000):
        v = random_value(rnd)
        text = ref_dumps(v)
        assert json_dumps(v) == text
        assert same(json_loads(text), json.loads(text))
        GENERATED[0] += 1


def test_differential_mutated_documents():
    # Random corruptions: both parsers must agree on accept/reject and value.
    rnd = random.Random(99)
    alphabet = '{}[]",:0123456789.eE+-tfnrulsaINy\\ \n\tx\u00e9'
    for _ in range(4000):
        text = ref_dumps(random_value(rnd))
        chars = list(text)
        for _ in range(rnd.randrange(1, 3)):
            op = rnd.randrange(3)
            pos = rnd.randrange(len(chars) + 1)
            if op == 0:
                chars.insert(pos, rnd.choice(alphabet))
            elif chars and op == 1:
                del chars[min(pos, len(chars) - 1)]
            elif chars:
                chars[min(pos, len(chars) - 1)] = rnd.choice(alphabet)
        doc = "".join(chars)
        try:
            expected = json.loads(doc)
        except (ValueError, RecursionError):
            with pytest.raises(ValueError):
                json_loads(doc)
            continue
        assert same(json_loads(doc), expected), doc
        GENERATED[0] += 1


def test_enough_values_were_generated():
    assert GENERATED[0] >= 10_000 or GENERATED[0] == 0


# ------------------------------------------------------------- targeted encode

@pytest.mark.parametrize("value", [
    None, True, False, 0, -1, 2**63, -2**63 - 1, 2**64, 10**40, -10**40, 0.0, -0.0, 1.5,
    1e16, 1e-5, 1e-4, 0.0001, 123456789.125, 1e22, 1e300, 5e-324, float("nan"),
    float("inf"), float("-inf"), "", "abc", "é", "\u2028\u2029", "\x00\x1f\x7f", '"\\/',
    "\b\f\n\r\t", "😀", [], {}, [1, [2, [3]]], (1, 2), {"a": {"b": []}},
    {1: 1, 2.5: 2, True: 3, False: 4, None: 5, float("nan"): 6, float("inf"): 7},
    OrderedDict(b=1, a=2), {"\ud800": 1}, "\udfff", ["x\ud83dy"],
])
def test_encode_like_json(value):
    assert json_dumps(value) == ref_dumps(value)


def test_subclasses():
    class S(str):
        pass

    class I(int):
        def __repr__(self):
            return "nope"

    class F(float):
        def __repr__(self):
            return "nope"

    class L(list):
        pass

    class D(dict):
        pass

    class E(enum.IntEnum):
        A = 7

    class FE(float, enum.Enum):
        X = 1.5

    for v in [S("x"), I(3), F(2.5), L([1]), D(a=1), E.A, FE.X, {E.A: 1}, {S("k"): I(1)},
              {F(0.5): 1}]:
        assert json_dumps(v) == ref_dumps(v)


def test_dict_subclass_uses_items():
    class Rev(dict):
        def items(self):
            return list(reversed(list(super().items())))

    d = Rev(a=1, b=2)
    assert json_dumps(d) == ref_dumps(d)


def test_unsupported_types():
    for v in [object(), b"x", {1, 2}, 1j, {"a": object()}]:
        with pytest.raises(TypeError) as ours:
            json_dumps(v)
        with pytest.raises(TypeError) as theirs:
            ref_dumps(v)
        assert str(ours.value) == str(theirs.value)
    with pytest.raises(TypeError, match="keys must be str, int, float, bool or None, not tuple"):
        json_dumps({(1, 2): 1})


def test_default_hook():
    class P:
        pass

    assert json_dumps([P()], default=lambda o: {"p": 1}) == '[{"p":1}]'
    assert json_dumps({1, 2}, default=sorted) == "[1,2]"
    with pytest.raises(ValueError):
        json_dumps(P(), default=lambda o: 1 / 0 if False else ValueError.__call__("boom") and
                   (_ for _ in ()).throw(ValueError("boom")))
    with pytest.raises((RecursionError, ValueError)):
        json_dumps(P(), default=lambda o: [o, P()][1])
    with pytest.raises(TypeError):
        json_dumps(1, nope=2)


def test_cycles_and_depth():
    a = []
    a.append(a)
    with pytest.raises(ValueError, match="Circular reference detected"):
        json_dumps(a)
    d = {}
    d["x"] = {"y": d}
    with pytest.raises(ValueError, match="Circular reference detected"):
        json_dumps(d)
    deep = []
    for _ in range(3000):
        deep = [deep]
    with pytest.raises(RecursionError):
        json_dumps(deep)
    ok = []
    for _ in range(900):
        ok = [ok]
    assert json_dumps(ok) == ref_dumps(ok)


def test_dumpb_lone_surrogate_raises():
    with pytest.raises(UnicodeEncodeError):
        json_dumpb("\ud800")
    assert json_dumps("\ud800") == ref_dumps("\ud800")


def test_mutation_during_encode_is_safe():
    lst = [1, 2, 3]

    def hook(o):
        lst.clear()
        return 0

    lst.insert(0, object())
    assert json_dumps(lst, default=hook) == "[0]"


def test_dict_tables_walked_like_json():
    """The encoders read a dict's entries themselves (CPython 3.11-3.13):
    deleted entries, general (non-str) key tables, split tables (instance
    dicts) and resized tables all come out in json's order."""
    class Obj:
        def __init__(self):
            self.a, self.b, self.c = 1, "two", [3.0]

    str_keys = {"k%d" % i: i for i in range(50)}
    for i in range(0, 50, 3):
        del str_keys["k%d" % i]
    general = {i: str(i) for i in range(50)}
    for i in range(1, 50, 4):
        del general[i]
    mixed = {1: "a", "b": 2, None: 3, 2.5: [], True: {}}
    del mixed["b"]
    grown = {}
    for i in range(1000):
        grown["x%d" % i] = i
        if i % 7 == 0:
            del grown["x%d" % i]
    emptied = {"a": 1}
    del emptied["a"]
    for d in (str_keys, general, mixed, grown, emptied, Obj().__dict__, vars(Obj())):
        assert json_dumps(d) == ref_dumps(d)
        assert json_dumpb(d) == ref_dumps(d).encode()


def test_dict_growing_during_encode_raises_like_json():
    d = {"a": object(), "b": 1}

    def hook(o):
        for i in range(100):
            d["n%d" % i] = i
        return 0

    with pytest.raises(RuntimeError, match="dictionary changed size during iteration"):
        json_dumps(d, default=hook)


# ------------------------------------------------------------- targeted decode

@pytest.mark.parametrize("text", [
    "0", "-0", "-0.0", "1e400", "-1e400", "1E+2", "1e-400", "123456789012345678901234567890",
    "0.1", "1.7976931348623157e308", "5e-324", "NaN", "Infinity", "-Infinity",
    '"\\ud800"', '"\\ud83d\\ude00"', '"\\ud800\\u0041"', '"\\udc00\\ud800"', '"\\u00e9\\/"',
    ' {"a" : [ 1 , 2 ] , "a" : 3 } ', '{"a":1,"b":2,"a":3}', "[]", "{}", "[[]]", '""',
    '"\u2028"', "true", "false", "null", "\t\n\r 1 \t\n\r", "12345678901234567", "0.5e1",
    "-9007199254740993", "9007199254740993.0", "4.35e-310", "1234567890.0987654321",
])
def test_decode_like_json(text):
    assert same(json_loads(text), json.loads(text))
    assert same(json_loads(text.encode()), json.loads(text))


def test_decode_inputs():
    assert json_loads(bytearray(b"[1]")) == [1]
    assert json_loads(memoryview(b"[1]")) == [1]
    assert json_loads(b"\xef\xbb\xbf[1]") == json.loads(b"\xef\xbb\xbf[1]")
    # a str holding a lone surrogate character (not an escape)
    assert json_loads('["\ud800"]') == json.loads('["\ud800"]')
    with pytest.raises(TypeError):
        json_loads(1)


@pytest.mark.parametrize("text", [
    "", " ", "[1,2", "[1,,2]", '{"a" 1}', '{"a":1,}', "nul", "[1] x", '"abc', '"\\x"', "01",
    "1.", "-", "{1:2}", '"\t"', "[1 2]", "tru", "+1", ".5", "1e", "[", "]", "'a'", "\ufeff[]",
    '"\\ud8"', "[1]]", "{\"a\":}", "infinity", "nan",
])
def test_decode_errors(text):
    with pytest.raises(json.JSONDecodeError) as ei:
        json_loads(text)
    with pytest.raises(ValueError):
        json.loads(text)
    e = ei.value
    assert isinstance(e, ValueError)
    assert 0 <= e.pos <= len(text)
    assert e.doc == text


def test_decode_error_positions_match_json_for_common_cases():
    # json 3.13 reports a trailing comma at the comma itself, with a message
    # of its own; json_loads follows the json of the running Python.
    trailing = sys.version_info >= (3, 13)
    for text, pos in [("[1,,2]", 3), ('{"a" 1}', 5), ("[1] x", 4), ("[1 2]", 3),
                      ('{"é":1,}', 6 if trailing else 7), ("[1, ]", 2 if trailing else 4),
                      ('{"a":1,]', 7), ("[1,}", 3), ("[,]", 1)]:
        with pytest.raises(json.JSONDecodeError) as ei:
            json_loads(text)
        assert ei.value.pos == pos
        with pytest.raises(json.JSONDecodeError) as ej:
            json.loads(text)
        # The reference is CPython's json; PyPy's json is its own decoder and
        # reports some of these elsewhere (PyPy 3.11: '{"é":1,}' at 8).
        if platform.python_implementation() != "PyPy":
            assert ej.value.pos == pos
        if trailing and "trailing comma" in ej.value.msg:
            assert ei.value.msg == ej.value.msg


def test_invalid_utf8_bytes():
    with pytest.raises(ValueError):
        json_loads(b'"\xff"')
    with pytest.raises(ValueError):
        json_loads(b'"\xed\xa0\x80"')


def test_depth_limit_never_crashes():
    with pytest.raises(ValueError):
        json_loads("[" * 100000)
    with pytest.raises(ValueError):
        json_loads("[" * 5000 + "]" * 5000)
    assert json_loads("[" * 999 + "]" * 999) is not None


def test_escapes_at_every_position_and_length():
    # The word-at-a-time scan of the string encoder: each special byte at
    # each position of strings of length 1..24.
    for special in ['"', "\\", "\x00", "\x1f", "\n", "\x7f", "é", "\u2028", "😀"]:
        for n in range(1, 25):
            for pos in range(n):
                s = "a" * pos + special + "b" * (n - pos - 1)
                assert json_dumps(s) == ref_dumps(s)
                assert json_dumps({s: s}) == ref_dumps({s: s})
