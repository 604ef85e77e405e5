"""zlmdb.codec JSON on every interpreter, with the cases the PyPy binding
(python/zlmdb/_cffi/codec_json.py over src/cffi/codec_json.c) handles on
paths of its own: strings with lone surrogates (joined into one blob with
the others and measured in characters), the op stream's int ranges, the
tape's arena spans, and inputs that must fail cleanly.  It also holds the
JSON checks of test_codec_fast_paths.py's two cpython_only string tests,
without their check of CPython's str kinds."""
import json
import platform
import random
import threading

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from zlmdb.codec import json_dumpb, json_dumps, json_loads


def ref_dumps(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def FAST(n):
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


_MB = ["é", "ß", "€", "日", "\u2028", "😀", "\U0010ffff", "\x7f"]
_ESC = ["\\", '"', "\n", "\x00", "\x1f", "\t"]


@FAST(300)
@given(st.integers(0, 40), st.lists(st.sampled_from(_MB + _ESC + ["a", "Z", " "]),
                                    min_size=0, max_size=60))
def test_strings_with_multibyte_and_escapes_at_word_boundaries(shift, parts):
    s = "x" * shift + "".join(parts)
    doc = {s: [s, s + "y" * 17]}
    text = ref_dumps(doc)
    assert json_dumps(doc) == text
    assert json_dumpb(doc) == text.encode()
    assert json_loads(text.encode()) == doc
    assert json_loads(text) == doc
    got = json_loads(text)[s][0]
    assert got == s and hash(got) == hash(s)


@FAST(200)
@given(st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40))
def test_decoded_text_equals_its_source(s):
    got = json_loads(ref_dumps(s).encode())
    assert got == s and hash(got) == hash(s) and len(got) == len(s)


@FAST(200)
@given(st.lists(st.text(max_size=12), max_size=8))
def test_strings_with_surrogates_among_others(strs):
    # Lone surrogates make the whole blob 'surrogatepass' UTF-8: every
    # string after one must still be cut at the right character.
    doc = {s: [s, len(s)] for s in strs}
    assert json_dumps(doc) == ref_dumps(doc)
    assert json_dumps(strs) == ref_dumps(strs)
    text = ref_dumps(strs)
    assert json_loads(json.dumps(strs)) == strs  # escaped surrogates
    if all(not 0xd800 <= ord(c) < 0xe000 for s in strs for c in s):
        assert json_dumpb(strs) == text.encode()
        assert json_loads(text.encode()) == strs


def test_surrogate_pairs_as_two_characters_stay_two():
    for s in ["\ud83d\ude00", "a\ud83d\ude00b", "\udc00\ud800", "\ud800" * 3 + "é"]:
        assert json_dumps(s) == ref_dumps(s)
        assert json_dumps({s: s}) == ref_dumps({s: s})
        with pytest.raises(UnicodeEncodeError):
            json_dumpb(s)
        assert json_loads(json.dumps(s)) == json.loads(json.dumps(s))
        assert json_loads(json.dumps([s, "x"], ensure_ascii=False)) == [s, "x"]


def test_int_ranges_and_subclasses():
    class I(int):
        def __int__(self):
            return 99

        def __lt__(self, other):
            raise AssertionError("compared")

    vs = [0, -1, 2**63 - 1, 2**63, -2**63, -2**63 - 1, 2**64 - 1, 2**64, -2**64, 10**40]
    for v in vs:
        assert json_dumps(v) == str(v)
        assert json_dumps({v: v}) == ref_dumps({v: v})
        assert json_dumps(I(v)) == str(v)
        assert json_dumps({I(v): [I(v)]}) == ref_dumps({v: [v]})
        assert json_loads(str(v)) == v and type(json_loads(str(v))) is int


def test_float_subclass_uses_its_value():
    class F(float):
        def __float__(self):
            return 1.0

        def __repr__(self):
            return "nope"

    for v in [0.1, -0.0, 1e300, float("inf"), float("nan")]:
        assert json_dumps([F(v)]) == ref_dumps([v])
        assert json_dumps({F(v): 1}) == ref_dumps({v: 1})


def test_outputs_crossing_buffer_sizes():
    for n in [0, 1, 100, 255, 256, 257, 1000, 5000, 100000, 1000000]:
        doc = {"s": "x" * n, "e": "\n" * (n // 7), "l": list(range(n // 10)),
               "f": [0.1 * i for i in range(n // 50)]}
        assert json_dumpb(doc) == ref_dumps(doc).encode()
        assert json_dumps(doc) == ref_dumps(doc)
        assert json_loads(json_dumpb(doc)) == doc


def test_tuple_and_list_subclasses_use_their_items():
    class L(list):
        def __iter__(self):
            return iter([0])

    class T(tuple):
        def __iter__(self):
            return iter([0])

    assert json_dumps([L([1, 2]), T((3, 4))]) == "[[1,2],[3,4]]"


def test_decode_inputs_of_every_kind():
    for data in [b"[1]", bytearray(b"[1]"), memoryview(b"[1]"), memoryview(b"x[1]x")[1:4]]:
        assert json_loads(data) == [1]
    with pytest.raises(TypeError, match="must be str, bytes or bytearray, not list"):
        json_loads([1])
    with pytest.raises(TypeError):
        json_loads(memoryview(b"[1,2]")[::2])


def test_error_positions_count_characters_for_str():
    for text in ['["é", x]', '{"日本":1,}', '"😀\t"', '["é" "x"]', "é"]:
        with pytest.raises(json.JSONDecodeError) as ei:
            json_loads(text)
        with pytest.raises(json.JSONDecodeError) as eb:
            json_loads(text.encode())
        assert ei.value.doc == text and eb.value.doc == text
        assert ei.value.pos == len(text.encode()[:eb.value.pos].decode())


def test_nesting_limit():
    assert json_loads("[" * 1000 + "]" * 1000) is not None
    with pytest.raises(json.JSONDecodeError):
        json_loads("[" * 1001 + "]" * 1001)
    with pytest.raises(json.JSONDecodeError):
        json_loads('{"a":' * 1001 + "1" + "}" * 1001)
    ok = []
    for _ in range(999):
        ok = [ok]
    assert json_dumps(ok) == "[" * 1000 + "]" * 1000
    with pytest.raises(RecursionError):
        json_dumps([ok])


def test_default_hook_cycles():
    class P:
        pass

    p = P()
    with pytest.raises(ValueError, match="Circular reference detected"):
        json_dumps(p, default=lambda o: [o])
    with pytest.raises(ValueError, match="Circular reference detected"):
        json_dumps(p, default=lambda o: o)
    assert json_dumps([p, p], default=lambda o: {"p": None}) == '[{"p":null},{"p":null}]'


def test_random_bytes_never_crash():
    rnd = random.Random(2024)
    pieces = [b"[", b"]", b"{", b"}", b'"', b":", b",", b"\\u", b"\\", b"1", b"-", b"e",
              b".", b"\xc3", b"\xa9", b"\xed\xa0\x80", b"\xff", b"NaN", b"true", b" "]
    for _ in range(20000):
        data = b"".join(rnd.choice(pieces) for _ in range(rnd.randrange(12)))
        try:
            expected = json.loads(data.decode("utf-8"))
        except (ValueError, RecursionError):
            with pytest.raises(ValueError):
                json_loads(data)
            continue
        got = json_loads(data)
        assert ref_dumps(got) == ref_dumps(expected)


def test_threads_share_nothing():
    doc = {"k%d" % i: ["v" * i, i, i / 3, {"é": [None, True]}] for i in range(200)}
    text = ref_dumps(doc)
    errors = []

    def work():
        try:
            for _ in range(100):
                assert json_dumps(doc) == text
                assert json_loads(text) == doc
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    ts = [threading.Thread(target=work) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors


@pytest.mark.skipif(platform.python_implementation() != "PyPy",
                    reason="the CFFI binding's buffers (PyPy)")
def test_nested_calls_on_one_thread_get_their_own_buffers():
    # A finalizer or signal handler may run json_loads/json_dumps between
    # the binding's C call and its *_done call on the same thread.
    from zlmdb._cffi import codec_json as cj
    from zlmdb._lmdb_cffi import lib

    outer = json_dumpb({"k": ["x" * 5000, 1.5]})
    p1 = lib.zl_json_parse(outer, len(outer))
    inner = json_dumpb(["y" * 3_000_000])  # grows past what a thread keeps
    p2 = lib.zl_json_parse(inner, len(inner))
    assert p1 != p2
    assert cj._build(p2) == ["y" * 3_000_000]
    lib.zl_json_parse_done(p2)
    assert json_loads(b"[1]") == [1]  # the thread's own buffers are still leased
    assert cj._build(p1) == {"k": ["x" * 5000, 1.5]}
    lib.zl_json_parse_done(p1)
    for _ in range(3):
        assert json_loads(outer) == {"k": ["x" * 5000, 1.5]}


def test_object_keys_many_long_repeated_and_odd():
    # The binding numbers object keys for good (up to a limit) and reuses
    # their str: keys beyond the limit, long keys, keys with escapes,
    # non-ASCII and lone surrogates must all come back as they were.
    docs = [{"k%d" % i: i, "x" * (60 + i % 10): [i], "é\\\n%d" % (i % 7): {"k%d" % i: None},
             "\ud800%d" % (i % 3): i} for i in range(5000)]
    for d in docs[:50] + docs[4000:] + docs[:50]:
        text = json.dumps(d)
        assert json_loads(text) == d
        assert json_loads(text.encode()) == d
        got = json_loads(json.dumps([d, d]))
        assert got == [d, d] and list(got[0]) == list(d)
    assert json_loads('{"a":1,"b":{"a":2,"b":[{"a":3}]},"a":4}') == {"a": 4, "b": {"a": 2, "b": [{"a": 3}]}}


def test_long_strings_around_the_binding_threshold():
    # Strings from 1024 bytes on are carried apart from the short ones.
    for n in [1022, 1023, 1024, 1025, 5000]:
        for unit in ["a", "é", "😀", '\\"\n', "\ud800"]:
            s = (unit * n)[:n]
            doc = [s, {"k": s, s: 1}, "short", s + "x", "é"]
            esc = json.dumps(doc)
            assert json_loads(esc) == doc
            assert json_loads(esc.encode()) == doc
            assert json_loads(json.dumps(s)) == s
            if unit != "\ud800":
                raw = ref_dumps(doc)
                assert json_loads(raw.encode()) == doc
                assert json_loads(raw) == doc
                assert json_dumpb(doc) == raw.encode()
            assert json_dumps(doc) == ref_dumps(doc)
